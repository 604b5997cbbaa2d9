//! Cluster profiles: what each cluster looks like in the original (unscaled) features.

use lookalike_core::FeatureTable;

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

/// Profiles of clusters `0..k` of `table`'s customers, with the `top` most distinguishing
/// features of each. Columns without variation are never called distinguishing.
pub fn cluster_profiles(
    table: &FeatureTable,
    labels: &[usize],
    k: usize,
    top: usize,
) -> Vec<ClusterProfile> {
    let columns = table.columns();
    let n = labels.len();
    let mut sums = vec![vec![0.0; columns.len()]; k];
    let mut counts = vec![vec![0usize; columns.len()]; k];
    let mut sizes = vec![0usize; k];
    for label in labels {
        sizes[*label] += 1;
    }
    let mut overall_mean = vec![0.0; columns.len()];
    let mut overall_sd = vec![0.0; columns.len()];
    for (j, (mean, sd)) in overall_mean.iter_mut().zip(&mut overall_sd).enumerate() {
        let column = table.values().column(j);
        let (mut total, mut squares, mut present) = (0.0, 0.0, 0usize);
        for (value, label) in column.iter().zip(labels) {
            if value.is_finite() {
                sums[*label][j] += value;
                counts[*label][j] += 1;
                total += value;
                squares += value * value;
                present += 1;
            }
        }
        if present > 0 {
            *mean = total / present as f64;
            *sd = (squares / present as f64 - *mean * *mean).max(0.0).sqrt();
        } else {
            *mean = f64::NAN;
        }
    }
    (0..k)
        .map(|c| {
            let means: Vec<f64> = (0..columns.len())
                .map(|j| {
                    if counts[c][j] > 0 {
                        sums[c][j] / counts[c][j] as f64
                    } else {
                        f64::NAN
                    }
                })
                .collect();
            let mut distinguishing: Vec<(String, f64)> = columns
                .iter()
                .enumerate()
                .filter(|(j, _)| overall_sd[*j] > 1e-12 * overall_mean[*j].abs().max(1.0))
                .filter(|(j, _)| means[*j].is_finite())
                .map(|(j, name)| (name.clone(), (means[j] - overall_mean[j]) / overall_sd[j]))
                .collect();
            distinguishing.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()).then(a.0.cmp(&b.0)));
            distinguishing.truncate(top);
            ClusterProfile {
                cluster: c,
                size: sizes[c],
                share: if n > 0 {
                    sizes[c] as f64 / n as f64
                } else {
                    0.0
                },
                means,
                distinguishing,
            }
        })
        .collect()
}
