//! Audiences trained on a base held in parts (Spark partitions, each holding whole customers),
//! for audiences that set `candidate_sample`. Three passes over the parts:
//!
//! 1. **Survey** ([`AudienceSurvey::of`], merged with [`AudienceSurvey::merge`]): per audience,
//!    the compared columns' scaler statistics over every customer that has them (exact sums:
//!    [`ColumnStatistics::exact`]), every seed's raw values, the number of candidates
//!    and the `candidate_sample` candidates with the lowest hash of their id.
//! 2. **Fit** on the driver ([`AudienceSurvey::fit`]): the scaler from the statistics, and the
//!    scorer fitted on the seeds (in id order) against the sample — the fit `lookalike train`
//!    makes with the same `candidate_sample` ([`crate::PoolSpec::prepare_exact`],
//!    [`crate::Prepared::expand_on_sample`]), bit for bit.
//! 3. **Rank** ([`AudiencesInParts::strengths`]): every candidate's ranking strength, as a key
//!    that sorts as the ranking does; the caller sorts them (Spark's sort) and hands the
//!    customers at each tier's last rank to [`AudiencesInParts::set_cuts`]. The cuts are
//!    exact order statistics of every candidate, as in one process.
//!
//! Seed rules are evaluated per part on the segments and CLV of the stages trained before
//! (the `interim` model). `clv_rank` ranks customers against the whole base: a rule naming it
//! ([`ranks_by_clv`]) reads each customer's rank from the part's [`CLV_RANK_COLUMN`], which
//! the caller computes first with a sort of every customer's [`clv_keys`].

use lookalike_audience::{
    AudienceScorer, TierCut, sample_key, strength_key, strength_of_key, tier_sizes,
};
use lookalike_cluster::{ColumnStatistics, Scaler, ScalerParams};
use lookalike_core::FeatureTable;
use lookalike_rfm::Rule;
use ndarray::Array2;
use serde::{Deserialize, Serialize};

use crate::audience_fit::{AudienceInputs, FittedAudience, pool_of};
use crate::audience_stage::Pool;
use crate::fit::{expand_params, to_json};
use crate::rule_columns::{CLV_COLUMN, CLV_RANK_COLUMN};
use crate::{
    AudienceDocument, AudienceSpec, PipelineError, PipelineModel, PipelineSpec, PoolSpec,
    TrainingInputs,
};

/// An error unless every audience of `spec` can be trained on a base in parts: each needs
/// `candidate_sample`.
pub(crate) fn check_audiences_in_parts(spec: &PipelineSpec) -> Result<(), String> {
    for audience in &spec.audiences {
        if audience.candidate_sample.is_none() {
            return Err(format!(
                "[[audience]] {:?}: training on a base in parts fits the scorer against a hash sample of the candidates; set candidate_sample (50000, say), and lookalike train makes the same fit",
                audience.name
            ));
        }
        if spec.value.is_none() && names_clv_rank(audience).map_err(|e| e.to_string())? {
            return Err(format!(
                "[[audience]] {:?}: seed_rule names clv_rank, which needs [value]",
                audience.name
            ));
        }
    }
    Ok(())
}

/// Whether a seed rule of `spec` names `clv_rank`: then every part needs each customer's rank
/// in the whole base ([`crate::CLV_RANK_COLUMN`], from a sort of [`clv_keys`]).
pub fn ranks_by_clv(spec: &PipelineSpec) -> Result<bool, PipelineError> {
    for audience in &spec.audiences {
        if names_clv_rank(audience)? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Whether the audience's seed rule names `clv_rank`.
fn names_clv_rank(audience: &AudienceSpec) -> Result<bool, PipelineError> {
    Ok(match &audience.seed_rule {
        Some(rule) => Rule::parse("seed_rule", rule)?
            .columns()
            .contains(&"clv_rank"),
        None => false,
    })
}

/// Every customer of one part with its CLV (from the `[value]` stage of `interim`) as a key
/// that sorts as the CLV ([`lookalike_audience::strength_key`]): the base's `clv_rank` is a
/// customer's position in the order of these keys (highest first, equal keys by id) over the
/// customers of the base, as [`crate::RuleExtras::add_values`] ranks one table.
pub fn clv_keys(
    interim: &PipelineModel,
    table: &FeatureTable,
) -> Result<Vec<(String, i64)>, PipelineError> {
    let values = AudienceInputs::clv_of_model(interim, table)?.ok_or_else(|| {
        PipelineError::Seeds("a seed rule names clv_rank, which needs [value]".into())
    })?;
    Ok(table
        .ids()
        .iter()
        .zip(&values)
        .map(|(id, value)| (id.to_string(), strength_key(*value)))
        .collect())
}

/// A seed: its id, its compared values (raw) and its value from the seed list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct SurveyedSeed {
    id: String,
    values: Vec<f64>,
    value: Option<f64>,
}

/// A candidate of the hash sample: its key, id and compared values (raw).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct SampledCandidate {
    key: u64,
    id: String,
    values: Vec<f64>,
}

/// What one part tells of one audience.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct PartOfAudience {
    name: String,
    /// The compared columns, after ln(1 + x) where asked, of every customer that has them.
    statistics: ColumnStatistics,
    /// Seeds found, with every compared feature or not.
    found: u64,
    /// Seeds with every compared feature.
    seeds: Vec<SurveyedSeed>,
    /// Candidates.
    candidates: u64,
    /// The candidates with the lowest keys, at most `candidate_sample`, lowest first.
    sample: Vec<SampledCandidate>,
}

/// The survey pass of every audience of a spec over one part of a base, or over the parts
/// merged so far.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AudienceSurvey {
    /// The feature columns, which every part must share.
    columns: Vec<String>,
    audiences: Vec<PartOfAudience>,
}

/// Each audience of a spec with its candidate pool.
type Pools<'a> = Vec<(&'a AudienceSpec, PoolSpec)>;

/// Each audience's pool in one part, and the CLV and rule columns the earlier stages of
/// `interim` give the part, computed once for every audience (only when a seed rule may name
/// them).
fn pools_of<'a>(
    spec: &'a PipelineSpec,
    inputs: &TrainingInputs,
    interim: &PipelineModel,
    table: &FeatureTable,
) -> Result<(Pools<'a>, AudienceInputs), PipelineError> {
    check_audiences_in_parts(spec).map_err(|message| PipelineError::Document {
        file: "the pipeline spec".into(),
        message,
    })?;
    let mut shared = if spec.audiences.iter().any(|a| a.seed_rule.is_some()) {
        match table.column(CLV_COLUMN) {
            // Computed with the ranks, by the pass that sorted every customer's CLV.
            Ok(clv) => AudienceInputs::of_model_with_clv(spec, interim, table, clv.to_vec())?,
            Err(_) => AudienceInputs::of_model(spec, interim, table)?,
        }
    } else {
        AudienceInputs::none()
    };
    if let (Ok(ranks), Some(values)) = (table.column(CLV_RANK_COLUMN), &shared.values) {
        // The ranks in the whole base, not in this part.
        let mut extras = shared.extras.take().unwrap_or_default();
        extras.add_ranked_values(values, ranks.to_vec());
        shared.extras = Some(extras);
        shared.values = None;
    } else {
        for section in &spec.audiences {
            if names_clv_rank(section)? {
                return Err(PipelineError::Seeds(format!(
                    "audience {:?}: its seed rule names clv_rank, a rank in the whole base, which a part of it reads from the column {CLV_RANK_COLUMN} (lookalike.spark.train adds it)",
                    section.name
                )));
            }
        }
    }
    let pools = spec
        .audiences
        .iter()
        .map(|section| Ok((section, pool_of(section, &inputs.seed_lists)?)))
        .collect::<Result<_, PipelineError>>()?;
    Ok((pools, shared))
}

/// The compared columns of `rows` (customers that have them all), after ln(1 + x) where
/// `pool` asks for it: what the scaler's statistics are taken of. An error naming the
/// customer (in `what`, for messages) for a value the log cannot take.
pub(crate) fn logged_values(
    table: &FeatureTable,
    rows: &[usize],
    pool: &PoolSpec,
    what: &str,
) -> Result<Array2<f64>, PipelineError> {
    let columns = pool.columns();
    let positions = column_positions(table, &columns)?;
    let logged: Vec<bool> = columns.iter().map(|c| pool.log1p().contains(c)).collect();
    let mut values = Array2::zeros((rows.len(), columns.len()));
    for (i, row) in rows.iter().enumerate() {
        for (j, at) in positions.iter().enumerate() {
            let v = table.values()[[*row, *at]];
            values[[i, j]] = if logged[j] { v.ln_1p() } else { v };
            if !values[[i, j]].is_finite() {
                return Err(PipelineError::Seeds(format!(
                    "{what}: column {:?} is ln(1 + x)-transformed but customer {} has {v}",
                    columns[j],
                    table.ids()[*row]
                )));
            }
        }
    }
    Ok(values)
}

/// Which customers of one part have every compared feature, and its seeds and candidates.
fn members_of(
    pool: &PoolSpec,
    shared: &AudienceInputs,
    table: &FeatureTable,
) -> Result<(Vec<bool>, Pool), PipelineError> {
    pool.members(
        table,
        "the part",
        shared.extras.as_ref(),
        shared.values.as_deref(),
    )
}

/// The compared values (raw) of `row`, at `columns` of `table`.
fn raw_values(table: &FeatureTable, columns: &[usize], row: usize) -> Vec<f64> {
    columns.iter().map(|j| table.values()[[row, *j]]).collect()
}

/// The positions of `names` in `table`, an error naming the first missing one.
fn column_positions(table: &FeatureTable, names: &[String]) -> Result<Vec<usize>, PipelineError> {
    names
        .iter()
        .map(|name| {
            table.column_index(name).map_err(|_| {
                PipelineError::Seeds(format!(
                    "the compared column {name:?} is not among the features ({})",
                    table.columns().join(", ")
                ))
            })
        })
        .collect()
}

/// The scaler settings of an audience's pool.
fn scaler_params(pool: &PoolSpec, section: &AudienceSpec) -> ScalerParams {
    ScalerParams::new(pool.columns())
        .scaling(section.scaling)
        .log1p(pool.log1p())
}

impl PartOfAudience {
    /// What `table` (one part) tells of the audience `section`, whose pool is `pool` and
    /// whose seed rules read `shared`.
    fn of(
        section: &AudienceSpec,
        pool: &PoolSpec,
        shared: &AudienceInputs,
        table: &FeatureTable,
    ) -> Result<PartOfAudience, PipelineError> {
        let positions = column_positions(table, &pool.columns())?;
        let (complete, members) = members_of(pool, shared, table)?;
        let rows: Vec<usize> = (0..table.len()).filter(|r| complete[*r]).collect();
        let values = logged_values(table, &rows, pool, &format!("audience {:?}", section.name))?;
        let statistics = ColumnStatistics::exact(values.view(), section.scaling);
        let seeds = members
            .seeds
            .iter()
            .enumerate()
            .map(|(i, row)| SurveyedSeed {
                id: table.ids()[*row].to_string(),
                values: raw_values(table, &positions, *row),
                value: members.seed_values.as_ref().map(|v| v[i]),
            })
            .collect();
        let size = section.candidate_sample.expect("checked");
        let ids: Vec<&str> = table.ids().iter().map(|id| id.as_str()).collect();
        let sampled =
            lookalike_audience::candidate_sample(&ids, &members.candidates, size, section.seed);
        let sample = sampled
            .into_iter()
            .map(|row| SampledCandidate {
                key: sample_key(ids[row], section.seed),
                id: ids[row].to_string(),
                values: raw_values(table, &positions, row),
            })
            .collect();
        Ok(PartOfAudience {
            name: section.name.clone(),
            statistics,
            found: members.found as u64,
            seeds,
            candidates: members.candidates.len() as u64,
            sample,
        })
    }
}

impl AudienceSurvey {
    /// The survey of one part (`table`, whole customers) for every audience of `spec`, whose
    /// seed lists `inputs` holds; `interim` is the model of the stages trained before the
    /// audiences (its segments and CLV feed seed rules).
    pub fn of(
        spec: &PipelineSpec,
        inputs: &TrainingInputs,
        interim: &PipelineModel,
        table: &FeatureTable,
    ) -> Result<AudienceSurvey, PipelineError> {
        let (pools, shared) = pools_of(spec, inputs, interim, table)?;
        let mut audiences = Vec::new();
        for (section, pool) in pools {
            audiences.push(PartOfAudience::of(section, &pool, &shared, table)?);
        }
        Ok(AudienceSurvey {
            columns: table.columns().to_vec(),
            audiences,
        })
    }

    /// Adds another part's survey for the same `spec`.
    pub fn merge(
        &mut self,
        other: &AudienceSurvey,
        spec: &PipelineSpec,
    ) -> Result<(), PipelineError> {
        let differ = |what: &str| PipelineError::Document {
            file: "the audience surveys".into(),
            message: format!("the parts differ in their {what}"),
        };
        if other.columns != self.columns {
            return Err(differ("feature columns"));
        }
        if other.audiences.len() != self.audiences.len()
            || spec.audiences.len() != self.audiences.len()
        {
            return Err(differ("audiences"));
        }
        for ((mine, theirs), section) in self
            .audiences
            .iter_mut()
            .zip(&other.audiences)
            .zip(&spec.audiences)
        {
            if mine.name != theirs.name || mine.name != section.name {
                return Err(differ("audiences"));
            }
            mine.statistics
                .merge(&theirs.statistics)
                .map_err(|e| differ(&e.to_string()))?;
            mine.found += theirs.found;
            mine.seeds.extend(theirs.seeds.iter().cloned());
            mine.candidates += theirs.candidates;
            mine.sample.extend(theirs.sample.iter().cloned());
            mine.sample
                .sort_by(|a, b| a.key.cmp(&b.key).then_with(|| a.id.cmp(&b.id)));
            mine.sample
                .truncate(section.candidate_sample.expect("checked"));
        }
        Ok(())
    }

    /// Every audience's scaler and scorer, fitted from the merged survey of the whole base.
    pub fn fit(
        self,
        spec: &PipelineSpec,
        inputs: &TrainingInputs,
    ) -> Result<AudiencesInParts, PipelineError> {
        let mut fitted = Vec::new();
        for (mut part, section) in self.audiences.into_iter().zip(&spec.audiences) {
            let pool = pool_of(section, &inputs.seed_lists)?;
            pool.check_seeds_found(part.found as usize, "the base")?;
            let scaler = Scaler::from_statistics(&scaler_params(&pool, section), &part.statistics)?;
            part.seeds.sort_by(|a, b| a.id.cmp(&b.id));
            let scaled = |values: Vec<&[f64]>| -> Array2<f64> {
                let mut out = Array2::zeros((values.len(), scaler.columns.len()));
                for (mut row, raw) in out.rows_mut().into_iter().zip(values) {
                    let row = row.as_slice_mut().expect("rows of a standard matrix");
                    scaler.scale_row(|j| raw[j], row);
                }
                out
            };
            let seed_rows = scaled(part.seeds.iter().map(|s| &s.values[..]).collect());
            let sample_rows = scaled(part.sample.iter().map(|s| &s.values[..]).collect());
            // Values come with every seed of a list that has them, with none otherwise.
            let seed_values: Option<Vec<f64>> = part.seeds.iter().map(|s| s.value).collect();
            let params = expand_params(section).validate()?;
            let candidates = part.candidates as usize;
            let tiers = tier_sizes(&section.sizes, candidates)?;
            let scorer = params
                .fit_on_sample(
                    seed_rows.view(),
                    seed_values.as_deref(),
                    sample_rows.view(),
                    candidates,
                )
                .map_err(|e| PipelineError::Seeds(format!("audience {:?}: {e}", section.name)))?;
            let saved = scorer.saved().ok_or_else(|| {
                PipelineError::Seeds(format!(
                    "audience {:?}: the {} scorer cannot be saved",
                    section.name,
                    scorer.name()
                ))
            })?;
            fitted.push(AudienceInParts {
                fitted: FittedAudience {
                    scorer: saved,
                    scorer_name: scorer.name().to_string(),
                    selection: scorer.selection().as_ref().map(to_json).transpose()?,
                    columns: scaler.columns.clone(),
                    scaling: scaler.parameters(),
                    seeds: part.seeds.len(),
                    candidates,
                    tiers: Vec::new(),
                    seed_ids: part.seeds.iter().map(|s| s.id.clone()).collect(),
                    seed_rows: seed_rows.rows().into_iter().map(|r| r.to_vec()).collect(),
                },
                tiers,
            });
        }
        Ok(AudiencesInParts { audiences: fitted })
    }
}

/// One audience fitted on a base in parts, its tier cuts still to find.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct AudienceInParts {
    fitted: FittedAudience,
    /// (label, customers) of each tier, smallest first.
    tiers: Vec<(String, usize)>,
}

/// The audiences of a spec fitted on a base in parts: scorers fitted, tier cuts to find
/// from every candidate's strength ([`AudiencesInParts::strengths`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AudiencesInParts {
    audiences: Vec<AudienceInParts>,
}

/// A candidate's ranking: which audience, the customer, and its strength as a key that sorts
/// as the ranking does ([`lookalike_audience::strength_key`]).
pub type RankedCandidate = (usize, String, i64);

impl AudiencesInParts {
    /// Every candidate of one part (`table`, whole customers), for every audience: (audience
    /// index, customer id, strength key). The tiers take the highest keys, equal keys by id
    /// ascending.
    pub fn strengths(
        &self,
        spec: &PipelineSpec,
        inputs: &TrainingInputs,
        interim: &PipelineModel,
        table: &FeatureTable,
    ) -> Result<Vec<RankedCandidate>, PipelineError> {
        let mut ranked = Vec::new();
        let (pools, shared) = pools_of(spec, inputs, interim, table)?;
        if pools.len() != self.audiences.len() {
            return Err(PipelineError::Document {
                file: "the audiences fitted in parts".into(),
                message: "they are not those of the pipeline spec".into(),
            });
        }
        for (a, ((_, pool), audience)) in pools.iter().zip(&self.audiences).enumerate() {
            let fitted = &audience.fitted;
            let positions = column_positions(table, &fitted.columns)?;
            let (_, members) = members_of(pool, &shared, table)?;
            if members.candidates.is_empty() {
                continue;
            }
            let seed_rows =
                Array2::from_shape_fn((fitted.seed_rows.len(), fitted.columns.len()), |(i, j)| {
                    fitted.seed_rows[i][j]
                });
            let scoring = AudienceScorer::restore(
                &fitted.columns,
                &fitted.scaling,
                &fitted.scorer,
                seed_rows.view(),
            )?;
            let candidates = &members.candidates;
            let (scored, scores) = scoring.score(candidates.len(), |i, j| {
                table.values()[[candidates[i], positions[j]]]
            })?;
            // Candidates have every compared value (the pool leaves out those who miss one).
            debug_assert_eq!(scored.len(), candidates.len());
            let strengths = scores.map(|s| s.strength).unwrap_or_default();
            for (k, strength) in scored.iter().zip(&strengths) {
                let id = table.ids()[candidates[*k]].to_string();
                ranked.push((a, id, strength_key(*strength)));
            }
        }
        Ok(ranked)
    }

    /// Per audience, the ranks (1 = best) of each tier's last member, smallest tier first.
    pub fn cut_ranks(&self) -> Vec<Vec<usize>> {
        self.audiences
            .iter()
            .map(|a| a.tiers.iter().map(|(_, size)| *size).collect())
            .collect()
    }

    /// Sets audience `audience`'s tier cuts from the (strength key, id) of the candidates at
    /// its [`AudiencesInParts::cut_ranks`], in the same order.
    pub fn set_cuts(
        &mut self,
        audience: usize,
        cuts: &[(i64, String)],
    ) -> Result<(), PipelineError> {
        let bad = |message: String| PipelineError::Document {
            file: "the audience tier cuts".into(),
            message,
        };
        let entry = self
            .audiences
            .get_mut(audience)
            .ok_or_else(|| bad(format!("there is no audience {audience}")))?;
        if cuts.len() != entry.tiers.len() {
            return Err(bad(format!(
                "{} cuts for {} tiers",
                cuts.len(),
                entry.tiers.len()
            )));
        }
        entry.fitted.tiers = entry
            .tiers
            .iter()
            .zip(cuts)
            .map(|((label, size), (key, id))| TierCut {
                label: label.clone(),
                customers: *size,
                last_strength: strength_of_key(*key),
                last_customer_id: id.clone(),
            })
            .collect();
        Ok(())
    }

    /// Each audience's settings and seed index, and its record in the manifest, once every
    /// audience has its cuts.
    pub(crate) fn documents(
        &self,
        spec: &PipelineSpec,
    ) -> Result<(Vec<AudienceDocument>, Vec<serde_json::Value>), PipelineError> {
        let mut documents = Vec::new();
        let mut entries = Vec::new();
        for (audience, section) in self.audiences.iter().zip(&spec.audiences) {
            if audience.fitted.tiers.len() != audience.tiers.len() {
                return Err(PipelineError::Document {
                    file: "the audiences fitted in parts".into(),
                    message: format!(
                        "audience {:?} has no tier cuts yet (set_cuts)",
                        section.name
                    ),
                });
            }
            let (document, entry) = audience.fitted.clone().document(section)?;
            documents.push(document);
            entries.push(entry);
        }
        Ok((documents, entries))
    }
}
