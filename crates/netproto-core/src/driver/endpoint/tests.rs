use std::io;
use std::net::SocketAddr;

use bytes::{Bytes, BytesMut};

use super::*;
use crate::error::{DeserializeError, EncodeError, Error};
use crate::framing::{DecodeFailure, Delimiter, FixedSize, FrameDecoder, Framer};
use crate::protocol::StreamProtocol;
use crate::serializer::{BytesSerializer, Utf8};

fn peer() -> SocketAddr {
    "192.0.2.7:4000".parse().unwrap()
}

type Lines = StreamProtocol<Delimiter, Utf8>;

fn lines() -> (RecvHalf<Lines>, SendHalf<Lines>) {
    let config = EndpointConfig::default().max_recv_size(64);
    Endpoint::new(StreamProtocol::new(Delimiter::lf(), Utf8), peer(), &config).split()
}

/// Simulate one socket read delivering `data` (at most one read's worth).
fn feed<P: Protocol>(recv: &mut RecvHalf<P>, data: &[u8]) {
    let region = recv.read_buf();
    assert!(data.len() <= region.len());
    region[..data.len()].copy_from_slice(data);
    recv.commit(data.len());
}

fn eof<P: Protocol>(recv: &mut RecvHalf<P>) {
    recv.read_buf();
    recv.commit(0);
}

#[test]
fn one_read_with_three_packets_satisfies_three_calls() {
    let (mut recv, _) = lines();
    feed(&mut recv, b"a\nb\nc\nrest");
    for want in ["a", "b", "c"] {
        assert_eq!(recv.next_packet().unwrap().unwrap(), want);
    }
    assert!(recv.next_packet().is_none());
    assert_eq!(recv.buffered(), 4, "the partial packet stays buffered");
    feed(&mut recv, b"\n");
    assert_eq!(recv.next_packet().unwrap().unwrap(), "rest");
}

#[test]
fn an_abandoned_read_loses_nothing() {
    let (mut recv, _) = lines();
    feed(&mut recv, b"hel");
    assert!(recv.next_packet().is_none());
    // A read region handed out, then the read timed out or was cancelled.
    recv.read_buf()[0] = b'X';
    assert_eq!(recv.buffered(), 3);
    assert!(recv.next_packet().is_none());
    feed(&mut recv, b"lo\n");
    assert_eq!(recv.next_packet().unwrap().unwrap(), "hello");
}

#[test]
fn read_region_grows_with_full_reads_and_shrinks_with_small_ones() {
    let config = EndpointConfig::default().max_recv_size(16 * 1024);
    let protocol = StreamProtocol::new(FixedSize::new(100), BytesSerializer);
    let (mut recv, _) = Endpoint::new(protocol, peer(), &config).split();
    // Bulk: every read fills its region; the region doubles up to the max.
    let mut sizes = Vec::new();
    let mut received = 0;
    for _ in 0..8 {
        let region = recv.read_buf();
        sizes.push(region.len());
        region.fill(7);
        let n = region.len();
        recv.commit(n);
        received += n;
        while let Some(packet) = recv.next_packet() {
            assert_eq!(packet.unwrap(), vec![7; 100]);
        }
    }
    assert_eq!(sizes, [1024, 2048, 4096, 8192, 16384, 16384, 16384, 16384]);
    assert_eq!(
        recv.buffered(),
        received % 100,
        "nothing lost while growing"
    );
    // Small packets: reads of 100 bytes shrink the region back to 1 KiB.
    let mut last = 0;
    for _ in 0..8 {
        last = recv.read_buf().len();
        recv.commit(100);
    }
    assert_eq!(last, 1024);
}

/// A frame much larger than a read arrives in full reads: the receive
/// buffer grows in a few steps to exactly the frame's end (the decoder's
/// growth), and no read region makes it copy the frame again.
#[test]
// Megabytes through the interpreter: minutes under Miri.
#[cfg_attr(miri, ignore)]
fn a_big_frame_grows_the_receive_buffer_in_few_steps() {
    const BIG: usize = 4 * 1024 * 1024;
    let config = EndpointConfig::default().max_recv_size(64 * 1024);
    let framer = crate::framing::LengthPrefix::u32_be().max_frame_length(BIG);
    let protocol = StreamProtocol::new(framer.clone(), BytesSerializer);
    let (mut recv, _) = Endpoint::new(protocol, peer(), &config).split();
    let payload: Vec<u8> = (0..BIG).map(|i| (i % 251) as u8).collect();
    let mut wire = BytesMut::new();
    framer.encode(&payload, &mut wire).unwrap();
    let mut rest = &wire[..];
    let mut growths = 0;
    let mut largest = 0;
    let mut packet = None;
    while packet.is_none() {
        let before = recv.buf.capacity();
        let region = recv.read_buf();
        let n = region.len().min(rest.len());
        region[..n].copy_from_slice(&rest[..n]);
        rest = &rest[n..];
        recv.commit(n);
        largest = largest.max(recv.buf.capacity());
        packet = recv.next_packet();
        if packet.is_none() && recv.buf.capacity() != before {
            growths += 1;
            assert!(recv.buf.capacity() <= 8 * recv.buffered().max(64 * 1024));
        }
    }
    assert_eq!(packet.unwrap().unwrap(), payload);
    assert!(rest.is_empty());
    assert!(growths <= 8, "{growths} growths for a {BIG}-byte frame");
    assert_eq!(largest, wire.len(), "the buffer never outgrew the frame");
}

#[test]
fn read_region_is_bounded_by_max_recv_size() {
    let (mut recv, _) = lines();
    assert_eq!(recv.read_buf().len(), 64);
    let n = recv.read_buf().len();
    recv.commit(n + 1000);
    assert_eq!(
        recv.buffered(),
        64,
        "commit never counts more than the region"
    );
}

#[test]
fn no_allocation_until_first_read_and_release_when_idle() {
    let (mut recv, _) = lines();
    assert_eq!(recv.buf.capacity(), 0);
    feed(&mut recv, b"x\n");
    assert_eq!(recv.next_packet().unwrap().unwrap(), "x");
    recv.release_memory();
    assert_eq!(recv.buf.capacity(), 0);
}

#[test]
fn a_bad_packet_is_an_error_for_that_packet_only() {
    let (mut recv, _) = lines();
    feed(&mut recv, b"ok\n\xff\xfe\nnext\n");
    assert_eq!(recv.next_packet().unwrap().unwrap(), "ok");
    match recv.next_packet().unwrap() {
        Err(Error::Deserialize { peer: p, source }) => {
            assert_eq!(p, peer());
            assert_eq!(source.frame, Bytes::from_static(b"\xff\xfe"));
        }
        other => panic!("expected a deserialize error, got {other:?}"),
    }
    assert_eq!(recv.next_packet().unwrap().unwrap(), "next");
}

#[test]
fn a_recoverable_framing_error_lets_receiving_go_on() {
    let config = EndpointConfig::default().max_recv_size(64);
    let protocol = StreamProtocol::new(Delimiter::lf().max_frame_length(4), Utf8);
    let (mut recv, _) = Endpoint::new(protocol, peer(), &config).split();
    feed(&mut recv, b"waytoolong\nok\n");
    let err = recv.next_packet().unwrap().unwrap_err();
    assert!(err.is_recoverable());
    assert_eq!(
        err.to_string(),
        "protocol error from 192.0.2.7:4000: frame of 10 bytes exceeds the limit of 4"
    );
    assert_eq!(recv.next_packet().unwrap().unwrap(), "ok");
}

/// A framer whose every frame fails fatally, to test stickiness.
#[derive(Clone)]
struct Broken;
struct BrokenDecoder;
impl FrameDecoder for BrokenDecoder {
    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, DecodeFailure> {
        if src.is_empty() {
            return Ok(None);
        }
        Err(DecodeFailure::fatal(crate::FramingError::InvalidHeader {
            reason: "bad".into(),
        }))
    }
}
impl Framer for Broken {
    type Decoder = BrokenDecoder;
    fn decoder(&self) -> BrokenDecoder {
        BrokenDecoder
    }
    fn encode_with<F>(&self, dst: &mut BytesMut, write: F) -> Result<(), EncodeError>
    where
        F: FnOnce(&mut BytesMut) -> Result<(), EncodeError>,
    {
        write(dst)
    }
    fn max_frame_length(&self) -> usize {
        1
    }
}

#[test]
fn an_unrecoverable_framing_error_is_sticky() {
    let protocol = StreamProtocol::new(Broken, BytesSerializer);
    let (mut recv, _) = Endpoint::new(protocol, peer(), &EndpointConfig::default()).split();
    feed(&mut recv, b"junk");
    for _ in 0..3 {
        let err = recv.next_packet().unwrap().unwrap_err();
        assert!(!err.is_recoverable());
        assert!(matches!(
            err,
            Error::Framing {
                recoverable: false,
                ..
            }
        ));
    }
    assert!(recv.is_eof());
}

#[test]
fn clean_eof_between_packets_is_connection_closed() {
    let (mut recv, _) = lines();
    feed(&mut recv, b"last\n");
    eof(&mut recv);
    assert_eq!(recv.next_packet().unwrap().unwrap(), "last");
    for _ in 0..2 {
        assert!(matches!(
            recv.next_packet().unwrap(),
            Err(Error::ConnectionClosed { .. })
        ));
    }
}

#[test]
fn eof_inside_a_frame_reports_pending_bytes() {
    let protocol = StreamProtocol::new(FixedSize::new(8), BytesSerializer);
    let (mut recv, _) = Endpoint::new(protocol, peer(), &EndpointConfig::default()).split();
    feed(&mut recv, b"12345678abc");
    eof(&mut recv);
    assert_eq!(&recv.next_packet().unwrap().unwrap()[..], b"12345678");
    let err = recv.next_packet().unwrap().unwrap_err();
    assert!(
        matches!(err, Error::UnexpectedEof { pending: 3, .. }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "connection to 192.0.2.7:4000 closed with 3 bytes of an incomplete frame pending"
    );
}

#[test]
fn send_queues_packets_and_refuses_after_eof() {
    let (_, mut send) = lines();
    send.push_packet("a").unwrap();
    send.push_packet("b").unwrap();
    assert_eq!(send.pending(), b"a\nb\n");
    send.advance(2);
    assert_eq!(send.pending(), b"b\n");
    // Encode errors leave nothing queued.
    assert!(matches!(send.push_packet("x\ny"), Err(Error::Encode(_))));
    assert_eq!(send.pending(), b"b\n");
    send.push_eof();
    assert!(matches!(send.push_packet("c"), Err(Error::SendAfterEof)));
}

#[test]
fn send_buffer_bound_applies_back_pressure() {
    let config = EndpointConfig::default().send_buffer_limit(4);
    let (_, mut send) =
        Endpoint::new(StreamProtocol::new(Delimiter::lf(), Utf8), peer(), &config).split();
    send.push_packet("abcd").unwrap();
    let err = send.push_packet("e").unwrap_err();
    assert!(matches!(
        err,
        Error::Encode(EncodeError::SendBufferFull {
            pending: 5,
            limit: 4
        })
    ));
    send.advance(5);
    send.push_packet("e").unwrap();
}

#[test]
fn deserialize_error_type_carries_source() {
    let err = DeserializeError::new(Bytes::from_static(b"zz"), "nope");
    assert_eq!(err.to_string(), "frame of 2 bytes: nope");
}

#[test]
fn a_socket_failure_is_sticky() {
    let (mut recv, _) = lines();
    feed(&mut recv, b"whole\npart");
    assert_eq!(recv.next_packet().unwrap().unwrap(), "whole");
    assert!(recv.next_packet().is_none());
    // The driver's read fails: a reset, reported now and on every later call.
    let _ = recv.read_buf();
    let err = recv.fail_io(io::ErrorKind::ConnectionReset.into());
    assert!(matches!(err, Error::ConnectionReset { peer: p } if p == peer()));
    assert!(recv.is_eof());
    for _ in 0..2 {
        let again = recv.next_packet().unwrap().unwrap_err();
        assert!(matches!(again, Error::ConnectionReset { .. }), "{again:?}");
    }
    // A later failure does not replace the first one.
    let _ = recv.fail_io(io::Error::other("later"));
    assert!(matches!(
        recv.next_packet(),
        Some(Err(Error::ConnectionReset { .. }))
    ));

    // Other I/O errors keep their kind and message.
    let (mut recv, _) = lines();
    let err = recv.fail_io(io::Error::new(io::ErrorKind::PermissionDenied, "no way"));
    assert_eq!(err.io_kind(), io::ErrorKind::PermissionDenied);
    let again = recv.next_packet().unwrap().unwrap_err();
    assert_eq!(again.io_kind(), io::ErrorKind::PermissionDenied);
    assert!(again.to_string().contains("no way"), "{again}");
    assert!(!again.is_recoverable());
}

#[test]
fn a_handshake_ends_with_what_ended_receiving() {
    let (mut recv, _) = lines();
    assert!(recv.handshake_error().is_none());
    eof(&mut recv);
    assert!(matches!(
        recv.handshake_error(),
        Some(Error::ConnectionClosed { .. })
    ));
    let (mut recv, _) = lines();
    let _ = recv.fail_io(io::ErrorKind::ConnectionReset.into());
    assert!(matches!(
        recv.handshake_error(),
        Some(Error::ConnectionReset { .. })
    ));
}
