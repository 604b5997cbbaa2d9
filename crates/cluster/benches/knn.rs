#![allow(missing_docs)] // criterion_group! generates undocumented items.
//! Exact k-nearest-neighbour search in the setting of issue #6's target: 1M candidates, each
//! looking for its 10 nearest among 10k seeds, d = 16, f32 and f64. The peers (FAISS
//! `IndexFlatL2`, scikit-learn brute force) run on the same arrays via benches/knn_peers.py.
//!
//! `cargo bench -p lookalike-cluster --bench knn`

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use lookalike_cluster::{IvfIndex, k_nearest};
use ndarray::Array2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

const QUERIES: usize = 1_000_000;
const POINTS: usize = 10_000;
const COLUMNS: usize = 16;
const K: usize = 10;

fn gaussian(rows: usize, seed: u64) -> Array2<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let normal = Normal::new(0.0, 1.0).unwrap();
    Array2::from_shape_fn((rows, COLUMNS), |_| normal.sample(&mut rng))
}

fn knn(c: &mut Criterion) {
    let queries = gaussian(QUERIES, 1);
    let points = gaussian(POINTS, 2);
    let (queries32, points32) = (queries.mapv(|v| v as f32), points.mapv(|v| v as f32));
    let mut group = c.benchmark_group("knn");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(30))
        .throughput(Throughput::Elements(QUERIES as u64));
    group.bench_function("exact/q1000000/p10000/d16/k10/f32", |b| {
        b.iter(|| k_nearest(queries32.view(), points32.view(), K).unwrap())
    });
    group.bench_function("exact/q1000000/p10000/d16/k10/f64", |b| {
        b.iter(|| k_nearest(queries.view(), points.view(), K).unwrap())
    });
    group.finish();
}

/// The approximate index on 1M × 16 Gaussian points (no cluster structure: the hard case for
/// an inverted file), 10k queries, k = 10: build time, and recall@10 against the exact search
/// at several probe counts (printed once).
fn ivf(c: &mut Criterion) {
    let points = gaussian(QUERIES, 3).mapv(|v| v as f32);
    let queries = gaussian(10_000, 4).mapv(|v| v as f32);
    let lists = 4096;
    let exact = k_nearest(queries.view(), points.view(), K).unwrap();
    let index = IvfIndex::build(points.view(), lists, 0).unwrap();
    for probes in [32, 64, 128, 256] {
        let began = std::time::Instant::now();
        let found = index.search(queries.view(), K, probes).unwrap();
        let elapsed = began.elapsed().as_secs_f64();
        let hits: usize = (0..queries.nrows())
            .map(|q| {
                let truth: std::collections::HashSet<u32> =
                    exact.indices.row(q).iter().copied().collect();
                found
                    .indices
                    .row(q)
                    .iter()
                    .filter(|i| truth.contains(i))
                    .count()
            })
            .sum();
        eprintln!(
            "ivf lists {lists} probes {probes}: recall@10 {:.4}, search {:.2} s ({:.0} queries/s)",
            hits as f64 / (queries.nrows() * K) as f64,
            elapsed,
            queries.nrows() as f64 / elapsed
        );
    }
    let mut group = c.benchmark_group("ivf");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(30));
    group.bench_function("build/n1000000/d16/lists4096/f32", |b| {
        b.iter(|| IvfIndex::build(points.view(), lists, 0).unwrap())
    });
    group.finish();
}

criterion_group!(benches, knn, ivf);
criterion_main!(benches);
