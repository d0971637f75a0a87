//! # udp_key_value — a tiny key-value service over UDP
//!
//! One request per datagram, one response per datagram: the pattern of
//! DNS-like services. The server is a [`UdpServer`]: each client (each
//! remote address) gets its own handler, its datagrams queued in order
//! while the handler works; the store is shared. The client is a
//! [`UdpClient`] that waits a little for each response and asks again if
//! none comes — a lost datagram is UDP's normal failure, and every request
//! here can be repeated safely.
//!
//! ```text
//! cargo run --example udp_key_value -- server                  # 127.0.0.1:9090
//! cargo run --example udp_key_value -- client                  # a few requests
//! cargo run --example udp_key_value -- client 127.0.0.1:9090 --send "set colour blue" --send "get colour"
//! cargo run --example udp_key_value -- server --requests 5 127.0.0.1:0
//! ```
//!
//! Requests are text: `get KEY`, `set KEY VALUE`, `del KEY`, `keys`. The
//! answers are `value VALUE`, `ok`, `not found`, `keys K1 K2 ...` or
//! `error WHAT`. A datagram that is not UTF-8 is an error for that
//! datagram only. `--requests N` stops the server after N requests.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use netproto::core::datagram::DatagramProtocol;
use netproto::serializer::Utf8;
use netproto::sync::datagram::DatagramServerOptions;
use netproto::sync::{Error, UdpClient, UdpPeer, UdpServer};

/// Text, one request or response per datagram.
type Text = DatagramProtocol<Utf8>;

/// The largest request or response (a datagram that fits any path's MTU).
const MAX_DATAGRAM: usize = 1200;

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
            eprintln!("udp_key_value: {err}");
            ExitCode::FAILURE
        }
    }
}

const USAGE: &str = "usage: udp_key_value server [--requests N] [ADDRESS]\n       \
                     udp_key_value client [ADDRESS] [--send \"REQUEST\"]...";

/// `server [--requests N] [ADDRESS]` or `client [ADDRESS] [--send REQUEST]...`.
pub fn run(args: Vec<String>, out: Out) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mut args = args.into_iter();
    let mode = args.next().ok_or(USAGE)?;
    let mut address = "127.0.0.1:9090".to_owned();
    let mut requests = None;
    let mut sends = Vec::new();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--requests" if mode == "server" => {
                requests = Some(args.next().ok_or(USAGE)?.parse::<usize>()?);
            }
            "--send" if mode == "client" => sends.push(args.next().ok_or(USAGE)?),
            flag if flag.starts_with('-') => {
                return Err(format!("unknown option {flag}\n{USAGE}").into());
            }
            _ => address = arg,
        }
    }
    match mode.as_str() {
        "server" => server(&address, requests, out),
        "client" => {
            if sends.is_empty() {
                sends = [
                    "set colour blue",
                    "get colour",
                    "del colour",
                    "get colour",
                    "fly",
                ]
                .map(String::from)
                .to_vec();
            }
            client(&address, &sends, out)
        }
        _ => Err(USAGE.into()),
    }
}

/// Answer requests until stopped (or until `requests` were answered).
fn server(
    address: &str,
    requests: Option<usize>,
    out: Out,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let options = DatagramServerOptions::default()
        .max_datagram_size(MAX_DATAGRAM)
        // A server open to a network bounds what senders can hold: at most
        // 1024 of them at once, 32 datagrams queued each; what is dropped
        // beyond that is reported (below), never lost silently.
        .max_peers(1024)
        .queue_len(32)
        .idle_timeout(Duration::from_secs(30));
    let events = out.clone();
    let options = options.on_event(move |event| say!(events, "event: {event:?}"));
    let server = UdpServer::bind(address, DatagramProtocol::new(Utf8), options)?;
    say!(out, "listening on {}", server.local_addr());
    let store = Arc::new(Mutex::new(BTreeMap::<String, String>::new()));
    let answered = Arc::new(AtomicUsize::new(0));
    let stop = server.shutdown_handle();
    server.serve(move |peer: UdpPeer<Text>| {
        while let Ok(request) = peer.recv_packet().or_else(|err| match err {
            // Not text: that datagram is answered with an error.
            Error::Deserialize { .. } => Ok(String::new()),
            err => Err(err),
        }) {
            say!(out, "request from {}: {request:?}", peer.peer_addr());
            let response = execute(&store, &request);
            if let Err(err) = peer.send_packet(&response) {
                say!(out, "cannot answer {}: {err}", peer.peer_addr());
                break;
            }
            let count = answered.fetch_add(1, Ordering::SeqCst) + 1;
            if requests == Some(count) {
                say!(out, "{count} requests answered, stopping");
                stop.shutdown(Duration::from_secs(1));
            }
        }
    })?;
    Ok(())
}

/// One request against the store.
fn execute(store: &Mutex<BTreeMap<String, String>>, request: &str) -> String {
    let mut store = store.lock().unwrap();
    let mut words = request.split_whitespace();
    match (words.next(), words.next()) {
        (Some("get"), Some(key)) => match store.get(key) {
            Some(value) => format!("value {value}"),
            None => "not found".into(),
        },
        (Some("set"), Some(key)) => {
            let value = words.collect::<Vec<_>>().join(" ");
            store.insert(key.to_owned(), value);
            "ok".into()
        }
        (Some("del"), Some(key)) => match store.remove(key) {
            Some(_) => "ok".into(),
            None => "not found".into(),
        },
        (Some("keys"), None) => {
            let keys: Vec<&str> = store.keys().map(String::as_str).collect();
            format!("keys {}", keys.join(" ")).trim_end().to_owned()
        }
        (None, _) => "error not a text request".into(),
        _ => format!("error unknown request {request:?}"),
    }
}

/// Send each request, waiting for its response (asking again when none
/// comes in time).
fn client(
    address: &str,
    requests: &[String],
    out: Out,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let client = UdpClient::connect(address, DatagramProtocol::new(Utf8))?;
    say!(
        out,
        "talking to {} from {}",
        client.peer_addr(),
        client.local_addr()
    );
    for request in requests {
        say!(out, "request {request:?}");
        let mut tries = 0;
        let response = loop {
            client.send_packet(request)?;
            match client.recv_packet_timeout(Duration::from_millis(500)) {
                Ok(response) => break response,
                Err(Error::Timeout { .. }) if tries < 5 => {
                    tries += 1;
                    say!(out, "no response yet, asking again");
                }
                Err(err) => return Err(err.into()),
            }
        };
        say!(out, "response {response:?}");
    }
    say!(out, "done");
    Ok(())
}
