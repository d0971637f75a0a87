//! The sans-IO core of netproto.
//!
//! Everything between socket bytes and typed packets lives here, without
//! sockets, clocks or a runtime:
//!
//! ```text
//! socket bytes ─▶ [TLS session] ─▶ receive buffer ─▶ Framer ─▶ frame (Bytes) ─▶ Serializer ─▶ packet
//! packet ─▶ Serializer ─▶ Framer writes into send buffer ─▶ [TLS session] ─▶ socket bytes
//! ```
//!
//! * [`framing`] — cutting a byte stream into frames ([`framing::Framer`]).
//! * [`serializer`] — frames to packets ([`serializer::Serializer`]).
//! * [`protocol`] — a framer plus a serializer, with converters
//!   ([`protocol::Protocol`]).
//! * [`addr`] — addresses of TCP and Unix peers, as errors and events name them.
//! * [`connection`] — the connection engine every driver runs: reads,
//!   writes, deadlines, the close sequence, events and TLS, with the
//!   socket and the clock passed in.
//! * [`datagram`] — datagram sockets (UDP): a protocol without framing
//!   ([`datagram::DatagramProtocol`]), the datagram engine every driver
//!   runs, and a datagram server's per-peer state.
//! * [`endpoint`] — the buffers and framing state the engine is built on,
//!   and the setup of a connection from options.
//! * [`options`] — client and server options shared by every driver.
//! * [`server`] — the server lifecycle every driver runs: admission, the
//!   registry of live connections, accept back-off, the shutdown plan.
#![cfg_attr(feature = "tls", doc = "* [`tls`] — the TLS pump over rustls.")]
//! * [`error`] — errors, split into the peer's fault and the caller's.
//!
//! The drivers (`netproto-sync`, `netproto-tokio`, `netproto-async-std`) only
//! move bytes between a socket and a [`connection::Connection`].
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

pub mod addr;
pub mod connection;
pub mod datagram;
pub mod endpoint;
pub mod error;
pub mod framing;
pub mod options;
pub mod protocol;
pub mod serializer;
pub mod server;
mod sync;
mod trace;

#[cfg(all(test, shuttle))]
mod models;
#[cfg(feature = "tls")]
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
pub mod tls;

pub use error::{DeserializeError, EncodeError, Error, FramingError};
pub use protocol::{Protocol, StreamProtocol};
