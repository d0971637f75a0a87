//! The datagram side of a driver under test ([`DatagramDriver`], generic
//! over the datagram transport: [`Udp`] or [`Unix`], described by
//! [`DatagramTestFamily`]) and the macros that expand the datagram suites
//! ([`datagram_suite!`](crate::datagram_suite)).

use std::future::Future;
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::Duration;

pub use netproto_core::addr::{DatagramFamily, Udp, Unix};
use netproto_core::datagram::{DatagramServerOptions, ForDatagrams};
use netproto_core::options::DatagramOptions;
use netproto_socket::datagram::DatagramSocketOptions;

use crate::cases::PROMPTLY;
use crate::{Driver, Error, Handler, TestProtocol};

/// The protocols the datagram suite uses.
pub trait TestDatagramProtocol: TestProtocol + ForDatagrams {}

impl<P: TestProtocol + ForDatagrams> TestDatagramProtocol for P {}

/// A datagram transport as the suite drives it: fresh addresses to bind
/// to, and the plain std socket that plays the cases' peer.
pub trait DatagramTestFamily: DatagramFamily {
    /// The std socket of this transport (`UdpSocket`, or a bound
    /// `UnixDatagram` that removes its file when dropped).
    type Raw: Send + Sync + 'static;

    /// An address the driver's endpoint or server binds to (a free port on
    /// loopback, a fresh socket path).
    fn bind_address() -> Self::Addr;

    /// Whether `addr` is a bound address (not port 0, not unnamed).
    fn is_bound(addr: &Self::Addr) -> bool;

    /// A std socket bound to a fresh local address, receiving with a
    /// [`PROMPTLY`] timeout.
    fn raw_peer() -> Self::Raw;

    /// The std socket's local address.
    fn raw_local(raw: &Self::Raw) -> Self::Addr;

    /// Send one datagram from the std socket to `to`.
    fn raw_send_to(raw: &Self::Raw, datagram: &[u8], to: &Self::Addr) -> io::Result<usize>;

    /// Receive one datagram on the std socket.
    fn raw_recv_from(raw: &Self::Raw, buf: &mut [u8]) -> io::Result<(usize, Self::Addr)>;
}

impl DatagramTestFamily for Udp {
    type Raw = UdpSocket;

    fn bind_address() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 0))
    }

    fn is_bound(addr: &SocketAddr) -> bool {
        addr.port() != 0
    }

    fn raw_peer() -> UdpSocket {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind a loopback UDP socket");
        socket
            .set_read_timeout(Some(PROMPTLY))
            .expect("set a read timeout");
        socket
    }

    fn raw_local(raw: &UdpSocket) -> SocketAddr {
        raw.local_addr().expect("a bound socket's address")
    }

    fn raw_send_to(raw: &UdpSocket, datagram: &[u8], to: &SocketAddr) -> io::Result<usize> {
        raw.send_to(datagram, to)
    }

    fn raw_recv_from(raw: &UdpSocket, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        raw.recv_from(buf)
    }
}

/// A std Unix datagram socket bound at a fresh path, removed on drop.
#[cfg(unix)]
#[derive(Debug)]
pub struct RawUnix {
    /// The socket.
    pub socket: std::os::unix::net::UnixDatagram,
    path: std::path::PathBuf,
}

#[cfg(unix)]
impl Drop for RawUnix {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(unix)]
impl DatagramTestFamily for Unix {
    type Raw = RawUnix;

    fn bind_address() -> netproto_core::addr::UnixAddr {
        crate::family::socket_path("dgram.sock").into()
    }

    fn is_bound(addr: &netproto_core::addr::UnixAddr) -> bool {
        !addr.is_unnamed()
    }

    fn raw_peer() -> RawUnix {
        let path = crate::family::socket_path("peer.sock");
        let socket =
            std::os::unix::net::UnixDatagram::bind(&path).expect("bind a Unix datagram socket");
        socket
            .set_read_timeout(Some(PROMPTLY))
            .expect("set a read timeout");
        RawUnix { socket, path }
    }

    fn raw_local(raw: &RawUnix) -> netproto_core::addr::UnixAddr {
        netproto_core::addr::UnixAddr::path(&raw.path)
    }

    fn raw_send_to(
        raw: &RawUnix,
        datagram: &[u8],
        to: &netproto_core::addr::UnixAddr,
    ) -> io::Result<usize> {
        let socket = netproto_socket::socket2::SockRef::from(&raw.socket);
        netproto_socket::unix::send_to(&socket, datagram, to)
    }

    fn raw_recv_from(
        raw: &RawUnix,
        buf: &mut [u8],
    ) -> io::Result<(usize, netproto_core::addr::UnixAddr)> {
        raw.socket.recv_from(buf).map(|(n, from)| (n, from.into()))
    }
}

/// A driver's datagram client and endpoint over the transport `F` as
/// async functions, on top of its [`Driver`] runtime hooks. Each method
/// mirrors the driver method named after its prefix (`udp_` for
/// `DatagramClient` — `UdpClient`, `UnixDatagramClient` —, `endpoint_`
/// for `DatagramEndpoint`).
pub trait DatagramDriver<F: DatagramTestFamily = Udp>: Driver {
    /// The driver's `DatagramClient<P, F>`.
    type UdpClient<P: ForDatagrams>: Send + Sync + 'static;
    /// The driver's `DatagramEndpoint<P, F>`.
    type UdpEndpoint<P: ForDatagrams>: Send + Sync + 'static;
    /// `connect_with` (UDP: `UdpClient::connect_with`, Unix:
    /// `UnixDatagramClient::connect_with`).
    fn udp_connect<P: TestDatagramProtocol>(
        address: F::Addr,
        protocol: P,
        options: DatagramOptions,
    ) -> impl Future<Output = Result<Self::UdpClient<P>, Error>> + Send;

    /// `UdpClient::send_packet`.
    fn udp_send_packet<P: TestDatagramProtocol>(
        client: &Self::UdpClient<P>,
        packet: &P::Sent,
    ) -> impl Future<Output = Result<(), Error>> + Send;

    /// `UdpClient::send_packet_timeout`.
    fn udp_send_packet_timeout<P: TestDatagramProtocol>(
        client: &Self::UdpClient<P>,
        packet: &P::Sent,
        timeout: Duration,
    ) -> impl Future<Output = Result<(), Error>> + Send;

    /// `UdpClient::recv_packet`.
    fn udp_recv_packet<P: TestDatagramProtocol>(
        client: &Self::UdpClient<P>,
    ) -> impl Future<Output = Result<P::Received, Error>> + Send;

    /// `UdpClient::recv_packet_timeout`.
    fn udp_recv_packet_timeout<P: TestDatagramProtocol>(
        client: &Self::UdpClient<P>,
        timeout: Duration,
    ) -> impl Future<Output = Result<P::Received, Error>> + Send;

    /// `UdpClient::iter_received_packets(timeout)`, collected.
    fn udp_iter_received_packets<P: TestDatagramProtocol>(
        client: &Self::UdpClient<P>,
        timeout: Duration,
    ) -> impl Future<Output = Vec<Result<P::Received, Error>>> + Send;

    /// `UdpClient::close`.
    fn udp_close<P: TestDatagramProtocol>(
        client: &Self::UdpClient<P>,
    ) -> impl Future<Output = Result<(), Error>> + Send;

    /// `UdpClient::is_closed`.
    fn udp_is_closed<P: TestDatagramProtocol>(client: &Self::UdpClient<P>) -> bool;

    /// `UdpClient::local_addr`.
    fn udp_local_addr<P: TestDatagramProtocol>(client: &Self::UdpClient<P>) -> F::Addr;

    /// `UdpClient::peer_addr`.
    fn udp_peer_addr<P: TestDatagramProtocol>(client: &Self::UdpClient<P>) -> F::Addr;

    /// `UdpClient::socket`.
    fn udp_socket<P: TestDatagramProtocol>(
        client: &Self::UdpClient<P>,
    ) -> DatagramSocketOptions<'_>;

    /// `UdpClient::max_datagram_size`.
    fn udp_max_datagram_size<P: TestDatagramProtocol>(client: &Self::UdpClient<P>) -> usize;

    /// `UdpEndpoint::bind`.
    fn endpoint_bind<P: TestDatagramProtocol>(
        address: F::Addr,
        protocol: P,
        options: DatagramOptions,
    ) -> impl Future<Output = Result<Self::UdpEndpoint<P>, Error>> + Send;

    /// `UdpEndpoint::send_packet_to`.
    fn endpoint_send_packet_to<P: TestDatagramProtocol>(
        endpoint: &Self::UdpEndpoint<P>,
        packet: &P::Sent,
        to: F::Addr,
    ) -> impl Future<Output = Result<(), Error>> + Send;

    /// `UdpEndpoint::recv_packet_from_timeout`.
    fn endpoint_recv_packet_from_timeout<P: TestDatagramProtocol>(
        endpoint: &Self::UdpEndpoint<P>,
        timeout: Duration,
    ) -> impl Future<Output = Result<(P::Received, F::Addr), Error>> + Send;

    /// `UdpEndpoint::close`.
    fn endpoint_close<P: TestDatagramProtocol>(
        endpoint: &Self::UdpEndpoint<P>,
    ) -> impl Future<Output = Result<(), Error>> + Send;

    /// `UdpEndpoint::local_addr`.
    fn endpoint_local_addr<P: TestDatagramProtocol>(endpoint: &Self::UdpEndpoint<P>) -> F::Addr;
}

/// A driver's datagram server over the transport `F` as async functions:
/// `udp_server_` methods mirror `DatagramServer`'s, `peer_` methods
/// `DatagramPeer`'s (what a handler gets).
pub trait DatagramServerDriver<F: DatagramTestFamily = Udp>: DatagramDriver<F> {
    /// The driver's `DatagramServer<P, F>`.
    type UdpServer<P: TestDatagramProtocol>: Send + Sync + 'static;
    /// The driver's `DatagramPeer<P, F>` (what a server's handler gets).
    type UdpPeer<P: TestDatagramProtocol>: Send + Sync + 'static;

    /// `DatagramServer::bind`.
    fn udp_server_bind<P: TestDatagramProtocol>(
        address: F::Addr,
        protocol: P,
        options: DatagramServerOptions,
    ) -> impl Future<Output = Result<Self::UdpServer<P>, Error>> + Send;

    /// `UdpServer::local_addr`.
    fn udp_server_local_addr<P: TestDatagramProtocol>(server: &Self::UdpServer<P>) -> F::Addr;

    /// `UdpServer::shutdown_handle`.
    fn udp_server_shutdown_handle<P: TestDatagramProtocol>(
        server: &Self::UdpServer<P>,
    ) -> Self::ShutdownHandle;

    /// `UdpServer::is_serving`.
    fn udp_server_is_serving<P: TestDatagramProtocol>(server: &Self::UdpServer<P>) -> bool;

    /// `UdpServer::serve(handler)`, resolving when `serve` returns.
    fn udp_server_serve<P: TestDatagramProtocol>(
        server: Arc<Self::UdpServer<P>>,
        handler: Handler<Self::UdpPeer<P>>,
    ) -> impl Future<Output = Result<(), Error>> + Send + 'static;

    /// `UdpPeer::recv_packet`.
    fn peer_recv_packet<P: TestDatagramProtocol>(
        peer: &Self::UdpPeer<P>,
    ) -> impl Future<Output = Result<P::Received, Error>> + Send;

    /// `UdpPeer::recv_packet_timeout`.
    fn peer_recv_packet_timeout<P: TestDatagramProtocol>(
        peer: &Self::UdpPeer<P>,
        timeout: Duration,
    ) -> impl Future<Output = Result<P::Received, Error>> + Send;

    /// `UdpPeer::send_packet`.
    fn peer_send_packet<P: TestDatagramProtocol>(
        peer: &Self::UdpPeer<P>,
        packet: &P::Sent,
    ) -> impl Future<Output = Result<(), Error>> + Send;

    /// `UdpPeer::peer_addr`.
    fn peer_peer_addr<P: TestDatagramProtocol>(peer: &Self::UdpPeer<P>) -> F::Addr;
}

/// Expand the datagram suite into `#[test]` functions for a
/// [`DatagramDriver`]: over UDP in the module `datagram_conformance`, and
/// (on Unix) over Unix datagram sockets in `unix_datagram_conformance` —
/// the same cases, less those about UDP itself, plus the Unix ones.
///
/// ```ignore
/// netproto_testkit::datagram_suite!(MyDriver);
/// ```
#[macro_export]
macro_rules! datagram_suite {
    ($driver:ty) => {
        $crate::__datagram_expand!(
            $driver, $crate::datagram::Udp, datagram_conformance;
            udp_round_trips,
            udp_bad_datagram_between_good_ones,
            udp_oversize_send_is_refused,
            udp_oversize_received_is_reported_and_the_next_arrives,
            udp_receive_timeout_loses_nothing,
            udp_iter_received_packets_within_the_timeout,
            udp_close_wakes_a_pending_receive,
            udp_endpoint_with_several_peers,
            udp_socket_options,
        );
        #[cfg(unix)]
        $crate::__datagram_expand!(
            $driver, $crate::datagram::Unix, unix_datagram_conformance;
            udp_round_trips,
            udp_bad_datagram_between_good_ones,
            udp_oversize_send_is_refused,
            udp_oversize_received_is_reported_and_the_next_arrives,
            udp_receive_timeout_loses_nothing,
            udp_iter_received_packets_within_the_timeout,
            udp_close_wakes_a_pending_receive,
            udp_endpoint_with_several_peers,
            unix_datagram_client_binds_so_replies_reach_it,
        );
    };
}

/// Expand the datagram server suite into `#[test]` functions for a
/// [`DatagramServerDriver`], over UDP in the module
/// `datagram_server_conformance` and (on Unix) over Unix datagram sockets
/// in `unix_datagram_server_conformance`.
///
/// ```ignore
/// netproto_testkit::datagram_server_suite!(MyDriver);
/// ```
#[macro_export]
macro_rules! datagram_server_suite {
    ($driver:ty) => {
        $crate::__datagram_expand!(
            $driver, $crate::datagram::Udp, datagram_server_conformance;
            udp_server_several_peers_at_once_keep_their_order,
            udp_server_bad_datagram_between_good_ones,
            udp_server_overflow_is_dropped_and_counted,
            udp_server_idle_peer_is_forgotten,
            udp_server_graceful_shutdown_ends_serve,
        );
        #[cfg(unix)]
        $crate::__datagram_expand!(
            $driver, $crate::datagram::Unix, unix_datagram_server_conformance;
            udp_server_several_peers_at_once_keep_their_order,
            udp_server_bad_datagram_between_good_ones,
            udp_server_overflow_is_dropped_and_counted,
            udp_server_idle_peer_is_forgotten,
            udp_server_graceful_shutdown_ends_serve,
            unix_datagram_server_counts_unnamed_senders,
        );
    };
}

/// Writes the datagram test module. Not public API.
#[doc(hidden)]
#[macro_export]
macro_rules! __datagram_expand {
    ($driver:ty, $family:ty, $module:ident; $($case:ident),* $(,)?) => {
        mod $module {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[test]
                fn $case() {
                    $crate::run::<$driver, _>($crate::cases::$case::<$driver, $family>());
                }
            )*
        }
    };
}

/// Writes a driver adapter's `DatagramOpen` trait: the driver's datagram
/// constructors for each transport (`Udp`, and `Unix` on Unix), the only
/// place where an adapter's [`DatagramDriver`] impl, written once for
/// every `F: DatagramOpen`, tells the transports apart. `blocking` for a driver
/// whose constructors return at once, `async` for one whose are `async`.
///
/// ```ignore
/// netproto_testkit::datagram_families!(async netproto_tokio);
/// impl<F: DatagramOpen> netproto_testkit::DatagramDriver<F> for MyAdapter { ... }
/// ```
#[macro_export]
macro_rules! datagram_families {
    (blocking $driver:ident) => {
        $crate::datagram_families!(@trait $driver, (), ());
    };
    (async $driver:ident) => {
        $crate::datagram_families!(@trait $driver, (async), (.await));
    };
    (@trait $driver:ident, ($($async:tt)?), ($($await:tt)*)) => {
        /// The driver's datagram constructors for each transport.
        pub trait DatagramOpen: $crate::DatagramTestFamily {
            /// `connect_with`.
            fn connect<P: $driver::datagram::ForDatagrams>(
                address: Self::Addr,
                protocol: P,
                options: $driver::DatagramOptions,
            ) -> $crate::datagram_families!(@out ($($async)?)
                Result<$driver::DatagramClient<P, Self>, $driver::Error>);
            /// The endpoint's `bind`.
            fn bind<P: $driver::datagram::ForDatagrams>(
                address: Self::Addr,
                protocol: P,
                options: $driver::DatagramOptions,
            ) -> $crate::datagram_families!(@out ($($async)?)
                Result<$driver::DatagramEndpoint<P, Self>, $driver::Error>);
            /// The server's `bind`.
            fn server_bind<P: $driver::datagram::ForDatagrams>(
                address: Self::Addr,
                protocol: P,
                options: $driver::DatagramServerOptions,
            ) -> $crate::datagram_families!(@out ($($async)?)
                Result<$driver::DatagramServer<P, Self>, $driver::Error>)
            where
                P::Received: Send;
        }

        $crate::datagram_families!(@impl $driver, $driver::Udp, std::net::SocketAddr, ($($async)?), ($($await)*));
        #[cfg(unix)]
        $crate::datagram_families!(@impl $driver, $driver::Unix, $driver::UnixAddr, ($($async)?), ($($await)*));
    };
    (@out () $ty:ty) => { $ty };
    (@out (async) $ty:ty) => { impl std::future::Future<Output = $ty> + Send };
    (@impl $driver:ident, $family:ty, $addr:ty, ($($async:tt)?), ($($await:tt)*)) => {
        impl DatagramOpen for $family {
            $($async)? fn connect<P: $driver::datagram::ForDatagrams>(
                address: $addr,
                protocol: P,
                options: $driver::DatagramOptions,
            ) -> Result<$driver::DatagramClient<P, Self>, $driver::Error> {
                $driver::DatagramClient::<P, Self>::connect_with(address, protocol, options) $($await)*
            }
            $($async)? fn bind<P: $driver::datagram::ForDatagrams>(
                address: $addr,
                protocol: P,
                options: $driver::DatagramOptions,
            ) -> Result<$driver::DatagramEndpoint<P, Self>, $driver::Error> {
                $driver::DatagramEndpoint::<P, Self>::bind(address, protocol, options) $($await)*
            }
            $($async)? fn server_bind<P: $driver::datagram::ForDatagrams>(
                address: $addr,
                protocol: P,
                options: $driver::DatagramServerOptions,
            ) -> Result<$driver::DatagramServer<P, Self>, $driver::Error>
            where
                P::Received: Send,
            {
                $driver::DatagramServer::<P, Self>::bind(address, protocol, options) $($await)*
            }
        }
    };
}
