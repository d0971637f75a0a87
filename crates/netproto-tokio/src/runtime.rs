//! [`Tokio`]: the runtime abstraction of `netproto-async`, for tokio.

use std::future::Future;
use std::io::{self, Read};
use std::net::SocketAddr;
use std::task::{Context, Poll};
use std::time::Instant;

use netproto_async::{AsyncDatagram, AsyncListener, AsyncStream, Interest, IntoStream, Runtime};
use netproto_core::addr::PeerAddr;
use netproto_socket::socket2::{SockRef, Socket};
use tokio::net::{TcpListener, TcpStream, UdpSocket};

/// The tokio runtime, as `netproto-async` sees it: tasks are
/// `tokio::spawn`ed (call from within a runtime), timers are tokio's, and
/// sockets are `tokio::net`'s.
#[derive(Clone, Copy, Debug, Default)]
pub struct Tokio;

/// A tokio `TcpStream` or (on Unix) `UnixStream` as `netproto-async`
/// drives it.
#[derive(Debug)]
pub struct Stream(Either<TcpStream, UnixStream>);

/// A tokio `TcpListener` or (on Unix) `UnixListener` as `netproto-async`
/// drives it.
#[derive(Debug)]
pub struct Listener(Either<TcpListener, UnixListener>);

/// A TCP socket or a Unix one.
#[derive(Debug)]
enum Either<T, U> {
    Tcp(T),
    #[cfg(unix)]
    Unix(U),
    #[cfg(not(unix))]
    #[allow(dead_code)]
    Unix(std::marker::PhantomData<U>, std::convert::Infallible),
}

#[cfg(unix)]
use tokio::net::{UnixDatagram, UnixListener, UnixStream};
/// No Unix sockets here.
#[cfg(not(unix))]
type UnixDatagram = ();
/// No Unix sockets here.
#[cfg(not(unix))]
type UnixListener = ();
/// No Unix sockets here.
#[cfg(not(unix))]
type UnixStream = ();

/// `$body` with `$s` bound to the TCP or the Unix socket.
macro_rules! each {
    ($either:expr, $s:ident => $body:expr) => {
        match $either {
            Either::Tcp($s) => $body,
            #[cfg(unix)]
            Either::Unix($s) => $body,
            #[cfg(not(unix))]
            Either::Unix(_, never) => match *never {},
        }
    };
}

/// A tokio `UdpSocket` or (on Unix) `UnixDatagram` as `netproto-async`
/// drives it.
#[derive(Debug)]
pub struct Datagram(Either<UdpSocket, UnixDatagram>);

impl Runtime for Tokio {
    type Stream = Stream;
    type Listener = Listener;
    type Datagram = Datagram;

    fn spawn(task: impl Future<Output = ()> + Send + 'static) {
        drop(tokio::spawn(task));
    }

    fn sleep_until(deadline: Instant) -> impl Future<Output = ()> + Send {
        tokio::time::sleep_until(deadline.into())
    }

    async fn connect(addr: SocketAddr) -> io::Result<Stream> {
        TcpStream::connect(addr)
            .await
            .map(|s| Stream(Either::Tcp(s)))
    }

    fn connecting(stream: std::net::TcpStream) -> io::Result<Stream> {
        TcpStream::from_std(stream).map(|s| Stream(Either::Tcp(s)))
    }

    #[cfg(unix)]
    fn connecting_unix(stream: std::os::unix::net::UnixStream) -> io::Result<Stream> {
        UnixStream::from_std(stream).map(|s| Stream(Either::Unix(s)))
    }

    #[cfg(unix)]
    fn unix_listener(listener: std::os::unix::net::UnixListener) -> io::Result<Listener> {
        UnixListener::from_std(listener).map(|l| Listener(Either::Unix(l)))
    }

    async fn resolve(host: String, port: u16) -> io::Result<Vec<SocketAddr>> {
        Ok(tokio::net::lookup_host((host.as_str(), port))
            .await?
            .collect())
    }

    fn listener(listener: std::net::TcpListener) -> io::Result<Listener> {
        TcpListener::from_std(listener).map(|l| Listener(Either::Tcp(l)))
    }

    fn datagram(socket: std::net::UdpSocket) -> io::Result<Datagram> {
        socket.set_nonblocking(true)?;
        UdpSocket::from_std(socket).map(|s| Datagram(Either::Tcp(s)))
    }

    #[cfg(unix)]
    fn unix_datagram(socket: std::os::unix::net::UnixDatagram) -> io::Result<Datagram> {
        socket.set_nonblocking(true)?;
        UnixDatagram::from_std(socket).map(|s| Datagram(Either::Unix(s)))
    }
}

impl AsyncDatagram for Datagram {
    async fn ready(&self, interest: Interest) -> io::Result<()> {
        each!(&self.0, s => match interest {
            Interest::Readable => s.readable().await,
            Interest::Writable => s.writable().await,
        })
    }

    fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, PeerAddr)> {
        match &self.0 {
            Either::Tcp(s) => s.try_recv_from(buf).map(|(n, from)| (n, from.into())),
            #[cfg(unix)]
            Either::Unix(s) => s.try_recv_from(buf).map(|(n, from)| {
                let from = std::os::unix::net::SocketAddr::from(from);
                (n, PeerAddr::Unix(from.into()))
            }),
            #[cfg(not(unix))]
            Either::Unix(_, never) => match *never {},
        }
    }

    fn try_send_to(&self, buf: &[u8], to: Option<&PeerAddr>) -> io::Result<usize> {
        match (&self.0, to) {
            (Either::Tcp(s), None) => s.try_send(buf),
            (Either::Tcp(s), Some(PeerAddr::Inet(to))) => s.try_send_to(buf, *to),
            #[cfg(unix)]
            (Either::Unix(s), to) => s.try_io(tokio::io::Interest::WRITABLE, || {
                netproto_socket::unix::datagram_send_to(s, buf, to)
            }),
            #[cfg(not(unix))]
            (Either::Unix(_, never), _) => match *never {},
            (_, Some(to)) => Err(netproto_socket::datagram::wrong_family(to)),
        }
    }

    fn sock_ref(&self) -> SockRef<'_> {
        each!(&self.0, s => SockRef::from(s))
    }
}

impl AsyncStream for Stream {
    async fn ready(&self, interest: Interest) -> io::Result<()> {
        each!(&self.0, s => match interest {
            Interest::Readable => s.readable().await,
            Interest::Writable => s.writable().await,
        })
    }

    /// One read if tokio has seen the socket readable.
    ///
    /// A read that comes back shorter than the buffer emptied the socket's
    /// receive queue, so tokio is told to forget the readiness it saw
    /// (where `SHORT_READ_DRAINS`): the next read then waits for the
    /// reactor instead of making a system call only to hear "would block".
    /// tokio's own `AsyncRead` for `TcpStream` does the same; `try_read`
    /// does not, which costs one extra `recv` per packet in
    /// request/response traffic. The readiness cleared is the one seen
    /// *before* the read, so an event that arrives during it is kept.
    fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        let len = buf.len();
        let mut short = None;
        let sock = self.sock_ref();
        let mut read_once = || {
            let mut sock: &Socket = &sock;
            let n = sock.read(buf)?;
            if SHORT_READ_DRAINS && n > 0 && n < len {
                short = Some(n);
                return Err(io::ErrorKind::WouldBlock.into());
            }
            Ok(n)
        };
        let read = each!(&self.0, s => s.try_io(tokio::io::Interest::READABLE, &mut read_once));
        match short {
            Some(n) => Ok(n),
            None => read,
        }
    }

    fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        each!(&self.0, s => s.try_write(buf))
    }

    fn sock_ref(&self) -> SockRef<'_> {
        each!(&self.0, s => SockRef::from(s))
    }
}

/// Whether a short read proves the socket drained: with the edge-triggered
/// selectors mio uses on these systems (epoll, kqueue), new data brings a
/// new event. Not with level-triggered ones (Windows, or `poll` when mio is
/// built with `mio_unsupported_force_poll_poll`), where forgetting the
/// readiness could miss data; the same platforms as tokio's own
/// `AsyncRead` for `TcpStream`.
const SHORT_READ_DRAINS: bool = cfg!(all(
    not(mio_unsupported_force_poll_poll),
    any(
        target_os = "android",
        target_os = "illumos",
        target_os = "linux",
        target_os = "redox",
        target_os = "dragonfly",
        target_os = "freebsd",
        target_os = "ios",
        target_os = "macos",
        target_os = "netbsd",
        target_os = "openbsd",
        target_os = "tvos",
        target_os = "visionos",
        target_os = "watchos",
    )
));

impl AsyncListener for Listener {
    type Stream = Stream;

    fn sock_ref(&self) -> SockRef<'_> {
        each!(&self.0, l => SockRef::from(l))
    }

    fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(Stream, PeerAddr)>> {
        match &self.0 {
            Either::Tcp(l) => l
                .poll_accept(cx)
                .map_ok(|(stream, peer)| (Stream(Either::Tcp(stream)), peer.into())),
            #[cfg(unix)]
            Either::Unix(l) => l.poll_accept(cx).map_ok(|(stream, _)| {
                // socket2 reads abstract names too (tokio's address does
                // not give them).
                let peer = SockRef::from(&stream)
                    .peer_addr()
                    .map(|addr| netproto_socket::unix::unix_addr(&addr))
                    .unwrap_or(netproto_core::addr::UnixAddr::Unnamed);
                (Stream(Either::Unix(stream)), peer.into())
            }),
            #[cfg(not(unix))]
            Either::Unix(_, never) => match *never {},
        }
    }
}

impl IntoStream<Tokio> for TcpStream {
    fn into_stream(self) -> io::Result<Stream> {
        Ok(Stream(Either::Tcp(self)))
    }
}

/// tokio's own Unix stream.
#[cfg(unix)]
impl IntoStream<Tokio, netproto_core::addr::Unix> for UnixStream {
    fn into_stream(self) -> io::Result<Stream> {
        Ok(Stream(Either::Unix(self)))
    }
}

/// A connected std Unix stream is made non-blocking and registered with
/// the current tokio runtime.
#[cfg(unix)]
impl IntoStream<Tokio, netproto_core::addr::Unix> for std::os::unix::net::UnixStream {
    fn into_stream(self) -> io::Result<Stream> {
        self.set_nonblocking(true)?;
        UnixStream::from_std(self).map(|s| Stream(Either::Unix(s)))
    }
}

/// A connected std stream is made non-blocking and registered with the
/// current tokio runtime.
impl IntoStream<Tokio> for std::net::TcpStream {
    fn into_stream(self) -> io::Result<Stream> {
        self.set_nonblocking(true)?;
        TcpStream::from_std(self).map(|s| Stream(Either::Tcp(s)))
    }
}
