#![allow(missing_docs)] // criterion_group! generates undocumented items.
//! Exact k-nearest-neighbour search in the setting of issue #6's target: 1M candidates, each
//! looking for its 10 nearest among 10k seeds, d = 16, f32 and f64. The peers (FAISS
//! `IndexFlatL2`, scikit-learn brute force) run on the same arrays via benches/knn_peers.py.
//!
//! `cargo bench -p lookalike-cluster --bench knn`

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use lookalike_cluster::k_nearest;
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

criterion_group!(benches, knn);
criterion_main!(benches);
