//! Resolving a host and connecting to it: every resolved address in turn,
//! each under the connect timeout, rounds repeated per the retry policy
//! (the schedule and the errors are `netproto_socket::connect`'s, shared by
//! every driver).

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use netproto_core::Error;
use netproto_core::options::{Address, ClientOptions};
use netproto_socket::connect::{ConnectAttempts, connect_error, non_empty, resolve_error};
use tokio::net::TcpStream;

/// Every address `address` resolves to ([`Error::Resolve`] names the host).
pub(crate) async fn resolve(address: &Address) -> Result<Vec<SocketAddr>, Error> {
    if let Ok(ip) = address.host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, address.port)]);
    }
    let addrs = tokio::net::lookup_host((address.host.as_str(), address.port))
        .await
        .map_err(|source| resolve_error(&address.host, source))?;
    non_empty(address, addrs.collect())
}

/// A connected stream to `address`, following `options.connect_timeout`
/// and `options.retry`.
pub(crate) async fn dial(address: &Address, options: &ClientOptions) -> Result<TcpStream, Error> {
    let mut attempts = ConnectAttempts::new(address, options);
    loop {
        match connect_round(address, options).await {
            Ok(stream) => return Ok(stream),
            Err(err) => tokio::time::sleep(attempts.failed(err)?).await,
        }
    }
}

/// One attempt: resolve, then try every address in turn.
async fn connect_round(address: &Address, options: &ClientOptions) -> Result<TcpStream, Error> {
    let mut last = None;
    for addr in resolve(address).await? {
        match connect_one(addr, options.connect_timeout).await {
            Ok(stream) => return Ok(stream),
            Err(err) => last = Some(connect_error(err, addr, address, options.connect_timeout)),
        }
    }
    Err(last.expect("resolve never returns an empty list"))
}

async fn connect_one(addr: SocketAddr, timeout: Option<Duration>) -> io::Result<TcpStream> {
    match timeout {
        Some(timeout) => tokio::time::timeout(timeout, TcpStream::connect(addr))
            .await
            .unwrap_or_else(|_| Err(io::ErrorKind::TimedOut.into())),
        None => TcpStream::connect(addr).await,
    }
}
