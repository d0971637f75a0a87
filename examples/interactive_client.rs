//! # interactive_client — a line-based REPL against any line server
//!
//! Reads lines from standard input, sends each one to the server, and prints
//! what comes back. Type `quit`, `exit` or `q` (or end the input with
//! Ctrl-D) to leave. When no reply arrives within the receive timeout it
//! says "timeout waiting for response" and carries on: a receive that times
//! out loses nothing, so a late reply is printed with the next one.
//!
//! ```text
//! cargo run --example echo_server                                # in one terminal
//! cargo run --example interactive_client                         # in another: localhost:10000
//! cargo run --example mock_controller                            # a CRLF server
//! cargo run --example interactive_client -- --crlf localhost:5000
//! cargo run --example interactive_client -- --timeout 0.5        # seconds
//! ```
//!
//! The protocol is UTF-8 text lines ([`Delimiter::lf`], or
//! [`Delimiter::crlf`] with `--crlf`), so it talks to any line server: the
//! echo servers in this directory, `mock_controller`, or a netcat.

use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use netproto::StreamProtocol;
use netproto::framing::Delimiter;
use netproto::serializer::Utf8;
use netproto::sync::{ClientOptions, Error, TcpClient};

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
    let stdin = std::io::stdin().lock();
    match run(args, stdin, Arc::new(Mutex::new(std::io::stdout()))) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("interactive_client: {err}");
            ExitCode::FAILURE
        }
    }
}

const USAGE: &str = "usage: interactive_client [--crlf] [--timeout SECONDS] [ADDRESS]";

/// `interactive_client [--crlf] [--timeout SECONDS] [ADDRESS]`, reading
/// lines from `input`.
pub fn run(
    args: Vec<String>,
    mut input: impl BufRead,
    out: Out,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mut address = "localhost:10000".to_owned();
    let mut delimiter = Delimiter::lf();
    let mut timeout = Duration::from_secs(5);
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--crlf" => delimiter = Delimiter::crlf(),
            "--timeout" => {
                let seconds: f64 = args.next().ok_or(USAGE)?.parse().map_err(|_| USAGE)?;
                timeout = Duration::try_from_secs_f64(seconds).map_err(|_| USAGE)?;
            }
            flag if flag.starts_with('-') => {
                return Err(format!("unknown option {flag}\n{USAGE}").into());
            }
            _ => address = arg,
        }
    }

    let protocol = StreamProtocol::new(delimiter, Utf8);
    let options = ClientOptions::default().connect_timeout(Duration::from_secs(5));
    let client = match TcpClient::connect_with(address.as_str(), protocol, options) {
        Ok(client) => client,
        Err(err) => {
            // `connection refused by 127.0.0.1:10000`, `cannot resolve host ...`,
            // `connecting to ... timed out after 5s`: the error says which.
            say!(out, "cannot connect: {err}");
            return Err(err.into());
        }
    };
    say!(
        out,
        "connected to {} (quit, exit or q to leave)",
        client.peer_addr()
    );

    let mut line = String::new();
    loop {
        // The prompt; the user's line ends it.
        let _ = write!(out.lock().unwrap(), "> ");
        let _ = out.lock().unwrap().flush();
        line.clear();
        if input.read_line(&mut line)? == 0 {
            say!(out, ""); // end of input (Ctrl-D)
            break;
        }
        let line = line.trim_end();
        if matches!(line.to_ascii_lowercase().as_str(), "quit" | "exit" | "q") {
            break;
        }
        if line.is_empty() {
            continue;
        }
        if let Err(err) = client.send_packet(line) {
            say!(out, "cannot send: {err}");
            break;
        }
        match client.recv_packet_timeout(timeout) {
            Ok(reply) => {
                say!(out, "server: {reply}");
                // Anything else the server sent already is shown too.
                for extra in client.iter_received_packets(Duration::ZERO) {
                    match extra {
                        Ok(reply) => say!(out, "server: {reply}"),
                        Err(_) => break,
                    }
                }
            }
            Err(Error::Timeout { .. }) => say!(out, "timeout waiting for response"),
            Err(Error::ConnectionClosed { .. }) => {
                say!(out, "the server closed the connection");
                break;
            }
            Err(err) => {
                say!(out, "error: {err}");
                break;
            }
        }
    }

    let _ = client.close();
    say!(out, "disconnected");
    Ok(())
}
