//! Peers on loopback built on `std::net` threads, some deliberately bad:
//! they drip bytes, reset mid-frame, send garbage, half-close, never read.
//!
//! A peer is a script (a closure) run on its own thread over a
//! [`PeerStream`] — plain, or TLS through rustls' own blocking stream, over
//! TCP or (with [`PeerOn`]) any [`Family`]'s std socket — so it does not
//! depend on the driver under test.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use netproto_core::addr::Tcp;
use netproto_core::tls::rustls::pki_types::ServerName;
use netproto_core::tls::rustls::{self, ClientConnection, ServerConnection, StreamOwned};
use netproto_socket::SocketOptions;

use crate::Transport;
use crate::certs::test_certs;
use crate::family::{Family, StdStream};

/// One end of a connection over the std stream `S` (TCP unless said
/// otherwise), plain or TLS.
#[derive(Debug)]
pub enum PeerStream<S: StdStream = TcpStream> {
    /// Plain.
    Plain(S),
    /// The server side of a TLS connection.
    TlsServer(Box<StreamOwned<ServerConnection, S>>),
    /// The client side of a TLS connection.
    TlsClient(Box<StreamOwned<ClientConnection, S>>),
}

fn handshake<D: rustls::SideData>(
    conn: &mut rustls::ConnectionCommon<D>,
    sock: &mut impl StdStream,
) -> io::Result<()> {
    while conn.is_handshaking() {
        if let Err(err) = conn.complete_io(sock) {
            // The handshake is done and what failed is writing what it
            // left (TLS 1.3 session tickets) to a client that already
            // left (a Unix socket says so at once): not a peer failure.
            if conn.is_handshaking() {
                return Err(err);
            }
        }
    }
    // Flush what the handshake left (TLS 1.3 session tickets). A client
    // that already left is the case's business, not a peer failure.
    while conn.wants_write() {
        if conn.write_tls(sock).is_err() {
            break;
        }
    }
    Ok(())
}

impl PeerStream<TcpStream> {
    /// Connect to `addr` (a server under test), with TLS when `transport`
    /// says so (server name `localhost`, trusting the test CA).
    pub fn connect(addr: SocketAddr, transport: Transport) -> io::Result<Self> {
        Self::dial::<Tcp>(&addr, transport)
    }

    /// The TCP socket underneath.
    pub fn tcp(&self) -> &TcpStream {
        self.sock()
    }

    /// Drop the connection with a TCP reset (SO_LINGER 0).
    pub fn reset(self) {
        let _ = SocketOptions::new(self.tcp()).set_linger(Some(Duration::ZERO));
        drop(self);
    }
}

impl<S: StdStream> PeerStream<S> {
    /// Accept-side setup: wrap `tcp` in TLS (and finish the handshake) when
    /// `transport` says so.
    pub fn server(tcp: S, transport: Transport) -> io::Result<Self> {
        match transport {
            Transport::Plain => Ok(PeerStream::Plain(tcp)),
            Transport::Tls => Self::tls_server(tcp, test_certs().rustls_server_config()),
        }
    }

    /// Accept-side TLS with `config`, handshake included.
    pub fn tls_server(mut tcp: S, config: Arc<rustls::ServerConfig>) -> io::Result<Self> {
        let mut conn = ServerConnection::new(config).map_err(io::Error::other)?;
        handshake(&mut conn, &mut tcp)?;
        Ok(PeerStream::TlsServer(Box::new(StreamOwned::new(conn, tcp))))
    }

    /// Connect to `addr` of family `F` (a server under test), with TLS
    /// when `transport` says so (server name `localhost`, trusting the
    /// test CA).
    pub fn dial<F: Family<Stream = S>>(addr: &F::Addr, transport: Transport) -> io::Result<Self> {
        Self::connect_over(F::connect(addr)?, transport)
    }

    /// The client side over a connected `tcp`, with TLS when `transport`
    /// says so (as [`connect`](PeerStream::connect)).
    pub fn connect_over(mut tcp: S, transport: Transport) -> io::Result<Self> {
        match transport {
            Transport::Plain => Ok(PeerStream::Plain(tcp)),
            Transport::Tls => {
                let name = ServerName::try_from("localhost").expect("valid name");
                let mut conn = ClientConnection::new(test_certs().rustls_client_config(), name)
                    .map_err(io::Error::other)?;
                handshake(&mut conn, &mut tcp)?;
                Ok(PeerStream::TlsClient(Box::new(StreamOwned::new(conn, tcp))))
            }
        }
    }

    /// The socket underneath.
    pub fn sock(&self) -> &S {
        match self {
            PeerStream::Plain(tcp) => tcp,
            PeerStream::TlsServer(s) => &s.sock,
            PeerStream::TlsClient(s) => &s.sock,
        }
    }

    /// Write all of `bytes` and flush them to the socket.
    pub fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.write_all(bytes)?;
        self.flush()
    }

    /// Write `bytes` one byte per write (one TLS record per byte), pausing
    /// `pause` between writes.
    pub fn drip(&mut self, bytes: &[u8], pause: Duration) -> io::Result<()> {
        for byte in bytes {
            self.send(std::slice::from_ref(byte))?;
            std::thread::sleep(pause);
        }
        Ok(())
    }

    /// Close the write half cleanly: TLS close_notify, then TCP FIN.
    pub fn shutdown_write(&mut self) -> io::Result<()> {
        match self {
            PeerStream::Plain(_) => {}
            PeerStream::TlsServer(s) => {
                s.conn.send_close_notify();
                s.flush()?;
            }
            PeerStream::TlsClient(s) => {
                s.conn.send_close_notify();
                s.flush()?;
            }
        }
        self.sock().shutdown(Shutdown::Write)
    }

    /// Close the write half without TLS close_notify (a truncation
    /// attack, or a crashed peer).
    pub fn shutdown_write_without_close_notify(&mut self) -> io::Result<()> {
        self.sock().shutdown(Shutdown::Write)
    }

    /// Read until EOF (TLS: close_notify or TCP FIN) or an error; returns
    /// what was read.
    pub fn read_until_eof(&mut self) -> Vec<u8> {
        let mut all = Vec::new();
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match self.read(&mut chunk) {
                Ok(0) | Err(_) => return all,
                Ok(n) => all.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// Read exactly `n` bytes.
    pub fn read_n(&mut self, n: usize) -> io::Result<Vec<u8>> {
        let mut buf = vec![0; n];
        self.read_exact(&mut buf)?;
        Ok(buf)
    }

    /// Read until `delimiter` has been seen `count` times.
    pub fn read_lines(&mut self, count: usize) -> io::Result<Vec<u8>> {
        let mut all = Vec::new();
        let mut byte = [0u8; 1];
        let mut seen = 0;
        while seen < count {
            if self.read(&mut byte)? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            all.push(byte[0]);
            if byte[0] == b'\n' {
                seen += 1;
            }
        }
        Ok(all)
    }

    /// Echo everything back until EOF, then close the write half cleanly
    /// (a client that resets or vanishes simply ends the echo).
    pub fn echo(mut self) -> io::Result<()> {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            let n = match self.read(&mut chunk) {
                Ok(n) => n,
                // A TLS peer that closed without close_notify, or a reset.
                Err(_) => return Ok(()),
            };
            if n == 0 {
                // The client may be gone altogether by now.
                let _ = self.shutdown_write();
                return Ok(());
            }
            if self.send(&chunk[..n]).is_err() {
                return Ok(());
            }
        }
    }
}

impl<S: StdStream> Read for PeerStream<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            PeerStream::Plain(s) => s.read(buf),
            PeerStream::TlsServer(s) => s.read(buf),
            PeerStream::TlsClient(s) => s.read(buf),
        }
    }
}

impl<S: StdStream> Write for PeerStream<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            PeerStream::Plain(s) => s.write(buf),
            PeerStream::TlsServer(s) => s.write(buf),
            PeerStream::TlsClient(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            PeerStream::Plain(s) => s.flush(),
            PeerStream::TlsServer(s) => s.flush(),
            PeerStream::TlsClient(s) => s.flush(),
        }
    }
}

/// A one-connection server of family `F` (at a fresh loopback port or
/// socket path) running a script on its own thread.
#[derive(Debug)]
pub struct PeerOn<F: Family, T> {
    addr: F::Addr,
    thread: JoinHandle<io::Result<T>>,
}

/// [`PeerOn`] over TCP on `127.0.0.1`.
pub type Peer<T> = PeerOn<Tcp, T>;

impl<F: Family, T: Send + 'static> PeerOn<F, T> {
    /// Listen at a fresh address; accept one connection, set it up for
    /// `transport` (TLS handshake included) and run `script` on it.
    pub fn spawn(
        transport: Transport,
        script: impl FnOnce(PeerStream<F::Stream>) -> io::Result<T> + Send + 'static,
    ) -> Self {
        Self::spawn_raw(move |listener| {
            let stream = F::accept(&listener)?;
            script(PeerStream::server(stream, transport)?)
        })
    }

    /// Listen at a fresh address and run `script` with the listener.
    pub fn spawn_raw(script: impl FnOnce(F::Listener) -> io::Result<T> + Send + 'static) -> Self {
        let (listener, addr) = F::listen().expect("listen at a fresh address");
        let thread = std::thread::Builder::new()
            .name("misbehaving-peer".into())
            .spawn(move || script(listener))
            .expect("spawn the peer thread");
        PeerOn { addr, thread }
    }

    /// The address clients connect to.
    pub fn addr(&self) -> F::Addr {
        self.addr.clone()
    }

    /// [`addr`](PeerOn::addr) as what a driver's client connects to.
    pub fn address(&self) -> F::Target {
        F::target(&self.addr)
    }

    /// Wait for the script to end and return its result (panics if it
    /// failed).
    pub fn join(self) -> T {
        match self.thread.join() {
            Ok(Ok(value)) => value,
            Ok(Err(err)) => panic!("peer script failed: {err}"),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}
