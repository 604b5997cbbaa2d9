//! Clustering quality metrics, with scikit-learn's definitions (unweighted), for `f32` or
//! `f64` data; sums are carried in `f64`.

use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, ArrayView1, ArrayView2, Axis};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::ClusterError;
use crate::float::{Float, wide};

fn distance<F: Float>(a: ArrayView1<'_, F>, b: ArrayView1<'_, f64>) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (wide(*x) - y) * (wide(*x) - y))
        .sum::<f64>()
        .sqrt()
}

fn clusters_of(labels: &[usize]) -> usize {
    labels.iter().max().map_or(0, |m| m + 1)
}

/// Cluster means (in `f64`) and sizes.
fn centers<F: Float>(
    data: ArrayView2<'_, F>,
    labels: &[usize],
    k: usize,
) -> (Array2<f64>, Vec<usize>) {
    let mut sums = Array2::<f64>::zeros((k, data.ncols()));
    let mut sizes = vec![0usize; k];
    for (row, label) in data.rows().into_iter().zip(labels) {
        for (s, x) in sums.row_mut(*label).iter_mut().zip(row) {
            *s += wide(*x);
        }
        sizes[*label] += 1;
    }
    for (mut row, size) in sums.rows_mut().into_iter().zip(&sizes) {
        if *size > 0 {
            row.mapv_inplace(|v| v / *size as f64);
        }
    }
    (sums, sizes)
}

/// Sum of squared distances of each point to its cluster's mean.
pub fn inertia<F: Float>(data: ArrayView2<'_, F>, labels: &[usize]) -> f64 {
    let (means, _) = centers(data, labels, clusters_of(labels));
    data.rows()
        .into_iter()
        .zip(labels)
        .map(|(row, l)| distance(row, means.row(*l)).powi(2))
        .sum()
}

/// Rows per block of the silhouette's distance products.
const SILHOUETTE_ROWS: usize = 256;
/// Columns per distance product: a 256 × 2048 block of distances stays in cache.
const SILHOUETTE_COLUMNS: usize = 2048;

/// Mean silhouette coefficient, exact: every pairwise distance, O(n²·d) time, and never an
/// n × n matrix (memory O(n·d) for a copy sorted by cluster plus fixed-size blocks). Points are
/// sorted by cluster so each point's distance sums per cluster are sums over contiguous column
/// ranges, computed as ‖x‖² + ‖y‖² − 2·x·y with one matrix product per block (as
/// scikit-learn's `euclidean_distances`). A point alone in its cluster scores 0, as in
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

/// The silhouette of every point (in the points' order).
fn silhouette_scores<F: Float>(data: ArrayView2<'_, F>, labels: &[usize]) -> Vec<f64> {
    let k = clusters_of(labels);
    let mut order: Vec<usize> = (0..labels.len()).collect();
    order.sort_by_key(|i| labels[*i]);
    let sorted = data.select(Axis(0), &order);
    let sorted_labels: Vec<usize> = order.iter().map(|i| labels[*i]).collect();
    let mut bounds = vec![0usize; k + 1];
    for l in &sorted_labels {
        bounds[l + 1] += 1;
    }
    for c in 0..k {
        bounds[c + 1] += bounds[c];
    }
    let sizes: Vec<usize> = (0..k).map(|c| bounds[c + 1] - bounds[c]).collect();
    let norms: Vec<F> = sorted.rows().into_iter().map(|r| r.dot(&r)).collect();
    let minus_two = F::from_f64(-2.0).expect("small constant");
    let sorted_scores: Vec<f64> = sorted
        .axis_chunks_iter(Axis(0), SILHOUETTE_ROWS)
        .into_par_iter()
        .enumerate()
        .flat_map_iter(|(b, block)| {
            let first = b * SILHOUETTE_ROWS;
            let mut sums = Array2::<f64>::zeros((block.nrows(), k));
            let mut products = Array2::<F>::zeros((block.nrows(), SILHOUETTE_COLUMNS));
            for c in 0..k {
                let mut column = bounds[c];
                while column < bounds[c + 1] {
                    let end = (column + SILHOUETTE_COLUMNS).min(bounds[c + 1]);
                    let others = sorted.slice_axis(Axis(0), (column..end).into());
                    let mut product = products.slice_axis_mut(Axis(1), (0..end - column).into());
                    general_mat_mul(minus_two, &block, &others.t(), F::zero(), &mut product);
                    for (r, product_row) in product.rows().into_iter().enumerate() {
                        let own = norms[first + r];
                        let distance =
                            |(p, other): (&F, &F)| (own + *other + *p).max(F::zero()).sqrt();
                        let mut total = F::zero();
                        for pair in product_row.iter().zip(&norms[column..end]) {
                            total += distance(pair);
                        }
                        // A point's distance to itself is 0; the expansion leaves rounding noise.
                        if (column..end).contains(&(first + r)) {
                            let itself = first + r - column;
                            total -= distance((&product_row[itself], &norms[first + r]));
                        }
                        sums[[r, c]] += wide(total);
                    }
                    column = end;
                }
            }
            (0..block.nrows())
                .map(|r| score(sums.row(r), sorted_labels[first + r], &sizes))
                .collect::<Vec<_>>()
        })
        .collect();
    let mut scores = vec![0.0; labels.len()];
    for (position, i) in order.iter().enumerate() {
        scores[*i] = sorted_scores[position];
    }
    scores
}

/// One point's silhouette from its distance sums per cluster.
fn score(sums: ArrayView1<'_, f64>, own: usize, sizes: &[usize]) -> f64 {
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

/// Davies-Bouldin index (lower is better): the mean over clusters of the worst ratio of summed
/// within-cluster spreads to centroid distance.
pub fn davies_bouldin<F: Float>(data: ArrayView2<'_, F>, labels: &[usize]) -> f64 {
    let k = clusters_of(labels);
    let (means, sizes) = centers(data, labels, k);
    let mut spread = vec![0.0; k];
    for (row, l) in data.rows().into_iter().zip(labels) {
        spread[*l] += distance(row, means.row(*l));
    }
    for (s, size) in spread.iter_mut().zip(&sizes) {
        if *size > 0 {
            *s /= *size as f64;
        }
    }
    let present: Vec<usize> = (0..k).filter(|c| sizes[*c] > 0).collect();
    let worst: f64 = present
        .iter()
        .map(|&i| {
            present
                .iter()
                .filter(|j| **j != i)
                .map(|&j| {
                    let d = distance(means.row(i), means.row(j));
                    if d == 0.0 {
                        f64::INFINITY
                    } else {
                        (spread[i] + spread[j]) / d
                    }
                })
                .fold(0.0, f64::max)
        })
        .sum();
    worst / present.len() as f64
}

/// Calinski-Harabasz index (higher is better): between-cluster over within-cluster dispersion,
/// each divided by its degrees of freedom.
pub fn calinski_harabasz<F: Float>(data: ArrayView2<'_, F>, labels: &[usize]) -> f64 {
    let k = clusters_of(labels);
    let (means, sizes) = centers(data, labels, k);
    let n = labels.len();
    let mut overall = vec![0.0; data.ncols()];
    for row in data.rows() {
        for (o, x) in overall.iter_mut().zip(row) {
            *o += wide(*x) / n as f64;
        }
    }
    let overall = ndarray::Array1::from(overall);
    let between: f64 = means
        .rows()
        .into_iter()
        .zip(&sizes)
        .map(|(m, s)| *s as f64 * distance(m, overall.view()).powi(2))
        .sum();
    let within = inertia(data, labels);
    let used = sizes.iter().filter(|s| **s > 0).count();
    if within == 0.0 {
        return 1.0;
    }
    between * (n - used) as f64 / (within * (used - 1) as f64)
}

fn pairs(n: u64) -> f64 {
    (n * n.saturating_sub(1)) as f64 / 2.0
}

/// Adjusted Rand index between two labelings of the same points (1 = identical partitions up to
/// renaming, about 0 = chance agreement).
///
/// ```
/// let ari = lookalike_cluster::adjusted_rand_index(&[0, 0, 1, 1], &[1, 1, 0, 0]).unwrap();
/// assert_eq!(ari, 1.0);
/// ```
pub fn adjusted_rand_index(a: &[usize], b: &[usize]) -> Result<f64, ClusterError> {
    if a.len() != b.len() {
        return Err(ClusterError::LabelLengthMismatch(a.len(), b.len()));
    }
    let (ka, kb) = (clusters_of(a), clusters_of(b));
    let mut table = vec![0u64; ka * kb];
    let (mut rows, mut columns) = (vec![0u64; ka], vec![0u64; kb]);
    for (x, y) in a.iter().zip(b) {
        table[x * kb + y] += 1;
        rows[*x] += 1;
        columns[*y] += 1;
    }
    let index: f64 = table.iter().map(|n| pairs(*n)).sum();
    let (sum_rows, sum_columns): (f64, f64) = (
        rows.iter().map(|n| pairs(*n)).sum(),
        columns.iter().map(|n| pairs(*n)).sum(),
    );
    let expected = sum_rows * sum_columns / pairs(a.len() as u64).max(1.0);
    let maximum = (sum_rows + sum_columns) / 2.0;
    if maximum == expected {
        // Both partitions trivial (one cluster, or all singletons): scikit-learn's convention.
        return Ok(1.0);
    }
    Ok((index - expected) / (maximum - expected))
}
