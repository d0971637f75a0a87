//! The blocking UDP client and endpoint.

use std::fmt;
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use netproto_core::Error;
use netproto_core::datagram::ForDatagrams;
use netproto_core::driver::datagram::{DatagramEngine, DatagramTransport, SendDatagram};
use netproto_core::options::{DatagramOptions, IntoAddress};
use netproto_socket::connect::resolve;
use netproto_socket::datagram::{
    DatagramSocketOptions, bind_udp_any, connect_udp_any, udp_local_addr,
};
use netproto_socket::socket2::SockRef;

use crate::inner::{drive, received_within, set_read_timeout};

/// A blocking std UDP socket as the datagram engine's transport.
pub(crate) struct BlockingUdp {
    socket: UdpSocket,
    read_timeout: Mutex<Option<Duration>>,
}

impl DatagramTransport for BlockingUdp {
    fn recv_from(&self, buf: &mut [u8], wait: Option<Duration>) -> io::Result<(usize, SocketAddr)> {
        set_read_timeout(&self.read_timeout, wait, |t| {
            self.socket.set_read_timeout(t)
        })?;
        self.socket.recv_from(buf)
    }

    fn send_to(
        &self,
        datagram: &[u8],
        to: Option<SocketAddr>,
        _wait: Option<Duration>,
    ) -> io::Result<usize> {
        match to {
            Some(to) => self.socket.send_to(datagram, to),
            None => self.socket.send(datagram),
        }
    }

    fn wake_receivers(&self) {
        netproto_socket::stop_reading(&self.socket);
    }
}

/// The engine and socket a client, an endpoint and a server share.
pub(crate) struct Udp<P: ForDatagrams> {
    pub(crate) engine: DatagramEngine<P>,
    pub(crate) io: BlockingUdp,
}

impl<P: ForDatagrams> Udp<P> {
    pub(crate) fn new(
        socket: UdpSocket,
        protocol: P,
        options: &DatagramOptions,
        connected: bool,
    ) -> Result<Self, Error> {
        let io_error = |source| Error::Io { peer: None, source };
        socket.set_nonblocking(false).map_err(io_error)?;
        let sock = SockRef::from(&socket);
        let local = udp_local_addr(&sock).map_err(io_error)?;
        let peer = match connected {
            true => Some(socket.peer_addr().map_err(io_error)?),
            false => None,
        };
        Ok(Udp {
            engine: DatagramEngine::new(protocol, options, local, peer),
            io: BlockingUdp {
                socket,
                read_timeout: Mutex::new(None),
            },
        })
    }

    pub(crate) fn send(
        &self,
        packet: &P::Sent,
        to: Option<SocketAddr>,
        timeout: Option<Duration>,
    ) -> Result<(), Error> {
        let mut op = SendDatagram::new(packet, to);
        if let Some(timeout) = timeout {
            op = op.timeout(Instant::now(), timeout);
        }
        drive(&self.io, |io, now| self.engine.poll_send(&mut op, io, now))
    }

    pub(crate) fn recv(
        &self,
        timeout: Option<Duration>,
    ) -> Result<(P::Received, SocketAddr), Error> {
        let mut op = self.engine.recv(Instant::now(), timeout);
        drive(&self.io, |io, now| self.engine.poll_recv(&mut op, io, now))
    }

    pub(crate) fn socket(&self) -> DatagramSocketOptions<'_> {
        DatagramSocketOptions::new(&self.io.socket)
    }
}

/// A UDP socket connected to one remote address, sending and receiving
/// one packet of protocol `P` per datagram, blocking the calling thread.
///
/// It is `Send + Sync` and every method takes `&self`: one thread may block
/// in [`recv_packet`](UdpClient::recv_packet) while another sends or
/// closes it.
///
/// ```
/// use std::time::Duration;
/// use netproto_sync::datagram::DatagramProtocol;
/// use netproto_sync::serializer::Utf8;
/// use netproto_sync::UdpClient;
///
/// // Any UDP peer will do; here, a std socket that answers once.
/// let peer = std::net::UdpSocket::bind("127.0.0.1:0")?;
/// let client = UdpClient::connect(peer.local_addr()?, DatagramProtocol::new(Utf8))?;
/// client.send_packet("ping")?;
/// let mut buf = [0; 16];
/// let (n, from) = peer.recv_from(&mut buf)?;
/// peer.send_to(&buf[..n], from)?;
/// assert_eq!(client.recv_packet_timeout(Duration::from_secs(5))?, "ping");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct UdpClient<P: ForDatagrams> {
    udp: Udp<P>,
}

impl<P: ForDatagrams> UdpClient<P> {
    /// Connect to `address` with [`DatagramOptions::default()`].
    pub fn connect(address: impl IntoAddress, protocol: P) -> Result<Self, Error> {
        Self::connect_with(address, protocol, DatagramOptions::default())
    }

    /// Connect a UDP socket to `address`: resolve it ([`Error::Resolve`]
    /// names the host) and take the first resolved address a socket bound
    /// to `options.local_address` (or any address of its family) connects
    /// to. Nothing is sent: a UDP "connection" only fixes the peer.
    pub fn connect_with(
        address: impl IntoAddress,
        protocol: P,
        options: DatagramOptions,
    ) -> Result<Self, Error> {
        let address = address.into_address()?.connectable()?;
        let socket = connect_udp_any(&address, resolve(&address)?, options.local_address)?;
        Ok(UdpClient {
            udp: Udp::new(socket, protocol, &options, true)?,
        })
    }

    /// Send one packet as one datagram. A packet that encodes to more than
    /// the maximum datagram size is refused with [`Error::Encode`] and
    /// nothing is sent; the client stays usable.
    pub fn send_packet(&self, packet: &P::Sent) -> Result<(), Error> {
        self.udp.send(packet, None, None)
    }

    /// Like [`send_packet`](UdpClient::send_packet), giving up after
    /// `timeout` with [`Error::Timeout`] of kind `Send` (nothing sent).
    pub fn send_packet_timeout(&self, packet: &P::Sent, timeout: Duration) -> Result<(), Error> {
        self.udp.send(packet, None, Some(timeout))
    }

    /// The next datagram's packet. A datagram that does not deserialize
    /// ([`Error::Deserialize`]) or is longer than the maximum datagram
    /// size ([`Error::DatagramTooLong`]) is an error for that datagram
    /// only: the next call returns the next one.
    pub fn recv_packet(&self) -> Result<P::Received, Error> {
        self.udp.recv(None).map(|(packet, _)| packet)
    }

    /// Like [`recv_packet`](UdpClient::recv_packet), giving up after
    /// `timeout` with [`Error::Timeout`] of kind `Receive`, which loses
    /// nothing.
    pub fn recv_packet_timeout(&self, timeout: Duration) -> Result<P::Received, Error> {
        self.udp.recv(Some(timeout)).map(|(packet, _)| packet)
    }

    /// The packets that are queued or arrive within `timeout`, as an
    /// iterator: the timeout is for the *whole* iteration (`None`: no
    /// limit), and the iterator ends quietly when it passes; per-datagram
    /// errors are yielded and the iteration goes on; any other error is
    /// yielded, then the iteration ends (the rule of
    /// [`Error::in_stream`]).
    pub fn iter_received_packets(
        &self,
        timeout: impl Into<Option<Duration>>,
    ) -> impl Iterator<Item = Result<P::Received, Error>> + '_ {
        received_within(timeout.into(), |left| {
            self.udp.recv(left).map(|(packet, _)| packet)
        })
    }

    /// Close the socket: a `recv_packet` blocked in another thread returns
    /// [`Error::Closed`] at once, and so does every later call. A datagram
    /// socket has nothing queued to flush: this always returns `Ok(())`.
    /// Idempotent.
    pub fn close(&self) -> Result<(), Error> {
        self.udp.engine.close(&self.udp.io);
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

impl<P: ForDatagrams> fmt::Debug for UdpClient<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UdpClient")
            .field("engine", &self.udp.engine)
            .finish_non_exhaustive()
    }
}

/// An unconnected UDP socket: packets of protocol `P` to and from any
/// address, one per datagram, blocking the calling thread. `Send + Sync`,
/// every method takes `&self`.
///
/// ```
/// use netproto_sync::datagram::DatagramProtocol;
/// use netproto_sync::serializer::Utf8;
/// use netproto_sync::{DatagramOptions, UdpEndpoint};
///
/// let protocol = DatagramProtocol::new(Utf8);
/// let a = UdpEndpoint::bind("127.0.0.1:0", protocol.clone(), DatagramOptions::default())?;
/// let b = UdpEndpoint::bind("127.0.0.1:0", protocol, DatagramOptions::default())?;
/// a.send_packet_to("hello", b.local_addr())?;
/// let (text, from) = b.recv_packet_from()?;
/// assert_eq!((text.as_str(), from), ("hello", a.local_addr()));
/// # Ok::<(), netproto_sync::Error>(())
/// ```
pub struct UdpEndpoint<P: ForDatagrams> {
    udp: Udp<P>,
}

impl<P: ForDatagrams> UdpEndpoint<P> {
    /// Bind a UDP socket to `address` (a host name: the first resolved
    /// address that can be bound; port 0: a free port).
    pub fn bind(
        address: impl IntoAddress,
        protocol: P,
        options: DatagramOptions,
    ) -> Result<Self, Error> {
        let address = address.into_address()?;
        let socket = bind_udp_any(&address, resolve(&address)?)?;
        Ok(UdpEndpoint {
            udp: Udp::new(socket, protocol, &options, false)?,
        })
    }

    /// Send one packet as one datagram to `to`. A packet that encodes to
    /// more than the maximum datagram size is refused with
    /// [`Error::Encode`] and nothing is sent.
    pub fn send_packet_to(&self, packet: &P::Sent, to: SocketAddr) -> Result<(), Error> {
        self.udp.send(packet, Some(to), None)
    }

    /// Like [`send_packet_to`](UdpEndpoint::send_packet_to), giving up
    /// after `timeout` with [`Error::Timeout`] of kind `Send`.
    pub fn send_packet_to_timeout(
        &self,
        packet: &P::Sent,
        to: SocketAddr,
        timeout: Duration,
    ) -> Result<(), Error> {
        self.udp.send(packet, Some(to), Some(timeout))
    }

    /// The next datagram's packet and its sender. Per-datagram errors
    /// ([`Error::Deserialize`], [`Error::DatagramTooLong`]) name the
    /// sender; the next call returns the next datagram.
    pub fn recv_packet_from(&self) -> Result<(P::Received, SocketAddr), Error> {
        self.udp.recv(None)
    }

    /// Like [`recv_packet_from`](UdpEndpoint::recv_packet_from), giving up
    /// after `timeout` with [`Error::Timeout`] of kind `Receive`, which
    /// loses nothing.
    pub fn recv_packet_from_timeout(
        &self,
        timeout: Duration,
    ) -> Result<(P::Received, SocketAddr), Error> {
        self.udp.recv(Some(timeout))
    }

    /// Close the socket: a receive blocked in another thread returns
    /// [`Error::Closed`] at once, and so does every later call.
    /// Idempotent; always `Ok(())`.
    pub fn close(&self) -> Result<(), Error> {
        self.udp.engine.close(&self.udp.io);
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

impl<P: ForDatagrams> fmt::Debug for UdpEndpoint<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UdpEndpoint")
            .field("engine", &self.udp.engine)
            .finish_non_exhaustive()
    }
}
