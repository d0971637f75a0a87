//! The blocking datagram server (UDP or Unix datagrams): one receive
//! thread, one thread per remote peer. The peers, their queues, idle expiry and the shutdown plan are
//! the core's [`Dispatcher`]; this file receives, spawns and sleeps.

use std::fmt;
use std::marker::PhantomData;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use netproto_core::Error;
use netproto_core::addr::{DatagramFamily, Udp};
#[cfg(unix)]
use netproto_core::addr::{Unix, UnixAddr};
use netproto_core::datagram::{DatagramServerOptions, ForDatagrams};
use netproto_core::driver::datagram::{Dispatched, Dispatcher, PeerLink, PeerRun, PeerStep};
use netproto_core::driver::server::{Listener, ShutdownHandle};
use netproto_core::options::IntoAddress;
use netproto_socket::connect::resolve;
use netproto_socket::datagram::{DatagramSocketOptions, bind_udp_any};

use crate::udp::{Dgram, Socket};

/// A datagram server for packets of protocol `P` over the datagram
/// transport `F` ([`UdpServer`], or on Unix `UnixDatagramServer`): a
/// handler per remote peer, each in a thread of its own, that peer's
/// datagrams queued in order while it runs.
///
/// ```
/// use std::time::Duration;
/// use netproto_sync::datagram::{DatagramProtocol, DatagramServerOptions};
/// use netproto_sync::serializer::Utf8;
/// use netproto_sync::{UdpClient, UdpServer};
///
/// let protocol = DatagramProtocol::new(Utf8);
/// let server = UdpServer::bind("127.0.0.1:0", protocol.clone(), DatagramServerOptions::default())?;
/// let (addr, stop) = (server.local_addr(), server.shutdown_handle());
/// let serving = std::thread::spawn(move || {
///     server.serve(|peer| {
///         while let Ok(text) = peer.recv_packet() {
///             let _ = peer.send_packet(&text.to_uppercase());
///         }
///     })
/// });
/// let client = UdpClient::connect(addr, protocol)?;
/// client.send_packet("ping")?;
/// assert_eq!(client.recv_packet_timeout(Duration::from_secs(5))?, "PING");
/// stop.shutdown(Duration::ZERO);
/// serving.join().unwrap()?;
/// # Ok::<(), netproto_sync::Error>(())
/// ```
pub struct DatagramServer<P: ForDatagrams, F: DatagramFamily = Udp> {
    udp: Arc<Dgram<P>>,
    dispatcher: Arc<Dispatcher<P::Received>>,
    family: PhantomData<F>,
}

/// A UDP server.
pub type UdpServer<P> = DatagramServer<P, Udp>;

/// A Unix datagram server (Unix only). A datagram from a client that did
/// not bind (an unnamed socket) cannot be answered: it is dropped and
/// counted as `unreachable` in a `DatagramsDropped` event.
#[cfg(unix)]
#[cfg_attr(docsrs, doc(cfg(unix)))]
pub type UnixDatagramServer<P> = DatagramServer<P, Unix>;

impl<P: ForDatagrams> DatagramServer<P, Udp>
where
    P::Received: Send,
{
    /// Bind a UDP socket to `address` (a host name: the first resolved
    /// address that can be bound; port 0: a free port).
    pub fn bind(
        address: impl IntoAddress,
        protocol: P,
        options: DatagramServerOptions,
    ) -> Result<Self, Error> {
        let address = address.into_address()?;
        let socket = bind_udp_any(&address, resolve(&address)?)?;
        Self::new(socket, protocol, options)
    }
}

#[cfg(unix)]
impl<P: ForDatagrams> DatagramServer<P, Unix>
where
    P::Received: Send,
{
    /// Bind a Unix datagram socket at `address` under the socket-file
    /// rules of `netproto_socket::unix`; the file is removed when the
    /// server is dropped.
    pub fn bind(
        address: impl Into<UnixAddr>,
        protocol: P,
        options: DatagramServerOptions,
    ) -> Result<Self, Error> {
        let socket = netproto_socket::unix::bind_datagram(&address.into())?;
        Self::new(socket, protocol, options)
    }
}

impl<P: ForDatagrams, F: DatagramFamily> DatagramServer<P, F>
where
    P::Received: Send,
{
    fn new(
        socket: impl Into<Socket>,
        protocol: P,
        options: DatagramServerOptions,
    ) -> Result<Self, Error> {
        let udp = Dgram::new(socket, protocol, &options.datagram_options(), false)?;
        let dispatcher = Dispatcher::new(udp.engine.local_addr().clone(), options, false);
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

    /// A handle that shuts the server down from any thread.
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

    /// Serve every remote peer with `handler`, in a thread per peer, until
    /// [`ShutdownHandle::shutdown`].
    ///
    /// A datagram from a peer with no handler running starts one; the
    /// peer's datagrams are queued in order for it
    /// ([`UdpPeer::recv_packet`]) while it runs, and a handler that returns
    /// with datagrams queued is run again. A datagram beyond the queue
    /// bound, or from a new peer beyond the peer bound, is dropped and
    /// counted in a `DatagramsDropped` event. An idle peer's receive fails
    /// with [`Error::Timeout`] of kind `Idle` and its state is freed.
    ///
    /// On shutdown, new peers are refused (counted as dropped); handlers
    /// finish within the grace period; then their receives fail with
    /// [`Error::Closed`]; `serve` waits at most `handler_stop_wait` more,
    /// closes the socket and returns. A receive error that is not
    /// transient ends `serve` with that error.
    pub fn serve<H>(&self, handler: H) -> Result<(), Error>
    where
        H: Fn(DatagramPeer<P, F>) + Send + Sync + 'static,
    {
        let handler = Arc::new(handler);
        self.dispatcher.start_serving();
        let (udp, dispatcher) = (self.udp.clone(), self.dispatcher.clone());
        let receiving = thread::Builder::new()
            .name("netproto-udp-recv".into())
            .spawn(move || receive_loop(&udp, &dispatcher, &handler));
        let receiving = match receiving {
            Ok(thread) => Some(thread),
            Err(source) => {
                self.dispatcher.fail(Error::Io { peer: None, source });
                None
            }
        };
        while let Err(changed) = self.dispatcher.shutdown_requested() {
            changed.wait();
        }
        while let Some((changed, until)) = self.dispatcher.poll_shutdown(Instant::now()) {
            match until {
                Some(at) => {
                    changed.wait_deadline(at);
                }
                None => changed.wait(),
            }
        }
        self.udp.engine.close(&self.udp.io);
        if let Some(thread) = receiving {
            let _ = thread.join();
        }
        self.dispatcher.finish_serving()
    }
}

fn receive_loop<P, F, H>(
    udp: &Arc<Dgram<P>>,
    dispatcher: &Arc<Dispatcher<P::Received>>,
    handler: &Arc<H>,
) where
    P: ForDatagrams,
    F: DatagramFamily,
    P::Received: Send,
    H: Fn(DatagramPeer<P, F>) + Send + Sync + 'static,
{
    loop {
        let received = udp.recv(dispatcher.recv_timeout(Instant::now()));
        match dispatcher.received(received, Instant::now()) {
            Dispatched::NewPeer(run) => spawn_peer(udp, dispatcher, run, handler.clone()),
            Dispatched::Continue => {}
            Dispatched::Backoff(at) => thread::sleep(at.saturating_duration_since(Instant::now())),
            Dispatched::Stop => return,
        }
    }
}

fn spawn_peer<P, F, H>(
    udp: &Arc<Dgram<P>>,
    dispatcher: &Dispatcher<P::Received>,
    run: PeerRun<P::Received>,
    handler: Arc<H>,
) where
    P: ForDatagrams,
    F: DatagramFamily,
    P::Received: Send,
    H: Fn(DatagramPeer<P, F>) + Send + Sync + 'static,
{
    let peer = run.link().peer_addr().clone();
    let udp = udp.clone();
    // The run goes back out when no thread can be started.
    let (give_back, taken) = std::sync::mpsc::sync_channel::<PeerRun<P::Received>>(1);
    let spawned = thread::Builder::new()
        .name(format!("netproto-udp-{peer}"))
        .spawn(move || {
            let Ok(run) = taken.recv() else { return };
            loop {
                let peer = DatagramPeer {
                    udp: udp.clone(),
                    link: run.link(),
                    family: PhantomData,
                };
                // A panicking handler ends its peer, not the server.
                let _ = catch_unwind(AssertUnwindSafe(|| handler(peer)));
                if !run.finish() {
                    break;
                }
            }
            drop(run);
        });
    match spawned {
        Ok(_) => {
            let _ = give_back.send(run);
        }
        Err(err) => dispatcher.cannot_serve(run, &err),
    }
}

impl<P: ForDatagrams, F: DatagramFamily> fmt::Debug for DatagramServer<P, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatagramServer")
            .field("engine", &self.udp.engine)
            .field("dispatcher", &self.dispatcher)
            .finish()
    }
}

/// A remote peer of a [`DatagramServer`], as its handler sees it: that
/// peer's datagrams, in order, and replies to it. `Send + Sync`.
pub struct DatagramPeer<P: ForDatagrams, F: DatagramFamily = Udp> {
    udp: Arc<Dgram<P>>,
    link: PeerLink<P::Received>,
    family: PhantomData<F>,
}

/// A remote peer of a [`UdpServer`].
pub type UdpPeer<P> = DatagramPeer<P, Udp>;

/// A remote peer of a `UnixDatagramServer` (Unix only).
#[cfg(unix)]
#[cfg_attr(docsrs, doc(cfg(unix)))]
pub type UnixDatagramPeer<P> = DatagramPeer<P, Unix>;

impl<P: ForDatagrams, F: DatagramFamily> DatagramPeer<P, F> {
    /// The peer's next datagram's packet (queued, or the next to arrive).
    /// A datagram that does not deserialize ([`Error::Deserialize`]) or is
    /// too long ([`Error::DatagramTooLong`]) is an error for that datagram
    /// only. [`Error::Closed`] once the server closed the peer (shutdown);
    /// [`Error::Timeout`] of kind `Idle` once the peer expired.
    pub fn recv_packet(&self) -> Result<P::Received, Error> {
        self.recv(None)
    }

    /// Like [`recv_packet`](DatagramPeer::recv_packet), giving up after
    /// `timeout` with [`Error::Timeout`] of kind `Receive`, which loses
    /// nothing.
    pub fn recv_packet_timeout(&self, timeout: Duration) -> Result<P::Received, Error> {
        self.recv(Some(timeout))
    }

    fn recv(&self, timeout: Option<Duration>) -> Result<P::Received, Error> {
        let mut op = self.link.recv(Instant::now(), timeout);
        loop {
            match self.link.poll_recv(&mut op, Instant::now()) {
                PeerStep::Ready(result) => return result,
                PeerStep::Wait(listener, Some(at)) => {
                    listener.wait_deadline(at);
                }
                PeerStep::Wait(listener, None) => listener.wait(),
            }
        }
    }

    /// Send one packet as one datagram to the peer (from the server's
    /// socket). A packet longer than the maximum datagram size is refused
    /// with [`Error::Encode`]; [`Error::Closed`] once the peer was closed.
    pub fn send_packet(&self, packet: &P::Sent) -> Result<(), Error> {
        self.udp.send(packet, Some(self.link.destination()?), None)
    }

    /// Like [`send_packet`](DatagramPeer::send_packet), giving up after
    /// `timeout` with [`Error::Timeout`] of kind `Send`.
    pub fn send_packet_timeout(&self, packet: &P::Sent, timeout: Duration) -> Result<(), Error> {
        self.udp
            .send(packet, Some(self.link.destination()?), Some(timeout))
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

impl<P: ForDatagrams, F: DatagramFamily> fmt::Debug for DatagramPeer<P, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.link.fmt(f)
    }
}
