//! [`PeerTable`]: a datagram server's per-peer state.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::hash::Hash;
use std::time::{Duration, Instant};

use crate::addr::PeerAddr;
use crate::options::ConnectionEvent;

/// The bounds of a [`PeerTable`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerLimits {
    /// The most peers known at once (at least 1; default 1024). A datagram
    /// from a new peer beyond it is dropped and counted.
    pub max_peers: usize,
    /// The most datagrams queued for one peer (at least 1; default 64). A
    /// datagram beyond it is dropped and counted.
    pub queue_len: usize,
    /// A peer with nothing queued and no datagram taken or received for
    /// this long is forgotten (`None`: never; default 60 s).
    pub idle_timeout: Option<Duration>,
    /// The shortest time between two reports of dropped datagrams (default
    /// 1 s): a flood gives one event per interval, with the counts.
    pub report_interval: Duration,
}

impl Default for PeerLimits {
    fn default() -> Self {
        PeerLimits {
            max_peers: 1024,
            queue_len: 64,
            idle_timeout: Some(Duration::from_secs(60)),
            report_interval: Duration::from_secs(1),
        }
    }
}

/// What [`PeerTable::push`] did with a datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pushed {
    /// The datagram is queued for a peer that was not known: start its
    /// handler.
    NewPeer,
    /// The datagram is queued behind the peer's others.
    Queued,
    /// Dropped (and counted): the peer's queue was full.
    QueueFull,
    /// Dropped (and counted): the datagram came from a new peer while the
    /// table was full.
    TooManyPeers,
    /// Dropped (and counted): the sender cannot be replied to (an unnamed
    /// Unix socket, [`PeerTable::unreachable`]).
    Unreachable,
}

impl Pushed {
    /// Whether the datagram was dropped.
    pub fn dropped(self) -> bool {
        matches!(
            self,
            Pushed::QueueFull | Pushed::TooManyPeers | Pushed::Unreachable
        )
    }
}

struct Peer<D> {
    queue: VecDeque<D>,
    last_active: Instant,
    /// Whether the peer lost a datagram since the last report.
    lost: bool,
}

/// A datagram server's peers: a bounded queue of datagrams per peer (in
/// arrival order), a bound on the number of peers, idle expiry, and the
/// count of what was dropped — sans-IO, with the time passed in.
///
/// Memory is bounded by `max_peers × queue_len` datagrams (each at most
/// the maximum datagram size). Nothing is dropped in silence:
/// [`report`](PeerTable::report) turns the counts into a
/// [`ConnectionEvent::DatagramsDropped`].
///
/// ```
/// use std::time::{Duration, Instant};
/// use netproto_core::driver::datagram::{PeerLimits, PeerTable, Pushed};
/// use netproto_core::options::ConnectionEvent;
///
/// let limits = PeerLimits { max_peers: 1, queue_len: 2, ..PeerLimits::default() };
/// let mut peers = PeerTable::new(limits);
/// let now = Instant::now();
/// assert_eq!(peers.push("alice", 1, now), Pushed::NewPeer);
/// assert_eq!(peers.push("alice", 2, now), Pushed::Queued);
/// assert_eq!(peers.push("alice", 3, now), Pushed::QueueFull);
/// assert_eq!(peers.push("bob", 4, now), Pushed::TooManyPeers);
/// assert_eq!(peers.pop(&"alice", now), Some(1));
/// let local = "127.0.0.1:9000".parse::<std::net::SocketAddr>().unwrap().into();
/// assert!(matches!(
///     peers.report(&local, now),
///     Some(ConnectionEvent::DatagramsDropped { queue_full: 1, too_many_peers: 1, peers: 1, .. })
/// ));
/// assert!(peers.report(&local, now).is_none()); // nothing new
/// ```
pub struct PeerTable<A, D> {
    limits: PeerLimits,
    peers: HashMap<A, Peer<D>>,
    queue_full: u64,
    too_many_peers: u64,
    unreachable: u64,
    /// When the first drop not reported yet happened.
    dropped_since: Option<Instant>,
    last_report: Option<Instant>,
    /// Datagrams from new peers are refused (a server shutting down).
    refuse_new: bool,
}

impl<A: Eq + Hash + Clone, D> PeerTable<A, D> {
    /// An empty table with these limits.
    pub fn new(limits: PeerLimits) -> Self {
        PeerTable {
            limits: PeerLimits {
                max_peers: limits.max_peers.max(1),
                queue_len: limits.queue_len.max(1),
                ..limits
            },
            peers: HashMap::new(),
            queue_full: 0,
            too_many_peers: 0,
            unreachable: 0,
            dropped_since: None,
            last_report: None,
            refuse_new: false,
        }
    }

    /// The limits.
    pub fn limits(&self) -> &PeerLimits {
        &self.limits
    }

    /// A datagram from `peer` arrived at `now`: queue it, or drop and
    /// count it.
    pub fn push(&mut self, peer: A, datagram: D, now: Instant) -> Pushed {
        let table_full = self.refuse_new || self.peers.len() >= self.limits.max_peers;
        match self.peers.get_mut(&peer) {
            Some(known) if known.queue.len() >= self.limits.queue_len => {
                known.lost = true;
                self.queue_full += 1;
                self.dropped_since.get_or_insert(now);
                Pushed::QueueFull
            }
            Some(known) => {
                known.queue.push_back(datagram);
                known.last_active = now;
                Pushed::Queued
            }
            None if table_full => {
                self.too_many_peers += 1;
                self.dropped_since.get_or_insert(now);
                Pushed::TooManyPeers
            }
            None => {
                let mut queue = VecDeque::new();
                queue.push_back(datagram);
                self.peers.insert(
                    peer,
                    Peer {
                        queue,
                        last_active: now,
                        lost: false,
                    },
                );
                Pushed::NewPeer
            }
        }
    }

    /// A datagram arrived at `now` from a sender that cannot be replied to
    /// (an unnamed Unix socket: no handler could answer it): drop and
    /// count it.
    pub fn unreachable(&mut self, now: Instant) -> Pushed {
        self.unreachable += 1;
        self.dropped_since.get_or_insert(now);
        Pushed::Unreachable
    }

    /// The next datagram queued for `peer`, taken at `now` (which counts
    /// as activity: the idle time starts again).
    pub fn pop(&mut self, peer: &A, now: Instant) -> Option<D> {
        let known = self.peers.get_mut(peer)?;
        let datagram = known.queue.pop_front()?;
        known.last_active = now;
        Some(datagram)
    }

    /// How many datagrams are queued for `peer`.
    pub fn queued(&self, peer: &A) -> usize {
        self.peers.get(peer).map_or(0, |known| known.queue.len())
    }

    /// Whether `peer` is known.
    pub fn contains(&self, peer: &A) -> bool {
        self.peers.contains_key(peer)
    }

    /// How many peers are known.
    pub fn len(&self) -> usize {
        self.peers.len()
    }

    /// Whether no peer is known.
    pub fn is_empty(&self) -> bool {
        self.peers.is_empty()
    }

    /// Forget `peer` (its handler ended), handing back what was still
    /// queued for it.
    pub fn remove(&mut self, peer: &A) -> Vec<D> {
        self.peers
            .remove(peer)
            .map(|known| known.queue.into())
            .unwrap_or_default()
    }

    /// Forget the peers idle at `now` — nothing queued, and no datagram
    /// received or taken for the idle timeout — and return them (the
    /// server ends their handlers). A peer with datagrams queued is never
    /// idle: its handler has work.
    pub fn expire(&mut self, now: Instant) -> Vec<A> {
        let Some(idle) = self.limits.idle_timeout else {
            return Vec::new();
        };
        let expired: Vec<A> = self
            .peers
            .iter()
            .filter(|(_, known)| {
                known.queue.is_empty() && now.saturating_duration_since(known.last_active) >= idle
            })
            .map(|(peer, _)| peer.clone())
            .collect();
        for peer in &expired {
            self.peers.remove(peer);
        }
        expired
    }

    /// From now on, a datagram from a peer that is not known is dropped
    /// and counted as `too_many_peers` (a server shutting down serves no
    /// new peer).
    pub fn refuse_new_peers(&mut self) {
        self.refuse_new = true;
    }

    /// When [`expire`](PeerTable::expire) or [`report`](PeerTable::report)
    /// next has something to do (`None`: nothing pending).
    pub fn next_deadline(&self) -> Option<Instant> {
        match (self.next_expiry(), self.next_report()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// When the first of the peers known now can expire (`None`: none
    /// can). A peer that becomes idle later (its queue empties, or it is
    /// new) expires no sooner than one idle timeout after that.
    pub fn next_expiry(&self) -> Option<Instant> {
        self.limits.idle_timeout.and_then(|idle| {
            self.peers
                .values()
                .filter(|known| known.queue.is_empty())
                .filter_map(|known| known.last_active.checked_add(idle))
                .min()
        })
    }

    /// When the drops counted so far can be reported: at once for the
    /// first, then one report interval after the last report (`None`:
    /// nothing to report).
    pub fn next_report(&self) -> Option<Instant> {
        let since = self.dropped_since?;
        match self.last_report {
            None => Some(since),
            Some(at) => at
                .checked_add(self.limits.report_interval)
                .map(|due| due.max(since)),
        }
    }

    /// The datagrams dropped since the last report, as an event for the
    /// server's callback — at once for the first drops, then at most once
    /// per report interval; `None` when nothing was dropped or the interval
    /// has not passed (the counts are kept for the next report).
    pub fn report(&mut self, local: &PeerAddr, now: Instant) -> Option<ConnectionEvent> {
        if self.queue_full + self.too_many_peers + self.unreachable == 0 {
            return None;
        }
        if let Some(at) = self.last_report {
            if now.saturating_duration_since(at) < self.limits.report_interval {
                return None;
            }
        }
        let mut peers = 0;
        for known in self.peers.values_mut() {
            peers += usize::from(std::mem::take(&mut known.lost));
        }
        self.last_report = Some(now);
        self.dropped_since = None;
        Some(ConnectionEvent::DatagramsDropped {
            local: local.clone(),
            queue_full: std::mem::take(&mut self.queue_full),
            too_many_peers: std::mem::take(&mut self.too_many_peers),
            unreachable: std::mem::take(&mut self.unreachable),
            peers,
        })
    }
}

impl<A, D> fmt::Debug for PeerTable<A, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PeerTable")
            .field("limits", &self.limits)
            .field("peers", &self.peers.len())
            .field("queue_full", &self.queue_full)
            .field("too_many_peers", &self.too_many_peers)
            .field("unreachable", &self.unreachable)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> PeerLimits {
        PeerLimits {
            max_peers: 2,
            queue_len: 3,
            idle_timeout: Some(Duration::from_secs(10)),
            report_interval: Duration::from_secs(1),
        }
    }

    fn local() -> PeerAddr {
        PeerAddr::Inet("127.0.0.1:9000".parse().unwrap())
    }

    fn dropped(event: Option<ConnectionEvent>) -> Option<(u64, u64, usize)> {
        match event? {
            ConnectionEvent::DatagramsDropped {
                queue_full,
                too_many_peers,
                peers,
                local: at,
                ..
            } => {
                assert_eq!(at, local());
                Some((queue_full, too_many_peers, peers))
            }
            other => panic!("unexpected event {other:?}"),
        }
    }

    #[test]
    fn each_peer_keeps_its_order_and_its_bound() {
        let t0 = Instant::now();
        let mut table = PeerTable::new(limits());
        assert_eq!(table.push('a', 1, t0), Pushed::NewPeer);
        assert_eq!(table.push('b', 10, t0), Pushed::NewPeer);
        assert_eq!(table.push('a', 2, t0), Pushed::Queued);
        assert_eq!(table.push('a', 3, t0), Pushed::Queued);
        assert_eq!(table.push('a', 4, t0), Pushed::QueueFull);
        assert!(Pushed::QueueFull.dropped() && !Pushed::Queued.dropped());
        assert_eq!(table.queued(&'a'), 3);
        assert_eq!(table.push('b', 11, t0), Pushed::Queued);
        assert_eq!(
            (1..=3)
                .map(|_| table.pop(&'a', t0).unwrap())
                .collect::<Vec<_>>(),
            [1, 2, 3]
        );
        assert_eq!(table.pop(&'a', t0), None);
        // Room again once the handler took what was queued.
        assert_eq!(table.push('a', 5, t0), Pushed::Queued);
        assert_eq!(table.pop(&'b', t0), Some(10));
        assert_eq!(table.remove(&'b'), [11]);
        assert!(!table.contains(&'b') && table.len() == 1);
    }

    #[test]
    fn new_peers_beyond_the_bound_are_counted_not_kept() {
        let t0 = Instant::now();
        let mut table = PeerTable::new(limits());
        table.push('a', 1, t0);
        table.push('b', 1, t0);
        for n in 0..1000 {
            assert_eq!(table.push('c', n, t0), Pushed::TooManyPeers);
        }
        assert_eq!(table.len(), 2);
        assert_eq!(dropped(table.report(&local(), t0)), Some((0, 1000, 0)));
    }

    #[test]
    fn drops_are_reported_once_per_interval_with_the_numbers() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut table = PeerTable::new(limits());
        assert!(table.report(&local(), t0).is_none());
        for n in 0..5 {
            table.push('a', n, t0);
        }
        table.push('b', 0, t0);
        table.push('c', 0, t0);
        // The first drops are reported at once.
        assert_eq!(dropped(table.report(&local(), t0)), Some((2, 1, 1)));
        assert!(table.report(&local(), t0).is_none());
        // More drops within the interval wait for it, counted.
        table.push('a', 9, t0 + ms(100));
        table.push('a', 9, t0 + ms(200));
        assert!(table.report(&local(), t0 + ms(500)).is_none());
        assert_eq!(table.next_deadline(), Some(t0 + ms(1000)));
        assert_eq!(
            dropped(table.report(&local(), t0 + ms(1000))),
            Some((2, 0, 1))
        );
        assert!(table.report(&local(), t0 + ms(5000)).is_none());
    }

    #[test]
    fn idle_peers_expire_but_busy_ones_do_not() {
        let t0 = Instant::now();
        let secs = Duration::from_secs;
        let mut table = PeerTable::new(limits());
        table.push('a', 1, t0);
        table.push('b', 1, t0);
        assert_eq!(table.pop(&'a', t0 + secs(2)), Some(1));
        // 'b' still has a datagram queued: not idle, however long.
        assert_eq!(table.next_deadline(), Some(t0 + secs(12)));
        assert!(table.expire(t0 + secs(11)).is_empty());
        assert_eq!(table.expire(t0 + secs(12)), ['a']);
        assert!(table.expire(t0 + secs(100)).is_empty());
        assert!(table.contains(&'b'));
        assert_eq!(table.pop(&'b', t0 + secs(100)), Some(1));
        assert_eq!(table.expire(t0 + secs(110)), ['b']);
        assert!(table.is_empty());
        assert_eq!(table.next_deadline(), None);

        let mut forever = PeerTable::new(PeerLimits {
            idle_timeout: None,
            ..limits()
        });
        forever.push('a', 1, t0);
        forever.pop(&'a', t0);
        assert!(forever.expire(t0 + secs(1_000_000)).is_empty());
    }
}
