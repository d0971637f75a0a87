//! # traced_echo — what the `tracing` feature reports
//!
//! An echo server and two clients in one process, with a `tracing`
//! subscriber printing what netproto reports: a span per connection
//! (`connection{peer=… transport="tcp" tls=false}`) and, inside it, the
//! connection's events — connected, disconnected (with the reason when an
//! error ended it) — and outside any connection the server's own (a client
//! refused by a one-client server).
//!
//! ```text
//! cargo run --example traced_echo --features tracing
//! RUST_LOG-style filtering: the events' target is `netproto`.
//! ```
//!
//! The same spans and events come from every driver: the core emits them.

use std::io::Write;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use netproto::framing::Delimiter;
use netproto::serializer::Utf8;
use netproto::sync::{Error, ServerOptions, StreamProtocol, TcpClient, TcpServer};

/// Where the example prints: standard output when run with `cargo run`, a
/// buffer when `tests/examples/` runs it.
pub type Out = Arc<Mutex<dyn Write + Send>>;

fn main() -> ExitCode {
    match run(Vec::new(), Arc::new(Mutex::new(std::io::stdout()))) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("traced_echo: {err}");
            ExitCode::FAILURE
        }
    }
}

/// A writer into an [`Out`], for the subscriber.
#[derive(Clone)]
struct OutWriter(Out);

impl Write for OutWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.lock().unwrap().flush()
    }
}

/// Run the server and the clients, tracing into `out`.
pub fn run(_args: Vec<String>, out: Out) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    // One subscriber for the process (served connections run on threads of
    // their own, so a thread-local one would not see them).
    static INSTALLED: OnceLock<()> = OnceLock::new();
    let writer = OutWriter(out.clone());
    INSTALLED.get_or_init(|| {
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_target(true)
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
    });

    let protocol = StreamProtocol::new(Delimiter::lf(), Utf8);
    let server = TcpServer::bind(
        "127.0.0.1:0",
        protocol.clone(),
        ServerOptions::default().one_client(),
    )?;
    let address = server.local_addrs()[0];
    let shutdown = server.shutdown_handle();
    let serving = std::thread::spawn(move || {
        server.serve(|conn| {
            while let Ok(line) = conn.recv_packet() {
                if conn.send_packet(&line).is_err() {
                    break;
                }
            }
        })
    });

    let client = TcpClient::connect(address, protocol.clone())?;
    client.send_packet("hello")?;
    let reply = client.recv_packet_timeout(Duration::from_secs(5))?;
    let _ = writeln!(out.lock().unwrap(), "echoed: {reply}");

    // A second client while the first is there: refused.
    let second = TcpClient::connect(address, protocol)?;
    match second.recv_packet_timeout(Duration::from_secs(5)) {
        Err(Error::ConnectionClosed { .. } | Error::ConnectionReset { .. }) => {}
        other => return Err(format!("the second client was not refused: {other:?}").into()),
    }
    client.close()?;
    shutdown.shutdown(Duration::from_secs(1));
    serving.join().expect("the server thread")?;
    Ok(())
}
