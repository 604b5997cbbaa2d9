//! Helpers shared by the end-to-end tests: run the real binary and check how it ended.
// Each test file uses a different subset of these helpers.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

/// Runs `lookalike` with `args`.
pub fn lookalike(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lookalike"))
        .args(args)
        .output()
        .expect("the binary runs")
}

/// Runs a command that must succeed; returns its output.
pub fn ok(args: &[&str]) -> Output {
    let out = lookalike(args);
    assert!(
        out.status.success(),
        "lookalike {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs a command that must fail with exit code 2; returns its stderr.
pub fn fails(args: &[&str]) -> String {
    let out = lookalike(args);
    assert_eq!(
        out.status.code(),
        Some(2),
        "lookalike {args:?} should fail with 2: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A path inside the repository.
pub fn repo(path: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

/// A path as a command-line argument.
pub fn s(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

/// Features of the bundled sample as of 2026-01-01 (with the customers file, and the events when
/// `events`), written to `dir/name` (CSV or Parquet by extension).
pub fn sample_features(dir: &Path, name: &str, events: bool) -> std::path::PathBuf {
    let out = dir.join(name);
    let (transactions, customers, event_log) = (
        repo("data/sample/transactions.csv"),
        repo("data/sample/customers.csv"),
        repo("data/sample/events.csv"),
    );
    let mut args = vec![
        "features",
        "--transactions",
        s(&transactions),
        "--customers",
        s(&customers),
    ];
    if events {
        args.extend(["--events", s(&event_log)]);
    }
    args.extend(["--as-of", "2026-01-01", "--out", s(&out), "--quiet"]);
    ok(&args);
    out
}
