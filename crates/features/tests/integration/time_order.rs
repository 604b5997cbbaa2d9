//! A log in time order (one customer's rows spread over the whole file, as a real appended
//! log) gives the feature table its customer-ordered twin gives: same customers, same columns,
//! the same bits in every cell. Only the row order differs (first appearance in the file).

use std::path::Path;

use chrono::NaiveDate;
use lookalike_core::{ColumnMapping, InputKind, NoProgress};
use lookalike_features::{Extraction, FeatureInputs, FeatureParams, InputFile, extract};
use lookalike_synth::{GenerateParams, LogOrder, OutputFormat, generate};

fn extract_from(dir: &Path, extension: &str, params: &FeatureParams) -> Extraction {
    let file = |kind, name: &str| {
        InputFile::new(kind, dir.join(format!("{name}.{extension}")), None, None).unwrap()
    };
    let inputs = FeatureInputs {
        transactions: file(InputKind::Transactions, "transactions"),
        events: Some(file(InputKind::Events, "events")),
        customers: Some(file(InputKind::Customers, "customers")),
        mapping: ColumnMapping::default(),
    };
    extract(&inputs, params, &NoProgress).unwrap()
}

fn assert_same_table(a: &Extraction, b: &Extraction, what: &str) {
    let (a_table, b_table) = (&a.table, &b.table);
    let mut names = a_table.columns().to_vec();
    let mut other = b_table.columns().to_vec();
    names.sort();
    other.sort();
    assert_eq!(names, other, "{what}: the same columns");
    assert_eq!(
        a_table.ids().len(),
        b_table.ids().len(),
        "{what}: the same customers"
    );
    let columns: Vec<(usize, usize)> = names
        .iter()
        .map(|name| {
            (
                a_table.column_index(name).unwrap(),
                b_table.column_index(name).unwrap(),
            )
        })
        .collect();
    let (a_values, b_values) = (a_table.values(), b_table.values());
    for id in a_table.ids() {
        let (i, j) = (
            a_table.row_of(id.as_str()).unwrap(),
            b_table.row_of(id.as_str()).unwrap(),
        );
        for (name, &(p, q)) in names.iter().zip(&columns) {
            let (x, y) = (a_values[[i, p]], b_values[[j, q]]);
            assert!(
                x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()),
                "{what}: customer {id}, {name}: {x} vs {y}"
            );
        }
    }
    assert_eq!(a.holdout_weeks, b.holdout_weeks, "{what}: holdout weeks");
    assert_eq!(
        a.calibration_weeks, b.calibration_weeks,
        "{what}: calibration weeks"
    );
}

#[test]
fn customer_order_and_time_order_give_identical_features() {
    let dir = tempfile::tempdir().unwrap();
    let params = FeatureParams::new()
        .as_of(NaiveDate::from_ymd_opt(2025, 7, 1).unwrap())
        .holdout_end(NaiveDate::from_ymd_opt(2025, 10, 1).unwrap());
    for (format, extension) in [
        (OutputFormat::Csv, "csv"),
        (OutputFormat::Parquet, "parquet"),
    ] {
        let base = GenerateParams::new(10_000).seed(5).format(format);
        let by_customer = dir.path().join(format!("customer-{extension}"));
        let by_time = dir.path().join(format!("time-{extension}"));
        generate(&base, &by_customer, &NoProgress).unwrap();
        generate(&base.order(LogOrder::Time), &by_time, &NoProgress).unwrap();
        let a = extract_from(&by_customer, extension, &params);
        let b = extract_from(&by_time, extension, &params);
        assert!(a.table.ids().len() > 7_000);
        assert_ne!(
            a.table.ids()[..100],
            b.table.ids()[..100],
            "{extension}: rows follow first appearance, which the orders change"
        );
        assert_same_table(&a, &b, extension);
    }
}
