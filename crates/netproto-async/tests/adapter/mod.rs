//! The conformance adapter of the async drivers (`netproto_testkit::Driver`
//! and the datagram drivers), written once: netproto-tokio's and
//! netproto-async-std's tests include this file (`#[path]`) next to a
//! `drv` alias for their crate and their executors. The two crates export
//! the same names for the same generic types, so the adapter cannot
//! drift between them; only the [`Executor`] hooks differ.

use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use netproto_testkit::cases::Lines;
use netproto_testkit::cases::echo_lines;
use netproto_testkit::hooks::Hooks;
use netproto_testkit::{
    Address, ClientOptions, Driver, Error, Family, Handler, Protocol, ServerOptions,
    TestDatagramProtocol, TestProtocol,
};

use super::drv;
use drv::RequestHandler;
use drv::datagram::ForDatagrams;
use drv::{DatagramClient, DatagramEndpoint, DatagramPeer, DatagramServer};
use drv::{DatagramOptions, DatagramServerOptions, DatagramSocketOptions};
use drv::{PeerAddr, StreamClient, StreamServer, Tcp};
use drv::{ShutdownHandle, SocketOptions, TcpClient, TcpServer};

/// What differs between the executors the suite runs on.
pub trait Executor: Send + Sync + 'static {
    /// Run `future` to completion on the calling thread.
    fn block_on<F: Future>(future: F) -> F::Output;
    /// Run `future` as a detached task; the returned future is its output.
    fn spawn<T: Send + 'static>(
        future: impl Future<Output = T> + Send + 'static,
    ) -> impl Future<Output = T> + Send + 'static;
    /// Wait for `duration`.
    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send;
}

/// The driver under test over transport `T`, on executor `E`.
pub struct Adapter<E, T = Tcp>(PhantomData<(E, T)>);

/// What differs between the transports: how a client or a server is
/// made (the addresses).
pub trait Open: Family {
    fn dial<P: TestProtocol>(
        address: Self::Target,
        protocol: P,
        options: ClientOptions,
    ) -> impl Future<Output = Result<StreamClient<P, Self>, Error>> + Send;

    fn adopt<P: TestProtocol>(
        stream: Self::Stream,
        protocol: P,
        options: ClientOptions,
    ) -> impl Future<Output = Result<StreamClient<P, Self>, Error>> + Send;

    fn bind<P: TestProtocol>(
        addresses: Vec<Self::Target>,
        protocol: P,
        options: ServerOptions,
    ) -> impl Future<Output = Result<StreamServer<P, Self>, Error>> + Send;
}

impl Open for Tcp {
    fn dial<P: TestProtocol>(
        address: Address,
        protocol: P,
        options: ClientOptions,
    ) -> impl Future<Output = Result<TcpClient<P>, Error>> + Send {
        TcpClient::connect_with(address, protocol, options)
    }

    fn adopt<P: TestProtocol>(
        stream: std::net::TcpStream,
        protocol: P,
        options: ClientOptions,
    ) -> impl Future<Output = Result<TcpClient<P>, Error>> + Send {
        TcpClient::from_stream(stream, protocol, options)
    }

    fn bind<P: TestProtocol>(
        addresses: Vec<Address>,
        protocol: P,
        options: ServerOptions,
    ) -> impl Future<Output = Result<TcpServer<P>, Error>> + Send {
        TcpServer::bind_all(addresses, protocol, options)
    }
}

impl<E: Executor, T: Open> Driver for Adapter<E, T> {
    type Family = T;
    type Client<P: Protocol> = StreamClient<P, T>;
    type Server<P: Protocol> = StreamServer<P, T>;
    type ShutdownHandle = ShutdownHandle;

    fn block_on<F: Future>(future: F) -> F::Output {
        E::block_on(future)
    }

    fn spawn<O, F>(future: F) -> impl Future<Output = O> + Send + 'static
    where
        O: Send + 'static,
        F: Future<Output = O> + Send + 'static,
    {
        E::spawn(future)
    }

    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send {
        E::sleep(duration)
    }

    async fn connect<P: TestProtocol>(
        address: T::Target,
        protocol: P,
        options: ClientOptions,
    ) -> Result<StreamClient<P, T>, Error> {
        T::dial(address, protocol, options).await
    }

    async fn from_stream<P: TestProtocol>(
        stream: T::Stream,
        protocol: P,
        options: ClientOptions,
    ) -> Result<StreamClient<P, T>, Error> {
        T::adopt(stream, protocol, options).await
    }

    async fn send_packet<P: TestProtocol>(
        client: &StreamClient<P, T>,
        packet: &P::Sent,
    ) -> Result<(), Error> {
        client.send_packet(packet).await
    }

    async fn send_packet_timeout<P: TestProtocol>(
        client: &StreamClient<P, T>,
        packet: &P::Sent,
        timeout: Duration,
    ) -> Result<(), Error> {
        client.send_packet_timeout(packet, timeout).await
    }

    async fn recv_packet<P: TestProtocol>(
        client: &StreamClient<P, T>,
    ) -> Result<P::Received, Error> {
        client.recv_packet().await
    }

    async fn recv_packet_timeout<P: TestProtocol>(
        client: &StreamClient<P, T>,
        timeout: Duration,
    ) -> Result<P::Received, Error> {
        client.recv_packet_timeout(timeout).await
    }

    async fn iter_received_packets<P: TestProtocol>(
        client: &StreamClient<P, T>,
        timeout: Duration,
    ) -> Vec<Result<P::Received, Error>> {
        client.iter_received_packets(timeout).collect().await
    }

    async fn send_eof<P: TestProtocol>(client: &StreamClient<P, T>) -> Result<(), Error> {
        client.send_eof().await
    }

    async fn close<P: TestProtocol>(client: &StreamClient<P, T>) -> Result<(), Error> {
        client.close().await
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
        T::bind(addresses, protocol, options).await
    }

    fn local_addrs<P: TestProtocol>(server: &StreamServer<P, T>) -> Vec<T::Addr> {
        server.local_addrs()
    }

    async fn accept<P: TestProtocol>(
        server: &StreamServer<P, T>,
    ) -> Result<StreamClient<P, T>, Error> {
        server.accept().await
    }

    async fn serve<P: TestProtocol>(
        server: Arc<StreamServer<P, T>>,
        handler: Handler<StreamClient<P, T>>,
    ) -> Result<(), Error> {
        server.serve(move |connection| handler(connection)).await
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
        server.broadcast(packet, timeout).await
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
            Some(handle) => handle.close().await.map(|()| true),
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
        handle.ok_or(Error::Closed)?.send_packet(packet).await
    }

    async fn serve_with_hooks(
        server: Arc<StreamServer<Lines, T>>,
        hooks: Hooks,
    ) -> Result<(), Error> {
        server
            .serve_with(Recorder::<E, T>(hooks, PhantomData))
            .await
    }

    fn shutdown_handle<P: TestProtocol>(server: &StreamServer<P, T>) -> ShutdownHandle {
        server.shutdown_handle()
    }

    fn shutdown(handle: &ShutdownHandle, grace: Duration) {
        handle.shutdown(grace);
    }
}

netproto_testkit::datagram_families!(async drv);

impl<E: Executor, F: DatagramOpen> netproto_testkit::DatagramDriver<F> for Adapter<E> {
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

impl<E: Executor, F: DatagramOpen> netproto_testkit::DatagramServerDriver<F> for Adapter<E> {
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
struct Recorder<E, T>(Hooks, PhantomData<fn() -> (E, T)>);

impl<E: Executor, T: Open> RequestHandler<StreamClient<Lines, T>> for Recorder<E, T> {
    async fn service_init(&self) -> Result<(), Error> {
        self.0.init()
    }
    async fn service_quit(&self) {
        self.0.quit();
    }
    async fn on_connection(&self, conn: &StreamClient<Lines, T>) -> Result<(), Error> {
        self.0.on_connection(conn.peer_addr())
    }
    async fn handle(&self, conn: &StreamClient<Lines, T>) {
        self.0.handled(conn.peer_addr());
        echo_lines::<Adapter<E, T>>(conn).await;
    }
    fn on_disconnection(&self, peer: PeerAddr, reason: Option<&str>) {
        self.0.disconnected(peer, reason);
    }
}

#[cfg(unix)]
mod unix {
    use std::future::Future;

    use drv::{
        ClientOptions, Error, PeerCredentials, ServerOptions, StreamClient, Unix, UnixAddr,
        UnixStreamClient, UnixStreamServer,
    };
    use netproto_testkit::{TestProtocol, UnixDriver};

    use super::*;

    impl Open for Unix {
        fn dial<P: TestProtocol>(
            address: UnixAddr,
            protocol: P,
            options: ClientOptions,
        ) -> impl Future<Output = Result<UnixStreamClient<P>, Error>> + Send {
            UnixStreamClient::connect_with(address, protocol, options)
        }

        fn adopt<P: TestProtocol>(
            stream: std::os::unix::net::UnixStream,
            protocol: P,
            options: ClientOptions,
        ) -> impl Future<Output = Result<UnixStreamClient<P>, Error>> + Send {
            UnixStreamClient::from_stream(stream, protocol, options)
        }

        async fn bind<P: TestProtocol>(
            addresses: Vec<UnixAddr>,
            protocol: P,
            options: ServerOptions,
        ) -> Result<UnixStreamServer<P>, Error> {
            let [address] = <[UnixAddr; 1]>::try_from(addresses).expect("one Unix address");
            UnixStreamServer::bind(address, protocol, options).await
        }
    }

    impl<E: Executor> UnixDriver for Adapter<E, Unix> {
        fn peer_credentials<P: TestProtocol>(
            client: &StreamClient<P, Unix>,
        ) -> std::io::Result<PeerCredentials> {
            client.peer_credentials()
        }
    }
}
