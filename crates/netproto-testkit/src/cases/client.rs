//! Receiving: DESIGN.md rules 1 to 5 against misbehaving peers.

use std::time::Duration;

use netproto_core::framing::Delimiter;
use netproto_core::protocol::StreamProtocol;
use netproto_core::serializer::Utf8;
use netproto_core::{Error, FramingError};

use super::*;
use crate::peers::PeerOn;

/// Rule 1: one read that delivers three packets satisfies three calls; the
/// bytes after a packet stay buffered.
pub async fn three_packets_in_one_read<D: Driver>(t: Transport) {
    let peer = PeerOn::<D::Family, _>::spawn(t, |mut s| {
        s.send(b"one\ntwo\nthree\n")?;
        s.read_until_eof();
        Ok(())
    });
    let client = connect_to::<D, _>(peer.address(), lines(), t).await;
    for expected in ["one", "two", "three"] {
        assert_eq!(recv_ok::<D, _>(&client, expected).await, expected);
    }
    let err = D::recv_packet_timeout(&client, Duration::from_millis(100))
        .await
        .expect_err("a fourth packet out of nothing");
    assert_timeout(&err);
    D::close(&client).await.unwrap();
    peer.join();
}

/// Rule 2: a receive that times out leaves every buffered byte in place.
pub async fn timeout_loses_nothing<D: Driver>(t: Transport) {
    let (go, wait) = gate();
    let peer = PeerOn::<D::Family, _>::spawn(t, move |mut s| {
        s.send(b"hel")?;
        wait_gate(&wait);
        s.send(b"lo\nnext\n")?;
        s.read_until_eof();
        Ok(())
    });
    let client = connect_to::<D, _>(peer.address(), lines(), t).await;
    for _ in 0..3 {
        let err = D::recv_packet_timeout(&client, Duration::from_millis(100))
            .await
            .expect_err("half a packet is not a packet");
        assert_timeout(&err);
    }
    go.send(()).unwrap();
    assert_eq!(recv_ok::<D, _>(&client, "hello").await, "hello");
    assert_eq!(recv_ok::<D, _>(&client, "next").await, "next");
    D::close(&client).await.unwrap();
    peer.join();
}

/// A peer that writes one byte at a time (one TLS record per byte) still
/// yields whole packets.
pub async fn dripped_bytes_make_one_packet<D: Driver>(t: Transport) {
    let peer = PeerOn::<D::Family, _>::spawn(t, |mut s| {
        s.drip(b"hello world\nsecond\n", Duration::from_millis(1))?;
        s.read_until_eof();
        Ok(())
    });
    let client = connect_to::<D, _>(peer.address(), lines(), t).await;
    assert_eq!(recv_ok::<D, _>(&client, "hello world").await, "hello world");
    assert_eq!(recv_ok::<D, _>(&client, "second").await, "second");
    D::close(&client).await.unwrap();
    peer.join();
}

/// Rule 3: a frame that fails to deserialize is an error for that packet
/// only; it carries the frame, and the next packet follows.
pub async fn bad_packet_is_per_packet<D: Driver>(t: Transport) {
    let peer = PeerOn::<D::Family, _>::spawn(t, |mut s| {
        s.send(b"1\nnot a number\n3\n")?;
        s.read_until_eof();
        Ok(())
    });
    let client = connect_to::<D, _>(peer.address(), numbers(), t).await;
    assert_eq!(recv_ok::<D, _>(&client, "1").await, 1);
    let err = recv_err::<D, _>(&client, "a deserialize error").await;
    match &err {
        Error::Deserialize { peer: from, source } => {
            assert_eq!(*from, peer_of(peer.addr()));
            assert_eq!(&source.frame[..], b"not a number");
        }
        other => panic!("expected a deserialize error, got {other:?}"),
    }
    assert!(err.is_recoverable());
    assert!(err.to_string().contains(&peer.addr().to_string()), "{err}");
    assert_eq!(recv_ok::<D, _>(&client, "3").await, 3);
    D::close(&client).await.unwrap();
    peer.join();
}

/// Rule 4, delimiter side: an oversized line of garbage is a recoverable
/// framing error; the framer discards up to the next delimiter and carries
/// on.
pub async fn garbage_line_is_skipped<D: Driver>(t: Transport) {
    let peer = PeerOn::<D::Family, _>::spawn(t, |mut s| {
        // Pseudo-random bytes without a newline.
        let mut x: u32 = 12345;
        let garbage: Vec<u8> = (0..4000)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                match (x >> 16) as u8 {
                    b'\n' => 0,
                    b => b,
                }
            })
            .collect();
        s.send(&garbage)?;
        s.send(b"\nok\n")?;
        s.read_until_eof();
        Ok(())
    });
    let protocol = StreamProtocol::new(Delimiter::lf().max_frame_length(64), Utf8);
    let client = connect_to::<D, _>(peer.address(), protocol, t).await;
    let mut framing_errors = 0;
    let packet = loop {
        match D::recv_packet_timeout(&client, PROMPTLY).await {
            Ok(packet) => break packet,
            Err(Error::Framing {
                recoverable: true,
                source:
                    FramingError::FrameTooLong { limit: 64, .. }
                    | FramingError::FrameTooLongSoFar { limit: 64, .. },
                ..
            }) => framing_errors += 1,
            Err(other) => panic!("expected a recoverable framing error, got {other:?}"),
        }
        assert!(framing_errors < 100, "the garbage never ends");
    };
    assert!(framing_errors >= 1, "an oversized line must be reported");
    assert_eq!(packet, "ok");
    D::close(&client).await.unwrap();
    peer.join();
}

/// Rule 4, length side: a header claiming 4 GiB is refused at once (the
/// peer sent 4 bytes; nothing waits for, or allocates, the rest) and closes
/// the receive side for good.
pub async fn huge_length_header_is_refused<D: Driver>(t: Transport) {
    let (go, wait) = gate();
    let peer = PeerOn::<D::Family, _>::spawn(t, move |mut s| {
        s.send(b"\x00\x00\x00\x02hi\xff\xff\xff\xff")?;
        wait_gate(&wait);
        Ok(())
    });
    let client = connect_to::<D, _>(peer.address(), frames(), t).await;
    assert_eq!(&recv_ok::<D, _>(&client, "hi").await[..], b"hi");
    for _ in 0..2 {
        let err = recv_err::<D, _>(&client, "a fatal framing error").await;
        match &err {
            Error::Framing {
                peer: from,
                recoverable: false,
                source: FramingError::FrameTooLong { length, limit },
            } => {
                assert_eq!(*from, peer_of(peer.addr()));
                assert_eq!(*length, u64::from(u32::MAX));
                assert_eq!(*limit, 8 * 1024 * 1024);
            }
            other => panic!("expected a fatal frame-too-long error, got {other:?}"),
        }
        assert!(!err.is_recoverable());
        assert!(err.to_string().contains("4294967295"), "{err}");
    }
    go.send(()).unwrap();
    D::close(&client).await.unwrap();
    peer.join();
}

/// Rule 5: a clean EOF between packets is "connection closed", every time.
pub async fn clean_eof_between_packets<D: Driver>(t: Transport) {
    let peer = PeerOn::<D::Family, _>::spawn(t, |mut s| {
        s.send(b"last\n")?;
        s.shutdown_write()?;
        s.read_until_eof();
        Ok(())
    });
    let client = connect_to::<D, _>(peer.address(), lines(), t).await;
    assert_eq!(recv_ok::<D, _>(&client, "last").await, "last");
    for _ in 0..2 {
        let err = recv_err::<D, _>(&client, "connection closed").await;
        assert!(
            matches!(err, Error::ConnectionClosed { peer: ref p } if *p == peer_of(peer.addr())),
            "expected connection closed by the peer, got {err:?}"
        );
        assert!(!err.is_recoverable());
    }
    D::close(&client).await.unwrap();
    peer.join();
}

/// Rule 5: EOF inside a frame is "unexpected EOF" with the pending bytes.
pub async fn eof_inside_a_frame_counts_bytes<D: Driver>(t: Transport) {
    let peer = PeerOn::<D::Family, _>::spawn(t, |mut s| {
        s.send(b"whole\npartial")?;
        s.shutdown_write()?;
        s.read_until_eof();
        Ok(())
    });
    let client = connect_to::<D, _>(peer.address(), lines(), t).await;
    assert_eq!(recv_ok::<D, _>(&client, "whole").await, "whole");
    let err = recv_err::<D, _>(&client, "unexpected EOF").await;
    assert!(
        matches!(err, Error::UnexpectedEof { peer: ref p, pending: 7 } if *p == peer_of(peer.addr())),
        "expected unexpected EOF with 7 bytes pending, got {err:?}"
    );
    assert_eq!(err.io_kind(), std::io::ErrorKind::UnexpectedEof);
    D::close(&client).await.unwrap();
    peer.join();
}

/// A peer that resets the connection mid-frame: "connection reset by".
pub async fn reset_mid_frame<D: TcpDriver>(t: Transport) {
    let (go, wait) = gate();
    let peer = PeerOn::<D::Family, _>::spawn(t, move |mut s| {
        s.send(b"whole\npart")?;
        wait_gate(&wait);
        s.reset();
        Ok(())
    });
    let client = connect_to::<D, _>(peer.address(), lines(), t).await;
    assert_eq!(recv_ok::<D, _>(&client, "whole").await, "whole");
    go.send(()).unwrap();
    peer.join();
    let err = recv_err::<D, _>(&client, "connection reset").await;
    assert!(
        matches!(err, Error::ConnectionReset { peer: ref p } if *p == peer_addr_of::<D, _>(&client)),
        "expected connection reset, got {err:?}"
    );
    assert_eq!(err.io_kind(), std::io::ErrorKind::ConnectionReset);
    assert!(err.to_string().contains(&D::peer_addr(&client).to_string()));
    // Sticky.
    let again = recv_err::<D, _>(&client, "the same failure").await;
    assert!(!again.is_recoverable(), "{again:?}");
    D::close(&client).await.unwrap();
}

fn peer_addr_of<D: Driver, P: TestProtocol>(client: &D::Client<P>) -> crate::Addr<D> {
    D::peer_addr(client)
}
