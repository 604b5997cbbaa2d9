//! `lookalike.segment` and `lookalike.expand`: a stage on a feature table (any Arrow table),
//! through the same library calls as `lookalike segment` and `lookalike expand`.

use std::collections::HashSet;

use arrow::compute::concat_batches;
use lookalike_audience::{ExpandParams, IndexChoice, ScorerKind, TierSize};
use lookalike_cluster::Scaling;
use lookalike_core::FeatureTable;
use lookalike_pipeline::{
    IdList, PipelineError, PoolLabels, PoolSpec, SeedSource, SegmentSpec, audience_batch,
    segment_table, segments_batch,
};
use pyo3::prelude::*;

use crate::errors::{InputError, arrow_to_py, choice, to_py};
use crate::tables::{batches_of, to_pyarrow};

/// A feature table from any Arrow table: `customer_id` and every other column as a number.
pub fn feature_table(features: &Bound<'_, PyAny>) -> PyResult<FeatureTable> {
    let batches = batches_of(features)?;
    let Some(first) = batches.first() else {
        return Err(InputError::new_err("the feature table is empty"));
    };
    let schema = first.schema();
    let batch = concat_batches(&schema, &batches).map_err(arrow_to_py)?;
    let columns: Vec<&str> = schema
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .filter(|name| *name != "customer_id")
        .collect();
    lookalike_features::table_from_batch(&batch, &columns)
        .map_err(|e| to_py(PipelineError::from(e)))
}

/// RFM scores, named segments, lifecycle, value tiers, flags and rule segments for every
/// customer of `features`; `rules` is the text of a rules file (TOML). Returns the per-customer
/// table and the report as JSON.
#[pyfunction]
#[pyo3(signature = (features, rules, bins, value_column, require_consent, lapsing_factor, lost_factor, loyal_purchase_days, single_purchase_gap, min_size))]
#[allow(clippy::too_many_arguments)]
pub fn segment<'py>(
    py: Python<'py>,
    features: &Bound<'py, PyAny>,
    rules: Option<String>,
    bins: usize,
    value_column: String,
    require_consent: Option<String>,
    lapsing_factor: f64,
    lost_factor: f64,
    loyal_purchase_days: f64,
    single_purchase_gap: f64,
    min_size: usize,
) -> PyResult<(Bound<'py, PyAny>, String)> {
    let table = feature_table(features)?;
    let spec = SegmentSpec {
        rules: None,
        bins,
        value_column,
        require_consent,
        lapsing_factor,
        lost_factor,
        loyal_purchase_days,
        single_purchase_gap,
        min_size,
    };
    let (batch, report) = py
        .detach(|| -> Result<_, PipelineError> {
            let trained = segment_table(&table, &spec, rules.as_deref())?;
            let batch = segments_batch(&table, &trained.segmentation)?;
            let report =
                serde_json::to_string(&trained.report).map_err(|e| PipelineError::Document {
                    file: "the segment report".into(),
                    message: e.to_string(),
                })?;
            Ok((batch, report))
        })
        .map_err(to_py)?;
    let schema = batch.schema();
    Ok((to_pyarrow(py, vec![batch], schema)?, report))
}

/// Ids listed once each, counting repeats.
fn id_list(origin: &str, ids: Vec<String>) -> IdList {
    let mut seen = HashSet::new();
    let mut unique = Vec::with_capacity(ids.len());
    let mut duplicates = 0;
    for id in ids {
        if seen.insert(id.clone()) {
            unique.push(id);
        } else {
            duplicates += 1;
        }
    }
    IdList {
        origin: origin.to_string(),
        ids: unique,
        values: None,
        duplicates,
    }
}

/// A lookalike audience of `features`: seeds from `seeds` (ids) or `seed_rule`, candidates
/// scored, ranked into nested tiers with a control group. Returns the members (best first)
/// and the notes on who was left out.
#[pyfunction]
#[pyo3(signature = (features, seeds, seed_rule, scope, exclude, require_consent, columns, log1p, scaling, sizes, scorer, k, index, representatives, holdout, salt, min_seeds, seed))]
#[allow(clippy::too_many_arguments)]
pub fn expand<'py>(
    py: Python<'py>,
    features: &Bound<'py, PyAny>,
    seeds: Option<Vec<String>>,
    seed_rule: Option<String>,
    scope: Option<String>,
    exclude: Vec<Vec<String>>,
    require_consent: Option<String>,
    columns: Vec<String>,
    log1p: Option<Vec<String>>,
    scaling: &str,
    sizes: Vec<String>,
    scorer: &str,
    k: usize,
    index: &str,
    representatives: usize,
    holdout: f64,
    salt: u64,
    min_seeds: usize,
    seed: u64,
) -> PyResult<(Bound<'py, PyAny>, Vec<String>)> {
    let table = feature_table(features)?;
    let seeds = match (seeds, seed_rule) {
        (Some(ids), None) => SeedSource::Ids(id_list("the seeds", ids)),
        (None, Some(rule)) => SeedSource::Rule(rule),
        _ => {
            return Err(InputError::new_err(
                "give exactly one of seeds or seed_rule",
            ));
        }
    };
    let pool = PoolSpec {
        seeds,
        scope,
        columns,
        log1p,
        scaling: choice::<Scaling>("scaling", scaling)?,
        exclude: exclude
            .into_iter()
            .enumerate()
            .map(|(i, ids)| id_list(&format!("exclusion list {}", i + 1), ids))
            .collect(),
        require_consent,
        labels: PoolLabels::default(),
    };
    let sizes = sizes
        .iter()
        .map(|s| TierSize::parse(s))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| InputError::new_err(e.to_string()))?;
    let params = ExpandParams::new(sizes)
        .scorer(choice::<ScorerKind>("scorer", scorer)?)
        .neighbours(k)
        .index(choice::<IndexChoice>("index", index)?)
        .representatives(representatives)
        .holdout(holdout)
        .salt(salt)
        .min_seeds(min_seeds)
        .seed(seed)
        .validate()
        .map_err(|e| InputError::new_err(e.to_string()))?;
    let (batch, notes) = py
        .detach(|| -> Result<_, PipelineError> {
            let prepared = pool.prepare(table, "the features", None, None)?;
            let audience = prepared.expand(&params)?;
            let batch = audience_batch(&prepared.customer_ids, &audience, &prepared.columns)?;
            Ok((batch, prepared.notes))
        })
        .map_err(to_py)?;
    let schema = batch.schema();
    Ok((to_pyarrow(py, vec![batch], schema)?, notes))
}
