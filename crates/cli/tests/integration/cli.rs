//! End-to-end: the real `lookalike` binary on real files in a temporary folder.

use crate::common;

use common::{fails, lookalike, ok, s};

use std::path::{Path, PathBuf};

fn write(dir: &Path, name: &str, content: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path
}

fn features_of(tx: &Path, out: &Path, extra: &[&str]) -> String {
    let mut args = vec!["features", "--transactions", s(tx), "--out", s(out)];
    args.extend_from_slice(extra);
    fails_or_ok(&args)
}

fn fails_or_ok(args: &[&str]) -> String {
    let out = lookalike(args);
    String::from_utf8_lossy(&out.stderr).into_owned() + &format!("\nexit {:?}", out.status.code())
}

const GOOD: &str =
    "customer_id,timestamp,amount\na,2024-01-01,10\na,2024-01-05,5.5\nb,2024-01-03,7\n";

#[test]
fn generate_then_features_in_csv_and_parquet_agree() {
    let dir = tempfile::tempdir().unwrap();
    let csv_dir = dir.path().join("csv");
    let pq_dir = dir.path().join("pq");
    ok(&[
        "generate",
        "--customers",
        "700",
        "--seed",
        "3",
        "--out",
        s(&csv_dir),
        "--quiet",
    ]);
    ok(&[
        "generate",
        "--customers",
        "700",
        "--seed",
        "3",
        "--out",
        s(&pq_dir),
        "--format",
        "parquet",
        "--quiet",
    ]);
    for name in ["transactions", "events", "customers", "truth"] {
        assert!(csv_dir.join(format!("{name}.csv")).is_file());
        assert!(pq_dir.join(format!("{name}.parquet")).is_file());
    }
    let mut tables = Vec::new();
    for (folder, ext) in [(&csv_dir, "csv"), (&pq_dir, "parquet")] {
        let out = dir.path().join(format!("features-{ext}.csv"));
        ok(&[
            "features",
            "--transactions",
            s(&folder.join(format!("transactions.{ext}"))),
            "--events",
            s(&folder.join(format!("events.{ext}"))),
            "--customers",
            s(&folder.join(format!("customers.{ext}"))),
            "--as-of",
            "2026-01-01",
            "--out",
            s(&out),
        ]);
        tables.push(std::fs::read_to_string(&out).unwrap());
    }
    assert_eq!(
        tables[0], tables[1],
        "CSV and Parquet inputs must give the same features"
    );
    let header = tables[0].lines().next().unwrap();
    for column in [
        "customer_id",
        "frequency",
        "recency",
        "T",
        "monetary_value",
        "views_30d",
        "email_open_rate",
        "marketing_consent",
        "country_DE",
        "days_since_signup_date",
    ] {
        assert!(
            header.split(',').any(|c| c == column),
            "missing {column} in {header}"
        );
    }
    assert_eq!(
        tables[0].lines().count(),
        701,
        "one row per customer of the customers file"
    );
    let schema = std::fs::read_to_string(dir.path().join("features-csv.csv.schema.json")).unwrap();
    assert!(schema.contains("\"as_of\": \"2026-01-01\""), "{schema}");
}

#[test]
fn same_seed_same_bytes_whatever_the_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let one = dir.path().join("one");
    let two = dir.path().join("two");
    ok(&[
        "generate",
        "--customers",
        "300",
        "--seed",
        "11",
        "--out",
        s(&one),
        "--threads",
        "1",
        "--quiet",
    ]);
    ok(&[
        "generate",
        "--customers",
        "300",
        "--seed",
        "11",
        "--out",
        s(&two),
        "--threads",
        "2",
        "--quiet",
    ]);
    for name in [
        "transactions.csv",
        "events.csv",
        "customers.csv",
        "truth.csv",
    ] {
        assert_eq!(
            std::fs::read(one.join(name)).unwrap(),
            std::fs::read(two.join(name)).unwrap(),
            "{name}"
        );
    }
    let other = dir.path().join("other");
    ok(&[
        "generate",
        "--customers",
        "300",
        "--seed",
        "12",
        "--out",
        s(&other),
        "--quiet",
    ]);
    assert_ne!(
        std::fs::read(one.join("truth.csv")).unwrap(),
        std::fs::read(other.join("truth.csv")).unwrap()
    );

    let f1 = dir.path().join("f1.parquet");
    let f2 = dir.path().join("f2.parquet");
    let tx = one.join("transactions.csv");
    ok(&[
        "features",
        "--transactions",
        s(&tx),
        "--out",
        s(&f1),
        "--threads",
        "1",
    ]);
    ok(&[
        "features",
        "--transactions",
        s(&tx),
        "--out",
        s(&f2),
        "--threads",
        "2",
    ]);
    assert_eq!(std::fs::read(&f1).unwrap(), std::fs::read(&f2).unwrap());
}

#[test]
fn mapped_columns_delimiter_and_timestamp_formats() {
    let dir = tempfile::tempdir().unwrap();
    let tx = write(
        dir.path(),
        "tx.txt",
        b"CustID;When;Value\nx;20240101;10\nx;2024-01-08T10:00:00+02:00;5\nx;1704931200;1\n",
    );
    let out = dir.path().join("f.csv");
    ok(&[
        "features",
        "--transactions",
        s(&tx),
        "--format",
        "csv",
        "--column",
        "customer_id=CustID",
        "--column",
        "timestamp=When",
        "--column",
        "amount=Value",
        "--time-unit",
        "days",
        "--out",
        s(&out),
    ]);
    let text = std::fs::read_to_string(&out).unwrap();
    let row: Vec<&str> = text.lines().nth(1).unwrap().split(',').collect();
    // Days 2024-01-01, 2024-01-08 and 2024-01-11: frequency 2, recency 10 days, T 10 days.
    assert_eq!(&row[..4], &["x", "2", "10", "10"], "{text}");
}

#[test]
fn holdout_requires_as_of_and_counts_rows_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let tx = write(dir.path(), "tx.csv", GOOD.as_bytes());
    let out = dir.path().join("f.csv");
    let err = features_of(&tx, &out, &["--holdout-end", "2024-02-01"]);
    assert!(err.contains("needs an explicit as-of"), "{err}");
    let report = features_of(
        &tx,
        &out,
        &["--as-of", "2024-01-04", "--holdout-end", "2024-02-01"],
    );
    assert!(report.contains("1 dated on or after as-of"), "{report}");
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.starts_with("customer_id,frequency"), "{text}");
    assert!(
        text.lines()
            .next()
            .unwrap()
            .ends_with("holdout_purchases,holdout_spend")
    );
    assert!(text.contains("\na,0,0,0.2857142857142857,0,"), "{text}");
    assert!(text.lines().nth(1).unwrap().ends_with(",1,5.5"), "{text}");
}

#[test]
fn bad_input_is_reported_with_file_row_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("f.csv");
    let cases: Vec<(&str, &[u8], &[&str])> = vec![
        ("empty.csv", b"", &["is empty"]),
        (
            "header_only.csv",
            b"customer_id,timestamp,amount\n",
            &["no data rows", "header_only.csv"],
        ),
        (
            "missing.csv",
            b"customer_id,date,amount\na,2024-01-01,1\n",
            &[
                "no column \"timestamp\"",
                "\"date\"",
                "--column timestamp=NAME",
            ],
        ),
        (
            "bad_date.csv",
            b"customer_id,timestamp,amount\na,2024-01-01,1\na,2024-13-45,1\n",
            &[
                "bad_date.csv",
                "line 3",
                "column \"timestamp\"",
                "\"2024-13-45\"",
            ],
        ),
        (
            "bad_amount.csv",
            b"customer_id,timestamp,amount\na,2024-01-01,12,5x\n",
            &["line 2", "has 4 fields but the header has 3"],
        ),
        (
            "comma_amount.csv",
            b"customer_id,timestamp,amount\na,2024-01-01,\"12,5\"\n",
            &["line 2", "column \"amount\"", "\"12,5\"", "not a number"],
        ),
        (
            "nan.csv",
            b"customer_id,timestamp,amount\na,2024-01-01,NaN\n",
            &["line 2", "not a finite number"],
        ),
        (
            "inf.csv",
            b"customer_id,timestamp,amount\na,2024-01-01,1\nb,2024-01-01,-inf\n",
            &["line 3", "not a finite number"],
        ),
        (
            "huge.csv",
            b"customer_id,timestamp,amount\na,2024-01-01,1e300\n",
            &["line 2", "out of range"],
        ),
        (
            "utf8.csv",
            b"customer_id,timestamp,amount\n\xff\xfe,2024-01-01,1\n",
            &["line 2", "column \"customer_id\"", "UTF-8"],
        ),
        (
            "dup_header.csv",
            b"customer_id,timestamp,amount,amount\na,2024-01-01,1,2\n",
            &["names the column \"amount\" twice"],
        ),
        (
            "blank_id.csv",
            b"customer_id,timestamp,amount\n,2024-01-01,1\n",
            &["line 2", "customer id is required"],
        ),
    ];
    for (name, content, expected) in cases {
        let tx = write(dir.path(), name, content);
        let message = fails(&["features", "--transactions", s(&tx), "--out", s(&out)]);
        for part in expected {
            assert!(message.contains(part), "{name}: {part:?} not in {message}");
        }
        assert!(!out.exists(), "{name}: no output on failure");
    }
    let missing = fails(&[
        "features",
        "--transactions",
        s(&dir.path().join("nope.csv")),
        "--out",
        s(&out),
    ]);
    assert!(missing.contains("does not exist"), "{missing}");
    let unknown_mapping = fails(&[
        "features",
        "--transactions",
        s(&dir.path().join("nan.csv")),
        "--column",
        "custid=x",
        "--out",
        s(&out),
    ]);
    assert!(
        unknown_mapping.contains("unknown field \"custid\""),
        "{unknown_mapping}"
    );
}

#[test]
fn the_first_bad_row_is_reported_even_with_many_threads() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("customer_id,timestamp,amount\n");
    for i in 0..300_000 {
        text += &format!("c{},2024-01-{:02},{}.5\n", i % 977, 1 + i % 28, i % 50);
    }
    text += "late,2024-01-01,oops\n";
    text += "later,2024-01-01,again\n";
    let tx = write(dir.path(), "big.csv", text.as_bytes());
    let out = dir.path().join("f.csv");
    let message = fails(&[
        "features",
        "--transactions",
        s(&tx),
        "--out",
        s(&out),
        "--threads",
        "3",
    ]);
    assert!(
        message.contains("line 300002") && message.contains("\"oops\""),
        "{message}"
    );
    let report = ok(&[
        "features",
        "--transactions",
        s(&tx),
        "--out",
        s(&out),
        "--on-error",
        "skip",
        "--threads",
        "3",
    ]);
    let stderr = String::from_utf8_lossy(&report.stderr);
    assert!(stderr.contains("2 bad rows SKIPPED"), "{stderr}");
    assert!(
        stderr.contains("line 300002") && stderr.contains("line 300003"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&out).unwrap().lines().count(), 978);
}

#[test]
fn refunds_are_not_errors_and_previous_output_survives_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let tx = write(
        dir.path(),
        "tx.csv",
        b"customer_id,timestamp,amount\na,2024-01-01,10\na,2024-01-02,-4\n",
    );
    let out = dir.path().join("f.csv");
    ok(&["features", "--transactions", s(&tx), "--out", s(&out)]);
    let before = std::fs::read_to_string(&out).unwrap();
    assert!(before.contains(",6,"), "net spend 6: {before}");
    let bad = write(
        dir.path(),
        "bad.csv",
        b"customer_id,timestamp,amount\na,2024-01-01,x\n",
    );
    fails(&["features", "--transactions", s(&bad), "--out", s(&out)]);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), before);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".partial"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn customers_file_duplicates_and_bad_consent() {
    let dir = tempfile::tempdir().unwrap();
    let tx = write(dir.path(), "tx.csv", GOOD.as_bytes());
    let out = dir.path().join("f.csv");
    let dup = write(
        dir.path(),
        "cust.csv",
        b"customer_id,country,marketing_consent\na,DE,yes\nb,FR,no\na,DE,yes\n",
    );
    let message = fails(&[
        "features",
        "--transactions",
        s(&tx),
        "--customers",
        s(&dup),
        "--out",
        s(&out),
    ]);
    assert!(
        message.contains("cust.csv")
            && message.contains("line 4")
            && message.contains("duplicate customer id (first seen on line 2)"),
        "{message}"
    );
    let skipped = ok(&[
        "features",
        "--transactions",
        s(&tx),
        "--customers",
        s(&dup),
        "--on-error",
        "skip",
        "--out",
        s(&out),
    ]);
    let stderr = String::from_utf8_lossy(&skipped.stderr);
    assert!(
        stderr.contains("customers: 2 rows read, 1 bad rows SKIPPED") && stderr.contains("line 4"),
        "{stderr}"
    );
    let consent = write(
        dir.path(),
        "consent.csv",
        b"customer_id,marketing_consent\na,maybe\n",
    );
    let message = fails(&[
        "features",
        "--transactions",
        s(&tx),
        "--customers",
        s(&consent),
        "--out",
        s(&out),
    ]);
    assert!(
        message.contains("line 2") && message.contains("\"maybe\""),
        "{message}"
    );

    let good = write(dir.path(), "good.csv", b"customer_id,country,age,signup,marketing_consent\na,DE,31,2023-12-01,yes\nc,FR,,2023-11-30,no\n");
    ok(&[
        "features",
        "--transactions",
        s(&tx),
        "--customers",
        s(&good),
        "--out",
        s(&out),
        "--as-of",
        "2024-01-11",
    ]);
    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].ends_with("marketing_consent,country_DE,country_FR,age,days_since_signup"),
        "{}",
        lines[0]
    );
    assert_eq!(
        lines.len(),
        4,
        "a, b from transactions and c (a prospect) from the customers file"
    );
    assert!(
        lines[1].starts_with("a,1,") && lines[1].ends_with(",1,1,0,31,40"),
        "{}",
        lines[1]
    );
    // b is not in the customers file: its attributes are unknown (empty), not 0.
    assert!(
        lines[2].starts_with("b,0,") && lines[2].ends_with(",0,,,,,,"),
        "{}",
        lines[2]
    );
    assert!(
        lines[3].starts_with("c,,,,,,0,0,") && lines[3].ends_with(",0,0,1,,41"),
        "{}",
        lines[3]
    );
}

#[test]
fn demo_runs_with_no_arguments() {
    let out = ok(&["demo"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("FEATURES  5000 customers"), "{stdout}");
    assert!(stdout.contains("loyal_high_spender"), "{stdout}");
    assert!(
        stdout.contains("RFM SEGMENTS") && stdout.contains("RULE SEGMENTS"),
        "{stdout}"
    );
    // Every path shown is where the file is once the run ends, never a staging folder.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stdout.contains(".partial") && !stderr.contains(".partial"),
        "{stdout}{stderr}"
    );
    let model = stdout
        .lines()
        .find_map(|l| l.strip_prefix("MODEL  trained in "))
        .and_then(|l| l.split(" into ").nth(1))
        .and_then(|l| l.split(' ').next())
        .expect("the model's folder is named");
    assert!(
        std::path::Path::new(model).join("manifest.json").is_file(),
        "{model}"
    );
}

/// `generate --order time`: the whole log in time order, the same bytes at any thread count,
/// recorded in generate.json so that the command there makes the same files.
#[test]
fn generate_in_time_order_is_recorded_and_thread_independent() {
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str, threads: &str| {
        let out = dir.path().join(name);
        ok(&[
            "generate",
            "--customers",
            "9000",
            "--seed",
            "3",
            "--order",
            "time",
            "--out",
            s(&out),
            "--threads",
            threads,
            "--quiet",
        ]);
        out
    };
    let one = run("one", "1");
    let two = run("two", "2");
    let log = std::fs::read_to_string(one.join("transactions.csv")).unwrap();
    assert_eq!(
        log,
        std::fs::read_to_string(two.join("transactions.csv")).unwrap()
    );
    let stamps: Vec<&str> = log
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap())
        .collect();
    assert!(stamps.windows(2).all(|w| w[0] <= w[1]), "time order");
    let record = std::fs::read_to_string(one.join("generate.json")).unwrap();
    assert!(record.contains("--order time"), "{record}");
    assert!(record.contains("\"order\": \"time\""), "{record}");
    let refused = fails(&[
        "generate",
        "--model",
        "bgnbd",
        "--parameters",
        "0.25,4,0.8,2.5",
        "--order",
        "time",
        "--out",
        s(&dir.path().join("model")),
    ]);
    assert!(refused.contains("--order"), "{refused}");
}
