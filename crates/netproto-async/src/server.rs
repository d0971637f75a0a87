//! The server: bind, accept, serve with a task per connection, limits and
//! graceful shutdown.

use std::collections::HashMap;
use std::fmt;
use std::future::{Future, poll_fn};
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::Poll;
use std::time::{Duration, Instant};

use async_lock::{Semaphore, SemaphoreGuardArc};
use event_listener::Event;
use futures_util::FutureExt;
use futures_util::future::{AbortHandle, Abortable};
use netproto_core::endpoint::{ConnectionEvents, ConnectionSetup};
use netproto_core::options::{
    ACCEPT_BACKOFF, ConnectionEvent, IntoAddress, ServerOptions, WhenFull,
    is_transient_accept_error,
};
use netproto_core::{Error, Protocol};
use netproto_socket::listener;

use crate::client::TcpClient;
use crate::connect;
use crate::io::{Shared, first};
use crate::rt::{AsyncListener, Runtime};

/// A connection accepted by a [`TcpServer`]: the whole client API, with
/// the server's options (idle timeout, buffer sizes, events) applied.
pub type Connection<R, P> = TcpClient<R, P>;

/// A TCP (or TLS) server for protocol `P` on runtime `R`.
///
/// [`serve`](TcpServer::serve) runs a handler for each connection in a
/// task of its own (on the runtime's worker threads, so a server uses
/// every core and one slow handler stalls no other connection), within the
/// limits of the [`ServerOptions`]; [`accept`](TcpServer::accept) is the
/// low-level alternative for running your own loop. A [`ShutdownHandle`]
/// stops it gracefully.
pub struct TcpServer<R: Runtime, P: Protocol> {
    local_addrs: Vec<SocketAddr>,
    protocol: P,
    options: ServerOptions,
    setup: ConnectionSetup,
    state: Arc<ServerState<R>>,
    next_listener: AtomicUsize,
}

/// A connection as the server's registry sees it: something to close.
trait ForceClose: Send + Sync {
    fn close_because(&self, reason: &str);
}

impl<R: Runtime, P: Protocol> ForceClose for Shared<R, P> {
    fn close_because(&self, reason: &str) {
        self.force_close(Some(reason));
    }
}

/// What the server shares with its shutdown handles and connection tasks.
struct ServerState<R: Runtime> {
    /// The listening sockets; taken (closed) by shutdown, so that new
    /// connections are refused rather than left in the backlog.
    listeners: Mutex<Option<Vec<R::Listener>>>,
    /// `Some(grace)` once shutdown was asked for.
    shutdown: Mutex<Option<Duration>>,
    shutdown_requested: Event,
    registry: Mutex<Registry>,
    /// Signalled when the last connection task ends.
    tasks_done: Event,
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

/// A registered connection, once it is established.
type WeakConnection = Option<Weak<dyn ForceClose>>;

struct Entry {
    connection: WeakConnection,
    task: Option<AbortHandle>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl<R: Runtime> ServerState<R> {
    fn grace(&self) -> Option<Duration> {
        *lock(&self.shutdown)
    }

    /// Complete once shutdown is asked for, with the grace period.
    async fn shutdown_requested(&self) -> Duration {
        loop {
            if let Some(grace) = self.grace() {
                return grace;
            }
            let listener = self.shutdown_requested.listen();
            if let Some(grace) = self.grace() {
                return grace;
            }
            listener.await;
        }
    }

    fn register(&self, connection: Weak<dyn ForceClose>) {
        let mut registry = lock(&self.registry);
        if registry.entries.len() >= registry.sweep_at {
            registry.entries.retain(|_, entry| {
                entry.task.is_some()
                    || entry
                        .connection
                        .as_ref()
                        .is_some_and(|c| c.strong_count() > 0)
            });
            registry.sweep_at = (registry.entries.len() * 2).max(64);
        }
        registry.next_id += 1;
        let id = registry.next_id;
        registry.entries.insert(
            id,
            Entry {
                connection: Some(connection),
                task: None,
            },
        );
    }

    fn unregister(&self, id: u64) {
        lock(&self.registry).entries.remove(&id);
    }

    /// Close every connection at once (their handlers see `Error::Closed`);
    /// with `abort`, also stop the handler tasks.
    fn force_close_all(&self, abort: bool) {
        let entries: Vec<(WeakConnection, Option<AbortHandle>)> = lock(&self.registry)
            .entries
            .values()
            .map(|entry| (entry.connection.clone(), entry.task.clone()))
            .collect();
        for (connection, task) in entries {
            if let Some(connection) = connection.and_then(|c| c.upgrade()) {
                connection.close_because(ConnectionEvents::SERVER_SHUT_DOWN);
            }
            if let Some(task) = task.filter(|_| abort) {
                task.abort();
            }
        }
    }

    async fn wait_tasks_done(&self) {
        loop {
            if self.tasks.load(Ordering::Acquire) == 0 {
                return;
            }
            let listener = self.tasks_done.listen();
            if self.tasks.load(Ordering::Acquire) == 0 {
                return;
            }
            listener.await;
        }
    }

    /// Wait for the tasks to end, at most `limit`; whether they did.
    async fn tasks_done_within(&self, limit: Duration) -> bool {
        let Some(deadline) = Instant::now().checked_add(limit) else {
            self.wait_tasks_done().await;
            return true;
        };
        first(
            async {
                self.wait_tasks_done().await;
                true
            },
            async {
                R::sleep_until(deadline).await;
                false
            },
        )
        .await
    }
}

/// Counts a connection task; removes its registry entry when it ends
/// (normally, by a panic in its handler, or aborted).
struct TaskGuard<R: Runtime> {
    state: Arc<ServerState<R>>,
    id: u64,
}

impl<R: Runtime> Drop for TaskGuard<R> {
    fn drop(&mut self) {
        self.state.unregister(self.id);
        if self.state.tasks.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.state.tasks_done.notify(usize::MAX);
        }
    }
}

/// Stops a [`TcpServer`]: `Clone + Send + Sync`, usable from any thread or
/// task.
pub struct ShutdownHandle<R: Runtime> {
    state: Arc<ServerState<R>>,
}

impl<R: Runtime> Clone for ShutdownHandle<R> {
    fn clone(&self) -> Self {
        ShutdownHandle {
            state: self.state.clone(),
        }
    }
}

impl<R: Runtime> ShutdownHandle<R> {
    /// Stop the server; returns at once. It stops accepting and closes the
    /// listening sockets (new connections are refused, not left in the
    /// backlog), lets the running handlers finish within `grace`, then
    /// closes the connections that remain (their handlers see
    /// [`Error::Closed`]; handlers still running `ServerOptions::handler_stop_wait` later
    /// are aborted). [`TcpServer::serve`] returns once that is done — as
    /// soon as the handlers are finished. After shutdown,
    /// [`TcpServer::accept`] returns [`Error::Closed`]. A plain method: call
    /// it from anywhere. Only the first call's `grace` counts.
    pub fn shutdown(&self, grace: Duration) {
        {
            let mut shutdown = lock(&self.state.shutdown);
            if shutdown.is_some() {
                return;
            }
            *shutdown = Some(grace);
        }
        let listeners = lock(&self.state.listeners).take();
        drop(listeners);
        self.state.shutdown_requested.notify(usize::MAX);
    }

    /// Whether shutdown was asked for.
    pub fn is_shutdown(&self) -> bool {
        self.state.grace().is_some()
    }
}

impl<R: Runtime> fmt::Debug for ShutdownHandle<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShutdownHandle")
            .field("shutdown", &self.is_shutdown())
            .finish()
    }
}

/// A slot under `max_connections`, held for the connection's life.
type Slot = Option<SemaphoreGuardArc>;

impl<R: Runtime, P: Protocol> TcpServer<R, P> {
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
            resolved.extend(connect::resolve::<R>(&address.into_address()?).await?);
        }
        let (listeners, local_addrs) = listener::bind_all(resolved, options.backlog, |l| {
            l.set_nonblocking(true)?;
            R::listener(l)
        })?;
        Ok(TcpServer {
            local_addrs,
            protocol,
            setup: ConnectionSetup::server(&options),
            options,
            state: Arc::new(ServerState {
                listeners: Mutex::new(Some(listeners)),
                shutdown: Mutex::new(None),
                shutdown_requested: Event::new(),
                registry: Mutex::new(Registry::default()),
                tasks_done: Event::new(),
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
    pub fn shutdown_handle(&self) -> ShutdownHandle<R> {
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
    pub async fn accept(&self) -> Result<Connection<R, P>, Error> {
        let accepted = first(
            async {
                self.state.shutdown_requested().await;
                Err(Refused::Closed)
            },
            self.accept_stream(),
        )
        .await;
        let (stream, peer) = accepted.map_err(Refused::into_error)?;
        let connection = TcpClient::establish(stream, self.protocol.clone(), &self.setup)
            .await
            .inspect_err(|err| self.setup.reject(peer, err))?;
        let weak: Weak<dyn ForceClose> = Arc::downgrade(&connection.shared) as _;
        self.state.register(weak);
        Ok(connection)
    }

    /// Serve every connection with `handler`, each in a task of its own,
    /// until shutdown ([`shutdown_handle`](TcpServer::shutdown_handle)).
    ///
    /// Applies `max_connections` / `when_full` (`Wait`: further connections
    /// stay in the backlog until a slot frees up; `Refuse` — and one-client
    /// mode — accepts and closes them at once, emitting `Rejected`),
    /// `idle_timeout` (each connection's `recv_packet` fails with
    /// [`Error::Timeout`] of kind `Idle` and closes the connection when no
    /// packet completes within it, trickled bytes or not), and backs off
    /// [`ACCEPT_BACKOFF`] after transient accept errors (EMFILE, ...). An
    /// accepted connection whose setup (TLS handshake) fails is reported as
    /// `Rejected`. A handler that panics ends its own connection, not the
    /// server. Returns `Ok(())` after a shutdown, once every handler has
    /// finished or been stopped; an accept error that is not transient
    /// closes every connection and is returned.
    ///
    /// Cancel safety: dropping the future stops accepting; running handlers
    /// go on in their tasks, as after `accept`.
    pub async fn serve<H, Fut>(&self, handler: H) -> Result<(), Error>
    where
        H: Fn(Connection<R, P>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let handler = Arc::new(handler);
        let limit = self
            .options
            .max_connections
            .map(|max| (max, Arc::new(Semaphore::new(max))));
        let outcome: Result<(), Error> = loop {
            let mut slot: Slot = None;
            if let (Some((_, slots)), WhenFull::Wait) = (&limit, self.options.when_full) {
                let acquired = first(
                    async {
                        self.state.shutdown_requested().await;
                        None
                    },
                    async { Some(slots.acquire_arc().await) },
                )
                .await;
                match acquired {
                    Some(guard) => slot = Some(guard),
                    None => break Ok(()),
                }
            }
            let accepted = first(
                async {
                    self.state.shutdown_requested().await;
                    Err(Refused::Closed)
                },
                self.accept_stream(),
            )
            .await;
            let (stream, peer) = match accepted {
                Ok(accepted) => accepted,
                Err(Refused::Closed) => break Ok(()),
                Err(Refused::Failed(listener, source)) if is_transient_accept_error(&source) => {
                    self.options
                        .emit(ConnectionEvent::accept_failed(listener, &source));
                    let resume = Instant::now() + ACCEPT_BACKOFF;
                    let stop = first(
                        async {
                            self.state.shutdown_requested().await;
                            true
                        },
                        async {
                            R::sleep_until(resume).await;
                            false
                        },
                    )
                    .await;
                    if stop {
                        break Ok(());
                    }
                    continue;
                }
                Err(Refused::Failed(listener, source)) => {
                    self.options
                        .emit(ConnectionEvent::accept_failed(listener, &source));
                    break Err(Error::Io { peer: None, source });
                }
            };
            if let (Some((max, slots)), WhenFull::Refuse) = (&limit, self.options.when_full) {
                match slots.try_acquire_arc() {
                    Some(guard) => slot = Some(guard),
                    None => {
                        drop(stream);
                        self.options.emit(ConnectionEvent::server_full(peer, *max));
                        continue;
                    }
                }
            }
            self.spawn_connection(stream, slot, handler.clone());
        };
        let grace = match &outcome {
            Ok(()) => self.state.grace().unwrap_or_default(),
            Err(_) => Duration::ZERO,
        };
        let state = &self.state;
        if !state.tasks_done_within(grace).await {
            state.force_close_all(false);
            if !state
                .tasks_done_within(self.options.handler_stop_wait)
                .await
            {
                state.force_close_all(true);
                state.wait_tasks_done().await;
            }
        }
        state.force_close_all(false);
        outcome
    }

    fn spawn_connection<H, Fut>(&self, stream: R::Stream, slot: Slot, handler: Arc<H>)
    where
        H: Fn(Connection<R, P>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let state = self.state.clone();
        // The connection's setup sits in a box that is freed once the
        // connection is established (the handshake's future too), so that
        // an idle connection's task holds little more than the handler's
        // future.
        let start = Box::new((stream, self.protocol.clone(), self.setup.clone()));
        let (abort, registration) = AbortHandle::new_pair();
        // Hold the registry lock while registering so the task's guard
        // cannot remove the entry before it is filled in.
        let mut registry = lock(&self.state.registry);
        registry.next_id += 1;
        let id = registry.next_id;
        registry.entries.insert(
            id,
            Entry {
                connection: None,
                task: Some(abort),
            },
        );
        state.tasks.fetch_add(1, Ordering::AcqRel);
        let guard = TaskGuard {
            state: state.clone(),
            id,
        };
        drop(registry);
        let task = async move {
            let _guard = guard;
            let _slot = slot;
            let start = Box::pin(async move {
                let (stream, protocol, setup) = *start;
                let peer = stream_peer::<R>(&stream);
                let connection = match TcpClient::establish(stream, protocol, &setup).await {
                    Ok(connection) => connection,
                    Err(err) => {
                        if let Some(peer) = peer {
                            setup.reject(peer, &err);
                        }
                        return None;
                    }
                };
                if let Some(entry) = lock(&state.registry).entries.get_mut(&id) {
                    let weak: Weak<dyn ForceClose> = Arc::downgrade(&connection.shared) as _;
                    entry.connection = Some(weak);
                }
                Some(Box::pin(handler(connection)))
            });
            if let Some(handling) = start.await {
                // A panicking handler ends its connection (dropped during
                // the unwind), not the server or the runtime's thread.
                let _ = AssertUnwindSafe(handling).catch_unwind().await;
            }
        };
        R::spawn(Abortable::new(task, registration).map(|_| ()));
    }

    /// The next connection from any listener (`Refused::Closed` once
    /// shutdown has closed them).
    async fn accept_stream(&self) -> Result<(R::Stream, SocketAddr), Refused> {
        let start = self.next_listener.fetch_add(1, Ordering::Relaxed);
        poll_fn(|cx| {
            let listeners = lock(&self.state.listeners);
            let Some(listeners) = listeners.as_ref() else {
                return Poll::Ready(Err(Refused::Closed));
            };
            let count = listeners.len();
            for i in 0..count {
                let at = (start + i) % count;
                if let Poll::Ready(result) = listeners[at].poll_accept(cx) {
                    return Poll::Ready(
                        result.map_err(|source| Refused::Failed(self.local_addrs[at], source)),
                    );
                }
            }
            Poll::Pending
        })
        .await
    }
}

/// Why no connection came out of an accept.
enum Refused {
    /// Shutdown closed the listeners.
    Closed,
    /// Accepting on this listener failed.
    Failed(SocketAddr, std::io::Error),
}

impl Refused {
    fn into_error(self) -> Error {
        match self {
            Refused::Closed => Error::Closed,
            Refused::Failed(_, source) => Error::Io { peer: None, source },
        }
    }
}

/// The peer of an accepted stream, for a `Rejected` event.
fn stream_peer<R: Runtime>(stream: &R::Stream) -> Option<SocketAddr> {
    use crate::rt::AsyncStream;
    stream.sock_ref().peer_addr().ok()?.as_socket()
}

impl<R: Runtime, P: Protocol> fmt::Debug for TcpServer<R, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpServer")
            .field("local_addrs", &self.local_addrs)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}
