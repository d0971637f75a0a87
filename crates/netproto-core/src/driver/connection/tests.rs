//! The engine against an in-memory peer, with time passed in: deadlines,
//! the close sequence and events, without a socket or a sleep.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::memory::{self, MemorySocket};
use super::*;
use crate::StreamProtocol;
use crate::endpoint::ConnectionSetup;
use crate::error::TimeoutKind;
use crate::framing::{Delimiter, LengthPrefix};
#[cfg(feature = "tls")]
use crate::options::ClientOptions;
use crate::options::{ConnectionEvent, ServerOptions};
use crate::serializer::{BytesSerializer, Utf8};

type Lines = StreamProtocol<Delimiter, Utf8>;

fn lines() -> Lines {
    StreamProtocol::new(Delimiter::lf(), Utf8)
}

fn addrs() -> (SocketAddr, SocketAddr) {
    (
        "127.0.0.1:5000".parse().unwrap(),
        "127.0.0.1:7000".parse().unwrap(),
    )
}

#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<ConnectionEvent>>>);

impl Seen {
    fn server(&self, options: ServerOptions) -> ServerOptions {
        let sink = self.0.clone();
        options.on_event(move |e| sink.lock().unwrap().push(e.clone()))
    }
    fn disconnects(&self) -> Vec<Option<String>> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter_map(|e| match e {
                ConnectionEvent::Disconnected { reason, .. } => Some(reason.clone()),
                _ => None,
            })
            .collect()
    }
}

/// A served connection speaking lines, its socket, and the peer's socket.
fn served(options: ServerOptions) -> (Connection<Lines>, MemorySocket, MemorySocket) {
    let (peer, local) = addrs();
    let conn = ConnectionSetup::server(&options)
        .connection(lines(), peer, local)
        .unwrap();
    let (ours, theirs) = memory::pair(64);
    let now = Instant::now();
    let mut handshake = conn.handshake(now);
    assert!(matches!(
        conn.poll_handshake(&mut handshake, &ours, now),
        Step::Ready(Ok(()))
    ));
    (conn, ours, theirs)
}

fn read_all(socket: &MemorySocket) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0; 256];
    while let Ok(n) = socket.read(&mut buf, None) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    out
}

#[test]
fn a_receive_timeout_loses_nothing() {
    let (conn, ours, theirs) = served(ServerOptions::default());
    let t0 = Instant::now();
    theirs.write(b"hel", None).unwrap();
    let mut recv = conn.recv(t0, Some(Duration::from_secs(1)));
    // The partial line is read; the receive comes back for a fresh clock,
    // then waits for more input until its deadline.
    assert!(matches!(conn.poll_recv(&mut recv, &ours, t0), Step::Again));
    let deadline = t0 + Duration::from_secs(1);
    assert!(
        matches!(conn.poll_recv(&mut recv, &ours, t0), Step::Readable(Some(at)) if at == deadline)
    );
    let late = t0 + Duration::from_secs(2);
    match conn.poll_recv(&mut recv, &ours, late) {
        Step::Ready(Err(Error::Timeout { kind, .. })) => assert_eq!(kind, TimeoutKind::Receive),
        other => panic!("expected a receive timeout, got {other:?}"),
    }
    assert_eq!(conn.buffered(), 3, "the partial line stays buffered");
    theirs.write(b"lo\n", None).unwrap();
    let mut recv = conn.recv(late, None);
    assert_eq!(
        conn.poll_recv(&mut recv, &ours, late)
            .ready()
            .unwrap()
            .unwrap(),
        "hello"
    );
}

#[test]
fn the_idle_timeout_closes_the_connection_and_says_why() {
    let seen = Seen::default();
    let options = seen.server(ServerOptions::default().idle_timeout(Duration::from_millis(300)));
    let (conn, ours, theirs) = served(options);
    let t0 = Instant::now();
    let mut recv = conn.recv(t0, Some(Duration::from_secs(5)));
    assert!(matches!(
        conn.poll_recv(&mut recv, &ours, t0),
        Step::Readable(Some(_))
    ));
    let err = conn
        .poll_recv(&mut recv, &ours, t0 + Duration::from_millis(300))
        .ready()
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Timeout {
                kind: TimeoutKind::Idle,
                ..
            }
        ),
        "{err}"
    );
    assert!(!err.is_recoverable());
    assert!(conn.is_closed());
    assert_eq!(
        read_all(&theirs),
        b"",
        "the peer sees the end of the stream"
    );
    assert_eq!(
        seen.disconnects(),
        [Some("idle timed out after 300ms".to_owned())]
    );
}

#[test]
fn a_peer_that_hangs_up_is_reported_disconnected() {
    let seen = Seen::default();
    let (conn, ours, theirs) = served(seen.server(ServerOptions::default()));
    theirs.write(b"bye\n", None).unwrap();
    theirs.shutdown(Shutdown::Write).unwrap();
    let now = Instant::now();
    let mut recv = conn.recv(now, None);
    assert_eq!(
        conn.poll_recv(&mut recv, &ours, now)
            .ready()
            .unwrap()
            .unwrap(),
        "bye"
    );
    assert!(seen.disconnects().is_empty(), "not before the end is seen");
    let mut recv = conn.recv(now, None);
    let err = conn
        .poll_recv(&mut recv, &ours, now)
        .ready()
        .unwrap()
        .unwrap_err();
    assert!(matches!(err, Error::ConnectionClosed { .. }), "{err}");
    assert_eq!(
        seen.disconnects(),
        [Some("connection closed by 127.0.0.1:5000".to_owned())]
    );
    // Closing afterwards reports nothing more.
    let mut close = conn.start_close(&ours, now).unwrap();
    assert!(matches!(
        conn.poll_close(&mut close, &ours, now),
        Step::Ready(Ok(()))
    ));
    assert_eq!(seen.disconnects().len(), 1);
}

#[test]
fn a_send_waits_for_room_and_a_cancelled_one_is_finished_by_the_next() {
    let (conn, ours, theirs) = served(ServerOptions::default());
    let now = Instant::now();
    let long = "x".repeat(100);
    let mut send = SendPacket::new(long.as_str());
    // 64 bytes fit; the rest waits for the peer to read.
    assert!(matches!(
        conn.poll_send(&mut send, &ours, now),
        Step::Writable(None)
    ));
    assert_eq!(conn.queued(), 37);
    let _cancelled = send; // the packet is queued whole
    let mut got = read_all(&theirs);
    let mut next = SendPacket::new("y");
    assert!(matches!(
        conn.poll_send(&mut next, &ours, now),
        Step::Ready(Ok(()))
    ));
    got.extend(read_all(&theirs));
    assert_eq!(got, format!("{long}\ny\n").as_bytes());
    assert_eq!(conn.queued(), 0);
}

/// A 201-byte line the peer (64 bytes of room, not reading) takes only
/// the start of — its send cancelled, the rest queued — then `start_close`.
fn close_with_a_send_stuck(conn: &Connection<Lines>, ours: &MemorySocket, t0: Instant) -> Close {
    let long = "z".repeat(200);
    let mut send = SendPacket::new(long.as_str());
    assert!(matches!(
        conn.poll_send(&mut send, ours, t0),
        Step::Writable(None)
    ));
    conn.start_close(ours, t0).unwrap()
}

#[test]
fn close_gives_up_on_a_peer_that_does_not_read_and_says_how_much() {
    let seen = Seen::default();
    let (conn, ours, theirs) = served(seen.server(ServerOptions::default()));
    let t0 = Instant::now();
    let mut close = close_with_a_send_stuck(&conn, &ours, t0);
    assert!(conn.start_close(&ours, t0).is_none(), "idempotent");
    let deadline = t0 + conn.close_timeout();
    assert!(
        matches!(conn.poll_close(&mut close, &ours, t0), Step::Writable(Some(at)) if at == deadline)
    );
    match conn.poll_close(&mut close, &ours, deadline) {
        Step::Ready(Err(Error::Undelivered { bytes, .. })) => assert_eq!(bytes, 201 - 64),
        other => panic!("expected Undelivered, got {other:?}"),
    }
    assert_eq!(theirs.readable(), 64);
    let reasons = seen.disconnects();
    assert_eq!(reasons.len(), 1);
    assert!(
        reasons[0]
            .as_deref()
            .unwrap()
            .contains("137 queued bytes not delivered"),
        "{reasons:?}"
    );
}

#[test]
fn a_close_cut_short_by_a_forced_close_still_says_what_it_gave_up() {
    let seen = Seen::default();
    let (conn, ours, _theirs) = served(seen.server(ServerOptions::default()));
    let t0 = Instant::now();
    let mut close = close_with_a_send_stuck(&conn, &ours, t0);
    assert!(matches!(
        conn.poll_close(&mut close, &ours, t0),
        Step::Writable(Some(_))
    ));
    // A server shutting down closes it meanwhile (another thread).
    conn.force_close(&ours, Some(ConnectionEvents::SERVER_SHUT_DOWN));
    match conn.poll_close(&mut close, &ours, t0) {
        Step::Ready(Err(Error::Undelivered { bytes, .. })) => assert_eq!(bytes, 201 - 64),
        other => panic!("expected Undelivered, got {other:?}"),
    }
    // The operator is told what the shutdown threw away, too.
    let reasons = seen.disconnects();
    assert_eq!(reasons.len(), 1, "one Disconnected");
    assert_eq!(
        reasons[0].as_deref(),
        Some("server shut down, with 137 queued bytes not delivered")
    );
}

/// A socket whose write hands the bytes to the peer, says so, and then
/// does not return until the socket is shut down: a sender that lost the
/// CPU between its write and the engine's bookkeeping.
struct SlowToReturn {
    inner: MemorySocket,
    written: std::sync::mpsc::SyncSender<()>,
    shut: (std::sync::Mutex<bool>, std::sync::Condvar),
}

impl Transport for SlowToReturn {
    fn read(&self, buf: &mut [u8], wait: Option<Duration>) -> std::io::Result<usize> {
        self.inner.read(buf, wait)
    }

    fn write(&self, buf: &[u8], wait: Option<Duration>) -> std::io::Result<usize> {
        let n = self.inner.write(buf, wait)?;
        let _ = self.written.try_send(());
        let (shut, woken) = &self.shut;
        let mut shut = shut.lock().unwrap();
        while !*shut {
            shut = woken.wait(shut).unwrap();
        }
        Ok(n)
    }

    fn shutdown(&self, how: std::net::Shutdown) -> std::io::Result<()> {
        let (shut, woken) = &self.shut;
        *shut.lock().unwrap() = true;
        woken.notify_all();
        self.inner.shutdown(how)
    }
}

/// A server shutting down while a send's write has reached the peer but
/// not yet returned: nothing was lost, and the event does not say bytes
/// were.
#[test]
fn a_forced_close_does_not_count_bytes_a_write_in_progress_delivered() {
    let seen = Seen::default();
    let (conn, ours, theirs) = served(seen.server(ServerOptions::default()));
    let (written, wrote) = std::sync::mpsc::sync_channel(1);
    let io = SlowToReturn {
        inner: ours,
        written,
        shut: Default::default(),
    };
    let conn = Arc::new(conn);
    let io = Arc::new(io);
    let sender = {
        let (conn, io) = (conn.clone(), io.clone());
        std::thread::spawn(move || {
            let mut send = SendPacket::new("ping");
            matches!(
                conn.poll_send(&mut send, &*io, Instant::now()),
                Step::Ready(Ok(()))
            )
        })
    };
    wrote.recv().unwrap();
    conn.force_close(&*io, Some(ConnectionEvents::SERVER_SHUT_DOWN));
    assert!(sender.join().unwrap(), "the send succeeded");
    assert_eq!(read_all(&theirs), b"ping\n");
    assert_eq!(
        seen.disconnects(),
        [Some(ConnectionEvents::SERVER_SHUT_DOWN.to_owned())]
    );
}

#[test]
fn close_delivers_what_is_queued_then_ends_the_stream() {
    let (conn, ours, theirs) = served(ServerOptions::default());
    let t0 = Instant::now();
    let long = "q".repeat(100);
    let mut send = SendPacket::new(long.as_str());
    assert!(matches!(
        conn.poll_send(&mut send, &ours, t0),
        Step::Writable(None)
    ));
    let _cancelled = send;
    let mut close = conn.start_close(&ours, t0).unwrap();
    let mut got = Vec::new();
    let result = loop {
        match conn.poll_close(&mut close, &ours, t0) {
            Step::Ready(result) => break result,
            Step::Writable(_) => {
                let mut buf = [0; 16];
                let n = theirs.read(&mut buf, None).unwrap();
                got.extend_from_slice(&buf[..n]);
            }
            other => panic!("unexpected {other:?}"),
        }
    };
    result.unwrap();
    got.extend(read_all(&theirs));
    assert_eq!(got.len(), 101);
    // A receive or send after close fails with Closed.
    let mut recv = conn.recv(t0, None);
    assert!(matches!(
        conn.poll_recv(&mut recv, &ours, t0),
        Step::Ready(Err(Error::Closed))
    ));
}

#[test]
fn send_eof_half_closes_and_receiving_goes_on() {
    let (conn, ours, theirs) = served(ServerOptions::default());
    let now = Instant::now();
    let mut send = SendPacket::new("last");
    assert!(matches!(
        conn.poll_send(&mut send, &ours, now),
        Step::Ready(Ok(()))
    ));
    assert!(matches!(
        conn.poll_send_eof(&ours, now),
        Step::Ready(Ok(()))
    ));
    assert!(matches!(
        conn.poll_send_eof(&ours, now),
        Step::Ready(Ok(()))
    ));
    assert_eq!(read_all(&theirs), b"last\n");
    let mut send = SendPacket::new("more");
    assert!(matches!(
        conn.poll_send(&mut send, &ours, now),
        Step::Ready(Err(Error::SendAfterEof))
    ));
    theirs.write(b"reply\n", None).unwrap();
    let mut recv = conn.recv(now, None);
    assert_eq!(
        conn.poll_recv(&mut recv, &ours, now)
            .ready()
            .unwrap()
            .unwrap(),
        "reply"
    );
}

#[test]
fn a_dropped_connection_writes_what_the_socket_takes_and_counts_the_rest() {
    let seen = Seen::default();
    let (conn, ours, theirs) = served(seen.server(ServerOptions::default()));
    let now = Instant::now();
    let long = "d".repeat(80);
    let mut send = SendPacket::new(long.as_str());
    assert!(matches!(
        conn.poll_send(&mut send, &ours, now),
        Step::Writable(None)
    ));
    let _cancelled = send;
    conn.abort(&ours);
    assert!(conn.is_closed());
    assert_eq!(theirs.readable(), 64);
    assert_eq!(
        seen.disconnects(),
        [Some(
            "closed the connection to 127.0.0.1:5000 with 17 queued bytes not delivered".to_owned()
        )]
    );
}

#[test]
fn a_bad_length_header_ends_receiving_for_good_and_keeps_earlier_packets() {
    let (peer, local) = addrs();
    let protocol = StreamProtocol::new(LengthPrefix::u8().max_frame_length(8), BytesSerializer);
    let conn = ConnectionSetup::server(&ServerOptions::default())
        .connection(protocol, peer, local)
        .unwrap();
    let (ours, theirs) = memory::pair(64);
    let now = Instant::now();
    theirs.write(&[2, b'o', b'k', 200, 1, 2], None).unwrap();
    let mut recv = conn.recv(now, None);
    assert_eq!(
        &conn
            .poll_recv(&mut recv, &ours, now)
            .ready()
            .unwrap()
            .unwrap()[..],
        b"ok"
    );
    for _ in 0..2 {
        let mut recv = conn.recv(now, None);
        let err = conn
            .poll_recv(&mut recv, &ours, now)
            .ready()
            .unwrap()
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("frame of 200 bytes exceeds the limit of 8"),
            "{err}"
        );
    }
}

#[cfg(feature = "tls")]
mod tls {
    use super::*;
    use crate::tls::{TlsClientConfig, TlsServerConfig};

    fn configs() -> (TlsClientConfig, TlsServerConfig) {
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let cert_pem = cert.cert.pem();
        let key_pem = cert.signing_key.serialize_pem();
        let client = TlsClientConfig::with_root_pem(cert_pem.as_bytes())
            .unwrap()
            .server_name("localhost");
        let server = TlsServerConfig::from_pem(cert_pem.as_bytes(), key_pem.as_bytes()).unwrap();
        (client, server)
    }

    /// Poll `op` on both engines in turn until both are ready.
    fn both<A, B>(mut a: impl FnMut() -> Step<A>, mut b: impl FnMut() -> Step<B>) -> (A, B) {
        let (mut ra, mut rb) = (None, None);
        for _ in 0..100 {
            if ra.is_none() {
                ra = a().ready();
            }
            if rb.is_none() {
                rb = b().ready();
            }
            if let (Some(_), Some(_)) = (&ra, &rb) {
                return (ra.unwrap(), rb.unwrap());
            }
        }
        panic!("the two engines did not finish");
    }

    /// A TLS client and server over an in-memory pair, handshake done.
    fn talking() -> (
        Connection<Lines>,
        Connection<Lines>,
        MemorySocket,
        MemorySocket,
        Instant,
    ) {
        let (client_tls, server_tls) = configs();
        let (client_addr, server_addr) = addrs();
        let client = ConnectionSetup::client(&ClientOptions::default().tls(client_tls), None)
            .connection(lines(), server_addr, client_addr)
            .unwrap();
        let server = ConnectionSetup::server(&ServerOptions::default().tls(server_tls))
            .connection(lines(), client_addr, server_addr)
            .unwrap();
        let (c, s) = memory::pair(64 * 1024);
        let now = Instant::now();
        let (mut hc, mut hs) = (client.handshake(now), server.handshake(now));
        let (a, b) = both(
            || client.poll_handshake(&mut hc, &c, now),
            || server.poll_handshake(&mut hs, &s, now),
        );
        a.unwrap();
        b.unwrap();
        (client, server, c, s, now)
    }

    #[test]
    fn the_tls_shutdown_timeout_bounds_the_close_notify_and_says_so() {
        let (client_tls, server_tls) = configs();
        let (client_addr, server_addr) = addrs();
        let seen = Seen::default();
        let sink = seen.0.clone();
        let shutdown = Duration::from_secs(1);
        let options = ClientOptions::default()
            .tls(client_tls.shutdown_timeout(shutdown))
            .on_event(move |e| sink.lock().unwrap().push(e.clone()));
        let client = ConnectionSetup::client(&options, None)
            .connection(lines(), server_addr, client_addr)
            .unwrap();
        let server = ConnectionSetup::server(&ServerOptions::default().tls(server_tls))
            .connection(lines(), client_addr, server_addr)
            .unwrap();
        let capacity = 4096;
        let (c, s) = memory::pair(capacity);
        let t0 = Instant::now();
        let (mut hc, mut hs) = (client.handshake(t0), server.handshake(t0));
        let (a, b) = both(
            || client.poll_handshake(&mut hc, &c, t0),
            || server.poll_handshake(&mut hs, &s, t0),
        );
        a.unwrap();
        b.unwrap();
        // The server stops reading. One record (the line, its LF, TLS 1.3's
        // 22 bytes) leaves 10 bytes of room: the data goes through, the
        // 24-byte close_notify does not.
        let room = capacity - c.unread_by_peer();
        let filler = "f".repeat(room - 33);
        let mut send = SendPacket::new(filler.as_str());
        assert!(matches!(
            client.poll_send(&mut send, &c, t0),
            Step::Ready(Ok(()))
        ));
        assert_eq!(capacity - c.unread_by_peer(), 10);
        let mut close = client.start_close(&c, t0).unwrap();
        match client.poll_close(&mut close, &c, t0) {
            // The shutdown timeout, not the 5 s close timeout, bounds it.
            Step::Writable(Some(at)) => assert_eq!(at, t0 + shutdown),
            other => panic!("expected a wait for the close_notify, got {other:?}"),
        }
        assert!(client.close_timeout() > shutdown);
        // The data was delivered: close is Ok; the event says what was not.
        assert!(matches!(
            client.poll_close(&mut close, &c, t0 + shutdown),
            Step::Ready(Ok(()))
        ));
        let reasons = seen.disconnects();
        assert_eq!(reasons.len(), 1, "{reasons:?}");
        let reason = reasons[0].as_deref().unwrap_or_default();
        assert!(
            reason.contains("close_notify was not delivered within the TLS shutdown timeout of 1s"),
            "{reason}"
        );
    }

    #[test]
    fn two_engines_talk_tls_in_memory() {
        let (client, server, c, s, now) = talking();
        let mut send = SendPacket::new("secret");
        assert!(matches!(
            client.poll_send(&mut send, &c, now),
            Step::Ready(Ok(()))
        ));
        let mut recv = server.recv(now, None);
        let mut none = || Step::Ready(());
        let (line, ()) = both(|| server.poll_recv(&mut recv, &s, now), &mut none);
        assert_eq!(line.unwrap(), "secret");
        // A TCP hang-up without close_notify is truncation, not a clean close.
        c.shutdown(Shutdown::Write).unwrap();
        let mut recv = server.recv(now, None);
        let err = server
            .poll_recv(&mut recv, &s, now)
            .ready()
            .unwrap()
            .unwrap_err();
        assert!(err.to_string().contains("close_notify"), "{err}");
    }

    #[test]
    fn a_handshake_that_times_out_tells_the_peer() {
        let (_, server_tls) = configs();
        let (client_addr, server_addr) = addrs();
        let options = ServerOptions::default()
            .tls(server_tls)
            .handshake_timeout(Duration::from_millis(500));
        let server = ConnectionSetup::server(&options)
            .connection(lines(), client_addr, server_addr)
            .unwrap();
        let (s, peer) = memory::pair(64 * 1024);
        let t0 = Instant::now();
        let mut hs = server.handshake(t0);
        assert!(matches!(
            server.poll_handshake(&mut hs, &s, t0),
            Step::Readable(Some(_))
        ));
        let err = server
            .poll_handshake(&mut hs, &s, t0 + Duration::from_millis(500))
            .ready()
            .unwrap()
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::Timeout {
                    kind: TimeoutKind::Handshake,
                    ..
                }
            ),
            "{err}"
        );
        // A TLS alert record (content type 21), then the end of the stream.
        let sent = read_all(&peer);
        assert_eq!(sent.first(), Some(&21), "{sent:?}");
        assert!(server.is_closed());
    }

    /// A socket whose writes fail with a reset once `reset` is set.
    struct ResetOnWrite {
        inner: MemorySocket,
        reset: std::sync::atomic::AtomicBool,
    }

    impl Transport for ResetOnWrite {
        fn read(&self, buf: &mut [u8], wait: Option<Duration>) -> std::io::Result<usize> {
            self.inner.read(buf, wait)
        }

        fn write(&self, buf: &[u8], wait: Option<Duration>) -> std::io::Result<usize> {
            if self.reset.load(std::sync::atomic::Ordering::Relaxed) {
                return Err(std::io::ErrorKind::ConnectionReset.into());
            }
            self.inner.write(buf, wait)
        }

        fn shutdown(&self, how: std::net::Shutdown) -> std::io::Result<()> {
            self.inner.shutdown(how)
        }
    }

    #[test]
    fn a_write_failing_after_the_peer_answered_in_plain_text_reports_the_plain_text() {
        let (client_tls, _) = configs();
        let (client_addr, server_addr) = addrs();
        let client = ConnectionSetup::client(&ClientOptions::default().tls(client_tls), None)
            .connection(lines(), server_addr, client_addr)
            .unwrap();
        let (ours, peer) = memory::pair(64 * 1024);
        let io = ResetOnWrite {
            inner: ours,
            reset: false.into(),
        };
        let t0 = Instant::now();
        let mut hs = client.handshake(t0);
        // The ClientHello is written; the client waits for an answer.
        assert!(matches!(
            client.poll_handshake(&mut hs, &io, t0),
            Step::Readable(_)
        ));
        assert!(peer.readable() > 0);
        // A plain server greets and hangs up: the client's alert for it
        // meets a reset.
        peer.write(b"hello\n", None).unwrap();
        io.reset.store(true, std::sync::atomic::Ordering::Relaxed);
        let outcome = loop {
            match client.poll_handshake(&mut hs, &io, t0) {
                Step::Again => {}
                step => break step.ready().expect("the handshake ends"),
            }
        };
        let err = outcome.unwrap_err();
        assert!(
            matches!(
                err,
                Error::Tls {
                    source: crate::error::TlsError::NotTls { received: 6 },
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn a_packet_before_a_bad_record_arrives_before_the_error() {
        let (client, server, c, s, now) = talking();
        let mut send = SendPacket::new("kept");
        assert!(matches!(
            client.poll_send(&mut send, &c, now),
            Step::Ready(Ok(()))
        ));
        // A byte that cannot start a TLS record, right behind the packet's
        // record, in the same read.
        c.write(&[0], None).unwrap();
        let mut recv = server.recv(now, None);
        let first = server.poll_recv(&mut recv, &s, now).ready().unwrap();
        assert_eq!(first.unwrap(), "kept");
        let mut recv = server.recv(now, None);
        let err = server
            .poll_recv(&mut recv, &s, now)
            .ready()
            .unwrap()
            .unwrap_err();
        assert!(matches!(err, Error::Tls { .. }), "{err:?}");
    }
}
