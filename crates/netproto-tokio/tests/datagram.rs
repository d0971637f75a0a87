//! The shared datagram suites (crates/netproto-testkit, `datagram_suite!`
//! and `datagram_server_suite!`), run on tokio.

mod driver;

#[allow(unused_imports)]
use driver::*;

netproto_testkit::datagram_suite!(Tokio);
netproto_testkit::datagram_server_suite!(Tokio);
