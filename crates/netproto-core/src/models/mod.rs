//! Model-checked concurrency: the state that drivers share between threads,
//! run under [shuttle](https://docs.rs/shuttle), which swaps the library's
//! locks and atomics (through `crate::sync`) for its own and explores
//! thread interleavings at every lock, atomic operation and `OnceLock`
//! access.
//!
//! Run with
//! `RUSTFLAGS="--cfg shuttle" CARGO_TARGET_DIR=target/shuttle cargo test -p netproto-core --features tls --lib models`
//! (or `cargo xtask models`). Only these tests can run in that build: the
//! other unit tests use the library outside a shuttle execution.
//!
//! Each model runs a fixed number of schedules of two schedulers — PCT
//! (probabilistic concurrency testing, which finds an ordering bug of depth
//! up to [`PCT_DEPTH`] with a known probability per schedule) and uniform
//! random — so the whole set stays bounded in time. A failing schedule is
//! printed by shuttle and can be replayed with `shuttle::replay`.

use shuttle::scheduler::{PctScheduler, RandomScheduler};
use shuttle::{Config, MaxSteps, Runner};

use crate::connection::Step;

mod connection;
mod events;
mod lifecycle;

/// The ordering depth PCT looks for.
const PCT_DEPTH: usize = 3;

/// Run `model` for `schedules` schedules of PCT, then as many random ones.
fn explore(schedules: usize, model: impl Fn() + Send + Sync + 'static) {
    let model = std::sync::Arc::new(model);
    let config = || {
        let mut config = Config::new();
        // A rustls handshake needs more stack than shuttle's default 60 KiB.
        config.stack_size = 1 << 20;
        // An operation that never completes spins in `drive`: fail the
        // schedule rather than hang.
        config.max_steps = MaxSteps::FailAfter(200_000);
        config
    };
    let pct = model.clone();
    Runner::new(PctScheduler::new(PCT_DEPTH, schedules), config()).run(move || pct());
    Runner::new(RandomScheduler::new(schedules), config()).run(move || model());
}

/// Poll an engine operation until it is ready, letting the other threads
/// run whenever it would wait (time is fixed in the models: no deadline
/// passes, so every wait is for another thread's progress).
fn drive<T>(mut poll: impl FnMut() -> Step<T>) -> T {
    loop {
        match poll() {
            Step::Ready(value) => return value,
            Step::Readable(_) | Step::Writable(_) | Step::Sleep(_) | Step::Again => {
                shuttle::thread::yield_now();
            }
        }
    }
}
