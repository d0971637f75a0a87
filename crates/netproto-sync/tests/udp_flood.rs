//! A flood of datagrams from many source addresses (127.0.0.2 to
//! 127.0.0.65, several ports each) against a real `UdpServer` process with
//! small limits: the server's resident memory stays under a bound derived
//! from those limits, the drops are reported with their numbers, and a
//! well-behaved client is still served.
//!
//! The server is this test binary run again as a child process (the
//! ignored test `flood_server_process`, selected by an environment
//! variable), so that its memory is its own.

#![cfg(target_os = "linux")]

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use netproto_sync::datagram::{DatagramProtocol, DatagramServerOptions};
use netproto_sync::serializer::BytesSerializer;
use netproto_sync::{ConnectionEvent, UdpServer};

/// The server's limits.
const MAX_PEERS: usize = 16;
const QUEUE_LEN: usize = 8;
const MAX_DATAGRAM: usize = 1024;

/// The flood: source addresses, ports per address, datagrams per port.
const SOURCES: u8 = 64;
const PORTS: usize = 4;
const EACH: usize = 400;

/// Sender threads, and datagrams each sends before a short pause.
const SENDERS: usize = 4;
const BURST: usize = 16;

/// Set in the child's environment: run the server.
const CHILD: &str = "NETPROTO_FLOOD_SERVER";

/// The server process: prints `listening on ADDR`, then one `dropped ...`
/// line per `DatagramsDropped` event; answers each datagram after a short
/// pause (a busy handler, so that queues fill); stops when stdin closes.
#[test]
#[ignore = "the server process of `flood_keeps_memory_bounded` (run by it)"]
fn flood_server_process() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let out = Arc::new(Mutex::new(std::io::stdout()));
    let events = out.clone();
    let options = DatagramServerOptions::default()
        .max_peers(MAX_PEERS)
        .queue_len(QUEUE_LEN)
        .max_datagram_size(MAX_DATAGRAM)
        .idle_timeout(Duration::from_millis(200))
        .report_interval(Duration::from_millis(100))
        .on_event(move |event| {
            if let ConnectionEvent::DatagramsDropped {
                queue_full,
                too_many_peers,
                unreachable,
                peers,
                ..
            } = event
            {
                let mut out = events.lock().unwrap();
                let _ = writeln!(
                    out,
                    "dropped queue_full={queue_full} too_many_peers={too_many_peers} \
                     unreachable={unreachable} peers={peers}"
                );
                let _ = out.flush();
            }
        });
    let protocol = DatagramProtocol::new(BytesSerializer);
    let server = UdpServer::bind("127.0.0.1:0", protocol, options).unwrap();
    {
        let mut out = out.lock().unwrap();
        writeln!(out, "listening on {}", server.local_addr()).unwrap();
        out.flush().unwrap();
    }
    let stop = server.shutdown_handle();
    thread::spawn(move || {
        // The parent closes stdin when it is done (or dies).
        let _ = std::io::stdin().read_line(&mut String::new());
        stop.shutdown(Duration::ZERO);
    });
    server
        .serve(|peer| {
            while let Ok(datagram) = peer.recv_packet() {
                thread::sleep(Duration::from_millis(20));
                if peer.send_packet(&datagram).is_err() {
                    break;
                }
            }
        })
        .unwrap();
}

/// The child's resident memory, in bytes (`VmRSS` in /proc/PID/status).
fn rss(child: &Child) -> usize {
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
    let line = status
        .lines()
        .find(|line| line.starts_with("VmRSS:"))
        .expect("a VmRSS line");
    let kib: usize = line
        .trim_start_matches("VmRSS:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .unwrap();
    kib * 1024
}

/// Kills the child when the test ends, however it ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn flood_keeps_memory_bounded() {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "flood_server_process",
            "--ignored",
            "--nocapture",
        ])
        .env(CHILD, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let server = Server(child);
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let (listening_tx, listening) = std::sync::mpsc::channel();
    let seen = lines.clone();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(addr) = line.strip_prefix("listening on ") {
                let _ = listening_tx.send(addr.parse::<SocketAddr>().unwrap());
            }
            seen.lock().unwrap().push(line);
        }
    });
    let at = listening
        .recv_timeout(Duration::from_secs(20))
        .expect("the server process starts");
    // A first round trip: the server runs, and its memory before the flood.
    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    client
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    assert!(
        round_trip(&client, at, b"before"),
        "served before the flood"
    );
    let baseline = rss(&server.0);

    // The bound: every queued datagram at its largest, with generous
    // per-datagram bookkeeping, plus a thread per peer (the blocking
    // driver's handler threads: their stacks as far as they are touched),
    // plus 4 MiB of slack for the allocator. Without the limits, the
    // datagrams the server reads during the flood (about 100 MB are sent)
    // pile up far beyond it.
    let queued = MAX_PEERS * QUEUE_LEN * (MAX_DATAGRAM + 512);
    let per_peer = MAX_PEERS * 256 * 1024;
    let bound = baseline + queued + per_peer + 4 * 1024 * 1024;

    let flooding = Instant::now();
    // A few sender threads, each sending from its share of the source
    // addresses in turn, paced so that the server reads most of the flood
    // (the kernel drops what overflows its receive buffer before the
    // server sees it, which would spare the server's limits the test).
    let senders: Vec<_> = (0..SENDERS)
        .map(|n| {
            thread::spawn(move || {
                let hosts = (2..2 + SOURCES).filter(|host| usize::from(*host) % SENDERS == n);
                let sockets: Vec<UdpSocket> = hosts
                    .flat_map(|host| {
                        (0..PORTS).map(move |_| {
                            UdpSocket::bind(SocketAddr::from(([127, 0, 0, host], 0))).unwrap()
                        })
                    })
                    .collect();
                let datagram = [b'x'; MAX_DATAGRAM];
                for round in 0..EACH {
                    for (k, socket) in sockets.iter().enumerate() {
                        // A full kernel buffer may refuse one: a flood does
                        // not care.
                        let _ = socket.send_to(&datagram, at);
                        if (round * sockets.len() + k) % BURST == BURST - 1 {
                            thread::sleep(Duration::from_micros(500));
                        }
                    }
                }
            })
        })
        .collect();
    let mut peak = baseline;
    while senders.iter().any(|sender| !sender.is_finished()) {
        peak = peak.max(rss(&server.0));
        thread::sleep(Duration::from_millis(5));
    }
    for sender in senders {
        sender.join().unwrap();
    }
    let sent = usize::from(SOURCES) * PORTS * EACH;
    // Once the flood ends, the flooders' handlers drain their queues and
    // the peers expire: the well-behaved client is served again.
    let served = (0..50).any(|_| round_trip(&client, at, b"after"));
    peak = peak.max(rss(&server.0));
    let flood_time = flooding.elapsed();
    assert!(
        served,
        "a well-behaved client is served after the flood; server output:\n{}",
        lines.lock().unwrap().join("\n")
    );

    // The drops, as the server reported them.
    thread::sleep(Duration::from_millis(300));
    let (mut queue_full, mut too_many_peers) = (0u64, 0u64);
    for line in lines.lock().unwrap().iter() {
        if let Some(rest) = line.strip_prefix("dropped ") {
            for field in rest.split(' ') {
                let (name, value) = field.split_once('=').unwrap();
                let value: u64 = value.parse().unwrap();
                match name {
                    "queue_full" => queue_full += value,
                    "too_many_peers" => too_many_peers += value,
                    _ => {}
                }
            }
        }
    }
    println!(
        "flood of {sent} datagrams of {MAX_DATAGRAM} bytes from {} sources in {flood_time:?}: \
         RSS {baseline} before, peak {peak}, bound {bound}; \
         dropped queue_full={queue_full} too_many_peers={too_many_peers}",
        usize::from(SOURCES) * PORTS
    );
    assert!(
        peak <= bound,
        "the server's RSS peaked at {peak} bytes, over the bound of {bound} \
         ({baseline} before the flood)"
    );
    assert!(
        queue_full > 0 && too_many_peers > 0,
        "the drops are reported with their numbers: {queue_full} {too_many_peers}"
    );
    drop(server);
}

/// One request and its echo, within the client's read timeout.
fn round_trip(client: &UdpSocket, at: SocketAddr, request: &[u8]) -> bool {
    if client.send_to(request, at).is_err() {
        return false;
    }
    let mut buf = [0; MAX_DATAGRAM];
    loop {
        match client.recv_from(&mut buf) {
            Ok((n, from)) if from == at && &buf[..n] == request => return true,
            Ok(_) => {}
            Err(_) => return false,
        }
    }
}
