//! Socket plumbing shared by netproto's drivers, built on socket2 and free of
//! any runtime.
//!
//! * [`SocketOptions`] — TCP options of a connected socket (nodelay,
//!   keep-alive, linger, buffer sizes, TTL) and [`SocketOptions::sock_ref`]
//!   as the raw escape hatch. It works on anything that exposes its file
//!   descriptor (or Windows socket): `std::net::TcpStream`, tokio's and
//!   async-io's streams alike.
//! * [`listener`] — listening sockets with a backlog and `SO_REUSEADDR`,
//!   handed back as `std::net::TcpListener` for any runtime to adopt.
//! * [`connect`] — name resolution, the errors a connection attempt maps to,
//!   and the retry schedule ([`connect::ConnectAttempts`]) every driver
//!   follows.
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
//! assert_eq!(socket.keepalive()?, Some(Duration::from_secs(60)));
//! # Ok::<(), std::io::Error>(())
//! ```

use std::io;
use std::net::{Shutdown, SocketAddr};
use std::time::Duration;

pub use socket2;
use socket2::{SockRef, TcpKeepalive};

use netproto_core::Error;
use netproto_core::endpoint::ConnectionSetup;
use netproto_core::options::ClientOptions;

pub mod connect;
pub mod listener;

/// Whether [`stop_reading`] wakes a task that waits in the reactor for the
/// socket to become readable: epoll and kqueue report a shut-down read half
/// as readable. Where it holds, the async drivers' readable wait (made once
/// per packet by request/response traffic) needs no registration with the
/// close signal, because every driver's `close` starts with
/// [`stop_reading`].
pub const STOP_READING_WAKES_READERS: bool = cfg!(unix);

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
    pub fn keepalive(&self) -> io::Result<Option<Duration>> {
        if !self.sock.keepalive()? {
            return Ok(None);
        }
        #[cfg(any(unix, windows))]
        {
            self.sock.tcp_keepalive_time().map(Some)
        }
        #[cfg(not(any(unix, windows)))]
        {
            Ok(Some(Duration::ZERO))
        }
    }

    /// Turn keep-alive on with this idle time before the first probe, or off
    /// with `None`.
    pub fn set_keepalive(&self, idle: Option<Duration>) -> io::Result<()> {
        match idle {
            Some(idle) => self
                .sock
                .set_tcp_keepalive(&TcpKeepalive::new().with_time(idle)),
            None => self.sock.set_keepalive(false),
        }
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
    pub fn prepare(&self, setup: &ConnectionSetup) -> Result<(SocketAddr, SocketAddr), Error> {
        let peer = socket_addr(self.sock.peer_addr())
            .map_err(|source| Error::Io { peer: None, source })?;
        let local = socket_addr(self.sock.local_addr()).map_err(|err| Error::from_io(err, peer))?;
        self.apply(setup.nodelay(), setup.keepalive())
            .map_err(|err| Error::from_io(err, peer))?;
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
fn socket_addr(addr: io::Result<socket2::SockAddr>) -> io::Result<SocketAddr> {
    addr?
        .as_socket()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not an IP socket"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{TcpListener, TcpStream};

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
        assert_eq!(socket.keepalive().unwrap(), Some(Duration::from_secs(42)));
        socket.set_keepalive(None).unwrap();
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
            (server.local_addr().unwrap(), client.local_addr().unwrap())
        );
        let socket = SocketOptions::new(&client);
        assert!(socket.nodelay().unwrap());
        assert_eq!(socket.keepalive().unwrap(), Some(Duration::from_secs(30)));

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
        assert_eq!(socket.keepalive().unwrap(), Some(Duration::from_secs(30)));
    }
}
