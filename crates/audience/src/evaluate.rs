//! Offline evaluation: hide part of the seeds, expand from the rest, and see how many of the
//! hidden seeds each scorer puts in each tier — the seeds are the only labels a lookalike has.
//!
//! The seeds are dealt into `folds` folds by hashing their ids (deterministic, unrelated to
//! file order). For each fold, the scorers are fitted on the other seeds and score the pool
//! plus the hidden seeds; per tier: recall and precision of the hidden seeds, lift over a
//! random tier (precision over the hidden seeds' share of the scored), value-weighted recall,
//! and per scorer the AUC of hidden seeds against everyone else (Mann-Whitney, ties halved).
//! With ground truth (a generated base): the share of the truth-positive customers (the seeds'
//! persona) in the tier, and the tier's mean true value over the scored customers' mean.
//! Every number is the mean over folds. A `random` scorer (ids hashed per fold) is always
//! included as the baseline.

use ndarray::{ArrayView2, Axis};
use xxhash_rust::xxh3::xxh3_64_with_seed;

use crate::ensemble::rank_percentiles;
use crate::error::AudienceError;
use crate::expand::{ScorerKind, ValidExpandParams};
use crate::select::FitData;
use crate::tiers::{resolve, top_ranked};

/// Ground truth per row of the data, from a generated base.
#[derive(Debug, Clone, PartialEq)]
pub struct Truth {
    /// Whether each row belongs to the class the seeds were drawn from.
    pub positive: Vec<bool>,
    /// Each row's true future value.
    pub value: Vec<f64>,
}

/// The seeds' class in a ground truth, and how it was chosen.
#[derive(Debug, Clone, PartialEq)]
pub struct SeedClass {
    /// Membership of it and true value, per row.
    pub truth: Truth,
    /// The class: the most common among the seeds (ties to the first name).
    pub class: String,
    /// Seeds in that class.
    pub seeds_in_class: usize,
    /// Rows without a truth (counted as other classes with no value).
    pub missing: usize,
}

impl Truth {
    /// The truth of rows `ids` from each customer's (class, true value) in `known`: the
    /// positive class is the seeds' most common one. None when no seed is known.
    ///
    /// ```
    /// use std::collections::HashMap;
    /// let known: HashMap<String, (String, f64)> = [("a", ("loyal", 9.0)), ("b", ("loyal", 7.0)),
    ///     ("c", ("browser", 0.0))].map(|(id, (c, v))| (id.to_string(), (c.to_string(), v))).into();
    /// let class = lookalike_audience::Truth::of_seeds(&["a", "b", "c", "d"], &[0, 1], &known).unwrap();
    /// assert_eq!(class.class, "loyal");
    /// assert_eq!(class.truth.positive, vec![true, true, false, false]);
    /// assert_eq!(class.missing, 1);
    /// ```
    pub fn of_seeds(
        ids: &[&str],
        seeds: &[usize],
        known: &std::collections::HashMap<String, (String, f64)>,
    ) -> Option<SeedClass> {
        let mut counts: std::collections::HashMap<&str, usize> = Default::default();
        for seed in seeds {
            if let Some((class, _)) = known.get(ids[*seed]) {
                *counts.entry(class.as_str()).or_default() += 1;
            }
        }
        let class = counts
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
            .map(|(c, _)| c.to_string())?;
        Some(Truth::of_classes(ids, seeds, known, &[class.as_str()]))
    }

    /// The truth with the given classes as the positive one (two kinds of best customer
    /// together, say); its name is theirs joined by "+".
    ///
    /// ```
    /// use std::collections::HashMap;
    /// let known: HashMap<String, (String, f64)> = [("a", ("big", 9.0)), ("b", ("often", 7.0)),
    ///     ("c", ("decoy", 0.0))].map(|(id, (c, v))| (id.to_string(), (c.to_string(), v))).into();
    /// let class = lookalike_audience::Truth::of_classes(&["a", "b", "c"], &[0], &known, &["big", "often"]);
    /// assert_eq!(class.class, "big+often");
    /// assert_eq!(class.truth.positive, vec![true, true, false]);
    /// assert_eq!(class.seeds_in_class, 1);
    /// ```
    pub fn of_classes(
        ids: &[&str],
        seeds: &[usize],
        known: &std::collections::HashMap<String, (String, f64)>,
        classes: &[&str],
    ) -> SeedClass {
        let positive_class = |class: &str| classes.contains(&class);
        let seeds_in_class = seeds
            .iter()
            .filter(|s| known.get(ids[**s]).is_some_and(|(c, _)| positive_class(c)))
            .count();
        let missing = ids.iter().filter(|id| !known.contains_key(**id)).count();
        let (positive, value) = ids
            .iter()
            .map(|id| match known.get(*id) {
                Some((c, v)) => (positive_class(c), *v),
                None => (false, 0.0),
            })
            .unzip();
        SeedClass {
            truth: Truth { positive, value },
            class: classes.join("+"),
            seeds_in_class,
            missing,
        }
    }
}

/// One scorer at one tier, averaged over the folds.
#[derive(Debug, Clone, PartialEq)]
pub struct EvaluationRow {
    /// "knn", "centroids", "classifier", "ensemble" or "random".
    pub scorer: &'static str,
    /// The tier as written ("5%").
    pub tier: String,
    /// Share of the hidden seeds in the tier.
    pub recall: f64,
    /// Share of the tier that are hidden seeds.
    pub precision: f64,
    /// Precision over the hidden seeds' share of the scored customers (1 = random).
    pub lift: f64,
    /// AUC of the hidden seeds against the other scored customers (per scorer).
    pub auc: f64,
    /// Recall weighted by the hidden seeds' values (the recall without values).
    pub value_recall: f64,
    /// With truth: share of the truth-positive scored customers in the tier.
    pub truth_recall: Option<f64>,
    /// With truth: the tier's mean true value over the mean of all scored customers.
    pub truth_value_ratio: Option<f64>,
}

/// What an evaluation runs on: as for [`ValidExpandParams::expand`], with `pool` the candidates
/// other than the seeds.
#[derive(Debug, Clone, Copy)]
pub struct EvaluationData<'a> {
    /// Scaled features, one row per customer.
    pub data: ArrayView2<'a, f64>,
    /// Customer id of each row.
    pub ids: &'a [&'a str],
    /// Seed rows.
    pub seeds: &'a [usize],
    /// Seed values, if any.
    pub seed_values: Option<&'a [f64]>,
    /// Candidate rows other than the seeds.
    pub pool: &'a [usize],
    /// Ground truth per row, if known.
    pub truth: Option<&'a Truth>,
}

/// Cross-validates `scorers` (and the random baseline) over `folds` folds (at least 2) of the
/// seeds; one row per scorer and tier.
///
/// ```
/// use lookalike_audience::{EvaluationData, ExpandParams, ScorerKind, TierSize, evaluate};
/// let data = ndarray::Array2::from_shape_fn((400, 2), |(i, j)| if i < 100 { 5.0 } else { 0.0 } + ((i * (j + 3)) % 7) as f64 * 0.1);
/// let ids: Vec<String> = (0..400).map(|i| format!("C{i:03}")).collect();
/// let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
/// let seeds: Vec<usize> = (0..100).collect();
/// let pool: Vec<usize> = (100..400).collect();
/// let params = ExpandParams::new(vec![TierSize::Share(0.1)]).min_seeds(10).validate().unwrap();
/// let input = EvaluationData { data: data.view(), ids: &ids, seeds: &seeds, seed_values: None, pool: &pool, truth: None };
/// let rows = evaluate(&params, &[ScorerKind::Knn], 5, &input).unwrap();
/// assert_eq!((rows[0].scorer, rows[1].scorer), ("knn", "random"));
/// assert!(rows[0].recall > 0.99 && rows[0].auc > 0.99 && rows[1].auc < 0.8);
/// ```
pub fn evaluate(
    params: &ValidExpandParams,
    scorers: &[ScorerKind],
    folds: usize,
    input: &EvaluationData<'_>,
) -> Result<Vec<EvaluationRow>, AudienceError> {
    let EvaluationData {
        data,
        ids,
        seeds,
        seed_values,
        pool,
        truth,
    } = *input;
    if folds < 2 {
        return Err(AudienceError::TooFewFolds(folds));
    }
    if seeds.len() < folds {
        return Err(AudienceError::FewerSeedsThanFolds {
            seeds: seeds.len(),
            folds,
        });
    }
    let mut order: Vec<usize> = (0..seeds.len()).collect();
    order.sort_by_key(|i| (xxh3_64_with_seed(ids[seeds[*i]].as_bytes(), 0x5EED), *i));
    let mut fold_of = vec![0; seeds.len()];
    for (position, i) in order.iter().enumerate() {
        fold_of[*i] = position % folds;
    }
    let names: Vec<&'static str> = scorers.iter().map(|s| s.name()).chain(["random"]).collect();
    let tier_labels: Vec<String> = resolve(params.sizes(), pool.len() + seeds.len() / folds)?
        .into_iter()
        .map(|t| t.0)
        .collect();
    // sums[scorer][tier]: (recall, precision, lift, auc, value recall, truth recall, truth ratio)
    let mut sums = vec![vec![[0.0f64; 7]; tier_labels.len()]; names.len()];
    for fold in 0..folds {
        let train: Vec<usize> = (0..seeds.len()).filter(|i| fold_of[*i] != fold).collect();
        let hidden: Vec<usize> = (0..seeds.len()).filter(|i| fold_of[*i] == fold).collect();
        let train_rows: Vec<usize> = train.iter().map(|i| seeds[*i]).collect();
        let train_values: Option<Vec<f64>> =
            seed_values.map(|v| train.iter().map(|i| v[*i]).collect());
        let scored: Vec<usize> = pool
            .iter()
            .copied()
            .chain(hidden.iter().map(|i| seeds[*i]))
            .collect();
        let is_hidden: Vec<bool> = (0..scored.len()).map(|k| k >= pool.len()).collect();
        let hidden_value: Vec<f64> = (0..scored.len())
            .map(|k| match (k >= pool.len(), seed_values) {
                (false, _) => 0.0,
                (true, Some(v)) => v[hidden[k - pool.len()]],
                (true, None) => 1.0,
            })
            .collect();
        let tiers = resolve(params.sizes(), scored.len())?;
        let seed_rows = data.select(Axis(0), &train_rows);
        let largest = tiers.last().expect("at least one tier").1;
        let scored_ids: Vec<&str> = scored.iter().map(|r| ids[*r]).collect();
        for (s, name) in names.iter().enumerate() {
            let score: Vec<f64> = if *name == "random" {
                scored_ids
                    .iter()
                    .map(|id| xxh3_64_with_seed(id.as_bytes(), fold as u64) as f64)
                    .collect()
            } else {
                params
                    .build_scorer(
                        scorers[s],
                        seed_rows.view(),
                        FitData {
                            data,
                            seeds: &train_rows,
                            values: train_values.as_deref(),
                            candidates: &scored,
                            pool: scored.len(),
                        },
                    )?
                    .score_rows(data, &scored)?
                    .strength
            };
            let auc = area_under_curve(&score, &is_hidden);
            let rank = top_ranked(&score, &scored_ids, largest);
            for (t, (_, size)) in tiers.iter().enumerate() {
                let tier = &rank[..*size];
                let found = tier.iter().filter(|k| is_hidden[**k]).count() as f64;
                let recall = found / hidden.len() as f64;
                let precision = found / *size as f64;
                let lift = precision / (hidden.len() as f64 / scored.len() as f64);
                let value_total: f64 = hidden_value.iter().sum();
                let value_found: f64 = tier.iter().map(|k| hidden_value[*k]).sum();
                let value_recall = if value_total > 0.0 {
                    value_found / value_total
                } else {
                    recall
                };
                let (truth_recall, truth_ratio) = match truth {
                    Some(truth) => {
                        let positives = scored.iter().filter(|r| truth.positive[**r]).count();
                        let in_tier = tier.iter().filter(|k| truth.positive[scored[**k]]).count();
                        let mean = |rows: &mut dyn Iterator<Item = usize>| {
                            let (sum, n) =
                                rows.fold((0.0, 0.0), |(s, n), r| (s + truth.value[r], n + 1.0));
                            sum / n
                        };
                        let tier_mean = mean(&mut tier.iter().map(|k| scored[*k]));
                        let all_mean = mean(&mut scored.iter().copied());
                        (
                            in_tier as f64 / positives.max(1) as f64,
                            tier_mean / all_mean,
                        )
                    }
                    None => (f64::NAN, f64::NAN),
                };
                let cell = &mut sums[s][t];
                for (slot, value) in cell.iter_mut().zip([
                    recall,
                    precision,
                    lift,
                    auc,
                    value_recall,
                    truth_recall,
                    truth_ratio,
                ]) {
                    *slot += value;
                }
            }
        }
    }
    let n = folds as f64;
    let mut rows = Vec::new();
    for (s, name) in names.iter().enumerate() {
        for (t, label) in tier_labels.iter().enumerate() {
            let [
                recall,
                precision,
                lift,
                auc,
                value_recall,
                truth_recall,
                truth_ratio,
            ] = sums[s][t].map(|v| v / n);
            rows.push(EvaluationRow {
                scorer: name,
                tier: label.clone(),
                recall,
                precision,
                lift,
                auc,
                value_recall,
                truth_recall: truth.map(|_| truth_recall),
                truth_value_ratio: truth.map(|_| truth_ratio),
            });
        }
    }
    Ok(rows)
}

/// P(score of a random positive > score of a random negative), ties counting one half
/// (the Mann-Whitney statistic over the product of the class sizes).
fn area_under_curve(score: &[f64], positive: &[bool]) -> f64 {
    let ranks = rank_percentiles(score);
    let n = score.len() as f64;
    let positives = positive.iter().filter(|p| **p).count() as f64;
    let negatives = n - positives;
    if positives == 0.0 || negatives == 0.0 {
        return f64::NAN;
    }
    // Back from percentiles to 1-based average ranks.
    let rank_sum: f64 = ranks
        .iter()
        .zip(positive)
        .filter(|(_, p)| **p)
        .map(|(r, _)| r * (n - 1.0) + 1.0)
        .sum();
    (rank_sum - positives * (positives + 1.0) / 2.0) / (positives * negatives)
}

#[cfg(test)]
mod tests {
    use super::area_under_curve;

    #[test]
    fn auc_by_hand() {
        // Positives at 0.9 and 0.4, negatives at 0.5, 0.4, 0.1: pairs won 3 + 0.5 + 1 of 6.
        let auc = area_under_curve(
            &[0.9, 0.4, 0.5, 0.4, 0.1],
            &[true, true, false, false, false],
        );
        assert!((auc - 4.5 / 6.0).abs() < 1e-12);
        assert_eq!(area_under_curve(&[1.0, 0.0], &[true, false]), 1.0);
    }
}
