//! One customer's placement in a trained audience with what decided it — the score and ranking
//! strength, each tier's cut, the nearest seed and the features that make the customer look
//! like the seeds — for a subject-access answer (`lookalike explain`).

use ndarray::{Array1, Array2};
use serde::Serialize;

use crate::error::AudienceError;
use crate::model::AudienceModel;
use crate::reasons::Profile;
use crate::tiers::in_control;

/// One tier's cut against the customer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CutCheck {
    /// The tier's label.
    pub label: String,
    /// The ranking strength of its last member at training time.
    pub last_strength: f64,
    /// Whether the customer's strength (and id, on a tie) puts them in it.
    pub within: bool,
}

/// Why a customer is where they are in an audience.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlacementDetail {
    /// Similarity to the seeds (as `score` writes it).
    pub score: f64,
    /// The ranking strength tiers are cut on.
    pub strength: f64,
    /// One of the seeds: scored, never in a tier.
    pub seed: bool,
    /// The smallest tier the customer is in (with consent).
    pub tier: Option<String>,
    /// In the tier's control group (a hash of the id and the audience's salt).
    pub control: bool,
    /// Each tier's cut, smallest tier first.
    pub cuts: Vec<CutCheck>,
    /// The nearest other seed in the scaled space and its Euclidean distance.
    pub nearest_seed: Option<(String, f64)>,
    /// Up to three compared features in which the customer differs from the scaler's centre
    /// in the direction the seeds do, with the scaled deviation (largest contribution first).
    pub reasons: Vec<(String, f64)>,
}

impl AudienceModel {
    /// The placement of the customer `id` whose compared column j has the raw value `value(j)`
    /// and who consents or not, with what decided it; None when a compared value is missing
    /// (the customer cannot be scored). The placement is [`AudienceModel::place`]'s.
    pub fn detail(
        &self,
        id: &str,
        value: impl Fn(usize) -> f64 + Sync,
        consents: bool,
    ) -> Result<Option<PlacementDetail>, AudienceError> {
        let columns = &self.settings().columns;
        let mut row = vec![0.0; columns.len()];
        if !self.scaler().scale_row(&value, &mut row) {
            return Ok(None);
        }
        let matrix = Array2::from_shape_vec((1, row.len()), row.clone())
            .map_err(|e| AudienceError::BadSavedScorer(e.to_string()))?;
        let scores = self.scorer().score(matrix.view())?;
        let (score, strength) = (scores.score[0], scores.strength[0]);
        let seed = self.is_seed(id);
        let cuts: Vec<CutCheck> = self
            .settings()
            .tiers
            .iter()
            .map(|cut| CutCheck {
                label: cut.label.clone(),
                last_strength: cut.last_strength,
                within: cut.contains(strength, id),
            })
            .collect();
        let tier = (!seed && consents)
            .then(|| cuts.iter().find(|c| c.within).map(|c| c.label.clone()))
            .flatten();
        let settings = self.settings();
        let control = tier.is_some() && in_control(id, settings.salt, settings.holdout);
        let nearest_seed = self
            .seed_ids()
            .iter()
            .zip(self.seed_rows().rows())
            .filter(|(seed_id, _)| seed_id.as_str() != id)
            .map(|(seed_id, seed_row)| {
                let squared: f64 = seed_row
                    .iter()
                    .zip(&row)
                    .map(|(a, b)| (a - b) * (a - b))
                    .sum();
                (seed_id, squared)
            })
            .min_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(b.0)))
            .map(|(seed_id, squared)| (seed_id.clone(), squared.sqrt()));
        // The scaler centres the base (its mean under standard scaling): the base is taken
        // to sit at the origin of the scaled space.
        let centre = Array2::<f64>::zeros((1, columns.len()));
        let profile = Profile::new(centre.view(), self.seed_rows());
        let reasons = profile
            .reasons(Array1::from(row).view(), 3)
            .into_iter()
            .map(|(j, deviation)| (columns[j].clone(), deviation))
            .collect();
        Ok(Some(PlacementDetail {
            score,
            strength,
            seed,
            tier,
            control,
            cuts,
            nearest_seed,
            reasons,
        }))
    }
}
