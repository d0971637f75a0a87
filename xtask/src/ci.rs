//! `cargo xtask ci`: everything CI checks, in the order that fails fastest.
//!
//! `--quick` leaves out the feature-set, no-TLS, cross-target and Wine
//! steps; `--cross` runs the cross-target checks (see [`CROSS_TARGETS`]) and
//! the Windows tests under Wine ([`test_under_wine`]) alone; `--only STEP`
//! runs one of the release checks alone: `msrv` ([`check_msrv`]),
//! `msrv-build` ([`build_with_msrv`]), `package` ([`check_package`]) or
//! `no-tls` ([`test_without_tls`]). After the workspace tests, the core's
//! concurrency models run (`cargo xtask models`, about 15 s plus their
//! build in `target/shuttle`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use serde_json::Value;

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
    "checksum",
    "bzip2",
    "fernet",
    "tracing",
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
    "sync,tracing",
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
    if let Some(at) = args.iter().position(|a| a == "--only") {
        match args.get(at + 1).map(String::as_str) {
            Some("msrv") => check_msrv()?,
            Some("package") => check_package()?,
            Some("no-tls") => test_without_tls()?,
            Some("msrv-build") => build_with_msrv()?,
            other => {
                return Err(format!(
                    "--only takes msrv, msrv-build, package or no-tls, not {}",
                    other.unwrap_or("nothing")
                ));
            }
        }
        eprintln!("\nxtask ci: {} passed", args[at + 1]);
        return Ok(());
    }
    run_cmd(cargo().args(["fmt", "--all", "--check"]))?;
    check_msrv()?;
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
        build_with_msrv()?;
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
    crate::models::models()?;
    if !quick {
        test_without_tls()?;
    }
    run_cmd(
        cargo()
            .args(["doc", "--workspace", "--all-features", "--no-deps"])
            .env("RUSTDOCFLAGS", "-D warnings"),
    )?;
    check_package()?;
    eprintln!("\nxtask ci: all checks passed");
    Ok(())
}

/// Dependencies of the facade that only its benches use, with what they
/// pull in alone: left out of [`check_msrv`], because criterion 0.8 needs
/// Rust 1.86, newer than the library's minimum. The benches are not part
/// of what users build.
const BENCH_ONLY_DEPS: &[&str] = &["criterion"];

/// The MSRV checks: `cargo metadata --locked` (the lock file is the one the
/// MSRV-aware resolver of `resolver = "3"` keeps; a stale one fails here),
/// then
/// - every workspace member declares the workspace's `rust-version`, which
///   is what clippy's `incompatible_msrv` lint (denied in the workspace
///   lints, and so by the clippy step) checks std API use against;
/// - no source file and no `clippy.toml` lifts that lint or sets another
///   `msrv`;
/// - every dependency that declares a `rust-version` declares one no newer
///   than ours, for every platform and feature (those that declare none are
///   listed, as they cannot be checked); [`BENCH_ONLY_DEPS`] and what only
///   they pull in are left out.
fn check_msrv() -> Result<(), String> {
    eprintln!("\n==> MSRV: rust-version of the workspace and of every dependency");
    let meta = cargo_metadata(&workspace_root().join("Cargo.toml"))?;
    let packages = packages_by_id(&meta)?;
    let members: BTreeSet<&str> = meta["workspace_members"]
        .as_array()
        .ok_or("cargo metadata: no workspace_members")?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let facade = packages
        .values()
        .find(|p| p["name"] == "netproto" && members.contains(p["id"].as_str().unwrap_or("")))
        .ok_or("cargo metadata: no `netproto` package")?;
    let ours = facade["rust_version"]
        .as_str()
        .ok_or("the workspace declares no rust-version")?
        .to_owned();
    let ours_key = version_key(&ours)?;
    let mut problems = Vec::new();
    for id in &members {
        let package = &packages[id];
        if package["rust_version"].as_str() != Some(ours.as_str()) {
            problems.push(format!(
                "workspace member {} declares rust-version {} instead of the workspace's {ours} \
                 (`rust-version.workspace = true`)",
                package["name"], package["rust_version"]
            ));
        }
    }
    problems.extend(msrv_lint_lifted()?);
    let checked = reachable_without(&meta, &members, &packages, BENCH_ONLY_DEPS)?;
    let mut undeclared = Vec::new();
    for id in &checked {
        if members.contains(id.as_str()) {
            continue;
        }
        let package = &packages[id.as_str()];
        let name = format!("{} {}", str_of(package, "name"), str_of(package, "version"));
        match package["rust_version"].as_str() {
            None => undeclared.push(name),
            Some(theirs) if version_key(theirs)? > ours_key => problems.push(format!(
                "{name} needs Rust {theirs}, newer than the workspace's rust-version {ours}"
            )),
            Some(_) => {}
        }
    }
    let left_out = packages.len() - checked.len();
    eprintln!(
        "xtask ci: {} dependencies checked against rust-version {ours}; {} declare none: {}; \
         {left_out} used only by the benches ({}) left out",
        checked.len() - members.len(),
        undeclared.len(),
        undeclared.join(", "),
        BENCH_ONLY_DEPS.join(", ")
    );
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("MSRV check failed:\n  {}", problems.join("\n  ")))
    }
}

/// Build the published crates ([`USER_CRATES`]), every feature on, with
/// the toolchain of the workspace's `rust-version` (installed with rustup,
/// minimal profile, when missing): `cargo check --locked`, so with the
/// versions of `Cargo.lock`. Warnings are not denied: an older rustc does
/// not know every `cfg` value the code names for newer targets.
fn build_with_msrv() -> Result<(), String> {
    let started = Instant::now();
    let meta = cargo_metadata(&workspace_root().join("Cargo.toml"))?;
    let packages = packages_by_id(&meta)?;
    let version = packages
        .values()
        .find(|p| p["name"] == "netproto" && p["source"].is_null())
        .and_then(|p| p["rust_version"].as_str())
        .ok_or("the workspace declares no rust-version")?
        .to_owned();
    let installed = Command::new("rustup")
        .args(["run", &version, "rustc", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !installed {
        run_cmd(Command::new("rustup").args([
            "toolchain",
            "install",
            &version,
            "--profile",
            "minimal",
        ]))?;
    }
    let mut check = Command::new("rustup");
    check.args([
        "run",
        &version,
        "cargo",
        "check",
        "--quiet",
        "--locked",
        "--all-features",
    ]);
    for (name, _) in USER_CRATES {
        check.args(["-p", name]);
    }
    run_cmd(check.env_remove("CARGO").env_remove("RUSTC"))?;
    eprintln!(
        "xtask ci: the published crates built with Rust {version} in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `cargo metadata` of a manifest, every feature on, the lock file as it is.
fn cargo_metadata(manifest: &Path) -> Result<Value, String> {
    let out = cargo()
        .args([
            "metadata",
            "--format-version",
            "1",
            "--all-features",
            "--locked",
        ])
        .arg("--manifest-path")
        .arg(manifest)
        .current_dir(workspace_root())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot start cargo metadata: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo metadata --locked for {} failed with {}",
            manifest.display(),
            out.status
        ));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("cargo metadata: bad JSON: {e}"))
}

/// The packages of a `cargo metadata` answer, by id.
fn packages_by_id(meta: &Value) -> Result<BTreeMap<&str, &Value>, String> {
    Ok(meta["packages"]
        .as_array()
        .ok_or("cargo metadata: no packages")?
        .iter()
        .filter_map(|p| Some((p["id"].as_str()?, p)))
        .collect())
}

/// A string field of a package (empty when missing).
fn str_of<'a>(package: &'a Value, field: &str) -> &'a str {
    package[field].as_str().unwrap_or("")
}

/// The ids of the packages that the resolve reaches from `roots` over every
/// kind of dependency, except through a dependency named in `skip`.
fn reachable_without(
    meta: &Value,
    roots: &BTreeSet<&str>,
    packages: &BTreeMap<&str, &Value>,
    skip: &[&str],
) -> Result<BTreeSet<String>, String> {
    let nodes: BTreeMap<&str, &Value> = meta["resolve"]["nodes"]
        .as_array()
        .ok_or("cargo metadata: no resolve graph")?
        .iter()
        .filter_map(|n| Some((n["id"].as_str()?, n)))
        .collect();
    let mut seen: BTreeSet<String> = roots.iter().map(|id| id.to_string()).collect();
    let mut todo: Vec<&str> = roots.iter().copied().collect();
    while let Some(id) = todo.pop() {
        let Some(node) = nodes.get(id) else { continue };
        for dep in node["deps"].as_array().into_iter().flatten() {
            let Some(dep_id) = dep["pkg"].as_str() else {
                continue;
            };
            let name = packages.get(dep_id).map_or("", |p| str_of(p, "name"));
            if skip.contains(&name) {
                continue;
            }
            if seen.insert(dep_id.to_owned()) {
                todo.push(dep_id);
            }
        }
    }
    Ok(seen)
}

/// `1.85` or `1.85.0` as numbers to compare (missing parts are 0).
fn version_key(version: &str) -> Result<[u64; 3], String> {
    let mut key = [0; 3];
    for (slot, part) in key.iter_mut().zip(version.split('.')) {
        *slot = part
            .parse()
            .map_err(|_| format!("cannot read the Rust version {version:?}"))?;
    }
    Ok(key)
}

/// Where clippy's `incompatible_msrv` lint is lifted, or its MSRV set apart
/// from `rust-version`: Rust sources that name the lint in an attribute, a
/// manifest that sets it to anything but deny, any `clippy.toml`.
fn msrv_lint_lifted() -> Result<Vec<String>, String> {
    let lint = ["incompatible", "msrv"].join("_");
    let mut found = Vec::new();
    let root = workspace_root();
    let mut todo = vec![root.clone()];
    while let Some(dir) = todo.pop() {
        let entries =
            std::fs::read_dir(&dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
        for entry in entries {
            let path = entry
                .map_err(|e| format!("cannot list {}: {e}", dir.display()))?
                .path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if path.is_dir() {
                if !name.starts_with('.') && !matches!(name, "target" | "corpus" | "artifacts") {
                    todo.push(path);
                }
                continue;
            }
            let shown = path
                .strip_prefix(&root)
                .unwrap_or(&path)
                .display()
                .to_string();
            if name == "clippy.toml" || name == ".clippy.toml" {
                found.push(format!(
                    "{shown}: a clippy.toml can set `msrv` apart from rust-version"
                ));
                continue;
            }
            if !(name.ends_with(".rs") || name == "Cargo.toml") {
                continue;
            }
            let text =
                std::fs::read_to_string(&path).map_err(|e| format!("cannot read {shown}: {e}"))?;
            for (n, line) in text.lines().enumerate() {
                let lifted = if name == "Cargo.toml" {
                    line.trim_start().starts_with(&lint) && !line.contains("\"deny\"")
                } else {
                    line.contains(&format!("clippy::{lint}"))
                };
                if lifted {
                    found.push(format!("{shown}:{}: lifts clippy::{lint}", n + 1));
                }
            }
        }
    }
    Ok(found)
}

/// Files every published crate must contain.
const PACKAGED_FILES: &[&str] = &["Cargo.toml", "README.md", "LICENSE-MIT", "LICENSE-APACHE"];

/// `cargo package --no-verify` of every published crate ([`USER_CRATES`])
/// at once, which packages them against each other (cargo resolves each
/// against crates.io plus the others), then a look into each `.crate` for
/// [`PACKAGED_FILES`]. Not verified by building: the workspace's own build
/// and tests cover the code, and building each package alone would cost
/// more than the rest of CI.
fn check_package() -> Result<(), String> {
    let mut package = cargo();
    package.args(["package", "--quiet", "--no-verify", "--allow-dirty"]);
    for (name, _) in USER_CRATES {
        package.args(["-p", name]);
    }
    run_cmd(&mut package)?;
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    let target_dir = workspace_root().join(target_dir);
    let meta = cargo_metadata(&workspace_root().join("Cargo.toml"))?;
    let packages = packages_by_id(&meta)?;
    let mut problems = Vec::new();
    for (name, _) in USER_CRATES {
        let version = packages
            .values()
            .find(|p| p["name"] == *name && p["source"].is_null())
            .map(|p| str_of(p, "version"))
            .ok_or(format!("cargo metadata: no package {name}"))?;
        let file = target_dir
            .join("package")
            .join(format!("{name}-{version}.crate"));
        let out = Command::new("tar")
            .arg("-tzf")
            .arg(&file)
            .output()
            .map_err(|e| format!("cannot start tar: {e}"))?;
        if !out.status.success() {
            return Err(format!("cannot list {}: {}", file.display(), out.status));
        }
        let listed = String::from_utf8_lossy(&out.stdout);
        for wanted in PACKAGED_FILES {
            let path = format!("{name}-{version}/{wanted}");
            if !listed.lines().any(|line| line == path) {
                problems.push(format!("{} lacks {wanted}", file.display()));
            }
        }
    }
    if problems.is_empty() {
        eprintln!(
            "xtask ci: packaged {} crates, each with {}",
            USER_CRATES.len(),
            PACKAGED_FILES.join(", ")
        );
        Ok(())
    } else {
        Err(format!(
            "packaging check failed:\n  {}",
            problems.join("\n  ")
        ))
    }
}

/// The crate (its own workspace) whose tests run the drivers with TLS
/// compiled out.
const PLAIN_MANIFEST: &str = "xtask/plain/Cargo.toml";

/// The drivers without TLS. In the workspace, every test target depends on
/// the testkit, which turns on `netproto-core/tls`, so the plain-only code
/// (the core and the drivers without `tls`) would only be compiled, never
/// run. So:
/// - `netproto-core`'s own tests (unit, integration and doc) run with no
///   feature (its dev-dependencies do not pull the core back in);
/// - the drivers' libraries build without `tls` (and clippy them);
/// - `xtask/plain`, a crate outside the workspace on the facade with every
///   driver and no `tls`, runs a client and a server of each driver on
///   loopback, after checking that rustls is not in its dependency graph
///   (and fmt and clippy on it, as it is outside the workspace's steps).
fn test_without_tls() -> Result<(), String> {
    let started = Instant::now();
    run_cmd(cargo().args([
        "test",
        "--quiet",
        "-p",
        "netproto-core",
        "--no-default-features",
    ]))?;
    run_cmd(cargo().args([
        "clippy",
        "--quiet",
        "-p",
        "netproto-sync",
        "-p",
        "netproto-tokio",
        "-p",
        "netproto-async-std",
        "-p",
        "netproto-async",
        "--no-default-features",
        "--features",
        "netproto-tokio/codec,netproto-async-std/async-std,netproto-async-std/smol",
        "--",
        "-D",
        "warnings",
    ]))?;
    // Its lock file starts as a copy of the workspace's, which cargo trims
    // to what it uses: the same versions as the rest of CI (the builds are
    // shared), and nothing to keep in step by hand.
    let manifest = workspace_root().join(PLAIN_MANIFEST);
    let lock = manifest.with_file_name("Cargo.lock");
    std::fs::copy(workspace_root().join("Cargo.lock"), &lock)
        .map_err(|e| format!("cannot copy Cargo.lock to {}: {e}", lock.display()))?;
    run_cmd(
        cargo()
            .args(["update", "--quiet", "--workspace", "--manifest-path"])
            .arg(&manifest),
    )?;
    let meta = cargo_metadata(&manifest)?;
    if let Some(tls) = packages_by_id(&meta)?
        .values()
        .find(|p| matches!(str_of(p, "name"), "rustls" | "ring"))
    {
        return Err(format!(
            "{PLAIN_MANIFEST} must build without TLS, but {} {} is in its graph",
            str_of(tls, "name"),
            str_of(tls, "version")
        ));
    }
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    let target_dir = workspace_root().join(target_dir);
    run_cmd(
        cargo()
            .args(["fmt", "--check", "--manifest-path"])
            .arg(&manifest),
    )?;
    for step in [
        &["clippy", "--quiet", "--locked", "--all-targets"][..],
        &["test", "--quiet", "--locked"][..],
    ] {
        let mut cmd = cargo();
        cmd.args(step).arg("--manifest-path").arg(&manifest);
        if step[0] == "clippy" {
            cmd.args(["--", "-D", "warnings"]);
        }
        run_cmd(cmd.env("CARGO_TARGET_DIR", &target_dir))?;
    }
    eprintln!(
        "xtask ci: the core and the drivers tested without TLS in {:.0} s",
        started.elapsed().as_secs_f64()
    );
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
            if feature != "tls" && feature != "default" && !turns_on_tls(&text, feature) {
                features.push(format!("{name}/{feature}"));
            }
        }
    }
    Ok(features.join(","))
}

/// Whether `feature` of the manifest `manifest` turns TLS on (lists `tls`
/// or a crate's `…/tls`), like `native-roots`.
fn turns_on_tls(manifest: &str, feature: &str) -> bool {
    manifest.lines().map(str::trim).any(|line| {
        line.split_once('=').is_some_and(|(name, value)| {
            name.trim() == feature && (value.contains("\"tls\"") || value.contains("/tls\""))
        })
    })
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
    fn compares_rust_versions() {
        assert_eq!(version_key("1.85").unwrap(), [1, 85, 0]);
        assert_eq!(version_key("1.85.0").unwrap(), version_key("1.85").unwrap());
        assert!(version_key("1.86").unwrap() > version_key("1.85.1").unwrap());
        assert!(version_key("1.x").is_err());
    }

    #[test]
    fn every_user_crate_has_a_manifest() {
        let features = all_features_but_tls().unwrap();
        assert!(features.contains("netproto/tokio"), "{features}");
        assert!(features.contains("netproto-async-std/smol"), "{features}");
        assert!(!features.contains("tls"), "{features}");
        assert!(!features.contains("native-roots"), "{features}");
    }
}
