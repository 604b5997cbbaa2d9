//! Why a customer was chosen: the features in which they differ from the base in the same
//! direction as the seeds do.
//!
//! In the scaled space, with μ the base mean and σ the seed mean of a feature, a candidate's
//! value x contributes (x − μ)·sign(σ − μ) when the seeds stand out in that feature
//! (|σ − μ| ≥ 0.1 scaled units): positive when the candidate is, like the seeds, above (or
//! below) the base. The largest positive contributions are the reasons, reported as the signed
//! deviation x − μ: a marketer reads "orders +2.1" as "2.1 scaled units more orders than the
//! base, as the seeds have" and "days_since_last_purchase −1.0" as "more recent, like them".

use ndarray::{Array1, ArrayView1, ArrayView2, Axis};

/// Base and seed means per feature, for the reasons.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    base: Array1<f64>,
    direction: Array1<f64>,
}

/// Seeds must differ from the base by this much (scaled units) in a feature for it to count.
const DISTINCT: f64 = 0.1;

impl Profile {
    /// The means of the base rows and of the seed rows.
    pub fn new(base: ArrayView2<'_, f64>, seeds: ArrayView2<'_, f64>) -> Profile {
        let base_mean = base.mean_axis(Axis(0)).expect("the base is not empty");
        let seed_mean = seeds.mean_axis(Axis(0)).expect("the seeds are not empty");
        let direction =
            (&seed_mean - &base_mean).mapv(|d| if d.abs() < DISTINCT { 0.0 } else { d.signum() });
        Profile {
            base: base_mean,
            direction,
        }
    }

    /// Up to `top` (feature, deviation x − μ) pairs of the features with a positive
    /// contribution, largest contribution first.
    ///
    /// ```
    /// use ndarray::array;
    /// let base = array![[0.0, 0.0], [1.0, 0.0], [-1.0, 0.0]];
    /// let seeds = array![[2.0, 0.0], [2.0, 0.05]];
    /// let profile = lookalike_audience::Profile::new(base.view(), seeds.view());
    /// assert_eq!(profile.reasons(array![1.5, 3.0].view(), 3), vec![(0, 1.5)]);
    /// // Seeds below the base: a candidate below it too is explained by a negative deviation.
    /// let low = lookalike_audience::Profile::new(base.view(), (-&seeds).view());
    /// assert_eq!(low.reasons(array![-0.5, 0.0].view(), 3), vec![(0, -0.5)]);
    /// ```
    pub fn reasons(&self, row: ArrayView1<'_, f64>, top: usize) -> Vec<(usize, f64)> {
        let mut found: Vec<(usize, f64)> = row
            .iter()
            .zip(&self.base)
            .zip(&self.direction)
            .enumerate()
            .map(|(j, ((x, mu), dir))| (j, (x - mu) * dir))
            .filter(|(_, c)| *c > 0.0)
            .collect();
        found.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        found.truncate(top);
        found
            .into_iter()
            .map(|(j, contribution)| (j, contribution * self.direction[j]))
            .collect()
    }
}
