//! The datagram side of a driver under test ([`DatagramDriver`]) and the
//! macro that expands the datagram suite ([`datagram_suite!`](crate::datagram_suite)).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use netproto_core::datagram::{DatagramServerOptions, ForDatagrams};
use netproto_core::options::DatagramOptions;
use netproto_socket::datagram::DatagramSocketOptions;

use crate::{Address, Driver, Error, Handler, TestProtocol};

/// The protocols the datagram suite uses.
pub trait TestDatagramProtocol: TestProtocol + ForDatagrams {}

impl<P: TestProtocol + ForDatagrams> TestDatagramProtocol for P {}

/// A driver's UDP client and endpoint as async functions, on top of its
/// [`Driver`] runtime hooks. Each method mirrors the driver method named
/// after its prefix (`udp_` for `UdpClient`, `endpoint_` for
/// `UdpEndpoint`).
pub trait DatagramDriver: Driver {
    /// The driver's `UdpClient<P>`.
    type UdpClient<P: ForDatagrams>: Send + Sync + 'static;
    /// The driver's `UdpEndpoint<P>`.
    type UdpEndpoint<P: ForDatagrams>: Send + Sync + 'static;
    /// `UdpClient::connect_with`.
    fn udp_connect<P: TestDatagramProtocol>(
        address: Address,
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
    fn udp_local_addr<P: TestDatagramProtocol>(client: &Self::UdpClient<P>) -> SocketAddr;

    /// `UdpClient::peer_addr`.
    fn udp_peer_addr<P: TestDatagramProtocol>(client: &Self::UdpClient<P>) -> SocketAddr;

    /// `UdpClient::socket`.
    fn udp_socket<P: TestDatagramProtocol>(
        client: &Self::UdpClient<P>,
    ) -> DatagramSocketOptions<'_>;

    /// `UdpClient::max_datagram_size`.
    fn udp_max_datagram_size<P: TestDatagramProtocol>(client: &Self::UdpClient<P>) -> usize;

    /// `UdpEndpoint::bind`.
    fn endpoint_bind<P: TestDatagramProtocol>(
        address: Address,
        protocol: P,
        options: DatagramOptions,
    ) -> impl Future<Output = Result<Self::UdpEndpoint<P>, Error>> + Send;

    /// `UdpEndpoint::send_packet_to`.
    fn endpoint_send_packet_to<P: TestDatagramProtocol>(
        endpoint: &Self::UdpEndpoint<P>,
        packet: &P::Sent,
        to: SocketAddr,
    ) -> impl Future<Output = Result<(), Error>> + Send;

    /// `UdpEndpoint::recv_packet_from_timeout`.
    fn endpoint_recv_packet_from_timeout<P: TestDatagramProtocol>(
        endpoint: &Self::UdpEndpoint<P>,
        timeout: Duration,
    ) -> impl Future<Output = Result<(P::Received, SocketAddr), Error>> + Send;

    /// `UdpEndpoint::close`.
    fn endpoint_close<P: TestDatagramProtocol>(
        endpoint: &Self::UdpEndpoint<P>,
    ) -> impl Future<Output = Result<(), Error>> + Send;

    /// `UdpEndpoint::local_addr`.
    fn endpoint_local_addr<P: TestDatagramProtocol>(endpoint: &Self::UdpEndpoint<P>) -> SocketAddr;
}

/// A driver's UDP server as async functions: `udp_server_` methods mirror
/// `UdpServer`'s, `peer_` methods `UdpPeer`'s (what a handler gets).
pub trait DatagramServerDriver: DatagramDriver {
    /// The driver's `UdpServer<P>`.
    type UdpServer<P: TestDatagramProtocol>: Send + Sync + 'static;
    /// The driver's `UdpPeer<P>` (what a `UdpServer` handler gets).
    type UdpPeer<P: TestDatagramProtocol>: Send + Sync + 'static;

    /// `UdpServer::bind`.
    fn udp_server_bind<P: TestDatagramProtocol>(
        address: Address,
        protocol: P,
        options: DatagramServerOptions,
    ) -> impl Future<Output = Result<Self::UdpServer<P>, Error>> + Send;

    /// `UdpServer::local_addr`.
    fn udp_server_local_addr<P: TestDatagramProtocol>(server: &Self::UdpServer<P>) -> SocketAddr;

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
    fn peer_peer_addr<P: TestDatagramProtocol>(peer: &Self::UdpPeer<P>) -> SocketAddr;
}

/// Expand the datagram suite into `#[test]` functions for a
/// [`DatagramDriver`], in the module `datagram_conformance`.
///
/// ```ignore
/// netproto_testkit::datagram_suite!(MyDriver);
/// ```
#[macro_export]
macro_rules! datagram_suite {
    ($driver:ty) => {
        $crate::__datagram_expand!(
            $driver, datagram_conformance;
            udp_round_trips,
            udp_bad_datagram_between_good_ones,
            udp_oversize_send_is_refused,
            udp_oversize_received_is_reported_and_the_next_arrives,
            udp_receive_timeout_loses_nothing,
            udp_iter_received_packets_within_the_timeout,
            udp_close_wakes_a_pending_receive,
            udp_socket_options,
            udp_endpoint_with_several_peers,
        );
    };
}

/// Expand the datagram server suite into `#[test]` functions for a
/// [`DatagramServerDriver`], in the module `datagram_server_conformance`.
///
/// ```ignore
/// netproto_testkit::datagram_server_suite!(MyDriver);
/// ```
#[macro_export]
macro_rules! datagram_server_suite {
    ($driver:ty) => {
        $crate::__datagram_expand!(
            $driver, datagram_server_conformance;
            udp_server_several_peers_at_once_keep_their_order,
            udp_server_bad_datagram_between_good_ones,
            udp_server_overflow_is_dropped_and_counted,
            udp_server_idle_peer_is_forgotten,
            udp_server_graceful_shutdown_ends_serve,
        );
    };
}

/// Writes the datagram test module. Not public API.
#[doc(hidden)]
#[macro_export]
macro_rules! __datagram_expand {
    ($driver:ty, $module:ident; $($case:ident),* $(,)?) => {
        mod $module {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[test]
                fn $case() {
                    $crate::run::<$driver, _>($crate::cases::$case::<$driver>());
                }
            )*
        }
    };
}
