//! The datagram cases: each runs a driver's datagram client, endpoint or
//! server over the transport `F` (UDP on loopback, or Unix datagram
//! sockets) against plain std sockets of that transport ([`DatagramTestFamily`]).
//! The cases named `udp_` run over both transports, except
//! `udp_socket_options`; those named `unix_datagram_` over Unix only.

use std::net::SocketAddr;
use std::num::ParseIntError;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use netproto_core::Error;
use netproto_core::addr::PeerAddr;
use netproto_core::datagram::{DatagramProtocol, DatagramServerOptions};
use netproto_core::error::{EncodeError, TimeoutKind};
use netproto_core::options::ConnectionEvent;
use netproto_core::options::DatagramOptions;
use netproto_core::protocol::{Protocol, TryMapReceived};
use netproto_core::serializer::Utf8;

use super::{Events, PROMPTLY, assert_timeout, parse_number, spawn, within};
use crate::datagram::DatagramTestFamily;
use crate::{DatagramDriver, DatagramServerDriver};

/// Text, one string per datagram.
pub type Texts = DatagramProtocol<Utf8>;

/// [`Texts`].
pub fn texts() -> Texts {
    DatagramProtocol::new(Utf8)
}

/// Datagrams that must parse as `u32`: one that does not is an error for
/// that datagram only.
pub type DatagramNumbers = TryMapReceived<Texts, fn(String) -> Result<u32, ParseIntError>>;

/// [`DatagramNumbers`].
pub fn datagram_numbers() -> DatagramNumbers {
    texts().try_map_received(parse_number as fn(String) -> Result<u32, ParseIntError>)
}

/// A std socket of the transport `F`, the peer of the cases.
struct Peer<F: DatagramTestFamily>(F::Raw);

impl<F: DatagramTestFamily> Peer<F> {
    fn new() -> Self {
        Peer(F::raw_peer())
    }

    /// Its local address.
    fn addr(&self) -> F::Addr {
        F::raw_local(&self.0)
    }

    fn send(&self, datagram: &[u8], to: &F::Addr) {
        F::raw_send_to(&self.0, datagram, to).expect("the peer sends a datagram");
    }

    /// The next datagram the peer receives (within [`PROMPTLY`]).
    fn recv(&self) -> (Vec<u8>, F::Addr) {
        let mut buf = vec![0; 64 * 1024];
        let (n, from) = F::raw_recv_from(&self.0, &mut buf).expect("the peer receives a datagram");
        buf.truncate(n);
        (buf, from)
    }
}

/// `addr` as errors and events name it.
fn named(addr: impl Into<PeerAddr>) -> PeerAddr {
    addr.into()
}

async fn client_of<D: DatagramDriver<F>, F: DatagramTestFamily, P: crate::TestDatagramProtocol>(
    peer: &Peer<F>,
    protocol: P,
    options: DatagramOptions,
) -> D::UdpClient<P> {
    D::udp_connect(peer.addr(), protocol, options)
        .await
        .unwrap_or_else(|err| panic!("datagram connect failed: {err}"))
}

/// Packets go out one per datagram and come back in order, from the
/// connected peer.
pub async fn udp_round_trips<D: DatagramDriver<F>, F: DatagramTestFamily>() {
    let peer = Peer::<F>::new();
    let client = client_of::<D, F, _>(&peer, texts(), DatagramOptions::default()).await;
    assert_eq!(D::udp_peer_addr(&client), peer.addr());
    for text in ["one", "two", "three"] {
        D::udp_send_packet(&client, text).await.unwrap();
    }
    for text in ["one", "two", "three"] {
        let (datagram, from) = peer.recv();
        assert_eq!(datagram, text.as_bytes());
        assert_eq!(from, D::udp_local_addr(&client));
        peer.send(text.to_uppercase().as_bytes(), &from);
    }
    for text in ["ONE", "TWO", "THREE"] {
        assert_eq!(
            D::udp_recv_packet_timeout(&client, PROMPTLY).await.unwrap(),
            text
        );
    }
    // The empty datagram is a packet too.
    peer.send(b"", &D::udp_local_addr(&client));
    assert_eq!(D::udp_recv_packet(&client).await.unwrap(), "");
    D::udp_close(&client).await.unwrap();
}

/// A datagram that does not deserialize is an error for itself only,
/// carrying it and naming the sender.
pub async fn udp_bad_datagram_between_good_ones<D: DatagramDriver<F>, F: DatagramTestFamily>() {
    let peer = Peer::<F>::new();
    let client = client_of::<D, F, _>(&peer, datagram_numbers(), DatagramOptions::default()).await;
    let to = D::udp_local_addr(&client);
    for datagram in ["1", "not a number", "3"] {
        peer.send(datagram.as_bytes(), &to);
    }
    assert_eq!(
        D::udp_recv_packet_timeout(&client, PROMPTLY).await.unwrap(),
        1
    );
    match D::udp_recv_packet_timeout(&client, PROMPTLY).await {
        Err(err @ Error::Deserialize { .. }) => {
            assert!(err.is_recoverable());
            let Error::Deserialize { peer: from, source } = err else {
                unreachable!()
            };
            assert_eq!(from, named(peer.addr()));
            assert_eq!(source.frame, "not a number");
        }
        other => panic!("expected a deserialize error, got {other:?}"),
    }
    assert_eq!(
        D::udp_recv_packet_timeout(&client, PROMPTLY).await.unwrap(),
        3
    );
}

/// A packet that encodes to more than the maximum datagram size is
/// refused before anything is sent, and the client goes on.
pub async fn udp_oversize_send_is_refused<D: DatagramDriver<F>, F: DatagramTestFamily>() {
    let peer = Peer::<F>::new();
    let options = DatagramOptions::default().max_datagram_size(8);
    let client = client_of::<D, F, _>(&peer, texts(), options).await;
    assert_eq!(D::udp_max_datagram_size(&client), 8);
    match D::udp_send_packet(&client, "nine bytes").await {
        Err(Error::Encode(EncodeError::DatagramTooLong { length, limit })) => {
            assert_eq!((length, limit), (10, 8));
        }
        other => panic!("expected DatagramTooLong, got {other:?}"),
    }
    let err = D::udp_send_packet_timeout(&client, "nine bytes", PROMPTLY)
        .await
        .unwrap_err();
    assert!(err.is_recoverable(), "{err}");
    D::udp_send_packet(&client, "8 bytes!").await.unwrap();
    // The first datagram the peer sees is the one that fits.
    assert_eq!(peer.recv().0, b"8 bytes!");
}

/// A datagram longer than the maximum is reported with the sizes, never
/// delivered cut, and the next datagram still arrives.
pub async fn udp_oversize_received_is_reported_and_the_next_arrives<
    D: DatagramDriver<F>,
    F: DatagramTestFamily,
>() {
    let peer = Peer::<F>::new();
    let options = DatagramOptions::default().max_datagram_size(8);
    let client = client_of::<D, F, _>(&peer, texts(), options).await;
    let to = D::udp_local_addr(&client);
    peer.send(b"exactly8", &to);
    peer.send(b"nine byte", &to);
    peer.send(&[b'x'; 2000], &to);
    peer.send(b"next", &to);
    assert_eq!(
        D::udp_recv_packet_timeout(&client, PROMPTLY).await.unwrap(),
        "exactly8"
    );
    for _ in 0..2 {
        match D::udp_recv_packet_timeout(&client, PROMPTLY).await {
            Err(err @ Error::DatagramTooLong { .. }) => {
                assert!(err.is_recoverable() && err.is_peer_fault());
                let Error::DatagramTooLong {
                    peer: from,
                    length,
                    limit,
                } = err
                else {
                    unreachable!()
                };
                assert_eq!((from, length, limit), (peer.addr().into(), 9, 8));
            }
            other => panic!("expected DatagramTooLong, got {other:?}"),
        }
    }
    assert_eq!(
        D::udp_recv_packet_timeout(&client, PROMPTLY).await.unwrap(),
        "next"
    );
}

/// A receive that times out loses nothing: the datagram that arrives
/// later is returned by the next receive.
pub async fn udp_receive_timeout_loses_nothing<D: DatagramDriver<F>, F: DatagramTestFamily>() {
    let peer = Peer::<F>::new();
    let client = client_of::<D, F, _>(&peer, texts(), DatagramOptions::default()).await;
    let err = D::udp_recv_packet_timeout(&client, Duration::from_millis(50))
        .await
        .unwrap_err();
    assert_timeout(&err);
    let err = D::udp_recv_packet_timeout(&client, Duration::ZERO)
        .await
        .unwrap_err();
    assert_timeout(&err);
    peer.send(b"late", &D::udp_local_addr(&client));
    assert_eq!(D::udp_recv_packet(&client).await.unwrap(), "late");
}

/// `iter_received_packets(timeout)` yields what arrives within the
/// timeout, per-datagram errors included, then ends quietly.
pub async fn udp_iter_received_packets_within_the_timeout<
    D: DatagramDriver<F>,
    F: DatagramTestFamily,
>() {
    let peer = Peer::<F>::new();
    let client = client_of::<D, F, _>(&peer, datagram_numbers(), DatagramOptions::default()).await;
    assert!(
        D::udp_iter_received_packets(&client, Duration::ZERO)
            .await
            .is_empty()
    );
    let to = D::udp_local_addr(&client);
    for datagram in ["1", "two", "3"] {
        peer.send(datagram.as_bytes(), &to);
    }
    let received = D::udp_iter_received_packets(&client, Duration::from_millis(500)).await;
    assert!(
        matches!(
            &received[..],
            [Ok(1), Err(Error::Deserialize { .. }), Ok(3)]
        ),
        "{received:?}"
    );
    // A local close ends an iteration after reporting it.
    D::udp_close(&client).await.unwrap();
    let received = D::udp_iter_received_packets(&client, PROMPTLY).await;
    assert!(
        matches!(&received[..], [Err(Error::Closed)]),
        "{received:?}"
    );
}

/// `close` from elsewhere wakes a pending receive at once with `Closed`.
pub async fn udp_close_wakes_a_pending_receive<D: DatagramDriver<F>, F: DatagramTestFamily>() {
    let peer = Peer::<F>::new();
    let client = Arc::new(client_of::<D, F, _>(&peer, texts(), DatagramOptions::default()).await);
    let waiting = client.clone();
    let mut pending = spawn::<D, _>(async move { D::udp_recv_packet(&waiting).await });
    assert!(
        within::<D, _>(Duration::from_millis(100), &mut pending)
            .await
            .is_none(),
        "the receive must wait for a datagram"
    );
    D::udp_close(&client).await.unwrap();
    assert!(D::udp_is_closed(&client));
    match within::<D, _>(PROMPTLY, &mut pending).await {
        Some(Err(Error::Closed)) => {}
        other => panic!("expected Closed promptly, got {other:?}"),
    }
    assert!(matches!(
        D::udp_send_packet(&client, "x").await,
        Err(Error::Closed)
    ));
}

/// The socket options a UDP user needs.
pub async fn udp_socket_options<D: DatagramDriver<F>, F: DatagramTestFamily<Addr = SocketAddr>>() {
    let peer = Peer::<F>::new();
    let local: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let options = DatagramOptions::default().local_address(local);
    let client = client_of::<D, F, _>(&peer, texts(), options).await;
    assert_eq!(D::udp_local_addr(&client).ip(), local.ip());
    let socket = D::udp_socket(&client);
    socket.set_broadcast(true).unwrap();
    assert!(socket.broadcast().unwrap());
    socket.set_ttl(9).unwrap();
    assert_eq!(socket.ttl().unwrap(), 9);
    socket.set_recv_buffer_size(256 * 1024).unwrap();
    assert!(socket.recv_buffer_size().unwrap() >= 256 * 1024);
}

/// An endpoint receives from several peers, knows who sent what, answers
/// each one, and refuses an oversize packet.
pub async fn udp_endpoint_with_several_peers<D: DatagramDriver<F>, F: DatagramTestFamily>() {
    let options = DatagramOptions::default().max_datagram_size(64);
    let endpoint = D::endpoint_bind(F::bind_address(), texts(), options)
        .await
        .unwrap();
    let at = D::endpoint_local_addr(&endpoint);
    assert!(F::is_bound(&at), "{at}");
    let peers: Vec<Peer<F>> = (0..3).map(|_| Peer::new()).collect();
    for (n, peer) in peers.iter().enumerate() {
        peer.send(format!("from {n}").as_bytes(), &at);
    }
    for _ in 0..peers.len() {
        let (text, from) = D::endpoint_recv_packet_from_timeout(&endpoint, PROMPTLY)
            .await
            .unwrap();
        let n = peers
            .iter()
            .position(|peer| peer.addr() == from)
            .unwrap_or_else(|| panic!("{text:?} from an unknown sender {from}"));
        assert_eq!(text, format!("from {n}"));
        D::endpoint_send_packet_to(&endpoint, &format!("to {n}"), from)
            .await
            .unwrap();
    }
    for (n, peer) in peers.iter().enumerate() {
        assert_eq!(peer.recv(), (format!("to {n}").into_bytes(), at.clone()));
    }
    let long = "x".repeat(65);
    assert!(matches!(
        D::endpoint_send_packet_to(&endpoint, &long, peers[0].addr()).await,
        Err(Error::Encode(EncodeError::DatagramTooLong { .. }))
    ));
    let err = D::endpoint_recv_packet_from_timeout(&endpoint, Duration::from_millis(20))
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        Error::Timeout {
            kind: TimeoutKind::Receive,
            ..
        }
    ));
    D::endpoint_close(&endpoint).await.unwrap();
    assert!(matches!(
        D::endpoint_recv_packet_from_timeout(&endpoint, PROMPTLY).await,
        Err(Error::Closed)
    ));
}

/// The protocols above are datagram test protocols.
#[allow(dead_code)]
fn protocols_are_datagram_test_protocols() {
    fn check<P: crate::TestDatagramProtocol + Protocol>(_: P) {}
    check(texts());
    check(datagram_numbers());
}

/// A datagram server of `protocol` at a fresh address of `F`.
async fn udp_server<
    D: DatagramServerDriver<F>,
    F: DatagramTestFamily,
    P: crate::TestDatagramProtocol,
>(
    protocol: P,
    options: DatagramServerOptions,
) -> Arc<D::UdpServer<P>> {
    let server = D::udp_server_bind(F::bind_address(), protocol, options)
        .await
        .unwrap_or_else(|err| panic!("DatagramServer::bind failed: {err}"));
    assert!(F::is_bound(&D::udp_server_local_addr(&server)));
    Arc::new(server)
}

/// Wait (up to [`PROMPTLY`]) until `done` holds.
async fn until<D: crate::Driver>(what: &str, done: impl Fn() -> bool) {
    let start = std::time::Instant::now();
    while !done() {
        assert!(
            start.elapsed() < PROMPTLY,
            "{what}: not within {PROMPTLY:?}"
        );
        D::sleep(Duration::from_millis(5)).await;
    }
}

/// Stop `server` with `grace` and check that `serve` returns `Ok(())`
/// promptly and the server no longer serves.
async fn shut_down<
    D: DatagramServerDriver<F>,
    F: DatagramTestFamily,
    P: crate::TestDatagramProtocol,
>(
    server: &D::UdpServer<P>,
    serving: &mut crate::cases::Task<Result<(), Error>>,
    grace: Duration,
) {
    D::shutdown(&D::udp_server_shutdown_handle(server), grace);
    match within::<D, _>(PROMPTLY, serving).await {
        Some(Ok(())) => {}
        other => panic!("serve must return Ok(()) after a shutdown, got {other:?}"),
    }
    assert!(!D::udp_server_is_serving(server));
}

/// Several peers at once, each served by its own handler (they run at the
/// same time: each waits for the others to start), each one's datagrams
/// arriving in order and its replies going back to it alone.
pub async fn udp_server_several_peers_at_once_keep_their_order<
    D: DatagramServerDriver<F>,
    F: DatagramTestFamily,
>() {
    const PEERS: usize = 4;
    const EACH: usize = 25;
    let server = udp_server::<D, F, _>(texts(), DatagramServerOptions::default()).await;
    let at = D::udp_server_local_addr(&server);
    let started = Arc::new(Mutex::new(Vec::new()));
    let starts = started.clone();
    let serving = spawn::<D, _>(D::udp_server_serve(
        server.clone(),
        crate::handler(move |peer: D::UdpPeer<Texts>| {
            let started = starts.clone();
            async move {
                started.lock().unwrap().push(D::peer_peer_addr(&peer));
                let all = started.clone();
                until::<D>("every peer's handler started", || {
                    all.lock().unwrap().len() >= PEERS
                })
                .await;
                while let Ok(text) = D::peer_recv_packet(&peer).await {
                    let reply = format!("{text} for {}", D::peer_peer_addr(&peer));
                    if D::peer_send_packet(&peer, &reply).await.is_err() {
                        break;
                    }
                }
            }
        }),
    ));
    let mut serving = serving;
    let peers: Vec<Peer<F>> = (0..PEERS).map(|_| Peer::new()).collect();
    for k in 0..EACH {
        for (n, peer) in peers.iter().enumerate() {
            peer.send(format!("{n}-{k}").as_bytes(), &at);
        }
    }
    for (n, peer) in peers.iter().enumerate() {
        let me = peer.addr();
        for k in 0..EACH {
            let (reply, from) = peer.recv();
            assert_eq!(from, at.clone());
            assert_eq!(
                String::from_utf8(reply).unwrap(),
                format!("{n}-{k} for {me}")
            );
        }
    }
    let mut started: Vec<String> = started
        .lock()
        .unwrap()
        .iter()
        .map(|a| a.to_string())
        .collect();
    started.sort();
    let mut expected: Vec<String> = peers.iter().map(|p| p.addr().to_string()).collect();
    expected.sort();
    assert_eq!(started, expected, "one handler per peer");
    assert!(D::udp_server_is_serving(&server));
    shut_down::<D, F, _>(&server, &mut serving, Duration::ZERO).await;
}

/// A datagram that does not deserialize reaches the peer's handler as an
/// error for itself only, and the next one arrives.
pub async fn udp_server_bad_datagram_between_good_ones<
    D: DatagramServerDriver<F>,
    F: DatagramTestFamily,
>() {
    let options = DatagramServerOptions::default().max_datagram_size(8);
    let server = udp_server::<D, F, _>(datagram_numbers(), options).await;
    let at = D::udp_server_local_addr(&server);
    let mut serving = spawn::<D, _>(D::udp_server_serve(
        server.clone(),
        crate::handler(move |peer: D::UdpPeer<DatagramNumbers>| async move {
            loop {
                let reply = match D::peer_recv_packet(&peer).await {
                    Ok(n) => format!("ok {n}"),
                    // Replies fit in the 8-byte maximum.
                    Err(Error::Deserialize { peer: from, source }) => {
                        match from == named(D::peer_peer_addr(&peer)) {
                            true => format!("?{}", String::from_utf8_lossy(&source.frame)),
                            false => "?sender".to_string(),
                        }
                    }
                    Err(Error::DatagramTooLong { length, limit, .. }) => {
                        format!("long {length}>{limit}")
                    }
                    Err(_) => break,
                };
                if D::peer_send_packet(&peer, &reply).await.is_err() {
                    break;
                }
            }
        }),
    ));
    let client = Peer::<F>::new();
    for datagram in ["1", "one", "3", "123456789", "5"] {
        client.send(datagram.as_bytes(), &at);
    }
    for expected in ["ok 1", "?one", "ok 3", "long 9>8", "ok 5"] {
        let (reply, from) = client.recv();
        assert_eq!(from, at);
        assert_eq!(String::from_utf8(reply).unwrap(), expected);
    }
    shut_down::<D, F, _>(&server, &mut serving, Duration::ZERO).await;
}

/// A peer's queue is bounded while its handler is busy, and so is the
/// number of peers: what is dropped is counted in `DatagramsDropped`
/// events, and what was queued reaches the handler in order.
pub async fn udp_server_overflow_is_dropped_and_counted<
    D: DatagramServerDriver<F>,
    F: DatagramTestFamily,
>() {
    let events = Events::default();
    let options = DatagramServerOptions::default()
        .queue_len(2)
        .max_peers(1)
        .report_interval(Duration::from_millis(20))
        .on_event(events.recorder());
    let server = udp_server::<D, F, _>(texts(), options).await;
    let at = D::udp_server_local_addr(&server);
    let holding = Arc::new(AtomicBool::new(false));
    let release = Arc::new(AtomicBool::new(false));
    let (held, released) = (holding.clone(), release.clone());
    let mut serving = spawn::<D, _>(D::udp_server_serve(
        server.clone(),
        crate::handler(move |peer: D::UdpPeer<Texts>| {
            let (holding, release) = (held.clone(), released.clone());
            async move {
                let mut got = vec![D::peer_recv_packet(&peer).await.unwrap()];
                holding.store(true, Ordering::SeqCst);
                until::<D>("the case releases the handler", || {
                    release.load(Ordering::SeqCst)
                })
                .await;
                while let Ok(text) =
                    D::peer_recv_packet_timeout(&peer, Duration::from_millis(100)).await
                {
                    got.push(text);
                }
                let _ = D::peer_send_packet(&peer, &got.join(" ")).await;
            }
        }),
    ));
    let client = Peer::<F>::new();
    client.send(b"first", &at);
    until::<D>("the handler holds", || holding.load(Ordering::SeqCst)).await;
    for n in 0..10 {
        client.send(format!("q{n}").as_bytes(), &at);
    }
    let stranger = Peer::<F>::new();
    stranger.send(b"no room", &at);
    let totals = |events: &[ConnectionEvent]| {
        events
            .iter()
            .fold((0, 0), |(queue, peers), event| match event {
                ConnectionEvent::DatagramsDropped {
                    local,
                    queue_full,
                    too_many_peers,
                    ..
                } => {
                    assert_eq!(*local, named(at.clone()));
                    (queue + queue_full, peers + too_many_peers)
                }
                _ => (queue, peers),
            })
    };
    events
        .wait_for::<D>("DatagramsDropped", |events| totals(events) == (8, 1))
        .await;
    release.store(true, Ordering::SeqCst);
    let (reply, _) = client.recv();
    assert_eq!(String::from_utf8(reply).unwrap(), "first q0 q1");
    assert_eq!(totals(&events.snapshot()), (8, 1), "nothing else dropped");
    shut_down::<D, F, _>(&server, &mut serving, Duration::ZERO).await;
}

/// A peer that sends nothing for the idle timeout is forgotten: its
/// handler's receive fails with an idle timeout, and the peer's next
/// datagram starts a new handler.
pub async fn udp_server_idle_peer_is_forgotten<
    D: DatagramServerDriver<F>,
    F: DatagramTestFamily,
>() {
    let options = DatagramServerOptions::default().idle_timeout(Duration::from_millis(100));
    let server = udp_server::<D, F, _>(texts(), options).await;
    let at = D::udp_server_local_addr(&server);
    let ends = Arc::new(Mutex::new(Vec::new()));
    let ended = ends.clone();
    let mut serving = spawn::<D, _>(D::udp_server_serve(
        server.clone(),
        crate::handler(move |peer: D::UdpPeer<Texts>| {
            let ended = ended.clone();
            async move {
                let err = loop {
                    match D::peer_recv_packet(&peer).await {
                        Ok(text) => {
                            let _ = D::peer_send_packet(&peer, &text).await;
                        }
                        Err(err) => break err,
                    }
                };
                ended.lock().unwrap().push(err);
            }
        }),
    ));
    let client = Peer::<F>::new();
    client.send(b"hello", &at);
    assert_eq!(client.recv().0, b"hello");
    until::<D>("the idle peer's handler ends", || {
        !ends.lock().unwrap().is_empty()
    })
    .await;
    client.send(b"again", &at);
    assert_eq!(client.recv().0, b"again");
    until::<D>("the second handler ends", || {
        ends.lock().unwrap().len() == 2
    })
    .await;
    for err in ends.lock().unwrap().iter() {
        assert!(
            matches!(
                err,
                Error::Timeout {
                    kind: TimeoutKind::Idle,
                    ..
                }
            ),
            "expected an idle timeout, got {err:?}"
        );
    }
    shut_down::<D, F, _>(&server, &mut serving, Duration::ZERO).await;
}

/// Shutdown lets a handler finish its work within the grace period (its
/// reply arrives, `serve` returns without waiting for the grace to end);
/// a handler still waiting for datagrams after the grace sees
/// `Error::Closed`, and `serve` returns.
pub async fn udp_server_graceful_shutdown_ends_serve<
    D: DatagramServerDriver<F>,
    F: DatagramTestFamily,
>() {
    // Graceful: the handler answers once and returns.
    let server = udp_server::<D, F, _>(texts(), DatagramServerOptions::default()).await;
    let at = D::udp_server_local_addr(&server);
    let busy = Arc::new(AtomicBool::new(false));
    let working = busy.clone();
    let mut serving = spawn::<D, _>(D::udp_server_serve(
        server.clone(),
        crate::handler(move |peer: D::UdpPeer<Texts>| {
            let working = working.clone();
            async move {
                let text = D::peer_recv_packet(&peer).await.unwrap();
                working.store(true, Ordering::SeqCst);
                D::sleep(Duration::from_millis(100)).await;
                D::peer_send_packet(&peer, &format!("done {text}"))
                    .await
                    .unwrap();
            }
        }),
    ));
    let client = Peer::<F>::new();
    client.send(b"work", &at);
    until::<D>("the handler works", || busy.load(Ordering::SeqCst)).await;
    D::shutdown(&D::udp_server_shutdown_handle(&*server), CASE_GRACE);
    match within::<D, _>(PROMPTLY, &mut serving).await {
        Some(Ok(())) => {}
        other => panic!("serve must return once the handler is done, got {other:?}"),
    }
    assert_eq!(client.recv().0, b"done work");
    assert!(!D::udp_server_is_serving(&server));

    // Forced: the handler waits for more and sees `Closed`.
    let server = udp_server::<D, F, _>(texts(), DatagramServerOptions::default()).await;
    let at = D::udp_server_local_addr(&server);
    let seen = Arc::new(Mutex::new(None));
    let record = seen.clone();
    let mut serving = spawn::<D, _>(D::udp_server_serve(
        server.clone(),
        crate::handler(move |peer: D::UdpPeer<Texts>| {
            let record = record.clone();
            async move {
                let err = loop {
                    match D::peer_recv_packet(&peer).await {
                        Ok(text) => D::peer_send_packet(&peer, &text).await.unwrap(),
                        Err(err) => break err,
                    }
                };
                *record.lock().unwrap() = Some(err);
            }
        }),
    ));
    client.send(b"echo", &at);
    assert_eq!(client.recv().0, b"echo");
    shut_down::<D, F, _>(&server, &mut serving, Duration::from_millis(50)).await;
    match seen.lock().unwrap().take() {
        Some(Error::Closed) => {}
        other => panic!("the waiting handler must see Closed, got {other:?}"),
    }
}

/// A grace period longer than any case: a shutdown that returns before it
/// ends did not wait for it.
const CASE_GRACE: Duration = Duration::from_secs(3600);

/// A Unix datagram client binds an address of its own so that replies
/// reach it: the path it is given (a stale socket file there is replaced,
/// anything else is refused; its file goes with the client) or, on Linux,
/// an abstract name the kernel picks.
#[cfg(unix)]
pub async fn unix_datagram_client_binds_so_replies_reach_it<D, F>()
where
    D: DatagramDriver<F>,
    F: DatagramTestFamily<Addr = netproto_core::addr::UnixAddr>,
{
    use netproto_core::addr::UnixAddr;
    let peer = Peer::<F>::new();
    let path = crate::family::socket_path("client.sock");
    drop(std::os::unix::net::UnixDatagram::bind(&path).unwrap()); // stale
    let options = DatagramOptions::default().local_unix_address(&path);
    let client = client_of::<D, F, _>(&peer, texts(), options).await;
    assert_eq!(D::udp_local_addr(&client), UnixAddr::path(&path));
    assert_eq!(D::udp_peer_addr(&client), peer.addr());
    D::udp_send_packet(&client, "ping").await.unwrap();
    let (datagram, from) = peer.recv();
    assert_eq!(
        (datagram.as_slice(), &from),
        (&b"ping"[..], &UnixAddr::path(&path))
    );
    peer.send(b"pong", &from);
    assert_eq!(
        D::udp_recv_packet_timeout(&client, PROMPTLY).await.unwrap(),
        "pong"
    );
    drop(client);
    assert!(!path.exists(), "the client's socket file goes with it");

    let plain = crate::family::socket_path("not-a-socket");
    std::fs::write(&plain, b"keep me").unwrap();
    let options = DatagramOptions::default().local_unix_address(&plain);
    match D::udp_connect(peer.addr(), texts(), options).await {
        Err(err) => assert!(
            err.to_string().contains(&plain.display().to_string()),
            "{err}"
        ),
        Ok(_) => panic!("a client must not bind over a file that is not a socket"),
    }
    assert_eq!(std::fs::read(&plain).unwrap(), b"keep me");
    let _ = std::fs::remove_file(&plain);

    if cfg!(any(target_os = "linux", target_os = "android")) {
        let client = client_of::<D, F, _>(&peer, texts(), DatagramOptions::default()).await;
        let local = D::udp_local_addr(&client);
        assert!(local.as_abstract_name().is_some(), "autobound: {local}");
        D::udp_send_packet(&client, "auto").await.unwrap();
        let (datagram, from) = peer.recv();
        assert_eq!((datagram.as_slice(), &from), (&b"auto"[..], &local));
        peer.send(b"reply", &from);
        assert_eq!(
            D::udp_recv_packet_timeout(&client, PROMPTLY).await.unwrap(),
            "reply"
        );
    }
}

/// A datagram from an unnamed Unix socket (a sender that did not bind)
/// cannot be answered: the server starts no handler for it and counts it
/// as `unreachable` in a `DatagramsDropped` event; a named peer is served.
#[cfg(unix)]
pub async fn unix_datagram_server_counts_unnamed_senders<D, F>()
where
    D: DatagramServerDriver<F>,
    F: DatagramTestFamily<Addr = netproto_core::addr::UnixAddr>,
{
    let events = Events::default();
    let options = DatagramServerOptions::default()
        .report_interval(Duration::from_millis(20))
        .on_event(events.recorder());
    let server = udp_server::<D, F, _>(texts(), options).await;
    let at = D::udp_server_local_addr(&server);
    let served = Arc::new(Mutex::new(Vec::new()));
    let seen = served.clone();
    let mut serving = spawn::<D, _>(D::udp_server_serve(
        server.clone(),
        crate::handler(move |peer: D::UdpPeer<Texts>| {
            let seen = seen.clone();
            async move {
                seen.lock().unwrap().push(D::peer_peer_addr(&peer));
                while let Ok(text) = D::peer_recv_packet(&peer).await {
                    if D::peer_send_packet(&peer, &text).await.is_err() {
                        break;
                    }
                }
            }
        }),
    ));
    let unnamed = std::os::unix::net::UnixDatagram::unbound().unwrap();
    let to = at.as_path().expect("a path").to_path_buf();
    for _ in 0..3 {
        unnamed.send_to(b"from nobody", &to).unwrap();
    }
    let unreachable = |events: &[ConnectionEvent]| {
        events
            .iter()
            .map(|event| match event {
                ConnectionEvent::DatagramsDropped { unreachable, .. } => *unreachable,
                _ => 0,
            })
            .sum::<u64>()
    };
    events
        .wait_for::<D>("DatagramsDropped with unreachable", |events| {
            unreachable(events) == 3
        })
        .await;
    let client = Peer::<F>::new();
    client.send(b"hello", &at);
    assert_eq!(client.recv(), (b"hello".to_vec(), at.clone()));
    assert_eq!(
        *served.lock().unwrap(),
        [client.addr()],
        "no handler for the unnamed sender"
    );
    assert_eq!(unreachable(&events.snapshot()), 3);
    shut_down::<D, F, _>(&server, &mut serving, Duration::ZERO).await;
}
