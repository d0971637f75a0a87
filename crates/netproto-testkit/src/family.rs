//! The stream transports the suite runs over: TCP on loopback and, on
//! Unix, `AF_UNIX` stream sockets at fresh paths.
//!
//! A [`Driver`](crate::Driver) names its transport with
//! [`Driver::Family`](crate::Driver::Family); the cases that are not about
//! TCP itself take their addresses, std peers and TLS options from it, so
//! one case runs unchanged over either transport.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use netproto_core::addr::{StreamFamily, Tcp};
use netproto_core::options::{Address, ClientOptions, IntoAddress};
use netproto_socket::socket2::SockAddr;

use crate::Transport;

/// A std stream socket a misbehaving peer writes to: `TcpStream` or
/// `UnixStream`.
pub trait StdStream: Read + Write + Send + Sync + fmt::Debug + 'static {
    /// `shutdown(how)`.
    fn shutdown(&self, how: Shutdown) -> io::Result<()>;

    /// `set_read_timeout(timeout)`.
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;
}

impl StdStream for TcpStream {
    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        TcpStream::shutdown(self, how)
    }

    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_read_timeout(self, timeout)
    }
}

/// A stream transport as the suite uses it: the driver's address type
/// (from [`StreamFamily`]), what clients connect to, and std sockets for
/// the hand-made peers.
pub trait Family: StreamFamily<Addr: Eq + std::hash::Hash> {
    /// `"tcp"` or `"unix"`, for messages.
    const NAME: &'static str;

    /// What a client connects to and a server binds: an [`Address`] (host
    /// and port) for TCP, a `UnixAddr` for Unix sockets.
    type Target: Clone + fmt::Display + fmt::Debug + Send + Sync + 'static;

    /// The std stream (`TcpStream`, `UnixStream`).
    type Stream: StdStream;

    /// The std listener a hand-made peer accepts on.
    type Listener: Send + 'static;

    /// A fresh address for a server under test to bind: `127.0.0.1:0`, or
    /// a new socket path.
    fn bindable() -> Self::Target;

    /// The target that reaches a server bound at `addr`.
    fn target(addr: &Self::Addr) -> Self::Target;

    /// A std listener at a fresh address, and that address.
    fn listen() -> io::Result<(Self::Listener, Self::Addr)>;

    /// Accept one connection on `listener`.
    fn accept(listener: &Self::Listener) -> io::Result<Self::Stream>;

    /// A std client connected to `addr`.
    fn connect(addr: &Self::Addr) -> io::Result<Self::Stream>;

    /// The local address of a std stream.
    fn local_addr(stream: &Self::Stream) -> Self::Addr;

    /// A socket address as read from a driver's listening socket.
    fn from_sock_addr(addr: &SockAddr) -> Self::Addr;

    /// Client options for `transport` over this family: TLS trusts the
    /// test CA and expects the certificate for `localhost`.
    fn client_options(transport: Transport) -> ClientOptions {
        transport.client_options()
    }
}

impl Family for Tcp {
    const NAME: &'static str = "tcp";
    type Target = Address;
    type Stream = TcpStream;
    type Listener = TcpListener;

    fn bindable() -> Address {
        "127.0.0.1:0".into_address().expect("a loopback address")
    }

    fn target(addr: &SocketAddr) -> Address {
        addr.into_address().expect("a socket address converts")
    }

    fn listen() -> io::Result<(TcpListener, SocketAddr)> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        Ok((listener, addr))
    }

    fn accept(listener: &TcpListener) -> io::Result<TcpStream> {
        let (tcp, _) = listener.accept()?;
        tcp.set_nodelay(true)?;
        Ok(tcp)
    }

    fn connect(addr: &SocketAddr) -> io::Result<TcpStream> {
        let tcp = TcpStream::connect_timeout(addr, Duration::from_secs(10))?;
        tcp.set_nodelay(true)?;
        Ok(tcp)
    }

    fn local_addr(stream: &TcpStream) -> SocketAddr {
        stream.local_addr().expect("a TCP stream's local address")
    }

    fn from_sock_addr(addr: &SockAddr) -> SocketAddr {
        addr.as_socket().expect("a TCP socket's address")
    }
}

#[cfg(unix)]
mod unix {
    use std::io;
    use std::net::Shutdown;
    use std::os::unix::net::{UnixListener, UnixStream};
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use netproto_core::addr::{Unix, UnixAddr};
    use netproto_core::options::ClientOptions;
    use netproto_socket::socket2::SockAddr;

    use super::{Family, StdStream};
    use crate::Transport;
    use crate::certs::test_certs;

    impl StdStream for UnixStream {
        fn shutdown(&self, how: Shutdown) -> io::Result<()> {
            UnixStream::shutdown(self, how)
        }

        fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
            UnixStream::set_read_timeout(self, timeout)
        }
    }

    /// A fresh socket path in a directory of this process (short enough
    /// for `sun_path` wherever the temporary directory is).
    pub fn socket_path(name: &str) -> PathBuf {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!("np-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create the socket directory");
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!("{n}-{name}"));
        let _ = std::fs::remove_file(&path);
        path
    }

    /// A std Unix listener that removes its socket file when dropped.
    #[derive(Debug)]
    pub struct PathListener {
        listener: UnixListener,
        path: PathBuf,
    }

    impl Drop for PathListener {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.path);
        }
    }

    impl Family for Unix {
        const NAME: &'static str = "unix";
        type Target = UnixAddr;
        type Stream = UnixStream;
        type Listener = PathListener;

        fn bindable() -> UnixAddr {
            UnixAddr::path(socket_path("server.sock"))
        }

        fn target(addr: &UnixAddr) -> UnixAddr {
            addr.clone()
        }

        fn listen() -> io::Result<(PathListener, UnixAddr)> {
            let path = socket_path("peer.sock");
            let listener = UnixListener::bind(&path)?;
            let addr = UnixAddr::path(&path);
            Ok((PathListener { listener, path }, addr))
        }

        fn accept(listener: &PathListener) -> io::Result<UnixStream> {
            listener.listener.accept().map(|(stream, _)| stream)
        }

        fn connect(addr: &UnixAddr) -> io::Result<UnixStream> {
            match addr {
                UnixAddr::Path(path) => UnixStream::connect(path),
                other => Err(io::Error::other(format!(
                    "the suite's std peers connect to paths, not {other}"
                ))),
            }
        }

        fn local_addr(stream: &UnixStream) -> UnixAddr {
            UnixAddr::from(stream.local_addr().expect("a Unix stream's local address"))
        }

        fn from_sock_addr(addr: &SockAddr) -> UnixAddr {
            netproto_socket::unix::unix_addr(addr)
        }

        /// A path is no host name: TLS names the certificate to expect.
        fn client_options(transport: Transport) -> ClientOptions {
            match transport {
                Transport::Plain => ClientOptions::default(),
                Transport::Tls => ClientOptions::default()
                    .tls(test_certs().client_config().server_name("localhost")),
            }
        }
    }
}

#[cfg(unix)]
pub use unix::{PathListener, socket_path};
