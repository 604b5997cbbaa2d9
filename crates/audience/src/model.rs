//! A trained audience as a model that scores one customer at a time: the scaler, the fitted
//! scorer, the seed index, each tier's cut and the control group's hash settings.
//!
//! A customer's tier follows from its own ranking strength and id only: it is in a tier when
//! its strength is above the tier's last member's at training time, or equal with an id that
//! sorts at or before the last member's (the ranking's tie-break). So scoring the base chunk by
//! chunk reproduces the training tiers exactly, and a new customer lands where it would have
//! ranked.

use std::collections::HashSet;

use lookalike_cluster::{Scaler, ScalingParameters};
use ndarray::{Array2, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::error::AudienceError;
use crate::expand::Audience;
use crate::saved::SavedScorer;
use crate::scorer::{Scorer, Scores};
use crate::tiers::in_control;

/// One tier's cut: the strength and id of its last member when the audience was built.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierCut {
    /// The tier's label (`1%`, `5%`, `10000` …).
    pub label: String,
    /// Members at training time.
    pub customers: usize,
    /// Ranking strength of the last member.
    pub last_strength: f64,
    /// Id of the last member.
    pub last_customer_id: String,
}

impl TierCut {
    /// The cuts of a built audience; `ids[row]` is the customer id of each row of its data.
    pub fn of(audience: &Audience, ids: &[&str]) -> Vec<TierCut> {
        audience
            .tiers
            .iter()
            .map(|(label, size)| {
                let last = &audience.members[size - 1];
                TierCut {
                    label: label.clone(),
                    customers: *size,
                    last_strength: last.strength,
                    last_customer_id: ids[last.row].to_string(),
                }
            })
            .collect()
    }

    /// Whether a customer of this strength and id is in the tier.
    pub fn contains(&self, strength: f64, id: &str) -> bool {
        strength > self.last_strength
            || (strength == self.last_strength && id <= self.last_customer_id.as_str())
    }
}

/// Everything of a trained audience but its seed rows: what `audiences/NAME.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AudienceSettings {
    /// Name; prefixes the output columns (`NAME_score` …) and names its files.
    pub name: String,
    /// The compared feature columns, in the scaled space's order.
    pub columns: Vec<String>,
    /// Their scaling.
    pub scaling: ScalingParameters,
    /// The fitted scorer.
    pub scorer: SavedScorer,
    /// Customers without 1 in this column are never in a tier.
    pub require_consent: Option<String>,
    /// File name of the seed index beside the settings.
    pub seeds_file: String,
    /// Seeds used.
    pub seeds: usize,
    /// Candidates scored at training time.
    pub candidates: usize,
    /// Tier cuts, smallest tier first.
    pub tiers: Vec<TierCut>,
    /// Share of each tier flagged as control, in [0, 1).
    pub holdout: f64,
    /// Salt of the control group's hash.
    pub salt: u64,
    /// Where the seeds came from (`rule: …` or `file: …`), for people.
    pub seed_source: String,
}

/// What a trained audience says about one customer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Placement {
    /// Not scorable (a compared feature is missing): no score, no tier.
    Unscored,
    /// One of the seeds (scored, but never in a tier).
    Seed {
        /// Similarity to the seeds.
        score: f64,
    },
    /// A scored customer: its tier (index into the cuts) when it is in one and consents.
    Scored {
        /// Similarity to the seeds.
        score: f64,
        /// Smallest tier the customer is in.
        tier: Option<usize>,
        /// In the tier's control group.
        control: bool,
    },
}

/// The scaler and the scorer of a fitted audience, without its tier cuts: what scores
/// customers. An [`AudienceModel`] adds the cuts and the seeds; a base fitted in parts ranks
/// its candidates with this alone, as the cuts are what that ranking finds.
pub struct AudienceScorer {
    scaler: Scaler,
    scorer: Box<dyn Scorer>,
}

impl AudienceScorer {
    /// The scaler of `columns` with `scaling`, and the `saved` scorer restored on `seed_rows`
    /// (the seeds, scaled); refused unless both are usable.
    pub fn restore(
        columns: &[String],
        scaling: &ScalingParameters,
        saved: &SavedScorer,
        seed_rows: ArrayView2<'_, f64>,
    ) -> Result<AudienceScorer, AudienceError> {
        let scaler = Scaler::from_parameters(columns.to_vec(), scaling.clone())
            .map_err(|e| AudienceError::BadSavedScorer(format!("scaling: {e}")))?;
        saved.check(columns.len())?;
        let scorer = saved.restore(seed_rows)?;
        Ok(AudienceScorer { scaler, scorer })
    }

    /// Scores `n` customers whose raw compared values are `value(i, j)` (customer i, compared
    /// column j): the customers that could be scaled (no value missing or out of the
    /// scaling's domain), in order, and their scores (none when no customer could be).
    pub fn score(
        &self,
        n: usize,
        value: impl Fn(usize, usize) -> f64,
    ) -> Result<(Vec<usize>, Option<Scores>), AudienceError> {
        let mut scaled = Array2::zeros((n, self.scaler.columns.len()));
        let mut complete = Vec::with_capacity(n);
        for (i, mut row) in scaled.rows_mut().into_iter().enumerate() {
            let row = row
                .as_slice_mut()
                .expect("rows of a standard matrix are contiguous");
            if self.scaler.scale_row(|j| value(i, j), row) {
                complete.push(i);
            }
        }
        if complete.is_empty() {
            return Ok((complete, None));
        }
        let matrix = if complete.len() == n {
            scaled
        } else {
            scaled.select(ndarray::Axis(0), &complete)
        };
        let scores = self.scorer.score(matrix.view())?;
        Ok((complete, Some(scores)))
    }
}

/// A trained audience, ready to place customers: [`AudienceModel::place`].
pub struct AudienceModel {
    settings: AudienceSettings,
    scoring: AudienceScorer,
    seed_ids: Vec<String>,
    seed_rows: Array2<f64>,
    seed_set: HashSet<String>,
}

impl std::fmt::Debug for AudienceModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AudienceModel")
            .field("settings", &self.settings)
            .field("seeds", &self.seed_ids.len())
            .finish()
    }
}

/// An audience name is a column prefix and a file name: letters, digits, `_` and `-` only, so
/// it can never lead a path out of the model folder.
pub fn check_audience_name(name: &str) -> Result<(), AudienceError> {
    if name.is_empty()
        || name.len() > 100
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(AudienceError::BadAudienceName(name.to_string()));
    }
    Ok(())
}

impl AudienceModel {
    /// The model of `settings` and its seed index (`seed_ids[i]` and row i of `seed_rows`, in
    /// the scaled space), refused unless every stored value is usable: a safe name, a valid
    /// scaler, a holdout share in [0, 1), nested tier cuts with numeric strengths, finite seed
    /// rows of the right width, and a scorer that fits them.
    pub fn new(
        settings: AudienceSettings,
        seed_ids: Vec<String>,
        seed_rows: Array2<f64>,
    ) -> Result<AudienceModel, AudienceError> {
        check_audience_name(&settings.name)?;
        // The scaler is checked first: a bad one is the clearest error.
        Scaler::from_parameters(settings.columns.clone(), settings.scaling.clone())
            .map_err(|e| AudienceError::BadSavedScorer(format!("scaling: {e}")))?;
        if !(0.0..1.0).contains(&settings.holdout) {
            return Err(AudienceError::BadHoldout(settings.holdout));
        }
        if settings.tiers.is_empty() {
            return Err(AudienceError::BadTierCuts("there are none".into()));
        }
        for (i, cut) in settings.tiers.iter().enumerate() {
            if cut.last_strength.is_nan() || cut.customers == 0 || cut.label.is_empty() {
                return Err(AudienceError::BadTierCuts(format!(
                    "tier {:?}: {} customers, last strength {}",
                    cut.label, cut.customers, cut.last_strength
                )));
            }
            if i > 0 && cut.customers < settings.tiers[i - 1].customers {
                return Err(AudienceError::BadTierCuts(format!(
                    "tier {:?} is smaller than the tier before it: tiers are nested, smallest first",
                    cut.label
                )));
            }
        }
        if seed_ids.len() != seed_rows.nrows() {
            return Err(AudienceError::BadSavedScorer(format!(
                "{} seed ids for {} seed rows",
                seed_ids.len(),
                seed_rows.nrows()
            )));
        }
        if seed_rows.ncols() != settings.columns.len() {
            return Err(AudienceError::ColumnCount {
                expected: settings.columns.len(),
                got: seed_rows.ncols(),
            });
        }
        if let Some(((row, column), value)) = seed_rows.indexed_iter().find(|(_, v)| !v.is_finite())
        {
            return Err(AudienceError::NonFinite {
                row,
                column,
                value: *value,
            });
        }
        let scoring = AudienceScorer::restore(
            &settings.columns,
            &settings.scaling,
            &settings.scorer,
            seed_rows.view(),
        )?;
        let seed_set = seed_ids.iter().cloned().collect();
        Ok(AudienceModel {
            settings,
            scoring,
            seed_ids,
            seed_rows,
            seed_set,
        })
    }

    /// The stored settings.
    pub fn settings(&self) -> &AudienceSettings {
        &self.settings
    }

    /// The audience's name.
    pub fn name(&self) -> &str {
        &self.settings.name
    }

    /// The scaler of the compared columns.
    pub fn scaler(&self) -> &Scaler {
        &self.scoring.scaler
    }

    /// The seed ids, in seed-index order.
    pub fn seed_ids(&self) -> &[String] {
        &self.seed_ids
    }

    /// The seed rows, scaled.
    pub fn seed_rows(&self) -> ArrayView2<'_, f64> {
        self.seed_rows.view()
    }

    /// Whether `id` is one of the seeds (a hash look-up).
    pub fn is_seed(&self, id: &str) -> bool {
        self.seed_set.contains(id)
    }

    /// Whether the audience stores the customer `id`: as a seed (the seed index) or as the
    /// last member of a tier (the cut's tie-break).
    pub fn stores(&self, id: &str) -> bool {
        self.is_seed(id)
            || self
                .settings
                .tiers
                .iter()
                .any(|cut| cut.last_customer_id == id)
    }

    /// The fitted scorer.
    pub fn scorer(&self) -> &dyn Scorer {
        self.scoring.scorer.as_ref()
    }

    /// Every feature column placing a customer reads: the compared columns and the consent
    /// column.
    pub fn required_columns(&self) -> Vec<&str> {
        let mut columns: Vec<&str> = self.settings.columns.iter().map(String::as_str).collect();
        columns.extend(self.settings.require_consent.as_deref());
        columns
    }

    /// Places customers: `ids[i]`, the raw compared values `value(i, j)` (row i, compared
    /// column j) and consent `consents(i)` (true without a consent column). Each customer's
    /// placement depends on its own values and id only.
    pub fn place(
        &self,
        ids: &[&str],
        value: impl Fn(usize, usize) -> f64 + Sync,
        consents: impl Fn(usize) -> bool + Sync,
    ) -> Result<Vec<Placement>, AudienceError> {
        let n = ids.len();
        let (complete, scores) = self.scoring.score(n, value)?;
        let mut placements = vec![Placement::Unscored; n];
        let Some(scores) = scores else {
            return Ok(placements);
        };
        for (k, &i) in complete.iter().enumerate() {
            let (score, strength) = (scores.score[k], scores.strength[k]);
            let id = ids[i];
            placements[i] = if self.seed_set.contains(id) {
                Placement::Seed { score }
            } else {
                let tier = if consents(i) {
                    self.settings
                        .tiers
                        .iter()
                        .position(|cut| cut.contains(strength, id))
                } else {
                    None
                };
                Placement::Scored {
                    score,
                    tier,
                    control: tier.is_some()
                        && in_control(id, self.settings.salt, self.settings.holdout),
                }
            };
        }
        Ok(placements)
    }
}
