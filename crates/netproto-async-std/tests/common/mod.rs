//! Helpers for the driver's own tests: run each test under async-std's
//! executor and under smol's, make a server and a client, TLS certificates.

#![allow(dead_code)]

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use netproto_async_std::framing::{Delimiter, LengthPrefix};
use netproto_async_std::serializer::{BytesSerializer, Utf8};
use netproto_async_std::{
    ClientOptions, Connection, ServerOptions, StreamProtocol, TcpClient, TcpServer,
};
#[cfg(feature = "tls")]
use netproto_async_std::{TlsClientConfig, TlsServerConfig};

/// Plain TCP, and TLS when the feature is on.
#[cfg(feature = "tls")]
pub const MODES: &[bool] = &[false, true];
/// Plain TCP, and TLS when the feature is on.
#[cfg(not(feature = "tls"))]
pub const MODES: &[bool] = &[false];

/// The executors the driver must run under.
#[derive(Clone, Copy, Debug)]
pub enum Runtime {
    AsyncStd,
    Smol,
}

impl Runtime {
    pub fn block_on<T>(self, future: impl Future<Output = T>) -> T {
        match self {
            Runtime::AsyncStd => async_std::task::block_on(future),
            Runtime::Smol => smol::block_on(future),
        }
    }

    /// Spawn on the runtime's multi-threaded executor; await the result.
    pub fn spawn<T: Send + 'static>(
        self,
        future: impl Future<Output = T> + Send + 'static,
    ) -> Pin<Box<dyn Future<Output = T> + Send>> {
        match self {
            Runtime::AsyncStd => Box::pin(async_std::task::spawn(future)),
            Runtime::Smol => Box::pin(smol::spawn(future)),
        }
    }
}

/// Run `test` under both executors, with an upper bound on its duration
/// (a correctness bound: a hang fails instead of blocking the test run).
pub fn both<F, Fut>(test: F)
where
    F: Fn(Runtime) -> Fut,
    Fut: Future<Output = ()>,
{
    for runtime in [Runtime::AsyncStd, Runtime::Smol] {
        // Boxed: executors move the future through several stack frames,
        // which a debug build does not optimise away.
        runtime.block_on(Box::pin(bounded(runtime, test(runtime))));
    }
}

pub async fn bounded<T>(runtime: Runtime, future: impl Future<Output = T>) -> T {
    futures_lite::future::or(future, async {
        async_io::Timer::after(Duration::from_secs(60)).await;
        panic!("test under {runtime:?} did not finish within 60 s");
    })
    .await
}

pub type Lines = StreamProtocol<Delimiter, Utf8>;
pub type Blobs = StreamProtocol<LengthPrefix, BytesSerializer>;

pub fn lines() -> Lines {
    StreamProtocol::new(Delimiter::lf(), Utf8)
}

pub fn blobs() -> Blobs {
    StreamProtocol::new(
        LengthPrefix::u32_be().max_frame_length(64 * 1024 * 1024),
        BytesSerializer,
    )
}

/// A self-signed certificate for "localhost" and a client that trusts it.
#[cfg(feature = "tls")]
pub fn tls_configs() -> (TlsServerConfig, TlsClientConfig) {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert_pem = certified.cert.pem();
    let key_pem = certified.signing_key.serialize_pem();
    let server = TlsServerConfig::from_pem(cert_pem.as_bytes(), key_pem.as_bytes()).unwrap();
    let client = TlsClientConfig::with_root_pem(cert_pem.as_bytes())
        .unwrap()
        .server_name("localhost");
    (server, client)
}

/// Server and client options, plain or TLS.
pub fn options(tls: bool) -> (ServerOptions, ClientOptions) {
    #[cfg(feature = "tls")]
    if tls {
        let (server, client) = tls_configs();
        return (
            ServerOptions::default().tls(server),
            ClientOptions::default().tls(client),
        );
    }
    assert!(!tls, "TLS tests need the tls feature");
    (ServerOptions::default(), ClientOptions::default())
}

/// A connected pair: a client and the server's side of it (via `accept`).
pub async fn pair<P: netproto_async_std::Protocol>(
    protocol: P,
    tls: bool,
) -> (TcpClient<P>, Connection<P>, TcpServer<P>) {
    let (server_options, client_options) = options(tls);
    pair_with(protocol, server_options, client_options).await
}

pub async fn pair_with<P: netproto_async_std::Protocol>(
    protocol: P,
    server_options: ServerOptions,
    client_options: ClientOptions,
) -> (TcpClient<P>, Connection<P>, TcpServer<P>) {
    let server = TcpServer::bind("127.0.0.1:0", protocol.clone(), server_options)
        .await
        .unwrap();
    let address = server.local_addrs()[0];
    let (client, accepted) = futures_lite::future::zip(
        TcpClient::connect_with(address, protocol, client_options),
        server.accept(),
    )
    .await;
    (client.unwrap(), accepted.unwrap(), server)
}
