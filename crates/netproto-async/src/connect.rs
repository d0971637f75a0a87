//! Resolving a host and connecting to it: its addresses raced as RFC 8305
//! (Happy Eyeballs v2) describes, within the connect timeout, rounds
//! repeated per the retry policy (the race's decisions, the schedule and
//! the errors are `netproto_socket`'s, shared with the blocking driver).

use std::future::{Future, poll_fn};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::Poll;
use std::time::Instant;

use netproto_core::Error;
use netproto_core::options::{Address, ClientOptions};
use netproto_socket::connect::{
    ConnectAttempts, non_empty, resolve_error, resolve_without_lookup, start_connect,
};
use netproto_socket::race::{ConnectRace, RaceStep};

use crate::rt::{AsyncStream, Interest, Runtime};

/// Every address `address` resolves to ([`Error::Resolve`] names the host).
pub(crate) async fn resolve<R: Runtime>(address: &Address) -> Result<Vec<SocketAddr>, Error> {
    resolve_with::<R>(address, &ClientOptions::default()).await
}

/// Every address `address` resolves to, with `options.resolver` when set.
async fn resolve_with<R: Runtime>(
    address: &Address,
    options: &ClientOptions,
) -> Result<Vec<SocketAddr>, Error> {
    if let Some(addrs) = resolve_without_lookup(address, options) {
        return addrs;
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

type Attempt<S> = Pin<Box<dyn Future<Output = io::Result<S>> + Send>>;

/// One round: resolve, then race the addresses. Dropping the attempts
/// that lose cancels them (their sockets are closed).
async fn connect_round<R: Runtime>(
    address: &Address,
    options: &ClientOptions,
) -> Result<R::Stream, Error> {
    let addrs = resolve_with::<R>(address, options).await?;
    let mut race = ConnectRace::new(address, addrs, options, Instant::now())?;
    let mut running: Vec<(usize, Attempt<R::Stream>)> = Vec::new();
    loop {
        match race.step(Instant::now()) {
            RaceStep::Start { attempt, addr } => {
                running.push((
                    attempt,
                    Box::pin(connect_one::<R>(addr, options.local_address)),
                ));
            }
            RaceStep::Wait { until } => {
                let mut timer = until.map(|at| Box::pin(R::sleep_until(at)));
                let ended = poll_fn(|cx| {
                    for i in 0..running.len() {
                        if let Poll::Ready(result) = running[i].1.as_mut().poll(cx) {
                            let (attempt, _) = running.swap_remove(i);
                            return Poll::Ready(Some((attempt, result)));
                        }
                    }
                    match timer.as_mut().map(|timer| timer.as_mut().poll(cx)) {
                        Some(Poll::Ready(())) => Poll::Ready(None),
                        _ => Poll::Pending,
                    }
                })
                .await;
                match ended {
                    Some((_, Ok(stream))) => return Ok(stream),
                    Some((attempt, Err(err))) => race.failed(attempt, err, Instant::now()),
                    None => {}
                }
            }
            RaceStep::Failed(err) => return Err(err),
        }
    }
}

/// One connect to `addr`, from `local` when set.
async fn connect_one<R: Runtime>(
    addr: SocketAddr,
    local: Option<SocketAddr>,
) -> io::Result<R::Stream> {
    let Some(local) = local else {
        return R::connect(addr).await;
    };
    let stream = R::connecting(start_connect(addr, local)?)?;
    stream.ready(Interest::Writable).await?;
    if let Some(err) = stream.sock_ref().take_error()? {
        return Err(err);
    }
    // Writable without an error, yet not connected: say why.
    stream.sock_ref().peer_addr()?;
    Ok(stream)
}
