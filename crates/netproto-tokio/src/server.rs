//! The server: bind, accept, serve with a task per connection, limits and
//! graceful shutdown.

use std::collections::HashMap;
use std::fmt;
use std::future::{Future, poll_fn};
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::Poll;
use std::time::Duration;

use netproto_core::endpoint::{ConnectionEvents, ConnectionSetup};
use netproto_core::options::{
    ACCEPT_BACKOFF, ConnectionEvent, HANDLER_STOP_WAIT, IntoAddress, ServerOptions, WhenFull,
    is_transient_accept_error,
};
use netproto_core::{Error, Protocol};
use netproto_socket::listener;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore, watch};
use tokio::task::AbortHandle;

use crate::client::Shared;
use crate::{TcpClient, connect};

/// A connection accepted by a [`TcpServer`]: the whole client API, with
/// the server's options (idle timeout, buffer sizes, events) applied.
pub type Connection<P> = TcpClient<P>;

/// A TCP (or TLS) server for protocol `P` on tokio.
///
/// [`serve`](TcpServer::serve) runs a handler in its own task for each
/// connection, within the limits of the [`ServerOptions`];
/// [`accept`](TcpServer::accept) is the low-level alternative for running
/// your own loop. A [`ShutdownHandle`] stops it gracefully.
pub struct TcpServer<P: Protocol> {
    local_addrs: Vec<SocketAddr>,
    protocol: P,
    options: ServerOptions,
    setup: ConnectionSetup,
    state: Arc<ServerState>,
    next_listener: AtomicUsize,
}

/// What the server shares with its shutdown handles and connection tasks.
struct ServerState {
    /// The listening sockets; taken (closed) by shutdown, so that new
    /// connections are refused rather than left in the backlog.
    listeners: Mutex<Option<Vec<TcpListener>>>,
    /// `Some(grace)` once shutdown was asked for.
    shutdown: watch::Sender<Option<Duration>>,
    registry: Mutex<Registry>,
    /// Signalled when the last connection task ends.
    tasks_done: Notify,
    tasks: AtomicUsize,
}

#[derive(Default)]
struct Registry {
    next_id: u64,
    entries: HashMap<u64, Entry>,
    /// Sweep dead entries (connections from `accept` that were dropped)
    /// when the map grows past this.
    sweep_at: usize,
}

struct Entry {
    connection: Weak<Shared>,
    task: Option<AbortHandle>,
}

impl ServerState {
    fn register(&self, connection: Weak<Shared>) -> u64 {
        let mut registry = self.registry.lock().unwrap_or_else(|e| e.into_inner());
        if registry.entries.len() >= registry.sweep_at {
            registry
                .entries
                .retain(|_, entry| entry.task.is_some() || entry.connection.strong_count() > 0);
            registry.sweep_at = (registry.entries.len() * 2).max(64);
        }
        registry.next_id += 1;
        let id = registry.next_id;
        registry.entries.insert(
            id,
            Entry {
                connection,
                task: None,
            },
        );
        id
    }

    fn unregister(&self, id: u64) {
        let mut registry = self.registry.lock().unwrap_or_else(|e| e.into_inner());
        registry.entries.remove(&id);
    }

    /// Close every connection at once (their handlers see `Error::Closed`);
    /// with `abort`, also stop the handler tasks.
    fn force_close_all(&self, abort: bool) {
        let entries: Vec<(Weak<Shared>, Option<AbortHandle>)> = {
            let registry = self.registry.lock().unwrap_or_else(|e| e.into_inner());
            registry
                .entries
                .values()
                .map(|entry| (entry.connection.clone(), entry.task.clone()))
                .collect()
        };
        for (connection, task) in entries {
            if let Some(shared) = connection.upgrade() {
                shared.close_because(ConnectionEvents::SERVER_SHUT_DOWN);
            }
            if let Some(task) = task.filter(|_| abort) {
                task.abort();
            }
        }
    }

    async fn wait_tasks_done(&self) {
        loop {
            let mut done = pin!(self.tasks_done.notified());
            done.as_mut().enable();
            if self.tasks.load(Ordering::Acquire) == 0 {
                return;
            }
            done.await;
        }
    }
}

/// Counts a connection task; removes its registry entry when it ends
/// (normally or aborted).
struct TaskGuard {
    state: Arc<ServerState>,
    id: u64,
}

impl Drop for TaskGuard {
    fn drop(&mut self) {
        self.state.unregister(self.id);
        if self.state.tasks.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.state.tasks_done.notify_waiters();
        }
    }
}

/// Stops a [`TcpServer`]: `Clone + Send + Sync`, usable from any thread or
/// task.
#[derive(Clone)]
pub struct ShutdownHandle {
    state: Arc<ServerState>,
}

impl ShutdownHandle {
    /// Stop the server; returns at once. It stops accepting and closes the
    /// listening sockets (new connections are refused, not left in the
    /// backlog), lets the running handlers finish within `grace`, then
    /// closes the connections that remain (their handlers see
    /// [`Error::Closed`]; handlers still running [`HANDLER_STOP_WAIT`] later
    /// are aborted). [`TcpServer::serve`] returns once that is done — as soon
    /// as the handlers are finished. After shutdown,
    /// [`TcpServer::accept`] returns [`Error::Closed`]. A plain method: call
    /// it from anywhere. Only the first call's `grace` counts.
    pub fn shutdown(&self, grace: Duration) {
        self.state.shutdown.send_if_modified(|current| {
            if current.is_some() {
                return false;
            }
            *current = Some(grace);
            true
        });
        let listeners = self
            .state
            .listeners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        drop(listeners);
    }

    /// Whether shutdown was asked for.
    pub fn is_shutdown(&self) -> bool {
        self.state.shutdown.borrow().is_some()
    }
}

impl fmt::Debug for ShutdownHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShutdownHandle")
            .field("shutdown", &self.is_shutdown())
            .finish()
    }
}

impl<P: Protocol> TcpServer<P> {
    /// Bind `address` (a host name may resolve to several addresses: all
    /// are bound; port 0 picks a free port, see
    /// [`local_addrs`](TcpServer::local_addrs)).
    ///
    /// Cancel safety: dropping the future closes what was bound so far.
    pub async fn bind(
        address: impl IntoAddress,
        protocol: P,
        options: ServerOptions,
    ) -> Result<Self, Error> {
        Self::bind_all([address], protocol, options).await
    }

    /// Bind several addresses, listening on all of them.
    ///
    /// Cancel safety: dropping the future closes what was bound so far.
    pub async fn bind_all<A: IntoAddress>(
        addresses: impl IntoIterator<Item = A>,
        protocol: P,
        options: ServerOptions,
    ) -> Result<Self, Error> {
        let mut resolved = Vec::new();
        for address in addresses {
            resolved.extend(connect::resolve(&address.into_address()?).await?);
        }
        let (listeners, local_addrs) = listener::bind_all(resolved, options.backlog, |l| {
            l.set_nonblocking(true)?;
            TcpListener::from_std(l)
        })?;
        Ok(TcpServer {
            local_addrs,
            protocol,
            setup: ConnectionSetup::server(&options),
            options,
            state: Arc::new(ServerState {
                listeners: Mutex::new(Some(listeners)),
                shutdown: watch::Sender::new(None),
                registry: Mutex::new(Registry::default()),
                tasks_done: Notify::new(),
                tasks: AtomicUsize::new(0),
            }),
            next_listener: AtomicUsize::new(0),
        })
    }

    /// The real bound addresses.
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.local_addrs.clone()
    }

    /// A handle that stops [`serve`](TcpServer::serve) (and makes pending
    /// and later [`accept`](TcpServer::accept) calls fail with
    /// [`Error::Closed`]).
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle {
            state: self.state.clone(),
        }
    }

    /// Accept one connection (TLS handshake done, `Connected` emitted), for
    /// users who run their own loop. Limits are not applied here; the
    /// connection is closed by a shutdown after its grace period. A
    /// connection whose setup (TLS handshake) fails is reported as
    /// `Rejected` and returned as the error.
    ///
    /// Cancel safety: cancel safe while waiting for a connection; a future
    /// dropped during the TLS handshake drops that connection.
    pub async fn accept(&self) -> Result<Connection<P>, Error> {
        let mut shutdown = self.state.shutdown.subscribe();
        let accepted = tokio::select! {
            _ = shutdown.wait_for(Option::is_some) => return Err(Error::Closed),
            accepted = self.accept_stream() => accepted,
        };
        let (stream, peer) = accepted?;
        let connection = TcpClient::establish(stream, self.protocol.clone(), &self.setup)
            .await
            .inspect_err(|err| self.setup.reject(peer, err))?;
        self.state.register(Arc::downgrade(&connection.shared));
        Ok(connection)
    }

    /// Serve every connection with `handler`, each in its own task, until
    /// shutdown ([`shutdown_handle`](TcpServer::shutdown_handle)).
    ///
    /// Applies `max_connections` / `when_full` (`Wait`: further connections
    /// stay in the backlog until a slot frees up; `Refuse` — and one-client
    /// mode — accepts and closes them at once, emitting `Rejected`),
    /// `idle_timeout` (each connection's `recv_packet` fails with
    /// `Error::Timeout { kind: TimeoutKind::Idle, .. }` and closes the connection
    /// when no packet completes within it, trickled bytes or not), and backs
    /// off [`ACCEPT_BACKOFF`] after transient accept errors (EMFILE, ...).
    /// An accepted connection whose setup (TLS handshake) fails is reported
    /// as `Rejected`. On a served connection, `recv_packet_timeout(t)` waits
    /// for the earlier of `t` and the idle timeout.
    /// Returns `Ok(())` after a shutdown, once every handler has finished or
    /// been stopped; an accept error that is not transient closes every
    /// connection and is returned.
    ///
    /// Cancel safety: dropping the future stops accepting; running handlers
    /// go on in their tasks.
    pub async fn serve<H, Fut>(&self, handler: H) -> Result<(), Error>
    where
        H: Fn(Connection<P>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let handler = Arc::new(handler);
        let limit = self
            .options
            .max_connections
            .map(|max| (max, Arc::new(Semaphore::new(max))));
        let mut shutdown = self.state.shutdown.subscribe();
        let outcome = loop {
            let mut permit = None;
            if let (Some((_, slots)), WhenFull::Wait) = (&limit, self.options.when_full) {
                tokio::select! {
                    _ = shutdown.wait_for(Option::is_some) => break Ok(()),
                    acquired = slots.clone().acquire_owned() => permit = acquired.ok(),
                }
            }
            let accepted = tokio::select! {
                _ = shutdown.wait_for(Option::is_some) => break Ok(()),
                accepted = self.accept_stream() => accepted,
            };
            let (stream, peer) = match accepted {
                Ok(accepted) => accepted,
                Err(Error::Closed) => break Ok(()),
                Err(Error::Io { source, .. }) if is_transient_accept_error(&source) => {
                    tokio::select! {
                        _ = shutdown.wait_for(Option::is_some) => break Ok(()),
                        _ = tokio::time::sleep(ACCEPT_BACKOFF) => continue,
                    }
                }
                Err(err) => break Err(err),
            };
            if let (Some((max, slots)), WhenFull::Refuse) = (&limit, self.options.when_full) {
                match slots.clone().try_acquire_owned() {
                    Ok(acquired) => permit = Some(acquired),
                    Err(_) => {
                        drop(stream);
                        self.options.emit(ConnectionEvent::server_full(peer, *max));
                        continue;
                    }
                }
            }
            self.spawn_connection(stream, permit, handler.clone());
        };
        let grace = match &outcome {
            Ok(()) => shutdown.borrow().unwrap_or_default(),
            Err(_) => Duration::ZERO,
        };
        let state = &self.state;
        if tokio::time::timeout(grace, state.wait_tasks_done())
            .await
            .is_err()
        {
            state.force_close_all(false);
            if tokio::time::timeout(HANDLER_STOP_WAIT, state.wait_tasks_done())
                .await
                .is_err()
            {
                state.force_close_all(true);
                state.wait_tasks_done().await;
            }
        }
        state.force_close_all(false);
        outcome
    }

    fn spawn_connection<H, Fut>(
        &self,
        stream: TcpStream,
        permit: Option<tokio::sync::OwnedSemaphorePermit>,
        handler: Arc<H>,
    ) where
        H: Fn(Connection<P>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let state = self.state.clone();
        // The connection's setup sits in a box that is freed once the
        // connection is established (the handshake's future too), so that
        // an idle connection's task holds little more than the handler's
        // future.
        let start = Box::new((stream, self.protocol.clone(), self.setup.clone()));
        // Hold the registry lock while spawning so the task's guard cannot
        // remove the entry before it is filled in.
        let mut registry = self
            .state
            .registry
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        registry.next_id += 1;
        let id = registry.next_id;
        state.tasks.fetch_add(1, Ordering::AcqRel);
        let guard = TaskGuard {
            state: state.clone(),
            id,
        };
        let task = async move {
            let _guard = guard;
            let _permit = permit;
            // Establishing (handshake included) runs in a boxed future that
            // is freed once done, and the handler's future gets a box of its
            // own: the task itself stays small, and an idle connection costs
            // the handler's future plus a few pointers, not also the
            // establishing state or a second copy of the connection.
            let start = Box::pin(async move {
                let (stream, protocol, setup) = *start;
                let peer = stream.peer_addr().ok();
                let connection = match TcpClient::establish(stream, protocol, &setup).await {
                    Ok(connection) => connection,
                    Err(err) => {
                        if let Some(peer) = peer {
                            setup.reject(peer, &err);
                        }
                        return None;
                    }
                };
                if let Some(entry) = state
                    .registry
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .entries
                    .get_mut(&id)
                {
                    entry.connection = Arc::downgrade(&connection.shared);
                }
                Some(Box::pin(handler(connection)))
            });
            if let Some(handling) = start.await {
                handling.await;
            }
        };
        let task = tokio::spawn(task);
        registry.entries.insert(
            id,
            Entry {
                connection: Weak::new(),
                task: Some(task.abort_handle()),
            },
        );
    }

    /// The next connection from any listener (`Error::Closed` once shutdown
    /// has closed them).
    async fn accept_stream(&self) -> Result<(TcpStream, SocketAddr), Error> {
        let start = self.next_listener.fetch_add(1, Ordering::Relaxed);
        poll_fn(|cx| {
            let listeners = self
                .state
                .listeners
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            let Some(listeners) = listeners.as_ref() else {
                return Poll::Ready(Err(Error::Closed));
            };
            let count = listeners.len();
            for i in 0..count {
                if let Poll::Ready(result) = listeners[(start + i) % count].poll_accept(cx) {
                    return Poll::Ready(result.map_err(|source| Error::Io { peer: None, source }));
                }
            }
            Poll::Pending
        })
        .await
    }
}

impl<P: Protocol> fmt::Debug for TcpServer<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpServer")
            .field("local_addrs", &self.local_addrs)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}
