//! The client (and served connection) type: construction, addresses,
//! closing. Sending and receiving live in `io.rs`.

use std::fmt;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use netproto_core::endpoint::{ConnectionEvents, ConnectionSetup, RecvHalf, SendHalf};
use netproto_core::options::{CLOSE_FLUSH_TIMEOUT, ClientOptions, IntoAddress};
use netproto_core::{Error, Protocol};
use netproto_socket::SocketOptions;
use tokio::net::TcpStream;
use tokio::sync::{Mutex, Notify};

use crate::{connect, socket};

/// A TCP (or TLS) connection that sends and receives packets of protocol
/// `P` on tokio.
///
/// Every method takes `&self`: one task may wait in
/// [`recv_packet`](TcpClient::recv_packet) while another calls
/// [`send_packet`](TcpClient::send_packet) (share the client with an `Arc`).
/// Receiving and sending each have their own `tokio::sync::Mutex`; the TLS
/// session inside the endpoint has its own short lock that is never held
/// across an `.await`.
///
/// A served connection ([`Connection`](crate::Connection)) is the same type.
///
/// ```no_run
/// use netproto_tokio::{TcpClient, StreamProtocol};
/// use netproto_tokio::framing::Delimiter;
/// use netproto_tokio::serializer::Utf8;
///
/// # async fn run() -> Result<(), netproto_tokio::Error> {
/// let client = TcpClient::connect("localhost:9000", StreamProtocol::new(Delimiter::lf(), Utf8)).await?;
/// client.send_packet("hello").await?;
/// let reply: String = client.recv_packet().await?;
/// # Ok(())
/// # }
/// ```
pub struct TcpClient<P: Protocol> {
    pub(crate) shared: Arc<Shared>,
    pub(crate) recv: Mutex<RecvHalf<P>>,
    pub(crate) send: Mutex<Sender<P>>,
    pub(crate) idle_timeout: Option<Duration>,
    max_recv_size: usize,
    local: SocketAddr,
}

/// The send half with the driver's own state.
pub(crate) struct Sender<P: Protocol> {
    pub(crate) half: SendHalf<P>,
    /// Whether the socket's write half is shut down.
    pub(crate) shut: bool,
}

/// What the server keeps of a connection (to force it closed) and what the
/// two halves share.
pub(crate) struct Shared {
    pub(crate) stream: TcpStream,
    pub(crate) peer: SocketAddr,
    closed: AtomicBool,
    wake: Notify,
    pub(crate) events: ConnectionEvents,
}

impl Shared {
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    pub(crate) fn wake(&self) -> &Notify {
        &self.wake
    }

    /// Mark the connection closed and wake every waiting task; false if it
    /// was closed already. A task waiting for the socket to be readable is
    /// woken by shutting the read half down (sending still works, for
    /// `close`'s final flush); the others by the close signal.
    pub(crate) fn begin_close(&self) -> bool {
        if self.closed.swap(true, Ordering::AcqRel) {
            return false;
        }
        netproto_socket::stop_reading(&self.stream);
        self.wake.notify_waiters();
        true
    }

    /// Shut the socket down and report the disconnection.
    pub(crate) fn finish_close(&self) {
        let _ = socket::shutdown(&self.stream, Shutdown::Both);
        self.events.disconnected();
    }

    /// Close at once, without writing what is queued (server shutdown,
    /// idle timeout).
    pub(crate) fn force_close(&self) {
        if self.begin_close() {
            self.finish_close();
        }
    }

    /// Close at once, reporting `reason` in the `Disconnected` event.
    pub(crate) fn close_because(&self, reason: &str) {
        self.events.note_reason(reason);
        self.force_close();
    }
}

/// A stream a client can adopt: a tokio `TcpStream` or a connected
/// `std::net::TcpStream` (made non-blocking and registered with the
/// current runtime).
pub trait IntoTcpStream {
    /// The tokio stream.
    fn into_tcp_stream(self) -> io::Result<TcpStream>;
}

impl IntoTcpStream for TcpStream {
    fn into_tcp_stream(self) -> io::Result<TcpStream> {
        Ok(self)
    }
}

impl IntoTcpStream for std::net::TcpStream {
    fn into_tcp_stream(self) -> io::Result<TcpStream> {
        self.set_nonblocking(true)?;
        TcpStream::from_std(self)
    }
}

impl<P: Protocol> TcpClient<P> {
    /// Connect to `address` with [`ClientOptions::default()`].
    ///
    /// Cancel safety: dropping the future abandons the attempt; nothing is
    /// left behind.
    pub async fn connect(address: impl IntoAddress, protocol: P) -> Result<Self, Error> {
        Self::connect_with(address, protocol, ClientOptions::default()).await
    }

    /// Connect to `address`: resolve it ([`Error::Resolve`] names the host),
    /// try every resolved address in turn under `options.connect_timeout`
    /// ([`Error::ConnectTimeout`], [`Error::ConnectionRefused`]), retry per
    /// `options.retry` (emitting [`ConnectionEvent::ConnectAttemptFailed`]),
    /// wrap the last error in [`Error::ConnectFailed`] when more than one
    /// attempt was made, apply TCP_NODELAY and keep-alive, run the TLS
    /// handshake under `options.handshake_timeout`, and emit
    /// [`ConnectionEvent::Connected`]. A returned client is connected.
    ///
    /// [`ConnectionEvent::ConnectAttemptFailed`]: crate::ConnectionEvent::ConnectAttemptFailed
    /// [`ConnectionEvent::Connected`]: crate::ConnectionEvent::Connected
    ///
    /// Cancel safety: dropping the future abandons the attempt; nothing is
    /// left behind.
    pub async fn connect_with(
        address: impl IntoAddress,
        protocol: P,
        options: ClientOptions,
    ) -> Result<Self, Error> {
        let address = address.into_address()?;
        let stream = connect::dial(&address, &options).await?;
        let setup = ConnectionSetup::client(&options, Some(&address.host));
        Self::establish(stream, protocol, &setup).await
    }

    /// Adopt an already-connected stream (a tokio or a std `TcpStream`);
    /// ownership passes to the client. A socket that is not connected is
    /// refused with [`Error::Io`] of kind `NotConnected`. With TLS, the
    /// server name is the override in `options.tls` or the peer's IP
    /// address.
    ///
    /// Cancel safety: dropping the future (during the TLS handshake) drops
    /// the stream.
    pub async fn from_stream(
        stream: impl IntoTcpStream,
        protocol: P,
        options: ClientOptions,
    ) -> Result<Self, Error> {
        let stream = stream
            .into_tcp_stream()
            .map_err(|source| Error::Io { peer: None, source })?;
        Self::establish(stream, protocol, &ConnectionSetup::client(&options, None)).await
    }

    /// Wrap a connected stream, run the TLS handshake if any, and emit
    /// `Connected`.
    pub(crate) async fn establish(
        stream: TcpStream,
        protocol: P,
        setup: &ConnectionSetup,
    ) -> Result<Self, Error> {
        let (peer, local) = SocketOptions::new(&stream).prepare(setup)?;
        let endpoint = setup.endpoint(protocol, peer)?;
        let (recv, send) = endpoint.split();
        let handshaking = send.is_handshaking();
        let client = TcpClient {
            shared: Arc::new(Shared {
                stream,
                peer,
                closed: AtomicBool::new(false),
                wake: Notify::new(),
                events: setup.events(peer),
            }),
            recv: Mutex::new(recv),
            send: Mutex::new(Sender {
                half: send,
                shut: false,
            }),
            idle_timeout: setup.idle_timeout(),
            max_recv_size: setup.endpoint_config().max_recv_size,
            local,
        };
        if handshaking {
            let handshake = client.handshake();
            match setup.handshake_timeout() {
                Some(timeout) => tokio::time::timeout(timeout, handshake)
                    .await
                    .map_err(|_| ConnectionSetup::handshake_timed_out(timeout))??,
                None => handshake.await?,
            }
        }
        client.shared.events.connected(local);
        Ok(client)
    }

    /// Close the connection: wake any task waiting in `recv_packet` or
    /// `send_packet` at once with [`Error::Closed`], write what is still
    /// queued (a cancelled send, TLS close_notify) for at most
    /// [`CLOSE_FLUSH_TIMEOUT`], shut the socket down and emit
    /// [`ConnectionEvent::Disconnected`]. Idempotent; every later call of
    /// any other method returns [`Error::Closed`]. Dropping the client
    /// closes it too (writing only what the socket takes without waiting).
    ///
    /// [`ConnectionEvent::Disconnected`]: crate::ConnectionEvent::Disconnected
    ///
    /// Cancel safety: the connection is closed (and other tasks woken) as
    /// soon as the future is first polled; dropping it afterwards only
    /// skips the rest of the final flush — the socket is still shut down
    /// when the client is dropped.
    pub async fn close(&self) -> Result<(), Error> {
        if !self.shared.begin_close() {
            return Ok(());
        }
        let flush = async {
            let mut send = self.send.lock().await;
            self.finish_sending(&mut send).await
        };
        let _ = tokio::time::timeout(CLOSE_FLUSH_TIMEOUT, flush).await;
        self.shared.finish_close();
        Ok(())
    }

    /// Whether [`close`](TcpClient::close) was called (or the server closed
    /// this connection).
    pub fn is_closed(&self) -> bool {
        self.shared.is_closed()
    }

    /// The local address of the connection.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.shared.peer
    }

    /// The socket's TCP options: nodelay, keep-alive, linger, buffer
    /// sizes, TTL, and [`SocketOptions::sock_ref`] (socket2) as the raw
    /// escape hatch.
    pub fn socket(&self) -> SocketOptions<'_> {
        SocketOptions::new(&self.shared.stream)
    }

    /// The most bytes one socket read asks for.
    pub fn max_recv_size(&self) -> usize {
        self.max_recv_size
    }
}

impl<P: Protocol> Drop for TcpClient<P> {
    fn drop(&mut self) {
        if self.shared.begin_close() {
            let send = self.send.get_mut();
            send.half.push_eof();
            let _ = crate::io::write_nowait(&self.shared.stream, &mut send.half);
            self.shared.finish_close();
        }
    }
}

impl<P: Protocol> fmt::Debug for TcpClient<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpClient")
            .field("local", &self.local)
            .field("peer", &self.shared.peer)
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}
