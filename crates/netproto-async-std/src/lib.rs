//! netproto's async-std driver — which also runs under smol: typed packets
//! over TCP, TLS and (on Unix) Unix stream sockets, with the same API as `netproto-sync` and
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
//! A server and a client in one process, exchanging text lines:
//!
//! ```
//! use std::time::Duration;
//! use netproto_async_std::framing::Delimiter;
//! use netproto_async_std::serializer::Utf8;
//! use netproto_async_std::{ServerOptions, StreamProtocol, TcpClient, TcpServer};
//!
//! # async_std::task::block_on(async {
//! let protocol = StreamProtocol::new(Delimiter::lf(), Utf8);
//!
//! // A server on a free loopback port that answers every line in upper case.
//! let server = TcpServer::bind("127.0.0.1:0", protocol.clone(), ServerOptions::default()).await?;
//! let address = server.local_addrs()[0];
//! let shutdown = server.shutdown_handle();
//! let serving = async_std::task::spawn(async move {
//!     server
//!         .serve(|conn| async move {
//!             while let Ok(line) = conn.recv_packet().await {
//!                 println!("server got {line:?} from {}", conn.peer_addr());
//!                 if conn.send_packet(&line.to_uppercase()).await.is_err() {
//!                     break;
//!                 }
//!             }
//!         })
//!         .await
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
//! serving.await?;
//! # Ok::<(), netproto_async_std::Error>(())
//! # }).unwrap();
//! ```
//!
//! Under smol, the same code runs with `smol::block_on` and `smol::spawn`
//! in place of async-std's `task::block_on` and `task::spawn`.
//!
//! # One implementation for every async runtime
//!
//! The client and server are `netproto-async`'s, instantiated for
//! [`AsyncIo`]: `netproto-tokio` instantiates the very same code for tokio,
//! so the two bindings have the same names, bounds, return types and
//! behaviour by construction.
//!
//! # Sharing a client between tasks
//!
//! [`TcpClient`] is `Send + Sync` and every method takes `&self`: one task
//! can wait in `recv_packet` while another sends (over TLS too). The
//! connection's state sits behind short locks that are never held across
//! an `.await`. [`TcpClient::close`](netproto_async::TcpClient::close) from
//! any task wakes a pending `recv_packet` at once with [`Error::Closed`].
//!
//! # Cancel safety
//!
//! Every async method is safe to drop mid-way (in a `select`, under a
//! timeout): a dropped `recv_packet` loses no byte — the next call returns
//! the packet intact; a dropped `send_packet` has queued its packet whole or
//! not at all, and the next send, `send_eof` or `close` finishes writing it.
//!
//! # Servers and executors
//!
//! [`TcpServer::serve`](netproto_async::TcpServer::serve) runs each
//! connection as a task of its own, so a server uses every worker thread
//! and one slow handler stalls no other connection. Spawning needs an
//! executor: with the default `async-std` feature the tasks run on
//! async-std's, with the `smol` feature on smol's (`SMOL_THREADS` sets its
//! thread count). Clients need no executor of their own and run under
//! either `block_on`.
//!
//! # Adopting a stream
//!
//! `TcpClient::from_stream` takes a `std::net::TcpStream`, an
//! `async_io::Async<std::net::TcpStream>`, async-std's `TcpStream` (with
//! the `async-std` feature) or smol's (with `smol`), as they are.

#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

mod runtime;

pub use runtime::{AsyncIo, Datagram, Listener, Stream};

pub use netproto_core::addr::{DatagramFamily, PeerAddr, StreamFamily, Tcp, Udp, Unix, UnixAddr};
pub use netproto_core::datagram;
pub use netproto_core::datagram::DatagramServerOptions;
pub use netproto_core::framing;
pub use netproto_core::options::{
    Address, CLOSE_FLUSH_TIMEOUT, ClientOptions, ConnectionEvent, DatagramOptions,
    HANDLER_STOP_WAIT, HAPPY_EYEBALLS_DELAY, IntoAddress, MAX_DATAGRAM_SIZE, Resolver, RetryPolicy,
    ServerOptions, WhenFull,
};
pub use netproto_core::serializer;
#[cfg(feature = "tls")]
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
pub use netproto_core::tls::{TlsClientConfig, TlsServerConfig};
pub use netproto_core::{self as core, Error, Protocol, StreamProtocol};
pub use netproto_socket::SocketOptions;
pub use netproto_socket::datagram::DatagramSocketOptions;
#[cfg(unix)]
#[cfg_attr(docsrs, doc(cfg(unix)))]
pub use netproto_socket::unix::PeerCredentials;

netproto_async::runtime_types!(AsyncIo, "async-io (async-std and smol)");

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}
    fn assert_send<T: Send>(_: &T) {}

    type Lines = StreamProtocol<framing::Delimiter, serializer::Utf8>;

    #[test]
    fn clients_servers_and_handles_are_shareable() {
        assert_send_sync::<TcpClient<Lines>>();
        assert_send_sync::<TcpServer<Lines>>();
        assert_send_sync::<ShutdownHandle>();
    }

    #[allow(dead_code, unused_must_use)]
    fn futures_are_send(client: &TcpClient<Lines>, server: &TcpServer<Lines>) {
        assert_send(&client.recv_packet());
        assert_send(&client.send_packet("x"));
        assert_send(&client.close());
        assert_send(&client.stream());
        assert_send(&server.accept());
        assert_send(&server.serve(|connection| async move { drop(connection) }));
        assert_send(&TcpClient::connect("localhost:1", client_protocol()));
    }

    fn client_protocol() -> Lines {
        StreamProtocol::new(framing::Delimiter::lf(), serializer::Utf8)
    }
}
