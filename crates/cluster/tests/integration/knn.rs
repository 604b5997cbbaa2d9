//! Exact k-nearest-neighbour search against a brute-force oracle.

use lookalike_cluster::{ClusterError, k_nearest};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn random(rows: usize, columns: usize, seed: u64) -> Array2<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Array2::from_shape_fn((rows, columns), |_| rng.random_range(-3.0..3.0))
}

/// All distances sorted (distance, index), ties by index: the oracle.
fn brute_force(query: &[f64], points: &Array2<f64>, k: usize) -> Vec<(f64, u32)> {
    let mut all: Vec<(f64, u32)> = points
        .rows()
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            let d: f64 = p.iter().zip(query).map(|(a, b)| (a - b) * (a - b)).sum();
            (d.sqrt(), i as u32)
        })
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    all.truncate(k);
    all
}

/// More points than one tile and queries over several blocks, f64 and f32.
#[test]
fn exact_search_equals_brute_force() {
    let points = random(2500, 13, 1);
    let queries = random(700, 13, 2);
    let k = 10;
    let found = k_nearest(queries.view(), points.view(), k).unwrap();
    let points32 = points.mapv(|v| v as f32);
    let queries32 = queries.mapv(|v| v as f32);
    let found32 = k_nearest(queries32.view(), points32.view(), k).unwrap();
    for (q, query) in queries.rows().into_iter().enumerate() {
        let expected = brute_force(query.as_slice().unwrap(), &points, k);
        let got: Vec<(f64, u32)> = found
            .distances
            .row(q)
            .iter()
            .zip(found.indices.row(q))
            .map(|(d, i)| (*d, *i))
            .collect();
        for ((d, i), (ed, ei)) in got.iter().zip(&expected) {
            assert_eq!(i, ei, "query {q}");
            assert!((d - ed).abs() < 1e-12, "query {q}");
        }
        // f32: the same neighbours except where two distances differ by less than f32 noise.
        for (j, (ed, ei)) in expected.iter().enumerate() {
            let (d, i) = (found32.distances[[q, j]], found32.indices[[q, j]]);
            assert!((d - ed).abs() < 1e-4, "query {q}: {d} vs {ed}");
            if i != *ei {
                let gap = expected
                    .iter()
                    .map(|e| (e.0 - ed).abs())
                    .filter(|g| *g > 0.0);
                assert!(
                    gap.fold(f64::INFINITY, f64::min) < 1e-4,
                    "query {q} rank {j}"
                );
            }
        }
    }
}

/// Equal distances go to the lower index; the result is the same at 1 and 3 threads.
#[test]
fn ties_and_thread_count() {
    let points = Array2::from_shape_vec((4, 1), vec![1.0, -1.0, 1.0, 3.0]).unwrap();
    let queries = Array2::from_shape_vec((1, 1), vec![0.0]).unwrap();
    let found = k_nearest(queries.view(), points.view(), 3).unwrap();
    assert_eq!(found.indices.row(0).to_vec(), vec![0, 1, 2]);
    let points = random(3000, 8, 3);
    let queries = random(1000, 8, 4);
    let run = |threads| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| k_nearest(queries.view(), points.view(), 5).unwrap())
    };
    assert_eq!(run(1), run(3));
}

#[test]
fn each_validation_rule_has_its_error() {
    let points = random(5, 2, 5);
    let queries = random(2, 2, 6);
    assert_eq!(
        k_nearest(queries.view(), points.view(), 0),
        Err(ClusterError::ZeroNeighbours)
    );
    assert_eq!(
        k_nearest(queries.view(), points.view(), 6),
        Err(ClusterError::TooFewPoints { k: 6, points: 5 })
    );
    let wide = random(2, 3, 7);
    assert_eq!(
        k_nearest(wide.view(), points.view(), 2),
        Err(ClusterError::DimensionMismatch {
            expected: 2,
            got: 3
        })
    );
    let mut bad = queries.clone();
    bad[[1, 0]] = f64::NAN;
    assert!(matches!(
        k_nearest(bad.view(), points.view(), 2),
        Err(ClusterError::NonFinite {
            row: 1,
            column: 0,
            ..
        })
    ));
}

/// The inverted-file index against the exact search on a fixed seed: recall@10 at least 0.95
/// with a sixteenth of the cells probed, exact with all of them; more probes never lose recall.
#[test]
fn approximate_index_recall_against_exact() {
    use lookalike_cluster::IvfIndex;
    let points = random(40_000, 8, 11);
    let queries = random(500, 8, 12);
    let exact = k_nearest(queries.view(), points.view(), 10).unwrap();
    let index = IvfIndex::build(points.view(), 128, 5).unwrap();
    let recall = |probes: usize| {
        let found = index.search(queries.view(), 10, probes).unwrap();
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
        hits as f64 / (queries.nrows() * 10) as f64
    };
    let (few, some, all) = (recall(2), recall(16), recall(128));
    assert!(some >= 0.95, "recall@10 with 16 of 128 cells: {some}");
    assert!(few <= some && some <= all, "{few} {some} {all}");
    assert_eq!(all, 1.0);
    let again = IvfIndex::build(points.view(), 128, 5).unwrap();
    assert_eq!(
        again.search(queries.view(), 10, 16).unwrap(),
        index.search(queries.view(), 10, 16).unwrap()
    );
}
