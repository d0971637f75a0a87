//! `cargo xtask ci`: everything CI checks, in the order that fails fastest.
//!
//! `--quick` leaves out the feature-set, cross-target and Wine steps;
//! `--cross` runs the cross-target checks (see [`CROSS_TARGETS`]) and the
//! Windows tests under Wine ([`test_under_wine`]) alone.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::{cargo, run_cmd, workspace_root};

/// Feature sets of netproto-core that must compile on their own.
const CORE_FEATURE_SETS: &[&str] = &[
    "",
    "tls",
    "json",
    "cbor",
    "msgpack",
    "base64",
    "compression",
    "json,base64,compression",
];

/// Feature sets of the facade that users pick.
const FACADE_FEATURE_SETS: &[&str] = &[
    "sync",
    "tokio",
    "async-std",
    "smol",
    "sync,tls",
    "tokio,tls,json",
];

/// The crates users depend on, with the manifest each is described by:
/// what the cross-target checks build (the testkit, xtask and benches are
/// only built for the host).
const USER_CRATES: &[(&str, &str)] = &[
    ("netproto", "Cargo.toml"),
    ("netproto-core", "crates/netproto-core/Cargo.toml"),
    ("netproto-socket", "crates/netproto-socket/Cargo.toml"),
    ("netproto-sync", "crates/netproto-sync/Cargo.toml"),
    ("netproto-async", "crates/netproto-async/Cargo.toml"),
    ("netproto-tokio", "crates/netproto-tokio/Cargo.toml"),
    ("netproto-async-std", "crates/netproto-async-std/Cargo.toml"),
];

/// A target other than the host that the library must build for.
struct CrossTarget {
    triple: &'static str,
    /// Whether the `tls` feature is checked: ring's build script compiles C
    /// for the target, which needs a C cross compiler. There is one for
    /// Windows (MinGW-w64, installed on demand); there is no Apple one on
    /// Linux, so macOS is checked without TLS.
    tls: bool,
}

/// The targets checked besides the host: Windows (the GNU ABI; nothing in
/// the library depends on the ABI, so MSVC builds the same code) and macOS
/// on both architectures.
const CROSS_TARGETS: &[CrossTarget] = &[
    CrossTarget {
        triple: "x86_64-pc-windows-gnu",
        tls: true,
    },
    CrossTarget {
        triple: "aarch64-apple-darwin",
        tls: false,
    },
    CrossTarget {
        triple: "x86_64-apple-darwin",
        tls: false,
    },
];

/// The C compiler the `cc` crate picks for `x86_64-pc-windows-gnu`, and the
/// Debian package that provides it.
const MINGW_CC: &str = "x86_64-w64-mingw32-gcc";
const MINGW_PACKAGE: &str = "gcc-mingw-w64-x86-64";

pub fn run(args: &[String]) -> Result<(), String> {
    let quick = args.iter().any(|a| a == "--quick");
    if args.iter().any(|a| a == "--cross") {
        check_cross_targets()?;
        test_under_wine()?;
        eprintln!("\nxtask ci: cross-target checks and Windows tests passed");
        return Ok(());
    }
    run_cmd(cargo().args(["fmt", "--all", "--check"]))?;
    run_cmd(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--all-features",
        "--",
        "-D",
        "warnings",
    ]))?;
    if !quick {
        for features in CORE_FEATURE_SETS {
            run_cmd(cargo().args([
                "check",
                "--quiet",
                "-p",
                "netproto-core",
                "--no-default-features",
                "--features",
                features,
            ]))?;
        }
        for features in FACADE_FEATURE_SETS {
            run_cmd(cargo().args([
                "check",
                "--quiet",
                "-p",
                "netproto",
                "--no-default-features",
                "--features",
                features,
            ]))?;
        }
        check_cross_targets()?;
        test_under_wine()?;
    }
    // The fuzz workspace is separate; check its shared harness so an API
    // change in the core cannot leave the fuzz targets behind unnoticed.
    run_cmd(cargo().args([
        "check",
        "--quiet",
        "--manifest-path",
        "fuzz/Cargo.toml",
        "--no-default-features",
        "--all-targets",
    ]))?;
    run_cmd(cargo().args(["test", "--workspace", "--all-features"]))?;
    run_cmd(
        cargo()
            .args(["doc", "--workspace", "--all-features", "--no-deps"])
            .env("RUSTDOCFLAGS", "-D warnings"),
    )?;
    eprintln!("\nxtask ci: all checks passed");
    Ok(())
}

/// Check every user-facing crate for each of [`CROSS_TARGETS`]: one
/// `cargo clippy -D warnings` over all of them with every feature (clippy
/// type-checks all that `cargo check` does, so a separate check would only
/// compile the same again), then `cargo check` of the facade with each
/// feature set users pick. Installs the targets' standard libraries, and
/// the MinGW-w64 compiler for TLS on Windows, when they are missing.
fn check_cross_targets() -> Result<(), String> {
    let mut timings = Vec::new();
    for target in CROSS_TARGETS {
        let started = Instant::now();
        ensure_target(target.triple)?;
        if target.tls {
            ensure_mingw(target.triple)?;
        }
        let setup = started.elapsed();
        let mut clippy = cargo();
        clippy.args(["clippy", "--quiet", "--target", target.triple]);
        for (name, _) in USER_CRATES {
            clippy.args(["-p", name]);
        }
        if target.tls {
            clippy.arg("--all-features");
        } else {
            clippy.args(["--features", &all_features_but_tls()?]);
        }
        run_cmd(clippy.args(["--", "-D", "warnings"]))?;
        let linted = started.elapsed();
        for features in FACADE_FEATURE_SETS {
            if !target.tls && features.split(',').any(|f| f == "tls") {
                continue;
            }
            run_cmd(cargo().args([
                "check",
                "--quiet",
                "--target",
                target.triple,
                "-p",
                "netproto",
                "--no-default-features",
                "--features",
                features,
            ]))?;
        }
        timings.push((target, setup, linted - setup, started.elapsed() - linted));
    }
    for (target, setup, clippy, checks) in timings {
        let tls = if target.tls { "with" } else { "without" };
        eprintln!(
            "xtask ci: {} checked {tls} TLS in {:.0} s (installing {:.0} s, clippy {:.0} s, \
             facade feature sets {:.0} s)",
            target.triple,
            (setup + clippy + checks).as_secs_f64(),
            setup.as_secs_f64(),
            clippy.as_secs_f64(),
            checks.as_secs_f64()
        );
    }
    Ok(())
}

/// Every feature of [`USER_CRATES`] except `tls` (and `default`), as
/// `crate/feature` for one cargo invocation over all of them, read from
/// their manifests so that a new feature is checked without a change here.
fn all_features_but_tls() -> Result<String, String> {
    let mut features = Vec::new();
    for (name, manifest) in USER_CRATES {
        let path = workspace_root().join(manifest);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        for feature in manifest_features(&text) {
            if feature != "tls" && feature != "default" {
                features.push(format!("{name}/{feature}"));
            }
        }
    }
    Ok(features.join(","))
}

/// The names declared in a manifest's `[features]` table (one per line, as
/// this workspace writes them).
fn manifest_features(manifest: &str) -> Vec<&str> {
    let mut in_features = false;
    let mut names = Vec::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_features = line == "[features]";
            continue;
        }
        if !in_features || line.starts_with('#') {
            continue;
        }
        if let Some((name, _)) = line.split_once('=') {
            names.push(name.trim());
        }
    }
    names
}

/// Make sure the standard library for `triple` is installed (with rustup;
/// nothing is printed when it already is).
fn ensure_target(triple: &str) -> Result<(), String> {
    let listed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .current_dir(workspace_root())
        .stderr(Stdio::inherit())
        .output();
    match listed {
        Ok(out) if out.status.success() => {
            if String::from_utf8_lossy(&out.stdout)
                .lines()
                .any(|line| line.trim() == triple)
            {
                return Ok(());
            }
            run_cmd(Command::new("rustup").args(["target", "add", triple]))
        }
        _ => Err(format!(
            "cannot ask rustup which targets are installed; the checks for {triple} need its \
             standard library (`rustup target add {triple}`)"
        )),
    }
}

/// Make sure there is a C compiler for `triple` (Windows GNU), which ring's
/// build script needs for TLS: the one named by `CC_<triple>` if set (left
/// to the `cc` crate), else MinGW-w64's, installed from Debian's packages
/// when missing (as root). Fails with what to install rather than leave TLS
/// unchecked.
fn ensure_mingw(triple: &str) -> Result<(), String> {
    let chosen = [
        format!("CC_{triple}"),
        format!("CC_{}", triple.replace('-', "_")),
    ]
    .iter()
    .any(|var| std::env::var_os(var).is_some());
    if chosen || runs(MINGW_CC) {
        return Ok(());
    }
    eprintln!(
        "\n==> installing {MINGW_PACKAGE}: ring's build script needs a C compiler for {triple}"
    );
    let why = match apt_install(MINGW_PACKAGE) {
        Ok(()) if runs(MINGW_CC) => return Ok(()),
        Ok(()) => format!("{MINGW_PACKAGE} was installed but `{MINGW_CC}` does not run"),
        Err(err) => err,
    };
    Err(format!(
        "checking TLS for {triple} needs the MinGW-w64 C compiler `{MINGW_CC}` (ring's build \
         script compiles C for the target), and it is missing: {why}. Install Debian's \
         {MINGW_PACKAGE} (`apt-get install {MINGW_PACKAGE}`), or set CC_{triple} to another \
         compiler for the target, and run again"
    ))
}

/// Install a Debian package with apt-get (as root, after `apt-get update`).
fn apt_install(package: &str) -> Result<(), String> {
    if !is_root() {
        return Err("not running as root, so it cannot be installed here".to_owned());
    }
    run_cmd(Command::new("apt-get").arg("update"))
        .and_then(|()| {
            run_cmd(
                Command::new("apt-get")
                    .args(["install", "-y", "--no-install-recommends", package])
                    .env("DEBIAN_FRONTEND", "noninteractive"),
            )
        })
        .map_err(|err| format!("installing {package} failed: {err}"))
}

/// The Windows target whose tests run under Wine.
const WINE_TRIPLE: &str = "x86_64-pc-windows-gnu";

/// The packages whose tests run under Wine: the sans-IO core (framing,
/// serializers, the connection engine over in-memory transports, TLS) and
/// the socket options, whose behaviour differs on Windows. The drivers'
/// tests are not run there.
const WINE_TESTED: &[&str] = &["netproto-core", "netproto-socket"];

/// Run the unit and integration tests of [`WINE_TESTED`] built for Windows
/// under Wine (Debian's wine64, installed when missing, as root; fails
/// when it cannot be). Wine 8 lacks `bcryptprimitives.dll`, without which
/// Rust's test binaries do not start, so a stand-in built from
/// `xtask/wine/` with MinGW-w64 is put next to them. Doctests are not run.
fn test_under_wine() -> Result<(), String> {
    let started = Instant::now();
    ensure_target(WINE_TRIPLE)?;
    ensure_mingw(WINE_TRIPLE)?;
    let wine = ensure_wine()?;
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    let target_dir = workspace_root().join(target_dir);
    let deps = target_dir.join(WINE_TRIPLE).join("debug").join("deps");
    std::fs::create_dir_all(&deps).map_err(|e| format!("cannot create {}: {e}", deps.display()))?;
    let shim = workspace_root().join("xtask").join("wine");
    run_cmd(
        Command::new(windows_cc())
            .args(["-shared", "-O2", "-o"])
            .arg(deps.join("bcryptprimitives.dll"))
            .arg(shim.join("bcryptprimitives.c"))
            .arg(shim.join("bcryptprimitives.def"))
            .arg("-ladvapi32"),
    )?;
    let prefix = target_dir.join("wine-prefix");
    let wine_env = |cmd: &mut Command| {
        cmd.env("WINEPREFIX", &prefix).env("WINEDEBUG", "-all");
    };
    // Set the prefix up first, so that its messages stay out of the tests'.
    let mut boot = Command::new(&wine);
    boot.args(["wineboot", "--init"]);
    wine_env(&mut boot);
    run_cmd(&mut boot)?;
    // One wineserver for the whole run: by default it exits a few seconds
    // after its last client, and a test binary starting just then fails
    // with "wine client error: recvmsg: Connection reset by peer".
    let wineserver = Path::new(&wine).with_file_name("wineserver");
    if wineserver.exists() {
        // Let the server wineboot started exit first (`-p` fails while one
        // runs), then start the persistent one.
        let mut settle = Command::new(&wineserver);
        settle.arg("-w");
        wine_env(&mut settle);
        let _ = settle.status();
        let mut persist = Command::new(&wineserver);
        persist.arg("-p");
        wine_env(&mut persist);
        run_cmd(&mut persist)?;
    }
    let mut test = cargo();
    test.args(["test", "--target", WINE_TRIPLE, "--all-features", "--tests"]);
    for name in WINE_TESTED {
        test.args(["-p", name]);
    }
    test.env("CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER", &wine);
    wine_env(&mut test);
    let tested = run_cmd(&mut test);
    if wineserver.exists() {
        let mut stop = Command::new(&wineserver);
        stop.arg("-k");
        wine_env(&mut stop);
        let _ = stop.status();
    }
    tested?;
    eprintln!(
        "xtask ci: {} tested for {WINE_TRIPLE} under Wine in {:.0} s",
        WINE_TESTED.join(", "),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The C compiler for the Windows target: `CC_<triple>` if set, else
/// MinGW-w64's.
fn windows_cc() -> String {
    [
        format!("CC_{WINE_TRIPLE}"),
        format!("CC_{}", WINE_TRIPLE.replace('-', "_")),
    ]
    .iter()
    .find_map(|var| std::env::var(var).ok())
    .unwrap_or_else(|| MINGW_CC.to_owned())
}

/// Wine's 64-bit loader: `wine64` on the PATH, or where Debian's wine64
/// package puts it, installed when missing.
fn ensure_wine() -> Result<PathBuf, String> {
    const DEBIAN_WINE64: &str = "/usr/lib/wine/wine64";
    let found = || {
        if runs("wine64") {
            Some(PathBuf::from("wine64"))
        } else if Path::new(DEBIAN_WINE64).exists() && runs(DEBIAN_WINE64) {
            Some(PathBuf::from(DEBIAN_WINE64))
        } else {
            None
        }
    };
    if let Some(wine) = found() {
        return Ok(wine);
    }
    eprintln!("\n==> installing wine64: the Windows tests run under Wine");
    let why = match apt_install("wine64") {
        Ok(()) => match found() {
            Some(wine) => return Ok(wine),
            None => "wine64 was installed but does not run".to_owned(),
        },
        Err(err) => err,
    };
    Err(format!(
        "running the Windows tests needs Wine (`wine64`), and it is missing: {why}. Install \
         Debian's wine64 (`apt-get install wine64`) and run again"
    ))
}

/// Whether `program --version` runs and succeeds.
fn runs(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// Whether this process runs as root (`id -u` says 0).
fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.status.success() && out.stdout.trim_ascii() == b"0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_feature_names() {
        let manifest = "[package]\nname = \"x\"\n\n[features]\ndefault = [\"a\"]\n## A.\na = []\ntls = [\"dep:r\"]\n\n[dependencies]\nr = \"1\"\n";
        assert_eq!(manifest_features(manifest), ["default", "a", "tls"]);
    }

    #[test]
    fn every_user_crate_has_a_manifest() {
        let features = all_features_but_tls().unwrap();
        assert!(features.contains("netproto/tokio"), "{features}");
        assert!(features.contains("netproto-async-std/smol"), "{features}");
        assert!(!features.contains("tls"), "{features}");
    }
}
