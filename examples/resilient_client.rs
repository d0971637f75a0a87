//! # resilient_client — connect with retries and back-off
//!
//! Connects to a server that may not be up yet: each failed attempt is
//! reported through the connection-event callback with the delay before the
//! next one, and the delays grow (100 ms, 200 ms, 400 ms... capped at 2 s,
//! each randomised within half of its value so that many clients restarting
//! together do not retry in lockstep). Once connected it sends one line,
//! prints the reply and leaves; after the last attempt it gives up with an
//! error that says how many attempts were made and why the last one failed.
//!
//! ```text
//! cargo run --example resilient_client                      # localhost:10000, 10 attempts
//! cargo run --example echo_server                           # start it while the client retries
//! cargo run --example resilient_client -- --attempts 3 --delay 1 127.0.0.1:10000
//! ```
//!
//! What it shows: [`ClientOptions`] with a [`RetryPolicy`], a connect
//! timeout per attempt, and [`ConnectionEvent`]s (`ConnectAttemptFailed`,
//! `Connected`, `Disconnected`) delivered to a callback — the place to
//! report connection state to the rest of an application.

use std::io::Write;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use netproto::StreamProtocol;
use netproto::framing::Delimiter;
use netproto::serializer::Utf8;
use netproto::sync::{ClientOptions, ConnectionEvent, RetryPolicy, TcpClient};

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
            eprintln!("resilient_client: {err}");
            ExitCode::FAILURE
        }
    }
}

const USAGE: &str = "usage: resilient_client [--attempts N] [--delay SECONDS] [ADDRESS]";

/// `resilient_client [--attempts N] [--delay SECONDS] [ADDRESS]`.
pub fn run(args: Vec<String>, out: Out) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mut address = "localhost:10000".to_owned();
    let mut attempts = 10;
    let mut first_delay = Duration::from_millis(100);
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--attempts" => attempts = args.next().ok_or(USAGE)?.parse().map_err(|_| USAGE)?,
            "--delay" => {
                let seconds: f64 = args.next().ok_or(USAGE)?.parse().map_err(|_| USAGE)?;
                first_delay = Duration::try_from_secs_f64(seconds).map_err(|_| USAGE)?;
            }
            flag if flag.starts_with('-') => {
                return Err(format!("unknown option {flag}\n{USAGE}").into());
            }
            _ => address = arg,
        }
    }

    let retry = RetryPolicy::attempts(attempts)
        .initial_delay(first_delay)
        .multiplier(2.0)
        .max_delay(Duration::from_secs(2));
    let events = out.clone();
    let options = ClientOptions::default()
        .connect_timeout(Duration::from_secs(3))
        .retry(retry)
        .on_event(move |event| match event {
            ConnectionEvent::ConnectAttemptFailed {
                target,
                attempt,
                error,
                retry_in,
            } => say!(
                events,
                "attempt {attempt} to reach {target} failed: {error}; retrying in {retry_in:.0?}"
            ),
            ConnectionEvent::Connected { local, peer } => {
                say!(events, "connected to {peer} from {local}")
            }
            ConnectionEvent::Disconnected { peer, reason } => match reason {
                None => say!(events, "disconnected from {peer}"),
                Some(reason) => say!(events, "disconnected from {peer}: {reason}"),
            },
            _ => {}
        });

    say!(out, "connecting to {address} (up to {attempts} attempts)");
    let protocol = StreamProtocol::new(Delimiter::lf(), Utf8);
    let client = match TcpClient::connect_with(address.as_str(), protocol, options) {
        Ok(client) => client,
        Err(err) => {
            say!(out, "giving up: {err}");
            return Err(err.into());
        }
    };

    client.send_packet("Hello!")?;
    let reply = client.recv_packet_timeout(Duration::from_secs(5))?;
    say!(out, "reply: {reply}");
    client.close()?;
    Ok(())
}
