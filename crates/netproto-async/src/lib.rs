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
//! [`Connection`](netproto_core::driver::connection::Connection) engine; this crate
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
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

mod client;
mod connect;
mod handle;
mod handler;
mod io;
mod rt;
mod server;
mod stream;
mod udp;
mod udp_server;

#[cfg(unix)]
#[cfg_attr(docsrs, doc(cfg(unix)))]
pub use client::UnixStreamClient;
pub use client::{StreamClient, TcpClient};
pub use handle::ConnectionHandle;
pub use handler::RequestHandler;
pub use netproto_core::driver::server::ShutdownHandle;
pub use rt::{AsyncDatagram, AsyncListener, AsyncStream, Interest, IntoStream, Runtime};
#[cfg(unix)]
#[cfg_attr(docsrs, doc(cfg(unix)))]
pub use server::UnixStreamServer;
pub use server::{Connection, StreamServer, TcpServer};
pub use stream::{PacketSink, PacketStream};
pub use udp::{DatagramClient, DatagramEndpoint, DatagramStream, UdpClient, UdpEndpoint};
#[cfg(unix)]
#[cfg_attr(docsrs, doc(cfg(unix)))]
pub use udp::{UnixDatagramClient, UnixDatagramEndpoint};
pub use udp_server::{DatagramPeer, DatagramServer, UdpPeer, UdpServer};
#[cfg(unix)]
#[cfg_attr(docsrs, doc(cfg(unix)))]
pub use udp_server::{UnixDatagramPeer, UnixDatagramServer};

/// What the binding macro's expansion names. Not public API.
#[doc(hidden)]
pub mod __private {
    pub use netproto_core::addr::{Tcp, Udp, Unix};
}

/// Declare a binding's public types: `TcpClient<P>`, `Connection<P>`,
/// `TcpServer<P>`, `ShutdownHandle`, `PacketStream<'a, P>`,
/// `PacketSink<'a, P, Item>`, `UdpClient<P>`, `UdpEndpoint<P>`,
/// `DatagramStream<'a, T>`, `UdpServer<P>` and `UdpPeer<P>`, their Unix
/// datagram counterparts and the generic `DatagramClient<P, F>`,
/// `DatagramEndpoint<P, F>`, `DatagramServer<P, F>`, `DatagramPeer<P, F>` as this
/// crate's types for the runtime `$rt`,
/// so that every binding exports the same names by construction.
///
/// ```ignore
/// netproto_async::runtime_types!(Tokio, "tokio");
/// ```
#[macro_export]
macro_rules! runtime_types {
    ($rt:ty, $name:literal) => {
        #[doc = concat!(
                    "A TCP (or TLS) connection that sends and receives packets of protocol `P` on ",
                    $name,
                    ": `netproto-async`'s client for this runtime."
                )]
        pub type TcpClient<P> = $crate::TcpClient<$rt, P>;

        #[doc = concat!(
                    "A connection that sends and receives packets of protocol `P` over the stream transport `T` (`Tcp`, or `Unix` on Unix) on ",
                    $name,
                    ": `TcpClient<P>` and `UnixStreamClient<P>` are this type."
                )]
        pub type StreamClient<P, T = $crate::__private::Tcp> = $crate::StreamClient<$rt, P, T>;

        #[cfg(unix)]
        #[doc = concat!(
                    "A Unix stream connection that sends and receives packets of protocol `P` on ",
                    $name,
                    " (Unix only)."
                )]
        pub type UnixStreamClient<P> = $crate::StreamClient<$rt, P, $crate::__private::Unix>;

        /// A connection accepted by a [`UnixStreamServer`] (Unix only).
        #[cfg(unix)]
        pub type UnixConnection<P> = UnixStreamClient<P>;

        #[cfg(unix)]
        #[doc = concat!("A Unix stream server on ", $name, ", a task per connection (Unix only).")]
        pub type UnixStreamServer<P> = $crate::StreamServer<$rt, P, $crate::__private::Unix>;

        #[doc = concat!(
                    "A server over the stream transport `T` on ",
                    $name,
                    ": `TcpServer<P>` and `UnixStreamServer<P>` are this type."
                )]
        pub type StreamServer<P, T = $crate::__private::Tcp> = $crate::StreamServer<$rt, P, T>;

        /// A connection accepted by a [`TcpServer`]: the whole client API.
        pub type Connection<P> = $crate::Connection<$rt, P>;

        #[doc = concat!("A TCP (or TLS) server on ", $name, ", a task per connection.")]
        pub type TcpServer<P> = $crate::TcpServer<$rt, P>;

        /// A served connection reached from outside its handler
        /// (`TcpServer::connections`).
        pub type ConnectionHandle<P, T = $crate::__private::Tcp> = $crate::ConnectionHandle<$rt, P, T>;

        pub use $crate::RequestHandler;

        /// Stops a [`TcpServer`] from any thread or task.
        pub type ShutdownHandle = $crate::ShutdownHandle;

        /// Received packets as a `Stream` (`TcpClient::stream`,
        /// `TcpClient::iter_received_packets`).
        pub type PacketStream<'a, P, T = $crate::__private::Tcp> = $crate::PacketStream<'a, $rt, P, T>;

        /// Packets to send as a `Sink` (`TcpClient::sink`).
        pub type PacketSink<'a, P, Item, T = $crate::__private::Tcp> = $crate::PacketSink<'a, $rt, P, Item, T>;

        #[doc = concat!(
                    "A UDP socket connected to one remote address, one packet of protocol `P` per datagram, on ",
                    $name,
                    "."
                )]
        pub type UdpClient<P> = $crate::UdpClient<$rt, P>;

        #[doc = concat!(
                    "An unconnected UDP socket (`send_packet_to`, `recv_packet_from`) on ",
                    $name,
                    "."
                )]
        pub type UdpEndpoint<P> = $crate::UdpEndpoint<$rt, P>;

        /// Received datagrams' packets as a `Stream`
        /// (`UdpClient::iter_received_packets`).
        pub type DatagramStream<'a, T> = $crate::DatagramStream<'a, T>;

        #[doc = concat!(
                    "A UDP server on ",
                    $name,
                    ": a task per remote peer, its datagrams queued in order."
                )]
        pub type UdpServer<P> = $crate::UdpServer<$rt, P>;

        /// A remote peer of a [`UdpServer`], as its handler sees it.
        pub type UdpPeer<P> = $crate::UdpPeer<$rt, P>;

        #[doc = concat!(
                    "A datagram socket connected to one remote address over the datagram transport `F` (`Udp`, or `Unix` on Unix) on ",
                    $name,
                    ": `UdpClient<P>` and `UnixDatagramClient<P>` are this type."
                )]
        pub type DatagramClient<P, F = $crate::__private::Udp> = $crate::DatagramClient<$rt, P, F>;

        /// An unconnected datagram socket over the transport `F`:
        /// `UdpEndpoint<P>` and `UnixDatagramEndpoint<P>` are this type.
        pub type DatagramEndpoint<P, F = $crate::__private::Udp> = $crate::DatagramEndpoint<$rt, P, F>;

        /// A datagram server over the transport `F`: `UdpServer<P>` and
        /// `UnixDatagramServer<P>` are this type.
        pub type DatagramServer<P, F = $crate::__private::Udp> = $crate::DatagramServer<$rt, P, F>;

        /// A remote peer of a [`DatagramServer`].
        pub type DatagramPeer<P, F = $crate::__private::Udp> = $crate::DatagramPeer<$rt, P, F>;

        #[cfg(unix)]
        #[doc = concat!("A Unix datagram socket connected to one remote address on ", $name, " (Unix only).")]
        pub type UnixDatagramClient<P> = $crate::DatagramClient<$rt, P, $crate::__private::Unix>;

        /// An unconnected Unix datagram socket (Unix only).
        #[cfg(unix)]
        pub type UnixDatagramEndpoint<P> = $crate::DatagramEndpoint<$rt, P, $crate::__private::Unix>;

        #[cfg(unix)]
        #[doc = concat!("A Unix datagram server on ", $name, ", a task per remote peer (Unix only).")]
        pub type UnixDatagramServer<P> = $crate::DatagramServer<$rt, P, $crate::__private::Unix>;

        /// A remote peer of a [`UnixDatagramServer`] (Unix only).
        #[cfg(unix)]
        pub type UnixDatagramPeer<P> = $crate::DatagramPeer<$rt, P, $crate::__private::Unix>;
    };
}
