//! The conformance adapter of this driver: the async drivers' one adapter
//! (`crates/netproto-async/tests/adapter`) on one multi-threaded tokio
//! runtime shared by every case.
#![allow(dead_code)]

use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;

pub use netproto_tokio as drv;

#[path = "../../../netproto-async/tests/adapter/mod.rs"]
mod adapter;
pub use adapter::*;

/// The tokio driver over TCP (`Tokio`) or Unix sockets (`Tokio<Unix>`).
pub type Tokio<T = drv::Tcp> = Adapter<TokioExecutor, T>;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("build the tokio runtime")
    })
}

/// The shared tokio runtime.
pub struct TokioExecutor;

impl Executor for TokioExecutor {
    fn block_on<F: Future>(future: F) -> F::Output {
        runtime().block_on(future)
    }

    fn spawn<T: Send + 'static>(
        future: impl Future<Output = T> + Send + 'static,
    ) -> impl Future<Output = T> + Send + 'static {
        let task = runtime().spawn(future);
        async move {
            match task.await {
                Ok(output) => output,
                Err(err) => std::panic::resume_unwind(err.into_panic()),
            }
        }
    }

    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send {
        tokio::time::sleep(duration)
    }
}
