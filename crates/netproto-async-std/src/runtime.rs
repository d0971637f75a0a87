//! [`AsyncIo`]: the runtime abstraction of `netproto-async`, for the
//! async-io reactor that async-std and smol share.

use std::future::Future;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs, UdpSocket};
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use async_io::{Async, Timer};
use netproto_async::{AsyncDatagram, AsyncListener, AsyncStream, Interest, IntoStream, Runtime};
use netproto_core::addr::PeerAddr;
use netproto_socket::socket2::SockRef;

#[cfg(not(any(feature = "async-std", feature = "smol")))]
compile_error!(
    "netproto-async-std needs an executor to run served connections on: \
     enable its `async-std` feature (the default) or its `smol` feature"
);

/// async-io's reactor and timers, as `netproto-async` sees them. Served
/// connections run as tasks on smol's executor with the `smol` feature,
/// else on async-std's; clients work under any executor.
#[derive(Clone, Copy, Debug, Default)]
pub struct AsyncIo;

/// A TCP or (on Unix) Unix stream socket registered with the async-io
/// reactor.
#[derive(Debug)]
pub struct Stream(Either<Async<TcpStream>, Async<UnixStream>>);

/// A listening TCP or (on Unix) Unix socket registered with the async-io
/// reactor.
#[derive(Debug)]
pub struct Listener(Either<Async<TcpListener>, Async<UnixListener>>);

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
use std::os::unix::net::{UnixDatagram, UnixListener, UnixStream};
/// No Unix sockets here.
#[cfg(not(unix))]
type UnixDatagram = UdpSocket;
/// No Unix sockets here.
#[cfg(not(unix))]
type UnixListener = TcpListener;
/// No Unix sockets here.
#[cfg(not(unix))]
type UnixStream = TcpStream;

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

/// A UDP socket registered with the async-io reactor.
#[derive(Debug)]
pub struct Datagram(Either<Async<UdpSocket>, Async<UnixDatagram>>);

impl Runtime for AsyncIo {
    type Stream = Stream;
    type Listener = Listener;
    type Datagram = Datagram;

    fn spawn(task: impl Future<Output = ()> + Send + 'static) {
        #[cfg(feature = "smol")]
        smol::spawn(task).detach();
        #[cfg(all(feature = "async-std", not(feature = "smol")))]
        drop(async_std::task::spawn(task));
    }

    async fn sleep_until(deadline: Instant) {
        Timer::at(deadline).await;
    }

    async fn connect(addr: SocketAddr) -> io::Result<Stream> {
        Async::<TcpStream>::connect(addr)
            .await
            .map(|s| Stream(Either::Tcp(s)))
    }

    fn connecting(stream: TcpStream) -> io::Result<Stream> {
        Async::new(stream).map(|s| Stream(Either::Tcp(s)))
    }

    #[cfg(unix)]
    fn connecting_unix(stream: UnixStream) -> io::Result<Stream> {
        Async::new(stream).map(|s| Stream(Either::Unix(s)))
    }

    #[cfg(unix)]
    fn unix_listener(listener: UnixListener) -> io::Result<Listener> {
        Async::new(listener).map(|l| Listener(Either::Unix(l)))
    }

    /// The system resolver blocks: it runs on `blocking`'s thread pool
    /// (what `smol::net::resolve` does too), which works under any
    /// executor.
    async fn resolve(host: String, port: u16) -> io::Result<Vec<SocketAddr>> {
        blocking::unblock(move || Ok((host.as_str(), port).to_socket_addrs()?.collect())).await
    }

    fn listener(listener: TcpListener) -> io::Result<Listener> {
        Async::new(listener).map(|l| Listener(Either::Tcp(l)))
    }

    fn datagram(socket: UdpSocket) -> io::Result<Datagram> {
        Async::new(socket).map(|s| Datagram(Either::Tcp(s)))
    }

    #[cfg(unix)]
    fn unix_datagram(socket: UnixDatagram) -> io::Result<Datagram> {
        Async::new(socket).map(|s| Datagram(Either::Unix(s)))
    }
}

impl AsyncDatagram for Datagram {
    async fn ready(&self, interest: Interest) -> io::Result<()> {
        each!(&self.0, s => match interest {
            Interest::Readable => s.readable().await,
            Interest::Writable => s.writable().await,
        })
    }

    /// Optimistic, as for streams: async-io does not cache readiness.
    fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, PeerAddr)> {
        match &self.0 {
            Either::Tcp(s) => netproto_socket::datagram::udp_recv_from(s.get_ref(), buf),
            #[cfg(unix)]
            Either::Unix(s) => netproto_socket::unix::datagram_recv_from(s.get_ref(), buf),
            #[cfg(not(unix))]
            Either::Unix(_, never) => match *never {},
        }
    }

    fn try_send_to(&self, buf: &[u8], to: Option<&PeerAddr>) -> io::Result<usize> {
        match &self.0 {
            Either::Tcp(s) => netproto_socket::datagram::udp_send_to(s.get_ref(), buf, to),
            #[cfg(unix)]
            Either::Unix(s) => netproto_socket::unix::datagram_send_to(s.get_ref(), buf, to),
            #[cfg(not(unix))]
            Either::Unix(_, never) => match *never {},
        }
    }

    fn sock_ref(&self) -> SockRef<'_> {
        each!(&self.0, s => SockRef::from(s.get_ref()))
    }
}

impl AsyncStream for Stream {
    async fn ready(&self, interest: Interest) -> io::Result<()> {
        each!(&self.0, s => match interest {
            Interest::Readable => s.readable().await,
            Interest::Writable => s.writable().await,
        })
    }

    /// An optimistic read: async-io does not cache readiness, so waiting
    /// first would cost a trip through the reactor on every read of a busy
    /// socket.
    fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        each!(&self.0, s => (&mut s.get_ref()).read(buf))
    }

    fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        each!(&self.0, s => (&mut s.get_ref()).write(buf))
    }

    fn sock_ref(&self) -> SockRef<'_> {
        each!(&self.0, s => SockRef::from(s.get_ref()))
    }
}

impl AsyncListener for Listener {
    type Stream = Stream;

    fn sock_ref(&self) -> SockRef<'_> {
        each!(&self.0, l => SockRef::from(l.get_ref()))
    }

    fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(Stream, PeerAddr)>> {
        loop {
            let accepted = match &self.0 {
                Either::Tcp(l) => l.get_ref().accept().and_then(|(stream, peer)| {
                    Ok((Stream(Either::Tcp(Async::new(stream)?)), peer.into()))
                }),
                #[cfg(unix)]
                Either::Unix(l) => l.get_ref().accept().and_then(|(stream, peer)| {
                    let peer = netproto_core::addr::UnixAddr::from(peer);
                    Ok((Stream(Either::Unix(Async::new(stream)?)), peer.into()))
                }),
                #[cfg(not(unix))]
                Either::Unix(_, never) => match *never {},
            };
            match accepted {
                Ok(accepted) => return Poll::Ready(Ok(accepted)),
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                    ready!(each!(&self.0, l => l.poll_readable(cx)))?;
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Poll::Ready(Err(err)),
            }
        }
    }
}

/// A connected std stream, registered with the reactor.
impl IntoStream<AsyncIo> for TcpStream {
    fn into_stream(self) -> io::Result<Stream> {
        Async::new(self).map(|s| Stream(Either::Tcp(s)))
    }
}

impl IntoStream<AsyncIo> for Async<TcpStream> {
    fn into_stream(self) -> io::Result<Stream> {
        Ok(Stream(Either::Tcp(self)))
    }
}

/// A connected std Unix stream, registered with the reactor.
#[cfg(unix)]
impl IntoStream<AsyncIo, netproto_core::addr::Unix> for UnixStream {
    fn into_stream(self) -> io::Result<Stream> {
        Async::new(self).map(|s| Stream(Either::Unix(s)))
    }
}

#[cfg(unix)]
impl IntoStream<AsyncIo, netproto_core::addr::Unix> for Async<UnixStream> {
    fn into_stream(self) -> io::Result<Stream> {
        Ok(Stream(Either::Unix(self)))
    }
}

/// async-std's own Unix stream, as it is (it must not be cloned any more).
#[cfg(all(unix, feature = "async-std"))]
impl IntoStream<AsyncIo, netproto_core::addr::Unix> for async_std::os::unix::net::UnixStream {
    fn into_stream(self) -> io::Result<Stream> {
        let stream = UnixStream::try_from(self).map_err(|_| not_alone())?;
        Async::new(stream).map(|s| Stream(Either::Unix(s)))
    }
}

/// smol's own Unix stream, as it is (it must not be cloned any more).
#[cfg(all(unix, feature = "smol"))]
impl IntoStream<AsyncIo, netproto_core::addr::Unix> for smol::net::unix::UnixStream {
    fn into_stream(self) -> io::Result<Stream> {
        let shared = Arc::<Async<UnixStream>>::from(self);
        Arc::try_unwrap(shared)
            .map(|s| Stream(Either::Unix(s)))
            .map_err(|_| not_alone())
    }
}

/// The shared form smol's `TcpStream` converts into; it must not be shared
/// any more.
impl IntoStream<AsyncIo> for Arc<Async<TcpStream>> {
    fn into_stream(self) -> io::Result<Stream> {
        Arc::try_unwrap(self)
            .map(|s| Stream(Either::Tcp(s)))
            .map_err(|_| not_alone())
    }
}

/// async-std's own stream, as it is (it must not be cloned any more).
#[cfg(feature = "async-std")]
impl IntoStream<AsyncIo> for async_std::net::TcpStream {
    fn into_stream(self) -> io::Result<Stream> {
        let stream = TcpStream::try_from(self).map_err(|_| not_alone())?;
        Async::new(stream).map(|s| Stream(Either::Tcp(s)))
    }
}

/// smol's own stream, as it is (it must not be cloned any more).
#[cfg(feature = "smol")]
impl IntoStream<AsyncIo> for smol::net::TcpStream {
    fn into_stream(self) -> io::Result<Stream> {
        Arc::<Async<TcpStream>>::from(self).into_stream()
    }
}

fn not_alone() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        "cannot adopt a stream that is still shared (drop its clones first)",
    )
}
