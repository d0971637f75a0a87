//! The optional `tracing` feature: a span per connection and an event for
//! each [`ConnectionEvent`], emitted by the core so that every driver
//! traces the same way. Without the feature this module is empty
//! functions and a zero-sized span: nothing is compiled in.
//!
//! * Span `connection`, level INFO, fields `peer` (the peer's address),
//!   `transport` (`tcp` or `unix`) and `tls` (`true` or `false`): opened
//!   when a connection's bookkeeping is created; its events (and the
//!   error that ended it) are inside it.
//! * Events, target `netproto`: `connected` and a clean `disconnected` at
//!   INFO; `disconnected` with a reason, `rejected`, `at capacity`,
//!   `accept failed`, `connect attempt failed` and `datagrams dropped` at
//!   WARN (a fatal `accept failed` at ERROR); the error that ended a
//!   connection at DEBUG when it is noted.

use crate::addr::PeerAddr;
use crate::options::ConnectionEvent;

/// A connection's span (zero-sized without the feature).
#[cfg(feature = "tracing")]
#[derive(Clone, Debug)]
pub(crate) struct Span(tracing::Span);

/// A connection's span (zero-sized without the feature).
#[cfg(not(feature = "tracing"))]
#[derive(Clone, Debug)]
pub(crate) struct Span;

impl Span {
    /// The span of a connection to `peer` (its `tls` field is recorded by
    /// [`set_tls`](Span::set_tls)).
    #[cfg(feature = "tracing")]
    pub(crate) fn connection(peer: &PeerAddr) -> Self {
        let transport = match peer {
            PeerAddr::Inet(_) => "tcp",
            PeerAddr::Unix(_) => "unix",
        };
        Span(tracing::info_span!(
            target: "netproto",
            "connection",
            peer = %peer,
            transport,
            tls = tracing::field::Empty
        ))
    }

    /// The span of a connection to `peer`.
    #[cfg(not(feature = "tracing"))]
    #[inline(always)]
    pub(crate) fn connection(_peer: &PeerAddr) -> Self {
        Span
    }

    /// Record whether the connection runs TLS.
    #[inline(always)]
    pub(crate) fn set_tls(&self, tls: bool) {
        #[cfg(feature = "tracing")]
        self.0.record("tls", tls);
        #[cfg(not(feature = "tracing"))]
        let _ = tls;
    }

    /// The error that ended the connection.
    #[inline(always)]
    pub(crate) fn ended_by(&self, error: &dyn std::fmt::Display) {
        #[cfg(feature = "tracing")]
        tracing::debug!(target: "netproto", parent: &self.0, %error, "connection failed");
        #[cfg(not(feature = "tracing"))]
        let _ = error;
    }

    /// `event`, inside this span.
    #[inline(always)]
    pub(crate) fn event(&self, event: &ConnectionEvent) {
        #[cfg(feature = "tracing")]
        {
            let _inside = self.0.enter();
            trace_event(event);
        }
        #[cfg(not(feature = "tracing"))]
        let _ = event;
    }
}

/// `event` outside any connection (a server's or a client's own events:
/// accept failures, refusals, connect attempts).
#[inline(always)]
pub(crate) fn event(event: &ConnectionEvent) {
    #[cfg(feature = "tracing")]
    trace_event(event);
    #[cfg(not(feature = "tracing"))]
    let _ = event;
}

#[cfg(feature = "tracing")]
fn trace_event(event: &ConnectionEvent) {
    use tracing::{error, info, warn};
    match event {
        ConnectionEvent::Connected { local, peer } => {
            info!(target: "netproto", %local, %peer, "connected");
        }
        ConnectionEvent::Disconnected { peer, reason: None } => {
            info!(target: "netproto", %peer, "disconnected");
        }
        ConnectionEvent::Disconnected {
            peer,
            reason: Some(reason),
        } => warn!(target: "netproto", %peer, %reason, "disconnected"),
        ConnectionEvent::Rejected { peer, reason } => {
            warn!(target: "netproto", %peer, %reason, "rejected");
        }
        ConnectionEvent::AtCapacity { max } => {
            warn!(target: "netproto", max, "at capacity");
        }
        ConnectionEvent::AcceptFailed {
            listener,
            error,
            retry_in: Some(retry_in),
        } => warn!(target: "netproto", %listener, %error, ?retry_in, "accept failed"),
        ConnectionEvent::AcceptFailed {
            listener,
            error,
            retry_in: None,
        } => error!(target: "netproto", %listener, %error, "accept failed; the server stops"),
        ConnectionEvent::ConnectAttemptFailed {
            target,
            attempt,
            error,
            retry_in,
        } => warn!(
            target: "netproto",
            %target, attempt, %error, ?retry_in, "connect attempt failed"
        ),
        ConnectionEvent::DatagramsDropped {
            local,
            queue_full,
            too_many_peers,
            unreachable,
            peers,
        } => warn!(
            target: "netproto",
            %local, queue_full, too_many_peers, unreachable, peers, "datagrams dropped"
        ),
    }
}

#[cfg(test)]
mod tests {
    #[cfg(not(feature = "tracing"))]
    use super::*;

    #[cfg(not(feature = "tracing"))]
    #[test]
    fn nothing_is_compiled_in_without_the_feature() {
        assert_eq!(std::mem::size_of::<Span>(), 0);
    }

    #[cfg(feature = "tracing")]
    #[test]
    fn a_connection_is_a_span_with_its_events_inside() {
        use std::io;
        use std::net::SocketAddr;
        use std::sync::{Arc, Mutex};
        use std::time::Instant;

        use crate::StreamProtocol;
        use crate::connection::{Step, memory};
        use crate::endpoint::{ConnectionEvents, ConnectionSetup};
        use crate::framing::Delimiter;
        use crate::options::ServerOptions;
        use crate::serializer::Utf8;

        #[derive(Clone, Default)]
        struct Captured(Arc<Mutex<Vec<u8>>>);
        impl io::Write for Captured {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }

        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let peer: SocketAddr = "127.0.0.1:5000".parse().unwrap();
            let local: SocketAddr = "127.0.0.1:7000".parse().unwrap();
            let setup = ConnectionSetup::server(&ServerOptions::default());
            let conn = setup
                .connection(StreamProtocol::new(Delimiter::lf(), Utf8), peer, local)
                .unwrap();
            let (ours, _theirs) = memory::pair(64);
            let now = Instant::now();
            let mut handshake = conn.handshake(now);
            assert!(matches!(
                conn.poll_handshake(&mut handshake, &ours, now),
                Step::Ready(Ok(()))
            ));
            conn.force_close(&ours, Some(ConnectionEvents::SERVER_SHUT_DOWN));
            setup.reject(peer, &crate::Error::Closed);
        });
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let span = "connection{peer=127.0.0.1:5000 transport=\"tcp\" tls=false}";
        let find = |what: &str| {
            lines
                .iter()
                .find(|line| line.contains(what))
                .unwrap_or_else(|| panic!("no {what:?} in:\n{text}"))
                .to_string()
        };
        let connected = find(": connected");
        assert!(
            connected.contains(" INFO ") && connected.contains(span),
            "{connected}"
        );
        let failed = find("connection failed");
        assert!(
            failed.contains(" DEBUG ") && failed.contains("server shut down"),
            "{failed}"
        );
        let disconnected = find(": disconnected");
        assert!(
            disconnected.contains(" WARN ")
                && disconnected.contains(span)
                && disconnected.contains("reason=server shut down"),
            "{disconnected}"
        );
        // A server's own events are outside any connection.
        let rejected = find(": rejected");
        assert!(
            rejected.contains(" WARN ") && !rejected.contains("connection{"),
            "{rejected}"
        );
    }
}
