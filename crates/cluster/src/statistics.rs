//! The centre and spread of scaled columns, summed over a base held in parts: each part's
//! moments (for standard scaling) and value counts (for robust scaling's exact quartiles)
//! merge into those of the whole base, and [`Scaler::from_statistics`] fits the scaler one
//! process would fit on the whole table (equal up to the order of additions for the moments;
//! bit for bit from the counts and from the exact sums [`ColumnStatistics::exact`] keeps for
//! standard scaling). k-means in parts and audiences in parts share it.

use lookalike_core::{ExactSum, ValueCounts};
use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

use crate::scale::{robust_statistics, standard_statistics};
use crate::{ClusterError, Scaler, ScalerParams, Scaling};

/// Count, mean and sum of squared deviations of one column's values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Moments {
    n: u64,
    mean: f64,
    squares: f64,
}

impl Moments {
    /// Two passes over `values`: the arithmetic of [`Scaler::fit`], so one part gives its
    /// numbers bit for bit.
    fn of(values: impl Iterator<Item = f64> + Clone) -> Moments {
        let n = values.clone().count() as u64;
        if n == 0 {
            return Moments::default();
        }
        let mean = values.clone().sum::<f64>() / n as f64;
        let squares = values.map(|v| (v - mean).powi(2)).sum::<f64>();
        Moments { n, mean, squares }
    }

    /// Chan, Golub & LeVeque's pairwise update (1979).
    fn merge(&mut self, other: &Moments) {
        if other.n == 0 {
            return;
        }
        if self.n == 0 {
            *self = *other;
            return;
        }
        let n = self.n + other.n;
        let delta = other.mean - self.mean;
        let (a, b) = (self.n as f64, other.n as f64);
        self.mean += delta * b / n as f64;
        self.squares += other.squares + delta * delta * a * b / n as f64;
        self.n = n;
    }

    pub(crate) fn variance(&self) -> f64 {
        self.squares / self.n as f64
    }
}

/// Per scaled column, what its scaler statistics need: the moments, and with robust scaling
/// every value counted. Mergeable: the statistics of a base are the merge of its parts'.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnStatistics {
    moments: Vec<Moments>,
    counts: Option<Vec<ValueCounts>>,
    /// Per column, the exact Σv and Σv² ([`ColumnStatistics::exact`], standard scaling).
    #[serde(default)]
    sums: Option<Vec<(ExactSum, ExactSum)>>,
}

impl ColumnStatistics {
    /// The statistics of `values` (customers × scaled columns, after ln(1 + x) where asked,
    /// before scaling) for `scaling`.
    ///
    /// ```
    /// use lookalike_cluster::{ColumnStatistics, Scaler, ScalerParams, Scaling};
    /// let rows = ndarray::array![[1.0], [2.0], [3.0], [6.0]];
    /// let params = ScalerParams::new(["x"]).scaling(Scaling::Robust);
    /// let mut base = ColumnStatistics::of(rows.slice(ndarray::s![..2, ..]), Scaling::Robust);
    /// base.merge(&ColumnStatistics::of(rows.slice(ndarray::s![2.., ..]), Scaling::Robust)).unwrap();
    /// let scaler = Scaler::from_statistics(&params, &base).unwrap();
    /// // Median 2.5; quartiles 1.75 and 3.75.
    /// assert_eq!(scaler.parameters().center, vec![2.5]);
    /// assert_eq!(scaler.parameters().spread, vec![2.0]);
    /// ```
    pub fn of(values: ArrayView2<'_, f64>, scaling: Scaling) -> ColumnStatistics {
        let moments = values
            .columns()
            .into_iter()
            .map(|column| Moments::of(column.iter().copied()))
            .collect();
        let counts = (scaling == Scaling::Robust).then(|| {
            values
                .columns()
                .into_iter()
                .map(|column| {
                    let mut counts = ValueCounts::default();
                    column.iter().for_each(|v| counts.add(*v));
                    counts
                })
                .collect()
        });
        ColumnStatistics {
            moments,
            counts,
            sums: None,
        }
    }

    /// [`ColumnStatistics::of`], with standard scaling's mean and variance from the exact
    /// sums of the values and of their squares ([`ExactSum`]), each rounded once: the same
    /// scaler, bit for bit, however the base is split into parts and merged, in memory that
    /// does not grow with the customers. (Robust scaling's quartiles are exact already.)
    pub fn exact(values: ArrayView2<'_, f64>, scaling: Scaling) -> ColumnStatistics {
        let mut statistics = ColumnStatistics::of(values, scaling);
        if scaling == Scaling::Standard {
            let sums = values
                .columns()
                .into_iter()
                .map(|column| {
                    let (mut sum, mut squares) = (ExactSum::default(), ExactSum::default());
                    for v in column {
                        sum.add(*v);
                        squares.add(v * v);
                    }
                    (sum, squares)
                })
                .collect();
            statistics.sums = Some(sums);
        }
        statistics
    }

    /// Adds another part's statistics of the same columns and scaling.
    pub fn merge(&mut self, other: &ColumnStatistics) -> Result<(), ClusterError> {
        if self.moments.len() != other.moments.len()
            || self.counts.is_some() != other.counts.is_some()
        {
            return Err(ClusterError::PartsDiffer(
                "in their scaled columns or scaling".into(),
            ));
        }
        for (m, t) in self.moments.iter_mut().zip(&other.moments) {
            m.merge(t);
        }
        if let (Some(mine), Some(theirs)) = (&mut self.counts, &other.counts) {
            for (m, t) in mine.iter_mut().zip(theirs) {
                m.merge(t);
            }
        }
        match (&mut self.sums, &other.sums) {
            (Some(mine), Some(theirs)) => {
                for ((sum, squares), (their_sum, their_squares)) in mine.iter_mut().zip(theirs) {
                    sum.merge(their_sum);
                    squares.merge(their_squares);
                }
            }
            (None, None) => {}
            _ => {
                return Err(ClusterError::PartsDiffer(
                    "in how their statistics were summed".into(),
                ));
            }
        }
        Ok(())
    }

    /// Customers counted.
    pub fn customers(&self) -> u64 {
        self.moments.first().map_or(0, |m| m.n)
    }

    /// Each column's moments.
    pub(crate) fn moments(&self) -> &[Moments] {
        &self.moments
    }
}

impl Scaler {
    /// The scaler `params` makes of a base whose scaled columns have `statistics`: the scaler
    /// [`Scaler::fit`] fits on the whole table (robust: bit for bit; standard: equal up to the
    /// order of additions).
    pub fn from_statistics(
        params: &ScalerParams,
        statistics: &ColumnStatistics,
    ) -> Result<Scaler, ClusterError> {
        if statistics.customers() == 0 {
            return Err(ClusterError::EmptyInput);
        }
        let columns = &params.columns;
        if statistics.moments.len() != columns.len()
            || (params.scaling == Scaling::Robust && statistics.counts.is_none())
        {
            return Err(ClusterError::PartsDiffer(
                "from the scaler's columns or scaling".into(),
            ));
        }
        let position = |name: &str| columns.iter().position(|c| c == name).expect("a column");
        Scaler::fit_with(params, |name, _| {
            let j = position(name);
            let moments = &statistics.moments[j];
            match params.scaling {
                Scaling::None => Ok((0.0, 1.0)),
                Scaling::Standard => match &statistics.sums {
                    Some(sums) => {
                        // Σv and Σv² each rounded once: E[v²] − E[v]², the same bits
                        // whatever the order of the values.
                        let n = moments.n as f64;
                        let mean = sums[j].0.value() / n;
                        let variance = (sums[j].1.value() / n - mean * mean).max(0.0);
                        standard_statistics(name, mean, variance)
                    }
                    None => standard_statistics(name, moments.mean, moments.variance()),
                },
                Scaling::Robust => {
                    let counts = &statistics.counts.as_ref().expect("checked")[j];
                    let quartile = |q| counts.quantile(q).expect("customers counted");
                    robust_statistics(name, quartile(0.25), quartile(0.5), quartile(0.75))
                }
            }
        })
    }
}
