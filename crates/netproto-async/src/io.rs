//! The pump between a runtime's socket and the core's connection engine:
//! poll an operation, wait for what it asks for, poll again. Nothing here
//! decides anything about the connection.

use std::future::{Future, poll_fn};
use std::io;
use std::net::Shutdown;
use std::pin::pin;
use std::task::Poll;
use std::time::{Duration, Instant};

use event_listener::Event;
use netproto_core::Protocol;
use netproto_core::driver::connection::{Connection, SendPacket, Step, Transport};
use netproto_socket::STOP_READING_WAKES_READERS;

use crate::rt::{AsyncStream, Interest, Runtime};

/// A runtime's socket as the engine's [`Transport`]: non-blocking reads and
/// writes (`wait` is the engine's hint for blocking transports and is not
/// needed here).
pub(crate) struct Socket<S>(pub(crate) S);

impl<S: AsyncStream> Transport for Socket<S> {
    fn read(&self, buf: &mut [u8], _wait: Option<Duration>) -> io::Result<usize> {
        self.0.try_read(buf)
    }

    fn write(&self, buf: &[u8], _wait: Option<Duration>) -> io::Result<usize> {
        self.0.try_write(buf)
    }

    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        match self.0.sock_ref().shutdown(how) {
            Err(err) if err.kind() == io::ErrorKind::NotConnected => Ok(()),
            other => other,
        }
    }
}

/// One connection: the engine, the socket, and the signal that a local
/// close sends to waiting tasks. Writers always listen to the signal;
/// readers only where shutting the read half down does not wake a reader
/// waiting in the reactor ([`STOP_READING_WAKES_READERS`]: Windows — on
/// Linux and macOS, epoll and kqueue wake it).
pub(crate) struct Shared<R: Runtime, P: Protocol> {
    pub(crate) conn: Connection<P>,
    pub(crate) socket: Socket<R::Stream>,
    closing: Event,
}

impl<R: Runtime, P: Protocol> Shared<R, P> {
    pub(crate) fn new(conn: Connection<P>, stream: R::Stream) -> Self {
        Shared {
            conn,
            socket: Socket(stream),
            closing: Event::new(),
        }
    }

    /// Poll an engine operation until it is ready, waiting for what each
    /// step asks for. Cancel safe whenever the operation is: nothing is
    /// held across a wait.
    pub(crate) async fn drive<T>(
        &self,
        mut poll: impl FnMut(&Socket<R::Stream>, Instant) -> Step<T>,
    ) -> T {
        loop {
            // The step is taken apart before waiting, so that the
            // operation's output type is never held across an `.await`
            // (the future is `Send` whatever the packet type).
            let (interest, until) = match poll(&self.socket, Instant::now()) {
                Step::Ready(value) => return value,
                Step::Readable(until) => (Some(Interest::Readable), until),
                Step::Writable(until) => (Some(Interest::Writable), until),
                Step::Sleep(at) => (None, Some(at)),
                Step::Again => continue,
            };
            match interest {
                Some(interest) => self.wait(interest, until).await,
                None => R::sleep_until(until.expect("a sleep has an end")).await,
            }
        }
    }

    /// Wait until the socket is ready for `interest`, `until` passes, or
    /// (where it is needed) the connection is closed locally.
    async fn wait(&self, interest: Interest, until: Option<Instant>) {
        if until.is_some_and(|at| at <= Instant::now()) {
            return;
        }
        let ready = async {
            // A readiness error shows up again in the next read or write.
            let _ = self.socket.0.ready(interest).await;
        };
        // A local close wakes a writer at once (its bytes stay queued for
        // the close's own flush). A reader is woken by the close shutting
        // the read half down where that wakes the reactor (Unix: epoll,
        // kqueue), so it needs no listener there; elsewhere (Windows) it
        // listens to the close signal too. The close's own waits (the
        // connection is closed already) wait for the socket alone.
        let woken_by_shutdown = interest == Interest::Readable && STOP_READING_WAKES_READERS;
        let interruptible = !self.conn.is_closed() && !woken_by_shutdown;
        let closed = signalled_if(interruptible, &self.closing, || self.conn.is_closed());
        first(first(ready, closed), until_instant::<R>(until)).await;
    }

    /// Wake every task waiting on this connection after a local close.
    pub(crate) fn notify_closed(&self) {
        self.closing.notify(usize::MAX);
    }

    /// Send one packet (`SendPacket::with_timeout` when `timeout` is set):
    /// the body of `send_packet` for a client and a connection handle.
    pub(crate) async fn send_packet(
        &self,
        packet: &P::Sent,
        timeout: Option<Duration>,
    ) -> Result<(), netproto_core::Error> {
        let mut op = match timeout {
            Some(timeout) => SendPacket::with_timeout(packet, Instant::now(), timeout),
            None => SendPacket::new(packet),
        };
        self.drive(|io, now| self.conn.poll_send(&mut op, io, now))
            .await
    }

    /// The close sequence: the body of `close` for a client and a
    /// connection handle.
    pub(crate) async fn close(&self) -> Result<(), netproto_core::Error> {
        let Some(mut op) = self.conn.start_close(&self.socket, Instant::now()) else {
            return Ok(());
        };
        self.notify_closed();
        self.drive(|io, now| self.conn.poll_close(&mut op, io, now))
            .await
    }

    /// Close at once without flushing (a server shutting down), with
    /// `reason` for the `Disconnected` event.
    pub(crate) fn force_close(&self, reason: Option<&str>) {
        self.conn.force_close(&self.socket, reason);
        self.notify_closed();
    }
}

/// Complete once `done()` holds, woken by `event` (notified after `done`
/// became true).
pub(crate) async fn signalled(event: &Event, done: impl Fn() -> bool) {
    loop {
        if done() {
            return;
        }
        // On the stack (inside this future): no allocation per wait.
        event_listener::listener!(event => listener);
        if done() {
            return;
        }
        listener.await;
    }
}

/// [`signalled`] when `listen` (a wait the close signal must end), else
/// never: a wait something else ends.
pub(crate) async fn signalled_if(listen: bool, event: &Event, done: impl Fn() -> bool) {
    if listen {
        signalled(event, done).await;
    } else {
        std::future::pending::<()>().await;
    }
}

/// Complete at `until`, or never (`None`).
pub(crate) async fn until_instant<R: Runtime>(until: Option<Instant>) {
    match until {
        Some(at) => R::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Run two futures; complete with whichever finishes first.
pub(crate) async fn first<T>(a: impl Future<Output = T>, b: impl Future<Output = T>) -> T {
    let mut a = pin!(a);
    let mut b = pin!(b);
    poll_fn(|cx| {
        if let Poll::Ready(value) = a.as_mut().poll(cx) {
            return Poll::Ready(value);
        }
        b.as_mut().poll(cx)
    })
    .await
}
