//! TLS-only behaviour: truncation, certificate checks, server names,
//! client certificates; and TLS options honoured in every build of a
//! driver.

use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use netproto_core::Error;
use netproto_core::error::TlsError;
use netproto_core::options::{ClientOptions, ServerOptions};

use super::*;
use crate::Addr;
use crate::certs::{other_certs, test_certs};
use crate::peers::{PeerOn, PeerStream};

/// Rule 5: a TLS peer that drops TCP without close_notify is reported as
/// truncation, not as a clean close.
pub async fn tls_truncation_is_reported<D: Driver>(t: Transport) {
    let peer = PeerOn::<D::Family, _>::spawn(t, |mut s| {
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
    let peer = PeerOn::<D::Family, _>::spawn_raw(|listener| {
        let tcp = D::Family::accept(&listener)?;
        // The handshake fails on the client's alert; that is the point.
        let _ = PeerStream::tls_server(tcp, test_certs().rustls_server_config());
        Ok(())
    });
    let options =
        D::Family::client_options(t).tls(other_certs().client_config().server_name("localhost"));
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
    let peer = PeerOn::<D::Family, _>::spawn(t, |s| s.echo());
    let options = t
        .client_options()
        .tls(test_certs().client_config().server_name("localhost"));
    let client = D::connect(peer.address(), lines(), options).await.unwrap();
    send_ok::<D, _>(&client, "named").await;
    assert_eq!(recv_ok::<D, _>(&client, "the echo").await, "named");
    D::close(&client).await.unwrap();
    peer.join();

    let peer = PeerOn::<D::Family, _>::spawn_raw(|listener| {
        let tcp = D::Family::accept(&listener)?;
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
        PeerOn::<D::Family, _>::spawn_raw(|listener| {
            let tcp = D::Family::accept(&listener)?;
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
    let options = D::Family::client_options(t).tls(
        test_certs()
            .client_config_with_cert()
            .server_name("localhost"),
    );
    let client = D::connect(peer.address(), lines(), options).await.unwrap();
    send_ok::<D, _>(&client, "certified").await;
    assert_eq!(recv_ok::<D, _>(&client, "the echo").await, "certified");
    D::close(&client).await.unwrap();
    assert!(
        peer.join(),
        "the handshake with a client certificate succeeds"
    );

    let peer = requiring();
    match D::connect(peer.address(), lines(), D::Family::client_options(t)).await {
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

/// Runs in every build of a driver, with or without the driver's own `tls`
/// feature: a client whose `options.tls` is set speaks TLS. Against a peer
/// that answers in plain text the handshake fails, and the first bytes the
/// peer got were a TLS record, never the client's plaintext.
pub async fn tls_client_options_are_honoured<D: Driver>(_t: Transport) {
    let peer = PeerOn::<D::Family, _>::spawn_raw(|listener| {
        let mut tcp = D::Family::accept(&listener)?;
        tcp.set_read_timeout(Some(PROMPTLY))?;
        tcp.write_all(b"hello\n")?;
        let mut received = Vec::new();
        let _ = tcp.read_to_end(&mut received);
        Ok(received)
    });
    let events = Events::default();
    let options = ClientOptions::default()
        .tls(test_certs().client_config().server_name("localhost"))
        .on_event(events.recorder());
    let outcome = D::connect(peer.address(), lines(), options).await;
    let err = outcome
        .err()
        .expect("a TLS client must not accept a plain-text peer");
    assert!(matches!(err, Error::Tls { .. }), "{err:?}");
    // A connection that never was `Connected` is never `Disconnected`.
    let seen = events.snapshot();
    assert!(seen.is_empty(), "{seen:?}");
    let received = peer.join();
    assert_eq!(
        received.first(),
        Some(&TLS_HANDSHAKE_RECORD),
        "the client must open with a TLS handshake record, got {received:?}"
    );
}

/// Runs in every build of a driver: a server whose `options.tls` is set
/// speaks TLS. A plain-text client fails the handshake — `accept` returns
/// the TLS error, `serve` never calls the handler — and each failure is
/// reported as `Rejected`.
pub async fn tls_server_options_are_honoured<D: Driver>(_t: Transport) {
    let events = Events::default();
    let options = ServerOptions::default()
        .tls(test_certs().server_config())
        .on_event(events.recorder());
    let address = D::Family::bindable();
    let server = Arc::new(
        D::bind_all(vec![address], lines(), options.clone())
            .await
            .unwrap(),
    );
    let addr = D::local_addrs(&*server)[0].clone();
    let accepting = spawn::<D, _>({
        let server = server.clone();
        async move { D::accept(&*server).await.map(|_| ()) }
    });
    let (local, answer) = plain_text_client::<D>(addr);
    let err = accepting
        .await
        .expect_err("a plain-text client must not pass a TLS server's handshake");
    assert!(matches!(err, Error::Tls { .. }), "{err:?}");
    check_no_plaintext_answer(&answer.join().unwrap());
    wait_rejected::<D>(&events, local).await;

    let served = Arc::new(AtomicBool::new(false));
    let running = start::<D, _>(
        lines(),
        options,
        crate::handler({
            let served = served.clone();
            move |_conn: D::Client<Lines>| {
                served.store(true, Ordering::SeqCst);
                async {}
            }
        }),
    )
    .await;
    let (local, answer) = plain_text_client::<D>(running.addr());
    check_no_plaintext_answer(&answer.join().unwrap());
    wait_rejected::<D>(&events, local).await;
    assert!(
        !served.load(Ordering::SeqCst),
        "the handler must not see a connection that failed its handshake"
    );
    running.stop(Duration::from_secs(1)).await;
}

/// The content type of a TLS handshake record (a ClientHello opens with it).
const TLS_HANDSHAKE_RECORD: u8 = 0x16;
/// The content type of a TLS alert record.
const TLS_ALERT_RECORD: u8 = 0x15;

/// A std client that sends a plain-text line to `addr` and collects the
/// answer until EOF (on its own thread); returns its local address.
fn plain_text_client<D: Driver>(addr: Addr<D>) -> (Addr<D>, std::thread::JoinHandle<Vec<u8>>) {
    let mut tcp = D::Family::connect(&addr).expect("connect to the server");
    let local = D::Family::local_addr(&tcp);
    let thread = std::thread::spawn(move || {
        let _ = tcp.set_read_timeout(Some(PROMPTLY));
        let _ = tcp.write_all(b"hello\n");
        let mut answer = Vec::new();
        let _ = tcp.read_to_end(&mut answer);
        answer
    });
    (local, thread)
}

/// A TLS server answers a plain-text client with an alert, or nothing.
fn check_no_plaintext_answer(answer: &[u8]) {
    assert!(
        answer.first().is_none_or(|&b| b == TLS_ALERT_RECORD),
        "a TLS server must answer plain text with an alert or nothing, got {answer:?}"
    );
}

async fn wait_rejected<D: Driver>(events: &Events, client: Addr<D>) {
    events
        .wait_for::<D>("Rejected", |e| {
            e.iter()
                .any(|e| matches!(e, ConnectionEvent::Rejected { peer, .. } if *peer == peer_of(client.clone())))
        })
        .await;
}

/// A plain client talking to a TLS server: the server's alert is not
/// reported as an incomplete frame but as a peer that speaks TLS.
pub async fn plain_client_to_tls_server_is_diagnosed<D: Driver>(_t: Transport) {
    let peer = PeerOn::<D::Family, _>::spawn_raw(|listener| {
        let tcp = D::Family::accept(&listener)?;
        tcp.set_read_timeout(Some(PROMPTLY))?;
        // The client's plain line fails the handshake; rustls answers it
        // with an alert.
        let _ = PeerStream::tls_server(tcp, test_certs().rustls_server_config());
        Ok(())
    });
    let client = D::connect(peer.address(), lines(), ClientOptions::default())
        .await
        .unwrap();
    send_ok::<D, _>(&client, "hello").await;
    let err = recv_err::<D, _>(&client, "the TLS server's alert").await;
    assert!(
        matches!(err, Error::PeerSpeaksTls { peer: ref p, .. } if *p == peer_of(peer.addr())),
        "{err:?}"
    );
    assert!(err.to_string().contains("seems to speak TLS"), "{err}");
    assert!(!err.is_recoverable());
    D::close(&client).await.unwrap();
    peer.join();
}

/// A plain server receiving a ClientHello: not "a frame of 369295618
/// bytes", but a peer that speaks TLS.
pub async fn plain_server_receiving_tls_is_diagnosed<D: Driver>(_t: Transport) {
    let address = D::Family::bindable();
    let server = Arc::new(
        D::bind_all(vec![address], frames(), ServerOptions::default())
            .await
            .unwrap(),
    );
    let addr = D::local_addrs(&*server)[0].clone();
    let accepting = spawn::<D, _>({
        let server = server.clone();
        async move {
            let conn = D::accept(&*server).await?;
            let err = D::recv_packet(&conn).await.map(|_| ());
            D::close(&conn).await?;
            err
        }
    });
    // A TLS client: its handshake fails when the server hangs up.
    let client = std::thread::spawn(move || {
        let tcp = D::Family::connect(&addr).expect("connect to the server");
        let _ = tcp.set_read_timeout(Some(PROMPTLY));
        PeerStream::connect_over(tcp, crate::Transport::Tls).is_err()
    });
    let err = accepting
        .await
        .expect_err("a ClientHello is not a frame for a plain server");
    assert!(matches!(err, Error::PeerSpeaksTls { .. }), "{err:?}");
    assert!(err.to_string().contains("seems to speak TLS"), "{err}");
    assert!(client.join().unwrap(), "the TLS handshake cannot succeed");
}

/// A TLS client talking to a plain server — one that hangs up on the
/// ClientHello, one that greets in plain text — is told that the peer does
/// not speak TLS, not "possible truncation".
pub async fn tls_client_to_plain_server_is_diagnosed<D: Driver>(_t: Transport) {
    for greeting in [&b""[..], b"hello\n"] {
        let peer = PeerOn::<D::Family, _>::spawn_raw(move |listener| {
            let mut tcp = D::Family::accept(&listener)?;
            tcp.set_read_timeout(Some(PROMPTLY))?;
            tcp.write_all(greeting)?;
            // Read the ClientHello, then hang up as a plain server whose
            // framer refuses it does.
            let mut header = [0; 5];
            tcp.read_exact(&mut header)?;
            let mut body = vec![0; usize::from(u16::from_be_bytes([header[3], header[4]]))];
            tcp.read_exact(&mut body)?;
            Ok(())
        });
        let options =
            ClientOptions::default().tls(test_certs().client_config().server_name("localhost"));
        let err = D::connect(peer.address(), lines(), options)
            .await
            .err()
            .expect("a TLS client must not connect to a plain server");
        assert!(
            matches!(
                err,
                Error::Tls {
                    source: TlsError::NotTls { .. },
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .contains("the TLS handshake failed: the peer does not seem to speak TLS"),
            "{err}"
        );
        peer.join();
    }
}

/// A TLS peer that drops TCP without close_notify inside a frame: TLS
/// truncation with the pending bytes, as between frames.
pub async fn tls_truncation_inside_a_frame_is_reported<D: Driver>(t: Transport) {
    let peer = PeerOn::<D::Family, _>::spawn(t, |mut s| {
        s.send(b"whole\npartial")?;
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
                source: TlsError::TruncatedFrame { pending: 7 },
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("possible truncation"), "{err}");
    D::close(&client).await.unwrap();
    peer.join();
}

/// `dangerous_skip_hostname_verification`: a certificate for another name
/// is accepted only with the opt-in, and the chain is still checked.
pub async fn tls_hostname_verification_can_be_skipped<D: Driver>(t: Transport) {
    let tls_peer = |echo: bool| {
        PeerOn::<D::Family, _>::spawn_raw(move |listener| {
            let tcp = D::Family::accept(&listener)?;
            match PeerStream::tls_server(tcp, test_certs().rustls_server_config()) {
                Ok(s) if echo => s.echo(),
                _ => Ok(()),
            }
        })
    };
    let peer = tls_peer(true);
    let config = test_certs()
        .client_config()
        .server_name("wrong.example")
        .dangerous_skip_hostname_verification()
        .unwrap();
    let options = D::Family::client_options(t).tls(config);
    let client = D::connect(peer.address(), lines(), options).await.unwrap();
    send_ok::<D, _>(&client, "any name").await;
    assert_eq!(recv_ok::<D, _>(&client, "the echo").await, "any name");
    D::close(&client).await.unwrap();
    peer.join();

    // An unknown CA is refused all the same.
    let peer = tls_peer(false);
    let config = other_certs()
        .client_config()
        .server_name("localhost")
        .dangerous_skip_hostname_verification()
        .unwrap();
    let err = D::connect(
        peer.address(),
        lines(),
        D::Family::client_options(t).tls(config),
    )
    .await
    .err()
    .expect("the chain is still verified");
    assert!(matches!(err, Error::Tls { .. }), "{err:?}");
    peer.join();
}

/// `accept_missing_close_notify(true)`: a peer that drops TCP without
/// close_notify between packets has closed the connection cleanly.
pub async fn tls_missing_close_notify_can_be_accepted<D: Driver>(t: Transport) {
    let peer = PeerOn::<D::Family, _>::spawn(t, |mut s| {
        s.send(b"whole\n")?;
        s.shutdown_write_without_close_notify()?;
        s.read_until_eof();
        Ok(())
    });
    let config = test_certs()
        .client_config()
        .server_name("localhost")
        .accept_missing_close_notify(true);
    let options = D::Family::client_options(t).tls(config);
    let client = D::connect(peer.address(), lines(), options).await.unwrap();
    assert_eq!(recv_ok::<D, _>(&client, "whole").await, "whole");
    let err = recv_err::<D, _>(&client, "a clean close").await;
    assert!(
        matches!(err, Error::ConnectionClosed { peer: ref p } if *p == peer_of(peer.addr())),
        "{err:?}"
    );
    D::close(&client).await.unwrap();
    peer.join();
}
