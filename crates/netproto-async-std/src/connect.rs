//! Making a client: resolving, connecting with timeouts and retries, or
//! adopting a stream that is already connected.

use std::io;
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::sync::Arc;

use async_io::{Async, Timer};
use futures_lite::future;
use netproto_core::endpoint::ConnectionSetup;
use netproto_core::options::{Address, ClientOptions, IntoAddress};
use netproto_core::{Error, Protocol};
use netproto_socket::connect::{ConnectAttempts, connect_error, resolve_error};

use crate::client::TcpClient;

impl<P: Protocol> TcpClient<P> {
    /// Connect to `address` with [`ClientOptions::default()`].
    ///
    /// ```no_run
    /// use netproto_async_std::{TcpClient, StreamProtocol};
    /// use netproto_async_std::framing::Delimiter;
    /// use netproto_async_std::serializer::Utf8;
    ///
    /// # async fn run() -> Result<(), netproto_async_std::Error> {
    /// let protocol = StreamProtocol::new(Delimiter::lf(), Utf8);
    /// let client = TcpClient::connect("localhost:9000", protocol).await?;
    /// client.send_packet("hello").await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Cancel safety
    /// Dropping the future abandons the attempt; nothing stays open.
    pub async fn connect(address: impl IntoAddress, protocol: P) -> Result<Self, Error> {
        Self::connect_with(address, protocol, ClientOptions::default()).await
    }

    /// Connect to `address`: resolve it (off the reactor, on `blocking`'s
    /// thread pool), try each resolved address in turn with
    /// `options.connect_timeout` each, retry per `options.retry` (emitting
    /// `ConnectAttemptFailed`), apply nodelay and keep-alive, run the TLS
    /// handshake when `options.tls` is set (within
    /// `options.handshake_timeout`), and emit `Connected`.
    ///
    /// # Errors
    /// [`Error::Resolve`] naming the host, [`Error::ConnectTimeout`],
    /// [`Error::ConnectionRefused`] naming the address, TLS errors;
    /// [`Error::ConnectFailed`] wrapping the last error when more than one
    /// attempt was made.
    ///
    /// # Cancel safety
    /// Dropping the future abandons the attempt; nothing stays open.
    pub async fn connect_with(
        address: impl IntoAddress,
        protocol: P,
        options: ClientOptions,
    ) -> Result<Self, Error> {
        let target = address.into_address()?;
        let socket = connect_socket(&target, &options).await?;
        let setup = ConnectionSetup::client(&options, Some(&target.host));
        TcpClient::establish(socket, protocol, &setup).await
    }

    /// Adopt a connected stream: a `std::net::TcpStream` or an
    /// `async_io::Async<std::net::TcpStream>` (see [`IntoTcpStream`] for
    /// async-std's and smol's own streams). Ownership passes to the client.
    /// Socket options from `options` are applied; with `options.tls` the
    /// handshake runs, checking the certificate against the TLS server name
    /// override or else the peer's IP address.
    ///
    /// # Errors
    /// `Error::Io` with [`io::ErrorKind::NotConnected`] when the stream is
    /// not connected; TLS errors.
    ///
    /// # Cancel safety
    /// Dropping the future (during the TLS handshake) closes the stream.
    pub async fn from_stream(
        stream: impl IntoTcpStream,
        protocol: P,
        options: ClientOptions,
    ) -> Result<Self, Error> {
        let socket = stream
            .into_tcp_stream()
            .map_err(|source| Error::Io { peer: None, source })?;
        TcpClient::establish(socket, protocol, &ConnectionSetup::client(&options, None)).await
    }
}

/// A connected TCP stream that [`TcpClient::from_stream`] can adopt.
///
/// Implemented for `std::net::TcpStream`,
/// `async_io::Async<std::net::TcpStream>` and
/// `Arc<Async<std::net::TcpStream>>` (which must not be shared any more).
/// A runtime's own stream converts first:
///
/// * async-std: `std::net::TcpStream::try_from(stream)?` (fails while a
///   clone of the stream is alive);
/// * smol (`smol::net::TcpStream`, from async-net):
///   `Arc::<Async<std::net::TcpStream>>::from(stream)`, adopted as it is.
///
/// ```no_run
/// # async fn run(stream: std::net::TcpStream) -> Result<(), netproto_async_std::Error> {
/// use netproto_async_std::{ClientOptions, StreamProtocol, TcpClient};
/// use netproto_async_std::framing::Delimiter;
/// use netproto_async_std::serializer::Utf8;
///
/// let protocol = StreamProtocol::new(Delimiter::lf(), Utf8);
/// let client = TcpClient::from_stream(stream, protocol, ClientOptions::default()).await?;
/// # Ok(()) }
/// ```
pub trait IntoTcpStream {
    /// The stream, registered with the async-io reactor.
    fn into_tcp_stream(self) -> io::Result<Async<TcpStream>>;
}

impl IntoTcpStream for TcpStream {
    fn into_tcp_stream(self) -> io::Result<Async<TcpStream>> {
        Async::new(self)
    }
}

impl IntoTcpStream for Async<TcpStream> {
    fn into_tcp_stream(self) -> io::Result<Async<TcpStream>> {
        Ok(self)
    }
}

impl IntoTcpStream for Arc<Async<TcpStream>> {
    fn into_tcp_stream(self) -> io::Result<Async<TcpStream>> {
        Arc::try_unwrap(self).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "cannot adopt a stream that is still shared (drop its clones first)",
            )
        })
    }
}

/// Connect to `target`, following the retry policy.
async fn connect_socket(
    target: &Address,
    options: &ClientOptions,
) -> Result<Async<TcpStream>, Error> {
    let mut attempts = ConnectAttempts::new(target, options);
    loop {
        match connect_once(target, options).await {
            Ok(socket) => return Ok(socket),
            Err(err) => {
                Timer::after(attempts.failed(err)?).await;
            }
        }
    }
}

/// One attempt: resolve, then try each address with the connect timeout.
async fn connect_once(
    target: &Address,
    options: &ClientOptions,
) -> Result<Async<TcpStream>, Error> {
    let timeout = options.connect_timeout;
    let mut last = None;
    for addr in resolve(target).await? {
        let connecting = Async::<TcpStream>::connect(addr);
        let result = match timeout {
            None => connecting.await,
            Some(timeout) => {
                future::or(connecting, async {
                    Timer::after(timeout).await;
                    Err(io::ErrorKind::TimedOut.into())
                })
                .await
            }
        };
        match result {
            Ok(socket) => return Ok(socket),
            Err(err) => last = Some(connect_error(err, addr, target, timeout)),
        }
    }
    Err(last.unwrap_or_else(|| resolve_error(&target.host, io::ErrorKind::NotFound.into())))
}

/// Resolve `target`: an IP address directly, a host name on `blocking`'s
/// thread pool (the system resolver blocks; this is what
/// `smol::net::resolve` does too, and it works under any executor).
pub(crate) async fn resolve(target: &Address) -> Result<Vec<SocketAddr>, Error> {
    if let Ok(ip) = target.host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, target.port)]);
    }
    let target = target.clone();
    blocking::unblock(move || netproto_socket::connect::resolve(&target)).await
}
