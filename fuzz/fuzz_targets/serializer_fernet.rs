//! The Fernet wrapper: any frame decodes to a value or an error carrying
//! the frame (never a panic, whatever its timestamp); any bytes encrypt to
//! a token that decrypts back, under a ttl too; a token made with one key
//! never decrypts under another, and no single altered character does.
//!
//! Input: key byte, position byte, then the frame (also the payload).
#![no_main]

use ::base64::Engine;
use libfuzzer_sys::fuzz_target;
use netproto_core::serializer::{BytesSerializer, Fernet, FernetKey, JsonValue, Utf8};
use netproto_fuzz::Input;
use netproto_fuzz::serializing::{deserialize, serialize};

fn key(byte: u8) -> FernetKey {
    let text = ::base64::engine::general_purpose::URL_SAFE.encode([byte; 32]);
    FernetKey::from_base64(&text).expect("32 bytes in URL-safe base64")
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let key_byte = input.byte();
    let at = usize::from(input.byte());
    let frame = input.rest();

    let fernet = Fernet::new(BytesSerializer, key(key_byte));
    for ttl in [None, Some(0), Some(u64::MAX)] {
        let fernet = match ttl {
            Some(ttl) => fernet.clone().ttl(ttl),
            None => fernet.clone(),
        };
        deserialize(&fernet, frame);
    }
    deserialize(&Fernet::new(Utf8, key(key_byte)), frame);
    deserialize(&Fernet::new(JsonValue::new(), key(key_byte)).ttl(60), frame);

    let token = serialize(&fernet, frame).expect("encryption never fails");
    assert!(
        token.starts_with(b"gAAAAA"),
        "version 0x80 and a 2020s timestamp"
    );
    assert_eq!(deserialize(&fernet, &token).as_deref(), Some(frame));
    assert_eq!(
        deserialize(&fernet.clone().ttl(3600), &token).as_deref(),
        Some(frame)
    );
    let other = Fernet::new(BytesSerializer, key(key_byte ^ 0x5a));
    assert!(deserialize(&other, &token).is_none());

    let mut altered = token.to_vec();
    let at = at % altered.len();
    altered[at] = if altered[at] == b'A' { b'B' } else { b'A' };
    assert!(deserialize(&fernet, &altered).is_none());
});
