//! TLS-only behaviour: truncation, certificate checks, server names,
//! client certificates.

use std::io;

use netproto_core::Error;
use netproto_core::error::TlsError;

use super::*;
use crate::certs::{other_certs, test_certs};
use crate::peers::{Peer, PeerStream};

/// Rule 5: a TLS peer that drops TCP without close_notify is reported as
/// truncation, not as a clean close.
pub async fn tls_truncation_is_reported<D: Driver>(t: Transport) {
    let peer = Peer::spawn(t, |mut s| {
        s.send(b"whole\n")?;
        s.shutdown_write_without_close_notify()?;
        s.read_until_eof();
        Ok(())
    });
    let client = connect_to::<D, _>(peer.address(), lines(), t).await;
    assert_eq!(recv_ok::<D, _>(&client, "whole").await, "whole");
    let err = recv_err::<D, _>(&client, "a truncation error").await;
    assert!(
        matches!(
            err,
            Error::Tls {
                source: TlsError::Truncated,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.io_kind(), io::ErrorKind::InvalidData);
    D::close(&client).await.unwrap();
    peer.join();
}

/// A server whose certificate does not chain to the client's roots fails
/// the handshake with a TLS error.
pub async fn tls_unknown_ca_fails_handshake<D: Driver>(t: Transport) {
    let peer = Peer::spawn_raw(|listener| {
        let (tcp, _) = listener.accept()?;
        // The handshake fails on the client's alert; that is the point.
        let _ = PeerStream::tls_server(tcp, test_certs().rustls_server_config());
        Ok(())
    });
    let options = t.client_options().tls(other_certs().client_config());
    let err = D::connect(peer.address(), lines(), options)
        .await
        .err()
        .expect("an untrusted certificate must fail the handshake");
    assert!(matches!(err, Error::Tls { .. }), "{err:?}");
    peer.join();
}

/// The server name override: connect to 127.0.0.1 but check the
/// certificate against another name.
pub async fn tls_server_name_override<D: Driver>(t: Transport) {
    let peer = Peer::spawn(t, |s| s.echo());
    let options = t
        .client_options()
        .tls(test_certs().client_config().server_name("localhost"));
    let client = D::connect(peer.address(), lines(), options).await.unwrap();
    send_ok::<D, _>(&client, "named").await;
    assert_eq!(recv_ok::<D, _>(&client, "the echo").await, "named");
    D::close(&client).await.unwrap();
    peer.join();

    let peer = Peer::spawn_raw(|listener| {
        let (tcp, _) = listener.accept()?;
        let _ = PeerStream::tls_server(tcp, test_certs().rustls_server_config());
        Ok(())
    });
    let options = t
        .client_options()
        .tls(test_certs().client_config().server_name("wrong.example"));
    let err = D::connect(peer.address(), lines(), options)
        .await
        .err()
        .expect("a certificate for another name must be refused");
    assert!(matches!(err, Error::Tls { .. }), "{err:?}");
    peer.join();
}

/// A server that requires a client certificate serves a client that has
/// one and refuses one that has not.
pub async fn tls_client_certificate<D: Driver>(t: Transport) {
    let requiring = || {
        Peer::spawn_raw(|listener| {
            let (tcp, _) = listener.accept()?;
            let config = test_certs()
                .server_config_requiring_client_cert()
                .config()
                .clone();
            match PeerStream::tls_server(tcp, config) {
                Ok(s) => s.echo().map(|()| true),
                Err(_) => Ok(false),
            }
        })
    };
    let peer = requiring();
    let options = t
        .client_options()
        .tls(test_certs().client_config_with_cert());
    let client = D::connect(peer.address(), lines(), options).await.unwrap();
    send_ok::<D, _>(&client, "certified").await;
    assert_eq!(recv_ok::<D, _>(&client, "the echo").await, "certified");
    D::close(&client).await.unwrap();
    assert!(
        peer.join(),
        "the handshake with a client certificate succeeds"
    );

    let peer = requiring();
    match D::connect(peer.address(), lines(), t.client_options()).await {
        // TLS 1.3: the client finishes its side first and learns of the
        // refusal from the server's alert.
        Ok(client) => {
            let err = recv_err::<D, _>(&client, "the server's refusal").await;
            assert!(matches!(err, Error::Tls { .. }), "{err:?}");
            D::close(&client).await.unwrap();
        }
        Err(err) => assert!(matches!(err, Error::Tls { .. }), "{err:?}"),
    }
    assert!(
        !peer.join(),
        "the server refuses a client without a certificate"
    );
}
