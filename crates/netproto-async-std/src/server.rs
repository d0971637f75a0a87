//! [`TcpServer`]: listening sockets, `accept`, and `serve` with limits,
//! idle timeouts and graceful shutdown.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};
use std::time::Instant;

use async_io::{Async, Timer};
use futures_lite::future;
use futures_util::FutureExt;
use futures_util::stream::{FuturesUnordered, StreamExt};
use netproto_core::endpoint::{ConnectionEvents, ConnectionSetup};
use netproto_core::options::{
    ACCEPT_BACKOFF, ConnectionEvent, HANDLER_STOP_WAIT, IntoAddress, ServerOptions, WhenFull,
    is_transient_accept_error,
};
use netproto_core::{Error, Protocol};
use netproto_socket::listener;

use crate::client::{Connection, TcpClient};
use crate::connect::resolve;
use crate::io::Link;
use crate::shutdown::{Shared, ShutdownHandle};

/// A server: listening sockets and the options every connection gets.
///
/// # How connections run
///
/// [`serve`](TcpServer::serve) runs each connection's handler as a task
/// *inside its own future*: the library never picks an executor, so the
/// same server runs under async-std's executor and smol's. Handlers run
/// concurrently (while one waits, the others progress), all polled by
/// whichever thread polls `serve`. To spread connections over threads,
/// spawn in the handler and await the task, so that shutdown still waits
/// for it:
///
/// ```no_run
/// # async fn run(server: netproto_async_std::TcpServer<
/// #     netproto_async_std::StreamProtocol<
/// #         netproto_async_std::framing::Delimiter, netproto_async_std::serializer::Utf8>>,
/// # ) -> Result<(), netproto_async_std::Error> {
/// server
///     .serve(|connection| async move {
///         // smol: smol::spawn(...).await
///         async_std::task::spawn(async move {
///             while let Ok(line) = connection.recv_packet().await {
///                 if connection.send_packet(&line).await.is_err() {
///                     break;
///                 }
///             }
///         })
///         .await
///     })
///     .await
/// # }
/// ```
pub struct TcpServer<P: Protocol> {
    shared: Arc<Shared>,
    local_addrs: Vec<SocketAddr>,
    protocol: P,
    options: ServerOptions,
    setup: ConnectionSetup,
}

impl<P: Protocol> TcpServer<P> {
    /// Bind `address`; a host name that resolves to several addresses binds
    /// them all, and port 0 picks a free port (see
    /// [`local_addrs`](TcpServer::local_addrs)).
    ///
    /// # Errors
    /// [`Error::Resolve`] naming the host; `Error::Io` naming the address
    /// that cannot be bound.
    ///
    /// # Cancel safety
    /// Dropping the future closes what was bound so far.
    pub async fn bind(
        address: impl IntoAddress,
        protocol: P,
        options: ServerOptions,
    ) -> Result<Self, Error> {
        Self::bind_all([address], protocol, options).await
    }

    /// Bind several addresses, listening on all of them.
    ///
    /// # Cancel safety
    /// Dropping the future closes what was bound so far.
    pub async fn bind_all<A: IntoAddress>(
        addresses: impl IntoIterator<Item = A>,
        protocol: P,
        options: ServerOptions,
    ) -> Result<Self, Error> {
        let mut resolved = Vec::new();
        for address in addresses {
            resolved.extend(resolve(&address.into_address()?).await?);
        }
        let (listeners, local_addrs) =
            listener::bind_all(resolved, options.backlog, |l| Async::new(l).map(Arc::new))?;
        Ok(TcpServer {
            shared: Shared::new(listeners),
            local_addrs,
            protocol,
            setup: ConnectionSetup::server(&options),
            options,
        })
    }

    /// The bound addresses, with the real ports.
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.local_addrs.clone()
    }

    /// A handle that stops this server from any thread or task.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.shared.handle()
    }

    /// Accept one connection, with its TLS handshake done, for users who
    /// run their own loop. The server's limits are not applied (that is
    /// `serve`'s job), but the idle timeout is.
    ///
    /// # Errors
    /// [`Error::Closed`] once the server is shut down; the accept error
    /// (see `options::is_transient_accept_error` for those worth retrying);
    /// the handshake's error (the connection is then reported as
    /// `Rejected`).
    ///
    /// # Cancel safety
    /// Dropping the future while it waits loses no connection (it stays in
    /// the listen backlog); dropping it during the handshake closes that
    /// connection.
    pub async fn accept(&self) -> Result<Connection<P>, Error> {
        let listeners = self.shared.listeners();
        if listeners.is_empty() {
            return Err(Error::Closed);
        }
        let accepting = async {
            future::poll_fn(|cx| poll_accept(&listeners, cx))
                .await
                .map_err(|source| Error::Io { peer: None, source })
        };
        let shut = async {
            self.shared.requested().await;
            Err(Error::Closed)
        };
        let (stream, peer) = future::or(accepting, shut).await?;
        drop(listeners);
        establish(stream, peer, self.protocol.clone(), &self.setup).await
    }

    /// Serve every connection with `handler` until
    /// [`shutdown`](ShutdownHandle::shutdown), then return.
    ///
    /// Each accepted connection gets its TLS handshake (within the
    /// handshake timeout), then `handler(connection)` runs as a task of this
    /// future (see [How connections run](TcpServer#how-connections-run)).
    /// Applies `max_connections` with `when_full` (one-client mode refuses
    /// extra clients at once, emitting `Rejected`), the idle timeout,
    /// and a back-off of `ACCEPT_BACKOFF` after transient accept errors.
    /// An accepted connection whose setup (TLS handshake) fails is reported
    /// as `Rejected`.
    /// A connection is tracked until its handler returns: a connection
    /// still open when the grace period ends is closed (its handler sees
    /// [`Error::Closed`]), and a handler that has not returned
    /// [`HANDLER_STOP_WAIT`] later is dropped.
    ///
    /// The future is `Send` when the handler is `Sync`.
    ///
    /// A handler that panics ends its own connection, not the server.
    ///
    /// # Errors
    /// An accept error that is not transient (every connection is then
    /// closed, as after a shutdown with no grace period).
    ///
    /// # Cancel safety
    /// Dropping the future stops serving and drops (closes) every
    /// connection it was serving; the listeners stay open for another call.
    pub async fn serve<H, Fut>(&self, handler: H) -> Result<(), Error>
    where
        H: Fn(Connection<P>) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let listeners = self.shared.listeners();
        let live = Registry::default();
        let mut starting: FuturesUnordered<_> = FuturesUnordered::new();
        let mut running = FuturesUnordered::new();
        let mut backoff: Option<Timer> = None;
        let limit = self.options.max_connections.unwrap_or(usize::MAX);
        let wait_when_full = self.options.when_full == WhenFull::Wait;
        let (deadline, outcome) = loop {
            let event = future::poll_fn(|cx| {
                if let Poll::Ready(deadline) = self.shared.poll_requested(cx) {
                    return Poll::Ready(Event::Shutdown(deadline));
                }
                while let Poll::Ready(Some(())) = running.poll_next_unpin(cx) {}
                if let Poll::Ready(Some(started)) = starting.poll_next_unpin(cx) {
                    let started: Option<Connection<P>> = started;
                    return Poll::Ready(Event::Started(started.map(Box::new)));
                }
                if let Some(timer) = &mut backoff {
                    if Pin::new(timer).poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    backoff = None;
                }
                if wait_when_full && starting.len() + running.len() >= limit {
                    return Poll::Pending;
                }
                poll_accept(&listeners, cx).map(Event::Accepted)
            })
            .await;
            match event {
                Event::Shutdown(deadline) => break (deadline, Ok(())),
                Event::Started(None) => {}
                Event::Started(Some(connection)) => {
                    let entry = live.insert(connection.link());
                    // A handler that panics ends its connection, not `serve`.
                    let handling = panic::catch_unwind(AssertUnwindSafe(|| handler(*connection)));
                    if let Ok(handling) = handling {
                        running.push(run_handler(handling, entry));
                    }
                }
                Event::Accepted(Ok((stream, peer))) => {
                    if starting.len() + running.len() >= limit {
                        self.options.emit(ConnectionEvent::server_full(peer, limit));
                        drop(stream);
                    } else {
                        starting.push(self.start(stream, peer));
                    }
                }
                Event::Accepted(Err(err)) if is_transient_accept_error(&err) => {
                    backoff = Some(Timer::after(ACCEPT_BACKOFF));
                }
                Event::Accepted(Err(source)) => {
                    // Close every connection, as after a shutdown with no
                    // grace period, then report the error.
                    let failed = Err(Error::Io { peer: None, source });
                    break (Some(Instant::now()), failed);
                }
            }
        };
        drop(listeners);
        drop(starting);
        let finished = future::or(
            async {
                while running.next().await.is_some() {}
                true
            },
            async {
                match deadline {
                    Some(deadline) => Timer::at(deadline).await,
                    None => Timer::never().await,
                };
                false
            },
        )
        .await;
        if !finished {
            // Handlers now see `Error::Closed`; those that do not return
            // within a moment are dropped.
            live.close_all();
            future::or(async { while running.next().await.is_some() {} }, async {
                Timer::after(HANDLER_STOP_WAIT).await;
            })
            .await;
        }
        outcome
    }

    /// The handshake of a connection `serve` accepted; `None` if it failed
    /// (the connection is then closed and reported as `Rejected`).
    fn start(
        &self,
        stream: TcpStream,
        peer: SocketAddr,
    ) -> impl Future<Output = Option<Connection<P>>> + Send + 'static {
        let protocol = self.protocol.clone();
        let setup = self.setup.clone();
        async move { establish(stream, peer, protocol, &setup).await.ok() }
    }
}

/// Set up an accepted stream; a failure is reported as `Rejected`.
async fn establish<P: Protocol>(
    stream: TcpStream,
    peer: SocketAddr,
    protocol: P,
    setup: &ConnectionSetup,
) -> Result<Connection<P>, Error> {
    let established = match Async::new(stream) {
        Ok(socket) => TcpClient::establish(socket, protocol, setup).await,
        Err(err) => Err(Error::from_io(err, peer)),
    };
    established.inspect_err(|err| setup.reject(peer, err))
}

impl<P: Protocol> fmt::Debug for TcpServer<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpServer")
            .field("local_addrs", &self.local_addrs)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

enum Event<P: Protocol> {
    Shutdown(Option<Instant>),
    Started(Option<Box<Connection<P>>>),
    Accepted(io::Result<(TcpStream, SocketAddr)>),
}

/// Accept from whichever listener has a connection waiting.
fn poll_accept(
    listeners: &[Arc<Async<TcpListener>>],
    cx: &mut Context<'_>,
) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
    for listener in listeners {
        loop {
            match listener.get_ref().accept() {
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                    match listener.poll_readable(cx) {
                        Poll::Ready(Ok(())) => continue,
                        Poll::Ready(Err(err)) => return Poll::Ready(Err(err)),
                        Poll::Pending => break,
                    }
                }
                result => return Poll::Ready(result),
            }
        }
    }
    Poll::Pending
}

/// Run a handler; its connection stays registered (closable by shutdown)
/// until it returns. A handler that panics ends there (its connection is
/// dropped with it); `serve` goes on.
async fn run_handler(handler: impl Future<Output = ()>, entry: Entry) {
    let _ = AssertUnwindSafe(handler).catch_unwind().await;
    drop(entry);
}

/// The connections `serve` is running, so that shutdown can close them.
#[derive(Default)]
struct Registry {
    links: Arc<Mutex<HashMap<u64, Weak<Link>>>>,
    next: AtomicU64,
}

impl Registry {
    fn insert(&self, link: &Arc<Link>) -> Entry {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        lock(&self.links).insert(id, Arc::downgrade(link));
        Entry {
            links: self.links.clone(),
            id,
        }
    }

    fn close_all(&self) {
        for link in lock(&self.links).values() {
            if let Some(link) = link.upgrade() {
                link.close_because(ConnectionEvents::SERVER_SHUT_DOWN);
            }
        }
    }
}

/// A registered connection; unregistered when dropped.
struct Entry {
    links: Arc<Mutex<HashMap<u64, Weak<Link>>>>,
    id: u64,
}

impl Drop for Entry {
    fn drop(&mut self) {
        lock(&self.links).remove(&self.id);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}
