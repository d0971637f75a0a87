//! The server [`Lifecycle`]: admission with `WhenFull::Wait`, slots freed by
//! connections ending, and shutdown, under concurrent accept loops,
//! connections and a shutdown handle.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use shuttle::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use shuttle::thread::{self, JoinHandle};

use super::explore;
use crate::options::{ServerOptions, WhenFull};
use crate::server::{Lifecycle, Reserve, Served, Slot};

/// A served connection's handle: records `force_close`.
#[derive(Clone, Default)]
struct Handle {
    closed: Arc<AtomicBool>,
}

impl Served for Handle {
    fn force_close(&self, _reason: &str) {
        self.closed.store(true, Ordering::SeqCst);
    }
    fn is_alive(&self) -> bool {
        true
    }
}

/// What the models share: the lifecycle and the number of connections that
/// hold a slot as the model counts them.
struct Server {
    lifecycle: Arc<Lifecycle<Handle>>,
    max: usize,
    live: AtomicUsize,
}

impl Server {
    /// A server that serves at most `max` connections at once.
    fn new(max: usize) -> Arc<Self> {
        let options = ServerOptions::default().max_connections(max, WhenFull::Wait);
        Arc::new(Server {
            lifecycle: Lifecycle::new(&options, None, false),
            max,
            live: AtomicUsize::new(0),
        })
    }

    /// One accept loop: admit up to `accepts` connections, each served on
    /// a thread of its own that registers its handle, yields and ends
    /// (dropping its slot); a full server is waited on through the
    /// listener `reserve` hands out. Returns the connection threads.
    fn accept_loop(self: &Arc<Self>, accepts: usize, port: u16) -> Vec<JoinHandle<()>> {
        let mut served = Vec::new();
        let peer = SocketAddr::from(([127, 0, 0, 1], port));
        while served.len() < accepts {
            let reserved = match self.lifecycle.reserve() {
                Reserve::Accept(reserved) => reserved,
                // A lost wake-up leaves this thread blocked for good, which
                // shuttle reports as a deadlock.
                Reserve::Full(listener) => {
                    shuttle::future::block_on(listener);
                    continue;
                }
                Reserve::ShutDown => break,
            };
            let Some(slot) = self.lifecycle.admit(peer, reserved) else {
                assert!(self.lifecycle.is_shutdown(), "a reserved slot is admitted");
                break;
            };
            let server = self.clone();
            served.push(thread::spawn(move || server.serve(slot)));
        }
        served
    }

    fn serve(&self, slot: Slot<Handle>) {
        let (live, max) = (self.live.fetch_add(1, Ordering::SeqCst) + 1, self.max);
        assert!(live <= max, "{live} connections served, limit {max}");
        let running = self.lifecycle.running();
        assert!(running <= max, "running() is {running}, limit {max}");
        slot.set(Handle::default());
        thread::yield_now();
        self.live.fetch_sub(1, Ordering::SeqCst);
        drop(slot);
    }

    /// Drive the shutdown to its end, waiting on the listeners it returns;
    /// time does not pass, so it can end only when no handler runs.
    fn finish_shutdown(&self) {
        let now = Instant::now();
        while let Some((listener, _)) = self.lifecycle.poll_shutdown(now) {
            shuttle::future::block_on(listener);
        }
        assert_eq!(
            self.lifecycle.running(),
            0,
            "shutdown ended with handlers running"
        );
    }
}

/// Two accept loops share a server limited to 2 connections
/// (`WhenFull::Wait`), each admitting 3 connections whose threads end on
/// their own; then shutdown (no grace period, time not passing).
///
/// Invariants, for every schedule:
/// * never more than 2 connections hold a slot (counted by the
///   connections themselves and by `running()`);
/// * a slot freed wakes an accept loop waiting on a full server: no loop
///   waits for good (shuttle fails a schedule in which every thread is
///   blocked);
/// * shutdown completes once every slot is gone — only then — and no
///   slot is left (`running() == 0`).
#[test]
fn the_limit_holds_and_a_freed_slot_wakes_the_accept_loop() {
    explore(500, || {
        let server = Server::new(2);
        let loops: Vec<_> = (0..2u16)
            .map(|i| {
                let server = server.clone();
                thread::spawn(move || server.accept_loop(3, 1000 + i))
            })
            .collect();
        let served: Vec<_> = loops.into_iter().flat_map(|l| l.join().unwrap()).collect();
        assert_eq!(
            served.len(),
            6,
            "every accept loop admitted its connections"
        );
        server.lifecycle.shutdown(Duration::ZERO);
        server.finish_shutdown();
        for connection in served {
            connection.join().unwrap();
        }
    });
}

/// A shutdown handle stops a server while its accept loop admits
/// connections and they end; the accept loop then drives the shutdown.
///
/// Invariants, for every schedule:
/// * after shutdown was asked for, nothing is admitted any more
///   (`reserve` says `ShutDown`, or `admit` turns the peer away);
/// * the shutdown completes (no lost wake-up while connections end) and
///   only once every slot is gone;
/// * never more than 2 connections hold a slot.
#[test]
fn shutdown_completes_once_every_slot_is_gone() {
    explore(500, || {
        let server = Server::new(2);
        let stopper = {
            let lifecycle = server.lifecycle.clone();
            thread::spawn(move || {
                thread::yield_now();
                lifecycle.shutdown(Duration::from_secs(3600));
            })
        };
        let served = server.accept_loop(4, 1000);
        stopper.join().unwrap();
        assert!(server.lifecycle.is_shutdown());
        assert!(
            matches!(server.lifecycle.reserve(), Reserve::ShutDown),
            "no admission after shutdown"
        );
        server.finish_shutdown();
        for connection in served {
            connection.join().unwrap();
        }
    });
}

/// One accept loop on a server of one connection admits two: the second
/// waits for the first connection to end. The narrowest case of a lost
/// wake-up — the only slot freed between the loop finding the server full
/// and its starting to wait.
///
/// Invariants, for every schedule:
/// * the loop is woken when the slot is freed: it admits its second
///   connection (shuttle fails a schedule in which every thread is
///   blocked);
/// * never more than one connection holds a slot;
/// * shutdown then completes, once the second connection is gone.
#[test]
fn a_freed_slot_wakes_the_waiting_accept_loop() {
    explore(500, || {
        let server = Server::new(1);
        let served = server.accept_loop(2, 1000);
        assert_eq!(served.len(), 2);
        server.lifecycle.shutdown(Duration::ZERO);
        server.finish_shutdown();
        for connection in served {
            connection.join().unwrap();
        }
    });
}
