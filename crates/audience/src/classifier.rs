//! Positive-unlabelled classification: the seeds against a random sample of the base.
//!
//! A logistic regression (smartcore, L2-penalised) on the features and their squares learns
//! g(x) ≈ P(labelled seed | x) from the seeds (label 1) and a random sample of candidates
//! (label 0, "unlabelled": some of them are lookalikes). The squares let it describe seeds that
//! sit in the middle of a feature's range (a quadratic boundary, as a Gaussian class with a
//! diagonal covariance has), which a linear boundary cannot. Elkan & Noto (2008, "Learning classifiers from only positive and unlabeled
//! data", KDD) show that g(x) / c, with c = E[g(x) | x a seed] estimated on seeds held out from
//! the fit, is the calibrated probability of belonging to the seeds' class. g/c passes 1 where
//! g > c, and a score capped there would tie every such candidate (on a 100k base, more than
//! the 1% tier); the score is [`probability`] instead, 1/(1 + c·e^(−z)) for the log-odds z,
//! which equals g/c where g ≪ c (most of a base) and nears 1 without reaching it, so it keeps
//! the ranking.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};
use rand::SeedableRng;
use rand::seq::index::sample;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use smartcore::linalg::basic::matrix::DenseMatrix;
use smartcore::linear::logistic_regression::{LogisticRegression, LogisticRegressionParameters};

use crate::error::AudienceError;
use crate::saved::SavedScorer;
use crate::scorer::{Scorer, Scores};

/// Unlabelled rows drawn per seed, and at most this many in all.
const UNLABELLED_PER_SEED: usize = 5;
const MOST_UNLABELLED: usize = 50_000;
/// Share of the seeds held out to estimate the calibration constant c.
pub(crate) const HELD_OUT: usize = 5; // one seed in five

/// `draws` rows of `candidates` drawn at random with `seed`, for the classifier's unlabelled
/// class: 5 per seed, at most 50,000 (all of them when there are fewer), in row order.
pub(crate) fn unlabelled_sample(candidates: &[usize], seeds: usize, seed: u64) -> Vec<usize> {
    let draws = (seeds * UNLABELLED_PER_SEED)
        .min(MOST_UNLABELLED)
        .min(candidates.len());
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut drawn = sample(&mut rng, candidates.len(), draws).into_vec();
    drawn.sort_unstable();
    drawn.into_iter().map(|i| candidates[i]).collect()
}

/// The fitted classifier.
#[derive(Debug, Clone)]
pub struct ClassifierScorer {
    weights: Array1<f64>,
    intercept: f64,
    /// Elkan-Noto c: mean g(x) over held-out seeds.
    calibration: f64,
}

/// Each row followed by its squares.
fn expanded(rows: ArrayView2<'_, f64>) -> Array2<f64> {
    let squares = rows.mapv(|v| v * v);
    ndarray::concatenate(Axis(1), &[rows.view(), squares.view()]).expect("same rows")
}

fn dense(rows: ArrayView2<'_, f64>) -> Result<DenseMatrix<f64>, AudienceError> {
    let (n, d) = rows.dim();
    DenseMatrix::new(n, d, rows.iter().copied().collect(), false)
        .map_err(|e| AudienceError::Classifier(e.to_string()))
}

/// The calibrated score of log-odds `z` under Elkan-Noto constant `c`: 1/(1 + c·e^(−z)), that
/// is σ(z − ln c). Equal to g/c (g = σ(z)) to first order where g ≪ c, below 1 everywhere, and
/// strictly increasing in z until f64 runs out of digits (z ≈ 36 + ln c), so candidates that
/// differ in log-odds differ in score.
pub(crate) fn probability(z: f64, c: f64) -> f64 {
    1.0 / (1.0 + c * (-z).exp())
}

/// Scores of the rows of `candidates` from their log-odds (computed row by row on every core:
/// each row's value depends on that row alone): the log-odds order them, the score is their
/// [`probability`] under Elkan-Noto constant `c`.
pub(crate) fn calibrated_scores(
    candidates: ArrayView2<'_, f64>,
    c: f64,
    log_odds: impl Fn(ArrayView1<'_, f64>) -> f64 + Sync,
) -> Scores {
    let strength: Vec<f64> = (0..candidates.nrows())
        .into_par_iter()
        .map(|i| log_odds(candidates.row(i)))
        .collect();
    let score = strength.iter().map(|z| probability(*z, c)).collect();
    Scores {
        score,
        strength,
        nearest_seed: None,
    }
}

/// The Elkan-Noto c from the held-out seeds' (log-odds, weight): the weighted mean of σ(z)
/// (unweighted when every weight is 0); 1 when no seed was held out.
pub(crate) fn calibrated(held_out: &[(f64, f64)]) -> f64 {
    if held_out.is_empty() {
        return 1.0;
    }
    let weight: f64 = held_out.iter().map(|(_, w)| w).sum();
    let mean = if weight > 0.0 {
        held_out.iter().map(|(z, w)| w * sigmoid(*z)).sum::<f64>() / weight
    } else {
        held_out.iter().map(|(z, _)| sigmoid(*z)).sum::<f64>() / held_out.len() as f64
    };
    mean.max(f64::MIN_POSITIVE)
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

impl ClassifierScorer {
    /// Fits on `seeds` against `unlabelled` rows (a random sample of the base: 5 rows per seed,
    /// at most 50,000, are drawn with `seed` when more are given).
    ///
    /// ```
    /// use lookalike_audience::{ClassifierScorer, Scorer};
    /// let seeds = ndarray::Array2::from_shape_fn((60, 2), |(i, j)| 3.0 + ((i * (j + 2)) % 7) as f64 * 0.1);
    /// let base = ndarray::Array2::from_shape_fn((400, 2), |(i, j)| ((i * (j + 3)) % 11) as f64 * 0.3 - 1.5);
    /// let scorer = ClassifierScorer::fit(seeds.view(), base.view(), 7).unwrap();
    /// let scores = scorer.score(ndarray::array![[3.2, 3.3], [-1.0, -1.0]].view()).unwrap();
    /// assert!(scores.score[0] > 0.9 && scores.score[1] < 0.1);
    /// ```
    pub fn fit(
        seeds: ArrayView2<'_, f64>,
        unlabelled: ArrayView2<'_, f64>,
        seed: u64,
    ) -> Result<ClassifierScorer, AudienceError> {
        if seeds.nrows() < 2 {
            return Err(AudienceError::NoSeeds);
        }
        if unlabelled.nrows() == 0 {
            return Err(AudienceError::NoCandidates);
        }
        let all: Vec<usize> = (0..unlabelled.nrows()).collect();
        let drawn = unlabelled_sample(&all, seeds.nrows(), seed);
        let (held_out, trained): (Vec<usize>, Vec<usize>) =
            (0..seeds.nrows()).partition(|i| i % HELD_OUT == HELD_OUT - 1);
        let positives = seeds.select(Axis(0), &trained);
        let negatives = unlabelled.select(Axis(0), &drawn);
        let x = expanded(
            ndarray::concatenate(Axis(0), &[positives.view(), negatives.view()])
                .expect("same columns")
                .view(),
        );
        let y: Vec<u32> = std::iter::repeat_n(1, positives.nrows())
            .chain(std::iter::repeat_n(0, negatives.nrows()))
            .collect();
        let model = LogisticRegression::fit(
            &dense(x.view())?,
            &y,
            LogisticRegressionParameters::default().with_alpha(1.0),
        )
        .map_err(|e| AudienceError::Classifier(e.to_string()))?;
        let weights = Array1::from_iter(model.coefficients().iter().copied());
        let intercept = *model.intercept().iter().next().expect("one intercept");
        let mut scorer = ClassifierScorer {
            weights,
            intercept,
            calibration: 1.0,
        };
        let held: Vec<(f64, f64)> = held_out
            .iter()
            .map(|i| (scorer.linear_predictor(seeds.row(*i)), 1.0))
            .collect();
        scorer.calibration = calibrated(&held);
        Ok(scorer)
    }

    /// w·[x, x²] + b of one row, summed term by term in column order: a row's value never
    /// depends on the other rows scored with it (a matrix product may sum in another order for
    /// another layout or batch, and move a customer across a tier cut in the last bit).
    fn linear_predictor(&self, row: ArrayView1<'_, f64>) -> f64 {
        let d = row.len();
        let mut z = 0.0;
        for (j, x) in row.iter().enumerate() {
            z += self.weights[j] * x;
        }
        for (j, x) in row.iter().enumerate() {
            z += self.weights[d + j] * (x * x);
        }
        z + self.intercept
    }

    /// The Elkan-Noto constant c (mean classifier output on held-out seeds).
    pub fn calibration(&self) -> f64 {
        self.calibration
    }

    /// The scorer of a saved fit ([`crate::SavedScorer`]).
    pub(crate) fn from_parts(weights: Vec<f64>, intercept: f64, calibration: f64) -> Self {
        ClassifierScorer {
            weights: Array1::from(weights),
            intercept,
            calibration,
        }
    }
}

impl Scorer for ClassifierScorer {
    fn name(&self) -> &'static str {
        "classifier"
    }

    fn saved(&self) -> Option<SavedScorer> {
        Some(SavedScorer::Classifier {
            weights: self.weights.to_vec(),
            intercept: self.intercept,
            calibration: self.calibration,
        })
    }

    fn score(&self, candidates: ArrayView2<'_, f64>) -> Result<Scores, AudienceError> {
        if 2 * candidates.ncols() != self.weights.len() {
            return Err(AudienceError::ColumnCount {
                expected: self.weights.len() / 2,
                got: candidates.ncols(),
            });
        }
        Ok(calibrated_scores(candidates, self.calibration, |row| {
            self.linear_predictor(row)
        }))
    }
}
