//! Cancel safety: a receive dropped by `select!` or `timeout` loses no
//! byte; a dropped send leaves its packet queued whole, and the next send
//! or `close` finishes writing it.

mod common;

use std::time::Duration;

use common::*;
use netproto_testkit::peers::Peer;
use netproto_tokio::{Error, TcpClient};

fn expected_lines() -> Vec<String> {
    (0..24)
        .map(|i| format!("packet {i} {}", "x".repeat(i * 5)))
        .collect()
}

fn wire(lines: &[String]) -> Vec<u8> {
    lines
        .iter()
        .flat_map(|l| format!("{l}\n").into_bytes())
        .collect()
}

/// A peer that drips the lines one byte per write, so that most receives
/// are cancelled in the middle of a frame.
fn dripping_peer(transport: Transport) -> Peer<()> {
    let bytes = wire(&expected_lines());
    Peer::spawn(transport, move |mut stream| {
        stream.drip(&bytes, Duration::from_micros(200))?;
        stream.shutdown_write()?;
        let _ = stream.read_until_eof();
        Ok(())
    })
}

async fn recv_dropped_by_select_loses_nothing(transport: Transport) {
    let peer = dripping_peer(transport);
    let client = TcpClient::connect_with(peer.address(), lines(), transport.client_options())
        .await
        .unwrap();
    let (mut got, mut cancelled) = (Vec::new(), 0u32);
    while got.len() < expected_lines().len() {
        tokio::select! {
            packet = client.recv_packet() => got.push(packet.unwrap()),
            _ = tokio::time::sleep(Duration::from_micros(700)) => cancelled += 1,
        }
    }
    assert_eq!(got, expected_lines());
    assert!(cancelled > 0, "no receive was ever cancelled");
    let end = client.recv_packet_timeout(BOUND).await.unwrap_err();
    assert!(matches!(end, Error::ConnectionClosed { .. }), "{end:?}");
    client.close().await.unwrap();
    join_thread(peer).await;
}

async fn recv_dropped_by_timeout_loses_nothing(transport: Transport) {
    let peer = dripping_peer(transport);
    let client = TcpClient::connect_with(peer.address(), lines(), transport.client_options())
        .await
        .unwrap();
    let (mut got, mut cancelled) = (Vec::new(), 0u32);
    while got.len() < expected_lines().len() {
        // Alternate the driver's own timeout and tokio's around recv_packet.
        let result = if cancelled % 2 == 0 {
            client
                .recv_packet_timeout(Duration::from_micros(500))
                .await
                .map_err(|err| assert!(matches!(err, Error::Timeout { .. }), "{err:?}"))
        } else {
            tokio::time::timeout(Duration::from_micros(500), client.recv_packet())
                .await
                .map(Result::unwrap)
                .map_err(|_| ())
        };
        match result {
            Ok(packet) => got.push(packet),
            Err(()) => cancelled += 1,
        }
    }
    assert_eq!(got, expected_lines());
    assert!(cancelled > 0, "no receive ever timed out");
    let end = client.recv_packet_timeout(BOUND).await.unwrap_err();
    assert!(matches!(end, Error::ConnectionClosed { .. }), "{end:?}");
    client.close().await.unwrap();
    join_thread(peer).await;
}

/// A peer that reads nothing until told to, then reads frames (u32 length
/// + payload) until EOF and returns them.
fn late_reader(transport: Transport) -> (std::sync::mpsc::Sender<()>, Peer<Vec<Vec<u8>>>) {
    let (go, wait) = std::sync::mpsc::channel::<()>();
    let peer = Peer::spawn(transport, move |mut stream| {
        let _ = wait.recv_timeout(BOUND);
        let all = stream.read_until_eof();
        let (mut frames, mut rest) = (Vec::new(), &all[..]);
        while rest.len() >= 4 {
            let len = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
            frames.push(rest[4..4 + len].to_vec());
            rest = &rest[4 + len..];
        }
        assert!(
            rest.is_empty(),
            "{} stray bytes after the frames",
            rest.len()
        );
        Ok(frames)
    });
    (go, peer)
}

const BIG: usize = 16 << 20;

async fn dropped_send_is_finished_by_next_send(transport: Transport) {
    let (go, peer) = late_reader(transport);
    let client = TcpClient::connect_with(peer.address(), big_frames(), transport.client_options())
        .await
        .unwrap();
    let big = vec![0xAB; BIG];
    // The peer does not read: 16 MiB cannot fit in the socket buffers.
    let cancelled =
        tokio::time::timeout(Duration::from_millis(200), client.send_packet(&big)).await;
    assert!(
        cancelled.is_err(),
        "a 16 MiB send to a peer that does not read completed"
    );
    go.send(()).unwrap();
    tokio::time::timeout(BOUND, client.send_packet(b"after"))
        .await
        .expect("the next send completes")
        .unwrap();
    client.close().await.unwrap();
    let frames = join_thread(peer).await;
    assert_eq!(frames.len(), 2);
    assert!(frames[0].len() == BIG && frames[0].iter().all(|&b| b == 0xAB));
    assert_eq!(frames[1], b"after");
}

async fn dropped_send_is_finished_by_close(transport: Transport) {
    let (go, peer) = late_reader(transport);
    let client = TcpClient::connect_with(peer.address(), big_frames(), transport.client_options())
        .await
        .unwrap();
    let big = vec![0xCD; BIG];
    tokio::select! {
        result = client.send_packet(&big) => panic!("send to a peer that does not read ended: {result:?}"),
        _ = tokio::time::sleep(Duration::from_millis(200)) => {}
    }
    go.send(()).unwrap();
    client.close().await.unwrap();
    let frames = join_thread(peer).await;
    assert_eq!(frames.len(), 1);
    assert!(frames[0].len() == BIG && frames[0].iter().all(|&b| b == 0xCD));
}

async fn connection_stays_usable_after_cancellations(transport: Transport) {
    let (client, connection) = pair(transport, lines()).await;
    for round in 0..50 {
        // Cancel a receive that has nothing to receive, then exchange.
        let idle = tokio::time::timeout(Duration::from_micros(100), client.recv_packet()).await;
        assert!(idle.is_err());
        connection
            .send_packet(&format!("ping {round}"))
            .await
            .unwrap();
        assert_eq!(client.recv_packet().await.unwrap(), format!("ping {round}"));
        client.send_packet(&format!("pong {round}")).await.unwrap();
        assert_eq!(
            connection.recv_packet().await.unwrap(),
            format!("pong {round}")
        );
    }
}

over_plain_and_tls!(
    recv_dropped_by_select_loses_nothing,
    recv_dropped_by_timeout_loses_nothing,
    dropped_send_is_finished_by_next_send,
    dropped_send_is_finished_by_close,
    connection_stays_usable_after_cancellations,
);
