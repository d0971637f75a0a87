//! How much user-space memory an idle served connection costs.
//!
//! Starts a line-echo server on loopback, then a child process (this same
//! program with `--client`) that opens N connections, exchanges one packet
//! on each and leaves them idle. The server process counts its live heap
//! bytes with a counting global allocator, and reads its resident set size
//! from `/proc/self/statm`, before and after, and reports both per
//! connection.
//!
//! ```text
//! cargo run --release -p netproto-tokio --example idle_connections -- 10000
//! cargo run --release -p netproto-tokio --features tls --example idle_connections -- 2000 --tls
//! ```
//!
//! The default N is 500. Each connection uses one file descriptor in each
//! process; raise `ulimit -n` for large N.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use netproto_testkit::Transport;
use netproto_testkit::peers::PeerStream;
use netproto_tokio::framing::Delimiter;
use netproto_tokio::serializer::Utf8;
use netproto_tokio::{ConnectionEvent, StreamProtocol, TcpServer};

/// Counts the bytes currently allocated by the process.
struct CountingAllocator;

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);

// A global allocator can only be written with `unsafe` (the trait is
// unsafe): this example measures live heap bytes, so it lifts the
// workspace's `unsafe_code = "deny"` here and nowhere else.
// SAFETY: every method forwards to the system allocator unchanged and only
// adds bookkeeping on an atomic counter.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller upholds `GlobalAlloc::dealloc`'s contract.
        unsafe { System.dealloc(ptr, layout) };
        LIVE_BYTES.fetch_sub(layout.size() as isize, Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::realloc`'s contract.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            LIVE_BYTES.fetch_add(
                new_size as isize - layout.size() as isize,
                Ordering::Relaxed,
            );
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

fn resident_bytes() -> Option<usize> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: usize = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let transport = if args.iter().any(|a| a == "--tls") {
        Transport::Tls
    } else {
        Transport::Plain
    };
    if transport.is_tls() && !cfg!(feature = "tls") {
        eprintln!(
            "--tls needs the tls feature: cargo run --features tls --example idle_connections"
        );
        std::process::exit(2);
    }
    let numbers: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    if args.first().is_some_and(|a| a == "--client") {
        let addr: SocketAddr = numbers[0].parse().expect("server address");
        let count: usize = numbers[1].parse().expect("connection count");
        run_clients(addr, count, transport);
        return;
    }
    let count: usize = numbers.first().map_or(500, |n| n.parse().expect("N"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(serve_and_measure(count, transport));
}

async fn serve_and_measure(count: usize, transport: Transport) {
    let connected = Arc::new(AtomicUsize::new(0));
    let counter = connected.clone();
    let options = transport
        .server_options()
        .max_connections(count + 16, netproto_tokio::WhenFull::Wait)
        .on_event(move |event| {
            if let ConnectionEvent::Connected { .. } = event {
                counter.fetch_add(1, Ordering::Relaxed);
            }
        });
    let protocol = StreamProtocol::new(Delimiter::lf(), Utf8);
    let server = TcpServer::bind("127.0.0.1:0", protocol, options)
        .await
        .expect("bind");
    let addr = server.local_addrs()[0];
    let shutdown = server.shutdown_handle();
    let server = Arc::new(server);
    let serving = tokio::spawn({
        let server = server.clone();
        async move {
            server
                .serve(|connection| async move {
                    while let Ok(line) = connection.recv_packet().await {
                        if connection.send_packet(&line).await.is_err() {
                            break;
                        }
                    }
                })
                .await
        }
    });
    // Let the runtime settle before the baseline.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let heap_before = LIVE_BYTES.load(Ordering::Relaxed);
    let rss_before = resident_bytes();

    let mut child = Command::new(std::env::current_exe().expect("own path"))
        .arg("--client")
        .arg(addr.to_string())
        .arg(count.to_string())
        .args(transport.is_tls().then_some("--tls"))
        .env(CA_VARIABLE, &netproto_testkit::certs::test_certs().ca_pem)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the client process");
    let stdout = child.stdout.take().expect("child stdout");
    let ready = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).map(|_| line)
    })
    .await
    .expect("reader")
    .expect("child output");
    assert!(ready.starts_with("ready"), "client process: {ready:?}");
    let started = Instant::now();
    while connected.load(Ordering::Relaxed) < count {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "connections stalled"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Every connection has exchanged its packet and waits in recv_packet.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let heap_after = LIVE_BYTES.load(Ordering::Relaxed);
    let rss_after = resident_bytes();

    let heap_per = (heap_after - heap_before) as f64 / count as f64;
    println!("transport: {transport:?}");
    println!("idle connections: {count}");
    println!("heap per idle connection: {heap_per:.0} bytes (live heap bytes, counting allocator)");
    if let (Some(before), Some(after)) = (rss_before, rss_after) {
        let rss_per = after.saturating_sub(before) as f64 / count as f64;
        println!("resident memory per idle connection: {rss_per:.0} bytes (/proc/self/statm)");
    }

    drop(child.stdin.take());
    let _ = child.wait();
    shutdown.shutdown(Duration::from_secs(1));
    serving.await.expect("serve task").expect("serve");
}

/// Where the child finds the parent's test CA (PEM).
const CA_VARIABLE: &str = "NETPROTO_EXAMPLE_CA";

/// A blocking connection to the server; with TLS, trusting the parent's CA.
fn connect(addr: SocketAddr, transport: Transport) -> PeerStream {
    let tcp = std::net::TcpStream::connect(addr).expect("connect");
    if !transport.is_tls() {
        return PeerStream::Plain(tcp);
    }
    tls_client(tcp)
}

#[cfg(not(feature = "tls"))]
fn tls_client(_tcp: std::net::TcpStream) -> PeerStream {
    unreachable!("--tls is refused without the tls feature")
}

#[cfg(feature = "tls")]
fn tls_client(tcp: std::net::TcpStream) -> PeerStream {
    use netproto_tokio::core::tls::rustls;
    let pem = std::env::var(CA_VARIABLE).expect("the parent's CA");
    let config = netproto_tokio::TlsClientConfig::with_root_pem(pem.as_bytes()).expect("CA");
    let name = "localhost".try_into().expect("server name");
    let tls = rustls::ClientConnection::new(config.config().clone(), name).expect("TLS");
    PeerStream::TlsClient(Box::new(rustls::StreamOwned::new(tls, tcp)))
}

/// The child: open `count` connections, exchange one line on each, say
/// "ready", and keep them open until stdin closes.
fn run_clients(addr: SocketAddr, count: usize, transport: Transport) {
    let mut streams = Vec::with_capacity(count);
    for _ in 0..count {
        let mut stream = connect(addr, transport);
        stream.send(b"hello\n").expect("send");
        stream.read_lines(1).expect("echo");
        streams.push(stream);
    }
    let mut stdout = std::io::stdout();
    writeln!(stdout, "ready")
        .and_then(|()| stdout.flush())
        .expect("stdout");
    let mut rest = String::new();
    let _ = std::io::stdin().read_line(&mut rest);
}
