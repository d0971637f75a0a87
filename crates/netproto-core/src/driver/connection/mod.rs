//! The connection engine: everything one stream connection decides, for
//! every driver.
//!
//! A [`Connection`] owns a connection's receive and send state (buffers,
//! framing, the TLS session, the half-close state), its deadlines, its
//! close sequence and its events. It decides what to read into, what to
//! write, when a deadline has passed, when to shut the write half, what a
//! close does and which events to emit. It never owns a socket and never
//! reads a clock: the driver passes its socket in as a [`Transport`] and
//! the current time as an `Instant`, and does the waiting the engine asks
//! for. TLS is internal to that contract: a driver never sees a handshake
//! message, an alert or a session.
//!
//! # The calling contract (driver-facing)
//!
//! Every operation is a value the driver creates and then *polls* until it
//! is [`Step::Ready`]:
//!
//! | operation | create | poll |
//! |---|---|---|
//! | TLS handshake (a no-op for plain connections), then `Connected` | [`Connection::handshake`] | [`Connection::poll_handshake`] |
//! | receive one packet | [`Connection::recv`] | [`Connection::poll_recv`] |
//! | send one packet (after what an earlier send left queued) | [`SendPacket::new`] | [`Connection::poll_send`] |
//! | write what is queued | — | [`Connection::poll_flush`] |
//! | `send_eof`: flush, TLS close_notify, shut the write half | — | [`Connection::poll_send_eof`] |
//! | `close`: wake readers, flush within the close timeout, shut down, `Disconnected` | [`Connection::start_close`] | [`Connection::poll_close`] |
//!
//! plus two that finish at once: [`Connection::abort`] (a dropped client:
//! write what the socket takes without waiting, then shut down) and
//! [`Connection::force_close`] (a server closing a connection).
//!
//! Each poll takes the socket (`&impl Transport`) and `now`, does the
//! socket I/O it needs — reads and writes that finish or report
//! `WouldBlock` — and returns what to do next:
//!
//! * [`Step::Ready`]: done, with the result.
//! * [`Step::Readable`] / [`Step::Writable`]: wait until the socket is
//!   readable / writable, or until the instant given (a deadline), then
//!   poll again.
//! * [`Step::Sleep`]: poll again at that instant (another caller holds the
//!   state the operation needs).
//! * [`Step::Again`]: poll again at once, with a fresh `now`.
//!
//! A blocking driver passes a transport whose reads and writes block, for
//! at most the time the engine passes with each call; it then never needs
//! to wait on its own, and treats `Readable`, `Writable` and `Again` as
//! "poll again". A non-blocking driver's reads and writes return
//! `WouldBlock`, and it waits for readiness. Either way the engine never
//! holds anything across a wait: dropping an operation between polls (a
//! cancelled async call) loses no byte — a half-received packet stays
//! buffered, and a packet is queued whole or not at all.
//!
//! Receiving and sending can run at the same time (two threads, or two
//! tasks): they use separate state inside the engine, each behind its own
//! short lock, and only a receive that has TLS output for the peer touches
//! the send state, without waiting for it.
//!
//! # Two engines in memory
//!
//! ```
//! use std::time::Instant;
//! use netproto_core::StreamProtocol;
//! use netproto_core::driver::connection::{Connection, SendPacket, Step, memory};
//! use netproto_core::driver::endpoint::ConnectionSetup;
//! use netproto_core::framing::Delimiter;
//! use netproto_core::options::{ClientOptions, ServerOptions};
//! use netproto_core::serializer::Utf8;
//!
//! let protocol = StreamProtocol::new(Delimiter::lf(), Utf8);
//! let (client_addr, server_addr) = ("127.0.0.1:5000".parse::<std::net::SocketAddr>()?, "127.0.0.1:7000".parse::<std::net::SocketAddr>()?);
//! let client_setup = ConnectionSetup::client(&ClientOptions::default(), None);
//! let server_setup = ConnectionSetup::server(&ServerOptions::default());
//! let client = client_setup.connection(protocol.clone(), server_addr, client_addr)?;
//! let server = server_setup.connection(protocol, client_addr, server_addr)?;
//! let (client_socket, server_socket) = memory::pair(64 * 1024);
//! let now = Instant::now();
//!
//! // Plain connections need no handshake: it is ready at once.
//! let mut handshake = client.handshake(now);
//! assert!(matches!(client.poll_handshake(&mut handshake, &client_socket, now), Step::Ready(Ok(()))));
//!
//! // Nothing has arrived: the server's receive asks to wait for input.
//! let mut recv = server.recv(now, None);
//! assert!(matches!(server.poll_recv(&mut recv, &server_socket, now), Step::Readable(None)));
//!
//! // The client sends two lines; both are written to the socket at once.
//! for line in ["hello", "world"] {
//!     let mut send = SendPacket::new(line);
//!     assert!(matches!(client.poll_send(&mut send, &client_socket, now), Step::Ready(Ok(()))));
//! }
//!
//! // The same receive, polled again, returns the first; the second waits
//! // in the server's buffer for the next receive.
//! match server.poll_recv(&mut recv, &server_socket, now) {
//!     Step::Ready(Ok(line)) => assert_eq!(line, "hello"),
//!     _ => unreachable!(),
//! }
//! let mut recv = server.recv(now, None);
//! match server.poll_recv(&mut recv, &server_socket, now) {
//!     Step::Ready(Ok(line)) => assert_eq!(line, "world"),
//!     _ => unreachable!(),
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::addr::PeerAddr;
use std::fmt;
use std::io;
use std::net::Shutdown;
use std::time::{Duration, Instant};

use crate::endpoint::{ConnectionEvents, Endpoint, RecvHalf, SendHalf};
use crate::error::Error;
use crate::protocol::Protocol;
use crate::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use crate::sync::{Mutex, MutexGuard, OnceLock, TryLockError};

mod close;
pub mod memory;
mod ops;

pub use close::Close;
pub use ops::{Handshake, Recv, SendPacket};

/// What the engine needs from a socket.
///
/// Methods take `&self` so that a receive and a send can use one socket at
/// the same time (`&std::net::TcpStream` reads and writes, and so do the
/// async runtimes' streams).
///
/// A non-blocking transport returns [`io::ErrorKind::WouldBlock`] when the
/// socket is not ready and ignores `wait`. A blocking transport waits at
/// most `wait` (`None`: as long as it takes; `Some(Duration::ZERO)`: as
/// little as the platform allows), then returns `WouldBlock`; a write that
/// times out on a limit the *user* set on the socket returns
/// [`io::ErrorKind::TimedOut`], reported as a send timeout of
/// [`send_timeout`](Transport::send_timeout).
pub trait Transport {
    /// Read into `buf`; `Ok(0)` is the end of the stream.
    fn read(&self, buf: &mut [u8], wait: Option<Duration>) -> io::Result<usize>;
    /// Write from `buf`; returns how much the kernel took.
    fn write(&self, buf: &[u8], wait: Option<Duration>) -> io::Result<usize>;
    /// Shut down one or both directions. `Shutdown::Read` must wake a read
    /// blocked or waiting on the socket and leave writing possible.
    fn shutdown(&self, how: Shutdown) -> io::Result<()>;
    /// The write timeout the user set on the socket, for the error of a
    /// send that ran into it.
    fn send_timeout(&self) -> Option<Duration> {
        None
    }
}

impl<T: Transport + ?Sized> Transport for &T {
    fn read(&self, buf: &mut [u8], wait: Option<Duration>) -> io::Result<usize> {
        (**self).read(buf, wait)
    }
    fn write(&self, buf: &[u8], wait: Option<Duration>) -> io::Result<usize> {
        (**self).write(buf, wait)
    }
    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        (**self).shutdown(how)
    }
    fn send_timeout(&self) -> Option<Duration> {
        (**self).send_timeout()
    }
}

/// What a driver does after polling an operation.
#[derive(Debug)]
#[must_use = "a step says what the driver must do next"]
pub enum Step<T> {
    /// The operation is done.
    Ready(T),
    /// Wait until the socket is readable or the instant passes (`None`: no
    /// deadline), then poll again.
    Readable(Option<Instant>),
    /// Wait until the socket is writable or the instant passes, then poll
    /// again.
    Writable(Option<Instant>),
    /// Poll again at this instant.
    Sleep(Instant),
    /// Poll again now, with a fresh `now`.
    Again,
}

impl<T> Step<T> {
    /// The result, if the operation is done.
    pub fn ready(self) -> Option<T> {
        match self {
            Step::Ready(value) => Some(value),
            _ => None,
        }
    }
}

/// How long `close` waits for another call to let go of the send state
/// before it looks again.
const LOCK_RETRY: Duration = Duration::from_millis(1);

/// The send half with the engine's own state.
struct Sender<P: Protocol> {
    half: SendHalf<P>,
    /// The socket's write half is shut down.
    write_shut: bool,
}

/// One stream connection's state machine. See the [module
/// documentation](self) for the calling contract.
///
/// It is `Send + Sync`: every method takes `&self`.
pub struct Connection<P: Protocol> {
    recv: Mutex<RecvHalf<P>>,
    send: Mutex<Sender<P>>,
    /// Closed locally: by `close`, a drop, the server, an idle timeout.
    closed: AtomicBool,
    /// The close sequence ended: the socket is shut down and
    /// `Disconnected` reported.
    finished: AtomicBool,
    /// Bytes queued for the socket (what a `close` that gives up reports).
    queued: AtomicUsize,
    /// A forced close's reason (`Some(None)`: forced without one of its
    /// own), set before the connection is marked closed. The first to see
    /// the forced close under the send lock notes it, with the queued
    /// bytes given up counted exactly ([`Connection::note_forced`]).
    forced: OnceLock<Option<String>>,
    events: ConnectionEvents,
    peer: PeerAddr,
    local: PeerAddr,
    idle_timeout: Option<Duration>,
    handshake_timeout: Option<Duration>,
    close_timeout: Duration,
    max_recv_size: usize,
}

impl<P: Protocol> Connection<P> {
    pub(crate) fn from_endpoint(
        endpoint: Endpoint<P>,
        local: PeerAddr,
        events: ConnectionEvents,
        idle_timeout: Option<Duration>,
        handshake_timeout: Option<Duration>,
        close_timeout: Duration,
    ) -> Self {
        let (recv, send) = endpoint.split();
        Connection {
            peer: recv.peer().clone(),
            max_recv_size: recv.max_recv_size(),
            recv: Mutex::new(recv),
            send: Mutex::new(Sender {
                half: send,
                write_shut: false,
            }),
            closed: AtomicBool::new(false),
            finished: AtomicBool::new(false),
            queued: AtomicUsize::new(0),
            forced: OnceLock::new(),
            events,
            local,
            idle_timeout,
            handshake_timeout,
            close_timeout,
        }
    }

    /// Whether the connection was closed locally (`close`, a drop, the
    /// server, an idle timeout).
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> &PeerAddr {
        &self.peer
    }

    /// The local address.
    pub fn local_addr(&self) -> &PeerAddr {
        &self.local
    }

    /// The most bytes one socket read asks for.
    pub fn max_recv_size(&self) -> usize {
        self.max_recv_size
    }

    /// A served connection's idle timeout (`None` for a client).
    pub fn idle_timeout(&self) -> Option<Duration> {
        self.idle_timeout
    }

    /// How long `close` keeps writing what is queued.
    pub fn close_timeout(&self) -> Duration {
        self.close_timeout
    }

    /// Bytes received and not yet returned as packets.
    pub fn buffered(&self) -> usize {
        lock(&self.recv).buffered()
    }

    /// Bytes queued for the socket and not yet written.
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::Acquire)
    }

    /// The connection's event bookkeeping.
    pub fn events(&self) -> &ConnectionEvents {
        &self.events
    }

    /// Mark the connection closed; false if it was already.
    fn mark_closed(&self) -> bool {
        !self.closed.swap(true, Ordering::AcqRel)
    }

    /// Lock the send state unless another call holds it.
    fn try_lock_send(&self) -> Option<MutexGuard<'_, Sender<P>>> {
        match self.send.try_lock() {
            Ok(guard) => Some(guard),
            Err(TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
            Err(TryLockError::WouldBlock) => None,
        }
    }

    /// Note a forced close's reason, if the connection was forced closed,
    /// with the bytes `send` still holds: counted under the send lock, so
    /// a write that reached the kernel is never reported lost. The first
    /// note wins; every operation that ends because of the forced close
    /// notes it before it returns, so what it tells its caller and what
    /// the caller then reads as the reason agree.
    fn note_forced(&self, send: &Sender<P>) {
        let Some(reason) = self.forced.get() else {
            return;
        };
        match (reason, send.half.pending().len()) {
            (Some(reason), 0) => self.events.note_reason(reason),
            (Some(reason), bytes) => self.events.note_reason(format_args!(
                "{reason}, with {bytes} queued bytes not delivered"
            )),
            (None, 0) => {}
            (None, bytes) => self.events.note_reason(Error::Undelivered {
                peer: self.peer.clone(),
                bytes,
            }),
        }
    }

    /// [`Error::Closed`], for an operation that found the connection
    /// closed and does not hold the send lock (see
    /// [`note_forced`](Connection::note_forced)).
    fn closed_error(&self) -> Error {
        if self.forced.get().is_some() && self.events.reason().is_none() {
            self.note_forced(&lock(&self.send));
        }
        Error::Closed
    }

    /// The connection ended because of `err` (seen by a receive or a
    /// send): remember why and report `Disconnected` — a peer that closes,
    /// resets or breaks the protocol ends the connection as surely as a
    /// local `close`.
    fn ended_by(&self, err: &Error) {
        match err {
            Error::ConnectionClosed { .. } => self.events.note_reason(err),
            Error::Closed | Error::SendAfterEof => return,
            err if err.is_recoverable() => return,
            err => self.events.note(err),
        }
        self.events.disconnected();
    }
}

impl<P: Protocol> fmt::Debug for Connection<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("local", &self.local)
            .field("peer", &self.peer)
            .field("closed", &self.is_closed())
            .field("queued", &self.queued())
            .finish_non_exhaustive()
    }
}

/// Lock a mutex, going on after a panic in another thread: the engine
/// never leaves its state half-updated across a call that can panic.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Whether a read or write error means "not now" rather than a failure.
pub(crate) fn would_block(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::WouldBlock
}

/// Time left until `deadline`.
pub(crate) fn left(deadline: Option<Instant>, now: Instant) -> Option<Duration> {
    deadline.map(|at| at.saturating_duration_since(now))
}

/// `now + timeout`, or no deadline if that is beyond what `Instant` holds.
pub(crate) fn deadline_after(now: Instant, timeout: Option<Duration>) -> Option<Instant> {
    timeout.and_then(|timeout| now.checked_add(timeout))
}

#[cfg(test)]
mod tests;
