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

/// A socket registered with the async-io reactor.
#[derive(Debug)]
pub struct Stream(Async<TcpStream>);

/// A listening socket registered with the async-io reactor.
#[derive(Debug)]
pub struct Listener(Async<TcpListener>);

/// A UDP socket registered with the async-io reactor.
#[derive(Debug)]
pub struct Datagram(Async<UdpSocket>);

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
        Async::<TcpStream>::connect(addr).await.map(Stream)
    }

    fn connecting(stream: TcpStream) -> io::Result<Stream> {
        Async::new(stream).map(Stream)
    }

    /// The system resolver blocks: it runs on `blocking`'s thread pool
    /// (what `smol::net::resolve` does too), which works under any
    /// executor.
    async fn resolve(host: String, port: u16) -> io::Result<Vec<SocketAddr>> {
        blocking::unblock(move || Ok((host.as_str(), port).to_socket_addrs()?.collect())).await
    }

    fn listener(listener: TcpListener) -> io::Result<Listener> {
        Async::new(listener).map(Listener)
    }

    fn datagram(socket: UdpSocket) -> io::Result<Datagram> {
        Async::new(socket).map(Datagram)
    }
}

impl AsyncDatagram for Datagram {
    async fn ready(&self, interest: Interest) -> io::Result<()> {
        match interest {
            Interest::Readable => self.0.readable().await,
            Interest::Writable => self.0.writable().await,
        }
    }

    /// Optimistic, as for streams: async-io does not cache readiness.
    fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.0.get_ref().recv_from(buf)
    }

    fn try_send_to(&self, buf: &[u8], to: Option<SocketAddr>) -> io::Result<usize> {
        match to {
            Some(to) => self.0.get_ref().send_to(buf, to),
            None => self.0.get_ref().send(buf),
        }
    }

    fn sock_ref(&self) -> SockRef<'_> {
        SockRef::from(self.0.get_ref())
    }
}

impl AsyncStream for Stream {
    async fn ready(&self, interest: Interest) -> io::Result<()> {
        match interest {
            Interest::Readable => self.0.readable().await,
            Interest::Writable => self.0.writable().await,
        }
    }

    /// An optimistic read: async-io does not cache readiness, so waiting
    /// first would cost a trip through the reactor on every read of a busy
    /// socket.
    fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        (&mut self.0.get_ref()).read(buf)
    }

    fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        (&mut self.0.get_ref()).write(buf)
    }

    fn sock_ref(&self) -> SockRef<'_> {
        SockRef::from(self.0.get_ref())
    }
}

impl AsyncListener for Listener {
    type Stream = Stream;

    fn sock_ref(&self) -> SockRef<'_> {
        SockRef::from(self.0.get_ref())
    }

    fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(Stream, SocketAddr)>> {
        loop {
            match self.0.get_ref().accept() {
                Ok((stream, peer)) => {
                    return Poll::Ready(Async::new(stream).map(|s| (Stream(s), peer)));
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                    ready!(self.0.poll_readable(cx))?;
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
        Async::new(self).map(Stream)
    }
}

impl IntoStream<AsyncIo> for Async<TcpStream> {
    fn into_stream(self) -> io::Result<Stream> {
        Ok(Stream(self))
    }
}

/// The shared form smol's `TcpStream` converts into; it must not be shared
/// any more.
impl IntoStream<AsyncIo> for Arc<Async<TcpStream>> {
    fn into_stream(self) -> io::Result<Stream> {
        Arc::try_unwrap(self).map(Stream).map_err(|_| not_alone())
    }
}

/// async-std's own stream, as it is (it must not be cloned any more).
#[cfg(feature = "async-std")]
impl IntoStream<AsyncIo> for async_std::net::TcpStream {
    fn into_stream(self) -> io::Result<Stream> {
        let stream = TcpStream::try_from(self).map_err(|_| not_alone())?;
        Async::new(stream).map(Stream)
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
