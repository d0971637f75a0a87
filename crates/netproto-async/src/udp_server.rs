//! The datagram server (UDP or Unix datagrams): one receive loop and the
//! handlers of the remote peers, polled together in `serve`'s task. The peers,
//! their queues, idle expiry and the shutdown plan are the core's
//! [`Dispatcher`]; this file receives, runs the handlers and sleeps.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use std::future::poll_fn;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};

use futures_util::future::{AbortHandle, Abortable};
use futures_util::stream::FuturesUnordered;
use futures_util::task::AtomicWaker;
use futures_util::{FutureExt, StreamExt};
use netproto_core::Error;
use netproto_core::addr::{DatagramFamily, PeerAddr, Udp};
#[cfg(unix)]
use netproto_core::addr::{Unix, UnixAddr};
use netproto_core::datagram::{DatagramServerOptions, ForDatagrams};
use netproto_core::driver::datagram::{Dispatched, Dispatcher, PeerLink, PeerRun, PeerStep};
use netproto_core::driver::server::ShutdownHandle;
use netproto_core::options::IntoAddress;
use netproto_socket::datagram::{DatagramSocketOptions, bind_udp_any};

use crate::connect::resolve;
use crate::io::{first, until_instant};
use crate::rt::Runtime;
use crate::udp::{Dgram, Socket};

/// A datagram server for packets of protocol `P` on runtime `R`, over
/// the datagram transport `F` ([`UdpServer`], or on Unix
/// `UnixDatagramServer`): a handler per remote peer, each in a task of its
/// own, that peer's datagrams queued in order while it runs.
pub struct DatagramServer<R: Runtime, P: ForDatagrams, F: DatagramFamily = Udp> {
    udp: Arc<Dgram<R, P>>,
    dispatcher: Arc<Dispatcher<P::Received>>,
    family: PhantomData<F>,
}

/// A UDP server on runtime `R`.
pub type UdpServer<R, P> = DatagramServer<R, P, Udp>;

/// A Unix datagram server on runtime `R` (Unix only). A datagram from a
/// client that did not bind (an unnamed socket) cannot be answered: it is
/// dropped and counted as `unreachable` in a `DatagramsDropped` event.
#[cfg(unix)]
#[cfg_attr(docsrs, doc(cfg(unix)))]
pub type UnixDatagramServer<R, P> = DatagramServer<R, P, Unix>;

impl<R: Runtime, P: ForDatagrams> DatagramServer<R, P, Udp>
where
    P::Received: Send,
{
    /// Bind a UDP socket to `address` (a host name: the first resolved
    /// address that can be bound; port 0: a free port).
    ///
    /// Cancel safety: dropping the future binds nothing.
    pub async fn bind(
        address: impl IntoAddress,
        protocol: P,
        options: DatagramServerOptions,
    ) -> Result<Self, Error> {
        let address = address.into_address()?;
        let socket = bind_udp_any(&address, resolve::<R>(&address).await?)?;
        Self::new(socket, protocol, options)
    }
}

#[cfg(unix)]
impl<R: Runtime, P: ForDatagrams> DatagramServer<R, P, Unix>
where
    P::Received: Send,
{
    /// Bind a Unix datagram socket at `address` under the socket-file
    /// rules of `netproto_socket::unix`; the file is removed when the
    /// server is dropped.
    ///
    /// Cancel safety: it does not wait.
    pub async fn bind(
        address: impl Into<UnixAddr>,
        protocol: P,
        options: DatagramServerOptions,
    ) -> Result<Self, Error> {
        let socket = netproto_socket::unix::bind_datagram(&address.into())?;
        Self::new(socket, protocol, options)
    }
}

impl<R: Runtime, P: ForDatagrams, F: DatagramFamily> DatagramServer<R, P, F>
where
    P::Received: Send,
{
    fn new(
        socket: impl Into<Socket>,
        protocol: P,
        options: DatagramServerOptions,
    ) -> Result<Self, Error> {
        let udp = Dgram::new(socket, protocol, &options.datagram_options(), false)?;
        let dispatcher = Dispatcher::new(udp.engine.local_addr().clone(), options, true);
        Ok(DatagramServer {
            udp: Arc::new(udp),
            dispatcher,
            family: PhantomData,
        })
    }

    /// The local address (the real port when bound to port 0).
    pub fn local_addr(&self) -> F::Addr {
        self.udp.local_addr::<F>()
    }

    /// A handle that shuts the server down from any thread or task.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.dispatcher.shutdown_handle()
    }

    /// Whether [`serve`](DatagramServer::serve) is running and no shutdown was
    /// asked for.
    pub fn is_serving(&self) -> bool {
        self.dispatcher.is_serving()
    }

    /// The socket's options: buffer sizes, TTL, and `sock_ref()` (socket2)
    /// for anything else.
    pub fn socket(&self) -> DatagramSocketOptions<'_> {
        self.udp.socket()
    }

    /// Serve every remote peer with `handler` until shutdown
    /// ([`shutdown_handle`](DatagramServer::shutdown_handle)). The
    /// handlers run concurrently inside this future, as a hand-written
    /// receive loop would run them: a datagram queued for a waiting
    /// handler is handled before the next one is received, with no task
    /// switch (a handler with CPU-heavy or blocking work should move it to
    /// a task or thread of its own).
    ///
    /// A datagram from a peer with no handler running starts one; the
    /// peer's datagrams are queued in order for it
    /// ([`DatagramPeer::recv_packet`]) while it runs, and a handler that returns
    /// with datagrams queued is run again. A datagram beyond the queue
    /// bound, or from a new peer beyond the peer bound, is dropped and
    /// counted in a `DatagramsDropped` event. An idle peer's receive fails
    /// with [`Error::Timeout`] of kind `Idle` and its state is freed. A
    /// handler that panics ends its peer, not the server.
    ///
    /// On shutdown, new peers are refused (counted as dropped); handlers
    /// finish within the grace period; then their receives fail with
    /// [`Error::Closed`]; handlers still running `handler_stop_wait` later
    /// are dropped; then the socket is closed and `serve` returns. A
    /// receive error that is not transient ends `serve` with that error.
    ///
    /// Cancel safety: dropping the future stops receiving (the socket
    /// stays open) and drops the running handlers, freeing their peers.
    pub async fn serve<H, Fut>(&self, handler: H) -> Result<(), Error>
    where
        H: Fn(DatagramPeer<R, P, F>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.dispatcher.start_serving();
        let mut peers = FuturesUnordered::new();
        let mut shutdown = pin!(self.drive_shutdown());
        let mut receive = pin!(self.next_received(None));
        let mut receiving = true;
        // One timer for the dispatcher's timers, kept across receives:
        // armed again only when they change or it fired.
        let mut timer = pin!(until_instant::<R>(None));
        let mut armed = None;
        let handlers_woken = Arc::new(LoopWaker::default());
        let handlers_waker = Waker::from(handlers_woken.clone());
        poll_fn(|cx| {
            handlers_woken.enter(cx.waker());
            let mut budget = POLL_BUDGET;
            loop {
                // Datagrams that keep coming, or a handler that keeps
                // waking itself, must not keep the runtime's other tasks
                // from running: yield after a bounded amount of work.
                if budget == 0 {
                    handlers_woken.leave();
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                budget -= 1;
                // Every handler that can go on runs now: one woken by the
                // datagram just queued for it handles it before the next
                // receive.
                let mut handlers_cx = Context::from_waker(&handlers_waker);
                while let Poll::Ready(Some(())) = peers.poll_next_unpin(&mut handlers_cx) {}
                if shutdown.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(());
                }
                let due = self.dispatcher.next_timer();
                if due != armed {
                    armed = due;
                    timer.set(until_instant::<R>(due));
                }
                if timer.as_mut().poll(cx).is_ready() {
                    self.dispatcher.run_timers(Instant::now());
                    armed = None;
                    timer.set(until_instant::<R>(None));
                    continue;
                }
                let received = match receiving {
                    true => receive.as_mut().poll(cx),
                    false => Poll::Pending,
                };
                let Poll::Ready(received) = received else {
                    if handlers_woken.leave() {
                        continue;
                    }
                    return Poll::Pending;
                };
                let backoff = match self.dispatcher.received(received, Instant::now()) {
                    Dispatched::NewPeer(run) => {
                        peers.push(self.peer(run, &handler));
                        None
                    }
                    Dispatched::Continue => None,
                    Dispatched::Backoff(at) => Some(at),
                    // The socket failed for good (shutdown was asked for):
                    // the handlers go on until the shutdown plan ends.
                    Dispatched::Stop => {
                        receiving = false;
                        continue;
                    }
                };
                receive.set(self.next_received(backoff));
            }
        })
        .await;
        // Handlers still running past `handler_stop_wait` end here.
        drop(peers);
        self.udp.close();
        self.dispatcher.finish_serving()
    }

    async fn drive_shutdown(&self) {
        while let Err(changed) = self.dispatcher.shutdown_requested() {
            changed.await;
        }
        while let Some((changed, until)) = self.dispatcher.poll_shutdown(Instant::now()) {
            first(changed, until_instant::<R>(until)).await;
        }
    }

    /// The next datagram (after a back-off the dispatcher asked for); the
    /// dispatcher's timers have a timer of their own in `serve`.
    async fn next_received(
        &self,
        backoff: Option<Instant>,
    ) -> Result<(P::Received, PeerAddr), Error> {
        if let Some(at) = backoff {
            R::sleep_until(at).await;
        }
        self.udp.recv(None).await
    }

    /// A peer's handler, run again while its peer has datagrams queued;
    /// ended early (dropped) when the shutdown plan aborts it.
    fn peer<'a, H, Fut>(
        &'a self,
        run: PeerRun<P::Received>,
        handler: &'a H,
    ) -> impl Future<Output = ()> + Send + 'a
    where
        H: Fn(DatagramPeer<R, P, F>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let (abort, registration) = AbortHandle::new_pair();
        run.set_abort(move || abort.abort());
        let task = async move {
            // Dropped when the handler ends (normally, or aborted): frees
            // the peer's place.
            let run = run;
            loop {
                let peer = DatagramPeer {
                    udp: self.udp.clone(),
                    link: run.link(),
                    family: PhantomData,
                };
                // A panicking handler ends its peer, not the server.
                let _ = AssertUnwindSafe(handler(peer)).catch_unwind().await;
                if !run.finish() {
                    break;
                }
            }
        };
        Abortable::new(task, registration).map(|_| ())
    }
}

/// How many rounds (handlers, shutdown, one datagram) one poll of `serve`
/// runs before it yields to the runtime.
const POLL_BUDGET: usize = 64;

/// The waker `serve` polls its handlers with. A handler woken while
/// `serve` is polling (by the datagram it just queued for it) only marks
/// the handlers as woken, and `serve` polls them before returning; waking
/// `serve`'s task from inside its own poll would make the runtime schedule
/// it again, and a multi-threaded runtime wake an idle worker for it (a
/// context switch per datagram). A wake at any other time wakes the task.
#[derive(Default)]
struct LoopWaker {
    polling: AtomicBool,
    woken: AtomicBool,
    task: AtomicWaker,
}

impl LoopWaker {
    /// `serve`'s poll starts, woken by `task`.
    fn enter(&self, task: &Waker) {
        self.task.register(task);
        self.polling.store(true, Ordering::SeqCst);
    }

    /// `serve`'s poll would return pending: whether a handler was woken
    /// since it last looked (poll them again) — if not, later wakes wake
    /// the task.
    fn leave(&self) -> bool {
        if self.woken.swap(false, Ordering::SeqCst) {
            return true;
        }
        self.polling.store(false, Ordering::SeqCst);
        // A wake between the swap and the store did not wake the task.
        if self.woken.swap(false, Ordering::SeqCst) {
            self.polling.store(true, Ordering::SeqCst);
            return true;
        }
        false
    }
}

impl Wake for LoopWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::SeqCst);
        if !self.polling.load(Ordering::SeqCst) {
            self.task.wake();
        }
    }
}

impl<R: Runtime, P: ForDatagrams, F: DatagramFamily> fmt::Debug for DatagramServer<R, P, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatagramServer")
            .field("engine", &self.udp.engine)
            .field("dispatcher", &self.dispatcher)
            .finish()
    }
}

/// A remote peer of a [`DatagramServer`], as its handler sees it: that
/// peer's datagrams, in order, and replies to it.
pub struct DatagramPeer<R: Runtime, P: ForDatagrams, F: DatagramFamily = Udp> {
    udp: Arc<Dgram<R, P>>,
    link: PeerLink<P::Received>,
    family: PhantomData<F>,
}

/// A remote peer of a [`UdpServer`].
pub type UdpPeer<R, P> = DatagramPeer<R, P, Udp>;

/// A remote peer of a `UnixDatagramServer` (Unix only).
#[cfg(unix)]
#[cfg_attr(docsrs, doc(cfg(unix)))]
pub type UnixDatagramPeer<R, P> = DatagramPeer<R, P, Unix>;

impl<R: Runtime, P: ForDatagrams, F: DatagramFamily> DatagramPeer<R, P, F> {
    /// The peer's next datagram's packet (queued, or the next to arrive).
    /// A datagram that does not deserialize ([`Error::Deserialize`]) or is
    /// too long ([`Error::DatagramTooLong`]) is an error for that datagram
    /// only. [`Error::Closed`] once the server closed the peer (shutdown);
    /// [`Error::Timeout`] of kind `Idle` once the peer expired.
    ///
    /// Cancel safety: cancel safe (a datagram is taken from the queue only
    /// when the future completes with it).
    pub async fn recv_packet(&self) -> Result<P::Received, Error> {
        self.recv(None).await
    }

    /// Like [`recv_packet`](DatagramPeer::recv_packet), giving up after
    /// `timeout` with [`Error::Timeout`] of kind `Receive`, which loses
    /// nothing.
    ///
    /// Cancel safety: cancel safe.
    pub async fn recv_packet_timeout(&self, timeout: Duration) -> Result<P::Received, Error> {
        self.recv(Some(timeout)).await
    }

    async fn recv(&self, timeout: Option<Duration>) -> Result<P::Received, Error> {
        let mut op = self.link.recv(Instant::now(), timeout);
        loop {
            match self.link.poll_recv(&mut op, Instant::now()) {
                PeerStep::Ready(result) => return result,
                PeerStep::Wait(listener, until) => {
                    first(listener, until_instant::<R>(until)).await;
                }
            }
        }
    }

    /// Send one packet as one datagram to the peer (from the server's
    /// socket). A packet longer than the maximum datagram size is refused
    /// with [`Error::Encode`]; [`Error::Closed`] once the peer was closed.
    ///
    /// Cancel safety: the datagram is sent whole or not at all.
    pub async fn send_packet(&self, packet: &P::Sent) -> Result<(), Error> {
        let to = self.link.destination()?;
        self.udp.send(packet, Some(to), None).await
    }

    /// Like [`send_packet`](DatagramPeer::send_packet), giving up after
    /// `timeout` with [`Error::Timeout`] of kind `Send`.
    ///
    /// Cancel safety: as `send_packet`.
    pub async fn send_packet_timeout(
        &self,
        packet: &P::Sent,
        timeout: Duration,
    ) -> Result<(), Error> {
        let to = self.link.destination()?;
        self.udp.send(packet, Some(to), Some(timeout)).await
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> F::Addr {
        F::addr(self.link.peer_addr())
    }

    /// The server's local address.
    pub fn local_addr(&self) -> F::Addr {
        F::addr(self.link.local_addr())
    }

    /// Whether the peer was closed (shutdown, idle expiry).
    pub fn is_closed(&self) -> bool {
        self.link.is_closed()
    }
}

impl<R: Runtime, P: ForDatagrams, F: DatagramFamily> fmt::Debug for DatagramPeer<R, P, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.link.fmt(f)
    }
}
