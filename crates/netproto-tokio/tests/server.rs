//! Server behaviour specific to tokio: handlers run as tasks, and a
//! handler that ignores the shutdown is aborted after `HANDLER_STOP_WAIT`.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::*;
use netproto_tokio::{ConnectionEvent, HANDLER_STOP_WAIT, TcpClient, TcpServer};

/// Sets its flag when dropped (when the handler's future is dropped).
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_aborts_a_handler_that_ignores_it() {
    let dropped = Arc::new(AtomicBool::new(false));
    let reasons = Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = reasons.clone();
    let options = Transport::Plain.server_options().on_event(move |event| {
        if let ConnectionEvent::Disconnected { reason, .. } = event {
            record.lock().unwrap().push(reason.clone());
        }
    });
    let server = TcpServer::bind("127.0.0.1:0", lines(), options)
        .await
        .unwrap();
    let addr = server.local_addrs()[0];
    let shutdown = server.shutdown_handle();
    let flag = dropped.clone();
    let serving = tokio::spawn(async move {
        server
            .serve(move |connection| {
                let guard = DropFlag(flag.clone());
                async move {
                    let _guard = guard;
                    connection.send_packet("hi").await.unwrap();
                    // Ignores its connection and the shutdown.
                    std::future::pending::<()>().await;
                }
            })
            .await
    });
    let client = TcpClient::connect(addr, lines()).await.unwrap();
    assert_eq!(client.recv_packet().await.unwrap(), "hi");

    let started = Instant::now();
    shutdown.shutdown(Duration::from_millis(100));
    tokio::time::timeout(HANDLER_STOP_WAIT + BOUND, serving)
        .await
        .expect("serve returns")
        .unwrap()
        .unwrap();
    assert!(started.elapsed() >= HANDLER_STOP_WAIT);
    assert!(
        dropped.load(Ordering::SeqCst),
        "the handler was not stopped"
    );
    // The connection was closed by the server, and said why.
    let err = client.recv_packet_timeout(BOUND).await.unwrap_err();
    assert!(!err.is_recoverable(), "{err:?}");
    assert_eq!(
        *reasons.lock().unwrap(),
        [Some("server shut down".to_owned())]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_listeners_and_accept_fails_with_closed() {
    let server = TcpServer::bind("127.0.0.1:0", lines(), Transport::Plain.server_options())
        .await
        .unwrap();
    let server = Arc::new(server);
    let pending = tokio::spawn({
        let server = server.clone();
        async move { server.accept().await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    server.shutdown_handle().shutdown(Duration::ZERO);
    let result = tokio::time::timeout(BOUND, pending).await.unwrap().unwrap();
    assert!(
        matches!(result, Err(netproto_tokio::Error::Closed)),
        "{result:?}"
    );
    assert!(matches!(
        server.accept().await,
        Err(netproto_tokio::Error::Closed)
    ));
    // The listening socket is closed: new connections are refused.
    let refused = TcpClient::connect(server.local_addrs()[0], lines())
        .await
        .unwrap_err();
    assert!(
        matches!(refused, netproto_tokio::Error::ConnectionRefused { .. }),
        "{refused:?}"
    );
}
