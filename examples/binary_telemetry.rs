//! # binary_telemetry — fixed-layout binary structs over TCP
//!
//! Controllers often speak C structs: a fixed number of bytes, fields in a
//! fixed order and byte order, no separators. Here a telemetry sample is a
//! double followed by three 64-bit integers — 32 bytes, big-endian —
//! declared once with [`binary_struct!`]; [`FixedStruct`] gives the matching
//! protocol, which cuts the stream every 32 bytes (a [`FixedSize`] framer)
//! and converts each piece to and from the struct. No `unsafe`, no
//! transmute, the same bytes on every machine.
//!
//! The server streams samples to each client that connects, then hangs up;
//! the client prints each sample (and the bytes of the first) until the
//! server is done.
//!
//! ```text
//! cargo run --example binary_telemetry -- server                   # localhost:5001, 10 samples per client
//! cargo run --example binary_telemetry -- client                   # in another terminal
//! cargo run --example binary_telemetry -- server --count 3 --interval 0 --once 127.0.0.1:0
//! ```
//!
//! [`FixedSize`]: netproto::framing::FixedSize

use std::io::Write;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use netproto::core::binary_struct;
use netproto::serializer::{BinaryStruct, ByteOrder, FixedStruct};
use netproto::sync::{Connection, Error, Protocol, ServerOptions, TcpClient, TcpServer};

binary_struct! {
    /// One telemetry sample, laid out like the C struct
    /// `struct { double time; int64_t encoders[3]; }` in network byte order.
    #[derive(Clone, Debug, PartialEq)]
    pub struct Telemetry (big_endian) {
        /// Seconds since the server started.
        pub time: f64,
        /// Three encoder counts.
        pub encoders: [i64; 3],
    }
}

/// Where the example prints: standard output when run with `cargo run`, a
/// buffer when `tests/examples/` runs it.
pub type Out = Arc<Mutex<dyn Write + Send>>;

/// `writeln!` to an [`Out`].
macro_rules! say {
    ($out:expr, $($arg:tt)*) => {{
        let _ = writeln!($out.lock().unwrap(), $($arg)*);
    }};
}

fn main() -> ExitCode {
    let args = std::env::args().skip(1).collect();
    match run(args, Arc::new(Mutex::new(std::io::stdout()))) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("binary_telemetry: {err}");
            ExitCode::FAILURE
        }
    }
}

const USAGE: &str = "usage: binary_telemetry server [--count N] [--interval SECONDS] [--once] [ADDRESS]\n       \
                     binary_telemetry client [ADDRESS]";

/// `server [--count N] [--interval SECONDS] [--once] [ADDRESS]` or `client [ADDRESS]`.
pub fn run(args: Vec<String>, out: Out) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mut args = args.into_iter();
    let mode = args.next().ok_or(USAGE)?;
    let mut address = "localhost:5001".to_owned();
    let (mut count, mut interval, mut once) = (10u32, Duration::from_millis(200), false);
    while let Some(arg) = args.next() {
        match (mode.as_str(), arg.as_str()) {
            ("server", "--count") => {
                count = args.next().ok_or(USAGE)?.parse().map_err(|_| USAGE)?
            }
            ("server", "--interval") => {
                let seconds: f64 = args.next().ok_or(USAGE)?.parse().map_err(|_| USAGE)?;
                interval = Duration::try_from_secs_f64(seconds).map_err(|_| USAGE)?;
            }
            ("server", "--once") => once = true,
            (_, flag) if flag.starts_with('-') => {
                return Err(format!("unknown option {flag}\n{USAGE}").into());
            }
            _ => address = arg,
        }
    }

    // Telemetry both ways: every frame is exactly Telemetry::SIZE bytes.
    let protocol = FixedStruct::<Telemetry>::new().protocol();
    match mode.as_str() {
        "server" => {
            let server = TcpServer::bind(
                address.as_str(),
                protocol,
                ServerOptions::default()
                    // A server open to a network bounds what a client can hold: one
                    // idle for a minute (or trickling bytes) is closed, and at most 256
                    // are served at once, the rest refused with a `Rejected` event.
                    .idle_timeout(std::time::Duration::from_secs(60))
                    .max_connections(256, netproto::core::options::WhenFull::Refuse),
            )?;
            for local in server.local_addrs() {
                say!(out, "listening on {local}");
            }
            say!(out, "each sample is {} bytes", Telemetry::SIZE);
            let started = Instant::now();
            if once {
                stream(server.accept()?, started, count, interval, &out);
            } else {
                server
                    .serve(move |connection| stream(connection, started, count, interval, &out))?;
            }
            Ok(())
        }
        "client" => {
            let client = TcpClient::connect(address.as_str(), protocol)?;
            say!(out, "connected to {}", client.peer_addr());
            let mut received = 0;
            loop {
                match client.recv_packet_timeout(Duration::from_secs(10)) {
                    Ok(sample) => {
                        if received == 0 {
                            let mut wire = BytesMut::new();
                            sample.encode(ByteOrder::Big, &mut wire);
                            say!(out, "first sample on the wire: {}", hex(&wire));
                        }
                        received += 1;
                        say!(
                            out,
                            "sample {received}: time={:.3} encoders={:?}",
                            sample.time,
                            sample.encoders
                        );
                    }
                    // The server hung up between two samples: the stream is complete.
                    Err(Error::ConnectionClosed { .. }) => break,
                    // A partial sample would be reported as UnexpectedEof.
                    Err(err) => return Err(err.into()),
                }
            }
            say!(out, "{received} samples received");
            Ok(())
        }
        _ => Err(USAGE.into()),
    }
}

/// Send `count` samples, one every `interval`, then hang up.
fn stream<P>(connection: Connection<P>, started: Instant, count: u32, interval: Duration, out: &Out)
where
    P: Protocol<Sent = Telemetry>,
{
    let peer = connection.peer_addr();
    say!(out, "streaming {count} samples to {peer}");
    for n in 1..=i64::from(count) {
        let sample = Telemetry {
            time: started.elapsed().as_secs_f64(),
            encoders: [n, -2 * n, n * n],
        };
        if let Err(err) = connection.send_packet(&sample) {
            say!(out, "{peer} left early: {err}");
            return;
        }
        std::thread::sleep(interval);
    }
    // Everything is sent; `close` flushes and ends the stream.
    let _ = connection.close();
    say!(out, "done with {peer}");
}

/// Bytes as hex, in groups of eight.
fn hex(bytes: &[u8]) -> String {
    let groups: Vec<String> = bytes
        .chunks(8)
        .map(|group| group.iter().map(|byte| format!("{byte:02x}")).collect())
        .collect();
    groups.join(" ")
}
