//! The conformance suite, run against the blocking driver.
//!
//! The adapter's async methods call the blocking methods; the runtime hooks
//! are the testkit's thread-based ones.

mod driver;

#[allow(unused_imports)]
use driver::*;

netproto_testkit::conformance_suite!(Sync);

#[cfg(unix)]
type SyncUnix = Sync<netproto_sync::Unix>;
#[cfg(unix)]
netproto_testkit::unix_suite!(SyncUnix);
