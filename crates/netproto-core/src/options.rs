//! Options shared by every driver's clients and servers, and the pure
//! decisions behind them (retry schedules, which accept errors are
//! transient, how an address is written).
//!
//! The drivers take these types as they are, so a program moving from the
//! blocking driver to tokio or async-std keeps its configuration code.

use crate::addr::{PeerAddr, UnixAddr};
use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use crate::endpoint::EndpointConfig;
use crate::error::Error;
#[cfg(feature = "tls")]
use crate::tls::{TlsClientConfig, TlsServerConfig};

/// The server's limits and accept back-off, as [`ServerOptions`] and the
/// `AcceptFailed` event describe them.
pub use crate::driver::server::{
    ACCEPT_BACKOFF_MAX, ACCEPT_BACKOFF_MIN, FD_RESERVE, UNKNOWN_FD_LIMIT_CONNECTIONS,
    auto_connection_limit,
};

/// A host and a port to connect to or bind.
///
/// Anything that [`IntoAddress`] accepts: `"example.com:8080"`,
/// `"[::1]:9000"`, `("example.com", 8080)`, a [`SocketAddr`]; for a
/// server, a port alone (`8080u16`, `":8080"`) binds every interface, IPv4
/// and IPv6 (an empty `host`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Address {
    /// Host name or IP address (without brackets).
    pub host: String,
    /// Port number.
    pub port: u16,
}

impl Address {
    /// Every interface (IPv4 `0.0.0.0` and IPv6 `[::]`) on `port`: what a
    /// server binds when no host is given. Port 0 gives both the same free
    /// port.
    pub fn all_interfaces(port: u16) -> Self {
        Address {
            host: String::new(),
            port,
        }
    }

    /// `self` if a client can connect to it: port 0 is refused before any
    /// connection is tried (it means "any free port" only when binding).
    pub fn connectable(self) -> Result<Self, Error> {
        if self.host.is_empty() {
            return Err(Error::Config(format!(
                "cannot connect to {self}: an address without a host is only for binding (every interface)"
            )));
        }
        if self.port == 0 {
            return Err(Error::Config(format!(
                "cannot connect to port 0 of {} (port 0 is only for binding)",
                self.host
            )));
        }
        Ok(self)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// Conversion into an [`Address`].
pub trait IntoAddress {
    /// The address, or [`Error::Config`] if it cannot be parsed.
    fn into_address(self) -> Result<Address, Error>;
}

impl IntoAddress for Address {
    fn into_address(self) -> Result<Address, Error> {
        Ok(self)
    }
}

impl IntoAddress for &Address {
    fn into_address(self) -> Result<Address, Error> {
        Ok(self.clone())
    }
}

/// A port alone: every interface (IPv4 and IPv6) on it, for a server —
/// the same as `":{port}"` or `Address::all_interfaces(port)`.
impl IntoAddress for u16 {
    fn into_address(self) -> Result<Address, Error> {
        Ok(Address::all_interfaces(self))
    }
}

impl IntoAddress for &str {
    fn into_address(self) -> Result<Address, Error> {
        let invalid = || Error::Config(format!("invalid address {self:?}: expected host:port"));
        let (host, port) = self.rsplit_once(':').ok_or_else(invalid)?;
        let port = match port.parse::<u64>() {
            Ok(port) => u16::try_from(port).map_err(|_| {
                Error::Config(format!(
                    "invalid address {self:?}: port {port} is out of range (0 to 65535)"
                ))
            })?,
            Err(_) => return Err(invalid()),
        };
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        // ":8080" (no host) is every interface, for a server.
        Ok(Address {
            host: host.to_owned(),
            port,
        })
    }
}

impl IntoAddress for String {
    fn into_address(self) -> Result<Address, Error> {
        self.as_str().into_address()
    }
}

impl IntoAddress for &String {
    fn into_address(self) -> Result<Address, Error> {
        self.as_str().into_address()
    }
}

impl IntoAddress for (&str, u16) {
    fn into_address(self) -> Result<Address, Error> {
        Ok(Address {
            host: self.0.to_owned(),
            port: self.1,
        })
    }
}

impl IntoAddress for (String, u16) {
    fn into_address(self) -> Result<Address, Error> {
        Ok(Address {
            host: self.0,
            port: self.1,
        })
    }
}

impl IntoAddress for (IpAddr, u16) {
    fn into_address(self) -> Result<Address, Error> {
        SocketAddr::from(self).into_address()
    }
}

impl IntoAddress for SocketAddr {
    fn into_address(self) -> Result<Address, Error> {
        Ok(Address {
            host: self.ip().to_string(),
            port: self.port(),
        })
    }
}

/// When and how often to try connecting again.
///
/// The delay before retry `n` (counting from 0) is
/// `initial_delay * multiplier^n`, capped at `max_delay`, then — with jitter
/// on — scaled by a random factor in `[0.5, 1.0]` so that many clients
/// restarting together do not retry in lockstep.
///
/// ```
/// use std::time::Duration;
/// use netproto_core::options::RetryPolicy;
///
/// let policy = RetryPolicy::attempts(5)
///     .initial_delay(Duration::from_millis(100))
///     .max_delay(Duration::from_secs(2))
///     .jitter(false);
/// let delays: Vec<_> = policy.delays().collect();
/// assert_eq!(delays, [100, 200, 400, 800].map(Duration::from_millis));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    attempts: u32,
    initial_delay: Duration,
    multiplier: f64,
    max_delay: Duration,
    jitter: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy::none()
    }
}

impl RetryPolicy {
    /// Try once, never again (the default).
    pub fn none() -> Self {
        RetryPolicy::attempts(1)
    }

    /// Try up to `attempts` times in all (at least once), with exponential
    /// back-off from 100 ms, doubling, capped at 10 s, with jitter.
    pub fn attempts(attempts: u32) -> Self {
        RetryPolicy {
            attempts: attempts.max(1),
            initial_delay: Duration::from_millis(100),
            multiplier: 2.0,
            max_delay: Duration::from_secs(10),
            jitter: true,
        }
    }

    /// The delay before the first retry.
    pub fn initial_delay(mut self, delay: Duration) -> Self {
        self.initial_delay = delay;
        self
    }

    /// The factor applied to the delay after each retry (at least 1).
    pub fn multiplier(mut self, multiplier: f64) -> Self {
        self.multiplier = if multiplier.is_finite() {
            multiplier.max(1.0)
        } else {
            1.0
        };
        self
    }

    /// The longest delay between two attempts.
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// Randomise each delay within `[0.5, 1.0]` of its value (default on).
    pub fn jitter(mut self, jitter: bool) -> Self {
        self.jitter = jitter;
        self
    }

    /// The total number of attempts.
    pub fn max_attempts(&self) -> u32 {
        self.attempts
    }

    /// The delays to wait between attempts: `max_attempts() - 1` of them.
    pub fn delays(&self) -> impl Iterator<Item = Duration> + '_ {
        let random = RandomState::new();
        (0..self.attempts.saturating_sub(1)).map(move |n| {
            let base = self.initial_delay.as_secs_f64() * self.multiplier.powi(n as i32);
            let capped = base.min(self.max_delay.as_secs_f64());
            let factor = if self.jitter {
                let mut hasher = random.build_hasher();
                hasher.write_u32(n);
                0.5 + (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64 / 2.0
            } else {
                1.0
            };
            Duration::from_secs_f64(capped * factor)
        })
    }
}

/// A change in a connection's state, reported to the callback set with
/// [`ClientOptions::on_event`] or [`ServerOptions::on_event`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ConnectionEvent {
    /// A connection attempt to `target` failed; another follows after
    /// `retry_in` (only sent when a retry policy allows one).
    ConnectAttemptFailed {
        /// What the client connects to.
        target: String,
        /// Attempt number, from 1.
        attempt: u32,
        /// Why it failed.
        error: String,
        /// The delay before the next attempt.
        retry_in: Duration,
    },
    /// A connection was established.
    Connected {
        /// The local address.
        local: PeerAddr,
        /// The peer's address.
        peer: PeerAddr,
    },
    /// A server refused a connection (one-client mode or connection limit).
    Rejected {
        /// The peer's address.
        peer: PeerAddr,
        /// Why.
        reason: String,
    },
    /// A server with `WhenFull::Wait` reached its limit of `max`
    /// connections: further clients wait in the listen backlog until a
    /// connection ends. Reported again only after the server fell back to
    /// three quarters of the limit.
    AtCapacity {
        /// The connection limit.
        max: usize,
    },
    /// A server's `accept` failed. A transient failure (out of file
    /// descriptors, out of buffers, a connection aborted in the backlog)
    /// is retried after `retry_in`; any other ends `serve` (`retry_in` is
    /// `None`) and is returned by it.
    AcceptFailed {
        /// The listening address.
        listener: PeerAddr,
        /// Why.
        error: String,
        /// The back-off before the next accept, if the server goes on.
        retry_in: Option<Duration>,
    },
    /// A datagram server dropped datagrams since its last report: a peer's
    /// queue was full, or a datagram came from a new peer while the server
    /// was at its limit of peers. Reported with the counts, at most once per
    /// report interval (see `driver::datagram::PeerTable`).
    DatagramsDropped {
        /// The server's local address.
        local: PeerAddr,
        /// Datagrams dropped because their peer's queue was full.
        queue_full: u64,
        /// Datagrams dropped because they came from a new peer while the
        /// server had as many peers as it allows.
        too_many_peers: u64,
        /// Datagrams dropped because their sender cannot be replied to (an
        /// unnamed Unix datagram socket: a client that did not bind).
        unreachable: u64,
        /// How many different peers lost datagrams.
        peers: usize,
    },
    /// A connection ended.
    Disconnected {
        /// The peer's address.
        peer: PeerAddr,
        /// Why, when it ended on an error (`None` for a clean close).
        reason: Option<String>,
    },
}

impl ConnectionEvent {
    /// `Rejected`: a server at its limit of `max` connections refused the
    /// connection from `peer`.
    pub fn server_full(peer: impl Into<PeerAddr>, max: usize) -> Self {
        ConnectionEvent::Rejected {
            peer: peer.into(),
            reason: format!("the server is at its limit of {max} connection(s)"),
        }
    }

    /// `AcceptFailed`: accepting on `listener` failed with `err`; the
    /// server accepts again after `retry_in` (a transient error, see
    /// [`is_transient_accept_error`] and
    /// [`AcceptBackoff`](crate::driver::server::AcceptBackoff)) or stops (`None`).
    pub fn accept_failed(
        listener: impl Into<PeerAddr>,
        err: &io::Error,
        retry_in: Option<Duration>,
    ) -> Self {
        ConnectionEvent::AcceptFailed {
            listener: listener.into(),
            error: err.to_string(),
            retry_in,
        }
    }

    /// `Rejected`: the connection from `peer` was accepted, but no thread
    /// or task could be started to serve it.
    pub fn cannot_serve(peer: impl Into<PeerAddr>, err: &dyn fmt::Display) -> Self {
        ConnectionEvent::Rejected {
            peer: peer.into(),
            reason: format!("could not start serving the connection: {err}"),
        }
    }

    /// `Rejected`: the setup of a connection from `peer` (TCP options, TLS
    /// handshake) failed with `err`.
    pub fn setup_failed(peer: impl Into<PeerAddr>, err: &Error) -> Self {
        ConnectionEvent::Rejected {
            peer: peer.into(),
            reason: format!("connection setup failed: {err}"),
        }
    }
}

/// A connection-state callback.
pub type EventCallback = Arc<dyn Fn(&ConnectionEvent) + Send + Sync>;

/// Options for a client connection.
///
/// ```
/// use std::time::Duration;
/// use netproto_core::options::{ClientOptions, RetryPolicy};
///
/// let options = ClientOptions::default()
///     .connect_timeout(Duration::from_secs(3))
///     .retry(RetryPolicy::attempts(5))
///     .max_recv_size(64 * 1024);
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct ClientOptions {
    /// Give up connecting after this long (default 30 s): for all of a
    /// host's addresses together, raced as
    /// [`happy_eyeballs_delay`](ClientOptions::happy_eyeballs_delay) says;
    /// each retry of [`retry`](ClientOptions::retry) has it again.
    pub connect_timeout: Option<Duration>,
    /// Whether and how to try again when connecting fails.
    pub retry: RetryPolicy,
    /// Buffer sizes.
    pub endpoint: EndpointConfig,
    /// Set TCP_NODELAY (default true: packets go out at once).
    pub nodelay: bool,
    /// Enable TCP keep-alive with this idle time (default off).
    pub keepalive: Option<Duration>,
    /// TLS, when set.
    #[cfg(feature = "tls")]
    pub tls: Option<TlsClientConfig>,
    /// Give up on the TLS handshake after this long (default 30 s).
    pub handshake_timeout: Option<Duration>,
    /// How long `close` keeps writing what is still queued before it gives
    /// up and reports the bytes it threw away (default
    /// [`CLOSE_FLUSH_TIMEOUT`]).
    pub close_timeout: Duration,
    /// Called on connect, retry and disconnect.
    pub on_event: Option<EventCallback>,
    /// Bind the client's socket to this address before connecting
    /// (EasyNetwork's `local_address`; port 0: any free port). Only the
    /// resolved addresses of its family are tried.
    pub local_address: Option<SocketAddr>,
    /// When a host has several addresses, how long a connection attempt
    /// has before the next one starts alongside it (RFC 8305, Happy
    /// Eyeballs v2; default [`HAPPY_EYEBALLS_DELAY`]).
    pub happy_eyeballs_delay: Duration,
    /// Resolve host names with this instead of the system resolver.
    pub resolver: Option<Resolver>,
}

/// The default [`ClientOptions::happy_eyeballs_delay`]: 250 ms, RFC 8305's
/// recommended "Connection Attempt Delay".
pub const HAPPY_EYEBALLS_DELAY: Duration = Duration::from_millis(250);

/// A host name resolver for [`ClientOptions::resolver`]: the addresses of
/// an [`Address`] (its port included), best first.
pub type Resolver = Arc<dyn Fn(&Address) -> io::Result<Vec<SocketAddr>> + Send + Sync>;

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            connect_timeout: Some(Duration::from_secs(30)),
            retry: RetryPolicy::none(),
            endpoint: EndpointConfig::default(),
            nodelay: true,
            keepalive: None,
            #[cfg(feature = "tls")]
            tls: None,
            handshake_timeout: Some(Duration::from_secs(30)),
            close_timeout: CLOSE_FLUSH_TIMEOUT,
            on_event: None,
            local_address: None,
            happy_eyeballs_delay: HAPPY_EYEBALLS_DELAY,
            resolver: None,
        }
    }
}

impl fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientOptions")
            .field("connect_timeout", &self.connect_timeout)
            .field("retry", &self.retry)
            .field("endpoint", &self.endpoint)
            .field("nodelay", &self.nodelay)
            .field("keepalive", &self.keepalive)
            .field("local_address", &self.local_address)
            .field("happy_eyeballs_delay", &self.happy_eyeballs_delay)
            .finish_non_exhaustive()
    }
}

impl ClientOptions {
    /// Bind the client's socket to `address` before connecting.
    pub fn local_address(mut self, address: impl Into<Option<SocketAddr>>) -> Self {
        self.local_address = address.into();
        self
    }

    /// Set how long a connection attempt to one of a host's addresses has
    /// before the next one starts alongside it (`Duration::ZERO`: all at
    /// once).
    pub fn happy_eyeballs_delay(mut self, delay: Duration) -> Self {
        self.happy_eyeballs_delay = delay;
        self
    }

    /// Resolve host names with `resolver` instead of the system resolver
    /// (a fixed table, a cache, service discovery). It runs on the
    /// connecting thread or task: in an async driver it must not block.
    pub fn resolver(
        mut self,
        resolver: impl Fn(&Address) -> io::Result<Vec<SocketAddr>> + Send + Sync + 'static,
    ) -> Self {
        self.resolver = Some(Arc::new(resolver));
        self
    }

    /// Set the connect timeout (`None`: wait as long as the OS does).
    pub fn connect_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.connect_timeout = timeout.into();
        self
    }

    /// Set the retry policy.
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Set the most bytes one socket read asks for (default 16 KiB).
    pub fn max_recv_size(mut self, size: usize) -> Self {
        self.endpoint = self.endpoint.max_recv_size(size);
        self
    }

    /// Set TCP_NODELAY.
    pub fn nodelay(mut self, nodelay: bool) -> Self {
        self.nodelay = nodelay;
        self
    }

    /// Enable TCP keep-alive with this idle time.
    pub fn keepalive(mut self, idle: impl Into<Option<Duration>>) -> Self {
        self.keepalive = idle.into();
        self
    }

    /// Speak TLS with this configuration.
    #[cfg(feature = "tls")]
    pub fn tls(mut self, tls: TlsClientConfig) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Set the TLS handshake timeout.
    pub fn handshake_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.handshake_timeout = timeout.into();
        self
    }

    /// Set how long `close` keeps writing what is queued.
    pub fn close_timeout(mut self, timeout: Duration) -> Self {
        self.close_timeout = timeout;
        self
    }

    /// Call `callback` on connection events.
    pub fn on_event(mut self, callback: impl Fn(&ConnectionEvent) + Send + Sync + 'static) -> Self {
        self.on_event = Some(Arc::new(callback));
        self
    }

    /// Report `event` to the callback, if any.
    pub fn emit(&self, event: ConnectionEvent) {
        crate::trace::event(&event);
        if let Some(callback) = &self.on_event {
            callback(&event);
        }
    }
}

/// The default [`DatagramOptions::max_datagram_size`]: 65 535 bytes, the
/// largest UDP payload the UDP length field can describe, so that no UDP
/// datagram is refused unless a smaller limit is set.
pub const MAX_DATAGRAM_SIZE: usize = 65_535;

/// Options for a datagram client or endpoint (UDP or Unix datagrams).
///
/// ```
/// use netproto_core::options::DatagramOptions;
///
/// let options = DatagramOptions::default()
///     .local_address("127.0.0.1:0".parse::<std::net::SocketAddr>().unwrap())
///     .max_datagram_size(1200);
/// assert_eq!(options.max_datagram_size, 1200);
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct DatagramOptions {
    /// Bind the socket to this address before connecting (a client) —
    /// `None`: any address and a free port of the remote's family.
    pub local_address: Option<SocketAddr>,
    /// A Unix datagram client binds its socket here before connecting, so
    /// that replies reach it (the socket-file rules of the Unix stream
    /// server apply) — `None`: an abstract name the kernel picks (Linux
    /// and Android; elsewhere a client needs this set).
    pub local_unix_address: Option<UnixAddr>,
    /// The largest datagram sent or received, in bytes (default
    /// [`MAX_DATAGRAM_SIZE`]). A packet that encodes to more is refused
    /// with [`EncodeError::DatagramTooLong`](crate::EncodeError::DatagramTooLong);
    /// a longer datagram received is reported as
    /// [`Error::DatagramTooLong`], never delivered cut.
    pub max_datagram_size: usize,
    /// Called on events (none for clients and endpoints yet; servers
    /// report dropped datagrams).
    pub on_event: Option<EventCallback>,
}

impl Default for DatagramOptions {
    fn default() -> Self {
        DatagramOptions {
            local_address: None,
            local_unix_address: None,
            max_datagram_size: MAX_DATAGRAM_SIZE,
            on_event: None,
        }
    }
}

impl fmt::Debug for DatagramOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatagramOptions")
            .field("local_address", &self.local_address)
            .field("local_unix_address", &self.local_unix_address)
            .field("max_datagram_size", &self.max_datagram_size)
            .finish_non_exhaustive()
    }
}

impl DatagramOptions {
    /// Bind to `address` before connecting.
    pub fn local_address(mut self, address: SocketAddr) -> Self {
        self.local_address = Some(address);
        self
    }

    /// Bind a Unix datagram client to `address` before connecting.
    pub fn local_unix_address(mut self, address: impl Into<UnixAddr>) -> Self {
        self.local_unix_address = Some(address.into());
        self
    }

    /// Set the largest datagram sent or received (at least 1 byte).
    pub fn max_datagram_size(mut self, size: usize) -> Self {
        self.max_datagram_size = size.max(1);
        self
    }

    /// Call `callback` on events.
    pub fn on_event(mut self, callback: impl Fn(&ConnectionEvent) + Send + Sync + 'static) -> Self {
        self.on_event = Some(Arc::new(callback));
        self
    }
}

/// What a server does with a connection beyond its limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum WhenFull {
    /// Leave it in the listen backlog until a slot frees up (default).
    #[default]
    Wait,
    /// Accept it and close it at once.
    Refuse,
}

/// Options for a server.
///
/// ```
/// use std::time::Duration;
/// use netproto_core::options::{ServerOptions, WhenFull};
///
/// let options = ServerOptions::default()
///     .max_connections(100, WhenFull::Refuse)
///     .idle_timeout(Duration::from_secs(60));
/// let mock_controller = ServerOptions::default().one_client();
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct ServerOptions {
    /// The most connections served at once. `None` (the default) derives
    /// the limit from the process's file-descriptor limit when the server
    /// is bound ([`auto_connection_limit`]:
    /// seven eighths of the soft limit, less a reserve), so that a server
    /// under a flood of connections turns clients away visibly (the
    /// `when_full` policy, `Rejected` events) before the kernel refuses
    /// them with `EMFILE`; `Some(usize::MAX)` means no limit of the
    /// server's own.
    pub max_connections: Option<usize>,
    /// What to do with connections beyond the limit.
    pub when_full: WhenFull,
    /// Close a connection whose peer sends nothing (or trickles bytes
    /// without completing a packet) for this long (default: none).
    pub idle_timeout: Option<Duration>,
    /// Buffer sizes of each connection.
    pub endpoint: EndpointConfig,
    /// Set TCP_NODELAY on accepted connections (default true).
    pub nodelay: bool,
    /// Enable TCP keep-alive on accepted connections.
    pub keepalive: Option<Duration>,
    /// The listen backlog (default 1024).
    pub backlog: u32,
    /// Set `SO_REUSEPORT` on the listening sockets, so that several
    /// servers (processes) can bind the same port and the kernel spreads
    /// the connections between them (default false; Unix only, `bind`
    /// fails with `Unsupported` elsewhere).
    pub reuse_port: bool,
    /// TLS, when set.
    #[cfg(feature = "tls")]
    pub tls: Option<TlsServerConfig>,
    /// Give up on a client's TLS handshake after this long (default 10 s).
    pub handshake_timeout: Option<Duration>,
    /// How long a served connection's `close` keeps writing what is still
    /// queued (default [`CLOSE_FLUSH_TIMEOUT`]).
    pub close_timeout: Duration,
    /// How long a shutdown waits for handlers after it closed their
    /// connections at the end of the grace period, before it aborts them
    /// (async drivers) or returns without them (the sync driver cannot stop
    /// a thread); default [`HANDLER_STOP_WAIT`].
    pub handler_stop_wait: Duration,
    /// Called when connections come, go or are rejected.
    pub on_event: Option<EventCallback>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            max_connections: None,
            when_full: WhenFull::Wait,
            idle_timeout: None,
            endpoint: EndpointConfig::default(),
            nodelay: true,
            keepalive: None,
            backlog: 1024,
            reuse_port: false,
            #[cfg(feature = "tls")]
            tls: None,
            handshake_timeout: Some(Duration::from_secs(10)),
            close_timeout: CLOSE_FLUSH_TIMEOUT,
            handler_stop_wait: HANDLER_STOP_WAIT,
            on_event: None,
        }
    }
}

impl fmt::Debug for ServerOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerOptions")
            .field("max_connections", &self.max_connections)
            .field("when_full", &self.when_full)
            .field("idle_timeout", &self.idle_timeout)
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl ServerOptions {
    /// Serve at most `max` connections at once; `when_full` says what
    /// happens to the others.
    pub fn max_connections(mut self, max: usize, when_full: WhenFull) -> Self {
        self.max_connections = Some(max.max(1));
        self.when_full = when_full;
        self
    }

    /// Serve one client at a time and close any other at once (the
    /// mock-controller pattern).
    pub fn one_client(self) -> Self {
        self.max_connections(1, WhenFull::Refuse)
    }

    /// Close connections idle for this long.
    pub fn idle_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.idle_timeout = timeout.into();
        self
    }

    /// Set the most bytes one socket read asks for.
    pub fn max_recv_size(mut self, size: usize) -> Self {
        self.endpoint = self.endpoint.max_recv_size(size);
        self
    }

    /// Set TCP_NODELAY on accepted connections.
    pub fn nodelay(mut self, nodelay: bool) -> Self {
        self.nodelay = nodelay;
        self
    }

    /// Enable TCP keep-alive on accepted connections.
    pub fn keepalive(mut self, idle: impl Into<Option<Duration>>) -> Self {
        self.keepalive = idle.into();
        self
    }

    /// Set `SO_REUSEPORT` on the listening sockets (see the field).
    pub fn reuse_port(mut self, reuse_port: bool) -> Self {
        self.reuse_port = reuse_port;
        self
    }

    /// Set the listen backlog.
    pub fn backlog(mut self, backlog: u32) -> Self {
        self.backlog = backlog;
        self
    }

    /// Speak TLS with this configuration.
    #[cfg(feature = "tls")]
    pub fn tls(mut self, tls: TlsServerConfig) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Set the TLS handshake timeout.
    pub fn handshake_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.handshake_timeout = timeout.into();
        self
    }

    /// Set how long `close` keeps writing what is queued.
    pub fn close_timeout(mut self, timeout: Duration) -> Self {
        self.close_timeout = timeout;
        self
    }

    /// Set how long a shutdown waits for handlers after closing their
    /// connections.
    pub fn handler_stop_wait(mut self, wait: Duration) -> Self {
        self.handler_stop_wait = wait;
        self
    }

    /// Call `callback` on connection events.
    pub fn on_event(mut self, callback: impl Fn(&ConnectionEvent) + Send + Sync + 'static) -> Self {
        self.on_event = Some(Arc::new(callback));
        self
    }

    /// Report `event` to the callback, if any.
    pub fn emit(&self, event: ConnectionEvent) {
        crate::trace::event(&event);
        if let Some(callback) = &self.on_event {
            callback(&event);
        }
    }
}

/// Whether an `accept()` error is about resources running out (too many
/// open files, no buffer space, a connection aborted before it was
/// accepted) rather than the listener being broken. A server backs off
/// briefly and goes on accepting after these.
pub fn is_transient_accept_error(err: &io::Error) -> bool {
    if matches!(
        err.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
            | io::ErrorKind::OutOfMemory
    ) {
        return true;
    }
    // EMFILE, ENFILE, ENOBUFS, ENOMEM on Linux and the BSDs.
    matches!(err.raw_os_error(), Some(12 | 23 | 24 | 55 | 105))
}

/// The default of `close_timeout`: how long a client's `close` keeps
/// writing what is still queued (a send in progress or cancelled, the TLS
/// close_notify) before it shuts the socket down, in every driver.
pub const CLOSE_FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a server's handlers get to return after their connections were
/// closed at the end of a shutdown's grace period, in every driver. Then
/// `serve` stops waiting: the async drivers abort (or drop) the handler
/// tasks; the sync driver cannot stop a thread, and returns without it.
pub const HANDLER_STOP_WAIT: Duration = Duration::from_secs(5);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse() {
        let a = "example.com:8080".into_address().unwrap();
        assert_eq!((a.host.as_str(), a.port), ("example.com", 8080));
        let a = "[::1]:9000".into_address().unwrap();
        assert_eq!((a.host.as_str(), a.port), ("::1", 9000));
        assert_eq!(a.to_string(), "[::1]:9000");
        assert!("nohost".into_address().is_err());
        // No host: every interface, for a server; not for a client.
        assert_eq!(":80".into_address().unwrap(), Address::all_interfaces(80));
        assert_eq!(80u16.into_address().unwrap(), Address::all_interfaces(80));
        let err = Address::all_interfaces(80).connectable().unwrap_err();
        assert!(err.to_string().contains("only for binding"), "{err}");
        let err = "127.0.0.1:99999".into_address().unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid configuration: invalid address \"127.0.0.1:99999\": port 99999 is out of range (0 to 65535)"
        );
        assert!(
            "host:http"
                .into_address()
                .unwrap_err()
                .to_string()
                .contains("expected host:port")
        );
        let err = "localhost:0"
            .into_address()
            .unwrap()
            .connectable()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid configuration: cannot connect to port 0 of localhost (port 0 is only for binding)"
        );
        assert!("localhost:1".into_address().unwrap().connectable().is_ok());
        let sa: SocketAddr = "127.0.0.1:5".parse().unwrap();
        assert_eq!(sa.into_address().unwrap().to_string(), "127.0.0.1:5");
    }

    #[test]
    fn retry_delays_back_off_cap_and_jitter() {
        let p = RetryPolicy::attempts(6)
            .initial_delay(Duration::from_millis(100))
            .max_delay(Duration::from_millis(500));
        let delays: Vec<_> = p.clone().jitter(false).delays().collect();
        assert_eq!(delays, [100, 200, 400, 500, 500].map(Duration::from_millis));
        for (jittered, plain) in p.delays().zip(delays) {
            assert!(
                jittered >= plain / 2 && jittered <= plain,
                "{jittered:?} vs {plain:?}"
            );
        }
        assert_eq!(RetryPolicy::none().delays().count(), 0);
        assert_eq!(RetryPolicy::attempts(0).max_attempts(), 1);
    }

    #[test]
    fn transient_accept_errors() {
        assert!(is_transient_accept_error(&io::Error::from_raw_os_error(24)));
        assert!(is_transient_accept_error(
            &io::ErrorKind::ConnectionAborted.into()
        ));
        assert!(!is_transient_accept_error(
            &io::ErrorKind::InvalidInput.into()
        ));
    }
}
