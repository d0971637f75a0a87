//! The shared datagram suite (crates/netproto-testkit, `datagram_suite!`),
//! run on tokio.

mod driver;

#[allow(unused_imports)]
use driver::*;

netproto_testkit::datagram_suite!(Tokio);
