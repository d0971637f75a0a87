//! The conformance adapter of this driver (`netproto_testkit::Driver`),
//! shared by the test binaries that run testkit cases.
#![allow(dead_code)]

use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use netproto_sync::RequestHandler;
#[cfg(unix)]
use netproto_sync::Unix;
use netproto_sync::datagram::ForDatagrams;
use netproto_sync::{Address, ClientOptions, Error, Protocol, ServerOptions, SocketOptions};
use netproto_sync::{DatagramClient, DatagramEndpoint, DatagramPeer, DatagramServer};
use netproto_sync::{DatagramOptions, DatagramServerOptions, DatagramSocketOptions};
use netproto_sync::{
    PeerAddr, ShutdownHandle, StreamClient, StreamServer, Tcp, TcpClient, TcpServer,
};
use netproto_testkit::cases::Lines;
use netproto_testkit::cases::echo_lines;
use netproto_testkit::hooks::Hooks;
use netproto_testkit::{Driver, Family, Handler, TestDatagramProtocol, TestProtocol, blocking};

/// The blocking driver over TCP (`Sync`) or Unix sockets (`Sync<Unix>`).
pub struct Sync<T = Tcp>(PhantomData<T>);

/// What differs between the transports: how a client or a server is
/// made (the addresses).
pub trait Open: Family {
    fn dial<P: TestProtocol>(
        address: Self::Target,
        protocol: P,
        options: ClientOptions,
    ) -> Result<StreamClient<P, Self>, Error>;

    fn adopt<P: TestProtocol>(
        stream: Self::Stream,
        protocol: P,
        options: ClientOptions,
    ) -> Result<StreamClient<P, Self>, Error>;

    fn bind<P: TestProtocol>(
        addresses: Vec<Self::Target>,
        protocol: P,
        options: ServerOptions,
    ) -> Result<StreamServer<P, Self>, Error>;
}

impl Open for Tcp {
    fn dial<P: TestProtocol>(
        address: Address,
        protocol: P,
        options: ClientOptions,
    ) -> Result<TcpClient<P>, Error> {
        TcpClient::connect_with(address, protocol, options)
    }

    fn adopt<P: TestProtocol>(
        stream: std::net::TcpStream,
        protocol: P,
        options: ClientOptions,
    ) -> Result<TcpClient<P>, Error> {
        TcpClient::from_stream(stream, protocol, options)
    }

    fn bind<P: TestProtocol>(
        addresses: Vec<Address>,
        protocol: P,
        options: ServerOptions,
    ) -> Result<TcpServer<P>, Error> {
        TcpServer::bind_all(addresses, protocol, options)
    }
}

impl<T: Open> Driver for Sync<T> {
    type Family = T;
    type Client<P: Protocol> = StreamClient<P, T>;
    type Server<P: Protocol> = StreamServer<P, T>;
    type ShutdownHandle = ShutdownHandle;

    fn block_on<F: Future>(future: F) -> F::Output {
        blocking::block_on(future)
    }

    fn spawn<O, F>(future: F) -> impl Future<Output = O> + Send + 'static
    where
        O: Send + 'static,
        F: Future<Output = O> + Send + 'static,
    {
        blocking::spawn_thread(future)
    }

    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send {
        blocking::sleep(duration)
    }

    async fn connect<P: TestProtocol>(
        address: T::Target,
        protocol: P,
        options: ClientOptions,
    ) -> Result<StreamClient<P, T>, Error> {
        T::dial(address, protocol, options)
    }

    async fn from_stream<P: TestProtocol>(
        stream: T::Stream,
        protocol: P,
        options: ClientOptions,
    ) -> Result<StreamClient<P, T>, Error> {
        T::adopt(stream, protocol, options)
    }

    async fn send_packet<P: TestProtocol>(
        client: &StreamClient<P, T>,
        packet: &P::Sent,
    ) -> Result<(), Error> {
        client.send_packet(packet)
    }

    async fn send_packet_timeout<P: TestProtocol>(
        client: &StreamClient<P, T>,
        packet: &P::Sent,
        timeout: Duration,
    ) -> Result<(), Error> {
        client.send_packet_timeout(packet, timeout)
    }

    async fn recv_packet<P: TestProtocol>(
        client: &StreamClient<P, T>,
    ) -> Result<P::Received, Error> {
        client.recv_packet()
    }

    async fn recv_packet_timeout<P: TestProtocol>(
        client: &StreamClient<P, T>,
        timeout: Duration,
    ) -> Result<P::Received, Error> {
        client.recv_packet_timeout(timeout)
    }

    async fn iter_received_packets<P: TestProtocol>(
        client: &StreamClient<P, T>,
        timeout: Duration,
    ) -> Vec<Result<P::Received, Error>> {
        client.iter_received_packets(timeout).collect()
    }

    async fn send_eof<P: TestProtocol>(client: &StreamClient<P, T>) -> Result<(), Error> {
        client.send_eof()
    }

    async fn close<P: TestProtocol>(client: &StreamClient<P, T>) -> Result<(), Error> {
        client.close()
    }

    fn is_closed<P: TestProtocol>(client: &StreamClient<P, T>) -> bool {
        client.is_closed()
    }

    fn local_addr<P: TestProtocol>(client: &StreamClient<P, T>) -> T::Addr {
        client.local_addr()
    }

    fn peer_addr<P: TestProtocol>(client: &StreamClient<P, T>) -> T::Addr {
        client.peer_addr()
    }

    fn socket<P: TestProtocol>(client: &StreamClient<P, T>) -> SocketOptions<'_> {
        client.socket()
    }

    fn max_recv_size<P: TestProtocol>(client: &StreamClient<P, T>) -> usize {
        client.max_recv_size()
    }

    async fn bind_all<P: TestProtocol>(
        addresses: Vec<T::Target>,
        protocol: P,
        options: ServerOptions,
    ) -> Result<StreamServer<P, T>, Error> {
        T::bind(addresses, protocol, options)
    }

    fn local_addrs<P: TestProtocol>(server: &StreamServer<P, T>) -> Vec<T::Addr> {
        server.local_addrs()
    }

    async fn accept<P: TestProtocol>(
        server: &StreamServer<P, T>,
    ) -> Result<StreamClient<P, T>, Error> {
        server.accept()
    }

    async fn serve<P: TestProtocol>(
        server: Arc<StreamServer<P, T>>,
        handler: Handler<StreamClient<P, T>>,
    ) -> Result<(), Error> {
        server.serve(move |conn| blocking::block_on(handler(conn)))
    }

    fn listener_sockets<P: TestProtocol>(
        server: &StreamServer<P, T>,
        size: usize,
    ) -> Vec<(T::Addr, usize)> {
        server.with_listener_sockets(|sockets| {
            sockets
                .iter()
                .map(|s| {
                    s.set_recv_buffer_size(size).unwrap();
                    let addr = T::from_sock_addr(&s.local_addr().unwrap());
                    (addr, s.recv_buffer_size().unwrap())
                })
                .collect()
        })
    }

    fn is_serving<P: TestProtocol>(server: &StreamServer<P, T>) -> bool {
        server.is_serving()
    }

    fn max_connections<P: TestProtocol>(server: &StreamServer<P, T>) -> usize {
        server.max_connections()
    }

    fn connection_peers<P: TestProtocol>(server: &StreamServer<P, T>) -> Vec<T::Addr> {
        server.connections().iter().map(|c| c.peer_addr()).collect()
    }

    async fn broadcast<P: TestProtocol>(
        server: &StreamServer<P, T>,
        packet: &P::Sent,
        timeout: Option<Duration>,
    ) -> Vec<(T::Addr, Error)> {
        server.broadcast(packet, timeout)
    }

    async fn close_connection<P: TestProtocol>(
        server: &StreamServer<P, T>,
        peer: T::Addr,
    ) -> Result<bool, Error> {
        let handle = server
            .connections()
            .into_iter()
            .find(|c| c.peer_addr() == peer);
        match handle {
            Some(handle) => handle.close().map(|()| true),
            None => Ok(false),
        }
    }

    async fn send_to_connection<P: TestProtocol>(
        server: &StreamServer<P, T>,
        peer: T::Addr,
        packet: &P::Sent,
    ) -> Result<(), Error> {
        let handle = server
            .connections()
            .into_iter()
            .find(|c| c.peer_addr() == peer);
        handle.ok_or(Error::Closed)?.send_packet(packet)
    }

    async fn serve_with_hooks(
        server: Arc<StreamServer<Lines, T>>,
        hooks: Hooks,
    ) -> Result<(), Error> {
        server.serve_with(Recorder(hooks, PhantomData))
    }

    fn shutdown_handle<P: TestProtocol>(server: &StreamServer<P, T>) -> ShutdownHandle {
        server.shutdown_handle()
    }

    fn shutdown(handle: &ShutdownHandle, grace: Duration) {
        handle.shutdown(grace);
    }
}

netproto_testkit::datagram_families!(blocking netproto_sync);

impl<F: DatagramOpen> netproto_testkit::DatagramDriver<F> for Sync {
    type UdpClient<P: ForDatagrams> = DatagramClient<P, F>;
    type UdpEndpoint<P: ForDatagrams> = DatagramEndpoint<P, F>;
    async fn udp_connect<P: TestDatagramProtocol>(
        address: F::Addr,
        protocol: P,
        options: DatagramOptions,
    ) -> Result<DatagramClient<P, F>, Error> {
        F::connect(address, protocol, options)
    }

    async fn udp_send_packet<P: TestDatagramProtocol>(
        client: &DatagramClient<P, F>,
        packet: &P::Sent,
    ) -> Result<(), Error> {
        client.send_packet(packet)
    }

    async fn udp_send_packet_timeout<P: TestDatagramProtocol>(
        client: &DatagramClient<P, F>,
        packet: &P::Sent,
        timeout: Duration,
    ) -> Result<(), Error> {
        client.send_packet_timeout(packet, timeout)
    }

    async fn udp_recv_packet<P: TestDatagramProtocol>(
        client: &DatagramClient<P, F>,
    ) -> Result<P::Received, Error> {
        client.recv_packet()
    }

    async fn udp_recv_packet_timeout<P: TestDatagramProtocol>(
        client: &DatagramClient<P, F>,
        timeout: Duration,
    ) -> Result<P::Received, Error> {
        client.recv_packet_timeout(timeout)
    }

    async fn udp_iter_received_packets<P: TestDatagramProtocol>(
        client: &DatagramClient<P, F>,
        timeout: Duration,
    ) -> Vec<Result<P::Received, Error>> {
        client.iter_received_packets(timeout).collect()
    }

    async fn udp_close<P: TestDatagramProtocol>(
        client: &DatagramClient<P, F>,
    ) -> Result<(), Error> {
        client.close()
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
        F::bind(address, protocol, options)
    }

    async fn endpoint_send_packet_to<P: TestDatagramProtocol>(
        endpoint: &DatagramEndpoint<P, F>,
        packet: &P::Sent,
        to: F::Addr,
    ) -> Result<(), Error> {
        endpoint.send_packet_to(packet, to)
    }

    async fn endpoint_recv_packet_from_timeout<P: TestDatagramProtocol>(
        endpoint: &DatagramEndpoint<P, F>,
        timeout: Duration,
    ) -> Result<(P::Received, F::Addr), Error> {
        endpoint.recv_packet_from_timeout(timeout)
    }

    async fn endpoint_close<P: TestDatagramProtocol>(
        endpoint: &DatagramEndpoint<P, F>,
    ) -> Result<(), Error> {
        endpoint.close()
    }

    fn endpoint_local_addr<P: TestDatagramProtocol>(endpoint: &DatagramEndpoint<P, F>) -> F::Addr {
        endpoint.local_addr()
    }
}

impl<F: DatagramOpen> netproto_testkit::DatagramServerDriver<F> for Sync {
    type UdpServer<P: TestDatagramProtocol> = DatagramServer<P, F>;
    type UdpPeer<P: TestDatagramProtocol> = DatagramPeer<P, F>;

    async fn udp_server_bind<P: TestDatagramProtocol>(
        address: F::Addr,
        protocol: P,
        options: DatagramServerOptions,
    ) -> Result<DatagramServer<P, F>, Error> {
        F::server_bind(address, protocol, options)
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
        server.serve(move |peer| blocking::block_on(handler(peer)))
    }

    async fn peer_recv_packet<P: TestDatagramProtocol>(
        peer: &DatagramPeer<P, F>,
    ) -> Result<P::Received, Error> {
        peer.recv_packet()
    }

    async fn peer_recv_packet_timeout<P: TestDatagramProtocol>(
        peer: &DatagramPeer<P, F>,
        timeout: Duration,
    ) -> Result<P::Received, Error> {
        peer.recv_packet_timeout(timeout)
    }

    async fn peer_send_packet<P: TestDatagramProtocol>(
        peer: &DatagramPeer<P, F>,
        packet: &P::Sent,
    ) -> Result<(), Error> {
        peer.send_packet(packet)
    }

    fn peer_peer_addr<P: TestDatagramProtocol>(peer: &DatagramPeer<P, F>) -> F::Addr {
        peer.peer_addr()
    }
}

/// The handler-model case's `RequestHandler`: every hook records.
struct Recorder<T>(Hooks, PhantomData<T>);

impl<T: Open> RequestHandler<StreamClient<Lines, T>> for Recorder<T> {
    fn service_init(&self) -> Result<(), Error> {
        self.0.init()
    }
    fn service_quit(&self) {
        self.0.quit();
    }
    fn on_connection(&self, conn: &StreamClient<Lines, T>) -> Result<(), Error> {
        self.0.on_connection(conn.peer_addr())
    }
    fn handle(&self, conn: &StreamClient<Lines, T>) {
        self.0.handled(conn.peer_addr());
        blocking::block_on(echo_lines::<Sync<T>>(conn));
    }
    fn on_disconnection(&self, peer: PeerAddr, reason: Option<&str>) {
        self.0.disconnected(peer, reason);
    }
}

#[cfg(unix)]
mod unix {
    use netproto_sync::{
        ClientOptions, Error, PeerCredentials, StreamClient, UnixAddr, UnixStreamClient,
        UnixStreamServer,
    };
    use netproto_testkit::{TestProtocol, UnixDriver};

    use super::{Open, ServerOptions, Sync, Unix};

    impl Open for Unix {
        fn dial<P: TestProtocol>(
            address: UnixAddr,
            protocol: P,
            options: ClientOptions,
        ) -> Result<UnixStreamClient<P>, Error> {
            UnixStreamClient::connect_with(address, protocol, options)
        }

        fn adopt<P: TestProtocol>(
            stream: std::os::unix::net::UnixStream,
            protocol: P,
            options: ClientOptions,
        ) -> Result<UnixStreamClient<P>, Error> {
            UnixStreamClient::from_stream(stream, protocol, options)
        }

        fn bind<P: TestProtocol>(
            addresses: Vec<UnixAddr>,
            protocol: P,
            options: ServerOptions,
        ) -> Result<UnixStreamServer<P>, Error> {
            let [address] = <[UnixAddr; 1]>::try_from(addresses).expect("one Unix address");
            UnixStreamServer::bind(address, protocol, options)
        }
    }

    impl UnixDriver for Sync<Unix> {
        fn peer_credentials<P: TestProtocol>(
            client: &StreamClient<P, Unix>,
        ) -> std::io::Result<PeerCredentials> {
            client.peer_credentials()
        }
    }
}
