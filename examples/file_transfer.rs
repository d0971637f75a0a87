//! # file_transfer — send a file: name, 8-byte size, contents; stored and confirmed
//!
//! The client sends the file's name and a newline, its size as an 8-byte
//! big-endian integer, then its contents in 64 KiB pieces. The server
//! stores it under its directory and answers with one line giving the size
//! it stored and a checksum (64-bit FNV-1a, computed on the fly), which the
//! client compares with its own. Both show a progress bar for files of
//! 1 MiB or more.
//!
//! ```text
//! cargo run --example file_transfer -- server                       # localhost:9000, into ./received
//! cargo run --example file_transfer -- server --dir /tmp/inbox --once 127.0.0.1:9000
//! cargo run --example file_transfer -- client Cargo.toml            # to localhost:9000
//! cargo run --example file_transfer -- client big.iso 192.168.1.20:9000
//! ```
//!
//! What it shows: a byte-stream protocol with the [`Raw`] framer — the
//! client streams a file of any size without holding it in memory, the
//! server reads a small header and then counts the contents as they come;
//! `send_packet` returns only once a piece is handed to the kernel, so a
//! slow receiver slows the sender down instead of filling its memory. The
//! server only takes a plain file name (no directories, no `..`) and writes
//! to `NAME.part` until the last byte has arrived.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use netproto::StreamProtocol;
use netproto::framing::Raw;
use netproto::serializer::BytesSerializer;
use netproto::sync::{Connection, Error, ServerOptions, TcpClient, TcpServer};

/// Bytes as they come: no framing, the example reads its own header.
type ByteStream = StreamProtocol<Raw, BytesSerializer>;

/// The longest file name the server accepts, in bytes.
const MAX_NAME: usize = 255;
/// The size of the pieces the client sends.
const PIECE: usize = 64 * 1024;
/// Files this large get a progress bar.
const LARGE: u64 = 1024 * 1024;

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
            eprintln!("file_transfer: {err}");
            ExitCode::FAILURE
        }
    }
}

const USAGE: &str = "usage: file_transfer server [--dir DIR] [--once] [ADDRESS]\n       \
                     file_transfer client FILE [ADDRESS]";

/// `server [--dir DIR] [--once] [ADDRESS]` or `client FILE [ADDRESS]`.
pub fn run(args: Vec<String>, out: Out) -> Result<(), BoxError> {
    let mut args = args.into_iter();
    let mode = args.next().ok_or(USAGE)?;
    let mut address = "localhost:9000".to_owned();
    match mode.as_str() {
        "server" => {
            let mut dir = PathBuf::from("received");
            let mut once = false;
            while let Some(arg) = args.next() {
                match arg.as_str() {
                    "--dir" => dir = args.next().ok_or(USAGE)?.into(),
                    "--once" => once = true,
                    flag if flag.starts_with('-') => {
                        return Err(format!("unknown option {flag}\n{USAGE}").into());
                    }
                    _ => address = arg,
                }
            }
            server(&address, dir, once, out)
        }
        "client" => {
            let file = args.next().ok_or(USAGE)?;
            if let Some(arg) = args.next() {
                address = arg;
            }
            client(Path::new(&file), &address, out)
        }
        _ => Err(USAGE.into()),
    }
}

// ---------------------------------------------------------------- server

fn server(address: &str, dir: PathBuf, once: bool, out: Out) -> Result<(), BoxError> {
    std::fs::create_dir_all(&dir)?;
    let server = TcpServer::bind(
        address,
        ByteStream::default(),
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
    say!(out, "storing files in {}", dir.display());
    if once {
        receive(server.accept()?, &dir, &out);
    } else {
        server.serve(move |connection| receive(connection, &dir, &out))?;
    }
    Ok(())
}

/// Receive one file, store it, and confirm (or explain what went wrong).
fn receive(connection: Connection<ByteStream>, dir: &Path, out: &Out) {
    let peer = connection.peer_addr();
    say!(out, "connection from {peer}");
    let answer = match store(&connection, dir, out) {
        Ok((name, size, checksum)) => {
            say!(out, "stored {name} ({size} bytes) from {peer}");
            format!("stored {name}: {size} bytes, fnv1a64 {checksum:016x}\n")
        }
        Err(err) => {
            say!(out, "transfer from {peer} failed: {err}");
            format!("error: {err}\n")
        }
    };
    if connection.send_packet(answer.as_bytes()).is_ok() {
        // Let the client read the answer and close first.
        let _ = connection.recv_packet_timeout(Duration::from_secs(5));
    }
    let _ = connection.close();
}

/// Read the header and the contents into `dir`; the name, size and checksum.
fn store(
    connection: &Connection<ByteStream>,
    dir: &Path,
    out: &Out,
) -> Result<(String, u64, u64), BoxError> {
    let (name, size, mut first) = read_header(connection)?;
    say!(out, "receiving {name} ({size} bytes)");
    let path = dir.join(&name);
    let partial = dir.join(format!("{name}.part"));
    let mut file = File::create(&partial)?;
    let mut checksum = Fnv1a::new();
    let mut progress = Progress::new(size, out);
    let mut received = 0u64;
    while received < size {
        let piece = if first.is_empty() {
            connection.recv_packet()?.to_vec()
        } else {
            std::mem::take(&mut first)
        };
        received += piece.len() as u64;
        if received > size {
            return Err(format!("more than the announced {size} bytes").into());
        }
        file.write_all(&piece)?;
        checksum.update(&piece);
        progress.show(received);
    }
    file.sync_all()?;
    std::fs::rename(&partial, &path)?;
    Ok((name, size, checksum.value()))
}

/// The file name up to `\n`, then the size as 8 big-endian bytes; also the
/// first bytes of the contents when they came in the same piece.
fn read_header(connection: &Connection<ByteStream>) -> Result<(String, u64, Vec<u8>), BoxError> {
    let mut pending = Vec::new();
    loop {
        if let Some(end) = pending.iter().position(|&byte| byte == b'\n') {
            if pending.len() >= end + 1 + 8 {
                let name = String::from_utf8(pending[..end].to_vec())?;
                let size = u64::from_be_bytes(pending[end + 1..end + 9].try_into()?);
                check_name(&name)?;
                return Ok((name, size, pending.split_off(end + 9)));
            }
        } else if pending.len() > MAX_NAME {
            return Err(format!("no file name within {MAX_NAME} bytes").into());
        }
        match connection.recv_packet() {
            Ok(piece) => pending.extend_from_slice(&piece),
            Err(Error::ConnectionClosed { .. }) => {
                return Err("the client left before sending a header".into());
            }
            Err(err) => return Err(err.into()),
        }
    }
}

/// Only a plain file name: nothing that leaves the directory.
fn check_name(name: &str) -> Result<(), BoxError> {
    let plain = Path::new(name).file_name().and_then(|n| n.to_str()) == Some(name);
    if plain && name != "." && name != ".." && !name.contains(['/', '\\']) {
        Ok(())
    } else {
        Err(format!("refusing file name {name:?}").into())
    }
}

// ---------------------------------------------------------------- client

fn client(path: &Path, address: &str, out: Out) -> Result<(), BoxError> {
    let mut file =
        File::open(path).map_err(|err| format!("cannot open {}: {err}", path.display()))?;
    let size = file.metadata()?.len();
    let name = path
        .file_name()
        .and_then(|name| name.to_str())
        .ok_or_else(|| format!("{} has no usable file name", path.display()))?;

    say!(out, "connecting to {address}");
    let client = TcpClient::connect(address, ByteStream::default())?;
    say!(
        out,
        "sending {name} ({size} bytes) to {}",
        client.peer_addr()
    );

    // The header: name, newline, size as 8 big-endian bytes.
    let mut header = format!("{name}\n").into_bytes();
    header.extend_from_slice(&size.to_be_bytes());
    client.send_packet(&header)?;

    // The contents, piece by piece; each send returns once the kernel has it.
    let mut checksum = Fnv1a::new();
    let mut progress = Progress::new(size, &out);
    let mut buffer = vec![0; PIECE];
    let mut sent = 0u64;
    while sent < size {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            return Err(format!("{} shrank while it was being sent", path.display()).into());
        }
        client.send_packet(&buffer[..n])?;
        checksum.update(&buffer[..n]);
        sent += n as u64;
        progress.show(sent);
    }

    // The server's answer: one line.
    let mut answer = Vec::new();
    while !answer.ends_with(b"\n") {
        answer.extend_from_slice(&client.recv_packet_timeout(Duration::from_secs(30))?);
    }
    let answer = String::from_utf8_lossy(&answer);
    let answer = answer.trim_end();
    say!(out, "server: {answer}");
    client.close()?;

    let expected = format!(
        "stored {name}: {size} bytes, fnv1a64 {:016x}",
        checksum.value()
    );
    if answer == expected {
        say!(out, "checksums match");
        Ok(())
    } else {
        Err(format!("the server stored something else (expected {expected:?})").into())
    }
}

// ---------------------------------------------------------------- helpers

/// 64-bit FNV-1a: a tiny checksum, good enough to catch a corrupted or
/// truncated transfer (use SHA-256 where an attacker could choose the
/// contents).
struct Fnv1a(u64);

impl Fnv1a {
    fn new() -> Self {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }

    fn update(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn value(&self) -> u64 {
        self.0
    }
}

/// A one-line progress bar, redrawn in place, for large files only.
struct Progress<'a> {
    total: u64,
    shown: Option<u64>,
    out: &'a Out,
}

impl<'a> Progress<'a> {
    fn new(total: u64, out: &'a Out) -> Self {
        Progress {
            total,
            shown: None,
            out,
        }
    }

    fn show(&mut self, done: u64) {
        if self.total < LARGE {
            return;
        }
        let percent = done * 100 / self.total;
        if self.shown == Some(percent) {
            return;
        }
        self.shown = Some(percent);
        let filled = (percent / 5) as usize;
        let mut out = self.out.lock().unwrap();
        let _ = write!(
            out,
            "\r[{}{}] {percent:3}% {:.1}/{:.1} MiB",
            "#".repeat(filled),
            "-".repeat(20 - filled),
            done as f64 / LARGE as f64,
            self.total as f64 / LARGE as f64,
        );
        if done >= self.total {
            let _ = writeln!(out);
        }
        let _ = out.flush();
    }
}
