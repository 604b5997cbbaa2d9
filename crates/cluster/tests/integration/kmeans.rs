//! k-means against exact oracles and pinned scikit-learn values.

use lookalike_cluster::{
    ClusterError, Init, KMeansParams, adjusted_rand_index, calinski_harabasz, davies_bouldin,
    inertia, silhouette,
};
use ndarray::{Array1, Array2, array};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

/// `blobs` well-separated Gaussian blobs of `per_blob` points in `d` dimensions, with the truth.
fn blobs(blobs: usize, per_blob: usize, d: usize, seed: u64) -> (Array2<f64>, Vec<usize>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let noise = Normal::new(0.0, 0.5).unwrap();
    let centers: Vec<Vec<f64>> = (0..blobs)
        .map(|_| (0..d).map(|_| rng.random_range(-30.0..30.0)).collect())
        .collect();
    let mut data = Array2::zeros((blobs * per_blob, d));
    let mut truth = Vec::new();
    for (b, center) in centers.iter().enumerate() {
        for i in 0..per_blob {
            for (j, c) in center.iter().enumerate() {
                data[[b * per_blob + i, j]] = c + noise.sample(&mut rng);
            }
            truth.push(b);
        }
    }
    (data, truth)
}

#[test]
fn assignment_equals_the_brute_force_oracle() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let data = Array2::from_shape_fn((3_000, 7), |_| rng.random_range(-5.0..5.0));
    let model = KMeansParams::new(13)
        .seed(4)
        .max_iter(3)
        .validate()
        .unwrap()
        .fit(data.view(), None)
        .unwrap();
    let (labels, distances) = model.predict(data.view());
    for (i, row) in data.rows().into_iter().enumerate() {
        let exact: Vec<f64> = model
            .centroids()
            .rows()
            .into_iter()
            .map(|c| (&row - &c).mapv(|v| v * v).sum())
            .collect();
        let best = exact.iter().cloned().fold(f64::INFINITY, f64::min);
        assert!(exact[labels[i]] <= best * (1.0 + 1e-12) + 1e-12, "row {i}");
        assert!((distances[i] - exact[labels[i]]).abs() <= 1e-9 * (1.0 + exact[labels[i]]));
    }
}

#[test]
fn separated_blobs_are_recovered() {
    let (data, truth) = blobs(6, 400, 5, 11);
    for init in [Init::KMeansPlusPlus, Init::Random] {
        let model = KMeansParams::new(6)
            .init(init)
            .n_init(3)
            .seed(2)
            .validate()
            .unwrap()
            .fit(data.view(), None)
            .unwrap();
        let (labels, _) = model.predict(data.view());
        let ari = adjusted_rand_index(&truth, &labels).unwrap();
        assert!(ari > 0.99, "{init:?}: ARI {ari}");
        assert!(model.converged());
    }
}

#[test]
fn weights_equal_duplicated_points() {
    let (data, _) = blobs(3, 60, 4, 5);
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let weights: Array1<f64> = (0..data.nrows())
        .map(|_| rng.random_range(1..4) as f64)
        .collect();
    let repeated: Vec<usize> = (0..data.nrows())
        .flat_map(|i| std::iter::repeat_n(i, weights[i] as usize))
        .collect();
    let duplicated = data.select(ndarray::Axis(0), &repeated);
    let start = data.select(ndarray::Axis(0), &[0, 70, 150]);
    let params = KMeansParams::new(3).tol(0.0).validate().unwrap();
    let weighted = params
        .fit_from(data.view(), Some(weights.view()), start.clone())
        .unwrap();
    let plain = params.fit_from(duplicated.view(), None, start).unwrap();
    assert!(
        (weighted.centroids() - plain.centroids())
            .iter()
            .all(|d| d.abs() < 1e-9)
    );
    assert!((weighted.inertia() - plain.inertia()).abs() < 1e-6 * plain.inertia());
}

#[test]
fn same_data_and_seed_give_the_same_model_whatever_the_thread_count() {
    let (data, _) = blobs(8, 900, 6, 21);
    let fit = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            KMeansParams::new(8)
                .n_init(2)
                .seed(9)
                .validate()
                .unwrap()
                .fit(data.view(), None)
                .unwrap()
        })
    };
    let (one, three) = (fit(1), fit(3));
    assert_eq!(one.centroids(), three.centroids());
    assert_eq!(one.inertia().to_bits(), three.inertia().to_bits());
}

#[test]
fn more_restarts_never_do_worse() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let data = Array2::from_shape_fn((800, 3), |_| rng.random::<f64>());
    let once = KMeansParams::new(10)
        .seed(5)
        .validate()
        .unwrap()
        .fit(data.view(), None)
        .unwrap();
    let five = KMeansParams::new(10)
        .seed(5)
        .n_init(5)
        .validate()
        .unwrap()
        .fit(data.view(), None)
        .unwrap();
    assert!(five.inertia() <= once.inertia());
}

#[test]
fn an_empty_cluster_is_reseeded_not_nan() {
    let data = array![
        [0.0, 0.0],
        [0.1, 0.0],
        [0.0, 0.1],
        [5.0, 5.0],
        [5.1, 5.0],
        [9.0, 9.0]
    ];
    // The third centroid is far from every point: it gets none at the first assignment.
    let start = array![[0.0, 0.0], [5.0, 5.0], [100.0, 100.0]];
    let model = KMeansParams::new(3)
        .validate()
        .unwrap()
        .fit_from(data.view(), None, start)
        .unwrap();
    assert!(model.centroids().iter().all(|v: &f64| v.is_finite()));
    let (labels, _) = model.predict(data.view());
    assert_eq!(
        labels
            .iter()
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        3,
        "{labels:?}"
    );
}

/// Values computed once with scikit-learn 1.9.1 (sklearn.metrics and sklearn.cluster.KMeans with
/// init = rows 0, 4, 8, algorithm="lloyd", tol=0) on this dataset.
#[test]
fn metrics_and_lloyd_match_pinned_scikit_learn_values() {
    let data = array![
        [0.0, 0.0],
        [0.5, 0.2],
        [0.1, 0.9],
        [0.7, 0.6],
        [4.0, 4.1],
        [4.6, 3.8],
        [3.9, 4.7],
        [4.4, 4.4],
        [0.2, 5.0],
        [0.9, 5.5],
        [0.4, 4.6],
        [1.0, 5.1]
    ];
    let labels = [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2];
    let other = [0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 0, 0];
    let uneven = [0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 3];
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-10 * b.abs().max(1.0);
    assert!(close(silhouette(data.view(), &labels), 0.8210897068363184));
    assert!(close(
        davies_bouldin(data.view(), &labels),
        0.22186797295237817
    ));
    assert!(close(
        calinski_harabasz(data.view(), &labels),
        158.9908163265306
    ));
    assert!(close(
        adjusted_rand_index(&labels, &other).unwrap(),
        0.08333333333333333
    ));
    assert!(close(silhouette(data.view(), &uneven), 0.2629272091847919));
    assert!(close(
        davies_bouldin(data.view(), &uneven),
        0.7234324755220978
    ));
    assert!(close(
        calinski_harabasz(data.view(), &uneven),
        7.8225705082881625
    ));
    assert!(close(
        adjusted_rand_index(&labels, &uneven).unwrap(),
        0.60431654676259
    ));
    let start = data.select(ndarray::Axis(0), &[0, 4, 8]);
    let model = KMeansParams::new(3)
        .tol(0.0)
        .validate()
        .unwrap()
        .fit_from(data.view(), None, start)
        .unwrap();
    assert!(close(model.inertia(), 2.4500000000000006));
    let expected = array![[0.325, 0.425], [4.225, 4.25], [0.625, 5.05]];
    assert!(
        (model.centroids() - &expected)
            .iter()
            .all(|d: &f64| d.abs() < 1e-12)
    );
    assert!(close(inertia(data.view(), &labels), model.inertia()));
}

#[test]
fn each_validation_rule_has_its_error() {
    let data = array![[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
    let fit = |params: KMeansParams| params.validate().and_then(|p| p.fit(data.view(), None));
    assert_eq!(
        fit(KMeansParams::new(0)).unwrap_err(),
        ClusterError::ZeroClusters
    );
    assert_eq!(
        fit(KMeansParams::new(2).max_iter(0)).unwrap_err(),
        ClusterError::ZeroIterations
    );
    assert_eq!(
        fit(KMeansParams::new(2).n_init(0)).unwrap_err(),
        ClusterError::ZeroRestarts
    );
    assert!(matches!(
        fit(KMeansParams::new(2).tol(-1.0)),
        Err(ClusterError::BadTolerance(_))
    ));
    assert!(matches!(
        fit(KMeansParams::new(2).tol(f64::NAN)),
        Err(ClusterError::BadTolerance(_))
    ));
    assert_eq!(
        fit(KMeansParams::new(4)).unwrap_err(),
        ClusterError::TooFewDistinctPoints { k: 4, distinct: 3 }
    );
    let params = KMeansParams::new(2).validate().unwrap();
    assert_eq!(
        params
            .fit(Array2::<f64>::zeros((0, 2)).view(), None)
            .unwrap_err(),
        ClusterError::EmptyInput
    );
    let nan = array![[0.0, 1.0], [f64::NAN, 0.0]];
    assert!(matches!(
        params.fit(nan.view(), None),
        Err(ClusterError::NonFinite {
            row: 1,
            column: 0,
            ..
        })
    ));
    let same = array![[1.0, 1.0], [1.0, 1.0], [1.0, 1.0]];
    assert!(matches!(
        params.fit(same.view(), None),
        Err(ClusterError::TooFewDistinctPoints { k: 2, distinct: 1 })
    ));
    for weights in [
        array![1.0, 1.0],
        array![1.0, -1.0, 1.0],
        array![0.0, 0.0, 0.0],
        array![1.0, f64::INFINITY, 1.0],
    ] {
        assert!(
            matches!(
                params.fit(data.view(), Some(weights.view())),
                Err(ClusterError::BadWeights(_))
            ),
            "{weights}"
        );
    }
    assert_eq!(
        fit(KMeansParams::new(2).batch_size(0)).unwrap_err(),
        ClusterError::ZeroBatchSize
    );
    assert!(matches!(
        adjusted_rand_index(&[0, 1], &[0]),
        Err(ClusterError::LabelLengthMismatch(2, 1))
    ));
}
