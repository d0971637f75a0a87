//! # echo_server — the classic echo server (blocking)
//!
//! Listens on `localhost:10000` (or the address given: `0.0.0.0:10000`
//! listens on every interface, port 0 picks a free port), prints each
//! connection and each chunk it receives, and sends every chunk straight
//! back. Each connection is served on its own thread.
//!
//! There is no framing: the protocol is [`Raw`] chunks of at most 16 bytes
//! with the [`BytesSerializer`], so a long message visibly arrives and
//! returns in pieces — a byte stream, not messages.
//!
//! ```text
//! cargo run --example echo_server                    # localhost:10000
//! cargo run --example echo_server -- 0.0.0.0:10000   # every interface
//! cargo run --example echo_server -- --once 127.0.0.1:0
//! ```
//!
//! `--once` serves a single client with the low-level `accept()` and exits;
//! without it the server runs until you stop it (Ctrl-C). Talk to it with
//! `cargo run --example echo_client`, or with `interactive_client`.
//! `echo_server_tokio` and `echo_server_async_std` are this program on the
//! other runtimes.

use std::io::Write;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use netproto::framing::Raw;
use netproto::serializer::BytesSerializer;
use netproto::sync::{Connection, Error, ServerOptions, StreamProtocol, TcpServer};

/// Bytes as they come, in chunks of at most 16 bytes.
type Chunks = StreamProtocol<Raw, BytesSerializer>;

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
            eprintln!("echo_server: {err}");
            ExitCode::FAILURE
        }
    }
}

/// `echo_server [--once] [ADDRESS]`.
pub fn run(args: Vec<String>, out: Out) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mut once = false;
    let mut address = "localhost:10000".to_owned();
    for arg in args {
        match arg.as_str() {
            "--once" => once = true,
            flag if flag.starts_with('-') => {
                return Err(format!(
                    "unknown option {flag}; usage: echo_server [--once] [ADDRESS]"
                )
                .into());
            }
            _ => address = arg,
        }
    }

    // No framing: a byte stream, delivered in chunks of at most 16 bytes.
    let protocol = Chunks::new(Raw::new().max_frame_length(16), BytesSerializer);
    // A host name may resolve to several addresses (localhost: 127.0.0.1
    // and ::1): the server listens on all of them. Port 0 picks a free port.
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

    if once {
        say!(out, "waiting for a connection");
        let connection = server.accept()?;
        echo(connection, out);
    } else {
        // One thread per connection, until the process is stopped.
        server.serve(move |connection| echo(connection, out.clone()))?;
    }
    Ok(())
}

/// Send every chunk back until the client closes its side.
fn echo(connection: Connection<Chunks>, out: Out) {
    let peer = connection.peer_addr();
    say!(out, "connection from {peer}");
    loop {
        match connection.recv_packet() {
            Ok(chunk) => {
                say!(out, "received {chunk:?}");
                if let Err(err) = connection.send_packet(&chunk) {
                    say!(out, "cannot send to {peer}: {err}");
                    break;
                }
                say!(out, "sent it back to {peer}");
            }
            Err(Error::ConnectionClosed { .. }) => {
                say!(out, "no more data from {peer}");
                break;
            }
            Err(err) => {
                say!(out, "connection with {peer} ended: {err}");
                break;
            }
        }
    }
    let _ = connection.close();
}
