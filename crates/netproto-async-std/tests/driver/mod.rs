//! The conformance adapter of this driver: the async drivers' one adapter
//! (`crates/netproto-async/tests/adapter`) on async-std's and smol's
//! executors.
#![allow(dead_code)]

use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;

pub use netproto_async_std as drv;

#[path = "../../../netproto-async/tests/adapter/mod.rs"]
mod adapter;
pub use adapter::*;

/// The driver under test over transport `T`, on executor `E`.
pub type AsyncIoDriver<E, T = drv::Tcp> = Adapter<E, T>;

pub struct AsyncStdExecutor;

impl Executor for AsyncStdExecutor {
    fn block_on<F: Future>(future: F) -> F::Output {
        // Boxed: a debug build copies large futures through several frames.
        async_std::task::block_on(Box::pin(future))
    }

    fn spawn<T: Send + 'static>(
        future: impl Future<Output = T> + Send + 'static,
    ) -> impl Future<Output = T> + Send + 'static {
        // Dropping an async-std JoinHandle detaches the task.
        async_std::task::spawn(future)
    }

    async fn sleep(duration: Duration) {
        async_io::Timer::after(duration).await;
    }
}

pub struct SmolExecutor;

/// smol's executor, run by threads of its own. (`smol::spawn`'s global
/// executor runs one thread unless `SMOL_THREADS` says otherwise, and the
/// suite blocks executor threads at times, joining peer threads, which
/// must not stall every other case running in parallel.)
fn smol_executor() -> &'static smol::Executor<'static> {
    static EXECUTOR: OnceLock<smol::Executor<'static>> = OnceLock::new();
    EXECUTOR.get_or_init(|| {
        let threads = std::thread::available_parallelism().map_or(4, |n| 2 * n.get().max(4));
        for n in 0..threads {
            std::thread::Builder::new()
                .name(format!("smol-{n}"))
                .spawn(|| smol::block_on(smol_executor().run(std::future::pending::<()>())))
                .expect("start an executor thread");
        }
        smol::Executor::new()
    })
}

impl Executor for SmolExecutor {
    fn block_on<F: Future>(future: F) -> F::Output {
        smol::block_on(Box::pin(future))
    }

    fn spawn<T: Send + 'static>(
        future: impl Future<Output = T> + Send + 'static,
    ) -> impl Future<Output = T> + Send + 'static {
        // Dropping a smol Task cancels it; the suite wants it detached, so
        // the output comes back over a channel.
        let (sender, receiver) = smol::channel::bounded(1);
        smol_executor()
            .spawn(async move {
                let _ = sender.send(future.await).await;
            })
            .detach();
        async move { receiver.recv().await.expect("the spawned task panicked") }
    }

    async fn sleep(duration: Duration) {
        async_io::Timer::after(duration).await;
    }
}
