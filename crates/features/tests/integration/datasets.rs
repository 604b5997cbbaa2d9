//! A log or customers file split over files — a folder of part files (as Spark, DuckDB and polars
//! write them, with `_SUCCESS` beside) or a glob — gives the same features as the one file, and a
//! bad row is named in its own file.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use lookalike_core::{ColumnMapping, InputKind, NoProgress};
use lookalike_features::{FeatureInputs, FeatureParams, InputFile, extract};

fn sample(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/sample")
        .join(name)
}

/// `file` split into `parts` CSV files (each with the header) in `dir`, lines in order, plus a
/// `_SUCCESS` marker.
fn split(file: &Path, dir: &Path, parts: usize) {
    std::fs::create_dir_all(dir).unwrap();
    let text = std::fs::read_to_string(file).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let rows: Vec<&str> = lines.collect();
    let size = rows.len().div_ceil(parts);
    for (k, chunk) in rows.chunks(size).enumerate() {
        let mut body = format!("{header}\n");
        for row in chunk {
            body += row;
            body.push('\n');
        }
        std::fs::write(dir.join(format!("part-{k:05}.csv")), body).unwrap();
    }
    std::fs::write(dir.join("_SUCCESS"), "").unwrap();
}

/// Same ids, columns and values to the bit (NaN equal to NaN).
fn assert_same(a: &lookalike_core::FeatureTable, b: &lookalike_core::FeatureTable) {
    assert_eq!(a.ids(), b.ids());
    assert_eq!(a.columns(), b.columns());
    let bits = |t: &lookalike_core::FeatureTable| -> Vec<u64> {
        t.values().iter().map(|v| v.to_bits()).collect()
    };
    assert!(bits(a) == bits(b), "values differ");
}

fn params() -> FeatureParams {
    FeatureParams::new().as_of(NaiveDate::from_ymd_opt(2026, 1, 1).unwrap())
}

fn inputs(transactions: &Path, events: &Path, customers: &Path) -> FeatureInputs {
    let file = |kind, path: &Path| InputFile::new(kind, path, None, None).unwrap();
    FeatureInputs {
        transactions: file(InputKind::Transactions, transactions),
        events: Some(file(InputKind::Events, events)),
        customers: Some(file(InputKind::Customers, customers)),
        mapping: ColumnMapping::default(),
    }
}

#[test]
fn a_table_in_part_files_is_the_table_in_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let (tx, ev, cu) = (
        dir.path().join("tx"),
        dir.path().join("ev"),
        dir.path().join("cu"),
    );
    split(&sample("transactions.csv"), &tx, 4);
    split(&sample("events.csv"), &ev, 3);
    split(&sample("customers.csv"), &cu, 2);
    let whole = extract(
        &inputs(
            &sample("transactions.csv"),
            &sample("events.csv"),
            &sample("customers.csv"),
        ),
        &params(),
        &NoProgress,
    )
    .unwrap();
    let folders = extract(&inputs(&tx, &ev, &cu), &params(), &NoProgress).unwrap();
    assert_same(&folders.table, &whole.table);
    let globbed = extract(
        &inputs(
            &tx.join("part-*.csv"),
            &ev.join("*.csv"),
            &cu.join("part-0000?.csv"),
        ),
        &params(),
        &NoProgress,
    )
    .unwrap();
    assert_same(&globbed.table, &whole.table);
}

#[test]
fn a_bad_row_is_named_in_its_part_file_and_empty_datasets_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let tx = dir.path().join("tx");
    split(&sample("transactions.csv"), &tx, 3);
    let part = tx.join("part-00001.csv");
    let mut text = std::fs::read_to_string(&part).unwrap();
    text = text.replacen('\n', "\nC00000001,2025-13-45,12.5\n", 1);
    std::fs::write(&part, text).unwrap();
    let input = InputFile::new(InputKind::Transactions, &tx, None, None).unwrap();
    let error = extract(
        &FeatureInputs {
            transactions: input,
            events: None,
            customers: None,
            mapping: ColumnMapping::default(),
        },
        &params(),
        &NoProgress,
    )
    .unwrap_err()
    .to_string();
    assert!(
        error.contains("part-00001.csv") && error.contains("line 2"),
        "{error}"
    );
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    std::fs::write(empty.join("_SUCCESS"), "").unwrap();
    let error = InputFile::new(InputKind::Transactions, &empty, None, None)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("no .parquet or .csv file in the folder"),
        "{error}"
    );
    let error = InputFile::new(
        InputKind::Transactions,
        tx.join("nothing-*.csv"),
        None,
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(
        error.contains("no .parquet or .csv file matches"),
        "{error}"
    );
}
