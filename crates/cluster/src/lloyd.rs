//! Lloyd's algorithm: assign every point to its nearest centroid, move each centroid to the
//! weighted mean of its points, repeat.
//!
//! One pass over the data per iteration does both steps: each fixed-size block finds its
//! points' nearest centroids (see [`crate::distance`]) and adds them into per-block cluster sums,
//! and the block sums are added in block order — the same numbers at any thread count.

use ndarray::{Array2, ArrayView2};
use rayon::prelude::*;

use crate::distance::{Centroids, block_of, block_starts, values_of, vectorised};
use crate::float::{Float, narrow, wide};

/// Weighted sums and masses of the points of each cluster, in `f64`.
pub(crate) struct ClusterSums {
    /// Columns per point.
    d: usize,
    /// k × d weighted sums of the points, row by row.
    pub(crate) sums: Vec<f64>,
    /// Total weight per cluster.
    pub(crate) mass: Vec<f64>,
}

impl ClusterSums {
    pub(crate) fn zeros(k: usize, d: usize) -> Self {
        ClusterSums {
            d,
            sums: vec![0.0; k * d],
            mass: vec![0.0; k],
        }
    }

    /// Adds a point of weight `weight` to cluster `label`.
    #[inline(always)]
    pub(crate) fn add<F: Float>(&mut self, label: usize, point: &[F], weight: f64) {
        let sums = &mut self.sums[label * self.d..(label + 1) * self.d];
        for (sum, x) in sums.iter_mut().zip(point) {
            *sum += weight * wide(*x);
        }
        self.mass[label] += weight;
    }

    /// Cluster `j`'s sums.
    pub(crate) fn row(&self, j: usize) -> &[f64] {
        &self.sums[j * self.d..(j + 1) * self.d]
    }

    /// Adds another block's sums.
    pub(crate) fn merge(&mut self, other: &ClusterSums) {
        for (total, part) in self.sums.iter_mut().zip(&other.sums) {
            *total += part;
        }
        for (total, part) in self.mass.iter_mut().zip(&other.mass) {
            *total += part;
        }
    }
}

/// Labels and squared distances to the nearest centroid, with the clusters' sums.
pub(crate) struct Assignment<F> {
    pub(crate) labels: Vec<usize>,
    pub(crate) distances: Vec<F>,
    pub(crate) sums: ClusterSums,
}

impl<F: Float> Assignment<F> {
    /// Weighted sum of squared distances.
    pub(crate) fn inertia(&self, weights: &[f64]) -> f64 {
        self.distances
            .iter()
            .zip(weights)
            .map(|(d, w)| wide(*d) * w)
            .sum()
    }
}

/// Nearest centroids of all rows; the cluster sums are computed when `weights` are given.
pub(crate) fn assign<F: Float>(
    data: ArrayView2<'_, F>,
    centroids: ArrayView2<'_, F>,
    weights: Option<&[f64]>,
) -> Assignment<F> {
    let prepared = Centroids::new(centroids);
    let (k, d) = centroids.dim();
    let blocks: Vec<Assignment<F>> = block_starts(data.nrows())
        .map(|start| {
            let block = block_of(data, start);
            let mut labels = Vec::with_capacity(block.nrows());
            let mut distances = Vec::with_capacity(block.nrows());
            prepared.nearest(block, &mut labels, &mut distances);
            let mut sums = ClusterSums::zeros(if weights.is_some() { k } else { 0 }, d);
            if let Some(weights) = weights {
                let rows = values_of(&block).chunks_exact(d);
                vectorised(|| {
                    for (offset, (row, label)) in rows.zip(&labels).enumerate() {
                        sums.add(*label, row, weights[start + offset]);
                    }
                });
            }
            Assignment {
                labels,
                distances,
                sums,
            }
        })
        .collect();
    let mut whole = Assignment {
        labels: Vec::with_capacity(data.nrows()),
        distances: Vec::with_capacity(data.nrows()),
        sums: ClusterSums::zeros(if weights.is_some() { k } else { 0 }, d),
    };
    for block in blocks {
        whole.labels.extend(block.labels);
        whole.distances.extend(block.distances);
        whole.sums.merge(&block.sums);
    }
    whole
}

/// New centroids from cluster sums. A cluster with no weight is re-seeded at the point farthest
/// from its centroid (each such point used once), so no centroid is ever NaN. Returns the
/// centroids and the clusters that were re-seeded. `distances` is read only when a cluster is
/// empty, so callers may pass an empty slice when none is.
pub(crate) fn centroids_from_sums<F: Float>(
    data: ArrayView2<'_, F>,
    weights: &[f64],
    sums: &ClusterSums,
    distances: &[F],
) -> (Array2<F>, Vec<usize>) {
    let (k, d) = (sums.mass.len(), data.ncols());
    let mut centroids = Array2::<F>::zeros((k, d));
    let mut reseeded = Vec::new();
    let mut taken: Vec<usize> = Vec::new();
    for j in 0..k {
        if sums.mass[j] > 0.0 {
            for (c, s) in centroids.row_mut(j).iter_mut().zip(sums.row(j)) {
                *c = narrow(s / sums.mass[j]);
            }
        } else {
            let farthest = (0..data.nrows())
                .filter(|i| weights[*i] > 0.0 && !taken.contains(i))
                .max_by(|a, b| {
                    distances[*a]
                        .partial_cmp(&distances[*b])
                        .expect("finite distances")
                        .then(b.cmp(a))
                })
                .expect("at least k distinct points");
            taken.push(farthest);
            reseeded.push(j);
            centroids.row_mut(j).assign(&data.row(farthest));
        }
    }
    (centroids, reseeded)
}

/// Sum over clusters of the squared distance each centroid moved.
pub(crate) fn squared_shift<F: Float>(old: &Array2<F>, new: &Array2<F>) -> f64 {
    old.iter()
        .zip(new)
        .map(|(a, b)| {
            let d = wide(*a) - wide(*b);
            d * d
        })
        .sum()
}

/// Told after each iteration: its number (from 1) and the weighted inertia then (mini-batch:
/// the smoothed batch inertia scaled to all points). Only progress displays watch, so
/// algorithms that do not need the inertia compute it only when watched.
pub(crate) type Watch<'a> = dyn FnMut(usize, f64) + 'a;

/// The outcome of one run from given initial centroids.
pub(crate) struct Run<F> {
    pub(crate) centroids: Array2<F>,
    pub(crate) labels: Vec<usize>,
    pub(crate) distances: Vec<F>,
    pub(crate) inertia: f64,
    pub(crate) iterations: usize,
    pub(crate) converged: bool,
}

/// Lloyd iterations until the squared centroid shift is at most `tolerance` or `max_iter`.
pub(crate) fn lloyd<F: Float>(
    data: ArrayView2<'_, F>,
    weights: &[f64],
    mut centroids: Array2<F>,
    tolerance: f64,
    max_iter: usize,
    mut watch: Option<&mut Watch<'_>>,
) -> Run<F> {
    let mut iterations = 0;
    let mut converged = false;
    let mut assignment = assign(data, centroids.view(), Some(weights));
    while iterations < max_iter {
        let (next, _) = centroids_from_sums(data, weights, &assignment.sums, &assignment.distances);
        let shift = squared_shift(&centroids, &next);
        centroids = next;
        iterations += 1;
        assignment = assign(data, centroids.view(), Some(weights));
        if let Some(watch) = watch.as_mut() {
            watch(iterations, assignment.inertia(weights));
        }
        if shift <= tolerance {
            converged = true;
            break;
        }
    }
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
