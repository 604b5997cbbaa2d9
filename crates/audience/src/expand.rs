//! From seeds and candidates to an audience: score, rank, cut into nested tiers, flag the
//! control group and explain each choice.

use ndarray::{ArrayView2, Axis};
use rayon::prelude::*;

use crate::boosted::BoostedScorer;
use crate::classifier::ClassifierScorer;
use crate::classifier::unlabelled_sample;
use crate::error::AudienceError;
use crate::reasons::Profile;
use crate::saved::SavedScorer;
use crate::scorer::{CentroidScorer, KnnScorer, Scorer, Scores, relative_values};
use crate::select::{FitData, Selection};
use crate::tiers::{TierSize, in_control, resolve, top_ranked};
use lookalike_cluster::k_nearest;

/// Which scorer ranks the candidates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum ScorerKind {
    /// The single scorer that finds most of the audience's own hidden seeds in a
    /// cross-validation on them (see [`crate::Selection`]): the default.
    #[default]
    Auto,
    /// Positive-unlabelled gradient-boosted trees, calibrated ([`BoostedScorer`]); seeds weigh
    /// by value.
    Boosted,
    /// Positive-unlabelled logistic regression on the features and their squares, calibrated
    /// ([`ClassifierScorer`]). It does not weight seeds by value; the others do.
    Classifier,
    /// Similarity to the k nearest seeds ([`KnnScorer`]).
    Knn,
    /// Similarity to the best of m seed representatives ([`CentroidScorer`]).
    Centroids,
    /// Rank average of the four single scorers with weights learned by cross-validation on
    /// the seeds ([`EnsembleScorer`]); it ranks candidates against each other, so a trained
    /// model cannot keep it.
    Ensemble,
}

impl ScorerKind {
    /// Every scorer, in report order.
    pub const ALL: [ScorerKind; 6] = [
        ScorerKind::Auto,
        ScorerKind::Boosted,
        ScorerKind::Classifier,
        ScorerKind::Knn,
        ScorerKind::Centroids,
        ScorerKind::Ensemble,
    ];

    /// The scorer's name ("auto", "boosted", "classifier", "knn", "centroids", "ensemble").
    pub fn name(self) -> &'static str {
        match self {
            ScorerKind::Auto => "auto",
            ScorerKind::Boosted => "boosted",
            ScorerKind::Classifier => "classifier",
            ScorerKind::Knn => "knn",
            ScorerKind::Centroids => "centroids",
            ScorerKind::Ensemble => "ensemble",
        }
    }

    /// Whether a trained model can keep the fitted scorer (all but the ensemble).
    pub fn saveable(self) -> bool {
        self != ScorerKind::Ensemble
    }
}

/// How to build an audience. Consuming setters; each says its default.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpandParams {
    sizes: Vec<TierSize>,
    scorer: ScorerKind,
    neighbours: usize,
    representatives: usize,
    holdout: f64,
    salt: u64,
    min_seeds: usize,
    seed: u64,
    reasons: usize,
    rank_by_value: bool,
    index: IndexChoice,
}

/// How the kNN scorer searches the seeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum IndexChoice {
    /// Exact below 100,000 seeds, the inverted-file index above.
    #[default]
    Auto,
    /// Always the exact search.
    Exact,
    /// Always the inverted-file index: 4√seeds cells, a sixteenth of them probed (at least 8).
    Ivf,
}

/// Seeds from which [`IndexChoice::Auto`] uses the approximate index.
const APPROXIMATE_FROM: usize = 100_000;

impl ExpandParams {
    /// Tiers of these sizes, every other setting at its default.
    pub fn new(sizes: Vec<TierSize>) -> Self {
        ExpandParams {
            sizes,
            scorer: ScorerKind::Auto,
            neighbours: 10,
            representatives: 0,
            holdout: 0.0,
            salt: 0,
            min_seeds: 100,
            seed: 0,
            reasons: 3,
            rank_by_value: false,
            index: IndexChoice::Auto,
        }
    }

    /// The scorer. Default: [`ScorerKind::Auto`].
    pub fn scorer(mut self, scorer: ScorerKind) -> Self {
        self.scorer = scorer;
        self
    }

    /// Neighbours of the kNN scorer. Default: 10.
    pub fn neighbours(mut self, k: usize) -> Self {
        self.neighbours = k;
        self
    }

    /// Representatives of the multi-centroid scorer; 0 picks √(seeds / 10) between 1 and 32.
    /// Default: 0.
    pub fn representatives(mut self, m: usize) -> Self {
        self.representatives = m;
        self
    }

    /// Share of each tier flagged as control, in [0, 1). Default: 0.
    pub fn holdout(mut self, share: f64) -> Self {
        self.holdout = share;
        self
    }

    /// Salt of the control hash: change it to draw a different control group. Default: 0.
    pub fn salt(mut self, salt: u64) -> Self {
        self.salt = salt;
        self
    }

    /// Fewest seeds accepted. Default: 100.
    pub fn min_seeds(mut self, seeds: usize) -> Self {
        self.min_seeds = seeds;
        self
    }

    /// Random seed of the seed clustering. Default: 0.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Reasons given per chosen customer. Default: 3.
    pub fn reasons(mut self, reasons: usize) -> Self {
        self.reasons = reasons;
        self
    }

    /// How the kNN scorer searches the seeds. Default: [`IndexChoice::Auto`].
    pub fn index(mut self, index: IndexChoice) -> Self {
        self.index = index;
        self
    }

    /// Rank by similarity × expected value instead of similarity (needs candidate values).
    /// Default: false.
    pub fn rank_by_value(mut self, yes: bool) -> Self {
        self.rank_by_value = yes;
        self
    }

    /// Checks the settings that do not depend on the data.
    ///
    /// ```
    /// use lookalike_audience::{ExpandParams, TierSize};
    /// assert!(ExpandParams::new(vec![TierSize::Share(0.05)]).validate().is_ok());
    /// assert!(ExpandParams::new(vec![]).validate().is_err());
    /// assert!(ExpandParams::new(vec![TierSize::Share(0.05)]).holdout(1.0).validate().is_err());
    /// ```
    pub fn validate(self) -> Result<ValidExpandParams, AudienceError> {
        if self.sizes.is_empty() {
            return Err(AudienceError::NoTiers);
        }
        if !(0.0..1.0).contains(&self.holdout) {
            return Err(AudienceError::BadHoldout(self.holdout));
        }
        if self.neighbours == 0 {
            return Err(AudienceError::ZeroNeighbours);
        }
        for size in &self.sizes {
            if let TierSize::Share(share) = size
                && *share > 1.0
            {
                return Err(AudienceError::ShareAboveAll(size.label()));
            }
        }
        Ok(ValidExpandParams(self))
    }
}

/// Checked [`ExpandParams`].
#[derive(Debug, Clone, PartialEq)]
pub struct ValidExpandParams(ExpandParams);

impl ExpandParams {
    /// The random seed of the fits and samples.
    pub(crate) fn random_seed(&self) -> u64 {
        self.seed
    }

    /// The scorer `kind` fitted on the seeds of `input` (`seed_rows` are their rows of the
    /// data); the positive-unlabelled scorers draw their unlabelled sample from its candidates,
    /// `auto` and the ensemble cross-validate on its seeds.
    pub(crate) fn build(
        &self,
        kind: ScorerKind,
        seed_rows: ArrayView2<'_, f64>,
        input: FitData<'_, '_>,
    ) -> Result<Box<dyn Scorer>, AudienceError> {
        let FitData {
            data,
            values,
            candidates,
            ..
        } = input;
        let seeds = seed_rows;
        let unlabelled = || {
            let sample = unlabelled_sample(candidates, seeds.nrows(), self.seed);
            data.select(Axis(0), &sample)
        };
        Ok(match kind {
            ScorerKind::Auto => self.choose(seed_rows, input)?,
            ScorerKind::Ensemble => self.ensemble(seed_rows, input)?,
            ScorerKind::Knn => {
                let scorer = KnnScorer::fit(seeds, values, self.neighbours)?;
                let approximate = match self.index {
                    IndexChoice::Exact => false,
                    IndexChoice::Ivf => true,
                    IndexChoice::Auto => seeds.nrows() >= APPROXIMATE_FROM,
                };
                if approximate {
                    // FAISS's guidance: 4√n to 16√n cells; probing a sixteenth of them gave
                    // recall@10 ≥ 0.95 on the test and benchmark data.
                    let lists = ((seeds.nrows() as f64).sqrt() * 4.0).round() as usize;
                    Box::new(scorer.with_index(lists, (lists / 16).max(8), self.seed)?)
                } else {
                    Box::new(scorer)
                }
            }
            ScorerKind::Centroids => {
                let m = if self.representatives > 0 {
                    self.representatives
                } else {
                    ((seeds.nrows() as f64 / 10.0).sqrt().round() as usize).clamp(1, 32)
                };
                Box::new(CentroidScorer::fit(seeds, values, m, self.seed)?)
            }
            ScorerKind::Classifier => Box::new(ClassifierScorer::fit(
                seeds,
                unlabelled().view(),
                self.seed,
            )?),
            ScorerKind::Boosted => Box::new(BoostedScorer::fit(
                seeds,
                values,
                unlabelled().view(),
                self.seed,
            )?),
        })
    }
}

/// One chosen customer.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// Row of the customer in the data.
    pub row: usize,
    /// Similarity to the seeds, in [0, 1].
    pub score: f64,
    /// What the ranking followed (see [`Scores::strength`]); with the id, the cut of a tier.
    pub strength: f64,
    /// Share of the candidates scored at most as high as this one, in percent (100 = best).
    pub percentile: f64,
    /// 1 = best.
    pub rank: usize,
    /// Index of the smallest tier the customer is in.
    pub tier: usize,
    /// In the control group: keep out of the campaign, measure lift against it.
    pub control: bool,
    /// The customer's expected value, when values were given.
    pub expected_value: Option<f64>,
    /// Row (in the data) of the nearest seed.
    pub nearest_seed: usize,
    /// (feature column, deviation from the base mean), strongest first (see
    /// [`Profile::reasons`]).
    pub reasons: Vec<(usize, f64)>,
}

/// One nested tier of an audience: its members are the first `size` of the audience.
#[derive(Debug, Clone, PartialEq)]
pub struct TierSummary {
    /// The tier's label ("5%").
    pub label: String,
    /// Members.
    pub size: usize,
    /// Members in the control group.
    pub control: usize,
    /// Mean score of the members.
    pub mean_score: f64,
    /// With expected values: their mean over the tier.
    pub mean_value: Option<f64>,
    /// With expected values: their total over the tier.
    pub total_value: Option<f64>,
}

/// An audience: the members of the largest tier, best first.
#[derive(Debug, Clone, PartialEq)]
pub struct Audience {
    /// The chosen customers, in rank order.
    pub members: Vec<Member>,
    /// (label, customers) of each tier, smallest first; nested.
    pub tiers: Vec<(String, usize)>,
    /// Candidates scored.
    pub candidates: usize,
    /// Seeds used.
    pub seeds: usize,
    /// The scorer's name.
    pub scorer: &'static str,
    /// Candidates per twentieth of the score range: bin i counts scores in [i/20, (i+1)/20)
    /// (the last bin includes 1).
    pub histogram: [usize; 20],
    /// The fitted scorer as plain data (none for the ensemble, which ranks candidates against
    /// each other): with each tier's last member, what scores other customers the same way.
    pub saved_scorer: Option<SavedScorer>,
    /// How `auto` chose the scorer or the ensemble weighted its members.
    pub selection: Option<Selection>,
}

impl Audience {
    /// Size, control count, mean score (and value) of each nested tier, smallest first.
    pub fn tier_summaries(&self) -> Vec<TierSummary> {
        let valued = self.members.iter().any(|m| m.expected_value.is_some());
        self.tiers
            .iter()
            .map(|(label, size)| {
                let members = &self.members[..*size];
                let n = members.len().max(1) as f64;
                let total: f64 = members.iter().filter_map(|m| m.expected_value).sum();
                TierSummary {
                    label: label.clone(),
                    size: *size,
                    control: members.iter().filter(|m| m.control).count(),
                    mean_score: members.iter().map(|m| m.score).sum::<f64>() / n,
                    mean_value: valued.then_some(total / n),
                    total_value: valued.then_some(total),
                }
            })
            .collect()
    }
}

impl ValidExpandParams {
    /// The scorer of these settings fitted on `seeds` (scaled rows, with their values when
    /// the seed list has them) against `sample`, scaled rows of candidates standing for a pool
    /// of `pool` candidates: the fit of [`ValidExpandParams::expand_fitted_on`] on the same
    /// rows in the same order, for a base too large to hold (the rows come from its parts).
    ///
    /// ```
    /// use lookalike_audience::{ExpandParams, ScorerKind, TierSize};
    /// let rows = ndarray::Array2::from_shape_fn((300, 2), |(i, j)| ((i * (j + 3)) % 17) as f64);
    /// let params = ExpandParams::new(vec![TierSize::Share(0.1)]).scorer(ScorerKind::Knn)
    ///     .validate().unwrap();
    /// let (seeds, sample) = (rows.slice(ndarray::s![..100, ..]), rows.slice(ndarray::s![100.., ..]));
    /// let scorer = params.fit_on_sample(seeds, None, sample, 10_000).unwrap();
    /// assert_eq!(scorer.name(), "knn");
    /// ```
    pub fn fit_on_sample<'d>(
        &self,
        seeds: ArrayView2<'d, f64>,
        seed_values: Option<&[f64]>,
        sample: ArrayView2<'d, f64>,
        pool: usize,
    ) -> Result<Box<dyn Scorer>, AudienceError> {
        let params = &self.0;
        self.check_seed_count(seeds.nrows())?;
        if sample.nrows() == 0 || pool == 0 {
            return Err(AudienceError::NoCandidates);
        }
        relative_values(seed_values, seeds.nrows())?;
        let data = ndarray::concatenate(Axis(0), &[seeds, sample]).map_err(|_| {
            AudienceError::ColumnCount {
                expected: seeds.ncols(),
                got: sample.ncols(),
            }
        })?;
        if let Some(((row, column), value)) = data.indexed_iter().find(|(_, v)| !v.is_finite()) {
            return Err(AudienceError::NonFinite {
                row,
                column,
                value: *value,
            });
        }
        let seed_rows: Vec<usize> = (0..seeds.nrows()).collect();
        let sample_rows: Vec<usize> = (seeds.nrows()..data.nrows()).collect();
        self.build_scorer(
            params.scorer,
            seeds,
            FitData {
                data: data.view(),
                seeds: &seed_rows,
                values: seed_values,
                candidates: &sample_rows,
                pool,
            },
        )
    }

    /// An error for no seeds, or fewer than `min_seeds`.
    fn check_seed_count(&self, seeds: usize) -> Result<(), AudienceError> {
        if seeds == 0 {
            return Err(AudienceError::NoSeeds);
        }
        if seeds < self.0.min_seeds {
            return Err(AudienceError::TooFewSeeds {
                seeds,
                minimum: self.0.min_seeds,
            });
        }
        Ok(())
    }

    /// The tier sizes.
    pub(crate) fn sizes(&self) -> &[TierSize] {
        &self.0.sizes
    }

    /// The scorer `kind` with these settings, fitted on the seeds of `input`.
    pub(crate) fn build_scorer(
        &self,
        kind: ScorerKind,
        seed_rows: ArrayView2<'_, f64>,
        input: FitData<'_, '_>,
    ) -> Result<Box<dyn Scorer>, AudienceError> {
        self.0.build(kind, seed_rows, input)
    }

    /// Scores the `candidates` rows of `data` (scaled features, one row per customer) against
    /// the `seeds` rows (with optional values), and builds the tiers. `ids[row]` is the
    /// customer id of each row of `data` (used for tie-breaks and the control hash).
    ///
    /// ```
    /// use lookalike_audience::{ExpandParams, TierSize};
    /// let data = ndarray::Array2::from_shape_fn((300, 2), |(i, j)| ((i * (j + 3)) % 17) as f64);
    /// let ids: Vec<String> = (0..300).map(|i| format!("C{i:03}")).collect();
    /// let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    /// let seeds: Vec<usize> = (0..100).collect();
    /// let candidates: Vec<usize> = (100..300).collect();
    /// let audience = ExpandParams::new(vec![TierSize::Share(0.1), TierSize::Count(50)])
    ///     .validate().unwrap()
    ///     .expand(data.view(), &ids, &seeds, None, &candidates, None).unwrap();
    /// assert_eq!(audience.tiers, vec![("10%".to_string(), 20), ("50".to_string(), 50)]);
    /// assert_eq!(audience.members.len(), 50);
    /// assert_eq!(audience.members.iter().filter(|m| m.tier == 0).count(), 20);
    /// ```
    pub fn expand(
        &self,
        data: ArrayView2<'_, f64>,
        ids: &[&str],
        seeds: &[usize],
        seed_values: Option<&[f64]>,
        candidates: &[usize],
        values: Option<&[f64]>,
    ) -> Result<Audience, AudienceError> {
        self.expand_fitted_on(data, ids, seeds, seed_values, candidates, values, None)
    }

    /// [`ValidExpandParams::expand`], with the scorer fitted against the candidates `fit_on`
    /// (rows of `data`, a sample of `candidates` such as [`crate::candidate_sample`]'s) instead of
    /// every candidate; every candidate is still scored and ranked. A fit on a hash sample is
    /// the fit [`ValidExpandParams::fit_on_sample`] makes from the same rows, which is how a
    /// base in parts is fitted.
    #[allow(clippy::too_many_arguments)]
    pub fn expand_fitted_on(
        &self,
        data: ArrayView2<'_, f64>,
        ids: &[&str],
        seeds: &[usize],
        seed_values: Option<&[f64]>,
        candidates: &[usize],
        values: Option<&[f64]>,
        fit_on: Option<&[usize]>,
    ) -> Result<Audience, AudienceError> {
        let params = &self.0;
        let rows = data.nrows();
        let fit_rows = fit_on.unwrap_or(&[]);
        if let Some(row) = seeds
            .iter()
            .chain(candidates)
            .chain(fit_rows)
            .find(|r| **r >= rows)
        {
            return Err(AudienceError::RowOutOfRange { row: *row, rows });
        }
        self.check_seed_count(seeds.len())?;
        if candidates.is_empty() {
            return Err(AudienceError::NoCandidates);
        }
        if params.rank_by_value && values.is_none() {
            return Err(AudienceError::NoValues);
        }
        if let Some(values) = values {
            if values.len() != rows {
                return Err(AudienceError::ValueCount {
                    values: values.len(),
                    rows,
                });
            }
            if let Some(row) = candidates.iter().find(|r| !values[**r].is_finite()) {
                return Err(AudienceError::NonFiniteValue {
                    row: *row,
                    value: values[*row],
                });
            }
        }
        for row in seeds.iter().chain(candidates) {
            if let Some((column, value)) = data
                .row(*row)
                .iter()
                .enumerate()
                .find(|(_, v)| !v.is_finite())
            {
                return Err(AudienceError::NonFinite {
                    row: *row,
                    column,
                    value: *value,
                });
            }
        }
        // Checked whatever the scorer, so bad values never pass silently.
        relative_values(seed_values, seeds.len())?;
        let tiers = resolve(&params.sizes, candidates.len())?;
        let seed_rows = data.select(Axis(0), seeds);
        let scorer = self.build_scorer(
            params.scorer,
            seed_rows.view(),
            FitData {
                data,
                seeds,
                values: seed_values,
                candidates: fit_on.unwrap_or(candidates),
                pool: candidates.len(),
            },
        )?;
        let Scores {
            score,
            mut strength,
            nearest_seed,
        } = scorer.score_rows(data, candidates)?;
        if let (true, Some(values)) = (params.rank_by_value, values) {
            // Similarity × expected value; a negative value (refunds) counts as none.
            for ((s, similarity), c) in strength.iter_mut().zip(&score).zip(candidates) {
                *s = similarity * values[*c].max(0.0);
            }
        }
        let candidate_ids: Vec<&str> = candidates.iter().map(|r| ids[*r]).collect();
        let largest = tiers.last().expect("at least one tier").1;
        let order = top_ranked(&strength, &candidate_ids, largest);
        // Scorers that do not meet the nearest seed on the way look it up for the chosen only.
        let nearest: Vec<usize> = match nearest_seed {
            Some(found) => order.iter().map(|c| found[*c]).collect(),
            None => {
                let chosen: Vec<usize> = order.iter().map(|c| candidates[*c]).collect();
                let narrow = |rows: &[usize]| data.select(Axis(0), rows).mapv(|v| v as f32);
                k_nearest(narrow(&chosen).view(), narrow(seeds).view(), 1)?
                    .indices
                    .column(0)
                    .iter()
                    .map(|i| *i as usize)
                    .collect()
            }
        };
        let profile = Profile::new(data, seed_rows.view());
        let n = candidates.len() as f64;
        let members = order
            .par_iter()
            .zip(&nearest)
            .enumerate()
            .map(|(position, (&c, &seed))| {
                let rank = position + 1;
                let row = candidates[c];
                Member {
                    row,
                    score: score[c],
                    strength: strength[c],
                    percentile: 100.0 * (1.0 - position as f64 / n),
                    rank,
                    tier: tiers
                        .iter()
                        .position(|t| rank <= t.1)
                        .expect("within the largest"),
                    control: in_control(ids[row], params.salt, params.holdout),
                    expected_value: values.map(|v| v[row]),
                    nearest_seed: seeds[seed],
                    reasons: profile.reasons(data.row(row), params.reasons),
                }
            })
            .collect();
        let mut histogram = [0usize; 20];
        for s in &score {
            histogram[((s * 20.0) as usize).min(19)] += 1;
        }
        Ok(Audience {
            members,
            tiers,
            candidates: candidates.len(),
            seeds: seeds.len(),
            scorer: scorer.name(),
            histogram,
            saved_scorer: scorer.saved(),
            selection: scorer.selection(),
        })
    }
}
