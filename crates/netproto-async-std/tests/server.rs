//! How `serve` runs connections without choosing an executor, shutdown,
//! and `accept`, under both executors.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_io::Timer;
use futures_lite::future;
use netproto_async_std::{
    ClientOptions, ConnectionEvent, Error, ServerOptions, TcpClient, TcpServer,
};

use common::{Lines, MODES, both, lines, options};

async fn echo(conn: netproto_async_std::Connection<Lines>) {
    while let Ok(line) = conn.recv_packet().await {
        if conn.send_packet(&line).await.is_err() {
            return;
        }
    }
}

async fn exchange(client: &TcpClient<Lines>, line: &str) {
    client.send_packet(line).await.unwrap();
    assert_eq!(client.recv_packet().await.unwrap(), line);
}

#[test]
fn serve_runs_connections_concurrently_in_its_own_future() {
    both(|_| async {
        for &tls in MODES {
            let (server_options, client_options) = options(tls);
            let server = TcpServer::bind("127.0.0.1:0", lines(), server_options)
                .await
                .unwrap();
            let address = server.local_addrs()[0];
            let clients = async {
                // Five clients connected at once, answered in reverse order:
                // each handler waits while the others progress.
                let mut connected = Vec::new();
                for _ in 0..5 {
                    let client = TcpClient::connect_with(address, lines(), client_options.clone());
                    connected.push(client.await.unwrap());
                }
                for (i, client) in connected.iter().enumerate().rev() {
                    exchange(client, &format!("client {i}")).await;
                }
                server.shutdown_handle().shutdown(Duration::from_secs(5));
                // Connections end, so the handlers return before the grace.
                drop(connected);
            };
            let (served, ()) = future::zip(server.serve(echo), clients).await;
            served.unwrap();
        }
    });
}

#[test]
fn handlers_may_spawn_onto_the_executor() {
    both(|runtime| async move {
        let server = Arc::new(
            TcpServer::bind("127.0.0.1:0", lines(), ServerOptions::default())
                .await
                .unwrap(),
        );
        let address = server.local_addrs()[0];
        let serving = runtime.spawn({
            let server = server.clone();
            async move { server.serve(move |conn| runtime.spawn(echo(conn))).await }
        });
        let client = TcpClient::connect(address, lines()).await.unwrap();
        exchange(&client, "on a task of its own").await;
        client.close().await.unwrap();
        server.shutdown_handle().shutdown(Duration::from_secs(5));
        serving.await.unwrap();
    });
}

#[test]
fn dropping_serve_stops_accepting_and_its_handlers_go_on() {
    // As on tokio: each connection is a task of its own, so dropping the
    // `serve` future ends the accept loop, not the connections it started.
    both(|_| async {
        let server = TcpServer::bind("127.0.0.1:0", lines(), ServerOptions::default())
            .await
            .unwrap();
        let address = server.local_addrs()[0];
        let client = TcpClient::connect(address, lines()).await.unwrap();
        let talk = async {
            exchange(&client, "served").await;
        };
        // Serve until the exchange is done, then drop the serve future.
        future::or(
            async {
                server.serve(echo).await.unwrap();
            },
            talk,
        )
        .await;
        exchange(&client, "still served").await;

        // The listener is still there for another call.
        let again = async {
            let client = TcpClient::connect(address, lines()).await.unwrap();
            exchange(&client, "served again").await;
            server.shutdown_handle().shutdown(Duration::ZERO);
        };
        let (served, ()) = future::zip(server.serve(echo), again).await;
        served.unwrap();
    });
}

#[test]
fn shutdown_wakes_accept() {
    both(|_| async {
        let server = TcpServer::bind("127.0.0.1:0", lines(), ServerOptions::default())
            .await
            .unwrap();
        let handle = server.shutdown_handle();
        assert!(!handle.is_shutdown());
        let stop = async {
            Timer::after(Duration::from_millis(50)).await;
            handle.shutdown(Duration::ZERO);
        };
        let (accepted, ()) = future::zip(server.accept(), stop).await;
        assert!(matches!(accepted, Err(Error::Closed)), "{accepted:?}");
        assert!(handle.is_shutdown());
        assert!(matches!(server.accept().await, Err(Error::Closed)));
        // serve after shutdown returns at once.
        server.serve(echo).await.unwrap();
    });
}

#[test]
fn served_connections_report_events() {
    both(|_| async {
        let events = Arc::new(Mutex::new(Vec::new()));
        let recorder = events.clone();
        let options = ServerOptions::default()
            .idle_timeout(Duration::from_millis(200))
            .on_event(move |e| recorder.lock().unwrap().push(e.clone()));
        let server = TcpServer::bind("127.0.0.1:0", lines(), options)
            .await
            .unwrap();
        let address = server.local_addrs()[0];
        let idle = async {
            let client = TcpClient::connect_with(address, lines(), ClientOptions::default())
                .await
                .unwrap();
            // Sends nothing: the idle timeout closes the connection.
            let err = client
                .recv_packet_timeout(Duration::from_secs(10))
                .await
                .unwrap_err();
            assert!(!err.is_recoverable(), "{err}");
            server.shutdown_handle().shutdown(Duration::from_secs(5));
        };
        let (served, ()) = future::zip(server.serve(echo), idle).await;
        served.unwrap();
        let events = events.lock().unwrap();
        assert!(
            matches!(
                events.as_slice(),
                [
                    ConnectionEvent::Connected { .. },
                    ConnectionEvent::Disconnected {
                        reason: Some(reason),
                        ..
                    }
                ] if reason.contains("idle")
            ),
            "{events:?}"
        );
    });
}
