//! `traced_echo`: the `tracing` feature's span per connection and its
//! events, as a subscriber prints them.

#[allow(dead_code)]
#[path = "../../examples/traced_echo.rs"]
pub(crate) mod example;

use crate::support::{Output, run};

#[test]
fn connections_are_spans_with_their_events() {
    let out = Output::new();
    let sink = out.sink();
    run("traced_echo", &out, move || example::run(Vec::new(), sink));
    let text = out.text();
    assert!(text.contains("echoed: hello"), "{text}");
    let span = "connection{peer=127.0.0.1:";
    let connected: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("netproto: connected"))
        .collect();
    // Both ends of the first connection, the refused one's client side.
    assert!(connected.len() >= 2, "{text}");
    assert!(
        connected
            .iter()
            .all(|l| l.contains(span) && l.contains("transport=\"tcp\" tls=false")),
        "{text}"
    );
    let rejected = text
        .lines()
        .find(|l| l.contains("netproto: rejected"))
        .unwrap_or_else(|| panic!("no rejection in:\n{text}"));
    assert!(
        rejected.contains("WARN") && rejected.contains("limit of 1"),
        "{rejected}"
    );
    assert!(
        text.lines()
            .any(|l| l.contains("netproto: disconnected") && l.contains(span)),
        "{text}"
    );
}
