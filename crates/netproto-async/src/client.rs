//! [`TcpClient`]: one connection, shareable between tasks.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::{Duration, Instant};

use netproto_core::addr::{StreamFamily, Tcp};
use netproto_core::driver::endpoint::ConnectionSetup;
use netproto_core::options::{ClientOptions, IntoAddress};
use netproto_core::{Error, Protocol};
use netproto_socket::SocketOptions;

use crate::connect;
use crate::io::Shared;
use crate::rt::{AsyncStream, IntoStream, Runtime};

/// A TCP (or TLS) connection that sends `P::Sent` packets and receives
/// `P::Received` packets, on runtime `R`.
///
/// Every method takes `&self`: one task may wait in
/// [`recv_packet`](StreamClient::recv_packet) while another calls
/// [`send_packet`](StreamClient::send_packet) or [`close`](StreamClient::close)
/// — share it with an `Arc` between spawned tasks, or by reference between
/// futures joined in one task. The connection's state lives in the core's
/// engine behind short locks that are never held across an `.await`.
///
/// A served connection ([`Connection`](crate::Connection)) is the same
/// type. Dropping the client closes the connection, writing only what the
/// socket takes without waiting.
///
/// # Cancel safety
///
/// Every async method is safe to drop mid-way (in a `select!`, under a
/// timeout): a dropped `recv_packet` loses no byte — the next call returns
/// the packet intact; a dropped `send_packet` has queued its packet whole
/// or not at all, and the next send, `send_eof`, flush of the sink or
/// `close` finishes writing it.
///
/// `T` is the stream transport: [`Tcp`] (`TcpClient`) or, on Unix,
/// `Unix` (`UnixStreamClient`); only the constructors and the address
/// types differ.
pub struct StreamClient<R: Runtime, P: Protocol, T: StreamFamily = Tcp> {
    pub(crate) shared: Arc<Shared<R, P>>,
    pub(crate) family: PhantomData<T>,
}

/// A TCP (or TLS) client on runtime `R`.
pub type TcpClient<R, P> = StreamClient<R, P, Tcp>;

impl<R: Runtime, P: Protocol> StreamClient<R, P, Tcp> {
    /// Connect to `address` with [`ClientOptions::default()`].
    ///
    /// Cancel safety: dropping the future abandons the attempt; nothing is
    /// left behind.
    pub async fn connect(address: impl IntoAddress, protocol: P) -> Result<Self, Error> {
        Self::connect_with(address, protocol, ClientOptions::default()).await
    }

    /// Connect to `address`: resolve it ([`Error::Resolve`] names the host),
    /// race its addresses as RFC 8305 (Happy Eyeballs v2) does — IPv6
    /// first, the next one after `options.happy_eyeballs_delay`, the losers
    /// dropped — from `options.local_address` when set, all within
    /// `options.connect_timeout` ([`Error::ConnectTimeout`],
    /// [`Error::ConnectionRefused`]), retry per
    /// `options.retry` (emitting `ConnectAttemptFailed`), wrap the last
    /// error in [`Error::ConnectFailed`] when more than one attempt was
    /// made, apply TCP_NODELAY and keep-alive, run the TLS handshake under
    /// `options.handshake_timeout`, and emit `Connected`. A returned client
    /// is connected.
    ///
    /// Cancel safety: dropping the future abandons the attempt; nothing is
    /// left behind.
    pub async fn connect_with(
        address: impl IntoAddress,
        protocol: P,
        options: ClientOptions,
    ) -> Result<Self, Error> {
        let address = address.into_address()?.connectable()?;
        let stream = connect::dial::<R>(&address, &options).await?;
        let setup = ConnectionSetup::client(&options, Some(&address.host));
        Self::establish(stream, protocol, &setup).await
    }

    /// Adopt an already-connected stream — the runtime's own stream types
    /// or a `std::net::TcpStream` (see the binding's `IntoStream`
    /// implementations); ownership passes to the client. A socket that is
    /// not connected is refused with [`Error::Io`] of kind `NotConnected`.
    /// With TLS, the server name is the override in `options.tls` or the
    /// peer's IP address.
    ///
    /// Cancel safety: dropping the future (during the TLS handshake) drops
    /// the stream.
    pub async fn from_stream(
        stream: impl IntoStream<R>,
        protocol: P,
        options: ClientOptions,
    ) -> Result<Self, Error> {
        let stream = stream
            .into_stream()
            .map_err(|source| Error::Io { peer: None, source })?;
        Self::establish(stream, protocol, &ConnectionSetup::client(&options, None)).await
    }
}

impl<R: Runtime, P: Protocol, T: StreamFamily> StreamClient<R, P, T> {
    /// Set up a connected stream: TCP options, the engine, the TLS
    /// handshake (which emits `Connected`).
    pub(crate) async fn establish(
        stream: R::Stream,
        protocol: P,
        setup: &ConnectionSetup,
    ) -> Result<Self, Error> {
        let (peer, local) = SocketOptions::from_sock_ref(stream.sock_ref()).prepare(setup)?;
        let conn = setup.connection(protocol, peer, local)?;
        let shared = Arc::new(Shared::new(conn, stream));
        let mut handshake = shared.conn.handshake(Instant::now());
        shared
            .drive(|io, now| shared.conn.poll_handshake(&mut handshake, io, now))
            .await?;
        Ok(StreamClient {
            shared,
            family: PhantomData,
        })
    }

    /// Send one packet; returns once every byte of it is handed to the
    /// kernel. An [`Error::Encode`] means the packet was refused and nothing
    /// was queued; the connection stays usable.
    ///
    /// Cancel safety: the packet is queued whole or not at all. A future
    /// dropped after queuing leaves the packet's remaining bytes queued;
    /// the next `send_packet`, `send_eof`, flush of the sink or `close`
    /// writes them first, so the byte stream stays intact.
    pub async fn send_packet(&self, packet: &P::Sent) -> Result<(), Error> {
        self.shared.send_packet(packet, None).await
    }

    /// Like [`send_packet`](StreamClient::send_packet), giving up after
    /// `timeout` with [`Error::Timeout`] of kind `Send`: the packet is then
    /// queued whole (the next send, flush or `close` writes the rest) or not
    /// at all, and the connection stays usable.
    ///
    /// Cancel safety: as `send_packet`.
    pub async fn send_packet_timeout(
        &self,
        packet: &P::Sent,
        timeout: Duration,
    ) -> Result<(), Error> {
        self.shared.send_packet(packet, Some(timeout)).await
    }

    /// The next packet. Bytes after it stay buffered for the next call, so
    /// a read that delivered three packets satisfies three calls.
    ///
    /// A frame that fails to deserialize is an error for that packet only
    /// ([`Error::Deserialize`] carries the frame). Errors that end
    /// receiving (reset, bad length header, TLS failure, EOF) are returned
    /// again by every later call. On a served connection with an idle
    /// timeout, a call that does not complete a packet within it fails with
    /// [`Error::Timeout`] of kind `Idle` and closes the connection.
    ///
    /// Cancel safety: **cancel safe.** Every byte read stays in the
    /// engine's buffer until a whole packet is taken out of it.
    pub async fn recv_packet(&self) -> Result<P::Received, Error> {
        self.receive(None).await
    }

    /// Like [`recv_packet`](StreamClient::recv_packet), giving up after
    /// `timeout` with [`Error::Timeout`] of kind `Receive`, which loses
    /// nothing: the next call returns the packet intact.
    /// `Duration::ZERO` returns only what is buffered or readable without
    /// waiting.
    ///
    /// Cancel safety: cancel safe, like `recv_packet`.
    pub async fn recv_packet_timeout(&self, timeout: Duration) -> Result<P::Received, Error> {
        self.receive(Some(timeout)).await
    }

    async fn receive(&self, timeout: Option<Duration>) -> Result<P::Received, Error> {
        let shared = &*self.shared;
        let mut op = shared.conn.recv(Instant::now(), timeout);
        shared
            .drive(|io, now| shared.conn.poll_recv(&mut op, io, now))
            .await
    }

    /// Write anything a cancelled `send_packet` left queued.
    ///
    /// Cancel safety: cancel safe; what is not written yet stays queued.
    pub(crate) async fn flush_pending(&self) -> Result<(), Error> {
        let shared = &*self.shared;
        shared
            .drive(|io, now| shared.conn.poll_flush(io, now))
            .await
    }

    /// Flush, send TLS close_notify, and shut down the write half: the peer
    /// sees the end of the stream. Receiving keeps working; later sends
    /// fail with [`Error::SendAfterEof`]. Calling it twice is harmless.
    ///
    /// Cancel safety: cancel safe; calling it again finishes the job.
    pub async fn send_eof(&self) -> Result<(), Error> {
        let shared = &*self.shared;
        shared
            .drive(|io, now| shared.conn.poll_send_eof(io, now))
            .await
    }

    /// Close the connection: a task waiting in `recv_packet` returns
    /// [`Error::Closed`] at once; what is still queued (a send in progress
    /// or cancelled, the TLS close_notify) is written for at most the close
    /// timeout (`options.close_timeout`, by default [`CLOSE_FLUSH_TIMEOUT`](netproto_core::options::CLOSE_FLUSH_TIMEOUT));
    /// then the socket is shut down and `Disconnected` emitted. Returns
    /// [`Error::Undelivered`] with the number of bytes given up when the
    /// peer did not take them in time. Idempotent: a second call returns
    /// `Ok(())` at once; every later call of another method returns
    /// [`Error::Closed`].
    ///
    /// Cancel safety: the connection is closed (and other tasks woken) as
    /// soon as the future is first polled; dropping it afterwards skips
    /// the rest of the final flush, and dropping the client then shuts the
    /// socket down.
    pub async fn close(&self) -> Result<(), Error> {
        self.shared.close().await
    }

    /// Whether [`close`](StreamClient::close) was called (or the server closed
    /// this connection).
    pub fn is_closed(&self) -> bool {
        self.shared.conn.is_closed()
    }

    /// The local address of the connection.
    pub fn local_addr(&self) -> T::Addr {
        T::addr(self.shared.conn.local_addr())
    }

    /// The peer's address (for a Unix socket, usually unnamed: a client
    /// that did not bind).
    pub fn peer_addr(&self) -> T::Addr {
        T::addr(self.shared.conn.peer_addr())
    }

    /// The socket's options: TCP's nodelay, keep-alive, linger and TTL
    /// (which fail on a Unix socket with the system's error), buffer
    /// sizes, and [`SocketOptions::sock_ref`] (socket2) as the raw escape
    /// hatch.
    pub fn socket(&self) -> SocketOptions<'_> {
        SocketOptions::from_sock_ref(self.shared.socket.0.sock_ref())
    }

    /// The most bytes one socket read asks for.
    pub fn max_recv_size(&self) -> usize {
        self.shared.conn.max_recv_size()
    }
}

impl<R: Runtime, P: Protocol, T: StreamFamily> Drop for StreamClient<R, P, T> {
    fn drop(&mut self) {
        self.shared.conn.abort(&self.shared.socket);
        self.shared.notify_closed();
    }
}

impl<R: Runtime, P: Protocol, T: StreamFamily> fmt::Debug for StreamClient<R, P, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamClient")
            .field("local", &self.local_addr())
            .field("peer", &self.peer_addr())
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

#[cfg(unix)]
mod unix {
    use netproto_core::addr::{Unix, UnixAddr};
    use netproto_socket::unix::{self, PeerCredentials};

    use super::*;
    use crate::io::until_instant;

    /// A Unix stream client on runtime `R` (Unix only).
    #[cfg_attr(docsrs, doc(cfg(unix)))]
    pub type UnixStreamClient<R, P> = StreamClient<R, P, Unix>;

    /// Unix stream sockets (Unix only).
    #[cfg_attr(docsrs, doc(cfg(unix)))]
    impl<R: Runtime, P: Protocol> StreamClient<R, P, Unix> {
        /// Connect to the Unix socket at `address` (a path, or a
        /// [`UnixAddr`] in Linux's abstract namespace) with
        /// [`ClientOptions::default()`].
        pub async fn connect(address: impl Into<UnixAddr>, protocol: P) -> Result<Self, Error> {
            Self::connect_with(address, protocol, ClientOptions::default()).await
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
        ///
        /// Cancel safety: dropping the future abandons the attempt.
        pub async fn connect_with(
            address: impl Into<UnixAddr>,
            protocol: P,
            options: ClientOptions,
        ) -> Result<Self, Error> {
            let address = address.into();
            let stream =
                crate::io::first(async { Some(connect_unix::<R>(&address).await) }, async {
                    let deadline = options
                        .connect_timeout
                        .and_then(|timeout| Instant::now().checked_add(timeout));
                    until_instant::<R>(deadline).await;
                    None
                })
                .await
                .unwrap_or_else(|| {
                    Err(Error::ConnectTimeout {
                        target: address.to_string(),
                        timeout: options.connect_timeout.unwrap_or_default(),
                    })
                })?;
            Self::establish(stream, protocol, &ConnectionSetup::client(&options, None)).await
        }

        /// Adopt an already-connected Unix stream — the runtime's own or a
        /// std `UnixStream` (see the binding's `IntoStream`
        /// implementations); ownership passes to the client. A socket that
        /// is not connected is refused with [`Error::Io`] of kind
        /// `NotConnected`.
        pub async fn from_stream(
            stream: impl IntoStream<R, Unix>,
            protocol: P,
            options: ClientOptions,
        ) -> Result<Self, Error> {
            let stream = stream
                .into_stream()
                .map_err(|source| Error::Io { peer: None, source })?;
            Self::establish(stream, protocol, &ConnectionSetup::client(&options, None)).await
        }

        /// The credentials of the process at the other end (pid, uid,
        /// gid), as the system recorded them when it connected: Linux and
        /// Android; elsewhere an error of kind `Unsupported`.
        pub fn peer_credentials(&self) -> std::io::Result<PeerCredentials> {
            unix::peer_credentials(&*self.shared.socket.0.sock_ref())
        }
    }

    /// Connect a non-blocking Unix socket and wait until the connect is
    /// over.
    async fn connect_unix<R: Runtime>(address: &UnixAddr) -> Result<R::Stream, Error> {
        let peer = netproto_core::addr::PeerAddr::Unix(address.clone());
        let socket = unix::connect_nonblocking(address)?;
        let stream =
            R::connecting_unix(socket.into()).map_err(|err| Error::from_io(err, peer.clone()))?;
        let _ = stream.ready(crate::rt::Interest::Writable).await;
        match stream.sock_ref().take_error() {
            Ok(None) => Ok(stream),
            Ok(Some(err)) | Err(err) => Err(Error::from_io(err, peer)),
        }
    }
}

#[cfg(unix)]
pub use unix::UnixStreamClient;
