//! The `Connected` / `Disconnected` bookkeeping of one connection: which
//! events were reported, and why the connection ended.

use crate::addr::PeerAddr;
use std::fmt;

use crate::error::{Error, TimeoutKind};
use crate::options::{ConnectionEvent, EventCallback};
use crate::sync::OnceLock;
use crate::sync::atomic::{AtomicU8, Ordering};

const NEW: u8 = 0;
/// `Connected` is being reported.
const CONNECTING: u8 = 1;
const CONNECTED: u8 = 2;
const DISCONNECTED: u8 = 3;
/// The connection was closed while `Connected` was being reported: the
/// caller reporting it reports `Disconnected` right after, so the callback
/// never sees them out of order.
const DISCONNECT_PENDING: u8 = 4;

/// One connection's events, as every driver reports them.
///
/// * [`connected`](ConnectionEvents::connected) reports
///   [`ConnectionEvent::Connected`] once the connection is set up (TLS
///   handshake done);
/// * [`note`](ConnectionEvents::note) remembers the first error that ended
///   the connection (a reset, a fatal framing or TLS error, an idle
///   timeout; not a clean close by either side), and
///   [`note_reason`](ConnectionEvents::note_reason) any other reason (a
///   server shutting down);
/// * [`disconnected`](ConnectionEvents::disconnected) reports
///   [`ConnectionEvent::Disconnected`] with that reason when the connection
///   is closed (by `close`, by dropping it, by the server): once, and only
///   for a connection that was reported `Connected` — a connection whose
///   setup failed is the server's `Rejected`, or the client's error.
///
/// It is `Sync`: every method takes `&self`.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use netproto_core::driver::endpoint::ConnectionEvents;
/// use netproto_core::options::ConnectionEvent;
/// use netproto_core::Error;
///
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let sink = seen.clone();
/// let peer = "10.0.0.5:8080".parse::<std::net::SocketAddr>().unwrap();
/// let events = ConnectionEvents::new(
///     Some(Arc::new(move |e: &ConnectionEvent| sink.lock().unwrap().push(e.clone()))),
///     peer,
/// );
/// events.connected("10.0.0.1:5000".parse::<std::net::SocketAddr>().unwrap());
/// events.note(&Error::ConnectionReset { peer: peer.into() });
/// events.disconnected();
/// events.disconnected(); // reported once
/// let seen = seen.lock().unwrap();
/// assert!(matches!(
///     &seen[..],
///     [ConnectionEvent::Connected { .. }, ConnectionEvent::Disconnected { reason: Some(r), .. }]
///         if r == "connection reset by 10.0.0.5:8080"
/// ));
/// ```
pub struct ConnectionEvents {
    callback: Option<EventCallback>,
    peer: PeerAddr,
    state: AtomicU8,
    reason: OnceLock<String>,
    /// The connection's span (feature `tracing`; zero-sized without it).
    span: crate::trace::Span,
}

impl ConnectionEvents {
    /// The reason given when a server closes a connection at the end of its
    /// shutdown's grace period.
    pub const SERVER_SHUT_DOWN: &'static str = "server shut down";

    /// The events of a connection to `peer`, reported to `callback`.
    pub fn new(callback: Option<EventCallback>, peer: impl Into<PeerAddr>) -> Self {
        let peer = peer.into();
        ConnectionEvents {
            callback,
            span: crate::trace::Span::connection(&peer),
            peer,
            state: AtomicU8::new(NEW),
            reason: OnceLock::new(),
        }
    }

    /// Record in the connection's span (feature `tracing`) whether it runs
    /// TLS.
    pub(crate) fn set_tls(&self, tls: bool) {
        self.span.set_tls(tls);
    }

    /// The connection is set up: report `Connected` (once).
    pub fn connected(&self, local: impl Into<PeerAddr>) {
        let local = local.into();
        if self
            .state
            .compare_exchange(NEW, CONNECTING, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return;
        }
        self.emit(ConnectionEvent::Connected {
            local,
            peer: self.peer.clone(),
        });
        if self
            .state
            .compare_exchange(CONNECTING, CONNECTED, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            // Closed meanwhile (`DISCONNECT_PENDING`): report it now.
            self.state.store(DISCONNECTED, Ordering::Release);
            self.emit_disconnected();
        }
    }

    /// An operation on the connection failed with `err`: remember it as the
    /// reason for `Disconnected` if it ended the connection and is the first
    /// such error. Errors for one packet, caller timeouts and clean closes
    /// ([`Error::Closed`], [`Error::ConnectionClosed`],
    /// [`Error::SendAfterEof`]) are not reasons.
    pub fn note(&self, err: &Error) {
        if ends_connection(err) && self.reason.set(err.to_string()).is_ok() {
            self.span.ended_by(err);
        }
    }

    /// Remember `reason` for `Disconnected`, unless a reason is known
    /// already.
    pub fn note_reason(&self, reason: impl fmt::Display) {
        if self.reason.get().is_none() && self.reason.set(reason.to_string()).is_ok() {
            self.span.ended_by(&reason);
        }
    }

    /// Why the connection ended, as far as known: the first noted reason
    /// (`None`: no error ended it — a clean close, or it is still open).
    pub fn reason(&self) -> Option<&str> {
        self.reason.get().map(String::as_str)
    }

    /// The connection is closed: report `Disconnected` with the first noted
    /// reason (`None`: a clean close). Only once, and only after
    /// [`connected`](ConnectionEvents::connected).
    ///
    /// Called while another thread is reporting `Connected`, it leaves
    /// `Disconnected` to that thread, which reports it right after.
    pub fn disconnected(&self) {
        let mut state = self.state.load(Ordering::Acquire);
        loop {
            let next = match state {
                CONNECTED => DISCONNECTED,
                CONNECTING => DISCONNECT_PENDING,
                _ => return,
            };
            match self
                .state
                .compare_exchange(state, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) if next == DISCONNECTED => return self.emit_disconnected(),
                Ok(_) => return,
                Err(actual) => state = actual,
            }
        }
    }

    fn emit_disconnected(&self) {
        self.emit(ConnectionEvent::Disconnected {
            peer: self.peer.clone(),
            reason: self.reason.get().cloned(),
        });
    }

    /// Report any event to the callback.
    pub fn emit(&self, event: ConnectionEvent) {
        self.span.event(&event);
        if let Some(callback) = &self.callback {
            callback(&event);
        }
    }

    /// The peer's address.
    pub fn peer(&self) -> &PeerAddr {
        &self.peer
    }
}

/// Whether `err` ended the connection for a reason worth reporting.
fn ends_connection(err: &Error) -> bool {
    match err {
        Error::Closed | Error::ConnectionClosed { .. } | Error::SendAfterEof => false,
        // The server closes an idle connection.
        Error::Timeout {
            kind: TimeoutKind::Idle,
            ..
        } => true,
        other => !other.is_recoverable(),
    }
}

impl fmt::Debug for ConnectionEvents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionEvents")
            .field("peer", &self.peer)
            .field("callback", &self.callback.is_some())
            .field("state", &self.state.load(Ordering::Acquire))
            .field("reason", &self.reason.get())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use super::*;

    fn recorder() -> (ConnectionEvents, Arc<Mutex<Vec<ConnectionEvent>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let callback: EventCallback = Arc::new(move |e| sink.lock().unwrap().push(e.clone()));
        let events = ConnectionEvents::new(
            Some(callback),
            "127.0.0.1:2".parse::<std::net::SocketAddr>().unwrap(),
        );
        (events, seen)
    }

    fn reasons(seen: &Mutex<Vec<ConnectionEvent>>) -> Vec<Option<String>> {
        seen.lock()
            .unwrap()
            .iter()
            .filter_map(|e| match e {
                ConnectionEvent::Disconnected { reason, .. } => Some(reason.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_clean_close_has_no_reason() {
        let (events, seen) = recorder();
        events.connected("127.0.0.1:1".parse::<std::net::SocketAddr>().unwrap());
        events.note(&Error::ConnectionClosed {
            peer: events.peer().clone(),
        });
        events.note(&Error::Closed);
        events.note(&Error::Timeout {
            kind: TimeoutKind::Receive,
            timeout: Duration::from_secs(1),
        });
        events.disconnected();
        assert_eq!(reasons(&seen), [None]);
        assert!(matches!(
            seen.lock().unwrap()[0],
            ConnectionEvent::Connected { .. }
        ));
    }

    #[test]
    fn the_first_failure_is_the_reason() {
        let (events, seen) = recorder();
        events.connected("127.0.0.1:1".parse::<std::net::SocketAddr>().unwrap());
        events.note(&Error::Timeout {
            kind: TimeoutKind::Idle,
            timeout: Duration::from_millis(300),
        });
        events.note_reason(ConnectionEvents::SERVER_SHUT_DOWN);
        events.disconnected();
        events.disconnected();
        assert_eq!(reasons(&seen), [Some("idle timed out after 300ms".into())]);
    }

    #[test]
    fn no_disconnect_without_connect() {
        let (events, seen) = recorder();
        events.note_reason("handshake failed");
        events.disconnected();
        assert!(seen.lock().unwrap().is_empty());
        // Nor a second Connected.
        events.connected("127.0.0.1:1".parse::<std::net::SocketAddr>().unwrap());
        events.connected("127.0.0.1:1".parse::<std::net::SocketAddr>().unwrap());
        assert_eq!(seen.lock().unwrap().len(), 1);
    }
}
