//! End-to-end: each command accepts what its siblings write, and `--quiet` prints nothing but
//! errors.

use crate::common;

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
    // `score` too: its closing line is a message.
    let scores = dir.path().join("scores.csv");
    let full = sample_features(dir.path(), "full.csv", true);
    let run = lookalike(&[
        "score",
        "--model",
        s(&common::repo("models/sample")),
        "--features",
        s(&full),
        "--out",
        s(&scores),
        "--quiet",
    ]);
    assert!(run.status.success(), "{run:?}");
    assert!(run.stdout.is_empty() && run.stderr.is_empty(), "{run:?}");
    assert!(scores.is_file());
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

/// `file` (CSV with a header) split into `parts` files of `dir`, with a `_SUCCESS` marker.
fn split_csv(file: &std::path::Path, dir: &std::path::Path, parts: usize) {
    std::fs::create_dir_all(dir).unwrap();
    let text = std::fs::read_to_string(file).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let rows: Vec<&str> = lines.collect();
    for (k, chunk) in rows.chunks(rows.len().div_ceil(parts)).enumerate() {
        let body: String = chunk.iter().map(|r| format!("{r}\n")).collect();
        std::fs::write(
            dir.join(format!("part-{k:05}.csv")),
            format!("{header}\n{body}"),
        )
        .unwrap();
    }
    std::fs::write(dir.join("_SUCCESS"), "").unwrap();
}

#[test]
fn folders_of_part_files_and_globs_are_tables_wherever_one_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let whole = sample_features(dir.path(), "features.csv", true);
    let parts = dir.path().join("features");
    split_csv(&whole, &parts, 3);
    let model = common::repo("models/sample");
    let score = |features: &std::path::Path, out: &str| {
        let out = dir.path().join(out);
        ok(&[
            "score",
            "--model",
            s(&model),
            "--features",
            s(features),
            "--out",
            s(&out),
            "--quiet",
        ]);
        std::fs::read_to_string(out).unwrap()
    };
    let expected = score(&whole, "whole.csv");
    assert_eq!(score(&parts, "folder.csv"), expected);
    assert_eq!(score(&parts.join("part-*.csv"), "glob.csv"), expected);
    let segment = |features: &std::path::Path, out: &str| {
        let out = dir.path().join(out);
        ok(&[
            "segment",
            "--features",
            s(features),
            "--out",
            s(&out),
            "--quiet",
        ]);
        std::fs::read_to_string(out).unwrap()
    };
    assert_eq!(
        segment(&parts, "segments_folder.csv"),
        segment(&whole, "segments.csv")
    );
    // Logs too: the sample's transactions in part files give the same features.
    let logs = dir.path().join("transactions");
    split_csv(&common::repo("data/sample/transactions.csv"), &logs, 4);
    let features = |transactions: &std::path::Path, out: &str| {
        let out = dir.path().join(out);
        ok(&[
            "features",
            "--transactions",
            s(transactions),
            "--as-of",
            "2026-01-01",
            "--out",
            s(&out),
            "--quiet",
        ]);
        std::fs::read_to_string(out).unwrap()
    };
    let transactions = common::repo("data/sample/transactions.csv");
    assert_eq!(
        features(&logs, "from_parts.csv"),
        features(&transactions, "from_file.csv")
    );
    // A folder without a table is refused, naming the option.
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let error = common::fails(&[
        "segment",
        "--features",
        s(&empty),
        "--out",
        s(&dir.path().join("x.csv")),
    ]);
    assert!(
        error.contains("--features") && error.contains("no .parquet or .csv file"),
        "{error}"
    );
}

#[test]
fn the_small_table_readers_take_part_files_too() {
    let dir = tempfile::tempdir().unwrap();
    let features = sample_features(dir.path(), "features.csv", false);
    let segments = dir.path().join("segments.csv");
    ok(&[
        "segment",
        "--features",
        s(&features),
        "--out",
        s(&segments),
        "--quiet",
    ]);
    let parts = dir.path().join("segments");
    split_csv(&segments, &parts, 3);
    let matrix = |before: &std::path::Path, out: &str| {
        let out = dir.path().join(out);
        ok(&[
            "migrate",
            "--before",
            s(before),
            "--after",
            s(&segments),
            "--out",
            s(&out),
            "--quiet",
        ]);
        std::fs::read_to_string(out).unwrap()
    };
    assert_eq!(
        matrix(&parts, "from_parts.csv"),
        matrix(&segments, "from_file.csv")
    );
    let power = |table: &std::path::Path, out: &str| {
        let out = dir.path().join(out);
        ok(&[
            "power",
            "--segments",
            s(table),
            "--baseline",
            "5%",
            "--out",
            s(&out),
            "--quiet",
        ]);
        std::fs::read_to_string(out).unwrap()
    };
    assert_eq!(
        power(&parts.join("*.csv"), "p1.csv"),
        power(&segments, "p2.csv")
    );
    // Rule columns for `expand --seed-rule`: a segment file as CSV, as Parquet and in parts
    // chooses the same audience.
    let segments_parquet = dir.path().join("segments.parquet");
    ok(&[
        "segment",
        "--features",
        s(&features),
        "--out",
        s(&segments_parquet),
        "--quiet",
    ]);
    let expand = |table: &std::path::Path, out: &str| {
        let out = dir.path().join(out);
        ok(&[
            "expand",
            "--features",
            s(&features),
            "--seed-rule",
            "rfm_segment == 'Champions'",
            "--segments",
            s(table),
            "--size",
            "5%",
            "--out",
            s(&out),
            "--quiet",
        ]);
        std::fs::read_to_string(out).unwrap()
    };
    let from_file = expand(&segments, "a1.csv");
    assert!(from_file.lines().count() > 100, "{from_file}");
    assert_eq!(expand(&segments_parquet, "a2.csv"), from_file);
    assert_eq!(expand(&parts, "a3.csv"), from_file);
    let run = ok(&["overlap", s(&parts), s(&segments)]);
    let text = String::from_utf8_lossy(&run.stdout);
    let cells: Vec<&str> = text.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!((cells[2], cells[4]), ("5000", "5000"), "{text}");
}

#[test]
fn seed_and_exclusion_lists_in_part_files_are_one_list() {
    let dir = tempfile::tempdir().unwrap();
    let features = sample_features(dir.path(), "features.csv", false);
    // Seeds: the customers with 12 orders or more, one list and the same list in two parts.
    let text = std::fs::read_to_string(&features).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let orders = header.iter().position(|h| *h == "orders").unwrap();
    let seeds: Vec<&str> = lines
        .filter(|l| l.split(',').nth(orders).and_then(|o| o.parse::<f64>().ok()) >= Some(12.0))
        .map(|l| l.split(',').next().unwrap())
        .collect();
    let list = dir.path().join("seeds.csv");
    std::fs::write(&list, format!("customer_id\n{}\n", seeds.join("\n"))).unwrap();
    let parts = dir.path().join("seeds");
    split_csv(&list, &parts, 2);
    let expand = |seeds: &std::path::Path, out: &str| {
        let out = dir.path().join(out);
        ok(&[
            "expand",
            "--features",
            s(&features),
            "--seeds",
            s(seeds),
            "--size",
            "5%",
            "--min-seeds",
            "50",
            "--exclude",
            s(&parts.join("part-00000.csv")),
            "--out",
            s(&out),
            "--quiet",
        ]);
        std::fs::read_to_string(out).unwrap()
    };
    assert_eq!(
        expand(&parts, "from_parts.csv"),
        expand(&list, "from_file.csv")
    );
}
