//! Helpers shared by the tokio driver's own integration tests.
#![allow(dead_code, unused_macros, unused_imports)]

use std::time::Duration;

pub use netproto_testkit::Transport;
pub use netproto_testkit::cases::{Lines, lines};
use netproto_tokio::framing::LengthPrefix;
use netproto_tokio::serializer::BytesSerializer;
use netproto_tokio::{Protocol, StreamProtocol, TcpClient, TcpServer};

/// A bound for things that must happen; never a speed assertion.
pub const BOUND: Duration = Duration::from_secs(60);

/// Byte frames behind a u32 length, allowing frames far larger than the
/// kernel's socket buffers.
pub type BigFrames = StreamProtocol<LengthPrefix, BytesSerializer>;

/// [`BigFrames`] with a 64 MiB limit.
pub fn big_frames() -> BigFrames {
    StreamProtocol::new(
        LengthPrefix::u32_be().max_frame_length(64 << 20),
        BytesSerializer,
    )
}

/// A connected client and the server's side of the same connection.
pub async fn pair<P: Protocol>(transport: Transport, protocol: P) -> (TcpClient<P>, TcpClient<P>) {
    let server = TcpServer::bind("127.0.0.1:0", protocol.clone(), transport.server_options())
        .await
        .expect("bind");
    let addr = server.local_addrs()[0];
    let (client, connection) = tokio::join!(
        TcpClient::connect_with(addr, protocol, transport.client_options()),
        server.accept()
    );
    (client.expect("connect"), connection.expect("accept"))
}

/// Wait for a std thread's result without blocking the runtime.
pub async fn join_thread<T: Send + 'static>(peer: netproto_testkit::peers::Peer<T>) -> T {
    tokio::task::spawn_blocking(move || peer.join())
        .await
        .expect("peer thread")
}

/// Expand `async fn case(Transport)` functions into tests over plain TCP
/// and (with the `tls` feature) TLS.
macro_rules! over_plain_and_tls {
    ($($case:ident),* $(,)?) => {
        mod plain {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case(netproto_testkit::Transport::Plain).await
                }
            )*
        }
        #[cfg(feature = "tls")]
        mod tls {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case(netproto_testkit::Transport::Tls).await
                }
            )*
        }
    };
}
pub(crate) use over_plain_and_tls;
