//! UDP sockets: creating them bound or connected, sending and receiving
//! with [`PeerAddr`]s, and their options
//! ([`DatagramSocketOptions`]: broadcast, TTL, multicast membership,
//! buffer sizes).
//!
//! ```
//! use std::net::Ipv4Addr;
//! use netproto_socket::datagram::{DatagramSocketOptions, bind_udp};
//!
//! let socket = bind_udp("127.0.0.1:0".parse().unwrap())?;
//! let options = DatagramSocketOptions::new(&socket);
//! options.set_broadcast(true)?;
//! assert!(options.broadcast()?);
//! options.set_multicast_ttl(4)?;
//! assert_eq!(options.multicast_ttl()?, 4);
//! # Ok::<(), std::io::Error>(())
//! ```

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};

use netproto_core::Error;
use netproto_core::addr::PeerAddr;
use netproto_core::options::Address;
use socket2::SockRef;

use crate::SocketOptions;
use crate::connect::connect_error;

/// A UDP socket bound to `addr` (port 0: a free port).
pub fn bind_udp(addr: SocketAddr) -> io::Result<UdpSocket> {
    UdpSocket::bind(addr)
}

/// A UDP socket connected to `remote`, bound first to `local` (`None`:
/// any address and a free port of `remote`'s family).
pub fn connect_udp(remote: SocketAddr, local: Option<SocketAddr>) -> io::Result<UdpSocket> {
    let local = local.unwrap_or_else(|| match remote {
        SocketAddr::V4(_) => SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)),
        SocketAddr::V6(_) => SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0)),
    });
    let socket = UdpSocket::bind(local)?;
    socket.connect(remote)?;
    Ok(socket)
}

/// A UDP socket connected to the first of `addrs` (what `target`
/// resolved to) that takes it, bound first to `local`. The error is the
/// last address's ([`connect_error`]), naming it.
pub fn connect_udp_any(
    target: &Address,
    addrs: Vec<SocketAddr>,
    local: Option<SocketAddr>,
) -> Result<UdpSocket, Error> {
    let mut last = None;
    for addr in addrs {
        match connect_udp(addr, local) {
            Ok(socket) => return Ok(socket),
            Err(err) => last = Some(connect_error(err, addr, target, None)),
        }
    }
    Err(last.unwrap_or_else(|| Error::Config(format!("no address for {target}"))))
}

/// A UDP socket bound to the first of `addrs` (what `target` resolved to)
/// that can be bound. Errors: [`Error::Io`] saying `cannot bind {addr}:
/// ...` for the last address tried.
pub fn bind_udp_any(target: &Address, addrs: Vec<SocketAddr>) -> Result<UdpSocket, Error> {
    let mut last = None;
    for addr in addrs {
        match bind_udp(addr) {
            Ok(socket) => return Ok(socket),
            Err(err) => {
                last = Some(Error::Io {
                    peer: None,
                    source: io::Error::new(err.kind(), format!("cannot bind {addr}: {err}")),
                })
            }
        }
    }
    Err(last.unwrap_or_else(|| Error::Config(format!("no address for {target}"))))
}

/// The local address of a UDP socket (an IP address, as `bind_udp` and
/// `connect_udp` make).
pub fn udp_local_addr(sock: &SockRef<'_>) -> io::Result<SocketAddr> {
    sock.local_addr()?
        .as_socket()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not an IP socket"))
}

/// Receive one datagram on a std UDP socket, its sender as a [`PeerAddr`].
pub fn udp_recv_from(socket: &UdpSocket, buf: &mut [u8]) -> io::Result<(usize, PeerAddr)> {
    socket.recv_from(buf).map(|(n, from)| (n, from.into()))
}

/// Send one datagram on a std UDP socket to `to` (`None`: the connected
/// peer); a Unix address is refused with `InvalidInput`.
pub fn udp_send_to(
    socket: &UdpSocket,
    datagram: &[u8],
    to: Option<&PeerAddr>,
) -> io::Result<usize> {
    match to {
        None => socket.send(datagram),
        Some(PeerAddr::Inet(to)) => socket.send_to(datagram, to),
        Some(other) => Err(wrong_family(other)),
    }
}

/// The local address of a datagram socket (UDP or Unix) and, when it is
/// `connected`, its peer's.
pub fn datagram_addrs(
    sock: &SockRef<'_>,
    connected: bool,
) -> Result<(PeerAddr, Option<PeerAddr>), Error> {
    let addr = |addr: io::Result<socket2::SockAddr>| {
        addr.and_then(|addr| crate::stream_addr(&addr))
            .map_err(|source| Error::Io { peer: None, source })
    };
    let local = addr(sock.local_addr())?;
    let peer = match connected {
        true => Some(addr(sock.peer_addr())?),
        false => None,
    };
    Ok((local, peer))
}

/// The error for a destination of the other family than the socket's.
pub fn wrong_family(to: &PeerAddr) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{to} is not an address of this socket's family"),
    )
}

/// Options of one UDP socket, borrowed from the socket that owns it.
/// Drivers return it from `socket()` on their UDP clients and endpoints.
#[derive(Debug)]
pub struct DatagramSocketOptions<'a> {
    common: SocketOptions<'a>,
}

impl<'a> DatagramSocketOptions<'a> {
    /// Options of `socket` (a std, tokio or async-io UDP socket, or
    /// anything else that exposes a socket's file descriptor / Windows
    /// socket).
    pub fn new<S>(socket: &'a S) -> Self
    where
        SockRef<'a>: From<&'a S>,
    {
        Self::from_sock_ref(SockRef::from(socket))
    }

    /// Options of the socket behind `sock`.
    pub fn from_sock_ref(sock: SockRef<'a>) -> Self {
        DatagramSocketOptions {
            common: SocketOptions::from_sock_ref(sock),
        }
    }

    /// The socket2 view of the socket, for any option not covered here.
    pub fn sock_ref(&self) -> &SockRef<'a> {
        self.common.sock_ref()
    }

    /// Whether SO_BROADCAST is set.
    pub fn broadcast(&self) -> io::Result<bool> {
        self.sock_ref().broadcast()
    }

    /// Set SO_BROADCAST: allow sending to a broadcast address.
    pub fn set_broadcast(&self, broadcast: bool) -> io::Result<()> {
        self.sock_ref().set_broadcast(broadcast)
    }

    /// The IP time-to-live (IPv4 TTL, or IPv6 unicast hop limit).
    pub fn ttl(&self) -> io::Result<u32> {
        self.common.ttl()
    }

    /// Set the IP time-to-live (IPv4 TTL, or IPv6 unicast hop limit).
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.common.set_ttl(ttl)
    }

    /// The kernel receive buffer size (SO_RCVBUF).
    pub fn recv_buffer_size(&self) -> io::Result<usize> {
        self.common.recv_buffer_size()
    }

    /// Set the kernel receive buffer size (the kernel may round or double it).
    pub fn set_recv_buffer_size(&self, size: usize) -> io::Result<()> {
        self.common.set_recv_buffer_size(size)
    }

    /// The kernel send buffer size (SO_SNDBUF).
    pub fn send_buffer_size(&self) -> io::Result<usize> {
        self.common.send_buffer_size()
    }

    /// Set the kernel send buffer size (the kernel may round or double it).
    pub fn set_send_buffer_size(&self, size: usize) -> io::Result<()> {
        self.common.set_send_buffer_size(size)
    }

    /// Join the IPv4 multicast `group` on the interface with address
    /// `interface` (`Ipv4Addr::UNSPECIFIED`: the system's choice).
    pub fn join_multicast_v4(&self, group: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        self.sock_ref().join_multicast_v4(&group, &interface)
    }

    /// Leave an IPv4 multicast group joined with
    /// [`join_multicast_v4`](DatagramSocketOptions::join_multicast_v4).
    pub fn leave_multicast_v4(&self, group: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        self.sock_ref().leave_multicast_v4(&group, &interface)
    }

    /// Join the IPv6 multicast `group` on the interface of index
    /// `interface` (0: the system's choice).
    pub fn join_multicast_v6(&self, group: Ipv6Addr, interface: u32) -> io::Result<()> {
        self.sock_ref().join_multicast_v6(&group, interface)
    }

    /// Leave an IPv6 multicast group joined with
    /// [`join_multicast_v6`](DatagramSocketOptions::join_multicast_v6).
    pub fn leave_multicast_v6(&self, group: Ipv6Addr, interface: u32) -> io::Result<()> {
        self.sock_ref().leave_multicast_v6(&group, interface)
    }

    /// Whether multicast datagrams sent are looped back to this host
    /// (IP_MULTICAST_LOOP, or IPV6_MULTICAST_LOOP on an IPv6 socket).
    pub fn multicast_loop(&self) -> io::Result<bool> {
        if self.is_ipv6()? {
            self.sock_ref().multicast_loop_v6()
        } else {
            self.sock_ref().multicast_loop_v4()
        }
    }

    /// Set whether multicast datagrams sent are looped back to this host.
    pub fn set_multicast_loop(&self, on: bool) -> io::Result<()> {
        if self.is_ipv6()? {
            self.sock_ref().set_multicast_loop_v6(on)
        } else {
            self.sock_ref().set_multicast_loop_v4(on)
        }
    }

    /// The time-to-live of multicast datagrams sent (IP_MULTICAST_TTL, or
    /// the IPv6 multicast hop limit).
    pub fn multicast_ttl(&self) -> io::Result<u32> {
        if self.is_ipv6()? {
            self.sock_ref().multicast_hops_v6()
        } else {
            self.sock_ref().multicast_ttl_v4()
        }
    }

    /// Set the time-to-live of multicast datagrams sent.
    pub fn set_multicast_ttl(&self, ttl: u32) -> io::Result<()> {
        if self.is_ipv6()? {
            self.sock_ref().set_multicast_hops_v6(ttl)
        } else {
            self.sock_ref().set_multicast_ttl_v4(ttl)
        }
    }

    fn is_ipv6(&self) -> io::Result<bool> {
        Ok(udp_local_addr(self.sock_ref())?.is_ipv6())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_round_trip() {
        let socket = bind_udp("127.0.0.1:0".parse().unwrap()).unwrap();
        let options = DatagramSocketOptions::new(&socket);
        options.set_broadcast(true).unwrap();
        assert!(options.broadcast().unwrap());
        options.set_broadcast(false).unwrap();
        assert!(!options.broadcast().unwrap());
        options.set_ttl(17).unwrap();
        assert_eq!(options.ttl().unwrap(), 17);
        options.set_multicast_ttl(3).unwrap();
        assert_eq!(options.multicast_ttl().unwrap(), 3);
        options.set_multicast_loop(false).unwrap();
        assert!(!options.multicast_loop().unwrap());
        options.set_recv_buffer_size(64 * 1024).unwrap();
        assert!(options.recv_buffer_size().unwrap() >= 64 * 1024);
        options.set_send_buffer_size(64 * 1024).unwrap();
        assert!(options.send_buffer_size().unwrap() >= 64 * 1024);
    }

    #[test]
    fn multicast_membership_on_loopback() {
        let socket = bind_udp("0.0.0.0:0".parse().unwrap()).unwrap();
        let options = DatagramSocketOptions::new(&socket);
        let group = Ipv4Addr::new(239, 255, 0, 42);
        match options.join_multicast_v4(group, Ipv4Addr::LOCALHOST) {
            Ok(()) => options
                .leave_multicast_v4(group, Ipv4Addr::LOCALHOST)
                .unwrap(),
            // A machine whose loopback interface has no multicast: the
            // error is the system's, not a silent success.
            Err(err) => assert!(err.raw_os_error().is_some(), "{err}"),
        }
    }

    #[test]
    fn connect_tries_each_address_and_names_the_last() {
        let target = Address {
            host: "localhost".into(),
            port: 9,
        };
        let v6_local = Some("[::1]:0".parse().unwrap());
        // An IPv4 remote from an IPv6 local address fails; no address left.
        let err =
            connect_udp_any(&target, vec!["127.0.0.1:9".parse().unwrap()], v6_local).unwrap_err();
        assert!(err.to_string().contains("127.0.0.1:9"), "{err}");
        let peer = bind_udp("127.0.0.1:0".parse().unwrap()).unwrap();
        let socket = connect_udp_any(
            &target,
            vec!["127.0.0.1:9".parse().unwrap(), peer.local_addr().unwrap()],
            Some("127.0.0.1:0".parse().unwrap()),
        )
        .unwrap();
        // The first address that takes the socket wins.
        assert_eq!(socket.peer_addr().unwrap(), "127.0.0.1:9".parse().unwrap());
        // An address the host does not have cannot be bound (the Windows
        // build is tested under Wine, which lets it be bound).
        if cfg!(not(windows)) {
            let err = bind_udp_any(&target, vec!["192.0.2.1:0".parse().unwrap()]).unwrap_err();
            assert!(err.to_string().contains("cannot bind 192.0.2.1:0"), "{err}");
        }
    }
}
