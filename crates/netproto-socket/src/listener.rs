//! Listening sockets, built once for every driver.
//!
//! [`bind`] creates a socket with socket2, sets `SO_REUSEADDR` (Unix only: so
//! a restarted server can bind while old connections sit in TIME_WAIT;
//! Windows binds such a port without it, and there `SO_REUSEADDR` would let
//! another socket take a port in use) and
//! `IPV6_V6ONLY` for IPv6 addresses (so `[::]` and `0.0.0.0` can be bound
//! side by side), binds and listens with the given backlog. The result is a
//! blocking `std::net::TcpListener`: the sync driver uses it as it is; async
//! drivers set it non-blocking and convert it (`tokio::net::TcpListener::from_std`,
//! `async_io::Async::new`).
//!
//! ```
//! let listener = netproto_socket::listener::bind("127.0.0.1:0".parse().unwrap(), 128)?;
//! assert_ne!(listener.local_addr()?.port(), 0);
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! A server binds every address its `bind`/`bind_all` resolved to with
//! [`bind_all`], which skips repeats, names the address that cannot be bound
//! and hands each listener to the driver's runtime.

use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use netproto_core::Error;
use netproto_core::options::ServerOptions;
use socket2::{Domain, Protocol, SockRef, Socket, Type};

/// Bind `addr` and listen with `backlog` (clamped to `i32::MAX`).
pub fn bind(addr: SocketAddr, backlog: u32) -> io::Result<TcpListener> {
    bind_with(addr, backlog, false)
}

/// [`bind`], with `SO_REUSEPORT` when `reuse_port` is set (several
/// processes or listeners share the port and the kernel spreads the
/// connections between them; Unix only, refused with
/// `io::ErrorKind::Unsupported` elsewhere).
pub fn bind_with(addr: SocketAddr, backlog: u32, reuse_port: bool) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    #[cfg(unix)]
    socket.set_reuse_address(true)?;
    if reuse_port {
        #[cfg(all(
            unix,
            not(any(target_os = "solaris", target_os = "illumos", target_os = "cygwin"))
        ))]
        socket.set_reuse_port(true)?;
        #[cfg(not(all(
            unix,
            not(any(target_os = "solaris", target_os = "illumos", target_os = "cygwin"))
        )))]
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "SO_REUSEPORT is not available on this platform",
        ));
    }
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.bind(&addr.into())?;
    socket.listen(backlog.min(i32::MAX as u32) as i32)?;
    Ok(socket.into())
}

/// What a server binds: one address, or every interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindTarget {
    /// This address.
    Addr(SocketAddr),
    /// Every interface, IPv4 (`0.0.0.0`) and IPv6 (`[::]`, where the host
    /// has IPv6), on this port — what an address without a host (`":8080"`,
    /// `("", 8080)`) asks for. With port 0 both get the same free port.
    AllInterfaces(u16),
}

impl From<SocketAddr> for BindTarget {
    fn from(addr: SocketAddr) -> Self {
        BindTarget::Addr(addr)
    }
}

impl BindTarget {
    /// `address` as a bind target: every interface when it has no host;
    /// otherwise what `resolve` gives for it.
    pub fn of(address: &netproto_core::options::Address) -> Option<BindTarget> {
        address
            .host
            .is_empty()
            .then_some(BindTarget::AllInterfaces(address.port))
    }
}

/// Bind every target of `targets` (what a server's addresses resolved to)
/// with `options`' backlog and `reuse_port`, and hand each listener to
/// `adopt` — the driver's conversion into its runtime's listener (the
/// identity for a blocking driver). Returns the adopted listeners and their
/// real local addresses, in order.
///
/// An address listed twice is bound once (but port 0 twice binds two free
/// ports). Errors: [`Error::Io`] saying `cannot bind {addr}: ...` when an
/// address cannot be bound (or adopted), [`Error::Config`] when there is no
/// address at all. Listeners bound before an error are closed.
///
/// ```
/// use netproto_core::options::ServerOptions;
/// use netproto_socket::listener::{BindTarget, bind_all};
///
/// let addrs = ["127.0.0.1:0".parse().unwrap(), "127.0.0.1:0".parse().unwrap()];
/// let (listeners, local) = bind_all(addrs.map(BindTarget::Addr), &ServerOptions::default(), Ok)?;
/// assert_eq!(listeners.len(), 2);
/// assert_ne!(local[0], local[1]);
/// # Ok::<(), netproto_core::Error>(())
/// ```
pub fn bind_all<L>(
    targets: impl IntoIterator<Item = BindTarget>,
    options: &ServerOptions,
    mut adopt: impl FnMut(TcpListener) -> io::Result<L>,
) -> Result<(Vec<L>, Vec<SocketAddr>), Error> {
    let mut listeners = Vec::new();
    let mut local_addrs = Vec::new();
    let mut bind_one = |addr: SocketAddr, optional: bool| -> Result<Option<SocketAddr>, Error> {
        if addr.port() != 0 && local_addrs.contains(&addr) {
            return Ok(None);
        }
        let cannot_bind = |err: io::Error| Error::Io {
            peer: None,
            source: io::Error::new(err.kind(), format!("cannot bind {addr}: {err}")),
        };
        let listener = match bind_with(addr, options.backlog, options.reuse_port) {
            Ok(listener) => listener,
            // No IPv6 on this host: every interface is the IPv4 ones.
            Err(err) if optional && no_such_family(&err) => return Ok(None),
            Err(err) => return Err(cannot_bind(err)),
        };
        let local = listener.local_addr().map_err(cannot_bind)?;
        listeners.push(adopt(listener).map_err(cannot_bind)?);
        local_addrs.push(local);
        Ok(Some(local))
    };
    for target in targets {
        match target {
            BindTarget::Addr(addr) => {
                bind_one(addr, false)?;
            }
            BindTarget::AllInterfaces(port) => {
                let v4 = SocketAddr::from((std::net::Ipv4Addr::UNSPECIFIED, port));
                let port = bind_one(v4, false)?.map_or(port, |local| local.port());
                bind_one(
                    SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, port)),
                    true,
                )?;
            }
        }
    }
    if listeners.is_empty() {
        return Err(Error::Config("no address to bind".to_owned()));
    }
    Ok((listeners, local_addrs))
}

/// Whether a bind failed because the host has no such address family.
fn no_such_family(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::AddrNotAvailable | io::ErrorKind::Unsupported
    ) || matches!(err.raw_os_error(), Some(97 | 47))
}

/// The process's soft limit on open file descriptors (`RLIMIT_NOFILE`),
/// where the platform has one; `None` on Windows or when it is unlimited.
/// A server's automatic connection limit is derived from it
/// (`netproto_core::driver::server::auto_connection_limit`).
pub fn fd_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        rustix::process::getrlimit(rustix::process::Resource::Nofile).current
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Wake a thread blocked in `accept()` on `listener` so that it can see a
/// shutdown flag.
///
/// Two mechanisms, because neither works everywhere: `shutdown(SHUT_RD)` on
/// the listening socket (Linux makes a blocked `accept` fail at once; on
/// macOS and Windows it fails or does nothing, which is ignored), then a
/// throw-away connection to the listener's address (any platform; an
/// unspecified address such as `0.0.0.0` is reached through loopback). The
/// caller must check its flag after every `accept` result and drop what it
/// accepted once the flag is set.
pub fn wake_accept(listener: impl AsSock) {
    let sock = listener.sock();
    let _ = sock.shutdown(Shutdown::Read);
    let Ok(local) = sock.local_addr() else {
        return;
    };
    if let Some(addr) = local.as_socket() {
        let target = loopback_for(addr);
        if let Ok(stream) = TcpStream::connect_timeout(&target, Duration::from_millis(200)) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    } else if let Ok(socket) = Socket::new(local.domain(), Type::STREAM, None) {
        // A Unix listener: connect to its path or abstract name.
        let _ = socket.connect_timeout(&local, Duration::from_millis(200));
    }
}

/// Anything [`wake_accept`] can take: a std listener or a socket2 socket
/// (by reference).
pub trait AsSock {
    /// The socket2 view of the listening socket.
    fn sock(&self) -> SockRef<'_>;
}

impl AsSock for &TcpListener {
    fn sock(&self) -> SockRef<'_> {
        SockRef::from(*self)
    }
}

impl AsSock for &Socket {
    fn sock(&self) -> SockRef<'_> {
        SockRef::from(*self)
    }
}

/// `addr` with an unspecified IP (`0.0.0.0`, `::`) replaced by loopback.
pub fn loopback_for(mut addr: SocketAddr) -> SocketAddr {
    if addr.ip().is_unspecified() {
        match addr {
            SocketAddr::V4(ref mut a) => a.set_ip(std::net::Ipv4Addr::LOCALHOST),
            SocketAddr::V6(ref mut a) => a.set_ip(std::net::Ipv6Addr::LOCALHOST),
        }
    }
    addr
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    #[test]
    fn binds_and_accepts() {
        let listener = bind("127.0.0.1:0".parse().unwrap(), 16).unwrap();
        let addr = listener.local_addr().unwrap();
        assert_ne!(addr.port(), 0);
        let _client = TcpStream::connect(addr).unwrap();
        let (_, peer) = listener.accept().unwrap();
        assert!(peer.ip().is_loopback());
    }

    #[test]
    fn same_port_twice_is_refused() {
        let listener = bind("127.0.0.1:0".parse().unwrap(), 16).unwrap();
        let err = bind(listener.local_addr().unwrap(), 16).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
    }

    #[test]
    fn all_interfaces_binds_ipv4_and_ipv6_on_one_port() {
        let (listeners, local) = bind_all(
            [BindTarget::AllInterfaces(0)],
            &ServerOptions::default(),
            Ok,
        )
        .unwrap();
        assert!(
            local[0].ip().is_unspecified() && local[0].is_ipv4(),
            "{local:?}"
        );
        assert_ne!(local[0].port(), 0);
        let ipv6 = TcpListener::bind("[::1]:0").is_ok();
        assert_eq!(listeners.len(), if ipv6 { 2 } else { 1 }, "{local:?}");
        for (listener, addr) in listeners.iter().zip(&local) {
            assert_eq!(addr.port(), local[0].port(), "one port for both families");
            let _client = TcpStream::connect(loopback_for(*addr)).unwrap();
            let (_, peer) = listener.accept().unwrap();
            assert_eq!(peer.is_ipv6(), addr.is_ipv6());
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn reuse_port_shares_a_port() {
        let options = ServerOptions::default().reuse_port(true);
        let target = [BindTarget::Addr("127.0.0.1:0".parse().unwrap())];
        let (_first, local) = bind_all(target, &options, Ok).unwrap();
        let again = [BindTarget::Addr(local[0])];
        assert!(
            bind_all(again, &options, Ok).is_ok(),
            "both set SO_REUSEPORT"
        );
        let err = bind_all(again, &ServerOptions::default(), Ok).unwrap_err();
        assert!(err.to_string().contains("cannot bind"), "{err}");
    }

    #[test]
    fn bind_all_skips_repeats_and_names_the_address() {
        let first = bind("127.0.0.1:0".parse().unwrap(), 16).unwrap();
        let taken = first.local_addr().unwrap();
        let err = bind_all([BindTarget::Addr(taken)], &ServerOptions::default(), Ok).unwrap_err();
        assert_eq!(io::Error::from(err).kind(), io::ErrorKind::AddrInUse);
        let err = bind_all([BindTarget::Addr(taken)], &ServerOptions::default(), Ok).unwrap_err();
        assert!(
            err.to_string().contains(&format!("cannot bind {taken}")),
            "{err}"
        );
        drop(first);

        let (listeners, local) = bind_all(
            [taken, taken].map(BindTarget::Addr),
            &ServerOptions::default(),
            Ok,
        )
        .unwrap();
        assert_eq!((listeners.len(), local), (1, vec![taken]));
        let err = bind_all(std::iter::empty(), &ServerOptions::default(), Ok).unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{err:?}");
        let err = bind_all(
            [BindTarget::Addr("127.0.0.1:0".parse().unwrap())],
            &ServerOptions::default(),
            |_| Err::<TcpListener, _>(io::Error::other("no runtime")),
        )
        .unwrap_err();
        assert!(err.to_string().contains("no runtime"), "{err}");
    }

    #[test]
    fn wake_accept_unblocks_accept() {
        let listener = Arc::new(bind("0.0.0.0:0".parse().unwrap(), 16).unwrap());
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (listener, stop) = (listener.clone(), stop.clone());
            std::thread::spawn(move || {
                loop {
                    let _ = listener.accept();
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                }
            })
        };
        std::thread::sleep(Duration::from_millis(50));
        stop.store(true, Ordering::SeqCst);
        wake_accept(&*listener);
        thread.join().unwrap();
    }

    #[test]
    fn loopback_replaces_unspecified() {
        assert_eq!(
            loopback_for("0.0.0.0:5".parse().unwrap()),
            "127.0.0.1:5".parse().unwrap()
        );
        assert_eq!(
            loopback_for("[::]:5".parse().unwrap()),
            "[::1]:5".parse().unwrap()
        );
        assert_eq!(
            loopback_for("10.1.2.3:5".parse().unwrap()),
            "10.1.2.3:5".parse().unwrap()
        );
    }
}
