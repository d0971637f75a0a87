//! netproto's async-std driver — which also runs under smol: typed packets
//! over TCP and TLS, with the same API as `netproto-sync` and
//! `netproto-tokio` (only `async`/`.await` differ).
//!
//! **async-std is discontinued upstream** (RUSTSEC-2025-0052 recommends
//! smol instead). This crate exists because users asked for it, and it is
//! built so that leaving async-std costs nothing: it uses only what
//! async-std and smol share — the `async-io` reactor and timers
//! (`async_io::Async<std::net::TcpStream>`, `async_io::Timer`),
//! `async-lock`, `blocking` for name resolution, and the futures traits —
//! and never async-std's own types. The same client and server run from
//! `async_std::task::block_on` / `#[async_std::main]` and from
//! `smol::block_on` / `smol::spawn`, unchanged. New projects should prefer
//! smol (or tokio, with `netproto-tokio`).
//!
//! ```no_run
//! use netproto_async_std::{ServerOptions, StreamProtocol, TcpClient, TcpServer};
//! use netproto_async_std::framing::Delimiter;
//! use netproto_async_std::serializer::Utf8;
//!
//! # async fn run() -> Result<(), netproto_async_std::Error> {
//! // Lines of UTF-8 text.
//! let protocol = StreamProtocol::new(Delimiter::lf(), Utf8);
//!
//! // An echo server.
//! let server = TcpServer::bind("127.0.0.1:0", protocol.clone(), ServerOptions::default()).await?;
//! let address = server.local_addrs()[0];
//! let serving = async {
//!     server
//!         .serve(|connection| async move {
//!             while let Ok(line) = connection.recv_packet().await {
//!                 if connection.send_packet(&line).await.is_err() {
//!                     break;
//!                 }
//!             }
//!         })
//!         .await
//! };
//!
//! // A client.
//! let talking = async {
//!     let client = TcpClient::connect(address, protocol).await?;
//!     client.send_packet("hello").await?;
//!     assert_eq!(client.recv_packet().await?, "hello");
//!     server.shutdown_handle().shutdown(std::time::Duration::from_secs(1));
//!     Ok::<_, netproto_async_std::Error>(())
//! };
//! let (served, talked) = futures_lite::future::zip(serving, talking).await;
//! served?;
//! talked?;
//! # Ok(()) }
//! # fn main() {
//! // Under async-std:
//! async_std::task::block_on(run()).unwrap();
//! // or under smol:
//! smol::block_on(run()).unwrap();
//! # }
//! ```
//!
//! # Sharing a client between tasks
//!
//! [`TcpClient`] is `Send + Sync` and every method takes `&self`: one task
//! can wait in `recv_packet` while another sends (over TLS too). Receiving
//! and sending sit behind separate async locks; the TLS session's own lock
//! is held only for in-memory work. [`TcpClient::close`] from any task
//! wakes a pending `recv_packet` at once with [`Error::Closed`].
//!
//! # Cancel safety
//!
//! Every async method is safe to drop mid-way (in a `select`, under a
//! timeout): a dropped `recv_packet` loses no byte — the next call returns
//! the packet intact; a dropped `send_packet` has queued its packet whole or
//! not at all, and the next send, `send_eof` or `close` finishes writing it.
//!
//! # Streams and sinks
//!
//! [`TcpClient::stream`] and [`TcpClient::sink`] adapt a client to
//! `futures_core::Stream` and `futures_sink::Sink`, borrowing it so that
//! the client stays shareable; [`TcpClient::iter_received_packets`] is the
//! bounded-wait stream every driver has.
//!
//! # Servers and executors
//!
//! [`TcpServer::serve`] runs each connection as a task inside the future
//! it returns, so it works under any executor; see
//! [How connections run](TcpServer#how-connections-run) for running
//! connections on several threads.
//!
//! # Adopting a stream
//!
//! [`TcpClient::from_stream`] takes a `std::net::TcpStream` or an
//! `async_io::Async<std::net::TcpStream>`; [`AdoptStream`] shows how
//! async-std's and smol's streams convert.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod client;
mod connect;
mod io;
mod server;
mod shutdown;
mod stream;

pub use client::{Connection, TcpClient};
pub use connect::AdoptStream;
pub use server::TcpServer;
pub use shutdown::ShutdownHandle;
pub use stream::{PacketSink, PacketStream};

pub use netproto_core::framing;
pub use netproto_core::options::{
    Address, ClientOptions, ConnectionEvent, IntoAddress, RetryPolicy, ServerOptions, WhenFull,
};
pub use netproto_core::serializer;
#[cfg(feature = "tls")]
pub use netproto_core::tls::{TlsClientConfig, TlsServerConfig};
pub use netproto_core::{self as core, Error, Protocol, StreamProtocol};
pub use netproto_socket::SocketOptions;
