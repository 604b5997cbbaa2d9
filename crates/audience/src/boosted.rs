//! Positive-unlabelled boosted trees: the seeds against a random sample of the base, as the
//! classifier does, with gradient-boosted trees ([`crate::gbdt`]) instead of a quadratic
//! logistic regression, so that best customers of several kinds (frequent small baskets, rare
//! big tickets) with decoys between them are told apart where one boundary cannot.
//!
//! Seeds with values weigh by their relative value (value over the 95th percentile, capped at
//! 1), so a value-based lookalike leans towards the valuable seeds. The Elkan & Noto (2008)
//! constant c is the (weighted) mean output on the held-out fifth of the seeds.
//!
//! Trees are piecewise constant: customers in the same leaf of every tree tie, and ties fall
//! back to the id order, which pseudonymized ids change. So the log-odds carry a tie-break
//! term below 1e-9 (far below any difference between leaf sums): the customer's position
//! along the direction from the unlabelled mean to the seeds' mean, so that among customers
//! the trees cannot tell apart, the one more like the seeds ranks first.

use ndarray::{ArrayView1, ArrayView2, Axis};

use crate::classifier::{HELD_OUT, calibrated, calibrated_scores, unlabelled_sample};
use crate::error::AudienceError;
use crate::gbdt::{BoostSettings, BoostedTrees, fit};
use crate::saved::SavedScorer;
use crate::scorer::{Scorer, Scores, relative_values};

/// The fitted boosted-trees scorer.
#[derive(Debug, Clone, PartialEq)]
pub struct BoostedScorer {
    trees: BoostedTrees,
    /// Elkan-Noto c.
    calibration: f64,
    /// The tie-break direction, scaled so that |w·x| ≤ 1e-9 on the training rows.
    tie_break: Vec<f64>,
}

/// The largest tie-break term.
const TIE_BREAK: f64 = 1e-9;

/// The seeds' mean minus the unlabelled mean, scaled so that the largest |w·x| over the
/// training rows is [`TIE_BREAK`] (all zeros when the means agree).
fn tie_break_direction(positives: ArrayView2<'_, f64>, negatives: ArrayView2<'_, f64>) -> Vec<f64> {
    let mean = |rows: ArrayView2<'_, f64>| rows.mean_axis(Axis(0)).expect("rows");
    let direction = mean(positives) - mean(negatives);
    let largest = positives
        .rows()
        .into_iter()
        .chain(negatives.rows())
        .map(|row| row.dot(&direction).abs())
        .fold(0.0, f64::max);
    if largest > 0.0 && largest.is_finite() {
        direction.mapv(|w| w * TIE_BREAK / largest).to_vec()
    } else {
        vec![0.0; direction.len()]
    }
}

impl BoostedScorer {
    /// Fits on `seeds` (with optional `values`) against `unlabelled` rows, of which 5 per seed,
    /// at most 50,000, are drawn with `seed` when more are given.
    ///
    /// ```
    /// use lookalike_audience::{BoostedScorer, Scorer};
    /// let seeds = ndarray::Array2::from_shape_fn((200, 2), |(i, j)| 3.0 + ((i * (j + 2)) % 7) as f64 * 0.1);
    /// let base = ndarray::Array2::from_shape_fn((1000, 2), |(i, j)| ((i * (j + 3)) % 11) as f64 * 0.3 - 1.5);
    /// let scorer = BoostedScorer::fit(seeds.view(), None, base.view(), 7).unwrap();
    /// let scores = scorer.score(ndarray::array![[3.2, 3.3], [-1.0, -1.0]].view()).unwrap();
    /// assert!(scores.score[0] > 0.9 && scores.score[1] < 0.1);
    /// ```
    pub fn fit(
        seeds: ArrayView2<'_, f64>,
        values: Option<&[f64]>,
        unlabelled: ArrayView2<'_, f64>,
        seed: u64,
    ) -> Result<BoostedScorer, AudienceError> {
        if seeds.nrows() < 2 {
            return Err(AudienceError::NoSeeds);
        }
        if unlabelled.nrows() == 0 {
            return Err(AudienceError::NoCandidates);
        }
        let weights = relative_values(values, seeds.nrows())?;
        let all: Vec<usize> = (0..unlabelled.nrows()).collect();
        let drawn = unlabelled_sample(&all, seeds.nrows(), seed);
        let (held_out, trained): (Vec<usize>, Vec<usize>) =
            (0..seeds.nrows()).partition(|i| i % HELD_OUT == HELD_OUT - 1);
        let (positives, negatives) = (
            seeds.select(Axis(0), &trained),
            unlabelled.select(Axis(0), &drawn),
        );
        let x = ndarray::concatenate(Axis(0), &[positives.view(), negatives.view()])
            .expect("same columns");
        let y: Vec<bool> = std::iter::repeat_n(true, trained.len())
            .chain(std::iter::repeat_n(false, drawn.len()))
            .collect();
        let w: Vec<f64> = trained
            .iter()
            .map(|i| weights[*i])
            .chain(std::iter::repeat_n(1.0, drawn.len()))
            .collect();
        if !w[..trained.len()].iter().any(|w| *w > 0.0) {
            return Err(AudienceError::ZeroSeedValues);
        }
        let mut scorer = BoostedScorer {
            trees: fit(x.view(), &y, &w, &BoostSettings::default()),
            calibration: 1.0,
            tie_break: tie_break_direction(positives.view(), negatives.view()),
        };
        let held: Vec<(f64, f64)> = held_out
            .iter()
            .map(|i| (scorer.log_odds(seeds.row(*i)), weights[*i]))
            .collect();
        scorer.calibration = calibrated(&held);
        Ok(scorer)
    }

    /// The Elkan-Noto constant c.
    pub fn calibration(&self) -> f64 {
        self.calibration
    }

    /// The trees' log-odds plus the tie-break term, summed in a fixed order.
    fn log_odds(&self, row: ArrayView1<'_, f64>) -> f64 {
        let mut tie = 0.0;
        for (w, x) in self.tie_break.iter().zip(row) {
            tie += w * x;
        }
        self.trees.log_odds(row) + tie.clamp(-TIE_BREAK, TIE_BREAK)
    }

    /// The scorer of a saved fit ([`crate::SavedScorer`]).
    pub(crate) fn from_parts(trees: BoostedTrees, calibration: f64, tie_break: Vec<f64>) -> Self {
        BoostedScorer {
            trees,
            calibration,
            tie_break,
        }
    }
}

impl Scorer for BoostedScorer {
    fn name(&self) -> &'static str {
        "boosted"
    }

    fn saved(&self) -> Option<SavedScorer> {
        Some(SavedScorer::Boosted {
            trees: self.trees.clone(),
            calibration: self.calibration,
            tie_break: self.tie_break.clone(),
        })
    }

    fn score(&self, candidates: ArrayView2<'_, f64>) -> Result<Scores, AudienceError> {
        if candidates.ncols() != self.tie_break.len() {
            return Err(AudienceError::ColumnCount {
                expected: self.tie_break.len(),
                got: candidates.ncols(),
            });
        }
        Ok(calibrated_scores(candidates, self.calibration, |row| {
            self.log_odds(row)
        }))
    }
}
