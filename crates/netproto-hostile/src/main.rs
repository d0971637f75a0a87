//! `hostile-server`: one driver's echo server as a process of its own, for
//! the hostile-network suite (`tests/hostile.rs`) to attack over loopback.
//!
//! ```text
//! hostile-server --driver sync|tokio|async-std
//!     [--protocol lines|frames]   LF-ended lines (64 KiB limit) or u32-length frames (8 MiB)
//!     [--tls CA_FILE]             TLS with a generated certificate; its CA is written to CA_FILE
//!     [--idle-timeout-ms N]       the server's idle timeout
//!     [--nofile N]                lower this process's file-descriptor limit to N first
//!     [--close-timeout-ms N]      how long closing a connection may take to flush
//!     [--max-connections N]       the connection limit (default: derived from the fd limit)
//! ```
//!
//! It binds `127.0.0.1:0` and prints, one per line on stdout: `listening
//! ADDR`, then `event EVENT` for each connection event (its `Debug` form),
//! `recv-error ERROR` for each receive error a handler sees, and `served
//! RESULT` once `serve` returned after shutdown. Every connection is echoed
//! packet by packet; after a bad packet receiving goes on, any other error
//! ends the connection. When stdin closes the server shuts down (no grace) and
//! the process exits.
//!
//! `async-std` is netproto-async-std under async-std's `block_on`; with
//! the workspace's features unified its served connections run on smol's
//! executor (the crate prefers it when both are on).

use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Duration;

use netproto_core::framing::{Delimiter, LengthPrefix};
use netproto_core::options::{ConnectionEvent, ServerOptions};
use netproto_core::serializer::BytesSerializer;
use netproto_core::{Error, StreamProtocol};

type Lines = StreamProtocol<Delimiter, BytesSerializer>;
type Frames = StreamProtocol<LengthPrefix, BytesSerializer>;

/// The options the server was started with.
struct Args {
    driver: String,
    frames: bool,
    tls_ca: Option<String>,
    idle_timeout: Option<Duration>,
    nofile: Option<u64>,
    close_timeout: Option<Duration>,
    max_connections: Option<usize>,
}

fn parse() -> Result<Args, String> {
    let mut args = Args {
        driver: String::new(),
        frames: false,
        tls_ca: None,
        idle_timeout: None,
        nofile: None,
        close_timeout: None,
        max_connections: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        let millis = |v: String| {
            v.parse()
                .map(Duration::from_millis)
                .map_err(|e| format!("{v}: {e}"))
        };
        match flag.as_str() {
            "--driver" => args.driver = value()?,
            "--protocol" => args.frames = value()? == "frames",
            "--tls" => args.tls_ca = Some(value()?),
            "--idle-timeout-ms" => args.idle_timeout = Some(millis(value()?)?),
            "--close-timeout-ms" => args.close_timeout = Some(millis(value()?)?),
            "--max-connections" => {
                let v = value()?;
                args.max_connections = Some(v.parse().map_err(|e| format!("{v}: {e}"))?);
            }
            "--nofile" => {
                let v = value()?;
                args.nofile = Some(v.parse().map_err(|e| format!("{v}: {e}"))?);
            }
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(args)
}

/// Print one line on stdout, flushed (the tests read it as it comes).
fn say(line: &str) {
    static OUT: Mutex<()> = Mutex::new(());
    let _guard = OUT.lock().unwrap_or_else(|e| e.into_inner());
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn options(args: &Args) -> Result<ServerOptions, String> {
    let mut options = ServerOptions::default()
        .idle_timeout(args.idle_timeout)
        .on_event(|event: &ConnectionEvent| say(&format!("event {event:?}")));
    if let Some(max) = args.max_connections {
        options = options.max_connections(max, netproto_core::options::WhenFull::Wait);
    }
    if let Some(timeout) = args.close_timeout {
        options = options.close_timeout(timeout);
    }
    if let Some(path) = &args.tls_ca {
        let certs = netproto_testkit::certs::test_certs();
        std::fs::write(path, &certs.ca_pem).map_err(|e| format!("writing {path}: {e}"))?;
        options = options.tls(certs.server_config());
    }
    Ok(options)
}

/// Block until stdin closes (the test is done, or gone).
fn wait_for_stdin_to_close() {
    let mut lines = std::io::stdin().lock().lines();
    while let Some(Ok(_)) = lines.next() {}
}

/// Print a receive error as the handler sees it; whether receiving may go
/// on after it (a bad packet) or not.
fn goes_on(err: &Error) -> bool {
    say(&format!("recv-error {err}"));
    err.is_recoverable()
}

mod sync {
    use super::*;
    use netproto_sync::TcpServer;

    pub fn run<P>(protocol: P, options: ServerOptions) -> Result<(), Error>
    where
        P: netproto_core::Protocol<Sent = [u8], Received = bytes::Bytes>,
    {
        let server = TcpServer::bind("127.0.0.1:0", protocol, options)?;
        say(&format!("listening {}", server.local_addrs()[0]));
        let handle = server.shutdown_handle();
        std::thread::spawn(move || {
            wait_for_stdin_to_close();
            handle.shutdown(Duration::ZERO);
        });
        server.serve(|conn| {
            loop {
                match conn.recv_packet() {
                    Ok(packet) => {
                        if conn.send_packet(&packet).is_err() {
                            return;
                        }
                    }
                    Err(err) if goes_on(&err) => {}
                    Err(_) => return,
                }
            }
        })
    }
}

/// The async drivers' server, written once: the driver's types are
/// aliases of the same generic ones, so only the crate differs.
macro_rules! async_driver {
    ($name:ident, $krate:ident) => {
        mod $name {
            use super::*;
            use $krate::TcpServer;

            pub async fn run<P>(protocol: P, options: ServerOptions) -> Result<(), Error>
            where
                P: netproto_core::Protocol<Sent = [u8], Received = bytes::Bytes>,
            {
                let server = TcpServer::bind("127.0.0.1:0", protocol, options).await?;
                say(&format!("listening {}", server.local_addrs()[0]));
                let handle = server.shutdown_handle();
                std::thread::spawn(move || {
                    wait_for_stdin_to_close();
                    handle.shutdown(Duration::ZERO);
                });
                server
                    .serve(|conn| async move {
                        loop {
                            match conn.recv_packet().await {
                                Ok(packet) => {
                                    if conn.send_packet(&packet).await.is_err() {
                                        return;
                                    }
                                }
                                Err(err) if goes_on(&err) => {}
                                Err(_) => return,
                            }
                        }
                    })
                    .await
            }
        }
    };
}

async_driver!(tokio_driver, netproto_tokio);
async_driver!(async_io_driver, netproto_async_std);

fn serve<P>(args: &Args, protocol: P) -> Result<(), String>
where
    P: netproto_core::Protocol<Sent = [u8], Received = bytes::Bytes>,
{
    let options = options(args)?;
    let served = match args.driver.as_str() {
        "sync" => sync::run(protocol, options),
        "tokio" => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("tokio runtime: {e}"))?
            .block_on(tokio_driver::run(protocol, options)),
        "async-std" => async_std::task::block_on(async_io_driver::run(protocol, options)),
        other => return Err(format!("unknown driver {other:?}")),
    };
    say(&format!("served {served:?}"));
    served.map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    let outcome = parse().and_then(|args| {
        if let Some(limit) = args.nofile {
            let limit = rustix::process::Rlimit {
                current: Some(limit),
                maximum: Some(limit),
            };
            rustix::process::setrlimit(rustix::process::Resource::Nofile, limit)
                .map_err(|e| format!("setrlimit: {e}"))?;
        }
        if args.frames {
            let frames: Frames = StreamProtocol::new(LengthPrefix::u32_be(), BytesSerializer);
            serve(&args, frames)
        } else {
            let lines: Lines = StreamProtocol::new(Delimiter::lf(), BytesSerializer);
            serve(&args, lines)
        }
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("hostile-server: {err}");
            ExitCode::FAILURE
        }
    }
}
