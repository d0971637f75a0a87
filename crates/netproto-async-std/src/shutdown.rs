//! [`ShutdownHandle`]: stopping a server from any thread or task.

use std::fmt;
use std::future::Future;
use std::net::TcpListener;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use async_io::Async;
use futures_lite::future;

/// Stops a [`TcpServer`](crate::TcpServer): it stops accepting, lets
/// handlers finish within a grace period, then closes the connections that
/// remain; `serve` returns once that is done.
///
/// Cloneable, `Send + Sync`; [`shutdown`](ShutdownHandle::shutdown) is a
/// plain method callable from any thread or task (also from a synchronous
/// signal handler thread).
///
/// ```no_run
/// # async fn run(server: netproto_async_std::TcpServer<
/// #     netproto_async_std::StreamProtocol<
/// #         netproto_async_std::framing::Delimiter, netproto_async_std::serializer::Utf8>>,
/// # ) -> Result<(), netproto_async_std::Error> {
/// use std::time::Duration;
///
/// let handle = server.shutdown_handle();
/// std::thread::spawn(move || {
///     std::thread::sleep(Duration::from_secs(60));
///     handle.shutdown(Duration::from_secs(5));
/// });
/// server.serve(|connection| async move { drop(connection) }).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ShutdownHandle {
    state: Arc<Shared>,
}

/// What a server and its shutdown handles share: the listeners (closed by
/// `shutdown`) and the shutdown request.
pub(crate) struct Shared {
    inner: Mutex<State>,
}

struct State {
    listeners: Vec<Arc<Async<TcpListener>>>,
    requested: bool,
    /// When the grace period ends (`None`: never).
    deadline: Option<Instant>,
    wakers: Vec<Waker>,
}

impl Shared {
    pub(crate) fn new(listeners: Vec<Arc<Async<TcpListener>>>) -> Arc<Self> {
        Arc::new(Shared {
            inner: Mutex::new(State {
                listeners,
                requested: false,
                deadline: None,
                wakers: Vec::new(),
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The listeners, or none once shutdown was requested.
    pub(crate) fn listeners(&self) -> Vec<Arc<Async<TcpListener>>> {
        self.lock().listeners.clone()
    }

    /// Ready with the end of the grace period once shutdown is requested.
    pub(crate) fn poll_requested(&self, cx: &mut Context<'_>) -> Poll<Option<Instant>> {
        let mut state = self.lock();
        if state.requested {
            return Poll::Ready(state.deadline);
        }
        if !state.wakers.iter().any(|w| w.will_wake(cx.waker())) {
            state.wakers.push(cx.waker().clone());
        }
        Poll::Pending
    }

    /// Completes once shutdown is requested.
    pub(crate) fn requested(&self) -> impl Future<Output = Option<Instant>> + '_ {
        future::poll_fn(|cx| self.poll_requested(cx))
    }

    pub(crate) fn handle(self: &Arc<Self>) -> ShutdownHandle {
        ShutdownHandle {
            state: self.clone(),
        }
    }
}

impl ShutdownHandle {
    /// Stop the server: no new connections are accepted (the listening
    /// sockets close), handlers get `grace` to finish, then the remaining
    /// connections are closed. Only the first call's `grace` counts.
    pub fn shutdown(&self, grace: Duration) {
        let mut state = self.state.lock();
        if state.requested {
            return;
        }
        state.requested = true;
        state.deadline = Instant::now().checked_add(grace);
        let listeners = std::mem::take(&mut state.listeners);
        let wakers = std::mem::take(&mut state.wakers);
        drop(state);
        drop(listeners);
        wakers.into_iter().for_each(Waker::wake);
    }

    /// Whether [`shutdown`](ShutdownHandle::shutdown) was called.
    pub fn is_shutdown(&self) -> bool {
        self.state.lock().requested
    }
}

impl fmt::Debug for ShutdownHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShutdownHandle")
            .field("requested", &self.is_shutdown())
            .finish()
    }
}
