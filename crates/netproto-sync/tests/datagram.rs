//! The shared datagram suite (crates/netproto-testkit, `datagram_suite!`),
//! run on the blocking driver.

mod driver;

#[allow(unused_imports)]
use driver::*;

netproto_testkit::datagram_suite!(Sync);
