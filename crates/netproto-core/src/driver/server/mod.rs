//! The server lifecycle every driver runs: admission (`max_connections`,
//! `when_full`, one-client mode), the registry of live connections, accept
//! back-off and the shutdown plan.
//!
//! A driver keeps only accepting, spawning and sleeping. Its serve loop is:
//!
//! 1. [`Lifecycle::reserve`] before accepting: a [`Slot`] (or, with
//!    `WhenFull::Wait` and the server full, a listener to wait on; or
//!    [`Reserve::ShutDown`]).
//! 2. Accept. On an error, [`Lifecycle::accept_failed`] emits the
//!    `AcceptFailed` event and says when to try again (or that the error is
//!    fatal). On success, [`Lifecycle::admit`] turns the reservation into a
//!    slot, or refuses the peer with a `Rejected` event.
//! 3. Spawn the connection with its slot; [`Slot::set`] registers it (so
//!    shutdown can close it and [`Lifecycle::handles`] can list it). The
//!    slot's drop frees it.
//! 4. Once [`Lifecycle::is_shutdown`], call [`Lifecycle::poll_shutdown`]
//!    until it returns `None`, waiting on what it returns.
//!
//! Every wait is on an [`EventListener`] (a future, or `.wait()` /
//! `.wait_deadline()` for a thread), notified whenever something changes:
//! a slot freed, shutdown asked for. Time is passed in.

mod plan;
#[cfg(test)]
mod tests;

use crate::addr::PeerAddr;
use std::collections::HashMap;
use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use event_listener::{EventListener, Listener};

pub use plan::{
    ACCEPT_BACKOFF_MAX, ACCEPT_BACKOFF_MIN, AcceptBackoff, Admission, FD_RESERVE, ShutdownPlan,
    ShutdownStep, UNKNOWN_FD_LIMIT_CONNECTIONS, auto_connection_limit,
};

use crate::endpoint::ConnectionEvents;
use crate::options::{ConnectionEvent, ServerOptions};
use crate::sync::{Event, Mutex, MutexGuard};

/// A served connection as the registry sees it.
pub trait Served: Send + Sync + 'static {
    /// Close the connection because of `reason` (a pending receive in its
    /// handler fails with `Error::Closed`).
    fn force_close(&self, reason: &str);
    /// Stop the handler (drivers that can; a thread cannot be stopped).
    fn abort(&self) {}
    /// Whether the connection still exists (dead entries of connections
    /// from `accept` are swept).
    fn is_alive(&self) -> bool;
}

/// What [`Lifecycle::reserve`] gives before an accept.
pub enum Reserve<H: Served> {
    /// Go on and accept; the reservation (with `WhenFull::Wait`) or `None`.
    Accept(Option<Slot<H>>),
    /// The server is full: wait on the listener, then reserve again.
    Full(EventListener),
    /// Shutdown was asked for: stop accepting.
    ShutDown,
}

struct Entry<H> {
    handle: Option<H>,
    /// Counted against the limit and waited for by shutdown (a served
    /// connection; not one returned by `accept`).
    counted: bool,
}

struct State<H> {
    admission: Admission,
    backoff: AcceptBackoff,
    entries: HashMap<u64, Entry<H>>,
    next_id: u64,
    sweep_at: usize,
    /// Handlers running (served connections).
    running: usize,
    grace: Option<Duration>,
    plan: Option<ShutdownPlan>,
    on_shutdown: Option<Box<dyn FnOnce() + Send>>,
    serving: bool,
    /// `AtCapacity` was reported and the server has not fallen back to
    /// three quarters of its limit since.
    capacity_reported: bool,
}

/// A server's shared state: admission, registry, back-off and shutdown,
/// behind one lock. Shared by the server, its accept loops, its
/// connections' slots and its [`ShutdownHandle`]s.
pub struct Lifecycle<H: Served> {
    state: Mutex<State<H>>,
    changed: Event,
    options: ServerOptions,
    handler_stop_wait: Duration,
    abortable: bool,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl<H: Served> Lifecycle<H> {
    /// The lifecycle of a server with `options`; `fd_limit` (the process's
    /// soft file-descriptor limit, when known) gives the connection limit
    /// when `options.max_connections` is `None`
    /// ([`auto_connection_limit`]). `abortable`: whether the driver can
    /// stop a handler ([`Served::abort`]).
    pub fn new(options: &ServerOptions, fd_limit: Option<u64>, abortable: bool) -> Arc<Self> {
        let max = options
            .max_connections
            .unwrap_or_else(|| auto_connection_limit(fd_limit));
        Arc::new(Lifecycle {
            state: Mutex::new(State {
                admission: Admission::new(max, options.when_full),
                backoff: AcceptBackoff::default(),
                entries: HashMap::new(),
                next_id: 0,
                sweep_at: 64,
                running: 0,
                grace: None,
                plan: None,
                on_shutdown: None,
                serving: false,
                capacity_reported: false,
            }),
            changed: Event::new(),
            options: options.clone(),
            handler_stop_wait: options.handler_stop_wait,
            abortable,
        })
    }

    /// The connection limit in force.
    pub fn max_connections(&self) -> usize {
        lock(&self.state).admission.max()
    }

    /// Run `hook` once, when shutdown is asked for (the driver closes its
    /// listening sockets there, so new clients are refused, not left in the
    /// backlog). Runs at once if shutdown was already asked for.
    pub fn on_shutdown(&self, hook: impl FnOnce() + Send + 'static) {
        let mut state = lock(&self.state);
        if state.grace.is_some() {
            drop(state);
            hook();
        } else {
            state.on_shutdown = Some(Box::new(hook));
        }
    }

    /// A handle that shuts the server down from anywhere.
    pub fn shutdown_handle(self: &Arc<Self>) -> ShutdownHandle {
        ShutdownHandle {
            control: self.clone(),
        }
    }

    /// Ask for shutdown with `grace`; only the first call counts.
    pub fn shutdown(&self, grace: Duration) {
        let hook = {
            let mut state = lock(&self.state);
            if state.grace.is_some() {
                return;
            }
            state.grace = Some(grace);
            state.on_shutdown.take()
        };
        if let Some(hook) = hook {
            hook();
        }
        self.changed.notify(usize::MAX);
    }

    /// Whether shutdown was asked for.
    pub fn is_shutdown(&self) -> bool {
        lock(&self.state).grace.is_some()
    }

    /// `Ok(())` once shutdown was asked for, or a listener notified when it
    /// is (or anything else changes).
    pub fn shutdown_requested(&self) -> Result<(), EventListener> {
        let state = lock(&self.state);
        if state.grace.is_some() {
            return Ok(());
        }
        Err(self.changed.listen())
    }

    /// Mark `serve` as running or not (see [`is_serving`](Self::is_serving)).
    pub fn set_serving(&self, serving: bool) {
        lock(&self.state).serving = serving;
    }

    /// Whether `serve` is running and shutdown was not asked for.
    pub fn is_serving(&self) -> bool {
        let state = lock(&self.state);
        state.serving && state.grace.is_none()
    }

    /// Before accepting: with `WhenFull::Wait` take a slot (or wait for
    /// one); otherwise just go on. After shutdown: `ShutDown`.
    pub fn reserve(self: &Arc<Self>) -> Reserve<H> {
        let mut state = lock(&self.state);
        if state.grace.is_some() {
            return Reserve::ShutDown;
        }
        if !state.admission.reserves_before_accept() {
            return Reserve::Accept(None);
        }
        match state.admission.take(None) {
            Ok(()) => Reserve::Accept(Some(self.slot(&mut state, true))),
            Err(_) => {
                let changed = self.changed.listen();
                let report = !std::mem::replace(&mut state.capacity_reported, true);
                let max = state.admission.max();
                drop(state);
                if report {
                    self.options.emit(ConnectionEvent::AtCapacity { max });
                }
                Reserve::Full(changed)
            }
        }
    }

    /// A connection from `peer` was accepted with `reserved` (what
    /// [`reserve`](Self::reserve) gave): its slot, or `None` when the
    /// server turns it away (full, in `WhenFull::Refuse` and one-client
    /// mode; shutting down), after emitting the `Rejected` event. Drop the
    /// stream then.
    pub fn admit(
        self: &Arc<Self>,
        peer: impl Into<PeerAddr>,
        reserved: Option<Slot<H>>,
    ) -> Option<Slot<H>> {
        let peer = peer.into();
        let mut state = lock(&self.state);
        state.backoff.succeeded();
        if state.grace.is_some() {
            drop(state);
            drop(reserved);
            return None;
        }
        if let Some(slot) = reserved {
            return Some(slot);
        }
        match state.admission.take(Some(peer)) {
            Ok(()) => Some(self.slot(&mut state, true)),
            Err(event) => {
                drop(state);
                if let Some(event) = event {
                    self.options.emit(event);
                }
                None
            }
        }
    }

    /// Register a connection returned by the server's `accept` (not
    /// counted against the limit; closed by shutdown; listed by
    /// [`handles`](Self::handles) while it lives).
    pub fn register_accepted(&self, handle: H) {
        let mut state = lock(&self.state);
        if state.entries.len() >= state.sweep_at {
            state.entries.retain(|_, entry| {
                entry.counted || entry.handle.as_ref().is_some_and(Served::is_alive)
            });
            state.sweep_at = (state.entries.len() * 2).max(64);
        }
        state.next_id += 1;
        let id = state.next_id;
        state.entries.insert(
            id,
            Entry {
                handle: Some(handle),
                counted: false,
            },
        );
    }

    fn slot(self: &Arc<Self>, state: &mut State<H>, counted: bool) -> Slot<H> {
        state.next_id += 1;
        let id = state.next_id;
        state.entries.insert(
            id,
            Entry {
                handle: None,
                counted,
            },
        );
        state.running += 1;
        Slot {
            lifecycle: self.clone(),
            id,
        }
    }

    /// Accepting on `listener` failed with `err` at `now`: emits the
    /// `AcceptFailed` event (with the back-off) and returns when to accept
    /// again, or `None` when the error is fatal (`serve` then shuts down
    /// and returns it).
    pub fn accept_failed(
        &self,
        listener: impl Into<PeerAddr>,
        err: &io::Error,
        now: Instant,
    ) -> Option<Instant> {
        let listener = listener.into();
        let (event, resume) = lock(&self.state).backoff.failed(listener, err, now);
        self.options.emit(event);
        resume
    }

    /// Report that a connection from `peer` was accepted but could not be
    /// served (no thread or task could be started for it).
    pub fn cannot_serve(&self, peer: impl Into<PeerAddr>, err: &dyn fmt::Display) {
        let peer = peer.into();
        self.options.emit(ConnectionEvent::cannot_serve(peer, err));
    }

    /// The live connections' handles.
    pub fn handles(&self) -> Vec<H>
    where
        H: Clone,
    {
        lock(&self.state)
            .entries
            .values()
            .filter_map(|entry| entry.handle.clone())
            .filter(Served::is_alive)
            .collect()
    }

    /// Handlers running.
    pub fn running(&self) -> usize {
        lock(&self.state).running
    }

    /// Drive the shutdown at `now`: closes or aborts connections when their
    /// time comes, and returns what to wait on next (a listener notified
    /// when a handler ends, and the instant to poll again at the latest),
    /// or `None` when the shutdown is done — every handler finished, or
    /// (a driver that cannot abort) the handler stop wait is over. Then
    /// every remaining connection (from `accept` too) is closed.
    ///
    /// Call it once shutdown was asked for; before, it asks for shutdown
    /// with no grace (a fatal accept error).
    pub fn poll_shutdown(&self, now: Instant) -> Option<(EventListener, Option<Instant>)> {
        loop {
            let mut state = lock(&self.state);
            let grace = match state.grace {
                Some(grace) => grace,
                None => {
                    drop(state);
                    self.shutdown(Duration::ZERO);
                    continue;
                }
            };
            let running = state.running;
            let plan = state.plan.get_or_insert_with(|| {
                ShutdownPlan::new(now, grace, self.handler_stop_wait, self.abortable)
            });
            match plan.poll(now, running) {
                ShutdownStep::Wait(until) => return Some((self.changed.listen(), until)),
                ShutdownStep::ForceClose => {
                    drop(state);
                    self.each(|handle| handle.force_close(ConnectionEvents::SERVER_SHUT_DOWN));
                }
                ShutdownStep::Abort => {
                    drop(state);
                    self.each(|handle| {
                        handle.force_close(ConnectionEvents::SERVER_SHUT_DOWN);
                        handle.abort();
                    });
                }
                ShutdownStep::Done => {
                    drop(state);
                    self.each(|handle| handle.force_close(ConnectionEvents::SERVER_SHUT_DOWN));
                    return None;
                }
            }
        }
    }

    /// Run `f` on every registered handle, outside the lock.
    fn each(&self, f: impl Fn(&H))
    where
        H: Sized,
    {
        let ids: Vec<u64> = lock(&self.state).entries.keys().copied().collect();
        for id in ids {
            // Take the handle out while `f` runs (it may close the
            // connection, which may end its slot and lock the state).
            let handle = lock(&self.state)
                .entries
                .get_mut(&id)
                .and_then(|entry| entry.handle.take());
            if let Some(handle) = handle {
                f(&handle);
                if let Some(entry) = lock(&self.state).entries.get_mut(&id) {
                    entry.handle = Some(handle);
                }
            }
        }
    }
}

/// A served connection's place in the server: counted against the limit
/// and registered while it lives; dropping it frees the place and wakes
/// whoever waits for one (a full server's accept loop, a shutdown).
pub struct Slot<H: Served> {
    lifecycle: Arc<Lifecycle<H>>,
    id: u64,
}

impl<H: Served> Slot<H> {
    /// Register (or replace) the connection's handle.
    pub fn set(&self, handle: H) {
        if let Some(entry) = lock(&self.lifecycle.state).entries.get_mut(&self.id) {
            entry.handle = Some(handle);
        }
    }

    /// Change the registered handle in place.
    pub fn update(&self, f: impl FnOnce(&mut H)) {
        if let Some(handle) = lock(&self.lifecycle.state)
            .entries
            .get_mut(&self.id)
            .and_then(|entry| entry.handle.as_mut())
        {
            f(handle);
        }
    }

    /// Whether shutdown was asked for (a connection set up after it is
    /// closed at once).
    pub fn is_shutdown(&self) -> bool {
        self.lifecycle.is_shutdown()
    }
}

impl<H: Served> Drop for Slot<H> {
    fn drop(&mut self) {
        let entry = {
            let mut state = lock(&self.lifecycle.state);
            let entry = state.entries.remove(&self.id);
            state.running = state.running.saturating_sub(1);
            state.admission.release();
            let admission = &state.admission;
            if admission.active() < admission.max() - admission.max() / 4 {
                state.capacity_reported = false;
            }
            entry
        };
        // The handle (a connection) is dropped outside the lock.
        drop(entry);
        self.lifecycle.changed.notify(usize::MAX);
    }
}

impl<H: Served> fmt::Debug for Slot<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Slot").field("id", &self.id).finish()
    }
}

trait Control: Send + Sync {
    fn shutdown(&self, grace: Duration);
    fn is_shutdown(&self) -> bool;
}

impl<H: Served> Control for Lifecycle<H> {
    fn shutdown(&self, grace: Duration) {
        Lifecycle::shutdown(self, grace);
    }
    fn is_shutdown(&self) -> bool {
        Lifecycle::is_shutdown(self)
    }
}

/// Stops a server from any thread or task: `Clone + Send + Sync`, the same
/// type in every driver.
#[derive(Clone)]
pub struct ShutdownHandle {
    control: Arc<dyn Control>,
}

impl ShutdownHandle {
    /// Stop the server; returns at once. It stops accepting and closes the
    /// listening sockets (new connections are refused, not left in the
    /// backlog), lets the running handlers finish within `grace`, then
    /// closes the connections that remain (their handlers see
    /// `Error::Closed`); handlers still running `handler_stop_wait` after
    /// that are aborted (async drivers) or left to finish (the sync
    /// driver). The server's `serve` returns once that is done. Only the
    /// first call's `grace` counts.
    pub fn shutdown(&self, grace: Duration) {
        self.control.shutdown(grace);
    }

    /// Whether shutdown was asked for.
    pub fn is_shutdown(&self) -> bool {
        self.control.is_shutdown()
    }
}

impl fmt::Debug for ShutdownHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShutdownHandle")
            .field("shutdown", &self.is_shutdown())
            .finish()
    }
}
