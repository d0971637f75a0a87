//! TLS over rustls: the client and server configurations.
//!
//! Configuration: [`TlsClientConfig`] (web roots, custom roots, a server
//! name override, a client certificate, or your own `rustls::ClientConfig`)
//! and [`TlsServerConfig`] (certificate and key, or your own
//! `rustls::ServerConfig`). Both use the `ring` crypto provider.
//!
//! rustls is itself sans-IO, so netproto drives it in the core once for
//! every driver; the session that does so is part of the driver interface
//! ([`driver::tls`](crate::driver::tls)), shared between the receive and
//! send halves of a connection behind a lock held only for in-memory work.
//!
//! # rustls, re-exported
//!
//! [`rustls`] is re-exported whole, and netproto's version is tied to
//! rustls 0.23: a netproto release that moves to a rustls with a breaking
//! version (0.24) is itself a breaking release. The configurations take and
//! give rustls types ([`rustls::RootCertStore`], `Arc<rustls::ClientConfig>`,
//! [`rustls::pki_types::CertificateDer`], ...), so the version is part of
//! the API whether or not it is re-exported; re-exporting a handful of
//! those types would not untie it, and would leave out what building your
//! own `ClientConfig` needs (its builder, verifiers, crypto providers).
//! Name it as `netproto_core::tls::rustls` (`netproto::tls::rustls`) to use
//! exactly the rustls netproto was built with, or depend on rustls 0.23
//! yourself: Cargo unifies the two.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// rustls, at the version netproto is tied to (0.23): see the module's
/// documentation.
pub use rustls;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, pem::PemObject};
use rustls::{ClientConfig, RootCertStore, ServerConfig};

use crate::error::TlsError;

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn config_error(err: impl fmt::Display) -> TlsError {
    TlsError::Config(err.to_string())
}

/// Parse every certificate in a PEM document.
pub fn certs_from_pem(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(config_error)?;
    if certs.is_empty() {
        return Err(TlsError::Config("no certificate found in PEM".to_owned()));
    }
    Ok(certs)
}

/// Parse the first private key (PKCS#8, PKCS#1 or SEC1) in a PEM document.
pub fn key_from_pem(pem: &[u8]) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_slice(pem).map_err(config_error)
}

/// How a client verifies servers and presents itself.
///
/// ```
/// use netproto_core::tls::TlsClientConfig;
///
/// // The public web's roots (webpki-roots), as a browser would.
/// let web = TlsClientConfig::webpki_roots();
/// // Connect to 127.0.0.1 but check the certificate against "localhost".
/// let local = TlsClientConfig::webpki_roots().server_name("localhost");
/// ```
#[derive(Clone)]
pub struct TlsClientConfig {
    config: Arc<ClientConfig>,
    server_name: Option<String>,
    /// The roots the config was built with (`None`: `from_config`).
    roots: Option<Arc<RootCertStore>>,
    accept_truncation: bool,
    shutdown_timeout: Option<Duration>,
}

impl fmt::Debug for TlsClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsClientConfig")
            .field("server_name", &self.server_name)
            .field("accept_truncation", &self.accept_truncation)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .finish_non_exhaustive()
    }
}

impl TlsClientConfig {
    /// Verify servers against the public web's root certificates.
    pub fn webpki_roots() -> Self {
        let roots = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        Self::with_roots(roots)
    }

    /// Verify servers against the platform's root certificates: the
    /// system's store (Linux: the distribution's CA bundle; macOS: the
    /// keychain; Windows: the system store), or the PEM file and
    /// directories named by `SSL_CERT_FILE` / `SSL_CERT_DIR` when set.
    /// Certificates in the store that cannot be used are skipped, as
    /// browsers do; none usable at all is [`TlsError::Config`], saying why.
    /// Needs the `native-roots` feature.
    #[cfg(feature = "native-roots")]
    #[cfg_attr(docsrs, doc(cfg(feature = "native-roots")))]
    pub fn platform_roots() -> Result<Self, TlsError> {
        let loaded = rustls_native_certs::load_native_certs();
        let mut roots = RootCertStore::empty();
        let (added, ignored) = roots.add_parsable_certificates(loaded.certs);
        if added == 0 {
            let mut why: Vec<String> = loaded.errors.iter().map(ToString::to_string).collect();
            if ignored > 0 {
                why.push(format!("{ignored} certificate(s) could not be used"));
            }
            if why.is_empty() {
                why.push("the store is empty".to_owned());
            }
            return Err(TlsError::Config(format!(
                "no usable root certificate in the platform's store: {}",
                why.join("; ")
            )));
        }
        Ok(Self::with_roots(roots))
    }

    /// Verify servers against `roots`.
    pub fn with_roots(roots: RootCertStore) -> Self {
        Self::build(roots, None).expect("the ring provider supports the default protocol versions")
    }

    /// Verify servers against the certificates in a PEM document (a private
    /// CA, or a self-signed server certificate).
    pub fn with_root_pem(pem: &[u8]) -> Result<Self, TlsError> {
        let mut roots = RootCertStore::empty();
        for cert in certs_from_pem(pem)? {
            roots.add(cert).map_err(TlsError::Rustls)?;
        }
        Ok(Self::with_roots(roots))
    }

    /// Verify servers against `roots` and present `cert_chain` with `key`
    /// when the server asks for a client certificate.
    pub fn with_client_auth(
        roots: RootCertStore,
        cert_chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Result<Self, TlsError> {
        Self::build(roots, Some((cert_chain, key)))
    }

    /// Use your own rustls configuration as it is.
    pub fn from_config(config: Arc<ClientConfig>) -> Self {
        TlsClientConfig {
            config,
            server_name: None,
            roots: None,
            accept_truncation: false,
            shutdown_timeout: None,
        }
    }

    /// **Dangerous, for testing only**: accept a server certificate for
    /// any name. The chain is still checked against the roots, but any
    /// server holding a certificate from them — for any site — can then
    /// pose as the one you meant to reach. Never use it in production.
    ///
    /// Fails with [`TlsError::Config`] for a configuration made with
    /// [`from_config`](TlsClientConfig::from_config) (set your own verifier
    /// in it instead).
    pub fn dangerous_skip_hostname_verification(mut self) -> Result<Self, TlsError> {
        let roots = self.roots.clone().ok_or_else(|| {
            TlsError::Config(
                "cannot skip host-name verification for a config made with from_config".into(),
            )
        })?;
        let mut config = (*self.config).clone();
        config
            .dangerous()
            .set_certificate_verifier(verify::AnyServerName::new(roots)?);
        self.config = Arc::new(config);
        Ok(self)
    }

    /// Accept a server that closes the connection without TLS
    /// close_notify as if it had sent one (default `false`: that is
    /// reported as [`TlsError::Truncated`], as an attacker can cut a
    /// connection short). For peers known to hang up that way, where the
    /// framing tells a whole message from a cut one.
    pub fn accept_missing_close_notify(mut self, accept: bool) -> Self {
        self.accept_truncation = accept;
        self
    }

    /// Give the TLS shutdown at most `timeout`: once a `close` has
    /// written everything queued, the close_notify alert gets this long to
    /// reach the peer (default `None`: whatever is left of the close
    /// timeout). When it does not, the connection is closed all the same,
    /// `close` returns `Ok` (the data was delivered) and the
    /// `Disconnected` event says the close_notify was not delivered.
    /// EasyNetwork's `ssl_shutdown_timeout`.
    pub fn shutdown_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.shutdown_timeout = timeout.into();
        self
    }

    /// Check the server's certificate against `name` instead of the host
    /// the client connects to (for example when connecting by IP address).
    pub fn server_name(mut self, name: impl Into<String>) -> Self {
        self.server_name = Some(name.into());
        self
    }

    /// The rustls configuration in use.
    pub fn config(&self) -> &Arc<ClientConfig> {
        &self.config
    }

    /// A new client session for a connection to `host` (or to the server
    /// name override, when set). With neither (an empty `host`: a Unix
    /// socket has no host name), [`TlsError::NoServerName`].
    pub fn session(&self, host: &str) -> Result<TlsSession, TlsError> {
        let name = self.server_name.as_deref().unwrap_or(host);
        if name.is_empty() {
            return Err(TlsError::NoServerName);
        }
        let name = name.trim_start_matches('[').trim_end_matches(']');
        let server_name = ServerName::try_from(name.to_owned())
            .map_err(|_| TlsError::InvalidServerName(name.to_owned()))?;
        let conn = rustls::ClientConnection::new(self.config.clone(), server_name)?;
        Ok(TlsSession::new(conn.into())
            .accept_missing_close_notify(self.accept_truncation)
            .with_shutdown_timeout(self.shutdown_timeout))
    }

    fn build(
        roots: RootCertStore,
        client_auth: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
    ) -> Result<Self, TlsError> {
        let roots = Arc::new(roots);
        let builder = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots.clone());
        let config = match client_auth {
            Some((chain, key)) => builder.with_client_auth_cert(chain, key)?,
            None => builder.with_no_client_auth(),
        };
        let mut this = Self::from_config(Arc::new(config));
        this.roots = Some(roots);
        Ok(this)
    }
}

/// How a server presents itself.
#[derive(Clone)]
pub struct TlsServerConfig {
    config: Arc<ServerConfig>,
    accept_truncation: bool,
    shutdown_timeout: Option<Duration>,
}

impl fmt::Debug for TlsServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsServerConfig").finish_non_exhaustive()
    }
}

impl TlsServerConfig {
    /// Present `cert_chain` (leaf first) signed by `key`; no client
    /// certificates are asked for.
    pub fn new(
        cert_chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Result<Self, TlsError> {
        let config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(cert_chain, key)?;
        Ok(Self::from_config(Arc::new(config)))
    }

    /// Like [`new`](TlsServerConfig::new), from PEM documents.
    pub fn from_pem(cert_chain_pem: &[u8], key_pem: &[u8]) -> Result<Self, TlsError> {
        Self::new(certs_from_pem(cert_chain_pem)?, key_from_pem(key_pem)?)
    }

    /// Like [`new`](TlsServerConfig::new), and require clients to present a
    /// certificate that chains to `client_roots`.
    pub fn with_client_auth(
        cert_chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
        client_roots: RootCertStore,
    ) -> Result<Self, TlsError> {
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::new(client_roots),
            provider(),
        )
        .build()
        .map_err(config_error)?;
        let config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?
            .with_client_cert_verifier(verifier)
            .with_single_cert(cert_chain, key)?;
        Ok(Self::from_config(Arc::new(config)))
    }

    /// Use your own rustls configuration as it is.
    pub fn from_config(config: Arc<ServerConfig>) -> Self {
        TlsServerConfig {
            config,
            accept_truncation: false,
            shutdown_timeout: None,
        }
    }

    /// Accept a client that closes the connection without TLS
    /// close_notify as if it had sent one (default `false`: reported as
    /// [`TlsError::Truncated`]). See
    /// [`TlsClientConfig::accept_missing_close_notify`].
    pub fn accept_missing_close_notify(mut self, accept: bool) -> Self {
        self.accept_truncation = accept;
        self
    }

    /// Give the TLS shutdown at most `timeout` after a `close` has written
    /// everything queued. See [`TlsClientConfig::shutdown_timeout`].
    pub fn shutdown_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.shutdown_timeout = timeout.into();
        self
    }

    /// The rustls configuration in use.
    pub fn config(&self) -> &Arc<ServerConfig> {
        &self.config
    }

    /// A new server session for one accepted connection.
    pub fn session(&self) -> Result<TlsSession, TlsError> {
        let conn = rustls::ServerConnection::new(self.config.clone())?;
        Ok(TlsSession::new(conn.into())
            .accept_missing_close_notify(self.accept_truncation)
            .with_shutdown_timeout(self.shutdown_timeout))
    }
}

pub(crate) mod session;
#[cfg(test)]
mod tests;
mod verify;

pub(crate) use session::{SharedTls, TlsSession};
