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
//!
//! The API is the same in `netproto-sync` and `netproto-async-std`; see
//! `docs/driver-api.md`. TLS needs the `tls` feature.
//!
//! # Sharing and cancel safety
//!
//! [`TcpClient`] is `Send + Sync` and every method takes `&self`: put it in
//! an `Arc` and one task may wait in `recv_packet` while others send. The
//! receive and send halves each sit behind their own
//! `tokio::sync::Mutex`; with TLS the session is shared through a short
//! lock that is never held across an `.await`. [`TcpClient::close`] from
//! any task wakes pending receives and sends at once with
//! [`Error::Closed`].
//!
//! Every async method documents its cancel safety. In short: a dropped
//! `recv_packet` loses no byte (bytes stay in the endpoint until a whole
//! packet is taken out), and a dropped `send_packet` has queued its packet
//! whole or not at all; the next send, flush or close writes the rest.
//!
//! # Ecosystem
//!
//! [`TcpClient::stream`] and [`TcpClient::sink`] adapt a client to
//! `futures_core::Stream` / `futures_sink::Sink`. With the `codec`
//! feature, `codec::ProtocolCodec` and `codec::FramerCodec` make the core's
//! protocols and framers usable with `tokio_util::codec::Framed`.
//!
//! # Memory
//!
//! Receive buffers are lazy: a drained receive buffer is freed after each
//! packet and before waiting for the socket, and a served connection's task
//! holds only the handler's future once the connection is established. The
//! `idle_connections` example measures an idle served connection (line
//! protocol, one packet exchanged, then waiting in `recv_packet`): about
//! 3.1 KiB of heap and 3.7 KiB resident per connection with 10,000
//! connections; with TLS, rustls' session state brings it to about 12 KiB.

mod client;
#[cfg(feature = "codec")]
pub mod codec;
mod connect;
mod io;
mod server;
mod socket;
mod stream;

pub use client::{IntoTcpStream, TcpClient};
pub use netproto_core::options::{
    Address, CLOSE_FLUSH_TIMEOUT, ClientOptions, ConnectionEvent, HANDLER_STOP_WAIT, IntoAddress,
    RetryPolicy, ServerOptions, WhenFull,
};
#[cfg(feature = "tls")]
pub use netproto_core::tls::{TlsClientConfig, TlsServerConfig};
pub use netproto_core::{self as core, Error, Protocol, StreamProtocol, framing, serializer};
pub use netproto_socket::SocketOptions;
pub use server::{Connection, ShutdownHandle, TcpServer};
pub use stream::{PacketSink, PacketStream};

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn clients_servers_and_handles_are_shareable() {
        type Lines = StreamProtocol<framing::Delimiter, serializer::Utf8>;
        assert_send_sync::<TcpClient<Lines>>();
        assert_send_sync::<TcpServer<Lines>>();
        assert_send_sync::<ShutdownHandle>();
        assert_send_sync::<PacketStream<'static, Lines>>();
        assert_send_sync::<PacketSink<'static, Lines, String>>();
    }
}
