//! Unix stream sockets: the client and server behaviours over `AF_UNIX`,
//! plain and TLS, and the socket-file rules. Run by [`unix_suite!`](crate::unix_suite).

use std::io::{Read, Write};
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use netproto_core::Error;
use netproto_core::addr::{PeerAddr, UnixAddr};
use netproto_core::options::{ClientOptions, ConnectionEvent, ServerOptions, WhenFull};
use netproto_core::tls::rustls::{ServerConnection, StreamOwned};

use super::{Events, Lines, PROMPTLY, assert_timeout, lines, spawn, within};
use crate::certs::test_certs;
use crate::unix::UnixDriver;
use crate::{Transport, handler};

/// A fresh socket path in a directory of this process (short enough for
/// `sun_path` wherever the temporary directory is).
pub fn socket_path(name: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!("np-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create the socket directory");
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let path = dir.join(format!("{n}-{name}"));
    let _ = std::fs::remove_file(&path);
    path
}

/// Client options for `transport` over a Unix socket: TLS names the
/// certificate to expect (`localhost`), since a path is no host name.
pub fn unix_client_options(transport: Transport) -> ClientOptions {
    match transport {
        Transport::Plain => ClientOptions::default(),
        Transport::Tls => {
            ClientOptions::default().tls(test_certs().client_config().server_name("localhost"))
        }
    }
}

/// A std peer's end of an accepted Unix connection, plain or TLS.
pub enum UnixPeer {
    /// Plain.
    Plain(UnixStream),
    /// TLS, server side.
    Tls(Box<StreamOwned<ServerConnection, UnixStream>>),
}

impl UnixPeer {
    /// Accept-side setup (TLS handshake included for `Transport::Tls`).
    pub fn server(mut stream: UnixStream, transport: Transport) -> std::io::Result<Self> {
        stream.set_read_timeout(Some(PROMPTLY))?;
        match transport {
            Transport::Plain => Ok(UnixPeer::Plain(stream)),
            Transport::Tls => {
                let mut conn = ServerConnection::new(test_certs().rustls_server_config())
                    .map_err(std::io::Error::other)?;
                while conn.is_handshaking() {
                    conn.complete_io(&mut stream)?;
                }
                Ok(UnixPeer::Tls(Box::new(StreamOwned::new(conn, stream))))
            }
        }
    }

    fn io(&mut self) -> &mut dyn ReadWrite {
        match self {
            UnixPeer::Plain(stream) => stream,
            UnixPeer::Tls(stream) => &mut **stream,
        }
    }

    /// Write `bytes` and flush.
    pub fn send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let io = self.io();
        io.write_all(bytes)?;
        io.flush()
    }

    /// Read until the peer's end of stream (TLS: close_notify).
    pub fn read_to_end(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match self.io().read(&mut buf) {
                Ok(0) | Err(_) => return out,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    }

    /// Echo lines back until the end of the stream.
    pub fn echo(mut self) {
        let mut buf = [0u8; 4096];
        loop {
            match self.io().read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if self.send(&buf[..n]).is_err() {
                        return;
                    }
                }
            }
        }
    }
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

/// A std listener at a fresh path running `script` on its first
/// connection, on a thread.
fn std_peer<T: Send + 'static>(
    transport: Transport,
    script: impl FnOnce(UnixPeer) -> T + Send + 'static,
) -> (UnixAddr, std::thread::JoinHandle<T>) {
    let path = socket_path("peer.sock");
    let listener = UnixListener::bind(&path).expect("bind a Unix socket");
    let thread = std::thread::spawn(move || {
        let (stream, _) = listener.accept().expect("accept");
        script(UnixPeer::server(stream, transport).expect("peer setup"))
    });
    (UnixAddr::path(path), thread)
}

async fn connect<D: UnixDriver>(addr: &UnixAddr, transport: Transport) -> D::UnixClient<Lines> {
    D::unix_connect(addr.clone(), lines(), unix_client_options(transport))
        .await
        .unwrap_or_else(|err| panic!("connecting to {addr} failed: {err}"))
}

async fn recv_ok<D: UnixDriver>(client: &D::UnixClient<Lines>, what: &str) -> String {
    match D::unix_recv_timeout(client, PROMPTLY).await {
        Ok(line) => line,
        Err(err) => panic!("expected {what}, got error: {err}"),
    }
}

/// Echo lines on a Unix connection until it ends.
async fn echo<D: UnixDriver>(conn: &D::UnixClient<Lines>) {
    while let Ok(line) = D::unix_recv(conn).await {
        if D::unix_send(conn, line.as_str()).await.is_err() {
            return;
        }
    }
}

/// A Unix echo server at a fresh path, serving in a task.
struct EchoServer<D: UnixDriver> {
    server: Arc<D::UnixServer<Lines>>,
    addr: UnixAddr,
    serving: super::Task<Result<(), Error>>,
}

impl<D: UnixDriver> EchoServer<D> {
    async fn start(transport: Transport, options: ServerOptions) -> Self {
        let addr = UnixAddr::path(socket_path("echo.sock"));
        let options = match transport {
            Transport::Plain => options,
            Transport::Tls => options.tls(test_certs().server_config()),
        };
        let server = Arc::new(
            D::unix_bind(addr.clone(), lines(), options)
                .await
                .unwrap_or_else(|err| panic!("binding {addr} failed: {err}")),
        );
        let serving = spawn::<D, _>(D::unix_serve(
            server.clone(),
            handler(|conn: D::UnixClient<Lines>| async move { echo::<D>(&conn).await }),
        ));
        EchoServer {
            server,
            addr,
            serving,
        }
    }

    async fn stop(self) {
        D::shutdown(
            &D::unix_shutdown_handle(&self.server),
            Duration::from_secs(1),
        );
        let mut serving = self.serving;
        let done = within::<D, _>(PROMPTLY, &mut serving)
            .await
            .expect("serve returns after shutdown");
        done.expect("serve ends cleanly");
    }
}

/// A round trip; the addresses on both sides (the server's path, an
/// unnamed client) and in the `Connected` event.
pub async fn unix_round_trip_and_addresses<D: UnixDriver>(transport: Transport) {
    let events = Events::default();
    let server = EchoServer::<D>::start(transport, ServerOptions::default()).await;
    assert_eq!(
        D::unix_local_addrs(&server.server),
        vec![server.addr.clone()]
    );
    let options = unix_client_options(transport).on_event(events.recorder());
    let client = D::unix_connect(server.addr.clone(), lines(), options)
        .await
        .unwrap();
    D::unix_send(&client, "hello").await.unwrap();
    assert_eq!(recv_ok::<D>(&client, "the echo").await, "hello");
    assert_eq!(D::unix_peer_addr(&client), server.addr);
    assert!(D::unix_local_addr(&client).is_unnamed());
    assert_eq!(
        D::unix_connection_peers(&server.server),
        vec![UnixAddr::Unnamed]
    );
    let connected = events.snapshot().into_iter().find_map(|event| match event {
        ConnectionEvent::Connected { local, peer } => Some((local, peer)),
        _ => None,
    });
    assert_eq!(
        connected,
        Some((
            PeerAddr::Unix(UnixAddr::Unnamed),
            PeerAddr::Unix(server.addr.clone())
        ))
    );
    D::unix_close(&client).await.unwrap();
    server.stop().await;
}

/// Three packets in one write come out as three; one dripped in pieces
/// comes out whole.
pub async fn unix_packets_split_and_joined<D: UnixDriver>(transport: Transport) {
    let (addr, peer) = std_peer(transport, |mut peer| {
        peer.send(b"a\nb\nc\n")?;
        for piece in [&b"dr"[..], b"ip", b"ped\n"] {
            std::thread::sleep(Duration::from_millis(20));
            peer.send(piece)?;
        }
        Ok::<_, std::io::Error>(peer.read_to_end())
    });
    let client = connect::<D>(&addr, transport).await;
    for expected in ["a", "b", "c", "dripped"] {
        assert_eq!(recv_ok::<D>(&client, expected).await, expected);
    }
    D::unix_close(&client).await.unwrap();
    peer.join().unwrap().unwrap();
}

/// A receive timeout loses nothing: the packet whose start had arrived
/// comes out whole once its end arrives.
pub async fn unix_timeout_loses_nothing<D: UnixDriver>(transport: Transport) {
    let (go, gate) = super::gate();
    let (addr, peer) = std_peer(transport, move |mut peer| {
        peer.send(b"hal")?;
        super::wait_gate(&gate);
        peer.send(b"f\n")?;
        Ok::<_, std::io::Error>(peer.read_to_end())
    });
    let client = connect::<D>(&addr, transport).await;
    let err = D::unix_recv_timeout(&client, Duration::from_millis(100))
        .await
        .unwrap_err();
    assert_timeout(&err);
    go.send(()).unwrap();
    assert_eq!(recv_ok::<D>(&client, "the whole line").await, "half");
    D::unix_close(&client).await.unwrap();
    peer.join().unwrap().unwrap();
}

/// `send_eof`: the peer sees the end of the stream and can still answer.
pub async fn unix_send_eof_keeps_receiving<D: UnixDriver>(transport: Transport) {
    let (addr, peer) = std_peer(transport, |mut peer| {
        let got = peer.read_to_end();
        peer.send(b"bye\n")?;
        Ok::<_, std::io::Error>(got)
    });
    let client = connect::<D>(&addr, transport).await;
    D::unix_send(&client, "last").await.unwrap();
    D::unix_send_eof(&client).await.unwrap();
    assert_eq!(recv_ok::<D>(&client, "the answer after EOF").await, "bye");
    assert_eq!(peer.join().unwrap().unwrap(), b"last\n");
    D::unix_close(&client).await.unwrap();
}

/// `close` from another task wakes a pending receive with `Closed`.
pub async fn unix_close_wakes_a_pending_receive<D: UnixDriver>(transport: Transport) {
    let server = EchoServer::<D>::start(transport, ServerOptions::default()).await;
    let client = Arc::new(connect::<D>(&server.addr, transport).await);
    let receiving = client.clone();
    let mut pending = spawn::<D, _>(async move { D::unix_recv(&receiving).await });
    assert!(
        within::<D, _>(Duration::from_millis(100), &mut pending)
            .await
            .is_none(),
        "nothing was sent"
    );
    D::unix_close(&client).await.unwrap();
    let woken = within::<D, _>(PROMPTLY, &mut pending)
        .await
        .expect("close wakes the receive");
    assert!(matches!(woken, Err(Error::Closed)), "{woken:?}");
    server.stop().await;
}

/// A connected std `UnixStream` is adopted (one end of a socket pair).
pub async fn unix_from_stream_adopts_a_connected_socket<D: UnixDriver>(transport: Transport) {
    let (ours, theirs) = UnixStream::pair().unwrap();
    let peer = std::thread::spawn(move || UnixPeer::server(theirs, transport).unwrap().echo());
    let client = D::unix_from_stream(ours, lines(), unix_client_options(transport))
        .await
        .unwrap();
    D::unix_send(&client, "paired").await.unwrap();
    assert_eq!(recv_ok::<D>(&client, "the echo").await, "paired");
    assert!(D::unix_peer_addr(&client).is_unnamed());
    let packets = D::unix_iter_received_packets(&client, Duration::ZERO).await;
    assert!(packets.is_empty(), "{packets:?}");
    D::unix_close(&client).await.unwrap();
    peer.join().unwrap();
}

/// Peer credentials on both sides: this process's pid and user.
pub async fn unix_peer_credentials<D: UnixDriver>(transport: Transport) {
    let addr = UnixAddr::path(socket_path("creds.sock"));
    let options = match transport {
        Transport::Plain => ServerOptions::default(),
        Transport::Tls => ServerOptions::default().tls(test_certs().server_config()),
    };
    let server = Arc::new(D::unix_bind(addr.clone(), lines(), options).await.unwrap());
    let serving = spawn::<D, _>(D::unix_serve(
        server.clone(),
        handler(|conn: D::UnixClient<Lines>| async move {
            let answer = match D::unix_peer_credentials(&conn) {
                Ok(creds) => format!("{:?} {}", creds.pid, creds.uid),
                Err(err) => format!("{:?}", err.kind()),
            };
            let _ = D::unix_send(&conn, answer.as_str()).await;
            let _ = D::unix_recv(&conn).await;
        }),
    ));
    let client = connect::<D>(&addr, transport).await;
    let answer = recv_ok::<D>(&client, "the server's view of our credentials").await;
    let ours = D::unix_peer_credentials(&client);
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
    D::unix_close(&client).await.unwrap();
    D::shutdown(&D::unix_shutdown_handle(&server), Duration::from_secs(1));
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
    let server = EchoServer::<D>::start(transport, options).await;
    let first = connect::<D>(&server.addr, transport).await;
    D::unix_send(&first, "one").await.unwrap();
    assert_eq!(recv_ok::<D>(&first, "the first client's echo").await, "one");
    let second =
        D::unix_connect(server.addr.clone(), lines(), unix_client_options(transport)).await;
    if let Ok(second) = second {
        let _ = D::unix_send(&second, "two").await;
        let err = D::unix_recv_timeout(&second, PROMPTLY).await.unwrap_err();
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
    D::unix_send(&first, "still").await.unwrap();
    assert_eq!(
        recv_ok::<D>(&first, "the first client, still served").await,
        "still"
    );
    D::unix_close(&first).await.unwrap();
    server.stop().await;
}

/// Graceful shutdown: `serve` returns, the client sees the end, and the
/// server's socket file is gone.
pub async fn unix_server_graceful_shutdown_removes_its_socket_file<D: UnixDriver>(
    transport: Transport,
) {
    let server = EchoServer::<D>::start(transport, ServerOptions::default()).await;
    let path = server.addr.as_path().unwrap().to_path_buf();
    let client = connect::<D>(&server.addr, transport).await;
    D::unix_send(&client, "before").await.unwrap();
    assert_eq!(recv_ok::<D>(&client, "the echo").await, "before");
    assert!(path.exists());
    server.stop().await;
    assert!(!path.exists(), "the server removes its own socket file");
    let err = D::unix_recv_timeout(&client, PROMPTLY).await.unwrap_err();
    assert!(!matches!(err, Error::Timeout { .. }), "{err:?}");
}

/// A socket file left by a server that is gone is replaced.
pub async fn unix_stale_socket_file_is_replaced<D: UnixDriver>(transport: Transport) {
    let path = socket_path("stale.sock");
    drop(UnixListener::bind(&path).unwrap());
    assert!(path.exists(), "std leaves the file behind");
    let addr = UnixAddr::path(&path);
    let server = Arc::new(
        D::unix_bind(addr.clone(), lines(), ServerOptions::default())
            .await
            .expect("a stale socket file is replaced"),
    );
    let serving = spawn::<D, _>(D::unix_serve(
        server.clone(),
        handler(|conn: D::UnixClient<Lines>| async move { echo::<D>(&conn).await }),
    ));
    let client = connect::<D>(&addr, transport).await;
    D::unix_send(&client, "fresh").await.unwrap();
    assert_eq!(recv_ok::<D>(&client, "the echo").await, "fresh");
    D::unix_close(&client).await.unwrap();
    D::shutdown(&D::unix_shutdown_handle(&server), Duration::from_secs(1));
    let mut serving = serving;
    within::<D, _>(PROMPTLY, &mut serving)
        .await
        .expect("serve returns")
        .unwrap();
}

/// A live server's socket is `AddrInUse` and keeps serving; a file that
/// is not a socket is refused and left as it was.
pub async fn unix_live_socket_and_other_files_are_left_alone<D: UnixDriver>(transport: Transport) {
    let server = EchoServer::<D>::start(transport, ServerOptions::default()).await;
    let err = D::unix_bind(server.addr.clone(), lines(), ServerOptions::default())
        .await
        .err()
        .expect("a live server's socket is not taken over");
    assert_eq!(err.io_kind(), std::io::ErrorKind::AddrInUse, "{err}");
    let client = connect::<D>(&server.addr, transport).await;
    D::unix_send(&client, "alive").await.unwrap();
    assert_eq!(recv_ok::<D>(&client, "the echo").await, "alive");
    D::unix_close(&client).await.unwrap();

    let file = socket_path("not-a-socket");
    std::fs::write(&file, b"keep me").unwrap();
    let err = D::unix_bind(UnixAddr::path(&file), lines(), ServerOptions::default())
        .await
        .err()
        .expect("a plain file is not a socket");
    assert!(err.to_string().contains("is not a socket"), "{err}");
    assert_eq!(std::fs::read(&file).unwrap(), b"keep me");
    server.stop().await;
}

/// A path longer than `sun_path` takes: an error naming it and the limit,
/// from `bind` and from `connect`.
pub async fn unix_path_too_long_names_the_limit<D: UnixDriver>(transport: Transport) {
    let long = format!("/tmp/{}", "n".repeat(200));
    let err = D::unix_bind(UnixAddr::path(&long), lines(), ServerOptions::default())
        .await
        .err()
        .expect("too long");
    let text = err.to_string();
    assert!(text.contains(&long) && text.contains("sun_path"), "{text}");
    let err = D::unix_connect(
        UnixAddr::path(&long),
        lines(),
        unix_client_options(transport),
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
    let err = D::unix_connect(
        UnixAddr::path(&path),
        lines(),
        unix_client_options(transport),
    )
    .await
    .err()
    .expect("nothing there");
    assert_eq!(err.io_kind(), std::io::ErrorKind::NotFound, "{err}");
    assert!(err.to_string().contains(&*path.to_string_lossy()), "{err}");
    drop(UnixListener::bind(&path).unwrap());
    let err = D::unix_connect(
        UnixAddr::path(&path),
        lines(),
        unix_client_options(transport),
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
    let bound = D::unix_bind(addr.clone(), lines(), ServerOptions::default()).await;
    if !cfg!(any(target_os = "linux", target_os = "android")) {
        let err = bound.err().expect("no abstract names here");
        assert_eq!(err.io_kind(), std::io::ErrorKind::Unsupported, "{err}");
        return;
    }
    let server = Arc::new(bound.unwrap());
    assert_eq!(D::unix_local_addrs(&server), vec![addr.clone()]);
    let serving = spawn::<D, _>(D::unix_serve(
        server.clone(),
        handler(|conn: D::UnixClient<Lines>| async move { echo::<D>(&conn).await }),
    ));
    let client = connect::<D>(&addr, transport).await;
    assert_eq!(D::unix_peer_addr(&client), addr);
    D::unix_send(&client, "abstract").await.unwrap();
    assert_eq!(recv_ok::<D>(&client, "the echo").await, "abstract");
    D::unix_close(&client).await.unwrap();
    D::shutdown(&D::unix_shutdown_handle(&server), Duration::from_secs(1));
    let mut serving = serving;
    within::<D, _>(PROMPTLY, &mut serving)
        .await
        .expect("serve returns")
        .unwrap();
}

/// TLS over a Unix socket without a server name to check: a clear error
/// (a path is no host name), before any byte is sent.
pub async fn unix_tls_needs_a_server_name<D: UnixDriver>(_transport: Transport) {
    let server = EchoServer::<D>::start(Transport::Tls, ServerOptions::default()).await;
    let options = ClientOptions::default().tls(test_certs().client_config());
    let err = D::unix_connect(server.addr.clone(), lines(), options)
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
    let client = connect::<D>(&server.addr, Transport::Tls).await;
    D::unix_send(&client, "named").await.unwrap();
    assert_eq!(recv_ok::<D>(&client, "the echo").await, "named");
    D::unix_close(&client).await.unwrap();
    server.stop().await;
}
