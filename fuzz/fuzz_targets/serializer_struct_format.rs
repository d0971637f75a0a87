//! Python `struct` formats: any format string parses or is refused; any
//! frame decodes to values or an error carrying the frame; a frame of the
//! right size always decodes, to values that pack again (what `struct`
//! unpacks, it packs), and re-packing is stable.
//!
//! Input: format length, format bytes (mapped onto format characters),
//! then the frame.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netproto_core::framing::Framer;
use netproto_core::serializer::StructFormat;
use netproto_fuzz::Input;
use netproto_fuzz::serializing::{check_stable, deserialize};

const CHARS: &[u8] = b"@=<>!xcbB?hHiIlLqQnNefdspP0123456789 0123zq";

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let length = usize::from(input.byte() % 24);
    let format: String = input
        .bytes(length)
        .iter()
        .map(|&b| char::from(CHARS[usize::from(b) % CHARS.len()]))
        .collect();
    let frame = input.rest();
    let Ok(s) = StructFormat::new(&format) else {
        return;
    };
    let size = s.size();
    assert!(size > 0);
    assert_eq!(s.framer().max_frame_length(), size);
    if let Some(values) = deserialize(&s, frame) {
        assert_eq!(frame.len(), size);
        assert_eq!(values.len(), s.value_count());
    }
    if size > 1 << 16 {
        return;
    }
    // The frame repeated or cut to the right size.
    let sized: Vec<u8> = if frame.is_empty() {
        vec![0; size]
    } else {
        frame.iter().copied().cycle().take(size).collect()
    };
    let values = check_stable(&s, &sized).expect("a frame of the struct size decodes");
    assert_eq!(values.len(), s.value_count());
});
