//! Shared harness for the netproto-core fuzz targets.
//!
//! Every target reads its input the same way: a few configuration bytes
//! from the front (through [`arbitrary::Unstructured`]), then — for the
//! framer targets — a list of read sizes, then the bytes themselves. The
//! layout is simple on purpose, so that `make_seeds` can write seed inputs
//! that start the fuzzer from real frames (see [`seed`]).
//!
//! * [`framing`]: decode in arbitrary reads and compare with one-shot
//!   decoding, check the limits, round-trip what the framer encodes.
//! * [`serializing`]: decode arbitrary frames (an error carrying the frame,
//!   or a value that re-encodes stably).
//! * [`connection`]: drive the connection engine against a peer that does
//!   anything, with a clock that jumps.
//! * [`endpoint`]: drive an `Endpoint` with arbitrary reads, EOFs, sends,
//!   writes and `send_eof` calls, checking the calling contract's promises.

use arbitrary::Unstructured;

pub mod connection;
pub mod endpoint;
pub mod framing;
pub mod seed;
pub mod serializing;
pub mod tls;

/// The fuzzer's input, read from the front.
pub struct Input<'a> {
    u: Unstructured<'a>,
}

impl<'a> Input<'a> {
    /// Read `data` from the front.
    pub fn new(data: &'a [u8]) -> Self {
        Input {
            u: Unstructured::new(data),
        }
    }

    /// The next byte (0 once the input is exhausted).
    pub fn byte(&mut self) -> u8 {
        self.u.arbitrary::<u8>().unwrap_or(0)
    }

    /// The next `n` bytes, or fewer at the end of the input.
    pub fn bytes(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.u.len());
        self.u.bytes(n).unwrap_or_default()
    }

    /// A length byte, then that many bytes.
    pub fn chunk(&mut self) -> &'a [u8] {
        let n = usize::from(self.byte());
        self.bytes(n)
    }

    /// Sizes of the reads that deliver a stream: a count byte (mod 16),
    /// then one byte per read (see [`read_size`]). No sizes means one read
    /// with everything.
    pub fn read_sizes(&mut self) -> Vec<usize> {
        let count = self.byte() % 16;
        (0..count).map(|_| read_size(self.byte())).collect()
    }

    /// Whether every byte has been read.
    pub fn is_empty(&self) -> bool {
        self.u.is_empty()
    }

    /// Everything not read yet.
    pub fn rest(self) -> &'a [u8] {
        self.u.take_rest()
    }
}

/// A read size from one byte: `0` (a decode call with no new bytes), 1 to
/// 199 bytes, or 512 to 28 672 bytes for 200 to 255.
pub fn read_size(byte: u8) -> usize {
    match byte {
        0..=199 => usize::from(byte),
        _ => usize::from(byte - 199) * 512,
    }
}

/// A limit from one byte: 255 is "unbounded" (`usize::MAX`, to catch
/// overflow in limit arithmetic), 254 the framer's default, anything else
/// itself (small limits are reached quickly).
pub fn limit(byte: u8, default: usize) -> usize {
    match byte {
        255 => usize::MAX,
        254 => default,
        n => usize::from(n),
    }
}
