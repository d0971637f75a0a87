//! Unix stream and datagram sockets, built once for every driver:
//! connecting, binding a listener or a datagram socket under the
//! socket-file rules, peer credentials, and the conversion of socket2's
//! addresses into the core's [`UnixAddr`].
//!
//! The socket-file rules of [`bind`]: a path longer than `sun_path` takes
//! is refused with an error naming the path and the limit; a socket file
//! left at the path by a server that is gone (connecting to it is refused)
//! is removed first; a socket file some live server listens on is
//! `AddrInUse`; anything at the path that is not a socket is never
//! removed. The [`SocketFile`] that [`bind`] returns removes the server's
//! own file when dropped (after checking it is still the same file).
//! [`bind_datagram`] and [`connect_datagram`] follow the same rules for
//! Unix datagram sockets (a datagram socket's file is stale when sending
//! to it is refused).

use std::fs;
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use netproto_core::Error;
use netproto_core::addr::{PeerAddr, UnixAddr};
use socket2::{Domain, SockAddr, SockRef, Socket, Type};

/// `addr` as socket2's address. An abstract name is refused with
/// `Unsupported` outside Linux and Android.
pub fn sock_addr(addr: &UnixAddr) -> io::Result<SockAddr> {
    match addr {
        UnixAddr::Path(path) => SockAddr::unix(path),
        UnixAddr::Abstract(name) => {
            if cfg!(any(target_os = "linux", target_os = "android")) {
                let mut bytes = Vec::with_capacity(name.len() + 1);
                bytes.push(0);
                bytes.extend_from_slice(name);
                use std::os::unix::ffi::OsStrExt;
                SockAddr::unix(std::ffi::OsStr::from_bytes(&bytes))
            } else {
                Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    "abstract Unix socket names exist on Linux and Android only",
                ))
            }
        }
        UnixAddr::Unnamed => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "an unnamed Unix socket cannot be bound or connected to",
        )),
    }
}

/// socket2's address of a Unix socket as the core's [`UnixAddr`].
pub fn unix_addr(addr: &SockAddr) -> UnixAddr {
    if let Some(name) = addr.as_abstract_namespace() {
        UnixAddr::abstract_name(name)
    } else if let Some(path) = addr.as_pathname() {
        UnixAddr::path(path)
    } else {
        UnixAddr::Unnamed
    }
}

/// socket2's address as the core's [`PeerAddr`]: an IP socket address or
/// a Unix one.
pub fn peer_addr(addr: &SockAddr) -> PeerAddr {
    match addr.as_socket() {
        Some(inet) => PeerAddr::Inet(inet),
        None => PeerAddr::Unix(unix_addr(addr)),
    }
}

/// Connect a Unix stream socket to `addr`, within `timeout` when set (a
/// listener whose backlog is full makes `connect` wait). Errors name the
/// address: [`Error::ConnectionRefused`] when nothing listens there,
/// [`Error::ConnectTimeout`], [`Error::Io`] (a missing file is `NotFound`).
pub fn connect(addr: &UnixAddr, timeout: Option<Duration>) -> Result<Socket, Error> {
    addr.check()?;
    let peer = PeerAddr::Unix(addr.clone());
    let target = sock_addr(addr).map_err(|err| Error::from_io(err, peer.clone()))?;
    let socket = Socket::new(Domain::UNIX, Type::STREAM, None)
        .map_err(|err| Error::from_io(err, peer.clone()))?;
    let connected = match timeout {
        Some(timeout) => socket.connect_timeout(&target, timeout.max(Duration::from_micros(1))),
        None => socket.connect(&target),
    };
    match connected {
        Ok(()) => Ok(socket),
        Err(err)
            if err.kind() == io::ErrorKind::TimedOut || err.kind() == io::ErrorKind::WouldBlock =>
        {
            Err(Error::ConnectTimeout {
                target: addr.to_string(),
                timeout: timeout.unwrap_or_default(),
            })
        }
        Err(err) => Err(Error::from_io(err, peer)),
    }
}

/// A new non-blocking Unix stream socket whose connect to `addr` is in
/// progress or done (an async driver adopts it and waits for writable
/// readiness, then checks `take_error`).
pub fn connect_nonblocking(addr: &UnixAddr) -> Result<Socket, Error> {
    addr.check()?;
    let peer = PeerAddr::Unix(addr.clone());
    let target = sock_addr(addr).map_err(|err| Error::from_io(err, peer.clone()))?;
    let socket = Socket::new(Domain::UNIX, Type::STREAM, None)
        .and_then(|socket| socket.set_nonblocking(true).map(|()| socket))
        .map_err(|err| Error::from_io(err, peer.clone()))?;
    match socket.connect(&target) {
        Ok(()) => Ok(socket),
        Err(err)
            if err.kind() == io::ErrorKind::WouldBlock
                || err.raw_os_error() == Some(libc_einprogress()) =>
        {
            Ok(socket)
        }
        Err(err) => Err(Error::from_io(err, peer)),
    }
}

/// `EINPROGRESS` (std has no `ErrorKind` for it on every version we support).
fn libc_einprogress() -> i32 {
    rustix::io::Errno::INPROGRESS.raw_os_error()
}

/// A bound Unix listener's socket file, removed when this is dropped if it
/// is still the file the server created (same device, inode and change
/// time: an inode number alone may be reused at once), so a
/// server never removes a file another one has put there since. An
/// abstract address has no file.
#[derive(Debug)]
pub struct SocketFile {
    path: Option<(PathBuf, FileId)>,
}

impl SocketFile {
    /// The path of the socket file, if the address has one.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_ref().map(|(path, _)| path.as_path())
    }
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        if let Some((path, id)) = self.path.take() {
            if FileId::of(&path) == Some(id) {
                let _ = fs::remove_file(&path);
            }
        }
    }
}

/// Which socket file is at a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FileId {
    dev: u64,
    ino: u64,
    ctime: (i64, i64),
}

impl FileId {
    /// The socket file at `path` (`None`: nothing there, or not a socket).
    fn of(path: &Path) -> Option<FileId> {
        let meta = fs::symlink_metadata(path).ok()?;
        meta.file_type().is_socket().then(|| FileId {
            dev: meta.dev(),
            ino: meta.ino(),
            ctime: (meta.ctime(), meta.ctime_nsec()),
        })
    }
}

/// Bind a Unix stream listener at `addr` and listen with `backlog`, under
/// the socket-file rules of this module. The listener is blocking; the
/// [`SocketFile`] removes its file when dropped.
pub fn bind(addr: &UnixAddr, backlog: u32) -> Result<(Socket, SocketFile), Error> {
    let socket = Socket::new(Domain::UNIX, Type::STREAM, None).map_err(bind_error(addr))?;
    let file = bind_socket(&socket, addr, Type::STREAM)?;
    socket
        .listen(i32::try_from(backlog).unwrap_or(i32::MAX))
        .map_err(bind_error(addr))?;
    Ok((socket, file))
}

/// A Unix datagram socket bound at `addr` under the socket-file rules of
/// this module (a stale file is one nobody receives on any more). Blocking;
/// the [`SocketFile`] removes its file when dropped.
pub fn bind_datagram(addr: &UnixAddr) -> Result<(Socket, SocketFile), Error> {
    let socket = Socket::new(Domain::UNIX, Type::DGRAM, None).map_err(bind_error(addr))?;
    let file = bind_socket(&socket, addr, Type::DGRAM)?;
    Ok((socket, file))
}

/// A Unix datagram socket connected to `remote`, bound first so that
/// replies can reach it: at `local` (the socket-file rules of [`bind`]),
/// or, with `None`, to an abstract name the kernel picks (Linux and
/// Android's autobind; elsewhere `None` is refused: an unnamed socket
/// cannot be replied to). Errors name the address: a `remote` nobody
/// receives on is [`Error::ConnectionRefused`] (or `NotFound`).
pub fn connect_datagram(
    remote: &UnixAddr,
    local: Option<&UnixAddr>,
) -> Result<(Socket, SocketFile), Error> {
    remote.check()?;
    let peer = PeerAddr::Unix(remote.clone());
    let target = sock_addr(remote).map_err(|err| Error::from_io(err, peer.clone()))?;
    let socket = Socket::new(Domain::UNIX, Type::DGRAM, None)
        .map_err(|err| Error::from_io(err, peer.clone()))?;
    let file = match local {
        Some(local) => bind_socket(&socket, local, Type::DGRAM)?,
        None => {
            autobind(&socket)?;
            SocketFile { path: None }
        }
    };
    socket
        .connect(&target)
        .map_err(|err| Error::from_io(err, peer))?;
    Ok((socket, file))
}

/// Bind `socket` to an abstract name the kernel picks (Linux, Android).
fn autobind(socket: &Socket) -> Result<(), Error> {
    if cfg!(any(target_os = "linux", target_os = "android")) {
        // An address of the family alone: the kernel autobinds.
        let unnamed = SockAddr::unix("").map_err(|source| Error::Io { peer: None, source })?;
        socket
            .bind(&unnamed)
            .map_err(|source| Error::Io { peer: None, source })
    } else {
        Err(Error::Config(
            "a Unix datagram client needs a local address to bind on this system \
             (replies cannot reach an unnamed socket)"
                .into(),
        ))
    }
}

/// Send `datagram` to the Unix socket at `to` from `socket`.
pub fn send_to(socket: &SockRef<'_>, datagram: &[u8], to: &UnixAddr) -> io::Result<usize> {
    socket.send_to(datagram, &sock_addr(to)?)
}

/// Receive one datagram on a std Unix datagram socket, its sender as a
/// [`PeerAddr`] (an unnamed one for a sender that did not bind).
pub fn datagram_recv_from(
    socket: &std::os::unix::net::UnixDatagram,
    buf: &mut [u8],
) -> io::Result<(usize, PeerAddr)> {
    socket
        .recv_from(buf)
        .map(|(n, from)| (n, PeerAddr::Unix(from.into())))
}

/// Send one datagram from `socket` to `to` (`None`: the connected peer);
/// an IP address is refused with `InvalidInput`.
pub fn datagram_send_to<'a, S>(
    socket: &'a S,
    datagram: &[u8],
    to: Option<&PeerAddr>,
) -> io::Result<usize>
where
    SockRef<'a>: From<&'a S>,
{
    let socket = SockRef::from(socket);
    match to {
        None => socket.send(datagram),
        Some(PeerAddr::Unix(to)) => send_to(&socket, datagram, to),
        Some(other) => Err(crate::datagram::wrong_family(other)),
    }
}

fn bind_error(addr: &UnixAddr) -> impl Fn(io::Error) -> Error + '_ {
    move |source| Error::Io {
        peer: Some(PeerAddr::Unix(addr.clone())),
        source,
    }
}

/// Bind `socket` (of type `kind`) at `addr` under the socket-file rules.
fn bind_socket(socket: &Socket, addr: &UnixAddr, kind: Type) -> Result<SocketFile, Error> {
    addr.check()?;
    let io_err = bind_error(addr);
    if let Some(path) = addr.as_path() {
        remove_stale(path, kind).map_err(&io_err)?;
    }
    let target = sock_addr(addr).map_err(&io_err)?;
    socket.bind(&target).map_err(&io_err)?;
    Ok(SocketFile {
        path: addr
            .as_path()
            .and_then(|path| Some((path.to_path_buf(), FileId::of(path)?))),
    })
}

/// Remove a socket file nobody listens on any more; leave a live server's
/// (`AddrInUse`) and anything that is not a socket (`AlreadyExists`, naming
/// what it is) alone.
fn remove_stale(path: &Path, kind: Type) -> io::Result<()> {
    let meta = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(err) => return Err(err),
    };
    if !meta.file_type().is_socket() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!(
                "{} exists and is not a socket: it is left alone",
                path.display()
            ),
        ));
    }
    let probe = match kind {
        Type::DGRAM => std::os::unix::net::UnixDatagram::unbound()
            .and_then(|socket| socket.connect(path))
            .map(drop),
        _ => std::os::unix::net::UnixStream::connect(path).map(drop),
    };
    match probe {
        Ok(()) => Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            format!("a server is listening on {} already", path.display()),
        )),
        Err(err) if err.kind() == io::ErrorKind::ConnectionRefused => fs::remove_file(path),
        Err(err) => Err(err),
    }
}

/// The credentials of the process at the other end of a Unix socket, read
/// when it connected (`SO_PEERCRED` on Linux and Android, `getpeereid`
/// elsewhere, which gives no process id).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PeerCredentials {
    /// The peer's process id, where the system tells it.
    pub pid: Option<u32>,
    /// The peer's effective user id.
    pub uid: u32,
    /// The peer's effective group id.
    pub gid: u32,
}

/// The credentials of the peer of the connected Unix socket `socket`.
pub fn peer_credentials(socket: impl std::os::fd::AsFd) -> io::Result<PeerCredentials> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let cred = rustix::net::sockopt::socket_peercred(socket)?;
        Ok(PeerCredentials {
            pid: u32::try_from(cred.pid.as_raw_nonzero().get()).ok(),
            uid: cred.uid.as_raw(),
            gid: cred.gid.as_raw(),
        })
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = socket;
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "peer credentials are read on Linux and Android only",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::{UnixListener, UnixStream};

    fn temp_path(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("netproto-unix-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        let _ = fs::remove_file(&path);
        path
    }

    #[test]
    fn bind_removes_a_stale_socket_file_and_its_own_on_drop() {
        let path = temp_path("stale.sock");
        drop(UnixListener::bind(&path).unwrap()); // std leaves the file behind
        assert!(path.exists());
        let (listener, file) = bind(&UnixAddr::path(&path), 8).unwrap();
        assert_eq!(file.path(), Some(path.as_path()));
        let client = UnixStream::connect(&path).unwrap();
        let (accepted, from) = listener.accept().unwrap();
        assert!(unix_addr(&from).is_unnamed());
        let creds = peer_credentials(&accepted).unwrap();
        assert_eq!(creds.pid, Some(std::process::id()));
        assert_eq!(creds.uid, rustix::process::geteuid().as_raw());
        drop((client, accepted, listener));
        drop(file);
        assert!(!path.exists(), "the server's own file is removed");
    }

    #[test]
    fn datagram_sockets_follow_the_socket_file_rules() {
        use std::os::unix::net::UnixDatagram;
        let path = temp_path("dgram.sock");
        drop(UnixDatagram::bind(&path).unwrap()); // left behind: stale
        let (server, file) = bind_datagram(&UnixAddr::path(&path)).unwrap();
        let err = bind_datagram(&UnixAddr::path(&path)).unwrap_err();
        assert_eq!(err.io_kind(), io::ErrorKind::AddrInUse, "{err}");
        let client_path = temp_path("dgram-client.sock");
        let (client, client_file) =
            connect_datagram(&UnixAddr::path(&path), Some(&UnixAddr::path(&client_path))).unwrap();
        client.send(b"hi").unwrap();
        let server = UnixDatagram::from(std::os::fd::OwnedFd::from(server));
        let mut buf = [0; 8];
        let (n, from) = server.recv_from(&mut buf).unwrap();
        assert_eq!(
            (&buf[..n], UnixAddr::from(from)),
            (&b"hi"[..], UnixAddr::path(&client_path))
        );
        drop((client, client_file, server, file));
        assert!(!path.exists() && !client_path.exists());
        #[cfg(target_os = "linux")]
        {
            let (server, _file) = bind_datagram(&UnixAddr::path(&path)).unwrap();
            let (client, _) = connect_datagram(&UnixAddr::path(&path), None).unwrap();
            let local = unix_addr(&client.local_addr().unwrap());
            assert!(local.as_abstract_name().is_some(), "autobound: {local}");
            send_to(&SockRef::from(&server), b"x", &local).unwrap();
            assert_eq!(
                client
                    .recv_from(&mut [std::mem::MaybeUninit::new(0); 4])
                    .unwrap()
                    .0,
                1
            );
        }
    }

    #[test]
    fn bind_refuses_a_live_socket_and_anything_else() {
        let path = temp_path("live.sock");
        let (_listener, _file) = bind(&UnixAddr::path(&path), 8).unwrap();
        let err = bind(&UnixAddr::path(&path), 8).unwrap_err();
        assert_eq!(err.io_kind(), io::ErrorKind::AddrInUse, "{err}");
        assert!(path.exists());

        let plain = temp_path("plain-file");
        fs::write(&plain, b"keep me").unwrap();
        let err = bind(&UnixAddr::path(&plain), 8).unwrap_err();
        assert!(err.to_string().contains("is not a socket"), "{err}");
        assert_eq!(fs::read(&plain).unwrap(), b"keep me");
    }

    #[test]
    fn a_replaced_file_is_not_removed() {
        let path = temp_path("replaced.sock");
        let (listener, file) = bind(&UnixAddr::path(&path), 8).unwrap();
        drop(listener);
        fs::remove_file(&path).unwrap();
        std::thread::sleep(Duration::from_millis(5)); // a later change time
        let other = UnixListener::bind(&path).unwrap();
        drop(file);
        assert!(path.exists(), "another server's file stays");
        drop(other);
    }

    #[test]
    fn too_long_paths_name_the_limit() {
        let long = format!("/tmp/{}", "n".repeat(200));
        let err = bind(&UnixAddr::path(&long), 8).unwrap_err().to_string();
        assert!(err.contains(&long) && err.contains("sun_path"), "{err}");
        let err = connect(&UnixAddr::path(&long), None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("sun_path"), "{err}");
    }

    #[test]
    fn connect_errors_name_the_address() {
        let path = temp_path("nobody.sock");
        let err = connect(&UnixAddr::path(&path), None).unwrap_err();
        assert_eq!(err.io_kind(), io::ErrorKind::NotFound, "{err}");
        assert!(err.to_string().contains("nobody.sock"), "{err}");
        drop(UnixListener::bind(&path).unwrap());
        let err = connect(&UnixAddr::path(&path), None).unwrap_err();
        assert!(matches!(err, Error::ConnectionRefused { .. }), "{err:?}");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn abstract_names_bind_and_connect() {
        let name = format!("netproto-test-{}", std::process::id());
        let addr = UnixAddr::abstract_name(&name);
        let (listener, file) = bind(&addr, 8).unwrap();
        assert_eq!(file.path(), None);
        assert_eq!(unix_addr(&listener.local_addr().unwrap()), addr);
        let client = connect(&addr, Some(Duration::from_secs(5))).unwrap();
        let (_accepted, _) = listener.accept().unwrap();
        assert_eq!(unix_addr(&client.peer_addr().unwrap()), addr);
    }
}
