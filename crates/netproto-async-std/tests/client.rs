//! Driver-specific client behaviour, under async-std's executor and smol's:
//! cancel safety, sharing between tasks, close waking a receive, adopting
//! streams, send_eof.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_io::Timer;
use futures_lite::future;
use netproto_async_std::{ClientOptions, Error, TcpClient};

use common::{MODES, blobs, both, lines, pair};

/// A raw peer: a std listener and the client connected to it.
fn raw_peer() -> (TcpListener, std::net::SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

#[test]
fn packets_cross_both_ways() {
    both(|_| async {
        for &tls in MODES {
            let (client, conn, _server) = pair(lines(), tls).await;
            client.send_packet("hello").await.unwrap();
            assert_eq!(conn.recv_packet().await.unwrap(), "hello");
            conn.send_packet("world").await.unwrap();
            assert_eq!(client.recv_packet().await.unwrap(), "world");
            assert_eq!(client.peer_addr(), conn.local_addr());
            assert_eq!(conn.peer_addr(), client.local_addr());
            assert!(client.socket().nodelay().unwrap());
        }
    });
}

#[test]
fn dropped_recv_loses_no_byte() {
    both(|_| async {
        let (listener, addr) = raw_peer();
        let client = TcpClient::connect(addr, lines()).await.unwrap();
        let (mut peer, _) = listener.accept().unwrap();

        peer.write_all(b"hel").unwrap();
        // A receive polled once and dropped, and one that times out.
        assert!(future::poll_once(client.recv_packet()).await.is_none());
        let err = client
            .recv_packet_timeout(Duration::from_millis(50))
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::Timeout {
                    kind: netproto_core::error::TimeoutKind::Receive,
                    ..
                }
            ),
            "{err}"
        );
        // A receive cancelled while it waits for input.
        let raced = future::or(async { Some(client.recv_packet().await) }, async {
            Timer::after(Duration::from_millis(50)).await;
            None
        })
        .await;
        assert!(raced.is_none());

        peer.write_all(b"lo\nworld\n").unwrap();
        assert_eq!(client.recv_packet().await.unwrap(), "hello");
        assert_eq!(client.recv_packet().await.unwrap(), "world");
    });
}

/// A length-prefixed blob whose bytes say where they are.
fn blob(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// Read one u32-prefixed frame from a blocking peer.
fn read_frame(peer: &mut TcpStream) -> Option<Vec<u8>> {
    let mut header = [0; 4];
    peer.read_exact(&mut header).ok()?;
    let mut frame = vec![0; u32::from_be_bytes(header) as usize];
    peer.read_exact(&mut frame).unwrap();
    Some(frame)
}

/// Send a packet too large for the kernel buffers while the peer does not
/// read, and drop the send: the rest goes out with the next operation.
async fn interrupted_send(finish_with_close: bool) {
    let (listener, addr) = raw_peer();
    let client = TcpClient::connect(addr, blobs()).await.unwrap();
    let (mut peer, _) = listener.accept().unwrap();
    let big = blob(32 * 1024 * 1024);

    let sent = future::or(async { Some(client.send_packet(&big).await) }, async {
        Timer::after(Duration::from_millis(200)).await;
        None
    })
    .await;
    assert!(
        sent.is_none(),
        "the peer does not read: the send must block"
    );

    let reader = std::thread::spawn(move || {
        let mut frames = Vec::new();
        while let Some(frame) = read_frame(&mut peer) {
            frames.push(frame);
        }
        frames
    });
    if finish_with_close {
        client.close().await.unwrap();
    } else {
        client.send_packet(b"tail").await.unwrap();
        client.send_eof().await.unwrap();
    }
    let frames = blocking::unblock(move || reader.join().unwrap()).await;
    let expected: Vec<Vec<u8>> = if finish_with_close {
        vec![big]
    } else {
        vec![big, b"tail".to_vec()]
    };
    assert_eq!(frames.len(), expected.len());
    for (frame, expected) in frames.iter().zip(&expected) {
        assert!(frame == expected, "a frame arrived damaged");
    }
}

#[test]
fn dropped_send_is_finished_by_the_next_send() {
    both(|_| interrupted_send(false));
}

#[test]
fn dropped_send_is_finished_by_close() {
    both(|_| interrupted_send(true));
}

#[test]
fn close_from_another_task_wakes_recv() {
    both(|runtime| async move {
        for &tls in MODES {
            let (client, _conn, _server) = pair(lines(), tls).await;
            let client = Arc::new(client);
            let receiving = runtime.spawn({
                let client = client.clone();
                async move {
                    let started = Instant::now();
                    (client.recv_packet().await, started.elapsed())
                }
            });
            Timer::after(Duration::from_millis(100)).await;
            client.close().await.unwrap();
            let (result, waited) = receiving.await;
            assert!(matches!(result, Err(Error::Closed)), "{result:?}");
            // Correctness bound: woken by close, not by a timeout.
            assert!(waited < Duration::from_secs(10), "{waited:?}");
            assert!(client.is_closed());
            assert!(matches!(client.send_packet("x").await, Err(Error::Closed)));
            assert!(matches!(client.recv_packet().await, Err(Error::Closed)));
            client.close().await.unwrap();
        }
    });
}

/// Two tasks on one client (and two on the server's connection), each
/// direction carrying `COUNT` packets: nothing lost, nothing reordered.
const COUNT: usize = 20_000;

#[test]
fn two_tasks_share_a_client() {
    both(|runtime| async move {
        for &tls in MODES {
            let (client, conn, _server) = pair(lines(), tls).await;
            let (client, conn) = (Arc::new(client), Arc::new(conn));
            let send = |side: Arc<TcpClient<common::Lines>>, tag: &'static str| {
                runtime.spawn(async move {
                    for i in 0..COUNT {
                        side.send_packet(&format!("{tag}{i}")).await.unwrap();
                    }
                })
            };
            let recv = |side: Arc<TcpClient<common::Lines>>, tag: &'static str| {
                runtime.spawn(async move {
                    for i in 0..COUNT {
                        assert_eq!(side.recv_packet().await.unwrap(), format!("{tag}{i}"));
                    }
                })
            };
            let tasks = [
                send(client.clone(), "c"),
                recv(client.clone(), "s"),
                send(conn.clone(), "s"),
                recv(conn.clone(), "c"),
            ];
            for task in tasks {
                task.await;
            }
        }
    });
}

#[test]
fn send_eof_keeps_receiving() {
    both(|_| async {
        for &tls in MODES {
            let (client, conn, _server) = pair(lines(), tls).await;
            client.send_packet("last").await.unwrap();
            client.send_eof().await.unwrap();
            client.send_eof().await.unwrap();
            assert!(matches!(
                client.send_packet("more").await,
                Err(Error::SendAfterEof)
            ));
            assert_eq!(conn.recv_packet().await.unwrap(), "last");
            let end = conn.recv_packet().await.unwrap_err();
            assert!(matches!(end, Error::ConnectionClosed { .. }), "{end}");
            conn.send_packet("reply").await.unwrap();
            assert_eq!(client.recv_packet().await.unwrap(), "reply");
        }
    });
}

#[test]
fn adopts_connected_streams() {
    both(|runtime| async move {
        let (listener, addr) = raw_peer();
        let protocol = lines();

        let std_stream = TcpStream::connect(addr).unwrap();
        let client = TcpClient::from_stream(std_stream, protocol.clone(), ClientOptions::default())
            .await
            .unwrap();
        let (mut peer, _) = listener.accept().unwrap();
        client.send_packet("std").await.unwrap();
        let mut buf = [0; 4];
        peer.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"std\n");

        // The runtime's own stream, as it is.
        let client = match runtime {
            common::Runtime::AsyncStd => {
                let stream = async_std::net::TcpStream::connect(addr).await.unwrap();
                TcpClient::from_stream(stream, protocol.clone(), ClientOptions::default()).await
            }
            common::Runtime::Smol => {
                let stream = smol::net::TcpStream::connect(addr).await.unwrap();
                TcpClient::from_stream(stream, protocol.clone(), ClientOptions::default()).await
            }
        }
        .unwrap();
        let (mut peer, _) = listener.accept().unwrap();
        peer.write_all(b"runtime\n").unwrap();
        assert_eq!(client.recv_packet().await.unwrap(), "runtime");

        // A stream still shared with a clone is refused, not taken apart.
        let stream = async_std::net::TcpStream::connect(addr).await.unwrap();
        let clone = stream.clone();
        let err = TcpClient::from_stream(stream, protocol.clone(), ClientOptions::default())
            .await
            .unwrap_err();
        assert_eq!(err.io_kind(), std::io::ErrorKind::InvalidInput, "{err}");
        drop(clone);
        let _ = listener.accept().unwrap();

        // The shared form smol's stream converts into.
        let stream = smol::net::TcpStream::connect(addr).await.unwrap();
        let stream = Arc::<async_io::Async<TcpStream>>::from(stream);
        let client = TcpClient::from_stream(stream, protocol.clone(), ClientOptions::default())
            .await
            .unwrap();
        let (mut peer, _) = listener.accept().unwrap();
        peer.write_all(b"runtime\n").unwrap();
        assert_eq!(client.recv_packet().await.unwrap(), "runtime");

        // Not connected.
        let unconnected =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        let err = TcpClient::from_stream(
            TcpStream::from(unconnected),
            protocol,
            ClientOptions::default(),
        )
        .await
        .unwrap_err();
        assert_eq!(err.io_kind(), std::io::ErrorKind::NotConnected, "{err}");
    });
}

#[test]
fn connect_errors_name_the_target() {
    both(|_| async {
        let (listener, addr) = raw_peer();
        drop(listener);
        let err = TcpClient::connect(addr, lines()).await.unwrap_err();
        assert!(
            matches!(err, Error::ConnectionRefused { addr: ref a } if *a == addr),
            "{err}"
        );

        let err = TcpClient::connect("no-such-host.invalid:80", lines())
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Resolve { .. }), "{err}");

        let retry = netproto_async_std::RetryPolicy::attempts(3)
            .initial_delay(Duration::from_millis(10))
            .jitter(false);
        let events = Arc::new(std::sync::Mutex::new(0));
        let counter = events.clone();
        let options = ClientOptions::default()
            .retry(retry)
            .on_event(move |_| *counter.lock().unwrap() += 1);
        let err = TcpClient::connect_with(addr, lines(), options)
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::ConnectFailed { attempts: 3, .. }),
            "{err}"
        );
        assert_eq!(*events.lock().unwrap(), 2);
    });
}
