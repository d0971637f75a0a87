//! The conformance suite, run twice: under async-std's executor and under
//! smol's. The adapter is written once over a small runtime trait; only
//! `block_on` and `spawn` differ between the two.

mod driver;

#[allow(unused_imports)]
use driver::*;

mod on_async_std {
    use super::*;
    type AsyncStd = AsyncIoDriver<AsyncStdExecutor>;
    netproto_testkit::conformance_suite!(AsyncStd);
    #[cfg(unix)]
    type AsyncStdUnix = AsyncIoDriver<AsyncStdExecutor, netproto_async_std::Unix>;
    #[cfg(unix)]
    netproto_testkit::unix_suite!(AsyncStdUnix);
}

mod on_smol {
    use super::*;
    type Smol = AsyncIoDriver<SmolExecutor>;
    netproto_testkit::conformance_suite!(Smol);
    #[cfg(unix)]
    type SmolUnix = AsyncIoDriver<SmolExecutor, netproto_async_std::Unix>;
    #[cfg(unix)]
    netproto_testkit::unix_suite!(SmolUnix);
}
