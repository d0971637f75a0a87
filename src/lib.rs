//! # netproto — typed packets over TCP and TLS
//!
//! Pick a **protocol** (how a byte stream is cut into frames, and how a frame
//! becomes a value) and a **runtime** (blocking `std`, tokio, or async-std /
//! smol): you get a client and a server whose API is the same whichever
//! runtime you picked — only `async`/`.await` differ.
//!
//! ## The path of the data
//!
//! ```text
//! socket bytes ─▶ [TLS session] ─▶ receive buffer ─▶ Framer ─▶ frame (Bytes) ─▶ Serializer ─▶ packet ─▶ you
//! you ─▶ packet ─▶ Serializer ─▶ Framer writes into send buffer ─▶ [TLS session] ─▶ socket bytes
//! ```
//!
//! Everything right of "socket bytes" is the sans-IO [`core`]: [`framing`],
//! [`serializer`]s, [`protocol`]s with converters, the connection engine
//! (`core::driver::connection`, which decides everything a connection does) and
//! the TLS pump. It never touches a socket, a
//! clock or a runtime; the drivers only move bytes between a socket and the
//! core, so every runtime behaves the same: a receive that times out (or an
//! async receive that is cancelled) loses nothing, a frame that does not
//! deserialize is an error for that packet only, an oversized frame is
//! refused before anything of its claimed size is allocated.
//!
//! ## Features
//!
//! | feature | what it adds |
//! |---|---|
//! | `sync` (default) | `netproto::sync`: blocking clients and servers on `std::net`, a thread per connection |
//! | `tokio` | `netproto::tokio`: the same API on tokio, plus `Stream`/`Sink` adapters |
//! | `async-std` | `netproto::async_std`: the same API on async-io, under async-std's or smol's executor; served connections run on async-std's executor (async-std itself is discontinued upstream; smol is the way on) |
//! | `smol` | `netproto::async_std` with served connections on smol's executor |
//! | `tls` | TLS 1.2/1.3 over rustls (ring provider) in every enabled driver |
//! | `json` (default), `cbor`, `msgpack` | serializers for those formats, typed with serde or dynamic |
//! | `base64`, `checksum`, `compression`, `bzip2`, `fernet` | wrappers around any serializer (base64, with SHA-256/HMAC checksums; zlib and gzip; bzip2; Fernet encryption) |
//!
//! These docs are built with every feature on; an item that needs one says
//! which ("Available on crate feature … only").
//!
//! Framers (always there): delimiter (LF, CR, CRLF, any byte string), length
//! prefix (1/2/4/8 bytes either endianness, or a LEB128 varint), fixed size,
//! raw chunks, and JSON documents without separators. Serializers without a
//! feature: raw bytes, UTF-8, ASCII and Latin-1 text, fixed-layout binary
//! structs, and `Stapled` (one serializer each way).
//!
//! ## A first client and server, blocking (`sync`)
//!
//! ```
//! # #[cfg(feature = "sync")] {
//! use netproto::StreamProtocol;
//! use netproto::framing::Delimiter;
//! use netproto::serializer::Utf8;
//! use netproto::sync::{ServerOptions, TcpClient, TcpServer};
//!
//! // UTF-8 text, one packet per line.
//! let protocol = StreamProtocol::new(Delimiter::lf(), Utf8);
//!
//! // A server on a free loopback port, a thread per connection.
//! let server = TcpServer::bind("127.0.0.1:0", protocol.clone(), ServerOptions::default())?;
//! let address = server.local_addrs()[0];
//! std::thread::spawn(move || {
//!     server.serve(|conn| {
//!         while let Ok(line) = conn.recv_packet() {
//!             let _ = conn.send_packet(&line.to_uppercase());
//!         }
//!     })
//! });
//!
//! // A client: connected when `connect` returns.
//! let client = TcpClient::connect(address, protocol)?;
//! client.send_packet("hello")?;
//! assert_eq!(client.recv_packet()?, "HELLO");
//! # }
//! # Ok::<(), netproto::Error>(())
//! ```
//!
//! ## The same on tokio (`tokio`)
//!
//! ```
//! # #[cfg(feature = "tokio")]
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use netproto::StreamProtocol;
//! use netproto::framing::Delimiter;
//! use netproto::serializer::Utf8;
//! use netproto::tokio::{ServerOptions, TcpClient, TcpServer};
//!
//! let protocol = StreamProtocol::new(Delimiter::lf(), Utf8);
//!
//! // A task per connection.
//! let server = TcpServer::bind("127.0.0.1:0", protocol.clone(), ServerOptions::default()).await?;
//! let address = server.local_addrs()[0];
//! tokio::spawn(async move {
//!     server
//!         .serve(|conn| async move {
//!             while let Ok(line) = conn.recv_packet().await {
//!                 let _ = conn.send_packet(&line.to_uppercase()).await;
//!             }
//!         })
//!         .await
//! });
//!
//! let client = TcpClient::connect(address, protocol).await?;
//! client.send_packet("hello").await?;
//! assert_eq!(client.recv_packet().await?, "HELLO");
//! # Ok::<(), netproto::Error>(())
//! # }).unwrap();
//! ```
//!
//! ## The same on async-std or smol (`async-std`)
//!
//! ```
//! # #[cfg(feature = "async-std")]
//! # async_std::task::block_on(async {
//! use netproto::StreamProtocol;
//! use netproto::framing::Delimiter;
//! use netproto::serializer::Utf8;
//! use netproto::async_std::{ServerOptions, TcpClient, TcpServer};
//!
//! let protocol = StreamProtocol::new(Delimiter::lf(), Utf8);
//!
//! let server = TcpServer::bind("127.0.0.1:0", protocol.clone(), ServerOptions::default()).await?;
//! let address = server.local_addrs()[0];
//! // `serve` runs each connection as a task on async-std's executor (on
//! // smol's with the `smol` feature).
//! async_std::task::spawn(async move {
//!     server
//!         .serve(|conn| async move {
//!             while let Ok(line) = conn.recv_packet().await {
//!                 let _ = conn.send_packet(&line.to_uppercase()).await;
//!             }
//!         })
//!         .await
//! });
//!
//! let client = TcpClient::connect(address, protocol).await?;
//! client.send_packet("hello").await?;
//! assert_eq!(client.recv_packet().await?, "HELLO");
//! # Ok::<(), netproto::Error>(())
//! # }).unwrap();
//! ```
//!
//! ## Where to go next
//!
//! * The `examples/` directory: complete programs, each run by a test
//!   (`cargo run --example NAME`; those for tokio, async-std or TLS need
//!   `--features tokio`, `async-std` or `tls`):
//!
//!   | example | what it shows |
//!   |---|---|
//!   | `quickstart` | typed JSON requests and replies, server and client in one process |
//!   | `echo_server`, `echo_client` | the classic pair: raw byte chunks, `serve` and `accept`; also `_tokio` and `_async_std` versions |
//!   | `json_request_response` | a 4-byte big-endian length prefix and JSON, typed with serde |
//!   | `interactive_client` | a REPL against any line server, with a receive timeout |
//!   | `file_transfer` | name, 8-byte size and contents streamed; progress bar; checksum |
//!   | `resilient_client` | retries with back-off, reported through the event callback |
//!   | `tls_echo` | the echo pair over TLS, generated or real certificates |
//!   | `mock_controller` | a one-client server with CRLF text commands, a converter, events |
//!   | `binary_telemetry` | fixed-layout binary structs (`binary_struct!`) |
//!   | `connection_info` | a callback per connection, local and remote addresses, exact reads |
//!   | `udp_key_value` | a key-value service over UDP: a handler per client, requests asked again when lost |
//!
//! * [`framing`] for the wire formats, [`serializer`] for packet formats,
//!   [`protocol`] for converters (`map_sent`, `try_map_received`),
//!   [`datagram`] for UDP and Unix datagrams (`DatagramProtocol`,
//!   `DatagramServerOptions`; each driver's `UdpClient`, `UdpEndpoint`
//!   and `UdpServer`, and on Unix `UnixDatagramClient`,
//!   `UnixDatagramEndpoint` and `UnixDatagramServer`),
//!   [`options`] for timeouts, retries, server limits and connection
//!   events, and [`Error`] for what can go wrong and whose fault it is.
//! * `docs/driver-api.md` in the repository: every method of the client
//!   and the server, identical in the three drivers.
//!
//! ## What is public here
//!
//! Everything a user needs is at the top of this crate and of each
//! runtime's module: clients, servers, options, protocols, [`addr`]esses,
//! [`error`]s. [`core`] is the whole sans-IO crate, including
//! `core::driver`, the interface netproto's drivers are built on (the
//! connection and datagram engines, the server lifecycle): users do not
//! need it, and it has its own stability note.
//!
//! ## TLS and rustls (`tls`)
//!
//! TLS is configured with `tls::TlsClientConfig` and `tls::TlsServerConfig`,
//! also re-exported by every runtime's module. rustls is re-exported whole
//! as `tls::rustls`, and netproto's version is tied to rustls 0.23: moving
//! to a rustls with a breaking version is a breaking netproto release. The
//! configurations take and give rustls types (root stores, certificates,
//! `Arc<rustls::ClientConfig>`), so that version is part of the API anyway;
//! the re-export lets you name exactly the rustls netproto was built with
//! (or depend on rustls 0.23 yourself: Cargo unifies the two).
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub use netproto_core as core;
pub use netproto_core::{
    DeserializeError, EncodeError, Error, FramingError, Protocol, StreamProtocol, addr, datagram,
    error, framing, options, protocol, serializer,
};

#[cfg(feature = "tls")]
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
pub use netproto_core::tls;

#[cfg(feature = "sync")]
#[cfg_attr(docsrs, doc(cfg(feature = "sync")))]
pub use netproto_sync as sync;

#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub use netproto_tokio as tokio;

#[cfg(any(feature = "async-std", feature = "smol"))]
#[cfg_attr(docsrs, doc(cfg(any(feature = "async-std", feature = "smol"))))]
pub use netproto_async_std as async_std;
