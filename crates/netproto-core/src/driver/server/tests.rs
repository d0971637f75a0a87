use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::*;
use crate::options::WhenFull;

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

#[derive(Clone, Default)]
struct Probe {
    closed: Arc<AtomicUsize>,
    aborted: Arc<AtomicUsize>,
    dead: Arc<AtomicBool>,
}

impl Served for Probe {
    fn force_close(&self, _reason: &str) {
        self.closed.fetch_add(1, Ordering::SeqCst);
    }
    fn abort(&self) {
        self.aborted.fetch_add(1, Ordering::SeqCst);
    }
    fn is_alive(&self) -> bool {
        !self.dead.load(Ordering::SeqCst)
    }
}

fn recording(options: ServerOptions) -> (ServerOptions, Arc<Mutex<Vec<ConnectionEvent>>>) {
    let events: Arc<Mutex<Vec<ConnectionEvent>>> = Arc::default();
    let sink = events.clone();
    (
        options.on_event(move |event| sink.lock().unwrap().push(event.clone())),
        events,
    )
}

#[test]
fn auto_limit_follows_the_descriptor_limit() {
    assert_eq!(
        auto_connection_limit(Some(256)),
        256 - 32 - FD_RESERVE as usize
    );
    assert_eq!(auto_connection_limit(Some(1_048_576)), 917_488);
    assert_eq!(auto_connection_limit(Some(0)), 1);
    assert_eq!(
        auto_connection_limit(Some(u64::MAX)) > 1 << 40,
        usize::BITS == 64
    );
    assert_eq!(auto_connection_limit(None), UNKNOWN_FD_LIMIT_CONNECTIONS);
    let lifecycle = Lifecycle::<Probe>::new(&ServerOptions::default(), Some(1024), true);
    assert_eq!(lifecycle.max_connections(), 880);
    let lifecycle = Lifecycle::<Probe>::new(
        &ServerOptions::default().max_connections(3, WhenFull::Wait),
        Some(1024),
        true,
    );
    assert_eq!(lifecycle.max_connections(), 3);
}

#[test]
fn backoff_doubles_caps_and_starts_over() {
    let mut backoff = AcceptBackoff::default();
    let now = Instant::now();
    let emfile = io::Error::from_raw_os_error(24);
    let mut delays = Vec::new();
    for _ in 0..12 {
        let (event, resume) = backoff.failed(addr(1), &emfile, now);
        let ConnectionEvent::AcceptFailed {
            retry_in,
            listener,
            error,
        } = event
        else {
            panic!("not AcceptFailed: {event:?}");
        };
        assert_eq!(listener, addr(1));
        assert!(!error.is_empty());
        assert_eq!(resume, Some(now + retry_in.unwrap()));
        delays.push(retry_in.unwrap());
    }
    assert_eq!(delays[0], ACCEPT_BACKOFF_MIN);
    assert_eq!(delays[1], ACCEPT_BACKOFF_MIN * 2);
    assert_eq!(*delays.last().unwrap(), ACCEPT_BACKOFF_MAX);
    assert!(delays.windows(2).all(|w| w[0] <= w[1]));
    backoff.succeeded();
    let (_, resume) = backoff.failed(addr(1), &emfile, now);
    assert_eq!(resume, Some(now + ACCEPT_BACKOFF_MIN));
    // A broken listener is fatal: no retry.
    let (event, resume) =
        backoff.failed(addr(1), &io::Error::from(io::ErrorKind::InvalidInput), now);
    assert_eq!(resume, None);
    assert!(matches!(
        event,
        ConnectionEvent::AcceptFailed { retry_in: None, .. }
    ));
}

#[test]
fn shutdown_plan_grace_then_close_then_abort() {
    let t0 = Instant::now();
    let s = Duration::from_secs(1);
    let mut plan = ShutdownPlan::new(t0, 2 * s, 3 * s, true);
    assert_eq!(plan.poll(t0, 2), ShutdownStep::Wait(Some(t0 + 2 * s)));
    assert_eq!(plan.poll(t0 + s, 2), ShutdownStep::Wait(Some(t0 + 2 * s)));
    assert_eq!(plan.poll(t0 + 2 * s, 2), ShutdownStep::ForceClose);
    assert_eq!(
        plan.poll(t0 + 2 * s, 1),
        ShutdownStep::Wait(Some(t0 + 5 * s))
    );
    assert_eq!(plan.poll(t0 + 5 * s, 1), ShutdownStep::Abort);
    assert_eq!(plan.poll(t0 + 6 * s, 1), ShutdownStep::Wait(None));
    assert_eq!(plan.poll(t0 + 6 * s, 0), ShutdownStep::Done);
    // Handlers done within the grace period: nothing is closed.
    let mut plan = ShutdownPlan::new(t0, 2 * s, 3 * s, true);
    assert_eq!(plan.poll(t0 + s, 0), ShutdownStep::Done);
    // A driver that cannot abort gives up after the stop wait.
    let mut plan = ShutdownPlan::new(t0, Duration::ZERO, s, false);
    assert_eq!(plan.poll(t0, 1), ShutdownStep::ForceClose);
    assert_eq!(plan.poll(t0 + s, 1), ShutdownStep::Done);
    // A grace period too long for the clock does not overflow.
    let mut plan = ShutdownPlan::new(t0, Duration::MAX, s, false);
    assert!(matches!(plan.poll(t0, 1), ShutdownStep::Wait(Some(_))));
}

#[test]
fn wait_mode_reserves_and_wakes_when_a_slot_frees() {
    let (options, events) = recording(ServerOptions::default().max_connections(1, WhenFull::Wait));
    let lifecycle = Lifecycle::<Probe>::new(&options, None, true);
    let Reserve::Accept(Some(slot)) = lifecycle.reserve() else {
        panic!("no slot");
    };
    let slot = lifecycle.admit(addr(2), Some(slot)).expect("admitted");
    let Reserve::Full(listener) = lifecycle.reserve() else {
        panic!("not full");
    };
    assert_eq!(lifecycle.running(), 1);
    drop(slot);
    // The listener was registered before the slot was freed: notified.
    assert!(listener.wait_timeout(Duration::from_secs(5)).is_some());
    let slot = match lifecycle.reserve() {
        Reserve::Accept(Some(slot)) => slot,
        _ => panic!("room again"),
    };
    // Full twice in a row is reported once; full again after the server
    // had room is reported again.
    assert!(matches!(lifecycle.reserve(), Reserve::Full(_)));
    assert!(matches!(lifecycle.reserve(), Reserve::Full(_)));
    drop(slot);
    let _slot = match lifecycle.reserve() {
        Reserve::Accept(Some(slot)) => slot,
        _ => panic!("room again"),
    };
    assert!(matches!(lifecycle.reserve(), Reserve::Full(_)));
    let events = events.lock().unwrap();
    assert_eq!(events.len(), 3, "{events:?}");
    assert!(
        events
            .iter()
            .all(|e| matches!(e, ConnectionEvent::AtCapacity { max: 1 }))
    );
}

#[test]
fn refuse_mode_turns_away_with_the_numbers() {
    let (options, events) =
        recording(ServerOptions::default().max_connections(2, WhenFull::Refuse));
    let lifecycle = Lifecycle::<Probe>::new(&options, None, true);
    let mut slots = Vec::new();
    for port in 1..=2 {
        let Reserve::Accept(None) = lifecycle.reserve() else {
            panic!("refuse mode reserves nothing");
        };
        slots.push(lifecycle.admit(addr(port), None).expect("room"));
    }
    assert!(lifecycle.admit(addr(3), None).is_none());
    let events = events.lock().unwrap();
    let [ConnectionEvent::Rejected { peer, reason }] = events.as_slice() else {
        panic!("{events:?}");
    };
    assert_eq!(*peer, addr(3));
    assert!(reason.contains("limit of 2"), "{reason}");
}

#[test]
fn shutdown_closes_then_aborts_then_closes_the_accepted() {
    let options = ServerOptions::default().handler_stop_wait(Duration::from_secs(3));
    let lifecycle = Lifecycle::<Probe>::new(&options, None, true);
    let hooked = Arc::new(AtomicBool::new(false));
    let flag = hooked.clone();
    lifecycle.on_shutdown(move || flag.store(true, Ordering::SeqCst));
    let served = Probe::default();
    let accepted = Probe::default();
    let Reserve::Accept(reserved @ Some(_)) = lifecycle.reserve() else {
        panic!("the default is WhenFull::Wait: a reservation")
    };
    let slot = lifecycle.admit(addr(1), reserved).unwrap();
    slot.set(served.clone());
    lifecycle.register_accepted(accepted.clone());
    assert_eq!(lifecycle.handles().len(), 2);
    assert!(!lifecycle.is_shutdown());
    let waiting = lifecycle.shutdown_requested().unwrap_err();
    let handle = lifecycle.shutdown_handle();
    handle.shutdown(Duration::from_secs(2));
    handle.shutdown(Duration::ZERO);
    assert!(waiting.wait_timeout(Duration::from_secs(5)).is_some());
    assert!(hooked.load(Ordering::SeqCst) && handle.is_shutdown());
    assert!(matches!(lifecycle.reserve(), Reserve::ShutDown));
    assert!(
        lifecycle.admit(addr(9), None).is_none(),
        "no admission after shutdown"
    );

    let t0 = Instant::now();
    let s = Duration::from_secs(1);
    let (_, until) = lifecycle.poll_shutdown(t0).unwrap();
    assert_eq!(until, Some(t0 + 2 * s), "only the first grace counts");
    assert_eq!(served.closed.load(Ordering::SeqCst), 0);
    let (_, until) = lifecycle.poll_shutdown(t0 + 2 * s).unwrap();
    assert_eq!(until, Some(t0 + 5 * s));
    assert_eq!(served.closed.load(Ordering::SeqCst), 1);
    assert_eq!(accepted.closed.load(Ordering::SeqCst), 1);
    let (_, until) = lifecycle.poll_shutdown(t0 + 5 * s).unwrap();
    assert_eq!(until, None);
    assert_eq!(served.aborted.load(Ordering::SeqCst), 1);
    drop(slot);
    assert!(lifecycle.poll_shutdown(t0 + 5 * s).is_none());
    assert_eq!(
        accepted.closed.load(Ordering::SeqCst),
        3,
        "closed again at the end"
    );
    assert_eq!(lifecycle.handles().len(), 1, "the accepted one lives on");
    accepted.dead.store(true, Ordering::SeqCst);
    assert!(lifecycle.handles().is_empty());
}

#[test]
fn poll_shutdown_without_a_request_is_a_shutdown_without_grace() {
    let lifecycle = Lifecycle::<Probe>::new(&ServerOptions::default(), None, false);
    let _slot = lifecycle.admit(addr(1), None).unwrap();
    let now = Instant::now();
    assert!(lifecycle.poll_shutdown(now).is_some());
    assert!(lifecycle.is_shutdown());
    assert!(
        lifecycle
            .poll_shutdown(now + HANDLER_STOP_WAIT_FOR_TESTS)
            .is_none()
    );
}

const HANDLER_STOP_WAIT_FOR_TESTS: Duration = crate::options::HANDLER_STOP_WAIT;

#[test]
fn accept_failed_emits_the_backoff() {
    let (options, events) = recording(ServerOptions::default());
    let lifecycle = Lifecycle::<Probe>::new(&options, None, true);
    let now = Instant::now();
    let resume = lifecycle.accept_failed(addr(5), &io::Error::from_raw_os_error(24), now);
    assert_eq!(resume, Some(now + ACCEPT_BACKOFF_MIN));
    let resume = lifecycle.accept_failed(addr(5), &io::Error::from_raw_os_error(24), now);
    assert_eq!(resume, Some(now + 2 * ACCEPT_BACKOFF_MIN));
    // An accepted connection resets the back-off.
    drop(lifecycle.admit(addr(6), None));
    let resume = lifecycle.accept_failed(addr(5), &io::Error::from_raw_os_error(24), now);
    assert_eq!(resume, Some(now + ACCEPT_BACKOFF_MIN));
    let events = events.lock().unwrap();
    assert_eq!(events.len(), 3);
    assert!(events.iter().all(|e| matches!(
        e,
        ConnectionEvent::AcceptFailed { retry_in: Some(_), listener, .. } if *listener == addr(5)
    )));
}

#[test]
fn serving_flag() {
    let lifecycle = Lifecycle::<Probe>::new(&ServerOptions::default(), None, true);
    assert!(!lifecycle.is_serving());
    lifecycle.set_serving(true);
    assert!(lifecycle.is_serving());
    lifecycle.shutdown(Duration::ZERO);
    assert!(!lifecycle.is_serving());
}
