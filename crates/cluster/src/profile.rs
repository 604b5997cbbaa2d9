//! Cluster profiles: what each cluster looks like in the original (unscaled) features.

use lookalike_core::FeatureTable;
use serde::{Deserialize, Serialize};

/// One cluster described in raw feature values.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterProfile {
    /// Cluster number.
    pub cluster: usize,
    /// Customers in it.
    pub size: usize,
    /// Its share of all customers.
    pub share: f64,
    /// Mean of every feature column of the table (missing values skipped), in table order.
    pub means: Vec<f64>,
    /// The features that most set it apart: (column, standardised difference), largest
    /// |difference| first. The difference is (cluster mean − overall mean) / overall standard
    /// deviation, so +1.5 reads "1.5 standard deviations above the average customer".
    pub distinguishing: Vec<(String, f64)>,
}

/// What profiles need of a labelled table, as sums: per cluster and column the sum and count
/// of the present values, the cluster sizes, and per column the total, the sum of squares and
/// the count over all customers. Sums of parts of a base merge into the sums of the whole.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileSums {
    /// Columns of the table.
    columns: usize,
    /// k × columns sums of present values, cluster by cluster.
    sums: Vec<f64>,
    /// k × columns counts of present values.
    counts: Vec<u64>,
    /// Customers per cluster.
    sizes: Vec<u64>,
    /// Per column: sum, sum of squares and count of the present values.
    total: Vec<f64>,
    squares: Vec<f64>,
    present: Vec<u64>,
}

impl ProfileSums {
    /// The sums of `rows` of `table` labelled `labels` (one per row) into clusters `0..k`.
    pub fn of(table: &FeatureTable, rows: &[usize], labels: &[usize], k: usize) -> ProfileSums {
        let c = table.columns().len();
        let mut sums = ProfileSums {
            columns: c,
            sums: vec![0.0; k * c],
            counts: vec![0; k * c],
            sizes: vec![0; k],
            total: vec![0.0; c],
            squares: vec![0.0; c],
            present: vec![0; c],
        };
        for label in labels {
            sums.sizes[*label] += 1;
        }
        for j in 0..c {
            let column = table.values().column(j);
            for (row, label) in rows.iter().zip(labels) {
                let value = column[*row];
                if value.is_finite() {
                    sums.sums[label * c + j] += value;
                    sums.counts[label * c + j] += 1;
                    sums.total[j] += value;
                    sums.squares[j] += value * value;
                    sums.present[j] += 1;
                }
            }
        }
        sums
    }

    /// Adds another part's sums (same columns and k).
    pub fn merge(&mut self, other: &ProfileSums) {
        let add = |mine: &mut [f64], theirs: &[f64]| {
            mine.iter_mut().zip(theirs).for_each(|(m, t)| *m += t);
        };
        let count = |mine: &mut [u64], theirs: &[u64]| {
            mine.iter_mut().zip(theirs).for_each(|(m, t)| *m += t);
        };
        add(&mut self.sums, &other.sums);
        count(&mut self.counts, &other.counts);
        count(&mut self.sizes, &other.sizes);
        add(&mut self.total, &other.total);
        add(&mut self.squares, &other.squares);
        count(&mut self.present, &other.present);
    }

    /// The profiles of the clusters named by `columns` (the table's), with the `top` most
    /// distinguishing features of each. Columns without variation are never called
    /// distinguishing.
    pub fn profiles(&self, columns: &[String], top: usize) -> Vec<ClusterProfile> {
        let c = self.columns;
        let n: u64 = self.sizes.iter().sum();
        let mut overall_mean = vec![0.0; c];
        let mut overall_sd = vec![0.0; c];
        for j in 0..c {
            if self.present[j] > 0 {
                let present = self.present[j] as f64;
                overall_mean[j] = self.total[j] / present;
                overall_sd[j] = (self.squares[j] / present - overall_mean[j] * overall_mean[j])
                    .max(0.0)
                    .sqrt();
            } else {
                overall_mean[j] = f64::NAN;
            }
        }
        (0..self.sizes.len())
            .map(|cluster| {
                let means: Vec<f64> = (0..c)
                    .map(|j| match self.counts[cluster * c + j] {
                        0 => f64::NAN,
                        count => self.sums[cluster * c + j] / count as f64,
                    })
                    .collect();
                let mut distinguishing: Vec<(String, f64)> = columns
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| overall_sd[*j] > 1e-12 * overall_mean[*j].abs().max(1.0))
                    .filter(|(j, _)| means[*j].is_finite())
                    .map(|(j, name)| (name.clone(), (means[j] - overall_mean[j]) / overall_sd[j]))
                    .collect();
                // Largest |z| first; columns whose |z| agree to 1e-9 (copies of one another)
                // rank by name, whatever the order of the additions behind them.
                let rank = |z: f64| (z.abs() * 1e9).round();
                distinguishing.sort_by(|a, b| rank(b.1).total_cmp(&rank(a.1)).then(a.0.cmp(&b.0)));
                distinguishing.truncate(top);
                let size = self.sizes[cluster] as usize;
                ClusterProfile {
                    cluster,
                    size,
                    share: if n > 0 { size as f64 / n as f64 } else { 0.0 },
                    means,
                    distinguishing,
                }
            })
            .collect()
    }
}

/// Profiles of clusters `0..k` of `table`'s customers, with the `top` most distinguishing
/// features of each. Columns without variation are never called distinguishing.
pub fn cluster_profiles(
    table: &FeatureTable,
    labels: &[usize],
    k: usize,
    top: usize,
) -> Vec<ClusterProfile> {
    let rows: Vec<usize> = (0..labels.len()).collect();
    ProfileSums::of(table, &rows, labels, k).profiles(table.columns(), top)
}
