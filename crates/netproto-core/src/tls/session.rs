//! A TLS session and its sharing between the halves of an endpoint (the
//! driver interface: `netproto_core::driver::tls`).

use std::fmt;
use std::io::{BufRead, Write};
use std::sync::Arc;
use std::time::Duration;

use bytes::{BufMut, BytesMut};

use crate::error::TlsError;
use crate::sync::{Mutex, MutexGuard};

/// One TLS connection's state: a rustls client or server connection.
pub struct TlsSession {
    conn: rustls::Connection,
    accept_truncation: bool,
    shutdown_timeout: Option<Duration>,
}

impl fmt::Debug for TlsSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsSession")
            .field("handshaking", &self.conn.is_handshaking())
            .field("version", &self.conn.protocol_version())
            .finish_non_exhaustive()
    }
}

impl TlsSession {
    /// Wrap a rustls connection.
    pub fn new(mut conn: rustls::Connection) -> Self {
        // netproto bounds its own send buffer; let rustls encrypt whole packets.
        conn.set_buffer_limit(None);
        TlsSession {
            conn,
            accept_truncation: false,
            shutdown_timeout: None,
        }
    }

    /// Take the peer's TCP close without close_notify as a clean end of
    /// the stream (default `false`: truncation).
    pub fn accept_missing_close_notify(mut self, accept: bool) -> Self {
        self.accept_truncation = accept;
        self
    }

    /// Whether a TCP close without close_notify is a clean end of the
    /// stream.
    pub fn accepts_missing_close_notify(&self) -> bool {
        self.accept_truncation
    }

    /// Give the close_notify at most `timeout` once a close has written
    /// everything else (`None`: the close timeout decides).
    pub fn with_shutdown_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// The TLS shutdown timeout (see [`TlsSession::with_shutdown_timeout`]).
    pub fn shutdown_timeout(&self) -> Option<Duration> {
        self.shutdown_timeout
    }

    /// The rustls connection, for inspection (negotiated version, ALPN,
    /// peer certificates).
    pub fn connection(&self) -> &rustls::Connection {
        &self.conn
    }

    /// Whether the handshake is still in progress.
    pub fn is_handshaking(&self) -> bool {
        self.conn.is_handshaking()
    }

    /// Whether there is TLS output for the peer.
    pub fn wants_write(&self) -> bool {
        self.conn.wants_write()
    }

    /// Feed ciphertext from the socket; append the plaintext it yields to
    /// `plaintext`. An empty `data` is the socket's EOF.
    ///
    /// Returns whether the peer has sent close_notify. On a TLS error the
    /// plaintext decrypted before it is still appended, and rustls queues an
    /// alert for the peer ([`wants_write`](TlsSession::wants_write)).
    pub fn read_ciphertext(
        &mut self,
        mut data: &[u8],
        plaintext: &mut BytesMut,
    ) -> Result<bool, TlsError> {
        loop {
            if !data.is_empty() {
                match self.conn.read_tls(&mut data) {
                    Ok(_) => {}
                    Err(err) => return Err(TlsError::Io(err.to_string())),
                }
            }
            let processed = self.conn.process_new_packets();
            // What records before a bad one decrypted to is the peer's
            // data: it is delivered, then the error.
            let available = match &processed {
                Ok(state) => state.plaintext_bytes_to_read(),
                Err(_) => 1,
            };
            if available > 0 {
                // Copy the plaintext chunk by chunk, without zero-filling
                // a region for it first.
                plaintext.reserve(available);
                let mut reader = self.conn.reader();
                while let Ok(chunk) = reader.fill_buf() {
                    if chunk.is_empty() {
                        break;
                    }
                    let n = chunk.len();
                    plaintext.extend_from_slice(chunk);
                    reader.consume(n);
                }
            }
            let state = processed?;
            if data.is_empty() {
                return Ok(state.peer_has_closed());
            }
        }
    }

    /// Encrypt `plaintext` and append the TLS records to `out`.
    pub fn encrypt(&mut self, plaintext: &[u8], out: &mut BytesMut) -> Result<(), TlsError> {
        self.conn
            .writer()
            .write_all(plaintext)
            .map_err(|err| TlsError::Io(err.to_string()))?;
        self.write_output(out);
        Ok(())
    }

    /// Append all pending TLS output to `out`.
    pub fn write_output(&mut self, out: &mut BytesMut) {
        let mut writer = out.writer();
        while self.conn.wants_write() {
            // Writing into memory cannot fail.
            if self.conn.write_tls(&mut writer).is_err() {
                break;
            }
        }
    }

    /// Queue close_notify and append it to `out`.
    pub fn close_notify(&mut self, out: &mut BytesMut) {
        self.conn.send_close_notify();
        self.write_output(out);
    }
}

/// A [`TlsSession`] shared by the two halves of an endpoint.
///
/// The lock is held only while rustls works on memory, never across socket
/// I/O, so neither half ever waits for the other's I/O.
#[derive(Clone, Debug)]
pub struct SharedTls(Arc<Mutex<TlsSession>>);

impl SharedTls {
    /// Share `session`.
    pub fn new(session: TlsSession) -> Self {
        SharedTls(Arc::new(Mutex::new(session)))
    }

    /// Lock the session for inspection. A panic in another thread while it
    /// held the lock does not make the session unusable.
    pub fn lock(&self) -> MutexGuard<'_, TlsSession> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn read_ciphertext(
        &self,
        data: &[u8],
        plaintext: &mut BytesMut,
    ) -> Result<bool, TlsError> {
        self.lock().read_ciphertext(data, plaintext)
    }

    pub(crate) fn encrypt(&self, plaintext: &[u8], out: &mut BytesMut) -> Result<(), TlsError> {
        self.lock().encrypt(plaintext, out)
    }

    pub(crate) fn write_output(&self, out: &mut BytesMut) {
        self.lock().write_output(out)
    }

    pub(crate) fn close_notify(&self, out: &mut BytesMut) {
        self.lock().close_notify(out)
    }

    pub(crate) fn shutdown_timeout(&self) -> Option<Duration> {
        self.lock().shutdown_timeout()
    }

    pub(crate) fn wants_write(&self) -> bool {
        self.lock().wants_write()
    }

    pub(crate) fn is_handshaking(&self) -> bool {
        self.lock().is_handshaking()
    }
}
