//! Plain TCP or TLS: the options each side of a case uses.

use netproto_core::options::{ClientOptions, ServerOptions};

use crate::certs::test_certs;

/// Which transport a case runs over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// Plain TCP.
    Plain,
    /// TLS with the [test certificates](crate::certs::test_certs).
    Tls,
}

impl Transport {
    /// Whether this is TLS.
    pub fn is_tls(self) -> bool {
        self == Transport::Tls
    }

    /// Client options for this transport (TLS: trusting the test CA).
    pub fn client_options(self) -> ClientOptions {
        let options = ClientOptions::default();
        match self {
            Transport::Plain => options,
            Transport::Tls => options.tls(test_certs().client_config()),
        }
    }

    /// Server options for this transport (TLS: the test server identity).
    pub fn server_options(self) -> ServerOptions {
        let options = ServerOptions::default();
        match self {
            Transport::Plain => options,
            Transport::Tls => options.tls(test_certs().server_config()),
        }
    }
}
