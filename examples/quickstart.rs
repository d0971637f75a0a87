//! # quickstart — a JSON server and client in one process
//!
//! The README demo, with default features only: a server on a free
//! loopback port answers typed JSON requests, a client sends a few and
//! prints each exchange, then both shut down. Nothing outside the machine
//! is contacted and it is done in well under a second.
//!
//! ```text
//! cargo run --example quickstart
//! cargo run --example quickstart -- 127.0.0.1:9000    # a fixed port instead of a free one
//! ```
//!
//! What it shows:
//!
//! * a protocol is a framer plus a serializer: here JSON documents, one
//!   per line (`Json::new().lines()`), typed with serde — the client sends
//!   `Request` and receives `Reply`, the server the other way round;
//! * `TcpServer::serve` runs a handler per connection (one thread each), and
//!   a `ShutdownHandle` stops it;
//! * `TcpClient::send_packet` / `recv_packet` exchange whole packets, and a
//!   bad request is an error for that packet only.

use std::io::Write;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use netproto::StreamProtocol;
use netproto::framing::Delimiter;
use netproto::serializer::Json;
use netproto::sync::{Connection, Error, ServerOptions, TcpClient, TcpServer};
use serde::{Deserialize, Serialize};

/// What the client asks. On the wire, one JSON document per line:
/// `{"op":"sum","numbers":[1.0,2.0,3.5]}`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum Request {
    /// Add numbers up.
    Sum {
        /// The numbers.
        numbers: Vec<f64>,
    },
    /// The largest of some numbers.
    Max {
        /// The numbers.
        numbers: Vec<f64>,
    },
    /// Text in upper case.
    Upper {
        /// The text.
        text: String,
    },
}

/// What the server answers: `{"number":6.5}`, `{"error":"..."}`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Reply {
    /// A numeric result.
    Number(f64),
    /// A text result.
    Text(String),
    /// The request could not be answered.
    Error(String),
}

/// The server's side of the protocol: JSON lines, `Request` in, `Reply` out.
type ServerProtocol = StreamProtocol<Delimiter, Json<Reply, Request>>;

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
            eprintln!("quickstart: {err}");
            ExitCode::FAILURE
        }
    }
}

/// `quickstart [ADDRESS]` (default `127.0.0.1:0`, a free port).
pub fn run(args: Vec<String>, out: Out) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let address = args.first().map_or("127.0.0.1:0", String::as_str);

    // The server: JSON lines, receiving `Request`s and sending `Reply`s.
    let protocol: ServerProtocol = Json::new().lines();
    let server = TcpServer::bind(
        address,
        protocol,
        ServerOptions::default()
            // A server open to a network bounds what a client can hold: one
            // idle for a minute (or trickling bytes) is closed, and at most 256
            // are served at once, the rest refused with a `Rejected` event.
            .idle_timeout(std::time::Duration::from_secs(60))
            .max_connections(256, netproto::core::options::WhenFull::Refuse),
    )?;
    let address = server.local_addrs()[0];
    say!(out, "server listening on {address}");
    let shutdown = server.shutdown_handle();
    let server_out = out.clone();
    let serving =
        thread::spawn(move || server.serve(move |connection| answer(connection, &server_out)));

    // The client: the same wire format, the types the other way round.
    let client = TcpClient::connect(address, Json::<Request, Reply>::new().lines())?;
    say!(out, "client connected from {}", client.local_addr());
    let requests = [
        Request::Sum {
            numbers: vec![1.0, 2.0, 3.5],
        },
        Request::Upper {
            text: "hello, netproto".into(),
        },
        Request::Max { numbers: vec![] },
    ];
    for request in &requests {
        say!(out, "client -> {request:?}");
        client.send_packet(request)?;
        let reply = client.recv_packet_timeout(Duration::from_secs(5))?;
        say!(out, "client <- {reply:?}");
    }
    client.close()?;

    // Stop the server: handlers get a second to finish, then serve returns.
    shutdown.shutdown(Duration::from_secs(1));
    serving.join().expect("the server thread panicked")?;
    say!(out, "client closed, server stopped");
    Ok(())
}

/// Serve one connection: answer each request until the client leaves.
fn answer(connection: Connection<ServerProtocol>, out: &Out) {
    let peer = connection.peer_addr();
    loop {
        let reply = match connection.recv_packet() {
            Ok(request) => {
                say!(out, "server <- {request:?} from {peer}");
                compute(&request)
            }
            // A line that is not a valid `Request`: an error for that
            // packet only; the connection goes on.
            Err(Error::Deserialize { source, .. }) => Reply::Error(source.to_string()),
            Err(Error::ConnectionClosed { .. }) => break,
            Err(err) => {
                say!(out, "server: connection with {peer} failed: {err}");
                break;
            }
        };
        if connection.send_packet(&reply).is_err() {
            break;
        }
    }
}

/// The server's work.
fn compute(request: &Request) -> Reply {
    match request {
        Request::Sum { numbers } => Reply::Number(numbers.iter().sum()),
        Request::Max { numbers } => match numbers.iter().copied().reduce(f64::max) {
            Some(max) => Reply::Number(max),
            None => Reply::Error("max of no numbers".into()),
        },
        Request::Upper { text } => Reply::Text(text.to_uppercase()),
    }
}
