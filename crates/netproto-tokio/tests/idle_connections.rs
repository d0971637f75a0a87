//! Many idle connections (a CI-sized version of the `idle_connections`
//! example): every connection exchanges a packet, sits idle with its
//! receive buffer released, and still works afterwards.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::*;
use netproto_tokio::{ConnectionEvent, TcpClient, TcpServer};

const CONNECTIONS: usize = 500;

fn resident_bytes() -> Option<usize> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    Some(statm.split_whitespace().nth(1)?.parse::<usize>().ok()? * 4096)
}

async fn idle_connections_stay_usable(transport: Transport) {
    let connected = Arc::new(AtomicUsize::new(0));
    let counter = connected.clone();
    let options = transport.server_options().on_event(move |event| {
        if let ConnectionEvent::Connected { .. } = event {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    });
    let server = TcpServer::bind("127.0.0.1:0", lines(), options)
        .await
        .unwrap();
    let addr = server.local_addrs()[0];
    let shutdown = server.shutdown_handle();
    let serving = tokio::spawn(async move {
        server
            .serve(|connection| async move {
                while let Ok(line) = connection.recv_packet().await {
                    if connection.send_packet(&line).await.is_err() {
                        break;
                    }
                }
            })
            .await
    });

    let before = resident_bytes();
    let mut clients = Vec::with_capacity(CONNECTIONS);
    for i in 0..CONNECTIONS {
        let client = TcpClient::connect_with(addr, lines(), transport.client_options())
            .await
            .unwrap();
        client.send_packet(&format!("hello {i}")).await.unwrap();
        assert_eq!(client.recv_packet().await.unwrap(), format!("hello {i}"));
        clients.push(client);
    }
    assert_eq!(connected.load(Ordering::Relaxed), CONNECTIONS);
    tokio::time::sleep(Duration::from_millis(200)).await;
    if let (Some(before), Some(after)) = (before, resident_bytes()) {
        // Client and server sides together; informational only.
        let per = after.saturating_sub(before) / CONNECTIONS;
        println!("{transport:?}: ~{per} bytes resident per idle connection pair");
    }

    // Every idle connection still answers.
    for (i, client) in clients.iter().enumerate() {
        client.send_packet(&format!("again {i}")).await.unwrap();
    }
    for (i, client) in clients.iter().enumerate() {
        assert_eq!(client.recv_packet().await.unwrap(), format!("again {i}"));
    }
    drop(clients);
    shutdown.shutdown(BOUND);
    tokio::time::timeout(BOUND, serving)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

over_plain_and_tls!(idle_connections_stay_usable);
