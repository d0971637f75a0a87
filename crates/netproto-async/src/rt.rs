//! The runtime abstraction: what the one async implementation needs from
//! an async runtime — spawning, a timer, name resolution, connecting, and
//! readiness-based sockets and listeners.
//!
//! `netproto-tokio` implements it for tokio and `netproto-async-std` for
//! async-io (async-std and smol). Everything else — every loop, deadline
//! and decision — is the same code for both.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::task::{Context, Poll};
use std::time::Instant;

use netproto_core::addr::{PeerAddr, StreamFamily, Tcp};
use netproto_socket::socket2::SockRef;

/// Which readiness to wait for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interest {
    /// The socket has bytes to read (or its read half is shut down).
    Readable,
    /// The socket takes bytes.
    Writable,
}

/// An async runtime, as the client and server need it.
pub trait Runtime: Send + Sync + Sized + 'static {
    /// A connected stream socket: TCP, or (on Unix) a Unix stream socket.
    type Stream: AsyncStream;
    /// A listening stream socket, TCP or Unix.
    type Listener: AsyncListener<Stream = Self::Stream>;
    /// A datagram socket (bound, connected or not): UDP, or (on Unix) a
    /// Unix datagram socket.
    type Datagram: AsyncDatagram;

    /// Run `task` concurrently, on the runtime's worker threads where it
    /// has several. Its output is not awaited: the server tracks its tasks
    /// itself.
    fn spawn(task: impl Future<Output = ()> + Send + 'static);

    /// Complete at `deadline` (at once if it has passed).
    fn sleep_until(deadline: Instant) -> impl Future<Output = ()> + Send;

    /// Connect to `addr`.
    fn connect(addr: SocketAddr) -> impl Future<Output = io::Result<Self::Stream>> + Send;

    /// Adopt a non-blocking std socket whose connect is in progress (its
    /// writable readiness says when it ends).
    fn connecting(stream: std::net::TcpStream) -> io::Result<Self::Stream>;

    /// Every address `host:port` resolves to (the system resolver, off the
    /// reactor thread).
    fn resolve(host: String, port: u16)
    -> impl Future<Output = io::Result<Vec<SocketAddr>>> + Send;

    /// Adopt a bound, listening std socket.
    fn listener(listener: std::net::TcpListener) -> io::Result<Self::Listener>;

    /// Adopt a non-blocking Unix stream socket whose connect is in
    /// progress or done (its writable readiness says when it ends).
    #[cfg(unix)]
    fn connecting_unix(stream: std::os::unix::net::UnixStream) -> io::Result<Self::Stream>;

    /// Adopt a bound, listening Unix stream socket.
    #[cfg(unix)]
    fn unix_listener(listener: std::os::unix::net::UnixListener) -> io::Result<Self::Listener>;

    /// Adopt a bound (possibly connected) std UDP socket, registering it
    /// with the runtime's reactor.
    fn datagram(socket: std::net::UdpSocket) -> io::Result<Self::Datagram>;

    /// Adopt a bound (possibly connected) std Unix datagram socket,
    /// registering it with the runtime's reactor.
    #[cfg(unix)]
    fn unix_datagram(socket: std::os::unix::net::UnixDatagram) -> io::Result<Self::Datagram>;
}

/// A non-blocking datagram socket (UDP or Unix) with readiness.
pub trait AsyncDatagram: Send + Sync + 'static {
    /// Complete once the socket is ready for `interest` (several tasks may
    /// wait at once).
    fn ready(&self, interest: Interest) -> impl Future<Output = io::Result<()>> + Send + '_;
    /// Receive one datagram now (as much of it as fits in `buf`) and its
    /// sender (an unnamed Unix address for a Unix sender that did not
    /// bind), or `WouldBlock`.
    fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, PeerAddr)>;
    /// Send one datagram now to `to` (`None`: the connected peer), or
    /// `WouldBlock`; an address of the other family is `InvalidInput`.
    fn try_send_to(&self, buf: &[u8], to: Option<&PeerAddr>) -> io::Result<usize>;
    /// The socket2 view of the socket: options, addresses, shutdown.
    fn sock_ref(&self) -> SockRef<'_>;
}

/// A connected, non-blocking TCP socket with readiness.
pub trait AsyncStream: Send + Sync + 'static {
    /// Complete once the socket is ready for `interest` (several tasks may
    /// wait at once).
    fn ready(&self, interest: Interest) -> impl Future<Output = io::Result<()>> + Send + '_;
    /// Read what is there now, or `WouldBlock`.
    fn try_read(&self, buf: &mut [u8]) -> io::Result<usize>;
    /// Write what the socket takes now, or `WouldBlock`.
    fn try_write(&self, buf: &[u8]) -> io::Result<usize>;
    /// The socket2 view of the socket: options, addresses, shutdown.
    fn sock_ref(&self) -> SockRef<'_>;
}

/// A listening TCP socket.
pub trait AsyncListener: Send + Sync + 'static {
    /// The sockets it accepts.
    type Stream;

    /// The listening socket, for its options (socket2).
    fn sock_ref(&self) -> SockRef<'_>;
    /// Accept one connection and its peer's address (a Unix client is
    /// usually unnamed), or register to be woken when one is there.
    fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(Self::Stream, PeerAddr)>>;
}

/// A stream a client of runtime `R` over transport `T` can adopt
/// (`from_stream`): the runtime's own stream types, and
/// `std::net::TcpStream` (TCP) or `std::os::unix::net::UnixStream` (Unix).
pub trait IntoStream<R: Runtime, T: StreamFamily = Tcp> {
    /// The runtime's socket.
    fn into_stream(self) -> io::Result<R::Stream>;
}
