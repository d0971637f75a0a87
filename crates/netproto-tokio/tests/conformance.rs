//! The shared conformance suite (crates/netproto-testkit), run on tokio:
//! plain TCP always, TLS with `--features tls`.

mod driver;

#[allow(unused_imports)]
use driver::*;

netproto_testkit::conformance_suite!(Tokio);

#[cfg(unix)]
type TokioUnix = Tokio<netproto_tokio::Unix>;
#[cfg(unix)]
netproto_testkit::unix_suite!(TokioUnix);
