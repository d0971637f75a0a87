//! The blocking client, over TCP or a Unix stream socket.

use std::fmt;
use std::marker::PhantomData;
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use netproto_core::Error;
use netproto_core::addr::{StreamFamily, Tcp};
use netproto_core::driver::InStream;
use netproto_core::driver::endpoint::ConnectionSetup;
use netproto_core::options::{ClientOptions, IntoAddress};
use netproto_core::protocol::Protocol;
use netproto_socket::SocketOptions;
use netproto_socket::socket2::Socket;

use crate::connect::connect_stream;
use crate::inner::{Blocking, Inner};

/// A connection that sends and receives packets of protocol `P`, blocking
/// the calling thread, over the stream transport `T`: [`TcpClient`] (TCP,
/// and TLS over it) or, on Unix, `UnixStreamClient` (a Unix stream socket).
/// Both are this type; only their constructors and address types differ.
///
/// A returned client is connected (and, with TLS, has finished its
/// handshake). It is `Send + Sync` and every method takes `&self`: one thread
/// may block in [`recv_packet`](StreamClient::recv_packet) while another calls
/// [`send_packet`](StreamClient::send_packet) or [`close`](StreamClient::close) —
/// share it with an `Arc`. Dropping the last reference closes it.
///
/// ```
/// use std::io::Write;
/// use netproto_sync::{TcpClient, StreamProtocol, framing::Delimiter, serializer::Utf8};
///
/// // Any line-based server will do; here, a one-shot std listener.
/// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// let address = listener.local_addr()?;
/// let server = std::thread::spawn(move || -> std::io::Result<()> {
///     let (mut stream, _) = listener.accept()?;
///     stream.write_all(b"hi\n")
/// });
///
/// let client = TcpClient::connect(address, StreamProtocol::new(Delimiter::lf(), Utf8))?;
/// assert_eq!(client.recv_packet()?, "hi");
/// server.join().unwrap()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct StreamClient<P: Protocol, T: StreamFamily = Tcp> {
    inner: Arc<Inner<P>>,
    family: PhantomData<T>,
}

/// A TCP (or TLS) connection sending and receiving packets of protocol `P`.
pub type TcpClient<P> = StreamClient<P, Tcp>;

impl<P: Protocol, T: StreamFamily> fmt::Debug for StreamClient<P, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamClient")
            .field("local", &self.local_addr())
            .field("peer", &self.peer_addr())
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl<P: Protocol> StreamClient<P, Tcp> {
    /// Connect to `address` with default [`ClientOptions`].
    pub fn connect(address: impl IntoAddress, protocol: P) -> Result<Self, Error> {
        Self::connect_with(address, protocol, ClientOptions::default())
    }

    /// Connect to `address`: resolve it, race its addresses as RFC 8305
    /// (Happy Eyeballs v2) does — IPv6 first, the next one after
    /// `options.happy_eyeballs_delay`, all within `options.connect_timeout`
    /// — from `options.local_address` when set, retry per `options.retry`, then set
    /// the TCP options and run the TLS handshake when `options.tls` is set.
    ///
    /// Errors: [`Error::Resolve`] naming the host, [`Error::ConnectionRefused`]
    /// naming the address, [`Error::ConnectTimeout`], [`Error::ConnectFailed`]
    /// after several attempts, [`Error::Tls`].
    pub fn connect_with(
        address: impl IntoAddress,
        protocol: P,
        options: ClientOptions,
    ) -> Result<Self, Error> {
        let address = address.into_address()?.connectable()?;
        let stream = connect_stream(&address, &options)?;
        let setup = ConnectionSetup::client(&options, Some(&address.host));
        Self::establish(stream.into(), protocol, &setup)
    }

    /// Adopt an already-connected stream; ownership passes to the client.
    /// With TLS, the server name is the `options.tls` override or the peer's
    /// IP address.
    ///
    /// A stream that is not connected is refused with an I/O error of kind
    /// `NotConnected`.
    pub fn from_stream(
        stream: TcpStream,
        protocol: P,
        options: ClientOptions,
    ) -> Result<Self, Error> {
        Self::establish(
            stream.into(),
            protocol,
            &ConnectionSetup::client(&options, None),
        )
    }
}

impl<P: Protocol, T: StreamFamily> StreamClient<P, T> {
    /// Set up a connected stream: TCP options, endpoint, TLS handshake,
    /// `Connected` event.
    pub(crate) fn establish(
        stream: Socket,
        protocol: P,
        setup: &ConnectionSetup,
    ) -> Result<Self, Error> {
        let (peer, local) = SocketOptions::new(&stream).prepare(setup)?;
        // An adopted stream may have been switched to non-blocking mode.
        stream
            .set_nonblocking(false)
            .map_err(|err| Error::from_io(err, peer.clone()))?;
        let inner = Inner {
            conn: setup.connection(protocol, peer, local)?,
            io: Blocking::new(stream),
        };
        let mut handshake = inner.conn.handshake(Instant::now());
        inner.drive(|io, now| inner.conn.poll_handshake(&mut handshake, io, now))?;
        Ok(StreamClient {
            inner: Arc::new(inner),
            family: PhantomData,
        })
    }

    /// Send one packet; returns once every byte is handed to the kernel.
    ///
    /// An [`Error::Encode`] means the packet cannot be sent (nothing was
    /// queued; the connection is still usable). If the socket has a write
    /// timeout (set through [`socket`](StreamClient::socket)) and it expires,
    /// the error is [`Error::Timeout`] and the packet stays queued whole: the
    /// next send finishes writing it first.
    pub fn send_packet(&self, packet: &P::Sent) -> Result<(), Error> {
        self.inner.send_packet(packet, None)
    }

    /// Like [`send_packet`](StreamClient::send_packet), giving up after
    /// `timeout` with [`Error::Timeout`] of kind `Send`: the packet is then
    /// queued whole (the next send or `close` writes the rest) or not at
    /// all, and the connection stays usable.
    pub fn send_packet_timeout(&self, packet: &P::Sent, timeout: Duration) -> Result<(), Error> {
        self.inner.send_packet(packet, Some(timeout))
    }

    /// The next packet, waiting as long as it takes (or, on a served
    /// connection, the server's idle timeout). Bytes after the packet stay
    /// buffered for the next call.
    pub fn recv_packet(&self) -> Result<P::Received, Error> {
        self.receive(None)
    }

    /// The next packet, waiting at most `timeout`. A timeout
    /// ([`Error::Timeout`]) loses nothing: the next call returns the packet
    /// intact once its bytes have arrived.
    pub fn recv_packet_timeout(&self, timeout: Duration) -> Result<P::Received, Error> {
        self.receive(Some(timeout))
    }

    fn receive(&self, timeout: Option<Duration>) -> Result<P::Received, Error> {
        let inner = &*self.inner;
        let mut op = inner.conn.recv(Instant::now(), timeout);
        inner.drive(|io, now| inner.conn.poll_recv(&mut op, io, now))
    }

    /// The packets that are buffered or arrive within `timeout`, as an
    /// iterator: the timeout is for the *whole* iteration, as in
    /// EasyNetwork (`None`: wait without limit). It ends quietly when the
    /// timeout passes or the peer closes the connection cleanly, and after
    /// yielding any other error that is not recoverable (a served
    /// connection's idle timeout included). `Duration::ZERO` yields only
    /// what is already buffered or readable without waiting.
    pub fn iter_received_packets(
        &self,
        timeout: impl Into<Option<Duration>>,
    ) -> impl Iterator<Item = Result<P::Received, Error>> + '_ {
        let end = timeout
            .into()
            .and_then(|timeout| Instant::now().checked_add(timeout));
        let mut ended = false;
        std::iter::from_fn(move || {
            if ended {
                return None;
            }
            let received = match end {
                Some(end) => {
                    self.recv_packet_timeout(end.saturating_duration_since(Instant::now()))
                }
                _ => self.recv_packet(),
            };
            InStream::item(received, true, &mut ended)
        })
    }

    /// Flush, send TLS close_notify, and shut down the write half.
    /// Receiving keeps working; later sends fail with [`Error::SendAfterEof`].
    pub fn send_eof(&self) -> Result<(), Error> {
        let inner = &*self.inner;
        inner.drive(|io, now| inner.conn.poll_send_eof(io, now))
    }

    /// Close the connection: a `recv_packet` blocked in another thread
    /// returns [`Error::Closed`] at once; what is still queued — a
    /// `send_packet` in progress in another thread, the TLS close_notify —
    /// is written for at most the close timeout (`options.close_timeout`, by
    /// default [`CLOSE_FLUSH_TIMEOUT`]; a send still blocked
    /// on a peer that does not read then returns [`Error::Closed`]); then
    /// the socket is shut down and [`ConnectionEvent::Disconnected`]
    /// emitted. Returns [`Error::Undelivered`] with the number of bytes
    /// given up when the peer did not take them in time. Idempotent: a
    /// second call returns `Ok(())` at once; every later call of another
    /// method returns [`Error::Closed`]. Dropping the last reference closes
    /// it too, writing only what the socket takes without waiting.
    ///
    /// [`CLOSE_FLUSH_TIMEOUT`]: crate::CLOSE_FLUSH_TIMEOUT
    /// [`ConnectionEvent::Disconnected`]: crate::ConnectionEvent::Disconnected
    pub fn close(&self) -> Result<(), Error> {
        self.inner.close()
    }

    /// Whether [`close`](StreamClient::close) was called (or a server closed
    /// this connection).
    pub fn is_closed(&self) -> bool {
        self.inner.conn.is_closed()
    }

    /// The local address.
    pub fn local_addr(&self) -> T::Addr {
        T::addr(self.inner.conn.local_addr())
    }

    /// The peer's address (for a Unix socket, usually unnamed: a client
    /// that did not bind).
    pub fn peer_addr(&self) -> T::Addr {
        T::addr(self.inner.conn.peer_addr())
    }

    /// Options of the socket (TCP: nodelay, keep-alive, linger, TTL; any
    /// socket: buffer sizes; `sock_ref()` for anything else). TCP options
    /// fail on a Unix socket with the system's error.
    pub fn socket(&self) -> SocketOptions<'_> {
        SocketOptions::new(&self.inner.io.stream)
    }

    /// The most bytes one read asks for.
    pub fn max_recv_size(&self) -> usize {
        self.inner.conn.max_recv_size()
    }

    /// The connection's shared state (for the server's bookkeeping).
    pub(crate) fn inner(&self) -> &Arc<Inner<P>> {
        &self.inner
    }
}

#[cfg(unix)]
mod unix {
    use std::os::unix::net::UnixStream;

    use netproto_core::addr::{Unix, UnixAddr};
    use netproto_socket::unix::{self, PeerCredentials};

    use super::*;

    /// A Unix stream connection sending and receiving packets of protocol
    /// `P` (Unix only).
    #[cfg_attr(docsrs, doc(cfg(unix)))]
    pub type UnixStreamClient<P> = StreamClient<P, Unix>;

    /// Unix stream sockets (Unix only).
    #[cfg_attr(docsrs, doc(cfg(unix)))]
    impl<P: Protocol> StreamClient<P, Unix> {
        /// Connect to the Unix socket at `address` (a path, or a
        /// [`UnixAddr`] in Linux's abstract namespace) with default
        /// [`ClientOptions`].
        pub fn connect(address: impl Into<UnixAddr>, protocol: P) -> Result<Self, Error> {
            Self::connect_with(address, protocol, ClientOptions::default())
        }

        /// Connect to the Unix socket at `address` within
        /// `options.connect_timeout`, then run the TLS handshake when
        /// `options.tls` is set (its `server_name` names the certificate to
        /// expect: a Unix socket has no host name). `local_address`,
        /// `retry`, the resolver and the TCP options are for TCP.
        ///
        /// Errors: [`Error::Config`] for a path longer than `sun_path`
        /// takes (naming the path and the limit), [`Error::Io`] of kind
        /// `NotFound` naming the path, [`Error::ConnectionRefused`] when
        /// nothing listens there, [`Error::ConnectTimeout`], [`Error::Tls`].
        pub fn connect_with(
            address: impl Into<UnixAddr>,
            protocol: P,
            options: ClientOptions,
        ) -> Result<Self, Error> {
            let socket = unix::connect(&address.into(), options.connect_timeout)?;
            Self::establish(socket, protocol, &ConnectionSetup::client(&options, None))
        }

        /// Adopt an already-connected std `UnixStream`; ownership passes to
        /// the client. A stream that is not connected is refused with an
        /// I/O error of kind `NotConnected`.
        pub fn from_stream(
            stream: UnixStream,
            protocol: P,
            options: ClientOptions,
        ) -> Result<Self, Error> {
            Self::establish(
                stream.into(),
                protocol,
                &ConnectionSetup::client(&options, None),
            )
        }

        /// The credentials of the process at the other end (pid, uid,
        /// gid), as the system recorded them when it connected: Linux and
        /// Android; elsewhere an error of kind `Unsupported`.
        pub fn peer_credentials(&self) -> std::io::Result<PeerCredentials> {
            unix::peer_credentials(&self.inner.io.stream)
        }
    }
}

#[cfg(unix)]
pub use unix::UnixStreamClient;
