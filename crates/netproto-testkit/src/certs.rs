//! Test certificates, generated with rcgen once per test process: a CA, a
//! server certificate for `localhost`, `127.0.0.1` and `::1` signed by it, and
//! a client certificate signed by it.

use std::sync::{Arc, OnceLock};

use netproto_core::tls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use netproto_core::tls::rustls::{self, RootCertStore};
use netproto_core::tls::{TlsClientConfig, TlsServerConfig};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, ExtendedKeyUsagePurpose, IsCa, KeyPair,
};

/// One certificate chain (leaf first) and its key.
pub struct Identity {
    /// The chain, leaf first.
    pub chain: Vec<CertificateDer<'static>>,
    key: PrivatePkcs8KeyDer<'static>,
}

impl Identity {
    /// The private key.
    pub fn key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(self.key.clone_key())
    }
}

/// A CA with a server and a client identity it signed.
pub struct TestCerts {
    /// The CA certificate.
    pub ca: CertificateDer<'static>,
    /// The CA certificate, PEM encoded.
    pub ca_pem: String,
    /// The server's identity (SANs `localhost`, `127.0.0.1`, `::1`).
    pub server: Identity,
    /// A client identity (SAN `client.test`).
    pub client: Identity,
}

impl std::fmt::Debug for TestCerts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCerts").finish_non_exhaustive()
    }
}

/// The process-wide test certificates (generated on first use).
pub fn test_certs() -> &'static TestCerts {
    static CERTS: OnceLock<TestCerts> = OnceLock::new();
    CERTS.get_or_init(|| TestCerts::generate("netproto test CA"))
}

/// Certificates from a second, unrelated CA: clients trusting it reject
/// [`test_certs`]'s server.
pub fn other_certs() -> &'static TestCerts {
    static CERTS: OnceLock<TestCerts> = OnceLock::new();
    CERTS.get_or_init(|| TestCerts::generate("some other CA"))
}

fn leaf(
    names: &[&str],
    usage: ExtendedKeyUsagePurpose,
    ca: &CertifiedIssuer<'_, KeyPair>,
) -> Identity {
    let mut params =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
            .expect("valid SANs");
    params.extended_key_usages = vec![usage];
    let key = KeyPair::generate().expect("generate a key");
    let cert = params.signed_by(&key, ca).expect("sign a leaf certificate");
    Identity {
        chain: vec![cert.der().clone(), ca.der().clone()],
        key: PrivatePkcs8KeyDer::from(key.serialize_der()),
    }
}

impl TestCerts {
    /// Generate a fresh CA named `ca_name` and the two identities.
    pub fn generate(ca_name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, ca_name);
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().expect("CA key"))
            .expect("self-sign the CA");
        let server = leaf(
            &["localhost", "127.0.0.1", "::1"],
            ExtendedKeyUsagePurpose::ServerAuth,
            &ca,
        );
        let client = leaf(&["client.test"], ExtendedKeyUsagePurpose::ClientAuth, &ca);
        TestCerts {
            ca: ca.der().clone(),
            ca_pem: ca.pem(),
            server,
            client,
        }
    }

    /// A root store holding the CA.
    pub fn roots(&self) -> RootCertStore {
        let mut roots = RootCertStore::empty();
        roots.add(self.ca.clone()).expect("add the CA");
        roots
    }

    /// A server presenting the server identity.
    pub fn server_config(&self) -> TlsServerConfig {
        TlsServerConfig::new(self.server.chain.clone(), self.server.key()).expect("server config")
    }

    /// A server that also requires a client certificate signed by the CA.
    pub fn server_config_requiring_client_cert(&self) -> TlsServerConfig {
        TlsServerConfig::with_client_auth(
            self.server.chain.clone(),
            self.server.key(),
            self.roots(),
        )
        .expect("server config with client auth")
    }

    /// A client trusting the CA (loaded from PEM, as a user would).
    pub fn client_config(&self) -> TlsClientConfig {
        TlsClientConfig::with_root_pem(self.ca_pem.as_bytes()).expect("client config")
    }

    /// A client trusting the CA and presenting the client identity.
    pub fn client_config_with_cert(&self) -> TlsClientConfig {
        TlsClientConfig::with_client_auth(
            self.roots(),
            self.client.chain.clone(),
            self.client.key(),
        )
        .expect("client config with a certificate")
    }

    /// The raw rustls server configuration (for std-thread peers).
    pub fn rustls_server_config(&self) -> Arc<rustls::ServerConfig> {
        self.server_config().config().clone()
    }

    /// The raw rustls client configuration (for std-thread peers).
    pub fn rustls_client_config(&self) -> Arc<rustls::ClientConfig> {
        self.client_config().config().clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configs_build() {
        let certs = test_certs();
        let _ = certs.server_config();
        let _ = certs.server_config_requiring_client_cert();
        let _ = certs.client_config();
        let _ = certs.client_config_with_cert();
        assert_eq!(certs.server.chain.len(), 2);
    }
}
