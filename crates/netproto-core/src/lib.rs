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
//! * [`datagram`] — datagram sockets (UDP): a protocol without framing
//!   ([`datagram::DatagramProtocol`]) and a datagram server's options.
//! * [`options`] — client and server options shared by every driver.
#![cfg_attr(
    feature = "tls",
    doc = "* [`tls`] — TLS client and server configurations (rustls, re-exported as [`tls::rustls`])."
)]
//! * [`error`] — errors, split into the peer's fault and the caller's.
//! * [`driver`] — the driver interface: the connection engine, the
//!   datagram engine and the server lifecycle every driver runs, with its
//!   own stability note. Users of netproto do not need it.
//!
//! The drivers (`netproto-sync`, `netproto-tokio`, `netproto-async-std`) only
//! move bytes between a socket and the core's connection engine
//! ([`driver::connection::Connection`]).
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

pub mod addr;
pub mod datagram;
pub mod driver;
pub mod error;
pub mod framing;
pub mod options;
pub mod protocol;
pub mod serializer;
mod sync;
mod trace;

#[cfg(all(test, shuttle))]
mod models;
#[cfg(feature = "tls")]
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
pub mod tls;

// The engines live in `driver`; the core's own code names them by their
// old short paths.
pub(crate) use driver::{connection, endpoint, server};

pub use error::{DeserializeError, EncodeError, Error, FramingError};
pub use protocol::{Protocol, StreamProtocol};
