#![allow(missing_docs)] // criterion_group! generates undocumented items.
//! Feature extraction throughput on a generated base (core features, no events), from CSV and
//! from Parquet. The whole-tool comparison with polars on 1M customers is in BENCHMARKS.md.
//!
//! `cargo bench -p lookalike-features --bench features`

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use lookalike_core::{ColumnMapping, InputKind, NoProgress};
use lookalike_features::{FeatureInputs, FeatureParams, InputFile, extract};
use lookalike_synth::{GenerateParams, OutputFormat, generate};

const CUSTOMERS: u64 = 50_000;

fn bench_features(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temporary folder");
    let mut group = c.benchmark_group("features");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    for (format, extension) in [
        (OutputFormat::Csv, "csv"),
        (OutputFormat::Parquet, "parquet"),
    ] {
        let folder = dir.path().join(extension);
        let summary = generate(
            &GenerateParams::new(CUSTOMERS).seed(7).format(format),
            &folder,
            &NoProgress,
        )
        .expect("generated base");
        group.throughput(Throughput::Elements(summary.transactions));
        let inputs = FeatureInputs {
            transactions: InputFile::new(
                InputKind::Transactions,
                folder.join(format!("transactions.{extension}")),
                None,
                None,
            )
            .expect("input"),
            events: None,
            customers: None,
            mapping: ColumnMapping::default(),
        };
        let params = FeatureParams::new().as_of(summary.observation_end);
        group.bench_function(
            format!(
                "{extension}/customers{CUSTOMERS}/lines{}",
                summary.transactions
            ),
            |b| b.iter(|| extract(&inputs, &params, &NoProgress).expect("features")),
        );
    }
    group.finish();
}

criterion_group!(benches, bench_features);
criterion_main!(benches);
