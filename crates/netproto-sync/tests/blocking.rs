//! Behaviour specific to the blocking driver (the shared behaviour is in
//! the conformance suite).

use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use netproto_sync::{ClientOptions, Error, ServerOptions, TcpClient, TcpServer};
use netproto_testkit::Transport;
use netproto_testkit::cases::{frames, lines};
use netproto_testkit::peers::Peer;

/// A send that hits the socket's write timeout keeps its packet queued
/// whole; the next send writes it out first, so the peer gets every packet
/// intact and in order.
#[test]
fn send_timeout_keeps_the_packet_whole() {
    let (go, wait) = mpsc::channel::<()>();
    let peer = Peer::spawn(Transport::Plain, move |mut s| {
        let _ = wait.recv();
        let mut frames = Vec::new();
        loop {
            let mut header = [0u8; 4];
            if s.read_exact(&mut header).is_err() {
                return Ok(frames);
            }
            let mut frame = vec![0; u32::from_be_bytes(header) as usize];
            s.read_exact(&mut frame)?;
            frames.push(frame);
        }
    });
    let client = TcpClient::connect_with(peer.addr(), frames(), ClientOptions::default()).unwrap();
    client
        .socket()
        .sock_ref()
        .set_write_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut sent = 0u8;
    let err = loop {
        match client.send_packet(&vec![sent; 256 * 1024]) {
            Ok(()) => sent += 1,
            Err(err) => break err,
        }
        assert!(sent < 200, "the peer never reads: sends must time out");
    };
    assert!(
        matches!(
            err,
            Error::Timeout {
                kind: netproto_core::error::TimeoutKind::Send,
                ..
            }
        ),
        "{err:?}"
    );
    go.send(()).unwrap();
    client.socket().sock_ref().set_write_timeout(None).unwrap();
    client.send_packet(b"last").unwrap();
    client.send_eof().unwrap();
    let received = peer.join();
    assert_eq!(received.len(), usize::from(sent) + 2);
    for (i, frame) in received[..=usize::from(sent)].iter().enumerate() {
        assert!(frame.len() == 256 * 1024 && frame.iter().all(|&b| usize::from(b) == i));
    }
    assert_eq!(received.last().unwrap(), b"last");
}

/// Getters do not wait for a receive blocked in another thread.
#[test]
fn getters_do_not_wait_for_a_blocked_receive() {
    let (go, wait) = mpsc::channel::<()>();
    let peer = Peer::spawn(Transport::Plain, move |_s| {
        let _ = wait.recv();
        Ok(())
    });
    let client = Arc::new(TcpClient::connect(peer.addr(), lines()).unwrap());
    let receiver = {
        let client = client.clone();
        std::thread::spawn(move || client.recv_packet())
    };
    std::thread::sleep(Duration::from_millis(100));
    let (done, finished) = mpsc::channel();
    {
        let client = client.clone();
        std::thread::spawn(move || {
            let _ = done.send((
                client.max_recv_size(),
                client.peer_addr(),
                client.is_closed(),
            ));
        });
    }
    let (size, addr, closed) = finished
        .recv_timeout(Duration::from_secs(10))
        .expect("getters must not block");
    assert_eq!((size, addr, closed), (16 * 1024, peer.addr(), false));
    client.close().unwrap();
    assert!(matches!(receiver.join().unwrap(), Err(Error::Closed)));
    go.send(()).unwrap();
    peer.join();
}

/// Dropping the last reference closes the connection.
#[test]
fn dropping_the_client_closes_it() {
    let peer = Peer::spawn(Transport::Plain, |mut s| Ok(s.read_until_eof()));
    let client = TcpClient::connect(peer.addr(), lines()).unwrap();
    client.send_packet("bye").unwrap();
    drop(client);
    assert_eq!(peer.join(), b"bye\n");
}

/// A handler that panics ends its own connection, not the server.
#[test]
fn a_panicking_handler_does_not_stop_the_server() {
    let server = TcpServer::bind("127.0.0.1:0", lines(), ServerOptions::default()).unwrap();
    let addr = server.local_addrs()[0];
    let shutdown = server.shutdown_handle();
    let panicked = Arc::new(AtomicBool::new(false));
    let serving = {
        let panicked = panicked.clone();
        std::thread::spawn(move || {
            server.serve(move |conn| {
                let line = conn.recv_packet().unwrap();
                if !panicked.swap(true, Ordering::SeqCst) {
                    panic!("a handler bug (expected by the test)");
                }
                conn.send_packet(&line).unwrap();
            })
        })
    };
    let first = TcpClient::connect(addr, lines()).unwrap();
    first.send_packet("boom").unwrap();
    let err = first
        .recv_packet_timeout(Duration::from_secs(10))
        .unwrap_err();
    assert!(!err.is_recoverable(), "{err:?}");
    let second = TcpClient::connect(addr, lines()).unwrap();
    second.send_packet("still here").unwrap();
    assert_eq!(
        second.recv_packet_timeout(Duration::from_secs(10)).unwrap(),
        "still here"
    );
    shutdown.shutdown(Duration::from_secs(1));
    serving.join().unwrap().unwrap();
}

/// `ShutdownHandle::is_shutdown`, as in the async drivers.
#[test]
fn shutdown_handle_reports_shutdown() {
    let server = TcpServer::bind("127.0.0.1:0", lines(), ServerOptions::default()).unwrap();
    let handle = server.shutdown_handle();
    assert!(!handle.is_shutdown());
    handle.clone().shutdown(Duration::ZERO);
    assert!(handle.is_shutdown());
    assert!(matches!(server.accept(), Err(Error::Closed)));
}
