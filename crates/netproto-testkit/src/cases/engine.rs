//! Behaviour that the connection engine in the core makes the same in
//! every driver: events on a peer's hang-up, what `close` reports when it
//! gives up, the alert on a handshake timeout, a task per served
//! connection.

use std::collections::HashSet;
use std::io::Read;
use std::net::TcpStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::ThreadId;
use std::time::Duration;

use netproto_core::Error;
use netproto_core::options::{CLOSE_FLUSH_TIMEOUT, ConnectionEvent, HANDLER_STOP_WAIT};

use super::*;
use crate::handler;
use crate::peers::PeerOn;

fn disconnect_reasons(events: &[ConnectionEvent]) -> Vec<Option<String>> {
    events
        .iter()
        .filter_map(|e| match e {
            ConnectionEvent::Disconnected { reason, .. } => Some(reason.clone()),
            _ => None,
        })
        .collect()
}

/// A peer that closes the connection is reported `Disconnected`, with the
/// reason, as soon as the client sees it — not only when the client is
/// closed or dropped.
pub async fn peer_hang_up_is_reported_disconnected<D: Driver>(t: Transport) {
    let peer = PeerOn::<D::Family, _>::spawn(t, |mut s| {
        s.send(b"last\n")?;
        s.shutdown_write()?;
        Ok(s.read_until_eof())
    });
    let events = Events::default();
    let options = D::Family::client_options(t).on_event(events.recorder());
    let client = D::connect(peer.address(), lines(), options).await.unwrap();
    assert_eq!(recv_ok::<D, _>(&client, "last").await, "last");
    let err = recv_err::<D, _>(&client, "the end of the stream").await;
    assert!(matches!(err, Error::ConnectionClosed { .. }), "{err:?}");
    // The client is neither closed nor dropped here.
    let seen = events
        .wait_for::<D>("Disconnected", |e| !disconnect_reasons(e).is_empty())
        .await;
    let reasons = disconnect_reasons(&seen);
    assert!(
        matches!(reasons.as_slice(), [Some(reason)] if reason.contains("closed by")),
        "{seen:?}"
    );
    assert!(!D::is_closed(&client));
    D::close(&client).await.unwrap();
    drop(client);
    assert_eq!(
        disconnect_reasons(&events.snapshot()).len(),
        1,
        "reported once"
    );
    peer.join();
}

/// A peer that resets the connection is reported `Disconnected` with the
/// reset as the reason, while the client still holds the connection.
pub async fn peer_reset_is_reported_disconnected<D: TcpDriver>(t: Transport) {
    let peer = PeerOn::<D::Family, _>::spawn(t, |mut s| {
        s.send(b"par")?;
        std::thread::sleep(Duration::from_millis(100));
        s.reset();
        Ok(())
    });
    let events = Events::default();
    let options = D::Family::client_options(t).on_event(events.recorder());
    let client = D::connect(peer.address(), lines(), options).await.unwrap();
    let err = recv_err::<D, _>(&client, "a reset").await;
    assert!(!err.is_recoverable(), "{err:?}");
    let seen = events
        .wait_for::<D>("Disconnected", |e| !disconnect_reasons(e).is_empty())
        .await;
    let reasons = disconnect_reasons(&seen);
    assert!(
        matches!(reasons.as_slice(), [Some(reason)] if reason == &err.to_string()),
        "reason {reasons:?} for {err}"
    );
    peer.join();
    drop(client);
}

/// `close` against a peer that is connected but reads nothing writes what
/// is queued for at most the close timeout (`close_timeout` in the
/// options), then gives up and says how many bytes it threw away; a send
/// blocked meanwhile returns `Closed`.
pub async fn close_reports_undelivered_bytes<D: Driver>(t: Transport) {
    let (go, wait) = gate();
    let peer = PeerOn::<D::Family, _>::spawn(t, move |_s| {
        wait_gate(&wait);
        Ok(())
    });
    // A close timeout well below the default, which the case must see
    // honoured.
    let close_timeout = Duration::from_millis(400);
    let options = D::Family::client_options(t).close_timeout(close_timeout);
    let client = Arc::new(D::connect(peer.address(), frames(), options).await.unwrap());
    D::socket(&*client).set_send_buffer_size(16 * 1024).unwrap();
    let sender = {
        let client = client.clone();
        spawn::<D, _>(async move {
            let packet = vec![0x77u8; 1024 * 1024];
            loop {
                if let Err(err) = D::send_packet(&*client, &packet[..]).await {
                    return err;
                }
            }
        })
    };
    let mut sender = sender;
    assert!(
        within::<D, _>(Duration::from_millis(500), &mut sender)
            .await
            .is_none(),
        "sending to a peer that never reads must block"
    );
    let mut closing = spawn::<D, _>({
        let client = client.clone();
        async move { D::close(&*client).await }
    });
    let err = within::<D, _>(PROMPTLY, &mut sender)
        .await
        .expect("close wakes the blocked send");
    assert!(matches!(err, Error::Closed), "{err:?}");
    // Well before the default close timeout: the option is what counts.
    let closed = within::<D, _>(CLOSE_FLUSH_TIMEOUT / 2, &mut closing)
        .await
        .expect("close gives up at its close timeout, not the default");
    match closed {
        Err(Error::Undelivered { bytes, peer: p }) => {
            assert!(bytes > 0);
            assert_eq!(p, peer_of(D::peer_addr(&*client)));
        }
        other => panic!("close must say what it gave up, got {other:?}"),
    }
    go.send(()).unwrap();
    peer.join();
}

/// A TLS handshake that times out ends with an alert for the peer and the
/// end of the stream, in every driver.
pub async fn tls_handshake_timeout_sends_an_alert<D: Driver>(t: Transport) {
    let events = Events::default();
    let options = t
        .server_options()
        .handshake_timeout(Duration::from_millis(300))
        .on_event(events.recorder());
    let running = start::<D, _>(
        lines(),
        options,
        handler(|_conn| async { panic!("no connection is set up") }),
    )
    .await;
    let addr = running.addr();
    // A client that connects and says nothing, on a thread of its own.
    let received = std::thread::spawn(move || {
        let mut tcp = D::Family::connect(&addr)?;
        tcp.set_read_timeout(Some(PROMPTLY))?;
        let mut received = Vec::new();
        tcp.read_to_end(&mut received)?;
        Ok::<_, std::io::Error>(received)
    })
    .join()
    .expect("the silent client's thread")
    .expect("the server ends the stream");
    // A TLS record of content type 21 (alert), protocol version 3.x.
    assert!(
        received.len() >= 7 && received[0] == 21 && received[1] == 3,
        "expected an alert record, got {received:?}"
    );
    events
        .wait_for::<D>("Rejected", |e| {
            e.iter()
                .any(|e| matches!(e, ConnectionEvent::Rejected { reason, .. } if reason.contains("timed out")))
        })
        .await;
    running.stop(Duration::ZERO).await;
}

/// Each served connection's handler runs on its own (a task of its own on
/// the runtime's workers, or a thread): never on the thread that polls
/// `serve`, so one server uses every worker and a slow handler stalls no
/// other connection.
pub async fn handlers_run_apart_from_serve<D: Driver>(t: Transport) {
    const CLIENTS: usize = 4;
    let threads = Arc::new(Mutex::new(Vec::<ThreadId>::new()));
    let address = D::Family::bindable();
    let server = Arc::new(
        D::bind_all(vec![address], lines(), t.server_options())
            .await
            .expect("bind a loopback port"),
    );
    let addr = D::local_addrs(&*server)[0].clone();
    let handle = D::shutdown_handle(&*server);
    let record = {
        let threads = threads.clone();
        handler(move |conn: D::Client<Lines>| {
            let threads = threads.clone();
            async move {
                threads.lock().unwrap().push(std::thread::current().id());
                echo_lines::<D>(&conn).await;
            }
        })
    };
    // `serve` driven by `block_on` on a thread of its own, as a user's
    // `main` would.
    let serving = std::thread::spawn({
        let server = server.clone();
        move || {
            let id = std::thread::current().id();
            (id, D::block_on(D::serve(server, record)))
        }
    });
    let served = Arc::new(AtomicU64::new(0));
    let mut clients = Vec::new();
    for i in 0..CLIENTS {
        let served = served.clone();
        let address = target::<D>(&addr);
        clients.push(spawn::<D, _>(async move {
            let client = connect_to::<D, _>(address, lines(), t).await;
            let line = format!("client {i}");
            send_ok::<D, _>(&client, line.as_str()).await;
            assert_eq!(recv_ok::<D, _>(&client, "the echo").await, line);
            served.fetch_add(1, Ordering::SeqCst);
            D::close(&client).await.unwrap();
        }));
    }
    for client in clients {
        client.await;
    }
    assert_eq!(served.load(Ordering::SeqCst), CLIENTS as u64);
    D::shutdown(&handle, Duration::from_secs(1));
    let (serve_thread, result) = serving.join().expect("serve's thread");
    result.expect("serve ends cleanly");
    let threads = threads.lock().unwrap();
    assert_eq!(threads.len(), CLIENTS);
    let distinct: HashSet<_> = threads.iter().collect();
    assert!(
        !distinct.contains(&serve_thread),
        "a handler ran on the thread polling serve: {threads:?} (serve: {serve_thread:?})"
    );
}

/// A shutdown waits `handler_stop_wait` (not the 5 s default) for a handler
/// that ignores its closed connection, then `serve` returns.
pub async fn server_handler_stop_wait_is_configurable<D: Driver>(t: Transport) {
    let options = t
        .server_options()
        .handler_stop_wait(Duration::from_millis(300));
    let running = start::<D, _>(
        lines(),
        options,
        handler(|conn: D::Client<Lines>| async move {
            // Ignores that the server closed it, and keeps running.
            let _ = D::recv_packet(&conn).await;
            loop {
                D::sleep(Duration::from_millis(20)).await;
            }
        }),
    )
    .await;
    let client = connect_to::<D, _>(running.target(), lines(), t).await;
    send_ok::<D, _>(&client, "hello").await;
    D::sleep(Duration::from_millis(100)).await;
    running.shutdown(Duration::ZERO);
    running
        .wait(HANDLER_STOP_WAIT / 2)
        .await
        .expect("serve ends after the handler stop wait");
    drop(client);
}

/// Set this process's soft limit of open files (through util-linux's
/// `prlimit`, so the testkit needs no `unsafe`); the previous soft limit.
#[cfg(target_os = "linux")]
fn set_open_files_limit(soft: u64) -> u64 {
    let pid = std::process::id().to_string();
    let show = std::process::Command::new("prlimit")
        .args(["--pid", &pid, "--nofile", "--output=SOFT", "--noheadings"])
        .output()
        .expect("run prlimit (util-linux)");
    let before: u64 = String::from_utf8_lossy(&show.stdout)
        .trim()
        .parse()
        .expect("prlimit prints the soft limit");
    let status = std::process::Command::new("prlimit")
        .args(["--pid", &pid, &format!("--nofile={soft}:")])
        .status()
        .expect("run prlimit (util-linux)");
    assert!(status.success(), "prlimit could not set the limit");
    before
}

/// A server that runs out of file descriptors reports every failed accept
/// (`AcceptFailed`, with the error and the back-off), and serves again as
/// soon as descriptors are free. Changes the process's open-file limit: run
/// it alone in its own test binary.
#[cfg(target_os = "linux")]
pub async fn server_reports_fd_exhaustion_and_recovers<D: TcpDriver>() {
    use std::io::Write;

    let t = Transport::Plain;
    let events = Events::default();
    let options = t.server_options().on_event(events.recorder());
    let running = start::<D, _>(
        lines(),
        options,
        handler(|conn: D::Client<Lines>| async move { echo_lines::<D>(&conn).await }),
    )
    .await;
    let addr = running.addr();
    let open_now = std::fs::read_dir("/proc/self/fd").unwrap().count() as u64;
    let before = set_open_files_limit(open_now + 64);
    // Use up every descriptor but one, which the client's socket takes.
    let mut hoard = Vec::new();
    while let Ok(file) = std::fs::File::open("/dev/null") {
        hoard.push(file);
    }
    hoard.pop();
    let mut client = TcpStream::connect(addr).expect("the last descriptor connects");
    let seen = events
        .wait_for::<D>("AcceptFailed", |e| {
            e.iter()
                .any(|e| matches!(e, ConnectionEvent::AcceptFailed { .. }))
        })
        .await;
    let failed = seen
        .iter()
        .find_map(|e| match e {
            ConnectionEvent::AcceptFailed {
                listener,
                error,
                retry_in,
            } => Some((listener.clone(), error.clone(), *retry_in)),
            _ => None,
        })
        .unwrap();
    // Recovery: descriptors come back, the waiting client is served.
    drop(hoard);
    set_open_files_limit(before);
    assert_eq!(failed.0, addr);
    assert!(failed.1.contains("os error 24"), "{failed:?}");
    assert_eq!(
        failed.2,
        Some(netproto_core::options::ACCEPT_BACKOFF_MIN),
        "{failed:?}"
    );
    client.set_read_timeout(Some(PROMPTLY)).unwrap();
    client.write_all(b"back\n").unwrap();
    let mut reply = [0; 5];
    client
        .read_exact(&mut reply)
        .expect("served once descriptors are free");
    assert_eq!(&reply, b"back\n");
    running.stop(Duration::from_secs(1)).await;
}

/// A send that times out against a peer that does not read leaves the
/// connection usable and the byte stream whole: the packet was queued whole
/// (and is written by the next send) or not at all, never cut.
pub async fn send_timeout_keeps_frames_whole<D: Driver>(t: Transport) {
    const SIZE: usize = 256 * 1024;
    let (go, wait) = gate();
    let peer = PeerOn::<D::Family, _>::spawn(t, move |mut s| {
        wait_gate(&wait);
        // Every frame is a whole packet of the client's, up to the marker.
        let mut frames = 0usize;
        loop {
            let header = s.read_n(4)?;
            let len = u32::from_be_bytes(header[..4].try_into().unwrap()) as usize;
            let body = s.read_n(len)?;
            if body == b"marker" {
                return Ok(frames);
            }
            assert_eq!(len, SIZE, "a frame was cut");
            assert!(body.iter().all(|&b| b == 0x5a), "a frame was mixed");
            frames += 1;
        }
    });
    let client = connect_to::<D, _>(peer.address(), frames(), t).await;
    D::socket(&client).set_send_buffer_size(16 * 1024).unwrap();
    let packet = vec![0x5au8; SIZE];
    let mut timed_out = false;
    for _ in 0..64 {
        match D::send_packet_timeout(&client, &packet[..], Duration::from_millis(100)).await {
            Ok(()) => {}
            Err(Error::Timeout { kind, .. }) => {
                assert_eq!(kind, netproto_core::error::TimeoutKind::Send);
                timed_out = true;
                break;
            }
            Err(other) => panic!("expected a send timeout, got {other:?}"),
        }
    }
    assert!(timed_out, "a peer that reads nothing must stop the sends");
    go.send(()).unwrap();
    // The connection is still usable: this send finishes what the timed
    // out one queued, then the marker.
    send_ok::<D, _>(&client, &b"marker"[..]).await;
    let frames = peer.join();
    assert!(frames >= 1, "{frames}");
    D::close(&client).await.unwrap();
}

/// `iter_received_packets(timeout)`: the timeout is for the whole
/// iteration, as in EasyNetwork — a peer that keeps sending does not keep
/// it going.
pub async fn iter_received_packets_timeout_is_for_the_whole_iteration<D: Driver>(t: Transport) {
    let peer = PeerOn::<D::Family, _>::spawn(t, |mut s| {
        for i in 0..40 {
            if s.send(format!("{i}\n").as_bytes()).is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    });
    let client = connect_to::<D, _>(peer.address(), lines(), t).await;
    let started = std::time::Instant::now();
    let received = D::iter_received_packets(&client, Duration::from_millis(400)).await;
    let elapsed = started.elapsed();
    assert!(
        received.iter().all(Result::is_ok),
        "only packets, the timeout ends it quietly: {received:?}"
    );
    assert!(
        !received.is_empty() && received.len() < 30,
        "{} packets in {elapsed:?}: the timeout must bound the whole iteration",
        received.len()
    );
    D::close(&client).await.unwrap();
    peer.join();
}
