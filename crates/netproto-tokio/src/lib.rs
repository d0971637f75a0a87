//! netproto's tokio driver: typed packets over TCP and TLS, with the same
//! API as the blocking driver — only `async`/`.await` differ.
//!
//! ```
//! use netproto_tokio::{ServerOptions, StreamProtocol, TcpClient, TcpServer};
//! use netproto_tokio::framing::Delimiter;
//! use netproto_tokio::serializer::Utf8;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), netproto_tokio::Error> {
//! // A line-based text protocol: UTF-8 strings, one per line.
//! let protocol = StreamProtocol::new(Delimiter::lf(), Utf8);
//!
//! // An echo server on a free loopback port.
//! let server = TcpServer::bind("127.0.0.1:0", protocol.clone(), ServerOptions::default()).await?;
//! let address = server.local_addrs()[0];
//! let shutdown = server.shutdown_handle();
//! let serving = tokio::spawn(async move {
//!     server
//!         .serve(|connection| async move {
//!             while let Ok(line) = connection.recv_packet().await {
//!                 let _ = connection.send_packet(&line.to_uppercase()).await;
//!             }
//!         })
//!         .await
//! });
//!
//! // A client: send a packet, receive the answer.
//! let client = TcpClient::connect(address, protocol).await?;
//! client.send_packet("hello").await?;
//! assert_eq!(client.recv_packet().await?, "HELLO");
//! client.close().await?;
//!
//! shutdown.shutdown(std::time::Duration::from_secs(1));
//! serving.await.unwrap()?;
//! # Ok(())
//! # }
//! ```
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
//! Receive buffers are lazy: a connection waiting for input frees its
//! (empty) receive buffer before it waits, so an idle served connection
//! costs a few hundred bytes of user-space memory, not a 16 KiB buffer. The
//! `idle_connections` example measures it.

mod client;
#[cfg(feature = "codec")]
pub mod codec;
mod connect;
mod io;
mod server;
mod socket;
mod stream;

pub use client::{CLOSE_FLUSH_TIMEOUT, IntoTcpStream, TcpClient};
pub use netproto_core::options::{
    Address, ClientOptions, ConnectionEvent, IntoAddress, RetryPolicy, ServerOptions, WhenFull,
};
#[cfg(feature = "tls")]
pub use netproto_core::tls::{TlsClientConfig, TlsServerConfig};
pub use netproto_core::{self as core, Error, Protocol, StreamProtocol, framing, serializer};
pub use netproto_socket::SocketOptions;
pub use server::{Connection, HANDLER_STOP_WAIT, ShutdownHandle, TcpServer};
pub use stream::{PacketSink, PacketStream};
