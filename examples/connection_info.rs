//! # connection_info — a callback per connection, addresses, exact reads
//!
//! A server listens with a callback that is called once per new
//! connection; the callback hands the connection over to the main program,
//! which then owns both ends of the same TCP connection. Each end prints
//! its local and remote address (one end's local address is the other's
//! remote address), then bytes travel each way and are read in exact
//! counts: the [`FixedSize`] framer makes every `recv_packet` return exactly
//! 3 bytes, however the network cut them up.
//!
//! ```text
//! cargo run --example connection_info                    # 127.0.0.1, a free port
//! cargo run --example connection_info -- 0.0.0.0:7000
//! ```
//!
//! What it shows: `TcpServer::serve` with a handler that passes connections
//! on (the handler runs once per connection, like a connection callback),
//! `local_addrs`, `local_addr`/`peer_addr` on both ends, `ConnectionEvent`s
//! from both ends, and exact-size reads and writes.

use std::io::Write;
use std::process::ExitCode;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use netproto::StreamProtocol;
use netproto::framing::FixedSize;
use netproto::serializer::BytesSerializer;
use netproto::sync::{ClientOptions, ConnectionEvent, ServerOptions, TcpClient, TcpServer};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

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
            eprintln!("connection_info: {err}");
            ExitCode::FAILURE
        }
    }
}

/// A callback that prints a side's connection events.
fn report(side: &'static str, out: &Out) -> impl Fn(&ConnectionEvent) + Send + Sync + 'static {
    let out = out.clone();
    move |event| match event {
        ConnectionEvent::Connected { local, peer } => {
            say!(out, "{side} event: connected, local {local}, remote {peer}")
        }
        ConnectionEvent::Disconnected { peer, .. } => {
            say!(out, "{side} event: disconnected from {peer}")
        }
        _ => {}
    }
}

/// `connection_info [ADDRESS]` (default `127.0.0.1:0`: a free port).
pub fn run(args: Vec<String>, out: Out) -> Result<(), BoxError> {
    let address = args.first().map_or("127.0.0.1:0", String::as_str);

    // Every packet is exactly 3 bytes.
    let protocol = StreamProtocol::new(FixedSize::new(3), BytesSerializer);

    // The server: its handler is the connection callback. It prints what it
    // knows about the connection and passes the connection on.
    let server_options = ServerOptions::default()
        // A server open to a network bounds what a client can hold: one
        // idle for a minute (or trickling bytes) is closed, and at most 256
        // are served at once, the rest refused with a `Rejected` event.
        .idle_timeout(std::time::Duration::from_secs(60))
        .max_connections(256, netproto::core::options::WhenFull::Refuse)
        .on_event(report("server", &out));
    let server = TcpServer::bind(address, protocol.clone(), server_options)?;
    say!(out, "server addresses: {:?}", server.local_addrs());
    let target = server.local_addrs()[0];
    let shutdown = server.shutdown_handle();
    let (accepted, connections) = mpsc::channel();
    let callback_out = out.clone();
    let serving = thread::spawn(move || {
        server.serve(move |connection| {
            say!(
                callback_out,
                "server callback: new connection, local {}, remote {}",
                connection.local_addr(),
                connection.peer_addr()
            );
            let _ = accepted.send(connection);
        })
    });

    // The client: connect, then take the server's end from the callback.
    let client_options = ClientOptions::default().on_event(report("client", &out));
    let conn1 = TcpClient::connect_with(target, protocol, client_options)?;
    let conn2 = connections.recv_timeout(Duration::from_secs(5))?;
    say!(
        out,
        "client end: local {}, remote {}",
        conn1.local_addr(),
        conn1.peer_addr()
    );
    say!(
        out,
        "server end: local {}, remote {}",
        conn2.local_addr(),
        conn2.peer_addr()
    );
    if conn1.local_addr() == conn2.peer_addr() && conn1.peer_addr() == conn2.local_addr() {
        say!(out, "the two ends mirror each other");
    }

    // From the client to the server, and back: exactly 3 bytes each way.
    conn1.send_packet(b"123")?;
    let data = conn2.recv_packet_timeout(Duration::from_secs(5))?;
    say!(out, "server read exactly {} bytes: {data:?}", data.len());
    conn2.send_packet(b"321")?;
    let data = conn1.recv_packet_timeout(Duration::from_secs(5))?;
    say!(out, "client read exactly {} bytes: {data:?}", data.len());

    // Another size does not fit the framing: refused before anything is sent.
    if let Err(err) = conn1.send_packet(b"12") {
        say!(out, "sending 2 bytes is refused: {err}");
    }

    conn1.close()?;
    conn2.close()?;
    shutdown.shutdown(Duration::from_secs(1));
    serving.join().expect("the server thread panicked")?;
    say!(out, "closed both ends and the server");
    Ok(())
}
