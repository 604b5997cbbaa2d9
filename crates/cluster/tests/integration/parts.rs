//! k-means over a base in parts (`init = sample`) against the same fit in one process: the
//! parts are dealt round-robin (every part holds whole customers, one part is empty) and
//! answered in two orders; the scaler, centroids, inertias and metrics agree to rounding, and
//! every customer's cluster is the same.

use lookalike_cluster::{
    ClusterConfig, ClusterError, ClusteredInParts, Init, KChoice, KMeans, KMeansInParts,
    KMeansParams, Missing, PartAnswer, Scaling, adjusted_rand_index, cluster_table,
};
use lookalike_core::{CustomerId, FeatureTable};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Four blobs of customers in (orders, total_spend, days, T), with some customers missing a
/// value, a skewed spend and a column that is not clustered.
fn base(n: usize) -> FeatureTable {
    let mut rng = ChaCha8Rng::seed_from_u64(17);
    let centres = [
        [1.0, 20.0, 300.0, 400.0],
        [6.0, 400.0, 20.0, 700.0],
        [2.0, 80.0, 90.0, 120.0],
        [12.0, 2500.0, 10.0, 900.0],
    ];
    let mut values = Array2::zeros((n, 5));
    for i in 0..n {
        let centre = centres[(i * 7 + i / 3) % 4];
        for j in 0..4 {
            let noise: f64 = rng.random::<f64>() - 0.5;
            values[[i, j]] = (centre[j] * (1.0 + 0.6 * noise)).round().max(0.0);
        }
        values[[i, 4]] = rng.random::<f64>();
        if i % 97 == 5 {
            values[[i, 2]] = f64::NAN;
        }
    }
    let ids = (0..n)
        .map(|i| CustomerId::from(format!("c{i:05}")))
        .collect();
    let columns = [
        "orders",
        "total_spend",
        "days_since_last_purchase",
        "T",
        "other",
    ]
    .map(String::from)
    .to_vec();
    FeatureTable::new(ids, columns, values).unwrap()
}

fn config(scaling: Scaling) -> ClusterConfig {
    ClusterConfig {
        k: KChoice { from: 2, to: 5 },
        init: Init::Sample,
        n_init: 2,
        scaling,
        log1p: vec!["total_spend".into()],
        init_sample: 700,
        silhouette_sample: 300,
        seed: 3,
        ..ClusterConfig::default()
    }
}

/// The table dealt round-robin into `count` parts, plus an empty one.
fn parts(table: &FeatureTable, count: usize) -> Vec<FeatureTable> {
    let mut parts: Vec<FeatureTable> = (0..count)
        .map(|p| {
            let rows: Vec<usize> = (p..table.len()).step_by(count).collect();
            table.select_rows(&rows)
        })
        .collect();
    parts.insert(2, table.select_rows(&[]));
    parts
}

/// The fit over `parts`, their answers merged in the given order.
fn fit_in_parts(config: &ClusterConfig, parts: &[FeatureTable]) -> ClusteredInParts {
    let mut fit = KMeansInParts::new(config).unwrap();
    let mut passes = 0;
    while let Some(task) = fit.task() {
        let mut merged: Option<PartAnswer> = None;
        for part in parts {
            let answer = task.answer(config, part).unwrap();
            match &mut merged {
                Some(merged) => merged.merge(&answer).unwrap(),
                None => merged = Some(answer),
            }
        }
        fit.absorb(merged.unwrap()).unwrap();
        passes += 1;
    }
    assert!(passes >= 5, "survey, iterations, describe and spread");
    fit.finish().unwrap()
}

fn close(a: f64, b: f64, relative: f64) -> bool {
    (a - b).abs() <= relative * a.abs().max(b.abs()).max(1e-300)
}

fn check_same_fit(scaling: Scaling) {
    let table = base(3000);
    let config = config(scaling);
    let whole = cluster_table(&table, &config, |_| {}).unwrap();
    let mut dealt = parts(&table, 5);
    for round in 0..2 {
        let fitted = fit_in_parts(&config, &dealt);
        assert_eq!(fitted.customers, whole.table.len());
        assert_eq!(fitted.skipped, whole.skipped());
        assert_eq!(fitted.chosen, whole.chosen, "{:?}", whole.why);
        assert_eq!(fitted.why, whole.why);
        for (s, w) in fitted.scaler.center.iter().zip(&whole.scaler.center) {
            assert!(close(*s, *w, 1e-12), "centre {s} vs {w}");
        }
        for (s, w) in fitted.scaler.spread.iter().zip(&whole.scaler.spread) {
            assert!(close(*s, *w, 1e-12), "spread {s} vs {w}");
        }
        let matrix = whole.scaler.transform(&whole.table).unwrap();
        for (parted, one) in fitted.sweep.iter().zip(&whole.sweep) {
            assert_eq!(parted.k, one.k);
            assert_eq!(parted.iterations, one.iterations, "k = {}", one.k);
            assert_eq!(parted.converged, one.converged);
            assert!(close(parted.inertia, one.inertia, 1e-9), "k = {}", one.k);
            for (a, b) in parted.centroids.iter().zip(&one.centroids) {
                assert!((a - b).abs() < 1e-9, "k = {}: {a} vs {b}", one.k);
            }
            let (labels, _) =
                KMeans::from_centroids(parted.centroids.clone()).predict(matrix.view());
            assert_eq!(
                labels, one.labels,
                "k = {}: every customer's cluster",
                one.k
            );
            // The sample is the same customers; their scaled values differ only in the scaler's rounding.
            assert!(close(
                parted.metrics.silhouette,
                one.metrics.silhouette,
                1e-12
            ));
            assert_eq!(parted.metrics.silhouette_sample, 300);
            assert!(close(
                parted.metrics.davies_bouldin,
                one.metrics.davies_bouldin,
                1e-9
            ));
            assert!(close(
                parted.metrics.calinski_harabasz,
                one.metrics.calinski_harabasz,
                1e-9
            ));
        }
        for (p, w) in fitted.profiles.iter().zip(&whole.profiles) {
            assert_eq!((p.cluster, p.size), (w.cluster, w.size));
            for (a, b) in p.means.iter().zip(&w.means) {
                assert!(close(*a, *b, 1e-12) || (a.is_nan() && b.is_nan()));
            }
            let names = |p: &lookalike_cluster::ClusterProfile| {
                p.distinguishing
                    .iter()
                    .map(|(c, _)| c.clone())
                    .collect::<Vec<_>>()
            };
            assert_eq!(names(p), names(w));
        }
        let parted_doc = fitted.document(&config, "features.csv");
        let whole_doc = whole.document(&config, "features.csv");
        assert_eq!(parted_doc["parameters"], whole_doc["parameters"]);
        assert_eq!(parted_doc["parameters"]["init"], "sample");
        assert_eq!(
            parted_doc["fit"]["customers"],
            whole_doc["fit"]["customers"]
        );
        dealt.reverse();
        let _ = round;
    }
}

#[test]
fn a_fit_in_parts_is_the_fit_in_one_process_standard_scaling() {
    check_same_fit(Scaling::Standard);
}

#[test]
fn a_fit_in_parts_is_the_fit_in_one_process_robust_scaling() {
    check_same_fit(Scaling::Robust);
}

#[test]
fn robust_scaling_in_parts_reads_exact_quartiles() {
    let table = base(1001);
    let config = ClusterConfig {
        k: KChoice { from: 3, to: 3 },
        ..config(Scaling::Robust)
    };
    let fitted = fit_in_parts(&config, &parts(&table, 4));
    let whole = lookalike_cluster::Scaler::fit(
        &table.select_rows(
            &(0..table.len())
                .filter(|i| table.values()[[*i, 2]].is_finite())
                .collect::<Vec<_>>(),
        ),
        &config.scaler_params(),
    )
    .unwrap();
    // Order statistics do not depend on the order of additions: bit for bit.
    assert_eq!(fitted.scaler.center, whole.center);
    assert_eq!(fitted.scaler.spread, whole.spread);
}

#[test]
fn the_sample_start_finds_well_separated_groups() {
    let table = base(2000);
    let config = ClusterConfig {
        k: KChoice { from: 4, to: 4 },
        ..config(Scaling::Standard)
    };
    let clustering = cluster_table(&table, &config, |_| {}).unwrap();
    let truth: Vec<usize> = (0..table.len())
        .filter(|i| i % 97 != 5)
        .map(|i| (i * 7 + i / 3) % 4)
        .collect();
    let ari = adjusted_rand_index(&clustering.outcome().labels, &truth).unwrap();
    assert!(ari > 0.99, "ARI {ari}");
    assert_eq!(clustering.outcome().init, Init::Sample);
}

#[test]
fn settings_that_cannot_run_in_parts_are_refused_by_name() {
    let refused = |config: ClusterConfig| KMeansInParts::new(&config).unwrap_err().to_string();
    let standard = config(Scaling::Standard);
    assert!(
        refused(ClusterConfig {
            init: Init::KMeansPlusPlus,
            ..standard.clone()
        })
        .contains("set init = \"sample\"")
    );
    assert!(
        refused(ClusterConfig {
            algorithm: lookalike_cluster::Algorithm::MiniBatch,
            ..standard.clone()
        })
        .contains("algo minibatch")
    );
    assert!(
        refused(ClusterConfig {
            precision: lookalike_cluster::Precision::F32,
            ..standard.clone()
        })
        .contains("f32")
    );
    assert!(
        refused(ClusterConfig {
            init_sample: 0,
            ..standard.clone()
        })
        .contains("init_sample")
    );
    assert_eq!(
        KMeansParams::new(2)
            .init(Init::Sample)
            .validate()
            .unwrap_err(),
        ClusterError::SampleNeedsCustomers
    );
    // Missing values refused with fail name the customer, in parts too.
    let table = base(300);
    let failing = ClusterConfig {
        missing: Missing::Fail,
        ..standard
    };
    let fit = KMeansInParts::new(&failing).unwrap();
    let error = fit.task().unwrap().answer(&failing, &table).unwrap_err();
    assert!(error.to_string().contains("c00005"), "{error}");
}
