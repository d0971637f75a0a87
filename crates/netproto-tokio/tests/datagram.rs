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
