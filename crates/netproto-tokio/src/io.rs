//! Moving bytes between the socket and the endpoint: receiving, sending,
//! the TLS handshake. Every wait races the connection's close signal, and
//! no `.await` sits between taking a read region and committing it.

use std::future::{Future, poll_fn};
use std::io;
use std::net::Shutdown;
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use netproto_core::endpoint::{RecvHalf, RecvLimit, SendHalf};
use netproto_core::{Error, Protocol};
use netproto_socket::STOP_READING_WAKES_READERS;
use tokio::io::Interest;
use tokio::net::TcpStream;
use tokio::sync::{Mutex, MutexGuard};

use crate::client::{Sender, TcpClient};
use crate::socket;

impl<P: Protocol> TcpClient<P> {
    /// The next packet. Bytes after it stay buffered for the next call, so a
    /// read that delivered three packets satisfies three calls.
    ///
    /// A frame that fails to deserialize is an error for that packet only
    /// ([`Error::Deserialize`] carries the frame). Errors that end receiving
    /// (reset, bad length header, TLS failure, EOF) are returned again by
    /// every later call. On a served connection with an idle timeout, a call
    /// that does not complete a packet within it fails with
    /// [`Error::Timeout`] `{ kind: netproto_core::error::TimeoutKind::Idle, .. }` and closes the
    /// connection.
    ///
    /// Cancel safety: **cancel safe.** Dropping the future (in
    /// `tokio::select!`, by `tokio::time::timeout`) loses no byte: every
    /// byte read stays in the endpoint's buffer until a whole packet is
    /// taken out of it, and the next call returns that packet intact.
    pub async fn recv_packet(&self) -> Result<P::Received, Error> {
        self.receive_within(RecvLimit::new(None, self.idle_timeout))
            .await
    }

    /// Like [`recv_packet`](TcpClient::recv_packet), giving up after
    /// `timeout` with [`Error::Timeout`] `{ kind: netproto_core::error::TimeoutKind::Receive, .. }`, which
    /// loses nothing: the next call returns the packet intact.
    /// `Duration::ZERO` returns only what is buffered or readable without
    /// waiting.
    ///
    /// Cancel safety: cancel safe, like `recv_packet`.
    pub async fn recv_packet_timeout(&self, timeout: Duration) -> Result<P::Received, Error> {
        self.receive_within(RecvLimit::new(Some(timeout), self.idle_timeout))
            .await
    }

    /// Receive within `limit` (the caller's timeout or the idle timeout).
    async fn receive_within(&self, limit: Option<RecvLimit>) -> Result<P::Received, Error> {
        let Some(limit) = limit else {
            return self.receive(false).await;
        };
        if limit.timeout.is_zero() && !limit.idle {
            // Only what is buffered or readable without waiting.
            return self.receive(true).await.map_err(|err| match err {
                Error::Timeout { .. } => limit.expired(),
                other => other,
            });
        }
        match tokio::time::timeout(limit.timeout, self.receive(false)).await {
            Ok(result) => result,
            Err(_) => Err(self.expired(limit)),
        }
    }

    /// Send one packet; returns once every byte of it is handed to the
    /// kernel. An [`Error::Encode`] means the packet was refused and nothing
    /// was queued; the connection stays usable.
    ///
    /// Cancel safety: the packet is queued whole or not at all. A future
    /// dropped after queuing leaves the packet's remaining bytes in the send
    /// buffer; the next `send_packet`, `send_eof`, flush of the sink or
    /// `close` writes them first, so the byte stream stays intact.
    pub async fn send_packet(&self, packet: &P::Sent) -> Result<(), Error> {
        let sent = async {
            let mut send = self.lock_or_closed(&self.send).await?;
            self.flush(&mut send.half, true).await?;
            send.half.push_packet(packet)?;
            self.flush(&mut send.half, true).await
        };
        self.noted(sent.await)
    }

    /// Write anything a cancelled `send_packet` left queued.
    ///
    /// Cancel safety: cancel safe; what is not written yet stays queued.
    pub(crate) async fn flush_pending(&self) -> Result<(), Error> {
        let flushed = async {
            let mut send = self.lock_or_closed(&self.send).await?;
            self.flush(&mut send.half, true).await
        };
        self.noted(flushed.await)
    }

    /// Flush, send TLS close_notify, and shut down the write half: the peer
    /// sees the end of the stream. Receiving keeps working; later sends
    /// fail with [`Error::SendAfterEof`]. Calling it twice is harmless.
    ///
    /// Cancel safety: cancel safe; calling it again finishes the job.
    pub async fn send_eof(&self) -> Result<(), Error> {
        let ended = async {
            let mut send = self.lock_or_closed(&self.send).await?;
            self.flush(&mut send.half, true).await?;
            send.half.push_eof();
            self.flush(&mut send.half, true).await?;
            if !send.shut {
                socket::shutdown(&self.shared.stream, Shutdown::Write)
                    .map_err(|err| Error::from_io(err, self.shared.peer))?;
                send.shut = true;
            }
            Ok(())
        };
        self.noted(ended.await)
    }

    /// `result`, its error noted as a reason for `Disconnected`.
    fn noted<T>(&self, result: Result<T, Error>) -> Result<T, Error> {
        result.inspect_err(|err| self.shared.events.note(err))
    }

    /// The receive loop of the calling contract. With `nowait`, returns
    /// `Error::Timeout` instead of waiting for the socket.
    pub(crate) async fn receive(&self, nowait: bool) -> Result<P::Received, Error> {
        let received = self.receive_locked(nowait).await;
        self.noted(received)
    }

    async fn receive_locked(&self, nowait: bool) -> Result<P::Received, Error> {
        let mut guard = if nowait {
            self.recv.try_lock().map_err(|_| would_wait())?
        } else {
            self.lock_or_closed(&self.recv).await?
        };
        let recv: &mut RecvHalf<P> = &mut guard;
        loop {
            if self.shared.is_closed() {
                return Err(Error::Closed);
            }
            if let Some(result) = recv.next_packet() {
                // A drained buffer is freed at once (it is freed anyway
                // before waiting): a connection that is not receiving at the
                // moment holds no receive buffer either.
                recv.release_memory();
                return result;
            }
            if recv.tls_wants_write() {
                self.write_tls_output();
            }
            if !nowait {
                self.read_once(recv).await?;
                continue;
            }
            match socket::read_now(&self.shared.stream, recv.read_buf()) {
                Ok(n) => recv.commit(n),
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return Err(would_wait()),
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(recv.fail_io(err)),
            }
        }
    }

    /// Wait until the socket is readable (or the connection is closed). If
    /// it is not readable at once, free the receive buffer first, so an
    /// idle connection holds no buffer memory while it waits.
    ///
    /// Closing starts with `netproto_socket::stop_reading`, which wakes this
    /// wait where [`STOP_READING_WAKES_READERS`] (Unix), so there it needs
    /// no registration with the close signal: request/response traffic
    /// waits here once per packet, and the registration cost about 2% of
    /// an 8-client echo's throughput. The caller's loop sees the closed
    /// flag after waking.
    async fn wait_readable(&self, recv: &mut RecvHalf<P>) -> Result<(), Error> {
        let mut readable = pin!(self.shared.stream.readable());
        let mut released = false;
        let ready = poll_fn(|cx| {
            let poll = readable.as_mut().poll(cx);
            if poll.is_pending() && !released {
                recv.release_memory();
                released = true;
            }
            poll
        });
        let ready = if STOP_READING_WAKES_READERS {
            ready.await
        } else {
            self.or_closed(ready).await?
        };
        ready.map_err(|err| recv.fail_io(err))
    }

    /// Write the send half's pending bytes until none are left.
    /// `interruptible`: give up with `Error::Closed` when the connection is
    /// closed (every call but the final flush of `close`).
    pub(crate) async fn flush(
        &self,
        send: &mut SendHalf<P>,
        interruptible: bool,
    ) -> Result<(), Error> {
        let stream = &self.shared.stream;
        loop {
            send.pull_tls();
            if !send.has_pending() {
                return Ok(());
            }
            if interruptible && self.shared.is_closed() {
                return Err(Error::Closed);
            }
            match stream.try_write(send.pending()) {
                Ok(n) => send.advance(n),
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                    let ready = if interruptible {
                        self.or_closed(stream.writable()).await?
                    } else {
                        stream.writable().await
                    };
                    ready.map_err(|err| Error::from_io(err, self.shared.peer))?;
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(Error::from_io(err, self.shared.peer)),
            }
        }
    }

    /// The final flush of `close`: what is queued, then the end of the
    /// stream (TLS close_notify).
    pub(crate) async fn finish_sending(&self, send: &mut Sender<P>) -> Result<(), Error> {
        self.flush(&mut send.half, false).await?;
        send.half.push_eof();
        self.flush(&mut send.half, false).await
    }

    /// TLS output produced while receiving (a key update, an alert): write
    /// it now if no send is in progress; otherwise the running send (which
    /// pulls TLS output before each write) or the next one carries it.
    fn write_tls_output(&self) {
        if let Ok(mut send) = self.send.try_lock() {
            let _ = write_nowait(&self.shared.stream, &mut send.half);
        }
    }

    /// Run the TLS handshake: while handshaking, write what TLS has for the
    /// peer, then read and commit.
    pub(crate) async fn handshake(&self) -> Result<(), Error> {
        loop {
            {
                let mut send = self.lock_or_closed(&self.send).await?;
                self.flush(&mut send.half, true).await?;
                if !send.half.is_handshaking() {
                    return Ok(());
                }
            }
            let mut guard = self.lock_or_closed(&self.recv).await?;
            let recv: &mut RecvHalf<P> = &mut guard;
            if let Some(err) = recv.handshake_error() {
                // Any alert for the peer was written by the flush above.
                return Err(err);
            }
            self.read_once(recv).await?;
        }
    }

    /// Read once into the receive half, waiting for the socket only when it
    /// has nothing to give now (tokio answers from its readiness state
    /// without a system call when the socket is known to be empty).
    async fn read_once(&self, recv: &mut RecvHalf<P>) -> Result<(), Error> {
        loop {
            match read_draining(&self.shared.stream, recv) {
                Ok(n) => {
                    recv.commit(n);
                    return Ok(());
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                    self.wait_readable(recv).await?;
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(recv.fail_io(err)),
            }
        }
    }

    /// Lock `mutex`; when another call holds it, wait for it unless or
    /// until the connection is closed. The uncontended case (one caller,
    /// the common one) costs a compare-and-swap, not a close-signal
    /// registration.
    pub(crate) async fn lock_or_closed<'a, T>(
        &self,
        mutex: &'a Mutex<T>,
    ) -> Result<MutexGuard<'a, T>, Error> {
        match mutex.try_lock() {
            Ok(_) if self.shared.is_closed() => Err(Error::Closed),
            Ok(guard) => Ok(guard),
            Err(_) => self.or_closed(mutex.lock()).await,
        }
    }

    /// A receive's `limit` has passed; the idle timeout closes the
    /// connection.
    fn expired(&self, limit: RecvLimit) -> Error {
        let err = limit.expired();
        if limit.idle {
            self.shared.events.note(&err);
            self.shared.force_close();
        }
        err
    }

    /// Run `fut` unless or until the connection is closed.
    pub(crate) async fn or_closed<F: Future>(&self, fut: F) -> Result<F::Output, Error> {
        let mut closed = pin!(self.shared.wake().notified());
        closed.as_mut().enable();
        if self.shared.is_closed() {
            return Err(Error::Closed);
        }
        let mut fut = pin!(fut);
        poll_fn(|cx| {
            if closed.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Err(Error::Closed));
            }
            fut.as_mut().poll(cx).map(Ok)
        })
        .await
    }
}

fn would_wait() -> Error {
    Error::Timeout {
        kind: netproto_core::error::TimeoutKind::Receive,
        timeout: Duration::ZERO,
    }
}

/// Whether a short read proves the socket drained: with the edge-triggered
/// selectors mio uses on these systems (epoll, kqueue), new data brings a
/// new event. Not with level-triggered ones (Windows, or `poll` when mio is
/// built with `mio_unsupported_force_poll_poll`), where forgetting the
/// readiness could miss data; the same platforms as tokio's own
/// `AsyncRead` for `TcpStream`.
const SHORT_READ_DRAINS: bool = cfg!(all(
    not(mio_unsupported_force_poll_poll),
    any(
        target_os = "android",
        target_os = "illumos",
        target_os = "linux",
        target_os = "redox",
        target_os = "dragonfly",
        target_os = "freebsd",
        target_os = "ios",
        target_os = "macos",
        target_os = "netbsd",
        target_os = "openbsd",
        target_os = "tvos",
        target_os = "visionos",
        target_os = "watchos",
    )
));

/// One read into the receive half's read region if tokio has seen the
/// socket readable.
///
/// A read that comes back shorter than the region emptied the socket's
/// receive queue, so tokio is told to forget the readiness it saw (where
/// [`SHORT_READ_DRAINS`]): the next read then waits for the reactor instead
/// of making a system call only to hear "would block". tokio's own
/// `AsyncRead` for `TcpStream` does the same; `try_read` does not, which
/// cost one extra `recv` per packet in request/response traffic. The
/// readiness cleared is the one seen *before* the read, so an event that
/// arrives during it is kept.
fn read_draining<P: Protocol>(stream: &TcpStream, recv: &mut RecvHalf<P>) -> io::Result<usize> {
    let mut short = None;
    // The read region is taken only once tokio has seen the socket
    // readable: a receive that is going to wait allocates nothing (the
    // wait frees a drained buffer).
    let read = stream.try_io(Interest::READABLE, || {
        let buf = recv.read_buf();
        let len = buf.len();
        let n = socket::read_now(stream, buf)?;
        if SHORT_READ_DRAINS && n > 0 && n < len {
            short = Some(n);
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(n)
    });
    match short {
        Some(n) => Ok(n),
        None => read,
    }
}

/// Write what the socket takes now, without waiting.
pub(crate) fn write_nowait<P: Protocol>(
    stream: &TcpStream,
    send: &mut SendHalf<P>,
) -> io::Result<()> {
    send.pull_tls();
    while send.has_pending() {
        let n = stream.try_write(send.pending())?;
        send.advance(n);
    }
    Ok(())
}
