use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::*;
use crate::options::ConnectionEvent;

fn local() -> SocketAddr {
    "127.0.0.1:9000".parse().unwrap()
}

fn addr(port: u16) -> PeerAddr {
    PeerAddr::Inet(SocketAddr::from(([127, 0, 0, 1], port)))
}

fn dispatcher(options: DatagramServerOptions) -> Arc<Dispatcher<u32>> {
    Dispatcher::new(local(), options, false)
}

fn new_peer(dispatched: Dispatched<u32>) -> PeerRun<u32> {
    match dispatched {
        Dispatched::NewPeer(run) => run,
        other => panic!("expected a new peer, got {other:?}"),
    }
}

fn continued(dispatched: Dispatched<u32>) {
    assert!(matches!(dispatched, Dispatched::Continue), "{dispatched:?}");
}

/// The next step of a receive that does not wait.
fn take(peer: &PeerLink<u32>, now: Instant) -> Result<u32, Error> {
    let mut op = peer.recv(now, Some(Duration::ZERO));
    loop {
        match peer.poll_recv(&mut op, now) {
            PeerStep::Ready(result) => return result,
            PeerStep::Wait(..) => {}
        }
    }
}

fn recorder() -> (Arc<Mutex<Vec<ConnectionEvent>>>, DatagramServerOptions) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = events.clone();
    let options = DatagramServerOptions::default()
        .on_event(move |event| seen.lock().unwrap().push(event.clone()));
    (events, options)
}

#[test]
fn each_peer_gets_its_own_datagrams_in_order() {
    let t0 = Instant::now();
    let server = dispatcher(DatagramServerOptions::default());
    let a = new_peer(server.received(Ok((1, addr(1))), t0));
    let b = new_peer(server.received(Ok((10, addr(2))), t0));
    for n in 2..=4 {
        continued(server.received(Ok((n, addr(1))), t0));
        continued(server.received(Ok((n * 10, addr(2))), t0));
    }
    let (a, b) = (a.link(), b.link());
    assert_eq!((a.peer_addr(), b.peer_addr()), (&addr(1), &addr(2)));
    for n in 1..=4 {
        assert_eq!(take(&b, t0).unwrap(), n * 10);
        assert_eq!(take(&a, t0).unwrap(), n);
    }
    assert!(matches!(
        take(&a, t0),
        Err(Error::Timeout {
            kind: TimeoutKind::Receive,
            ..
        })
    ));
}

#[test]
fn a_bad_datagram_is_an_error_for_its_peer_only() {
    let t0 = Instant::now();
    let server = dispatcher(DatagramServerOptions::default());
    let run = new_peer(server.received(Ok((1, addr(1))), t0));
    let a = run.link();
    let too_long = Error::DatagramTooLong {
        peer: addr(1),
        length: 9,
        limit: 8,
    };
    continued(server.received(Err(too_long), t0));
    continued(server.received(Ok((3, addr(1))), t0));
    assert_eq!(take(&a, t0).unwrap(), 1);
    assert!(matches!(
        take(&a, t0),
        Err(Error::DatagramTooLong { length: 9, .. })
    ));
    assert_eq!(take(&a, t0).unwrap(), 3);
    // A bad first datagram starts the peer's handler too.
    let bad = Error::DatagramTooLong {
        peer: addr(2),
        length: 9,
        limit: 8,
    };
    let run = new_peer(server.received(Err(bad), t0));
    assert!(take(&run.link(), t0).is_err());
    // The run held the peer: once it is dropped, the peer is closed.
    let b = run.link();
    drop(run);
    assert!(matches!(take(&b, t0), Err(Error::Closed)));
}

#[test]
fn a_waiting_receive_is_woken_by_its_peers_datagram() {
    let t0 = Instant::now();
    let server = dispatcher(DatagramServerOptions::default());
    let run = new_peer(server.received(Ok((1, addr(1))), t0));
    let a = run.link();
    assert_eq!(take(&a, t0).unwrap(), 1);
    let mut op = a.recv(t0, None);
    let PeerStep::Wait(listener, None) = a.poll_recv(&mut op, t0) else {
        panic!("the receive must wait");
    };
    continued(server.received(Ok((2, addr(1))), t0));
    // Notified: the wait ends at once.
    crate::server::Listener::wait(listener);
    assert!(matches!(a.poll_recv(&mut op, t0), PeerStep::Ready(Ok(2))));
}

#[test]
fn overflow_and_too_many_peers_are_dropped_and_reported() {
    let t0 = Instant::now();
    let (events, options) = recorder();
    let server = dispatcher(options.queue_len(2).max_peers(1));
    let a = new_peer(server.received(Ok((1, addr(1))), t0));
    continued(server.received(Ok((2, addr(1))), t0));
    for n in 3..6 {
        continued(server.received(Ok((n, addr(1))), t0));
    }
    continued(server.received(Ok((7, addr(2))), t0));
    let snapshot = events.lock().unwrap().clone();
    let counts: Vec<(u64, u64)> = snapshot
        .iter()
        .map(|event| match event {
            ConnectionEvent::DatagramsDropped {
                local: at,
                queue_full,
                too_many_peers,
                ..
            } => {
                assert_eq!(*at, local());
                (*queue_full, *too_many_peers)
            }
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    // The first drop is reported at once; the rest wait for the interval.
    assert_eq!(counts, [(1, 0)]);
    assert_eq!(
        server.recv_timeout(t0 + Duration::from_millis(400)),
        Some(Duration::from_millis(600))
    );
    let tick = Err(Error::Timeout {
        kind: TimeoutKind::Receive,
        timeout: Duration::ZERO,
    });
    continued(server.received(tick, t0 + Duration::from_secs(1)));
    assert_eq!(events_len(&events), 2);
    // What was queued is intact: the excess was dropped.
    let a = a.link();
    assert_eq!((take(&a, t0).unwrap(), take(&a, t0).unwrap()), (1, 2));
}

fn events_len(events: &Mutex<Vec<ConnectionEvent>>) -> usize {
    events.lock().unwrap().len()
}

#[test]
fn the_second_report_has_the_counts_of_the_interval() {
    let t0 = Instant::now();
    let (events, options) = recorder();
    let server = dispatcher(options.queue_len(1).max_peers(1));
    let _a = new_peer(server.received(Ok((1, addr(1))), t0));
    for _ in 0..3 {
        continued(server.received(Ok((2, addr(1))), t0));
    }
    continued(server.received(Ok((2, addr(2))), t0));
    assert_eq!(events.lock().unwrap().len(), 1);
    let tick = Err(Error::Timeout {
        kind: TimeoutKind::Receive,
        timeout: Duration::ZERO,
    });
    continued(server.received(tick, t0 + Duration::from_secs(1)));
    let events = events.lock().unwrap().clone();
    assert!(
        matches!(
            events[..],
            [
                ConnectionEvent::DatagramsDropped {
                    queue_full: 1,
                    too_many_peers: 0,
                    ..
                },
                ConnectionEvent::DatagramsDropped {
                    queue_full: 2,
                    too_many_peers: 1,
                    ..
                },
            ]
        ),
        "{events:?}"
    );
}

#[test]
fn an_idle_peer_expires_and_its_state_is_freed() {
    let t0 = Instant::now();
    let secs = Duration::from_secs;
    let server = dispatcher(DatagramServerOptions::default().idle_timeout(secs(10)));
    let run = new_peer(server.received(Ok((1, addr(1))), t0));
    let a = run.link();
    assert_eq!(take(&a, t0 + secs(2)).unwrap(), 1);
    assert_eq!(server.recv_timeout(t0), Some(secs(10)));
    let tick = || {
        Err(Error::Timeout {
            kind: TimeoutKind::Receive,
            timeout: Duration::ZERO,
        })
    };
    continued(server.received(tick(), t0 + secs(10)));
    // Taken at 2 s: idle from then on, so not yet.
    assert!(matches!(
        take(&a, t0 + secs(10)),
        Err(Error::Timeout {
            kind: TimeoutKind::Receive,
            ..
        })
    ));
    continued(server.received(tick(), t0 + secs(12)));
    assert!(matches!(
        take(&a, t0 + secs(12)),
        Err(Error::Timeout {
            kind: TimeoutKind::Idle,
            ..
        })
    ));
    assert!(matches!(take(&a, t0 + secs(12)), Err(Error::Closed)));
    assert!(matches!(a.destination(), Err(Error::Closed)));
    assert!(lock(&server.state).table.is_empty());
    // The peer's next datagram starts a new handler; the old one's end
    // does not forget the new one.
    let again = new_peer(server.received(Ok((2, addr(1))), t0 + secs(13)));
    assert!(!run.finish());
    drop(run);
    assert_eq!(take(&again.link(), t0 + secs(13)).unwrap(), 2);
    assert_eq!(lock(&server.state).table.len(), 1);
}

#[test]
fn a_handler_that_returns_with_datagrams_queued_runs_again() {
    let t0 = Instant::now();
    let server = dispatcher(DatagramServerOptions::default());
    let run = new_peer(server.received(Ok((1, addr(1))), t0));
    continued(server.received(Ok((2, addr(1))), t0));
    assert!(run.finish(), "a datagram is queued");
    assert_eq!(take(&run.link(), t0).unwrap(), 1);
    assert!(run.finish());
    assert_eq!(take(&run.link(), t0).unwrap(), 2);
    assert!(!run.finish());
    assert!(run.link().is_closed());
    // Forgotten: the next datagram is a new peer's.
    let _next = new_peer(server.received(Ok((3, addr(1))), t0));
}

#[test]
fn shutdown_refuses_new_peers_then_closes_the_others_after_the_grace() {
    let t0 = Instant::now();
    let (events, options) = recorder();
    let server = dispatcher(options.handler_stop_wait(Duration::from_secs(1)));
    server.start_serving();
    assert!(server.is_serving());
    let run = new_peer(server.received(Ok((1, addr(1))), t0));
    let a = run.link();
    server.shutdown_handle().shutdown(Duration::from_secs(5));
    assert!(!server.is_serving() && server.shutdown_requested().is_ok());
    // Within the grace: the peer still gets its datagrams; a new peer is
    // dropped and counted.
    continued(server.received(Ok((2, addr(1))), t0));
    continued(server.received(Ok((3, addr(2))), t0));
    assert!(matches!(
        events.lock().unwrap()[..],
        [ConnectionEvent::DatagramsDropped {
            too_many_peers: 1,
            ..
        }]
    ));
    assert!(server.poll_shutdown(t0).is_some());
    assert_eq!(take(&a, t0).unwrap(), 1);
    // After the grace: the peer is closed, its receive fails.
    assert!(server.poll_shutdown(t0 + Duration::from_secs(5)).is_some());
    assert!(matches!(take(&a, t0), Err(Error::Closed)));
    assert!(!run.finish());
    drop(run);
    assert!(server.poll_shutdown(t0 + Duration::from_secs(5)).is_none());
    assert!(matches!(
        server.received(Err(Error::Closed), t0),
        Dispatched::Stop
    ));
}

#[test]
fn a_socket_error_backs_off_or_stops_the_server() {
    let t0 = Instant::now();
    let server = dispatcher(DatagramServerOptions::default());
    let transient = std::io::Error::from_raw_os_error(105); // ENOBUFS
    match server.received(
        Err(Error::Io {
            peer: None,
            source: transient,
        }),
        t0,
    ) {
        Dispatched::Backoff(at) => assert!(at > t0),
        other => panic!("expected a back-off, got {other:?}"),
    }
    let fatal = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "no");
    assert!(matches!(
        server.received(
            Err(Error::Io {
                peer: None,
                source: fatal
            }),
            t0
        ),
        Dispatched::Stop
    ));
    assert!(server.shutdown_requested().is_ok());
    assert!(server.poll_shutdown(t0).is_none());
    assert!(matches!(server.finish_serving(), Err(Error::Io { .. })));
    assert!(matches!(
        server.received(Err(Error::Closed), t0),
        Dispatched::Stop
    ));
}

#[test]
fn a_bad_datagram_from_an_unknown_sender_is_reported_not_served() {
    let t0 = Instant::now();
    let (events, options) = recorder();
    let server = dispatcher(options);
    let unknown = SocketAddr::from(([127, 0, 0, 1], 0));
    let err = Error::DatagramTooLong {
        peer: unknown.into(),
        length: 9,
        limit: 8,
    };
    continued(server.received(Err(err), t0));
    assert!(lock(&server.state).table.is_empty());
    assert!(matches!(
        &events.lock().unwrap()[..],
        [ConnectionEvent::Rejected { peer, .. }] if *peer == unknown
    ));
}

#[test]
fn an_unnamed_unix_sender_is_counted_not_served() {
    use crate::addr::UnixAddr;
    let t0 = Instant::now();
    let (events, options) = recorder();
    let server = Dispatcher::<u32>::new(UnixAddr::path("/run/server.sock"), options, false);
    let unnamed = PeerAddr::Unix(UnixAddr::Unnamed);
    continued(server.received(Ok((1, unnamed.clone())), t0));
    let bad = Error::DatagramTooLong {
        peer: unnamed,
        length: 10,
        limit: 9,
    };
    continued(server.received(Err(bad), t0 + Duration::from_secs(2)));
    // A named one is served.
    let named = PeerAddr::Unix(UnixAddr::path("/run/client.sock"));
    let run = new_peer(server.received(Ok((2, named.clone())), t0));
    assert_eq!(run.link().peer_addr(), &named);
    let events = events.lock().unwrap();
    assert!(
        matches!(
            &events[..],
            [
                ConnectionEvent::DatagramsDropped {
                    unreachable: 1,
                    queue_full: 0,
                    too_many_peers: 0,
                    ..
                },
                ConnectionEvent::DatagramsDropped { unreachable: 1, .. },
            ]
        ),
        "{events:?}"
    );
}
