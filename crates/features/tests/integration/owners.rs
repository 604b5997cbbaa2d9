//! Each customer is aggregated by the worker its id hashes to, whichever worker parsed the row.
//! Whatever the thread count, a log gives the same table, the same row counts and the same bad
//! rows, named by the same line or row — rows sent to another worker included.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, StringArray};
use arrow_schema::{Field, Schema};
use lookalike_core::{ColumnMapping, FeatureTable, InputKind, NoProgress};
use lookalike_features::{FeatureInputs, FeatureParams, InputFile, OnBadRow, extract};
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;

/// Data lines (1-based, after the header) whose amount is unreadable.
const BAD_LINES: [usize; 4] = [7, 40_001, 40_002, 119_990];
const LINES: usize = 120_000;

/// A log in time order over 5,000 customers, large enough for several CSV blocks; customer 12
/// is also written `12.0`, which is the same customer.
fn rows() -> Vec<[String; 5]> {
    (1..=LINES)
        .map(|line| {
            let customer = (line * 7_919) % 5_000;
            let id = if customer == 12 && line % 2 == 0 {
                "12.0".to_string()
            } else {
                customer.to_string()
            };
            let day = 1 + line * 700 / LINES;
            let stamp = format!(
                "2024-{:02}-{:02} {:02}:{:02}:00",
                1 + (day / 28) % 12,
                1 + day % 28,
                line % 24,
                line % 60
            );
            let amount = if BAD_LINES.contains(&line) {
                "12,5x".to_string()
            } else if line % 11 == 0 {
                format!("-{}.{:02}", line % 40, line % 100)
            } else {
                format!("{}.{:02}", 5 + line % 90, line % 100)
            };
            let order = format!("o{}", line / 3);
            let category = ["books", "toys", "home"][line % 3].to_string();
            [id, stamp, amount, order, category]
        })
        .collect()
}

const HEADER: [&str; 5] = ["customer_id", "timestamp", "amount", "order_id", "category"];

fn write_csv(path: &Path, rows: &[[String; 5]]) {
    let mut text = HEADER.join(",") + "\n";
    for row in rows {
        let quoted: Vec<String> = row
            .iter()
            .map(|v| {
                if v.contains(',') {
                    format!("\"{v}\"")
                } else {
                    v.clone()
                }
            })
            .collect();
        writeln!(text, "{}", quoted.join(",")).unwrap();
    }
    std::fs::write(path, text).unwrap();
}

fn write_parquet(path: &Path, rows: &[[String; 5]]) {
    let columns: Vec<ArrayRef> = (0..HEADER.len())
        .map(|k| Arc::new(StringArray::from_iter_values(rows.iter().map(|r| &r[k]))) as ArrayRef)
        .collect();
    let schema = Arc::new(Schema::new(
        HEADER
            .iter()
            .map(|name| Field::new(*name, arrow_schema::DataType::Utf8, false))
            .collect::<Vec<_>>(),
    ));
    let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
    let properties = WriterProperties::builder()
        .set_max_row_group_row_count(Some(9_000))
        .build();
    let mut writer = ArrowWriter::try_new(
        std::fs::File::create(path).unwrap(),
        schema,
        Some(properties),
    )
    .unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
}

fn inputs(path: &Path) -> FeatureInputs {
    FeatureInputs {
        transactions: InputFile::new(InputKind::Transactions, path, None, None).unwrap(),
        events: None,
        customers: None,
        mapping: ColumnMapping::default(),
    }
}

fn params(threads: usize, on_bad_row: OnBadRow) -> FeatureParams {
    FeatureParams::new()
        .as_of(chrono::NaiveDate::from_ymd_opt(2025, 6, 1).unwrap())
        .threads(threads)
        .on_bad_row(on_bad_row)
}

fn assert_identical(a: &FeatureTable, b: &FeatureTable, what: &str) {
    assert_eq!(a.ids(), b.ids(), "{what}");
    assert_eq!(a.columns(), b.columns(), "{what}");
    for (x, y) in a.values().iter().zip(b.values().iter()) {
        assert!(x.to_bits() == y.to_bits(), "{what}: {x} vs {y}");
    }
}

fn check(path: &Path, first_bad: &str, every_bad: &[String]) {
    let skipping = extract(&inputs(path), &params(1, OnBadRow::Skip), &NoProgress).unwrap();
    let report = &skipping.inputs[0];
    assert_eq!(
        (report.rows, report.skipped),
        ((LINES - BAD_LINES.len()) as u64, BAD_LINES.len() as u64)
    );
    assert_eq!(skipping.table.len(), 5_000, "12 and 12.0 are one customer");
    for threads in [2, 3, 4] {
        let what = format!("{} with {threads} threads", path.display());
        let other = extract(&inputs(path), &params(threads, OnBadRow::Skip), &NoProgress).unwrap();
        assert_identical(&skipping.table, &other.table, &what);
        let other_report = &other.inputs[0];
        assert_eq!(
            (other_report.rows, other_report.skipped),
            (report.rows, report.skipped),
            "{what}"
        );
        let examples: Vec<String> = other_report
            .skip_examples
            .iter()
            .map(|e| e.to_string())
            .collect();
        assert_eq!(examples.len(), every_bad.len(), "{what}: {examples:?}");
        for (example, place) in examples.iter().zip(every_bad) {
            assert!(
                example.contains(place) && example.contains("12,5x"),
                "{what}: {example}"
            );
        }
        let failed = extract(&inputs(path), &params(threads, OnBadRow::Fail), &NoProgress)
            .unwrap_err()
            .to_string();
        assert!(
            failed.contains(first_bad) && failed.contains("\"amount\""),
            "{what}: {failed}"
        );
    }
}

#[test]
fn csv_rows_sent_to_their_owner_keep_their_line_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tx.csv");
    write_csv(&path, &rows());
    assert!(
        std::fs::metadata(&path).unwrap().len() > 4 << 20,
        "several blocks"
    );
    // Line numbers count the header.
    let places: Vec<String> = BAD_LINES
        .iter()
        .map(|l| format!("line {}", l + 1))
        .collect();
    check(&path, &places[0], &places);
}

#[test]
fn parquet_rows_sent_to_their_owner_keep_their_row_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tx.parquet");
    write_parquet(&path, &rows());
    let places: Vec<String> = BAD_LINES.iter().map(|l| format!("row {l}")).collect();
    check(&path, &places[0], &places);
}
