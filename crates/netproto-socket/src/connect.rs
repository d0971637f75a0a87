//! What every driver does around `connect()`: name resolution errors, the
//! error a failed attempt maps to, and the retry schedule.
//!
//! A driver's connect loop looks like this (the sync driver's, with the
//! blocking calls an async driver replaces by its own):
//!
//! ```no_run
//! use std::net::{TcpStream, ToSocketAddrs};
//! use netproto_core::options::{Address, ClientOptions, IntoAddress};
//! use netproto_core::Error;
//! use netproto_socket::connect::{ConnectAttempts, connect_error, resolve};
//!
//! fn connect(target: Address, options: &ClientOptions) -> Result<TcpStream, Error> {
//!     let mut attempts = ConnectAttempts::new(&target, options);
//!     loop {
//!         let result = resolve(&target).and_then(|addrs| {
//!             let mut last = None;
//!             for addr in addrs {
//!                 match TcpStream::connect(addr) {
//!                     Ok(stream) => return Ok(stream),
//!                     Err(err) => last = Some(connect_error(err, addr, &target, options.connect_timeout)),
//!                 }
//!             }
//!             Err(last.expect("resolve never returns an empty list"))
//!         });
//!         match result {
//!             Ok(stream) => return Ok(stream),
//!             Err(err) => std::thread::sleep(attempts.failed(err)?),
//!         }
//!     }
//! }
//! ```

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

use netproto_core::Error;
use netproto_core::options::{Address, ClientOptions, ConnectionEvent};

/// Resolve `address` with the system resolver (blocking). Fails with
/// [`Error::Resolve`] naming the host, also when the name has no address.
pub fn resolve(address: &Address) -> Result<Vec<SocketAddr>, Error> {
    match (address.host.as_str(), address.port).to_socket_addrs() {
        Ok(addrs) => non_empty(address, addrs.collect()),
        Err(source) => Err(resolve_error(&address.host, source)),
    }
}

/// The addresses of `address` when no system lookup is needed: those of
/// [`ClientOptions::resolver`] when set, or the IP address `address` is.
/// `None`: the driver resolves the host name itself.
pub fn resolve_without_lookup(
    address: &Address,
    options: &ClientOptions,
) -> Option<Result<Vec<SocketAddr>, Error>> {
    if let Some(resolver) = &options.resolver {
        return Some(match resolver(address) {
            Ok(addrs) => non_empty(address, addrs),
            Err(source) => Err(resolve_error(&address.host, source)),
        });
    }
    let ip = address.host.parse::<std::net::IpAddr>().ok()?;
    Some(Ok(vec![SocketAddr::new(ip, address.port)]))
}

/// A TCP socket for connecting to `addr` from `local`
/// ([`ClientOptions::local_address`]): bound, not yet connected.
pub fn bound_socket(addr: SocketAddr, local: SocketAddr) -> io::Result<socket2::Socket> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    socket.bind(&local.into())?;
    Ok(socket)
}

/// Start a non-blocking connect to `addr` from `local`: the socket is
/// bound and handed back at once, its connect in progress (or done). Wait
/// until it is writable, then [`take_error`](socket2::Socket::take_error)
/// says whether it connected.
pub fn start_connect(addr: SocketAddr, local: SocketAddr) -> io::Result<std::net::TcpStream> {
    let socket = bound_socket(addr, local)?;
    socket.set_nonblocking(true)?;
    match socket.connect(&addr.into()) {
        Ok(()) => {}
        Err(err) if connect_in_progress(&err) => {}
        Err(err) => return Err(err),
    }
    Ok(socket.into())
}

/// Whether a non-blocking connect's error only says that it goes on in the
/// background (`EINPROGRESS`; `WSAEWOULDBLOCK` on Windows; an interrupted
/// connect goes on too).
fn connect_in_progress(err: &io::Error) -> bool {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    const EINPROGRESS: Option<i32> = Some(115);
    #[cfg(any(
        target_os = "macos",
        target_os = "ios",
        target_os = "freebsd",
        target_os = "netbsd",
        target_os = "openbsd",
        target_os = "dragonfly"
    ))]
    const EINPROGRESS: Option<i32> = Some(36);
    #[cfg(not(any(
        target_os = "linux",
        target_os = "android",
        target_os = "macos",
        target_os = "ios",
        target_os = "freebsd",
        target_os = "netbsd",
        target_os = "openbsd",
        target_os = "dragonfly"
    )))]
    const EINPROGRESS: Option<i32> = None;
    matches!(
        err.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
    ) || (EINPROGRESS.is_some() && err.raw_os_error() == EINPROGRESS)
}

/// `addrs` if not empty, else [`Error::Resolve`] for `address`'s host. For
/// drivers with their own resolver.
pub fn non_empty(address: &Address, addrs: Vec<SocketAddr>) -> Result<Vec<SocketAddr>, Error> {
    if addrs.is_empty() {
        return Err(resolve_error(
            &address.host,
            io::Error::new(io::ErrorKind::NotFound, "no address found"),
        ));
    }
    Ok(addrs)
}

/// The error for a failed lookup of `host`.
pub fn resolve_error(host: &str, source: io::Error) -> Error {
    Error::Resolve {
        host: host.to_owned(),
        source,
    }
}

/// The error for a failed connection attempt to `addr` (one of `target`'s
/// addresses): [`Error::ConnectTimeout`] naming the target and the timeout,
/// [`Error::ConnectionRefused`] naming the address, or an I/O error naming
/// the address.
pub fn connect_error(
    err: io::Error,
    addr: SocketAddr,
    target: &Address,
    timeout: Option<Duration>,
) -> Error {
    match err.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => Error::ConnectTimeout {
            target: target.to_string(),
            timeout: timeout.unwrap_or_default(),
        },
        _ => Error::from_io(err, addr),
    }
}

/// The retry schedule of one `connect` call, following
/// [`ClientOptions::retry`] and reporting
/// [`ConnectionEvent::ConnectAttemptFailed`] to [`ClientOptions::on_event`].
#[derive(Debug)]
pub struct ConnectAttempts<'a> {
    target: String,
    options: &'a ClientOptions,
    attempt: u32,
    delays: std::vec::IntoIter<Duration>,
}

impl<'a> ConnectAttempts<'a> {
    /// A schedule for connecting to `target`.
    pub fn new(target: &Address, options: &'a ClientOptions) -> Self {
        ConnectAttempts {
            target: target.to_string(),
            options,
            attempt: 0,
            delays: options.retry.delays().collect::<Vec<_>>().into_iter(),
        }
    }

    /// `host:port`, as errors and events name it.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// How many attempts have failed so far.
    pub fn failures(&self) -> u32 {
        self.attempt
    }

    /// An attempt failed with `err`. `Ok(delay)`: wait `delay`, then try
    /// again. `Err(error)`: give up with `error` — `err` itself after a
    /// single attempt, else [`Error::ConnectFailed`] wrapping it with the
    /// number of attempts.
    pub fn failed(&mut self, err: Error) -> Result<Duration, Error> {
        self.attempt += 1;
        match self.delays.next() {
            Some(delay) => {
                self.options.emit(ConnectionEvent::ConnectAttemptFailed {
                    target: self.target.clone(),
                    attempt: self.attempt,
                    error: err.to_string(),
                    retry_in: delay,
                });
                Ok(delay)
            }
            None if self.attempt == 1 => Err(err),
            None => Err(Error::ConnectFailed {
                target: self.target.clone(),
                attempts: self.attempt,
                last: Box::new(err),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netproto_core::options::{IntoAddress, RetryPolicy};
    use std::sync::{Arc, Mutex};

    #[test]
    fn resolve_names_the_host() {
        let address = "no-such-host.invalid:80".into_address().unwrap();
        let err = resolve(&address).unwrap_err();
        assert!(
            matches!(&err, Error::Resolve { host, .. } if host == "no-such-host.invalid"),
            "{err:?}"
        );
        assert!(err.to_string().contains("no-such-host.invalid"));
    }

    #[test]
    fn resolve_ip_literals() {
        let address = "127.0.0.1:7".into_address().unwrap();
        assert_eq!(
            resolve(&address).unwrap(),
            vec!["127.0.0.1:7".parse().unwrap()]
        );
        assert!(non_empty(&address, Vec::new()).is_err());
    }

    #[test]
    fn errors_name_address_and_timeout() {
        let target = "example.test:80".into_address().unwrap();
        let addr: SocketAddr = "127.0.0.1:80".parse().unwrap();
        let refused = connect_error(io::ErrorKind::ConnectionRefused.into(), addr, &target, None);
        assert_eq!(refused.to_string(), "connection refused by 127.0.0.1:80");
        let timeout = connect_error(
            io::ErrorKind::TimedOut.into(),
            addr,
            &target,
            Some(Duration::from_secs(3)),
        );
        assert!(matches!(timeout, Error::ConnectTimeout { .. }));
        assert_eq!(
            timeout.to_string(),
            "connecting to example.test:80 timed out after 3s"
        );
    }

    #[test]
    fn schedule_follows_policy_and_reports() {
        let events = Arc::new(Mutex::new(Vec::new()));
        let sink = events.clone();
        let options = ClientOptions::default()
            .retry(
                RetryPolicy::attempts(3)
                    .initial_delay(Duration::from_millis(10))
                    .jitter(false),
            )
            .on_event(move |e| sink.lock().unwrap().push(format!("{e:?}")));
        let target = "h:1".into_address().unwrap();
        let mut attempts = ConnectAttempts::new(&target, &options);
        let err = || Error::Config("x".into());
        assert_eq!(attempts.failed(err()).unwrap(), Duration::from_millis(10));
        assert_eq!(attempts.failed(err()).unwrap(), Duration::from_millis(20));
        let last = attempts.failed(err()).unwrap_err();
        assert!(
            matches!(last, Error::ConnectFailed { attempts: 3, .. }),
            "{last:?}"
        );
        assert_eq!(events.lock().unwrap().len(), 2);

        let single = ClientOptions::default();
        let mut attempts = ConnectAttempts::new(&target, &single);
        assert!(matches!(attempts.failed(err()), Err(Error::Config(_))));
    }
}
