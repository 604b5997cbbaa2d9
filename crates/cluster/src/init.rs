//! Initial centroids: greedy k-means++, k-means‖ and weighted random points.

use ndarray::{Array2, ArrayView2, Axis};
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::distance::{BLOCK, Centroids, block_of, block_starts, squared_distance, values_of};
use crate::float::{Float, wide};
use crate::lloyd::lloyd;

/// The index whose cumulative weight first exceeds `target` (the last index for rounding).
fn pick(cumulative: &[f64], target: f64) -> usize {
    cumulative
        .partition_point(|c| *c <= target)
        .min(cumulative.len() - 1)
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

/// A point drawn with probability ∝ `weights`.
fn draw(cumulative: &[f64], rng: &mut ChaCha8Rng) -> usize {
    pick(
        cumulative,
        rng.random::<f64>() * cumulative[cumulative.len() - 1],
    )
}

/// Greedy weighted k-means++: each new centroid is the best of 2 + ⌊ln k⌋ candidates drawn with
/// probability ∝ weight × D² (Arthur & Vassilvitskii 2007; the greedy variant scikit-learn
/// uses). All candidates of a step are scored in one parallel pass over the data, by blocks of
/// points against the candidates as one small matrix.
pub(crate) fn kmeans_plus_plus<F: Float>(
    data: ArrayView2<'_, F>,
    weights: &[f64],
    k: usize,
    rng: &mut ChaCha8Rng,
) -> Array2<F> {
    let trials = 2 + (k as f64).ln().floor() as usize;
    let (values, d) = (values_of(&data), data.ncols());
    let row = |i: usize| &values[i * d..(i + 1) * d];
    let weight_sums = prefix_sums(weights.iter().copied());
    let first = draw(&weight_sums, rng);
    let mut chosen = vec![first];
    let mut closest: Vec<f64> = values
        .par_chunks(d)
        .map(|point| wide(squared_distance(point, row(first))))
        .collect();
    let point_norms: Vec<f64> = values
        .par_chunks(d)
        .map(|point| point.iter().map(|v| wide(*v) * wide(*v)).sum())
        .collect();
    while chosen.len() < k {
        let potential = prefix_sums(closest.iter().zip(weights).map(|(d, w)| d * w));
        let candidates: Vec<usize> = (0..trials)
            .map(|_| {
                if potential[potential.len() - 1] > 0.0 {
                    draw(&potential, rng)
                } else {
                    draw(&weight_sums, rng)
                }
            })
            .collect();
        // Per block: the potential each candidate would leave, in block order. The candidates'
        // distances come from one blocked product per block (‖x‖² − 2·x·c + ‖c‖²), as in the
        // assignment step; the winner's are then recomputed exactly below.
        let chosen_points = data.select(Axis(0), &candidates);
        let prepared = Centroids::new(chosen_points.view());
        let block_potentials: Vec<Vec<f64>> = block_starts(data.nrows())
            .zip(closest.par_chunks(BLOCK))
            .map_init(Vec::new, |products, (start, closest_block)| {
                let block = block_of(data, start);
                prepared.cross_terms(block, products);
                let mut totals = vec![0.0; trials];
                let cross_rows = products.chunks_exact(prepared.padded);
                for (offset, (cross, current)) in cross_rows.zip(closest_block).enumerate() {
                    let i = start + offset;
                    for ((total, c), norm) in totals.iter_mut().zip(cross).zip(&prepared.norms) {
                        let d = (wide(*c + *norm) + point_norms[i]).max(0.0);
                        *total += d.min(*current) * weights[i];
                    }
                }
                totals
            })
            .collect();
        let mut totals = vec![0.0; trials];
        for block in &block_potentials {
            for (t, b) in totals.iter_mut().zip(block) {
                *t += b;
            }
        }
        let best = (0..trials)
            .min_by(|a, b| totals[*a].total_cmp(&totals[*b]).then(a.cmp(b)))
            .expect("at least two trials");
        let winner = candidates[best];
        chosen.push(winner);
        closest
            .par_chunks_mut(BLOCK)
            .enumerate()
            .for_each(|(b, closest_block)| {
                for (offset, current) in closest_block.iter_mut().enumerate() {
                    let distance = wide(squared_distance(row(b * BLOCK + offset), row(winner)));
                    *current = current.min(distance);
                }
            });
    }
    data.select(Axis(0), &chosen)
}

/// k distinct points drawn with probability ∝ weight.
pub(crate) fn random_init<F: Float>(
    data: ArrayView2<'_, F>,
    weights: &[f64],
    k: usize,
    rng: &mut ChaCha8Rng,
) -> Array2<F> {
    let mut chosen: Vec<usize> = Vec::with_capacity(k);
    let mut available = weights.to_vec();
    while chosen.len() < k {
        let sums = prefix_sums(available.iter().copied());
        let index = draw(&sums, rng);
        let duplicate = chosen.iter().any(|c| data.row(*c) == data.row(index));
        available[index] = 0.0;
        if !duplicate {
            chosen.push(index);
        }
    }
    data.select(Axis(0), &chosen)
}

/// Rounds of k-means‖ sampling (Bahmani et al. 2012 found 5 rounds enough with ℓ = 2k).
pub(crate) const PARALLEL_ROUNDS: usize = 5;

/// k-means‖ (Bahmani, Moseley, Vattani, Kumar & Vassilvitskii 2012, "Scalable k-means++"):
/// a few passes each sample about ℓ = 2k points independently with probability
/// ℓ·w·D²/ψ, the candidates are weighted by the weight of the points nearest to them, and
/// the weighted candidates are clustered into k with k-means++ and Lloyd. Each pass is one
/// blocked product over the data instead of k sequential passes.
///
/// Every block draws its random numbers from its own stream (seed, round, block), so the
/// candidates do not depend on the thread count.
pub(crate) fn kmeans_parallel<F: Float>(
    data: ArrayView2<'_, F>,
    weights: &[f64],
    k: usize,
    rng: &mut ChaCha8Rng,
) -> Array2<F> {
    let n = data.nrows();
    let oversampling = 2.0 * k as f64;
    let stream_seed = rng.next_u64();
    let weight_sums = prefix_sums(weights.iter().copied());
    let mut candidates: Vec<usize> = vec![draw(&weight_sums, rng)];
    // Squared distance to, and index among `candidates` of, each point's nearest candidate.
    let mut closest = vec![f64::INFINITY; n];
    let mut nearest = vec![0usize; n];
    let mut fresh = candidates.clone();
    for round in 0..=PARALLEL_ROUNDS {
        let offset = candidates.len() - fresh.len();
        update_nearest(data, &fresh, offset, &mut closest, &mut nearest);
        if round == PARALLEL_ROUNDS {
            break;
        }
        let potential: f64 = closest.iter().zip(weights).map(|(d, w)| d * w).sum();
        if potential <= 0.0 {
            break;
        }
        let picked: Vec<Vec<usize>> = closest
            .par_chunks(BLOCK)
            .enumerate()
            .map(|(b, closest_block)| {
                let mut block_rng = ChaCha8Rng::seed_from_u64(stream_seed);
                block_rng.set_stream((round * n.div_ceil(BLOCK) + b) as u64);
                closest_block
                    .iter()
                    .enumerate()
                    .filter(|(offset, d)| {
                        let i = b * BLOCK + offset;
                        let u: f64 = block_rng.random();
                        u < oversampling * weights[i] * **d / potential
                    })
                    .map(|(offset, _)| b * BLOCK + offset)
                    .collect()
            })
            .collect();
        fresh = picked.into_iter().flatten().collect();
        candidates.extend(&fresh);
    }
    // Weight each candidate by the weight of the points nearest to it; merge equal points.
    let mut candidate_weights = vec![0.0; candidates.len()];
    for (i, c) in nearest.iter().enumerate() {
        candidate_weights[*c] += weights[i];
    }
    let mut distinct: Vec<usize> = Vec::new();
    let mut distinct_weights: Vec<f64> = Vec::new();
    for (c, w) in candidates.iter().zip(&candidate_weights) {
        match distinct.iter().position(|d| data.row(*d) == data.row(*c)) {
            Some(p) => distinct_weights[p] += w,
            None => {
                distinct.push(*c);
                distinct_weights.push(*w);
            }
        }
    }
    let usable = distinct_weights.iter().filter(|w| **w > 0.0).count();
    if usable < k {
        // Too few candidates (tiny or highly duplicated data): k-means++ on all the data.
        return kmeans_plus_plus(data, weights, k, rng);
    }
    let points = data.select(Axis(0), &distinct);
    let start = kmeans_plus_plus(points.view(), &distinct_weights, k, rng);
    lloyd(points.view(), &distinct_weights, start, 0.0, 300, None).centroids
}

/// Lowers each point's `closest` squared distance with the new candidates `fresh`, whose
/// positions among all candidates start at `offset`.
fn update_nearest<F: Float>(
    data: ArrayView2<'_, F>,
    fresh: &[usize],
    offset: usize,
    closest: &mut [f64],
    nearest: &mut [usize],
) {
    if fresh.is_empty() {
        return;
    }
    let centers = data.select(Axis(0), fresh);
    let prepared = Centroids::new(centers.view());
    closest
        .par_chunks_mut(BLOCK)
        .zip(nearest.par_chunks_mut(BLOCK))
        .zip(block_starts(data.nrows()))
        .for_each_init(
            Vec::new,
            |products, ((closest_block, nearest_block), start)| {
                let block = block_of(data, start);
                prepared.cross_terms(block, products);
                let cross_rows = products.chunks_exact(prepared.padded);
                for (i, (row, cross)) in block.rows().into_iter().zip(cross_rows).enumerate() {
                    let norm = wide(row.dot(&row));
                    for (j, (c, centroid_norm)) in cross.iter().zip(&prepared.norms).enumerate() {
                        let d = (wide(*c + *centroid_norm) + norm).max(0.0);
                        if d < closest_block[i] {
                            closest_block[i] = d;
                            nearest_block[i] = offset + j;
                        }
                    }
                }
            },
        );
}
