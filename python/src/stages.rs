//! `lookalike.segment` and `lookalike.expand`: a stage on a feature table (any Arrow table),
//! through the same library calls as `lookalike segment` and `lookalike expand`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, RecordBatch, StringArray, UInt64Array};

use arrow::compute::concat_batches;
use lookalike_audience::{EvaluationRow, ExpandParams, IndexChoice, ScorerKind, TierSize, Truth};
use lookalike_cluster::Scaling;
use lookalike_core::FeatureTable;
use lookalike_pipeline::{
    IdList, PipelineError, PoolLabels, PoolSpec, SeedSource, SegmentSpec, audience_batch,
    segment_table, segments_batch,
};
use pyo3::prelude::*;

use crate::errors::{InputError, arrow_to_py, choice, to_py};
use crate::tables::{batches_of, is_table, to_pyarrow};

/// A feature table from any Arrow table (`customer_id` and every other column as a number) or
/// from a feature file (`.parquet` or `.csv`, as `lookalike features` writes it).
pub fn feature_table(features: &Bound<'_, PyAny>) -> PyResult<FeatureTable> {
    if !is_table(features)? {
        let path: std::path::PathBuf = features.extract().map_err(|_| {
            InputError::new_err(format!(
                "expected a table with the Arrow PyCapsule interface (pyarrow, polars, DuckDB, pandas 2.2+) or a feature file's path, got {}",
                features.get_type().name().map(|n| n.to_string()).unwrap_or_default()
            ))
        })?;
        return lookalike_features::read_feature_table(&path, None)
            .map_err(|e| to_py(PipelineError::from(e)));
    }
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
#[pyo3(signature = (features, rules, bins, value_column, require_consent, lapsing_factor, lost_factor, loyal_purchase_days, single_purchase_gap, min_size, control_share, baseline, target_lift, max_detectable))]
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
    control_share: f64,
    baseline: Option<f64>,
    target_lift: f64,
    max_detectable: f64,
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
        control_share,
        baseline,
        target_lift,
        max_detectable,
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
#[pyo3(signature = (features, seeds, seed_rule, scope, exclude, require_consent, columns, log1p, scaling, sizes, scorer, k, index, representatives, holdout, salt, min_seeds, seed, candidate_sample))]
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
    candidate_sample: Option<usize>,
) -> PyResult<(Bound<'py, PyAny>, Vec<String>)> {
    if candidate_sample == Some(0) {
        return Err(InputError::new_err(
            "candidate_sample = 0: the scorer needs candidates to fit against; give a number such as 50000, or None to fit against every candidate",
        ));
    }
    let table = feature_table(features)?;
    let pool = pool_of(
        seeds,
        seed_rule,
        scope,
        exclude,
        require_consent,
        columns,
        log1p,
        scaling,
    )?;
    let sizes = tier_sizes(&sizes)?;
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
            // A fit on a candidate sample uses the scaler a base in parts would (exact sums),
            // so that it is the fit `lookalike train` and `lookalike.spark.train` make.
            let (mut prepared, audience);
            match candidate_sample {
                Some(size) => {
                    prepared = pool.prepare_exact(table, "the features", None, None)?;
                    audience = prepared.expand_on_sample(&params, size, seed)?;
                }
                None => {
                    prepared = pool.prepare(table, "the features", None, None)?;
                    audience = prepared.expand(&params)?;
                }
            }
            let batch = audience_batch(&prepared.customer_ids, &audience, &prepared.columns)?;
            Ok((batch, prepared.notes))
        })
        .map_err(to_py)?;
    let schema = batch.schema();
    Ok((to_pyarrow(py, vec![batch], schema)?, notes))
}

/// Every pair of the named id sets: sizes, customers in both, Jaccard, each side's share.
#[pyfunction]
pub fn overlap<'py>(
    py: Python<'py>,
    sets: Vec<(String, Vec<String>)>,
) -> PyResult<Bound<'py, PyAny>> {
    if sets.len() < 2 {
        return Err(InputError::new_err("overlap needs at least two sets"));
    }
    let sets: Vec<(String, HashSet<String>)> = sets
        .into_iter()
        .map(|(name, ids)| (name, ids.into_iter().collect()))
        .collect();
    let pairs = lookalike_audience::overlaps(&sets);
    let text = |f: fn(&lookalike_audience::Overlap) -> &String| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(pairs.iter().map(f)))
    };
    let count = |f: fn(&lookalike_audience::Overlap) -> usize| -> ArrayRef {
        Arc::new(UInt64Array::from_iter_values(
            pairs.iter().map(|o| f(o) as u64),
        ))
    };
    let share = |f: fn(&lookalike_audience::Overlap) -> f64| -> ArrayRef {
        Arc::new(Float64Array::from_iter_values(pairs.iter().map(f)))
    };
    let batch = RecordBatch::try_from_iter([
        ("a", text(|o| &o.a)),
        ("b", text(|o| &o.b)),
        ("size_a", count(|o| o.size_a)),
        ("size_b", count(|o| o.size_b)),
        ("both", count(|o| o.both)),
        ("jaccard", share(|o| o.jaccard)),
        ("share_of_a", share(|o| o.share_of_a)),
        ("share_of_b", share(|o| o.share_of_b)),
    ])
    .map_err(arrow_to_py)?;
    let schema = batch.schema();
    to_pyarrow(py, vec![batch], schema)
}

/// Cross-validates the scorers on the seeds themselves: hides each fold of seeds, expands from
/// the rest and measures, per scorer and tier, recall, precision, lift and AUC of the hidden
/// seeds (a `random` scorer is the baseline); with `truth` (customer id → class, true value),
/// also the share of the seeds' class and the true value recovered. Returns the rows and the
/// seeds' class in the truth.
#[pyfunction]
#[pyo3(signature = (features, seeds, seed_rule, exclude, require_consent, columns, log1p, scaling, scorers, folds, sizes, k, representatives, min_seeds, seed, truth, truth_classes))]
#[allow(clippy::too_many_arguments)]
pub fn evaluate_audience<'py>(
    py: Python<'py>,
    features: &Bound<'py, PyAny>,
    seeds: Option<Vec<String>>,
    seed_rule: Option<String>,
    exclude: Vec<Vec<String>>,
    require_consent: Option<String>,
    columns: Vec<String>,
    log1p: Option<Vec<String>>,
    scaling: &str,
    scorers: Option<Vec<String>>,
    folds: usize,
    sizes: Vec<String>,
    k: usize,
    representatives: usize,
    min_seeds: usize,
    seed: u64,
    truth: Option<HashMap<String, (String, f64)>>,
    truth_classes: Option<Vec<String>>,
) -> PyResult<(Bound<'py, PyAny>, Option<String>, Vec<String>)> {
    let table = feature_table(features)?;
    let pool = pool_of(
        seeds,
        seed_rule,
        None,
        exclude,
        require_consent,
        columns,
        log1p,
        scaling,
    )?;
    let scorers = match scorers {
        Some(names) => names
            .iter()
            .map(|name| choice::<ScorerKind>("scorers", name))
            .collect::<PyResult<Vec<_>>>()?,
        None => ScorerKind::ALL.to_vec(),
    };
    let params = ExpandParams::new(tier_sizes(&sizes)?)
        .neighbours(k)
        .representatives(representatives)
        .min_seeds(min_seeds)
        .seed(seed)
        .validate()
        .map_err(|e| InputError::new_err(e.to_string()))?;
    let result = py.detach(|| -> Result<_, PipelineError> {
        let prepared = pool.prepare(table, "the features", None, None)?;
        if prepared.seeds.len() < min_seeds {
            return Err(PipelineError::Seeds(format!(
                "{} seed customers, fewer than the minimum of {min_seeds}",
                prepared.seeds.len()
            )));
        }
        let class = truth.as_ref().and_then(|known| match &truth_classes {
            Some(classes) => {
                let classes: Vec<&str> = classes.iter().map(String::as_str).collect();
                Some(Truth::of_classes(
                    &prepared.ids(),
                    &prepared.seeds,
                    known,
                    &classes,
                ))
            }
            None => Truth::of_seeds(&prepared.ids(), &prepared.seeds, known),
        });
        let rows = prepared.evaluate(&params, &scorers, folds, class.as_ref().map(|c| &c.truth))?;
        Ok((rows, class.map(|c| c.class), prepared.notes))
    });
    let (rows, class, notes) = result.map_err(to_py)?;
    let optional = |f: fn(&EvaluationRow) -> Option<f64>| -> ArrayRef {
        Arc::new(Float64Array::from(rows.iter().map(f).collect::<Vec<_>>()))
    };
    let number = |f: fn(&EvaluationRow) -> f64| -> ArrayRef {
        Arc::new(Float64Array::from_iter_values(rows.iter().map(f)))
    };
    let batch = RecordBatch::try_from_iter([
        (
            "scorer",
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.scorer))) as ArrayRef,
        ),
        (
            "tier",
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| r.tier.as_str()),
            )),
        ),
        ("recall", number(|r| r.recall)),
        ("precision", number(|r| r.precision)),
        ("lift", number(|r| r.lift)),
        ("auc", number(|r| r.auc)),
        ("value_recall", number(|r| r.value_recall)),
        ("truth_recall", optional(|r| r.truth_recall)),
        ("truth_value_ratio", optional(|r| r.truth_value_ratio)),
    ])
    .map_err(arrow_to_py)?;
    let schema = batch.schema();
    Ok((to_pyarrow(py, vec![batch], schema)?, class, notes))
}

/// Tier sizes as written ("5%", "10000").
fn tier_sizes(sizes: &[String]) -> PyResult<Vec<TierSize>> {
    sizes
        .iter()
        .map(|s| TierSize::parse(s))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| InputError::new_err(e.to_string()))
}

/// The candidate pool of a call.
#[allow(clippy::too_many_arguments)]
fn pool_of(
    seeds: Option<Vec<String>>,
    seed_rule: Option<String>,
    scope: Option<String>,
    exclude: Vec<Vec<String>>,
    require_consent: Option<String>,
    columns: Vec<String>,
    log1p: Option<Vec<String>>,
    scaling: &str,
) -> PyResult<PoolSpec> {
    let seeds = match (seeds, seed_rule) {
        (Some(ids), None) => SeedSource::Ids(id_list("the seeds", ids)),
        (None, Some(rule)) => SeedSource::Rule(rule),
        _ => {
            return Err(InputError::new_err(
                "give exactly one of seeds or seed_rule",
            ));
        }
    };
    Ok(PoolSpec {
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
    })
}
