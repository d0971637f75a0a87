//! The Unix stream suite: a driver's `UnixStreamClient` and
//! `UnixStreamServer` through [`UnixDriver`], an extension of the
//! [`Driver`] adapter (same runtime hooks), with cases in
//! [`cases::unix`](crate::cases::unix) expanded by [`unix_suite!`](crate::unix_suite).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use netproto_core::addr::UnixAddr;
use netproto_core::options::{ClientOptions, ServerOptions};
use netproto_core::{Error, Protocol};
use netproto_socket::unix::PeerCredentials;

use crate::{Driver, Handler, TestProtocol};

/// A driver's Unix stream client and server, as async functions. Each
/// method maps to the driver method of the same name on
/// `UnixStreamClient` / `UnixStreamServer` (see `docs/driver-api.md`).
pub trait UnixDriver: Driver {
    /// `UnixStreamClient<P>`; a `UnixStreamServer` hands out the same type.
    type UnixClient<P: Protocol>: Send + Sync + 'static;
    /// `UnixStreamServer<P>`.
    type UnixServer<P: Protocol>: Send + Sync + 'static;

    /// `UnixStreamClient::connect_with`.
    fn unix_connect<P: TestProtocol>(
        address: UnixAddr,
        protocol: P,
        options: ClientOptions,
    ) -> impl Future<Output = Result<Self::UnixClient<P>, Error>> + Send;

    /// `UnixStreamClient::from_stream` with a std stream.
    fn unix_from_stream<P: TestProtocol>(
        stream: std::os::unix::net::UnixStream,
        protocol: P,
        options: ClientOptions,
    ) -> impl Future<Output = Result<Self::UnixClient<P>, Error>> + Send;

    /// `send_packet`.
    fn unix_send<P: TestProtocol>(
        client: &Self::UnixClient<P>,
        packet: &P::Sent,
    ) -> impl Future<Output = Result<(), Error>> + Send;

    /// `recv_packet_timeout`.
    fn unix_recv_timeout<P: TestProtocol>(
        client: &Self::UnixClient<P>,
        timeout: Duration,
    ) -> impl Future<Output = Result<P::Received, Error>> + Send;

    /// `recv_packet`.
    fn unix_recv<P: TestProtocol>(
        client: &Self::UnixClient<P>,
    ) -> impl Future<Output = Result<P::Received, Error>> + Send;

    /// `iter_received_packets(timeout)`, collected.
    fn unix_iter_received_packets<P: TestProtocol>(
        client: &Self::UnixClient<P>,
        timeout: Duration,
    ) -> impl Future<Output = Vec<Result<P::Received, Error>>> + Send;

    /// `send_eof`.
    fn unix_send_eof<P: TestProtocol>(
        client: &Self::UnixClient<P>,
    ) -> impl Future<Output = Result<(), Error>> + Send;

    /// `close`.
    fn unix_close<P: TestProtocol>(
        client: &Self::UnixClient<P>,
    ) -> impl Future<Output = Result<(), Error>> + Send;

    /// `local_addr`.
    fn unix_local_addr<P: TestProtocol>(client: &Self::UnixClient<P>) -> UnixAddr;

    /// `peer_addr`.
    fn unix_peer_addr<P: TestProtocol>(client: &Self::UnixClient<P>) -> UnixAddr;

    /// `peer_credentials`.
    fn unix_peer_credentials<P: TestProtocol>(
        client: &Self::UnixClient<P>,
    ) -> std::io::Result<PeerCredentials>;

    /// `UnixStreamServer::bind`.
    fn unix_bind<P: TestProtocol>(
        address: UnixAddr,
        protocol: P,
        options: ServerOptions,
    ) -> impl Future<Output = Result<Self::UnixServer<P>, Error>> + Send;

    /// `local_addrs`.
    fn unix_local_addrs<P: TestProtocol>(server: &Self::UnixServer<P>) -> Vec<UnixAddr>;

    /// `serve(handler)`, resolving when `serve` returns (after shutdown).
    fn unix_serve<P: TestProtocol>(
        server: Arc<Self::UnixServer<P>>,
        handler: Handler<Self::UnixClient<P>>,
    ) -> impl Future<Output = Result<(), Error>> + Send + 'static;

    /// `connections()`, as the handles' peer addresses.
    fn unix_connection_peers<P: TestProtocol>(server: &Self::UnixServer<P>) -> Vec<UnixAddr>;

    /// `shutdown_handle`.
    fn unix_shutdown_handle<P: TestProtocol>(server: &Self::UnixServer<P>) -> Self::ShutdownHandle;
}

/// Expand the Unix stream suite into `#[test]` functions for a
/// [`UnixDriver`], in the module `unix_conformance` (plain and, under the
/// invoking crate's `tls` feature, TLS).
///
/// ```ignore
/// #[cfg(unix)]
/// netproto_testkit::unix_suite!(MyDriver);
/// ```
#[macro_export]
macro_rules! unix_suite {
    ($driver:ty) => {
        $crate::__unix_expand!(
            $driver;
            both: [
                unix_round_trip_and_addresses,
                unix_packets_split_and_joined,
                unix_timeout_loses_nothing,
                unix_send_eof_keeps_receiving,
                unix_close_wakes_a_pending_receive,
                unix_from_stream_adopts_a_connected_socket,
                unix_peer_credentials,
                unix_server_limit_rejects_extras,
                unix_server_graceful_shutdown_removes_its_socket_file,
            ],
            plain: [
                unix_stale_socket_file_is_replaced,
                unix_live_socket_and_other_files_are_left_alone,
                unix_path_too_long_names_the_limit,
                unix_connect_errors_name_the_path,
                unix_abstract_names,
                unix_tls_needs_a_server_name,
            ],
        );
    };
}

/// Writes the Unix test modules. Not public API.
#[doc(hidden)]
#[macro_export]
macro_rules! __unix_expand {
    ($driver:ty; both: [$($both:ident),* $(,)?], plain: [$($plain:ident),* $(,)?] $(,)?) => {
        mod unix_conformance_plain {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[test]
                fn $both() {
                    $crate::run::<$driver, _>($crate::cases::unix::$both::<$driver>($crate::Transport::Plain));
                }
            )*
            $(
                #[test]
                fn $plain() {
                    $crate::run::<$driver, _>($crate::cases::unix::$plain::<$driver>($crate::Transport::Plain));
                }
            )*
        }
        #[cfg(feature = "tls")]
        mod unix_conformance_tls {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[test]
                fn $both() {
                    $crate::run::<$driver, _>($crate::cases::unix::$both::<$driver>($crate::Transport::Tls));
                }
            )*
        }
    };
}
