//! What a driver sets a new connection up with, taken from
//! [`ClientOptions`] or [`ServerOptions`], and the one place where a
//! connection's TLS role becomes a TLS session.

use crate::addr::PeerAddr;
use std::fmt;
use std::time::Duration;

use super::{ConnectionEvents, Endpoint, EndpointConfig};
use crate::connection::Connection;
use crate::error::Error;
use crate::options::{ClientOptions, ConnectionEvent, EventCallback, ServerOptions};
use crate::protocol::Protocol;
#[cfg(feature = "tls")]
use crate::tls::{TlsClientConfig, TlsServerConfig};

/// Which side of a TLS handshake a connection runs, if any.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum TlsRole {
    /// No TLS: socket bytes are the protocol's bytes.
    Plain,
    /// The client side, checking the server's certificate against `host`
    /// (unless the config overrides the server name).
    #[cfg(feature = "tls")]
    Client {
        /// How the client verifies the server and presents itself.
        config: TlsClientConfig,
        /// The host name the client connected to; `None` (an adopted
        /// stream): the peer's IP address.
        host: Option<String>,
    },
    /// The server side of an accepted connection.
    #[cfg(feature = "tls")]
    Server(TlsServerConfig),
}

/// Everything a driver needs to set up one connection: buffer sizes, TCP
/// options, timeouts, the event callback and the TLS role.
///
/// Built from [`ClientOptions`] ([`ConnectionSetup::client`]) or
/// [`ServerOptions`] ([`ConnectionSetup::server`]); a driver applies
/// [`nodelay`](ConnectionSetup::nodelay) and
/// [`keepalive`](ConnectionSetup::keepalive) to the socket, builds the
/// [`Endpoint`] with [`endpoint`](ConnectionSetup::endpoint) — which starts
/// the TLS session when the options ask for TLS, whatever features the
/// driver itself was built with — runs the handshake within
/// [`handshake_timeout`](ConnectionSetup::handshake_timeout), then reports
/// `Connected`.
///
/// ```
/// use netproto_core::driver::endpoint::ConnectionSetup;
/// use netproto_core::framing::Delimiter;
/// use netproto_core::options::ClientOptions;
/// use netproto_core::serializer::Utf8;
/// use netproto_core::StreamProtocol;
///
/// let setup = ConnectionSetup::client(&ClientOptions::default(), Some("example.com"));
/// assert!(!setup.is_tls());
/// let peer = "127.0.0.1:9".parse::<std::net::SocketAddr>().unwrap();
/// let endpoint = setup.endpoint(StreamProtocol::new(Delimiter::lf(), Utf8), peer)?;
/// let (_recv, send) = endpoint.split();
/// assert!(!send.is_handshaking());
/// # Ok::<(), netproto_core::Error>(())
/// ```
#[derive(Clone)]
pub struct ConnectionSetup {
    endpoint: EndpointConfig,
    nodelay: bool,
    keepalive: Option<Duration>,
    handshake_timeout: Option<Duration>,
    idle_timeout: Option<Duration>,
    close_timeout: Duration,
    on_event: Option<EventCallback>,
    tls: TlsRole,
}

impl ConnectionSetup {
    /// A client connection's setup. `host` is the name the client connected
    /// to (checked against the server's certificate unless `options.tls`
    /// overrides the server name); `None` for an adopted stream, where the
    /// peer's IP address is used.
    pub fn client(options: &ClientOptions, host: Option<&str>) -> Self {
        #[cfg(feature = "tls")]
        let tls = match &options.tls {
            Some(config) => TlsRole::Client {
                config: config.clone(),
                host: host.map(str::to_owned),
            },
            None => TlsRole::Plain,
        };
        #[cfg(not(feature = "tls"))]
        let tls = {
            let _ = host;
            TlsRole::Plain
        };
        ConnectionSetup {
            endpoint: options.endpoint.clone(),
            nodelay: options.nodelay,
            keepalive: options.keepalive,
            handshake_timeout: options.handshake_timeout,
            close_timeout: options.close_timeout,
            idle_timeout: None,
            on_event: options.on_event.clone(),
            tls,
        }
    }

    /// The setup of a connection a server accepted.
    pub fn server(options: &ServerOptions) -> Self {
        #[cfg(feature = "tls")]
        let tls = match &options.tls {
            Some(config) => TlsRole::Server(config.clone()),
            None => TlsRole::Plain,
        };
        #[cfg(not(feature = "tls"))]
        let tls = TlsRole::Plain;
        ConnectionSetup {
            endpoint: options.endpoint.clone(),
            nodelay: options.nodelay,
            keepalive: options.keepalive,
            handshake_timeout: options.handshake_timeout,
            close_timeout: options.close_timeout,
            idle_timeout: options.idle_timeout,
            on_event: options.on_event.clone(),
            tls,
        }
    }

    /// The connection's state machine for `peer`: plain, or over a new TLS
    /// session when the TLS role says so (the driver then runs the
    /// handshake while [`SendHalf::is_handshaking`](super::SendHalf::is_handshaking)).
    ///
    /// Errors: [`Error::Tls`] when the session cannot be created (an
    /// invalid server name).
    pub fn endpoint<P: Protocol>(
        &self,
        protocol: P,
        peer: impl Into<PeerAddr>,
    ) -> Result<Endpoint<P>, Error> {
        let peer = peer.into();
        match &self.tls {
            TlsRole::Plain => Ok(Endpoint::new(protocol, peer, &self.endpoint)),
            #[cfg(feature = "tls")]
            TlsRole::Client { config, host } => {
                // An adopted TCP stream is checked against its peer's IP; a
                // Unix socket has no host name to check, so the config's
                // `server_name` says it.
                let host = match (host, &peer) {
                    (Some(host), _) => host.clone(),
                    (None, PeerAddr::Inet(addr)) => addr.ip().to_string(),
                    (None, PeerAddr::Unix(_)) => String::new(),
                };
                let session = config.session(&host).map_err(|source| Error::Tls {
                    peer: peer.clone(),
                    source,
                })?;
                Ok(Endpoint::with_tls(protocol, peer, &self.endpoint, session))
            }
            #[cfg(feature = "tls")]
            TlsRole::Server(config) => {
                let session = config.session().map_err(|source| Error::Tls {
                    peer: peer.clone(),
                    source,
                })?;
                Ok(Endpoint::with_tls(protocol, peer, &self.endpoint, session))
            }
        }
    }

    /// The connection engine for a connected socket between `local` and
    /// `peer`: plain, or over a new TLS session when the TLS role says so
    /// (run [`Connection::handshake`](crate::connection::Connection::handshake)
    /// either way: it reports `Connected`).
    ///
    /// Errors: [`Error::Tls`] when the session cannot be created (an
    /// invalid server name).
    pub fn connection<P: Protocol>(
        &self,
        protocol: P,
        peer: impl Into<PeerAddr>,
        local: impl Into<PeerAddr>,
    ) -> Result<Connection<P>, Error> {
        let peer = peer.into();
        let local = local.into();
        Ok(Connection::from_endpoint(
            self.endpoint(protocol, peer.clone())?,
            local,
            self.events(peer),
            self.idle_timeout,
            self.handshake_timeout,
            self.close_timeout,
        ))
    }

    /// Buffer sizes and limits.
    pub fn endpoint_config(&self) -> &EndpointConfig {
        &self.endpoint
    }

    /// Whether to set TCP_NODELAY.
    pub fn nodelay(&self) -> bool {
        self.nodelay
    }

    /// The TCP keep-alive idle time, when keep-alive is asked for.
    pub fn keepalive(&self) -> Option<Duration> {
        self.keepalive
    }

    /// How long the TLS handshake may take (`None`: no limit).
    pub fn handshake_timeout(&self) -> Option<Duration> {
        self.handshake_timeout
    }

    /// The error for a TLS handshake that did not finish within `timeout`.
    pub fn handshake_timed_out(timeout: Duration) -> Error {
        Error::Timeout {
            kind: crate::error::TimeoutKind::Handshake,
            timeout,
        }
    }

    /// How long `close` keeps writing what is queued.
    pub fn close_timeout(&self) -> Duration {
        self.close_timeout
    }

    /// A served connection's idle timeout (always `None` for a client).
    pub fn idle_timeout(&self) -> Option<Duration> {
        self.idle_timeout
    }

    /// The connection-state callback.
    pub fn on_event(&self) -> Option<&EventCallback> {
        self.on_event.as_ref()
    }

    /// The TLS role.
    pub fn tls(&self) -> &TlsRole {
        &self.tls
    }

    /// Whether the connection speaks TLS.
    pub fn is_tls(&self) -> bool {
        !matches!(self.tls, TlsRole::Plain)
    }

    /// The event bookkeeping of a connection to `peer`, reporting to
    /// [`on_event`](ConnectionSetup::on_event).
    pub fn events(&self, peer: impl Into<PeerAddr>) -> ConnectionEvents {
        let peer = peer.into();
        let events = ConnectionEvents::new(self.on_event.clone(), peer);
        events.set_tls(self.is_tls());
        events
    }

    /// Report a connection whose setup (TCP options, TLS handshake) failed
    /// with `err`: a server emits [`ConnectionEvent::Rejected`] for it.
    pub fn reject(&self, peer: impl Into<PeerAddr>, err: &Error) {
        let event = ConnectionEvent::setup_failed(peer, err);
        crate::trace::event(&event);
        if let Some(callback) = &self.on_event {
            callback(&event);
        }
    }
}

impl fmt::Debug for ConnectionSetup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionSetup")
            .field("endpoint", &self.endpoint)
            .field("nodelay", &self.nodelay)
            .field("keepalive", &self.keepalive)
            .field("handshake_timeout", &self.handshake_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("on_event", &self.on_event.is_some())
            .field("tls", &self.tls)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StreamProtocol;
    use crate::framing::Delimiter;
    use crate::serializer::Utf8;

    fn lines() -> StreamProtocol<Delimiter, Utf8> {
        StreamProtocol::new(Delimiter::lf(), Utf8)
    }

    #[test]
    fn plain_setup_builds_a_plain_endpoint() {
        let options = ClientOptions::default()
            .max_recv_size(1024)
            .keepalive(Duration::from_secs(7));
        let setup = ConnectionSetup::client(&options, Some("example.com"));
        assert!(!setup.is_tls());
        assert_eq!(setup.endpoint_config().max_recv_size, 1024);
        assert_eq!(setup.keepalive(), Some(Duration::from_secs(7)));
        assert_eq!(setup.idle_timeout(), None);
        let (recv, send) = setup
            .endpoint(
                lines(),
                "127.0.0.1:1".parse::<std::net::SocketAddr>().unwrap(),
            )
            .unwrap()
            .split();
        assert_eq!(recv.max_recv_size(), 1024);
        assert!(!send.is_handshaking());
    }

    #[test]
    fn server_setup_carries_the_idle_timeout() {
        let options = ServerOptions::default().idle_timeout(Duration::from_secs(3));
        let setup = ConnectionSetup::server(&options);
        assert_eq!(setup.idle_timeout(), Some(Duration::from_secs(3)));
        assert_eq!(setup.handshake_timeout(), Some(Duration::from_secs(10)));
    }

    #[cfg(feature = "tls")]
    #[test]
    fn tls_options_start_a_handshake() {
        use crate::tls::TlsClientConfig;

        let options = ClientOptions::default().tls(TlsClientConfig::webpki_roots());
        let peer = "127.0.0.1:1".parse::<std::net::SocketAddr>().unwrap();
        // An adopted stream: the server name is the peer's IP address.
        let setup = ConnectionSetup::client(&options, None);
        assert!(setup.is_tls());
        let (_, send) = setup.endpoint(lines(), peer).unwrap().split();
        assert!(send.is_handshaking());
        // A host that is no valid server name fails with a TLS error.
        let setup = ConnectionSetup::client(&options, Some("not a name"));
        let err = setup.endpoint(lines(), peer).unwrap_err();
        assert!(matches!(err, Error::Tls { .. }), "{err:?}");
    }

    #[test]
    fn failed_setups_are_rejected() {
        use std::sync::{Arc, Mutex};

        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let options =
            ServerOptions::default().on_event(move |e| sink.lock().unwrap().push(e.clone()));
        let peer = "127.0.0.1:1".parse::<std::net::SocketAddr>().unwrap();
        ConnectionSetup::server(&options)
            .reject(peer, &Error::ConnectionClosed { peer: peer.into() });
        let seen = seen.lock().unwrap();
        assert!(
            matches!(seen.as_slice(), [ConnectionEvent::Rejected { reason, .. }] if reason.starts_with("connection setup failed")),
            "{seen:?}"
        );
    }
}
