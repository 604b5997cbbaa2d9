//! The algorithm variants against plain Lloyd and against each other: Hamerly and the blocked
//! SIMD Lloyd give the same result as a naive Lloyd from the same start, f32 agrees with f64,
//! mini-batch and k-means‖ recover blobs, every variant is the same at any thread count.

use linfa::prelude::*;
use lookalike_cluster::{
    Algorithm, Init, KMeansParams, adjusted_rand_index, cluster_profiles, fit_with_linfa,
    sampled_silhouette, silhouette,
};
use lookalike_core::{CustomerId, FeatureTable};
use ndarray::{Array2, ArrayView2, array};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

/// Overlapping Gaussian blobs (so runs take many iterations), with the truth.
fn blobs(
    blobs: usize,
    per_blob: usize,
    d: usize,
    spread: f64,
    seed: u64,
) -> (Array2<f64>, Vec<usize>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let noise = Normal::new(0.0, spread).unwrap();
    let centers = Array2::from_shape_fn((blobs, d), |_| rng.random_range(-20.0..20.0));
    let mut data = Array2::zeros((blobs * per_blob, d));
    let mut truth = Vec::new();
    for i in 0..blobs * per_blob {
        let b = i % blobs;
        for j in 0..d {
            data[[i, j]] = centers[[b, j]] + noise.sample(&mut rng);
        }
        truth.push(b);
    }
    (data, truth)
}

/// Textbook Lloyd: exact distances point by point, means by cluster; `iterations` steps.
fn naive_lloyd(
    data: ArrayView2<'_, f64>,
    mut centroids: Array2<f64>,
    iterations: usize,
) -> (Array2<f64>, Vec<usize>) {
    let nearest = |centroids: &Array2<f64>| -> Vec<usize> {
        data.rows()
            .into_iter()
            .map(|row| {
                let distances: Vec<f64> = centroids
                    .rows()
                    .into_iter()
                    .map(|c| row.iter().zip(c).map(|(a, b)| (a - b) * (a - b)).sum())
                    .collect();
                (0..distances.len())
                    .min_by(|a, b| distances[*a].total_cmp(&distances[*b]))
                    .unwrap()
            })
            .collect()
    };
    for _ in 0..iterations {
        let labels = nearest(&centroids);
        let mut sums = Array2::<f64>::zeros(centroids.dim());
        let mut counts = vec![0.0; centroids.nrows()];
        for (row, l) in data.rows().into_iter().zip(&labels) {
            sums.row_mut(*l).scaled_add(1.0, &row);
            counts[*l] += 1.0;
        }
        for (j, count) in counts.iter().enumerate() {
            assert!(*count > 0.0, "the test data must not empty a cluster");
            centroids.row_mut(j).assign(&(&sums.row(j) / *count));
        }
    }
    let labels = nearest(&centroids);
    (centroids, labels)
}

fn start(data: ArrayView2<'_, f64>, k: usize) -> Array2<f64> {
    KMeansParams::new(k)
        .seed(3)
        .validate()
        .unwrap()
        .initial_centroids(data, None)
        .unwrap()
}

fn max_difference(a: &Array2<f64>, b: &Array2<f64>) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

#[test]
fn blocked_lloyd_and_hamerly_equal_naive_lloyd_from_the_same_start() {
    // 3,000 points: three blocks, the last one partial; d = 5 and k = 7 exercise the padding.
    let (data, _) = blobs(7, 430, 5, 6.0, 1);
    let initial = start(data.view(), 7);
    let (expected, expected_labels) = naive_lloyd(data.view(), initial.clone(), 12);
    for algorithm in [Algorithm::Lloyd, Algorithm::Hamerly] {
        let model = KMeansParams::new(7)
            .algorithm(algorithm)
            .max_iter(12)
            .tol(0.0)
            .validate()
            .unwrap()
            .fit_from(data.view(), None, initial.clone())
            .unwrap();
        assert_eq!(
            model.iterations(),
            12,
            "{algorithm:?} must not stop early here"
        );
        let difference = max_difference(model.centroids(), &expected);
        assert!(
            difference < 1e-9,
            "{algorithm:?}: centroids differ by {difference}"
        );
        let (labels, _) = model.predict(data.view());
        assert_eq!(labels, expected_labels, "{algorithm:?}");
    }
}

#[test]
fn hamerly_converges_to_the_same_model_as_lloyd() {
    let (data, _) = blobs(12, 500, 8, 5.0, 2);
    let initial = start(data.view(), 12);
    let fit = |algorithm| {
        KMeansParams::new(12)
            .algorithm(algorithm)
            .validate()
            .unwrap()
            .fit_from(data.view(), None, initial.clone())
            .unwrap()
    };
    let (lloyd, hamerly) = (fit(Algorithm::Lloyd), fit(Algorithm::Hamerly));
    assert_eq!(lloyd.iterations(), hamerly.iterations());
    assert!(max_difference(lloyd.centroids(), hamerly.centroids()) < 1e-9);
    assert!((lloyd.inertia() - hamerly.inertia()).abs() <= 1e-9 * lloyd.inertia());
}

#[test]
fn the_f32_path_agrees_with_f64() {
    let (data, _) = blobs(6, 700, 10, 4.0, 3);
    let initial = start(data.view(), 6);
    for algorithm in [Algorithm::Lloyd, Algorithm::Hamerly] {
        let params = KMeansParams::new(6)
            .algorithm(algorithm)
            .max_iter(20)
            .tol(0.0)
            .validate()
            .unwrap();
        let wide = params.fit_from(data.view(), None, initial.clone()).unwrap();
        let narrow = params
            .fit_from(
                data.mapv(|v| v as f32).view(),
                None,
                initial.mapv(|v| v as f32),
            )
            .unwrap();
        let relative = (wide.inertia() - narrow.inertia()).abs() / wide.inertia();
        assert!(
            relative < 1e-5,
            "{algorithm:?}: inertia differs by {relative}"
        );
        let (wide_labels, _) = wide.predict(data.view());
        let (narrow_labels, _) = narrow.predict(data.mapv(|v| v as f32).view());
        assert_eq!(
            adjusted_rand_index(&wide_labels, &narrow_labels).unwrap(),
            1.0
        );
    }
}

#[test]
fn minibatch_and_kmeans_parallel_recover_separated_blobs() {
    let (data, truth) = blobs(9, 800, 6, 1.0, 4);
    let reference = KMeansParams::new(9)
        .n_init(3)
        .validate()
        .unwrap()
        .fit(data.view(), None)
        .unwrap();
    for (init, algorithm) in [
        (Init::KMeansParallel, Algorithm::Lloyd),
        (Init::KMeansParallel, Algorithm::Hamerly),
        (Init::KMeansPlusPlus, Algorithm::MiniBatch),
    ] {
        let fitted = KMeansParams::new(9)
            .init(init)
            .algorithm(algorithm)
            .batch_size(512)
            .seed(5)
            .validate()
            .unwrap()
            .fit_predict(data.view(), None)
            .unwrap();
        let ari = adjusted_rand_index(&fitted.labels, &truth).unwrap();
        assert!(ari > 0.99, "{init:?} + {algorithm:?}: ARI {ari}");
        let excess = fitted.model.inertia() / reference.inertia() - 1.0;
        assert!(
            excess < 0.01,
            "{init:?} + {algorithm:?}: {excess} above the best inertia"
        );
    }
}

#[test]
fn every_variant_is_identical_at_any_thread_count() {
    let (data, _) = blobs(10, 600, 7, 5.0, 6);
    let data32 = data.mapv(|v| v as f32);
    for (init, algorithm) in [
        (Init::KMeansPlusPlus, Algorithm::Lloyd),
        (Init::KMeansParallel, Algorithm::Hamerly),
        (Init::Random, Algorithm::MiniBatch),
    ] {
        let params = KMeansParams::new(10)
            .init(init)
            .algorithm(algorithm)
            .batch_size(700)
            .seed(11)
            .validate()
            .unwrap();
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                (
                    params.fit_predict(data.view(), None).unwrap(),
                    params.fit_predict(data32.view(), None).unwrap(),
                )
            })
        };
        let (one, three) = (run(1), run(3));
        // The metrics too: the exact silhouette (6000 points: 24 tiles, 23 rounds of pairs).
        let silhouette_at = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| silhouette(data.view(), &one.0.labels))
        };
        assert_eq!(silhouette_at(1).to_bits(), silhouette_at(3).to_bits());
        assert_eq!(one.0.model, three.0.model, "{init:?} {algorithm:?} f64");
        assert_eq!(one.0.labels, three.0.labels);
        assert_eq!(one.1.model, three.1.model, "{init:?} {algorithm:?} f32");
    }
}

#[test]
fn weights_equal_duplicated_points_for_every_algorithm() {
    let (data, _) = blobs(4, 150, 3, 3.0, 7);
    let weights: Vec<f64> = (0..data.nrows()).map(|i| (i % 3) as f64).collect();
    let mut rows = Vec::new();
    for (i, w) in weights.iter().enumerate() {
        for _ in 0..*w as usize {
            rows.push(i);
        }
    }
    let duplicated = data.select(ndarray::Axis(0), &rows);
    let initial = start(data.view(), 4);
    for algorithm in [Algorithm::Lloyd, Algorithm::Hamerly] {
        let params = KMeansParams::new(4)
            .algorithm(algorithm)
            .validate()
            .unwrap();
        let weighted = params
            .fit_from(
                data.view(),
                Some(ndarray::Array1::from(weights.clone()).view()),
                initial.clone(),
            )
            .unwrap();
        let repeated = params
            .fit_from(duplicated.view(), None, initial.clone())
            .unwrap();
        assert!(
            max_difference(weighted.centroids(), repeated.centroids()) < 1e-9,
            "{algorithm:?}"
        );
        assert!((weighted.inertia() - repeated.inertia()).abs() < 1e-6 * repeated.inertia());
    }
}

/// Silhouette straight from its definition: every distance computed directly.
fn naive_silhouette(data: ArrayView2<'_, f64>, labels: &[usize]) -> f64 {
    let k = labels.iter().max().unwrap() + 1;
    let sizes: Vec<usize> = (0..k)
        .map(|c| labels.iter().filter(|l| **l == c).count())
        .collect();
    let mut total = 0.0;
    for (i, a) in data.rows().into_iter().enumerate() {
        let mut sums = vec![0.0; k];
        for (j, b) in data.rows().into_iter().enumerate() {
            let distance: f64 = a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum();
            if i != j {
                sums[labels[j]] += distance.sqrt();
            }
        }
        let own = labels[i];
        if sizes[own] > 1 {
            let within = sums[own] / (sizes[own] - 1) as f64;
            let between = (0..k)
                .filter(|c| *c != own)
                .map(|c| sums[c] / sizes[c] as f64)
                .fold(f64::INFINITY, f64::min);
            total += (between - within) / within.max(between);
        }
    }
    total / labels.len() as f64
}

/// The blocked, vectorised exact silhouette equals the definition: clusters of uneven sizes
/// (one larger than a column block of 2048, others not multiples of any vector width) and a
/// singleton, in f64 and in f32.
#[test]
fn exact_silhouette_equals_the_definition() {
    let (mut data, _) = blobs(3, 1500, 5, 6.0, 21);
    let mut labels: Vec<usize> = (0..data.nrows())
        .map(|i| match i % 9 {
            0..=5 => 0,
            6 | 7 => 1,
            _ => 2,
        })
        .collect();
    data.push_row(ndarray::ArrayView1::from(&[50.0; 5]))
        .unwrap();
    labels.push(3);
    let expected = naive_silhouette(data.view(), &labels);
    let exact = silhouette(data.view(), &labels);
    assert!((exact - expected).abs() < 1e-10, "{exact} vs {expected}");
    let narrow = silhouette(data.mapv(|v| v as f32).view(), &labels);
    assert!((narrow - expected).abs() < 1e-5, "{narrow} vs {expected}");
}

#[test]
fn sampled_silhouette_is_stratified_and_close_to_exact() {
    let (mut data, mut labels) = blobs(4, 1000, 4, 2.0, 8);
    // A tiny fifth cluster a uniform 2% sample would usually miss.
    for i in 0..3 {
        data.push_row(ndarray::ArrayView1::from(&[
            100.0 + i as f64,
            100.0,
            100.0,
            100.0,
        ]))
        .unwrap();
        labels.push(4);
    }
    let exact = silhouette(data.view(), &labels);
    let whole = sampled_silhouette(data.view(), &labels, 1_000_000, 1);
    assert_eq!(whole.sample_size, labels.len());
    assert_eq!(whole.value, exact);
    let sampled = sampled_silhouette(data.view(), &labels, 400, 1);
    assert!(
        (390..=412).contains(&sampled.sample_size),
        "{}",
        sampled.sample_size
    );
    assert!(
        (sampled.value - exact).abs() < 0.03,
        "{} vs {exact}",
        sampled.value
    );
    // f32 data gives the exact silhouette to f32 precision.
    let narrow = silhouette(data.mapv(|v| v as f32).view(), &labels);
    assert!((narrow - exact).abs() < 1e-4);
}

#[test]
fn profiles_give_sizes_raw_means_and_distinguishing_features() {
    let ids: Vec<CustomerId> = ["a", "b", "c", "d"]
        .iter()
        .map(|s| CustomerId::from(*s))
        .collect();
    let values = array![
        [1.0, 10.0, 5.0],
        [3.0, 10.0, 5.0],
        [5.0, 30.0, 5.0],
        [f64::NAN, 50.0, 5.0]
    ];
    let table = FeatureTable::new(
        ids,
        vec!["spend".into(), "orders".into(), "constant".into()],
        values,
    )
    .unwrap();
    let profiles = cluster_profiles(&table, &[0, 0, 1, 1], 2, 2);
    assert_eq!((profiles[0].size, profiles[0].share), (2, 0.5));
    assert_eq!(profiles[0].means, vec![2.0, 10.0, 5.0]);
    assert_eq!(profiles[1].means, vec![5.0, 40.0, 5.0]); // the missing spend is skipped
    // spend (present values 1, 3, 5): mean 3, population sd sqrt(8/3); cluster 1's mean is 5.
    let (name, z) = &profiles[1].distinguishing[0];
    assert_eq!(name, "spend");
    assert!((z - 2.0 / (8.0f64 / 3.0).sqrt()).abs() < 1e-12);
    // orders: mean 25, population sd sqrt((15² + 15² + 5² + 25²)/4) = sqrt(275).
    let (name, z) = &profiles[1].distinguishing[1];
    assert_eq!(name, "orders");
    assert!((z - 15.0 / 275f64.sqrt()).abs() < 1e-12);
    assert!(
        profiles
            .iter()
            .all(|p| p.distinguishing.iter().all(|(n, _)| n != "constant"))
    );
}

#[test]
fn linfa_traits_and_the_linfa_backend() {
    let (data, truth) = blobs(5, 300, 4, 1.0, 9);
    let params = KMeansParams::new(5).seed(2).validate().unwrap();
    let dataset = linfa::DatasetBase::from(data.clone());
    let model = Fit::fit(&params, &dataset).unwrap();
    assert_eq!(&model, &params.fit(data.view(), None).unwrap());
    let labels: ndarray::Array1<usize> = Predict::predict(&model, &data);
    assert!(adjusted_rand_index(labels.as_slice().unwrap(), &truth).unwrap() > 0.99);
    // linfa-clustering from our converged centroids stays there, with the same inertia.
    let theirs = fit_with_linfa(&params, data.view(), Some(model.centroids().clone())).unwrap();
    assert!(max_difference(theirs.centroids(), model.centroids()) < 1e-9);
    assert!((theirs.inertia() - model.inertia()).abs() < 1e-9 * model.inertia());
}

/// What a progress display is told: one initialisation per restart, then every iteration with
/// the inertia of the assignment it ends with; watching changes nothing in the result.
#[test]
fn a_watched_fit_tells_each_iteration_and_ends_on_the_model_inertia() {
    use lookalike_cluster::FitStep;
    let (data, _) = blobs(6, 400, 5, 4.0, 11);
    for algorithm in [Algorithm::Lloyd, Algorithm::Hamerly, Algorithm::MiniBatch] {
        let params = KMeansParams::new(6)
            .algorithm(algorithm)
            .n_init(3)
            .seed(5)
            .validate()
            .unwrap();
        let plain = params.fit_predict(data.view(), None).unwrap();
        let mut steps = Vec::new();
        let watched = params
            .fit_predict_watched(data.view(), None, Some(&mut |step| steps.push(step)))
            .unwrap();
        assert_eq!(plain.labels, watched.labels, "{algorithm:?}");
        assert_eq!(plain.model.centroids(), watched.model.centroids());

        let starts: Vec<usize> = steps
            .iter()
            .filter_map(|s| match s {
                FitStep::Initialising { restart } => Some(*restart),
                FitStep::Iterated(_) => None,
            })
            .collect();
        assert_eq!(starts, [0, 1, 2], "{algorithm:?}");
        // Per restart: iterations numbered 1, 2, …; the kept restart's last one is the model's.
        let mut last_of = [None; 3];
        for step in &steps {
            if let FitStep::Iterated(it) = step {
                let expected = last_of[it.restart].map_or(1, |(n, _)| n + 1);
                assert_eq!(it.iteration, expected, "{algorithm:?}");
                last_of[it.restart] = Some((it.iteration, it.inertia));
            }
        }
        let ends: Vec<(usize, f64)> = last_of.iter().map(|l| l.unwrap()).collect();
        if algorithm == Algorithm::MiniBatch {
            // Mini-batch reports a smoothed batch estimate: only its count is exact.
            assert!(ends.iter().any(|(n, _)| *n == plain.model.iterations()));
            continue;
        }
        let kept = ends
            .iter()
            .find(|(n, inertia)| {
                *n == plain.model.iterations()
                    && (inertia - plain.model.inertia()).abs() <= 1e-9 * plain.model.inertia()
            })
            .copied();
        assert!(
            kept.is_some(),
            "{algorithm:?}: {ends:?} vs {}",
            plain.model.inertia()
        );
        // Lloyd's and Hamerly's assignments are exact, so the inertia never rises.
        for restart in 0..3 {
            let inertias: Vec<f64> = steps
                .iter()
                .filter_map(|s| match s {
                    FitStep::Iterated(it) if it.restart == restart => Some(it.inertia),
                    _ => None,
                })
                .collect();
            assert!(
                inertias.windows(2).all(|w| w[1] <= w[0] * (1.0 + 1e-12)),
                "{algorithm:?}: {inertias:?}"
            );
        }
    }
    let described = FitStep::Iterated(lookalike_cluster::Iteration {
        restart: 1,
        iteration: 12,
        inertia: 1_234_567.0,
    })
    .describe(5, 3);
    assert_eq!(described, "k = 5, restart 2/3, iteration 12, inertia 1.23M");
    assert_eq!(
        FitStep::Initialising { restart: 0 }.describe(4, 1),
        "k = 4, choosing initial centroids"
    );
}
