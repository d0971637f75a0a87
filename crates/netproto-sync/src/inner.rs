//! One connection: the core's engine and a blocking socket, and the loop
//! that polls the engine's operations with it.
//!
//! The socket blocks, for at most what the engine passes with each read
//! and write, so this driver never waits on its own: it polls again. The
//! engine keeps receiving and sending apart (one thread may block in a read
//! while another writes), and `close` shuts the read half down first, which
//! wakes a read blocked in another thread.

use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use netproto_core::Error;
use netproto_core::driver::connection::{Connection, SendPacket, Step, Transport};
use netproto_core::protocol::Protocol;
use netproto_socket::socket2::Socket;

/// Lock a mutex, going on after a panic in another thread.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The shortest timeout the OS is given: "as little as possible" still
/// waits one tick (a zero timeout means "forever" to the OS).
const SHORTEST: Duration = Duration::from_micros(1);

/// A blocking socket (TCP or Unix stream) as the engine's [`Transport`].
pub(crate) struct Blocking {
    pub(crate) stream: Socket,
    /// The read timeout set on the socket (reads are one at a time: the
    /// engine holds its receive lock around each).
    read_timeout: Mutex<Option<Duration>>,
}

impl Blocking {
    pub(crate) fn new(stream: Socket) -> Self {
        Blocking {
            stream,
            read_timeout: Mutex::new(None),
        }
    }
}

impl Transport for Blocking {
    fn read(&self, buf: &mut [u8], wait: Option<Duration>) -> io::Result<usize> {
        set_read_timeout(&self.read_timeout, wait, |t| {
            self.stream.set_read_timeout(t)
        })?;
        (&self.stream).read(buf)
    }

    fn write(&self, buf: &[u8], wait: Option<Duration>) -> io::Result<usize> {
        let Some(wait) = wait else {
            // Only a write timeout the user set can stop this write.
            return match (&self.stream).write(buf) {
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                    Err(io::ErrorKind::TimedOut.into())
                }
                other => other,
            };
        };
        let user_timeout = self.stream.write_timeout()?;
        self.stream.set_write_timeout(Some(wait.max(SHORTEST)))?;
        let written = (&self.stream).write(buf);
        self.stream.set_write_timeout(user_timeout)?;
        match written {
            Err(err) if err.kind() == io::ErrorKind::TimedOut => {
                Err(io::ErrorKind::WouldBlock.into())
            }
            other => other,
        }
    }

    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        match self.stream.shutdown(how) {
            Err(err) if err.kind() == io::ErrorKind::NotConnected => Ok(()),
            other => other,
        }
    }

    fn send_timeout(&self) -> Option<Duration> {
        self.stream.write_timeout().ok().flatten()
    }
}

/// Give a blocking socket the read timeout `wait` (at least [`SHORTEST`]),
/// unless `set` says it has it already: `apply` sets it on the socket.
pub(crate) fn set_read_timeout(
    set: &Mutex<Option<Duration>>,
    wait: Option<Duration>,
    apply: impl FnOnce(Option<Duration>) -> io::Result<()>,
) -> io::Result<()> {
    let timeout = wait.map(|wait| wait.max(SHORTEST));
    let mut set = lock(set);
    if *set != timeout {
        apply(timeout)?;
        *set = timeout;
    }
    Ok(())
}

/// Poll an engine operation over the blocking socket `io` until it is
/// ready (the stream engine's and the datagram engine's alike).
pub(crate) fn drive<IO, T>(io: &IO, mut poll: impl FnMut(&IO, Instant) -> Step<T>) -> T {
    loop {
        match poll(io, Instant::now()) {
            Step::Ready(value) => return value,
            Step::Sleep(at) => std::thread::sleep(at.saturating_duration_since(Instant::now())),
            // A blocking socket that reports "not ready" without a
            // timeout was switched to non-blocking mode by its user:
            // do not spin on it.
            Step::Readable(None) | Step::Writable(None) => {
                std::thread::sleep(Duration::from_millis(1));
            }
            // The blocking read or write already waited.
            Step::Readable(Some(_)) | Step::Writable(Some(_)) | Step::Again => {}
        }
    }
}

/// One connection's engine and socket.
pub(crate) struct Inner<P: Protocol> {
    pub(crate) conn: Connection<P>,
    pub(crate) io: Blocking,
}

impl<P: Protocol> Inner<P> {
    /// Poll an engine operation until it is ready.
    pub(crate) fn drive<T>(&self, poll: impl FnMut(&Blocking, Instant) -> Step<T>) -> T {
        drive(&self.io, poll)
    }

    /// Send one packet (under `timeout` when set): the body of
    /// `send_packet` for a client and a connection handle.
    pub(crate) fn send_packet(
        &self,
        packet: &P::Sent,
        timeout: Option<Duration>,
    ) -> Result<(), Error> {
        let mut op = match timeout {
            Some(timeout) => SendPacket::with_timeout(packet, Instant::now(), timeout),
            None => SendPacket::new(packet),
        };
        self.drive(|io, now| self.conn.poll_send(&mut op, io, now))
    }

    /// The close sequence: the body of `close` for a client and a
    /// connection handle.
    pub(crate) fn close(&self) -> Result<(), Error> {
        let Some(mut op) = self.conn.start_close(&self.io, Instant::now()) else {
            return Ok(());
        };
        self.drive(|io, now| self.conn.poll_close(&mut op, io, now))
    }

    /// Close at once with `reason` for the `Disconnected` event (a server
    /// shutting down).
    pub(crate) fn close_because(&self, reason: &str) {
        self.conn.force_close(&self.io, Some(reason));
    }
}

impl<P: Protocol> Drop for Inner<P> {
    /// Dropping the last reference closes the connection, writing only
    /// what the socket takes without waiting.
    fn drop(&mut self) {
        self.conn.abort(&self.io);
    }
}

/// `iter_received_packets(timeout)` over any receive: `recv(Some(left))`
/// until the whole iteration's `timeout` has passed (`recv(None)` without
/// one), each result passed through the shared rule
/// ([`InStream::item`](netproto_core::driver::InStream::item)).
pub(crate) fn received_within<T>(
    timeout: Option<Duration>,
    mut recv: impl FnMut(Option<Duration>) -> Result<T, netproto_core::Error>,
) -> impl Iterator<Item = Result<T, netproto_core::Error>> {
    let end = timeout.and_then(|timeout| Instant::now().checked_add(timeout));
    let mut ended = false;
    std::iter::from_fn(move || {
        if ended {
            return None;
        }
        let received = recv(end.map(|end| end.saturating_duration_since(Instant::now())));
        netproto_core::driver::InStream::item(received, true, &mut ended)
    })
}
