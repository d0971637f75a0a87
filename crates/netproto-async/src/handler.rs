//! EasyNetwork's request-handler model: a type with hooks for the server's
//! start and stop, each connection's set-up and tear-down, and the loop
//! that serves a connection.

use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures_util::FutureExt;
use netproto_core::{Error, Protocol};

use crate::client::StreamClient;
use crate::rt::Runtime;
use netproto_core::addr::{PeerAddr, StreamFamily};

/// What a server runs, as EasyNetwork's `AsyncStreamRequestHandler` does
/// (`service_init`, `on_connection`, `handle`, `on_disconnection`); passed
/// to [`TcpServer::serve_with`](crate::TcpServer::serve_with). `C` is the
/// server's connection type (the binding's `Connection<P>`). The same
/// trait, with blocking hooks, is in `netproto-sync`.
///
/// ```no_run
/// # #[cfg(any())] mod hidden {
/// use netproto_tokio::{Connection, RequestHandler};
///
/// struct Echo;
///
/// impl RequestHandler<Connection<Lines>> for Echo {
///     async fn handle(&self, conn: &Connection<Lines>) {
///         while let Ok(line) = conn.recv_packet().await {
///             if conn.send_packet(&line).await.is_err() { break; }
///         }
///     }
/// }
/// // server.serve_with(Echo).await?;
/// # }
/// ```
pub trait RequestHandler<C>: Send + Sync + 'static {
    /// Once, before the server accepts its first connection (set up
    /// server-wide state). An error stops `serve_with` before it accepts
    /// anything, and is returned.
    fn service_init(&self) -> impl Future<Output = Result<(), Error>> + Send {
        async { Ok(()) }
    }

    /// Once, after the server stopped and its handlers ended.
    fn service_quit(&self) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// A connection is set up (after the TLS handshake). An error closes
    /// it: `handle` does not run, `on_disconnection` does.
    fn on_connection(&self, conn: &C) -> impl Future<Output = Result<(), Error>> + Send {
        let _ = conn;
        async { Ok(()) }
    }

    /// Serve the connection; it is closed when this returns.
    fn handle(&self, conn: &C) -> impl Future<Output = ()> + Send;

    /// The connection is gone, however it ended (`handle` returned or
    /// panicked, the peer left, the server shut down and stopped the
    /// task), with the reason when an error ended it (`None`: a clean
    /// close). Not `async`, so that it runs even when the task is stopped.
    /// `peer` is the peer's address as errors and events carry it (a TCP
    /// peer's is [`PeerAddr::Inet`]).
    fn on_disconnection(&self, peer: PeerAddr, reason: Option<&str>) {
        let _ = (peer, reason);
    }
}

/// Calls `on_disconnection` when dropped: at the end of the connection's
/// task, or when the task is stopped.
struct TearDown<
    'a,
    R: Runtime,
    P: Protocol,
    T: StreamFamily,
    H: RequestHandler<StreamClient<R, P, T>>,
> {
    handler: &'a H,
    conn: Option<StreamClient<R, P, T>>,
    panicked: bool,
}

impl<R: Runtime, P: Protocol, T: StreamFamily, H: RequestHandler<StreamClient<R, P, T>>> Drop
    for TearDown<'_, R, P, T, H>
{
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        let peer = conn.shared.conn.peer_addr().clone();
        let reason = conn.shared.conn.events().reason().map(str::to_owned);
        let reason = match (reason, self.panicked) {
            (None, true) => Some("the handler panicked".to_owned()),
            (reason, _) => reason,
        };
        // Dropping closes the connection (without waiting) if `run` did
        // not get to close it.
        drop(conn);
        self.handler.on_disconnection(peer, reason.as_deref());
    }
}

/// Run one connection through `handler`'s hooks.
pub(crate) async fn run<
    R: Runtime,
    P: Protocol,
    T: StreamFamily,
    H: RequestHandler<StreamClient<R, P, T>>,
>(
    handler: &H,
    conn: StreamClient<R, P, T>,
) {
    let mut tear_down = TearDown {
        handler,
        conn: Some(conn),
        panicked: false,
    };
    let conn = tear_down.conn.as_ref().expect("set above");
    let served = AssertUnwindSafe(async {
        if handler.on_connection(conn).await.is_ok() {
            handler.handle(conn).await;
        }
    })
    .catch_unwind()
    .await;
    let _ = conn.close().await;
    if let Err(panic) = served {
        tear_down.panicked = true;
        drop(tear_down);
        std::panic::resume_unwind(panic);
    }
}
