//! Scorers chosen by the seeds: `auto` picks, per audience, the single scorer that finds most
//! of its own hidden seeds, and the ensemble learns its members' weights the same way.
//!
//! Both run an inner cross-validation like [`crate::evaluate`]'s: the seeds are dealt into
//! 3 folds at random (at most 3,000 of them: enough to tell the scorers apart); per fold every
//! candidate scorer is fitted on the other folds and ranks the hidden seeds among a random
//! sample of the pool (at most 20,000 candidates), both drawn with the audience's random seed
//! by position, so that pseudonymized ids choose alike. Each sampled candidate stands for pool / sample of them, so
//! a tier of 5% of the pool is cut where the weights reach 5% of (pool + hidden seeds): the
//! recall measured is an estimate of `evaluate`'s on the whole pool, at a fraction of its cost.
//! The criterion is the recall of hidden seeds at 1%, 2%, 5%, 10%, 20%, 30% and 50% of the pool
//! (whatever the audience's own tiers), averaged over those shares and the folds.

use ndarray::{ArrayView2, Axis};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand::seq::index::sample;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::ensemble::rank_percentiles;
use crate::error::AudienceError;
use crate::expand::{ExpandParams, ScorerKind};
use crate::saved::SavedScorer;
use crate::scorer::{Scorer, Scores};

/// Folds of the inner cross-validation.
const FOLDS: usize = 3;
/// Pool candidates the inner cross-validation ranks the hidden seeds among.
const POOL_SAMPLE: usize = 20_000;
/// Seeds the inner cross-validation deals into folds, at most.
const CV_SEEDS: usize = 3_000;
/// Steps of the ensemble's weight grid per unit (weights in quarters).
const WEIGHT_STEPS: usize = 4;

/// The single scorers `auto` chooses from and the ensemble combines, in report order.
pub(crate) const SINGLE: [ScorerKind; 4] = [
    ScorerKind::Boosted,
    ScorerKind::Classifier,
    ScorerKind::Knn,
    ScorerKind::Centroids,
];

/// How a scorer was chosen or an ensemble weighted: each candidate's cross-validated recall.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Selection {
    /// What `auto` chose ("boosted" …) or "ensemble".
    pub chosen: &'static str,
    /// Recall of hidden seeds of each single scorer, mean over folds and tiers.
    pub recall: Vec<(&'static str, f64)>,
    /// The ensemble's weights (members with weight 0 left out), or none for a single scorer.
    pub weights: Option<Vec<(&'static str, f64)>>,
    /// The chosen scorer's (or weighting's) cross-validated recall.
    pub chosen_recall: f64,
    /// Folds of the cross-validation.
    pub folds: usize,
    /// Pool candidates the hidden seeds were ranked among.
    pub pool_sample: usize,
}

impl Selection {
    /// One line for a report: what was chosen, its recall and the others'.
    ///
    /// ```
    /// let selection = lookalike_audience::Selection {
    ///     chosen: "boosted", chosen_recall: 0.74, weights: None, folds: 3, pool_sample: 20_000,
    ///     recall: vec![("boosted", 0.74), ("classifier", 0.70)],
    /// };
    /// assert_eq!(selection.describe(), "scorer chosen by 3-fold cross-validation on the seeds (ranked among 20000 candidates): boosted, recall of hidden seeds 0.740 (boosted 0.740, classifier 0.700)");
    /// ```
    pub fn describe(&self) -> String {
        let others: Vec<String> = self
            .recall
            .iter()
            .map(|(name, recall)| format!("{name} {recall:.3}"))
            .collect();
        let chosen = match &self.weights {
            Some(weights) => {
                let weights: Vec<String> = weights
                    .iter()
                    .map(|(name, w)| format!("{name} {w:.2}"))
                    .collect();
                format!("ensemble of {}", weights.join(", "))
            }
            None => self.chosen.to_string(),
        };
        if self.folds == 0 {
            return format!("{chosen} (too few seeds to cross-validate)");
        }
        format!(
            "scorer chosen by {}-fold cross-validation on the seeds (ranked among {} candidates): {chosen}, recall of hidden seeds {:.3} ({})",
            self.folds,
            self.pool_sample,
            self.chosen_recall,
            others.join(", ")
        )
    }
}

/// What the candidates of one fold scored.
struct Fold {
    /// Whether each scored row is a hidden seed.
    hidden: Vec<bool>,
    /// How many pool candidates each scored row stands for (1 for a hidden seed).
    weight: Vec<f64>,
    /// Per candidate scorer, the strength of each scored row.
    strengths: Vec<Vec<f64>>,
}

/// The inputs of a fit: the seeds (rows of `data`) with their values, the candidates, and
/// the size of the pool they stand for (more than `candidates` when these are a sample).
/// `data` has its own lifetime: ndarray views are invariant in it.
#[derive(Clone, Copy)]
pub(crate) struct FitData<'d, 'a> {
    pub data: ArrayView2<'d, f64>,
    pub seeds: &'a [usize],
    pub values: Option<&'a [f64]>,
    pub candidates: &'a [usize],
    pub pool: usize,
}

/// The shares of the pool at which recall is measured: the default tiers and wider ones (the
/// small tiers cannot tell scorers apart when the seeds' kind is a large part of the base), the
/// same whatever tiers an audience asks for, so that changing the tiers never changes the
/// ranking (and with it who is in control).
const CRITERION_SHARES: [f64; 7] = [0.01, 0.02, 0.05, 0.10, 0.20, 0.30, 0.50];

/// Runs the inner cross-validation of `kinds`; none when the seeds are too few to fold.
fn cross_validate(
    params: &ExpandParams,
    kinds: &[ScorerKind],
    input: FitData<'_, '_>,
) -> Result<Option<Vec<Fold>>, AudienceError> {
    let FitData {
        data,
        seeds,
        values,
        candidates,
        pool: pool_size,
    } = input;
    // Each fold must leave enough seeds to fit on (the minimum asked for, scaled to the
    // folds trained on) and hide some.
    if seeds.len() < 2 * FOLDS {
        return Ok(None);
    }
    // Folds and the pool sample are drawn by position with the scorer's random seed, not by
    // hashing ids: the choice must not change when ids are pseudonymized.
    let mut rng = ChaCha8Rng::seed_from_u64(params.random_seed() ^ 0x5EED);
    let mut dealt: Vec<usize> = (0..seeds.len()).collect();
    dealt.shuffle(&mut rng);
    // Past CV_SEEDS, a random CV_SEEDS of the seeds choose: enough to tell the scorers apart,
    // and the folds' fits stay small whatever the audience.
    dealt.truncate(CV_SEEDS);
    let mut fold_of = vec![usize::MAX; seeds.len()];
    for (position, i) in dealt.into_iter().enumerate() {
        fold_of[i] = position % FOLDS;
    }
    let mut drawn = sample(
        &mut rng,
        candidates.len(),
        POOL_SAMPLE.min(candidates.len()),
    )
    .into_vec();
    drawn.sort_unstable();
    let pool: Vec<usize> = drawn.into_iter().map(|i| candidates[i]).collect();
    let stands_for = pool_size as f64 / pool.len() as f64;
    let run_fold = |fold: usize| -> Result<Option<Fold>, AudienceError> {
        let hidden: Vec<usize> = (0..seeds.len()).filter(|i| fold_of[*i] == fold).collect();
        let train: Vec<usize> = (0..seeds.len())
            .filter(|i| fold_of[*i] != fold && fold_of[*i] != usize::MAX)
            .collect();
        if hidden.is_empty() || train.len() < 2 {
            return Ok(None);
        }
        let train_rows: Vec<usize> = train.iter().map(|i| seeds[*i]).collect();
        let train_values: Option<Vec<f64>> = values.map(|v| train.iter().map(|i| v[*i]).collect());
        let scored: Vec<usize> = pool
            .iter()
            .copied()
            .chain(hidden.iter().map(|i| seeds[*i]))
            .collect();
        let seed_rows = data.select(Axis(0), &train_rows);
        let strengths = kinds
            .iter()
            .map(|kind| {
                let fit = FitData {
                    data,
                    seeds: &train_rows,
                    values: train_values.as_deref(),
                    candidates: &scored,
                    pool: scored.len(),
                };
                Ok(params
                    .build(*kind, seed_rows.view(), fit)?
                    .score_rows(data, &scored)?
                    .strength)
            })
            .collect::<Result<Vec<_>, AudienceError>>()?;
        Ok(Some(Fold {
            hidden: (0..scored.len()).map(|k| k >= pool.len()).collect(),
            weight: (0..scored.len())
                .map(|k| if k < pool.len() { stands_for } else { 1.0 })
                .collect(),
            strengths,
        }))
    };
    // The folds are independent: fitted side by side (the fits are the same on any thread).
    let folds = (0..FOLDS)
        .into_par_iter()
        .map(run_fold)
        .collect::<Result<Vec<_>, AudienceError>>()?;
    let Some(folds) = folds.into_iter().collect::<Option<Vec<Fold>>>() else {
        return Ok(None);
    };
    Ok(Some(folds))
}

/// Recall of the hidden seeds at each tier share, mean over the shares: rows ranked by
/// `strength` (ties by position), a tier ending where the weights reach its share.
fn mean_recall(fold: &Fold, strength: &[f64], shares: &[f64]) -> f64 {
    let mut order: Vec<usize> = (0..strength.len()).collect();
    order.sort_by(|a, b| strength[*b].total_cmp(&strength[*a]).then(a.cmp(b)));
    let total: f64 = fold.weight.iter().sum();
    let hidden = fold.hidden.iter().filter(|h| **h).count() as f64;
    let mut recall = 0.0;
    for share in shares {
        let (mut taken, mut found) = (0.0, 0.0);
        for row in &order {
            if taken >= share * total {
                break;
            }
            taken += fold.weight[*row];
            if fold.hidden[*row] {
                found += 1.0;
            }
        }
        recall += found / hidden;
    }
    recall / shares.len() as f64
}

/// Every weighting of `members` in steps of 1/`WEIGHT_STEPS` summing to 1, the single members
/// first (so a tie keeps the simpler choice).
fn weight_grid(members: usize) -> Vec<Vec<usize>> {
    fn fill(left: usize, slots: usize, prefix: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
        if slots == 1 {
            prefix.push(left);
            out.push(prefix.clone());
            prefix.pop();
            return;
        }
        for w in (0..=left).rev() {
            prefix.push(w);
            fill(left - w, slots - 1, prefix, out);
            prefix.pop();
        }
    }
    let mut all = Vec::new();
    fill(WEIGHT_STEPS, members, &mut Vec::new(), &mut all);
    all.sort_by_key(|w| w.iter().filter(|v| **v > 0).count());
    all
}

impl ExpandParams {
    /// `auto`: the single scorer with the best cross-validated recall, fitted on all the seeds;
    /// with too few seeds to fold, the boosted trees.
    pub(crate) fn choose(
        &self,
        seed_rows: ArrayView2<'_, f64>,
        input: FitData<'_, '_>,
    ) -> Result<Box<dyn Scorer>, AudienceError> {
        let Some(folds) = cross_validate(self, &SINGLE, input)? else {
            return self.build(ScorerKind::Boosted, seed_rows, input);
        };
        let shares = CRITERION_SHARES;
        let recall: Vec<(&'static str, f64)> = SINGLE
            .iter()
            .enumerate()
            .map(|(k, kind)| {
                let sum: f64 = folds
                    .iter()
                    .map(|f| mean_recall(f, &f.strengths[k], &shares))
                    .sum();
                (kind.name(), sum / folds.len() as f64)
            })
            .collect();
        let best = (0..SINGLE.len())
            .max_by(|a, b| recall[*a].1.total_cmp(&recall[*b].1).then(b.cmp(a)))
            .expect("candidates");
        let chosen = self.build(SINGLE[best], seed_rows, input)?;
        Ok(Box::new(Chosen {
            scorer: chosen,
            selection: Selection {
                chosen: SINGLE[best].name(),
                chosen_recall: recall[best].1,
                recall,
                weights: None,
                folds: FOLDS,
                pool_sample: folds[0].hidden.iter().filter(|h| !**h).count(),
            },
        }))
    }

    /// The ensemble: members weighted by the grid point with the best cross-validated recall
    /// of their rank percentiles (a single member wins ties), so on the seeds' folds it is
    /// never worse than its best member; with too few seeds to fold, equal weights.
    pub(crate) fn ensemble(
        &self,
        seed_rows: ArrayView2<'_, f64>,
        input: FitData<'_, '_>,
    ) -> Result<Box<dyn Scorer>, AudienceError> {
        let folds = cross_validate(self, &SINGLE, input)?;
        let shares = CRITERION_SHARES;
        let grid = weight_grid(SINGLE.len());
        let (weights, recall, chosen_recall) = match &folds {
            None => (vec![1; SINGLE.len()], Vec::new(), f64::NAN),
            Some(folds) => {
                let percentiles: Vec<Vec<Vec<f64>>> = folds
                    .iter()
                    .map(|f| f.strengths.iter().map(|s| rank_percentiles(s)).collect())
                    .collect();
                let cv = |weights: &[usize]| {
                    let sum: f64 = folds
                        .iter()
                        .zip(&percentiles)
                        .map(|(fold, members)| {
                            let combined: Vec<f64> = (0..fold.hidden.len())
                                .map(|row| {
                                    weights
                                        .iter()
                                        .zip(members)
                                        .map(|(w, p)| *w as f64 * p[row])
                                        .sum()
                                })
                                .collect();
                            mean_recall(fold, &combined, &shares)
                        })
                        .sum();
                    sum / folds.len() as f64
                };
                let scored: Vec<f64> = grid.iter().map(|w| cv(w)).collect();
                let best = (0..grid.len())
                    .max_by(|a, b| scored[*a].total_cmp(&scored[*b]).then(b.cmp(a)))
                    .expect("a grid");
                let recall = SINGLE
                    .iter()
                    .enumerate()
                    .map(|(k, kind)| {
                        let mut alone = vec![0; SINGLE.len()];
                        alone[k] = WEIGHT_STEPS;
                        (kind.name(), cv(&alone))
                    })
                    .collect();
                (grid[best].clone(), recall, scored[best])
            }
        };
        let mut members = Vec::new();
        let mut named = Vec::new();
        let total: usize = weights.iter().sum();
        for (kind, weight) in SINGLE.iter().zip(&weights) {
            if *weight > 0 {
                members.push((self.build(*kind, seed_rows, input)?, *weight as f64));
                named.push((kind.name(), *weight as f64 / total as f64));
            }
        }
        Ok(Box::new(Chosen {
            scorer: Box::new(crate::ensemble::EnsembleScorer::weighted(members)),
            selection: Selection {
                chosen: "ensemble",
                recall,
                weights: Some(named),
                chosen_recall,
                folds: if folds.is_some() { FOLDS } else { 0 },
                pool_sample: folds
                    .as_ref()
                    .map_or(0, |f| f[0].hidden.iter().filter(|h| !**h).count()),
            },
        }))
    }
}

/// A scorer with the record of how it was chosen.
struct Chosen {
    scorer: Box<dyn Scorer>,
    selection: Selection,
}

impl Scorer for Chosen {
    fn name(&self) -> &'static str {
        self.scorer.name()
    }
    fn score(&self, candidates: ArrayView2<'_, f64>) -> Result<Scores, AudienceError> {
        self.scorer.score(candidates)
    }
    fn score_rows(
        &self,
        data: ArrayView2<'_, f64>,
        rows: &[usize],
    ) -> Result<Scores, AudienceError> {
        self.scorer.score_rows(data, rows)
    }
    fn saved(&self) -> Option<SavedScorer> {
        self.scorer.saved()
    }
    fn selection(&self) -> Option<Selection> {
        Some(self.selection.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grid_holds_every_quarter_weighting_singles_first() {
        let grid = weight_grid(4);
        // Compositions of 4 into 4 parts: C(7, 3).
        assert_eq!(grid.len(), 35);
        assert!(grid.iter().all(|w| w.iter().sum::<usize>() == WEIGHT_STEPS));
        assert_eq!(
            grid[..4].to_vec(),
            vec![
                vec![4, 0, 0, 0],
                vec![0, 4, 0, 0],
                vec![0, 0, 4, 0],
                vec![0, 0, 0, 4]
            ]
        );
    }

    /// Recall by hand: 4 pool rows standing for 10 each and 2 hidden seeds; a 25% tier takes
    /// rows until their weights reach 10.5 of 42.
    #[test]
    fn weighted_recall_by_hand() {
        let fold = Fold {
            hidden: vec![false, false, false, false, true, true],
            weight: vec![10.0, 10.0, 10.0, 10.0, 1.0, 1.0],
            strengths: Vec::new(),
        };
        // Hidden seeds first: both taken (2 of 10.5), then pool rows until 10.5 is passed.
        assert_eq!(
            mean_recall(&fold, &[0.1, 0.2, 0.3, 0.4, 0.9, 0.8], &[0.25]),
            1.0
        );
        // Two pool rows first fill the tier.
        assert_eq!(
            mean_recall(&fold, &[0.1, 0.2, 0.96, 0.95, 0.9, 0.0], &[0.25]),
            0.0
        );
        // One hidden seed first, then a pool row fills the tier.
        assert_eq!(
            mean_recall(&fold, &[0.1, 0.2, 0.3, 0.4, 0.9, 0.0], &[0.25]),
            0.5
        );
        // Mean over tiers.
        assert_eq!(
            mean_recall(&fold, &[0.1, 0.2, 0.3, 0.4, 0.9, 0.0], &[0.25, 1.0]),
            0.75
        );
    }
}
