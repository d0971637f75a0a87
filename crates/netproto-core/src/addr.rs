//! Addresses of the transports: an IP socket address (TCP, UDP) or a
//! Unix socket address (stream or datagram), as errors and events name a
//! peer; the family markers the drivers' generic types take
//! ([`StreamFamily`]: [`Tcp`], [`Unix`]; [`DatagramFamily`]: [`Udp`],
//! [`Unix`]).
//!
//! [`UnixAddr`] is plain data, the same on every target (only the drivers'
//! Unix types are `cfg(unix)`); [`PeerAddr`] is either kind, so one
//! [`Error`] and one
//! [`ConnectionEvent`](crate::options::ConnectionEvent) serve every
//! transport. A TCP program compares a `PeerAddr` with a `SocketAddr`
//! directly (`peer == addr`, the `PeerAddr` on the left), or takes it apart with [`PeerAddr::inet`].

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::Error;

/// The longest path a Unix socket address takes, in bytes: `sun_path`
/// less its terminating NUL (108 − 1 on Linux, 104 − 1 on macOS and the
/// BSDs).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub const MAX_UNIX_PATH: usize = 107;
/// The longest path a Unix socket address takes, in bytes: `sun_path`
/// less its terminating NUL (108 − 1 on Linux, 104 − 1 on macOS and the
/// BSDs).
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub const MAX_UNIX_PATH: usize = 103;

/// The address of a Unix socket: a filesystem path, a name in Linux's
/// abstract namespace, or none (an unnamed socket — a client that did not
/// bind, one end of a socket pair). Cheap to clone.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum UnixAddr {
    /// A socket file at this path.
    Path(Arc<Path>),
    /// A name in Linux's abstract namespace (no file; the name is bytes,
    /// without the leading NUL).
    Abstract(Arc<[u8]>),
    /// An unnamed socket.
    Unnamed,
}

impl UnixAddr {
    /// The socket file at `path`.
    pub fn path(path: impl AsRef<Path>) -> Self {
        UnixAddr::Path(path.as_ref().into())
    }

    /// `name` in Linux's abstract namespace (Linux and Android only; other
    /// systems refuse it when it is bound or connected to).
    pub fn abstract_name(name: impl AsRef<[u8]>) -> Self {
        UnixAddr::Abstract(name.as_ref().into())
    }

    /// The path, for a filesystem address.
    pub fn as_path(&self) -> Option<&Path> {
        match self {
            UnixAddr::Path(path) => Some(path),
            _ => None,
        }
    }

    /// The name, for an abstract address.
    pub fn as_abstract_name(&self) -> Option<&[u8]> {
        match self {
            UnixAddr::Abstract(name) => Some(name),
            _ => None,
        }
    }

    /// Whether the socket is unnamed.
    pub fn is_unnamed(&self) -> bool {
        matches!(self, UnixAddr::Unnamed)
    }

    /// Check that the address fits in `sun_path` ([`MAX_UNIX_PATH`] bytes)
    /// and is one that can be bound or connected to: an error that names
    /// the path and the limit otherwise.
    pub fn check(&self) -> Result<(), Error> {
        let (len, what) = match self {
            UnixAddr::Path(path) if path.as_os_str().is_empty() => {
                return Err(Error::Config("a Unix socket path cannot be empty".into()));
            }
            UnixAddr::Path(path) => (path.as_os_str().len(), "path"),
            UnixAddr::Abstract(name) => (name.len(), "abstract name"),
            UnixAddr::Unnamed => {
                return Err(Error::Config(
                    "an unnamed Unix socket cannot be bound or connected to".into(),
                ));
            }
        };
        if len > MAX_UNIX_PATH {
            return Err(Error::Config(format!(
                "the Unix socket {what} {self} is {len} bytes long; \
                 the limit (sun_path) is {MAX_UNIX_PATH} bytes"
            )));
        }
        Ok(())
    }
}

impl fmt::Display for UnixAddr {
    /// A path as it is, an abstract name as `@name` (bytes that are not
    /// printable ASCII escaped), an unnamed socket as `(unnamed)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnixAddr::Path(path) => write!(f, "{}", path.display()),
            UnixAddr::Abstract(name) => {
                write!(f, "@{}", name.escape_ascii())
            }
            UnixAddr::Unnamed => f.write_str("(unnamed)"),
        }
    }
}

impl fmt::Debug for UnixAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UnixAddr({self})")
    }
}

impl From<&Path> for UnixAddr {
    fn from(path: &Path) -> Self {
        UnixAddr::path(path)
    }
}

impl From<PathBuf> for UnixAddr {
    fn from(path: PathBuf) -> Self {
        UnixAddr::path(path)
    }
}

impl From<&str> for UnixAddr {
    fn from(path: &str) -> Self {
        UnixAddr::path(path)
    }
}

impl From<String> for UnixAddr {
    fn from(path: String) -> Self {
        UnixAddr::path(path)
    }
}

impl From<&PathBuf> for UnixAddr {
    fn from(path: &PathBuf) -> Self {
        UnixAddr::path(path)
    }
}

impl From<&UnixAddr> for UnixAddr {
    fn from(addr: &UnixAddr) -> Self {
        addr.clone()
    }
}

#[cfg(unix)]
impl From<&std::os::unix::net::SocketAddr> for UnixAddr {
    fn from(addr: &std::os::unix::net::SocketAddr) -> Self {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            #[cfg(target_os = "android")]
            use std::os::android::net::SocketAddrExt;
            #[cfg(target_os = "linux")]
            use std::os::linux::net::SocketAddrExt;
            if let Some(name) = addr.as_abstract_name() {
                return UnixAddr::abstract_name(name);
            }
        }
        match addr.as_pathname() {
            Some(path) => UnixAddr::path(path),
            None => UnixAddr::Unnamed,
        }
    }
}

#[cfg(unix)]
impl From<std::os::unix::net::SocketAddr> for UnixAddr {
    fn from(addr: std::os::unix::net::SocketAddr) -> Self {
        UnixAddr::from(&addr)
    }
}

/// The address of a connection's peer (or of its local end): an IP socket
/// address or a Unix socket address. Errors and events carry it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum PeerAddr {
    /// TCP or UDP.
    Inet(SocketAddr),
    /// A Unix socket.
    Unix(UnixAddr),
}

impl PeerAddr {
    /// The IP socket address, for TCP and UDP.
    pub fn inet(&self) -> Option<SocketAddr> {
        match self {
            PeerAddr::Inet(addr) => Some(*addr),
            PeerAddr::Unix(_) => None,
        }
    }

    /// The Unix socket address.
    pub fn unix(&self) -> Option<&UnixAddr> {
        match self {
            PeerAddr::Unix(addr) => Some(addr),
            PeerAddr::Inet(_) => None,
        }
    }
}

impl fmt::Display for PeerAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PeerAddr::Inet(addr) => addr.fmt(f),
            PeerAddr::Unix(addr) => addr.fmt(f),
        }
    }
}

impl fmt::Debug for PeerAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PeerAddr::Inet(addr) => addr.fmt(f),
            PeerAddr::Unix(addr) => addr.fmt(f),
        }
    }
}

impl From<SocketAddr> for PeerAddr {
    fn from(addr: SocketAddr) -> Self {
        PeerAddr::Inet(addr)
    }
}

impl From<&SocketAddr> for PeerAddr {
    fn from(addr: &SocketAddr) -> Self {
        PeerAddr::Inet(*addr)
    }
}

impl From<UnixAddr> for PeerAddr {
    fn from(addr: UnixAddr) -> Self {
        PeerAddr::Unix(addr)
    }
}

impl From<&UnixAddr> for PeerAddr {
    fn from(addr: &UnixAddr) -> Self {
        PeerAddr::Unix(addr.clone())
    }
}

impl From<&PeerAddr> for PeerAddr {
    fn from(addr: &PeerAddr) -> Self {
        addr.clone()
    }
}

impl PartialEq<SocketAddr> for PeerAddr {
    fn eq(&self, other: &SocketAddr) -> bool {
        self.inet() == Some(*other)
    }
}

impl PartialEq<UnixAddr> for PeerAddr {
    fn eq(&self, other: &UnixAddr) -> bool {
        self.unix() == Some(other)
    }
}

/// A stream transport, as the drivers' generic clients and servers take
/// it: [`Tcp`] or [`Unix`]. It says which address type the public API
/// speaks; the connection itself is the same engine for both.
pub trait StreamFamily: Send + Sync + Sized + 'static + sealed::Sealed {
    /// The address type of this transport.
    type Addr: Clone
        + fmt::Debug
        + fmt::Display
        + PartialEq
        + Send
        + Sync
        + Into<PeerAddr>
        + 'static;

    /// `addr` as this transport's address. The drivers only give a
    /// connection of this transport its own kind of address; another kind
    /// reads as the unspecified address (`0.0.0.0:0`, an unnamed Unix
    /// socket).
    fn addr(addr: &PeerAddr) -> Self::Addr;
}

/// TCP: addresses are [`SocketAddr`]s.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Tcp;

/// Unix sockets, stream ([`StreamFamily`]) or datagram
/// ([`DatagramFamily`]): addresses are [`UnixAddr`]s.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Unix;

impl StreamFamily for Tcp {
    type Addr = SocketAddr;

    fn addr(addr: &PeerAddr) -> SocketAddr {
        addr.inet()
            .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)))
    }
}

impl StreamFamily for Unix {
    type Addr = UnixAddr;

    fn addr(addr: &PeerAddr) -> UnixAddr {
        addr.unix().cloned().unwrap_or(UnixAddr::Unnamed)
    }
}

/// A datagram transport, as the drivers' generic datagram clients,
/// endpoints and servers take it: [`Udp`] or [`Unix`] (Unix datagram
/// sockets). It says which address type the public API speaks; the
/// datagram engine and the server's dispatcher are the same for both and
/// speak [`PeerAddr`].
pub trait DatagramFamily: Send + Sync + Sized + 'static + sealed::Sealed {
    /// The address type of this transport.
    type Addr: Clone
        + fmt::Debug
        + fmt::Display
        + PartialEq
        + Eq
        + std::hash::Hash
        + Send
        + Sync
        + Into<PeerAddr>
        + 'static;

    /// `addr` as this transport's address (another kind reads as the
    /// unspecified address: `0.0.0.0:0`, an unnamed Unix socket).
    fn addr(addr: &PeerAddr) -> Self::Addr;
}

/// UDP: addresses are [`SocketAddr`]s.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Udp;

impl DatagramFamily for Udp {
    type Addr = SocketAddr;

    fn addr(addr: &PeerAddr) -> SocketAddr {
        <Tcp as StreamFamily>::addr(addr)
    }
}

/// Unix datagram sockets: addresses are [`UnixAddr`]s.
impl DatagramFamily for Unix {
    type Addr = UnixAddr;

    fn addr(addr: &PeerAddr) -> UnixAddr {
        <Unix as StreamFamily>::addr(addr)
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Tcp {}
    impl Sealed for super::Udp {}
    impl Sealed for super::Unix {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_each_kind() {
        let inet: SocketAddr = "127.0.0.1:80".parse().unwrap();
        assert_eq!(PeerAddr::from(inet).to_string(), "127.0.0.1:80");
        assert_eq!(UnixAddr::path("/run/app.sock").to_string(), "/run/app.sock");
        assert_eq!(UnixAddr::abstract_name(b"app\0x").to_string(), "@app\\x00x");
        assert_eq!(UnixAddr::Unnamed.to_string(), "(unnamed)");
        assert_eq!(PeerAddr::from(inet), inet);
        assert_ne!(PeerAddr::from(UnixAddr::path("/a")), inet);
        assert_eq!(PeerAddr::from(UnixAddr::path("/a")), UnixAddr::path("/a"));
    }

    #[test]
    fn check_names_the_path_and_the_limit() {
        assert!(UnixAddr::path("/tmp/ok.sock").check().is_ok());
        let long = format!("/tmp/{}", "x".repeat(MAX_UNIX_PATH));
        let err = UnixAddr::path(&long).check().unwrap_err().to_string();
        assert!(err.contains(&long), "{err}");
        assert!(
            err.contains(&format!("limit (sun_path) is {MAX_UNIX_PATH}")),
            "{err}"
        );
        let fits = "x".repeat(MAX_UNIX_PATH);
        assert!(UnixAddr::path(&fits).check().is_ok());
        assert!(UnixAddr::path("").check().is_err());
        assert!(UnixAddr::Unnamed.check().is_err());
        assert!(UnixAddr::abstract_name(&fits).check().is_ok());
        assert!(UnixAddr::abstract_name(format!("{fits}y")).check().is_err());
    }
}
