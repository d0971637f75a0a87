//! Network benches on loopback: each netproto driver against a hand-written
//! loop on the same runtime, plain and TLS.
//!
//! The benches name the member crates (`netproto_core`, `netproto_sync`,
//! ...) that the `netproto` facade re-exports.
//!
//! Run with `cargo xtask bench --net` (or `cargo bench --bench network
//! --features sync,tokio,async-std,tls`); parts whose feature is off are
//! skipped. Every bench speaks the same wire format: a 4-byte big-endian
//! length, then the payload (netproto's `LengthPrefix::u32_be` with
//! `BytesSerializer`).
//!
//! * `echo_1client` / `echo_8clients`: each client sends a 128-byte packet
//!   and waits for the server to echo it, over and over (8 clients at once in
//!   the second). An iteration is one round trip per client.
//! * `bulk`: one client streams 64 KiB packets to a server that only reads
//!   them; after a run it sends an empty packet and waits for an empty
//!   reply, so the time covers every byte being received.
//!
//! * `udp_echo_1client` / `udp_echo_8clients`: the echo benches over UDP,
//!   one 128-byte datagram each way per round trip; netproto's
//!   `UdpClient`s and `UdpServer` (a handler per client) against a
//!   hand-written loop on the same runtime (clients that send and wait on
//!   a `UdpSocket`, a server that echoes what it receives from one
//!   `UdpSocket`), on the sync, tokio and async-std runtimes. A datagram
//!   lost on loopback is sent again after a second (both sides alike), so
//!   no bench can hang.
//!
//! Groups are `<scenario>/<runtime>[_tls]`; in each, `netproto` is the
//! driver and the other entry is the baseline:
//!
//! | runtime | baseline | TLS baseline |
//! |---|---|---|
//! | `sync` | std `TcpStream`, `BufReader` + `read_exact`, `write_all` | rustls `StreamOwned` |
//! | `tokio` | tokio-util `Framed<TcpStream, LengthDelimitedCodec>` | the same over tokio-rustls |
//! | `async-std` | async-std `TcpStream`, `BufReader` + `read_exact`, `write_all` | none |
//!
//! Both sides of every connection set `TCP_NODELAY` (netproto's default).
//! Servers and clients are set up once per bench and reused by every
//! sample, so connection set-up and TLS handshakes are not timed.

use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_main};

/// Payload of the echo benches.
const ECHO_SIZE: usize = 128;
/// Clients of the concurrent echo bench.
const MANY_CLIENTS: usize = 8;
/// Payload of the bulk bench.
const BULK_SIZE: usize = 64 * 1024;

/// The scenarios, with the packet size and the client count.
#[derive(Clone, Copy, Debug)]
enum Scenario {
    Echo { clients: usize },
    Bulk,
}

impl Scenario {
    const ALL: [Scenario; 3] = [
        Scenario::Echo { clients: 1 },
        Scenario::Echo {
            clients: MANY_CLIENTS,
        },
        Scenario::Bulk,
    ];

    fn name(self) -> &'static str {
        match self {
            Scenario::Echo { clients: 1 } => "echo_1client",
            Scenario::Echo { .. } => "echo_8clients",
            Scenario::Bulk => "bulk",
        }
    }

    fn clients(self) -> usize {
        match self {
            Scenario::Echo { clients } => clients,
            Scenario::Bulk => 1,
        }
    }

    fn size(self) -> usize {
        match self {
            Scenario::Echo { .. } => ECHO_SIZE,
            Scenario::Bulk => BULK_SIZE,
        }
    }

    /// `128B x8`: the payload size and the packets one iteration moves.
    fn param(self) -> String {
        let size = match self.size() {
            s if s >= 1024 => format!("{}KiB", s / 1024),
            s => format!("{s}B"),
        };
        format!("{size} x{}", self.clients())
    }

    fn payload(self) -> Vec<u8> {
        (0..self.size()).map(|i| b'a' + (i % 26) as u8).collect()
    }
}

/// Open `<scenario>/<runtime>` with the throughput of one iteration.
fn open<'a>(
    c: &'a mut Criterion,
    scenario: Scenario,
    runtime: &str,
) -> BenchmarkGroup<'a, WallTime> {
    let mut group = c.benchmark_group(format!("{}/{runtime}", scenario.name()));
    group.throughput(Throughput::Bytes(
        (scenario.size() * scenario.clients()) as u64,
    ));
    group
}

/// Time `iters` iterations of `scenario` with clients made by `connect`:
/// `run(client, iters)` runs one client's share; clients run at once on
/// threads when there are several.
fn bench_threads<C: Send>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    scenario: Scenario,
    mut clients: Vec<C>,
    run: impl Fn(&mut C, u64) + Sync,
) {
    group.bench_function(BenchmarkId::new(name, scenario.param()), |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            if let [client] = &mut clients[..] {
                run(client, iters);
            } else {
                std::thread::scope(|scope| {
                    for client in &mut clients {
                        let run = &run;
                        scope.spawn(move || run(client, iters));
                    }
                });
            }
            start.elapsed()
        })
    });
}

/// Blocking std clients and servers, netproto-sync against hand-written.
mod sync {
    use std::io::{BufReader, Read, Write};
    use std::net::{TcpListener, TcpStream};

    use super::*;

    /// One client's side of `scenario`, `iters` times, over a blocking
    /// stream with manual length prefixes.
    pub(crate) fn manual_client<R: Read, W: Write>(
        scenario: Scenario,
        reader: &mut R,
        writer: &mut W,
        payload: &[u8],
        iters: u64,
    ) {
        let mut frame = Vec::with_capacity(4 + payload.len());
        let mut received = Vec::new();
        let mut send = |writer: &mut W, payload: &[u8]| {
            frame.clear();
            frame.extend_from_slice(&(payload.len() as u32).to_be_bytes());
            frame.extend_from_slice(payload);
            writer.write_all(&frame).expect("send");
            writer.flush().expect("flush");
        };
        match scenario {
            Scenario::Echo { .. } => {
                for _ in 0..iters {
                    send(writer, payload);
                    read_frame(reader, &mut received).expect("echo");
                    assert_eq!(received.len(), payload.len());
                }
            }
            Scenario::Bulk => {
                for _ in 0..iters {
                    send(writer, payload);
                }
                send(writer, &[]);
                read_frame(reader, &mut received).expect("ack");
                assert!(received.is_empty());
            }
        }
    }

    /// Read one length-prefixed frame into `buf`.
    pub(crate) fn read_frame(reader: &mut impl Read, buf: &mut Vec<u8>) -> std::io::Result<()> {
        let mut header = [0; 4];
        reader.read_exact(&mut header)?;
        buf.resize(u32::from_be_bytes(header) as usize, 0);
        reader.read_exact(buf)
    }

    /// The hand-written server's loop for one connection: echo every packet
    /// (`echo`), or read them and answer only the empty one.
    pub(crate) fn manual_serve<R: Read, W: Write>(echo: bool, reader: &mut R, writer: &mut W) {
        let mut buf = Vec::new();
        let mut frame = Vec::new();
        while read_frame(reader, &mut buf).is_ok() {
            if echo || buf.is_empty() {
                frame.clear();
                frame.extend_from_slice(&(buf.len() as u32).to_be_bytes());
                frame.extend_from_slice(&buf);
                if writer
                    .write_all(&frame)
                    .and_then(|()| writer.flush())
                    .is_err()
                {
                    return;
                }
            }
        }
    }

    /// A hand-written server: a thread per connection, accepting forever
    /// (the threads end with the bench process).
    fn manual_server(echo: bool) -> std::net::SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let address = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                stream.set_nodelay(true).unwrap();
                std::thread::spawn(move || {
                    let mut writer = stream.try_clone().expect("clone");
                    let mut reader = BufReader::new(stream);
                    manual_serve(echo, &mut reader, &mut writer);
                });
            }
        });
        address
    }

    pub(crate) fn baseline(c: &mut Criterion) {
        for scenario in Scenario::ALL {
            let address = manual_server(matches!(scenario, Scenario::Echo { .. }));
            let payload = scenario.payload();
            let clients: Vec<(BufReader<TcpStream>, TcpStream)> = (0..scenario.clients())
                .map(|_| {
                    let stream = TcpStream::connect(address).expect("connect");
                    stream.set_nodelay(true).unwrap();
                    (BufReader::new(stream.try_clone().unwrap()), stream)
                })
                .collect();
            let mut group = open(c, scenario, "sync");
            #[cfg(feature = "sync")]
            driver::driver(&mut group, scenario, false);
            bench_threads(
                &mut group,
                "std TcpStream",
                scenario,
                clients,
                |(reader, writer), iters| {
                    manual_client(scenario, reader, writer, &payload, iters);
                },
            );
            group.finish();
        }
    }

    /// The netproto-sync side.
    #[cfg(feature = "sync")]
    pub(crate) mod driver {
        use netproto_core::framing::LengthPrefix;
        use netproto_core::serializer::BytesSerializer;
        use netproto_core::{Protocol, StreamProtocol};
        use netproto_sync::{ClientOptions, ServerOptions, TcpClient, TcpServer};

        use super::*;

        pub(crate) type Packets = StreamProtocol<LengthPrefix, BytesSerializer>;

        pub(crate) fn protocol() -> Packets {
            StreamProtocol::new(LengthPrefix::u32_be(), BytesSerializer)
        }

        /// One client's side of `scenario` over a netproto client.
        pub(crate) fn client<P>(
            scenario: Scenario,
            client: &TcpClient<P>,
            payload: &[u8],
            iters: u64,
        ) where
            P: Protocol<Sent = [u8], Received = bytes::Bytes>,
        {
            match scenario {
                Scenario::Echo { .. } => {
                    for _ in 0..iters {
                        client.send_packet(payload).expect("send");
                        let echo = client.recv_packet().expect("echo");
                        assert_eq!(echo.len(), payload.len());
                    }
                }
                Scenario::Bulk => {
                    for _ in 0..iters {
                        client.send_packet(payload).expect("send");
                    }
                    client.send_packet(&[]).expect("send");
                    assert!(client.recv_packet().expect("ack").is_empty());
                }
            }
        }

        /// Bench the netproto-sync driver (with TLS when `tls`).
        pub(crate) fn driver(
            group: &mut BenchmarkGroup<'_, WallTime>,
            scenario: Scenario,
            tls: bool,
        ) {
            let echo = matches!(scenario, Scenario::Echo { .. });
            #[allow(unused_mut)]
            let mut server_options = ServerOptions::default();
            #[allow(unused_mut)]
            let mut client_options = ClientOptions::default();
            #[cfg(feature = "tls")]
            if tls {
                let certs = netproto_testkit::certs::test_certs();
                server_options = server_options.tls(certs.server_config());
                client_options = client_options.tls(certs.client_config());
            }
            assert!(cfg!(feature = "tls") || !tls);
            let server = TcpServer::bind("127.0.0.1:0", protocol(), server_options).expect("bind");
            let address = server.local_addrs()[0];
            let shutdown = server.shutdown_handle();
            let serving = std::thread::spawn(move || {
                server.serve(move |conn| {
                    while let Ok(packet) = conn.recv_packet() {
                        if (echo || packet.is_empty()) && conn.send_packet(&packet).is_err() {
                            return;
                        }
                    }
                })
            });
            let clients: Vec<TcpClient<Packets>> = (0..scenario.clients())
                .map(|_| {
                    TcpClient::connect_with(address, protocol(), client_options.clone())
                        .expect("connect")
                })
                .collect();
            let payload = scenario.payload();
            bench_threads(group, "netproto", scenario, clients, |conn, iters| {
                client(scenario, conn, &payload, iters);
            });
            shutdown.shutdown(Duration::from_secs(1));
            serving.join().unwrap().expect("serve");
        }
    }

    /// TLS: netproto-sync against rustls `StreamOwned`.
    #[cfg(feature = "tls")]
    pub(crate) fn tls_baseline(c: &mut Criterion) {
        use netproto_core::tls::rustls::pki_types::ServerName;
        use netproto_core::tls::rustls::{ClientConnection, ServerConnection, StreamOwned};

        let certs = netproto_testkit::certs::test_certs();
        let server_config = certs.rustls_server_config();
        let client_config = certs.rustls_client_config();
        for scenario in Scenario::ALL {
            let echo = matches!(scenario, Scenario::Echo { .. });
            let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
            let address = listener.local_addr().unwrap();
            let config = server_config.clone();
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    let Ok(stream) = stream else { continue };
                    stream.set_nodelay(true).unwrap();
                    let config = config.clone();
                    std::thread::spawn(move || {
                        let conn = ServerConnection::new(config).expect("server session");
                        // StreamOwned reads and writes through one `&mut`:
                        // the same object is both ends of the loop.
                        let mut tls = StreamOwned::new(conn, stream);
                        let mut buf = Vec::new();
                        let mut frame = Vec::new();
                        while read_frame(&mut tls, &mut buf).is_ok() {
                            if echo || buf.is_empty() {
                                frame.clear();
                                frame.extend_from_slice(&(buf.len() as u32).to_be_bytes());
                                frame.extend_from_slice(&buf);
                                if tls.write_all(&frame).and_then(|()| tls.flush()).is_err() {
                                    return;
                                }
                            }
                        }
                    });
                }
            });
            let payload = scenario.payload();
            let clients: Vec<StreamOwned<ClientConnection, TcpStream>> = (0..scenario.clients())
                .map(|_| {
                    let stream = TcpStream::connect(address).expect("connect");
                    stream.set_nodelay(true).unwrap();
                    let name = ServerName::try_from("127.0.0.1").unwrap();
                    let conn = ClientConnection::new(client_config.clone(), name).unwrap();
                    let mut tls = StreamOwned::new(conn, stream);
                    // Finish the handshake before timing.
                    while tls.conn.is_handshaking() {
                        tls.conn.complete_io(&mut tls.sock).expect("handshake");
                    }
                    tls
                })
                .collect();
            let mut group = open(c, scenario, "sync_tls");
            #[cfg(feature = "sync")]
            driver::driver(&mut group, scenario, true);
            bench_threads(
                &mut group,
                "rustls StreamOwned",
                scenario,
                clients,
                |tls, iters| {
                    let mut frame = Vec::with_capacity(4 + payload.len());
                    let mut received = Vec::new();
                    let mut send = |tls: &mut StreamOwned<ClientConnection, TcpStream>,
                                    p: &[u8]| {
                        frame.clear();
                        frame.extend_from_slice(&(p.len() as u32).to_be_bytes());
                        frame.extend_from_slice(p);
                        tls.write_all(&frame).expect("send");
                        tls.flush().expect("flush");
                    };
                    match scenario {
                        Scenario::Echo { .. } => {
                            for _ in 0..iters {
                                send(tls, &payload);
                                read_frame(tls, &mut received).expect("echo");
                            }
                        }
                        Scenario::Bulk => {
                            for _ in 0..iters {
                                send(tls, &payload);
                            }
                            send(tls, &[]);
                            read_frame(tls, &mut received).expect("ack");
                        }
                    }
                },
            );
            group.finish();
        }
    }
}

/// Tokio: netproto-tokio against tokio-util's `Framed` with
/// `LengthDelimitedCodec` (over tokio-rustls for TLS).
mod tokio_rt {
    use bytes::Bytes;
    use futures_util::{SinkExt, StreamExt};
    use tokio::io::{AsyncRead, AsyncWrite};
    use tokio::net::{TcpListener, TcpStream};
    use tokio::runtime::Runtime;
    use tokio_util::codec::{Framed, LengthDelimitedCodec};

    use super::*;

    /// A runtime with a worker per core (two here): clients and servers
    /// share it, as they would in one program.
    pub(crate) fn runtime() -> Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("tokio runtime")
    }

    /// Time `scenario` with one task per client on `rt`; `run(client,
    /// iters)` runs one client's share and hands the client back.
    pub(crate) fn bench_tasks<C, F>(
        group: &mut BenchmarkGroup<'_, WallTime>,
        rt: &Runtime,
        name: &str,
        scenario: Scenario,
        clients: Vec<C>,
        run: impl Fn(C, u64) -> F,
    ) where
        C: Send + 'static,
        F: Future<Output = C> + Send + 'static,
    {
        let mut clients = Some(clients);
        group.bench_function(BenchmarkId::new(name, scenario.param()), |b| {
            b.iter_custom(|iters| {
                let taken = clients.take().expect("clients are handed back");
                let start = Instant::now();
                let tasks: Vec<_> = taken.into_iter().map(|c| rt.spawn(run(c, iters))).collect();
                let back = rt.block_on(async {
                    let mut back = Vec::with_capacity(tasks.len());
                    for task in tasks {
                        back.push(task.await.expect("client task"));
                    }
                    back
                });
                let elapsed = start.elapsed();
                clients = Some(back);
                elapsed
            })
        });
    }

    fn codec() -> LengthDelimitedCodec {
        LengthDelimitedCodec::builder()
            .length_field_type::<u32>()
            .new_codec()
    }

    /// The baseline server's loop for one connection.
    async fn framed_serve<S: AsyncRead + AsyncWrite + Unpin>(echo: bool, stream: S) {
        let mut framed = Framed::new(stream, codec());
        while let Some(Ok(packet)) = framed.next().await {
            if (echo || packet.is_empty()) && framed.send(packet.freeze()).await.is_err() {
                return;
            }
        }
    }

    /// One client's side of `scenario` over a `Framed` stream.
    async fn framed_client<S: AsyncRead + AsyncWrite + Unpin>(
        scenario: Scenario,
        framed: &mut Framed<S, LengthDelimitedCodec>,
        payload: &Bytes,
        iters: u64,
    ) {
        match scenario {
            Scenario::Echo { .. } => {
                for _ in 0..iters {
                    framed.send(payload.clone()).await.expect("send");
                    let echo = framed.next().await.expect("echo").expect("echo");
                    assert_eq!(echo.len(), payload.len());
                }
            }
            Scenario::Bulk => {
                for _ in 0..iters {
                    framed.feed(payload.clone()).await.expect("send");
                }
                framed.send(Bytes::new()).await.expect("send");
                let ack = framed.next().await.expect("ack").expect("ack");
                assert!(ack.is_empty());
            }
        }
    }

    pub(crate) fn baseline(c: &mut Criterion) {
        let rt = runtime();
        for scenario in Scenario::ALL {
            let echo = matches!(scenario, Scenario::Echo { .. });
            let address = rt.block_on(async {
                let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
                let address = listener.local_addr().unwrap();
                tokio::spawn(async move {
                    while let Ok((stream, _)) = listener.accept().await {
                        stream.set_nodelay(true).unwrap();
                        tokio::spawn(framed_serve(echo, stream));
                    }
                });
                address
            });
            let clients: Vec<_> = rt.block_on(async {
                let mut clients = Vec::new();
                for _ in 0..scenario.clients() {
                    let stream = TcpStream::connect(address).await.expect("connect");
                    stream.set_nodelay(true).unwrap();
                    clients.push(Framed::new(stream, codec()));
                }
                clients
            });
            let payload = Bytes::from(scenario.payload());
            let mut group = open(c, scenario, "tokio");
            #[cfg(feature = "tokio")]
            driver::driver(&mut group, &rt, scenario, false);
            bench_tasks(
                &mut group,
                &rt,
                "tokio Framed",
                scenario,
                clients,
                |mut framed, iters| {
                    let payload = payload.clone();
                    async move {
                        framed_client(scenario, &mut framed, &payload, iters).await;
                        framed
                    }
                },
            );
            group.finish();
        }
    }

    /// TLS: netproto-tokio against `Framed` over tokio-rustls.
    #[cfg(feature = "tls")]
    pub(crate) fn tls_baseline(c: &mut Criterion) {
        use netproto_core::tls::rustls::pki_types::ServerName;
        use tokio_rustls::{TlsAcceptor, TlsConnector};

        let certs = netproto_testkit::certs::test_certs();
        let acceptor = TlsAcceptor::from(certs.rustls_server_config());
        let connector = TlsConnector::from(certs.rustls_client_config());
        let rt = runtime();
        for scenario in Scenario::ALL {
            let echo = matches!(scenario, Scenario::Echo { .. });
            let acceptor = acceptor.clone();
            let address = rt.block_on(async {
                let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
                let address = listener.local_addr().unwrap();
                tokio::spawn(async move {
                    while let Ok((stream, _)) = listener.accept().await {
                        stream.set_nodelay(true).unwrap();
                        let acceptor = acceptor.clone();
                        tokio::spawn(async move {
                            if let Ok(tls) = acceptor.accept(stream).await {
                                framed_serve(echo, tls).await;
                            }
                        });
                    }
                });
                address
            });
            let clients: Vec<_> = rt.block_on(async {
                let mut clients = Vec::new();
                for _ in 0..scenario.clients() {
                    let stream = TcpStream::connect(address).await.expect("connect");
                    stream.set_nodelay(true).unwrap();
                    let name = ServerName::try_from("127.0.0.1").unwrap();
                    let tls = connector.connect(name, stream).await.expect("handshake");
                    clients.push(Framed::new(tls, codec()));
                }
                clients
            });
            let payload = Bytes::from(scenario.payload());
            let mut group = open(c, scenario, "tokio_tls");
            #[cfg(feature = "tokio")]
            driver::driver(&mut group, &rt, scenario, true);
            bench_tasks(
                &mut group,
                &rt,
                "tokio-rustls Framed",
                scenario,
                clients,
                |mut framed, iters| {
                    let payload = payload.clone();
                    async move {
                        framed_client(scenario, &mut framed, &payload, iters).await;
                        framed
                    }
                },
            );
            group.finish();
        }
    }

    /// The netproto-tokio side.
    #[cfg(feature = "tokio")]
    mod driver {
        use std::sync::Arc;

        use netproto_core::StreamProtocol;
        use netproto_core::framing::LengthPrefix;
        use netproto_core::serializer::BytesSerializer;
        use netproto_tokio::{ClientOptions, ServerOptions, TcpClient, TcpServer};

        use super::*;

        type Packets = StreamProtocol<LengthPrefix, BytesSerializer>;

        fn protocol() -> Packets {
            StreamProtocol::new(LengthPrefix::u32_be(), BytesSerializer)
        }

        pub(crate) fn driver(
            group: &mut BenchmarkGroup<'_, WallTime>,
            rt: &Runtime,
            scenario: Scenario,
            tls: bool,
        ) {
            let echo = matches!(scenario, Scenario::Echo { .. });
            #[allow(unused_mut)]
            let mut server_options = ServerOptions::default();
            #[allow(unused_mut)]
            let mut client_options = ClientOptions::default();
            #[cfg(feature = "tls")]
            if tls {
                let certs = netproto_testkit::certs::test_certs();
                server_options = server_options.tls(certs.server_config());
                client_options = client_options.tls(certs.client_config());
            }
            assert!(cfg!(feature = "tls") || !tls);
            let server = rt
                .block_on(TcpServer::bind("127.0.0.1:0", protocol(), server_options))
                .expect("bind");
            let address = server.local_addrs()[0];
            let shutdown = server.shutdown_handle();
            let serving = rt.spawn(async move {
                server
                    .serve(move |conn| async move {
                        while let Ok(packet) = conn.recv_packet().await {
                            if (echo || packet.is_empty())
                                && conn.send_packet(&packet).await.is_err()
                            {
                                return;
                            }
                        }
                    })
                    .await
            });
            let clients: Vec<Arc<TcpClient<Packets>>> = rt.block_on(async {
                let mut clients = Vec::new();
                for _ in 0..scenario.clients() {
                    let client =
                        TcpClient::connect_with(address, protocol(), client_options.clone())
                            .await
                            .expect("connect");
                    clients.push(Arc::new(client));
                }
                clients
            });
            let payload = scenario.payload();
            let payload: Arc<[u8]> = payload.into();
            bench_tasks(group, rt, "netproto", scenario, clients, |client, iters| {
                let payload = payload.clone();
                async move {
                    match scenario {
                        Scenario::Echo { .. } => {
                            for _ in 0..iters {
                                client.send_packet(&payload).await.expect("send");
                                let echo = client.recv_packet().await.expect("echo");
                                assert_eq!(echo.len(), payload.len());
                            }
                        }
                        Scenario::Bulk => {
                            for _ in 0..iters {
                                client.send_packet(&payload).await.expect("send");
                            }
                            client.send_packet(&[]).await.expect("send");
                            assert!(client.recv_packet().await.expect("ack").is_empty());
                        }
                    }
                    client
                }
            });
            shutdown.shutdown(Duration::from_secs(1));
            rt.block_on(serving).expect("server task").expect("serve");
        }
    }
}

/// async-std: netproto-async-std against a hand-written async-std loop.
#[cfg(feature = "async-std")]
mod async_std_rt {
    use std::sync::Arc;

    use async_std::io::{BufReader, ReadExt, WriteExt};
    use async_std::net::{TcpListener, TcpStream};
    use async_std::task;
    use netproto_async_std::{ClientOptions, ServerOptions, TcpClient, TcpServer};
    use netproto_core::StreamProtocol;
    use netproto_core::framing::LengthPrefix;
    use netproto_core::serializer::BytesSerializer;

    use super::*;

    type Packets = StreamProtocol<LengthPrefix, BytesSerializer>;

    fn protocol() -> Packets {
        StreamProtocol::new(LengthPrefix::u32_be(), BytesSerializer)
    }

    /// Time `scenario` with one task per client; `run(client, iters)` runs
    /// one client's share and hands the client back.
    pub(crate) fn bench_tasks<C, F>(
        group: &mut BenchmarkGroup<'_, WallTime>,
        name: &str,
        scenario: Scenario,
        clients: Vec<C>,
        run: impl Fn(C, u64) -> F,
    ) where
        C: Send + 'static,
        F: Future<Output = C> + Send + 'static,
    {
        let mut clients = Some(clients);
        group.bench_function(BenchmarkId::new(name, scenario.param()), |b| {
            b.iter_custom(|iters| {
                let taken = clients.take().expect("clients are handed back");
                let start = Instant::now();
                let tasks: Vec<_> = taken
                    .into_iter()
                    .map(|c| task::spawn(run(c, iters)))
                    .collect();
                let back = task::block_on(async {
                    let mut back = Vec::with_capacity(tasks.len());
                    for task in tasks {
                        back.push(task.await);
                    }
                    back
                });
                let elapsed = start.elapsed();
                clients = Some(back);
                elapsed
            })
        });
    }

    async fn read_frame(
        reader: &mut BufReader<TcpStream>,
        buf: &mut Vec<u8>,
    ) -> std::io::Result<()> {
        let mut header = [0; 4];
        reader.read_exact(&mut header).await?;
        buf.resize(u32::from_be_bytes(header) as usize, 0);
        reader.read_exact(buf).await
    }

    async fn write_frame(
        writer: &mut TcpStream,
        frame: &mut Vec<u8>,
        payload: &[u8],
    ) -> std::io::Result<()> {
        frame.clear();
        frame.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        frame.extend_from_slice(payload);
        writer.write_all(frame).await
    }

    /// A hand-written client: the reading half buffered, the writing half
    /// the stream itself.
    struct Manual {
        reader: BufReader<TcpStream>,
        writer: TcpStream,
    }

    pub(crate) fn bench(c: &mut Criterion, tls: bool) {
        for scenario in Scenario::ALL {
            let echo = matches!(scenario, Scenario::Echo { .. });
            let mut group = open(c, scenario, if tls { "async-std_tls" } else { "async-std" });
            driver(&mut group, scenario, tls);
            if !tls {
                let address = task::block_on(async {
                    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
                    let address = listener.local_addr().unwrap();
                    task::spawn(async move {
                        while let Ok((stream, _)) = listener.accept().await {
                            stream.set_nodelay(true).unwrap();
                            task::spawn(async move {
                                let mut writer = stream.clone();
                                let mut reader = BufReader::new(stream);
                                let (mut buf, mut frame) = (Vec::new(), Vec::new());
                                while read_frame(&mut reader, &mut buf).await.is_ok() {
                                    if (echo || buf.is_empty())
                                        && write_frame(&mut writer, &mut frame, &buf).await.is_err()
                                    {
                                        return;
                                    }
                                }
                            });
                        }
                    });
                    address
                });
                let clients: Vec<Manual> = task::block_on(async {
                    let mut clients = Vec::new();
                    for _ in 0..scenario.clients() {
                        let stream = TcpStream::connect(address).await.expect("connect");
                        stream.set_nodelay(true).unwrap();
                        clients.push(Manual {
                            reader: BufReader::new(stream.clone()),
                            writer: stream,
                        });
                    }
                    clients
                });
                let payload: Arc<[u8]> = scenario.payload().into();
                bench_tasks(
                    &mut group,
                    "async-std TcpStream",
                    scenario,
                    clients,
                    |mut m, iters| {
                        let payload = payload.clone();
                        async move {
                            let (mut frame, mut buf) = (Vec::new(), Vec::new());
                            match scenario {
                                Scenario::Echo { .. } => {
                                    for _ in 0..iters {
                                        write_frame(&mut m.writer, &mut frame, &payload)
                                            .await
                                            .unwrap();
                                        read_frame(&mut m.reader, &mut buf).await.unwrap();
                                    }
                                }
                                Scenario::Bulk => {
                                    for _ in 0..iters {
                                        write_frame(&mut m.writer, &mut frame, &payload)
                                            .await
                                            .unwrap();
                                    }
                                    write_frame(&mut m.writer, &mut frame, &[]).await.unwrap();
                                    read_frame(&mut m.reader, &mut buf).await.unwrap();
                                }
                            }
                            m
                        }
                    },
                );
            }
            group.finish();
        }
    }

    fn driver(group: &mut BenchmarkGroup<'_, WallTime>, scenario: Scenario, tls: bool) {
        let echo = matches!(scenario, Scenario::Echo { .. });
        #[allow(unused_mut)]
        let mut server_options = ServerOptions::default();
        #[allow(unused_mut)]
        let mut client_options = ClientOptions::default();
        #[cfg(feature = "tls")]
        if tls {
            let certs = netproto_testkit::certs::test_certs();
            server_options = server_options.tls(certs.server_config());
            client_options = client_options.tls(certs.client_config());
        }
        assert!(cfg!(feature = "tls") || !tls);
        let server = task::block_on(TcpServer::bind("127.0.0.1:0", protocol(), server_options))
            .expect("bind");
        let address = server.local_addrs()[0];
        let shutdown = server.shutdown_handle();
        let serving = task::spawn(async move {
            server
                .serve(move |conn| async move {
                    while let Ok(packet) = conn.recv_packet().await {
                        if (echo || packet.is_empty()) && conn.send_packet(&packet).await.is_err() {
                            return;
                        }
                    }
                })
                .await
        });
        let clients: Vec<Arc<TcpClient<Packets>>> = task::block_on(async {
            let mut clients = Vec::new();
            for _ in 0..scenario.clients() {
                let client = TcpClient::connect_with(address, protocol(), client_options.clone())
                    .await
                    .expect("connect");
                clients.push(Arc::new(client));
            }
            clients
        });
        let payload: Arc<[u8]> = scenario.payload().into();
        bench_tasks(group, "netproto", scenario, clients, |client, iters| {
            let payload = payload.clone();
            async move {
                match scenario {
                    Scenario::Echo { .. } => {
                        for _ in 0..iters {
                            client.send_packet(&payload).await.expect("send");
                            let echo = client.recv_packet().await.expect("echo");
                            assert_eq!(echo.len(), payload.len());
                        }
                    }
                    Scenario::Bulk => {
                        for _ in 0..iters {
                            client.send_packet(&payload).await.expect("send");
                        }
                        client.send_packet(&[]).await.expect("send");
                        assert!(client.recv_packet().await.expect("ack").is_empty());
                    }
                }
                client
            }
        });
        shutdown.shutdown(Duration::from_secs(1));
        task::block_on(serving).expect("serve");
    }
}

/// The TLS data path without sockets, on one thread: netproto's endpoint
/// pump against rustls alone, so the CPU cost of the pump is measured apart
/// from scheduling and the kernel.
///
/// An iteration is one 64 KiB packet, length-prefixed, encrypted by the
/// client and decrypted by the server; the ciphertext crosses in 16 KiB
/// reads (netproto's default `max_recv_size`). netproto: `push_packet`,
/// `pending`/`advance` into the server's `read_buf`/`commit`, then
/// `next_packet`. rustls: the client's `writer()` and `write_tls` into a
/// `Vec` standing for the socket, the server's `read_tls` (16 KiB at a time),
/// `process_new_packets` and `reader()` into a receive buffer, then the
/// length prefix taken off by hand.
#[cfg(feature = "tls")]
mod tls_memory {
    use std::io::{Read, Write};

    use netproto_core::StreamProtocol;
    use netproto_core::driver::endpoint::{Endpoint, EndpointConfig, RecvHalf, SendHalf};
    use netproto_core::driver::tls::TlsSession;
    use netproto_core::framing::LengthPrefix;
    use netproto_core::serializer::BytesSerializer;
    use tokio_rustls::rustls::{ClientConnection, ServerConnection};

    use super::*;

    type Packets = StreamProtocol<LengthPrefix, BytesSerializer>;

    /// Reads of the moved ciphertext.
    const READ: usize = 16 * 1024;

    struct Side {
        recv: RecvHalf<Packets>,
        send: SendHalf<Packets>,
    }

    fn side(session: TlsSession) -> Side {
        let protocol = StreamProtocol::new(LengthPrefix::u32_be(), BytesSerializer);
        let peer = "127.0.0.1:9".parse::<std::net::SocketAddr>().unwrap();
        let (recv, send) =
            Endpoint::with_tls(protocol, peer, &EndpointConfig::default(), session).split();
        Side { recv, send }
    }

    /// Move what `from` has pending into `to`'s read regions.
    fn transfer(from: &mut Side, to: &mut Side) -> usize {
        from.send.write_into(&mut to.recv)
    }

    fn endpoints() -> (Side, Side) {
        let certs = netproto_testkit::certs::test_certs();
        let mut client = side(certs.client_config().session("localhost").unwrap());
        let mut server = side(certs.server_config().session().unwrap());
        for _ in 0..10 {
            let moved = transfer(&mut client, &mut server) + transfer(&mut server, &mut client);
            if moved == 0 && !client.send.is_handshaking() && !server.send.is_handshaking() {
                return (client, server);
            }
        }
        panic!("no handshake");
    }

    fn connections() -> (ClientConnection, ServerConnection) {
        let certs = netproto_testkit::certs::test_certs();
        let mut client = ClientConnection::new(
            certs.client_config().config().clone(),
            "localhost".try_into().unwrap(),
        )
        .unwrap();
        let mut server = ServerConnection::new(certs.server_config().config().clone()).unwrap();
        // As netproto does: its own send buffer is the bound.
        client.set_buffer_limit(None);
        while client.is_handshaking() || server.is_handshaking() {
            let mut wire = Vec::new();
            client.write_tls(&mut wire).unwrap();
            server.read_tls(&mut &wire[..]).unwrap();
            server.process_new_packets().unwrap();
            wire.clear();
            server.write_tls(&mut wire).unwrap();
            client.read_tls(&mut &wire[..]).unwrap();
            client.process_new_packets().unwrap();
        }
        (client, server)
    }

    pub(crate) fn bench(c: &mut Criterion) {
        let payload = vec![0x5a; BULK_SIZE];
        let mut group = c.benchmark_group("tls_memory/bulk");
        group.throughput(Throughput::Bytes(BULK_SIZE as u64));
        let param = Scenario::Bulk.param();

        let (mut client, mut server) = endpoints();
        group.bench_function(BenchmarkId::new("netproto", &param), |b| {
            b.iter(|| {
                client.send.push_packet(&payload).expect("push");
                transfer(&mut client, &mut server);
                let packet = server.recv.next_packet().expect("a packet").expect("valid");
                assert_eq!(packet.len(), BULK_SIZE);
            })
        });

        let (mut client, mut server) = connections();
        let mut wire = Vec::new();
        let mut frame = Vec::with_capacity(4 + BULK_SIZE);
        let mut received = Vec::new();
        group.bench_function(BenchmarkId::new("rustls", &param), |b| {
            b.iter(|| {
                frame.clear();
                frame.extend_from_slice(&(BULK_SIZE as u32).to_be_bytes());
                frame.extend_from_slice(&payload);
                client.writer().write_all(&frame).unwrap();
                wire.clear();
                while client.wants_write() {
                    client.write_tls(&mut wire).unwrap();
                }
                received.clear();
                for chunk in wire.chunks(READ) {
                    let mut chunk = chunk;
                    while !chunk.is_empty() {
                        server.read_tls(&mut chunk).unwrap();
                        let state = server.process_new_packets().unwrap();
                        let start = received.len();
                        received.resize(start + state.plaintext_bytes_to_read(), 0);
                        server.reader().read_exact(&mut received[start..]).unwrap();
                    }
                }
                let length = u32::from_be_bytes(received[..4].try_into().unwrap()) as usize;
                assert_eq!(length, BULK_SIZE);
                assert_eq!(received.len(), 4 + length);
            })
        });
        group.finish();
    }
}

/// One async driver's `UdpClient`'s share of the UDP echo bench: `iters`
/// round trips, a datagram sent again when its echo is a second late (the
/// same code for every async driver's client type).
#[cfg(any(feature = "tokio", feature = "async-std"))]
macro_rules! netproto_udp_echo {
    ($client:expr, $payload:expr, $iters:expr) => {
        for _ in 0..$iters {
            loop {
                $client.send_packet(&$payload).await.expect("send");
                match $client.recv_packet_timeout(Duration::from_secs(1)).await {
                    Ok(echo) => {
                        assert_eq!(echo.len(), $payload.len());
                        break;
                    }
                    Err(netproto_core::Error::Timeout { .. }) => {}
                    Err(err) => panic!("receive: {err}"),
                }
            }
        }
    };
}

/// UDP echo: each driver's `UdpClient`s and `UdpServer` against a
/// hand-written loop over the same runtime's `UdpSocket`.
mod udp {
    use super::*;

    /// How long a client waits for an echo before sending again (a
    /// datagram lost on loopback would otherwise hang the bench).
    const RESEND: Duration = Duration::from_secs(1);

    const SCENARIOS: [Scenario; 2] = [
        Scenario::Echo { clients: 1 },
        Scenario::Echo {
            clients: MANY_CLIENTS,
        },
    ];

    /// Open `udp_<scenario>/<runtime>`.
    fn open_udp<'a>(
        c: &'a mut Criterion,
        scenario: Scenario,
        runtime: &str,
    ) -> BenchmarkGroup<'a, WallTime> {
        let mut group = c.benchmark_group(format!("udp_{}/{runtime}", scenario.name()));
        group.throughput(Throughput::Bytes(
            (scenario.size() * scenario.clients()) as u64,
        ));
        group
    }

    /// Blocking: netproto-sync against std `UdpSocket`s.
    pub(crate) fn sync(c: &mut Criterion) {
        use std::net::UdpSocket;
        for scenario in SCENARIOS {
            let mut group = open_udp(c, scenario, "sync");
            #[cfg(feature = "sync")]
            sync_driver(&mut group, scenario);
            // The hand-written server: one thread echoing every datagram
            // (it ends with the bench process).
            let server = UdpSocket::bind("127.0.0.1:0").expect("bind");
            let at = server.local_addr().unwrap();
            std::thread::spawn(move || {
                let mut buf = vec![0; 64 * 1024];
                while let Ok((n, from)) = server.recv_from(&mut buf) {
                    let _ = server.send_to(&buf[..n], from);
                }
            });
            let clients: Vec<UdpSocket> = (0..scenario.clients())
                .map(|_| {
                    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
                    socket.connect(at).expect("connect");
                    socket.set_read_timeout(Some(RESEND)).unwrap();
                    socket
                })
                .collect();
            let payload = scenario.payload();
            bench_threads(
                &mut group,
                "std UdpSocket",
                scenario,
                clients,
                |socket, iters| {
                    let mut buf = [0; 2048];
                    for _ in 0..iters {
                        loop {
                            socket.send(&payload).expect("send");
                            match socket.recv(&mut buf) {
                                Ok(n) => {
                                    assert_eq!(n, payload.len());
                                    break;
                                }
                                Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => {}
                                Err(err) => panic!("receive: {err}"),
                            }
                        }
                    }
                },
            );
            group.finish();
        }
    }

    #[cfg(feature = "sync")]
    fn sync_driver(group: &mut BenchmarkGroup<'_, WallTime>, scenario: Scenario) {
        use netproto_core::Error;
        use netproto_core::datagram::{DatagramProtocol, DatagramServerOptions};
        use netproto_core::serializer::BytesSerializer;
        use netproto_sync::{UdpClient, UdpServer};

        let protocol = DatagramProtocol::new(BytesSerializer);
        let options = DatagramServerOptions::default();
        let server = UdpServer::bind("127.0.0.1:0", protocol.clone(), options).expect("bind");
        let at = server.local_addr();
        let shutdown = server.shutdown_handle();
        let serving = std::thread::spawn(move || {
            server.serve(|peer| {
                while let Ok(datagram) = peer.recv_packet() {
                    if peer.send_packet(&datagram).is_err() {
                        return;
                    }
                }
            })
        });
        let clients: Vec<_> = (0..scenario.clients())
            .map(|_| UdpClient::connect(at, protocol.clone()).expect("connect"))
            .collect();
        let payload = scenario.payload();
        bench_threads(group, "netproto", scenario, clients, |client, iters| {
            for _ in 0..iters {
                loop {
                    client.send_packet(&payload).expect("send");
                    match client.recv_packet_timeout(RESEND) {
                        Ok(echo) => {
                            assert_eq!(echo.len(), payload.len());
                            break;
                        }
                        Err(Error::Timeout { .. }) => {}
                        Err(err) => panic!("receive: {err}"),
                    }
                }
            }
        });
        shutdown.shutdown(Duration::from_secs(1));
        serving.join().unwrap().expect("serve");
    }

    /// Tokio: netproto-tokio against tokio `UdpSocket`s.
    pub(crate) fn tokio(c: &mut Criterion) {
        use tokio::net::UdpSocket;
        let rt = tokio_rt::runtime();
        for scenario in SCENARIOS {
            let mut group = open_udp(c, scenario, "tokio");
            #[cfg(feature = "tokio")]
            tokio_driver(&mut group, &rt, scenario);
            let (at, clients) = rt.block_on(async {
                let server = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
                let at = server.local_addr().unwrap();
                tokio::spawn(async move {
                    let mut buf = vec![0; 64 * 1024];
                    while let Ok((n, from)) = server.recv_from(&mut buf).await {
                        let _ = server.send_to(&buf[..n], from).await;
                    }
                });
                let mut clients = Vec::new();
                for _ in 0..scenario.clients() {
                    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
                    socket.connect(at).await.expect("connect");
                    clients.push(socket);
                }
                (at, clients)
            });
            let _ = at;
            let payload = bytes::Bytes::from(scenario.payload());
            tokio_rt::bench_tasks(
                &mut group,
                &rt,
                "tokio UdpSocket",
                scenario,
                clients,
                |socket, iters| {
                    let payload = payload.clone();
                    async move {
                        let mut buf = [0; 2048];
                        for _ in 0..iters {
                            loop {
                                socket.send(&payload).await.expect("send");
                                match tokio::time::timeout(RESEND, socket.recv(&mut buf)).await {
                                    Ok(Ok(n)) => {
                                        assert_eq!(n, payload.len());
                                        break;
                                    }
                                    Ok(Err(err)) => panic!("receive: {err}"),
                                    Err(_) => {}
                                }
                            }
                        }
                        socket
                    }
                },
            );
            group.finish();
        }
    }

    #[cfg(feature = "tokio")]
    fn tokio_driver(
        group: &mut BenchmarkGroup<'_, WallTime>,
        rt: &tokio::runtime::Runtime,
        scenario: Scenario,
    ) {
        use std::sync::Arc;

        use netproto_core::datagram::{DatagramProtocol, DatagramServerOptions};
        use netproto_core::serializer::BytesSerializer;
        use netproto_tokio::{UdpClient, UdpServer};

        let protocol = DatagramProtocol::new(BytesSerializer);
        let (server, clients) = rt.block_on(async {
            let options = DatagramServerOptions::default();
            let server = UdpServer::bind("127.0.0.1:0", protocol.clone(), options)
                .await
                .expect("bind");
            let mut clients = Vec::new();
            for _ in 0..scenario.clients() {
                let client = UdpClient::connect(server.local_addr(), protocol.clone())
                    .await
                    .expect("connect");
                clients.push(Arc::new(client));
            }
            (server, clients)
        });
        let shutdown = server.shutdown_handle();
        let serving = rt.spawn(async move {
            server
                .serve(|peer| async move {
                    while let Ok(datagram) = peer.recv_packet().await {
                        if peer.send_packet(&datagram).await.is_err() {
                            return;
                        }
                    }
                })
                .await
        });
        let payload = bytes::Bytes::from(scenario.payload());
        tokio_rt::bench_tasks(group, rt, "netproto", scenario, clients, |client, iters| {
            let payload = payload.clone();
            async move {
                netproto_udp_echo!(client, payload, iters);
                client
            }
        });
        shutdown.shutdown(Duration::from_secs(1));
        rt.block_on(serving).unwrap().expect("serve");
    }
}

/// UDP echo on async-std: netproto-async-std against async-std
/// `UdpSocket`s.
#[cfg(feature = "async-std")]
mod udp_async_std {
    use std::sync::Arc;

    use async_std::net::UdpSocket;
    use async_std::task;
    use netproto_async_std::{UdpClient, UdpServer};
    use netproto_core::datagram::{DatagramProtocol, DatagramServerOptions};
    use netproto_core::serializer::BytesSerializer;

    use super::*;

    /// How long a client waits for an echo before sending again.
    const RESEND: Duration = Duration::from_secs(1);

    pub(crate) fn bench(c: &mut Criterion) {
        for clients in [1, MANY_CLIENTS] {
            let scenario = Scenario::Echo { clients };
            let mut group = c.benchmark_group(format!("udp_{}/async-std", scenario.name()));
            group.throughput(Throughput::Bytes((scenario.size() * clients) as u64));
            driver(&mut group, scenario);
            let sockets = task::block_on(async {
                let server = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
                let at = server.local_addr().unwrap();
                task::spawn(async move {
                    let mut buf = vec![0; 64 * 1024];
                    while let Ok((n, from)) = server.recv_from(&mut buf).await {
                        let _ = server.send_to(&buf[..n], from).await;
                    }
                });
                let mut sockets = Vec::new();
                for _ in 0..clients {
                    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
                    socket.connect(at).await.expect("connect");
                    sockets.push(socket);
                }
                sockets
            });
            let payload = Arc::new(scenario.payload());
            async_std_rt::bench_tasks(
                &mut group,
                "async-std UdpSocket",
                scenario,
                sockets,
                |socket, iters| {
                    let payload = payload.clone();
                    async move {
                        let mut buf = [0; 2048];
                        for _ in 0..iters {
                            loop {
                                socket.send(&payload).await.expect("send");
                                match async_std::future::timeout(RESEND, socket.recv(&mut buf))
                                    .await
                                {
                                    Ok(Ok(n)) => {
                                        assert_eq!(n, payload.len());
                                        break;
                                    }
                                    Ok(Err(err)) => panic!("receive: {err}"),
                                    Err(_) => {}
                                }
                            }
                        }
                        socket
                    }
                },
            );
            group.finish();
        }
    }

    fn driver(group: &mut BenchmarkGroup<'_, WallTime>, scenario: Scenario) {
        let protocol = DatagramProtocol::new(BytesSerializer);
        let (server, clients) = task::block_on(async {
            let options = DatagramServerOptions::default();
            let server = UdpServer::bind("127.0.0.1:0", protocol.clone(), options)
                .await
                .expect("bind");
            let mut clients = Vec::new();
            for _ in 0..scenario.clients() {
                let client = UdpClient::connect(server.local_addr(), protocol.clone())
                    .await
                    .expect("connect");
                clients.push(Arc::new(client));
            }
            (server, clients)
        });
        let shutdown = server.shutdown_handle();
        let serving = task::spawn(async move {
            server
                .serve(|peer| async move {
                    while let Ok(datagram) = peer.recv_packet().await {
                        if peer.send_packet(&datagram).await.is_err() {
                            return;
                        }
                    }
                })
                .await
        });
        let payload = Arc::new(scenario.payload());
        async_std_rt::bench_tasks(group, "netproto", scenario, clients, |client, iters| {
            let payload = payload.clone();
            async move {
                netproto_udp_echo!(client, payload, iters);
                client
            }
        });
        shutdown.shutdown(Duration::from_secs(1));
        task::block_on(serving).expect("serve");
    }
}

/// Every network bench whose feature is on.
fn network(c: &mut Criterion) {
    #[cfg(feature = "tls")]
    tls_memory::bench(c);
    sync::baseline(c);
    #[cfg(feature = "tls")]
    sync::tls_baseline(c);
    tokio_rt::baseline(c);
    #[cfg(feature = "tls")]
    tokio_rt::tls_baseline(c);
    udp::sync(c);
    udp::tokio(c);
    #[cfg(feature = "async-std")]
    udp_async_std::bench(c);
    #[cfg(feature = "async-std")]
    {
        async_std_rt::bench(c, false);
        #[cfg(feature = "tls")]
        async_std_rt::bench(c, true);
    }
}

/// The criterion entry points (in a module: `criterion_group!` makes a
/// public function).
mod entry {
    use super::*;

    criterion::criterion_group! {
        name = benches;
        // Bounded even with criterion's full sampling: loopback numbers
        // settle quickly, and servers stay up for a whole group.
        config = Criterion::default()
            .sample_size(20)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(3));
        targets = network
    }
}

criterion_main!(entry::benches);
