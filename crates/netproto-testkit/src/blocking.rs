//! Runtime hooks for blocking drivers: [`block_on`], [`spawn_thread`] and
//! [`sleep`] implement [`Driver::block_on`](crate::Driver::block_on),
//! [`Driver::spawn`](crate::Driver::spawn) and
//! [`Driver::sleep`](crate::Driver::sleep) with plain threads.
//!
//! The futures returned by `spawn_thread` and `sleep` are real futures (they
//! return `Pending` and wake their task), so the suite can race them, for
//! example to check that a blocked call has *not* finished yet.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::{Pin, pin};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::Duration;

struct ThreadWaker(Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Run `future` to completion on the current thread, parking it while the
/// future is pending.
///
/// ```
/// assert_eq!(netproto_testkit::blocking::block_on(async { 1 + 1 }), 2);
/// ```
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let waker = Waker::from(Arc::new(ThreadWaker(thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        thread::park();
    }
}

type Outcome<T> = thread::Result<T>;

struct Slot<T> {
    outcome: Option<Outcome<T>>,
    waker: Option<Waker>,
}

/// The output of a [`spawn_thread`] task, as a future.
pub struct ThreadTask<T> {
    slot: Arc<Mutex<Slot<T>>>,
}

impl<T> Future for ThreadTask<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut slot = self.slot.lock().unwrap_or_else(|p| p.into_inner());
        match slot.outcome.take() {
            Some(Ok(value)) => Poll::Ready(value),
            Some(Err(panic)) => {
                drop(slot);
                resume_unwind(panic)
            }
            None => {
                slot.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// Run `future` with [`block_on`] on a new thread; the returned future
/// resolves to its output (re-raising its panic, if any).
pub fn spawn_thread<T, F>(future: F) -> ThreadTask<T>
where
    T: Send + 'static,
    F: Future<Output = T> + Send + 'static,
{
    let slot = Arc::new(Mutex::new(Slot {
        outcome: None,
        waker: None,
    }));
    let shared = slot.clone();
    thread::Builder::new()
        .name("conformance-task".into())
        .spawn(move || {
            let outcome = catch_unwind(AssertUnwindSafe(|| block_on(future)));
            let mut slot = shared.lock().unwrap_or_else(|p| p.into_inner());
            slot.outcome = Some(outcome);
            if let Some(waker) = slot.waker.take() {
                waker.wake();
            }
        })
        .expect("spawn a task thread");
    ThreadTask { slot }
}

/// A future that completes after `duration` (a helper thread sleeps and
/// wakes it).
pub fn sleep(duration: Duration) -> ThreadTask<()> {
    spawn_thread(async move { thread::sleep(duration) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spawned_output_and_sleep() {
        let task = spawn_thread(async { 40 + 2 });
        assert_eq!(block_on(task), 42);
        block_on(sleep(Duration::from_millis(5)));
    }

    #[test]
    #[should_panic(expected = "boom")]
    fn spawned_panic_is_raised() {
        block_on(spawn_thread(async { panic!("boom") }));
    }
}
