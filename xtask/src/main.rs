//! Project automation for netproto.
//!
//! ```text
//! cargo xtask ci [--quick|--cross]  fmt check, clippy -D warnings, MSRV, feature checks,
//!                                Windows and macOS checks, tests, no-TLS tests, docs, packaging
//! cargo xtask ci --only msrv|msrv-build|package|no-tls   one of those checks alone
//! cargo xtask bench [--net] [--full] [--rounds N] [FILTER]   criterion benches and a ratio table
//! cargo xtask fuzz [--seconds N] [TARGET]       run the cargo-fuzz targets
//! cargo xtask models                             the core's concurrency models (shuttle)
//! cargo xtask miri [ARGS]                        the core's unit tests under Miri (nightly)
//! ```

use std::env;
use std::process::{Command, ExitCode};

mod bench;
mod ci;
mod fuzz;
mod models;

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let (task, rest) = match args.split_first() {
        Some((task, rest)) => (task.as_str(), rest),
        None => ("help", &[][..]),
    };
    let result = match task {
        "ci" => ci::run(rest),
        "bench" => bench::run(rest),
        "fuzz" => fuzz::run(rest),
        "models" => models::models(),
        "miri" => models::miri(rest),
        _ => {
            eprintln!("usage: cargo xtask <ci|bench|fuzz|models|miri> [options]");
            eprintln!(
                "  ci [--quick|--cross]        fmt, clippy, MSRV, feature and cross-target checks, tests, docs, packaging"
            );
            eprintln!("  ci --only msrv|msrv-build|package|no-tls  one check alone");
            eprintln!(
                "  bench [--net] [--full] [--rounds N] [F]  benches, then target/bench-report.md"
            );
            eprintln!("  fuzz [--seconds N] [T]      each fuzz target for N seconds (default 30)");
            eprintln!("  models                      the core's concurrency models under shuttle");
            eprintln!("  miri [ARGS]                 the core's unit tests under Miri (nightly)");
            return if task == "help" || task == "--help" {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            };
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask {task}: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Run a command from the workspace root, echoing it; fail if it fails.
pub(crate) fn run_cmd(cmd: &mut Command) -> Result<(), String> {
    let shown = format!("{cmd:?}").replace('"', "");
    eprintln!("\n==> {shown}");
    let status = cmd
        .current_dir(workspace_root())
        .status()
        .map_err(|e| format!("cannot start {shown}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{shown} failed with {status}"))
    }
}

/// The `cargo` that runs this xtask.
pub(crate) fn cargo() -> Command {
    Command::new(env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
}

/// The workspace root (the parent of this crate's directory).
pub(crate) fn workspace_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace root")
        .to_path_buf()
}
