//! Many idle connections: every connection exchanges a packet, sits idle
//! with its receive buffer released, and still works afterwards.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_io::Timer;
use futures_lite::future;
use netproto_async_std::{ConnectionEvent, TcpClient, TcpServer};

use common::{MODES, both, lines, options};

const CONNECTIONS: usize = 500;

fn resident_bytes() -> Option<usize> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    Some(statm.split_whitespace().nth(1)?.parse::<usize>().ok()? * 4096)
}

#[test]
fn idle_connections_stay_usable() {
    both(|runtime| async move {
        for &tls in MODES {
            let connected = Arc::new(AtomicUsize::new(0));
            let counter = connected.clone();
            let (server_options, client_options) = options(tls);
            let server_options = server_options.on_event(move |event| {
                if let ConnectionEvent::Connected { .. } = event {
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            });
            let server = TcpServer::bind("127.0.0.1:0", lines(), server_options)
                .await
                .unwrap();
            let address = server.local_addrs()[0];
            let clients = async {
                let before = resident_bytes();
                let mut clients = Vec::with_capacity(CONNECTIONS);
                for i in 0..CONNECTIONS {
                    let client = TcpClient::connect_with(address, lines(), client_options.clone())
                        .await
                        .unwrap();
                    client.send_packet(&format!("hello {i}")).await.unwrap();
                    assert_eq!(client.recv_packet().await.unwrap(), format!("hello {i}"));
                    clients.push(client);
                }
                assert_eq!(connected.load(Ordering::Relaxed), CONNECTIONS);
                Timer::after(Duration::from_millis(200)).await;
                if let (Some(before), Some(after)) = (before, resident_bytes()) {
                    // Client and server sides together; informational only.
                    let per = after.saturating_sub(before) / CONNECTIONS;
                    println!("{runtime:?}, tls {tls}: ~{per} bytes resident per idle pair");
                }
                for (i, client) in clients.iter().enumerate() {
                    client.send_packet(&format!("again {i}")).await.unwrap();
                }
                for (i, client) in clients.iter().enumerate() {
                    assert_eq!(client.recv_packet().await.unwrap(), format!("again {i}"));
                }
                drop(clients);
                server.shutdown_handle().shutdown(Duration::from_secs(10));
            };
            let serving = server.serve(|connection| async move {
                while let Ok(line) = connection.recv_packet().await {
                    if connection.send_packet(&line).await.is_err() {
                        break;
                    }
                }
            });
            let (served, ()) = future::zip(serving, clients).await;
            served.unwrap();
        }
    });
}
