//! Unix stream sockets: the client and server behaviours over `AF_UNIX`,
//! plain and TLS, and the socket-file rules. Run by [`unix_suite!`](crate::unix_suite).

use std::os::unix::fs::MetadataExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::Arc;
use std::time::Duration;

use netproto_core::Error;
use netproto_core::addr::{PeerAddr, Unix, UnixAddr};
use netproto_core::options::{ClientOptions, ConnectionEvent, ServerOptions, WhenFull};

use super::{
    Events, Lines, PROMPTLY, Running, connect_to, echo_handler, lines, recv_ok, spawn, start,
    within,
};
use crate::certs::test_certs;
use crate::family::{Family, socket_path};
use crate::peers::PeerStream;
use crate::unix::UnixDriver;
use crate::{Transport, handler};

/// A Unix echo server at a fresh path, serving in a task.
async fn echo_server<D: UnixDriver>(
    transport: Transport,
    options: ServerOptions,
) -> Running<D, Lines> {
    let options = match transport {
        Transport::Plain => options,
        Transport::Tls => options.tls(test_certs().server_config()),
    };
    start::<D, _>(lines(), options, echo_handler::<D>()).await
}

/// Connect with `transport`'s options for Unix sockets.
async fn connect<D: UnixDriver>(addr: &UnixAddr, transport: Transport) -> D::Client<Lines> {
    connect_to::<D, _>(addr.clone(), lines(), transport).await
}

/// A round trip; the addresses on both sides (the server's path, an
/// unnamed client) and in the `Connected` event.
pub async fn unix_round_trip_and_addresses<D: UnixDriver>(transport: Transport) {
    let events = Events::default();
    let server = echo_server::<D>(transport, ServerOptions::default()).await;
    assert_eq!(D::local_addrs(&server.server), vec![server.addr()]);
    let options = Unix::client_options(transport).on_event(events.recorder());
    let client = D::connect(server.addr(), lines(), options).await.unwrap();
    D::send_packet(&client, "hello").await.unwrap();
    assert_eq!(recv_ok::<D, _>(&client, "the echo").await, "hello");
    assert_eq!(D::peer_addr(&client), server.addr());
    assert!(D::local_addr(&client).is_unnamed());
    assert_eq!(D::connection_peers(&server.server), vec![UnixAddr::Unnamed]);
    let connected = events.snapshot().into_iter().find_map(|event| match event {
        ConnectionEvent::Connected { local, peer } => Some((local, peer)),
        _ => None,
    });
    assert_eq!(
        connected,
        Some((
            PeerAddr::Unix(UnixAddr::Unnamed),
            PeerAddr::Unix(server.addr())
        ))
    );
    D::close(&client).await.unwrap();
    server.stop(Duration::from_secs(1)).await;
}

/// A connected std `UnixStream` is adopted (one end of a socket pair).
pub async fn unix_from_stream_adopts_a_connected_socket<D: UnixDriver>(transport: Transport) {
    let (ours, theirs) = UnixStream::pair().unwrap();
    let peer = std::thread::spawn(move || {
        PeerStream::server(theirs, transport)
            .unwrap()
            .echo()
            .unwrap()
    });
    let client = D::from_stream(ours, lines(), Unix::client_options(transport))
        .await
        .unwrap();
    D::send_packet(&client, "paired").await.unwrap();
    assert_eq!(recv_ok::<D, _>(&client, "the echo").await, "paired");
    assert!(D::peer_addr(&client).is_unnamed());
    let packets = D::iter_received_packets(&client, Duration::ZERO).await;
    assert!(packets.is_empty(), "{packets:?}");
    D::close(&client).await.unwrap();
    peer.join().unwrap();
}

/// Peer credentials on both sides: this process's pid and user.
pub async fn unix_peer_credentials<D: UnixDriver>(transport: Transport) {
    let addr = UnixAddr::path(socket_path("creds.sock"));
    let options = match transport {
        Transport::Plain => ServerOptions::default(),
        Transport::Tls => ServerOptions::default().tls(test_certs().server_config()),
    };
    let server = Arc::new(
        D::bind_all(vec![addr.clone()], lines(), options)
            .await
            .unwrap(),
    );
    let serving = spawn::<D, _>(D::serve(
        server.clone(),
        handler(|conn: D::Client<Lines>| async move {
            let answer = match D::peer_credentials(&conn) {
                Ok(creds) => format!("{:?} {}", creds.pid, creds.uid),
                Err(err) => format!("{:?}", err.kind()),
            };
            let _ = D::send_packet(&conn, answer.as_str()).await;
            let _ = D::recv_packet(&conn).await;
        }),
    ));
    let client = connect::<D>(&addr, transport).await;
    let answer = recv_ok::<D, _>(&client, "the server's view of our credentials").await;
    let ours = D::peer_credentials(&client);
    if cfg!(any(target_os = "linux", target_os = "android")) {
        // The socket directory was created by this process: its owner is
        // this process's effective user.
        let dir = socket_path("x");
        let uid = std::fs::metadata(dir.parent().unwrap()).unwrap().uid();
        let me = format!("{:?} {uid}", Some(std::process::id()));
        assert_eq!(answer, me);
        assert_eq!(ours.unwrap().pid, Some(std::process::id()));
    } else {
        assert_eq!(answer, "Unsupported");
        assert_eq!(ours.unwrap_err().kind(), std::io::ErrorKind::Unsupported);
    }
    D::close(&client).await.unwrap();
    D::shutdown(&D::shutdown_handle(&server), Duration::from_secs(1));
    let mut serving = serving;
    within::<D, _>(PROMPTLY, &mut serving)
        .await
        .expect("serve returns")
        .unwrap();
}

/// A server at its limit (`WhenFull::Refuse`) closes the extra client and
/// reports it as `Rejected`, naming the (unnamed) Unix peer.
pub async fn unix_server_limit_rejects_extras<D: UnixDriver>(transport: Transport) {
    let events = Events::default();
    let mut options = ServerOptions::default().on_event(events.recorder());
    options.max_connections = Some(1);
    options.when_full = WhenFull::Refuse;
    let server = echo_server::<D>(transport, options).await;
    let first = connect::<D>(&server.addr(), transport).await;
    D::send_packet(&first, "one").await.unwrap();
    assert_eq!(
        recv_ok::<D, _>(&first, "the first client's echo").await,
        "one"
    );
    let second = D::connect(server.addr(), lines(), Unix::client_options(transport)).await;
    if let Ok(second) = second {
        let _ = D::send_packet(&second, "two").await;
        let err = D::recv_packet_timeout(&second, PROMPTLY).await.unwrap_err();
        assert!(
            !matches!(err, Error::Timeout { .. }),
            "closed, not silent: {err:?}"
        );
    }
    let seen = events
        .wait_for::<D>("Rejected", |events| {
            events
                .iter()
                .any(|e| matches!(e, ConnectionEvent::Rejected { .. }))
        })
        .await;
    let rejected = seen.iter().find_map(|e| match e {
        ConnectionEvent::Rejected { peer, reason } => Some((peer.clone(), reason.clone())),
        _ => None,
    });
    let (peer, reason) = rejected.unwrap();
    assert_eq!(peer, PeerAddr::Unix(UnixAddr::Unnamed));
    assert!(reason.contains("limit of 1"), "{reason}");
    D::send_packet(&first, "still").await.unwrap();
    assert_eq!(
        recv_ok::<D, _>(&first, "the first client, still served").await,
        "still"
    );
    D::close(&first).await.unwrap();
    server.stop(Duration::from_secs(1)).await;
}

/// Graceful shutdown: `serve` returns, the client sees the end, and the
/// server's socket file is gone.
pub async fn unix_server_graceful_shutdown_removes_its_socket_file<D: UnixDriver>(
    transport: Transport,
) {
    let server = echo_server::<D>(transport, ServerOptions::default()).await;
    let path = server.addr().as_path().unwrap().to_path_buf();
    let client = connect::<D>(&server.addr(), transport).await;
    D::send_packet(&client, "before").await.unwrap();
    assert_eq!(recv_ok::<D, _>(&client, "the echo").await, "before");
    assert!(path.exists());
    server.stop(Duration::from_secs(1)).await;
    assert!(!path.exists(), "the server removes its own socket file");
    let err = D::recv_packet_timeout(&client, PROMPTLY).await.unwrap_err();
    assert!(!matches!(err, Error::Timeout { .. }), "{err:?}");
}

/// A socket file left by a server that is gone is replaced.
pub async fn unix_stale_socket_file_is_replaced<D: UnixDriver>(transport: Transport) {
    let path = socket_path("stale.sock");
    drop(UnixListener::bind(&path).unwrap());
    assert!(path.exists(), "std leaves the file behind");
    let addr = UnixAddr::path(&path);
    let server = Arc::new(
        D::bind_all(vec![addr.clone()], lines(), ServerOptions::default())
            .await
            .expect("a stale socket file is replaced"),
    );
    let serving = spawn::<D, _>(D::serve(server.clone(), echo_handler::<D>()));
    let client = connect::<D>(&addr, transport).await;
    D::send_packet(&client, "fresh").await.unwrap();
    assert_eq!(recv_ok::<D, _>(&client, "the echo").await, "fresh");
    D::close(&client).await.unwrap();
    D::shutdown(&D::shutdown_handle(&server), Duration::from_secs(1));
    let mut serving = serving;
    within::<D, _>(PROMPTLY, &mut serving)
        .await
        .expect("serve returns")
        .unwrap();
}

/// A live server's socket is `AddrInUse` and keeps serving; a file that
/// is not a socket is refused and left as it was.
pub async fn unix_live_socket_and_other_files_are_left_alone<D: UnixDriver>(transport: Transport) {
    let server = echo_server::<D>(transport, ServerOptions::default()).await;
    let err = D::bind_all(vec![server.addr()], lines(), ServerOptions::default())
        .await
        .err()
        .expect("a live server's socket is not taken over");
    assert_eq!(err.io_kind(), std::io::ErrorKind::AddrInUse, "{err}");
    let client = connect::<D>(&server.addr(), transport).await;
    D::send_packet(&client, "alive").await.unwrap();
    assert_eq!(recv_ok::<D, _>(&client, "the echo").await, "alive");
    D::close(&client).await.unwrap();

    let file = socket_path("not-a-socket");
    std::fs::write(&file, b"keep me").unwrap();
    let err = D::bind_all(
        vec![UnixAddr::path(&file)],
        lines(),
        ServerOptions::default(),
    )
    .await
    .err()
    .expect("a plain file is not a socket");
    assert!(err.to_string().contains("is not a socket"), "{err}");
    assert_eq!(std::fs::read(&file).unwrap(), b"keep me");
    server.stop(Duration::from_secs(1)).await;
}

/// A path longer than `sun_path` takes: an error naming it and the limit,
/// from `bind` and from `connect`.
pub async fn unix_path_too_long_names_the_limit<D: UnixDriver>(transport: Transport) {
    let long = format!("/tmp/{}", "n".repeat(200));
    let err = D::bind_all(
        vec![UnixAddr::path(&long)],
        lines(),
        ServerOptions::default(),
    )
    .await
    .err()
    .expect("too long");
    let text = err.to_string();
    assert!(text.contains(&long) && text.contains("sun_path"), "{text}");
    let err = D::connect(
        UnixAddr::path(&long),
        lines(),
        Unix::client_options(transport),
    )
    .await
    .err()
    .expect("too long");
    assert!(matches!(err, Error::Config(_)), "{err:?}");
}

/// Connecting to a missing path names it (`NotFound`); to a socket file
/// nobody listens on, `ConnectionRefused` naming it.
pub async fn unix_connect_errors_name_the_path<D: UnixDriver>(transport: Transport) {
    let path = socket_path("nobody.sock");
    let err = D::connect(
        UnixAddr::path(&path),
        lines(),
        Unix::client_options(transport),
    )
    .await
    .err()
    .expect("nothing there");
    assert_eq!(err.io_kind(), std::io::ErrorKind::NotFound, "{err}");
    assert!(err.to_string().contains(&*path.to_string_lossy()), "{err}");
    drop(UnixListener::bind(&path).unwrap());
    let err = D::connect(
        UnixAddr::path(&path),
        lines(),
        Unix::client_options(transport),
    )
    .await
    .err()
    .expect("nobody listens");
    assert!(
        matches!(&err, Error::ConnectionRefused { addr } if *addr == UnixAddr::path(&path)),
        "{err:?}"
    );
}

/// Linux's abstract namespace: bind, connect, round trip, addresses; no
/// file is created. Elsewhere an abstract name is refused as unsupported.
pub async fn unix_abstract_names<D: UnixDriver>(transport: Transport) {
    let addr = UnixAddr::abstract_name(format!("netproto-suite-{}", socket_path("a").display()));
    let bound = D::bind_all(vec![addr.clone()], lines(), ServerOptions::default()).await;
    if !cfg!(any(target_os = "linux", target_os = "android")) {
        let err = bound.err().expect("no abstract names here");
        assert_eq!(err.io_kind(), std::io::ErrorKind::Unsupported, "{err}");
        return;
    }
    let server = Arc::new(bound.unwrap());
    assert_eq!(D::local_addrs(&server), vec![addr.clone()]);
    let serving = spawn::<D, _>(D::serve(server.clone(), echo_handler::<D>()));
    let client = connect::<D>(&addr, transport).await;
    assert_eq!(D::peer_addr(&client), addr);
    D::send_packet(&client, "abstract").await.unwrap();
    assert_eq!(recv_ok::<D, _>(&client, "the echo").await, "abstract");
    D::close(&client).await.unwrap();
    D::shutdown(&D::shutdown_handle(&server), Duration::from_secs(1));
    let mut serving = serving;
    within::<D, _>(PROMPTLY, &mut serving)
        .await
        .expect("serve returns")
        .unwrap();
}

/// TLS over a Unix socket without a server name to check: a clear error
/// (a path is no host name), before any byte is sent.
pub async fn unix_tls_needs_a_server_name<D: UnixDriver>(_transport: Transport) {
    let server = echo_server::<D>(Transport::Tls, ServerOptions::default()).await;
    let options = ClientOptions::default().tls(test_certs().client_config());
    let err = D::connect(server.addr(), lines(), options)
        .await
        .err()
        .expect("no server name");
    assert!(
        matches!(
            &err,
            Error::Tls {
                source: netproto_core::error::TlsError::NoServerName,
                ..
            }
        ),
        "{err:?}"
    );
    let client = connect::<D>(&server.addr(), Transport::Tls).await;
    D::send_packet(&client, "named").await.unwrap();
    assert_eq!(recv_ok::<D, _>(&client, "the echo").await, "named");
    D::close(&client).await.unwrap();
    server.stop(Duration::from_secs(1)).await;
}
