//! `Stream` and `Sink` adapters and `iter_received_packets`, under both
//! executors.

mod common;

use std::sync::Arc;
use std::time::Duration;

use async_io::Timer;
use futures_lite::{StreamExt, future};
use futures_util::SinkExt;
use netproto_async_std::Error;

use common::{MODES, both, lines, pair};

#[test]
fn sink_then_stream_both_ways() {
    both(|_| async {
        for &tls in MODES {
            let (client, conn, _server) = pair(lines(), tls).await;
            let mut sink = client.sink::<String>();
            for i in 0..100 {
                sink.feed(format!("line {i}")).await.unwrap();
            }
            // Closing the sink is send_eof: the peer's stream ends cleanly.
            sink.close().await.unwrap();
            assert!(matches!(
                sink.send("late".to_owned()).await,
                Err(Error::SendAfterEof)
            ));
            let received: Vec<String> = conn.stream().map(Result::unwrap).collect().await;
            assert_eq!(received.len(), 100);
            assert!(
                received
                    .iter()
                    .enumerate()
                    .all(|(i, l)| *l == format!("line {i}"))
            );

            // The other way, with borrowed packets.
            let mut sink = conn.sink::<&str>();
            sink.send("back").await.unwrap();
            assert_eq!(client.stream().next().await.unwrap().unwrap(), "back");
        }
    });
}

#[test]
fn stream_and_direct_calls_share_the_client() {
    both(|runtime| async move {
        for &tls in MODES {
            let (client, conn, _server) = pair(lines(), tls).await;
            let client = Arc::new(client);
            // A task reading through the stream while this one sends.
            let reading = runtime.spawn({
                let client = client.clone();
                async move {
                    let mut stream = client.stream();
                    let mut seen = Vec::new();
                    while let Some(line) = stream.next().await {
                        seen.push(line.unwrap());
                    }
                    seen
                }
            });
            for i in 0..1000 {
                client.send_packet(&i.to_string()).await.unwrap();
                conn.send_packet(&format!("reply {i}")).await.unwrap();
            }
            for i in 0..1000 {
                assert_eq!(conn.recv_packet().await.unwrap(), i.to_string());
            }
            conn.send_eof().await.unwrap();
            let seen = reading.await;
            assert_eq!(seen.len(), 1000);
            assert_eq!(seen[999], "reply 999");
        }
    });
}

#[test]
fn stream_ends_when_closed_from_another_task() {
    both(|runtime| async move {
        let (client, _conn, _server) = pair(lines(), false).await;
        let client = Arc::new(client);
        let reading = runtime.spawn({
            let client = client.clone();
            async move { client.stream().next().await.is_none() }
        });
        Timer::after(Duration::from_millis(50)).await;
        client.close().await.unwrap();
        assert!(reading.await, "a closed client's stream ends");
    });
}

#[test]
fn iter_received_packets_yields_what_arrives_in_time() {
    both(|_| async {
        for &tls in MODES {
            let (client, conn, _server) = pair(lines(), tls).await;
            for line in ["a", "b", "c"] {
                conn.send_packet(line).await.unwrap();
            }
            assert_eq!(client.recv_packet().await.unwrap(), "a");
            // Give "b" and "c" time to arrive, then take only what is there.
            Timer::after(Duration::from_millis(100)).await;
            let now: Vec<_> = client.iter_received_packets(Duration::ZERO).collect().await;
            assert_eq!(
                now.into_iter().map(Result::unwrap).collect::<Vec<_>>(),
                ["b", "c"]
            );
            // A dropped `next()` loses nothing.
            let mut packets = client.iter_received_packets(Duration::from_secs(5));
            assert!(future::poll_once(packets.next()).await.is_none());
            conn.send_packet("d").await.unwrap();
            assert_eq!(packets.next().await.unwrap().unwrap(), "d");
            drop(packets);
            conn.close().await.unwrap();
            let rest: Vec<_> = client
                .iter_received_packets(Duration::from_secs(5))
                .collect()
                .await;
            // The peer's clean close ends the iteration quietly.
            assert!(rest.is_empty(), "{rest:?}");
        }
    });
}
