//! [`UdpClient`] and [`UdpEndpoint`]: datagram sockets over the core's
//! datagram engine, on runtime `R`.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use event_listener::Event;
use futures_core::Stream;
use netproto_core::Error;
use netproto_core::datagram::ForDatagrams;
use netproto_core::driver::InStream;
use netproto_core::driver::connection::Step;
use netproto_core::driver::datagram::{DatagramEngine, DatagramTransport, SendDatagram};
use netproto_core::options::{DatagramOptions, IntoAddress};
use netproto_socket::datagram::{
    DatagramSocketOptions, bind_udp_any, connect_udp_any, udp_local_addr,
};

use crate::connect::resolve;
use crate::io::{first, signalled, until_instant};
use crate::rt::{AsyncDatagram, Interest, Runtime};

/// A runtime's UDP socket as the datagram engine's transport
/// (non-blocking: `wait` is not needed).
pub(crate) struct AsyncUdp<S>(S);

impl<S: AsyncDatagram> DatagramTransport for AsyncUdp<S> {
    fn recv_from(
        &self,
        buf: &mut [u8],
        _wait: Option<Duration>,
    ) -> io::Result<(usize, SocketAddr)> {
        self.0.try_recv_from(buf)
    }

    fn send_to(
        &self,
        datagram: &[u8],
        to: Option<SocketAddr>,
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
pub(crate) struct Udp<R: Runtime, P: ForDatagrams> {
    pub(crate) engine: DatagramEngine<P>,
    io: AsyncUdp<R::Datagram>,
    closing: Event,
}

impl<R: Runtime, P: ForDatagrams> Udp<R, P> {
    pub(crate) fn new(
        socket: std::net::UdpSocket,
        protocol: P,
        options: &DatagramOptions,
        connected: bool,
    ) -> Result<Self, Error> {
        let io_error = |source| Error::Io { peer: None, source };
        let peer = match connected {
            true => Some(socket.peer_addr().map_err(io_error)?),
            false => None,
        };
        socket.set_nonblocking(true).map_err(io_error)?;
        let socket = R::datagram(socket).map_err(io_error)?;
        let local = udp_local_addr(&socket.sock_ref()).map_err(io_error)?;
        Ok(Udp {
            engine: DatagramEngine::new(protocol, options, local, peer),
            io: AsyncUdp(socket),
            closing: Event::new(),
        })
    }

    /// Poll an engine operation until it is ready, waiting for what each
    /// step asks for, a local close, or the step's deadline. Nothing is
    /// held across a wait.
    async fn drive<T>(
        &self,
        mut poll: impl FnMut(&AsyncUdp<R::Datagram>, Instant) -> Step<T>,
    ) -> T {
        loop {
            // The step is taken apart before waiting, so that the
            // operation's output is never held across an `.await` (the
            // future is `Send` whatever the packet type).
            let (interest, until) = match poll(&self.io, Instant::now()) {
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
            if until.is_some_and(|at| at <= Instant::now()) {
                continue;
            }
            let ready = async {
                // A readiness error shows up again in the next receive or send.
                let _ = self.io.0.ready(interest).await;
            };
            let closed = signalled(&self.closing, || self.engine.is_closed());
            first(first(ready, closed), until_instant::<R>(until)).await;
        }
    }

    pub(crate) async fn send(
        &self,
        packet: &P::Sent,
        to: Option<SocketAddr>,
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
    ) -> Result<(P::Received, SocketAddr), Error> {
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

impl<R: Runtime, P: ForDatagrams> fmt::Debug for Udp<R, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.engine.fmt(f)
    }
}

/// A UDP socket connected to one remote address, sending and receiving
/// one packet of protocol `P` per datagram, on runtime `R`.
///
/// Every method takes `&self`: one task may wait in
/// [`recv_packet`](UdpClient::recv_packet) while another sends or closes
/// it.
///
/// # Cancel safety
///
/// A dropped `recv_packet` loses no datagram (it stays in the kernel's
/// queue for the next call); a dropped `send_packet` sent its datagram
/// whole or not at all.
pub struct UdpClient<R: Runtime, P: ForDatagrams> {
    udp: Udp<R, P>,
}

impl<R: Runtime, P: ForDatagrams> UdpClient<R, P> {
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
        Ok(UdpClient {
            udp: Udp::new(socket, protocol, &options, true)?,
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

    /// Like [`send_packet`](UdpClient::send_packet), giving up after
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

    /// Like [`recv_packet`](UdpClient::recv_packet), giving up after
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

    /// Whether [`close`](UdpClient::close) was called.
    pub fn is_closed(&self) -> bool {
        self.udp.engine.is_closed()
    }

    /// The local address.
    pub fn local_addr(&self) -> SocketAddr {
        self.udp.engine.local_addr()
    }

    /// The remote address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.udp.engine.peer_addr().expect("a client is connected")
    }

    /// The socket's options: broadcast, TTL, multicast membership, buffer
    /// sizes, and `sock_ref()` (socket2) for anything else.
    pub fn socket(&self) -> DatagramSocketOptions<'_> {
        self.udp.socket()
    }

    /// The largest datagram sent or received.
    pub fn max_datagram_size(&self) -> usize {
        self.udp.engine.max_datagram_size()
    }
}

impl<R: Runtime, P: ForDatagrams> fmt::Debug for UdpClient<R, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("UdpClient").field(&self.udp).finish()
    }
}

/// An unconnected UDP socket: packets of protocol `P` to and from any
/// address, one per datagram, on runtime `R`. Every method takes `&self`.
///
/// Cancel safety: as [`UdpClient`]'s.
pub struct UdpEndpoint<R: Runtime, P: ForDatagrams> {
    udp: Udp<R, P>,
}

impl<R: Runtime, P: ForDatagrams> UdpEndpoint<R, P> {
    /// Bind a UDP socket to `address` (a host name: the first resolved
    /// address that can be bound; port 0: a free port).
    pub async fn bind(
        address: impl IntoAddress,
        protocol: P,
        options: DatagramOptions,
    ) -> Result<Self, Error> {
        let address = address.into_address()?;
        let socket = bind_udp_any(&address, resolve::<R>(&address).await?)?;
        Ok(UdpEndpoint {
            udp: Udp::new(socket, protocol, &options, false)?,
        })
    }

    /// Send one packet as one datagram to `to`. A packet that encodes to
    /// more than the maximum datagram size is refused with
    /// [`Error::Encode`] and nothing is sent.
    pub async fn send_packet_to(&self, packet: &P::Sent, to: SocketAddr) -> Result<(), Error> {
        self.udp.send(packet, Some(to), None).await
    }

    /// Like [`send_packet_to`](UdpEndpoint::send_packet_to), giving up
    /// after `timeout` with [`Error::Timeout`] of kind `Send`.
    pub async fn send_packet_to_timeout(
        &self,
        packet: &P::Sent,
        to: SocketAddr,
        timeout: Duration,
    ) -> Result<(), Error> {
        self.udp.send(packet, Some(to), Some(timeout)).await
    }

    /// The next datagram's packet and its sender. Per-datagram errors
    /// ([`Error::Deserialize`], [`Error::DatagramTooLong`]) name the
    /// sender; the next call returns the next datagram.
    pub async fn recv_packet_from(&self) -> Result<(P::Received, SocketAddr), Error> {
        self.udp.recv(None).await
    }

    /// Like [`recv_packet_from`](UdpEndpoint::recv_packet_from), giving up
    /// after `timeout` with [`Error::Timeout`] of kind `Receive`, which
    /// loses nothing.
    pub async fn recv_packet_from_timeout(
        &self,
        timeout: Duration,
    ) -> Result<(P::Received, SocketAddr), Error> {
        self.udp.recv(Some(timeout)).await
    }

    /// Close the socket: a task waiting in a receive returns
    /// [`Error::Closed`] at once, and so does every later call.
    /// Idempotent; always `Ok(())`.
    pub async fn close(&self) -> Result<(), Error> {
        self.udp.close();
        Ok(())
    }

    /// Whether [`close`](UdpEndpoint::close) was called.
    pub fn is_closed(&self) -> bool {
        self.udp.engine.is_closed()
    }

    /// The local address (the real port when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.udp.engine.local_addr()
    }

    /// The socket's options: broadcast, TTL, multicast membership, buffer
    /// sizes, and `sock_ref()` (socket2) for anything else.
    pub fn socket(&self) -> DatagramSocketOptions<'_> {
        self.udp.socket()
    }

    /// The largest datagram sent or received.
    pub fn max_datagram_size(&self) -> usize {
        self.udp.engine.max_datagram_size()
    }
}

impl<R: Runtime, P: ForDatagrams> fmt::Debug for UdpEndpoint<R, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("UdpEndpoint").field(&self.udp).finish()
    }
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One receive, given the time left (`None`: no limit).
type Receive<'a, T> =
    Box<dyn Fn(Option<Duration>) -> BoxFuture<'a, Result<T, Error>> + Send + Sync + 'a>;

/// Received packets as a [`Stream`], within one timeout for the whole
/// iteration; made by [`UdpClient::iter_received_packets`].
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
