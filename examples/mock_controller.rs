//! # mock_controller — a one-client server speaking CRLF text commands
//!
//! A stand-in for a piece of hardware (here, the rotating dome of a
//! telescope) of the kind written to test control software without the
//! hardware: it serves **one client at a time** — a second client that
//! connects while the first is there is accepted and closed at once — and
//! reports every connect, disconnect and rejection through the server's
//! connection-event callback. Commands and replies are text lines ending in
//! CRLF (`\r\n`):
//!
//! | command | reply |
//! |---|---|
//! | `status` | `azimuth=12.5 moving=no` |
//! | `move DEGREES` | `ok moving to DEGREES` (the dome turns 30°/s) |
//! | `stop` | `ok stopped at DEGREES` |
//! | `help` | the commands |
//! | `quit` | `bye`, and the controller hangs up |
//!
//! Anything else gets `error: ...` and the connection goes on.
//!
//! ```text
//! cargo run --example mock_controller                          # localhost:5000
//! cargo run --example interactive_client -- --crlf localhost:5000
//! cargo run --example mock_controller -- --once 127.0.0.1:0    # exit after the first client
//! ```
//!
//! What it shows: `ServerOptions::one_client()`, `on_event`, the
//! [`Delimiter::crlf`] framer, and a converter (`try_map_received`) that
//! turns each line into a `Command` — a line that does not parse is an
//! error for that packet only.

use std::io::Write;
use std::process::ExitCode;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use netproto::framing::Delimiter;
use netproto::serializer::Utf8;
use netproto::sync::{
    Connection, ConnectionEvent, Error, Protocol, ServerOptions, StreamProtocol, TcpServer,
};

/// What the client may ask.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Command {
    /// Report the position.
    Status,
    /// Turn to an azimuth, in degrees.
    Move(f64),
    /// Stop where it is.
    Stop,
    /// List the commands.
    Help,
    /// Hang up.
    Quit,
}

impl FromStr for Command {
    type Err = String;

    fn from_str(line: &str) -> Result<Self, String> {
        let mut words = line.split_whitespace();
        let command = match (words.next(), words.next()) {
            (Some("status"), None) => Command::Status,
            (Some("move"), Some(degrees)) => match degrees.parse::<f64>() {
                Ok(degrees) if (0.0..360.0).contains(&degrees) => Command::Move(degrees),
                _ => return Err(format!("azimuth {degrees:?} is not a number in [0, 360)")),
            },
            (Some("stop"), None) => Command::Stop,
            (Some("help"), None) => Command::Help,
            (Some("quit"), None) => Command::Quit,
            _ => return Err(format!("unknown command {line:?} (try help)")),
        };
        match words.next() {
            None => Ok(command),
            Some(_) => Err(format!("too many arguments in {line:?}")),
        }
    }
}

/// The simulated dome.
struct Dome {
    azimuth: f64,
    target: f64,
    since: Instant,
}

/// Degrees per second.
const SPEED: f64 = 30.0;

impl Dome {
    /// Where the dome is now, on its way from `azimuth` to `target`.
    fn position(&self) -> f64 {
        let travelled = self.since.elapsed().as_secs_f64() * SPEED;
        let distance = self.target - self.azimuth;
        if travelled >= distance.abs() {
            self.target
        } else {
            self.azimuth + travelled * distance.signum()
        }
    }

    fn execute(&mut self, command: Command) -> String {
        let now = self.position();
        match command {
            Command::Status => {
                let moving = if now == self.target { "no" } else { "yes" };
                format!("azimuth={now:.1} moving={moving}")
            }
            Command::Move(target) => {
                (self.azimuth, self.target, self.since) = (now, target, Instant::now());
                format!("ok moving to {target:.1}")
            }
            Command::Stop => {
                (self.azimuth, self.target) = (now, now);
                format!("ok stopped at {now:.1}")
            }
            Command::Help => "commands: status, move DEGREES, stop, help, quit".to_owned(),
            Command::Quit => "bye".to_owned(),
        }
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
            eprintln!("mock_controller: {err}");
            ExitCode::FAILURE
        }
    }
}

/// `mock_controller [--once] [ADDRESS]`.
pub fn run(args: Vec<String>, out: Out) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mut once = false;
    let mut address = "localhost:5000".to_owned();
    for arg in args {
        match arg.as_str() {
            "--once" => once = true,
            flag if flag.starts_with('-') => {
                return Err(format!(
                    "unknown option {flag}; usage: mock_controller [--once] [ADDRESS]"
                )
                .into());
            }
            _ => address = arg,
        }
    }

    // CRLF-terminated lines, parsed into commands on arrival.
    let protocol = StreamProtocol::new(Delimiter::crlf().max_frame_length(1024), Utf8)
        .try_map_received(|line: String| line.parse::<Command>());

    let events = out.clone();
    let options = ServerOptions::default()
        // One client at a time (the rest are refused with a `Rejected`
        // event), and a client idle for a minute is closed.
        .idle_timeout(std::time::Duration::from_secs(60))
        .one_client()
        .on_event(move |event| match event {
            ConnectionEvent::Connected { peer, .. } => say!(events, "client connected: {peer}"),
            ConnectionEvent::Rejected { peer, reason } => {
                say!(events, "rejected {peer}: {reason}")
            }
            ConnectionEvent::Disconnected { peer, reason: None } => {
                say!(events, "client disconnected: {peer}")
            }
            ConnectionEvent::Disconnected {
                peer,
                reason: Some(reason),
            } => say!(events, "client disconnected: {peer} ({reason})"),
            _ => {}
        });
    let server = TcpServer::bind(address.as_str(), protocol, options)?;
    for local in server.local_addrs() {
        say!(out, "listening on {local}");
    }

    let dome = Arc::new(Mutex::new(Dome {
        azimuth: 0.0,
        target: 0.0,
        since: Instant::now(),
    }));
    let shutdown = server.shutdown_handle();
    server.serve(move |connection| {
        control(connection, &dome, &out);
        if once {
            shutdown.shutdown(Duration::from_secs(1));
        }
    })?;
    Ok(())
}

/// Answer one client's commands until it leaves or says `quit`.
fn control<P>(connection: Connection<P>, dome: &Mutex<Dome>, out: &Out)
where
    P: Protocol<Sent = str, Received = Command>,
{
    loop {
        let reply = match connection.recv_packet() {
            Ok(command) => {
                say!(out, "command: {command:?}");
                let reply = dome.lock().unwrap().execute(command);
                if command == Command::Quit {
                    let _ = connection.send_packet(&reply);
                    break;
                }
                reply
            }
            // A line that is not a command: an error for that line only.
            Err(Error::Deserialize { source, .. }) => format!("error: {}", source.source),
            Err(Error::ConnectionClosed { .. }) => break,
            Err(err) => {
                say!(out, "connection failed: {err}");
                break;
            }
        };
        if connection.send_packet(&reply).is_err() {
            break;
        }
    }
    let _ = connection.close();
}
