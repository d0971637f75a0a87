//! The conformance cases: one async function per behaviour, generic over
//! the [`Driver`] and run over a [`Transport`].
//!
//! [`conformance_suite!`](crate::conformance_suite) turns each into a
//! `#[test]`. Timeouts in the cases are correctness bounds (generous), never
//! speed assertions.

use std::future::Future;
use std::num::ParseIntError;
use std::pin::Pin;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use netproto_core::framing::{Delimiter, LengthPrefix};
use netproto_core::options::{Address, ConnectionEvent, IntoAddress};
use netproto_core::protocol::{StreamProtocol, TryMapReceived};
use netproto_core::serializer::{BytesSerializer, Utf8};
use netproto_core::{Error, Protocol};

use crate::family::{Family, StdStream};
use crate::{Addr, Driver, Target, TestProtocol, Transport};

mod client;
mod connect;
mod datagram;
mod engine;
mod lifecycle;
mod server;
mod tls;
#[cfg(unix)]
pub mod unix;

pub use client::*;
pub use connect::*;
pub use datagram::*;
pub use engine::*;
pub use lifecycle::*;
pub use server::*;
pub use tls::*;
#[cfg(unix)]
pub use unix::*;

/// Text lines ending in LF.
pub type Lines = StreamProtocol<Delimiter, Utf8>;

/// [`Lines`].
pub fn lines() -> Lines {
    StreamProtocol::new(Delimiter::lf(), Utf8)
}

/// Byte frames behind a big-endian u32 length (8 MiB limit).
pub type Frames = StreamProtocol<LengthPrefix, BytesSerializer>;

/// [`Frames`].
pub fn frames() -> Frames {
    StreamProtocol::new(LengthPrefix::u32_be(), BytesSerializer)
}

/// Lines that must parse as `u32`: a line that does not is a per-packet
/// deserialize error.
pub type Numbers = TryMapReceived<Lines, fn(String) -> Result<u32, ParseIntError>>;

fn parse_number(line: String) -> Result<u32, ParseIntError> {
    line.parse()
}

/// [`Numbers`].
pub fn numbers() -> Numbers {
    lines().try_map_received(parse_number as fn(String) -> Result<u32, ParseIntError>)
}

/// A [`Driver`] over TCP: the cases about TCP itself (host names and
/// ports, interfaces, `SO_REUSEPORT`, resets, identifying clients by their
/// address) take one.
pub trait TcpDriver: Driver<Family = netproto_core::addr::Tcp> {}

impl<D: Driver<Family = netproto_core::addr::Tcp>> TcpDriver for D {}

/// The target that reaches a server of `D` bound at `addr`.
pub fn target<D: Driver>(addr: &Addr<D>) -> Target<D> {
    D::Family::target(addr)
}

/// `addr` as the [`PeerAddr`](netproto_core::addr::PeerAddr) that errors
/// and events carry.
pub fn peer_of(addr: impl Into<netproto_core::addr::PeerAddr>) -> netproto_core::addr::PeerAddr {
    addr.into()
}

/// A generous bound for things that must happen "promptly".
pub const PROMPTLY: Duration = Duration::from_secs(10);

/// Connect with `transport`'s default options, panicking on failure.
pub async fn connect_to<D: Driver, P: TestProtocol>(
    address: Target<D>,
    protocol: P,
    transport: Transport,
) -> D::Client<P> {
    let target = address.to_string();
    D::connect(address, protocol, D::Family::client_options(transport))
        .await
        .unwrap_or_else(|err| panic!("connecting to {target} failed: {err}"))
}

/// Receive one packet, panicking with the error (and what was expected).
pub async fn recv_ok<D: Driver, P: TestProtocol>(client: &D::Client<P>, what: &str) -> P::Received {
    match D::recv_packet_timeout(client, PROMPTLY).await {
        Ok(packet) => packet,
        Err(err) => panic!("expected {what}, got error: {err}"),
    }
}

/// Receive, expecting an error within [`PROMPTLY`].
pub async fn recv_err<D: Driver, P: TestProtocol>(client: &D::Client<P>, what: &str) -> Error {
    match D::recv_packet_timeout(client, PROMPTLY).await {
        Ok(packet) => panic!("expected {what}, got packet {packet:?}"),
        Err(err) => err,
    }
}

/// Send, panicking on failure.
pub async fn send_ok<D: Driver, P: TestProtocol>(client: &D::Client<P>, packet: &P::Sent) {
    if let Err(err) = D::send_packet(client, packet).await {
        panic!("send failed: {err}");
    }
}

/// A one-shot signal from the async case to a peer thread.
pub fn gate() -> (mpsc::Sender<()>, mpsc::Receiver<()>) {
    mpsc::channel()
}

/// Wait for a [`gate`] signal on a peer thread (or the case being dropped).
pub fn wait_gate(gate: &mpsc::Receiver<()>) {
    let _ = gate.recv_timeout(crate::CASE_LIMIT);
}

struct Race<'a, F, S> {
    future: &'a mut F,
    sleep: Pin<Box<S>>,
}

impl<F: Future + Unpin, S: Future> Future for Race<'_, F, S> {
    type Output = Option<F::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Poll::Ready(value) = Pin::new(&mut *self.future).poll(cx) {
            return Poll::Ready(Some(value));
        }
        if self.sleep.as_mut().poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        Poll::Pending
    }
}

/// Poll `future` for at most `limit`: `None` if it is still pending then
/// (it can be polled again later).
pub async fn within<D: Driver, F: Future + Unpin>(
    limit: Duration,
    future: &mut F,
) -> Option<F::Output> {
    Race {
        future,
        sleep: Box::pin(D::sleep(limit)),
    }
    .await
}

/// A spawned task's output, boxed so that it can be raced with [`within`].
pub type Task<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Spawn `future` on `D`'s runtime.
pub fn spawn<D: Driver, T: Send + 'static>(
    future: impl Future<Output = T> + Send + 'static,
) -> Task<T> {
    Box::pin(D::spawn(future))
}

/// Connection events collected from an `on_event` callback.
#[derive(Clone, Default)]
pub struct Events(Arc<Mutex<Vec<ConnectionEvent>>>);

impl Events {
    /// A callback that records into these events.
    pub fn recorder(&self) -> impl Fn(&ConnectionEvent) + Send + Sync + 'static {
        let events = self.0.clone();
        move |event| events.lock().unwrap().push(event.clone())
    }

    /// What was recorded so far.
    pub fn snapshot(&self) -> Vec<ConnectionEvent> {
        self.0.lock().unwrap().clone()
    }

    /// Wait (up to [`PROMPTLY`]) until `pred` holds for the recorded events.
    pub async fn wait_for<D: Driver>(
        &self,
        what: &str,
        pred: impl Fn(&[ConnectionEvent]) -> bool,
    ) -> Vec<ConnectionEvent> {
        let start = std::time::Instant::now();
        loop {
            let events = self.snapshot();
            if pred(&events) {
                return events;
            }
            assert!(
                start.elapsed() < PROMPTLY,
                "no {what} event within {PROMPTLY:?}; events: {events:?}"
            );
            D::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// A free loopback port (bound, then released).
pub fn free_port_address() -> Address {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let addr = listener.local_addr().expect("local address");
    drop(listener);
    addr.into_address().expect("socket addresses convert")
}

/// Assert that `err` is a receive timeout.
pub fn assert_timeout(err: &Error) {
    assert!(
        matches!(
            err,
            Error::Timeout {
                kind: netproto_core::error::TimeoutKind::Receive,
                ..
            }
        ),
        "expected a receive timeout, got {err:?}"
    );
    assert!(err.is_recoverable());
    assert_eq!(err.io_kind(), std::io::ErrorKind::TimedOut);
}

/// The protocol's packets must be printable and sendable: checked at
/// compile time for the protocols above.
#[allow(dead_code)]
fn protocols_are_test_protocols() {
    fn check<P: TestProtocol + Protocol>(_: P) {}
    check(lines());
    check(frames());
    check(numbers());
}
