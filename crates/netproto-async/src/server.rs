//! The server: bind, accept, serve with a task per connection. Admission,
//! the registry, accept back-off and the shutdown plan are the core's
//! [`Lifecycle`]; this file accepts, spawns and sleeps.

use std::fmt;
use std::future::{Future, poll_fn};
use std::marker::PhantomData;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::Poll;
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use futures_util::future::{AbortHandle, Abortable};
use netproto_core::addr::{PeerAddr, StreamFamily, Tcp};
use netproto_core::driver::endpoint::ConnectionSetup;
use netproto_core::driver::server::{Lifecycle, Reserve, Served, ShutdownHandle, Slot};
use netproto_core::options::{IntoAddress, ServerOptions};
use netproto_core::{Error, Protocol};
use netproto_socket::listener::{self, BindTarget};
use netproto_socket::socket2::SockRef;

use crate::client::{StreamClient, TcpClient};
use crate::connect;
use crate::handle::ConnectionHandle;
use crate::handler::{self, RequestHandler};
use crate::io::{Shared, first};
use crate::rt::{AsyncListener, Runtime};

/// A connection accepted by a [`TcpServer`]: the whole client API, with
/// the server's options (idle timeout, buffer sizes, events) applied.
pub type Connection<R, P> = TcpClient<R, P>;

/// A server for protocol `P` on runtime `R` over the stream transport `T`:
/// [`Tcp`] (`TcpServer`, TCP and TLS over it) or, on Unix, `Unix`
/// (`UnixStreamServer`); only `bind` and the address types differ.
///
/// [`serve`](StreamServer::serve) runs a handler for each connection in a
/// task of its own (on the runtime's worker threads, so a server uses
/// every core and one slow handler stalls no other connection), within the
/// limits of the [`ServerOptions`]; [`accept`](StreamServer::accept) is the
/// low-level alternative for running your own loop. A [`ShutdownHandle`]
/// stops it gracefully.
pub struct StreamServer<R: Runtime, P: Protocol, T: StreamFamily = Tcp> {
    local_addrs: Vec<T::Addr>,
    protocol: P,
    options: ServerOptions,
    setup: ConnectionSetup,
    /// The listening sockets; taken (closed) by shutdown, so that new
    /// connections are refused rather than left in the backlog.
    listeners: Arc<Mutex<Option<Bound<R::Listener>>>>,
    lifecycle: Arc<Lifecycle<Entry<R, P>>>,
    next_listener: AtomicUsize,
    family: PhantomData<T>,
}

/// A TCP (or TLS) server on runtime `R`.
pub type TcpServer<R, P> = StreamServer<R, P, Tcp>;

/// The listening sockets; on Unix, with the socket files they remove when
/// they are closed.
struct Bound<L> {
    listeners: Vec<L>,
    #[cfg(unix)]
    _files: Vec<netproto_socket::unix::SocketFile>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// A served connection in the server's registry: its task (to abort) and,
/// once it is established, the connection (to close, list and reach).
struct Entry<R: Runtime, P: Protocol> {
    connection: Option<Weak<Shared<R, P>>>,
    task: Option<AbortHandle>,
}

impl<R: Runtime, P: Protocol> Clone for Entry<R, P> {
    fn clone(&self) -> Self {
        Entry {
            connection: self.connection.clone(),
            task: self.task.clone(),
        }
    }
}

impl<R: Runtime, P: Protocol> Served for Entry<R, P> {
    fn force_close(&self, reason: &str) {
        if let Some(connection) = self.connection.as_ref().and_then(Weak::upgrade) {
            connection.force_close(Some(reason));
        }
    }

    fn abort(&self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }

    fn is_alive(&self) -> bool {
        self.connection
            .as_ref()
            .is_some_and(|connection| connection.strong_count() > 0)
    }
}

impl<R: Runtime, P: Protocol> StreamServer<R, P, Tcp> {
    /// Bind `address` (a host name may resolve to several addresses: all
    /// are bound; port 0 picks a free port, see
    /// [`local_addrs`](StreamServer::local_addrs)).
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
        let mut targets = Vec::new();
        for address in addresses {
            let address = address.into_address()?;
            match BindTarget::of(&address) {
                Some(all) => targets.push(all),
                None => targets.extend(
                    connect::resolve::<R>(&address)
                        .await?
                        .into_iter()
                        .map(BindTarget::Addr),
                ),
            }
        }
        let (listeners, local_addrs) = listener::bind_all(targets, &options, |l| {
            l.set_nonblocking(true)?;
            R::listener(l)
        })?;
        let bound = Bound {
            listeners,
            #[cfg(unix)]
            _files: Vec::new(),
        };
        Ok(Self::serving(bound, local_addrs, protocol, options))
    }
}

impl<R: Runtime, P: Protocol, T: StreamFamily> StreamServer<R, P, T> {
    /// A server on bound, listening sockets.
    fn serving(
        bound: Bound<R::Listener>,
        local_addrs: Vec<T::Addr>,
        protocol: P,
        options: ServerOptions,
    ) -> Self {
        let listeners = Arc::new(Mutex::new(Some(bound)));
        let lifecycle = Lifecycle::new(&options, listener::fd_limit(), true);
        let closing = listeners.clone();
        // Closing a Unix listener removes its socket file.
        lifecycle.on_shutdown(move || drop(lock(&closing).take()));
        StreamServer {
            local_addrs,
            protocol,
            setup: ConnectionSetup::server(&options),
            options,
            listeners,
            lifecycle,
            next_listener: AtomicUsize::new(0),
            family: PhantomData,
        }
    }

    /// The real bound addresses.
    pub fn local_addrs(&self) -> Vec<T::Addr> {
        self.local_addrs.clone()
    }

    /// A handle that stops [`serve`](StreamServer::serve) (and makes pending
    /// and later [`accept`](StreamServer::accept) calls fail with
    /// [`Error::Closed`]).
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.lifecycle.shutdown_handle()
    }

    /// Read or change the listening sockets' options (socket2's
    /// `SockRef`: buffer sizes, TTL, ...) while the server is bound, one
    /// per address of [`local_addrs`](StreamServer::local_addrs); `f` gets
    /// none once shutdown has closed them.
    pub fn with_listener_sockets<O>(&self, f: impl FnOnce(&[SockRef<'_>]) -> O) -> O {
        let listeners = lock(&self.listeners);
        let sockets: Vec<SockRef<'_>> = listeners
            .iter()
            .flat_map(|bound| &bound.listeners)
            .map(|l| l.sock_ref())
            .collect();
        f(&sockets)
    }

    /// Whether [`serve`](StreamServer::serve) is running and no shutdown was
    /// asked for.
    pub fn is_serving(&self) -> bool {
        self.lifecycle.is_serving()
    }

    /// The connection limit in force: `options.max_connections`, or the
    /// one derived from the file-descriptor limit
    /// ([`auto_connection_limit`](netproto_core::options::auto_connection_limit)).
    pub fn max_connections(&self) -> usize {
        self.lifecycle.max_connections()
    }

    /// The connections being served (and those from
    /// [`accept`](StreamServer::accept) that are still open), as handles that
    /// send to them or close them from any task.
    pub fn connections(&self) -> Vec<ConnectionHandle<R, P, T>> {
        self.lifecycle
            .handles()
            .into_iter()
            .filter_map(|entry| {
                let weak = entry.connection?;
                let shared = weak.upgrade()?;
                (!shared.conn.is_closed()).then(|| ConnectionHandle {
                    peer: T::addr(shared.conn.peer_addr()),
                    local: T::addr(shared.conn.local_addr()),
                    shared: weak,
                    family: PhantomData,
                })
            })
            .collect()
    }

    /// Send `packet` to every connection of
    /// [`connections`](StreamServer::connections) (concurrently), each send
    /// bounded by `timeout` (`None`: as long as it takes); the connections
    /// it could not be sent to, with why (empty: every connection took it).
    ///
    /// Cancel safety: as `send_packet`, for each connection.
    pub async fn broadcast(
        &self,
        packet: &P::Sent,
        timeout: impl Into<Option<Duration>>,
    ) -> Vec<(T::Addr, Error)> {
        let timeout = timeout.into();
        let connections = self.connections();
        let sends = connections.iter().map(|connection| async move {
            let sent = match timeout {
                Some(timeout) => connection.send_packet_timeout(packet, timeout).await,
                None => connection.send_packet(packet).await,
            };
            sent.err().map(|err| (connection.peer_addr(), err))
        });
        futures_util::future::join_all(sends)
            .await
            .into_iter()
            .flatten()
            .collect()
    }

    /// Accept one connection (TLS handshake done, `Connected` emitted), for
    /// users who run their own loop. Limits are not applied here; the
    /// connection is closed by a shutdown after its grace period. A
    /// connection whose setup (TLS handshake) fails is reported as
    /// `Rejected` and returned as the error.
    ///
    /// Cancel safety: cancel safe while waiting for a connection; a future
    /// dropped during the TLS handshake drops that connection.
    pub async fn accept(&self) -> Result<StreamClient<R, P, T>, Error> {
        let accepted = first(
            async {
                self.shutdown_requested().await;
                Err(Refused::Closed)
            },
            self.accept_stream(),
        )
        .await;
        let (stream, peer) = accepted.map_err(Refused::into_error)?;
        let connection = StreamClient::establish(stream, self.protocol.clone(), &self.setup)
            .await
            .inspect_err(|err| self.setup.reject(peer, err))?;
        self.lifecycle.register_accepted(Entry {
            connection: Some(Arc::downgrade(&connection.shared)),
            task: None,
        });
        Ok(connection)
    }

    /// Serve every connection with `handler`, each in a task of its own,
    /// until shutdown ([`shutdown_handle`](StreamServer::shutdown_handle)).
    ///
    /// Applies the connection limit ([`max_connections`](StreamServer::max_connections))
    /// and `when_full` (`Wait`: further connections stay in the backlog
    /// until a slot frees up; `Refuse` — and one-client mode — accepts and
    /// closes them at once, emitting `Rejected`), `idle_timeout` (each
    /// connection's `recv_packet` fails with [`Error::Timeout`] of kind
    /// `Idle` and closes the connection when no packet completes within
    /// it, trickled bytes or not), and backs off after transient accept
    /// errors (EMFILE, ...: an `AcceptFailed` event with the back-off,
    /// doubling from `ACCEPT_BACKOFF_MIN` to `ACCEPT_BACKOFF_MAX` while the
    /// errors go on). An accepted connection whose setup (TLS handshake)
    /// fails is reported as `Rejected`. A handler that panics ends its own
    /// connection, not the server. Returns `Ok(())` after a shutdown, once
    /// every handler has finished or been stopped; an accept error that is
    /// not transient closes every connection and is returned.
    ///
    /// Cancel safety: dropping the future stops accepting; running handlers
    /// go on in their tasks, as after `accept`.
    pub async fn serve<H, Fut>(&self, handler: H) -> Result<(), Error>
    where
        H: Fn(StreamClient<R, P, T>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let handler = Arc::new(handler);
        self.lifecycle.set_serving(true);
        let outcome = self.accept_loop(&handler).await;
        while let Some((changed, until)) = self.lifecycle.poll_shutdown(Instant::now()) {
            match until {
                Some(at) => first(changed, R::sleep_until(at)).await,
                None => changed.await,
            }
        }
        self.lifecycle.set_serving(false);
        outcome
    }

    /// Serve with a [`RequestHandler`]: `service_init`, then as
    /// [`serve`](StreamServer::serve) with each connection run through
    /// `on_connection`, `handle` and `on_disconnection` (which runs however
    /// the connection ended, its task stopped by a shutdown included), then
    /// `service_quit` once serving is over.
    ///
    /// Cancel safety: as `serve`; `service_quit` does not run when the
    /// future is dropped.
    pub async fn serve_with<H: RequestHandler<StreamClient<R, P, T>>>(
        &self,
        handler: H,
    ) -> Result<(), Error> {
        handler.service_init().await?;
        let handler = Arc::new(handler);
        let serving = handler.clone();
        let result = self
            .serve(move |conn| {
                let handler = serving.clone();
                async move { handler::run(&*handler, conn).await }
            })
            .await;
        handler.service_quit().await;
        result
    }

    async fn accept_loop<H, Fut>(&self, handler: &Arc<H>) -> Result<(), Error>
    where
        H: Fn(StreamClient<R, P, T>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        loop {
            let reserved = match self.lifecycle.reserve() {
                Reserve::Accept(reserved) => reserved,
                Reserve::Full(changed) => {
                    changed.await;
                    continue;
                }
                Reserve::ShutDown => return Ok(()),
            };
            let accepted = first(
                async {
                    self.shutdown_requested().await;
                    Err(Refused::Closed)
                },
                self.accept_stream(),
            )
            .await;
            let (stream, peer) = match accepted {
                Ok(accepted) => accepted,
                Err(Refused::Closed) => return Ok(()),
                Err(Refused::Failed(listener, source)) => {
                    drop(reserved);
                    let Some(resume) =
                        self.lifecycle
                            .accept_failed(listener, &source, Instant::now())
                    else {
                        return Err(Error::Io { peer: None, source });
                    };
                    let stop = first(
                        async {
                            self.shutdown_requested().await;
                            true
                        },
                        async {
                            R::sleep_until(resume).await;
                            false
                        },
                    )
                    .await;
                    if stop {
                        return Ok(());
                    }
                    continue;
                }
            };
            match self.lifecycle.admit(peer, reserved) {
                Some(slot) => self.spawn_connection(stream, slot, handler.clone()),
                None => drop(stream),
            }
        }
    }

    /// Complete once shutdown is asked for.
    async fn shutdown_requested(&self) {
        while let Err(changed) = self.lifecycle.shutdown_requested() {
            changed.await;
        }
    }

    fn spawn_connection<H, Fut>(&self, stream: R::Stream, slot: Slot<Entry<R, P>>, handler: Arc<H>)
    where
        H: Fn(StreamClient<R, P, T>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        // The connection's setup sits in a box that is freed once the
        // connection is established (the handshake's future too), so that
        // an idle connection's task holds little more than the handler's
        // future.
        let start = Box::new((stream, self.protocol.clone(), self.setup.clone()));
        let (abort, registration) = AbortHandle::new_pair();
        slot.set(Entry {
            connection: None,
            task: Some(abort),
        });
        let task = async move {
            // Dropped when the task ends (normally, by a panic in its
            // handler, or aborted): frees the connection's place.
            let slot = slot;
            let start = Box::pin(async {
                let (stream, protocol, setup) = *start;
                let peer = stream_peer::<R>(&stream);
                let connection = match StreamClient::establish(stream, protocol, &setup).await {
                    Ok(connection) => connection,
                    Err(err) => {
                        if let Some(peer) = peer {
                            setup.reject(peer, &err);
                        }
                        return None;
                    }
                };
                let weak = Arc::downgrade(&connection.shared);
                slot.update(|entry| entry.connection = Some(weak));
                Some(Box::pin(handler(connection)))
            });
            if let Some(handling) = start.await {
                // A panicking handler ends its connection (dropped during
                // the unwind), not the server or the runtime's thread.
                let _ = AssertUnwindSafe(handling).catch_unwind().await;
            }
            drop(slot);
        };
        R::spawn(Abortable::new(task, registration).map(|_| ()));
    }

    /// The next connection from any listener (`Refused::Closed` once
    /// shutdown has closed them).
    async fn accept_stream(&self) -> Result<(R::Stream, PeerAddr), Refused> {
        let start = self.next_listener.fetch_add(1, Ordering::Relaxed);
        poll_fn(|cx| {
            let listeners = lock(&self.listeners);
            let Some(Bound { listeners, .. }) = listeners.as_ref() else {
                return Poll::Ready(Err(Refused::Closed));
            };
            let count = listeners.len();
            for i in 0..count {
                let at = (start + i) % count;
                if let Poll::Ready(result) = listeners[at].poll_accept(cx) {
                    return Poll::Ready(result.map_err(|source| {
                        Refused::Failed(self.local_addrs[at].clone().into(), source)
                    }));
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
    Failed(PeerAddr, std::io::Error),
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
fn stream_peer<R: Runtime>(stream: &R::Stream) -> Option<PeerAddr> {
    use crate::rt::AsyncStream;
    netproto_socket::stream_addr(&stream.sock_ref().peer_addr().ok()?).ok()
}

impl<R: Runtime, P: Protocol, T: StreamFamily> fmt::Debug for StreamServer<R, P, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamServer")
            .field("local_addrs", &self.local_addrs)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

#[cfg(unix)]
mod unix {
    use netproto_core::addr::{Unix, UnixAddr};

    use super::*;

    /// A Unix stream server on runtime `R` (Unix only).
    #[cfg_attr(docsrs, doc(cfg(unix)))]
    pub type UnixStreamServer<R, P> = StreamServer<R, P, Unix>;

    /// Unix stream sockets (Unix only).
    #[cfg_attr(docsrs, doc(cfg(unix)))]
    impl<R: Runtime, P: Protocol> StreamServer<R, P, Unix> {
        /// Bind the Unix socket `address` (a path, or a [`UnixAddr`] in
        /// Linux's abstract namespace) with `options.backlog`. A socket
        /// file left at the path by a server that is gone is removed
        /// first; one a live server listens on is an error of kind
        /// `AddrInUse`; anything else at the path is never removed (an
        /// error says what is there). The server removes its own socket
        /// file when it shuts down or is dropped. A path longer than
        /// `sun_path` takes is [`Error::Config`], naming the path and the
        /// limit.
        ///
        /// The socket file gets the process's umask; set its permissions
        /// (`std::fs::set_permissions` on the path) to choose who may
        /// connect. The TCP options (`nodelay`, `keepalive`, `reuse_port`)
        /// do not apply.
        pub async fn bind(
            address: impl Into<UnixAddr>,
            protocol: P,
            options: ServerOptions,
        ) -> Result<Self, Error> {
            let address = address.into();
            let named = PeerAddr::Unix(address.clone());
            let (socket, file) = netproto_socket::unix::bind(&address, options.backlog)?;
            let listener = socket
                .set_nonblocking(true)
                .and_then(|()| R::unix_listener(socket.into()))
                .map_err(|source| Error::Io {
                    peer: Some(named),
                    source,
                })?;
            let bound = Bound {
                listeners: vec![listener],
                _files: vec![file],
            };
            Ok(Self::serving(bound, vec![address], protocol, options))
        }
    }
}

#[cfg(unix)]
pub use unix::UnixStreamServer;
