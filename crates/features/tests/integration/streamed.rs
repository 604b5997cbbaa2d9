//! Features filled a chunk of customers at a time (`extract_with`, `write_feature_rows`) are
//! the features `extract` fills at once: the same rows, and files with the same bytes.

use std::path::PathBuf;

use chrono::NaiveDate;
use lookalike_core::{ColumnMapping, FeatureTable, InputKind, NoProgress, Pseudonymizer};
use lookalike_features::{
    FeatureError, FeatureInputs, FeatureParams, InputFile, extract, extract_with,
    write_feature_rows, write_feature_table,
};

fn sample(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/sample")
        .join(name)
}

/// Transactions, events and customers: every kind of column (counts, shares, indicators,
/// one-hot attributes, holdout targets).
fn inputs() -> FeatureInputs {
    let file = |kind, name: &str| InputFile::new(kind, sample(name), None, None).unwrap();
    FeatureInputs {
        transactions: file(InputKind::Transactions, "transactions.csv"),
        events: Some(file(InputKind::Events, "events.csv")),
        customers: Some(file(InputKind::Customers, "customers.csv")),
        mapping: ColumnMapping::default(),
    }
}

fn params() -> FeatureParams {
    let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
    FeatureParams::new()
        .as_of(date(2025, 7, 1))
        .holdout_end(date(2025, 10, 1))
}

fn assert_bits_equal(a: &FeatureTable, b: &FeatureTable) {
    assert_eq!(a.ids(), b.ids());
    assert_eq!(a.columns(), b.columns());
    for (x, y) in a.values().iter().zip(b.values()) {
        assert!(x.to_bits() == y.to_bits(), "{x} vs {y}");
    }
}

#[test]
fn chunks_of_rows_put_together_are_the_whole_table() {
    let whole = extract(&inputs(), &params(), &NoProgress).unwrap();
    let parts = extract_with(&inputs(), &params(), &NoProgress, |rows| {
        assert_eq!(rows.len(), whole.table.len());
        assert_eq!(rows.ids(), whole.table.ids());
        assert_eq!(rows.schema, whole.schema);
        assert_eq!(rows.holdout_weeks, whole.holdout_weeks);
        assert_eq!(rows.calibration_weeks, whole.calibration_weeks);
        // Uneven chunks, an empty one, and the last row alone.
        let n = rows.len();
        let cuts = [0, 1, 2, 999, 999, 2500, n - 1, n];
        Ok::<_, Box<FeatureError>>(
            cuts.windows(2)
                .map(|w| rows.table(w[0]..w[1]))
                .collect::<Vec<_>>(),
        )
    })
    .unwrap();
    assert!(whole.holdout_weeks.iter().sum::<f64>() > 0.0);
    assert_eq!(parts[3].len(), 0);
    let mut at = 0;
    for part in &parts {
        let rows: Vec<usize> = (at..at + part.len()).collect();
        assert_bits_equal(part, &whole.table.select_rows(&rows));
        at += part.len();
    }
    assert_eq!(at, whole.table.len());
}

/// Values stored in tiles for the writer read back, column by column, as the table's columns,
/// for runs of rows that start, end and span tiles anywhere.
#[test]
fn column_tiles_hold_the_tables_columns() {
    extract_with(&inputs(), &params(), &NoProgress, |rows| {
        let n = rows.len();
        assert!(n > 2100, "the sample spans more than two tiles");
        for range in [0..n, 5..2100, 1023..1025, 0..1, 7..7, n - 1..n] {
            let table = rows.table(range.clone());
            let tiles = rows.column_tiles(range.clone());
            for j in 0..rows.columns().len() {
                let from_tiles: Vec<u64> = tiles.column(j).map(f64::to_bits).collect();
                let from_table: Vec<u64> = table
                    .values()
                    .column(j)
                    .iter()
                    .map(|v| v.to_bits())
                    .collect();
                assert_eq!(from_tiles, from_table, "column {j}, rows {range:?}");
            }
        }
        Ok::<_, Box<FeatureError>>(())
    })
    .unwrap();
}

#[test]
fn pseudonymized_rows_are_the_pseudonymized_table() {
    let key = Pseudonymizer::new(b"a key of the tests, 32 bytes long").unwrap();
    let whole = extract(&inputs(), &params(), &NoProgress)
        .unwrap()
        .pseudonymized(&key)
        .unwrap();
    let (table, schema) = extract_with(&inputs(), &params(), &NoProgress, |rows| {
        let rows = rows.pseudonymized(&key);
        Ok::<_, Box<FeatureError>>((rows.table(0..rows.len()), rows.schema))
    })
    .unwrap();
    assert_bits_equal(&table, &whole.table);
    assert_eq!(schema, whole.schema);
}

#[test]
fn rows_written_as_filled_are_the_bytes_of_the_whole_table() {
    let dir = tempfile::tempdir().unwrap();
    let whole = extract(&inputs(), &params(), &NoProgress).unwrap();
    for extension in ["csv", "parquet"] {
        let at_once = dir.path().join(format!("whole.{extension}"));
        let streamed = dir.path().join(format!("streamed.{extension}"));
        write_feature_table(&whole.table, &whole.schema, &at_once, None).unwrap();
        extract_with(&inputs(), &params(), &NoProgress, |rows| {
            write_feature_rows(&rows, &streamed, None).map_err(Box::new)
        })
        .unwrap();
        assert_eq!(
            std::fs::read(&at_once).unwrap(),
            std::fs::read(&streamed).unwrap(),
            "{extension}"
        );
        let schema = |path: &std::path::Path| {
            lookalike_core::FeatureSchema::read(&lookalike_core::FeatureSchema::path_beside(path))
                .unwrap()
        };
        assert_eq!(schema(&at_once), schema(&streamed), "{extension}");
    }
}
