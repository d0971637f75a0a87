//! The I/O plumbing: moving bytes between an `Async<TcpStream>` and the
//! core's endpoint halves, following the calling contract in
//! `netproto_core::endpoint`. Nothing here decides anything about packets.

use std::future::Future;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_io::{Async, Timer};
use futures_lite::future;
use netproto_core::endpoint::{RecvHalf, SendHalf};
use netproto_core::{Error, Protocol};

/// The socket of one connection and its "closed locally" flag.
///
/// Shared (behind an `Arc`) by the connection and, weakly, by the server
/// that accepted it, so that a shutdown can close connections that
/// handlers still hold.
#[derive(Debug)]
pub(crate) struct Link {
    pub(crate) socket: Async<TcpStream>,
    pub(crate) peer: SocketAddr,
    closed: AtomicBool,
}

impl Link {
    pub(crate) fn new(socket: Async<TcpStream>, peer: SocketAddr) -> Self {
        Link {
            socket,
            peer,
            closed: AtomicBool::new(false),
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Mark the link closed; `true` the first time. Shutting down the read
    /// side wakes a task waiting for input (the reactor reports the socket
    /// readable), which then sees the flag.
    pub(crate) fn mark_closed(&self) -> bool {
        let first = !self.closed.swap(true, Ordering::AcqRel);
        if first {
            let _ = self.socket.get_ref().shutdown(Shutdown::Read);
        }
        first
    }

    /// Close at once, without flushing: both directions are shut down, so
    /// a task waiting to read or write wakes up and fails with
    /// [`Error::Closed`].
    pub(crate) fn close_now(&self) {
        self.mark_closed();
        let _ = self.socket.get_ref().shutdown(Shutdown::Both);
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

/// Write everything the send half holds. Cancel safe: bytes leave the send
/// buffer only once the kernel has taken them.
pub(crate) async fn flush<P: Protocol>(link: &Link, send: &mut SendHalf<P>) -> Result<(), Error> {
    while send.has_pending() {
        let written = link
            .socket
            .write_with(|socket| (&*socket).write(send.pending()))
            .await
            .map_err(|err| link.error(err))?;
        if written == 0 {
            return Err(link.error(io::ErrorKind::WriteZero.into()));
        }
        send.advance(written);
    }
    Ok(())
}

/// Like [`flush`], for `close`: it writes as long as the peer keeps taking
/// bytes, and gives up once the socket has stayed unwritable for
/// [`CLOSE_STALL_LIMIT`] (a peer that stopped reading must not make `close`
/// wait forever). Errors are of no interest to a closing connection.
pub(crate) async fn flush_for_close<P: Protocol>(link: &Link, send: &mut SendHalf<P>) {
    while send.has_pending() {
        let wrote = future::or(
            async {
                link.socket
                    .write_with(|socket| (&*socket).write(send.pending()))
                    .await
                    .ok()
            },
            async {
                Timer::after(CLOSE_STALL_LIMIT).await;
                None
            },
        )
        .await;
        match wrote {
            Some(written) if written > 0 => send.advance(written),
            _ => return,
        }
    }
}

/// How long `close` waits for a peer that takes no bytes at all.
pub(crate) const CLOSE_STALL_LIMIT: Duration = Duration::from_secs(1);

/// One socket read committed into the receive half (`0` bytes: EOF).
///
/// The read buffer is taken only when input is expected: an optimistic
/// read first (async-io does not cache readiness, so waiting first would
/// cost a trip through the reactor on every read of a busy socket), and on
/// `WouldBlock` the buffer is released before waiting for the socket to
/// become readable, so an idle connection holds no receive buffer. Cancel
/// safe: nothing is committed until a read returned.
pub(crate) async fn read_once<P: Protocol>(
    link: &Link,
    recv: &mut RecvHalf<P>,
) -> Result<(), Error> {
    loop {
        if link.is_closed() {
            return Err(Error::Closed);
        }
        let read = Read::read(&mut link.socket.get_ref(), recv.read_buf());
        match read {
            Ok(_) if link.is_closed() => return Err(Error::Closed),
            Ok(n) => return recv.commit(n),
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                recv.release_memory();
                link.socket
                    .readable()
                    .await
                    .map_err(|err| link.error(err))?;
            }
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(link.error(err)),
        }
    }
}

/// Run the TLS handshake (a no-op for a plain connection): write what TLS
/// has to say, read the peer's answer, until the session is established.
/// On failure the alert TLS queued is sent on a best-effort basis.
pub(crate) async fn handshake<P: Protocol>(
    link: &Link,
    recv: &mut RecvHalf<P>,
    send: &mut SendHalf<P>,
) -> Result<(), Error> {
    loop {
        send.pull_tls();
        flush(link, send).await?;
        if !send.is_handshaking() {
            return Ok(());
        }
        read_once(link, recv).await?;
        if recv.is_eof() {
            // A TLS failure or the peer hanging up mid-handshake.
            let err = match recv.next_packet() {
                Some(Err(err)) => err,
                _ => Error::ConnectionClosed { peer: link.peer },
            };
            send.pull_tls();
            // One write that does not wait: the alert is a few bytes.
            let _ = Write::write(&mut link.socket.get_ref(), send.pending());
            return Err(err);
        }
    }
}

/// Run `operation`, failing with `on_timeout()` once `timeout` has passed
/// (`None`: no limit). Dropping `operation` must be cancel safe.
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
