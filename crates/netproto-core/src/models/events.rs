//! The `Connected` / `Disconnected` state machine of
//! [`ConnectionEvents`] under concurrent callers.

use std::net::SocketAddr;
use std::sync::Arc;

use shuttle::sync::Mutex;
use shuttle::thread;

use super::explore;
use crate::endpoint::ConnectionEvents;
use crate::error::Error;
use crate::options::{ConnectionEvent, EventCallback};

/// Three threads report on one connection at once, as a receive, a send
/// and a closer do:
///
/// * A: `connected`, then `disconnected`;
/// * B: `connected`, then `note` of a reset (a reason);
/// * C: `note_reason("server shut down")`, then `disconnected`.
///
/// Invariants, for every schedule:
/// * `Connected` is emitted exactly once (both A and B report it) and
///   `Disconnected` exactly once (A always reports after a `connected`, and
///   two callers report), `Connected` first;
/// * the reason kept is the first one noted and never changes: `reason()`
///   read by C right after noting is the final one, and a `Disconnected`
///   that carries a reason carries that one.
#[test]
fn each_event_once_and_the_first_reason_kept() {
    explore(1000, || {
        let peer: SocketAddr = "192.0.2.7:7".parse().unwrap();
        let seen: Arc<Mutex<Vec<ConnectionEvent>>> = Arc::default();
        let sink = seen.clone();
        let callback: EventCallback = Arc::new(move |e| sink.lock().unwrap().push(e.clone()));
        let events = Arc::new(ConnectionEvents::new(Some(callback), peer));
        let local: SocketAddr = "192.0.2.1:1".parse().unwrap();

        let a = {
            let events = events.clone();
            thread::spawn(move || {
                events.connected(local);
                events.disconnected();
            })
        };
        let b = {
            let events = events.clone();
            thread::spawn(move || {
                events.connected(local);
                events.note(&Error::ConnectionReset { peer: peer.into() });
            })
        };
        let c = {
            let events = events.clone();
            thread::spawn(move || {
                events.note_reason(ConnectionEvents::SERVER_SHUT_DOWN);
                let seen_by_c = events.reason().map(str::to_owned);
                events.disconnected();
                seen_by_c
            })
        };
        a.join().unwrap();
        b.join().unwrap();
        let seen_by_c = c.join().unwrap().expect("C noted a reason");

        let reason = events.reason().expect("two reasons were noted").to_owned();
        assert_eq!(reason, seen_by_c, "a reason once kept never changes");
        let seen = seen.lock().unwrap();
        let connected = seen
            .iter()
            .filter(|e| matches!(e, ConnectionEvent::Connected { .. }))
            .count();
        let disconnected: Vec<&Option<String>> = seen
            .iter()
            .filter_map(|e| match e {
                ConnectionEvent::Disconnected { reason, .. } => Some(reason),
                _ => None,
            })
            .collect();
        assert_eq!(connected, 1, "Connected once: {seen:?}");
        assert_eq!(disconnected.len(), 1, "Disconnected once: {seen:?}");
        assert!(
            matches!(seen[0], ConnectionEvent::Connected { .. }),
            "Connected first: {seen:?}"
        );
        if let Some(carried) = disconnected[0] {
            assert_eq!(*carried, reason, "Disconnected carries the kept reason");
        }
    });
}
