//! The blocking server: one accept thread per listening socket, one thread
//! per connection.

use std::collections::HashMap;
use std::fmt;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::thread;
use std::time::{Duration, Instant};

use netproto_core::Error;
use netproto_core::endpoint::{ConnectionEvents, ConnectionSetup};
use netproto_core::options::{
    ACCEPT_BACKOFF, ConnectionEvent, IntoAddress, ServerOptions, WhenFull,
    is_transient_accept_error,
};
use netproto_core::protocol::Protocol;
use netproto_socket::connect::resolve;
use netproto_socket::listener;

use crate::client::TcpClient;
use crate::inner::{Inner, lock};

/// A connection accepted by a [`TcpServer`]: the whole client API, plus its
/// local and peer addresses.
pub type Connection<P> = TcpClient<P>;

/// State shared by the server, its accept threads and shutdown handles.
struct Shared {
    shutdown: AtomicBool,
    state: Mutex<State>,
    changed: Condvar,
}

struct State {
    /// The listening sockets, until shutdown closes them.
    listeners: Vec<Arc<TcpListener>>,
    /// The grace period given to `shutdown`.
    grace: Duration,
    /// Connections being served (handshaking or in their handler).
    active: usize,
    /// A fatal accept error, returned by `serve`.
    fatal: Option<Error>,
}

impl Shared {
    fn is_shutdown(&self) -> bool {
        self.shutdown.load(Ordering::SeqCst)
    }

    fn shutdown(&self, grace: Duration) {
        let listeners = {
            let mut state = lock(&self.state);
            if self.shutdown.swap(true, Ordering::SeqCst) {
                return;
            }
            state.grace = grace;
            std::mem::take(&mut state.listeners)
        };
        for listener in &listeners {
            listener::wake_accept(listener);
        }
        self.changed.notify_all();
    }
}

/// Stops a [`TcpServer`] from any thread.
#[derive(Clone)]
pub struct ShutdownHandle {
    shared: Arc<Shared>,
}

impl fmt::Debug for ShutdownHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShutdownHandle")
            .field("shutdown", &self.shared.is_shutdown())
            .finish()
    }
}

impl ShutdownHandle {
    /// Stop accepting (the listening sockets close, so new connections are
    /// refused), let handlers finish within `grace`, then close the
    /// connections that remain. Returns at once; [`TcpServer::serve`]
    /// returns once all that is done. Calling it again has no effect.
    pub fn shutdown(&self, grace: Duration) {
        self.shared.shutdown(grace);
    }

    /// Whether shutdown was asked for.
    pub fn is_shutdown(&self) -> bool {
        self.shared.is_shutdown()
    }
}

/// A TCP (or TLS) server for packets of protocol `P`.
///
/// See the [crate documentation](crate) for an example.
pub struct TcpServer<P: Protocol> {
    protocol: P,
    options: ServerOptions,
    setup: ConnectionSetup,
    addrs: Vec<SocketAddr>,
    shared: Arc<Shared>,
}

impl<P: Protocol> fmt::Debug for TcpServer<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpServer")
            .field("addrs", &self.addrs)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl<P: Protocol> TcpServer<P> {
    /// Bind `address` (a host name binds every address it resolves to; port
    /// 0 picks a free port).
    pub fn bind(
        address: impl IntoAddress,
        protocol: P,
        options: ServerOptions,
    ) -> Result<Self, Error> {
        Self::bind_all([address], protocol, options)
    }

    /// Bind several addresses.
    pub fn bind_all<A: IntoAddress>(
        addresses: impl IntoIterator<Item = A>,
        protocol: P,
        options: ServerOptions,
    ) -> Result<Self, Error> {
        let mut resolved = Vec::new();
        for address in addresses {
            resolved.extend(resolve(&address.into_address()?)?);
        }
        let (listeners, addrs) =
            listener::bind_all(resolved, options.backlog, |l| Ok(Arc::new(l)))?;
        Ok(TcpServer {
            protocol,
            setup: ConnectionSetup::server(&options),
            options,
            addrs,
            shared: Arc::new(Shared {
                shutdown: AtomicBool::new(false),
                state: Mutex::new(State {
                    listeners,
                    grace: Duration::ZERO,
                    active: 0,
                    fatal: None,
                }),
                changed: Condvar::new(),
            }),
        })
    }

    /// The bound addresses, with the real ports.
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.addrs.clone()
    }

    /// A handle that shuts the server down from any thread.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle {
            shared: self.shared.clone(),
        }
    }

    /// Accept one connection (TLS handshake done), for users who run their
    /// own loop. The connection limits are `serve`'s business; the idle
    /// timeout and the TCP and TLS options apply here too. A connection
    /// whose setup (TLS handshake) fails is reported as
    /// [`ConnectionEvent::Rejected`] and returned as the error. An accept
    /// error is returned as it is
    /// ([`is_transient_accept_error`](netproto_core::options::is_transient_accept_error)
    /// tells those worth retrying after [`ACCEPT_BACKOFF`]). After shutdown:
    /// [`Error::Closed`].
    ///
    /// [`ACCEPT_BACKOFF`]: netproto_core::options::ACCEPT_BACKOFF
    pub fn accept(&self) -> Result<Connection<P>, Error> {
        let listeners = lock(&self.shared.state).listeners.clone();
        loop {
            if self.shared.is_shutdown() || listeners.is_empty() {
                return Err(Error::Closed);
            }
            let accepted = if let [only] = listeners.as_slice() {
                only.accept()
            } else {
                accept_any(&listeners)
            };
            match accepted {
                Ok(_) if self.shared.is_shutdown() => return Err(Error::Closed),
                Ok((stream, peer)) => return self.establish(stream, peer),
                Err(_) if self.shared.is_shutdown() => return Err(Error::Closed),
                // Nothing yet on any listener (accept_any polls), or a signal.
                Err(err)
                    if matches!(
                        err.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted
                    ) => {}
                Err(source) => return Err(Error::Io { peer: None, source }),
            }
        }
    }

    /// Set up an accepted stream; a failure is reported as `Rejected`.
    fn establish(&self, stream: TcpStream, peer: SocketAddr) -> Result<Connection<P>, Error> {
        TcpClient::establish(stream, self.protocol.clone(), &self.setup)
            .inspect_err(|err| self.setup.reject(peer, err))
    }

    /// Serve connections with `handler`, one thread per connection, until
    /// [`ShutdownHandle::shutdown`]; then wait for handlers within the grace
    /// period, close the connections that remain and return.
    ///
    /// Applies `max_connections` (with [`WhenFull::Wait`] further clients
    /// wait in the backlog; with [`WhenFull::Refuse`] they are accepted and
    /// closed at once, emitting [`ConnectionEvent::Rejected`]) and the idle
    /// timeout. Transient accept errors (EMFILE, ...) back off and go on. An
    /// accepted connection whose setup (TLS handshake) fails is reported as
    /// `Rejected`.
    pub fn serve<H>(&self, handler: H) -> Result<(), Error>
    where
        H: Fn(Connection<P>) + Send + Sync + 'static,
    {
        let handler = Arc::new(handler);
        let registry: Arc<Mutex<Registry<P>>> = Arc::default();
        let listeners = lock(&self.shared.state).listeners.clone();
        let accept_threads: Vec<_> = listeners
            .into_iter()
            .map(|listener| {
                let server = self.clone_for_thread();
                let (handler, registry) = (handler.clone(), registry.clone());
                thread::Builder::new()
                    .name("netproto-accept".into())
                    .spawn(move || server.accept_loop(&listener, handler, registry))
                    .expect("spawn an accept thread")
            })
            .collect();
        drop(handler);

        // Wait for shutdown.
        let mut state = lock(&self.shared.state);
        while !self.shared.is_shutdown() {
            state = self
                .shared
                .changed
                .wait(state)
                .unwrap_or_else(|p| p.into_inner());
        }
        drop(state);
        for thread in accept_threads {
            let _ = thread.join();
        }
        // Grace period, then force-close what remains.
        let grace = lock(&self.shared.state).grace;
        if !self.wait_idle(grace) {
            for inner in lock(&registry).values().filter_map(Weak::upgrade) {
                inner.close_because(ConnectionEvents::SERVER_SHUT_DOWN);
            }
            self.wait_idle(self.options.handler_stop_wait);
        }
        match lock(&self.shared.state).fatal.take() {
            Some(err) => Err(err),
            None => Ok(()),
        }
    }

    /// Wait until no connection is active, at most `limit`.
    fn wait_idle(&self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        let mut state = lock(&self.shared.state);
        while state.active > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            state = self
                .shared
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        true
    }

    fn clone_for_thread(&self) -> Arc<Self> {
        Arc::new(TcpServer {
            protocol: self.protocol.clone(),
            options: self.options.clone(),
            setup: self.setup.clone(),
            addrs: self.addrs.clone(),
            shared: self.shared.clone(),
        })
    }

    fn accept_loop<H>(
        self: Arc<Self>,
        listener: &TcpListener,
        handler: Arc<H>,
        registry: Arc<Mutex<Registry<P>>>,
    ) where
        H: Fn(Connection<P>) + Send + Sync + 'static,
    {
        let max = self.options.max_connections;
        loop {
            if let (Some(max), WhenFull::Wait) = (max, self.options.when_full) {
                // Leave further clients in the backlog until a slot frees.
                let mut state = lock(&self.shared.state);
                while state.active >= max && !self.shared.is_shutdown() {
                    state = self
                        .shared
                        .changed
                        .wait(state)
                        .unwrap_or_else(|p| p.into_inner());
                }
            }
            if self.shared.is_shutdown() {
                return;
            }
            let (stream, peer) = match listener.accept() {
                Ok(_) | Err(_) if self.shared.is_shutdown() => return,
                Ok(accepted) => accepted,
                Err(err) if is_transient_accept_error(&err) => {
                    self.accept_failed(listener, &err);
                    thread::sleep(ACCEPT_BACKOFF);
                    continue;
                }
                Err(source) => {
                    self.accept_failed(listener, &source);
                    lock(&self.shared.state).fatal = Some(Error::Io { peer: None, source });
                    self.shared.shutdown(Duration::ZERO);
                    return;
                }
            };
            {
                let mut state = lock(&self.shared.state);
                if let Some(max) = max.filter(|&max| state.active >= max) {
                    drop(state);
                    let _ = stream.shutdown(Shutdown::Both);
                    drop(stream);
                    self.options.emit(ConnectionEvent::server_full(peer, max));
                    continue;
                }
                state.active += 1;
            }
            let server = self.clone();
            let (handler, registry) = (handler.clone(), registry.clone());
            let spawned = thread::Builder::new()
                .name(format!("netproto-conn-{peer}"))
                .spawn(move || server.serve_connection(stream, peer, &*handler, &registry));
            if let Err(err) = spawned {
                // The stream went down with the closure: say so.
                self.options.emit(ConnectionEvent::cannot_serve(peer, &err));
                self.release();
            }
        }
    }

    /// Report an accept error on `listener` (the back-off, or that the
    /// server stops).
    fn accept_failed(&self, listener: &TcpListener, err: &std::io::Error) {
        if let Ok(addr) = listener.local_addr() {
            self.options.emit(ConnectionEvent::accept_failed(addr, err));
        }
    }

    fn serve_connection<H>(
        &self,
        stream: TcpStream,
        peer: SocketAddr,
        handler: &H,
        registry: &Mutex<Registry<P>>,
    ) where
        H: Fn(Connection<P>) + Send + Sync + 'static,
    {
        if let Ok(conn) = self.establish(stream, peer) {
            let key = Arc::as_ptr(conn.inner()) as usize;
            lock(registry).insert(key, Arc::downgrade(conn.inner()));
            if self.shared.is_shutdown() {
                conn.inner()
                    .close_because(ConnectionEvents::SERVER_SHUT_DOWN);
            }
            // A panicking handler ends its connection, not the server.
            let _ = catch_unwind(AssertUnwindSafe(|| handler(conn)));
            lock(registry).remove(&key);
        }
        self.release();
    }

    fn release(&self) {
        lock(&self.shared.state).active -= 1;
        self.shared.changed.notify_all();
    }
}

type Registry<P> = HashMap<usize, Weak<Inner<P>>>;

/// Accept from whichever of several listeners has a client (polling them
/// without blocking; a short sleep between rounds).
fn accept_any(listeners: &[Arc<TcpListener>]) -> std::io::Result<(TcpStream, SocketAddr)> {
    for listener in listeners {
        listener.set_nonblocking(true)?;
        let accepted = listener.accept();
        listener.set_nonblocking(false)?;
        match accepted {
            Ok((stream, peer)) => {
                stream.set_nonblocking(false)?;
                return Ok((stream, peer));
            }
            Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(err) => return Err(err),
        }
    }
    thread::sleep(Duration::from_millis(10));
    Err(std::io::ErrorKind::WouldBlock.into())
}
