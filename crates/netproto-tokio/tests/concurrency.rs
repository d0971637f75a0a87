//! Sharing one connection between tasks: a sender and a receiver on each
//! side, 25,000 packets each way, nothing lost or reordered; `close` from
//! another task wakes pending receives and sends.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use netproto_testkit::peers::Peer;
use netproto_tokio::{Error, TcpClient};

const PACKETS: usize = 25_000;

async fn send_all(endpoint: Arc<TcpClient<Lines>>, prefix: &'static str) {
    for i in 0..PACKETS {
        endpoint
            .send_packet(&format!("{prefix} {i}"))
            .await
            .unwrap();
    }
}

async fn recv_all(endpoint: Arc<TcpClient<Lines>>, prefix: &'static str) {
    for i in 0..PACKETS {
        let packet = endpoint.recv_packet().await.unwrap();
        assert_eq!(packet, format!("{prefix} {i}"));
    }
}

async fn two_tasks_each_way(transport: Transport) {
    let (client, connection) = pair(transport, lines()).await;
    let (client, connection) = (Arc::new(client), Arc::new(connection));
    let tasks = [
        tokio::spawn(send_all(client.clone(), "from client")),
        tokio::spawn(recv_all(client.clone(), "from server")),
        tokio::spawn(send_all(connection.clone(), "from server")),
        tokio::spawn(recv_all(connection.clone(), "from client")),
    ];
    for task in tasks {
        tokio::time::timeout(BOUND, task)
            .await
            .expect("the exchange finishes")
            .expect("no task panicked");
    }
    // Nothing extra arrived on either side.
    for endpoint in [&client, &connection] {
        let err = endpoint
            .recv_packet_timeout(Duration::ZERO)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    }
}

async fn close_wakes_pending_recv(transport: Transport) {
    let (client, _connection) = pair(transport, lines()).await;
    let client = Arc::new(client);
    let waiting = tokio::spawn({
        let client = client.clone();
        async move { client.recv_packet().await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!waiting.is_finished());
    client.close().await.unwrap();
    let woken = tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .expect("close wakes the pending receive promptly")
        .unwrap();
    assert!(matches!(woken, Err(Error::Closed)), "{woken:?}");
    assert!(client.is_closed());
    assert!(matches!(
        client.send_packet("late").await,
        Err(Error::Closed)
    ));
    assert!(matches!(client.recv_packet().await, Err(Error::Closed)));
    client.close().await.unwrap();
}

async fn close_wakes_blocked_send(transport: Transport) {
    let (go, wait) = std::sync::mpsc::channel::<()>();
    let peer = Peer::spawn(transport, move |_stream| {
        let _ = wait.recv_timeout(BOUND);
        Ok(())
    });
    let client = TcpClient::connect_with(peer.address(), big_frames(), transport.client_options())
        .await
        .unwrap();
    let client = Arc::new(client);
    let sending = tokio::spawn({
        let client = client.clone();
        async move { client.send_packet(&vec![7u8; 16 << 20]).await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !sending.is_finished(),
        "16 MiB fit into a peer that does not read"
    );
    let closing = tokio::spawn({
        let client = client.clone();
        async move { client.close().await }
    });
    let woken = tokio::time::timeout(Duration::from_secs(3), sending)
        .await
        .expect("close wakes the blocked send promptly")
        .unwrap();
    assert!(matches!(woken, Err(Error::Closed)), "{woken:?}");
    go.send(()).unwrap();
    // The peer went away without reading: close says what it gave up.
    let closed = closing.await.unwrap();
    assert!(
        matches!(closed, Err(Error::Undelivered { bytes, .. }) if bytes > 0),
        "{closed:?}"
    );
    join_thread(peer).await;
}

async fn recv_in_select_with_own_shutdown(transport: Transport) {
    // The usual service loop: receive, or stop on a signal; the stop does
    // not disturb the connection.
    let (client, connection) = pair(transport, lines()).await;
    let stop = tokio::sync::Notify::new();
    let mut received = Vec::new();
    for round in 0..20 {
        if round % 2 == 0 {
            connection.send_packet(&format!("n{round}")).await.unwrap();
        } else {
            stop.notify_one();
        }
        tokio::select! {
            packet = client.recv_packet() => received.push(packet.unwrap()),
            _ = stop.notified() => {}
        }
    }
    let expected: Vec<String> = (0..20).step_by(2).map(|n| format!("n{n}")).collect();
    assert_eq!(received, expected);
}

over_plain_and_tls!(
    two_tasks_each_way,
    close_wakes_pending_recv,
    close_wakes_blocked_send,
    recv_in_select_with_own_shutdown,
);
