//! # echo_client — the classic echo client (blocking)
//!
//! Connects to `localhost:10000` (or the address given), sends one message,
//! prints every piece of the echo as it arrives until the whole message is
//! back, and closes the connection. `send_packet` returns once every byte
//! is handed to the kernel (sendall); the echo comes back as [`Raw`] chunks
//! of whatever size the network delivers.
//!
//! ```text
//! cargo run --example echo_server        # in one terminal
//! cargo run --example echo_client        # in another
//! cargo run --example echo_client -- --message "hi there" 127.0.0.1:10000
//! ```
//!
//! `echo_client_tokio` and `echo_client_async_std` are this program on the
//! other runtimes.

use std::io::Write;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use netproto::framing::Raw;
use netproto::serializer::BytesSerializer;
use netproto::sync::{StreamProtocol, TcpClient};

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
            eprintln!("echo_client: {err}");
            ExitCode::FAILURE
        }
    }
}

/// `echo_client [--message TEXT] [ADDRESS]`.
pub fn run(args: Vec<String>, out: Out) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mut address = "localhost:10000".to_owned();
    let mut message = "Every byte of this message comes back, a few at a time.".to_owned();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--message" => message = args.next().ok_or("--message needs a value")?,
            flag if flag.starts_with('-') => {
                return Err(format!(
                    "unknown option {flag}; usage: echo_client [--message TEXT] [ADDRESS]"
                )
                .into());
            }
            _ => address = arg,
        }
    }

    // No framing: bytes go out as they are and come back in chunks.
    let protocol = StreamProtocol::new(Raw::new(), BytesSerializer);
    say!(out, "connecting to {address}");
    let client = TcpClient::connect(address.as_str(), protocol)?;
    say!(
        out,
        "connected to {} from {}",
        client.peer_addr(),
        client.local_addr()
    );

    say!(out, "sending {:?}", message);
    client.send_packet(message.as_bytes())?;

    // The echo may arrive in any number of pieces: read until all is back.
    let mut echoed = Vec::new();
    while echoed.len() < message.len() {
        let chunk = client.recv_packet_timeout(Duration::from_secs(5))?;
        say!(out, "received {chunk:?}");
        echoed.extend_from_slice(&chunk);
    }
    if echoed == message.as_bytes() {
        say!(out, "the whole message came back");
    } else {
        say!(
            out,
            "the echo differs: {:?}",
            String::from_utf8_lossy(&echoed)
        );
    }

    say!(out, "closing the connection");
    client.close()?;
    Ok(())
}
