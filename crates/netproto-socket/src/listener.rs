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
use socket2::{Domain, Protocol, SockRef, Socket, Type};

/// Bind `addr` and listen with `backlog` (clamped to `i32::MAX`).
pub fn bind(addr: SocketAddr, backlog: u32) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    #[cfg(unix)]
    socket.set_reuse_address(true)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.bind(&addr.into())?;
    socket.listen(backlog.min(i32::MAX as u32) as i32)?;
    Ok(socket.into())
}

/// Bind every address of `addrs` (what a server's addresses resolved to)
/// with `backlog`, and hand each listener to `adopt` — the driver's
/// conversion into its runtime's listener (the identity for a blocking
/// driver). Returns the adopted listeners and their real local addresses,
/// in order.
///
/// An address listed twice is bound once (but port 0 twice binds two free
/// ports). Errors: [`Error::Io`] saying `cannot bind {addr}: ...` when an
/// address cannot be bound (or adopted), [`Error::Config`] when there is no
/// address at all. Listeners bound before an error are closed.
///
/// ```
/// use netproto_socket::listener::bind_all;
///
/// let addrs = ["127.0.0.1:0".parse().unwrap(), "127.0.0.1:0".parse().unwrap()];
/// let (listeners, local) = bind_all(addrs, 128, Ok)?;
/// assert_eq!(listeners.len(), 2);
/// assert_ne!(local[0], local[1]);
/// # Ok::<(), netproto_core::Error>(())
/// ```
pub fn bind_all<L>(
    addrs: impl IntoIterator<Item = SocketAddr>,
    backlog: u32,
    mut adopt: impl FnMut(TcpListener) -> io::Result<L>,
) -> Result<(Vec<L>, Vec<SocketAddr>), Error> {
    let mut listeners = Vec::new();
    let mut local_addrs = Vec::new();
    for addr in addrs {
        if addr.port() != 0 && local_addrs.contains(&addr) {
            continue;
        }
        let cannot_bind = |err: io::Error| Error::Io {
            peer: None,
            source: io::Error::new(err.kind(), format!("cannot bind {addr}: {err}")),
        };
        let listener = bind(addr, backlog).map_err(cannot_bind)?;
        let local = listener.local_addr().map_err(cannot_bind)?;
        listeners.push(adopt(listener).map_err(cannot_bind)?);
        local_addrs.push(local);
    }
    if listeners.is_empty() {
        return Err(Error::Config("no address to bind".to_owned()));
    }
    Ok((listeners, local_addrs))
}

/// The process's soft limit on open file descriptors (`RLIMIT_NOFILE`),
/// where the platform has one; `None` on Windows or when it is unlimited.
/// A server's automatic connection limit is derived from it
/// (`netproto_core::server::auto_connection_limit`).
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
pub fn wake_accept(listener: &TcpListener) {
    let _ = SockRef::from(listener).shutdown(Shutdown::Read);
    if let Ok(addr) = listener.local_addr() {
        let target = loopback_for(addr);
        if let Ok(stream) = TcpStream::connect_timeout(&target, Duration::from_millis(200)) {
            let _ = stream.shutdown(Shutdown::Both);
        }
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
    fn bind_all_skips_repeats_and_names_the_address() {
        let first = bind("127.0.0.1:0".parse().unwrap(), 16).unwrap();
        let taken = first.local_addr().unwrap();
        let err = bind_all([taken], 16, Ok).unwrap_err();
        assert_eq!(io::Error::from(err).kind(), io::ErrorKind::AddrInUse);
        let err = bind_all([taken], 16, Ok).unwrap_err();
        assert!(
            err.to_string().contains(&format!("cannot bind {taken}")),
            "{err}"
        );
        drop(first);

        let (listeners, local) = bind_all([taken, taken], 16, Ok).unwrap();
        assert_eq!((listeners.len(), local), (1, vec![taken]));
        let err = bind_all(std::iter::empty(), 16, Ok).unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{err:?}");
        let err = bind_all(["127.0.0.1:0".parse().unwrap()], 16, |_| {
            Err::<TcpListener, _>(io::Error::other("no runtime"))
        })
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
        wake_accept(&listener);
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
