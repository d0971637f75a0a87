//! The pure parts of a server's life: admission, accept back-off and the
//! shutdown plan. Plain values with time passed in; [`super::Lifecycle`]
//! puts them behind a lock for the drivers.

use crate::addr::PeerAddr;
use std::io;
use std::time::{Duration, Instant};

use crate::options::{ConnectionEvent, WhenFull, is_transient_accept_error};

/// The first back-off after a transient accept error; it doubles with each
/// further error in a row, up to [`ACCEPT_BACKOFF_MAX`], and starts over
/// after an accept succeeds.
pub const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(5);

/// The longest back-off after transient accept errors in a row.
pub const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);

/// File descriptors kept out of the automatic connection limit for the
/// listening sockets, the handlers' own files and the runtime.
pub const FD_RESERVE: u64 = 16;

/// The connection limit a server applies when the user set none: the
/// process's soft file-descriptor limit less an eighth and
/// [`FD_RESERVE`], at least 1, so that the server refuses visibly (a
/// `Rejected` event, or clients left in the backlog) before the kernel
/// refuses for it with `EMFILE`. `None` (the limit is unknown, as on
/// Windows) gives [`UNKNOWN_FD_LIMIT_CONNECTIONS`].
///
/// ```
/// use netproto_core::options::auto_connection_limit;
/// assert_eq!(auto_connection_limit(Some(1024)), 880);
/// assert_eq!(auto_connection_limit(Some(8)), 1);
/// ```
pub fn auto_connection_limit(fd_limit: Option<u64>) -> usize {
    let Some(soft) = fd_limit else {
        return UNKNOWN_FD_LIMIT_CONNECTIONS;
    };
    let usable = soft.saturating_sub(soft / 8).saturating_sub(FD_RESERVE);
    usize::try_from(usable).unwrap_or(usize::MAX).max(1)
}

/// The automatic connection limit where the file-descriptor limit cannot be
/// read.
pub const UNKNOWN_FD_LIMIT_CONNECTIONS: usize = 16_384;

/// Whether a connection may be served: `max` connections at once, and what
/// happens to the others.
#[derive(Debug, Clone)]
pub struct Admission {
    max: usize,
    when_full: WhenFull,
    active: usize,
}

impl Admission {
    /// At most `max` connections (at least 1).
    pub fn new(max: usize, when_full: WhenFull) -> Self {
        Admission {
            max: max.max(1),
            when_full,
            active: 0,
        }
    }

    /// The limit.
    pub fn max(&self) -> usize {
        self.max
    }

    /// Connections being served.
    pub fn active(&self) -> usize {
        self.active
    }

    /// Whether a slot must be taken before accepting (`WhenFull::Wait`:
    /// further clients stay in the backlog while the server is full).
    pub fn reserves_before_accept(&self) -> bool {
        self.when_full == WhenFull::Wait
    }

    /// Take a slot; when full, the `Rejected` event for `peer` (or `None`
    /// for a reservation made before accepting).
    pub fn take(&mut self, peer: Option<PeerAddr>) -> Result<(), Option<ConnectionEvent>> {
        if self.active >= self.max {
            return Err(peer.map(|peer| ConnectionEvent::server_full(peer, self.max)));
        }
        self.active += 1;
        Ok(())
    }

    /// Give a slot back.
    pub fn release(&mut self) {
        self.active = self.active.saturating_sub(1);
    }
}

/// Back-off after accept errors: a transient error (out of file
/// descriptors, buffers or memory, a connection aborted in the backlog) is
/// retried after a delay that doubles with each error in a row; any other
/// error stops the server.
#[derive(Debug, Clone)]
pub struct AcceptBackoff {
    next: Duration,
}

impl Default for AcceptBackoff {
    fn default() -> Self {
        AcceptBackoff {
            next: ACCEPT_BACKOFF_MIN,
        }
    }
}

impl AcceptBackoff {
    /// Accepting on `listener` failed with `err` at `now`: the event to
    /// emit, and when to accept again (`None`: the error is fatal).
    pub fn failed(
        &mut self,
        listener: impl Into<PeerAddr>,
        err: &io::Error,
        now: Instant,
    ) -> (ConnectionEvent, Option<Instant>) {
        let listener = listener.into();
        if !is_transient_accept_error(err) {
            return (ConnectionEvent::accept_failed(listener, err, None), None);
        }
        let delay = self.next;
        self.next = (self.next * 2).min(ACCEPT_BACKOFF_MAX);
        (
            ConnectionEvent::accept_failed(listener, err, Some(delay)),
            Some(now + delay),
        )
    }

    /// An accept succeeded: the next error backs off from the start.
    pub fn succeeded(&mut self) {
        self.next = ACCEPT_BACKOFF_MIN;
    }
}

/// What a shutdown does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownStep {
    /// Wait for handlers to finish, at most until the instant (`None`: no
    /// limit, for aborted tasks to unwind).
    Wait(Option<Instant>),
    /// The grace period is over: close every connection (handlers see
    /// `Error::Closed`).
    ForceClose,
    /// The handlers did not stop after their connections closed: abort
    /// them.
    Abort,
    /// Done: no handler runs any more (or those left cannot be stopped).
    Done,
}

/// The shutdown sequence: a grace period for handlers to finish, then
/// their connections are closed, then (after `handler_stop_wait`) the
/// handlers are aborted where the driver can abort them.
#[derive(Debug, Clone)]
pub struct ShutdownPlan {
    grace_end: Instant,
    handler_stop_wait: Duration,
    abortable: bool,
    phase: Phase,
}

#[derive(Debug, Clone, Copy)]
enum Phase {
    Grace,
    Stopping(Instant),
    Aborted,
}

impl ShutdownPlan {
    /// A shutdown that started at `now` with `grace`.
    pub fn new(
        now: Instant,
        grace: Duration,
        handler_stop_wait: Duration,
        abortable: bool,
    ) -> Self {
        ShutdownPlan {
            grace_end: now
                .checked_add(grace)
                .unwrap_or(now + Duration::from_secs(86_400 * 365)),
            handler_stop_wait,
            abortable,
            phase: Phase::Grace,
        }
    }

    /// The next step at `now`, with `running` handlers.
    pub fn poll(&mut self, now: Instant, running: usize) -> ShutdownStep {
        if running == 0 {
            return ShutdownStep::Done;
        }
        match self.phase {
            Phase::Grace if now < self.grace_end => ShutdownStep::Wait(Some(self.grace_end)),
            Phase::Grace => {
                let until = now.checked_add(self.handler_stop_wait).unwrap_or(now);
                self.phase = Phase::Stopping(until);
                ShutdownStep::ForceClose
            }
            Phase::Stopping(until) if now < until => ShutdownStep::Wait(Some(until)),
            Phase::Stopping(_) if self.abortable => {
                self.phase = Phase::Aborted;
                ShutdownStep::Abort
            }
            Phase::Stopping(_) => ShutdownStep::Done,
            Phase::Aborted => ShutdownStep::Wait(None),
        }
    }
}
