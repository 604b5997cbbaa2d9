//! The ensemble: the weighted mean of each candidate's rank percentile under its member
//! scorers, so scorers on different scales combine and a candidate high under all of them wins.
//! `lookalike expand --scorer ensemble` learns the weights by cross-validation on the seeds
//! ([`crate::select`]).

use ndarray::ArrayView2;

use crate::error::AudienceError;
use crate::scorer::{Scorer, Scores};

/// Several scorers, rank-averaged with weights. The nearest seed is the first member's that
/// finds one.
pub struct EnsembleScorer {
    members: Vec<(Box<dyn Scorer>, f64)>,
}

impl EnsembleScorer {
    /// The ensemble of `members` (at least one).
    ///
    /// ```
    /// use lookalike_audience::{EnsembleScorer, KnnScorer, Scorer};
    /// let seeds = ndarray::array![[0.0, 0.0], [0.1, 0.0], [0.0, 0.1]];
    /// let knn = KnnScorer::fit(seeds.view(), None, 2).unwrap();
    /// let ensemble = EnsembleScorer::new(vec![Box::new(knn)]);
    /// let scores = ensemble.score(ndarray::array![[0.0, 0.05], [1.0, 1.0], [5.0, 5.0]].view()).unwrap();
    /// assert_eq!(scores.score, vec![1.0, 0.5, 0.0]);
    /// ```
    pub fn new(members: Vec<Box<dyn Scorer>>) -> Self {
        Self::weighted(members.into_iter().map(|m| (m, 1.0)).collect())
    }

    /// The ensemble of `members` with their weights (at least one member; weights > 0).
    pub fn weighted(members: Vec<(Box<dyn Scorer>, f64)>) -> Self {
        assert!(!members.is_empty(), "an ensemble needs a member");
        assert!(
            members.iter().all(|(_, w)| *w > 0.0 && w.is_finite()),
            "ensemble weights must be positive"
        );
        EnsembleScorer { members }
    }
}

/// Rank percentile in [0, 1] of each value (0 = lowest, 1 = highest; ties share their mean
/// rank).
pub(crate) fn rank_percentiles(values: &[f64]) -> Vec<f64> {
    let n = values.len();
    if n == 1 {
        return vec![1.0];
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|a, b| values[*a].total_cmp(&values[*b]));
    let mut result = vec![0.0; n];
    let mut start = 0;
    while start < n {
        let mut end = start + 1;
        while end < n && values[order[end]] == values[order[start]] {
            end += 1;
        }
        let mean_rank = (start + end - 1) as f64 / 2.0;
        for i in &order[start..end] {
            result[*i] = mean_rank / (n - 1) as f64;
        }
        start = end;
    }
    result
}

impl Scorer for EnsembleScorer {
    fn name(&self) -> &'static str {
        "ensemble"
    }

    fn score(&self, candidates: ArrayView2<'_, f64>) -> Result<Scores, AudienceError> {
        let rows: Vec<usize> = (0..candidates.nrows()).collect();
        self.score_rows(candidates, &rows)
    }

    /// Every member scores all the rows, then ranks are averaged: percentiles need the whole
    /// set, so the ensemble does not score block by block.
    fn score_rows(
        &self,
        data: ArrayView2<'_, f64>,
        rows: &[usize],
    ) -> Result<Scores, AudienceError> {
        let mut total = vec![0.0; rows.len()];
        let mut nearest_seed = None;
        for (member, weight) in &self.members {
            let scores = member.score_rows(data, rows)?;
            for (t, p) in total.iter_mut().zip(rank_percentiles(&scores.strength)) {
                *t += weight * p;
            }
            if nearest_seed.is_none() {
                nearest_seed = scores.nearest_seed;
            }
        }
        let sum: f64 = self.members.iter().map(|(_, w)| w).sum();
        Ok(Scores::new(
            total.into_iter().map(|t| t / sum).collect(),
            nearest_seed,
        ))
    }
}
