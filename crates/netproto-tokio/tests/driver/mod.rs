//! The conformance adapter of this driver (`netproto_testkit::Driver`),
//! shared by the test binaries that run testkit cases.
#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures_util::StreamExt;
use netproto_testkit::cases::Lines;
use netproto_testkit::cases::echo_lines;
use netproto_testkit::hooks::Hooks;
use netproto_testkit::{
    Address, ClientOptions, Driver, Error, Handler, Protocol, ServerOptions, SocketOptions,
    TestDatagramProtocol, TestProtocol,
};
use netproto_tokio::RequestHandler;
use netproto_tokio::datagram::ForDatagrams;
use netproto_tokio::{DatagramClient, DatagramEndpoint, DatagramPeer, DatagramServer};
use netproto_tokio::{DatagramOptions, DatagramServerOptions, DatagramSocketOptions};
use netproto_tokio::{ShutdownHandle, TcpClient, TcpServer};

/// The tokio driver, on one multi-threaded runtime shared by every case.
pub struct Tokio;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("build the tokio runtime")
    })
}

impl Driver for Tokio {
    type Client<P: Protocol> = TcpClient<P>;
    type Server<P: Protocol> = TcpServer<P>;
    type ShutdownHandle = ShutdownHandle;

    fn block_on<F: Future>(future: F) -> F::Output {
        runtime().block_on(future)
    }

    fn spawn<T, F>(future: F) -> impl Future<Output = T> + Send + 'static
    where
        T: Send + 'static,
        F: Future<Output = T> + Send + 'static,
    {
        let task = runtime().spawn(future);
        async move {
            match task.await {
                Ok(output) => output,
                Err(err) => std::panic::resume_unwind(err.into_panic()),
            }
        }
    }

    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send {
        tokio::time::sleep(duration)
    }

    fn connect<P: TestProtocol>(
        address: Address,
        protocol: P,
        options: ClientOptions,
    ) -> impl Future<Output = Result<TcpClient<P>, Error>> + Send {
        TcpClient::connect_with(address, protocol, options)
    }

    fn from_stream<P: TestProtocol>(
        stream: std::net::TcpStream,
        protocol: P,
        options: ClientOptions,
    ) -> impl Future<Output = Result<TcpClient<P>, Error>> + Send {
        TcpClient::from_stream(stream, protocol, options)
    }

    fn send_packet<P: TestProtocol>(
        client: &TcpClient<P>,
        packet: &P::Sent,
    ) -> impl Future<Output = Result<(), Error>> + Send {
        client.send_packet(packet)
    }

    fn send_packet_timeout<P: TestProtocol>(
        client: &TcpClient<P>,
        packet: &P::Sent,
        timeout: Duration,
    ) -> impl Future<Output = Result<(), Error>> + Send {
        client.send_packet_timeout(packet, timeout)
    }

    fn recv_packet<P: TestProtocol>(
        client: &TcpClient<P>,
    ) -> impl Future<Output = Result<P::Received, Error>> + Send {
        client.recv_packet()
    }

    fn recv_packet_timeout<P: TestProtocol>(
        client: &TcpClient<P>,
        timeout: Duration,
    ) -> impl Future<Output = Result<P::Received, Error>> + Send {
        client.recv_packet_timeout(timeout)
    }

    fn iter_received_packets<P: TestProtocol>(
        client: &TcpClient<P>,
        timeout: Duration,
    ) -> impl Future<Output = Vec<Result<P::Received, Error>>> + Send {
        client.iter_received_packets(timeout).collect()
    }

    fn send_eof<P: TestProtocol>(
        client: &TcpClient<P>,
    ) -> impl Future<Output = Result<(), Error>> + Send {
        client.send_eof()
    }

    fn close<P: TestProtocol>(
        client: &TcpClient<P>,
    ) -> impl Future<Output = Result<(), Error>> + Send {
        client.close()
    }

    fn is_closed<P: TestProtocol>(client: &TcpClient<P>) -> bool {
        client.is_closed()
    }

    fn local_addr<P: TestProtocol>(client: &TcpClient<P>) -> SocketAddr {
        client.local_addr()
    }

    fn peer_addr<P: TestProtocol>(client: &TcpClient<P>) -> SocketAddr {
        client.peer_addr()
    }

    fn socket<P: TestProtocol>(client: &TcpClient<P>) -> SocketOptions<'_> {
        client.socket()
    }

    fn max_recv_size<P: TestProtocol>(client: &TcpClient<P>) -> usize {
        client.max_recv_size()
    }

    fn bind_all<P: TestProtocol>(
        addresses: Vec<Address>,
        protocol: P,
        options: ServerOptions,
    ) -> impl Future<Output = Result<TcpServer<P>, Error>> + Send {
        TcpServer::bind_all(addresses, protocol, options)
    }

    fn local_addrs<P: TestProtocol>(server: &TcpServer<P>) -> Vec<SocketAddr> {
        server.local_addrs()
    }

    fn accept<P: TestProtocol>(
        server: &TcpServer<P>,
    ) -> impl Future<Output = Result<TcpClient<P>, Error>> + Send {
        server.accept()
    }

    async fn serve<P: TestProtocol>(
        server: Arc<TcpServer<P>>,
        handler: Handler<TcpClient<P>>,
    ) -> Result<(), Error> {
        server.serve(move |connection| handler(connection)).await
    }

    fn listener_sockets<P: TestProtocol>(
        server: &TcpServer<P>,
        size: usize,
    ) -> Vec<(SocketAddr, usize)> {
        server.with_listener_sockets(|sockets| {
            sockets
                .iter()
                .map(|s| {
                    s.set_recv_buffer_size(size).unwrap();
                    let addr = s.local_addr().unwrap().as_socket().unwrap();
                    (addr, s.recv_buffer_size().unwrap())
                })
                .collect()
        })
    }

    fn is_serving<P: TestProtocol>(server: &TcpServer<P>) -> bool {
        server.is_serving()
    }

    fn max_connections<P: TestProtocol>(server: &TcpServer<P>) -> usize {
        server.max_connections()
    }

    fn connection_peers<P: TestProtocol>(server: &TcpServer<P>) -> Vec<SocketAddr> {
        server.connections().iter().map(|c| c.peer_addr()).collect()
    }

    async fn broadcast<P: TestProtocol>(
        server: &TcpServer<P>,
        packet: &P::Sent,
        timeout: Option<Duration>,
    ) -> Vec<(SocketAddr, Error)> {
        server.broadcast(packet, timeout).await
    }

    async fn close_connection<P: TestProtocol>(
        server: &TcpServer<P>,
        peer: SocketAddr,
    ) -> Result<bool, Error> {
        let handle = server
            .connections()
            .into_iter()
            .find(|c| c.peer_addr() == peer);
        match handle {
            Some(handle) => handle.close().await.map(|()| true),
            None => Ok(false),
        }
    }

    async fn send_to_connection<P: TestProtocol>(
        server: &TcpServer<P>,
        peer: SocketAddr,
        packet: &P::Sent,
    ) -> Result<(), Error> {
        let handle = server
            .connections()
            .into_iter()
            .find(|c| c.peer_addr() == peer);
        handle.ok_or(Error::Closed)?.send_packet(packet).await
    }

    async fn serve_with_hooks(server: Arc<TcpServer<Lines>>, hooks: Hooks) -> Result<(), Error> {
        server.serve_with(Recorder(hooks)).await
    }

    fn shutdown_handle<P: TestProtocol>(server: &TcpServer<P>) -> ShutdownHandle {
        server.shutdown_handle()
    }

    fn shutdown(handle: &ShutdownHandle, grace: Duration) {
        handle.shutdown(grace);
    }
}

netproto_testkit::datagram_families!(async netproto_tokio);

impl<F: Family> netproto_testkit::DatagramDriver<F> for Tokio {
    type UdpClient<P: ForDatagrams> = DatagramClient<P, F>;
    type UdpEndpoint<P: ForDatagrams> = DatagramEndpoint<P, F>;

    async fn udp_connect<P: TestDatagramProtocol>(
        address: F::Addr,
        protocol: P,
        options: DatagramOptions,
    ) -> Result<DatagramClient<P, F>, Error> {
        F::connect(address, protocol, options).await
    }

    async fn udp_send_packet<P: TestDatagramProtocol>(
        client: &DatagramClient<P, F>,
        packet: &P::Sent,
    ) -> Result<(), Error> {
        client.send_packet(packet).await
    }

    async fn udp_send_packet_timeout<P: TestDatagramProtocol>(
        client: &DatagramClient<P, F>,
        packet: &P::Sent,
        timeout: Duration,
    ) -> Result<(), Error> {
        client.send_packet_timeout(packet, timeout).await
    }

    async fn udp_recv_packet<P: TestDatagramProtocol>(
        client: &DatagramClient<P, F>,
    ) -> Result<P::Received, Error> {
        client.recv_packet().await
    }

    async fn udp_recv_packet_timeout<P: TestDatagramProtocol>(
        client: &DatagramClient<P, F>,
        timeout: Duration,
    ) -> Result<P::Received, Error> {
        client.recv_packet_timeout(timeout).await
    }

    async fn udp_iter_received_packets<P: TestDatagramProtocol>(
        client: &DatagramClient<P, F>,
        timeout: Duration,
    ) -> Vec<Result<P::Received, Error>> {
        client.iter_received_packets(timeout).collect().await
    }

    async fn udp_close<P: TestDatagramProtocol>(
        client: &DatagramClient<P, F>,
    ) -> Result<(), Error> {
        client.close().await
    }

    fn udp_is_closed<P: TestDatagramProtocol>(client: &DatagramClient<P, F>) -> bool {
        client.is_closed()
    }

    fn udp_local_addr<P: TestDatagramProtocol>(client: &DatagramClient<P, F>) -> F::Addr {
        client.local_addr()
    }

    fn udp_peer_addr<P: TestDatagramProtocol>(client: &DatagramClient<P, F>) -> F::Addr {
        client.peer_addr()
    }

    fn udp_socket<P: TestDatagramProtocol>(
        client: &DatagramClient<P, F>,
    ) -> DatagramSocketOptions<'_> {
        client.socket()
    }

    fn udp_max_datagram_size<P: TestDatagramProtocol>(client: &DatagramClient<P, F>) -> usize {
        client.max_datagram_size()
    }

    async fn endpoint_bind<P: TestDatagramProtocol>(
        address: F::Addr,
        protocol: P,
        options: DatagramOptions,
    ) -> Result<DatagramEndpoint<P, F>, Error> {
        F::bind(address, protocol, options).await
    }

    async fn endpoint_send_packet_to<P: TestDatagramProtocol>(
        endpoint: &DatagramEndpoint<P, F>,
        packet: &P::Sent,
        to: F::Addr,
    ) -> Result<(), Error> {
        endpoint.send_packet_to(packet, to).await
    }

    async fn endpoint_recv_packet_from_timeout<P: TestDatagramProtocol>(
        endpoint: &DatagramEndpoint<P, F>,
        timeout: Duration,
    ) -> Result<(P::Received, F::Addr), Error> {
        endpoint.recv_packet_from_timeout(timeout).await
    }

    async fn endpoint_close<P: TestDatagramProtocol>(
        endpoint: &DatagramEndpoint<P, F>,
    ) -> Result<(), Error> {
        endpoint.close().await
    }

    fn endpoint_local_addr<P: TestDatagramProtocol>(endpoint: &DatagramEndpoint<P, F>) -> F::Addr {
        endpoint.local_addr()
    }
}

impl<F: Family> netproto_testkit::DatagramServerDriver<F> for Tokio {
    type UdpServer<P: TestDatagramProtocol> = DatagramServer<P, F>;
    type UdpPeer<P: TestDatagramProtocol> = DatagramPeer<P, F>;

    async fn udp_server_bind<P: TestDatagramProtocol>(
        address: F::Addr,
        protocol: P,
        options: DatagramServerOptions,
    ) -> Result<DatagramServer<P, F>, Error> {
        F::server_bind(address, protocol, options).await
    }

    fn udp_server_local_addr<P: TestDatagramProtocol>(server: &DatagramServer<P, F>) -> F::Addr {
        server.local_addr()
    }

    fn udp_server_shutdown_handle<P: TestDatagramProtocol>(
        server: &DatagramServer<P, F>,
    ) -> ShutdownHandle {
        server.shutdown_handle()
    }

    fn udp_server_is_serving<P: TestDatagramProtocol>(server: &DatagramServer<P, F>) -> bool {
        server.is_serving()
    }

    async fn udp_server_serve<P: TestDatagramProtocol>(
        server: Arc<DatagramServer<P, F>>,
        handler: Handler<DatagramPeer<P, F>>,
    ) -> Result<(), Error> {
        server.serve(move |peer| handler(peer)).await
    }

    async fn peer_recv_packet<P: TestDatagramProtocol>(
        peer: &DatagramPeer<P, F>,
    ) -> Result<P::Received, Error> {
        peer.recv_packet().await
    }

    async fn peer_recv_packet_timeout<P: TestDatagramProtocol>(
        peer: &DatagramPeer<P, F>,
        timeout: Duration,
    ) -> Result<P::Received, Error> {
        peer.recv_packet_timeout(timeout).await
    }

    async fn peer_send_packet<P: TestDatagramProtocol>(
        peer: &DatagramPeer<P, F>,
        packet: &P::Sent,
    ) -> Result<(), Error> {
        peer.send_packet(packet).await
    }

    fn peer_peer_addr<P: TestDatagramProtocol>(peer: &DatagramPeer<P, F>) -> F::Addr {
        peer.peer_addr()
    }
}

/// The handler-model case's `RequestHandler`: every hook records.
struct Recorder(Hooks);

impl RequestHandler<TcpClient<Lines>> for Recorder {
    async fn service_init(&self) -> Result<(), Error> {
        self.0.init()
    }
    async fn service_quit(&self) {
        self.0.quit();
    }
    async fn on_connection(&self, conn: &TcpClient<Lines>) -> Result<(), Error> {
        self.0.on_connection(conn.peer_addr())
    }
    async fn handle(&self, conn: &TcpClient<Lines>) {
        self.0.handled(conn.peer_addr());
        echo_lines::<Tokio>(conn).await;
    }
    fn on_disconnection(&self, peer: netproto_core::addr::PeerAddr, reason: Option<&str>) {
        self.0
            .disconnected(peer.inet().expect("a TCP peer"), reason);
    }
}

#[cfg(unix)]
mod unix {
    use std::sync::Arc;
    use std::time::Duration;

    use futures_util::StreamExt;
    use netproto_testkit::{Handler, TestProtocol, UnixDriver};
    use netproto_tokio::{
        ClientOptions, Error, PeerCredentials, Protocol, ServerOptions, ShutdownHandle, UnixAddr,
        UnixStreamClient, UnixStreamServer,
    };

    use super::*;

    impl UnixDriver for Tokio {
        type UnixClient<P: Protocol> = UnixStreamClient<P>;
        type UnixServer<P: Protocol> = UnixStreamServer<P>;

        async fn unix_connect<P: TestProtocol>(
            address: UnixAddr,
            protocol: P,
            options: ClientOptions,
        ) -> Result<UnixStreamClient<P>, Error> {
            UnixStreamClient::connect_with(address, protocol, options).await
        }

        async fn unix_from_stream<P: TestProtocol>(
            stream: std::os::unix::net::UnixStream,
            protocol: P,
            options: ClientOptions,
        ) -> Result<UnixStreamClient<P>, Error> {
            UnixStreamClient::from_stream(stream, protocol, options).await
        }

        async fn unix_send<P: TestProtocol>(
            client: &UnixStreamClient<P>,
            packet: &P::Sent,
        ) -> Result<(), Error> {
            client.send_packet(packet).await
        }

        async fn unix_recv_timeout<P: TestProtocol>(
            client: &UnixStreamClient<P>,
            timeout: Duration,
        ) -> Result<P::Received, Error> {
            client.recv_packet_timeout(timeout).await
        }

        async fn unix_recv<P: TestProtocol>(
            client: &UnixStreamClient<P>,
        ) -> Result<P::Received, Error> {
            client.recv_packet().await
        }

        async fn unix_iter_received_packets<P: TestProtocol>(
            client: &UnixStreamClient<P>,
            timeout: Duration,
        ) -> Vec<Result<P::Received, Error>> {
            client.iter_received_packets(timeout).collect().await
        }

        async fn unix_send_eof<P: TestProtocol>(client: &UnixStreamClient<P>) -> Result<(), Error> {
            client.send_eof().await
        }

        async fn unix_close<P: TestProtocol>(client: &UnixStreamClient<P>) -> Result<(), Error> {
            client.close().await
        }

        fn unix_local_addr<P: TestProtocol>(client: &UnixStreamClient<P>) -> UnixAddr {
            client.local_addr()
        }

        fn unix_peer_addr<P: TestProtocol>(client: &UnixStreamClient<P>) -> UnixAddr {
            client.peer_addr()
        }

        fn unix_peer_credentials<P: TestProtocol>(
            client: &UnixStreamClient<P>,
        ) -> std::io::Result<PeerCredentials> {
            client.peer_credentials()
        }

        async fn unix_bind<P: TestProtocol>(
            address: UnixAddr,
            protocol: P,
            options: ServerOptions,
        ) -> Result<UnixStreamServer<P>, Error> {
            UnixStreamServer::bind(address, protocol, options).await
        }

        fn unix_local_addrs<P: TestProtocol>(server: &UnixStreamServer<P>) -> Vec<UnixAddr> {
            server.local_addrs()
        }

        async fn unix_serve<P: TestProtocol>(
            server: Arc<UnixStreamServer<P>>,
            handler: Handler<UnixStreamClient<P>>,
        ) -> Result<(), Error> {
            server.serve(move |connection| handler(connection)).await
        }

        fn unix_connection_peers<P: TestProtocol>(server: &UnixStreamServer<P>) -> Vec<UnixAddr> {
            server.connections().iter().map(|c| c.peer_addr()).collect()
        }

        fn unix_shutdown_handle<P: TestProtocol>(server: &UnixStreamServer<P>) -> ShutdownHandle {
            server.shutdown_handle()
        }
    }
}
