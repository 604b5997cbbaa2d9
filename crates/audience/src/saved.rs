//! A fitted scorer as plain data, so that a trained model can score customers later (one chunk
//! of a base at a time, on another machine) exactly as it scored them when it was built.
//!
//! The kNN scorer's seed rows are the one large part; they are kept apart (the caller stores
//! them, e.g. as Parquet) and handed back to [`SavedScorer::restore`].

use ndarray::{Array2, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::boosted::BoostedScorer;
use crate::classifier::ClassifierScorer;
use crate::error::AudienceError;
use crate::gbdt::BoostedTrees;
use crate::scorer::{CentroidScorer, KnnScorer, Scorer};

/// The inverted-file index of a kNN scorer: rebuilt from the seeds with the same settings, it is
/// the same index (the build is seeded).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedIndex {
    /// Cells.
    pub lists: usize,
    /// Cells probed per candidate.
    pub probes: usize,
    /// Random seed of the build.
    pub seed: u64,
}

/// Everything a fitted scorer needs to score, except the kNN seed rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SavedScorer {
    /// [`ClassifierScorer`]: score = 1/(1 + c·e^(−z)), z = w·[x, x²] + b.
    Classifier {
        /// w: one weight per column, then one per column's square.
        weights: Vec<f64>,
        /// b.
        intercept: f64,
        /// Elkan-Noto c.
        calibration: f64,
    },
    /// [`BoostedScorer`]: score = 1/(1 + c·e^(−z)), z = the trees' log-odds plus the
    /// tie-break w·x clamped to ±1e-9.
    Boosted {
        /// The trees.
        trees: BoostedTrees,
        /// Elkan-Noto c.
        calibration: f64,
        /// w: one weight per column.
        tie_break: Vec<f64>,
    },
    /// [`KnnScorer`]: score = Σ over the k nearest seeds of weight × exp(−d²/2h²), over k.
    Knn {
        /// Neighbours.
        k: usize,
        /// h.
        bandwidth: f64,
        /// Each seed's relative value (1 without values), in seed order.
        weights: Vec<f64>,
        /// The approximate index, when one was used.
        index: Option<SavedIndex>,
    },
    /// [`CentroidScorer`]: score = weight of the nearest representative × exp(−d²/2h²).
    Centroids {
        /// Representatives, one row each, in the scaled space.
        representatives: Vec<Vec<f32>>,
        /// Each representative's relative value.
        weights: Vec<f64>,
        /// h.
        bandwidth: f64,
    },
}

impl SavedScorer {
    /// Refuses stored numbers a scorer cannot use, for `columns` compared columns: weights that
    /// are not finite (or of the wrong count), a calibration or bandwidth that is not a positive
    /// (bandwidth: non-negative) finite number, k = 0.
    pub fn check(&self, columns: usize) -> Result<(), AudienceError> {
        let bad = |what: String| Err(AudienceError::BadSavedScorer(what));
        match self {
            SavedScorer::Classifier {
                weights,
                intercept,
                calibration,
            } => {
                if weights.len() != 2 * columns {
                    return bad(format!(
                        "the classifier has {} weights for {columns} columns (expected {})",
                        weights.len(),
                        2 * columns
                    ));
                }
                if weights.iter().any(|w| !w.is_finite()) || !intercept.is_finite() {
                    return bad(
                        "a classifier weight or its intercept is not a finite number".into(),
                    );
                }
                if !(*calibration > 0.0 && calibration.is_finite()) {
                    return bad(format!(
                        "the classifier's calibration {calibration} must be a positive number"
                    ));
                }
            }
            SavedScorer::Boosted {
                trees,
                calibration,
                tie_break,
            } => {
                trees
                    .check(columns)
                    .map_err(AudienceError::BadSavedScorer)?;
                if tie_break.len() != columns || tie_break.iter().any(|w| !w.is_finite()) {
                    return bad(format!(
                        "the boosted trees' tie-break needs {columns} finite weights"
                    ));
                }
                if !(*calibration > 0.0 && calibration.is_finite()) {
                    return bad(format!(
                        "the boosted trees' calibration {calibration} must be a positive number"
                    ));
                }
            }
            SavedScorer::Knn {
                k,
                bandwidth,
                weights,
                ..
            } => {
                if *k == 0 || *k > weights.len() {
                    return bad(format!("k = {k} neighbours for {} seeds", weights.len()));
                }
                if !(*bandwidth >= 0.0 && bandwidth.is_finite()) {
                    return bad(format!("bandwidth {bandwidth} must be a number ≥ 0"));
                }
                if weights.iter().any(|w| !(*w >= 0.0 && w.is_finite())) {
                    return bad("a seed weight is not a number ≥ 0".into());
                }
            }
            SavedScorer::Centroids {
                representatives,
                weights,
                bandwidth,
            } => {
                if representatives.iter().any(|r| r.len() != columns)
                    || representatives.iter().flatten().any(|v| !v.is_finite())
                {
                    return bad(format!(
                        "the representatives must be rows of {columns} finite numbers"
                    ));
                }
                if !(*bandwidth >= 0.0 && bandwidth.is_finite())
                    || weights.iter().any(|w| !(*w >= 0.0 && w.is_finite()))
                {
                    return bad("a bandwidth or representative weight is not a number ≥ 0".into());
                }
            }
        }
        Ok(())
    }

    /// The scorer again; `seeds` are the kNN scorer's seed rows in their original order (the
    /// other scorers do not use them).
    ///
    /// ```
    /// use lookalike_audience::{KnnScorer, Scorer};
    /// let seeds = ndarray::array![[0.0, 0.0], [0.1, 0.0], [0.0, 0.1]];
    /// let knn = KnnScorer::fit(seeds.view(), None, 2).unwrap();
    /// let saved = knn.saved().unwrap();
    /// let again = saved.restore(seeds.view()).unwrap();
    /// let candidates = ndarray::array![[0.05, 0.05], [1.0, 0.0]];
    /// assert_eq!(again.score(candidates.view()).unwrap(), knn.score(candidates.view()).unwrap());
    /// ```
    pub fn restore(&self, seeds: ArrayView2<'_, f64>) -> Result<Box<dyn Scorer>, AudienceError> {
        Ok(match self {
            SavedScorer::Classifier {
                weights,
                intercept,
                calibration,
            } => Box::new(ClassifierScorer::from_parts(
                weights.clone(),
                *intercept,
                *calibration,
            )),
            SavedScorer::Boosted {
                trees,
                calibration,
                tie_break,
            } => Box::new(BoostedScorer::from_parts(
                trees.clone(),
                *calibration,
                tie_break.clone(),
            )),
            SavedScorer::Knn {
                k,
                bandwidth,
                weights,
                index,
            } => {
                if seeds.nrows() != weights.len() || seeds.nrows() == 0 {
                    return Err(AudienceError::BadSavedScorer(format!(
                        "{} seed weights for {} seed rows",
                        weights.len(),
                        seeds.nrows()
                    )));
                }
                let scorer = KnnScorer::from_parts(seeds, weights.clone(), *k, *bandwidth);
                match index {
                    Some(i) => Box::new(scorer.with_index(i.lists, i.probes, i.seed)?),
                    None => Box::new(scorer),
                }
            }
            SavedScorer::Centroids {
                representatives,
                weights,
                bandwidth,
            } => {
                let columns = representatives.first().map_or(0, Vec::len);
                let flat: Vec<f32> = representatives.iter().flatten().copied().collect();
                let matrix = Array2::from_shape_vec((representatives.len(), columns), flat)
                    .map_err(|_| {
                        AudienceError::BadSavedScorer(
                            "the representatives have different lengths".into(),
                        )
                    })?;
                if matrix.nrows() != weights.len() || matrix.nrows() == 0 {
                    return Err(AudienceError::BadSavedScorer(format!(
                        "{} weights for {} representatives",
                        weights.len(),
                        matrix.nrows()
                    )));
                }
                Box::new(CentroidScorer::from_parts(
                    matrix,
                    weights.clone(),
                    *bandwidth,
                ))
            }
        })
    }
}
