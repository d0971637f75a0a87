//! The Unix stream suite: a driver's `UnixStreamClient` and
//! `UnixStreamServer` through its [`Driver`] adapter over
//! [`Unix`] plus [`UnixDriver`]. [`unix_suite!`](crate::unix_suite)
//! runs the stream cases that are not about TCP itself unchanged over Unix
//! sockets, and the Unix cases of [`cases::unix`](crate::cases::unix).

use netproto_core::addr::Unix;
use netproto_socket::unix::PeerCredentials;

use crate::{Driver, TestProtocol};

/// A [`Driver`] over Unix stream sockets (`UnixStreamClient`,
/// `UnixStreamServer`), with what only Unix sockets have.
pub trait UnixDriver: Driver<Family = Unix> {
    /// `peer_credentials`.
    fn peer_credentials<P: TestProtocol>(
        client: &Self::Client<P>,
    ) -> std::io::Result<PeerCredentials>;
}

/// Expand the Unix stream suite into `#[test]` functions for a
/// [`UnixDriver`], in the modules `unix_conformance_plain` and, under the
/// invoking crate's `tls` feature, `unix_conformance_tls`: every stream
/// case of [`conformance_suite!`](crate::conformance_suite) that is not
/// about TCP itself, unchanged, and the cases of
/// [`cases::unix`](crate::cases::unix).
///
/// ```ignore
/// #[cfg(unix)]
/// netproto_testkit::unix_suite!(MyDriver<Unix>);
/// ```
#[macro_export]
macro_rules! unix_suite {
    ($driver:ty) => {
        $crate::__stream_cases!(
            $driver;
            unix_conformance_plain, unix_conformance_tls;
            both: [
                unix_round_trip_and_addresses,
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
            tls: [],
        );
    };
}
