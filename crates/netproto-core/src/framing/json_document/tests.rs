use super::*;
use crate::framing::decode_all;

fn frames(framer: &JsonDocument, input: &[u8]) -> (Vec<Bytes>, Option<DecodeFailure>) {
    decode_all(&mut framer.decoder(), input)
}

#[test]
fn objects_arrays_and_strings_back_to_back() {
    let input = br#"{"a":1}[1,2]"s"{"b":{"c":[{}]}}"#;
    let (got, err) = frames(&JsonDocument::new(), input);
    assert!(err.is_none(), "{err:?}");
    assert_eq!(
        got,
        vec![r#"{"a":1}"#, "[1,2]", r#""s""#, r#"{"b":{"c":[{}]}}"#]
    );
}

#[test]
fn brackets_inside_strings_and_escapes_are_ignored() {
    let input = br#"{"k":"}]{[\"\\"}["\\",")"]"\"}""#;
    let (got, err) = frames(&JsonDocument::new(), input);
    assert!(err.is_none(), "{err:?}");
    assert_eq!(
        got,
        vec![r#"{"k":"}]{[\"\\"}"#, r#"["\\",")"]"#, r#""\"}""#]
    );
}

#[test]
fn whitespace_between_documents_is_skipped() {
    let (got, err) = frames(&JsonDocument::new(), b" \r\n\t{}\n\n [ ] \n");
    assert!(err.is_none());
    assert_eq!(got, vec!["{}", "[ ]"]);
}

#[test]
fn bare_values_end_at_whitespace_or_eof() {
    let (got, err) = frames(&JsonDocument::new(), b"12 -3.5e2\ntrue null\tNaN false");
    assert!(err.is_none(), "{err:?}");
    assert_eq!(got, vec!["12", "-3.5e2", "true", "null", "NaN", "false"]);

    // Without the end of the stream, a bare value may still go on.
    let mut decoder = JsonDocument::new().decoder();
    let mut buf = BytesMut::from(&b"42"[..]);
    assert_eq!(decoder.decode(&mut buf).unwrap(), None);
    buf.extend_from_slice(b"7 ");
    assert_eq!(decoder.decode(&mut buf).unwrap().unwrap(), "427");
}

#[test]
fn a_byte_that_cannot_start_a_document_is_fatal() {
    let (got, err) = frames(&JsonDocument::new(), b"{} }{}");
    assert_eq!(got, vec!["{}"]);
    let err = err.unwrap();
    assert!(!err.recoverable);
    assert_eq!(
        err.error,
        FramingError::InvalidByte {
            byte: b'}',
            offset: 0
        }
    );
    // Sticky.
    let mut decoder = JsonDocument::new().decoder();
    let mut buf = BytesMut::from(&b"x{}"[..]);
    assert!(decoder.decode(&mut buf).is_err());
    assert!(decoder.decode(&mut buf).is_err());
}

#[test]
fn eof_inside_a_document_reports_pending_bytes() {
    let (got, err) = frames(&JsonDocument::new(), br#"[1] {"a":"#);
    assert_eq!(got, vec!["[1]"]);
    assert_eq!(
        err.unwrap().error,
        FramingError::UnexpectedEof { pending: 5 }
    );
}

#[test]
fn oversized_document_is_reported_once_and_skipped() {
    let framer = JsonDocument::new().max_frame_length(8);
    let mut decoder = framer.decoder();
    let mut buf = BytesMut::from(&br#"{"long":"abc"#[..]);
    let err = decoder.decode(&mut buf).unwrap_err();
    assert!(err.recoverable);
    assert_eq!(
        err.error,
        FramingError::FrameTooLongSoFar {
            at_least: 9,
            limit: 8
        }
    );
    assert_eq!(
        err.error.to_string(),
        "frame of at least 9 bytes exceeds the limit of 8"
    );
    assert!(buf.len() < 8, "scanned bytes are dropped");
    // The rest of the oversized document, with a fake end inside a string.
    buf.extend_from_slice(br#"defgh}\"}", "x": [1, 2]}"#);
    assert_eq!(decoder.decode(&mut buf).unwrap(), None);
    assert!(buf.is_empty());
    buf.extend_from_slice(br#" [1]"#);
    assert_eq!(decoder.decode(&mut buf).unwrap().unwrap(), "[1]");

    // A complete oversized document in one read.
    let (got, err) = frames(&framer, br#"[1,2,3,4,5] [6]"#);
    assert!(got.is_empty());
    assert!(err.unwrap().recoverable);
    let mut decoder = framer.decoder();
    let mut buf = BytesMut::from(&br#"[1,2,3,4,5] [6]"#[..]);
    assert!(decoder.decode(&mut buf).is_err());
    assert_eq!(decoder.decode(&mut buf).unwrap().unwrap(), "[6]");
}

#[test]
fn documents_of_exactly_the_limit_pass() {
    let framer = JsonDocument::new().max_frame_length(5);
    let (got, err) = frames(&framer, b"[1,2] 12345 [1,23]");
    assert_eq!(got, vec!["[1,2]", "12345"]);
    assert!(matches!(
        err.unwrap().error,
        FramingError::FrameTooLong {
            length: 6,
            limit: 5
        }
    ));
}

#[test]
fn each_byte_is_examined_once() {
    let doc = format!(
        r#"{{"k":"{}","n":[{}]}}"#,
        "x\\\"".repeat(3000),
        "1,".repeat(3000) + "1"
    );
    let mut decoder = JsonDocument::new().decoder();
    let mut buf = BytesMut::new();
    let mut got = Vec::new();
    for chunk in doc.as_bytes().chunks(7) {
        buf.extend_from_slice(chunk);
        while let Some(frame) = decoder.decode(&mut buf).unwrap() {
            got.push(frame);
        }
    }
    assert_eq!(got, vec![doc.clone()]);
    assert_eq!(decoder.bytes_examined(), doc.len() as u64);
}

#[test]
fn encode_writes_documents_and_separates_bare_values() {
    let framer = JsonDocument::new();
    let mut dst = BytesMut::new();
    framer.encode(br#"{"a":[1]}"#, &mut dst).unwrap();
    framer.encode(b"12", &mut dst).unwrap();
    framer.encode(b"true\n", &mut dst).unwrap();
    framer.encode(br#""s""#, &mut dst).unwrap();
    assert_eq!(&dst[..], b"{\"a\":[1]}12\ntrue\n\"s\"");
    let (got, err) = frames(&framer, &dst);
    assert!(err.is_none());
    assert_eq!(got, vec![r#"{"a":[1]}"#, "12", "true", r#""s""#]);
}

#[test]
fn encode_refuses_what_the_peer_could_not_cut() {
    let framer = JsonDocument::new().max_frame_length(4);
    let mut dst = BytesMut::from(&b"[]"[..]);
    assert!(matches!(
        framer.encode(b"[1,2,3]", &mut dst).unwrap_err(),
        EncodeError::FrameTooLong {
            length: 7,
            limit: 4
        }
    ));
    assert!(matches!(
        framer.encode(b"}", &mut dst).unwrap_err(),
        EncodeError::Serialize(_)
    ));
    assert!(matches!(
        framer.encode(b"  ", &mut dst).unwrap_err(),
        EncodeError::Serialize(_)
    ));
    assert_eq!(&dst[..], b"[]", "refused documents leave nothing");
    assert_eq!(Framer::max_frame_length(&JsonDocument::default()), 65_536);
}
