//! One stream [`Connection`] used from several threads at once, as the
//! drivers use it: one thread receiving while another sends and a third
//! closes (a user's `close`, or a server's `force_close` at shutdown), then
//! the drop; plain and over TLS, against a peer engine on an in-memory
//! socket pair with small queues, so writes are partial and operations
//! wait for each other.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use shuttle::sync::Mutex;
use shuttle::thread;

use super::{drive, explore};
use crate::StreamProtocol;
use crate::connection::memory::{self, MemorySocket};
use crate::connection::{Connection, SendPacket};
use crate::endpoint::{ConnectionEvents, ConnectionSetup};
use crate::error::Error;
use crate::framing::Delimiter;
use crate::options::{ClientOptions, ConnectionEvent, ServerOptions};
use crate::serializer::Utf8;
#[cfg(feature = "tls")]
use crate::tls::{TlsClientConfig, TlsServerConfig};

type Lines = StreamProtocol<Delimiter, Utf8>;

/// What the connection under test sends.
const SENT: [&str; 3] = ["alpha", "bravo", "charlie"];
/// What its peer sends.
const PEER_SENT: [&str; 2] = ["one", "two"];

/// The connection under test (a client, whose events are recorded) and
/// its socket.
struct Pair {
    conn: Arc<Connection<Lines>>,
    io: MemorySocket,
    events: Arc<Mutex<Vec<ConnectionEvent>>>,
}

/// A client certificate-checking config and a server config for
/// "localhost", made once.
#[cfg(feature = "tls")]
fn tls_configs() -> &'static (TlsClientConfig, TlsServerConfig) {
    static CONFIGS: std::sync::OnceLock<(TlsClientConfig, TlsServerConfig)> =
        std::sync::OnceLock::new();
    CONFIGS.get_or_init(|| {
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let cert_pem = cert.cert.pem();
        let key_pem = cert.signing_key.serialize_pem();
        let client = TlsClientConfig::with_root_pem(cert_pem.as_bytes())
            .unwrap()
            .server_name("localhost");
        let server = TlsServerConfig::from_pem(cert_pem.as_bytes(), key_pem.as_bytes()).unwrap();
        (client, server)
    })
}

/// Two engines joined by sockets that hold `capacity` bytes each way: the
/// connection under test, set up (TLS handshake done), and the thread of
/// its peer ([`spawn_peer`]), a served connection.
fn connected(tls: bool, capacity: usize, now: Instant) -> (Pair, PeerThread) {
    let client: SocketAddr = "127.0.0.1:5000".parse().unwrap();
    let server: SocketAddr = "127.0.0.1:7000".parse().unwrap();
    let events: Arc<Mutex<Vec<ConnectionEvent>>> = Arc::default();
    let sink = events.clone();
    let client_options =
        ClientOptions::default().on_event(move |e| sink.lock().unwrap().push(e.clone()));
    let server_options = ServerOptions::default();
    #[cfg(feature = "tls")]
    let (client_options, server_options) = if tls {
        let (client_tls, server_tls) = tls_configs().clone();
        (
            client_options.tls(client_tls),
            server_options.tls(server_tls),
        )
    } else {
        (client_options, server_options)
    };
    #[cfg(not(feature = "tls"))]
    assert!(!tls, "the TLS models need the `tls` feature");
    let lines = || StreamProtocol::new(Delimiter::lf(), Utf8);
    let conn = ConnectionSetup::client(&client_options, None)
        .connection(lines(), server, client)
        .unwrap();
    let peer = ConnectionSetup::server(&server_options)
        .connection(lines(), client, server)
        .unwrap();
    let (io, peer_io) = memory::pair(capacity);
    let peer = spawn_peer(peer, peer_io, now);
    let mut handshake = conn.handshake(now);
    drive(|| conn.poll_handshake(&mut handshake, &io, now)).expect("handshake");
    let pair = Pair {
        conn: Arc::new(conn),
        io,
        events,
    };
    (pair, peer)
}

/// The peer's thread: what it received, and how its stream ended.
type PeerThread = thread::JoinHandle<(Vec<String>, Error)>;

/// Receive until an error: the packets, and the error.
fn recv_all(conn: &Connection<Lines>, io: &MemorySocket, now: Instant) -> (Vec<String>, Error) {
    let mut got = Vec::new();
    loop {
        let mut op = conn.recv(now, None);
        match drive(|| conn.poll_recv(&mut op, io, now)) {
            Ok(packet) => got.push(packet),
            Err(err) => return (got, err),
        }
    }
}

/// Send `packets` in turn until one fails: each send's result.
fn send_all(
    conn: &Connection<Lines>,
    io: &MemorySocket,
    packets: &[&str],
    now: Instant,
) -> Vec<Result<(), Error>> {
    let mut results = Vec::new();
    for packet in packets {
        let mut op = SendPacket::new(*packet);
        let result = drive(|| conn.poll_send(&mut op, io, now));
        let failed = result.is_err();
        results.push(result);
        if failed {
            break;
        }
    }
    results
}

/// The peer: runs its handshake, sends [`PEER_SENT`], then receives until
/// the stream ends.
fn spawn_peer(peer: Connection<Lines>, io: MemorySocket, now: Instant) -> PeerThread {
    thread::spawn(move || {
        let mut handshake = peer.handshake(now);
        drive(|| peer.poll_handshake(&mut handshake, &io, now)).expect("peer handshake");
        for result in send_all(&peer, &io, &PEER_SENT, now) {
            result.expect("the peer's sends succeed");
        }
        recv_all(&peer, &io, now)
    })
}

/// The receiving and the sending thread of the connection under test.
#[allow(clippy::type_complexity)]
fn spawn_user(
    pair: &Pair,
    now: Instant,
) -> (
    thread::JoinHandle<(Vec<String>, Error)>,
    thread::JoinHandle<Vec<Result<(), Error>>>,
) {
    let receiver = {
        let (conn, io) = (pair.conn.clone(), pair.io.clone());
        thread::spawn(move || recv_all(&conn, &io, now))
    };
    let sender = {
        let (conn, io) = (pair.conn.clone(), pair.io.clone());
        thread::spawn(move || send_all(&conn, &io, &SENT, now))
    };
    (receiver, sender)
}

/// `got` is the start of `sent`, in order, nothing doubled or skipped.
fn assert_prefix(got: &[String], sent: &[&str], who: &str) {
    assert!(
        got.len() <= sent.len() && got.iter().zip(sent).all(|(a, b)| a == b),
        "{who} received {got:?}, not a prefix of {sent:?}"
    );
}

/// The sends' results: `Ok` up to the first failure, which is the
/// connection closing under it. Returns how many succeeded.
fn sends_ok(results: &[Result<(), Error>]) -> usize {
    let ok = results.iter().take_while(|r| r.is_ok()).count();
    for result in &results[ok..] {
        assert!(
            matches!(result, Err(Error::Closed | Error::SendAfterEof)),
            "a send failed with {result:?}"
        );
    }
    ok
}

/// The `Disconnected` reasons reported, after checking that `Connected`
/// came first and once.
fn disconnects(events: &Mutex<Vec<ConnectionEvent>>) -> Vec<Option<String>> {
    let events = events.lock().unwrap();
    assert!(
        matches!(events.first(), Some(ConnectionEvent::Connected { .. })),
        "Connected first: {events:?}"
    );
    events
        .iter()
        .skip(1)
        .map(|e| match e {
            ConnectionEvent::Disconnected { reason, .. } => reason.clone(),
            other => panic!("unexpected event {other:?}"),
        })
        .collect()
}

/// One thread receives, one sends three packets, a third `close`s, while
/// the peer sends two packets and then reads until the end of the stream.
///
/// Invariants, for every schedule:
/// * the receive ends with [`Error::Closed`] (never a "closed by the peer"
///   or a TLS truncation: the close shut the read half itself), after a
///   prefix of the peer's packets, in order;
/// * each send succeeds until one fails with `Closed` / `SendAfterEof`;
/// * `close` returns `Ok` — everything queued reached the peer — and the
///   peer reads, in order and whole, every packet whose send succeeded and
///   at most the one in flight when the close began, then a clean end of
///   the stream (TLS: close_notify);
/// * `Connected` then exactly one `Disconnected`, with no reason (a clean
///   local close), and nothing left queued.
fn recv_send_close(tls: bool, capacity: usize) {
    let now = Instant::now();
    let (pair, peer) = connected(tls, capacity, now);
    let (receiver, sender) = spawn_user(&pair, now);
    let closer = {
        let (conn, io) = (pair.conn.clone(), pair.io.clone());
        thread::spawn(move || match conn.start_close(&io, now) {
            Some(mut op) => drive(|| conn.poll_close(&mut op, &io, now)),
            None => Ok(()),
        })
    };
    let (got, end) = receiver.join().unwrap();
    let sent = sender.join().unwrap();
    let closed = closer.join().unwrap();
    let (peer_got, peer_end) = peer.join().unwrap();

    assert_prefix(&got, &PEER_SENT, "the receiver");
    assert!(
        matches!(end, Error::Closed),
        "the receive ended with {end:?}"
    );
    let ok = sends_ok(&sent);
    closed.expect("close delivers what is queued");
    assert_prefix(&peer_got, &SENT, "the peer");
    assert!(
        (ok..=ok + 1).contains(&peer_got.len()),
        "{ok} sends succeeded, the peer received {peer_got:?}"
    );
    assert!(
        matches!(peer_end, Error::ConnectionClosed { .. }),
        "the peer's stream ended with {peer_end:?}"
    );
    assert_eq!(disconnects(&pair.events), [None]);
    assert_eq!(pair.conn.queued(), 0);
}

/// As [`recv_send_close`], with a server's `force_close` (shutdown) racing
/// the user's `close`, and the connection dropped (`abort`) at the end.
///
/// Invariants, for every schedule:
/// * the receive ends with [`Error::Closed`] after a prefix of the peer's
///   packets;
/// * each send succeeds until one fails with `Closed` / `SendAfterEof`;
///   every packet whose send succeeded reaches the peer, in order and
///   whole (a packet cut short by the forced close ends the peer's stream
///   with a truncation, never a corrupted packet);
/// * `Connected` then exactly one `Disconnected` — the drop after both
///   closes adds none — with no reason or the server's, whichever close
///   came first; the reason kept is that first one.
fn close_races_force_close_then_drop(tls: bool, capacity: usize) {
    let now = Instant::now();
    let (pair, peer) = connected(tls, capacity, now);
    let (receiver, sender) = spawn_user(&pair, now);
    let closer = {
        let (conn, io) = (pair.conn.clone(), pair.io.clone());
        thread::spawn(move || {
            if let Some(mut op) = conn.start_close(&io, now) {
                let _ = drive(|| conn.poll_close(&mut op, &io, now));
            }
        })
    };
    let server = {
        let (conn, io) = (pair.conn.clone(), pair.io.clone());
        thread::spawn(move || conn.force_close(&io, Some(ConnectionEvents::SERVER_SHUT_DOWN)))
    };
    let (got, end) = receiver.join().unwrap();
    let sent = sender.join().unwrap();
    closer.join().unwrap();
    server.join().unwrap();
    pair.conn.abort(&pair.io);
    let (peer_got, peer_end) = peer.join().unwrap();

    assert_prefix(&got, &PEER_SENT, "the receiver");
    assert!(
        matches!(end, Error::Closed),
        "the receive ended with {end:?}"
    );
    let ok = sends_ok(&sent);
    assert_prefix(&peer_got, &SENT, "the peer");
    assert!(
        peer_got.len() >= ok,
        "{ok} sends succeeded, the peer received {peer_got:?}"
    );
    assert!(
        matches!(
            peer_end,
            Error::ConnectionClosed { .. } | Error::UnexpectedEof { .. } | Error::Tls { .. }
        ),
        "the peer's stream ended with {peer_end:?}"
    );
    if !tls {
        assert!(
            !matches!(peer_end, Error::Tls { .. }),
            "a plain stream ended with {peer_end:?}"
        );
    }
    let reasons = disconnects(&pair.events);
    let kept = pair.conn.events().reason().map(str::to_owned);
    match &reasons[..] {
        [None] => {}
        // The forced close's reason, with the bytes it threw away if any.
        [Some(reason)] => {
            assert!(
                reason == ConnectionEvents::SERVER_SHUT_DOWN
                    || (reason.starts_with(ConnectionEvents::SERVER_SHUT_DOWN)
                        && reason.ends_with(" queued bytes not delivered")),
                "{reason}"
            );
            assert_eq!(kept.as_deref(), Some(reason.as_str()));
        }
        other => panic!("Disconnected once, not {other:?}"),
    }
}

#[test]
fn plain_recv_send_close() {
    explore(1000, || recv_send_close(false, 8));
}

#[cfg(feature = "tls")]
#[test]
fn tls_recv_send_close() {
    explore(200, || recv_send_close(true, 64));
}

#[test]
fn plain_close_races_force_close_then_drop() {
    explore(1000, || close_races_force_close_then_drop(false, 8));
}

#[cfg(feature = "tls")]
#[test]
fn tls_close_races_force_close_then_drop() {
    explore(200, || close_races_force_close_then_drop(true, 64));
}
