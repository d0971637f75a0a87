//! Seed inputs in each target's input layout (used by `make_seeds`).

/// A framer target's input: configuration bytes, read sizes (one byte
/// each, see [`crate::read_size`]), then the stream.
pub fn framer(config: &[u8], reads: &[u8], stream: &[u8]) -> Vec<u8> {
    assert!(reads.len() < 16);
    let mut out = config.to_vec();
    out.push(reads.len() as u8);
    out.extend_from_slice(reads);
    out.extend_from_slice(stream);
    out
}

/// Operations for the endpoint target.
#[derive(Default)]
pub struct Ops(Vec<u8>);

impl Ops {
    /// Start with the protocol choice, limit byte, max_recv_size byte and
    /// send buffer limit byte.
    pub fn new(choice: u8, limit: u8, max_recv: u8, send_limit: u8) -> Self {
        Ops(vec![choice, limit, max_recv, send_limit])
    }

    fn chunk(mut self, op: u8, data: &[u8]) -> Self {
        assert!(data.len() < 256);
        self.0.push(op);
        self.0.push(data.len() as u8);
        self.0.extend_from_slice(data);
        self
    }

    /// A read delivering `data`.
    pub fn read(self, data: &[u8]) -> Self {
        self.chunk(0, data)
    }

    /// A read abandoned before it completed.
    pub fn abandoned_read(mut self) -> Self {
        self.0.push(1);
        self
    }

    /// EOF from the peer.
    pub fn eof(mut self) -> Self {
        self.0.push(2);
        self
    }

    /// One `next_packet` call.
    pub fn next(mut self) -> Self {
        self.0.push(3);
        self
    }

    /// `next_packet` until it needs more.
    pub fn drain(mut self) -> Self {
        self.0.push(4);
        self
    }

    /// Queue the packet made of `data`.
    pub fn send(self, data: &[u8]) -> Self {
        self.chunk(5, data)
    }

    /// `send_eof`.
    pub fn send_eof(mut self) -> Self {
        self.0.push(6);
        self
    }

    /// The socket takes `3 * n` pending bytes.
    pub fn write(mut self, n: u8) -> Self {
        self.0.extend_from_slice(&[7, n]);
        self
    }

    /// `release_memory`.
    pub fn release(mut self) -> Self {
        self.0.push(8);
        self
    }

    /// The socket fails for good with the error kind numbered `kind`.
    pub fn fail(mut self, kind: u8) -> Self {
        self.0.extend_from_slice(&[10, kind]);
        self
    }

    /// The input bytes.
    pub fn build(self) -> Vec<u8> {
        self.0
    }
}
