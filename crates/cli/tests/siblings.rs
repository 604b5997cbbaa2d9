//! End-to-end: each command accepts what its siblings write, and `--quiet` prints nothing but
//! errors.

mod common;

use common::{lookalike, ok, s, sample_features};

#[test]
fn evaluate_audience_reads_the_value_model_and_overlap_reads_parquet() {
    let dir = tempfile::tempdir().unwrap();
    let features = sample_features(dir.path(), "features.parquet", true);
    let value = dir.path().join("value");
    ok(&[
        "value",
        "fit",
        "--features",
        s(&features),
        "--out",
        s(&value),
        "--quiet",
    ]);
    // The demo's own seed rule, which needs the CLV of a value model.
    let evaluation = dir.path().join("evaluation.csv");
    ok(&[
        "evaluate-audience",
        "--features",
        s(&features),
        "--seed-rule",
        "clv_rank <= 0.05",
        "--value-model",
        s(&value),
        "--scorers",
        "classifier",
        "--folds",
        "3",
        "--min-seeds",
        "50",
        "--out",
        s(&evaluation),
        "--quiet",
    ]);
    let table = std::fs::read_to_string(&evaluation).unwrap();
    assert!(
        table.lines().count() > 2 && table.contains("classifier"),
        "{table}"
    );
    // Two audiences written as Parquet, compared by overlap (whole and by tier).
    let audience = |name: &str, size: &str| {
        let out = dir.path().join(name);
        ok(&[
            "expand",
            "--features",
            s(&features),
            "--seed-rule",
            "orders >= 12",
            "--size",
            size,
            "--min-seeds",
            "50",
            "--out",
            s(&out),
            "--quiet",
        ]);
        out
    };
    let (small, large) = (
        audience("small.parquet", "1%"),
        audience("large.parquet", "1%,5%"),
    );
    let run = ok(&["overlap", s(&small), s(&large)]);
    let text = String::from_utf8_lossy(&run.stdout);
    // The 1% audience is inside the 5% one: all of it is shared.
    let cells: Vec<&str> = text.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(cells[2], cells[4], "|A| = both: {text}");
    assert_eq!(cells[6], "1.000", "{text}");
    let run = ok(&["overlap", s(&large), "--by", "tier"]);
    let text = String::from_utf8_lossy(&run.stdout);
    assert!(
        text.contains("large.parquet:1%") && text.contains("large.parquet:5%"),
        "{text}"
    );
}

#[test]
fn quiet_prints_nothing_but_errors() {
    let dir = tempfile::tempdir().unwrap();
    let features = sample_features(dir.path(), "features.csv", false);
    let out = dir.path().join("segments.csv");
    let run = lookalike(&[
        "segment",
        "--features",
        s(&features),
        "--out",
        s(&out),
        "--quiet",
    ]);
    assert!(run.status.success());
    assert!(run.stdout.is_empty() && run.stderr.is_empty(), "{run:?}");
    assert!(out.is_file());
    // An error still says what went wrong.
    let run = lookalike(&[
        "segment",
        "--features",
        "missing.csv",
        "--out",
        s(&out),
        "--quiet",
    ]);
    assert_eq!(run.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&run.stderr).contains("missing.csv"));
}
