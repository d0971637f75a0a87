//! The conformance suite every netproto driver runs, written once.
//!
//! A driver plugs in by implementing [`Driver`] — an adapter whose async
//! methods call the driver's client and server API, plus three runtime hooks
//! ([`Driver::block_on`], [`Driver::spawn`], [`Driver::sleep`]) — and then
//! expands the suite into `#[test]` functions with [`conformance_suite!`]:
//!
//! ```ignore
//! // crates/netproto-tokio/tests/conformance.rs
//! struct Tokio;
//! impl netproto_testkit::Driver for Tokio { /* ... */ }
//! netproto_testkit::conformance_suite!(Tokio);
//! ```
//!
//! The macro writes one test per case and transport into the modules
//! `conformance_plain` and `conformance_tls`; the TLS module is compiled only
//! when the driver crate's own `tls` feature is on
//! (`cargo test -p netproto-tokio --features tls`).
//!
//! Peers are real sockets on loopback (`127.0.0.1`): other clients and
//! servers of the same driver, and deliberately misbehaving peers built on
//! `std::net` threads ([`peers`]). TLS uses certificates generated with
//! rcgen at test time ([`certs`]).
//!
//! The same cases run over Unix stream sockets: an adapter generic over
//! its [`Family`] is a [`Driver`] over [`Unix`](netproto_core::addr::Unix)
//! too, implements [`UnixDriver`] there, and expands `unix_suite!` (Unix
//! only): every stream case that is not about TCP itself, unchanged, and
//! the Unix cases of `cases::unix` (named `unix_*`).
//!
//! The datagram suite (UDP) is separate: a driver implements
//! [`DatagramDriver`] on the same adapter and expands
//! [`datagram_suite!`] (cases in [`cases`], named `udp_*`).
//!
//! # Rules for the adapter
//!
//! * Each method maps to the driver method of the same name (see
//!   `docs/driver-api.md`); `iter_received_packets` collects what the
//!   driver's iterator or stream yields.
//! * `block_on` may be called from several threads at once, and while it
//!   runs, tasks started with `spawn` and the runtime's I/O must keep going
//!   (a multi-threaded runtime): the suite's misbehaving peers are std
//!   threads, and the suite sometimes waits for them.
//! * `spawn` returns a future of the task's output; dropping it detaches the
//!   task.

#![warn(missing_docs)]

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

pub use netproto_core::options::{Address, ClientOptions, ServerOptions};
pub use netproto_core::{Error, Protocol};
pub use netproto_socket::SocketOptions;

pub mod blocking;
pub mod cases;
pub mod certs;
pub mod datagram;
pub mod family;
pub mod hooks;
pub mod peers;
mod transport;
#[cfg(unix)]
pub mod unix;

pub use blocking::block_on;
pub use datagram::{
    DatagramDriver, DatagramServerDriver, DatagramTestFamily, TestDatagramProtocol,
};
pub use family::Family;
pub use transport::Transport;
#[cfg(unix)]
pub use unix::UnixDriver;

/// The protocols the suite uses: anything whose sent packets can be shared
/// between threads and whose received packets can move between them and be
/// printed.
pub trait TestProtocol: Protocol<Sent: Sync, Received: Send + fmt::Debug> {}

impl<P> TestProtocol for P where P: Protocol<Sent: Sync, Received: Send + fmt::Debug> {}

/// A boxed, sendable future, as [`Handler`]s return.
pub type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// A connection handler given to [`Driver::serve`]: called once per accepted
/// connection. The sync driver's adapter runs the future with
/// [`block_on`] on the connection's thread; async adapters spawn it (or
/// return it from the handler they give `serve`).
pub type Handler<C> = Arc<dyn Fn(C) -> BoxFuture + Send + Sync + 'static>;

/// Build a [`Handler`] from an async closure-like function.
pub fn handler<C, F, Fut>(f: F) -> Handler<C>
where
    F: Fn(C) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    Arc::new(move |connection| Box::pin(f(connection)) as BoxFuture)
}

/// The address type of `D`'s transport (`SocketAddr`, `UnixAddr`).
pub type Addr<D> = <<D as Driver>::Family as netproto_core::addr::StreamFamily>::Addr;

/// What `D`'s clients connect to and its servers bind ([`Address`],
/// `UnixAddr`).
pub type Target<D> = <<D as Driver>::Family as Family>::Target;

/// A driver under test over one stream transport: its client and server
/// API as async functions, and its runtime.
///
/// Every method mirrors the driver method of the same name in
/// `docs/driver-api.md`. Blocking drivers implement the async methods with
/// `async move { blocking_call() }`. An adapter is usually generic over the
/// [`Family`], so that the same cases run over TCP and Unix sockets.
pub trait Driver: Sized + Send + Sync + 'static {
    /// The transport: `netproto_core::addr::Tcp` or `Unix`.
    type Family: Family;
    /// The driver's client (`StreamClient<P, Self::Family>`); servers hand
    /// out the same type.
    type Client<P: Protocol>: Send + Sync + 'static;
    /// The driver's server (`StreamServer<P, Self::Family>`).
    type Server<P: Protocol>: Send + Sync + 'static;
    /// The driver's `ShutdownHandle`.
    type ShutdownHandle: Clone + Send + Sync + 'static;

    /// Run `future` to completion on the current thread.
    fn block_on<F: Future>(future: F) -> F::Output;

    /// Run `future` concurrently (a task, or a thread); the returned future
    /// resolves to its output (and panics if the task panicked).
    fn spawn<T, F>(future: F) -> impl Future<Output = T> + Send + 'static
    where
        T: Send + 'static,
        F: Future<Output = T> + Send + 'static;

    /// Wait for `duration` without blocking other tasks.
    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send;

    /// `connect_with`.
    fn connect<P: TestProtocol>(
        address: Target<Self>,
        protocol: P,
        options: ClientOptions,
    ) -> impl Future<Output = Result<Self::Client<P>, Error>> + Send;

    /// `from_stream` with a std stream.
    fn from_stream<P: TestProtocol>(
        stream: <Self::Family as Family>::Stream,
        protocol: P,
        options: ClientOptions,
    ) -> impl Future<Output = Result<Self::Client<P>, Error>> + Send;

    /// `send_packet`.
    fn send_packet<P: TestProtocol>(
        client: &Self::Client<P>,
        packet: &P::Sent,
    ) -> impl Future<Output = Result<(), Error>> + Send;

    /// `send_packet_timeout`.
    fn send_packet_timeout<P: TestProtocol>(
        client: &Self::Client<P>,
        packet: &P::Sent,
        timeout: Duration,
    ) -> impl Future<Output = Result<(), Error>> + Send;

    /// `recv_packet`.
    fn recv_packet<P: TestProtocol>(
        client: &Self::Client<P>,
    ) -> impl Future<Output = Result<P::Received, Error>> + Send;

    /// `recv_packet_timeout`.
    fn recv_packet_timeout<P: TestProtocol>(
        client: &Self::Client<P>,
        timeout: Duration,
    ) -> impl Future<Output = Result<P::Received, Error>> + Send;

    /// `iter_received_packets(timeout)`, collected.
    fn iter_received_packets<P: TestProtocol>(
        client: &Self::Client<P>,
        timeout: Duration,
    ) -> impl Future<Output = Vec<Result<P::Received, Error>>> + Send;

    /// `send_eof`.
    fn send_eof<P: TestProtocol>(
        client: &Self::Client<P>,
    ) -> impl Future<Output = Result<(), Error>> + Send;

    /// `close`.
    fn close<P: TestProtocol>(
        client: &Self::Client<P>,
    ) -> impl Future<Output = Result<(), Error>> + Send;

    /// `is_closed`.
    fn is_closed<P: TestProtocol>(client: &Self::Client<P>) -> bool;

    /// `local_addr`.
    fn local_addr<P: TestProtocol>(client: &Self::Client<P>) -> Addr<Self>;

    /// `peer_addr`.
    fn peer_addr<P: TestProtocol>(client: &Self::Client<P>) -> Addr<Self>;

    /// `socket`.
    fn socket<P: TestProtocol>(client: &Self::Client<P>) -> SocketOptions<'_>;

    /// `max_recv_size`.
    fn max_recv_size<P: TestProtocol>(client: &Self::Client<P>) -> usize;

    /// `bind_all` (a Unix server binds one address: exactly one is given).
    fn bind_all<P: TestProtocol>(
        addresses: Vec<Target<Self>>,
        protocol: P,
        options: ServerOptions,
    ) -> impl Future<Output = Result<Self::Server<P>, Error>> + Send;

    /// `local_addrs`.
    fn local_addrs<P: TestProtocol>(server: &Self::Server<P>) -> Vec<Addr<Self>>;

    /// `accept`.
    fn accept<P: TestProtocol>(
        server: &Self::Server<P>,
    ) -> impl Future<Output = Result<Self::Client<P>, Error>> + Send;

    /// `serve(handler)`, resolving when `serve` returns (after shutdown).
    fn serve<P: TestProtocol>(
        server: Arc<Self::Server<P>>,
        handler: Handler<Self::Client<P>>,
    ) -> impl Future<Output = Result<(), Error>> + Send + 'static;

    /// `TcpServer::with_listener_sockets`: each listening socket's local
    /// address and receive buffer size after `set_recv_buffer_size(size)`.
    fn listener_sockets<P: TestProtocol>(
        server: &Self::Server<P>,
        size: usize,
    ) -> Vec<(Addr<Self>, usize)>;

    /// `TcpServer::is_serving`.
    fn is_serving<P: TestProtocol>(server: &Self::Server<P>) -> bool;

    /// `TcpServer::max_connections`.
    fn max_connections<P: TestProtocol>(server: &Self::Server<P>) -> usize;

    /// `TcpServer::connections`, as the handles' peer addresses.
    fn connection_peers<P: TestProtocol>(server: &Self::Server<P>) -> Vec<Addr<Self>>;

    /// `TcpServer::broadcast(packet, timeout)`.
    fn broadcast<P: TestProtocol>(
        server: &Self::Server<P>,
        packet: &P::Sent,
        timeout: Option<Duration>,
    ) -> impl Future<Output = Vec<(Addr<Self>, Error)>> + Send;

    /// `ConnectionHandle::close` on the handle of `TcpServer::connections`
    /// whose peer is `peer`; `false` when there is none.
    fn close_connection<P: TestProtocol>(
        server: &Self::Server<P>,
        peer: Addr<Self>,
    ) -> impl Future<Output = Result<bool, Error>> + Send;

    /// `ConnectionHandle::send_packet` on the handle whose peer is `peer`.
    fn send_to_connection<P: TestProtocol>(
        server: &Self::Server<P>,
        peer: Addr<Self>,
        packet: &P::Sent,
    ) -> impl Future<Output = Result<(), Error>> + Send;

    /// `serve_with` a `RequestHandler` whose hooks call `hooks` and whose
    /// `handle` echoes lines ([`cases::echo_lines`]).
    fn serve_with_hooks(
        server: Arc<Self::Server<cases::Lines>>,
        hooks: hooks::Hooks,
    ) -> impl Future<Output = Result<(), Error>> + Send + 'static;

    /// `shutdown_handle`.
    fn shutdown_handle<P: TestProtocol>(server: &Self::Server<P>) -> Self::ShutdownHandle;

    /// `ShutdownHandle::shutdown(grace)`.
    fn shutdown(handle: &Self::ShutdownHandle, grace: Duration);
}

/// The longest one conformance case may run before it is reported as hung.
pub const CASE_LIMIT: Duration = Duration::from_secs(120);

/// Run one case with `D`'s runtime on a fresh thread, failing it if it has
/// not finished within [`CASE_LIMIT`] (a hang is a failure, not a stuck test
/// run). Used by [`conformance_suite!`].
pub fn run<D: Driver, F>(case: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let thread = std::thread::Builder::new()
        .name("conformance-case".into())
        .spawn(move || {
            D::block_on(case);
            let _ = done_tx.send(());
        })
        .expect("spawn the case thread");
    match done_rx.recv_timeout(CASE_LIMIT) {
        Ok(()) => thread.join().expect("case thread"),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            // The case panicked: report its panic.
            if let Err(panic) = thread.join() {
                std::panic::resume_unwind(panic);
            }
        }
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("conformance case still running after {CASE_LIMIT:?}: it hangs")
        }
    }
}

/// Expand the conformance suite into `#[test]` functions for a [`Driver`]
/// over TCP.
///
/// ```ignore
/// netproto_testkit::conformance_suite!(MyDriver);
/// ```
///
/// Writes the modules `conformance_plain` (always) and `conformance_tls`
/// (under the invoking crate's `#[cfg(feature = "tls")]`), with one test per
/// case listed in [`cases`]: the stream cases every transport runs, and
/// those about TCP itself. The driver type is looked up from the invoking
/// module.
#[macro_export]
macro_rules! conformance_suite {
    ($driver:ty) => {
        $crate::__stream_cases!(
            $driver;
            conformance_plain, conformance_tls;
            // About TCP: resets, socket options, several addresses, clients
            // told apart by their address.
            both: [
                reset_mid_frame,
                addresses_and_socket_options,
                server_binds_several_addresses,
                server_one_client_rejects_extras,
                peer_reset_is_reported_disconnected,
                server_connection_handles_and_broadcast,
            ],
            // Host names, ports, interfaces, `SO_REUSEPORT`.
            plain: [
                connect_refused_names_address,
                dns_failure_names_host,
                connect_to_port_zero_is_refused,
                connect_timeout,
                happy_eyeballs_skips_a_dead_address,
                local_address_is_bound,
                retry_connects_to_late_server,
                retry_gives_up_after_attempts,
                from_stream_refuses_unconnected_socket,
                server_binds_every_interface_without_a_host,
                server_reuse_port_shares_the_port,
                server_listener_sockets_are_reachable,
            ],
            tls: [],
        );
    };
}

/// The stream cases every transport runs, then the transport's own. Not
/// public API.
#[doc(hidden)]
#[macro_export]
macro_rules! __stream_cases {
    (
        $driver:ty; $plain_mod:ident, $tls_mod:ident;
        both: [$($both:ident),* $(,)?],
        plain: [$($plain:ident),* $(,)?],
        tls: [$($tls:ident),* $(,)?] $(,)?
    ) => {
        $crate::__conformance_expand!(
            $driver;
            $plain_mod, $tls_mod;
            // Over plain and TLS.
            both: [
                three_packets_in_one_read,
                timeout_loses_nothing,
                dripped_bytes_make_one_packet,
                bad_packet_is_per_packet,
                garbage_line_is_skipped,
                huge_length_header_is_refused,
                clean_eof_between_packets,
                eof_inside_a_frame_counts_bytes,
                peer_half_close_keeps_sending,
                send_eof_keeps_receiving,
                never_reading_peer_blocks_sends,
                close_wakes_blocked_recv,
                close_wakes_recv_while_it_flushes,
                close_finishes_a_send_in_progress,
                concurrent_send_and_recv,
                iter_received_packets_batches,
                from_stream_adopts_connected_socket,
                events_connected_and_disconnected,
                large_packets_with_small_reads,
                server_echo,
                server_accept_low_level,
                server_max_connections_wait,
                server_idle_timeout_drops_slowloris,
                server_idle_timeout_ends_packet_iteration,
                server_idle_timeout_wins_a_tie,
                server_survives_a_panicking_handler,
                server_graceful_shutdown,
                server_shutdown_force_closes_after_grace,
                peer_hang_up_is_reported_disconnected,
                close_reports_undelivered_bytes,
                handlers_run_apart_from_serve,
                send_timeout_keeps_frames_whole,
                iter_received_packets_timeout_is_for_the_whole_iteration,
                server_handler_stop_wait_is_configurable,
                server_is_serving_and_reports_its_limit,
                server_at_capacity_is_reported,
                server_request_handler_hooks,
                $($both,)*
            ],
            // Plain only. TLS options are honoured in every build of the
            // driver, with or without its own `tls` feature.
            plain: [
                tls_client_options_are_honoured,
                tls_server_options_are_honoured,
                plain_client_to_tls_server_is_diagnosed,
                plain_server_receiving_tls_is_diagnosed,
                tls_client_to_plain_server_is_diagnosed,
                $($plain,)*
            ],
            // TLS only.
            tls: [
                tls_truncation_is_reported,
                tls_unknown_ca_fails_handshake,
                tls_server_name_override,
                tls_client_certificate,
                tls_handshake_timeout_sends_an_alert,
                tls_truncation_inside_a_frame_is_reported,
                tls_hostname_verification_can_be_skipped,
                tls_missing_close_notify_can_be_accepted,
                $($tls,)*
            ],
        );
    };
}

/// Writes the test modules. Not public API.
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_expand {
    (
        $driver:ty; $plain_mod:ident, $tls_mod:ident;
        both: [$($both:ident),* $(,)?],
        plain: [$($plain:ident),* $(,)?],
        tls: [$($tls:ident),* $(,)?] $(,)?
    ) => {
        mod $plain_mod {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[test]
                fn $both() {
                    $crate::run::<$driver, _>($crate::cases::$both::<$driver>($crate::Transport::Plain));
                }
            )*
            $(
                #[test]
                fn $plain() {
                    $crate::run::<$driver, _>($crate::cases::$plain::<$driver>($crate::Transport::Plain));
                }
            )*
        }
        #[cfg(feature = "tls")]
        mod $tls_mod {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[test]
                fn $both() {
                    $crate::run::<$driver, _>($crate::cases::$both::<$driver>($crate::Transport::Tls));
                }
            )*
            $(
                #[test]
                fn $tls() {
                    $crate::run::<$driver, _>($crate::cases::$tls::<$driver>($crate::Transport::Tls));
                }
            )*
        }
    };
}
