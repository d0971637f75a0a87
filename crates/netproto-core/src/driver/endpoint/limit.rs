//! How long one receive may wait: the caller's timeout, or a served
//! connection's idle timeout.

use std::time::Duration;

use crate::error::{Error, TimeoutKind};

/// How long one receive may wait, and what it means when that time has
/// passed.
///
/// A served connection with an idle timeout must complete a packet within
/// it on every receive (measured from the call, not reset by trickled
/// bytes); `recv_packet_timeout(t)` waits for the earlier of `t` and the
/// idle timeout — the idle timeout on a tie, since its expiry closes the
/// connection.
///
/// ```
/// use std::time::Duration;
/// use netproto_core::driver::endpoint::RecvLimit;
///
/// let secs = Duration::from_secs;
/// assert_eq!(RecvLimit::new(None, None), None);
/// let limit = RecvLimit::new(Some(secs(5)), Some(secs(60))).unwrap();
/// assert_eq!((limit.timeout, limit.idle), (secs(5), false));
/// let limit = RecvLimit::new(None, Some(secs(60))).unwrap();
/// assert_eq!((limit.timeout, limit.idle), (secs(60), true));
/// assert_eq!(limit.expired().to_string(), "idle timed out after 60s");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecvLimit {
    /// How long the receive may wait.
    pub timeout: Duration,
    /// Whether this is the idle timeout: when it passes, the connection is
    /// closed.
    pub idle: bool,
}

impl RecvLimit {
    /// The limit of a receive with the caller's `timeout` (`None` for
    /// `recv_packet`) on a connection with `idle_timeout`; `None`: no limit.
    pub fn new(timeout: Option<Duration>, idle_timeout: Option<Duration>) -> Option<Self> {
        match idle_timeout {
            Some(idle) if timeout.is_none_or(|timeout| idle <= timeout) => Some(RecvLimit {
                timeout: idle,
                idle: true,
            }),
            _ => timeout.map(|timeout| RecvLimit {
                timeout,
                idle: false,
            }),
        }
    }

    /// The error once the limit has passed: [`Error::Timeout`] of kind
    /// [`TimeoutKind::Idle`] (the connection is then closed) or
    /// [`TimeoutKind::Receive`] (nothing is lost).
    pub fn expired(&self) -> Error {
        Error::Timeout {
            kind: if self.idle {
                TimeoutKind::Idle
            } else {
                TimeoutKind::Receive
            },
            timeout: self.timeout,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shorter_limit_wins_and_idle_wins_a_tie() {
        let ms = Duration::from_millis;
        let limit = |t, i| RecvLimit::new(t, i).map(|l| (l.timeout, l.idle));
        assert_eq!(limit(Some(ms(5)), None), Some((ms(5), false)));
        assert_eq!(limit(Some(ms(5)), Some(ms(9))), Some((ms(5), false)));
        assert_eq!(limit(Some(ms(9)), Some(ms(5))), Some((ms(5), true)));
        assert_eq!(limit(Some(ms(5)), Some(ms(5))), Some((ms(5), true)));
        assert_eq!(limit(None, Some(ms(5))), Some((ms(5), true)));
        let receive = RecvLimit::new(Some(ms(5)), None).unwrap().expired();
        assert!(matches!(
            receive,
            Error::Timeout {
                kind: TimeoutKind::Receive,
                ..
            }
        ));
        assert!(receive.is_recoverable());
    }
}
