//! TLS records from a peer that does anything, into the engine's TLS pump:
//! a TLS server engine fed arbitrary bytes in arbitrary chunks while it
//! handshakes; a TLS client engine fed them after its ClientHello; and a
//! pair of engines that finished a real handshake and exchanged packets,
//! with arbitrary bytes spliced into the record stream (a corrupt, cut,
//! replayed or foreign record) before, between or after real records.
//!
//! Checked: no panic; a handshake ends (in success or an error) once the
//! input is used up and the peer hung up; an error that ends receiving is
//! reported again by the next receive; every packet the real peer sent
//! before the spliced bytes arrives, whole and in order, before any error.
//!
//! The certificates and TLS configurations are built once per process
//! (rcgen and rustls set-up cost far more than one input).

use std::net::{Shutdown, SocketAddr};
use std::sync::OnceLock;
use std::time::Instant;

use netproto_core::StreamProtocol;
use netproto_core::driver::connection::{Connection, SendPacket, Step, Transport, memory};
use netproto_core::driver::endpoint::ConnectionSetup;
use netproto_core::framing::LengthPrefix;
use netproto_core::options::{ClientOptions, ServerOptions};
use netproto_core::serializer::BytesSerializer;
use netproto_core::tls::{TlsClientConfig, TlsServerConfig};

use crate::Input;

type Frames = StreamProtocol<LengthPrefix, BytesSerializer>;

fn frames() -> Frames {
    StreamProtocol::new(LengthPrefix::u16_be(), BytesSerializer)
}

/// The options of both sides, made once.
fn options() -> &'static (ClientOptions, ServerOptions) {
    static OPTIONS: OnceLock<(ClientOptions, ServerOptions)> = OnceLock::new();
    OPTIONS.get_or_init(|| {
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])
            .expect("a self-signed certificate");
        let cert_pem = cert.cert.pem();
        let key_pem = cert.signing_key.serialize_pem();
        let client = TlsClientConfig::with_root_pem(cert_pem.as_bytes())
            .expect("the certificate as a root")
            .server_name("localhost");
        let server = TlsServerConfig::from_pem(cert_pem.as_bytes(), key_pem.as_bytes())
            .expect("the server identity");
        (
            ClientOptions::default().tls(client),
            ServerOptions::default().tls(server),
        )
    })
}

fn addrs() -> (SocketAddr, SocketAddr) {
    (
        "127.0.0.1:5000".parse().unwrap(),
        "127.0.0.1:7000".parse().unwrap(),
    )
}

fn client() -> Connection<Frames> {
    let (client, server) = addrs();
    ConnectionSetup::client(&options().0, None)
        .connection(frames(), server, client)
        .expect("a TLS client sets up")
}

fn server() -> Connection<Frames> {
    let (client, server) = addrs();
    ConnectionSetup::server(&options().1)
        .connection(frames(), client, server)
        .expect("a TLS server sets up")
}

/// Write the input's chunks into `theirs`, polling `op` between them,
/// until the input is used up; then hang up and poll until `op` ends.
fn drive<R>(
    input: &mut Input<'_>,
    theirs: &memory::MemorySocket,
    mut op: impl FnMut() -> Step<R>,
) -> R {
    loop {
        if let Some(done) = poll(&mut op) {
            return done;
        }
        if input.is_empty() {
            break;
        }
        let chunk = input.chunk();
        let _ = theirs.write(chunk, None);
        let _ = theirs.discard_inbound();
    }
    // The peer hangs up: whatever was pending must now end.
    theirs.shutdown(Shutdown::Both).unwrap();
    for _ in 0..64 {
        if let Some(done) = poll(&mut op) {
            return done;
        }
    }
    panic!("an operation is still pending after the peer hung up");
}

/// Poll until `op` is ready or waits for the socket.
fn poll<R>(op: &mut impl FnMut() -> Step<R>) -> Option<R> {
    for _ in 0..64 {
        match op() {
            Step::Ready(done) => return Some(done),
            Step::Again => {}
            _ => return None,
        }
    }
    panic!("an operation asks to be polled again without end");
}

/// Run one input.
pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    match input.byte() % 3 {
        0 => handshaking(&mut input, server()),
        1 => handshaking(&mut input, client()),
        _ => after_a_handshake(&mut input),
    }
}

/// Anything, to an engine in its handshake.
fn handshaking(input: &mut Input<'_>, conn: Connection<Frames>) {
    let (ours, theirs) = memory::pair(64 * 1024);
    let now = Instant::now();
    let mut hs = conn.handshake(now);
    let done = drive(input, &theirs, || conn.poll_handshake(&mut hs, &ours, now));
    if done.is_ok() {
        // A handshake garbage completed (it cannot: the peer has no key)
        // still has to end receiving cleanly on the hang-up.
        receive_until_an_error(&conn, &ours);
    }
}

/// Receive until an error; check that it sticks.
fn receive_until_an_error(conn: &Connection<Frames>, ours: &memory::MemorySocket) -> Vec<Vec<u8>> {
    let now = Instant::now();
    let mut packets = Vec::new();
    for _ in 0..10_000 {
        let mut recv = conn.recv(now, None);
        match poll(&mut || conn.poll_recv(&mut recv, ours, now)) {
            Some(Ok(packet)) => packets.push(packet.to_vec()),
            Some(Err(err)) if err.is_recoverable() => {}
            Some(Err(first)) => {
                let mut again = conn.recv(now, None);
                let second = poll(&mut || conn.poll_recv(&mut again, ours, now));
                match second {
                    Some(Err(second)) => assert_eq!(
                        second.to_string(),
                        first.to_string(),
                        "an error that ends receiving sticks"
                    ),
                    other => panic!("after {first}, a receive returned {other:?}"),
                }
                return packets;
            }
            None => panic!("a receive waits after the peer hung up"),
        }
    }
    panic!("receiving never ends");
}

/// A real handshake and real packets, then the input's bytes spliced into
/// the record stream.
fn after_a_handshake(input: &mut Input<'_>) {
    let (client, server) = (client(), server());
    let (c, s) = memory::pair(256 * 1024);
    let now = Instant::now();
    let (mut hc, mut hs) = (client.handshake(now), server.handshake(now));
    let (mut a, mut b) = (None, None);
    for _ in 0..100 {
        if a.is_none() {
            a = client.poll_handshake(&mut hc, &c, now).ready();
        }
        if b.is_none() {
            b = server.poll_handshake(&mut hs, &s, now).ready();
        }
        if a.is_some() && b.is_some() {
            break;
        }
    }
    assert!(
        matches!((&a, &b), (Some(Ok(())), Some(Ok(())))),
        "{a:?} {b:?}"
    );
    // Real packets, then the spliced bytes, then maybe more real packets.
    let count = usize::from(input.byte() % 4);
    let mut sent = Vec::new();
    for i in 0..count {
        let packet = input.chunk().to_vec();
        let mut send = SendPacket::new(&packet[..]);
        assert!(
            matches!(client.poll_send(&mut send, &c, now), Step::Ready(Ok(()))),
            "packet {i} is sent"
        );
        sent.push(packet);
    }
    // The client's records are in the queue to the server; the bytes
    // spliced after them come "from the client" too.
    while !input.is_empty() {
        let _ = c.write(input.chunk(), None);
    }
    c.shutdown(Shutdown::Write).unwrap();
    let received = receive_until_an_error(&server, &s);
    assert!(
        received.len() >= sent.len() && received[..sent.len()] == sent[..],
        "what the real client sent arrives first, whole and in order"
    );
}
