//! Sending, half-close, close, sharing between tasks, and client plumbing
//! (addresses, socket options, adopted streams, events): rules 5 to 8.

use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use netproto_core::Error;
use netproto_core::options::{CLOSE_FLUSH_TIMEOUT, ConnectionEvent};

use super::*;
use crate::peers::{PeerOn, PeerStream};

/// The peer closes its write half; receiving reports it, sending goes on.
pub async fn peer_half_close_keeps_sending<D: Driver>(t: Transport) {
    let peer = PeerOn::<D::Family, _>::spawn(t, |mut s| {
        s.send(b"bye\n")?;
        s.shutdown_write()?;
        s.read_lines(3)
    });
    let client = connect_to::<D, _>(peer.address(), lines(), t).await;
    assert_eq!(recv_ok::<D, _>(&client, "bye").await, "bye");
    let err = recv_err::<D, _>(&client, "connection closed").await;
    assert!(matches!(err, Error::ConnectionClosed { .. }), "{err:?}");
    for line in ["x", "y", "z"] {
        send_ok::<D, _>(&client, line).await;
    }
    assert_eq!(peer.join(), b"x\ny\nz\n");
    D::close(&client).await.unwrap();
}

/// Rule 6: `send_eof` flushes and shuts the write half; receiving keeps
/// working; later sends fail with `SendAfterEof`.
pub async fn send_eof_keeps_receiving<D: Driver>(t: Transport) {
    let peer = PeerOn::<D::Family, _>::spawn(t, |mut s| {
        let all = s.read_until_eof();
        s.send(&all)?;
        s.shutdown_write()?;
        Ok(all)
    });
    let client = connect_to::<D, _>(peer.address(), lines(), t).await;
    for line in ["a", "b", "c"] {
        send_ok::<D, _>(&client, line).await;
    }
    D::send_eof(&client).await.unwrap();
    let err = D::send_packet(&client, "d")
        .await
        .expect_err("send after EOF");
    assert!(matches!(err, Error::SendAfterEof), "{err:?}");
    for line in ["a", "b", "c"] {
        assert_eq!(recv_ok::<D, _>(&client, line).await, line);
    }
    let err = recv_err::<D, _>(&client, "connection closed").await;
    assert!(matches!(err, Error::ConnectionClosed { .. }), "{err:?}");
    assert_eq!(peer.join(), b"a\nb\nc\n");
    D::close(&client).await.unwrap();
}

/// A task sending `size`-byte packets on `client` until a send fails,
/// counting the bytes of completed sends in `sent`; its output is the error.
fn send_until_error<D: Driver>(
    client: &Arc<D::Client<Frames>>,
    size: usize,
    sent: &Arc<AtomicU64>,
) -> Task<Error> {
    let (client, sent) = (client.clone(), sent.clone());
    spawn::<D, _>(async move {
        let packet = vec![0x5a; size];
        loop {
            if let Err(err) = D::send_packet(&*client, &packet[..]).await {
                return err;
            }
            sent.fetch_add(packet.len() as u64, Ordering::SeqCst);
        }
    })
}

/// Sends to a peer that never reads block once the kernel buffers are full
/// (memory stays bounded), and `close` from elsewhere wakes the blocked send.
pub async fn never_reading_peer_blocks_sends<D: Driver>(t: Transport) {
    let (go, wait) = gate();
    let peer = PeerOn::<D::Family, _>::spawn(t, move |_s| {
        wait_gate(&wait);
        Ok(())
    });
    let client = Arc::new(connect_to::<D, _>(peer.address(), frames(), t).await);
    let sent = Arc::new(AtomicU64::new(0));
    let mut sender = send_until_error::<D>(&client, 64 * 1024, &sent);
    assert!(
        within::<D, _>(Duration::from_millis(700), &mut sender)
            .await
            .is_none(),
        "sending to a peer that never reads must block, not fail"
    );
    let bytes = sent.load(Ordering::SeqCst);
    // Kernel buffers on loopback hold a few MiB; a driver that queued in
    // memory would be far past this after 700 ms.
    assert!(
        bytes < 64 * 1024 * 1024,
        "{bytes} bytes accepted by a peer that never reads"
    );
    let mut closing = spawn::<D, _>({
        let client = client.clone();
        async move { D::close(&*client).await }
    });
    let err = within::<D, _>(PROMPTLY, &mut sender)
        .await
        .expect("close must wake a blocked send");
    assert!(matches!(err, Error::Closed), "expected Closed, got {err:?}");
    // The peer goes away without reading: close returns, having written
    // what the kernel still took, or saying how much it gave up.
    go.send(()).unwrap();
    peer.join();
    let closed = within::<D, _>(PROMPTLY, &mut closing)
        .await
        .expect("close returns once the peer is gone");
    assert!(
        matches!(closed, Ok(()) | Err(Error::Undelivered { bytes: 1.., .. })),
        "{closed:?}"
    );
}

/// `close` finishes writing what is queued — here a packet whose send is in
/// progress in another task, blocked on a peer that is not reading yet —
/// within `CLOSE_FLUSH_TIMEOUT`, then ends the stream cleanly: the peer
/// gets every frame whole, then EOF (TLS: close_notify).
pub async fn close_finishes_a_send_in_progress<D: Driver>(t: Transport) {
    const FRAME: usize = 1024 * 1024;
    let (go, wait) = gate();
    let peer = PeerOn::<D::Family, _>::spawn(t, move |mut s| {
        wait_gate(&wait);
        let mut frames = 0u64;
        loop {
            let mut header = [0u8; 4];
            // Nothing more at a frame boundary: the clean end. An EOF (or a
            // TLS truncation) anywhere else fails the script.
            if s.read(&mut header[..1])? == 0 {
                return Ok(frames);
            }
            s.read_exact(&mut header[1..])?;
            let body = s.read_n(u32::from_be_bytes(header) as usize)?;
            assert!(body.len() == FRAME && body.iter().all(|&b| b == 0x5a));
            frames += 1;
        }
    });
    let client = Arc::new(connect_to::<D, _>(peer.address(), frames(), t).await);
    let sent = Arc::new(AtomicU64::new(0));
    let mut sender = spawn::<D, _>({
        let (client, sent) = (client.clone(), sent.clone());
        async move {
            let packet = vec![0x5a; FRAME];
            while D::send_packet(&*client, &packet[..]).await.is_ok() {
                sent.fetch_add(1, Ordering::SeqCst);
            }
        }
    });
    assert!(
        within::<D, _>(Duration::from_millis(500), &mut sender)
            .await
            .is_none(),
        "sending to a peer that does not read must block"
    );
    let mut closing = spawn::<D, _>({
        let client = client.clone();
        async move { D::close(&*client).await }
    });
    D::sleep(Duration::from_millis(100)).await;
    go.send(()).unwrap();
    within::<D, _>(PROMPTLY, &mut closing)
        .await
        .expect("close returns once the queue is written")
        .unwrap();
    within::<D, _>(PROMPTLY, &mut sender)
        .await
        .expect("the sender stops once the client is closed");
    let received = peer.join();
    let sent = sent.load(Ordering::SeqCst);
    assert!(
        received == sent || received == sent + 1,
        "{sent} packets sent (and maybe one in progress), {received} received whole"
    );
}

/// Rule 7 while `close` is still flushing: a receive pending in another
/// task is woken with `Closed` at once, not when the final flush gives up
/// on a peer that does not read (up to `CLOSE_FLUSH_TIMEOUT`).
pub async fn close_wakes_recv_while_it_flushes<D: Driver>(t: Transport) {
    let (go, wait) = gate();
    let peer = PeerOn::<D::Family, _>::spawn(t, move |_s| {
        wait_gate(&wait);
        Ok(())
    });
    let client = Arc::new(connect_to::<D, _>(peer.address(), frames(), t).await);
    // Fill the socket: the send blocks with far more bytes still queued
    // than the kernel can take (a small fixed send buffer, which also stops
    // its autotuning, and 1 MiB packets), so the final flush of `close`
    // blocks on them.
    D::socket(&*client).set_send_buffer_size(16 * 1024).unwrap();
    let mut sender = send_until_error::<D>(&client, 1024 * 1024, &Arc::default());
    assert!(
        within::<D, _>(Duration::from_millis(700), &mut sender)
            .await
            .is_none(),
        "sending to a peer that never reads must block"
    );
    let mut receiver = spawn::<D, _>({
        let client = client.clone();
        async move { D::recv_packet(&*client).await }
    });
    assert!(
        within::<D, _>(Duration::from_millis(100), &mut receiver)
            .await
            .is_none(),
        "nothing was sent: the receive must wait"
    );
    let mut closing = spawn::<D, _>({
        let client = client.clone();
        async move { D::close(&*client).await }
    });
    let result = within::<D, _>(CLOSE_FLUSH_TIMEOUT / 2, &mut receiver)
        .await
        .expect("close must wake a pending receive at once, not after its final flush");
    assert!(
        within::<D, _>(Duration::ZERO, &mut closing).await.is_none(),
        "close's final flush must still be blocked here, or this case proves nothing"
    );
    assert!(matches!(result, Err(Error::Closed)), "{result:?}");
    // The peer goes away: the flush fails and `close` returns.
    go.send(()).unwrap();
    peer.join();
    let closed = within::<D, _>(PROMPTLY, &mut closing)
        .await
        .expect("close returns once the peer is gone");
    assert!(
        matches!(closed, Err(Error::Undelivered { bytes, .. }) if bytes > 0),
        "close must say what it gave up: {closed:?}"
    );
    let err = within::<D, _>(PROMPTLY, &mut sender)
        .await
        .expect("close wakes the blocked send");
    assert!(matches!(err, Error::Closed), "{err:?}");
}

/// Rule 7: `close` from another task wakes a pending receive promptly with
/// `Closed`; `close` is idempotent and later calls fail with `Closed`.
pub async fn close_wakes_blocked_recv<D: Driver>(t: Transport) {
    let (go, wait) = gate();
    let peer = PeerOn::<D::Family, _>::spawn(t, move |_s| {
        wait_gate(&wait);
        Ok(())
    });
    let client = Arc::new(connect_to::<D, _>(peer.address(), lines(), t).await);
    let mut receiver = spawn::<D, _>({
        let client = client.clone();
        async move { D::recv_packet(&*client).await }
    });
    assert!(
        within::<D, _>(Duration::from_millis(200), &mut receiver)
            .await
            .is_none(),
        "nothing was sent: the receive must wait"
    );
    assert!(!D::is_closed(&*client));
    D::close(&client).await.unwrap();
    let result = within::<D, _>(PROMPTLY, &mut receiver)
        .await
        .expect("close must wake a pending receive");
    assert!(matches!(result, Err(Error::Closed)), "{result:?}");
    assert!(D::is_closed(&*client));
    D::close(&client).await.expect("close twice");
    assert!(matches!(D::recv_packet(&*client).await, Err(Error::Closed)));
    assert!(matches!(
        D::send_packet(&*client, "late").await,
        Err(Error::Closed)
    ));
    go.send(()).unwrap();
    peer.join();
}

/// How many packets each way [`concurrent_send_and_recv`] moves.
pub const CONCURRENT_PACKETS: u32 = 100_000;

/// Rule 7: one task sends while another receives on the same client —
/// 100k packets each way through an echo peer, none lost or reordered.
pub async fn concurrent_send_and_recv<D: Driver>(t: Transport) {
    let peer = PeerOn::<D::Family, _>::spawn(t, |s| s.echo());
    let client = Arc::new(connect_to::<D, _>(peer.address(), lines(), t).await);
    let sender = spawn::<D, _>({
        let client = client.clone();
        async move {
            for i in 0..CONCURRENT_PACKETS {
                D::send_packet(&*client, i.to_string().as_str())
                    .await
                    .unwrap_or_else(|err| panic!("send {i}: {err}"));
            }
        }
    });
    let receiver = spawn::<D, _>({
        let client = client.clone();
        async move {
            for i in 0..CONCURRENT_PACKETS {
                let line = D::recv_packet(&*client)
                    .await
                    .unwrap_or_else(|err| panic!("receive {i}: {err}"));
                assert_eq!(line, i.to_string(), "packet {i} lost or reordered");
            }
        }
    });
    sender.await;
    receiver.await;
    D::send_eof(&*client).await.unwrap();
    let err = recv_err::<D, _>(&client, "the end of the echo").await;
    assert!(matches!(err, Error::ConnectionClosed { .. }), "{err:?}");
    peer.join();
    D::close(&client).await.unwrap();
}

/// `iter_received_packets`: what is buffered, or arrives within the timeout
/// per packet; it ends on a timeout, and after an unrecoverable error.
pub async fn iter_received_packets_batches<D: Driver>(t: Transport) {
    let (go, wait) = gate();
    let peer = PeerOn::<D::Family, _>::spawn(t, move |mut s| {
        s.send(b"a\nb\nc\n")?;
        wait_gate(&wait);
        s.send(b"d\n")?;
        s.shutdown_write()?;
        s.read_until_eof();
        Ok(())
    });
    let client = connect_to::<D, _>(peer.address(), lines(), t).await;
    assert_eq!(recv_ok::<D, _>(&client, "a").await, "a");
    let buffered: Vec<String> = D::iter_received_packets(&client, Duration::ZERO)
        .await
        .into_iter()
        .map(|r| r.expect("buffered packets"))
        .collect();
    assert_eq!(buffered, ["b", "c"]);
    assert!(
        D::iter_received_packets(&client, Duration::from_millis(100))
            .await
            .is_empty()
    );
    go.send(()).unwrap();
    // The peer's clean close ends the iteration quietly.
    let rest = D::iter_received_packets(&client, PROMPTLY).await;
    assert_eq!(rest.len(), 1, "{rest:?}");
    assert_eq!(rest[0].as_ref().expect("d"), "d");
    D::close(&client).await.unwrap();
    peer.join();
}

/// Addresses on both sides agree; socket options go through `socket()`.
pub async fn addresses_and_socket_options<D: TcpDriver>(t: Transport) {
    let peer = PeerOn::<D::Family, _>::spawn_raw(move |listener| {
        let (tcp, remote) = listener.accept()?;
        let seen = (tcp.local_addr()?, remote);
        if let Ok(mut s) = PeerStream::server(tcp, t) {
            s.read_until_eof();
        }
        Ok(seen)
    });
    let client = connect_to::<D, _>(peer.address(), lines(), t).await;
    let socket = D::socket(&client);
    assert!(socket.nodelay().unwrap(), "TCP_NODELAY is on by default");
    socket.set_nodelay(false).unwrap();
    assert!(!socket.nodelay().unwrap());
    socket.set_keepalive(Some(Duration::from_secs(30))).unwrap();
    assert_keepalive(&socket, Duration::from_secs(30));
    socket.set_linger(Some(Duration::from_secs(1))).unwrap();
    assert_eq!(socket.linger().unwrap(), Some(Duration::from_secs(1)));
    socket.set_ttl(33).unwrap();
    assert_eq!(socket.ttl().unwrap(), 33);
    socket.sock_ref().set_linger(None).unwrap();
    assert_eq!(D::max_recv_size(&client), 16 * 1024);
    let (local, remote) = (D::local_addr(&client), D::peer_addr(&client));
    D::close(&client).await.unwrap();
    let (peer_local, peer_remote) = peer.join();
    assert_eq!(remote, peer_local);
    assert_eq!(local, peer_remote);

    // Options given at connect time.
    let peer = PeerOn::<D::Family, _>::spawn(t, |mut s| {
        s.read_until_eof();
        Ok(())
    });
    let options = t
        .client_options()
        .nodelay(false)
        .keepalive(Duration::from_secs(45))
        .max_recv_size(1000);
    let client = D::connect(peer.address(), lines(), options).await.unwrap();
    assert!(!D::socket(&client).nodelay().unwrap());
    assert_keepalive(&D::socket(&client), Duration::from_secs(45));
    assert_eq!(D::max_recv_size(&client), 1000);
    D::close(&client).await.unwrap();
    peer.join();
}

/// Keep-alive is on with `idle`, as far as the platform can tell: where the
/// idle time cannot be read back (Windows), reading it is `Unsupported`.
fn assert_keepalive(socket: &crate::SocketOptions<'_>, idle: Duration) {
    assert!(socket.keepalive_enabled().unwrap());
    if netproto_socket::KEEPALIVE_IDLE_READABLE {
        assert_eq!(socket.keepalive().unwrap(), Some(idle));
    } else {
        let err = socket.keepalive().unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::Unsupported, "{err}");
    }
}

/// `from_stream` adopts a connected std stream (TLS: the server name is the
/// peer's IP).
pub async fn from_stream_adopts_connected_socket<D: Driver>(t: Transport) {
    let peer = PeerOn::<D::Family, _>::spawn(t, |s| s.echo());
    let stream = D::Family::connect(&peer.addr()).unwrap();
    let local = D::Family::local_addr(&stream);
    let client = D::from_stream(stream, lines(), D::Family::client_options(t))
        .await
        .expect("adopt a connected stream");
    assert_eq!(D::peer_addr(&client), peer.addr());
    assert_eq!(D::local_addr(&client), local);
    send_ok::<D, _>(&client, "adopted").await;
    assert_eq!(recv_ok::<D, _>(&client, "the echo").await, "adopted");
    D::close(&client).await.unwrap();
    peer.join();
}

/// `from_stream` refuses a socket that is not connected (NotConnected).
pub async fn from_stream_refuses_unconnected_socket<D: TcpDriver>(t: Transport) {
    use netproto_socket::socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    let stream: std::net::TcpStream = socket.into();
    let err = D::from_stream(stream, lines(), D::Family::client_options(t))
        .await
        .err()
        .expect("an unconnected socket must be refused");
    assert_eq!(err.io_kind(), std::io::ErrorKind::NotConnected, "{err:?}");
}

/// The connection-state callback: `Connected` with both addresses, then one
/// `Disconnected` on close.
pub async fn events_connected_and_disconnected<D: Driver>(t: Transport) {
    let peer = PeerOn::<D::Family, _>::spawn(t, |mut s| {
        s.read_until_eof();
        Ok(())
    });
    let events = Events::default();
    let options = D::Family::client_options(t).on_event(events.recorder());
    let client = D::connect(peer.address(), lines(), options).await.unwrap();
    let (local, remote) = (D::local_addr(&client), D::peer_addr(&client));
    let seen = events.snapshot();
    assert!(
        matches!(seen.as_slice(), [ConnectionEvent::Connected { local: l, peer: p }] if *l == peer_of(local.clone()) && *p == peer_of(remote.clone())),
        "{seen:?}"
    );
    D::close(&client).await.unwrap();
    D::close(&client).await.unwrap();
    drop(client);
    let seen = events.snapshot();
    let disconnects: Vec<_> = seen
        .iter()
        .filter(|e| matches!(e, ConnectionEvent::Disconnected { .. }))
        .collect();
    assert!(
        matches!(disconnects.as_slice(), [ConnectionEvent::Disconnected { peer: p, reason: None }] if *p == peer_of(remote.clone())),
        "{seen:?}"
    );
    peer.join();
}

/// Big packets through small reads (`max_recv_size` 1 KiB): a 1 MiB frame
/// and a run of 100 KiB frames arrive intact.
pub async fn large_packets_with_small_reads<D: Driver>(t: Transport) {
    let peer = PeerOn::<D::Family, _>::spawn(t, |s| s.echo());
    let options = D::Family::client_options(t).max_recv_size(1024);
    let client = Arc::new(D::connect(peer.address(), frames(), options).await.unwrap());
    let big: Bytes = (0..1024 * 1024).map(|i| (i % 251) as u8).collect();
    let sender = spawn::<D, _>({
        let (client, big) = (client.clone(), big.clone());
        async move {
            D::send_packet(&*client, &big[..]).await.unwrap();
            for i in 0..10u8 {
                D::send_packet(&*client, &vec![i; 100_000][..])
                    .await
                    .unwrap();
            }
        }
    });
    assert_eq!(recv_ok::<D, _>(&client, "1 MiB").await, big);
    for i in 0..10u8 {
        let frame = recv_ok::<D, _>(&client, "100 KiB").await;
        assert!(frame.len() == 100_000 && frame.iter().all(|&b| b == i));
    }
    sender.await;
    D::close(&client).await.unwrap();
    peer.join();
}

/// A client over `transport` made by hand, for server cases.
pub fn raw_client<D: Driver>(
    addr: crate::Addr<D>,
    t: Transport,
) -> PeerStream<<D::Family as Family>::Stream> {
    PeerStream::dial::<D::Family>(&addr, t).expect("connect to the server under test")
}
