//! Resolving a host and connecting to it: every resolved address in turn,
//! each under the connect timeout, rounds repeated per the retry policy
//! (the schedule and the errors are `netproto_socket::connect`'s, shared
//! with the blocking driver).

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use netproto_core::Error;
use netproto_core::options::{Address, ClientOptions};
use netproto_socket::connect::{ConnectAttempts, connect_error, non_empty, resolve_error};

use crate::io::first;
use crate::rt::Runtime;

/// Every address `address` resolves to ([`Error::Resolve`] names the host).
pub(crate) async fn resolve<R: Runtime>(address: &Address) -> Result<Vec<SocketAddr>, Error> {
    if let Ok(ip) = address.host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, address.port)]);
    }
    let addrs = R::resolve(address.host.clone(), address.port)
        .await
        .map_err(|source| resolve_error(&address.host, source))?;
    non_empty(address, addrs)
}

/// A connected stream to `address`, following `options.connect_timeout`
/// and `options.retry`.
pub(crate) async fn dial<R: Runtime>(
    address: &Address,
    options: &ClientOptions,
) -> Result<R::Stream, Error> {
    let mut attempts = ConnectAttempts::new(address, options);
    loop {
        match connect_round::<R>(address, options).await {
            Ok(stream) => return Ok(stream),
            Err(err) => {
                let delay = attempts.failed(err)?;
                R::sleep_until(Instant::now() + delay).await;
            }
        }
    }
}

/// One attempt: resolve, then try every address in turn.
async fn connect_round<R: Runtime>(
    address: &Address,
    options: &ClientOptions,
) -> Result<R::Stream, Error> {
    let mut last = None;
    for addr in resolve::<R>(address).await? {
        match connect_one::<R>(addr, options.connect_timeout).await {
            Ok(stream) => return Ok(stream),
            Err(err) => last = Some(connect_error(err, addr, address, options.connect_timeout)),
        }
    }
    Err(last.expect("resolve never returns an empty list"))
}

async fn connect_one<R: Runtime>(
    addr: SocketAddr,
    timeout: Option<Duration>,
) -> io::Result<R::Stream> {
    match timeout.and_then(|timeout| Instant::now().checked_add(timeout)) {
        Some(deadline) => {
            first(R::connect(addr), async {
                R::sleep_until(deadline).await;
                Err(io::ErrorKind::TimedOut.into())
            })
            .await
        }
        None => R::connect(addr).await,
    }
}
