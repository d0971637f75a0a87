//! The close sequence: `close`, a dropped connection, a server closing a
//! connection.

use std::net::Shutdown;
use std::time::{Duration, Instant};

use super::ops::Flushed;
use super::{Connection, LOCK_RETRY, Step, Transport, left, lock};
use crate::error::Error;
use crate::protocol::Protocol;
use crate::sync::atomic::Ordering;

/// A `close` in progress (made by [`Connection::start_close`]).
#[derive(Debug)]
pub struct Close {
    deadline: Instant,
    /// The end of the stream (TLS close_notify) is queued: what is still
    /// pending after it is not the user's data.
    eof_queued: bool,
    /// The TLS shutdown timeout cut the deadline short: giving up then
    /// is on the close_notify, reported in the `Disconnected` reason.
    shutdown_limit: Option<Duration>,
}

impl<P: Protocol> Connection<P> {
    /// Start closing: mark the connection closed and shut the socket's
    /// read half down, which wakes a receive waiting in another thread or
    /// task at once (it returns [`Error::Closed`]); writing stays possible
    /// for the final flush. `None` if the connection was closed already
    /// (closing is idempotent).
    pub fn start_close<T: Transport + ?Sized>(&self, io: &T, now: Instant) -> Option<Close> {
        if !self.mark_closed() {
            return None;
        }
        let _ = io.shutdown(Shutdown::Read);
        Some(Close {
            deadline: now
                .checked_add(self.close_timeout)
                .unwrap_or(now + Duration::from_secs(3600)),
            eof_queued: false,
            shutdown_limit: None,
        })
    }

    /// Drive a close: write what is still queued (a send in progress or
    /// cancelled, then the TLS close_notify) until the close timeout, shut
    /// the socket down, and report `Disconnected`.
    ///
    /// `Ready(Err(Error::Undelivered { bytes, .. }))` when queued bytes had
    /// to be given up — the peer did not take them in time, or the
    /// connection failed first; the connection is closed all the same.
    pub fn poll_close<T: Transport + ?Sized>(
        &self,
        op: &mut Close,
        io: &T,
        now: Instant,
    ) -> Step<Result<(), Error>> {
        // A send in progress elsewhere finishes writing its packet first.
        let Some(mut send) = self.try_lock_send() else {
            if now >= op.deadline {
                return Step::Ready(self.finish_close(io, self.queued()));
            }
            return Step::Sleep((now + LOCK_RETRY).min(op.deadline));
        };
        loop {
            let wait = left(Some(op.deadline), now);
            match self.write_queued(&mut send, io, wait, false) {
                Flushed::Done if op.eof_queued => {
                    drop(send);
                    return Step::Ready(self.finish_close(io, 0));
                }
                Flushed::Done => {
                    send.half.push_eof();
                    op.eof_queued = true;
                    // Everything queued is written: the TLS shutdown gets
                    // its own, shorter, time when one is set.
                    if let Some(limit) = send.half.tls_shutdown_timeout() {
                        if let Some(at) = now.checked_add(limit) {
                            if at < op.deadline {
                                op.deadline = at;
                                op.shutdown_limit = Some(limit);
                            }
                        }
                    }
                }
                Flushed::Blocked if now < op.deadline => return Step::Writable(Some(op.deadline)),
                flushed @ (Flushed::Blocked | Flushed::Failed(_)) => {
                    let undelivered = if op.eof_queued {
                        let blocked = matches!(flushed, Flushed::Blocked);
                        if let (Some(limit), true) = (op.shutdown_limit, blocked) {
                            self.events.note_reason(format_args!(
                                "the TLS close_notify was not delivered within the TLS shutdown timeout of {limit:?}"
                            ));
                        }
                        0
                    } else {
                        send.half.pending().len()
                    };
                    self.note_forced(&send);
                    drop(send);
                    return Step::Ready(self.finish_close(io, undelivered));
                }
            }
        }
    }

    /// The end of every close: shut the socket down, report `Disconnected`
    /// (with the bytes given up, if any) and say what was lost.
    ///
    /// A close that another one finished first (a server's forced close
    /// cut it short) still reports the bytes it gave up to its caller; the
    /// event is reported once, by the first.
    fn finish_close<T: Transport + ?Sized>(&self, io: &T, undelivered: usize) -> Result<(), Error> {
        let lost = (undelivered > 0).then(|| Error::Undelivered {
            peer: self.peer.clone(),
            bytes: undelivered,
        });
        if self.finished.swap(true, Ordering::AcqRel) {
            return lost.map_or(Ok(()), Err);
        }
        let _ = io.shutdown(Shutdown::Both);
        if let Some(err) = &lost {
            self.events.note_reason(err);
        }
        self.events.disconnected();
        lost.map_or(Ok(()), Err)
    }

    /// Close at once, for a connection dropped without `close`: queue the
    /// end of the stream (TLS close_notify), write what the socket takes
    /// without waiting, shut the socket down and report `Disconnected` —
    /// with the number of queued bytes given up, if any. After a `close`
    /// that was abandoned mid-way (a dropped future), it only finishes the
    /// close: shut down, `Disconnected`.
    pub fn abort<T: Transport + ?Sized>(&self, io: &T) {
        if !self.mark_closed() {
            let _ = self.finish_close(io, 0);
            return;
        }
        let mut send = lock(&self.send);
        let wait = Some(Duration::ZERO);
        let mut undelivered = 0;
        if let Flushed::Done = self.write_queued(&mut send, io, wait, false) {
            send.half.push_eof();
            let _ = self.write_queued(&mut send, io, wait, false);
        } else {
            undelivered = send.half.pending().len();
        }
        drop(send);
        let _ = self.finish_close(io, undelivered);
    }

    /// Close at once without writing what is queued (a server shutting
    /// down, an idle timeout), with `reason` for the `Disconnected` event
    /// unless a reason is known already; the queued bytes given up are
    /// counted in it. A `close` still flushing is cut short (and returns
    /// [`Error::Undelivered`] with what it gave up); a receive or send
    /// waiting elsewhere returns [`Error::Closed`].
    ///
    /// The count is exact: it is taken under the send lock — at once when
    /// nothing is being written, else once the shutdown has ended the
    /// write in progress — so bytes a write handed to the kernel just
    /// before are not reported lost. An operation that ends because of the
    /// forced close notes the reason before it returns: a handler that
    /// reads the reason after its receive failed finds it.
    pub fn force_close<T: Transport + ?Sized>(&self, io: &T, reason: Option<&str>) {
        let _ = self.forced.set(reason.map(str::to_owned));
        {
            // Nothing being written: the count is exact now, and the reason
            // is known before any operation sees the close.
            let send = self.try_lock_send();
            if let Some(send) = &send {
                self.note_forced(send);
            }
            self.mark_closed();
        }
        // This close reports the event: one the shutdown cuts short (a
        // `close` flushing) returns what it gave up to its caller only.
        if self.finished.swap(true, Ordering::AcqRel) {
            return;
        }
        // Every operation sees `closed` before the shutdown wakes it, so
        // none reports the shutdown as the peer's doing; a write in
        // progress ends, and the bytes are counted once it let go.
        let _ = io.shutdown(Shutdown::Both);
        self.note_forced(&lock(&self.send));
        self.events.disconnected();
    }
}
