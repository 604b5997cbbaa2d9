#![allow(missing_docs)] // criterion_group! generates undocumented items.
//! k-means on 1M × 16 Gaussian blobs with k = 64, the setting of issue #4's targets:
//! 20 fixed Lloyd iterations from the same start (f32 and f64), Hamerly to convergence,
//! the initialisations, and exact silhouette on 100k points.
//!
//! `cargo bench -p lookalike-cluster --bench kmeans`

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use lookalike_cluster::{Algorithm, Init, KMeansParams, silhouette};
use ndarray::{Array2, Axis, Slice};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

const POINTS: usize = 1_000_000;
const COLUMNS: usize = 16;
const K: usize = 64;

/// 64 blobs with overlap, so that Lloyd does not converge strictly within 20 iterations.
fn blobs() -> Array2<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let centers = Array2::from_shape_fn((K, COLUMNS), |_| rng.random_range(-10.0..10.0));
    let noise = Normal::new(0.0, 3.0).unwrap();
    let mut data = Array2::zeros((POINTS, COLUMNS));
    for (i, mut row) in data.rows_mut().into_iter().enumerate() {
        let center = centers.row(i % K);
        for (v, c) in row.iter_mut().zip(center) {
            *v = c + noise.sample(&mut rng);
        }
    }
    data
}

fn kmeans(c: &mut Criterion) {
    let data64 = blobs();
    let data32 = data64.mapv(|v| v as f32);
    let params = |algorithm| {
        KMeansParams::new(K)
            .max_iter(20)
            .tol(0.0)
            .algorithm(algorithm)
            .validate()
            .unwrap()
    };
    let start64 = KMeansParams::new(K)
        .init(Init::KMeansParallel)
        .validate()
        .unwrap()
        .initial_centroids(data64.view(), None)
        .unwrap();
    let start32 = start64.mapv(|v| v as f32);
    let mut group = c.benchmark_group("kmeans_1m_x16_k64");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    for (name, algorithm) in [("lloyd", Algorithm::Lloyd), ("hamerly", Algorithm::Hamerly)] {
        group.bench_function(format!("{name}20/f64"), |b| {
            b.iter(|| {
                params(algorithm)
                    .fit_from(data64.view(), None, start64.clone())
                    .unwrap()
            })
        });
        group.bench_function(format!("{name}20/f32"), |b| {
            b.iter(|| {
                params(algorithm)
                    .fit_from(data32.view(), None, start32.clone())
                    .unwrap()
            })
        });
    }
    for (name, init) in [
        ("kmeans++", Init::KMeansPlusPlus),
        ("kmeans-par", Init::KMeansParallel),
    ] {
        let init_params = KMeansParams::new(K).init(init).validate().unwrap();
        group.bench_function(format!("init/{name}/f64"), |b| {
            b.iter(|| init_params.initial_centroids(data64.view(), None).unwrap())
        });
        group.bench_function(format!("init/{name}/f32"), |b| {
            b.iter(|| init_params.initial_centroids(data32.view(), None).unwrap())
        });
    }
    let fit = KMeansParams::new(K)
        .init(Init::KMeansParallel)
        .algorithm(Algorithm::Hamerly)
        .validate()
        .unwrap();
    group.bench_function("fit/kmeans-par+hamerly/f32", |b| {
        b.iter(|| fit.fit(data32.view(), None).unwrap())
    });
    group.finish();

    let sample = data64.slice_axis(Axis(0), Slice::from(0..100_000));
    let labels = fit.fit(sample, None).unwrap().predict(sample).0;
    let sample32 = sample.mapv(|v| v as f32);
    let mut group = c.benchmark_group("silhouette");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(30));
    group.bench_function("exact/100k_x16_k64", |b| {
        b.iter(|| silhouette(sample, &labels))
    });
    group.bench_function("exact/100k_x16_k64/f32", |b| {
        b.iter(|| silhouette(sample32.view(), &labels))
    });
    // The fits the silhouette is compared with: the same 100k points, and the 1M above.
    group.bench_function("fit/100k_x16_k64/f64", |b| {
        b.iter(|| fit.fit(sample, None).unwrap())
    });
    group.bench_function("fit/1m_x16_k64/f64", |b| {
        b.iter(|| fit.fit(data64.view(), None).unwrap())
    });
    group.finish();
}

criterion_group!(benches, kmeans);
criterion_main!(benches);
