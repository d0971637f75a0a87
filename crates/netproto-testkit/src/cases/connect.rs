//! Connecting: errors that name what failed, the connect timeout, retries.

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use netproto_core::Error;
use netproto_core::options::{ConnectionEvent, IntoAddress, RetryPolicy};

use super::*;
use crate::peers::{Peer, PeerStream};

/// A refused connection names the address that refused it.
pub async fn connect_refused_names_address<D: TcpDriver>(t: Transport) {
    let address = free_port_address();
    let addr: SocketAddr = address.to_string().parse().unwrap();
    let err = D::connect(address, lines(), t.client_options())
        .await
        .err()
        .expect("nothing listens there");
    assert!(
        matches!(err, Error::ConnectionRefused { addr: ref a } if *a == addr),
        "{err:?}"
    );
    assert_eq!(err.to_string(), format!("connection refused by {addr}"));
    assert_eq!(
        io::Error::from(err).kind(),
        io::ErrorKind::ConnectionRefused
    );
}

/// Port 0 is refused before any connection is tried, in every driver, with
/// a message that says why.
pub async fn connect_to_port_zero_is_refused<D: TcpDriver>(t: Transport) {
    let address = "127.0.0.1:0".into_address().unwrap();
    let err = D::connect(address, lines(), t.client_options())
        .await
        .err()
        .expect("port 0 cannot be connected to");
    assert!(matches!(err, Error::Config(_)), "{err:?}");
    assert!(
        err.to_string().contains("port 0 is only for binding"),
        "{err}"
    );
}

/// A name that does not resolve gives `Resolve` naming the host.
pub async fn dns_failure_names_host<D: TcpDriver>(t: Transport) {
    let address = "no-such-host.invalid:4000".into_address().unwrap();
    let err = D::connect(address, lines(), t.client_options())
        .await
        .err()
        .expect("the name does not resolve");
    assert!(
        matches!(&err, Error::Resolve { host, .. } if host == "no-such-host.invalid"),
        "{err:?}"
    );
    assert!(err.to_string().contains("no-such-host.invalid"), "{err}");
    assert_eq!(err.io_kind(), io::ErrorKind::NotFound);
}

/// A listener whose accept queue is full drops new SYNs, so connecting to
/// it hangs: the connect timeout must end the attempt, naming target and
/// timeout. (Loopback only: no outside address is ever contacted.)
pub async fn connect_timeout<D: TcpDriver>(t: Transport) {
    let (listener, fillers) = full_backlog_listener();
    let addr = listener.local_addr().unwrap();
    let timeout = Duration::from_millis(300);
    let options = t.client_options().connect_timeout(timeout);
    let err = D::connect(addr.into_address().unwrap(), lines(), options)
        .await
        .err()
        .expect("the backlog is full");
    assert!(
        matches!(&err, Error::ConnectTimeout { target, timeout: d } if *target == addr.to_string() && *d == timeout),
        "{err:?}"
    );
    assert_eq!(err.io_kind(), io::ErrorKind::TimedOut);
    drop((listener, fillers));
}

/// A loopback listener whose accept queue is full: connecting to it hangs
/// (it drops new SYNs). Keep the connections that fill it alive.
fn full_backlog_listener() -> (TcpListener, Vec<TcpStream>) {
    let listener = netproto_socket::listener::bind("127.0.0.1:0".parse().unwrap(), 0).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut fillers = Vec::new();
    let filled = loop {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            Ok(stream) => fillers.push(stream),
            Err(err) if err.kind() == io::ErrorKind::TimedOut => break true,
            Err(err) => panic!("filling the backlog: {err}"),
        }
        if fillers.len() > 64 {
            break false;
        }
    };
    assert!(filled, "could not fill a listen backlog on this system");
    (listener, fillers)
}

/// Happy Eyeballs: a host whose first address is dead (a full backlog:
/// the connect hangs) and whose second is live is connected to through the
/// second long before the connect timeout — which, for the whole race, is
/// far beyond the bound the case waits. Trying the addresses in turn, each
/// with the connect timeout, would hang on the first.
pub async fn happy_eyeballs_skips_a_dead_address<D: TcpDriver>(t: Transport) {
    let (dead, fillers) = full_backlog_listener();
    let dead = dead.local_addr().unwrap();
    let peer = Peer::spawn(t, |s| s.echo());
    let live = peer.addr();
    let options = t
        .client_options()
        .connect_timeout(Duration::from_secs(600))
        .resolver(move |_| Ok(vec![dead, live]));
    let address = "dual.test:1".into_address().unwrap();
    let mut connecting = Box::pin(D::connect(address, lines(), options));
    let client = within::<D, _>(PROMPTLY, &mut connecting)
        .await
        .expect("the live address must win the race while the dead one hangs")
        .unwrap();
    assert_eq!(D::peer_addr(&client), live);
    send_ok::<D, _>(&client, "raced").await;
    assert_eq!(recv_ok::<D, _>(&client, "the echo").await, "raced");
    D::close(&client).await.unwrap();
    peer.join();
    drop(fillers);
}

/// `local_address`: the client's socket is bound to it before connecting.
pub async fn local_address_is_bound<D: TcpDriver>(t: Transport) {
    let local: SocketAddr = free_port_address().to_string().parse().unwrap();
    let peer = Peer::spawn_raw(move |listener| {
        let (tcp, from) = listener.accept()?;
        PeerStream::server(tcp, t)?.echo()?;
        Ok(from)
    });
    let options = t.client_options().local_address(local);
    let client = D::connect(peer.address(), lines(), options).await.unwrap();
    assert_eq!(D::local_addr(&client), local);
    send_ok::<D, _>(&client, "bound").await;
    assert_eq!(recv_ok::<D, _>(&client, "the echo").await, "bound");
    D::close(&client).await.unwrap();
    assert_eq!(peer.join(), local, "the server sees the bound address");

    // A local address of a family the host has no address of.
    let options = t
        .client_options()
        .local_address("[::1]:0".parse::<SocketAddr>().unwrap());
    let err = D::connect("127.0.0.1:9".into_address().unwrap(), lines(), options)
        .await
        .err()
        .expect("an IPv6 socket cannot reach an IPv4 address");
    assert!(matches!(err, Error::Config(_)), "{err:?}");
}

/// With a retry policy, a client connects to a server that comes up later,
/// reporting each failed attempt.
pub async fn retry_connects_to_late_server<D: TcpDriver>(t: Transport) {
    let address = free_port_address();
    let bind_to = address.to_string();
    let server = std::thread::spawn(move || -> io::Result<()> {
        std::thread::sleep(Duration::from_millis(400));
        let listener = TcpListener::bind(bind_to)?;
        let (tcp, _) = listener.accept()?;
        PeerStream::server(tcp, t)?.echo()
    });
    let events = Events::default();
    let policy = RetryPolicy::attempts(100)
        .initial_delay(Duration::from_millis(20))
        .max_delay(Duration::from_millis(100));
    let options = t.client_options().retry(policy).on_event(events.recorder());
    let client = D::connect(address.clone(), lines(), options)
        .await
        .expect("the server came up within the retries");
    send_ok::<D, _>(&client, "late").await;
    assert_eq!(recv_ok::<D, _>(&client, "the echo").await, "late");
    let seen = events.snapshot();
    let failures = seen
        .iter()
        .filter(|e| matches!(e, ConnectionEvent::ConnectAttemptFailed { target, .. } if *target == address.to_string()))
        .count();
    assert!(failures >= 1, "{seen:?}");
    assert!(
        matches!(seen.last(), Some(ConnectionEvent::Connected { .. })),
        "{seen:?}"
    );
    D::close(&client).await.unwrap();
    server.join().unwrap().unwrap();
}

/// A retry policy gives up after its attempts with `ConnectFailed`, keeping
/// the last error.
pub async fn retry_gives_up_after_attempts<D: TcpDriver>(t: Transport) {
    let address = free_port_address();
    let events = Events::default();
    let policy = RetryPolicy::attempts(3)
        .initial_delay(Duration::from_millis(5))
        .jitter(false);
    let options = t.client_options().retry(policy).on_event(events.recorder());
    let err = D::connect(address.clone(), lines(), options)
        .await
        .err()
        .expect("nothing listens there");
    match &err {
        Error::ConnectFailed {
            target,
            attempts,
            last,
        } => {
            assert_eq!(*target, address.to_string());
            assert_eq!(*attempts, 3);
            assert!(
                matches!(**last, Error::ConnectionRefused { .. }),
                "{last:?}"
            );
        }
        other => panic!("expected ConnectFailed, got {other:?}"),
    }
    assert_eq!(err.io_kind(), io::ErrorKind::ConnectionRefused);
    let failures = events
        .snapshot()
        .iter()
        .filter(|e| matches!(e, ConnectionEvent::ConnectAttemptFailed { .. }))
        .count();
    assert_eq!(failures, 2, "one event per attempt followed by a retry");
}
