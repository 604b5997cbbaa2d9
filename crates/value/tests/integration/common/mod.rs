//! The CDNOW sample as the tests and the Pareto bench read it (the bench includes this file by
//! path): its BTYD summary, and the subsamples `benches/pareto_subsamples.py` drew for
//! lifetimes' reference fits.

use std::path::PathBuf;

use chrono::NaiveDate;
use lookalike_core::{ColumnMapping, FeatureTable, InputKind, NoProgress};
use lookalike_features::{FeatureInputs, FeatureParams, InputFile, TimeUnit, extract};
use lookalike_value::RepeatData;

/// A file of the repository, from this crate.
pub fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

/// The features of the CDNOW sample: calibration to 1997-09-30, weeks.
pub fn cdnow_features() -> FeatureTable {
    let inputs = FeatureInputs {
        transactions: InputFile::new(
            InputKind::Transactions,
            repo("data/cdnow/cdnow_transactions.csv"),
            None,
            None,
        )
        .unwrap(),
        events: None,
        customers: None,
        mapping: ColumnMapping::parse(&["timestamp=date", "amount=dollar_value"]).unwrap(),
    };
    let params = FeatureParams::new()
        .as_of(NaiveDate::from_ymd_opt(1997, 10, 1).unwrap())
        .time_unit(TimeUnit::Weeks);
    extract(&inputs, &params, &NoProgress).unwrap().table
}

/// The 32-bit key that orders customers for subsample `seed` (the hash of
/// `benches/pareto_subsamples.py`).
fn subsample_key(customer: u64, seed: u64) -> u64 {
    const MASK: u64 = 0xffff_ffff;
    let mut h = (customer.wrapping_mul(2_654_435_761) + seed * 2_246_822_519) & MASK;
    h ^= h >> 15;
    h = h.wrapping_mul(2_246_822_519) & MASK;
    h ^ (h >> 13)
}

/// The `size` customers of `table` with the smallest keys for `seed`, as repeat-purchase data.
pub fn subsample(table: &FeatureTable, size: usize, seed: u64) -> RepeatData {
    let ids: Vec<u64> = table
        .ids()
        .iter()
        .map(|id| id.as_str().parse().unwrap())
        .collect();
    let mut order: Vec<usize> = (0..ids.len()).collect();
    order.sort_by_key(|&row| subsample_key(ids[row], seed));
    order.truncate(size);
    let pick = |name: &str| {
        let column = table.column(name).unwrap();
        order.iter().map(|&row| column[row]).collect::<Vec<_>>()
    };
    RepeatData::from_columns(&pick("frequency"), &pick("recency"), &pick("T")).unwrap()
}
