//! The I/O plumbing: moving bytes between an `Async<TcpStream>` and the
//! core's endpoint halves, following the calling contract in
//! `netproto_core::endpoint`. Nothing here decides anything about packets.
//! Every wait races the connection's close signal.

use std::future::Future;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_io::{Async, Timer};
use event_listener::Event;
use futures_lite::future;
use netproto_core::endpoint::{ConnectionEvents, RecvHalf, SendHalf};
use netproto_core::{Error, Protocol};
use netproto_socket::STOP_READING_WAKES_READERS;

/// The socket of one connection and its "closed locally" signal.
///
/// Shared (behind an `Arc`) by the connection and, weakly, by the server
/// that accepted it, so that a shutdown can close connections that
/// handlers still hold.
#[derive(Debug)]
pub(crate) struct Link {
    pub(crate) socket: Async<TcpStream>,
    pub(crate) peer: SocketAddr,
    closed: AtomicBool,
    closing: Event,
    pub(crate) events: ConnectionEvents,
}

impl Link {
    pub(crate) fn new(
        socket: Async<TcpStream>,
        peer: SocketAddr,
        events: ConnectionEvents,
    ) -> Self {
        Link {
            socket,
            peer,
            closed: AtomicBool::new(false),
            closing: Event::new(),
            events,
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Mark the link closed and wake every task waiting to read or write
    /// (they return [`Error::Closed`]); `true` the first time. A task
    /// waiting for the socket to be readable is woken by shutting the read
    /// half down; the others by the close event. Writing still works, so
    /// that `close` can flush.
    pub(crate) fn begin_close(&self) -> bool {
        let first = !self.closed.swap(true, Ordering::AcqRel);
        if first {
            netproto_socket::stop_reading(self.socket.get_ref());
            self.closing.notify(usize::MAX);
        }
        first
    }

    /// Shut the socket down in both directions.
    pub(crate) fn shut_down(&self) {
        let _ = self.socket.get_ref().shutdown(Shutdown::Both);
    }

    /// Close at once, without flushing.
    pub(crate) fn close_now(&self) {
        self.begin_close();
        self.shut_down();
    }

    /// Close at once, without flushing, and report `Disconnected` (idle
    /// timeout, dropped client).
    pub(crate) fn force_close(&self) {
        self.close_now();
        self.events.disconnected();
    }

    /// Close at once with `reason` for the `Disconnected` event (a server
    /// shutting down).
    pub(crate) fn close_because(&self, reason: &str) {
        self.events.note_reason(reason);
        self.force_close();
    }

    /// Completes once the link is closed.
    async fn closed(&self) {
        loop {
            if self.is_closed() {
                return;
            }
            let listener = self.closing.listen();
            if self.is_closed() {
                return;
            }
            listener.await;
        }
    }

    /// Run `operation` unless or until the link is closed
    /// ([`Error::Closed`]). `operation` must be cancel safe.
    pub(crate) async fn or_closed<T>(
        &self,
        operation: impl Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        future::or(operation, async {
            self.closed().await;
            Err(Error::Closed)
        })
        .await
    }

    /// The error for a failed socket operation: [`Error::Closed`] once the
    /// link was closed locally, else the error naming the peer.
    pub(crate) fn error(&self, err: io::Error) -> Error {
        if self.is_closed() {
            Error::Closed
        } else {
            Error::from_io(err, self.peer)
        }
    }
}

/// Write everything the send half holds (with TLS output pulled first).
/// `interruptible`: give up with [`Error::Closed`] once the link is closed
/// (every caller but the final flush of `close`). Cancel safe: bytes leave
/// the send buffer only once the kernel has taken them.
pub(crate) async fn flush<P: Protocol>(
    link: &Link,
    send: &mut SendHalf<P>,
    interruptible: bool,
) -> Result<(), Error> {
    loop {
        send.pull_tls();
        if !send.has_pending() {
            return Ok(());
        }
        if interruptible && link.is_closed() {
            return Err(Error::Closed);
        }
        match Write::write(&mut link.socket.get_ref(), send.pending()) {
            Ok(0) => return Err(link.error(io::ErrorKind::WriteZero.into())),
            Ok(written) => send.advance(written),
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                let writable = async { link.socket.writable().await.map_err(|e| link.error(e)) };
                if interruptible {
                    link.or_closed(writable).await?;
                } else {
                    writable.await?;
                }
            }
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(link.error(err)),
        }
    }
}

/// Write what the socket takes now, without waiting; the rest stays
/// queued for the next flush.
pub(crate) fn write_nowait<P: Protocol>(link: &Link, send: &mut SendHalf<P>) -> io::Result<()> {
    send.pull_tls();
    while send.has_pending() {
        let written = Write::write(&mut link.socket.get_ref(), send.pending())?;
        if written == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        send.advance(written);
    }
    Ok(())
}

/// One socket read committed into the receive half (`0` bytes: EOF).
///
/// The read buffer is taken only when input is expected: an optimistic
/// read first (async-io does not cache readiness, so waiting first would
/// cost a trip through the reactor on every read of a busy socket), and on
/// `WouldBlock` the buffer is released before waiting for the socket to
/// become readable, so an idle connection holds no receive buffer. Cancel
/// safe: nothing is committed until a read returned. A socket error is
/// recorded in the receive half, which reports it on every later call.
pub(crate) async fn read_once<P: Protocol>(
    link: &Link,
    recv: &mut RecvHalf<P>,
) -> Result<(), Error> {
    loop {
        if link.is_closed() {
            return Err(Error::Closed);
        }
        let read = Read::read(&mut link.socket.get_ref(), recv.read_buf());
        let failed = match read {
            Ok(_) if link.is_closed() => return Err(Error::Closed),
            Ok(n) => {
                recv.commit(n);
                return Ok(());
            }
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                recv.release_memory();
                // Closing starts with `stop_reading`, which wakes this wait
                // where `STOP_READING_WAKES_READERS` (Unix): there it needs
                // no close-event listener; the loop sees the closed flag
                // after waking.
                let readable = if STOP_READING_WAKES_READERS {
                    link.socket.readable().await
                } else {
                    link.or_closed(async { Ok(link.socket.readable().await) })
                        .await?
                };
                match readable {
                    Ok(()) => continue,
                    Err(err) => err,
                }
            }
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => err,
        };
        // A socket error ends receiving for good (unless it is the local
        // close that caused it).
        return Err(if link.is_closed() {
            Error::Closed
        } else {
            recv.fail_io(failed)
        });
    }
}

/// Run the TLS handshake (a no-op for a plain connection): write what TLS
/// has to say, read the peer's answer, until the session is established.
/// On failure, the alert TLS queued is written if the socket takes it at
/// once.
pub(crate) async fn handshake<P: Protocol>(
    link: &Link,
    recv: &mut RecvHalf<P>,
    send: &mut SendHalf<P>,
) -> Result<(), Error> {
    loop {
        flush(link, send, true).await?;
        if !send.is_handshaking() {
            return Ok(());
        }
        read_once(link, recv).await?;
        if let Some(err) = recv.handshake_error() {
            // Report it after sending the alert rustls queued.
            let _ = write_nowait(link, send);
            return Err(err);
        }
    }
}

/// Run `operation`, failing with `on_timeout(timeout)` once `timeout` has
/// passed (`None`: no limit). `operation` must be cancel safe.
pub(crate) async fn with_timeout<T>(
    timeout: Option<Duration>,
    operation: impl Future<Output = Result<T, Error>>,
    on_timeout: impl FnOnce(Duration) -> Error,
) -> Result<T, Error> {
    let Some(timeout) = timeout else {
        return operation.await;
    };
    future::or(operation, async {
        Timer::after(timeout).await;
        Err(on_timeout(timeout))
    })
    .await
}
