//! The blocking datagram client and endpoint, over UDP or a Unix datagram
//! socket.

use std::fmt;
use std::io;
use std::marker::PhantomData;
use std::net::UdpSocket;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use netproto_core::Error;
use netproto_core::addr::{DatagramFamily, PeerAddr, Udp};
use netproto_core::datagram::ForDatagrams;
use netproto_core::driver::datagram::{DatagramEngine, DatagramTransport, SendDatagram};
use netproto_core::options::{DatagramOptions, IntoAddress};
use netproto_socket::connect::resolve;
use netproto_socket::datagram::{
    DatagramSocketOptions, bind_udp_any, connect_udp_any, datagram_addrs, udp_recv_from,
    udp_send_to,
};
use netproto_socket::socket2::SockRef;
#[cfg(unix)]
use {
    netproto_core::addr::{Unix, UnixAddr},
    netproto_socket::unix::SocketFile,
    std::os::unix::net::UnixDatagram,
};

use crate::inner::{drive, received_within, set_read_timeout};

/// A blocking std datagram socket: UDP or a Unix datagram socket.
pub(crate) enum Socket {
    Udp(UdpSocket),
    #[cfg(unix)]
    /// The file is kept for its `Drop` (it removes the socket file).
    Unix(UnixDatagram, #[allow(dead_code)] SocketFile),
}

impl From<UdpSocket> for Socket {
    fn from(socket: UdpSocket) -> Self {
        Socket::Udp(socket)
    }
}

#[cfg(unix)]
impl From<(netproto_socket::socket2::Socket, SocketFile)> for Socket {
    fn from((socket, file): (netproto_socket::socket2::Socket, SocketFile)) -> Self {
        Socket::Unix(UnixDatagram::from(std::os::fd::OwnedFd::from(socket)), file)
    }
}

impl Socket {
    fn sock_ref(&self) -> SockRef<'_> {
        match self {
            Socket::Udp(socket) => SockRef::from(socket),
            #[cfg(unix)]
            Socket::Unix(socket, _) => SockRef::from(socket),
        }
    }
}

/// A blocking datagram socket as the datagram engine's transport.
pub(crate) struct Blocking {
    socket: Socket,
    read_timeout: Mutex<Option<Duration>>,
}

impl DatagramTransport for Blocking {
    fn recv_from(&self, buf: &mut [u8], wait: Option<Duration>) -> io::Result<(usize, PeerAddr)> {
        set_read_timeout(&self.read_timeout, wait, |t| {
            self.socket.sock_ref().set_read_timeout(t)
        })?;
        match &self.socket {
            Socket::Udp(socket) => udp_recv_from(socket, buf),
            #[cfg(unix)]
            Socket::Unix(socket, _) => netproto_socket::unix::datagram_recv_from(socket, buf),
        }
    }

    fn send_to(
        &self,
        datagram: &[u8],
        to: Option<&PeerAddr>,
        _wait: Option<Duration>,
    ) -> io::Result<usize> {
        match &self.socket {
            Socket::Udp(socket) => udp_send_to(socket, datagram, to),
            #[cfg(unix)]
            Socket::Unix(socket, _) => {
                netproto_socket::unix::datagram_send_to(socket, datagram, to)
            }
        }
    }

    fn wake_receivers(&self) {
        let _ = self.socket.sock_ref().shutdown(std::net::Shutdown::Read);
    }
}

/// The engine and socket a client, an endpoint and a server share.
pub(crate) struct Dgram<P: ForDatagrams> {
    pub(crate) engine: DatagramEngine<P>,
    pub(crate) io: Blocking,
}

impl<P: ForDatagrams> Dgram<P> {
    pub(crate) fn new(
        socket: impl Into<Socket>,
        protocol: P,
        options: &DatagramOptions,
        connected: bool,
    ) -> Result<Self, Error> {
        let socket = socket.into();
        let io_error = |source| Error::Io { peer: None, source };
        let sock = socket.sock_ref();
        sock.set_nonblocking(false).map_err(io_error)?;
        let (local, peer) = datagram_addrs(&sock, connected)?;
        Ok(Dgram {
            engine: DatagramEngine::new(protocol, options, local, peer),
            io: Blocking {
                socket,
                read_timeout: Mutex::new(None),
            },
        })
    }

    pub(crate) fn send(
        &self,
        packet: &P::Sent,
        to: Option<PeerAddr>,
        timeout: Option<Duration>,
    ) -> Result<(), Error> {
        let mut op = SendDatagram::new(packet, to);
        if let Some(timeout) = timeout {
            op = op.timeout(Instant::now(), timeout);
        }
        drive(&self.io, |io, now| self.engine.poll_send(&mut op, io, now))
    }

    pub(crate) fn recv(&self, timeout: Option<Duration>) -> Result<(P::Received, PeerAddr), Error> {
        let mut op = self.engine.recv(Instant::now(), timeout);
        drive(&self.io, |io, now| self.engine.poll_recv(&mut op, io, now))
    }

    pub(crate) fn socket(&self) -> DatagramSocketOptions<'_> {
        DatagramSocketOptions::from_sock_ref(self.io.socket.sock_ref())
    }

    pub(crate) fn local_addr<F: DatagramFamily>(&self) -> F::Addr {
        F::addr(self.engine.local_addr())
    }
}

/// A datagram socket connected to one remote address, sending and
/// receiving one packet of protocol `P` per datagram, blocking the calling
/// thread, over the datagram transport `F`: [`UdpClient`] (UDP) or, on
/// Unix, `UnixDatagramClient` (a Unix datagram socket). Both are this
/// type; only their constructors and address types differ.
///
/// It is `Send + Sync` and every method takes `&self`: one thread may block
/// in [`recv_packet`](DatagramClient::recv_packet) while another sends or
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
pub struct DatagramClient<P: ForDatagrams, F: DatagramFamily = Udp> {
    udp: Dgram<P>,
    family: PhantomData<F>,
}

/// A UDP socket connected to one remote address.
pub type UdpClient<P> = DatagramClient<P, Udp>;

/// A Unix datagram socket connected to one remote address (Unix only).
///
/// ```
/// # #[cfg(target_os = "linux")] {
/// use std::time::Duration;
/// use netproto_sync::datagram::DatagramProtocol;
/// use netproto_sync::serializer::Utf8;
/// use netproto_sync::{DatagramOptions, UnixAddr, UnixDatagramClient, UnixDatagramEndpoint};
///
/// let protocol = DatagramProtocol::new(Utf8);
/// let server = UnixAddr::abstract_name(format!("doc-{}", std::process::id()));
/// let echo = UnixDatagramEndpoint::bind(&server, protocol.clone(), DatagramOptions::default())?;
/// // No local address given: the kernel names the client (autobind).
/// let client = UnixDatagramClient::connect(&server, protocol)?;
/// client.send_packet("ping")?;
/// let (text, from) = echo.recv_packet_from()?;
/// echo.send_packet_to(&text, from)?;
/// assert_eq!(client.recv_packet_timeout(Duration::from_secs(5))?, "ping");
/// # }
/// # Ok::<(), netproto_sync::Error>(())
/// ```
#[cfg(unix)]
#[cfg_attr(docsrs, doc(cfg(unix)))]
pub type UnixDatagramClient<P> = DatagramClient<P, Unix>;

impl<P: ForDatagrams> DatagramClient<P, Udp> {
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
        Self::new(socket, protocol, &options)
    }
}

#[cfg(unix)]
impl<P: ForDatagrams> DatagramClient<P, Unix> {
    /// Connect to the Unix datagram socket at `address` with
    /// [`DatagramOptions::default()`] (the client autobinds, on Linux).
    pub fn connect(address: impl Into<UnixAddr>, protocol: P) -> Result<Self, Error> {
        Self::connect_with(address, protocol, DatagramOptions::default())
    }

    /// Connect a Unix datagram socket to `address`, bound first to
    /// `options.local_unix_address` so that replies reach it (the
    /// socket-file rules of `netproto_socket::unix`; its file is removed
    /// when the client is dropped) or, with `None`, to an abstract name
    /// the kernel picks (Linux and Android; elsewhere an error).
    pub fn connect_with(
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

impl<P: ForDatagrams, F: DatagramFamily> DatagramClient<P, F> {
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
    pub fn send_packet(&self, packet: &P::Sent) -> Result<(), Error> {
        self.udp.send(packet, None, None)
    }

    /// Like [`send_packet`](DatagramClient::send_packet), giving up after
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

    /// Like [`recv_packet`](DatagramClient::recv_packet), giving up after
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

impl<P: ForDatagrams, F: DatagramFamily> fmt::Debug for DatagramClient<P, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatagramClient")
            .field("engine", &self.udp.engine)
            .finish_non_exhaustive()
    }
}

/// An unconnected datagram socket: packets of protocol `P` to and from
/// any address, one per datagram, blocking the calling thread, over the
/// datagram transport `F`: [`UdpEndpoint`] or, on Unix,
/// `UnixDatagramEndpoint`. `Send + Sync`, every method takes `&self`.
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
pub struct DatagramEndpoint<P: ForDatagrams, F: DatagramFamily = Udp> {
    udp: Dgram<P>,
    family: PhantomData<F>,
}

/// An unconnected UDP socket.
pub type UdpEndpoint<P> = DatagramEndpoint<P, Udp>;

/// An unconnected Unix datagram socket (Unix only).
#[cfg(unix)]
#[cfg_attr(docsrs, doc(cfg(unix)))]
pub type UnixDatagramEndpoint<P> = DatagramEndpoint<P, Unix>;

impl<P: ForDatagrams> DatagramEndpoint<P, Udp> {
    /// Bind a UDP socket to `address` (a host name: the first resolved
    /// address that can be bound; port 0: a free port).
    pub fn bind(
        address: impl IntoAddress,
        protocol: P,
        options: DatagramOptions,
    ) -> Result<Self, Error> {
        let address = address.into_address()?;
        let socket = bind_udp_any(&address, resolve(&address)?)?;
        Self::new(socket, protocol, &options)
    }
}

#[cfg(unix)]
impl<P: ForDatagrams> DatagramEndpoint<P, Unix> {
    /// Bind a Unix datagram socket at `address` under the socket-file
    /// rules of `netproto_socket::unix` (a stale socket file is removed
    /// first, anything else there is refused); the file is removed when
    /// the endpoint is dropped.
    pub fn bind(
        address: impl Into<UnixAddr>,
        protocol: P,
        options: DatagramOptions,
    ) -> Result<Self, Error> {
        let socket = netproto_socket::unix::bind_datagram(&address.into())?;
        Self::new(socket, protocol, &options)
    }
}

impl<P: ForDatagrams, F: DatagramFamily> DatagramEndpoint<P, F> {
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
    pub fn send_packet_to(&self, packet: &P::Sent, to: impl Into<F::Addr>) -> Result<(), Error> {
        self.udp.send(packet, Some(to.into().into()), None)
    }

    /// Like [`send_packet_to`](DatagramEndpoint::send_packet_to), giving up
    /// after `timeout` with [`Error::Timeout`] of kind `Send`.
    pub fn send_packet_to_timeout(
        &self,
        packet: &P::Sent,
        to: impl Into<F::Addr>,
        timeout: Duration,
    ) -> Result<(), Error> {
        self.udp.send(packet, Some(to.into().into()), Some(timeout))
    }

    /// The next datagram's packet and its sender. Per-datagram errors
    /// ([`Error::Deserialize`], [`Error::DatagramTooLong`]) name the
    /// sender; the next call returns the next datagram. A Unix sender that
    /// did not bind is unnamed: it cannot be replied to.
    pub fn recv_packet_from(&self) -> Result<(P::Received, F::Addr), Error> {
        self.recv(None)
    }

    /// Like [`recv_packet_from`](DatagramEndpoint::recv_packet_from), giving up
    /// after `timeout` with [`Error::Timeout`] of kind `Receive`, which
    /// loses nothing.
    pub fn recv_packet_from_timeout(
        &self,
        timeout: Duration,
    ) -> Result<(P::Received, F::Addr), Error> {
        self.recv(Some(timeout))
    }

    fn recv(&self, timeout: Option<Duration>) -> Result<(P::Received, F::Addr), Error> {
        let (packet, from) = self.udp.recv(timeout)?;
        Ok((packet, F::addr(&from)))
    }

    /// Close the socket: a receive blocked in another thread returns
    /// [`Error::Closed`] at once, and so does every later call.
    /// Idempotent; always `Ok(())`.
    pub fn close(&self) -> Result<(), Error> {
        self.udp.engine.close(&self.udp.io);
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

impl<P: ForDatagrams, F: DatagramFamily> fmt::Debug for DatagramEndpoint<P, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatagramEndpoint")
            .field("engine", &self.udp.engine)
            .finish_non_exhaustive()
    }
}
