//! Helpers shared by the serializer tests: run packets through a real
//! endpoint, load the EasyNetwork vectors.
#![allow(dead_code)]

use std::path::PathBuf;

use netproto_core::Error;
use netproto_core::driver::endpoint::{Endpoint, EndpointConfig};
use netproto_core::protocol::Protocol;

/// The bytes an endpoint puts on the wire for `packets`, in order.
pub fn send_all<'a, P>(protocol: &P, packets: impl IntoIterator<Item = &'a P::Sent>) -> Vec<u8>
where
    P: Protocol,
    P::Sent: 'a,
{
    let peer = "127.0.0.1:9".parse::<std::net::SocketAddr>().unwrap();
    let (_, mut send) = Endpoint::new(protocol.clone(), peer, &EndpointConfig::default()).split();
    let mut wire = Vec::new();
    for packet in packets {
        send.push_packet(packet).expect("packet encodes");
        wire.extend_from_slice(send.pending());
        let n = send.pending().len();
        send.advance(n);
    }
    wire
}

/// Feed `wire` to a fresh endpoint in reads of the sizes in `chunks`
/// (cycled), then EOF; return every packet or per-packet error in order,
/// and the error that ended receiving.
pub fn receive_all<P: Protocol>(
    protocol: &P,
    wire: &[u8],
    chunks: &[usize],
) -> (Vec<Result<P::Received, Error>>, Error) {
    let peer = "127.0.0.1:9".parse::<std::net::SocketAddr>().unwrap();
    let (mut recv, _) = Endpoint::new(protocol.clone(), peer, &EndpointConfig::default()).split();
    let mut out = Vec::new();
    let mut pos = 0;
    let mut sizes = chunks.iter().copied().filter(|&n| n > 0).cycle();
    loop {
        match recv.next_packet() {
            Some(Err(err)) if !err.is_recoverable() => return (out, err),
            Some(result) => out.push(result),
            None => {
                let buf = recv.read_buf();
                let n = sizes
                    .next()
                    .unwrap_or(usize::MAX)
                    .min(buf.len())
                    .min(wire.len() - pos);
                buf[..n].copy_from_slice(&wire[pos..pos + n]);
                pos += n;
                recv.commit(n);
            }
        }
    }
}

/// Like [`receive_all`], expecting only packets and a clean close.
pub fn receive_ok<P: Protocol>(protocol: &P, wire: &[u8], chunks: &[usize]) -> Vec<P::Received> {
    let (results, end) = receive_all(protocol, wire, chunks);
    assert!(
        matches!(end, Error::ConnectionClosed { .. }),
        "stream ended with {end}"
    );
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(|e| panic!("packet failed: {e}")))
        .collect()
}

/// Parse a hex string from a vector file.
pub fn hex(text: &str) -> Vec<u8> {
    assert!(text.len() % 2 == 0, "odd hex length");
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex digit"))
        .collect()
}

/// Load `tests/vectors/NAME` (a JSON list of vectors).
pub fn vectors(name: &str) -> Vec<serde_json::Value> {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "vectors", name]
        .iter()
        .collect();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("vector file is JSON")
}

/// Find the vector called `name` in `list`.
pub fn named<'a>(list: &'a [serde_json::Value], name: &str) -> &'a serde_json::Value {
    list.iter()
        .find(|v| v["name"] == name)
        .unwrap_or_else(|| panic!("no vector {name}"))
}
