//! Mini-batch k-means (Sculley 2010, "Web-scale k-means clustering"): each step assigns a
//! random batch of points and moves every centroid towards its batch points with a per-centroid
//! learning rate of 1 / (weight seen so far), so each centroid is the running mean of all the
//! points ever assigned to it. The cost per step is the batch's, not the data's.
//!
//! Stopping follows scikit-learn's `MiniBatchKMeans`: `max_iter` passes over the data at most,
//! and an early stop when the batch inertia, smoothed by an exponentially weighted average, has
//! not improved for 10 consecutive steps. The batches come from one seeded generator and are
//! assigned with the blocked kernel, so the result does not depend on the thread count.
//!
//! Starved centroids are moved, as scikit-learn's `MiniBatchKMeans` does (its
//! `reassignment_ratio`, default 0.01): after a step, a centroid whose accumulated weight is below
//! 1% of the largest is re-seeded on a point of the batch drawn uniformly (at most half a batch
//! of them at once, the lightest first), and its weight is set to the smallest weight among the
//! others so it is not moved again at once. Without this, a centroid that starts in an empty
//! region never receives a point and the fit keeps one cluster fewer than asked for.

use ndarray::{Array2, ArrayView2, Axis};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::float::{Float, narrow, wide};
use crate::lloyd::{Run, Watch, assign};

/// Steps without improvement of the smoothed batch inertia before stopping.
const PATIENCE: usize = 10;

/// A centroid lighter than this share of the heaviest is re-seeded (scikit-learn's default).
const REASSIGNMENT_RATIO: f64 = 0.01;

/// Moves the starved centroids onto points of the batch; returns how many moved.
fn reassign_starved<F: Float>(
    centroids: &mut Array2<F>,
    seen: &mut [f64],
    batch: ArrayView2<'_, F>,
    rng: &mut ChaCha8Rng,
) -> usize {
    let heaviest = seen.iter().copied().fold(0.0, f64::max);
    let mut starved: Vec<usize> = (0..seen.len())
        .filter(|j| seen[*j] < REASSIGNMENT_RATIO * heaviest)
        .collect();
    if starved.is_empty() {
        return 0;
    }
    // At most half a batch at once: the lightest (ties by index, for determinism).
    let most = batch.nrows() / 2;
    if starved.len() > most {
        starved.sort_by(|a, b| seen[*a].total_cmp(&seen[*b]).then(a.cmp(b)));
        starved.truncate(most);
        starved.sort_unstable();
    }
    let floor = (0..seen.len())
        .filter(|j| starved.binary_search(j).is_err())
        .map(|j| seen[j])
        .fold(f64::INFINITY, f64::min);
    let points = rand::seq::index::sample(rng, batch.nrows(), starved.len());
    for (j, point) in starved.iter().zip(points.iter()) {
        centroids.row_mut(*j).assign(&batch.row(point));
        seen[*j] = floor;
    }
    starved.len()
}

/// Mini-batch iterations from `centroids`; `max_iter` counts passes over the data.
pub(crate) fn minibatch<F: Float>(
    data: ArrayView2<'_, F>,
    weights: &[f64],
    mut centroids: Array2<F>,
    batch_size: usize,
    max_iter: usize,
    rng: &mut ChaCha8Rng,
    mut watch: Option<&mut Watch<'_>>,
) -> Run<F> {
    let n = data.nrows();
    let total_mass: f64 = weights.iter().sum();
    let batch_size = batch_size.min(n);
    let steps = (max_iter * n).div_ceil(batch_size);
    let mut seen = vec![0.0f64; centroids.nrows()];
    // The smoothing weight of a batch, as scikit-learn: 2·b / (n + 1), at most 1.
    let alpha = (2.0 * batch_size as f64 / (n as f64 + 1.0)).min(1.0);
    let mut smoothed: Option<f64> = None;
    let mut best = f64::INFINITY;
    let mut without_improvement = 0;
    let mut iterations = 0;
    let mut converged = false;
    let mut batch_weights = vec![0.0; batch_size];
    let mut since_reassignment = 0;
    for _ in 0..steps {
        let indices: Vec<usize> = (0..batch_size).map(|_| rng.random_range(0..n)).collect();
        let batch = data.select(Axis(0), &indices);
        for (w, i) in batch_weights.iter_mut().zip(&indices) {
            *w = weights[*i];
        }
        let assignment = assign(batch.view(), centroids.view(), Some(&batch_weights));
        let batch_mass: f64 = batch_weights.iter().sum();
        let batch_inertia = assignment.inertia(&batch_weights) / batch_mass.max(f64::MIN_POSITIVE);
        for (j, seen) in seen.iter_mut().enumerate() {
            let mass = assignment.sums.mass[j];
            if mass == 0.0 {
                continue;
            }
            let total = *seen + mass;
            for (c, s) in centroids.row_mut(j).iter_mut().zip(assignment.sums.row(j)) {
                *c = narrow((wide(*c) * *seen + s) / total);
            }
            *seen = total;
        }
        // As scikit-learn: look for starved centroids while one has no weight at all, and
        // otherwise once every 10·k points.
        since_reassignment += batch_size;
        if seen.contains(&0.0) || since_reassignment >= 10 * centroids.nrows() {
            since_reassignment = 0;
            reassign_starved(&mut centroids, &mut seen, batch.view(), rng);
        }
        iterations += 1;
        let value = match smoothed {
            None => batch_inertia,
            Some(previous) => previous * (1.0 - alpha) + batch_inertia * alpha,
        };
        smoothed = Some(value);
        if let Some(watch) = watch.as_mut() {
            watch(iterations, value * total_mass);
        }
        if value < best {
            best = value;
            without_improvement = 0;
        } else {
            without_improvement += 1;
            if without_improvement >= PATIENCE {
                converged = true;
                break;
            }
        }
    }
    let assignment = assign(data, centroids.view(), None);
    let inertia = assignment.inertia(weights);
    Run {
        centroids,
        labels: assignment.labels,
        distances: assignment.distances,
        inertia,
        iterations,
        converged,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;
    use rand::SeedableRng;

    #[test]
    fn only_starved_centroids_move_onto_batch_points() {
        let batch = array![[1.0, 1.0], [2.0, 2.0], [3.0, 3.0], [4.0, 4.0]];
        let mut centroids = array![[0.0, 0.0], [100.0, 100.0], [50.0, 50.0]];
        // Centroid 1 starved (below 1% of 1000), centroid 2 light but above the ratio.
        let mut seen = vec![1000.0, 5.0, 20.0];
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let moved = reassign_starved(&mut centroids, &mut seen, batch.view(), &mut rng);
        assert_eq!(moved, 1);
        assert_eq!(centroids.row(0), array![0.0, 0.0]);
        assert_eq!(centroids.row(2), array![50.0, 50.0]);
        assert!(batch.rows().into_iter().any(|p| p == centroids.row(1)));
        // Its weight is the smallest of the others, so it is not moved again at once.
        assert_eq!(seen, vec![1000.0, 20.0, 20.0]);
    }

    #[test]
    fn at_most_half_a_batch_moves_lightest_first() {
        let batch = array![[1.0], [2.0], [3.0], [4.0]];
        let mut centroids = array![[0.0], [10.0], [20.0], [30.0], [40.0]];
        let mut seen = vec![1000.0, 3.0, 0.0, 1.0, 2.0];
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let moved = reassign_starved(&mut centroids, &mut seen, batch.view(), &mut rng);
        assert_eq!(moved, 2);
        // The two lightest (weights 0 and 1) moved to two different batch points.
        assert_eq!(centroids.row(1), array![10.0]);
        assert_eq!(centroids.row(4), array![40.0]);
        assert_ne!(centroids.row(2), centroids.row(3));
        assert!(centroids[[2, 0]] <= 4.0 && centroids[[3, 0]] <= 4.0);
        assert_eq!(seen, vec![1000.0, 3.0, 2.0, 2.0, 2.0]);
    }

    /// A centroid started far from every point gets none. Without re-seeding, the fit is that of
    /// the other two centroids alone (same batches: a run without starved centroids draws nothing
    /// more); with it, every centroid gets points and the inertia is lower.
    #[test]
    fn a_centroid_started_far_away_is_put_to_use() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let centres: [[f64; 2]; 3] = [[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]];
        let data = Array2::from_shape_fn((3000, 2), |(i, d)| {
            centres[i % 3][d] + rng.random_range(-1.0..1.0)
        });
        let weights = vec![1.0; data.nrows()];
        let fit = |start: Array2<f64>| {
            let mut rng = ChaCha8Rng::seed_from_u64(4);
            minibatch(data.view(), &weights, start, 256, 20, &mut rng, None)
        };
        let with_far = fit(array![[0.0, 0.0], [10.0, 0.0], [1e6, 1e6]]);
        let two = fit(array![[0.0, 0.0], [10.0, 0.0]]);
        let mut labels = with_far.labels.clone();
        labels.sort_unstable();
        labels.dedup();
        assert_eq!(labels.len(), 3, "every centroid has points");
        assert!(with_far.centroids.iter().all(|v| v.abs() < 20.0));
        assert!(
            with_far.inertia < two.inertia,
            "{} vs {}",
            with_far.inertia,
            two.inertia
        );
    }
}
