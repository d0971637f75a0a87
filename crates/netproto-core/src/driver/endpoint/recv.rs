//! The receive side of an endpoint: socket bytes in, packets out.

use crate::addr::PeerAddr;
use std::fmt;
use std::io;

use bytes::BytesMut;

use super::EndpointConfig;
use crate::error::{Error, FramingError, TlsError, starts_with_tls_record};
use crate::framing::FrameDecoder;
use crate::protocol::Protocol;
#[cfg(feature = "tls")]
use crate::tls::SharedTls;

#[derive(Debug)]
enum RecvState {
    Open,
    /// The peer's write half is closed (TCP EOF or TLS close_notify).
    Eof {
        truncated: bool,
    },
    /// The TLS stream failed after records that decrypted: the packets
    /// they completed are returned first, then the error (and `Failed`).
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    Ending(Terminal),
    /// Receiving is over for good: the error is reported on every call.
    Failed(Terminal),
}

#[derive(Debug)]
enum Terminal {
    Framing(FramingError),
    /// The framing error a plain connection's first bytes caused, which
    /// are a TLS record.
    SpeaksTls(FramingError),
    UnexpectedEof(usize),
    Closed,
    Tls(TlsError),
    /// A socket error. `io::Error` is not `Clone`: the first report hands
    /// out the error itself, later ones a copy rebuilt from the OS error
    /// code (same kind, code and message) or, without one, from the kind
    /// and message.
    Io {
        kind: io::ErrorKind,
        os_code: Option<i32>,
        message: String,
    },
}

#[cfg(feature = "tls")]
#[derive(Debug)]
struct RecvTls {
    session: SharedTls,
    /// The ciphertext read region. It keeps its length (and its stale
    /// bytes, never read: only the `n` bytes a read committed are) from one
    /// read to the next, so handing it out costs no zero-filling.
    ciphertext: BytesMut,
    /// The first ciphertext bytes (up to 3) and how many bytes arrived in
    /// all, to tell a peer that does not speak TLS.
    head: [u8; 3],
    received: usize,
}

/// Whether `head` (3 bytes) can start a TLS record: a known content type
/// (change_cipher_spec, alert, handshake, application data) and major
/// version 3.
#[cfg(feature = "tls")]
fn looks_like_tls(head: &[u8]) -> bool {
    matches!(head, [0x14..=0x17, 0x03, _])
}

/// The smallest read region (unless `max_recv_size` is smaller).
const MIN_READ_SIZE: usize = 1024;

/// The read region after a read of `n` bytes into a region of `size`
/// bytes: twice as large after a full read, half as large after one that
/// used less than a quarter, within `[MIN_READ_SIZE, max]`.
fn next_read_size(size: usize, n: usize, max: usize) -> usize {
    let min = max.min(MIN_READ_SIZE);
    if n >= size {
        size.saturating_mul(2).min(max)
    } else if n > 0 && n < size / 4 {
        (size / 2).max(min)
    } else {
        size
    }
}

/// The receive side of an [`Endpoint`](super::Endpoint): the receive buffer, the frame
/// decoder and the end-of-stream state.
pub struct RecvHalf<P: Protocol> {
    protocol: P,
    decoder: P::Decoder,
    pub(super) buf: BytesMut,
    /// Length of the valid data while a read region is handed out.
    uncommitted: Option<usize>,
    max_recv_size: usize,
    /// The size of the next read region: adapts between
    /// 1 KiB and `max_recv_size` to what
    /// reads return, so that small packets do not pay for zero-filling a
    /// large region on every read.
    read_size: usize,
    peer: PeerAddr,
    state: RecvState,
    /// No frame has been taken out of the buffer yet: it starts with the
    /// connection's first bytes.
    at_start: bool,
    #[cfg(feature = "tls")]
    tls: Option<RecvTls>,
}

impl<P: Protocol> RecvHalf<P> {
    /// Buffers above this capacity are released once drained.
    const RELEASE_CAPACITY: usize = 256 * 1024;

    pub(super) fn new(protocol: P, peer: impl Into<PeerAddr>, config: &EndpointConfig) -> Self {
        let peer = peer.into();
        RecvHalf {
            decoder: protocol.decoder(),
            protocol,
            buf: BytesMut::new(),
            uncommitted: None,
            max_recv_size: config.max_recv_size,
            read_size: config.max_recv_size.min(MIN_READ_SIZE),
            peer,
            state: RecvState::Open,
            at_start: true,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }

    /// Pass socket bytes through `session` from now on.
    #[cfg(feature = "tls")]
    pub(super) fn set_tls(&mut self, session: SharedTls) {
        self.tls = Some(RecvTls {
            session,
            ciphertext: BytesMut::new(),
            head: [0; 3],
            received: 0,
        });
    }

    /// The next packet: `None` when more bytes are needed.
    pub fn next_packet(&mut self) -> Option<Result<P::Received, Error>> {
        self.discard_uncommitted();
        let at_eof = match &self.state {
            RecvState::Open => false,
            RecvState::Eof { .. } => true,
            RecvState::Ending(_) => false,
            RecvState::Failed(terminal) => return Some(Err(self.terminal_error(terminal))),
        };
        // A plain connection whose first bytes are a TLS record: the framer
        // will fail on them, and the error says why.
        let speaks_tls = self.at_start && self.is_plain() && starts_with_tls_record(&self.buf);
        // The frame is read in place; parsing it consumes it.
        let decoded = {
            let frame = if at_eof {
                self.decoder.next_frame_eof(&mut self.buf)
            } else {
                self.decoder.next_frame(&mut self.buf)
            };
            frame.map(|frame| frame.map(|frame| self.protocol.decode_frame(frame)))
        };
        if !matches!(decoded, Ok(None)) {
            self.at_start = false;
        }
        match decoded {
            Ok(Some(packet)) => {
                self.release_if_drained();
                Some(packet.map_err(|source| Error::Deserialize {
                    peer: self.peer.clone(),
                    source,
                }))
            }
            // Nothing whole is left of what arrived before the failure.
            _ if matches!(self.state, RecvState::Ending(_)) => {
                let state = std::mem::replace(&mut self.state, RecvState::Open);
                let RecvState::Ending(terminal) = state else {
                    self.state = state;
                    return None;
                };
                Some(Err(self.fail(terminal)))
            }
            Ok(None) if at_eof => {
                let terminal = match self.state {
                    RecvState::Eof { truncated: true } => Terminal::Tls(TlsError::Truncated),
                    _ => Terminal::Closed,
                };
                Some(Err(self.fail(terminal)))
            }
            Ok(None) => None,
            Err(failure) if speaks_tls => Some(Err(self.fail(Terminal::SpeaksTls(failure.error)))),
            Err(failure) if failure.recoverable => Some(Err(Error::Framing {
                peer: self.peer.clone(),
                source: failure.error,
                recoverable: true,
            })),
            Err(failure) => {
                let terminal = match (failure.error, &self.state) {
                    // Over TLS, TCP closed without close_notify inside a
                    // frame is truncation as it is between frames.
                    (
                        FramingError::UnexpectedEof { pending },
                        RecvState::Eof { truncated: true },
                    ) => Terminal::Tls(TlsError::TruncatedFrame { pending }),
                    (FramingError::UnexpectedEof { pending }, _) => {
                        Terminal::UnexpectedEof(pending)
                    }
                    (other, _) => Terminal::Framing(other),
                };
                Some(Err(self.fail(terminal)))
            }
        }
    }

    /// Where the driver reads socket bytes into, allocated on first use.
    /// Call [`commit`](RecvHalf::commit) with the number of bytes read.
    ///
    /// The region holds at most `max_recv_size` bytes. Its size adapts to
    /// the traffic: it doubles after a read that filled it and halves after
    /// reads that used less than a quarter of it (never below 1 KiB), so a
    /// connection exchanging small packets zero-fills a small region per
    /// read and a bulk transfer quickly reads `max_recv_size` at a time.
    pub fn read_buf(&mut self) -> &mut [u8] {
        self.discard_uncommitted();
        let max = self.read_size;
        #[cfg(feature = "tls")]
        if let Some(tls) = &mut self.tls {
            if tls.ciphertext.len() != max {
                tls.ciphertext.resize(max, 0);
            }
            self.uncommitted = Some(self.buf.len());
            return &mut tls.ciphertext[..];
        }
        let len = self.buf.len();
        let room = self.buf.capacity() - len;
        // Part of a frame larger than a read region is waiting: read into
        // the room left rather than copy it into a bigger buffer (the
        // decoder grows the buffer toward the frame's end in a few steps).
        let region = if len >= max && (MIN_READ_SIZE..max).contains(&room) {
            room
        } else {
            max
        };
        self.buf.resize(len + region, 0);
        self.uncommitted = Some(len);
        &mut self.buf[len..]
    }

    /// `n` bytes were read into [`read_buf`](RecvHalf::read_buf); `0` means
    /// the peer closed its write half.
    ///
    /// TLS failures are reported by [`next_packet`](RecvHalf::next_packet)
    /// after the packets that arrived before them.
    ///
    /// # Panics
    /// If no read region was handed out since the last commit: a driver
    /// that commits bytes it never read has a bug, and going on would make
    /// up data.
    pub fn commit(&mut self, n: usize) {
        let Some(len) = self.uncommitted.take() else {
            panic!("RecvHalf::commit called without a read_buf region");
        };
        #[cfg(feature = "tls")]
        if let Some(tls) = &mut self.tls {
            self.buf.truncate(len);
            let n = n.min(tls.ciphertext.len());
            self.read_size = next_read_size(self.read_size, n, self.max_recv_size);
            let start = tls.received.min(3);
            let take = (3 - start).min(n);
            tls.head[start..start + take].copy_from_slice(&tls.ciphertext[..take]);
            tls.received = tls.received.saturating_add(n);
            let mut outcome = tls
                .session
                .read_ciphertext(&tls.ciphertext[..n], &mut self.buf);
            if matches!(self.state, RecvState::Open) {
                // The handshake ends on what is not TLS: say so.
                let ended = outcome.is_err() || n == 0;
                let head = &tls.head[..tls.received.min(3)];
                if ended
                    && (tls.received == 0 || (head.len() == 3 && !looks_like_tls(head)))
                    && tls.session.is_handshaking()
                {
                    outcome = Err(TlsError::NotTls {
                        received: tls.received,
                    });
                }
                match outcome {
                    // The packets the records before the bad one complete
                    // come first.
                    Err(err) => self.state = RecvState::Ending(Terminal::Tls(err)),
                    Ok(true) => self.state = RecvState::Eof { truncated: false },
                    Ok(false) if n == 0 => {
                        let truncated = !tls.session.lock().accepts_missing_close_notify();
                        self.state = RecvState::Eof { truncated };
                    }
                    Ok(false) => {}
                }
            }
            return;
        }
        let region = self.buf.len() - len;
        let n = n.min(region);
        // A region cut short by the room left says nothing about the traffic.
        if region == self.read_size {
            self.read_size = next_read_size(self.read_size, n, self.max_recv_size);
        }
        self.buf.truncate(len + n);
        if n == 0 && matches!(self.state, RecvState::Open) {
            self.state = RecvState::Eof { truncated: false };
        }
    }

    /// Reading from the socket failed with `err` for good (reset, broken
    /// pipe, any I/O error that is not a timeout or an interruption):
    /// receiving is over. Returns the error to report now, naming the peer
    /// ([`Error::from_io`]); every later [`next_packet`](RecvHalf::next_packet)
    /// reports it again. If receiving had already failed, the first failure
    /// stays the one reported.
    pub fn fail_io(&mut self, err: io::Error) -> Error {
        self.discard_uncommitted();
        if !matches!(self.state, RecvState::Failed(_) | RecvState::Ending(_)) {
            self.state = RecvState::Failed(Terminal::Io {
                kind: err.kind(),
                os_code: err.raw_os_error(),
                message: err.to_string(),
            });
        }
        Error::from_io(err, self.peer.clone())
    }

    /// During the TLS handshake: once receiving has ended — a TLS failure
    /// (a bad certificate, an alert, plain text from the peer) or the peer
    /// hanging up — the error the handshake fails with; `None` while it can
    /// go on. (Write what [`SendHalf::pull_tls`](super::SendHalf::pull_tls) queues first: rustls may
    /// have an alert for the peer.)
    pub fn handshake_error(&mut self) -> Option<Error> {
        if !self.is_eof() {
            return None;
        }
        Some(match self.next_packet() {
            Some(Err(err)) => err,
            _ => Error::ConnectionClosed {
                peer: self.peer.clone(),
            },
        })
    }

    /// Whether no TLS session is in use.
    fn is_plain(&self) -> bool {
        #[cfg(feature = "tls")]
        if self.tls.is_some() {
            return false;
        }
        true
    }

    /// Whether TLS has output for the peer that the send half should flush.
    pub fn tls_wants_write(&self) -> bool {
        #[cfg(feature = "tls")]
        if let Some(tls) = &self.tls {
            return tls.session.wants_write();
        }
        false
    }

    /// Whether the peer has closed its write half (or receiving failed).
    pub fn is_eof(&self) -> bool {
        !matches!(self.state, RecvState::Open)
    }

    /// Bytes received and not yet returned as packets.
    pub fn buffered(&self) -> usize {
        self.uncommitted.unwrap_or(self.buf.len())
    }

    /// The peer's address.
    pub fn peer(&self) -> &PeerAddr {
        &self.peer
    }

    /// The most bytes one read asks for.
    pub fn max_recv_size(&self) -> usize {
        self.max_recv_size
    }

    /// Free the receive buffer if it holds nothing, so an idle connection
    /// costs no buffer memory. The next read allocates again.
    pub fn release_memory(&mut self) {
        self.discard_uncommitted();
        if self.buf.is_empty() {
            self.buf = BytesMut::new();
            #[cfg(feature = "tls")]
            if let Some(tls) = &mut self.tls {
                tls.ciphertext = BytesMut::new();
            }
        }
    }

    fn discard_uncommitted(&mut self) {
        if let Some(len) = self.uncommitted.take() {
            self.buf.truncate(len);
        }
    }

    fn release_if_drained(&mut self) {
        if self.buf.is_empty() && self.buf.capacity() > Self::RELEASE_CAPACITY {
            self.buf = BytesMut::new();
        }
    }

    fn fail(&mut self, terminal: Terminal) -> Error {
        let err = self.terminal_error(&terminal);
        self.state = RecvState::Failed(terminal);
        err
    }

    fn terminal_error(&self, terminal: &Terminal) -> Error {
        let peer = self.peer.clone();
        match terminal {
            Terminal::Framing(error) => Error::Framing {
                peer,
                source: error.clone(),
                recoverable: false,
            },
            Terminal::SpeaksTls(error) => Error::PeerSpeaksTls {
                peer,
                source: error.clone(),
            },
            Terminal::UnexpectedEof(pending) => Error::UnexpectedEof {
                peer,
                pending: *pending,
            },
            Terminal::Closed => Error::ConnectionClosed { peer },
            Terminal::Tls(error) => Error::Tls {
                peer,
                source: error.clone(),
            },
            Terminal::Io {
                kind,
                os_code,
                message,
            } => {
                let err = match os_code {
                    Some(code) => io::Error::from_raw_os_error(*code),
                    None => io::Error::new(*kind, message.clone()),
                };
                Error::from_io(err, peer)
            }
        }
    }
}

impl<P: Protocol> fmt::Debug for RecvHalf<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecvHalf")
            .field("peer", &self.peer)
            .field("buffered", &self.buffered())
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}
