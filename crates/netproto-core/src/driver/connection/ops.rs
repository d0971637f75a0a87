//! The operations a connection runs while it is open: the handshake,
//! receiving, sending, flushing and the end of the stream.

use std::io;
use std::net::Shutdown;
use std::time::{Duration, Instant};

use super::{Connection, Sender, Step, Transport, deadline_after, left, lock, would_block};
use crate::endpoint::{ConnectionSetup, RecvLimit};
use crate::error::{Error, TimeoutKind};
use crate::protocol::Protocol;
use crate::sync::atomic::Ordering;

/// A TLS handshake in progress (made by [`Connection::handshake`]).
#[derive(Debug)]
pub struct Handshake {
    deadline: Option<Instant>,
}

/// A receive in progress (made by [`Connection::recv`]).
#[derive(Debug)]
pub struct Recv {
    limit: Option<RecvLimit>,
    deadline: Option<Instant>,
    /// A read was tried: a zero timeout still looks at the socket once.
    attempted: bool,
}

/// A send in progress: one packet, queued whole once what an earlier send
/// left queued is written, then written until the kernel has all of it.
#[derive(Debug)]
pub struct SendPacket<'a, T: ?Sized> {
    packet: Option<&'a T>,
    /// When the send gives up, with the timeout it was given.
    deadline: Option<(Instant, Duration)>,
}

impl<'a, T: ?Sized> SendPacket<'a, T> {
    /// Send `packet`, waiting as long as it takes.
    pub fn new(packet: &'a T) -> Self {
        SendPacket {
            packet: Some(packet),
            deadline: None,
        }
    }

    /// Send `packet`, giving up `timeout` after `now` with
    /// [`Error::Timeout`] of kind [`TimeoutKind::Send`]. The packet is
    /// then queued whole (the next send, flush or close writes the rest) or
    /// not at all (what an earlier send left was still being written), and
    /// the connection stays usable. A zero timeout still writes what the
    /// socket takes at once.
    pub fn with_timeout(packet: &'a T, now: Instant, timeout: Duration) -> Self {
        SendPacket {
            packet: Some(packet),
            deadline: now.checked_add(timeout).map(|at| (at, timeout)),
        }
    }
}

/// How writing what is queued ended.
pub(super) enum Flushed {
    /// Everything is written.
    Done,
    /// The socket takes no more now.
    Blocked,
    /// Writing failed for good.
    Failed(Error),
}

impl<P: Protocol> Connection<P> {
    /// Start the TLS handshake, bounded by the setup's handshake timeout.
    pub fn handshake(&self, now: Instant) -> Handshake {
        Handshake {
            deadline: deadline_after(now, self.handshake_timeout),
        }
    }

    /// Drive the handshake. Once it is done (at once for a plain
    /// connection) the connection is reported `Connected`. When it fails or
    /// times out, the alert TLS has for the peer (or a close_notify) is
    /// written if the socket takes it at once, and the socket is shut down.
    pub fn poll_handshake<T: Transport + ?Sized>(
        &self,
        op: &mut Handshake,
        io: &T,
        now: Instant,
    ) -> Step<Result<(), Error>> {
        if self.is_closed() {
            return Step::Ready(Err(self.closed_error()));
        }
        let mut recv = lock(&self.recv);
        let mut send = lock(&self.send);
        loop {
            match self.write_queued(&mut send, io, left(op.deadline, now), true) {
                Flushed::Done => {}
                Flushed::Blocked if op.deadline.is_some_and(|at| now >= at) => {}
                Flushed::Blocked => return Step::Writable(op.deadline),
                Flushed::Failed(err) => {
                    // A write that fails after the peer's side of the
                    // handshake ended (its alert, plain text, its hang-up)
                    // fails because of it: report what the peer did.
                    let err = recv.handshake_error().unwrap_or(err);
                    return Step::Ready(Err(self.setup_failed(&mut send, io, err)));
                }
            }
            if !send.half.is_handshaking() {
                self.events.connected(self.local.clone());
                return Step::Ready(Ok(()));
            }
            if let Some(err) = recv.handshake_error() {
                return Step::Ready(Err(self.setup_failed(&mut send, io, err)));
            }
            if op.deadline.is_some_and(|at| now >= at) {
                let timeout = self.handshake_timeout.unwrap_or_default();
                let err = ConnectionSetup::handshake_timed_out(timeout);
                return Step::Ready(Err(self.setup_failed(&mut send, io, err)));
            }
            match io.read(recv.read_buf(), left(op.deadline, now)) {
                Ok(n) => {
                    recv.commit(n);
                    if op.deadline.is_some() {
                        return Step::Again;
                    }
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) if would_block(&err) => return Step::Readable(op.deadline),
                Err(err) => {
                    let err = recv.fail_io(err);
                    return Step::Ready(Err(self.setup_failed(&mut send, io, err)));
                }
            }
        }
    }

    /// The setup failed with `err`: tell the peer (the TLS alert, or a
    /// close_notify when TLS has nothing else to say) if the socket takes
    /// it at once, shut the socket down, and hand back `err`.
    fn setup_failed<T: Transport + ?Sized>(
        &self,
        send: &mut Sender<P>,
        io: &T,
        err: Error,
    ) -> Error {
        if self.mark_closed() {
            send.half.pull_tls();
            send.half.push_eof();
            let _ = self.write_queued(send, io, Some(Duration::ZERO), false);
            let _ = io.shutdown(Shutdown::Both);
        }
        err
    }

    /// Start receiving one packet, waiting at most `timeout` (`None`: as
    /// long as it takes) — and, on a served connection, at most its idle
    /// timeout, whose expiry closes the connection.
    pub fn recv(&self, now: Instant, timeout: Option<Duration>) -> Recv {
        let limit = RecvLimit::new(timeout, self.idle_timeout);
        Recv {
            deadline: limit.and_then(|limit| deadline_after(now, Some(limit.timeout))),
            limit,
            attempted: false,
        }
    }

    /// Drive a receive.
    ///
    /// `Ready(Ok(packet))` is the next whole packet; bytes after it stay
    /// buffered for the next receive. `Ready(Err(e))`: see
    /// [`Error::is_recoverable`] for whether receiving can go on; errors
    /// that end receiving (reset, bad length header, TLS failure, EOF) are
    /// reported again by every later receive, and the first of them
    /// reports `Disconnected` with its reason.
    ///
    /// The receive buffer is released whenever the receive has to wait
    /// for the socket with nothing buffered, so an idle connection holds no
    /// buffer memory.
    pub fn poll_recv<T: Transport + ?Sized>(
        &self,
        op: &mut Recv,
        io: &T,
        now: Instant,
    ) -> Step<Result<P::Received, Error>> {
        let mut recv = lock(&self.recv);
        // A read delivered bytes under a deadline: `now` is stale for a
        // blocking transport, so the deadline is looked at again with a
        // fresh clock before the next read.
        let mut read_under_deadline = false;
        loop {
            if self.is_closed() {
                return Step::Ready(Err(self.closed_error()));
            }
            if let Some(result) = recv.next_packet() {
                if let Err(err) = &result {
                    self.ended_by(err);
                }
                return Step::Ready(result);
            }
            if read_under_deadline {
                return Step::Again;
            }
            if recv.tls_wants_write() {
                self.write_tls_output(io);
            }
            if let (Some(at), Some(limit)) = (op.deadline, op.limit) {
                if now >= at && op.attempted {
                    drop(recv);
                    return Step::Ready(Err(self.recv_expired(limit, io)));
                }
            }
            op.attempted = true;
            match io.read(recv.read_buf(), left(op.deadline, now)) {
                Ok(0) if self.is_closed() => return Step::Ready(Err(self.closed_error())),
                Ok(n) => {
                    recv.commit(n);
                    read_under_deadline = op.deadline.is_some() && n > 0;
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(_) if self.is_closed() => return Step::Ready(Err(self.closed_error())),
                Err(err) if would_block(&err) || err.kind() == io::ErrorKind::TimedOut => {
                    recv.release_memory();
                    return Step::Readable(op.deadline);
                }
                Err(err) => {
                    let err = recv.fail_io(err);
                    self.ended_by(&err);
                    return Step::Ready(Err(err));
                }
            }
        }
    }

    /// A receive's limit passed: a caller's timeout loses nothing; the idle
    /// timeout closes the connection.
    fn recv_expired<T: Transport + ?Sized>(&self, limit: RecvLimit, io: &T) -> Error {
        let err = limit.expired();
        if limit.idle {
            self.events.note(&err);
            self.force_close(io, None);
        }
        err
    }

    /// TLS output produced while receiving (a session ticket, a key
    /// update, an alert): write what the socket takes now, unless a send is
    /// in progress — it pulls TLS output before each write, and so does
    /// the next one.
    fn write_tls_output<T: Transport + ?Sized>(&self, io: &T) {
        if let Some(mut send) = self.try_lock_send() {
            let _ = self.write_queued(&mut send, io, Some(Duration::ZERO), true);
        }
    }

    /// Drive a send: first write what an earlier send left queued, then
    /// queue the packet (whole, or not at all: an [`Error::Encode`] queues
    /// nothing and the connection stays usable), then write until the
    /// kernel has taken every byte of it.
    pub fn poll_send<T: Transport + ?Sized>(
        &self,
        op: &mut SendPacket<'_, P::Sent>,
        io: &T,
        now: Instant,
    ) -> Step<Result<(), Error>> {
        if self.is_closed() {
            return Step::Ready(Err(self.closed_error()));
        }
        let mut send = lock(&self.send);
        let deadline = op.deadline.map(|(at, _)| at);
        loop {
            match self.write_queued(&mut send, io, left(deadline, now), true) {
                Flushed::Done => {}
                Flushed::Blocked => {
                    return match op.deadline {
                        Some((at, timeout)) if now >= at => Step::Ready(Err(Error::Timeout {
                            kind: TimeoutKind::Send,
                            timeout,
                        })),
                        _ => Step::Writable(deadline),
                    };
                }
                Flushed::Failed(err) => {
                    self.ended_by(&err);
                    return Step::Ready(Err(err));
                }
            }
            let Some(packet) = op.packet.take() else {
                return Step::Ready(Ok(()));
            };
            if let Err(err) = send.half.push_packet(packet) {
                return Step::Ready(Err(err));
            }
            self.queued
                .store(send.half.pending().len(), Ordering::Release);
        }
    }

    /// Write what is queued (what a cancelled send left, TLS output).
    pub fn poll_flush<T: Transport + ?Sized>(
        &self,
        io: &T,
        now: Instant,
    ) -> Step<Result<(), Error>> {
        let _ = now;
        if self.is_closed() {
            return Step::Ready(Err(self.closed_error()));
        }
        let mut send = lock(&self.send);
        self.write_for_sender(&mut send, io)
            .unwrap_or(Step::Ready(Ok(())))
    }

    /// Write what is queued for a send, flush or `send_eof`: `None` once
    /// everything is written, else the step to return (wait for the socket,
    /// or the failure, which may end the connection).
    fn write_for_sender<T: Transport + ?Sized>(
        &self,
        send: &mut Sender<P>,
        io: &T,
    ) -> Option<Step<Result<(), Error>>> {
        match self.write_queued(send, io, None, true) {
            Flushed::Done => None,
            Flushed::Blocked => Some(Step::Writable(None)),
            Flushed::Failed(err) => {
                self.ended_by(&err);
                Some(Step::Ready(Err(err)))
            }
        }
    }

    /// Drive `send_eof`: write what is queued, queue the end of the stream
    /// (TLS close_notify), write it, and shut the socket's write half down.
    /// Receiving keeps working; later sends fail with
    /// [`Error::SendAfterEof`]. Calling it again after it finished is
    /// harmless.
    pub fn poll_send_eof<T: Transport + ?Sized>(
        &self,
        io: &T,
        now: Instant,
    ) -> Step<Result<(), Error>> {
        let _ = now;
        if self.is_closed() {
            return Step::Ready(Err(self.closed_error()));
        }
        let mut send = lock(&self.send);
        if send.write_shut {
            return Step::Ready(Ok(()));
        }
        loop {
            if let Some(step) = self.write_for_sender(&mut send, io) {
                return step;
            }
            if send.half.is_eof() {
                break;
            }
            send.half.push_eof();
        }
        send.write_shut = true;
        match io.shutdown(Shutdown::Write) {
            Ok(()) => Step::Ready(Ok(())),
            Err(err) if err.kind() == io::ErrorKind::NotConnected => Step::Ready(Ok(())),
            Err(err) => Step::Ready(Err(Error::from_io(err, self.peer.clone()))),
        }
    }

    /// Write what the send half holds (TLS output pulled first), each write
    /// waiting at most `wait` on a blocking transport. `interruptible`:
    /// stop with [`Error::Closed`] once the connection is closed (every
    /// caller but `close`'s own final flush).
    pub(super) fn write_queued<T: Transport + ?Sized>(
        &self,
        send: &mut Sender<P>,
        io: &T,
        wait: Option<Duration>,
        interruptible: bool,
    ) -> Flushed {
        loop {
            send.half.pull_tls();
            if !send.half.has_pending() {
                self.queued.store(0, Ordering::Release);
                return Flushed::Done;
            }
            if interruptible && self.is_closed() {
                self.note_forced(send);
                return Flushed::Failed(Error::Closed);
            }
            match io.write(send.half.pending(), wait) {
                Ok(0) => {
                    return Flushed::Failed(Error::from_io(
                        io::ErrorKind::WriteZero.into(),
                        self.peer.clone(),
                    ));
                }
                Ok(n) => {
                    send.half.advance(n);
                    self.queued
                        .store(send.half.pending().len(), Ordering::Release);
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(_) if interruptible && self.is_closed() => {
                    self.note_forced(send);
                    return Flushed::Failed(Error::Closed);
                }
                Err(err) if would_block(&err) => return Flushed::Blocked,
                Err(err) if err.kind() == io::ErrorKind::TimedOut => {
                    return Flushed::Failed(Error::Timeout {
                        kind: TimeoutKind::Send,
                        timeout: io.send_timeout().unwrap_or_default(),
                    });
                }
                Err(err) => return Flushed::Failed(Error::from_io(err, self.peer.clone())),
            }
        }
    }
}
