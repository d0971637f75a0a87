//! The `Stream` and `Sink` adapters and `iter_received_packets`.

mod common;

use std::time::Duration;

use common::*;
use futures_util::{SinkExt, StreamExt, stream};
use netproto_tokio::Error;

async fn sink_sends_and_stream_receives(transport: Transport) {
    let (client, connection) = pair(transport, lines()).await;
    let mut sink = client.sink::<String>();
    let mut packets = stream::iter((0..500).map(|i| Ok(format!("line {i}"))));
    sink.send_all(&mut packets).await.unwrap();
    sink.send("last".to_owned()).await.unwrap();
    let got: Vec<String> = connection
        .stream()
        .take(501)
        .map(Result::unwrap)
        .collect()
        .await;
    let mut expected: Vec<String> = (0..500).map(|i| format!("line {i}")).collect();
    expected.push("last".to_owned());
    assert_eq!(got, expected);

    // Closing the sink ends the stream (send_eof); receiving still works.
    sink.close().await.unwrap();
    assert!(connection.stream().next().await.is_none());
    connection.send_packet("still here").await.unwrap();
    assert_eq!(client.recv_packet().await.unwrap(), "still here");
    assert!(matches!(
        client.send_packet("x").await,
        Err(Error::SendAfterEof)
    ));
}

async fn stream_and_sink_at_once(transport: Transport) {
    // One task drains the stream while the sink of the same client is fed.
    let (client, connection) = pair(transport, lines()).await;
    let echo = async {
        let mut received = connection.stream();
        while let Some(line) = received.next().await {
            connection
                .send_packet(&line.unwrap().to_uppercase())
                .await
                .unwrap();
        }
        connection.close().await.unwrap();
    };
    let talk = async {
        let mut sink = client.sink::<&str>();
        let mut replies = client.stream();
        for word in ["alpha", "beta", "gamma"] {
            sink.send(word).await.unwrap();
            assert_eq!(replies.next().await.unwrap().unwrap(), word.to_uppercase());
        }
        sink.close().await.unwrap();
        assert!(replies.next().await.is_none());
    };
    tokio::time::timeout(BOUND, async { tokio::join!(echo, talk) })
        .await
        .unwrap();
}

async fn iter_received_packets_ends_on_timeout(transport: Transport) {
    let (client, connection) = pair(transport, lines()).await;
    for i in 0..5 {
        connection.send_packet(&format!("p{i}")).await.unwrap();
    }
    // Wait until all five are readable, then take them without waiting.
    assert_eq!(client.recv_packet().await.unwrap(), "p0");
    tokio::time::sleep(Duration::from_millis(50)).await;
    let got: Vec<_> = client
        .iter_received_packets(Duration::ZERO)
        .map(Result::unwrap)
        .collect()
        .await;
    assert_eq!(got, ["p1", "p2", "p3", "p4"]);
    // Nothing more: an empty batch, and the connection is fine.
    let empty: Vec<_> = client
        .iter_received_packets(Duration::from_millis(20))
        .collect()
        .await;
    assert!(empty.is_empty());
    connection.send_packet("later").await.unwrap();
    assert_eq!(client.recv_packet().await.unwrap(), "later");
    // The peer's clean close ends the batch quietly.
    connection.close().await.unwrap();
    let last: Vec<_> = client.iter_received_packets(BOUND).collect().await;
    assert!(last.is_empty(), "{last:?}");
}

async fn stream_yields_bad_packets_and_goes_on(transport: Transport) {
    let (client, connection) = pair(transport, netproto_testkit::cases::numbers()).await;
    for line in ["1", "two", "3"] {
        connection.send_packet(line).await.unwrap();
    }
    let got: Vec<_> = client.stream().take(3).collect().await;
    assert_eq!(got.len(), 3);
    assert_eq!(*got[0].as_ref().unwrap(), 1);
    match &got[1] {
        Err(Error::Deserialize { source, .. }) => assert_eq!(source.frame, "two"),
        other => panic!("expected a deserialize error, got {other:?}"),
    }
    assert_eq!(*got[2].as_ref().unwrap(), 3);
}

over_plain_and_tls!(
    sink_sends_and_stream_receives,
    stream_and_sink_at_once,
    iter_received_packets_ends_on_timeout,
    stream_yields_bad_packets_and_goes_on,
);
