//! The shared state of one connection and the blocking I/O loops that move
//! bytes between its socket and the core's endpoint halves.
//!
//! Locking: the receive half and the send half have their own locks, so one
//! thread can block in `read` while another writes. The only place both are
//! held is a receive that must flush TLS output (lock order: receive, then
//! send). `close` never waits for the receive lock: it sets the closed flag
//! and shuts the socket's read half down, which wakes a blocked `read`; it
//! waits for the send lock (a send in progress finishes its packet) and
//! writes what is queued for at most `CLOSE_FLUSH_TIMEOUT`, then shuts the
//! socket down, which also ends a `write` still blocked.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, TryLockError};
use std::time::{Duration, Instant};

use netproto_core::Error;
use netproto_core::endpoint::{ConnectionEvents, ConnectionSetup, RecvHalf, RecvLimit, SendHalf};
use netproto_core::options::CLOSE_FLUSH_TIMEOUT;
use netproto_core::protocol::Protocol;

/// Lock a mutex, going on after a panic in another thread (the halves stay
/// consistent: the core never leaves them half-updated).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The smallest read timeout: "readable without waiting" still gives the
/// kernel one tick (a zero timeout means "forever" to the OS).
const POLL: Duration = Duration::from_micros(1);

pub(crate) struct RecvState<P: Protocol> {
    pub(crate) half: RecvHalf<P>,
    read_timeout: Option<Duration>,
}

pub(crate) struct Inner<P: Protocol> {
    pub(crate) stream: TcpStream,
    pub(crate) recv: Mutex<RecvState<P>>,
    pub(crate) send: Mutex<SendHalf<P>>,
    closed: AtomicBool,
    pub(crate) local: SocketAddr,
    pub(crate) peer: SocketAddr,
    pub(crate) events: ConnectionEvents,
    idle_timeout: Option<Duration>,
    pub(crate) max_recv_size: usize,
}

/// When a wait of `timeout` from now ends.
fn deadline_after(timeout: Duration) -> Instant {
    Instant::now()
        .checked_add(timeout)
        .unwrap_or_else(far_future)
}

fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(100 * 365 * 24 * 3600)
}

fn is_timeout(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

impl<P: Protocol> Inner<P> {
    pub(crate) fn new(
        stream: TcpStream,
        (recv, send): (RecvHalf<P>, SendHalf<P>),
        local: SocketAddr,
        events: ConnectionEvents,
        idle_timeout: Option<Duration>,
    ) -> Self {
        let peer = recv.peer();
        let max_recv_size = recv.max_recv_size();
        Inner {
            stream,
            recv: Mutex::new(RecvState {
                half: recv,
                read_timeout: None,
            }),
            send: Mutex::new(send),
            closed: AtomicBool::new(false),
            local,
            peer,
            events,
            idle_timeout,
            max_recv_size,
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// The next packet, waiting at most `timeout` (and the idle timeout of a
    /// served connection).
    pub(crate) fn recv(&self, timeout: Option<Duration>) -> Result<P::Received, Error> {
        self.receive(timeout)
            .inspect_err(|err| self.events.note(err))
    }

    fn receive(&self, timeout: Option<Duration>) -> Result<P::Received, Error> {
        let limit = RecvLimit::new(timeout, self.idle_timeout)
            .map(|limit| (limit, deadline_after(limit.timeout)));
        let mut state = lock(&self.recv);
        let mut attempted = false;
        loop {
            if self.is_closed() {
                return Err(Error::Closed);
            }
            if let Some(result) = state.half.next_packet() {
                // The buffer is kept for the next receive: a blocking read
                // needs its region for the whole wait anyway, so freeing it
                // here saved nothing while a thread waits, and cost an
                // allocation and a free per packet. (The endpoint frees a
                // drained buffer that grew large.)
                return result;
            }
            let wait = match limit {
                None => None,
                Some((limit, at)) => {
                    let left = at.saturating_duration_since(Instant::now());
                    if left.is_zero() && attempted {
                        drop(state);
                        let err = limit.expired();
                        if limit.idle {
                            // The server closes an idle connection.
                            self.events.note(&err);
                            self.force_close();
                        }
                        return Err(err);
                    }
                    Some(left.max(POLL))
                }
            };
            attempted = true;
            let n = match self.read(&mut state, wait) {
                Ok(n) => n,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) if self.is_closed() => return Err(Error::Closed),
                Err(err) if is_timeout(&err) => continue,
                Err(err) => return Err(state.half.fail_io(err)),
            };
            if n == 0 && self.is_closed() {
                return Err(Error::Closed);
            }
            state.half.commit(n);
            if state.half.tls_wants_write() {
                // A TLS alert or handshake message for the peer. A failure
                // to write it shows up on the next send.
                let mut send = lock(&self.send);
                send.pull_tls();
                let _ = self.write_pending(&mut send);
            }
        }
    }

    /// One read into the receive half's read region, waiting at most `wait`
    /// (`None`: as long as it takes). Commit what it returns.
    fn read(&self, state: &mut RecvState<P>, wait: Option<Duration>) -> io::Result<usize> {
        if state.read_timeout != wait {
            self.stream.set_read_timeout(wait)?;
            state.read_timeout = wait;
        }
        (&self.stream).read(state.half.read_buf())
    }

    /// Write everything the send half holds.
    pub(crate) fn write_pending(&self, half: &mut SendHalf<P>) -> Result<(), Error> {
        while half.has_pending() {
            match (&self.stream).write(half.pending()) {
                Ok(0) => {
                    return Err(Error::from_io(io::ErrorKind::WriteZero.into(), self.peer));
                }
                Ok(n) => half.advance(n),
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(_) if self.is_closed() => return Err(Error::Closed),
                Err(err) if is_timeout(&err) => {
                    let timeout = self.stream.write_timeout().ok().flatten();
                    return Err(Error::Timeout {
                        kind: netproto_core::error::TimeoutKind::Send,
                        timeout: timeout.unwrap_or_default(),
                    });
                }
                Err(err) => return Err(Error::from_io(err, self.peer)),
            }
        }
        Ok(())
    }

    pub(crate) fn send(&self, packet: &P::Sent) -> Result<(), Error> {
        self.send_locked(packet)
            .inspect_err(|err| self.events.note(err))
    }

    fn send_locked(&self, packet: &P::Sent) -> Result<(), Error> {
        let mut half = lock(&self.send);
        if self.is_closed() {
            return Err(Error::Closed);
        }
        // Finish a send that an earlier timeout interrupted.
        self.write_pending(&mut half)?;
        half.push_packet(packet)?;
        self.write_pending(&mut half)
    }

    pub(crate) fn send_eof(&self) -> Result<(), Error> {
        self.send_eof_locked()
            .inspect_err(|err| self.events.note(err))
    }

    fn send_eof_locked(&self) -> Result<(), Error> {
        let mut half = lock(&self.send);
        if self.is_closed() {
            return Err(Error::Closed);
        }
        if half.is_eof() && !half.has_pending() {
            return Ok(());
        }
        self.write_pending(&mut half)?;
        half.push_eof();
        self.write_pending(&mut half)?;
        match self.stream.shutdown(Shutdown::Write) {
            Ok(()) => Ok(()),
            Err(err) if err.kind() == io::ErrorKind::NotConnected => Ok(()),
            Err(err) => Err(Error::from_io(err, self.peer)),
        }
    }

    /// Run the TLS handshake (no-op for plain connections).
    pub(crate) fn handshake(&self, timeout: Option<Duration>) -> Result<(), Error> {
        let deadline = timeout.map(|timeout| (timeout, deadline_after(timeout)));
        loop {
            {
                let mut send = lock(&self.send);
                send.pull_tls();
                self.write_pending(&mut send)?;
                if !send.is_handshaking() {
                    return Ok(());
                }
            }
            let mut state = lock(&self.recv);
            if let Some(err) = state.half.handshake_error() {
                // Report it after sending the alert rustls queued.
                let mut send = lock(&self.send);
                send.pull_tls();
                let _ = self.write_pending(&mut send);
                return Err(err);
            }
            let wait = match deadline {
                None => None,
                Some((timeout, at)) => {
                    let left = at.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(ConnectionSetup::handshake_timed_out(timeout));
                    }
                    Some(left)
                }
            };
            let n = match self.read(&mut state, wait) {
                Ok(n) => n,
                Err(err) if err.kind() == io::ErrorKind::Interrupted || is_timeout(&err) => {
                    continue;
                }
                Err(err) => return Err(state.half.fail_io(err)),
            };
            state.half.commit(n);
        }
    }

    /// Close: wake a receive blocked in another thread at once, finish
    /// writing what is queued (a send in progress, the TLS close_notify)
    /// within [`CLOSE_FLUSH_TIMEOUT`], shut the socket down and report
    /// `Disconnected`.
    pub(crate) fn close(&self) {
        if self.closed.swap(true, Ordering::SeqCst) {
            return;
        }
        // A blocked read returns at once and sees the closed flag; the
        // write half stays open for the final flush.
        netproto_socket::stop_reading(&self.stream);
        let deadline = Instant::now() + CLOSE_FLUSH_TIMEOUT;
        // A send in progress keeps the lock until its packet is written (or
        // the socket is shut down below).
        if let Some(mut half) = lock_until(&self.send, deadline) {
            if self.write_until(&mut half, deadline) {
                half.push_eof();
                self.write_until(&mut half, deadline);
            }
        }
        let _ = self.stream.shutdown(Shutdown::Both);
        self.events.disconnected();
    }

    /// Write what `half` holds, giving up at `deadline` or on any error;
    /// whether everything was written.
    fn write_until(&self, half: &mut SendHalf<P>, deadline: Instant) -> bool {
        while half.has_pending() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || self.stream.set_write_timeout(Some(left)).is_err() {
                return false;
            }
            match (&self.stream).write(half.pending()) {
                Ok(0) => return false,
                Ok(n) => half.advance(n),
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
        }
        true
    }

    /// Close at once, without writing what is queued (idle timeout, server
    /// shutdown), and report `Disconnected`.
    pub(crate) fn force_close(&self) {
        if !self.closed.swap(true, Ordering::SeqCst) {
            let _ = self.stream.shutdown(Shutdown::Both);
            self.events.disconnected();
        }
    }

    /// Close at once with `reason` for the `Disconnected` event (a server
    /// shutting down).
    pub(crate) fn close_because(&self, reason: &str) {
        self.events.note_reason(reason);
        self.force_close();
    }
}

impl<P: Protocol> Drop for Inner<P> {
    /// Dropping the last reference closes the connection, writing only
    /// what the socket takes without waiting.
    fn drop(&mut self) {
        if self.closed.swap(true, Ordering::SeqCst) {
            return;
        }
        let half = self.send.get_mut().unwrap_or_else(|p| p.into_inner());
        half.push_eof();
        if half.has_pending() && self.stream.set_nonblocking(true).is_ok() {
            while half.has_pending() {
                match (&self.stream).write(half.pending()) {
                    Ok(n) if n > 0 => half.advance(n),
                    _ => break,
                }
            }
        }
        let _ = self.stream.shutdown(Shutdown::Both);
        self.events.disconnected();
    }
}

/// Lock `mutex`, waiting at most until `deadline` (a std mutex has no timed
/// lock: try, then sleep a millisecond).
fn lock_until<T>(mutex: &Mutex<T>, deadline: Instant) -> Option<MutexGuard<'_, T>> {
    loop {
        match mutex.try_lock() {
            Ok(guard) => return Some(guard),
            Err(TryLockError::Poisoned(poisoned)) => return Some(poisoned.into_inner()),
            Err(TryLockError::WouldBlock) if Instant::now() >= deadline => return None,
            Err(TryLockError::WouldBlock) => std::thread::sleep(Duration::from_millis(1)),
        }
    }
}
