//! Two sockets joined in memory: a non-blocking [`Transport`] pair for
//! tests, benches and in-process connections.
//!
//! Each direction is a bounded byte queue: a write takes what fits and
//! reports `WouldBlock` when the queue is full; a read takes what is there,
//! reports `WouldBlock` when it is empty and `0` once the other side shut
//! its write half down (or both halves). A read half shut down locally
//! reads `0`, as `shutdown(Read)` does on a real socket.
//!
//! ```
//! use netproto_core::driver::connection::{Transport, memory};
//!
//! let (a, b) = memory::pair(4);
//! assert_eq!(a.write(b"hello", None).unwrap(), 4); // the queue holds 4 bytes
//! let mut buf = [0; 8];
//! assert_eq!(b.read(&mut buf, None).unwrap(), 4);
//! assert_eq!(&buf[..4], b"hell");
//! a.shutdown(std::net::Shutdown::Write).unwrap();
//! assert_eq!(b.read(&mut buf, None).unwrap(), 0); // end of stream
//! ```

use std::collections::VecDeque;
use std::io;
use std::net::Shutdown;
use std::sync::Arc;
use std::time::Duration;

use super::{Transport, lock};
use crate::sync::Mutex;

#[derive(Debug, Default)]
struct Queue {
    bytes: VecDeque<u8>,
    /// The writing side shut its write half down.
    write_shut: bool,
    /// The reading side shut its read half down.
    read_shut: bool,
}

/// One end of an in-memory socket pair (see [`pair`]).
#[derive(Debug, Clone)]
pub struct MemorySocket {
    inbound: Arc<Mutex<Queue>>,
    outbound: Arc<Mutex<Queue>>,
    capacity: usize,
}

/// Two connected in-memory sockets; each direction holds at most
/// `capacity` bytes not yet read.
pub fn pair(capacity: usize) -> (MemorySocket, MemorySocket) {
    let a_to_b = Arc::new(Mutex::new(Queue::default()));
    let b_to_a = Arc::new(Mutex::new(Queue::default()));
    (
        MemorySocket {
            inbound: b_to_a.clone(),
            outbound: a_to_b.clone(),
            capacity,
        },
        MemorySocket {
            inbound: a_to_b,
            outbound: b_to_a,
            capacity,
        },
    )
}

impl MemorySocket {
    /// Bytes written to this socket's peer and not yet read by it.
    pub fn unread_by_peer(&self) -> usize {
        lock(&self.outbound).bytes.len()
    }

    /// Bytes the peer wrote that this socket has not read.
    pub fn readable(&self) -> usize {
        lock(&self.inbound).bytes.len()
    }

    /// Throw away what the peer wrote and this socket has not read.
    pub fn discard_inbound(&self) -> usize {
        let mut queue = lock(&self.inbound);
        let n = queue.bytes.len();
        queue.bytes.clear();
        n
    }
}

impl Transport for MemorySocket {
    fn read(&self, buf: &mut [u8], _wait: Option<Duration>) -> io::Result<usize> {
        let mut queue = lock(&self.inbound);
        if queue.read_shut {
            return Ok(0);
        }
        if queue.bytes.is_empty() {
            return if queue.write_shut {
                Ok(0)
            } else {
                Err(io::ErrorKind::WouldBlock.into())
            };
        }
        let n = buf.len().min(queue.bytes.len());
        for (slot, byte) in buf.iter_mut().zip(queue.bytes.drain(..n)) {
            *slot = byte;
        }
        Ok(n)
    }

    fn write(&self, buf: &[u8], _wait: Option<Duration>) -> io::Result<usize> {
        let mut queue = lock(&self.outbound);
        if queue.write_shut {
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        if queue.read_shut {
            // The reader shut its read half down: what arrives is dropped.
            return Ok(buf.len());
        }
        let room = self.capacity.saturating_sub(queue.bytes.len());
        if room == 0 && !buf.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = room.min(buf.len());
        queue.bytes.extend(&buf[..n]);
        Ok(n)
    }

    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        if matches!(how, Shutdown::Read | Shutdown::Both) {
            lock(&self.inbound).read_shut = true;
        }
        if matches!(how, Shutdown::Write | Shutdown::Both) {
            lock(&self.outbound).write_shut = true;
        }
        Ok(())
    }
}
