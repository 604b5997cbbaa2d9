//! Initial centroids.

use ndarray::{Array1, Array2, ArrayView2};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

/// The index whose cumulative weight first exceeds `target` (the last index for rounding).
fn pick(cumulative: &[f64], target: f64) -> usize {
    cumulative
        .partition_point(|c| *c <= target)
        .min(cumulative.len() - 1)
}

fn squared_distances(data: ArrayView2<'_, f64>, point: usize) -> Vec<f64> {
    let center = data.row(point);
    data.rows()
        .into_iter()
        .collect::<Vec<_>>()
        .par_iter()
        .map(|row| {
            let diff = row - &center;
            diff.dot(&diff)
        })
        .collect()
}

fn prefix_sums(values: impl Iterator<Item = f64>) -> Vec<f64> {
    let mut total = 0.0;
    values
        .map(|v| {
            total += v;
            total
        })
        .collect()
}

/// Greedy weighted k-means++: each new centroid is the best of 2 + ⌊ln k⌋ candidates drawn with
/// probability ∝ weight × D² (Arthur & Vassilvitskii 2007; the greedy variant of scikit-learn).
pub(crate) fn kmeans_plus_plus(
    data: ArrayView2<'_, f64>,
    weights: &Array1<f64>,
    k: usize,
    rng: &mut ChaCha8Rng,
) -> Array2<f64> {
    let trials = 2 + (k as f64).ln().floor() as usize;
    let mut chosen = Vec::with_capacity(k);
    let weight_sums = prefix_sums(weights.iter().copied());
    let first = pick(
        &weight_sums,
        rng.random::<f64>() * weight_sums[weight_sums.len() - 1],
    );
    chosen.push(first);
    let mut closest = squared_distances(data, first);
    while chosen.len() < k {
        let potential = prefix_sums(closest.iter().zip(weights).map(|(d, w)| d * w));
        let total = potential[potential.len() - 1];
        let mut best: Option<(f64, usize, Vec<f64>)> = None;
        for _ in 0..trials {
            let candidate = if total > 0.0 {
                pick(&potential, rng.random::<f64>() * total)
            } else {
                pick(
                    &weight_sums,
                    rng.random::<f64>() * weight_sums[weight_sums.len() - 1],
                )
            };
            let distances = squared_distances(data, candidate);
            let merged: Vec<f64> = closest
                .iter()
                .zip(&distances)
                .map(|(a, b)| a.min(*b))
                .collect();
            let new_potential: f64 = merged.iter().zip(weights).map(|(d, w)| d * w).sum();
            if best.as_ref().is_none_or(|b| new_potential < b.0) {
                best = Some((new_potential, candidate, merged));
            }
        }
        let (_, candidate, merged) = best.expect("at least two trials");
        chosen.push(candidate);
        closest = merged;
    }
    data.select(ndarray::Axis(0), &chosen)
}

/// k distinct points drawn with probability ∝ weight.
pub(crate) fn random_init(
    data: ArrayView2<'_, f64>,
    weights: &Array1<f64>,
    k: usize,
    rng: &mut ChaCha8Rng,
) -> Array2<f64> {
    let mut chosen: Vec<usize> = Vec::with_capacity(k);
    let mut available = weights.to_vec();
    while chosen.len() < k {
        let sums = prefix_sums(available.iter().copied());
        let index = pick(&sums, rng.random::<f64>() * sums[sums.len() - 1]);
        let duplicate = chosen.iter().any(|c| data.row(*c) == data.row(index));
        available[index] = 0.0;
        if !duplicate {
            chosen.push(index);
        }
    }
    data.select(ndarray::Axis(0), &chosen)
}
