//! Connecting: resolve, race the host's addresses (Happy Eyeballs v2, the
//! decisions of `netproto_socket::race`), retry per the policy.
//!
//! A blocking connect cannot be waited on together with others, so each
//! attempt of a race with several addresses runs on a thread of its own
//! and reports on a channel; the attempts that lose are left to end on
//! their own (within what was left of the connect timeout), and a socket
//! one of them connects after the race is closed at once.

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use netproto_core::Error;
use netproto_core::options::{Address, ClientOptions};
use netproto_socket::connect::{ConnectAttempts, bound_socket, resolve, resolve_without_lookup};
use netproto_socket::race::{ConnectRace, RaceStep};

/// Resolve, race the addresses, retry per the policy.
pub(crate) fn connect_stream(
    address: &Address,
    options: &ClientOptions,
) -> Result<TcpStream, Error> {
    let mut attempts = ConnectAttempts::new(address, options);
    loop {
        match connect_once(address, options) {
            Ok(stream) => return Ok(stream),
            Err(err) => std::thread::sleep(attempts.failed(err)?),
        }
    }
}

fn connect_once(address: &Address, options: &ClientOptions) -> Result<TcpStream, Error> {
    let addrs = resolve_without_lookup(address, options).unwrap_or_else(|| resolve(address))?;
    let mut race = ConnectRace::new(address, addrs, options, Instant::now())?;
    let alone = race.order().len() == 1;
    let local = options.local_address;
    let (tx, rx) = mpsc::channel();
    loop {
        let now = Instant::now();
        match race.step(now) {
            RaceStep::Start { attempt, addr } => {
                let limit = race.time_left(now);
                if alone {
                    match connect_one(addr, local, limit) {
                        Ok(stream) => return Ok(stream),
                        Err(err) => race.failed(attempt, err, Instant::now()),
                    }
                    continue;
                }
                let tx = tx.clone();
                let spawned = std::thread::Builder::new()
                    .name("netproto-connect".into())
                    .spawn(move || {
                        // A receiver gone means another attempt won.
                        let _ = tx.send((attempt, connect_one(addr, local, limit)));
                    });
                if let Err(err) = spawned {
                    race.failed(attempt, err, now);
                }
            }
            RaceStep::Wait { until } => {
                let ended = match until {
                    Some(at) => rx.recv_timeout(at.saturating_duration_since(now)).ok(),
                    None => rx.recv().ok(),
                };
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

/// One blocking connect to `addr`, from `local` when set, for at most
/// `limit`.
fn connect_one(
    addr: SocketAddr,
    local: Option<SocketAddr>,
    limit: Option<Duration>,
) -> io::Result<TcpStream> {
    let Some(local) = local else {
        return match limit {
            Some(limit) => TcpStream::connect_timeout(&addr, limit),
            None => TcpStream::connect(addr),
        };
    };
    let socket = bound_socket(addr, local)?;
    match limit {
        Some(limit) => socket.connect_timeout(&addr.into(), limit)?,
        None => socket.connect(&addr.into())?,
    }
    Ok(socket.into())
}
