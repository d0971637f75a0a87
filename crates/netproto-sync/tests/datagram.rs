//! The shared datagram suites (crates/netproto-testkit, `datagram_suite!`
//! and `datagram_server_suite!`), run on the blocking driver.

mod driver;

#[allow(unused_imports)]
use driver::*;

netproto_testkit::datagram_suite!(Sync);
netproto_testkit::datagram_server_suite!(Sync);
