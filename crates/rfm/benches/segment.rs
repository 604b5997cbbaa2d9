#![allow(missing_docs)] // criterion_group! generates undocumented items.
//! `segment` on 10M customers with the ten rules of benches/rfm_rules.toml, in memory.
//!
//! `cargo bench -p lookalike-rfm --bench segment`

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use lookalike_core::{CustomerId, FeatureTable};
use lookalike_rfm::{RuleSet, SegmentParams, segment};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const CUSTOMERS: usize = 10_000_000;
const COLUMNS: [&str; 12] = [
    "frequency",
    "monetary_value",
    "days_since_last_purchase",
    "orders",
    "total_spend",
    "mean_gap_days",
    "orders_30d",
    "views_30d",
    "abandoned_carts_30d",
    "days_since_last_event",
    "email_open_rate",
    "marketing_consent",
];

/// A base like the one benches/rfm_pandas.py makes, stored column by column as Parquet tables
/// are read.
fn table() -> FeatureTable {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let n = CUSTOMERS;
    let mut columns = vec![Vec::with_capacity(n); COLUMNS.len()];
    for _ in 0..n {
        let buyer = rng.random_bool(0.8);
        let orders = if buyer {
            (1.0 + (-rng.random::<f64>().ln() / 0.29).floor()).min(60.0)
        } else {
            0.0
        };
        let days = if buyer {
            rng.random_range(0..1095) as f64
        } else {
            f64::NAN
        };
        let spend = if buyer {
            orders * rng.random_range(5.0..120.0)
        } else {
            0.0
        };
        let nan = f64::NAN;
        let row = [
            if buyer { orders - 1.0 } else { nan },
            if orders > 1.0 {
                spend / orders
            } else if buyer {
                0.0
            } else {
                nan
            },
            days,
            orders,
            spend,
            if orders > 1.0 {
                rng.random_range(5..300) as f64
            } else {
                nan
            },
            if buyer && days < 30.0 { 1.0 } else { 0.0 },
            rng.random_range(0..4) as f64,
            (rng.random::<f64>() < 0.1) as u8 as f64,
            if rng.random_bool(0.9) {
                rng.random_range(0..400) as f64
            } else {
                nan
            },
            if rng.random_bool(0.6) {
                rng.random::<f64>()
            } else {
                nan
            },
            (rng.random::<f64>() < 0.6) as u8 as f64,
        ];
        for (column, value) in columns.iter_mut().zip(row) {
            column.push(value);
        }
    }
    let ids = (0..n)
        .map(|i| CustomerId::from(format!("C{i:09}")))
        .collect();
    let values = Array2::from_shape_vec((COLUMNS.len(), n), columns.concat())
        .expect("shape")
        .reversed_axes();
    FeatureTable::new(ids, COLUMNS.iter().map(|c| c.to_string()).collect(), values).expect("table")
}

fn bench_segment(c: &mut Criterion) {
    let table = table();
    let rules_path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../benches/rfm_rules.toml");
    let rules = RuleSet::from_toml(&std::fs::read_to_string(rules_path).expect("rules file"))
        .expect("rules");
    let mut group = c.benchmark_group("segment");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    group.bench_function(format!("rules10/bins5/n{CUSTOMERS}"), |b| {
        b.iter(|| segment(&table, &rules, &SegmentParams::new()).expect("segmentation"))
    });
    group.finish();
}

criterion_group!(benches, bench_segment);
criterion_main!(benches);
