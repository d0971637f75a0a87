//! Racing a host's addresses as RFC 8305 (Happy Eyeballs v2) describes:
//! the decisions, with the time passed in, so that every driver makes the
//! same ones and only starts connects and waits.
//!
//! * The addresses are tried IPv6 and IPv4 in turn, starting with IPv6,
//!   each family in the resolver's order (§4). With a local address only
//!   its family is tried.
//! * One attempt starts at once; the next starts when the one before has
//!   had [`ClientOptions::happy_eyeballs_delay`] without succeeding, or at
//!   once when every attempt in flight has failed (§5).
//! * The first attempt that succeeds wins: the driver drops the others.
//! * [`ClientOptions::connect_timeout`] is for the whole race
//!   ([`Error::ConnectTimeout`]); when every address failed, the error of
//!   the last failure is reported.
//!
//! A driver's loop:
//!
//! ```
//! use std::time::Instant;
//! use netproto_core::options::{ClientOptions, IntoAddress};
//! use netproto_socket::race::{ConnectRace, RaceStep};
//!
//! let target = "example.test:80".into_address().unwrap();
//! let addrs = vec!["[2001:db8::1]:80".parse().unwrap(), "192.0.2.1:80".parse().unwrap()];
//! let mut race = ConnectRace::new(&target, addrs, &ClientOptions::default(), Instant::now()).unwrap();
//! match race.step(Instant::now()) {
//!     RaceStep::Start { attempt, addr } => assert_eq!((attempt, addr.is_ipv6()), (0, true)),
//!     other => panic!("{other:?}"),
//! }
//! // ... start a non-blocking connect, then on each later step:
//! // `Start` another, `Wait` for an attempt to end or for `until`, or give up
//! // with `Failed`; report an attempt's failure with `race.failed(attempt, err, now)`.
//! ```

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use netproto_core::Error;
use netproto_core::options::{Address, ClientOptions};

use crate::connect::connect_error;

/// What a driver does next in a [`ConnectRace`].
#[derive(Debug)]
pub enum RaceStep {
    /// Start connecting to `addr` as attempt number `attempt` (0, 1, ...).
    Start {
        /// The attempt's number, passed back to [`ConnectRace::failed`].
        attempt: usize,
        /// Where to connect.
        addr: SocketAddr,
    },
    /// Wait for an attempt in flight to end, or until `until` (`None`: no
    /// limit), then ask again.
    Wait {
        /// When to ask again even if no attempt ended.
        until: Option<Instant>,
    },
    /// The race is lost: give up with this error (drop any attempt left).
    Failed(Error),
}

/// The state of one race over a host's addresses: see the [module
/// documentation](self).
#[derive(Debug)]
pub struct ConnectRace {
    target: Address,
    order: Vec<SocketAddr>,
    next: usize,
    running: usize,
    next_start: Instant,
    delay: Duration,
    deadline: Option<Instant>,
    timeout: Option<Duration>,
    last_error: Option<Error>,
}

impl ConnectRace {
    /// A race for `target` over `addrs` (as resolved), started at `now`.
    ///
    /// Fails with [`Error::Config`] when `options.local_address` is of a
    /// family none of `addrs` has.
    pub fn new(
        target: &Address,
        addrs: Vec<SocketAddr>,
        options: &ClientOptions,
        now: Instant,
    ) -> Result<Self, Error> {
        let addrs: Vec<SocketAddr> = match options.local_address {
            Some(local) => addrs
                .into_iter()
                .filter(|addr| addr.is_ipv6() == local.is_ipv6())
                .collect(),
            None => addrs,
        };
        if addrs.is_empty() {
            return Err(Error::Config(format!(
                "{target} has no address of the local address's family ({})",
                options
                    .local_address
                    .map_or_else(String::new, |l| l.to_string())
            )));
        }
        Ok(ConnectRace {
            target: target.clone(),
            order: interleave(addrs),
            next: 0,
            running: 0,
            next_start: now,
            delay: options.happy_eyeballs_delay,
            deadline: options
                .connect_timeout
                .and_then(|timeout| now.checked_add(timeout)),
            timeout: options.connect_timeout,
            last_error: None,
        })
    }

    /// The addresses in the order they are tried.
    pub fn order(&self) -> &[SocketAddr] {
        &self.order
    }

    /// How long an attempt started at `now` may take: what is left of the
    /// connect timeout (`None`: no limit). For drivers whose connects block.
    pub fn time_left(&self, now: Instant) -> Option<Duration> {
        self.deadline.map(|at| at.saturating_duration_since(now))
    }

    /// What to do at `now`.
    pub fn step(&mut self, now: Instant) -> RaceStep {
        if self.deadline.is_some_and(|at| now >= at) {
            return RaceStep::Failed(Error::ConnectTimeout {
                target: self.target.to_string(),
                timeout: self.timeout.unwrap_or_default(),
            });
        }
        let more = self.next < self.order.len();
        if more && (self.running == 0 || now >= self.next_start) {
            let attempt = self.next;
            self.next += 1;
            self.running += 1;
            self.next_start = now.checked_add(self.delay).unwrap_or(now);
            return RaceStep::Start {
                attempt,
                addr: self.order[attempt],
            };
        }
        if self.running == 0 {
            let err = self.last_error.take().unwrap_or_else(|| {
                Error::Config(format!("no address to connect to for {}", self.target))
            });
            return RaceStep::Failed(err);
        }
        let until = match (more.then_some(self.next_start), self.deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        RaceStep::Wait { until }
    }

    /// Attempt `attempt` failed with `err` at `now`. The next address is
    /// tried at once when no other attempt is in flight.
    pub fn failed(&mut self, attempt: usize, err: io::Error, _now: Instant) {
        self.running = self.running.saturating_sub(1);
        let addr = self.order[attempt];
        self.last_error = Some(connect_error(err, addr, &self.target, self.timeout));
    }
}

/// IPv6 and IPv4 addresses in turn, starting with IPv6, each family in
/// its given order.
fn interleave(addrs: Vec<SocketAddr>) -> Vec<SocketAddr> {
    let (v6, v4): (Vec<_>, Vec<_>) = addrs.into_iter().partition(SocketAddr::is_ipv6);
    let mut order = Vec::with_capacity(v6.len() + v4.len());
    let (mut v6, mut v4) = (v6.into_iter(), v4.into_iter());
    loop {
        match (v6.next(), v4.next()) {
            (None, None) => return order,
            (a, b) => order.extend(a.into_iter().chain(b)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netproto_core::options::{HAPPY_EYEBALLS_DELAY as HAPPY, IntoAddress};

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn target() -> Address {
        "host.test:80".into_address().unwrap()
    }

    fn start(step: RaceStep) -> (usize, SocketAddr) {
        match step {
            RaceStep::Start { attempt, addr } => (attempt, addr),
            other => panic!("expected a start, got {other:?}"),
        }
    }

    #[test]
    fn families_alternate_starting_with_ipv6() {
        let addrs = vec![
            addr("10.0.0.1:80"),
            addr("10.0.0.2:80"),
            addr("10.0.0.3:80"),
            addr("[::1]:80"),
            addr("[::2]:80"),
        ];
        let race = ConnectRace::new(&target(), addrs, &ClientOptions::default(), Instant::now());
        assert_eq!(
            race.unwrap().order(),
            [
                addr("[::1]:80"),
                addr("10.0.0.1:80"),
                addr("[::2]:80"),
                addr("10.0.0.2:80"),
                addr("10.0.0.3:80"),
            ]
        );
    }

    #[test]
    fn the_next_attempt_starts_after_the_delay_or_a_failure() {
        let t0 = Instant::now();
        let delay = Duration::from_millis(250);
        let options = ClientOptions::default()
            .happy_eyeballs_delay(delay)
            .connect_timeout(Duration::from_secs(10));
        let addrs = vec![addr("[::1]:80"), addr("10.0.0.1:80"), addr("10.0.0.2:80")];
        let mut race = ConnectRace::new(&target(), addrs, &options, t0).unwrap();
        assert_eq!(start(race.step(t0)), (0, addr("[::1]:80")));
        // The first has its delay to itself.
        assert!(matches!(race.step(t0), RaceStep::Wait { until: Some(at) } if at == t0 + delay));
        let t1 = t0 + Duration::from_millis(100);
        assert!(matches!(race.step(t1), RaceStep::Wait { .. }));
        // It fails early: the next one starts at once.
        race.failed(0, io::ErrorKind::ConnectionRefused.into(), t1);
        assert_eq!(start(race.step(t1)), (1, addr("10.0.0.1:80")));
        // That one hangs: after the delay the last one joins it.
        let t2 = t1 + delay;
        assert_eq!(start(race.step(t2)), (2, addr("10.0.0.2:80")));
        // Nothing left to start: wait for the attempts, until the deadline.
        assert!(
            matches!(race.step(t2), RaceStep::Wait { until: Some(at) } if at == t0 + Duration::from_secs(10))
        );
    }

    #[test]
    fn the_connect_timeout_is_for_the_whole_race() {
        let t0 = Instant::now();
        let timeout = Duration::from_secs(1);
        let options = ClientOptions::default().connect_timeout(timeout);
        let addrs = vec![addr("10.0.0.1:80"), addr("10.0.0.2:80")];
        let mut race = ConnectRace::new(&target(), addrs, &options, t0).unwrap();
        start(race.step(t0));
        start(race.step(t0 + HAPPY));
        assert_eq!(race.time_left(t0 + HAPPY), Some(timeout - HAPPY));
        match race.step(t0 + timeout) {
            RaceStep::Failed(Error::ConnectTimeout { target, timeout: t }) => {
                assert_eq!((target.as_str(), t), ("host.test:80", timeout));
            }
            other => panic!("expected a timeout, got {other:?}"),
        }
    }

    #[test]
    fn when_every_address_fails_the_last_error_is_reported() {
        let t0 = Instant::now();
        let addrs = vec![addr("10.0.0.1:80"), addr("10.0.0.2:80")];
        let mut race = ConnectRace::new(&target(), addrs, &ClientOptions::default(), t0).unwrap();
        start(race.step(t0));
        race.failed(0, io::ErrorKind::ConnectionRefused.into(), t0);
        start(race.step(t0));
        race.failed(1, io::ErrorKind::ConnectionRefused.into(), t0);
        match race.step(t0) {
            RaceStep::Failed(Error::ConnectionRefused { addr: a }) => {
                assert_eq!(a, addr("10.0.0.2:80"));
            }
            other => panic!("expected the last refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_local_address_keeps_its_family() {
        let t0 = Instant::now();
        let addrs = vec![addr("[::1]:80"), addr("10.0.0.1:80")];
        let options = ClientOptions::default().local_address(addr("127.0.0.1:0"));
        let race = ConnectRace::new(&target(), addrs.clone(), &options, t0).unwrap();
        assert_eq!(race.order(), [addr("10.0.0.1:80")]);
        let options = ClientOptions::default().local_address(addr("[::1]:0"));
        let err = ConnectRace::new(&target(), vec![addrs[1]], &options, t0).unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{err:?}");
    }
}
