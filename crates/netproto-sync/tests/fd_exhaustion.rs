//! Out of file descriptors: the server reports each failed accept and
//! recovers. Alone in its binary: it lowers the process's open-file limit.

mod driver;

#[cfg(target_os = "linux")]
#[test]
fn server_reports_fd_exhaustion_and_recovers() {
    netproto_testkit::run::<driver::Sync, _>(
        netproto_testkit::cases::server_reports_fd_exhaustion_and_recovers::<driver::Sync>(),
    );
}
