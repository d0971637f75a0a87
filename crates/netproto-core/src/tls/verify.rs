//! A server certificate verifier that checks the chain but not the name:
//! [`TlsClientConfig::dangerous_skip_hostname_verification`](super::TlsClientConfig::dangerous_skip_hostname_verification).

use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::error::TlsError;

/// Verifies the server's chain against the roots as webpki does, and
/// accepts a certificate for any name.
#[derive(Debug)]
pub(super) struct AnyServerName(Arc<WebPkiServerVerifier>);

impl AnyServerName {
    pub(super) fn new(roots: Arc<RootCertStore>) -> Result<Arc<Self>, TlsError> {
        let inner = WebPkiServerVerifier::builder_with_provider(roots, super::provider())
            .build()
            .map_err(super::config_error)?;
        Ok(Arc::new(AnyServerName(inner)))
    }
}

/// Whether `err` is only about the certificate's name.
fn name_mismatch(err: &rustls::Error) -> bool {
    matches!(
        err,
        rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }
        )
    )
}

impl ServerCertVerifier for AnyServerName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // webpki checks the chain (and OCSP) before the name: a name
        // mismatch means everything else passed.
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(err) if name_mismatch(&err) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}
