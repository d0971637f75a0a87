//! # control_socket — a daemon and its CLI over a Unix socket
//!
//! The local control channel many daemons have: the daemon listens on a
//! Unix socket file (only local processes can reach it, and it knows who
//! they are from the peer credentials), and a small CLI sends it commands,
//! one text line each, and prints the replies.
//!
//! | command | reply |
//! |---|---|
//! | `set KEY VALUE` | `ok` |
//! | `get KEY` | the value, or `error: no KEY` |
//! | `list` | `KEY=VALUE ...` |
//! | `who` | `pid=… uid=…`: the caller, as the kernel recorded it |
//! | `shutdown` | `bye`; the daemon stops and removes its socket file |
//!
//! ```text
//! cargo run --example control_socket -- daemon /tmp/demo.sock &
//! cargo run --example control_socket -- cli /tmp/demo.sock "set colour blue" "get colour" who
//! cargo run --example control_socket -- cli /tmp/demo.sock shutdown
//! ```
//!
//! What it shows: `UnixStreamServer` and `UnixStreamClient` (the same API
//! as the TCP types), the socket-file rules (a stale file from a daemon
//! that crashed is replaced; the daemon's own file is removed when it
//! stops), peer credentials, and graceful shutdown from a handler. Unix
//! only.

use std::io::Write;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

/// Where the example prints: standard output when run with `cargo run`, a
/// buffer when `tests/examples/` runs it.
pub type Out = Arc<Mutex<dyn Write + Send>>;

/// What `run` returns.
pub type Outcome = Result<(), Box<dyn std::error::Error + Send + Sync>>;

fn main() -> ExitCode {
    let args = std::env::args().skip(1).collect();
    match run(args, Arc::new(Mutex::new(std::io::stdout()))) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("control_socket: {err}");
            ExitCode::FAILURE
        }
    }
}

/// `control_socket daemon PATH` or `control_socket cli PATH COMMAND...`.
#[cfg(unix)]
pub fn run(args: Vec<String>, out: Out) -> Outcome {
    match args.as_slice() {
        [mode, path] if mode == "daemon" => unix::daemon(path, out),
        [mode, path, commands @ ..] if mode == "cli" && !commands.is_empty() => {
            unix::cli(path, commands, out)
        }
        _ => Err("usage: control_socket daemon PATH | control_socket cli PATH COMMAND...".into()),
    }
}

/// Unix sockets are for Unix.
#[cfg(not(unix))]
pub fn run(_args: Vec<String>, _out: Out) -> Outcome {
    Err("control_socket needs Unix sockets (Linux, macOS, the BSDs)".into())
}

#[cfg(unix)]
mod unix {
    use std::collections::BTreeMap;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use netproto::framing::Delimiter;
    use netproto::serializer::Utf8;
    use netproto::sync::{
        ServerOptions, StreamProtocol, UnixConnection, UnixStreamClient, UnixStreamServer,
    };

    use super::{Out, Outcome};

    /// `writeln!` to an [`Out`].
    macro_rules! say {
        ($out:expr, $($arg:tt)*) => {{
            let _ = writeln!($out.lock().unwrap(), $($arg)*);
        }};
    }

    type Lines = StreamProtocol<Delimiter, Utf8>;

    fn protocol() -> Lines {
        StreamProtocol::new(Delimiter::lf().max_frame_length(4096), Utf8)
    }

    /// Serve commands on `path` until a client says `shutdown`.
    pub fn daemon(path: &str, out: Out) -> Outcome {
        let server = UnixStreamServer::bind(path, protocol(), ServerOptions::default())?;
        say!(out, "listening on {}", server.local_addrs()[0]);
        let store = Arc::new(Mutex::new(BTreeMap::<String, String>::new()));
        let shutdown = server.shutdown_handle();
        let log = out.clone();
        server.serve(move |conn: UnixConnection<Lines>| {
            while let Ok(line) = conn.recv_packet() {
                say!(log, "command: {line}");
                let reply = execute(&line, &conn, &store);
                if conn.send_packet(&reply).is_err() {
                    break;
                }
                if line == "shutdown" {
                    shutdown.shutdown(Duration::from_secs(1));
                    break;
                }
            }
        })?;
        say!(
            out,
            "stopped; socket file removed: {}",
            !std::path::Path::new(path).exists()
        );
        Ok(())
    }

    fn execute(
        line: &str,
        conn: &UnixConnection<Lines>,
        store: &Mutex<BTreeMap<String, String>>,
    ) -> String {
        let mut words = line.splitn(3, ' ');
        let mut store = store.lock().unwrap();
        match (words.next(), words.next(), words.next()) {
            (Some("set"), Some(key), Some(value)) => {
                store.insert(key.to_owned(), value.to_owned());
                "ok".to_owned()
            }
            (Some("get"), Some(key), None) => match store.get(key) {
                Some(value) => value.clone(),
                None => format!("error: no {key}"),
            },
            (Some("list"), None, None) => store
                .iter()
                .map(|(key, value)| format!("{key}={value}"))
                .collect::<Vec<_>>()
                .join(" "),
            (Some("who"), None, None) => match conn.peer_credentials() {
                Ok(creds) => match creds.pid {
                    Some(pid) => format!("pid={pid} uid={}", creds.uid),
                    None => format!("uid={}", creds.uid),
                },
                Err(err) => format!("error: {err}"),
            },
            (Some("shutdown"), None, None) => "bye".to_owned(),
            _ => format!("error: unknown command {line:?}"),
        }
    }

    /// Send each command and print its reply.
    pub fn cli(path: &str, commands: &[String], out: Out) -> Outcome {
        let client = UnixStreamClient::connect(path, protocol())?;
        for command in commands {
            client.send_packet(command)?;
            let reply = client.recv_packet_timeout(Duration::from_secs(5))?;
            say!(out, "{command} -> {reply}");
        }
        client.close()?;
        Ok(())
    }
}
