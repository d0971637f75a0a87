//! The synchronisation types of the state that drivers share between
//! threads: `std::sync` in every build, except the model-checking tests
//! (`RUSTFLAGS="--cfg shuttle"`, unit tests only), which swap in shuttle's
//! versions so that every lock, atomic operation, `OnceLock` access and
//! `event_listener::Event` listen or notify is a point where the checker
//! may switch threads (see `crate::models`).
//!
//! Same names, same semantics: the library's behaviour does not depend on
//! which set is in use.

#[cfg(not(all(test, shuttle)))]
pub(crate) use event_listener::Event;
#[cfg(not(all(test, shuttle)))]
pub(crate) use std::sync::{Mutex, MutexGuard, OnceLock, TryLockError};

#[cfg(not(all(test, shuttle)))]
pub(crate) mod atomic {
    pub(crate) use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
}

#[cfg(all(test, shuttle))]
pub(crate) use shuttle::sync::{Mutex, MutexGuard, TryLockError, atomic};

/// `std::sync::OnceLock` with a scheduling point before each access
/// (shuttle has no `OnceLock` of its own).
#[cfg(all(test, shuttle))]
#[derive(Debug)]
pub(crate) struct OnceLock<T>(std::sync::OnceLock<T>);

#[cfg(all(test, shuttle))]
impl<T> OnceLock<T> {
    pub(crate) fn new() -> Self {
        OnceLock(std::sync::OnceLock::new())
    }

    pub(crate) fn get(&self) -> Option<&T> {
        shuttle::thread::yield_now();
        self.0.get()
    }

    pub(crate) fn set(&self, value: T) -> Result<(), T> {
        shuttle::thread::yield_now();
        self.0.set(value)
    }
}

/// `event_listener::Event` with a scheduling point before each listen and
/// notify (its own synchronisation is invisible to shuttle, so a wake-up
/// lost between a check under a lock and the `listen` after it would
/// otherwise never be explored).
#[cfg(all(test, shuttle))]
#[derive(Debug)]
pub(crate) struct Event(event_listener::Event);

#[cfg(all(test, shuttle))]
impl Event {
    pub(crate) fn new() -> Self {
        Event(event_listener::Event::new())
    }

    pub(crate) fn listen(&self) -> event_listener::EventListener {
        shuttle::thread::yield_now();
        self.0.listen()
    }

    pub(crate) fn notify(&self, n: usize) -> usize {
        shuttle::thread::yield_now();
        self.0.notify(n)
    }
}
