//! netproto's tokio driver: typed packets over TCP and TLS on tokio, a
//! task per connection.
//!
//! A server and a client in one process, exchanging text lines:
//!
//! ```
//! use std::time::Duration;
//! use netproto_tokio::framing::Delimiter;
//! use netproto_tokio::serializer::Utf8;
//! use netproto_tokio::{ServerOptions, StreamProtocol, TcpClient, TcpServer};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), netproto_tokio::Error> {
//! let protocol = StreamProtocol::new(Delimiter::lf(), Utf8);
//!
//! // A server on a free loopback port that answers every line in upper case.
//! let server = TcpServer::bind("127.0.0.1:0", protocol.clone(), ServerOptions::default()).await?;
//! let address = server.local_addrs()[0];
//! let shutdown = server.shutdown_handle();
//! let serving = tokio::spawn(async move {
//!     server.serve(|conn| async move {
//!         while let Ok(line) = conn.recv_packet().await {
//!             println!("server got {line:?} from {}", conn.peer_addr());
//!             if conn.send_packet(&line.to_uppercase()).await.is_err() {
//!                 break;
//!             }
//!         }
//!     }).await
//! });
//!
//! let client = TcpClient::connect(address, protocol).await?;
//! client.send_packet("hello").await?;
//! let reply = client.recv_packet_timeout(Duration::from_secs(5)).await?;
//! println!("client got {reply:?}");
//! assert_eq!(reply, "HELLO");
//!
//! client.close().await?;
//! shutdown.shutdown(Duration::from_secs(1));
//! serving.await.unwrap()?;
//! # Ok(())
//! # }
//! ```
//!
//! * [`TcpClient`] connects (timeout, retries, TLS) or adopts a connected
//!   tokio or std `TcpStream`; it is `Send + Sync`, so one task can wait in
//!   `recv_packet` while others send or close it.
//! * [`TcpServer`] binds one or several addresses and serves each
//!   [`Connection`] in its own task, with connection limits, a one-client
//!   mode, an idle timeout and graceful shutdown through a
//!   [`ShutdownHandle`]; [`TcpServer::accept`] is there for your own loop.
//! * On Unix, `UnixStreamClient` and `UnixStreamServer` (serving each
//!   `UnixConnection`): the same API over Unix stream sockets, addressed by
//!   a path or an abstract name ([`UnixAddr`]), with peer credentials and
//!   the socket-file rules of `netproto_socket::unix`. They and the TCP
//!   types are one generic type each ([`StreamClient`], [`StreamServer`])
//!   for the transport ([`Tcp`], [`Unix`]).
//!
//! The API is the same in `netproto-sync` and `netproto-async-std`; see
//! `docs/driver-api.md`. TLS needs the `tls` feature.
//!
//! # One implementation for every async runtime
//!
//! The client and server are `netproto-async`'s, instantiated for
//! [`Tokio`]: `netproto-async-std` instantiates the very same code for
//! async-io, so the two bindings have the same names, bounds, return types
//! and behaviour by construction. Every decision a connection makes lives
//! in the core's connection engine (`netproto_core::driver::connection`).
//!
//! # Sharing and cancel safety
//!
//! [`TcpClient`] is `Send + Sync` and every method takes `&self`: put it in
//! an `Arc` and one task may wait in `recv_packet` while others send. The
//! connection's state sits behind short locks that are never held across
//! an `.await`. [`TcpClient::close`] from any task wakes a pending receive
//! at once with [`Error::Closed`].
//!
//! Every async method documents its cancel safety. In short: a dropped
//! `recv_packet` loses no byte (bytes stay in the engine until a whole
//! packet is taken out), and a dropped `send_packet` has queued its packet
//! whole or not at all; the next send, flush or close writes the rest.
//!
//! # Ecosystem
//!
//! [`TcpClient::stream`](netproto_async::TcpClient::stream) and
//! [`TcpClient::sink`](netproto_async::TcpClient::sink) adapt a client to
//! `futures_core::Stream` / `futures_sink::Sink`. With the `codec`
//! feature, `codec::ProtocolCodec` and `codec::FramerCodec` make the core's
//! protocols and framers usable with `tokio_util::codec::Framed`.
//!
//! # Memory
//!
//! Receive buffers are lazy: the receive buffer is freed whenever a
//! receive waits for the socket with nothing buffered, and a served
//! connection's task holds only the handler's future once the connection
//! is established. The `idle_connections` example measures an idle served
//! connection (line protocol, one packet exchanged, then waiting in
//! `recv_packet`).
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "codec")]
#[cfg_attr(docsrs, doc(cfg(feature = "codec")))]
pub mod codec;
mod runtime;

pub use netproto_core::addr::{DatagramFamily, PeerAddr, StreamFamily, Tcp, Udp, Unix, UnixAddr};
pub use netproto_core::datagram;
pub use netproto_core::datagram::DatagramServerOptions;
pub use netproto_core::options::{
    Address, CLOSE_FLUSH_TIMEOUT, ClientOptions, ConnectionEvent, DatagramOptions,
    HANDLER_STOP_WAIT, HAPPY_EYEBALLS_DELAY, IntoAddress, MAX_DATAGRAM_SIZE, Resolver, RetryPolicy,
    ServerOptions, WhenFull,
};
#[cfg(feature = "tls")]
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
pub use netproto_core::tls::{TlsClientConfig, TlsServerConfig};
pub use netproto_core::{self as core, Error, Protocol, StreamProtocol, framing, serializer};
pub use netproto_socket::SocketOptions;
pub use netproto_socket::datagram::DatagramSocketOptions;
#[cfg(unix)]
#[cfg_attr(docsrs, doc(cfg(unix)))]
pub use netproto_socket::unix::PeerCredentials;
pub use runtime::{Datagram, Listener, Stream, Tokio};

netproto_async::runtime_types!(Tokio, "tokio");

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}
    fn assert_send<T: Send>() {}

    #[test]
    fn clients_servers_and_handles_are_shareable() {
        type Lines = StreamProtocol<framing::Delimiter, serializer::Utf8>;
        assert_send_sync::<TcpClient<Lines>>();
        assert_send_sync::<TcpServer<Lines>>();
        assert_send_sync::<ShutdownHandle>();
        // The adapters move between threads with the task that owns them.
        assert_send::<PacketStream<'static, Lines>>();
        assert_send::<PacketSink<'static, Lines, String>>();
    }
}
