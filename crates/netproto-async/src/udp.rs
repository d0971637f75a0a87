//! [`DatagramClient`] and [`DatagramEndpoint`] (UDP or Unix datagram
//! sockets) over the core's datagram engine, on runtime `R`.

use std::fmt;
use std::future::Future;
use std::io;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use event_listener::Event;
use futures_core::Stream;
use netproto_core::Error;
use netproto_core::addr::{DatagramFamily, PeerAddr, Udp};
#[cfg(unix)]
use netproto_core::addr::{Unix, UnixAddr};
use netproto_core::datagram::ForDatagrams;
use netproto_core::driver::InStream;
use netproto_core::driver::connection::Step;
use netproto_core::driver::datagram::{DatagramEngine, DatagramTransport, SendDatagram};
use netproto_core::options::{DatagramOptions, IntoAddress};
use netproto_socket::DATAGRAM_STOP_READING_WAKES_READERS;
use netproto_socket::datagram::{
    DatagramSocketOptions, bind_udp_any, connect_udp_any, datagram_addrs,
};
#[cfg(unix)]
use netproto_socket::unix::SocketFile;

use crate::connect::resolve;
use crate::io::{first, signalled, signalled_if, until_instant};
use crate::rt::{AsyncDatagram, Interest, Runtime};

/// The first pause after a spurious "writable" (see `drive`).
const SPURIOUS_WRITABLE_MIN: Duration = Duration::from_millis(1);
/// The longest pause after repeated spurious "writable"s.
const SPURIOUS_WRITABLE_MAX: Duration = Duration::from_millis(50);

/// A runtime's datagram socket as the datagram engine's transport
/// (non-blocking: `wait` is not needed).
pub(crate) struct AsyncUdp<S>(S);

impl<S: AsyncDatagram> DatagramTransport for AsyncUdp<S> {
    fn recv_from(&self, buf: &mut [u8], _wait: Option<Duration>) -> io::Result<(usize, PeerAddr)> {
        self.0.try_recv_from(buf)
    }

    fn send_to(
        &self,
        datagram: &[u8],
        to: Option<&PeerAddr>,
        _wait: Option<Duration>,
    ) -> io::Result<usize> {
        self.0.try_send_to(datagram, to)
    }

    fn wake_receivers(&self) {
        let _ = self.0.sock_ref().shutdown(std::net::Shutdown::Read);
    }
}

/// The engine, the socket and the close signal a client, an endpoint and
/// a server share.
pub(crate) struct Dgram<R: Runtime, P: ForDatagrams> {
    pub(crate) engine: DatagramEngine<P>,
    io: AsyncUdp<R::Datagram>,
    closing: Event,
    /// A Unix socket's file, removed when the socket goes.
    #[cfg(unix)]
    _file: Option<SocketFile>,
}

/// A std datagram socket for [`Dgram::new`]: UDP, or a Unix datagram
/// socket and its file.
pub(crate) enum Socket {
    Udp(std::net::UdpSocket),
    #[cfg(unix)]
    Unix(netproto_socket::socket2::Socket, SocketFile),
}

impl From<std::net::UdpSocket> for Socket {
    fn from(socket: std::net::UdpSocket) -> Self {
        Socket::Udp(socket)
    }
}

#[cfg(unix)]
impl From<(netproto_socket::socket2::Socket, SocketFile)> for Socket {
    fn from((socket, file): (netproto_socket::socket2::Socket, SocketFile)) -> Self {
        Socket::Unix(socket, file)
    }
}

impl<R: Runtime, P: ForDatagrams> Dgram<R, P> {
    pub(crate) fn new(
        socket: impl Into<Socket>,
        protocol: P,
        options: &DatagramOptions,
        connected: bool,
    ) -> Result<Self, Error> {
        let io_error = |source| Error::Io { peer: None, source };
        #[cfg(unix)]
        let mut file = None;
        let socket = match socket.into() {
            Socket::Udp(socket) => {
                socket.set_nonblocking(true).map_err(io_error)?;
                R::datagram(socket)
            }
            #[cfg(unix)]
            Socket::Unix(socket, socket_file) => {
                file = Some(socket_file);
                socket.set_nonblocking(true).map_err(io_error)?;
                R::unix_datagram(std::os::fd::OwnedFd::from(socket).into())
            }
        }
        .map_err(io_error)?;
        let (local, peer) = datagram_addrs(&socket.sock_ref(), connected)?;
        Ok(Dgram {
            engine: DatagramEngine::new(protocol, options, local, peer),
            io: AsyncUdp(socket),
            closing: Event::new(),
            #[cfg(unix)]
            _file: file,
        })
    }

    pub(crate) fn local_addr<F: DatagramFamily>(&self) -> F::Addr {
        F::addr(self.engine.local_addr())
    }

    /// Poll an engine operation until it is ready, waiting for what each
    /// step asks for, a local close, or the step's deadline. Nothing is
    /// held across a wait.
    async fn drive<T>(
        &self,
        mut poll: impl FnMut(&AsyncUdp<R::Datagram>, Instant) -> Step<T>,
    ) -> T {
        // How long to wait when the socket said it was writable and the
        // send still would block: a Unix datagram socket whose receiver's
        // queue is full says so (Linux), and waiting for readiness again
        // would spin. Doubles from 1 ms to 50 ms while it lasts.
        let mut backoff: Option<Duration> = None;
        let mut waited_for_writable = false;
        loop {
            // The step is taken apart before waiting, so that the
            // operation's output is never held across an `.await` (the
            // future is `Send` whatever the packet type).
            let now = Instant::now();
            let (interest, until) = match poll(&self.io, now) {
                Step::Ready(value) => return value,
                Step::Readable(until) => (Some(Interest::Readable), until),
                Step::Writable(until) => (Some(Interest::Writable), until),
                Step::Sleep(at) => (None, Some(at)),
                Step::Again => continue,
            };
            let Some(interest) = interest else {
                until_instant::<R>(until).await;
                continue;
            };
            if until.is_some_and(|at| at <= now) {
                continue;
            }
            let writable = matches!(interest, Interest::Writable);
            if writable && waited_for_writable {
                let pause = backoff.map_or(SPURIOUS_WRITABLE_MIN, |b| {
                    (b * 2).min(SPURIOUS_WRITABLE_MAX)
                });
                backoff = Some(pause);
                let at = Instant::now() + pause;
                let at = until.map_or(at, |until| until.min(at));
                let closed = signalled(&self.closing, || self.engine.is_closed());
                first(closed, until_instant::<R>(Some(at))).await;
                continue;
            }
            waited_for_writable = writable;
            if !writable {
                backoff = None;
            }
            let ready = async {
                // A readiness error shows up again in the next receive or send.
                let _ = self.io.0.ready(interest).await;
            };
            // A receiver is woken by the close shutting the read half down
            // where that wakes the reactor; a sender, or a receiver
            // elsewhere, by the close signal.
            let listen = writable || !DATAGRAM_STOP_READING_WAKES_READERS;
            let closed = signalled_if(listen, &self.closing, || self.engine.is_closed());
            first(first(ready, closed), until_instant::<R>(until)).await;
        }
    }

    pub(crate) async fn send(
        &self,
        packet: &P::Sent,
        to: Option<PeerAddr>,
        timeout: Option<Duration>,
    ) -> Result<(), Error> {
        let mut op = SendDatagram::new(packet, to);
        if let Some(timeout) = timeout {
            op = op.timeout(Instant::now(), timeout);
        }
        self.drive(|io, now| self.engine.poll_send(&mut op, io, now))
            .await
    }

    pub(crate) async fn recv(
        &self,
        timeout: Option<Duration>,
    ) -> Result<(P::Received, PeerAddr), Error> {
        let mut op = self.engine.recv(Instant::now(), timeout);
        self.drive(|io, now| self.engine.poll_recv(&mut op, io, now))
            .await
    }

    pub(crate) fn close(&self) {
        self.engine.close(&self.io);
        self.closing.notify(usize::MAX);
    }

    pub(crate) fn socket(&self) -> DatagramSocketOptions<'_> {
        DatagramSocketOptions::from_sock_ref(self.io.0.sock_ref())
    }
}

impl<R: Runtime, P: ForDatagrams> fmt::Debug for Dgram<R, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.engine.fmt(f)
    }
}

/// A datagram socket connected to one remote address, sending and
/// receiving one packet of protocol `P` per datagram, on runtime `R`, over
/// the datagram transport `F`: [`UdpClient`] (UDP) or, on Unix,
/// `UnixDatagramClient`. Both are this type; only their constructors and
/// address types differ.
///
/// Every method takes `&self`: one task may wait in
/// [`recv_packet`](DatagramClient::recv_packet) while another sends or closes
/// it.
///
/// # Cancel safety
///
/// A dropped `recv_packet` loses no datagram (it stays in the kernel's
/// queue for the next call); a dropped `send_packet` sent its datagram
/// whole or not at all.
pub struct DatagramClient<R: Runtime, P: ForDatagrams, F: DatagramFamily = Udp> {
    udp: Dgram<R, P>,
    family: PhantomData<F>,
}

/// A UDP socket connected to one remote address, on runtime `R`.
pub type UdpClient<R, P> = DatagramClient<R, P, Udp>;

/// A Unix datagram socket connected to one remote address, on runtime `R`
/// (Unix only).
#[cfg(unix)]
#[cfg_attr(docsrs, doc(cfg(unix)))]
pub type UnixDatagramClient<R, P> = DatagramClient<R, P, Unix>;

impl<R: Runtime, P: ForDatagrams> DatagramClient<R, P, Udp> {
    /// Connect to `address` with [`DatagramOptions::default()`].
    pub async fn connect(address: impl IntoAddress, protocol: P) -> Result<Self, Error> {
        Self::connect_with(address, protocol, DatagramOptions::default()).await
    }

    /// Connect a UDP socket to `address`: resolve it ([`Error::Resolve`]
    /// names the host) and take the first resolved address a socket bound
    /// to `options.local_address` (or any address of its family) connects
    /// to. Nothing is sent: a UDP "connection" only fixes the peer.
    ///
    /// Cancel safety: dropping the future abandons the attempt.
    pub async fn connect_with(
        address: impl IntoAddress,
        protocol: P,
        options: DatagramOptions,
    ) -> Result<Self, Error> {
        let address = address.into_address()?.connectable()?;
        let addrs = resolve::<R>(&address).await?;
        let socket = connect_udp_any(&address, addrs, options.local_address)?;
        Self::new(socket, protocol, &options)
    }
}

#[cfg(unix)]
impl<R: Runtime, P: ForDatagrams> DatagramClient<R, P, Unix> {
    /// Connect to the Unix datagram socket at `address` with
    /// [`DatagramOptions::default()`] (the client autobinds, on Linux).
    pub async fn connect(address: impl Into<UnixAddr>, protocol: P) -> Result<Self, Error> {
        Self::connect_with(address, protocol, DatagramOptions::default()).await
    }

    /// Connect a Unix datagram socket to `address`, bound first to
    /// `options.local_unix_address` so that replies reach it (the
    /// socket-file rules of `netproto_socket::unix`; its file is removed
    /// when the client is dropped) or, with `None`, to an abstract name
    /// the kernel picks (Linux and Android; elsewhere an error).
    ///
    /// Cancel safety: it does not wait.
    pub async fn connect_with(
        address: impl Into<UnixAddr>,
        protocol: P,
        options: DatagramOptions,
    ) -> Result<Self, Error> {
        let socket = netproto_socket::unix::connect_datagram(
            &address.into(),
            options.local_unix_address.as_ref(),
        )?;
        Self::new(socket, protocol, &options)
    }
}

impl<R: Runtime, P: ForDatagrams, F: DatagramFamily> DatagramClient<R, P, F> {
    fn new(
        socket: impl Into<Socket>,
        protocol: P,
        options: &DatagramOptions,
    ) -> Result<Self, Error> {
        Ok(DatagramClient {
            udp: Dgram::new(socket, protocol, options, true)?,
            family: PhantomData,
        })
    }

    /// Send one packet as one datagram. A packet that encodes to more than
    /// the maximum datagram size is refused with [`Error::Encode`] and
    /// nothing is sent; the client stays usable.
    ///
    /// Cancel safety: the datagram is sent whole or not at all.
    pub async fn send_packet(&self, packet: &P::Sent) -> Result<(), Error> {
        self.udp.send(packet, None, None).await
    }

    /// Like [`send_packet`](DatagramClient::send_packet), giving up after
    /// `timeout` with [`Error::Timeout`] of kind `Send` (nothing sent).
    ///
    /// Cancel safety: as `send_packet`.
    pub async fn send_packet_timeout(
        &self,
        packet: &P::Sent,
        timeout: Duration,
    ) -> Result<(), Error> {
        self.udp.send(packet, None, Some(timeout)).await
    }

    /// The next datagram's packet. A datagram that does not deserialize
    /// ([`Error::Deserialize`]) or is longer than the maximum datagram
    /// size ([`Error::DatagramTooLong`]) is an error for that datagram
    /// only: the next call returns the next one.
    ///
    /// Cancel safety: **cancel safe.**
    pub async fn recv_packet(&self) -> Result<P::Received, Error> {
        self.udp.recv(None).await.map(|(packet, _)| packet)
    }

    /// Like [`recv_packet`](DatagramClient::recv_packet), giving up after
    /// `timeout` with [`Error::Timeout`] of kind `Receive`, which loses
    /// nothing.
    ///
    /// Cancel safety: cancel safe.
    pub async fn recv_packet_timeout(&self, timeout: Duration) -> Result<P::Received, Error> {
        self.udp.recv(Some(timeout)).await.map(|(packet, _)| packet)
    }

    /// The packets that are queued or arrive within `timeout`, as a
    /// [`Stream`]: the timeout is for the *whole* iteration (`None`: no
    /// limit), and the stream ends quietly when it passes; per-datagram
    /// errors are yielded and the stream goes on; any other error is
    /// yielded, then the stream ends (the rule of [`Error::in_stream`]).
    ///
    /// Cancel safety: dropping the stream, or a `next()` future, loses no
    /// datagram.
    pub fn iter_received_packets(
        &self,
        timeout: impl Into<Option<Duration>>,
    ) -> DatagramStream<'_, P::Received> {
        DatagramStream::new(timeout.into(), move |left| {
            Box::pin(async move { self.udp.recv(left).await.map(|(packet, _)| packet) })
        })
    }

    /// Close the socket: a task waiting in `recv_packet` returns
    /// [`Error::Closed`] at once, and so does every later call. A datagram
    /// socket has nothing queued to flush: this always returns `Ok(())`.
    /// Idempotent.
    pub async fn close(&self) -> Result<(), Error> {
        self.udp.close();
        Ok(())
    }

    /// Whether [`close`](DatagramClient::close) was called.
    pub fn is_closed(&self) -> bool {
        self.udp.engine.is_closed()
    }

    /// The local address.
    pub fn local_addr(&self) -> F::Addr {
        self.udp.local_addr::<F>()
    }

    /// The remote address.
    pub fn peer_addr(&self) -> F::Addr {
        F::addr(self.udp.engine.peer_addr().expect("a client is connected"))
    }

    /// The socket's options: broadcast, TTL, multicast membership (UDP),
    /// buffer sizes, and `sock_ref()` (socket2) for anything else.
    pub fn socket(&self) -> DatagramSocketOptions<'_> {
        self.udp.socket()
    }

    /// The largest datagram sent or received.
    pub fn max_datagram_size(&self) -> usize {
        self.udp.engine.max_datagram_size()
    }
}

impl<R: Runtime, P: ForDatagrams, F: DatagramFamily> fmt::Debug for DatagramClient<R, P, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DatagramClient").field(&self.udp).finish()
    }
}

/// An unconnected datagram socket: packets of protocol `P` to and from
/// any address, one per datagram, on runtime `R`, over the datagram
/// transport `F` ([`UdpEndpoint`], or on Unix `UnixDatagramEndpoint`).
/// Every method takes `&self`.
///
/// Cancel safety: as [`DatagramClient`]'s.
pub struct DatagramEndpoint<R: Runtime, P: ForDatagrams, F: DatagramFamily = Udp> {
    udp: Dgram<R, P>,
    family: PhantomData<F>,
}

/// An unconnected UDP socket on runtime `R`.
pub type UdpEndpoint<R, P> = DatagramEndpoint<R, P, Udp>;

/// An unconnected Unix datagram socket on runtime `R` (Unix only).
#[cfg(unix)]
#[cfg_attr(docsrs, doc(cfg(unix)))]
pub type UnixDatagramEndpoint<R, P> = DatagramEndpoint<R, P, Unix>;

impl<R: Runtime, P: ForDatagrams> DatagramEndpoint<R, P, Udp> {
    /// Bind a UDP socket to `address` (a host name: the first resolved
    /// address that can be bound; port 0: a free port).
    pub async fn bind(
        address: impl IntoAddress,
        protocol: P,
        options: DatagramOptions,
    ) -> Result<Self, Error> {
        let address = address.into_address()?;
        let socket = bind_udp_any(&address, resolve::<R>(&address).await?)?;
        Self::new(socket, protocol, &options)
    }
}

#[cfg(unix)]
impl<R: Runtime, P: ForDatagrams> DatagramEndpoint<R, P, Unix> {
    /// Bind a Unix datagram socket at `address` under the socket-file
    /// rules of `netproto_socket::unix` (a stale socket file is removed
    /// first, anything else there is refused); the file is removed when
    /// the endpoint is dropped.
    pub async fn bind(
        address: impl Into<UnixAddr>,
        protocol: P,
        options: DatagramOptions,
    ) -> Result<Self, Error> {
        let socket = netproto_socket::unix::bind_datagram(&address.into())?;
        Self::new(socket, protocol, &options)
    }
}

impl<R: Runtime, P: ForDatagrams, F: DatagramFamily> DatagramEndpoint<R, P, F> {
    fn new(
        socket: impl Into<Socket>,
        protocol: P,
        options: &DatagramOptions,
    ) -> Result<Self, Error> {
        Ok(DatagramEndpoint {
            udp: Dgram::new(socket, protocol, options, false)?,
            family: PhantomData,
        })
    }

    /// Send one packet as one datagram to `to`. A packet that encodes to
    /// more than the maximum datagram size is refused with
    /// [`Error::Encode`] and nothing is sent.
    pub async fn send_packet_to(
        &self,
        packet: &P::Sent,
        to: impl Into<F::Addr>,
    ) -> Result<(), Error> {
        let to = to.into().into();
        self.udp.send(packet, Some(to), None).await
    }

    /// Like [`send_packet_to`](DatagramEndpoint::send_packet_to), giving up
    /// after `timeout` with [`Error::Timeout`] of kind `Send`.
    pub async fn send_packet_to_timeout(
        &self,
        packet: &P::Sent,
        to: impl Into<F::Addr>,
        timeout: Duration,
    ) -> Result<(), Error> {
        let to = to.into().into();
        self.udp.send(packet, Some(to), Some(timeout)).await
    }

    /// The next datagram's packet and its sender. Per-datagram errors
    /// ([`Error::Deserialize`], [`Error::DatagramTooLong`]) name the
    /// sender; the next call returns the next datagram. A Unix sender that
    /// did not bind is unnamed: it cannot be replied to.
    pub async fn recv_packet_from(&self) -> Result<(P::Received, F::Addr), Error> {
        self.recv(None).await
    }

    /// Like [`recv_packet_from`](DatagramEndpoint::recv_packet_from), giving up
    /// after `timeout` with [`Error::Timeout`] of kind `Receive`, which
    /// loses nothing.
    pub async fn recv_packet_from_timeout(
        &self,
        timeout: Duration,
    ) -> Result<(P::Received, F::Addr), Error> {
        self.recv(Some(timeout)).await
    }

    async fn recv(&self, timeout: Option<Duration>) -> Result<(P::Received, F::Addr), Error> {
        let (packet, from) = self.udp.recv(timeout).await?;
        Ok((packet, F::addr(&from)))
    }

    /// Close the socket: a task waiting in a receive returns
    /// [`Error::Closed`] at once, and so does every later call.
    /// Idempotent; always `Ok(())`.
    pub async fn close(&self) -> Result<(), Error> {
        self.udp.close();
        Ok(())
    }

    /// Whether [`close`](DatagramEndpoint::close) was called.
    pub fn is_closed(&self) -> bool {
        self.udp.engine.is_closed()
    }

    /// The local address (the real port when bound to port 0).
    pub fn local_addr(&self) -> F::Addr {
        self.udp.local_addr::<F>()
    }

    /// The socket's options: broadcast, TTL, multicast membership (UDP),
    /// buffer sizes, and `sock_ref()` (socket2) for anything else.
    pub fn socket(&self) -> DatagramSocketOptions<'_> {
        self.udp.socket()
    }

    /// The largest datagram sent or received.
    pub fn max_datagram_size(&self) -> usize {
        self.udp.engine.max_datagram_size()
    }
}

impl<R: Runtime, P: ForDatagrams, F: DatagramFamily> fmt::Debug for DatagramEndpoint<R, P, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DatagramEndpoint").field(&self.udp).finish()
    }
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One receive, given the time left (`None`: no limit).
type Receive<'a, T> =
    Box<dyn Fn(Option<Duration>) -> BoxFuture<'a, Result<T, Error>> + Send + Sync + 'a>;

/// Received packets as a [`Stream`], within one timeout for the whole
/// iteration; made by [`DatagramClient::iter_received_packets`].
pub struct DatagramStream<'a, T> {
    receive: Receive<'a, T>,
    next: Option<BoxFuture<'a, Result<T, Error>>>,
    end: Option<Instant>,
    done: bool,
}

impl<'a, T> DatagramStream<'a, T> {
    fn new(
        timeout: Option<Duration>,
        receive: impl Fn(Option<Duration>) -> BoxFuture<'a, Result<T, Error>> + Send + Sync + 'a,
    ) -> Self {
        DatagramStream {
            receive: Box::new(receive),
            next: None,
            end: timeout.and_then(|timeout| Instant::now().checked_add(timeout)),
            done: false,
        }
    }
}

impl<T> Stream for DatagramStream<'_, T> {
    type Item = Result<T, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        let end = this.end;
        let next = this.next.get_or_insert_with(|| {
            (this.receive)(end.map(|end| end.saturating_duration_since(Instant::now())))
        });
        let result = ready!(next.as_mut().poll(cx));
        this.next = None;
        Poll::Ready(InStream::item(result, true, &mut this.done))
    }
}

impl<T> fmt::Debug for DatagramStream<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatagramStream")
            .field("end", &self.end)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}
