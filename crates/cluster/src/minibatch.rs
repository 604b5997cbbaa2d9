//! Mini-batch k-means (Sculley 2010, "Web-scale k-means clustering"): each step assigns a
//! random batch of points and moves every centroid towards its batch points with a per-centroid
//! learning rate of 1 / (weight seen so far), so each centroid is the running mean of all the
//! points ever assigned to it. The cost per step is the batch's, not the data's.
//!
//! Stopping follows scikit-learn's `MiniBatchKMeans`: `max_iter` passes over the data at most,
//! and an early stop when the batch inertia, smoothed by an exponentially weighted average, has
//! not improved for 10 consecutive steps. The batches come from one seeded generator and are
//! assigned with the blocked kernel, so the result does not depend on the thread count.

use ndarray::{Array2, ArrayView2, Axis};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::float::{Float, narrow, wide};
use crate::lloyd::{Run, assign};

/// Steps without improvement of the smoothed batch inertia before stopping.
const PATIENCE: usize = 10;

/// Mini-batch iterations from `centroids`; `max_iter` counts passes over the data.
pub(crate) fn minibatch<F: Float>(
    data: ArrayView2<'_, F>,
    weights: &[f64],
    mut centroids: Array2<F>,
    batch_size: usize,
    max_iter: usize,
    rng: &mut ChaCha8Rng,
) -> Run<F> {
    let n = data.nrows();
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
        iterations += 1;
        let value = match smoothed {
            None => batch_inertia,
            Some(previous) => previous * (1.0 - alpha) + batch_inertia * alpha,
        };
        smoothed = Some(value);
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
