//! netproto's blocking driver: typed packets over TCP, TLS and (on Unix)
//! Unix stream sockets with `std::net`, a thread per connection.
//!
//! A server and a client in one process, exchanging text lines:
//!
//! ```
//! use std::time::Duration;
//! use netproto_sync::framing::Delimiter;
//! use netproto_sync::serializer::Utf8;
//! use netproto_sync::{ServerOptions, StreamProtocol, TcpClient, TcpServer};
//!
//! let protocol = StreamProtocol::new(Delimiter::lf(), Utf8);
//!
//! // A server on a free loopback port that answers every line in upper case.
//! let server = TcpServer::bind("127.0.0.1:0", protocol.clone(), ServerOptions::default())?;
//! let address = server.local_addrs()[0];
//! let shutdown = server.shutdown_handle();
//! let serving = std::thread::spawn(move || {
//!     server.serve(|conn| {
//!         while let Ok(line) = conn.recv_packet() {
//!             println!("server got {line:?} from {}", conn.peer_addr());
//!             if conn.send_packet(&line.to_uppercase()).is_err() {
//!                 break;
//!             }
//!         }
//!     })
//! });
//!
//! let client = TcpClient::connect(address, protocol)?;
//! client.send_packet("hello")?;
//! let reply = client.recv_packet_timeout(Duration::from_secs(5))?;
//! println!("client got {reply:?}");
//! assert_eq!(reply, "HELLO");
//!
//! client.close()?;
//! shutdown.shutdown(Duration::from_secs(1));
//! serving.join().unwrap()?;
//! # Ok::<(), netproto_sync::Error>(())
//! ```
//!
//! * [`TcpClient`] connects (timeout, retries, TLS) or adopts a connected
//!   `std::net::TcpStream`; it is `Send + Sync`, so one thread can block in
//!   `recv_packet` while another sends or closes it.
//! * [`TcpServer`] binds one or several addresses and serves each
//!   [`Connection`] on its own thread, with connection limits, a one-client
//!   mode, an idle timeout and graceful shutdown through a
//!   [`ShutdownHandle`]; [`TcpServer::accept`] is there for your own loop.
//! * On Unix, `UnixStreamClient` and `UnixStreamServer` (serving each
//!   `UnixConnection`): the same API over Unix stream sockets, addressed by
//!   a path or an abstract name ([`UnixAddr`]), with peer credentials and
//!   the socket-file rules of `netproto_socket::unix`. They and the TCP
//!   types are one generic type each ([`StreamClient`], [`StreamServer`])
//!   for the transport ([`Tcp`], [`Unix`]).
//!
//! * [`UdpClient`] (a UDP socket connected to one remote address),
//!   [`UdpEndpoint`] (unconnected: `send_packet_to`, `recv_packet_from`)
//!   and [`UdpServer`] (a handler per remote peer, [`UdpPeer`]) send one
//!   packet per datagram, with a [`datagram::DatagramProtocol`]. On Unix,
//!   `UnixDatagramClient`, `UnixDatagramEndpoint` and `UnixDatagramServer`
//!   (`UnixDatagramPeer`) are the same API over Unix datagram sockets;
//!   each pair is one generic type ([`DatagramClient`],
//!   [`DatagramEndpoint`], [`DatagramServer`], [`DatagramPeer`]) for the
//!   transport ([`Udp`], [`Unix`]).
//!
//! The API is the same in `netproto-tokio` and `netproto-async-std`, with
//! `async` methods; see `docs/driver-api.md`. TLS needs the `tls` feature.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod client;
mod connect;
mod handle;
mod handler;
mod inner;
mod server;
mod udp;
mod udp_server;

#[cfg(unix)]
#[cfg_attr(docsrs, doc(cfg(unix)))]
pub use client::UnixStreamClient;
pub use client::{StreamClient, TcpClient};
pub use handle::ConnectionHandle;
pub use handler::RequestHandler;
pub use netproto_core::addr::{DatagramFamily, PeerAddr, StreamFamily, Tcp, Udp, Unix, UnixAddr};
pub use netproto_core::datagram::DatagramServerOptions;
pub use netproto_core::driver::server::ShutdownHandle;
#[cfg(unix)]
#[cfg_attr(docsrs, doc(cfg(unix)))]
pub use netproto_socket::unix::PeerCredentials;
pub use server::{Connection, StreamServer, TcpServer};
#[cfg(unix)]
#[cfg_attr(docsrs, doc(cfg(unix)))]
pub use server::{UnixConnection, UnixStreamServer};
pub use udp::{DatagramClient, DatagramEndpoint, UdpClient, UdpEndpoint};
#[cfg(unix)]
#[cfg_attr(docsrs, doc(cfg(unix)))]
pub use udp::{UnixDatagramClient, UnixDatagramEndpoint};
pub use udp_server::{DatagramPeer, DatagramServer, UdpPeer, UdpServer};
#[cfg(unix)]
#[cfg_attr(docsrs, doc(cfg(unix)))]
pub use udp_server::{UnixDatagramPeer, UnixDatagramServer};

pub use netproto_core::datagram;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn clients_and_handles_are_shareable() {
        type Lines = StreamProtocol<framing::Delimiter, serializer::Utf8>;
        assert_send_sync::<TcpClient<Lines>>();
        assert_send_sync::<TcpServer<Lines>>();
        assert_send_sync::<ShutdownHandle>();
    }
}
