//! The datagram cases (UDP): each runs a driver's `UdpClient` or
//! `UdpEndpoint` against plain std UDP sockets on loopback.

use std::net::{SocketAddr, UdpSocket};
use std::num::ParseIntError;
use std::sync::Arc;
use std::time::Duration;

use netproto_core::Error;
use netproto_core::datagram::DatagramProtocol;
use netproto_core::error::{EncodeError, TimeoutKind};
use netproto_core::options::{DatagramOptions, IntoAddress};
use netproto_core::protocol::{Protocol, TryMapReceived};
use netproto_core::serializer::Utf8;

use super::{PROMPTLY, assert_timeout, parse_number, spawn, within};
use crate::DatagramDriver;

/// Text, one string per datagram.
pub type Texts = DatagramProtocol<Utf8>;

/// [`Texts`].
pub fn texts() -> Texts {
    DatagramProtocol::new(Utf8)
}

/// Datagrams that must parse as `u32`: one that does not is an error for
/// that datagram only.
pub type DatagramNumbers = TryMapReceived<Texts, fn(String) -> Result<u32, ParseIntError>>;

/// [`DatagramNumbers`].
pub fn datagram_numbers() -> DatagramNumbers {
    texts().try_map_received(parse_number as fn(String) -> Result<u32, ParseIntError>)
}

/// A std UDP socket on loopback, the peer of the cases.
fn peer() -> UdpSocket {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind a loopback UDP socket");
    socket
        .set_read_timeout(Some(PROMPTLY))
        .expect("set a read timeout");
    socket
}

/// The next datagram `peer` receives (within [`PROMPTLY`]).
fn peer_recv(peer: &UdpSocket) -> (Vec<u8>, SocketAddr) {
    let mut buf = vec![0; 64 * 1024];
    let (n, from) = peer
        .recv_from(&mut buf)
        .expect("the peer receives a datagram");
    buf.truncate(n);
    (buf, from)
}

async fn client_of<D: DatagramDriver, P: crate::TestDatagramProtocol>(
    peer: &UdpSocket,
    protocol: P,
    options: DatagramOptions,
) -> D::UdpClient<P> {
    let address = peer.local_addr().unwrap().into_address().unwrap();
    D::udp_connect(address, protocol, options)
        .await
        .unwrap_or_else(|err| panic!("UDP connect failed: {err}"))
}

/// Packets go out one per datagram and come back in order, from the
/// connected peer.
pub async fn udp_round_trips<D: DatagramDriver>() {
    let peer = peer();
    let client = client_of::<D, _>(&peer, texts(), DatagramOptions::default()).await;
    assert_eq!(D::udp_peer_addr(&client), peer.local_addr().unwrap());
    for text in ["one", "two", "three"] {
        D::udp_send_packet(&client, text).await.unwrap();
    }
    for text in ["one", "two", "three"] {
        let (datagram, from) = peer_recv(&peer);
        assert_eq!(datagram, text.as_bytes());
        assert_eq!(from, D::udp_local_addr(&client));
        peer.send_to(text.to_uppercase().as_bytes(), from).unwrap();
    }
    for text in ["ONE", "TWO", "THREE"] {
        assert_eq!(
            D::udp_recv_packet_timeout(&client, PROMPTLY).await.unwrap(),
            text
        );
    }
    // The empty datagram is a packet too.
    peer.send_to(b"", D::udp_local_addr(&client)).unwrap();
    assert_eq!(D::udp_recv_packet(&client).await.unwrap(), "");
    D::udp_close(&client).await.unwrap();
}

/// A datagram that does not deserialize is an error for itself only,
/// carrying it and naming the sender.
pub async fn udp_bad_datagram_between_good_ones<D: DatagramDriver>() {
    let peer = peer();
    let client = client_of::<D, _>(&peer, datagram_numbers(), DatagramOptions::default()).await;
    let to = D::udp_local_addr(&client);
    for datagram in ["1", "not a number", "3"] {
        peer.send_to(datagram.as_bytes(), to).unwrap();
    }
    assert_eq!(
        D::udp_recv_packet_timeout(&client, PROMPTLY).await.unwrap(),
        1
    );
    match D::udp_recv_packet_timeout(&client, PROMPTLY).await {
        Err(err @ Error::Deserialize { .. }) => {
            assert!(err.is_recoverable());
            let Error::Deserialize { peer: from, source } = err else {
                unreachable!()
            };
            assert_eq!(from, peer.local_addr().unwrap());
            assert_eq!(source.frame, "not a number");
        }
        other => panic!("expected a deserialize error, got {other:?}"),
    }
    assert_eq!(
        D::udp_recv_packet_timeout(&client, PROMPTLY).await.unwrap(),
        3
    );
}

/// A packet that encodes to more than the maximum datagram size is
/// refused before anything is sent, and the client goes on.
pub async fn udp_oversize_send_is_refused<D: DatagramDriver>() {
    let peer = peer();
    let options = DatagramOptions::default().max_datagram_size(8);
    let client = client_of::<D, _>(&peer, texts(), options).await;
    assert_eq!(D::udp_max_datagram_size(&client), 8);
    match D::udp_send_packet(&client, "nine bytes").await {
        Err(Error::Encode(EncodeError::DatagramTooLong { length, limit })) => {
            assert_eq!((length, limit), (10, 8));
        }
        other => panic!("expected DatagramTooLong, got {other:?}"),
    }
    let err = D::udp_send_packet_timeout(&client, "nine bytes", PROMPTLY)
        .await
        .unwrap_err();
    assert!(err.is_recoverable(), "{err}");
    D::udp_send_packet(&client, "8 bytes!").await.unwrap();
    // The first datagram the peer sees is the one that fits.
    assert_eq!(peer_recv(&peer).0, b"8 bytes!");
}

/// A datagram longer than the maximum is reported with the sizes, never
/// delivered cut, and the next datagram still arrives.
pub async fn udp_oversize_received_is_reported_and_the_next_arrives<D: DatagramDriver>() {
    let peer = peer();
    let options = DatagramOptions::default().max_datagram_size(8);
    let client = client_of::<D, _>(&peer, texts(), options).await;
    let to = D::udp_local_addr(&client);
    peer.send_to(b"exactly8", to).unwrap();
    peer.send_to(b"nine byte", to).unwrap();
    peer.send_to(&[b'x'; 2000], to).unwrap();
    peer.send_to(b"next", to).unwrap();
    assert_eq!(
        D::udp_recv_packet_timeout(&client, PROMPTLY).await.unwrap(),
        "exactly8"
    );
    for _ in 0..2 {
        match D::udp_recv_packet_timeout(&client, PROMPTLY).await {
            Err(err @ Error::DatagramTooLong { .. }) => {
                assert!(err.is_recoverable() && err.is_peer_fault());
                let Error::DatagramTooLong {
                    peer: from,
                    length,
                    limit,
                } = err
                else {
                    unreachable!()
                };
                assert_eq!((from, length, limit), (peer.local_addr().unwrap(), 9, 8));
            }
            other => panic!("expected DatagramTooLong, got {other:?}"),
        }
    }
    assert_eq!(
        D::udp_recv_packet_timeout(&client, PROMPTLY).await.unwrap(),
        "next"
    );
}

/// A receive that times out loses nothing: the datagram that arrives
/// later is returned by the next receive.
pub async fn udp_receive_timeout_loses_nothing<D: DatagramDriver>() {
    let peer = peer();
    let client = client_of::<D, _>(&peer, texts(), DatagramOptions::default()).await;
    let err = D::udp_recv_packet_timeout(&client, Duration::from_millis(50))
        .await
        .unwrap_err();
    assert_timeout(&err);
    let err = D::udp_recv_packet_timeout(&client, Duration::ZERO)
        .await
        .unwrap_err();
    assert_timeout(&err);
    peer.send_to(b"late", D::udp_local_addr(&client)).unwrap();
    assert_eq!(D::udp_recv_packet(&client).await.unwrap(), "late");
}

/// `iter_received_packets(timeout)` yields what arrives within the
/// timeout, per-datagram errors included, then ends quietly.
pub async fn udp_iter_received_packets_within_the_timeout<D: DatagramDriver>() {
    let peer = peer();
    let client = client_of::<D, _>(&peer, datagram_numbers(), DatagramOptions::default()).await;
    assert!(
        D::udp_iter_received_packets(&client, Duration::ZERO)
            .await
            .is_empty()
    );
    let to = D::udp_local_addr(&client);
    for datagram in ["1", "two", "3"] {
        peer.send_to(datagram.as_bytes(), to).unwrap();
    }
    let received = D::udp_iter_received_packets(&client, Duration::from_millis(500)).await;
    assert!(
        matches!(
            &received[..],
            [Ok(1), Err(Error::Deserialize { .. }), Ok(3)]
        ),
        "{received:?}"
    );
    // A local close ends an iteration after reporting it.
    D::udp_close(&client).await.unwrap();
    let received = D::udp_iter_received_packets(&client, PROMPTLY).await;
    assert!(
        matches!(&received[..], [Err(Error::Closed)]),
        "{received:?}"
    );
}

/// `close` from elsewhere wakes a pending receive at once with `Closed`.
pub async fn udp_close_wakes_a_pending_receive<D: DatagramDriver>() {
    let peer = peer();
    let client = Arc::new(client_of::<D, _>(&peer, texts(), DatagramOptions::default()).await);
    let waiting = client.clone();
    let mut pending = spawn::<D, _>(async move { D::udp_recv_packet(&waiting).await });
    assert!(
        within::<D, _>(Duration::from_millis(100), &mut pending)
            .await
            .is_none(),
        "the receive must wait for a datagram"
    );
    D::udp_close(&client).await.unwrap();
    assert!(D::udp_is_closed(&client));
    match within::<D, _>(PROMPTLY, &mut pending).await {
        Some(Err(Error::Closed)) => {}
        other => panic!("expected Closed promptly, got {other:?}"),
    }
    assert!(matches!(
        D::udp_send_packet(&client, "x").await,
        Err(Error::Closed)
    ));
}

/// The socket options a UDP user needs.
pub async fn udp_socket_options<D: DatagramDriver>() {
    let peer = peer();
    let local: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let options = DatagramOptions::default().local_address(local);
    let client = client_of::<D, _>(&peer, texts(), options).await;
    assert_eq!(D::udp_local_addr(&client).ip(), local.ip());
    let socket = D::udp_socket(&client);
    socket.set_broadcast(true).unwrap();
    assert!(socket.broadcast().unwrap());
    socket.set_ttl(9).unwrap();
    assert_eq!(socket.ttl().unwrap(), 9);
    socket.set_recv_buffer_size(256 * 1024).unwrap();
    assert!(socket.recv_buffer_size().unwrap() >= 256 * 1024);
}

/// An endpoint receives from several peers, knows who sent what, answers
/// each one, and refuses an oversize packet.
pub async fn udp_endpoint_with_several_peers<D: DatagramDriver>() {
    let options = DatagramOptions::default().max_datagram_size(64);
    let endpoint = D::endpoint_bind("127.0.0.1:0".into_address().unwrap(), texts(), options)
        .await
        .unwrap();
    let at = D::endpoint_local_addr(&endpoint);
    assert_ne!(at.port(), 0);
    let peers: Vec<UdpSocket> = (0..3).map(|_| peer()).collect();
    for (n, peer) in peers.iter().enumerate() {
        peer.send_to(format!("from {n}").as_bytes(), at).unwrap();
    }
    for _ in 0..peers.len() {
        let (text, from) = D::endpoint_recv_packet_from_timeout(&endpoint, PROMPTLY)
            .await
            .unwrap();
        let n = peers
            .iter()
            .position(|peer| peer.local_addr().unwrap() == from)
            .unwrap_or_else(|| panic!("{text:?} from an unknown sender {from}"));
        assert_eq!(text, format!("from {n}"));
        D::endpoint_send_packet_to(&endpoint, &format!("to {n}"), from)
            .await
            .unwrap();
    }
    for (n, peer) in peers.iter().enumerate() {
        assert_eq!(peer_recv(peer), (format!("to {n}").into_bytes(), at));
    }
    let long = "x".repeat(65);
    assert!(matches!(
        D::endpoint_send_packet_to(&endpoint, &long, peers[0].local_addr().unwrap()).await,
        Err(Error::Encode(EncodeError::DatagramTooLong { .. }))
    ));
    let err = D::endpoint_recv_packet_from_timeout(&endpoint, Duration::from_millis(20))
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        Error::Timeout {
            kind: TimeoutKind::Receive,
            ..
        }
    ));
    D::endpoint_close(&endpoint).await.unwrap();
    assert!(matches!(
        D::endpoint_recv_packet_from_timeout(&endpoint, PROMPTLY).await,
        Err(Error::Closed)
    ));
}

/// The protocols above are datagram test protocols.
#[allow(dead_code)]
fn protocols_are_datagram_test_protocols() {
    fn check<P: crate::TestDatagramProtocol + Protocol>(_: P) {}
    check(texts());
    check(datagram_numbers());
}
