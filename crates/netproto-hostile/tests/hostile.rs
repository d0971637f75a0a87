//! The hostile-network suite: each driver's server (`hostile-server`) runs
//! as a process of its own and is attacked over loopback. Every case
//! asserts what the server reported (its connection events, printed on
//! its stdout) and that a well-behaved client is still served; the memory
//! cases read the server's resident memory from `/proc` and hold it to a
//! bound they state.
//!
//! Bounds on time are correctness bounds (generous), never speed
//! assertions.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use netproto_core::StreamProtocol;
use netproto_core::framing::Delimiter;
use netproto_core::options::ClientOptions;
use netproto_core::serializer::BytesSerializer;
use netproto_core::tls::TlsClientConfig;
use netproto_socket::SocketOptions;
use netproto_sync::TcpClient;

/// A generous bound for what must happen "promptly".
const PROMPTLY: Duration = Duration::from_secs(20);

/// A `hostile-server` process and what it printed so far.
struct Server {
    child: Child,
    stdin: Option<ChildStdin>,
    addr: SocketAddr,
    out: Arc<Mutex<Vec<String>>>,
    /// The CA file of a TLS server.
    ca: Option<PathBuf>,
}

impl Server {
    /// Start `driver`'s server with `args`, once it listens.
    fn start(driver: &str, args: &[&str]) -> Server {
        Self::start_with(driver, args, None)
    }

    /// Start a TLS server (its CA written to a fresh file).
    fn start_tls(driver: &str, args: &[&str]) -> Server {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let ca = std::env::temp_dir().join(format!("hostile-ca-{}-{n}.pem", std::process::id()));
        Self::start_with(driver, args, Some(ca))
    }

    fn start_with(driver: &str, args: &[&str], ca: Option<PathBuf>) -> Server {
        let mut command = Command::new(env!("CARGO_BIN_EXE_hostile-server"));
        command.args(["--driver", driver]).args(args);
        if let Some(ca) = &ca {
            command.arg("--tls").arg(ca);
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start hostile-server");
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let out = Arc::new(Mutex::new(Vec::new()));
        let (listening_tx, listening_rx) = std::sync::mpsc::channel();
        {
            let out = out.clone();
            std::thread::spawn(move || {
                for line in stdout.lines() {
                    let Ok(line) = line else { return };
                    if let Some(addr) = line.strip_prefix("listening ") {
                        let _ = listening_tx.send(addr.parse::<SocketAddr>().expect("an address"));
                    }
                    out.lock().unwrap().push(line);
                }
            });
        }
        let addr = listening_rx
            .recv_timeout(PROMPTLY)
            .expect("the server prints where it listens");
        Server {
            child,
            stdin,
            addr,
            out,
            ca,
        }
    }

    /// The events the server reported so far.
    fn events(&self) -> Vec<String> {
        let out = self.out.lock().unwrap();
        out.iter()
            .filter_map(|l| l.strip_prefix("event ").map(str::to_owned))
            .collect()
    }

    /// The receive errors the server's handlers saw so far.
    fn recv_errors(&self) -> Vec<String> {
        let out = self.out.lock().unwrap();
        out.iter()
            .filter_map(|l| l.strip_prefix("recv-error ").map(str::to_owned))
            .collect()
    }

    /// Wait until at least `count` events satisfy `pred`; returns them.
    fn wait_for(&self, what: &str, count: usize, pred: impl Fn(&str) -> bool) -> Vec<String> {
        let start = Instant::now();
        loop {
            let matching: Vec<String> = self.events().into_iter().filter(|e| pred(e)).collect();
            if matching.len() >= count {
                return matching;
            }
            assert!(
                start.elapsed() < PROMPTLY,
                "{} of {count} {what} events within {PROMPTLY:?}; events: {:#?}",
                matching.len(),
                self.events()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The server's resident memory, in KiB (`VmRSS`).
    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("read the server's /proc status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in /proc status")
    }

    /// Client options for this server (TLS: trusting its CA).
    fn client_options(&self) -> ClientOptions {
        let options = ClientOptions::default();
        match &self.ca {
            Some(ca) => {
                let pem = std::fs::read(ca).expect("the server's CA");
                options.tls(
                    TlsClientConfig::with_root_pem(&pem)
                        .expect("a CA")
                        .server_name("localhost"),
                )
            }
            None => options,
        }
    }

    /// A well-behaved line client is served (an echo) while the attack
    /// goes on.
    fn serves_a_line_client(&self) {
        let protocol = StreamProtocol::new(Delimiter::lf(), BytesSerializer);
        let client = TcpClient::connect_with(self.addr, protocol, self.client_options())
            .expect("a good client connects");
        client.send_packet(b"ping").unwrap();
        let echo = client.recv_packet_timeout(PROMPTLY).expect("the echo");
        assert_eq!(&echo[..], b"ping");
        client.close().unwrap();
    }

    /// A well-behaved frame client is served.
    fn serves_a_frame_client(&self) {
        let mut tcp = TcpStream::connect(self.addr).unwrap();
        tcp.set_read_timeout(Some(PROMPTLY)).unwrap();
        tcp.write_all(&[0, 0, 0, 4]).unwrap();
        tcp.write_all(b"ping").unwrap();
        let mut echo = [0u8; 8];
        tcp.read_exact(&mut echo).expect("the echo");
        assert_eq!(&echo, b"\0\0\0\x04ping");
    }

    /// Close stdin: the server shuts down; wait for it to exit cleanly.
    fn stop(mut self) -> Vec<String> {
        drop(self.stdin.take());
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "the server exited with {status}");
                break;
            }
            assert!(start.elapsed() < PROMPTLY, "the server does not stop");
            std::thread::sleep(Duration::from_millis(20));
        }
        let out = self.out.lock().unwrap().clone();
        assert!(
            out.iter().any(|l| l == "served Ok(())"),
            "serve returns Ok after shutdown: {out:#?}"
        );
        out
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(ca) = &self.ca {
            let _ = std::fs::remove_file(ca);
        }
    }
}

fn connect(addr: SocketAddr) -> TcpStream {
    let tcp = TcpStream::connect(addr).expect("connect to the server");
    tcp.set_read_timeout(Some(PROMPTLY)).unwrap();
    tcp
}

/// Whether the server closed `tcp` (end of stream or an error, not a read
/// timeout).
fn closed_by_server(tcp: &mut TcpStream) -> bool {
    let mut buf = [0u8; 64];
    loop {
        match tcp.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(err) => {
                return !matches!(
                    err.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                );
            }
        }
    }
}

fn disconnected_with(reason: &'static str) -> impl Fn(&str) -> bool {
    move |e| e.starts_with("Disconnected") && e.contains(reason)
}

/// 100 connections whose length headers claim more than the limit are
/// refused one by one, with the numbers; 100 whose headers claim just under
/// it (8 000 000 bytes) but send 10 are held without reserving what they
/// claim: the server's resident memory grows by less than 64 MiB while a
/// server that believed the headers would need 800 MB.
fn hostile_length_headers(driver: &str) {
    const EACH: usize = 100;
    let server = Server::start(driver, &["--protocol", "frames"]);
    server.serves_a_frame_client();
    let before = server.rss_kib();
    let mut over = Vec::new();
    for _ in 0..EACH {
        let mut tcp = connect(server.addr);
        tcp.write_all(&0x7fff_ffffu32.to_be_bytes()).unwrap();
        over.push(tcp);
    }
    let mut under = Vec::new();
    for _ in 0..EACH {
        let mut tcp = connect(server.addr);
        tcp.write_all(&8_000_000u32.to_be_bytes()).unwrap();
        tcp.write_all(&[7; 10]).unwrap();
        under.push(tcp);
    }
    let refused = server.wait_for(
        "refused length header",
        EACH,
        disconnected_with("frame of 2147483647 bytes exceeds the limit of 8388608"),
    );
    assert_eq!(refused.len(), EACH, "{refused:#?}");
    for tcp in &mut over {
        assert!(
            closed_by_server(tcp),
            "an over-limit header ends its connection"
        );
    }
    // Every held connection is accepted and has sent its bytes.
    server.wait_for("Connected", 2 * EACH + 1, |e| e.starts_with("Connected"));
    std::thread::sleep(Duration::from_millis(200));
    let held = server.rss_kib();
    let grown = held.saturating_sub(before);
    assert!(
        grown < 64 * 1024,
        "{EACH} headers claiming 8 MB each grew the server by {grown} KiB ({before} -> {held})"
    );
    server.serves_a_frame_client();
    drop(under);
    server.stop();
}

/// A line that never ends (10 MiB without a newline) is refused once it
/// passes the 64 KiB limit, with the numbers, and skipped: memory stays
/// put, the line after it arrives, others are served.
fn endless_line(driver: &str) {
    let server = Server::start(driver, &[]);
    server.serves_a_line_client();
    let before = server.rss_kib();
    let mut tcp = connect(server.addr);
    let chunk = vec![b'x'; 64 * 1024];
    for _ in 0..160 {
        tcp.write_all(&chunk).expect("the server keeps reading");
    }
    tcp.write_all(b"\nafter\n").unwrap();
    let mut echo = [0u8; 6];
    tcp.read_exact(&mut echo)
        .expect("the line after the endless one");
    assert_eq!(&echo, b"after\n");
    // Reported once, with the bytes seen when it passed the limit.
    let errors = server.recv_errors();
    let too_long: Vec<&String> = errors
        .iter()
        .filter(|e| e.contains("exceeds the limit of 65536"))
        .collect();
    assert!(
        matches!(too_long.as_slice(), [one] if one.contains("frame of at least")),
        "{errors:#?}"
    );
    let grown = server.rss_kib().saturating_sub(before);
    assert!(
        grown < 16 * 1024,
        "an endless line grew the server by {grown} KiB"
    );
    server.serves_a_line_client();
    drop(tcp);
    server.stop();
}

/// Slowloris without an idle timeout: 200 connections that send half a
/// line and stall are all kept (connected, none dropped) and do not stop
/// the server from serving others.
fn slowloris_without_idle_timeout(driver: &str) {
    const SLOW: usize = 200;
    let server = Server::start(driver, &[]);
    let mut slow = Vec::new();
    for _ in 0..SLOW {
        let mut tcp = connect(server.addr);
        tcp.write_all(b"sl").unwrap();
        slow.push(tcp);
    }
    server.wait_for("Connected", SLOW, |e| e.starts_with("Connected"));
    server.serves_a_line_client();
    std::thread::sleep(Duration::from_millis(300));
    // Only the good client left (it closed); the stalled ones are kept.
    let left: Vec<String> = server
        .events()
        .into_iter()
        .filter(|e| e.starts_with("Disconnected"))
        .collect();
    assert!(
        matches!(left.as_slice(), [only] if only.contains("connection closed by")),
        "no idle timeout: nobody is dropped: {left:#?}"
    );
    drop(slow);
    server.stop();
}

/// Slowloris with an idle timeout: each stalled connection is closed when
/// the timeout passes and reported with the reason; others are served.
fn slowloris_with_idle_timeout(driver: &str) {
    const SLOW: usize = 100;
    let server = Server::start(driver, &["--idle-timeout-ms", "300"]);
    let mut slow = Vec::new();
    for _ in 0..SLOW {
        let mut tcp = connect(server.addr);
        tcp.write_all(b"sl").unwrap();
        slow.push(tcp);
    }
    server.serves_a_line_client();
    server.wait_for(
        "idle",
        SLOW,
        disconnected_with("idle timed out after 300ms"),
    );
    for tcp in &mut slow {
        assert!(closed_by_server(tcp), "a stalled connection is closed");
    }
    server.serves_a_line_client();
    server.stop();
}

/// A server whose file-descriptor limit is lowered to 64 derives its
/// connection limit from it and reports reaching it (`AtCapacity`, with
/// the limit) instead of failing to accept; clients beyond it wait in the
/// backlog and are served once the flood goes away.
fn fd_exhaustion(driver: &str) {
    let server = Server::start(driver, &["--nofile", "64"]);
    server.serves_a_line_client();
    let flood: Vec<TcpStream> = (0..100).map(|_| connect(server.addr)).collect();
    let full = server.wait_for("AtCapacity", 1, |e| e.starts_with("AtCapacity"));
    let max: usize = full[0]
        .trim_start_matches("AtCapacity { max: ")
        .trim_end_matches(" }")
        .parse()
        .expect("the limit");
    assert!(max > 0 && max < 64, "{full:#?}");
    let failed: Vec<String> = server
        .events()
        .into_iter()
        .filter(|e| e.starts_with("AcceptFailed"))
        .collect();
    assert!(
        failed.iter().all(|e| e.contains("retry_in: Some(")),
        "an accept failure, if any, is retried: {failed:#?}"
    );
    drop(flood);
    server.serves_a_line_client();
    server.stop();
}

/// Past the descriptor limit (64, with a connection limit set above it):
/// accepting fails with the system's error, reported with the back-off and
/// retried; once the flood goes away the server accepts and serves again.
fn fd_exhaustion_past_the_limit(driver: &str) {
    let server = Server::start(driver, &["--nofile", "64", "--max-connections", "1000"]);
    server.serves_a_line_client();
    let flood: Vec<TcpStream> = (0..100).map(|_| connect(server.addr)).collect();
    let failed = server.wait_for("AcceptFailed", 1, |e| e.starts_with("AcceptFailed"));
    assert!(
        failed[0].contains("open files") && failed[0].contains("retry_in: Some("),
        "{failed:#?}"
    );
    drop(flood);
    server.serves_a_line_client();
    server.stop();
}

/// A reset and a half-close in the middle of a frame are each reported
/// with what happened (the reset; the bytes of the incomplete frame); the
/// server goes on serving.
fn reset_and_half_close_mid_frame(driver: &str) {
    let server = Server::start(driver, &["--protocol", "frames"]);
    let mut reset = connect(server.addr);
    reset.write_all(&[0, 0, 0, 100]).unwrap();
    reset.write_all(&[1; 10]).unwrap();
    let mut half = connect(server.addr);
    half.write_all(&[0, 0, 0, 100]).unwrap();
    half.write_all(&[2; 10]).unwrap();
    server.wait_for("Connected", 2, |e| e.starts_with("Connected"));
    std::thread::sleep(Duration::from_millis(100));
    SocketOptions::new(&reset)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(reset);
    half.shutdown(Shutdown::Write).unwrap();
    server.wait_for("reset", 1, disconnected_with("connection reset by"));
    server.wait_for(
        "incomplete frame",
        1,
        disconnected_with("with 14 bytes of an incomplete frame pending"),
    );
    assert!(closed_by_server(&mut half));
    server.serves_a_frame_client();
    server.stop();
}

/// Plain text to a TLS server: refused and reported as a peer that does
/// not speak TLS; TLS clients are still served.
fn plaintext_to_tls(driver: &str) {
    let server = Server::start_tls(driver, &[]);
    let mut plain = connect(server.addr);
    plain.write_all(b"hello there\n").unwrap();
    server.wait_for("Rejected", 1, |e| {
        e.starts_with("Rejected") && e.contains("does not seem to speak TLS")
    });
    assert!(closed_by_server(&mut plain));
    server.serves_a_line_client();
    server.stop();
}

/// A TLS client to a plain server: the connection ends, reported as a
/// peer that speaks TLS; plain clients are still served.
fn tls_to_plaintext(driver: &str) {
    // Frames: the ClientHello's first bytes read as an impossible length.
    let server = Server::start(driver, &["--protocol", "frames"]);
    let roots = rustls::RootCertStore::empty();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut conn = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let mut tcp = connect(server.addr);
    // The handshake cannot complete; it fails when the server hangs up.
    while conn.is_handshaking() {
        if conn.complete_io(&mut tcp).is_err() {
            break;
        }
    }
    server.wait_for("speaks TLS", 1, disconnected_with("seems to speak TLS"));
    server.serves_a_frame_client();
    server.stop();
}

/// A peer that sends and never reads: the server's echo blocks (other
/// clients are served meanwhile), and the shutdown that closes it reports
/// the bytes it could not deliver.
fn peer_that_never_reads(driver: &str) {
    let server = Server::start(
        driver,
        &["--protocol", "frames", "--close-timeout-ms", "300"],
    );
    let mut greedy = connect(server.addr);
    SocketOptions::new(&greedy)
        .set_recv_buffer_size(16 * 1024)
        .unwrap();
    greedy
        .set_write_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let frame = {
        let mut frame = (1024u32 * 1024).to_be_bytes().to_vec();
        frame.resize(4 + 1024 * 1024, 0x5a);
        frame
    };
    // Write until the server stops reading (its echo is stuck).
    let mut written = 0usize;
    for _ in 0..64 {
        if greedy.write_all(&frame).is_err() {
            break;
        }
        written += frame.len();
    }
    assert!(written > 0);
    server.serves_a_frame_client();
    let out = server.stop();
    let undelivered: Vec<&String> = out
        .iter()
        .filter(|l| l.starts_with("event Disconnected") && l.contains("queued bytes not delivered"))
        .collect();
    assert_eq!(undelivered.len(), 1, "{out:#?}");
    drop(greedy);
}

macro_rules! driver_suite {
    ($module:ident, $driver:literal) => {
        mod $module {
            #[test]
            fn hostile_length_headers() {
                super::hostile_length_headers($driver);
            }
            #[test]
            fn endless_line() {
                super::endless_line($driver);
            }
            #[test]
            fn slowloris_without_idle_timeout() {
                super::slowloris_without_idle_timeout($driver);
            }
            #[test]
            fn slowloris_with_idle_timeout() {
                super::slowloris_with_idle_timeout($driver);
            }
            #[test]
            fn fd_exhaustion() {
                super::fd_exhaustion($driver);
            }
            #[test]
            fn fd_exhaustion_past_the_limit() {
                super::fd_exhaustion_past_the_limit($driver);
            }
            #[test]
            fn reset_and_half_close_mid_frame() {
                super::reset_and_half_close_mid_frame($driver);
            }
            #[test]
            fn plaintext_to_tls() {
                super::plaintext_to_tls($driver);
            }
            #[test]
            fn tls_to_plaintext() {
                super::tls_to_plaintext($driver);
            }
            #[test]
            fn peer_that_never_reads() {
                super::peer_that_never_reads($driver);
            }
        }
    };
}

driver_suite!(sync, "sync");
driver_suite!(tokio, "tokio");
driver_suite!(async_std, "async-std");
