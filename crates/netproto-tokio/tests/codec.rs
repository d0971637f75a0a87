//! The `codec` feature: the core's protocols and framers inside
//! `tokio_util::codec::Framed`, talking to the driver's own server.
#![cfg(feature = "codec")]

mod common;

use bytes::{Bytes, BytesMut};
use common::*;
use futures_util::{SinkExt, StreamExt};
use netproto_tokio::codec::{CodecError, FramerCodec, ProtocolCodec};
use netproto_tokio::framing::{Delimiter, LengthPrefix};
use netproto_tokio::{ServerOptions, TcpServer};
use tokio_util::codec::{Decoder, Encoder, Framed};

#[tokio::test]
async fn framed_protocol_talks_to_a_server() {
    let server = TcpServer::bind("127.0.0.1:0", lines(), ServerOptions::default())
        .await
        .unwrap();
    let addr = server.local_addrs()[0];
    let shutdown = server.shutdown_handle();
    let serving = tokio::spawn(async move {
        server
            .serve(|connection| async move {
                while let Ok(line) = connection.recv_packet().await {
                    let _ = connection.send_packet(&line.to_uppercase()).await;
                }
            })
            .await
    });
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut framed = Framed::new(stream, ProtocolCodec::new(lines()));
    for word in ["one", "two", "three"] {
        framed.send(word).await.unwrap();
        assert_eq!(framed.next().await.unwrap().unwrap(), word.to_uppercase());
    }
    drop(framed);
    shutdown.shutdown(BOUND);
    serving.await.unwrap().unwrap();
}

#[tokio::test]
async fn framer_codec_matches_the_client_wire_format() {
    let (client, connection) = pair(Transport::Plain, big_frames()).await;
    client.send_packet(b"first").await.unwrap();
    client.send_packet(&[0u8; 70_000]).await.unwrap();
    // The codec writes the same wire bytes, and reads them back even when
    // they arrive one byte at a time.
    let mut codec = FramerCodec::new(LengthPrefix::u32_be());
    let mut wire = BytesMut::new();
    codec.encode(b"first", &mut wire).unwrap();
    codec.encode(vec![0u8; 70_000], &mut wire).unwrap();
    let mut frames = Vec::new();
    let mut input = BytesMut::new();
    for byte in wire {
        input.extend_from_slice(&[byte]);
        if let Some(frame) = codec.decode(&mut input).unwrap() {
            frames.push(frame);
        }
    }
    assert_eq!(
        frames,
        [Bytes::from_static(b"first"), Bytes::from(vec![0u8; 70_000])]
    );
    // The server side reads the client's bytes as the same frames.
    assert_eq!(connection.recv_packet().await.unwrap(), "first");
    assert_eq!(connection.recv_packet().await.unwrap().len(), 70_000);
}

#[test]
fn errors_and_lenient_decoding() {
    let mut strict = ProtocolCodec::new(netproto_testkit::cases::numbers());
    let mut input = BytesMut::from(&b"12\nxx\n13\n"[..]);
    assert_eq!(strict.decode(&mut input).unwrap(), Some(12));
    assert!(matches!(
        strict.decode(&mut input),
        Err(CodecError::Deserialize(_))
    ));
    assert_eq!(strict.decode(&mut input).unwrap(), Some(13));

    let mut lenient = ProtocolCodec::lenient(netproto_testkit::cases::numbers());
    let mut input = BytesMut::from(&b"7\nbad\n"[..]);
    assert_eq!(lenient.decode(&mut input).unwrap().unwrap().unwrap(), 7);
    let err = lenient.decode(&mut input).unwrap().unwrap().unwrap_err();
    assert_eq!(err.frame, "bad");

    let mut lines = FramerCodec::new(Delimiter::lf().max_frame_length(4));
    let mut input = BytesMut::from(&b"toolong\n"[..]);
    assert!(matches!(
        lines.decode(&mut input),
        Err(CodecError::Framing(_))
    ));
    let mut input = BytesMut::from(&b"half"[..]);
    let eof = lines.decode_eof(&mut input);
    assert!(eof.is_err(), "{eof:?}");
}
