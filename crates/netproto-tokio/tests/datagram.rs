//! The shared datagram suites (crates/netproto-testkit, `datagram_suite!`
//! and `datagram_server_suite!`), run on tokio.

mod driver;

#[allow(unused_imports)]
use driver::*;

netproto_testkit::datagram_suite!(Tokio);
netproto_testkit::datagram_server_suite!(Tokio);

/// A handler that ignores `Closed` and never returns is aborted
/// `handler_stop_wait` after its peer was closed, and `serve` returns
/// (the async drivers can stop a task; the sync driver leaves its thread).
#[test]
fn udp_server_shutdown_aborts_a_handler_that_does_not_stop() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    use netproto_tokio::datagram::DatagramProtocol;
    use netproto_tokio::serializer::Utf8;
    use netproto_tokio::{DatagramServerOptions, UdpServer};

    netproto_testkit::run::<Tokio, _>(async {
        let options = DatagramServerOptions::default().handler_stop_wait(Duration::from_millis(50));
        let server = UdpServer::bind("127.0.0.1:0", DatagramProtocol::new(Utf8), options)
            .await
            .unwrap();
        let at = server.local_addr();
        let (started, dropped) = (
            std::sync::Arc::new(AtomicBool::new(false)),
            std::sync::Arc::new(AtomicBool::new(false)),
        );
        let (start, drop_flag) = (started.clone(), dropped.clone());
        /// Sets its flag when the handler's future is dropped.
        struct OnDrop(std::sync::Arc<AtomicBool>);
        impl Drop for OnDrop {
            fn drop(&mut self) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        let stop = server.shutdown_handle();
        let serving = tokio::spawn(async move {
            server
                .serve(move |peer| {
                    let (start, guard) = (start.clone(), OnDrop(drop_flag.clone()));
                    async move {
                        let _guard = guard;
                        let _ = peer.recv_packet().await;
                        start.store(true, Ordering::SeqCst);
                        loop {
                            // Ignores Closed: never ends by itself.
                            let _ = peer.recv_packet().await;
                            tokio::time::sleep(Duration::from_millis(5)).await;
                        }
                    }
                })
                .await
        });
        let client = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        client.send_to(b"hello", at).unwrap();
        while !started.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        stop.shutdown(Duration::ZERO);
        let served = tokio::time::timeout(netproto_testkit::cases::PROMPTLY, serving)
            .await
            .expect("serve returns once the handler is aborted");
        assert!(matches!(served, Ok(Ok(()))), "{served:?}");
        assert!(
            dropped.load(Ordering::SeqCst),
            "the handler's task was aborted"
        );
    });
}

/// Yield once, waking the task at once (as `futures_lite::future::yield_now`
/// does; tokio's own `yield_now` defers the wake).
async fn wake_and_yield() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            return std::task::Poll::Ready(());
        }
        yielded = true;
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    })
    .await
}

/// A handler that keeps waking itself (a yield in a loop) runs inside
/// `serve`'s future; on a current-thread runtime `serve` still yields, so
/// the runtime's other tasks run and other peers are served.
#[test]
fn udp_server_yields_to_the_runtime_while_a_handler_keeps_waking_itself() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, mpsc};
    use std::time::Duration;

    use netproto_tokio::datagram::DatagramProtocol;
    use netproto_tokio::serializer::Utf8;
    use netproto_tokio::{DatagramServerOptions, UdpServer};

    let (done, finished) = mpsc::channel();
    // A runtime that never gets its thread back would hang the test: it
    // runs on a thread of its own, watched with a timeout.
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let server = UdpServer::bind(
                "127.0.0.1:0",
                DatagramProtocol::new(Utf8),
                DatagramServerOptions::default(),
            )
            .await
            .unwrap();
            let at = server.local_addr();
            let stop_spinning = Arc::new(AtomicBool::new(false));
            let spinning = stop_spinning.clone();
            let stop = server.shutdown_handle();
            let serving = tokio::spawn(async move {
                server
                    .serve(move |peer| {
                        let spinning = spinning.clone();
                        async move {
                            while let Ok(text) = peer.recv_packet().await {
                                if text == "spin" {
                                    while !spinning.load(Ordering::SeqCst) {
                                        wake_and_yield().await;
                                    }
                                }
                                let _ = peer.send_packet(&text).await;
                            }
                        }
                    })
                    .await
            });
            let spinner = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
            spinner.send_to(b"spin", at).await.unwrap();
            // Another task of the runtime runs meanwhile: a timer, and a
            // second peer's round trip.
            tokio::time::sleep(Duration::from_millis(20)).await;
            let other = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
            other.send_to(b"ping", at).await.unwrap();
            let mut buf = [0u8; 16];
            let (n, _) = other.recv_from(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"ping");
            stop_spinning.store(true, Ordering::SeqCst);
            let (n, _) = spinner.recv_from(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"spin");
            stop.shutdown(Duration::ZERO);
            let served = serving.await.unwrap();
            assert!(served.is_ok(), "{served:?}");
        });
        let _ = done.send(());
    });
    finished
        .recv_timeout(netproto_testkit::cases::PROMPTLY)
        .expect("the runtime's other tasks ran while a handler kept waking itself");
}
