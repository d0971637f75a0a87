//! Socket plumbing shared by netproto's drivers, built on socket2 and free of
//! any runtime.
//!
//! **A driver-support crate.** Like `netproto_core::driver`, it is public
//! so that the drivers, which are separate crates, can use it: it is
//! versioned with them (it changes only in a release that is breaking for
//! Cargo) but follows what they need, with no deprecation period. Users do
//! not depend on it: the few types they meet — [`SocketOptions`] (from a
//! client's or connection's `socket()`),
//! [`datagram::DatagramSocketOptions`] (a UDP client's or endpoint's) and,
//! on Unix, `unix::PeerCredentials` — are re-exported by every driver
//! (`netproto::sync::SocketOptions`, ...).
//!
//! * [`SocketOptions`] — TCP options of a connected socket (nodelay,
//!   keep-alive, linger, buffer sizes, TTL) and [`SocketOptions::sock_ref`]
//!   as the raw escape hatch. It works on anything that exposes its file
//!   descriptor (or Windows socket): `std::net::TcpStream`, tokio's and
//!   async-io's streams alike.
//! * [`listener`] — listening sockets with a backlog and `SO_REUSEADDR`,
//!   handed back as `std::net::TcpListener` for any runtime to adopt.
//! * [`datagram`] — UDP sockets, bound or connected, and their options
//!   ([`datagram::DatagramSocketOptions`]: broadcast, TTL, multicast,
//!   buffer sizes).
//! * [`connect`] — name resolution, the errors a connection attempt maps to,
//!   and the retry schedule ([`connect::ConnectAttempts`]) every driver
//!   follows; [`race`] — racing a host's addresses (Happy Eyeballs v2).
//! * `unix` (Unix only) — Unix stream sockets: connecting, binding under
//!   the socket-file rules, peer credentials.
//!
//! ```
//! use std::net::{TcpListener, TcpStream};
//! use std::time::Duration;
//! use netproto_socket::SocketOptions;
//!
//! let listener = TcpListener::bind("127.0.0.1:0")?;
//! let stream = TcpStream::connect(listener.local_addr()?)?;
//! let socket = SocketOptions::new(&stream);
//! socket.set_nodelay(true)?;
//! socket.set_keepalive(Some(Duration::from_secs(60)))?;
//! assert!(socket.nodelay()?);
//! assert!(socket.keepalive_enabled()?);
//! if netproto_socket::KEEPALIVE_IDLE_READABLE {
//!     // Not on Windows: see "Platforms" below.
//!     assert_eq!(socket.keepalive()?, Some(Duration::from_secs(60)));
//! }
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # Platforms
//!
//! Every option here can be set on Linux, macOS and Windows, and every one
//! can be read back, with one exception: the keep-alive idle time cannot be
//! read on Windows (it is set with `SIO_KEEPALIVE_VALS`, which cannot be
//! read, and socket2 offers no other way) nor on OpenBSD and Haiku, so
//! there [`SocketOptions::keepalive`] returns an error of kind
//! [`io::ErrorKind::Unsupported`] while keep-alive is on
//! ([`KEEPALIVE_IDLE_READABLE`] says which case applies;
//! [`SocketOptions::keepalive_enabled`] works everywhere). Whether shutting
//! the read half down wakes waiting readers differs too: see
//! [`STOP_READING_WAKES_READERS`].
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

use std::io;
use std::net::{Shutdown, SocketAddr};
use std::time::Duration;

pub use socket2;
use socket2::{SockRef, TcpKeepalive};

use netproto_core::Error;
use netproto_core::addr::PeerAddr;
use netproto_core::driver::endpoint::ConnectionSetup;
use netproto_core::options::ClientOptions;

pub mod connect;
pub mod datagram;
pub mod listener;
pub mod race;
#[cfg(unix)]
#[cfg_attr(docsrs, doc(cfg(unix)))]
pub mod unix;

/// Whether [`stop_reading`] wakes a task that waits in the reactor for the
/// socket to become readable.
///
/// Where it holds, the async drivers' readable wait (made once per packet by
/// request/response traffic) needs no registration with the close signal,
/// because every driver's `close` starts with [`stop_reading`]. Where it
/// does not, the async drivers race every readable wait against the
/// connection's close signal instead, which costs one registration per
/// wait and behaves the same.
///
/// * Unix (`true`): epoll (Linux, Android, illumos) and kqueue (macOS, iOS,
///   the BSDs) report a socket whose read half is shut down as readable, so
///   the waiting task is woken by the reactor.
/// * Windows (`false`): the reactors of tokio (mio) and async-io (polling)
///   wait through AFD polls on an I/O completion port, and shutting the
///   receive side down (`SD_RECEIVE`) is not known to complete a pending
///   poll, so the close signal is used.
///
/// The blocking driver relies on the same shutdown to end a `recv` blocked
/// in another thread; Linux and macOS end it at once, Windows is not known
/// to (a receive there ends at its timeout or when data or the peer's
/// close arrives).
pub const STOP_READING_WAKES_READERS: bool = cfg!(unix);

/// Whether shutting the read half of a *datagram* socket down wakes a task
/// waiting in the reactor for it to become readable — connected or not,
/// UDP or Unix — as [`STOP_READING_WAKES_READERS`] says for streams.
///
/// * Linux and Android (`true`): `shutdown` on a datagram socket marks it
///   shut and wakes its waiters even when it is not connected (and then
///   returns `ENOTCONN`).
/// * Elsewhere (`false`): the BSDs and macOS refuse to shut an unconnected
///   socket down at all (`ENOTCONN`), and Windows is as for streams, so the
///   async drivers wake a datagram receiver with their close signal.
pub const DATAGRAM_STOP_READING_WAKES_READERS: bool =
    cfg!(any(target_os = "linux", target_os = "android"));

/// Whether the platform can read back the keep-alive idle time, that is
/// whether [`SocketOptions::keepalive`] can return `Some(idle)`: `true` on
/// Linux, macOS, the other BSDs and most Unix systems; `false` on Windows,
/// OpenBSD and Haiku (which can set the idle time, or ignore it, but not
/// read it), where `keepalive` fails with
/// [`io::ErrorKind::Unsupported`] while keep-alive is on.
pub const KEEPALIVE_IDLE_READABLE: bool = cfg!(not(any(
    windows,
    target_os = "haiku",
    target_os = "openbsd",
    target_os = "vita"
)));

/// The error of an operation the platform lacks: kind
/// [`io::ErrorKind::Unsupported`], saying `"{what} is unsupported on this
/// platform ({os})"`.
pub fn unsupported(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        format!(
            "{what} is unsupported on this platform ({})",
            std::env::consts::OS
        ),
    )
}

/// The first step of `close` in every driver: shut the socket's read half
/// down, which wakes a read blocked or waiting on it (the caller's loop then
/// sees its closed flag); the write half stays open for the final flush.
/// Errors are ignored: a socket whose peer is gone has no reader left to
/// wake.
pub fn stop_reading<'a, S>(socket: &'a S)
where
    SockRef<'a>: From<&'a S>,
{
    let _ = SockRef::from(socket).shutdown(Shutdown::Read);
}

/// TCP options of one connected socket, borrowed from the stream that owns
/// it.
///
/// Drivers return it from `client.socket()`; it can also be built directly
/// over any stream with [`SocketOptions::new`].
#[derive(Debug)]
pub struct SocketOptions<'a> {
    sock: SockRef<'a>,
}

impl<'a> SocketOptions<'a> {
    /// Options of `socket` (a std, tokio or async-io TCP stream, or anything
    /// else that exposes a socket's file descriptor / Windows socket).
    pub fn new<S>(socket: &'a S) -> Self
    where
        SockRef<'a>: From<&'a S>,
    {
        SocketOptions {
            sock: SockRef::from(socket),
        }
    }

    /// Options of the socket behind `sock`.
    pub fn from_sock_ref(sock: SockRef<'a>) -> Self {
        SocketOptions { sock }
    }

    /// The socket2 view of the socket, for any option not covered here
    /// (raw get/set).
    pub fn sock_ref(&self) -> &SockRef<'a> {
        &self.sock
    }

    /// Whether TCP_NODELAY is set (Nagle's algorithm off).
    pub fn nodelay(&self) -> io::Result<bool> {
        self.sock.tcp_nodelay()
    }

    /// Set TCP_NODELAY: `true` sends small packets at once.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.sock.set_tcp_nodelay(nodelay)
    }

    /// The keep-alive idle time, or `None` when keep-alive is off.
    ///
    /// Errors: kind [`io::ErrorKind::Unsupported`] while keep-alive is on
    /// where the platform cannot read the idle time back (Windows, OpenBSD,
    /// Haiku; see [`KEEPALIVE_IDLE_READABLE`]). [`keepalive_enabled`]
    /// answers whether it is on everywhere.
    ///
    /// [`keepalive_enabled`]: SocketOptions::keepalive_enabled
    pub fn keepalive(&self) -> io::Result<Option<Duration>> {
        if !self.keepalive_enabled()? {
            return Ok(None);
        }
        self.keepalive_idle().map(Some)
    }

    /// Whether keep-alive (SO_KEEPALIVE) is on; every platform can tell.
    pub fn keepalive_enabled(&self) -> io::Result<bool> {
        self.sock.keepalive()
    }

    #[cfg(not(any(
        windows,
        target_os = "haiku",
        target_os = "openbsd",
        target_os = "vita"
    )))]
    fn keepalive_idle(&self) -> io::Result<Duration> {
        self.sock.tcp_keepalive_time()
    }

    #[cfg(any(
        windows,
        target_os = "haiku",
        target_os = "openbsd",
        target_os = "vita"
    ))]
    fn keepalive_idle(&self) -> io::Result<Duration> {
        Err(unsupported("reading the TCP keep-alive idle time"))
    }

    /// Turn keep-alive on with this idle time before the first probe, or off
    /// with `None`. Every platform takes it: in whole seconds on Unix; in
    /// milliseconds on Windows, where one call sets the idle time and the
    /// probe interval together, so the interval is set to Windows' default
    /// of one second. OpenBSD and Haiku turn keep-alive on and keep their
    /// system-wide idle time.
    pub fn set_keepalive(&self, idle: Option<Duration>) -> io::Result<()> {
        let Some(idle) = idle else {
            return self.sock.set_keepalive(false);
        };
        let params = TcpKeepalive::new().with_time(idle);
        // SIO_KEEPALIVE_VALS takes both values; left out, the interval
        // would be sent as zero.
        #[cfg(windows)]
        let params = params.with_interval(Duration::from_secs(1));
        self.sock.set_tcp_keepalive(&params)
    }

    /// SO_LINGER: `None` when off.
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        self.sock.linger()
    }

    /// Set SO_LINGER. `Some(Duration::ZERO)` makes closing the socket send a
    /// reset instead of a clean FIN.
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        self.sock.set_linger(linger)
    }

    /// The kernel receive buffer size (SO_RCVBUF).
    pub fn recv_buffer_size(&self) -> io::Result<usize> {
        self.sock.recv_buffer_size()
    }

    /// Set the kernel receive buffer size (the kernel may round or double it).
    pub fn set_recv_buffer_size(&self, size: usize) -> io::Result<()> {
        self.sock.set_recv_buffer_size(size)
    }

    /// The kernel send buffer size (SO_SNDBUF).
    pub fn send_buffer_size(&self) -> io::Result<usize> {
        self.sock.send_buffer_size()
    }

    /// Set the kernel send buffer size (the kernel may round or double it).
    pub fn set_send_buffer_size(&self, size: usize) -> io::Result<()> {
        self.sock.set_send_buffer_size(size)
    }

    /// The IP time-to-live (IPv4 TTL, or IPv6 unicast hop limit).
    pub fn ttl(&self) -> io::Result<u32> {
        if self.is_ipv6()? {
            self.sock.unicast_hops_v6()
        } else {
            self.sock.ttl_v4()
        }
    }

    /// Set the IP time-to-live (IPv4 TTL, or IPv6 unicast hop limit).
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        if self.is_ipv6()? {
            self.sock.set_unicast_hops_v6(ttl)
        } else {
            self.sock.set_ttl_v4(ttl)
        }
    }

    /// Ready a connected socket for a new connection: its peer's and its
    /// own address, as `(peer, local)`, then TCP_NODELAY and keep-alive as
    /// `setup` asks (what every driver does first when it sets a connection
    /// up).
    ///
    /// Errors: [`Error::Io`] of kind `NotConnected` (naming no peer) for a
    /// socket that is not connected; any other failure names the peer.
    pub fn prepare(&self, setup: &ConnectionSetup) -> Result<(PeerAddr, PeerAddr), Error> {
        let peer = self
            .sock
            .peer_addr()
            .and_then(|addr| stream_addr(&addr))
            .map_err(|source| Error::Io { peer: None, source })?;
        let local = self
            .sock
            .local_addr()
            .and_then(|addr| stream_addr(&addr))
            .map_err(|err| Error::from_io(err, peer.clone()))?;
        // TCP options are for TCP; a Unix socket has none of them.
        if matches!(peer, PeerAddr::Inet(_)) {
            self.apply(setup.nodelay(), setup.keepalive())
                .map_err(|err| Error::from_io(err, peer.clone()))?;
        }
        Ok((peer, local))
    }

    /// Apply a client's TCP options: TCP_NODELAY and keep-alive.
    pub fn apply_client(&self, options: &ClientOptions) -> io::Result<()> {
        self.apply(options.nodelay, options.keepalive)
    }

    /// Apply TCP_NODELAY and keep-alive (as `ClientOptions` and
    /// `ServerOptions` carry them). Keep-alive is only touched when asked
    /// for.
    pub fn apply(&self, nodelay: bool, keepalive: Option<Duration>) -> io::Result<()> {
        self.set_nodelay(nodelay)?;
        if keepalive.is_some() {
            self.set_keepalive(keepalive)?;
        }
        Ok(())
    }

    fn is_ipv6(&self) -> io::Result<bool> {
        Ok(self
            .sock
            .local_addr()?
            .as_socket()
            .is_some_and(|addr: SocketAddr| addr.is_ipv6()))
    }
}

/// An IP socket address out of socket2's address.
/// The address of a TCP or UDP socket, or (on Unix) a Unix stream or
/// datagram socket; an error for any other kind.
pub fn stream_addr(addr: &socket2::SockAddr) -> io::Result<PeerAddr> {
    if let Some(inet) = addr.as_socket() {
        return Ok(PeerAddr::Inet(inet));
    }
    #[cfg(unix)]
    if addr.is_unix() {
        return Ok(PeerAddr::Unix(unix::unix_addr(addr)));
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        "not an IP or Unix socket",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{TcpListener, TcpStream};

    /// Keep-alive is on with `idle`, as far as the platform can tell:
    /// where the idle time cannot be read back, reading it is
    /// `Unsupported`.
    fn assert_keepalive(socket: &SocketOptions<'_>, idle: Duration) {
        assert!(socket.keepalive_enabled().unwrap());
        if KEEPALIVE_IDLE_READABLE {
            assert_eq!(socket.keepalive().unwrap(), Some(idle));
        } else {
            let err = socket.keepalive().unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::Unsupported);
            assert!(
                err.to_string().contains("unsupported on this platform"),
                "{err}"
            );
        }
    }

    fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        (client, server)
    }

    #[test]
    fn options_round_trip() {
        let (client, _server) = pair();
        let socket = SocketOptions::new(&client);
        socket.set_nodelay(false).unwrap();
        assert!(!socket.nodelay().unwrap());
        socket.set_nodelay(true).unwrap();
        assert!(socket.nodelay().unwrap());

        socket.set_keepalive(Some(Duration::from_secs(42))).unwrap();
        assert_keepalive(&socket, Duration::from_secs(42));
        socket.set_keepalive(None).unwrap();
        assert!(!socket.keepalive_enabled().unwrap());
        assert_eq!(socket.keepalive().unwrap(), None);

        socket.set_linger(Some(Duration::from_secs(3))).unwrap();
        assert_eq!(socket.linger().unwrap(), Some(Duration::from_secs(3)));
        socket.set_linger(None).unwrap();
        assert_eq!(socket.linger().unwrap(), None);

        socket.set_ttl(17).unwrap();
        assert_eq!(socket.ttl().unwrap(), 17);

        socket.set_recv_buffer_size(64 * 1024).unwrap();
        assert!(socket.recv_buffer_size().unwrap() >= 64 * 1024);
        socket.set_send_buffer_size(64 * 1024).unwrap();
        assert!(socket.send_buffer_size().unwrap() >= 64 * 1024);
    }

    #[test]
    fn unsupported_names_the_platform() {
        let err = unsupported("reading the TCP keep-alive idle time");
        assert_eq!(err.kind(), io::ErrorKind::Unsupported);
        assert_eq!(
            err.to_string(),
            format!(
                "reading the TCP keep-alive idle time is unsupported on this platform ({})",
                std::env::consts::OS
            )
        );
    }

    #[test]
    fn ipv6_ttl_uses_hop_limit() {
        let Ok(listener) = TcpListener::bind("[::1]:0") else {
            // No IPv6 loopback on this machine: nothing to check.
            return;
        };
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let socket = SocketOptions::new(&client);
        socket.set_ttl(9).unwrap();
        assert_eq!(socket.ttl().unwrap(), 9);
    }

    #[test]
    fn prepare_reads_addresses_and_applies_options() {
        let (client, server) = pair();
        let options = ClientOptions::default()
            .nodelay(true)
            .keepalive(Duration::from_secs(30));
        let setup = ConnectionSetup::client(&options, None);
        let (peer, local) = SocketOptions::new(&client).prepare(&setup).unwrap();
        assert_eq!(
            (peer, local),
            (
                server.local_addr().unwrap().into(),
                client.local_addr().unwrap().into()
            )
        );
        let socket = SocketOptions::new(&client);
        assert!(socket.nodelay().unwrap());
        assert_keepalive(&socket, Duration::from_secs(30));

        let unconnected: TcpStream =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)
                .unwrap()
                .into();
        let err = SocketOptions::new(&unconnected)
            .prepare(&setup)
            .unwrap_err();
        assert!(matches!(err, Error::Io { peer: None, .. }), "{err:?}");
        assert_eq!(err.io_kind(), io::ErrorKind::NotConnected);
    }

    #[test]
    fn apply_client_options() {
        let (client, _server) = pair();
        let socket = SocketOptions::new(&client);
        socket.set_nodelay(false).unwrap();
        let options = ClientOptions::default().keepalive(Duration::from_secs(30));
        socket.apply_client(&options).unwrap();
        assert!(socket.nodelay().unwrap());
        assert_keepalive(&socket, Duration::from_secs(30));
    }
}
