//! The blocking server: one accept thread per listening socket, one thread
//! per connection. Admission, the registry, accept back-off and the
//! shutdown plan are the core's [`Lifecycle`]; this file accepts, spawns
//! and sleeps.

use std::fmt;
use std::marker::PhantomData;
use std::net::Shutdown;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, Weak};
use std::thread;
use std::time::{Duration, Instant};

use netproto_core::Error;
use netproto_core::addr::{PeerAddr, StreamFamily, Tcp};
use netproto_core::driver::endpoint::{ConnectionEvents, ConnectionSetup};
use netproto_core::driver::server::{Lifecycle, Listener, Reserve, Served, ShutdownHandle, Slot};
use netproto_core::options::{IntoAddress, ServerOptions};
use netproto_core::protocol::Protocol;
use netproto_socket::connect::resolve;
use netproto_socket::listener::{self, BindTarget};
use netproto_socket::socket2::{SockAddr, SockRef, Socket};

use crate::client::{StreamClient, TcpClient};
use crate::handle::ConnectionHandle;
use crate::handler::{self, RequestHandler};
use crate::inner::{Inner, lock};

/// A connection accepted by a [`TcpServer`]: the whole client API, plus its
/// local and peer addresses.
pub type Connection<P> = TcpClient<P>;

/// A connection in the server's registry.
struct Entry<P: Protocol>(Weak<Inner<P>>);

impl<P: Protocol> Clone for Entry<P> {
    fn clone(&self) -> Self {
        Entry(self.0.clone())
    }
}

impl<P: Protocol> Served for Entry<P> {
    fn force_close(&self, reason: &str) {
        if let Some(inner) = self.0.upgrade() {
            inner.close_because(reason);
        }
    }

    fn is_alive(&self) -> bool {
        self.0.strong_count() > 0
    }
}

/// A listening socket; on Unix, with the socket file it removes when
/// it is closed.
struct Bound {
    socket: Arc<Socket>,
    #[cfg(unix)]
    _file: Option<netproto_socket::unix::SocketFile>,
}

/// What the server shares with its accept and connection threads.
struct Shared<P: Protocol, T: StreamFamily> {
    protocol: P,
    setup: ConnectionSetup,
    addrs: Vec<T::Addr>,
    /// The listening sockets, until shutdown closes them.
    listeners: Arc<Mutex<Vec<Bound>>>,
    lifecycle: Arc<Lifecycle<Entry<P>>>,
    /// A fatal accept error, returned by `serve`.
    fatal: Mutex<Option<Error>>,
}

/// A server for packets of protocol `P` over the stream transport `T`:
/// [`TcpServer`] (TCP, and TLS over it) or, on Unix, `UnixStreamServer`.
/// Both are this type; only `bind` and the address types differ.
///
/// See the [crate documentation](crate) for an example.
pub struct StreamServer<P: Protocol, T: StreamFamily = Tcp> {
    options: ServerOptions,
    shared: Arc<Shared<P, T>>,
}

/// A TCP (or TLS) server for packets of protocol `P`.
pub type TcpServer<P> = StreamServer<P, Tcp>;

impl<P: Protocol, T: StreamFamily> fmt::Debug for StreamServer<P, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamServer")
            .field("addrs", &self.shared.addrs)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl<P: Protocol> StreamServer<P, Tcp> {
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
        let mut targets = Vec::new();
        for address in addresses {
            let address = address.into_address()?;
            match BindTarget::of(&address) {
                Some(all) => targets.push(all),
                None => targets.extend(resolve(&address)?.into_iter().map(BindTarget::Addr)),
            }
        }
        let (listeners, addrs) = listener::bind_all(targets, &options, |l| {
            Ok(Bound {
                socket: Arc::new(l.into()),
                #[cfg(unix)]
                _file: None,
            })
        })?;
        Ok(Self::serving(listeners, addrs, protocol, options))
    }
}

impl<P: Protocol, T: StreamFamily> StreamServer<P, T> {
    /// A server on bound, listening sockets.
    fn serving(
        listeners: Vec<Bound>,
        addrs: Vec<T::Addr>,
        protocol: P,
        options: ServerOptions,
    ) -> Self {
        let listeners = Arc::new(Mutex::new(listeners));
        let lifecycle = Lifecycle::new(&options, listener::fd_limit(), false);
        let closing = listeners.clone();
        lifecycle.on_shutdown(move || {
            // Closing a Unix listener removes its socket file.
            for bound in std::mem::take(&mut *lock(&closing)) {
                listener::wake_accept(&*bound.socket);
            }
        });
        StreamServer {
            shared: Arc::new(Shared {
                protocol,
                setup: ConnectionSetup::server(&options),
                addrs,
                listeners,
                lifecycle,
                fatal: Mutex::new(None),
            }),
            options,
        }
    }

    /// The bound addresses (TCP: with the real ports).
    pub fn local_addrs(&self) -> Vec<T::Addr> {
        self.shared.addrs.clone()
    }

    /// A handle that shuts the server down from any thread.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.shared.lifecycle.shutdown_handle()
    }

    /// Read or change the listening sockets' options (socket2's
    /// `SockRef`: buffer sizes, TTL, ...) while the server is bound, one
    /// per address of [`local_addrs`](TcpServer::local_addrs); `f` gets
    /// none once shutdown has closed them.
    pub fn with_listener_sockets<R>(&self, f: impl FnOnce(&[SockRef<'_>]) -> R) -> R {
        let listeners = lock(&self.shared.listeners);
        let sockets: Vec<SockRef<'_>> = listeners
            .iter()
            .map(|bound| SockRef::from(&*bound.socket))
            .collect();
        f(&sockets)
    }

    /// Whether [`serve`](TcpServer::serve) is running and no shutdown was
    /// asked for.
    pub fn is_serving(&self) -> bool {
        self.shared.lifecycle.is_serving()
    }

    /// The connection limit in force: `options.max_connections`, or the
    /// one derived from the file-descriptor limit
    /// ([`auto_connection_limit`](netproto_core::options::auto_connection_limit)).
    pub fn max_connections(&self) -> usize {
        self.shared.lifecycle.max_connections()
    }

    /// The connections being served (and those from
    /// [`accept`](TcpServer::accept) that are still open), as handles that
    /// send to them or close them from any thread.
    pub fn connections(&self) -> Vec<ConnectionHandle<P, T>> {
        self.shared
            .lifecycle
            .handles()
            .into_iter()
            .filter_map(|Entry(weak)| {
                let inner = weak.upgrade()?;
                (!inner.conn.is_closed()).then(|| ConnectionHandle {
                    peer: T::addr(inner.conn.peer_addr()),
                    local: T::addr(inner.conn.local_addr()),
                    inner: weak,
                    family: PhantomData,
                })
            })
            .collect()
    }

    /// Send `packet` to every connection of
    /// [`connections`](TcpServer::connections), each send bounded by
    /// `timeout` (`None`: as long as it takes); the connections it could not
    /// be sent to, with why (empty: every connection took it).
    pub fn broadcast(
        &self,
        packet: &P::Sent,
        timeout: impl Into<Option<Duration>>,
    ) -> Vec<(T::Addr, Error)> {
        let timeout = timeout.into();
        self.connections()
            .iter()
            .filter_map(|connection| {
                let sent = match timeout {
                    Some(timeout) => connection.send_packet_timeout(packet, timeout),
                    None => connection.send_packet(packet),
                };
                sent.err().map(|err| (connection.peer_addr(), err))
            })
            .collect()
    }

    /// Accept one connection (TLS handshake done), for users who run their
    /// own loop. The connection limits are `serve`'s business; the idle
    /// timeout and the TCP and TLS options apply here too. A connection
    /// whose setup (TLS handshake) fails is reported as
    /// [`ConnectionEvent::Rejected`](netproto_core::options::ConnectionEvent::Rejected)
    /// and returned as the error. An accept error is returned as it is
    /// ([`is_transient_accept_error`](netproto_core::options::is_transient_accept_error)
    /// tells those worth retrying). After shutdown: [`Error::Closed`].
    pub fn accept(&self) -> Result<StreamClient<P, T>, Error> {
        let shared = &self.shared;
        let listeners = shared.sockets();
        loop {
            if shared.lifecycle.is_shutdown() || listeners.is_empty() {
                return Err(Error::Closed);
            }
            let accepted = if let [only] = listeners.as_slice() {
                only.accept()
            } else {
                accept_any(&listeners)
            };
            match accepted {
                Ok(_) if shared.lifecycle.is_shutdown() => return Err(Error::Closed),
                Ok((stream, peer)) => {
                    let connection = shared.establish(stream, peer_of(&peer))?;
                    shared
                        .lifecycle
                        .register_accepted(Entry(Arc::downgrade(connection.inner())));
                    return Ok(connection);
                }
                Err(_) if shared.lifecycle.is_shutdown() => return Err(Error::Closed),
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

    /// Serve connections with `handler`, one thread per connection, until
    /// [`ShutdownHandle::shutdown`]; then wait for handlers within the grace
    /// period, close the connections that remain, wait at most
    /// `handler_stop_wait` more for their handlers, and return.
    ///
    /// Applies the connection limit ([`max_connections`](TcpServer::max_connections))
    /// (with `WhenFull::Wait` further clients wait in the backlog; with
    /// `WhenFull::Refuse` they are accepted and closed at once, emitting
    /// `Rejected`) and the idle timeout. Transient accept errors (EMFILE,
    /// ...) emit `AcceptFailed` with the back-off taken and go on. An
    /// accepted connection whose setup (TLS handshake) fails, or for which
    /// no thread can be started, is reported as `Rejected`.
    pub fn serve<H>(&self, handler: H) -> Result<(), Error>
    where
        H: Fn(StreamClient<P, T>) + Send + Sync + 'static,
    {
        let shared = &self.shared;
        let handler = Arc::new(handler);
        shared.lifecycle.set_serving(true);
        let listeners = shared.sockets();
        let mut accept_threads = Vec::new();
        for (listener, addr) in listeners.into_iter().zip(shared.addrs.iter().cloned()) {
            let (server, handler) = (shared.clone(), handler.clone());
            let spawned = thread::Builder::new()
                .name("netproto-accept".into())
                .spawn(move || server.accept_loop(&listener, addr, handler));
            match spawned {
                Ok(thread) => accept_threads.push(thread),
                Err(source) => {
                    *lock(&shared.fatal) = Some(Error::Io { peer: None, source });
                    shared.lifecycle.shutdown(Duration::ZERO);
                }
            }
        }
        drop(handler);
        while let Err(changed) = shared.lifecycle.shutdown_requested() {
            changed.wait();
        }
        for thread in accept_threads {
            let _ = thread.join();
        }
        while let Some((changed, until)) = shared.lifecycle.poll_shutdown(Instant::now()) {
            match until {
                Some(at) => {
                    changed.wait_deadline(at);
                }
                None => changed.wait(),
            }
        }
        shared.lifecycle.set_serving(false);
        match lock(&shared.fatal).take() {
            Some(err) => Err(err),
            None => Ok(()),
        }
    }
}

impl<P: Protocol, T: StreamFamily> StreamServer<P, T> {
    /// Serve with a [`RequestHandler`]: `service_init`, then as
    /// [`serve`](TcpServer::serve) with each connection run through
    /// `on_connection`, `handle` and `on_disconnection` (which runs however
    /// the connection ended), then `service_quit` once serving is over.
    pub fn serve_with<H: RequestHandler<StreamClient<P, T>>>(
        &self,
        handler: H,
    ) -> Result<(), Error> {
        handler.service_init()?;
        let handler = Arc::new(handler);
        let serving = handler.clone();
        let result = self.serve(move |conn| handler::run(&*serving, conn));
        handler.service_quit();
        result
    }
}

impl<P: Protocol, T: StreamFamily> Shared<P, T> {
    /// The listening sockets, until shutdown closes them.
    fn sockets(&self) -> Vec<Arc<Socket>> {
        lock(&self.listeners)
            .iter()
            .map(|bound| bound.socket.clone())
            .collect()
    }

    /// Set up an accepted stream; a failure is reported as `Rejected`.
    fn establish(&self, stream: Socket, peer: PeerAddr) -> Result<StreamClient<P, T>, Error> {
        StreamClient::establish(stream, self.protocol.clone(), &self.setup)
            .inspect_err(|err| self.setup.reject(peer, err))
    }

    fn accept_loop<H>(self: Arc<Self>, listener: &Socket, addr: T::Addr, handler: Arc<H>)
    where
        H: Fn(StreamClient<P, T>) + Send + Sync + 'static,
    {
        let lifecycle = &self.lifecycle;
        loop {
            let reserved = match lifecycle.reserve() {
                Reserve::Accept(reserved) => reserved,
                Reserve::Full(changed) => {
                    changed.wait();
                    continue;
                }
                Reserve::ShutDown => return,
            };
            let (stream, peer) = match listener.accept() {
                Ok(_) | Err(_) if lifecycle.is_shutdown() => return,
                Ok((stream, peer)) => (stream, peer_of(&peer)),
                Err(err) => {
                    drop(reserved);
                    match lifecycle.accept_failed(addr.clone(), &err, Instant::now()) {
                        Some(resume) => {
                            if sleep_unless_shutdown(lifecycle, resume) {
                                return;
                            }
                            continue;
                        }
                        None => {
                            *lock(&self.fatal) = Some(Error::Io {
                                peer: None,
                                source: err,
                            });
                            lifecycle.shutdown(Duration::ZERO);
                            return;
                        }
                    }
                }
            };
            let Some(slot) = lifecycle.admit(peer.clone(), reserved) else {
                let _ = stream.shutdown(Shutdown::Both);
                continue;
            };
            let (shared, handler) = (self.clone(), handler.clone());
            let spawned = thread::Builder::new()
                .name(format!("netproto-conn-{peer}"))
                .spawn({
                    let peer = peer.clone();
                    move || shared.serve_connection(stream, peer, slot, &*handler)
                });
            if let Err(err) = spawned {
                // The stream and the slot went down with the closure.
                lifecycle.cannot_serve(peer, &err);
            }
        }
    }

    fn serve_connection<H>(&self, stream: Socket, peer: PeerAddr, slot: Slot<Entry<P>>, handler: &H)
    where
        H: Fn(StreamClient<P, T>) + Send + Sync + 'static,
    {
        if let Ok(conn) = self.establish(stream, peer) {
            slot.set(Entry(Arc::downgrade(conn.inner())));
            if slot.is_shutdown() {
                conn.inner()
                    .close_because(ConnectionEvents::SERVER_SHUT_DOWN);
            }
            // A panicking handler ends its connection, not the server.
            let _ = catch_unwind(AssertUnwindSafe(|| handler(conn)));
        }
        drop(slot);
    }
}

/// Sleep until `at` unless shutdown is asked for first; whether it was.
fn sleep_unless_shutdown<H: Served>(lifecycle: &Lifecycle<H>, at: Instant) -> bool {
    loop {
        match lifecycle.shutdown_requested() {
            Ok(()) => return true,
            Err(_) if Instant::now() >= at => return false,
            Err(changed) => {
                changed.wait_deadline(at);
            }
        }
    }
}

/// An accepted peer's address (a Unix client is usually unnamed).
fn peer_of(addr: &SockAddr) -> PeerAddr {
    netproto_socket::stream_addr(addr)
        .unwrap_or(PeerAddr::Unix(netproto_core::addr::UnixAddr::Unnamed))
}

/// Accept from whichever of several listeners has a client (polling them
/// without blocking; a short sleep between rounds).
fn accept_any(listeners: &[Arc<Socket>]) -> std::io::Result<(Socket, SockAddr)> {
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

#[cfg(unix)]
mod unix {
    use netproto_core::addr::{Unix, UnixAddr};

    use super::*;
    use crate::client::UnixStreamClient;

    /// A connection accepted by a [`UnixStreamServer`] (Unix only).
    #[cfg_attr(docsrs, doc(cfg(unix)))]
    pub type UnixConnection<P> = UnixStreamClient<P>;

    /// A server on a Unix stream socket (Unix only).
    #[cfg_attr(docsrs, doc(cfg(unix)))]
    pub type UnixStreamServer<P> = StreamServer<P, Unix>;

    /// Unix stream sockets (Unix only).
    #[cfg_attr(docsrs, doc(cfg(unix)))]
    impl<P: Protocol> StreamServer<P, Unix> {
        /// Bind the Unix socket `address` (a path, or a [`UnixAddr`] in
        /// Linux's abstract namespace) with `options.backlog`. A socket file
        /// left at the path by a server that is gone is removed first; one a
        /// live server listens on is an error of kind `AddrInUse`; anything
        /// else at the path is never removed (an error says what is there).
        /// The server removes its own socket file when it shuts down or is
        /// dropped. A path longer than `sun_path` takes is
        /// [`Error::Config`], naming the path and the limit.
        ///
        /// The socket file gets the process's umask; set its permissions
        /// (`std::fs::set_permissions` on the path) to choose who may
        /// connect. The TCP options (`nodelay`, `keepalive`, `reuse_port`)
        /// do not apply.
        pub fn bind(
            address: impl Into<UnixAddr>,
            protocol: P,
            options: ServerOptions,
        ) -> Result<Self, Error> {
            let address = address.into();
            let (socket, file) = netproto_socket::unix::bind(&address, options.backlog)?;
            let bound = Bound {
                socket: Arc::new(socket),
                _file: Some(file),
            };
            Ok(Self::serving(vec![bound], vec![address], protocol, options))
        }
    }
}

#[cfg(unix)]
pub use unix::{UnixConnection, UnixStreamServer};
