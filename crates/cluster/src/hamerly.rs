//! Hamerly's accelerated k-means (Hamerly 2010, "Making k-means even faster"): the same
//! iterations as Lloyd's, skipping distance computations the triangle inequality proves useless.
//!
//! Each point keeps an upper bound `u` on the distance to its centroid and a lower bound `l` on
//! the distance to every other centroid. A point keeps its centroid without any search when
//! `u ≤ max(l, s(a))`, where `s(a)` is half the distance from its centroid to the nearest other
//! centroid. After centroids move by `p(j)`, `u` grows by its own centroid's move and `l` shrinks
//! by the largest move of the others. On clustered data most points are skipped after a few
//! iterations. The first assignment uses the blocked product of [`crate::distance`].

use ndarray::{Array2, ArrayView2};
use rayon::prelude::*;

use crate::distance::{BLOCK, Centroids, block_of, block_starts, squared_distance, values_of};
use crate::float::{Float, narrow, wide};
use crate::lloyd::{ClusterSums, Run, Watch, centroids_from_sums, squared_shift};

/// Per point: label, upper bound, lower bound (distances, not squared).
struct Bounds<F> {
    labels: Vec<usize>,
    upper: Vec<F>,
    lower: Vec<F>,
}

/// First assignment with exact upper bounds and safe lower bounds from the blocked product.
fn initial_bounds<F: Float>(
    data: ArrayView2<'_, F>,
    centroids: ArrayView2<'_, F>,
    weights: &[f64],
) -> (Bounds<F>, ClusterSums) {
    let prepared = Centroids::new(centroids);
    let (k, d) = centroids.dim();
    let largest_norm = prepared.norms.iter().fold(F::zero(), |a, b| a.max(*b));
    // The product's rounding error is below (d + 2)·ε·(‖x‖² + ‖c‖²) per cross term; the
    // second-nearest distance is lowered by twice that so the bound stays a true lower bound.
    let slack = narrow::<F>(2.0 * (d as f64 + 2.0)) * F::epsilon();
    let blocks: Vec<(Bounds<F>, ClusterSums)> = block_starts(data.nrows())
        .map_init(Vec::new, |products, start| {
            let block = block_of(data, start);
            prepared.cross_terms(block, products);
            let mut bounds = Bounds {
                labels: Vec::with_capacity(block.nrows()),
                upper: Vec::with_capacity(block.nrows()),
                lower: Vec::with_capacity(block.nrows()),
            };
            let mut sums = ClusterSums::zeros(k, d);
            let rows = values_of(&block).chunks_exact(d);
            let padded = prepared.padded;
            for (offset, (row, cross)) in rows.zip(products.chunks_exact(padded)).enumerate() {
                let (mut best, mut second) = ((0, F::infinity()), F::infinity());
                for (j, (c, norm)) in cross.iter().zip(&prepared.norms).enumerate() {
                    let v = *c + *norm;
                    if v < best.1 {
                        second = best.1;
                        best = (j, v);
                    } else if v < second {
                        second = v;
                    }
                }
                let norm = row.iter().fold(F::zero(), |s, x| s + *x * *x);
                let lower_squared = second + norm - slack * (norm + largest_norm);
                bounds.labels.push(best.0);
                bounds
                    .upper
                    .push(squared_distance(row, prepared.row(best.0)).sqrt());
                bounds.lower.push(lower_squared.max(F::zero()).sqrt());
                sums.add(best.0, row, weights[start + offset]);
            }
            (bounds, sums)
        })
        .collect();
    let n = data.nrows();
    let mut all = Bounds {
        labels: Vec::with_capacity(n),
        upper: Vec::with_capacity(n),
        lower: Vec::with_capacity(n),
    };
    let mut sums = ClusterSums::zeros(k, d);
    for (bounds, block_sums) in blocks {
        all.labels.extend(bounds.labels);
        all.upper.extend(bounds.upper);
        all.lower.extend(bounds.lower);
        sums.merge(&block_sums);
    }
    (all, sums)
}

/// Half the distance from each centroid to its nearest other centroid.
fn half_separation<F: Float>(centroids: &Array2<F>) -> Vec<F> {
    let k = centroids.nrows();
    let centroids = Centroids::new(centroids.view());
    let half = narrow::<F>(0.5);
    (0..k)
        .map(|j| {
            (0..k)
                .filter(|other| *other != j)
                .map(|other| squared_distance(centroids.row(j), centroids.row(other)))
                .fold(F::infinity(), F::min)
                .sqrt()
                * half
        })
        .collect()
}

/// Hamerly iterations until the squared centroid shift is at most `tolerance` or `max_iter`.
pub(crate) fn hamerly<F: Float>(
    data: ArrayView2<'_, F>,
    weights: &[f64],
    mut centroids: Array2<F>,
    tolerance: f64,
    max_iter: usize,
    mut watch: Option<&mut Watch<'_>>,
) -> Run<F> {
    let (mut bounds, mut sums) = initial_bounds(data, centroids.view(), weights);
    let mut iterations = 0;
    let mut converged = false;
    loop {
        // Distances are only needed for re-seeding empty clusters (rare): squared upper bounds
        // are exact enough for choosing the farthest point, and are built only then.
        let farness: Vec<F> = if sums.mass.contains(&0.0) {
            bounds.upper.iter().map(|u| *u * *u).collect()
        } else {
            Vec::new()
        };
        let (next, reseeded) = centroids_from_sums(data, weights, &sums, &farness);
        let shift = squared_shift(&centroids, &next);
        let moves: Vec<F> = centroids
            .rows()
            .into_iter()
            .zip(next.rows())
            .map(|(a, b)| squared_distance(slice(&a), slice(&b)).sqrt())
            .collect();
        centroids = next;
        iterations += 1;
        if !reseeded.is_empty() {
            // A re-seeded centroid jumps far; restart the bounds from exact distances.
            (bounds, sums) = initial_bounds(data, centroids.view(), weights);
        } else {
            sums = step(data, weights, &centroids, &moves, &mut bounds);
        }
        if let Some(watch) = watch.as_mut() {
            // Hamerly keeps bounds, not distances: one exact distance per point (O(n·d)).
            watch(
                iterations,
                assigned_inertia(data, weights, &centroids, &bounds.labels),
            );
        }
        if shift <= tolerance {
            converged = true;
            break;
        }
        if iterations >= max_iter {
            break;
        }
    }
    let distances = assigned_distances(data, &centroids, &bounds.labels);
    let inertia = weighted_sum(&distances, weights);
    Run {
        centroids,
        labels: bounds.labels,
        distances,
        inertia,
        iterations,
        converged,
    }
}

/// Squared distance of each point to the centroid it is assigned to.
fn assigned_distances<F: Float>(
    data: ArrayView2<'_, F>,
    centroids: &Array2<F>,
    labels: &[usize],
) -> Vec<F> {
    let prepared = Centroids::new(centroids.view());
    values_of(&data)
        .par_chunks_exact(centroids.ncols())
        .zip(labels)
        .map(|(row, label)| squared_distance(row, prepared.row(*label)))
        .collect()
}

fn weighted_sum<F: Float>(distances: &[F], weights: &[f64]) -> f64 {
    distances
        .iter()
        .zip(weights)
        .map(|(d, w)| wide(*d) * w)
        .sum()
}

/// The weighted inertia of the current assignment.
fn assigned_inertia<F: Float>(
    data: ArrayView2<'_, F>,
    weights: &[f64],
    centroids: &Array2<F>,
    labels: &[usize],
) -> f64 {
    weighted_sum(&assigned_distances(data, centroids, labels), weights)
}

/// Moves the bounds by the centroids' moves, re-assigns the points whose bounds no longer
/// settle their centroid, and returns the new cluster sums.
fn step<F: Float>(
    data: ArrayView2<'_, F>,
    weights: &[f64],
    centroids: &Array2<F>,
    moves: &[F],
    bounds: &mut Bounds<F>,
) -> ClusterSums {
    let (k, d) = centroids.dim();
    // The largest and second-largest move: a point's lower bound drops by the largest move of
    // the centroids other than its own.
    let (mut largest, mut runner_up) = ((usize::MAX, F::zero()), F::zero());
    for (j, m) in moves.iter().enumerate() {
        if *m > largest.1 {
            runner_up = largest.1;
            largest = (j, *m);
        } else if *m > runner_up {
            runner_up = *m;
        }
    }
    let separation = half_separation(centroids);
    let prepared = Centroids::new(centroids.view());
    let values = values_of(&data);
    let chunks: Vec<ClusterSums> = bounds
        .labels
        .par_chunks_mut(BLOCK)
        .zip(bounds.upper.par_chunks_mut(BLOCK))
        .zip(bounds.lower.par_chunks_mut(BLOCK))
        .enumerate()
        .map(|(b, ((labels, upper), lower))| {
            let start = b * BLOCK;
            let mut sums = ClusterSums::zeros(k, d);
            for i in 0..labels.len() {
                let row = &values[(start + i) * d..(start + i + 1) * d];
                let own = labels[i];
                upper[i] += moves[own];
                lower[i] -= if own == largest.0 {
                    runner_up
                } else {
                    largest.1
                };
                let bound = lower[i].max(separation[own]);
                if upper[i] > bound {
                    upper[i] = squared_distance(row, prepared.row(own)).sqrt();
                    if upper[i] > bound {
                        let (mut best, mut second) = ((0, F::infinity()), F::infinity());
                        for j in 0..k {
                            let distance = squared_distance(row, prepared.row(j));
                            if distance < best.1 {
                                second = best.1;
                                best = (j, distance);
                            } else if distance < second {
                                second = distance;
                            }
                        }
                        labels[i] = best.0;
                        upper[i] = best.1.sqrt();
                        lower[i] = second.sqrt();
                    }
                }
                sums.add(labels[i], row, weights[start + i]);
            }
            sums
        })
        .collect();
    let mut sums = ClusterSums::zeros(k, d);
    for chunk in &chunks {
        sums.merge(chunk);
    }
    sums
}

/// A row of a standard-layout matrix as a slice.
fn slice<'a, F>(row: &ndarray::ArrayView1<'a, F>) -> &'a [F] {
    row.to_slice()
        .expect("rows of standard-layout matrices are contiguous")
}
