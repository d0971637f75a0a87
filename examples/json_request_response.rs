//! # json_request_response — JSON requests and responses behind a length prefix
//!
//! The request/response pattern of many TCP services: every message is a
//! JSON document preceded by its length as a 4-byte big-endian integer. The
//! [`LengthPrefix`] framer writes that header and, on the receiving side,
//! waits until the whole document has arrived (no hand-written "receive
//! exactly n bytes" loop), refusing a header that claims more than the
//! limit before allocating anything. The [`Json`] serializer turns each
//! document into a typed value with serde.
//!
//! ```text
//! cargo run --example json_request_response -- server                 # localhost:8080
//! cargo run --example json_request_response -- client                 # sends a few requests
//! cargo run --example json_request_response -- client 127.0.0.1:8080 --send "echo hi there" --send get_status
//! cargo run --example json_request_response -- server --once 127.0.0.1:0
//! ```
//!
//! The server understands `get_status`, `echo WORDS...` and `time`; any
//! other command gets an error response, and a malformed request is an
//! error for that request only — the connection goes on. `--once` serves a
//! single client and exits.

use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use netproto::StreamProtocol;
use netproto::framing::LengthPrefix;
use netproto::serializer::Json;
use netproto::sync::{Connection, Error, ServerOptions, TcpClient, TcpServer};
use serde::{Deserialize, Serialize};

/// A request: `{"id":1,"command":"echo","args":["hi","there"]}`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Request {
    /// Chosen by the client, copied into the response.
    pub id: u32,
    /// What to do.
    pub command: String,
    /// Its arguments.
    #[serde(default)]
    pub args: Vec<String>,
}

/// A response: `{"id":1,"status":"ok","result":"hi there"}`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Response {
    /// The request's id (0 when the request could not be read).
    pub id: u32,
    /// Whether it worked.
    pub status: Status,
    /// The answer, or what went wrong.
    pub result: String,
}

/// Whether a request succeeded.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// It did.
    Ok,
    /// It did not; `result` says why.
    Error,
}

/// The longest message either side accepts.
const MAX_MESSAGE: usize = 64 * 1024;

/// The framing: a 4-byte big-endian length, then that many bytes (of JSON).
fn length_prefix() -> LengthPrefix {
    LengthPrefix::u32_be().max_frame_length(MAX_MESSAGE)
}

/// The server's side: receives `Request`s, sends `Response`s.
type ServerProtocol = StreamProtocol<LengthPrefix, Json<Response, Request>>;

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
            eprintln!("json_request_response: {err}");
            ExitCode::FAILURE
        }
    }
}

const USAGE: &str = "usage: json_request_response server [--once] [ADDRESS]\n       \
                     json_request_response client [ADDRESS] [--send \"COMMAND ARGS\"]...";

/// `server [--once] [ADDRESS]` or `client [ADDRESS] [--send COMMAND]...`.
pub fn run(args: Vec<String>, out: Out) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mut args = args.into_iter();
    let mode = args.next().ok_or(USAGE)?;
    let mut address = "localhost:8080".to_owned();
    let mut once = false;
    let mut commands = Vec::new();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--once" if mode == "server" => once = true,
            "--send" if mode == "client" => commands.push(args.next().ok_or(USAGE)?),
            flag if flag.starts_with('-') => {
                return Err(format!("unknown option {flag}\n{USAGE}").into());
            }
            _ => address = arg,
        }
    }
    match mode.as_str() {
        "server" => server(&address, once, out),
        "client" => {
            if commands.is_empty() {
                commands = ["get_status", "echo hello over JSON", "reboot"]
                    .map(String::from)
                    .to_vec();
            }
            client(&address, &commands, out)
        }
        _ => Err(USAGE.into()),
    }
}

/// Answer requests until stopped (or, with `once`, until one client leaves).
fn server(
    address: &str,
    once: bool,
    out: Out,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let protocol: ServerProtocol = StreamProtocol::new(length_prefix(), Json::new());
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
    for local in server.local_addrs() {
        say!(out, "listening on {local}");
    }
    let started = Instant::now();
    let served = Arc::new(AtomicU64::new(0));
    if once {
        let connection = server.accept()?;
        answer(connection, started, &served, &out);
    } else {
        server.serve(move |connection| answer(connection, started, &served, &out))?;
    }
    Ok(())
}

/// Serve one client: a response for every request.
fn answer(connection: Connection<ServerProtocol>, started: Instant, served: &AtomicU64, out: &Out) {
    let peer = connection.peer_addr();
    say!(out, "client {peer} connected");
    loop {
        let response = match connection.recv_packet() {
            Ok(request) => {
                say!(out, "request from {peer}: {request:?}");
                let count = served.fetch_add(1, Ordering::Relaxed) + 1;
                execute(&request, started, count)
            }
            // Valid framing, invalid JSON: that request fails, the next one is read.
            Err(Error::Deserialize { source, .. }) => Response {
                id: 0,
                status: Status::Error,
                result: format!("bad request: {source}"),
            },
            Err(Error::ConnectionClosed { .. }) => {
                say!(out, "client {peer} disconnected");
                break;
            }
            Err(err) => {
                say!(out, "connection with {peer} failed: {err}");
                break;
            }
        };
        say!(out, "response to {peer}: {response:?}");
        if let Err(err) = connection.send_packet(&response) {
            say!(out, "cannot answer {peer}: {err}");
            break;
        }
    }
}

fn execute(request: &Request, started: Instant, served: u64) -> Response {
    let (status, result) = match request.command.as_str() {
        "get_status" => (
            Status::Ok,
            format!(
                "running for {:.1} s, {served} requests served",
                started.elapsed().as_secs_f64()
            ),
        ),
        "echo" => (Status::Ok, request.args.join(" ")),
        "time" => (
            Status::Ok,
            format!(
                "{} s since the epoch",
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_secs()
            ),
        ),
        other => (Status::Error, format!("unknown command {other:?}")),
    };
    Response {
        id: request.id,
        status,
        result,
    }
}

/// Send each command and print its response.
fn client(
    address: &str,
    commands: &[String],
    out: Out,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    say!(out, "connecting to {address}");
    let protocol = StreamProtocol::new(length_prefix(), Json::<Request, Response>::new());
    let client = TcpClient::connect(address, protocol)?;
    say!(out, "connected to {}", client.peer_addr());
    for (id, line) in (1..).zip(commands) {
        let mut words = line.split_whitespace().map(String::from);
        let request = Request {
            id,
            command: words.next().unwrap_or_default(),
            args: words.collect(),
        };
        say!(out, "sending {request:?}");
        client.send_packet(&request)?;
        // Wait for the whole response: its header, then all its bytes.
        let response = client.recv_packet_timeout(Duration::from_secs(5))?;
        say!(out, "received {response:?}");
        if response.id != request.id {
            return Err(format!(
                "response {} does not answer request {}",
                response.id, request.id
            )
            .into());
        }
    }
    client.close()?;
    say!(out, "done");
    Ok(())
}
