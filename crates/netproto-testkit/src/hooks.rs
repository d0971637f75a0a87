//! A recording `RequestHandler` for the handler-model case: each driver's
//! adapter implements its `RequestHandler` by calling these.

use netproto_core::addr::PeerAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use netproto_core::Error;

/// A hook call, in the order the server made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hook {
    /// `service_init`.
    Init,
    /// `on_connection` for this peer.
    Connected(PeerAddr),
    /// `handle` for this peer.
    Handled(PeerAddr),
    /// `on_disconnection` for this peer, with the reason.
    Disconnected(PeerAddr, Option<String>),
    /// `service_quit`.
    Quit,
}

/// The log of hook calls; `on_connection` refuses the second connection.
#[derive(Clone, Default)]
pub struct Hooks {
    log: Arc<Mutex<Vec<Hook>>>,
    connections: Arc<AtomicUsize>,
}

impl Hooks {
    /// What `on_connection` says when it refuses a connection.
    pub const REFUSED: &'static str = "refused by on_connection";

    /// The calls so far.
    pub fn log(&self) -> Vec<Hook> {
        self.log.lock().unwrap().clone()
    }

    fn push(&self, hook: Hook) {
        self.log.lock().unwrap().push(hook);
    }

    /// `service_init`.
    pub fn init(&self) -> Result<(), Error> {
        self.push(Hook::Init);
        Ok(())
    }

    /// `on_connection`: refuses the second connection.
    pub fn on_connection(&self, peer: impl Into<PeerAddr>) -> Result<(), Error> {
        self.push(Hook::Connected(peer.into()));
        if self.connections.fetch_add(1, Ordering::SeqCst) == 1 {
            return Err(Error::Config(Self::REFUSED.to_owned()));
        }
        Ok(())
    }

    /// `handle` started (it then echoes lines).
    pub fn handled(&self, peer: impl Into<PeerAddr>) {
        self.push(Hook::Handled(peer.into()));
    }

    /// `on_disconnection`.
    pub fn disconnected(&self, peer: PeerAddr, reason: Option<&str>) {
        self.push(Hook::Disconnected(peer, reason.map(str::to_owned)));
    }

    /// `service_quit`.
    pub fn quit(&self) {
        self.push(Hook::Quit);
    }
}
