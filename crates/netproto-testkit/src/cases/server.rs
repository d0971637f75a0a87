//! Servers: serving, binding, `accept`, limits, one-client mode, idle
//! timeout and shutdown.

use std::io::Read;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use netproto_core::Error;
use netproto_core::options::{ConnectionEvent, IntoAddress, ServerOptions, WhenFull};

use super::*;
use crate::{Addr, Handler, Target, handler};

/// A server being served by a spawned task.
pub struct Running<D: Driver, P: TestProtocol> {
    /// The server.
    pub server: Arc<D::Server<P>>,
    serve: Task<Result<(), Error>>,
    handle: D::ShutdownHandle,
}

impl<D: Driver, P: TestProtocol> Running<D, P> {
    /// The first bound address.
    pub fn addr(&self) -> Addr<D> {
        D::local_addrs(&*self.server)[0].clone()
    }

    /// What a client connects to to reach the server.
    pub fn target(&self) -> Target<D> {
        target::<D>(&self.addr())
    }

    /// Ask for shutdown with `grace` (returns at once).
    pub fn shutdown(&self, grace: Duration) {
        D::shutdown(&self.handle, grace);
    }

    /// Wait for `serve` to return; panics if it does not within `limit`.
    pub async fn wait(mut self, limit: Duration) -> Result<(), Error> {
        within::<D, _>(limit, &mut self.serve)
            .await
            .expect("serve must return after shutdown")
    }

    /// Shut down with `grace` and wait for `serve` to return.
    pub async fn stop(self, grace: Duration) {
        self.shutdown(grace);
        self.wait(grace + PROMPTLY)
            .await
            .expect("serve ends cleanly");
    }
}

/// Bind a fresh address (`127.0.0.1:0`, a new socket path) and serve with
/// `handler` in a spawned task.
pub async fn start<D: Driver, P: TestProtocol>(
    protocol: P,
    options: ServerOptions,
    handler: Handler<D::Client<P>>,
) -> Running<D, P> {
    let server = Arc::new(
        D::bind_all(vec![D::Family::bindable()], protocol, options)
            .await
            .expect("bind a loopback port"),
    );
    let handle = D::shutdown_handle(&*server);
    let serve = spawn::<D, _>(D::serve(server.clone(), handler));
    Running {
        server,
        serve,
        handle,
    }
}

/// Echo every line until the peer goes away.
pub async fn echo_lines<D: Driver>(conn: &D::Client<Lines>) {
    loop {
        match D::recv_packet(conn).await {
            Ok(line) => {
                if D::send_packet(conn, line.as_str()).await.is_err() {
                    return;
                }
            }
            Err(err) if err.is_recoverable() => {}
            Err(_) => return,
        }
    }
}

/// A handler that echoes lines.
pub fn echo_handler<D: Driver>() -> Handler<D::Client<Lines>> {
    handler(|conn: D::Client<Lines>| async move { echo_lines::<D>(&conn).await })
}

async fn exchange<D: Driver>(client: &D::Client<Lines>, line: &str) {
    send_ok::<D, _>(client, line).await;
    assert_eq!(recv_ok::<D, _>(client, line).await, line);
}

/// Serve: each connection reaches the handler with its addresses, plain or
/// TLS, from driver clients and hand-made ones alike.
pub async fn server_echo<D: Driver>(t: Transport) {
    let greet = handler(|conn: D::Client<Lines>| async move {
        let hello = format!("{} {}", D::peer_addr(&conn), D::local_addr(&conn));
        if D::send_packet(&conn, hello.as_str()).await.is_ok() {
            echo_lines::<D>(&conn).await;
        }
    });
    let running = start::<D, _>(lines(), t.server_options(), greet).await;
    if let Some(inet) = peer_of(running.addr()).inet() {
        assert_ne!(inet.port(), 0);
    }
    let client = connect_to::<D, _>(running.target(), lines(), t).await;
    let expected = format!("{} {}", D::local_addr(&client), D::peer_addr(&client));
    assert_eq!(recv_ok::<D, _>(&client, "the greeting").await, expected);
    exchange::<D>(&client, "over the driver").await;

    let mut raw = super::raw_client::<D>(running.addr(), t);
    raw.read_lines(1).unwrap();
    raw.send(b"by hand\n").unwrap();
    assert_eq!(raw.read_lines(1).unwrap(), b"by hand\n");
    D::close(&client).await.unwrap();
    drop(raw);
    running.stop(Duration::from_secs(2)).await;
}

/// `bind_all` binds every address (each once); `local_addrs` reports the
/// real ports; a host name binds what it resolves to; an address that
/// cannot be bound is named in the error.
pub async fn server_binds_several_addresses<D: TcpDriver>(t: Transport) {
    let addresses = vec![D::Family::bindable(), D::Family::bindable()];
    let server = Arc::new(
        D::bind_all(addresses, lines(), t.server_options())
            .await
            .unwrap(),
    );
    let addrs = D::local_addrs(&*server);
    assert_eq!(addrs.len(), 2, "{addrs:?}");
    assert!(addrs.iter().all(|a| a.port() != 0));
    assert_ne!(addrs[0].port(), addrs[1].port());
    let handle = D::shutdown_handle(&*server);
    let mut serve = spawn::<D, _>(D::serve(server.clone(), echo_handler::<D>()));
    for addr in &addrs {
        let client = connect_to::<D, _>(addr.into_address().unwrap(), lines(), t).await;
        exchange::<D>(&client, &addr.to_string()).await;
        D::close(&client).await.unwrap();
    }
    D::shutdown(&handle, Duration::from_secs(1));
    within::<D, _>(PROMPTLY, &mut serve)
        .await
        .expect("serve returns")
        .unwrap();

    let by_name = D::bind_all(
        vec!["localhost:0".into_address().unwrap()],
        lines(),
        t.server_options(),
    )
    .await
    .unwrap();
    let addrs = D::local_addrs(&by_name);
    assert!(!addrs.is_empty());
    assert!(addrs.iter().all(|a| a.ip().is_loopback() && a.port() != 0));
    drop(by_name);

    // An address given twice is bound once; an address in use is named.
    let free = free_port_address();
    let twice = D::bind_all(
        vec![free.clone(), free.clone()],
        lines(),
        t.server_options(),
    )
    .await
    .expect("an address given twice is bound once");
    assert_eq!(D::local_addrs(&twice).len(), 1);
    let err = D::bind_all(vec![free.clone()], lines(), t.server_options())
        .await
        .err()
        .expect("an address in use cannot be bound again");
    assert_eq!(err.io_kind(), std::io::ErrorKind::AddrInUse, "{err:?}");
    assert!(
        err.to_string().contains(&format!("cannot bind {free}")),
        "{err}"
    );
}

/// `accept` hands out one connection (TLS handshake done) for users who
/// run their own loop.
pub async fn server_accept_low_level<D: Driver>(t: Transport) {
    let address = D::Family::bindable();
    let server = Arc::new(
        D::bind_all(vec![address], lines(), t.server_options())
            .await
            .unwrap(),
    );
    let addr = D::local_addrs(&*server)[0].clone();
    let accepting = spawn::<D, _>({
        let server = server.clone();
        async move { D::accept(&*server).await }
    });
    let client = connect_to::<D, _>(target::<D>(&addr), lines(), t).await;
    let conn = accepting.await.expect("accept a connection");
    assert_eq!(D::peer_addr(&conn), D::local_addr(&client));
    assert_eq!(D::local_addr(&conn), D::peer_addr(&client));
    send_ok::<D, _>(&conn, "from the server").await;
    assert_eq!(recv_ok::<D, _>(&client, "hello").await, "from the server");
    send_ok::<D, _>(&client, "from the client").await;
    assert_eq!(recv_ok::<D, _>(&conn, "hello").await, "from the client");
    D::close(&client).await.unwrap();
    let err = recv_err::<D, _>(&conn, "the client left").await;
    assert!(!err.is_recoverable(), "{err:?}");
    D::close(&conn).await.unwrap();
}

/// `max_connections` with `WhenFull::Wait`: an extra client waits until a
/// slot frees, then is served.
pub async fn server_max_connections_wait<D: Driver>(t: Transport) {
    let options = t.server_options().max_connections(1, WhenFull::Wait);
    let running = start::<D, _>(lines(), options, echo_handler::<D>()).await;
    let address = running.target();
    let first = connect_to::<D, _>(address.clone(), lines(), t).await;
    exchange::<D>(&first, "first").await;
    let mut second = spawn::<D, _>(async move {
        let client = connect_to::<D, _>(address, lines(), t).await;
        send_ok::<D, _>(&client, "second").await;
        let echoed = recv_ok::<D, _>(&client, "second").await;
        D::close(&client).await.unwrap();
        echoed
    });
    assert!(
        within::<D, _>(Duration::from_millis(400), &mut second)
            .await
            .is_none(),
        "a second client must wait while the only slot is taken"
    );
    D::close(&first).await.unwrap();
    let echoed = within::<D, _>(PROMPTLY, &mut second)
        .await
        .expect("the second client is served once the slot frees");
    assert_eq!(echoed, "second");
    running.stop(Duration::from_secs(1)).await;
}

/// One-client mode: extra clients are accepted and closed at once
/// (`Rejected`), with connect/disconnect callbacks; the next client is
/// served once the first leaves.
pub async fn server_one_client_rejects_extras<D: TcpDriver>(t: Transport) {
    let events = Events::default();
    let options = t.server_options().one_client().on_event(events.recorder());
    let running = start::<D, _>(lines(), options, echo_handler::<D>()).await;
    let address = running.target();
    let first = connect_to::<D, _>(address.clone(), lines(), t).await;
    exchange::<D>(&first, "first").await;
    let first_local = D::local_addr(&first);
    events
        .wait_for::<D>("Connected", |e| {
            e.iter().any(
                |e| matches!(e, ConnectionEvent::Connected { peer, .. } if *peer == first_local),
            )
        })
        .await;

    let mut extra = std::net::TcpStream::connect(running.addr()).unwrap();
    let extra_local = extra.local_addr().unwrap();
    extra.set_read_timeout(Some(PROMPTLY)).unwrap();
    let mut byte = [0u8; 1];
    match extra.read(&mut byte) {
        Ok(0) => {}
        Ok(_) => panic!("a rejected client must not be served"),
        Err(err) => assert!(
            !matches!(
                err.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
            "the extra client was not closed: {err}"
        ),
    }
    let seen = events
        .wait_for::<D>("Rejected", |e| {
            e.iter().any(
                |e| matches!(e, ConnectionEvent::Rejected { peer, .. } if *peer == extra_local),
            )
        })
        .await;
    assert!(
        seen.iter().any(|e| matches!(
            e,
            ConnectionEvent::Rejected { reason, .. }
                if reason == "the server is at its limit of 1 connection(s)"
        )),
        "{seen:?}"
    );
    exchange::<D>(&first, "still served").await;

    D::close(&first).await.unwrap();
    events
        .wait_for::<D>("Disconnected", |e| {
            e.iter().any(
                |e| matches!(e, ConnectionEvent::Disconnected { peer, .. } if *peer == first_local),
            )
        })
        .await;
    // The slot is free again (it may take a moment to be released).
    let start = Instant::now();
    loop {
        let next = connect_to::<D, _>(address.clone(), lines(), t).await;
        let ok = D::send_packet(&next, "next").await.is_ok()
            && matches!(D::recv_packet_timeout(&next, PROMPTLY).await, Ok(line) if line == "next");
        D::close(&next).await.unwrap();
        if ok {
            break;
        }
        assert!(
            start.elapsed() < PROMPTLY,
            "the next client is never served"
        );
        D::sleep(Duration::from_millis(50)).await;
    }
    running.stop(Duration::from_secs(1)).await;
}

type Recorded = Arc<Mutex<Vec<Error>>>;

/// A handler that receives until an error, records it and returns
/// (after sending `ready`).
fn recording_handler<D: Driver>(errors: Recorded) -> Handler<D::Client<Lines>> {
    handler(move |conn: D::Client<Lines>| {
        let errors = errors.clone();
        async move {
            let _ = D::send_packet(&conn, "ready").await;
            loop {
                if let Err(err) = D::recv_packet(&conn).await {
                    errors.lock().unwrap().push(err);
                    return;
                }
            }
        }
    })
}

/// The idle timeout drops a peer that trickles bytes without ever
/// completing a packet (slowloris): trickled bytes do not reset it.
pub async fn server_idle_timeout_drops_slowloris<D: Driver>(t: Transport) {
    let errors = Recorded::default();
    let options = t.server_options().idle_timeout(Duration::from_millis(300));
    let running = start::<D, _>(lines(), options, recording_handler::<D>(errors.clone())).await;
    let addr = running.addr();
    let slowloris = std::thread::spawn(move || {
        let mut s = super::raw_client::<D>(addr, t);
        s.read_lines(1).expect("ready");
        let start = Instant::now();
        while start.elapsed() < PROMPTLY {
            if s.send(b"x").is_err() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    });
    // Wait without blocking a runtime thread: blocking one (or, with two
    // such cases at once, every one) in `join` would starve the server
    // that is to drop the peer.
    while !slowloris.is_finished() {
        D::sleep(Duration::from_millis(20)).await;
    }
    let dropped = slowloris.join().unwrap();
    assert!(
        dropped,
        "a trickling peer must be dropped by the idle timeout"
    );
    let recorded = std::mem::take(&mut *errors.lock().unwrap());
    assert!(
        matches!(
            recorded.as_slice(),
            [Error::Timeout {
                kind: netproto_core::error::TimeoutKind::Idle,
                ..
            }]
        ),
        "{recorded:?}"
    );
    running.stop(Duration::from_secs(1)).await;
}

/// On a served connection, `iter_received_packets` yields the idle
/// timeout that closed the connection, then ends (it ends silently only at
/// its own receive timeout).
pub async fn server_idle_timeout_ends_packet_iteration<D: Driver>(t: Transport) {
    type Items = Arc<Mutex<Option<Vec<Result<String, Error>>>>>;
    let items = Items::default();
    let events = Events::default();
    let options = t
        .server_options()
        .idle_timeout(Duration::from_millis(300))
        .on_event(events.recorder());
    let iterate = handler({
        let items = items.clone();
        move |conn: D::Client<Lines>| {
            let items = items.clone();
            async move {
                let received = D::iter_received_packets(&conn, PROMPTLY).await;
                *items.lock().unwrap() = Some(received);
            }
        }
    });
    let running = start::<D, _>(lines(), options, iterate).await;
    let client = connect_to::<D, _>(running.target(), lines(), t).await;
    send_ok::<D, _>(&client, "only").await;
    let start = Instant::now();
    let received = loop {
        if let Some(received) = items.lock().unwrap().take() {
            break received;
        }
        assert!(start.elapsed() < PROMPTLY, "the iteration never ended");
        D::sleep(Duration::from_millis(20)).await;
    };
    assert!(
        matches!(
            received.as_slice(),
            [
                Ok(line),
                Err(Error::Timeout {
                    kind: netproto_core::error::TimeoutKind::Idle,
                    ..
                })
            ] if line == "only"
        ),
        "{received:?}"
    );
    // The server reports why it closed the connection.
    events
        .wait_for::<D>("Disconnected (idle)", |e| {
            e.iter().any(|e| {
                matches!(
                    e,
                    ConnectionEvent::Disconnected { reason: Some(r), .. } if r.starts_with("idle timed out")
                )
            })
        })
        .await;
    D::close(&client).await.unwrap();
    running.stop(Duration::from_secs(1)).await;
}

/// On a served connection, `recv_packet_timeout(t)` waits for the earlier
/// of `t` and the idle timeout; on a tie the idle timeout decides (and
/// closes the connection).
pub async fn server_idle_timeout_wins_a_tie<D: Driver>(t: Transport) {
    const IDLE: Duration = Duration::from_millis(300);
    let errors = Recorded::default();
    let options = t.server_options().idle_timeout(IDLE);
    let waits = handler({
        let errors = errors.clone();
        move |conn: D::Client<Lines>| {
            let errors = errors.clone();
            async move {
                let _ = D::send_packet(&conn, "ready").await;
                let tie = D::recv_packet_timeout(&conn, IDLE).await;
                errors.lock().unwrap().extend(tie.err());
            }
        }
    });
    let running = start::<D, _>(lines(), options, waits).await;
    let client = connect_to::<D, _>(running.target(), lines(), t).await;
    assert_eq!(recv_ok::<D, _>(&client, "ready").await, "ready");
    let err = recv_err::<D, _>(&client, "the server closing the idle connection").await;
    assert!(!err.is_recoverable(), "{err:?}");
    let start = Instant::now();
    while errors.lock().unwrap().is_empty() {
        assert!(start.elapsed() < PROMPTLY, "the handler never finished");
        D::sleep(Duration::from_millis(20)).await;
    }
    let recorded = std::mem::take(&mut *errors.lock().unwrap());
    assert!(
        matches!(
            recorded.as_slice(),
            [Error::Timeout {
                kind: netproto_core::error::TimeoutKind::Idle,
                ..
            }]
        ),
        "{recorded:?}"
    );
    D::close(&client).await.unwrap();
    running.stop(Duration::from_secs(1)).await;
}

/// A handler that panics ends its own connection, not the server: the
/// next client is served, and `serve` still returns cleanly on shutdown.
pub async fn server_survives_a_panicking_handler<D: Driver>(t: Transport) {
    let first = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let panicky = handler(move |conn: D::Client<Lines>| {
        let panics = first.swap(false, std::sync::atomic::Ordering::SeqCst);
        async move {
            if panics {
                panic!("this handler panics on purpose (server_survives_a_panicking_handler)");
            }
            echo_lines::<D>(&conn).await;
        }
    });
    let running = start::<D, _>(lines(), t.server_options(), panicky).await;
    let address = running.target();
    let doomed = connect_to::<D, _>(address.clone(), lines(), t).await;
    let err = recv_err::<D, _>(&doomed, "the panicking handler's connection to end").await;
    assert!(!err.is_recoverable(), "{err:?}");
    D::close(&doomed).await.unwrap();
    let next = connect_to::<D, _>(address, lines(), t).await;
    exchange::<D>(&next, "still serving").await;
    D::close(&next).await.unwrap();
    running.stop(Duration::from_secs(1)).await;
}

/// Graceful shutdown: accepting stops (the listeners close), a handler
/// finishes its conversation within the grace period, then `serve` returns.
pub async fn server_graceful_shutdown<D: Driver>(t: Transport) {
    let bye = handler(|conn: D::Client<Lines>| async move {
        while let Ok(line) = D::recv_packet(&conn).await {
            if D::send_packet(&conn, line.as_str()).await.is_err() || line == "bye" {
                return;
            }
        }
    });
    let running = start::<D, _>(lines(), t.server_options(), bye).await;
    let addr = running.addr();
    let client = connect_to::<D, _>(target::<D>(&addr), lines(), t).await;
    exchange::<D>(&client, "before").await;
    let grace = Duration::from_secs(30);
    running.shutdown(grace);
    exchange::<D>(&client, "during the grace period").await;
    exchange::<D>(&client, "bye").await;
    running
        .wait(PROMPTLY)
        .await
        .expect("serve returns once the handlers are done, before the grace ends");
    let refused = D::Family::connect(&addr);
    assert!(
        refused.is_err(),
        "the listener must be closed after shutdown"
    );
    D::close(&client).await.unwrap();
}

/// Shutdown closes the connections still open when the grace period ends;
/// their handlers see `Closed`, and `Disconnected` says "server shut down".
pub async fn server_shutdown_force_closes_after_grace<D: Driver>(t: Transport) {
    let errors = Recorded::default();
    let events = Events::default();
    let running = start::<D, _>(
        lines(),
        t.server_options().on_event(events.recorder()),
        recording_handler::<D>(errors.clone()),
    )
    .await;
    let client = connect_to::<D, _>(running.target(), lines(), t).await;
    assert_eq!(recv_ok::<D, _>(&client, "ready").await, "ready");
    running.shutdown(Duration::from_millis(300));
    running
        .wait(PROMPTLY)
        .await
        .expect("serve returns after the grace period");
    let recorded = std::mem::take(&mut *errors.lock().unwrap());
    assert!(
        matches!(recorded.as_slice(), [Error::Closed]),
        "{recorded:?}"
    );
    let disconnects: Vec<_> = events
        .snapshot()
        .into_iter()
        .filter_map(|e| match e {
            ConnectionEvent::Disconnected { reason, .. } => Some(reason),
            _ => None,
        })
        .collect();
    assert_eq!(disconnects, [Some("server shut down".to_owned())]);
    let err = recv_err::<D, _>(&client, "the server closed").await;
    assert!(!err.is_recoverable(), "{err:?}");
    D::close(&client).await.unwrap();
}

/// Poll `ready` until it holds, for at most [`PROMPTLY`].
async fn eventually<D: Driver>(what: &str, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(
            start.elapsed() < PROMPTLY,
            "{what}: not within {PROMPTLY:?}"
        );
        D::sleep(Duration::from_millis(10)).await;
    }
}

/// A served connection can be reached from outside its handler:
/// `connections` lists the clients, `broadcast` reaches every one, a
/// handle sends to one and closes another; a client that left is no longer
/// listed.
pub async fn server_connection_handles_and_broadcast<D: TcpDriver>(t: Transport) {
    let running = start::<D, _>(lines(), t.server_options(), echo_handler::<D>()).await;
    let server = running.server.clone();
    let address = running.target();
    let mut clients = Vec::new();
    for i in 0..3 {
        let client = connect_to::<D, _>(address.clone(), lines(), t).await;
        exchange::<D>(&client, &format!("hello {i}")).await;
        clients.push(client);
    }
    let mut locals: Vec<SocketAddr> = clients.iter().map(|c| D::local_addr(c)).collect();
    locals.sort();
    let mut peers = D::connection_peers(&*server);
    peers.sort();
    assert_eq!(peers, locals, "every served client is listed");

    let failed = D::broadcast(&*server, "to everyone", Some(PROMPTLY)).await;
    assert!(failed.is_empty(), "{failed:?}");
    for client in &clients {
        assert_eq!(
            recv_ok::<D, _>(client, "the broadcast").await,
            "to everyone"
        );
    }
    D::send_to_connection(&*server, D::local_addr(&clients[0]), "just you")
        .await
        .unwrap();
    assert_eq!(
        recv_ok::<D, _>(&clients[0], "the direct send").await,
        "just you"
    );

    // Closed from outside its handler: the client sees the end.
    assert!(
        D::close_connection(&*server, D::local_addr(&clients[1]))
            .await
            .unwrap()
    );
    let err = recv_err::<D, _>(&clients[1], "the server closed it").await;
    assert!(!err.is_recoverable(), "{err:?}");
    // A client that leaves drops out of the list.
    D::close(&clients[2]).await.unwrap();
    let first = D::local_addr(&clients[0]);
    eventually::<D>("the list drops the closed connections", || {
        D::connection_peers(&*server) == vec![first]
    })
    .await;
    let failed = D::broadcast(&*server, "to the rest", Some(PROMPTLY)).await;
    assert!(failed.is_empty(), "{failed:?}");
    assert_eq!(
        recv_ok::<D, _>(&clients[0], "the second broadcast").await,
        "to the rest"
    );
    D::close(&clients[0]).await.unwrap();
    running.stop(Duration::from_secs(1)).await;
}

/// `is_serving` is true while `serve` runs and false once shutdown was
/// asked for; the connection limit defaults to one derived from the
/// process's file-descriptor limit, and an explicit one is kept.
pub async fn server_is_serving_and_reports_its_limit<D: Driver>(t: Transport) {
    let address = D::Family::bindable();
    let idle = Arc::new(
        D::bind_all(vec![address.clone()], lines(), t.server_options())
            .await
            .unwrap(),
    );
    assert!(!D::is_serving(&*idle), "bound, not serving yet");
    let expected =
        netproto_core::options::auto_connection_limit(netproto_socket::listener::fd_limit());
    assert_eq!(D::max_connections(&*idle), expected);
    assert!(
        expected < 1 << 30 || cfg!(not(unix)),
        "a real limit: {expected}"
    );
    drop(idle);

    let options = t.server_options().max_connections(7, WhenFull::Refuse);
    let running = start::<D, _>(lines(), options, echo_handler::<D>()).await;
    assert_eq!(D::max_connections(&*running.server), 7);
    let server = running.server.clone();
    eventually::<D>("is_serving once serve runs", || D::is_serving(&*server)).await;
    running.shutdown(Duration::ZERO);
    assert!(
        !D::is_serving(&*server),
        "not serving once shutdown was asked for"
    );
    running.wait(PROMPTLY).await.unwrap();
    assert!(!D::is_serving(&*server));
}

/// With `WhenFull::Wait`, a server that reaches its limit says so
/// (`AtCapacity`, with the limit) rather than leaving clients in the
/// backlog in silence.
pub async fn server_at_capacity_is_reported<D: Driver>(t: Transport) {
    let events = Events::default();
    let options = t
        .server_options()
        .max_connections(1, WhenFull::Wait)
        .on_event(events.recorder());
    let running = start::<D, _>(lines(), options, echo_handler::<D>()).await;
    let address = running.target();
    let first = connect_to::<D, _>(address, lines(), t).await;
    exchange::<D>(&first, "first").await;
    events
        .wait_for::<D>("AtCapacity", |e| {
            e.iter()
                .any(|e| matches!(e, ConnectionEvent::AtCapacity { max: 1 }))
        })
        .await;
    D::close(&first).await.unwrap();
    running.stop(Duration::from_secs(1)).await;
}

/// An address without a host binds every interface, IPv4 and IPv6 (where
/// the host has IPv6) on one port, and serves on both; a client refuses
/// such an address before connecting.
pub async fn server_binds_every_interface_without_a_host<D: TcpDriver>(t: Transport) {
    let server = Arc::new(
        D::bind_all(
            vec![netproto_core::options::Address::all_interfaces(0)],
            lines(),
            t.server_options(),
        )
        .await
        .expect("bind every interface"),
    );
    let addrs = D::local_addrs(&*server);
    let ipv6 = std::net::TcpListener::bind("[::1]:0").is_ok();
    assert_eq!(addrs.len(), if ipv6 { 2 } else { 1 }, "{addrs:?}");
    assert!(
        addrs
            .iter()
            .all(|a| a.ip().is_unspecified() && a.port() == addrs[0].port())
    );
    let handle = D::shutdown_handle(&*server);
    let mut serve = spawn::<D, _>(D::serve(server.clone(), echo_handler::<D>()));
    let port = addrs[0].port();
    let mut targets = vec![format!("127.0.0.1:{port}")];
    if ipv6 {
        targets.push(format!("[::1]:{port}"));
    }
    for target in targets {
        let client = connect_to::<D, _>(target.as_str().into_address().unwrap(), lines(), t).await;
        exchange::<D>(&client, &target).await;
        D::close(&client).await.unwrap();
    }
    let err = D::connect(
        format!(":{port}").as_str().into_address().unwrap(),
        lines(),
        D::Family::client_options(t),
    )
    .await
    .err()
    .expect("no host is not an address to connect to");
    assert!(
        matches!(err, Error::Config(ref m) if m.contains("only for binding")),
        "{err:?}"
    );
    D::shutdown(&handle, Duration::ZERO);
    within::<D, _>(PROMPTLY, &mut serve)
        .await
        .expect("serve returns")
        .unwrap();
}

/// `reuse_port`: two servers share a port (Linux: the kernel spreads the
/// connections); without it the second bind fails and names the address.
/// Where the platform has no `SO_REUSEPORT` (Windows), asking for it is a
/// clear `Unsupported` error.
pub async fn server_reuse_port_shares_the_port<D: TcpDriver>(t: Transport) {
    let options = || t.server_options().reuse_port(true);
    if cfg!(not(unix)) {
        let address = D::Family::bindable();
        let err = D::bind_all(vec![address], lines(), options()).await.err();
        assert!(
            matches!(&err, Some(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::Unsupported),
            "{err:?}"
        );
        return;
    }
    let first = start::<D, _>(lines(), options(), echo_handler::<D>()).await;
    let addr = first.addr();
    let second = D::bind_all(vec![addr.into_address().unwrap()], lines(), options())
        .await
        .expect("a second server binds the same port with reuse_port");
    assert_eq!(D::local_addrs(&second), vec![addr]);
    drop(second);
    let err = D::bind_all(
        vec![addr.into_address().unwrap()],
        lines(),
        t.server_options(),
    )
    .await
    .err()
    .expect("without reuse_port the port is taken");
    assert!(err.to_string().contains(&addr.to_string()), "{err}");
    let client = connect_to::<D, _>(addr.into_address().unwrap(), lines(), t).await;
    exchange::<D>(&client, "shared").await;
    D::close(&client).await.unwrap();
    first.stop(Duration::from_secs(1)).await;
}

/// The request-handler model (`serve_with`): `service_init` first,
/// `on_connection` / `handle` / `on_disconnection` per connection — the
/// tear-down runs however the connection ended, refused by
/// `on_connection`, left by the peer, or closed by the shutdown, with the
/// reason — and `service_quit` last.
pub async fn server_request_handler_hooks<D: Driver>(t: Transport) {
    use crate::hooks::{Hook, Hooks};

    let hooks = Hooks::default();
    let server = Arc::new(
        D::bind_all(vec![D::Family::bindable()], lines(), t.server_options())
            .await
            .unwrap(),
    );
    let addr = target::<D>(&D::local_addrs(&*server)[0]);
    let handle = D::shutdown_handle(&*server);
    let mut serve = spawn::<D, _>(D::serve_with_hooks(server.clone(), hooks.clone()));
    // The connections come one after the other: each is told apart by its
    // place in the log (and by its address where it has one).
    let torn_down = |count: usize| {
        let hooks = hooks.clone();
        move || {
            hooks
                .log()
                .iter()
                .filter(|h| matches!(h, Hook::Disconnected(..)))
                .count()
                >= count
        }
    };

    // Served, then left by the peer.
    let first = connect_to::<D, _>(addr.clone(), lines(), t).await;
    exchange::<D>(&first, "first").await;
    let first_peer = peer_of(D::local_addr(&first));
    D::close(&first).await.unwrap();
    eventually::<D>("the first tear-down", torn_down(1)).await;

    // Refused by on_connection: no handle, a tear-down all the same.
    let second = connect_to::<D, _>(addr.clone(), lines(), t).await;
    let second_peer = peer_of(D::local_addr(&second));
    let err = recv_err::<D, _>(&second, "refused by on_connection").await;
    assert!(!err.is_recoverable(), "{err:?}");
    eventually::<D>("the refused tear-down", torn_down(2)).await;

    // Closed by the shutdown.
    let third = connect_to::<D, _>(addr, lines(), t).await;
    exchange::<D>(&third, "third").await;
    let third_peer = peer_of(D::local_addr(&third));
    D::shutdown(&handle, Duration::ZERO);
    within::<D, _>(PROMPTLY, &mut serve)
        .await
        .expect("serve_with returns after shutdown")
        .unwrap();

    let log = hooks.log();
    match log.as_slice() {
        [
            Hook::Init,
            Hook::Connected(c1),
            Hook::Handled(h1),
            Hook::Disconnected(d1, _),
            Hook::Connected(c2),
            Hook::Disconnected(d2, None),
            Hook::Connected(c3),
            Hook::Handled(h3),
            Hook::Disconnected(d3, Some(reason)),
            Hook::Quit,
        ] => {
            for (peer, seen) in [
                (&first_peer, [c1, h1, d1]),
                (&second_peer, [c2, d2, d2]),
                (&third_peer, [c3, h3, d3]),
            ] {
                assert!(seen.iter().all(|p| *p == peer), "{peer} in {log:?}");
            }
            assert!(reason.contains("shut down"), "{reason}");
        }
        // The second is refused before handle (a local close is no error).
        other => panic!("{other:?}"),
    }
    D::close(&second).await.unwrap();
    D::close(&third).await.unwrap();
}

/// The listening sockets' options can be read and changed through the
/// server (one socket per bound address); after shutdown there are none.
pub async fn server_listener_sockets_are_reachable<D: TcpDriver>(t: Transport) {
    let addresses = vec![D::Family::bindable(), D::Family::bindable()];
    let server = D::bind_all(addresses, lines(), t.server_options())
        .await
        .unwrap();
    let sockets = D::listener_sockets(&server, 64 * 1024);
    let addrs: Vec<SocketAddr> = sockets.iter().map(|(addr, _)| *addr).collect();
    assert_eq!(addrs, D::local_addrs(&server));
    assert!(
        sockets.iter().all(|(_, size)| *size >= 64 * 1024),
        "{sockets:?}"
    );
    D::shutdown(&D::shutdown_handle(&server), Duration::ZERO);
    assert!(
        D::listener_sockets(&server, 64 * 1024).is_empty(),
        "closed by shutdown"
    );
}
