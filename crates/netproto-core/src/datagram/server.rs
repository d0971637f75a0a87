//! The datagram server's dispatcher: one handler per remote peer, that
//! peer's datagrams queued in order while it runs ([`PeerTable`]), the
//! server's life (admission of handlers, graceful shutdown) in the core's
//! [`Lifecycle`] — sans-IO, with the time passed in.
//!
//! A driver keeps only receiving, spawning and sleeping. Its serve loop
//! is:
//!
//! 1. Receive one datagram with the engine, waiting at most
//!    [`Dispatcher::recv_timeout`] (the dispatcher's timers: idle expiry,
//!    drop reports).
//! 2. Hand the result to [`Dispatcher::received`]: a datagram from a new
//!    peer gives a [`PeerRun`] — start a handler (thread or task) for it
//!    and run the user's handler with [`PeerRun::link`] until
//!    [`PeerRun::finish`] says it is done.
//! 3. Once shutdown is asked for ([`Dispatcher::shutdown_requested`]),
//!    call [`Dispatcher::poll_shutdown`] until it returns `None`, waiting
//!    on what it returns; then close the socket, which ends the receive
//!    loop ([`Dispatched::Stop`]).
//!
//! A handler receives with [`PeerLink::recv`] / [`PeerLink::poll_recv`]
//! (waiting on the listener it returns) and sends to
//! [`PeerLink::destination`].
//!
//! ```
//! use std::time::{Duration, Instant};
//! use netproto_core::datagram::DatagramServerOptions;
//! use netproto_core::driver::datagram::{Dispatched, Dispatcher, PeerStep};
//!
//! let local = "127.0.0.1:9000".parse::<std::net::SocketAddr>().unwrap();
//! let alice = "127.0.0.1:7000".parse::<std::net::SocketAddr>().unwrap();
//! let dispatcher = Dispatcher::<u32>::new(local, DatagramServerOptions::default(), false);
//! let now = Instant::now();
//! let Dispatched::NewPeer(run) = dispatcher.received(Ok((1, alice.into())), now) else {
//!     unreachable!()
//! };
//! assert!(matches!(dispatcher.received(Ok((2, alice.into())), now), Dispatched::Continue));
//! let peer = run.link();
//! assert_eq!(*peer.peer_addr(), alice);
//! for expected in [1, 2] {
//!     let mut op = peer.recv(now, Some(Duration::ZERO));
//!     assert!(matches!(peer.poll_recv(&mut op, now), PeerStep::Ready(Ok(n)) if n == expected));
//! }
//! let mut op = peer.recv(now, Some(Duration::from_secs(1)));
//! assert!(matches!(peer.poll_recv(&mut op, now), PeerStep::Wait(_, Some(_))));
//! assert!(!run.finish()); // nothing queued: the handler is done
//! ```

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use event_listener::EventListener;

use super::{PeerLimits, PeerTable, Pushed};
use crate::addr::PeerAddr;
use crate::connection::{deadline_after, lock};
use crate::error::{Error, TimeoutKind};
use crate::options::{
    ConnectionEvent, DatagramOptions, EventCallback, HANDLER_STOP_WAIT, MAX_DATAGRAM_SIZE,
    ServerOptions, WhenFull,
};
use crate::server::{Lifecycle, Served, ShutdownHandle, Slot};
use crate::sync::atomic::{AtomicBool, Ordering};
use crate::sync::{Event, Mutex};

/// Options for a datagram server (`UdpServer::bind`).
///
/// ```
/// use std::time::Duration;
/// use netproto_core::datagram::DatagramServerOptions;
///
/// let options = DatagramServerOptions::default()
///     .max_datagram_size(1200)
///     .max_peers(100)
///     .queue_len(16)
///     .idle_timeout(Duration::from_secs(30));
/// assert_eq!(options.max_peers, 100);
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct DatagramServerOptions {
    /// The largest datagram sent or received (default
    /// [`MAX_DATAGRAM_SIZE`]); a longer one received is an error for that
    /// datagram, handed to its peer's handler.
    pub max_datagram_size: usize,
    /// The most peers served at once (default 1024): a datagram from a
    /// new peer beyond it is dropped and counted.
    pub max_peers: usize,
    /// The most datagrams queued for one peer while its handler runs
    /// (default 64): one beyond it is dropped and counted.
    pub queue_len: usize,
    /// A peer that sends nothing, and whose handler takes nothing, for
    /// this long is forgotten: its handler's receive fails with
    /// [`Error::Timeout`] of kind `Idle` (default 60 s; `None`: never).
    pub idle_timeout: Option<Duration>,
    /// The shortest time between two `DatagramsDropped` events (default
    /// 1 s).
    pub report_interval: Duration,
    /// How long shutdown waits for handlers after their peers were closed
    /// (default [`HANDLER_STOP_WAIT`]); then the async drivers abort them.
    pub handler_stop_wait: Duration,
    /// Called on events: `DatagramsDropped` (with the counts),
    /// `AcceptFailed` (a receive error, with the back-off), `Rejected` (no
    /// handler could be started).
    pub on_event: Option<EventCallback>,
}

impl Default for DatagramServerOptions {
    fn default() -> Self {
        let limits = PeerLimits::default();
        DatagramServerOptions {
            max_datagram_size: MAX_DATAGRAM_SIZE,
            max_peers: limits.max_peers,
            queue_len: limits.queue_len,
            idle_timeout: limits.idle_timeout,
            report_interval: limits.report_interval,
            handler_stop_wait: HANDLER_STOP_WAIT,
            on_event: None,
        }
    }
}

impl fmt::Debug for DatagramServerOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatagramServerOptions")
            .field("max_datagram_size", &self.max_datagram_size)
            .field("max_peers", &self.max_peers)
            .field("queue_len", &self.queue_len)
            .field("idle_timeout", &self.idle_timeout)
            .field("report_interval", &self.report_interval)
            .field("handler_stop_wait", &self.handler_stop_wait)
            .finish_non_exhaustive()
    }
}

impl DatagramServerOptions {
    /// Set the largest datagram sent or received (at least 1 byte).
    pub fn max_datagram_size(mut self, size: usize) -> Self {
        self.max_datagram_size = size.max(1);
        self
    }

    /// Set the most peers served at once (at least 1).
    pub fn max_peers(mut self, max: usize) -> Self {
        self.max_peers = max.max(1);
        self
    }

    /// Set the most datagrams queued for one peer (at least 1).
    pub fn queue_len(mut self, len: usize) -> Self {
        self.queue_len = len.max(1);
        self
    }

    /// Set the peer idle timeout (`None`: never).
    pub fn idle_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.idle_timeout = timeout.into();
        self
    }

    /// Set the shortest time between two `DatagramsDropped` events.
    pub fn report_interval(mut self, interval: Duration) -> Self {
        self.report_interval = interval;
        self
    }

    /// Set how long shutdown waits for handlers after closing their peers.
    pub fn handler_stop_wait(mut self, wait: Duration) -> Self {
        self.handler_stop_wait = wait;
        self
    }

    /// Call `callback` on events.
    pub fn on_event(mut self, callback: impl Fn(&ConnectionEvent) + Send + Sync + 'static) -> Self {
        self.on_event = Some(Arc::new(callback));
        self
    }

    /// The options of the server's socket (for its [`DatagramEngine`](crate::driver::datagram::DatagramEngine)).
    pub fn datagram_options(&self) -> DatagramOptions {
        let mut options = DatagramOptions::default().max_datagram_size(self.max_datagram_size);
        options.on_event = self.on_event.clone();
        options
    }

    fn limits(&self) -> PeerLimits {
        PeerLimits {
            max_peers: self.max_peers,
            queue_len: self.queue_len,
            idle_timeout: self.idle_timeout,
            report_interval: self.report_interval,
        }
    }

    /// The lifecycle's options: the peer bound is the peer table's, so the
    /// lifecycle itself admits every handler.
    fn server_options(&self) -> ServerOptions {
        let mut options = ServerOptions::default()
            .max_connections(usize::MAX, WhenFull::Refuse)
            .handler_stop_wait(self.handler_stop_wait);
        options.on_event = self.on_event.clone();
        options
    }
}

/// A peer's signal: how its handler is woken, and whether it was closed
/// (shutdown) or expired (idle).
struct Signal {
    addr: PeerAddr,
    event: Event,
    closed: AtomicBool,
    expired: AtomicBool,
}

impl Signal {
    fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.event.notify(usize::MAX);
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }
}

/// A peer's handler in the server's [`Lifecycle`]: closed by shutdown,
/// aborted where the driver can.
#[derive(Clone)]
pub struct ServedPeer {
    signal: Arc<Signal>,
    abort: Option<Arc<dyn Fn() + Send + Sync>>,
}

impl Served for ServedPeer {
    fn force_close(&self, _reason: &str) {
        self.signal.close();
    }

    fn abort(&self) {
        if let Some(abort) = &self.abort {
            abort();
        }
    }

    fn is_alive(&self) -> bool {
        !self.signal.is_closed()
    }
}

struct State<T> {
    table: PeerTable<PeerAddr, Result<T, Error>>,
    /// The signal of each peer in the table.
    peers: HashMap<PeerAddr, Arc<Signal>>,
    /// When idle expiry next has work (no peer can expire before).
    next_expiry: Option<Instant>,
}

/// A datagram server's shared state: the peer table, each peer's signal,
/// and the server's [`Lifecycle`]. Shared by the driver's receive loop,
/// the peers' handlers and the [`ShutdownHandle`]s.
pub struct Dispatcher<T> {
    local: PeerAddr,
    state: Mutex<State<T>>,
    lifecycle: Arc<Lifecycle<ServedPeer>>,
    idle_timeout: Option<Duration>,
    on_event: Option<EventCallback>,
    fatal: Mutex<Option<Error>>,
}

/// What the driver does after [`Dispatcher::received`].
pub enum Dispatched<T> {
    /// A datagram from a new peer: start a handler for it.
    NewPeer(PeerRun<T>),
    /// Receive again.
    Continue,
    /// The socket failed with a transient error (reported as an
    /// `AcceptFailed` event): receive again at this instant.
    Backoff(Instant),
    /// Stop receiving: the socket was closed, or failed for good (then
    /// shutdown was asked for and [`Dispatcher::finish_serving`] returns
    /// the error).
    Stop,
}

impl<T> fmt::Debug for Dispatched<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dispatched::NewPeer(run) => f
                .debug_tuple("NewPeer")
                .field(&run.link.peer_addr())
                .finish(),
            Dispatched::Continue => f.write_str("Continue"),
            Dispatched::Backoff(at) => f.debug_tuple("Backoff").field(at).finish(),
            Dispatched::Stop => f.write_str("Stop"),
        }
    }
}

impl<T: Send + 'static> Dispatcher<T> {
    /// The dispatcher of a server bound to `local`; `abortable`: whether
    /// the driver can stop a handler ([`PeerRun::set_abort`]).
    pub fn new(
        local: impl Into<PeerAddr>,
        options: DatagramServerOptions,
        abortable: bool,
    ) -> Arc<Self> {
        Arc::new(Dispatcher {
            local: local.into(),
            state: Mutex::new(State {
                table: PeerTable::new(options.limits()),
                peers: HashMap::new(),
                next_expiry: None,
            }),
            lifecycle: Lifecycle::new(&options.server_options(), None, abortable),
            idle_timeout: options.idle_timeout,
            on_event: options.on_event.clone(),
            fatal: Mutex::new(None),
        })
    }

    /// The server's local address.
    pub fn local_addr(&self) -> &PeerAddr {
        &self.local
    }

    /// A handle that shuts the server down from anywhere.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.lifecycle.shutdown_handle()
    }

    /// Mark `serve` as running.
    pub fn start_serving(&self) {
        self.lifecycle.set_serving(true);
    }

    /// Whether `serve` is running and shutdown was not asked for.
    pub fn is_serving(&self) -> bool {
        self.lifecycle.is_serving()
    }

    /// `Ok(())` once shutdown was asked for, or a listener notified when
    /// it is (or anything else changes).
    pub fn shutdown_requested(&self) -> Result<(), EventListener> {
        self.lifecycle.shutdown_requested()
    }

    /// Drive the shutdown at `now` (see [`Lifecycle::poll_shutdown`]):
    /// `None` once every handler finished (or was left to finish).
    pub fn poll_shutdown(&self, now: Instant) -> Option<(EventListener, Option<Instant>)> {
        self.lifecycle.poll_shutdown(now)
    }

    /// `serve` is over: the fatal receive error, if there was one.
    pub fn finish_serving(&self) -> Result<(), Error> {
        self.lifecycle.set_serving(false);
        match lock(&self.fatal).take() {
            Some(err) => Err(err),
            None => Ok(()),
        }
    }

    /// Report that no handler could be started for `run`'s peer (its
    /// datagrams are dropped with it).
    pub fn cannot_serve(&self, run: PeerRun<T>, err: &dyn fmt::Display) {
        let peer = run.link.peer_addr().clone();
        drop(run);
        self.lifecycle.cannot_serve(peer, err);
    }

    /// When the dispatcher's timers (idle expiry, a pending drop report)
    /// are next due (`None`: no timer), for a driver that keeps one timer
    /// across receives and calls [`run_timers`](Self::run_timers) when it
    /// fires. It changes only when a timer ran or a new one started.
    pub fn next_timer(&self) -> Option<Instant> {
        let state = lock(&self.state);
        match (state.next_expiry, state.table.next_report()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Run the timers due at `now` (idle expiry, the drop report): what a
    /// receive that timed out at [`recv_timeout`](Self::recv_timeout) does.
    pub fn run_timers(&self, now: Instant) {
        self.timers(now);
    }

    /// How long the socket receive may wait at `now` before the
    /// dispatcher's timers (idle expiry, a pending drop report) need
    /// [`received`](Self::received) with a timeout (`None`: as long as it
    /// takes).
    pub fn recv_timeout(&self, now: Instant) -> Option<Duration> {
        self.next_timer()
            .map(|at| at.saturating_duration_since(now))
    }

    /// What the socket receive gave at `now`: a packet or a per-datagram
    /// error is queued for its sender (a new sender gets a handler); a
    /// receive timeout only runs the timers; a socket error backs off or
    /// stops the server.
    pub fn received(
        self: &Arc<Self>,
        received: Result<(T, PeerAddr), Error>,
        now: Instant,
    ) -> Dispatched<T> {
        let dispatched = match received {
            // An unnamed Unix socket cannot be replied to: no handler could
            // answer it, so the datagram is dropped and counted
            // (`unreachable` in the next `DatagramsDropped`).
            Ok((_, from)) if is_unnamed(&from) => self.unreachable(now),
            Ok((packet, from)) => self.push(from, Ok(packet), now),
            Err(err) => match datagram_sender(&err) {
                Some(peer) if is_unnamed(peer) => self.unreachable(now),
                // The sender is unknown (Windows reports a too-long
                // datagram without it): no handler to give it to, so it is
                // reported.
                Some(peer @ PeerAddr::Inet(inet)) if inet.port() == 0 => {
                    self.emit(ConnectionEvent::Rejected {
                        peer: peer.clone(),
                        reason: format!("a datagram from an unknown sender was dropped: {err}"),
                    });
                    Dispatched::Continue
                }
                Some(peer) => {
                    let peer = peer.clone();
                    self.push(peer, Err(err), now)
                }
                None => match err {
                    Error::Timeout { .. } => Dispatched::Continue,
                    Error::Closed => Dispatched::Stop,
                    Error::Io { source, .. } => {
                        match self
                            .lifecycle
                            .accept_failed(self.local.clone(), &source, now)
                        {
                            Some(resume) => Dispatched::Backoff(resume),
                            None => self.fail(Error::Io { peer: None, source }),
                        }
                    }
                    err => self.fail(err),
                },
            },
        };
        self.timers(now);
        dispatched
    }

    /// Stop serving because of `err` (the driver could not run its
    /// receive loop): shutdown with no grace, and
    /// [`finish_serving`](Self::finish_serving) returns it.
    pub fn fail(&self, err: Error) -> Dispatched<T> {
        *lock(&self.fatal) = Some(err);
        self.lifecycle.shutdown(Duration::ZERO);
        Dispatched::Stop
    }

    fn unreachable(&self, now: Instant) -> Dispatched<T> {
        lock(&self.state).table.unreachable(now);
        Dispatched::Continue
    }

    fn push(
        self: &Arc<Self>,
        from: PeerAddr,
        item: Result<T, Error>,
        now: Instant,
    ) -> Dispatched<T> {
        let mut state = lock(&self.state);
        if let Some(signal) = state.peers.get(&from) {
            let signal = signal.clone();
            if state.table.push(from, item, now) == Pushed::Queued {
                signal.event.notify(usize::MAX);
            }
            return Dispatched::Continue;
        }
        // A new peer: a place in the lifecycle first (none after shutdown:
        // the datagram is then dropped and counted).
        let slot = self.lifecycle.admit(from.clone(), None);
        if slot.is_none() {
            state.table.refuse_new_peers();
        }
        if state.table.push(from.clone(), item, now) != Pushed::NewPeer {
            return Dispatched::Continue;
        }
        let slot = slot.expect("a new peer is admitted");
        let signal = Arc::new(Signal {
            addr: from.clone(),
            event: Event::new(),
            closed: AtomicBool::new(false),
            expired: AtomicBool::new(false),
        });
        state.peers.insert(from, signal.clone());
        if state.next_expiry.is_none() {
            state.next_expiry = self.idle_timeout.and_then(|idle| now.checked_add(idle));
        }
        drop(state);
        slot.set(ServedPeer {
            signal: signal.clone(),
            abort: None,
        });
        Dispatched::NewPeer(PeerRun {
            link: PeerLink {
                dispatcher: self.clone(),
                signal,
            },
            slot: Some(slot),
        })
    }

    /// Idle expiry (when due) and the drop report.
    fn timers(&self, now: Instant) {
        let event = {
            let mut state = lock(&self.state);
            if state.next_expiry.is_some_and(|at| now >= at) {
                for peer in state.table.expire(now) {
                    if let Some(signal) = state.peers.remove(&peer) {
                        signal.expired.store(true, Ordering::Release);
                        signal.event.notify(usize::MAX);
                    }
                }
                // A peer that becomes idle later (a new one, or one whose
                // queue empties) expires one idle timeout after that.
                state.next_expiry = match (state.table.next_expiry(), self.idle_timeout) {
                    (_, None) => None,
                    (Some(at), Some(idle)) => Some(at.min(now + idle)),
                    (None, Some(idle)) => now.checked_add(idle),
                };
            }
            state.table.report(&self.local, now)
        };
        if let Some(event) = event {
            self.emit(event);
        }
    }

    fn emit(&self, event: ConnectionEvent) {
        crate::trace::event(&event);
        if let Some(callback) = &self.on_event {
            callback(&event);
        }
    }
}

impl<T> fmt::Debug for Dispatcher<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dispatcher")
            .field("local", &self.local)
            .finish_non_exhaustive()
    }
}

/// A peer's handler as the driver runs it: holds the handler's place in
/// the server (shutdown waits for it) until dropped.
pub struct PeerRun<T> {
    link: PeerLink<T>,
    slot: Option<Slot<ServedPeer>>,
}

impl<T: Send + 'static> PeerRun<T> {
    /// The peer, for the user's handler.
    pub fn link(&self) -> PeerLink<T> {
        self.link.clone()
    }

    /// Let shutdown stop the handler with `abort` (drivers that can).
    pub fn set_abort(&self, abort: impl Fn() + Send + Sync + 'static) {
        if let Some(slot) = &self.slot {
            let abort: Arc<dyn Fn() + Send + Sync> = Arc::new(abort);
            slot.update(|served| served.abort = Some(abort));
        }
    }

    /// The user's handler returned: `true` when datagrams arrived for the
    /// peer meanwhile (run the handler again, so none is lost); otherwise
    /// the peer is forgotten (its next datagram starts a new handler).
    pub fn finish(&self) -> bool {
        let link = &self.link;
        let dispatcher = &link.dispatcher;
        let mut state = lock(&dispatcher.state);
        let addr = &link.signal.addr;
        let ours = state
            .peers
            .get(addr)
            .is_some_and(|signal| Arc::ptr_eq(signal, &link.signal));
        if ours && !link.signal.is_closed() && state.table.queued(addr) > 0 {
            return true;
        }
        if ours {
            state.peers.remove(addr);
            state.table.remove(addr);
        }
        link.signal.closed.store(true, Ordering::Release);
        false
    }
}

impl<T> Drop for PeerRun<T> {
    fn drop(&mut self) {
        let link = &self.link;
        {
            let mut state = lock(&link.dispatcher.state);
            let addr = &link.signal.addr;
            if state
                .peers
                .get(addr)
                .is_some_and(|signal| Arc::ptr_eq(signal, &link.signal))
            {
                state.peers.remove(addr);
                state.table.remove(addr);
            }
        }
        link.signal.close();
        // The slot goes last, outside the lock: shutdown sees the handler
        // end.
        drop(self.slot.take());
    }
}

impl<T> fmt::Debug for PeerRun<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PeerRun")
            .field("peer", &self.link.signal.addr)
            .finish()
    }
}

/// A remote peer as its handler sees it: its queued datagrams and its
/// address.
pub struct PeerLink<T> {
    dispatcher: Arc<Dispatcher<T>>,
    signal: Arc<Signal>,
}

impl<T> Clone for PeerLink<T> {
    fn clone(&self) -> Self {
        PeerLink {
            dispatcher: self.dispatcher.clone(),
            signal: self.signal.clone(),
        }
    }
}

/// One receive in progress ([`PeerLink::recv`]).
#[derive(Debug)]
pub struct PeerRecv {
    deadline: Option<Instant>,
    timeout: Duration,
    attempted: bool,
}

/// What a peer's receive does next.
pub enum PeerStep<T> {
    /// The next datagram's packet, or the error for it (or why there will
    /// be none: [`Error::Closed`], an idle [`Error::Timeout`]).
    Ready(Result<T, Error>),
    /// Wait on the listener (at most until the instant), then poll again.
    Wait(EventListener, Option<Instant>),
}

impl<T> fmt::Debug for PeerStep<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PeerStep::Ready(Ok(_)) => f.write_str("Ready(Ok(..))"),
            PeerStep::Ready(Err(err)) => f.debug_tuple("Ready").field(err).finish(),
            PeerStep::Wait(_, until) => f.debug_tuple("Wait").field(until).finish(),
        }
    }
}

impl<T> PeerLink<T> {
    /// The peer's address.
    pub fn peer_addr(&self) -> &PeerAddr {
        &self.signal.addr
    }

    /// The server's local address.
    pub fn local_addr(&self) -> &PeerAddr {
        &self.dispatcher.local
    }

    /// Whether the peer was closed (shutdown, idle, or its handler ended).
    pub fn is_closed(&self) -> bool {
        self.signal.is_closed()
    }

    /// Where a packet for the peer goes: its address, or
    /// [`Error::Closed`] once the peer is closed.
    pub fn destination(&self) -> Result<PeerAddr, Error> {
        match self.is_closed() {
            true => Err(Error::Closed),
            false => Ok(self.signal.addr.clone()),
        }
    }

    /// Start receiving the peer's next datagram, waiting at most `timeout`
    /// (`None`: as long as it takes).
    pub fn recv(&self, now: Instant, timeout: Option<Duration>) -> PeerRecv {
        PeerRecv {
            deadline: deadline_after(now, timeout),
            timeout: timeout.unwrap_or_default(),
            attempted: false,
        }
    }

    /// Drive a receive at `now`: the next queued datagram (a packet, or
    /// the error for that datagram only); [`Error::Closed`] once the peer
    /// was closed (shutdown after the grace period); [`Error::Timeout`] of
    /// kind `Idle` once the peer expired (then `Closed`); a `Receive`
    /// timeout, which loses nothing.
    pub fn poll_recv(&self, op: &mut PeerRecv, now: Instant) -> PeerStep<T> {
        let mut state = lock(&self.dispatcher.state);
        if self.signal.is_closed() {
            return PeerStep::Ready(Err(Error::Closed));
        }
        if self.signal.expired.load(Ordering::Acquire) {
            self.signal.closed.store(true, Ordering::Release);
            return PeerStep::Ready(Err(Error::Timeout {
                kind: TimeoutKind::Idle,
                timeout: self.dispatcher.idle_timeout.unwrap_or_default(),
            }));
        }
        if let Some(item) = state.table.pop(&self.signal.addr, now) {
            return PeerStep::Ready(item);
        }
        if let Some(at) = op.deadline {
            if now >= at && op.attempted {
                return PeerStep::Ready(Err(Error::Timeout {
                    kind: TimeoutKind::Receive,
                    timeout: op.timeout,
                }));
            }
        }
        op.attempted = true;
        // Registered before the lock is released: a datagram queued after
        // this point wakes it.
        PeerStep::Wait(self.signal.event.listen(), op.deadline)
    }
}

impl<T> fmt::Debug for PeerLink<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PeerLink")
            .field("peer", &self.signal.addr)
            .field("local", &self.dispatcher.local)
            .field("closed", &self.is_closed())
            .finish()
    }
}

#[cfg(test)]
mod tests;

/// The sender of a datagram that failed on its own (a bad or a too-long
/// datagram): its handler gets the error.
fn datagram_sender(err: &Error) -> Option<&PeerAddr> {
    match err {
        Error::Deserialize { peer, .. } | Error::DatagramTooLong { peer, .. } => Some(peer),
        _ => None,
    }
}

/// Whether `addr` is an unnamed Unix socket (nothing can be sent to it).
fn is_unnamed(addr: &PeerAddr) -> bool {
    addr.unix().is_some_and(|unix| unix.is_unnamed())
}
