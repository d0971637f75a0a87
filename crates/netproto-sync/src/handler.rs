//! EasyNetwork's request-handler model: a type with hooks for the server's
//! start and stop, each connection's set-up and tear-down, and the loop
//! that serves a connection.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

use netproto_core::Error;
use netproto_core::addr::{PeerAddr, StreamFamily};
use netproto_core::protocol::Protocol;

use crate::client::StreamClient;

/// What a server runs, as EasyNetwork's `AsyncStreamRequestHandler` does
/// (`service_init`, `on_connection`, `handle`, `on_disconnection`); passed
/// to [`TcpServer::serve_with`](crate::TcpServer::serve_with). `C` is the
/// server's connection type, [`Connection<P>`](crate::Connection). The
/// same trait, with `async` hooks, is in the async drivers.
///
/// ```no_run
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use netproto_sync::{Connection, Error, PeerAddr, RequestHandler, ServerOptions, TcpServer};
/// use netproto_sync::{framing::Delimiter, serializer::Utf8};
/// # type Lines = netproto_sync::StreamProtocol<Delimiter, Utf8>;
///
/// #[derive(Default)]
/// struct Echo { served: AtomicUsize }
///
/// impl RequestHandler<Connection<Lines>> for Echo {
///     fn handle(&self, conn: &Connection<Lines>) {
///         self.served.fetch_add(1, Ordering::Relaxed);
///         while let Ok(line) = conn.recv_packet() {
///             if conn.send_packet(&line).is_err() { break; }
///         }
///     }
///     fn on_disconnection(&self, peer: PeerAddr, reason: Option<&str>) {
///         eprintln!("{peer} left: {}", reason.unwrap_or("closed"));
///     }
/// }
/// # fn main() -> Result<(), Error> {
/// let protocol = Lines::new(Delimiter::lf(), Utf8);
/// let server = TcpServer::bind("127.0.0.1:0", protocol, ServerOptions::default())?;
/// server.serve_with(Echo::default())
/// # }
/// ```
pub trait RequestHandler<C>: Send + Sync + 'static {
    /// Once, before the server accepts its first connection (set up
    /// server-wide state). An error stops `serve_with` before it accepts
    /// anything, and is returned.
    fn service_init(&self) -> Result<(), Error> {
        Ok(())
    }

    /// Once, after the server stopped and its handlers ended.
    fn service_quit(&self) {}

    /// A connection is set up (after the TLS handshake). An error closes
    /// it: `handle` does not run, `on_disconnection` does.
    fn on_connection(&self, conn: &C) -> Result<(), Error> {
        let _ = conn;
        Ok(())
    }

    /// Serve the connection; it is closed when this returns.
    fn handle(&self, conn: &C);

    /// The connection is gone, however it ended (`handle` returned or
    /// panicked, the peer left, the server shut down), with the reason
    /// when an error ended it (`None`: a clean close).
    /// `peer` is the peer's address as errors and events carry it (a TCP
    /// peer's is [`PeerAddr::Inet`]).
    fn on_disconnection(&self, peer: PeerAddr, reason: Option<&str>) {
        let _ = (peer, reason);
    }
}

/// Run one connection through `handler`'s hooks.
pub(crate) fn run<P: Protocol, T: StreamFamily, H: RequestHandler<StreamClient<P, T>>>(
    handler: &H,
    conn: StreamClient<P, T>,
) {
    let peer = conn.inner().conn.peer_addr().clone();
    let served = catch_unwind(AssertUnwindSafe(|| {
        if handler.on_connection(&conn).is_ok() {
            handler.handle(&conn);
        }
    }));
    let _ = conn.close();
    let reason = conn.inner().conn.events().reason().map(str::to_owned);
    let reason = match &served {
        Err(_) => Some(reason.unwrap_or_else(|| "the handler panicked".to_owned())),
        Ok(()) => reason,
    };
    drop(conn);
    handler.on_disconnection(peer, reason.as_deref());
    if let Err(panic) = served {
        resume_unwind(panic);
    }
}
