//! The shared datagram suites (crates/netproto-testkit, `datagram_suite!`
//! and `datagram_server_suite!`), run twice: under async-std's executor and under smol's.

mod driver;

#[allow(unused_imports)]
use driver::*;

mod on_async_std {
    use super::*;
    type AsyncStd = AsyncIoDriver<AsyncStdExecutor>;
    netproto_testkit::datagram_suite!(AsyncStd);
    netproto_testkit::datagram_server_suite!(AsyncStd);
}

mod on_smol {
    use super::*;
    type Smol = AsyncIoDriver<SmolExecutor>;
    netproto_testkit::datagram_suite!(Smol);
    netproto_testkit::datagram_server_suite!(Smol);
}
