//! # tls_echo — the echo pair over TLS
//!
//! An echo server and client for text lines, over TLS (rustls, ring
//! provider). With no arguments both run in one process: a self-signed
//! certificate for `localhost` is generated at start (rcgen), the server
//! presents it, a client that trusts it exchanges a few lines, and a client
//! that trusts only the public web's roots is turned away.
//!
//! ```text
//! cargo run --features tls --example tls_echo            # both ends, generated certificate
//!
//! # Separate processes, with a generated certificate written to a file:
//! cargo run --features tls --example tls_echo -- server --write-cert /tmp/echo.pem
//! cargo run --features tls --example tls_echo -- client --ca /tmp/echo.pem
//!
//! # Real files: a certificate chain and its key for the server, a CA for the client.
//! cargo run --features tls --example tls_echo -- server --cert chain.pem --key key.pem 0.0.0.0:10443
//! cargo run --features tls --example tls_echo -- client --ca ca.pem --server-name echo.example.org 10.0.0.5:10443
//! ```
//!
//! A client without `--ca` verifies the server against the public web's
//! roots, as a browser would. `--server-name` checks the certificate
//! against a name other than the host connected to (handy when connecting
//! by IP address). The server's `--once` serves one client and exits.
//! Everything else — framing, `send_packet`, `recv_packet` — is the same
//! as without TLS: only the options change.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use netproto::StreamProtocol;
use netproto::framing::Delimiter;
use netproto::serializer::Utf8;
use netproto::sync::{
    ClientOptions, Connection, Error, ServerOptions, TcpClient, TcpServer, TlsClientConfig,
    TlsServerConfig,
};

/// UTF-8 text, one line per packet.
type Lines = StreamProtocol<Delimiter, Utf8>;

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
            eprintln!("tls_echo: {err}");
            ExitCode::FAILURE
        }
    }
}

const USAGE: &str = "usage: tls_echo\n       \
    tls_echo server [--cert CHAIN.pem --key KEY.pem | --write-cert FILE.pem] [--once] [ADDRESS]\n       \
    tls_echo client [--ca CA.pem] [--server-name NAME] [--message TEXT]... [ADDRESS]";

/// No arguments: the demo; otherwise `server ...` or `client ...`.
pub fn run(args: Vec<String>, out: Out) -> Result<(), BoxError> {
    let mut args = args.into_iter();
    let Some(mode) = args.next() else {
        return demo(out);
    };
    let mut address = "localhost:10443".to_owned();
    let (mut cert, mut key, mut write_cert, mut once) = (None, None, None, false);
    let (mut ca, mut server_name, mut messages) = (None, None, Vec::new());
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(USAGE);
        match (mode.as_str(), arg.as_str()) {
            ("server", "--cert") => cert = Some(PathBuf::from(value()?)),
            ("server", "--key") => key = Some(PathBuf::from(value()?)),
            ("server", "--write-cert") => write_cert = Some(PathBuf::from(value()?)),
            ("server", "--once") => once = true,
            ("client", "--ca") => ca = Some(PathBuf::from(value()?)),
            ("client", "--server-name") => server_name = Some(value()?),
            ("client", "--message") => messages.push(value()?),
            (_, flag) if flag.starts_with('-') => {
                return Err(format!("unknown option {flag}\n{USAGE}").into());
            }
            _ => address = arg,
        }
    }
    match mode.as_str() {
        "server" => {
            let tls = match (cert, key) {
                (Some(cert), Some(key)) => {
                    TlsServerConfig::from_pem(&std::fs::read(&cert)?, &std::fs::read(&key)?)?
                }
                (None, None) => {
                    let (cert_pem, key_pem) = self_signed(&out)?;
                    if let Some(path) = write_cert {
                        std::fs::write(&path, &cert_pem)?;
                        say!(
                            out,
                            "certificate written to {}: clients can trust it with --ca",
                            path.display()
                        );
                    }
                    TlsServerConfig::from_pem(cert_pem.as_bytes(), key_pem.as_bytes())?
                }
                _ => return Err(format!("--cert and --key go together\n{USAGE}").into()),
            };
            server(&address, tls, once, out)
        }
        "client" => {
            let mut tls = match ca {
                Some(ca) => TlsClientConfig::with_root_pem(&std::fs::read(&ca)?)?,
                None => TlsClientConfig::webpki_roots(),
            };
            if let Some(name) = server_name {
                tls = tls.server_name(name);
            }
            if messages.is_empty() {
                messages = vec!["hello over TLS".to_owned()];
            }
            client(&address, tls, &messages, &out)
        }
        _ => Err(USAGE.into()),
    }
}

/// A self-signed certificate for `localhost`, `127.0.0.1` and `::1`, as PEM
/// (certificate, private key).
fn self_signed(out: &Out) -> Result<(String, String), BoxError> {
    let names = ["localhost", "127.0.0.1", "::1"].map(String::from).to_vec();
    let certified = rcgen::generate_simple_self_signed(names)?;
    say!(
        out,
        "generated a self-signed certificate for localhost, 127.0.0.1 and ::1"
    );
    Ok((certified.cert.pem(), certified.signing_key.serialize_pem()))
}

/// Serve clients over TLS until stopped (or one, with `once`).
fn server(address: &str, tls: TlsServerConfig, once: bool, out: Out) -> Result<(), BoxError> {
    let options = ServerOptions::default()
        // A server open to a network bounds what a client can hold: one
        // idle for a minute (or trickling bytes) is closed, and at most 256
        // are served at once, the rest refused with a `Rejected` event.
        .idle_timeout(std::time::Duration::from_secs(60))
        .max_connections(256, netproto::core::options::WhenFull::Refuse)
        .tls(tls)
        .handshake_timeout(Duration::from_secs(5));
    let protocol = Lines::new(Delimiter::lf(), Utf8);
    let server = TcpServer::bind(address, protocol, options)?;
    for local in server.local_addrs() {
        say!(out, "listening on {local}");
    }
    if once {
        // The TLS handshake is done when accept returns.
        echo(server.accept()?, &out);
    } else {
        // A client whose handshake fails never reaches the handler.
        server.serve(move |connection| echo(connection, &out))?;
    }
    Ok(())
}

/// Send every line back until the client leaves.
fn echo(connection: Connection<Lines>, out: &Out) {
    let peer = connection.peer_addr();
    say!(out, "server: TLS connection from {peer}");
    loop {
        match connection.recv_packet() {
            Ok(line) => {
                say!(out, "server: echoing {line:?}");
                if connection.send_packet(&line).is_err() {
                    break;
                }
            }
            Err(Error::ConnectionClosed { .. }) => break,
            Err(err) => {
                say!(out, "server: connection with {peer} ended: {err}");
                break;
            }
        }
    }
    let _ = connection.close();
    say!(out, "server: {peer} left");
}

/// Connect, send each message, print each echo.
fn client(
    address: &str,
    tls: TlsClientConfig,
    messages: &[String],
    out: &Out,
) -> Result<(), BoxError> {
    let options = ClientOptions::default()
        .tls(tls)
        .connect_timeout(Duration::from_secs(5))
        .handshake_timeout(Duration::from_secs(5));
    let protocol = Lines::new(Delimiter::lf(), Utf8);
    // Connected means the handshake is done and the certificate checked.
    let client = TcpClient::connect_with(address, protocol, options)?;
    say!(out, "client: connected to {} over TLS", client.peer_addr());
    for message in messages {
        client.send_packet(message)?;
        let echo = client.recv_packet_timeout(Duration::from_secs(5))?;
        say!(out, "client: sent {message:?}, got back {echo:?}");
    }
    // Sends TLS close_notify, so the server sees a clean end of stream.
    client.close()?;
    Ok(())
}

/// Both ends in one process, with a certificate generated now.
fn demo(out: Out) -> Result<(), BoxError> {
    let (cert_pem, key_pem) = self_signed(&out)?;
    let tls = TlsServerConfig::from_pem(cert_pem.as_bytes(), key_pem.as_bytes())?;
    let options = ServerOptions::default()
        // A server open to a network bounds what a client can hold: one
        // idle for a minute (or trickling bytes) is closed, and at most 256
        // are served at once, the rest refused with a `Rejected` event.
        .idle_timeout(std::time::Duration::from_secs(60))
        .max_connections(256, netproto::core::options::WhenFull::Refuse)
        .tls(tls);
    let server = TcpServer::bind("127.0.0.1:0", Lines::new(Delimiter::lf(), Utf8), options)?;
    let address = server.local_addrs()[0];
    say!(out, "listening on {address}");
    let shutdown = server.shutdown_handle();
    let server_out = out.clone();
    let serving =
        thread::spawn(move || server.serve(move |connection| echo(connection, &server_out)));

    // Trust the generated certificate; connect by IP, check the name "localhost".
    let trusted = TlsClientConfig::with_root_pem(cert_pem.as_bytes())?.server_name("localhost");
    let messages = ["hello over TLS", "every byte encrypted"].map(String::from);
    client(&address.to_string(), trusted, &messages, &out)?;

    // A client that trusts only the public web's roots refuses this server.
    let web = TlsClientConfig::webpki_roots().server_name("localhost");
    match client(&address.to_string(), web, &messages, &out) {
        Ok(()) => return Err("a client without the certificate was let in".into()),
        Err(err) => say!(out, "client without the certificate: refused ({err})"),
    }

    shutdown.shutdown(Duration::from_secs(1));
    serving.join().expect("the server thread panicked")?;
    say!(out, "server stopped");
    Ok(())
}
