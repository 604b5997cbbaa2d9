//! The CDNOW 1/10 sample against the numbers published with it (Fader, Hardie & Lee 2005;
//! see `data/cdnow/README.md`).

use std::path::PathBuf;

use chrono::NaiveDate;
use lookalike_core::{ColumnMapping, InputKind, NoProgress};
use lookalike_features::{FeatureInputs, FeatureParams, InputFile, TimeUnit, extract};

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/cdnow")
        .join(name)
}

fn cdnow_inputs() -> FeatureInputs {
    FeatureInputs {
        transactions: InputFile::new(
            InputKind::Transactions,
            data("cdnow_transactions.csv"),
            None,
            None,
        )
        .unwrap(),
        events: None,
        customers: None,
        mapping: ColumnMapping::parse(&["timestamp=date", "amount=dollar_value", "quantity=cds"])
            .unwrap(),
    }
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

#[test]
fn committed_csv_is_the_original_sample() {
    let original = std::fs::read_to_string(data("CDNOW_sample.txt")).unwrap();
    let converted: Vec<String> = std::iter::once("customer_id,date,cds,dollar_value".to_string())
        .chain(original.lines().map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            format!(
                "{},{},{},{}",
                f[1].parse::<u32>().unwrap(),
                f[2],
                f[3],
                f[4]
            )
        }))
        .collect();
    let committed = std::fs::read_to_string(data("cdnow_transactions.csv")).unwrap();
    assert_eq!(committed.lines().collect::<Vec<_>>(), converted);
    assert_eq!(converted.len(), 6_920);
}

#[test]
fn btyd_summary_matches_the_published_numbers() {
    for threads in [1, 2, 3] {
        let params = FeatureParams::new()
            .as_of(date(1997, 10, 1))
            .holdout_end(date(1998, 7, 1))
            .time_unit(TimeUnit::Weeks)
            .threads(threads);
        let extraction = extract(&cdnow_inputs(), &params, &NoProgress).unwrap();
        let table = &extraction.table;
        assert_eq!(table.len(), 2_357, "customers");
        let frequency = table.column("frequency").unwrap();
        assert_eq!(frequency.sum(), 2_457.0, "calibration repeat purchases");
        assert_eq!(
            frequency.iter().filter(|x| **x > 0.0).count(),
            946,
            "repeat buyers"
        );
        assert_eq!(table.column("holdout_purchases").unwrap().sum(), 1_882.0);

        let first = table.row_of("1").unwrap();
        let value = |name: &str| table.values()[[first, table.column_index(name).unwrap()]];
        assert_eq!(value("frequency"), 2.0);
        assert_eq!((value("recency") * 100.0).round() / 100.0, 30.43);
        assert_eq!((value("T") * 100.0).round() / 100.0, 38.86);
        // Customer 1's repeat days were 1997-01-18 ($29.73) and 1997-08-02 ($14.96).
        assert!((value("monetary_value") - (29.73 + 14.96) / 2.0).abs() < 1e-9);
        // Holdout: 1997-12-12, $26.48.
        assert_eq!(value("holdout_purchases"), 1.0);
        assert!((value("holdout_spend") - 26.48).abs() < 1e-9);
        assert_eq!(extraction.as_of, date(1997, 10, 1));
    }
}

#[test]
fn days_unit_scales_recency_and_t_by_seven() {
    let weeks = extract(
        &cdnow_inputs(),
        &FeatureParams::new().as_of(date(1997, 10, 1)),
        &NoProgress,
    )
    .unwrap();
    let days = extract(
        &cdnow_inputs(),
        &FeatureParams::new()
            .as_of(date(1997, 10, 1))
            .time_unit(TimeUnit::Days),
        &NoProgress,
    )
    .unwrap();
    let t_weeks = weeks.table.column("T").unwrap();
    let t_days = days.table.column("T").unwrap();
    for (w, d) in t_weeks.iter().zip(t_days.iter()) {
        assert!((w * 7.0 - d).abs() < 1e-9);
    }
    let customer_1 = days.table.row_of("1").unwrap();
    assert_eq!(
        days.table.values()[[customer_1, days.table.column_index("T").unwrap()]],
        272.0
    );
}
