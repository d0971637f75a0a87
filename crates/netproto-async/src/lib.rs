//! netproto's one async implementation: clients and servers for typed
//! packets over TCP and TLS, written once, generic over a small runtime
//! abstraction ([`Runtime`]).
//!
//! Use it through a binding: `netproto-tokio` and `netproto-async-std`
//! (async-std and smol) each implement [`Runtime`] for their runtime and
//! export `TcpClient<P>`, `TcpServer<P>`, `Connection<P>` and
//! `ShutdownHandle` as this crate's types instantiated for it — so their
//! names, bounds, return types and behaviour are the same by construction.
//!
//! Every decision a connection makes (reads, writes, deadlines, the close
//! sequence, events, TLS) is the core's
//! [`Connection`](netproto_core::connection::Connection) engine; this crate
//! only pumps bytes between it and the runtime's sockets, waits for what
//! the engine asks for, and runs the server's accept loop with a task per
//! connection.
//!
//! # Writing a binding
//!
//! Implement [`Runtime`] (spawn, a timer, resolve, connect, adopt a
//! listener), [`AsyncStream`] (readiness, non-blocking read and write, the
//! socket2 view) and [`AsyncListener`] (poll accept), and [`IntoStream`]
//! for each stream type users may hand to `from_stream`.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod client;
mod connect;
mod io;
mod rt;
mod server;
mod stream;

pub use client::TcpClient;
pub use rt::{AsyncListener, AsyncStream, Interest, IntoStream, Runtime};
pub use server::{Connection, ShutdownHandle, TcpServer};
pub use stream::{PacketSink, PacketStream};
