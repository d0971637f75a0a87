//! The endpoint harness: an arbitrary sequence of driver calls on an
//! `Endpoint`, checking what the calling contract promises; then whatever
//! the send half wrote is fed to a second endpoint, which must receive
//! exactly the packets that were queued.

use std::fmt::Debug;
use std::io;
use std::net::SocketAddr;

use bytes::{Bytes, BytesMut};
use netproto_core::driver::endpoint::{Endpoint, EndpointConfig, RecvHalf};
use netproto_core::error::{EncodeError, Error};
use netproto_core::framing::FrameDecoder;
use netproto_core::protocol::Protocol;

use crate::Input;

/// A protocol to drive, with what it promises.
pub struct Case<P> {
    /// The protocol.
    pub protocol: P,
    /// The most bytes its decoder keeps while asking for more (the frame
    /// limit plus any header or partial delimiter).
    pub retained: usize,
    /// Whether frames keep their boundaries whatever the reads (false for
    /// raw chunks, whose frames are the reads).
    pub framed: bool,
}

fn peer() -> SocketAddr {
    SocketAddr::from(([192, 0, 2, 1], 4000))
}

/// What the receive half reported, for the loopback comparison.
fn describe<T: Debug>(result: &Result<T, Error>) -> String {
    match result {
        Ok(value) => format!("{value:?}"),
        Err(Error::Deserialize { source, .. }) => format!("invalid packet {:?}", source.frame),
        Err(err) => format!("error: {err}"),
    }
}

/// State of the receive side, tracked beside the endpoint.
struct RecvModel {
    retained: usize,
    max_recv_size: usize,
    /// An EOF was committed.
    eof: bool,
    /// A non-recoverable error was reported: every later call reports one.
    failed: bool,
    /// The last `next_packet` asked for more and nothing was read since:
    /// the driver kept the contract, so a read may add at most one read.
    drained: bool,
    /// A read region is handed out (`read_buf` called, not committed).
    region_out: bool,
}

impl RecvModel {
    fn next_packet<P: Protocol>(
        &mut self,
        recv: &mut RecvHalf<P>,
    ) -> Option<Result<P::Received, Error>>
    where
        P::Received: Debug,
    {
        self.region_out = false;
        let result = recv.next_packet();
        match &result {
            None => {
                assert!(!self.eof, "next_packet asks for more after EOF");
                assert!(
                    !self.failed,
                    "next_packet asks for more after a fatal error"
                );
                assert!(
                    recv.buffered() <= self.retained,
                    "need more while {} bytes are buffered (bound {})",
                    recv.buffered(),
                    self.retained
                );
                self.drained = true;
            }
            Some(Ok(_)) => assert!(!self.failed, "a packet after a fatal error"),
            Some(Err(err)) => {
                let _ = err.to_string();
                if self.failed {
                    assert!(!err.is_recoverable(), "a fatal error did not stick: {err}");
                }
                if !err.is_recoverable() {
                    self.failed = true;
                }
            }
        }
        result
    }

    /// Commit `n` bytes (already in the read region): a read, or EOF.
    fn commit<P: Protocol>(&mut self, recv: &mut RecvHalf<P>, before: usize, n: usize) {
        recv.commit(n);
        self.region_out = false;
        if n == 0 {
            self.eof = true;
            assert!(recv.is_eof(), "EOF committed but not reported");
        } else {
            assert_eq!(
                recv.buffered(),
                before + n,
                "a read of {n} bytes was not kept"
            );
            if self.drained {
                assert!(
                    recv.buffered() <= self.retained + self.max_recv_size,
                    "{} bytes buffered: over the limit plus one read ({} + {})",
                    recv.buffered(),
                    self.retained,
                    self.max_recv_size
                );
            }
        }
        self.drained = false;
    }
}

/// Run the calls `input` describes on an endpoint speaking `case.protocol`.
///
/// `packet` turns some input bytes into a packet to send and hands it to
/// its callback (or does not call it, if those bytes make no packet).
pub fn run<P, M>(case: &Case<P>, input: &mut Input<'_>, packet: M)
where
    P: Protocol,
    P::Received: Debug,
    M: Fn(&[u8], &mut dyn FnMut(&P::Sent)),
{
    let max_recv_size = usize::from(input.byte() % 64) + 1;
    let send_buffer_limit = usize::from(input.byte()) * 4;
    let config = EndpointConfig::default()
        .max_recv_size(max_recv_size)
        .send_buffer_limit(send_buffer_limit);
    let (mut recv, mut send) = Endpoint::new(case.protocol.clone(), peer(), &config).split();
    let mut model = RecvModel {
        retained: case.retained,
        max_recv_size,
        eof: false,
        failed: false,
        drained: true,
        region_out: false,
    };
    // What the send half has written out, and the encoding of every packet
    // it queued.
    let mut written = Vec::new();
    let mut queued: Vec<Bytes> = Vec::new();

    while !input.is_empty() {
        match input.byte() % 11 {
            // A read delivering some bytes.
            0 => {
                let data = input.chunk();
                let before = recv.buffered();
                let region = recv.read_buf();
                assert_eq!(region.len(), max_recv_size, "read_buf is one read");
                let n = data.len().min(region.len());
                region[..n].copy_from_slice(&data[..n]);
                if n > 0 {
                    model.commit(&mut recv, before, n);
                } else {
                    model.region_out = true;
                }
            }
            // A read that timed out or was cancelled: nothing is lost.
            1 => {
                let before = recv.buffered();
                recv.read_buf().fill(0xAA);
                model.region_out = true;
                assert_eq!(
                    recv.buffered(),
                    before,
                    "an abandoned read changed the buffer"
                );
            }
            // The peer closed its write half.
            2 => {
                let before = recv.buffered();
                recv.read_buf();
                model.commit(&mut recv, before, 0);
            }
            3 => {
                model.next_packet(&mut recv);
            }
            // Take everything buffered, as a driver does before reading.
            4 => {
                for _ in 0..10_000 {
                    match model.next_packet(&mut recv) {
                        None => break,
                        Some(Err(err)) if !err.is_recoverable() => break,
                        Some(_) => {}
                    }
                }
            }
            // Queue a packet.
            5 => {
                let data = input.chunk();
                packet(data, &mut |packet| {
                    let before = send.pending().to_vec();
                    let mut alone = BytesMut::new();
                    let expected = case.protocol.encode(packet, &mut alone);
                    let result = send.push_packet(packet);
                    match result {
                        Ok(()) => {
                            assert!(!send.is_eof(), "a packet queued after send_eof");
                            assert!(before.len() < send_buffer_limit, "queued over the limit");
                            assert!(expected.is_ok(), "queued a packet that does not encode");
                            assert_eq!(&send.pending()[..before.len()], &before[..]);
                            assert_eq!(&send.pending()[before.len()..], &alone[..]);
                            queued.push(alone.freeze());
                        }
                        Err(err) => {
                            let _ = err.to_string();
                            assert_eq!(
                                send.pending(),
                                &before[..],
                                "a refused packet left bytes: {err}"
                            );
                            match err {
                                Error::SendAfterEof => assert!(send.is_eof()),
                                Error::Encode(EncodeError::SendBufferFull { .. }) => {
                                    assert!(before.len() >= send_buffer_limit)
                                }
                                Error::Encode(_) => assert!(expected.is_err()),
                                other => panic!("push_packet failed with {other}"),
                            }
                        }
                    }
                });
            }
            6 => {
                send.push_eof();
                assert!(send.is_eof());
            }
            // The socket took some of the pending bytes.
            7 => {
                let n = usize::from(input.byte()) * 3;
                let pending = send.pending();
                written.extend_from_slice(&pending[..n.min(pending.len())]);
                send.advance(n);
            }
            8 => {
                let before = recv.buffered();
                recv.release_memory();
                model.region_out = false;
                assert_eq!(recv.buffered(), before, "release_memory dropped bytes");
            }
            // A commit, when a read region is handed out (committing
            // without one is a driver bug, and panics by design).
            9 => {
                let n = usize::from(input.byte());
                if model.region_out {
                    let before = recv.buffered();
                    let n = n.min(max_recv_size);
                    model.commit(&mut recv, before, n);
                }
            }
            // The socket failed for good: the driver hands the error over.
            _ => {
                let kind = [
                    io::ErrorKind::ConnectionReset,
                    io::ErrorKind::BrokenPipe,
                    io::ErrorKind::PermissionDenied,
                    io::ErrorKind::TimedOut,
                    io::ErrorKind::Other,
                ][usize::from(input.byte() % 5)];
                let err = recv.fail_io(io::Error::new(kind, "fuzz"));
                let _ = err.to_string();
                assert!(
                    !err.is_recoverable(),
                    "a socket failure is recoverable: {err}"
                );
                assert!(recv.is_eof(), "a socket failure does not end receiving");
                model.failed = true;
                model.region_out = false;
            }
        }
    }

    written.extend_from_slice(send.pending());
    loopback(case, &config, &written, &queued);
}

/// Feed `wire` to a fresh endpoint in reads of `config.max_recv_size`, then
/// EOF: it must yield what decoding each queued encoding alone yields, then
/// "connection closed".
fn loopback<P>(case: &Case<P>, config: &EndpointConfig, wire: &[u8], queued: &[Bytes])
where
    P: Protocol,
    P::Received: Debug,
{
    let protocol = &case.protocol;
    let mut expected = Vec::new();
    for encoding in queued {
        let mut decoder = protocol.decoder();
        let mut buf = BytesMut::from(&encoding[..]);
        while let Some(frame) = decoder
            .decode_eof(&mut buf)
            .unwrap_or_else(|err| panic!("an encoded packet does not decode: {err:?}"))
        {
            let result = protocol.decode(frame).map_err(|source| Error::Deserialize {
                peer: peer().into(),
                source,
            });
            expected.push(describe(&result));
        }
    }

    let (mut recv, _) = Endpoint::new(protocol.clone(), peer(), config).split();
    let mut received = Vec::new();
    let mut rest = wire;
    let end = loop {
        match recv.next_packet() {
            None => {
                let region = recv.read_buf();
                let n = region.len().min(rest.len());
                region[..n].copy_from_slice(&rest[..n]);
                rest = &rest[n..];
                recv.commit(n);
            }
            Some(Err(err)) if !err.is_recoverable() => break err,
            Some(result) => received.push(describe(&result)),
        }
    };
    assert!(
        matches!(end, Error::ConnectionClosed { .. }),
        "the loopback ended with {end}"
    );
    if case.framed {
        assert_eq!(
            received, expected,
            "the peer did not receive what was queued"
        );
    }
}
