//! The silhouette coefficient (Rousseeuw 1987; scikit-learn's definition): exact, and on a
//! stratified sample for large n.
//!
//! The exact score needs every pairwise distance. Points are sorted by cluster and cut into
//! tiles; each unordered pair of tiles is visited once, its distances computed as
//! ‖x‖² + ‖y‖² − 2·x·y with one matrix product (as scikit-learn's `euclidean_distances`), and
//! summed both ways: along rows into the first tile's per-cluster sums and along columns into
//! the second's. Pairs are scheduled in round-robin rounds (the circle method of tournament
//! scheduling), so no two pairs of a round share a tile: tiles are updated without races and
//! always in the same order, and the result is the same at any thread count.

use std::ops::Range;
use std::sync::Mutex;

use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, ArrayView2, Axis, Slice};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::distance::standard_layout;
use crate::float::{Float, wide};
use crate::metrics::clusters_of;

/// Points per tile: a pair of tiles' 256 × 256 distances (512 KB in `f64`) stay in cache.
const TILE: usize = 256;

/// Mean silhouette coefficient, exact: every pairwise distance once, O(n²·d) time, no n × n
/// matrix; memory is a copy of the data sorted by cluster plus n × k distance sums in `f64`
/// (0.5 GB for a million points and 64 clusters). A point alone in its cluster scores 0, as in
/// scikit-learn.
///
/// ```
/// let data = ndarray::array![[0.0], [1.0], [10.0], [11.0]];
/// let s = lookalike_cluster::silhouette(data.view(), &[0, 0, 1, 1]);
/// assert!((s - 0.899749373433584).abs() < 1e-12); // scikit-learn gives the same
/// ```
pub fn silhouette<F: Float>(data: ArrayView2<'_, F>, labels: &[usize]) -> f64 {
    let n = labels.len();
    if n == 0 {
        return 0.0;
    }
    let scores = silhouette_scores(data, labels);
    scores.iter().sum::<f64>() / n as f64
}

/// The points sorted by cluster, with what the tiles need to know about them.
struct Sorted<F: Float> {
    /// The rows, cluster by cluster.
    rows: Array2<F>,
    /// Squared norm of each sorted row.
    norms: Vec<F>,
    /// Cluster of each sorted row.
    labels: Vec<usize>,
    /// Points per cluster.
    sizes: Vec<usize>,
}

impl<F: Float> Sorted<F> {
    fn tile(&self, t: usize) -> Range<usize> {
        t * TILE..((t + 1) * TILE).min(self.labels.len())
    }

    /// The runs of one cluster within `range`, as (cluster, offsets within the range).
    fn runs(&self, range: Range<usize>) -> Vec<(usize, Range<usize>)> {
        let labels = &self.labels[range];
        let mut runs = Vec::new();
        let mut start = 0;
        for i in 1..=labels.len() {
            if i == labels.len() || labels[i] != labels[start] {
                runs.push((labels[start], start..i));
                start = i;
            }
        }
        runs
    }
}

/// Reusable buffers of one worker.
struct Scratch<F> {
    distances: Vec<F>,
    column_totals: Vec<F>,
}

/// The silhouette of every point (in the points' order).
fn silhouette_scores<F: Float>(data: ArrayView2<'_, F>, labels: &[usize]) -> Vec<f64> {
    let (n, k) = (labels.len(), clusters_of(labels));
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|i| labels[*i]);
    let rows = standard_layout(data.select(Axis(0), &order).view()).into_owned();
    let sorted_labels: Vec<usize> = order.iter().map(|i| labels[*i]).collect();
    let mut sizes = vec![0usize; k];
    for l in &sorted_labels {
        sizes[*l] += 1;
    }
    let norms = rows.rows().into_iter().map(|r| r.dot(&r)).collect();
    let sorted = Sorted {
        rows,
        norms,
        labels: sorted_labels,
        sizes,
    };
    let tiles = n.div_ceil(TILE);
    // Per tile, its points' distance sums to each cluster (row-major, k per point).
    let sums: Vec<Mutex<Vec<f64>>> = (0..tiles)
        .map(|t| Mutex::new(vec![0.0; sorted.tile(t).len() * k]))
        .collect();
    let scratch = || Scratch {
        distances: Vec::new(),
        column_totals: Vec::new(),
    };
    (0..tiles)
        .into_par_iter()
        .for_each_init(scratch, |scratch, t| {
            let mut own = sums[t]
                .lock()
                .expect("no worker panics while holding a tile");
            tile_pair(&sorted, k, t, t, scratch, &mut own, None);
        });
    for round in round_robin(tiles) {
        round
            .into_par_iter()
            .for_each_init(scratch, |scratch, (first, second)| {
                let lock = |t: usize| {
                    sums[t]
                        .lock()
                        .expect("no worker panics while holding a tile")
                };
                let (mut rows, mut columns) = (lock(first), lock(second));
                tile_pair(
                    &sorted,
                    k,
                    first,
                    second,
                    scratch,
                    &mut rows,
                    Some(&mut columns),
                );
            });
    }
    let mut scores = vec![0.0; n];
    for (t, tile_sums) in sums.into_iter().enumerate() {
        let tile_sums = tile_sums.into_inner().expect("no worker panicked");
        for (position, point_sums) in sorted.tile(t).zip(tile_sums.chunks_exact(k.max(1))) {
            scores[order[position]] = score(point_sums, sorted.labels[position], &sorted.sizes);
        }
    }
    scores
}

/// Pairs of distinct tiles grouped in rounds where no tile appears twice; every pair appears
/// in exactly one round. Circle method: tile m − 1 stays put while the others rotate (with a
/// dummy tile when the count is odd, whose pairs are dropped).
fn round_robin(tiles: usize) -> Vec<Vec<(usize, usize)>> {
    let m = tiles + tiles % 2;
    if m < 2 {
        return Vec::new();
    }
    let rotating = m - 1;
    (0..rotating)
        .map(|round| {
            let mut pairs = vec![(round, rotating)];
            for i in 1..m / 2 {
                pairs.push(((round + i) % rotating, (round + rotating - i) % rotating));
            }
            pairs
                .into_iter()
                .filter(|(a, b)| *a < tiles && *b < tiles)
                .map(|(a, b)| (a.min(b), a.max(b)))
                .collect()
        })
        .collect()
}

/// Distances between the points of tiles `first` and `second`, added per cluster into the
/// sums of `first`'s points (`row_sums`) and, for two distinct tiles, of `second`'s points
/// (`column_sums`). For a tile with itself, each point's distance to itself is left out.
fn tile_pair<F: Float>(
    sorted: &Sorted<F>,
    k: usize,
    first: usize,
    second: usize,
    scratch: &mut Scratch<F>,
    row_sums: &mut [f64],
    column_sums: Option<&mut [f64]>,
) {
    let (rows, columns) = (sorted.tile(first), sorted.tile(second));
    let (height, width) = (rows.len(), columns.len());
    let a = sorted.rows.slice_axis(Axis(0), Slice::from(rows.clone()));
    let b = sorted
        .rows
        .slice_axis(Axis(0), Slice::from(columns.clone()));
    scratch.distances.resize(height * width, F::zero());
    let mut products = ndarray::ArrayViewMut2::from_shape((height, width), &mut scratch.distances)
        .expect("the buffer was sized for the tile pair");
    let minus_two = F::from_f64(-2.0).expect("small constant");
    general_mat_mul(minus_two, &a, &b.t(), F::zero(), &mut products);
    let column_runs = sorted.runs(columns.clone());
    let column_norms = &sorted.norms[columns.clone()];
    for (r, row) in scratch.distances.chunks_exact_mut(width).enumerate() {
        let own = sorted.norms[rows.start + r];
        for (cluster, run) in &column_runs {
            let mut total =
                F::distances_in_place(own, &mut row[run.clone()], &column_norms[run.clone()]);
            if first == second && run.contains(&r) {
                // A point's distance to itself is 0; the expansion leaves rounding noise.
                total -= row[r];
                row[r] = F::zero();
            }
            row_sums[r * k + cluster] += wide(total);
        }
    }
    let Some(column_sums) = column_sums else {
        return;
    };
    for (cluster, run) in sorted.runs(rows) {
        scratch.column_totals.clear();
        scratch.column_totals.resize(width, F::zero());
        for row in scratch
            .distances
            .chunks_exact(width)
            .skip(run.start)
            .take(run.len())
        {
            for (total, distance) in scratch.column_totals.iter_mut().zip(row) {
                *total += *distance;
            }
        }
        for (q, total) in scratch.column_totals.iter().enumerate() {
            column_sums[q * k + cluster] += wide(*total);
        }
    }
}

/// One point's silhouette from its distance sums per cluster.
fn score(sums: &[f64], own: usize, sizes: &[usize]) -> f64 {
    if sizes[own] <= 1 {
        return 0.0;
    }
    let a = sums[own] / (sizes[own] - 1) as f64;
    let b = (0..sizes.len())
        .filter(|c| *c != own && sizes[*c] > 0)
        .map(|c| sums[c] / sizes[c] as f64)
        .fold(f64::INFINITY, f64::min);
    if b.is_infinite() || a.max(b) == 0.0 {
        0.0
    } else {
        (b - a) / a.max(b)
    }
}

/// A silhouette estimated on a sample, with the sample's size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SampledSilhouette {
    /// Mean silhouette of the sampled points, computed among the sample.
    pub value: f64,
    /// Points in the sample.
    pub sample_size: usize,
}

/// Silhouette on a stratified sample of about `sample_size` points: each cluster contributes in
/// proportion to its size, at least 2 points (or all of it), so small clusters are not missed
/// as in a uniform sample. Exact (every point) when `sample_size ≥ n`. The sample is drawn from
/// `seed`; the score is computed within the sample, as scikit-learn's `sample_size` does.
pub fn sampled_silhouette<F: Float>(
    data: ArrayView2<'_, F>,
    labels: &[usize],
    sample_size: usize,
    seed: u64,
) -> SampledSilhouette {
    let n = labels.len();
    if sample_size >= n {
        return SampledSilhouette {
            value: silhouette(data, labels),
            sample_size: n,
        };
    }
    let k = clusters_of(labels);
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); k];
    for (i, l) in labels.iter().enumerate() {
        members[*l].push(i);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut chosen = Vec::with_capacity(sample_size + 2 * k);
    for cluster in &mut members {
        let share = (cluster.len() as f64 * sample_size as f64 / n as f64).round() as usize;
        let take = share.max(2).min(cluster.len());
        let (picked, _) = cluster.partial_shuffle(&mut rng, take);
        chosen.extend_from_slice(picked);
    }
    chosen.sort_unstable();
    let sample = data.select(Axis(0), &chosen);
    let sample_labels: Vec<usize> = chosen.iter().map(|i| labels[*i]).collect();
    SampledSilhouette {
        value: silhouette(sample.view(), &sample_labels),
        sample_size: chosen.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::round_robin;

    /// Every pair of distinct tiles once, and no tile twice in a round.
    #[test]
    fn round_robin_visits_every_pair_once_without_sharing_a_tile() {
        for tiles in 0..12 {
            let mut seen = std::collections::BTreeSet::new();
            for round in round_robin(tiles) {
                let mut in_round = std::collections::BTreeSet::new();
                for (a, b) in round {
                    assert!(a < b && b < tiles, "{tiles}: ({a}, {b})");
                    assert!(
                        in_round.insert(a) && in_round.insert(b),
                        "{tiles}: tile twice"
                    );
                    assert!(seen.insert((a, b)), "{tiles}: ({a}, {b}) twice");
                }
            }
            assert_eq!(seen.len(), tiles * tiles.saturating_sub(1) / 2, "{tiles}");
        }
    }
}
