//! Listening sockets, built once for every driver.
//!
//! [`bind`] creates a socket with socket2, sets `SO_REUSEADDR` (Unix: so a
//! restarted server can bind while old connections sit in TIME_WAIT) and
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

use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

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

/// Wake a thread blocked in `accept()` on `listener` so that it can see a
/// shutdown flag.
///
/// Two mechanisms, because neither works everywhere: `shutdown(SHUT_RD)` on
/// the listening socket (Linux makes a blocked `accept` fail at once), then
/// a throw-away connection to the listener's address (any platform; an
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
