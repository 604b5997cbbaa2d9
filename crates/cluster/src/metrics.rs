//! Clustering quality metrics, with scikit-learn's definitions (unweighted), for `f32` or
//! `f64` data; sums are carried in `f64`.

use ndarray::{Array2, ArrayView1, ArrayView2};

use crate::ClusterError;
use crate::float::{Float, wide};

fn distance<F: Float>(a: ArrayView1<'_, F>, b: ArrayView1<'_, f64>) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (wide(*x) - y) * (wide(*x) - y))
        .sum::<f64>()
        .sqrt()
}

/// Number of clusters a labelling uses (its largest label + 1).
pub(crate) fn clusters_of(labels: &[usize]) -> usize {
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

/// Davies-Bouldin index (lower is better): the mean over clusters of the worst ratio of summed
/// within-cluster spreads to centroid distance.
pub fn davies_bouldin<F: Float>(data: ArrayView2<'_, F>, labels: &[usize]) -> f64 {
    let k = clusters_of(labels);
    let (means, sizes) = centers(data, labels, k);
    let mut spread = vec![0.0; k];
    for (row, l) in data.rows().into_iter().zip(labels) {
        spread[*l] += distance(row, means.row(*l));
    }
    davies_bouldin_of(&means, &sizes, &spread)
}

/// Davies-Bouldin from the cluster means, sizes and summed distances of the members to their
/// mean (what a base in parts sums).
pub(crate) fn davies_bouldin_of(means: &Array2<f64>, sizes: &[usize], spread_sums: &[f64]) -> f64 {
    let spread: Vec<f64> = spread_sums
        .iter()
        .zip(sizes)
        .map(|(s, size)| if *size > 0 { s / *size as f64 } else { *s })
        .collect();
    let present: Vec<usize> = (0..sizes.len()).filter(|c| sizes[*c] > 0).collect();
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
    calinski_harabasz_of(&means, &sizes, &overall, inertia(data, labels))
}

/// Calinski-Harabasz from the cluster means and sizes, the overall mean and the summed squared
/// distances of the members to their cluster's mean (what a base in parts sums).
pub(crate) fn calinski_harabasz_of(
    means: &Array2<f64>,
    sizes: &[usize],
    overall: &[f64],
    within: f64,
) -> f64 {
    let n: usize = sizes.iter().sum();
    let overall = ndarray::Array1::from(overall.to_vec());
    let between: f64 = means
        .rows()
        .into_iter()
        .zip(sizes)
        .map(|(m, s)| *s as f64 * distance(m, overall.view()).powi(2))
        .sum();
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
