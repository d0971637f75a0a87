use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;

use crate::addr::PeerAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::*;
use crate::datagram::DatagramProtocol;
use crate::protocol::Protocol;
use crate::serializer::Utf8;

/// What a [`Queue`] delivers next: a datagram and its sender, or an error.
type Inbound = VecDeque<io::Result<(Vec<u8>, PeerAddr)>>;

/// A socket whose receive queue is a list of datagrams (truncated to the
/// receive buffer, as a kernel does) or errors.
#[derive(Default)]
struct Queue {
    inbound: Mutex<Inbound>,
    sent: Mutex<Vec<(Vec<u8>, Option<PeerAddr>)>>,
    full: AtomicUsize,
    woken: AtomicUsize,
}

impl Queue {
    fn deliver(&self, datagram: &[u8], from: PeerAddr) {
        self.inbound
            .lock()
            .unwrap()
            .push_back(Ok((datagram.to_vec(), from)));
    }
}

impl DatagramTransport for Queue {
    fn recv_from(&self, buf: &mut [u8], _: Option<Duration>) -> io::Result<(usize, PeerAddr)> {
        let (datagram, from) = self
            .inbound
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or_else(|| Err(io::ErrorKind::WouldBlock.into()))?;
        let n = datagram.len().min(buf.len());
        buf[..n].copy_from_slice(&datagram[..n]);
        Ok((n, from))
    }

    fn send_to(
        &self,
        datagram: &[u8],
        to: Option<&PeerAddr>,
        _: Option<Duration>,
    ) -> io::Result<usize> {
        if self.full.load(Ordering::Relaxed) > 0 {
            self.full.fetch_sub(1, Ordering::Relaxed);
            return Err(io::ErrorKind::WouldBlock.into());
        }
        self.sent
            .lock()
            .unwrap()
            .push((datagram.to_vec(), to.cloned()));
        Ok(datagram.len())
    }

    fn wake_receivers(&self) {
        self.woken.fetch_add(1, Ordering::Relaxed);
    }
}

fn addr(port: u16) -> PeerAddr {
    PeerAddr::Inet(SocketAddr::from(([127, 0, 0, 1], port)))
}

type Numbers = crate::protocol::TryMapReceived<
    DatagramProtocol<Utf8>,
    fn(String) -> Result<u32, std::num::ParseIntError>,
>;

fn numbers(max: usize, peer: Option<PeerAddr>) -> DatagramEngine<Numbers> {
    let protocol = DatagramProtocol::new(Utf8)
        .try_map_received((|s: String| s.parse::<u32>()) as fn(String) -> _);
    let options = DatagramOptions::default().max_datagram_size(max);
    DatagramEngine::new(protocol, &options, addr(1), peer)
}

fn recv_now<P: ForDatagrams>(
    engine: &DatagramEngine<P>,
    io: &Queue,
) -> Step<Result<(P::Received, PeerAddr), Error>> {
    let now = Instant::now();
    let mut op = engine.recv(now, None);
    engine.poll_recv(&mut op, io, now)
}

#[test]
fn a_bad_datagram_is_an_error_for_itself_only() {
    let engine = numbers(16, Some(addr(2)));
    let io = Queue::default();
    io.deliver(b"1", addr(2));
    io.deliver(b"one", addr(2));
    io.deliver(b"3", addr(2));
    assert!(matches!(recv_now(&engine, &io), Step::Ready(Ok((1, _)))));
    match recv_now(&engine, &io) {
        Step::Ready(Err(err @ Error::Deserialize { .. })) => {
            assert!(err.is_recoverable());
            let Error::Deserialize { peer, source } = err else {
                unreachable!()
            };
            assert_eq!((peer, &source.frame[..]), (addr(2), &b"one"[..]));
        }
        other => panic!("expected a deserialize error, got {other:?}"),
    }
    assert!(matches!(recv_now(&engine, &io), Step::Ready(Ok((3, _)))));
    assert!(matches!(recv_now(&engine, &io), Step::Readable(None)));
}

#[test]
fn a_datagram_over_the_maximum_is_refused_whole_never_cut() {
    let engine = numbers(4, None);
    let io = Queue::default();
    io.deliver(b"1234", addr(7));
    io.deliver(b"12345", addr(8));
    io.deliver(b"123456789", addr(8));
    io.deliver(b"5", addr(9));
    assert!(matches!(recv_now(&engine, &io), Step::Ready(Ok((1234, _)))));
    for _ in 0..2 {
        match recv_now(&engine, &io) {
            Step::Ready(Err(err)) => {
                assert!(err.is_recoverable() && err.is_peer_fault());
                assert_eq!(
                    err.to_string(),
                    "datagram from 127.0.0.1:8 of at least 5 bytes exceeds the maximum datagram size of 4"
                );
            }
            other => panic!("expected DatagramTooLong, got {other:?}"),
        }
    }
    assert!(matches!(
        recv_now(&engine, &io),
        Step::Ready(Ok((5, from))) if from == addr(9)
    ));
}

#[test]
fn a_packet_over_the_maximum_is_refused_before_sending() {
    let engine = numbers(4, Some(addr(2)));
    let io = Queue::default();
    let now = Instant::now();
    let mut op = SendDatagram::new("1234", None);
    assert!(matches!(
        engine.poll_send(&mut op, &io, now),
        Step::Ready(Ok(()))
    ));
    let mut op = SendDatagram::new("12345", None);
    match engine.poll_send(&mut op, &io, now) {
        Step::Ready(Err(Error::Encode(err))) => assert_eq!(
            err.to_string(),
            "datagram of 5 bytes exceeds the maximum datagram size of 4"
        ),
        other => panic!("expected an encode error, got {other:?}"),
    }
    assert_eq!(io.sent.lock().unwrap()[..], [(b"1234".to_vec(), None)]);
}

#[test]
fn an_endpoint_sends_where_it_is_told_and_needs_a_destination() {
    let engine = numbers(16, None);
    let io = Queue::default();
    let now = Instant::now();
    let mut op = SendDatagram::new("7", Some(addr(3)));
    assert!(matches!(
        engine.poll_send(&mut op, &io, now),
        Step::Ready(Ok(()))
    ));
    assert_eq!(
        io.sent.lock().unwrap()[..],
        [(b"7".to_vec(), Some(addr(3)))]
    );
    let mut op = SendDatagram::new("7", None);
    assert!(matches!(
        engine.poll_send(&mut op, &io, now),
        Step::Ready(Err(Error::Config(_)))
    ));
}

#[test]
fn a_receive_timeout_loses_nothing() {
    let engine = numbers(16, Some(addr(2)));
    let io = Queue::default();
    let t0 = Instant::now();
    let mut op = engine.recv(t0, Some(Duration::from_secs(1)));
    assert!(matches!(
        engine.poll_recv(&mut op, &io, t0),
        Step::Readable(Some(at)) if at == t0 + Duration::from_secs(1)
    ));
    match engine.poll_recv(&mut op, &io, t0 + Duration::from_secs(1)) {
        Step::Ready(Err(err)) => {
            assert!(matches!(
                err,
                Error::Timeout {
                    kind: TimeoutKind::Receive,
                    ..
                }
            ));
            assert!(err.is_recoverable());
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    io.deliver(b"42", addr(2));
    assert!(matches!(recv_now(&engine, &io), Step::Ready(Ok((42, _)))));
}

#[test]
fn a_send_waits_for_the_socket_then_times_out() {
    let engine = numbers(16, Some(addr(2)));
    let io = Queue::default();
    io.full.store(2, Ordering::Relaxed);
    let t0 = Instant::now();
    let mut op = SendDatagram::new("1", None).timeout(t0, Duration::from_secs(1));
    assert!(matches!(
        engine.poll_send(&mut op, &io, t0),
        Step::Writable(Some(_))
    ));
    assert!(matches!(
        engine.poll_send(&mut op, &io, t0 + Duration::from_secs(2)),
        Step::Ready(Err(Error::Timeout {
            kind: TimeoutKind::Send,
            ..
        }))
    ));
    let mut op = SendDatagram::new("2", None);
    assert!(matches!(
        engine.poll_send(&mut op, &io, t0),
        Step::Writable(None)
    ));
    assert!(matches!(
        engine.poll_send(&mut op, &io, t0),
        Step::Ready(Ok(()))
    ));
    assert_eq!(io.sent.lock().unwrap().len(), 1);
}

#[test]
fn close_wakes_receivers_and_ends_everything() {
    let engine = numbers(16, Some(addr(2)));
    let io = Queue::default();
    io.deliver(b"1", addr(2));
    assert!(engine.close(&io));
    assert!(!engine.close(&io));
    assert_eq!(io.woken.load(Ordering::Relaxed), 1);
    assert!(engine.is_closed());
    assert!(matches!(
        recv_now(&engine, &io),
        Step::Ready(Err(Error::Closed))
    ));
    let mut op = SendDatagram::new("1", None);
    assert!(matches!(
        engine.poll_send(&mut op, &io, Instant::now()),
        Step::Ready(Err(Error::Closed))
    ));
}

#[test]
fn an_endpoint_goes_on_after_a_reported_unreachable_port() {
    let engine = numbers(16, None);
    let io = Queue::default();
    io.inbound
        .lock()
        .unwrap()
        .push_back(Err(io::ErrorKind::ConnectionReset.into()));
    io.deliver(b"8", addr(5));
    assert!(matches!(recv_now(&engine, &io), Step::Ready(Ok((8, _)))));

    // A connected client reports it: the peer is not listening.
    let client = numbers(16, Some(addr(2)));
    io.inbound
        .lock()
        .unwrap()
        .push_back(Err(io::ErrorKind::ConnectionRefused.into()));
    assert!(matches!(
        recv_now(&client, &io),
        Step::Ready(Err(Error::ConnectionRefused { addr: a })) if a == addr(2)
    ));
}

#[test]
fn the_protocol_converters_apply_to_datagrams() {
    let protocol = DatagramProtocol::new(Utf8).map_sent(|n: &u8| n.to_string());
    let options = DatagramOptions::default();
    let engine = DatagramEngine::new(protocol, &options, addr(1), Some(addr(2)));
    let io = Queue::default();
    let mut op = SendDatagram::new(&7u8, None);
    assert!(matches!(
        engine.poll_send(&mut op, &io, Instant::now()),
        Step::Ready(Ok(()))
    ));
    assert_eq!(io.sent.lock().unwrap()[0].0, b"7");
    assert_eq!(
        engine.max_datagram_size(),
        crate::options::MAX_DATAGRAM_SIZE
    );
}
