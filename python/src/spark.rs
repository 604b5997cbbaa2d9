//! The native side of `lookalike.spark`: what a Spark task needs besides `features` and
//! `Model.score`. A base split over partitions (each holding whole customers) gets the columns
//! one extraction over the whole base would: every partition reports its label totals and
//! attribute summaries, the driver merges them and fixes the vocabulary, and every partition
//! is extracted with it.

use std::collections::BTreeMap;

use lookalike_cluster::{ClusterConfig, KMeansInParts, PartAnswer, PartTask};
use lookalike_core::{InputKind, NoProgress, TimeUnit};
use lookalike_features::{
    AttributeSummary, FeatureInputs, FeatureParams, LabelTotals, LogReading, MissingCustomer,
    OnBadRow, encodings, merge_attribute_summaries, parse_date,
};
use lookalike_pipeline::{
    FeatureSpec, PipelineError, PipelineSpec, TrainingCounts, TrainingInputs, fit_counted,
};
use lookalike_rfm::{ReportSums, TrainedScores};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;

use crate::errors::{InputError, choice, to_py};
use crate::model::Model;
use crate::spark_audiences::AudienceFit;
use crate::stages::feature_table;
use crate::train::{column_mapping, log_input, spec_of};

/// The extraction settings of a first-pass call: how rows are read and judged, the as-of date
/// and the levels kept (the time unit does not matter before the features are computed).
fn task_params(
    as_of: Option<&str>,
    top_levels: usize,
    on_error: &str,
    missing_customer: MissingCustomer,
    date_format: Option<String>,
) -> PyResult<FeatureParams> {
    let reading = LogReading {
        missing_customer,
        date_format,
        attributes: Vec::new(),
    };
    let settings = FeatureSpec {
        as_of: as_of.map(str::to_string),
        time_unit: TimeUnit::Weeks,
        top_levels,
    };
    settings
        .params(choice::<OnBadRow>("on_error", on_error)?, &reading)
        .map_err(to_py)
}

/// The label totals (JSON) of one part's transactions: purchase value per category and orders
/// per channel before `as_of`, to be merged over every part by `vocabulary`.
#[pyfunction]
#[pyo3(signature = (
    transactions, *, as_of, holdout_end=None, columns=None, on_error="fail",
    missing_customer="fail", date_format=None, threads=None
))]
#[allow(clippy::too_many_arguments)]
pub fn label_totals(
    py: Python<'_>,
    transactions: &Bound<'_, PyAny>,
    as_of: &str,
    holdout_end: Option<String>,
    columns: Option<BTreeMap<String, String>>,
    on_error: &str,
    missing_customer: &str,
    date_format: Option<String>,
    threads: Option<usize>,
) -> PyResult<String> {
    let missing_customer = choice::<MissingCustomer>("missing_customer", missing_customer)?;
    let mut params = task_params(Some(as_of), 8, on_error, missing_customer, date_format)?;
    if let Some(end) = holdout_end {
        let end = parse_date(&end).map_err(|e| InputError::new_err(format!("holdout_end: {e}")))?;
        params = params.holdout_end(end);
    }
    if let Some(threads) = threads {
        params = params.threads(threads);
    }
    let inputs = FeatureInputs {
        transactions: log_input(InputKind::Transactions, transactions, None, None)?,
        events: None,
        customers: None,
        mapping: column_mapping(columns)?,
    };
    let totals = py
        .detach(|| {
            lookalike_features::label_totals(&inputs, &params, &NoProgress)
                .map_err(PipelineError::from)
        })
        .map_err(to_py)?;
    to_text(&totals)
}

/// The attribute summaries (JSON) of one part's customers table: what the encoding of each
/// attribute column needs, to be merged over every part by `vocabulary`.
#[pyfunction]
#[pyo3(signature = (customers, *, top_levels=8, columns=None, on_error="fail", date_format=None))]
pub fn attribute_summaries(
    py: Python<'_>,
    customers: &Bound<'_, PyAny>,
    top_levels: usize,
    columns: Option<BTreeMap<String, String>>,
    on_error: &str,
    date_format: Option<String>,
) -> PyResult<String> {
    let input = log_input(InputKind::Customers, customers, None, None)?;
    let params = task_params(
        None,
        top_levels,
        on_error,
        MissingCustomer::Fail,
        date_format,
    )?;
    let mapping = column_mapping(columns)?;
    let summaries = py
        .detach(|| {
            lookalike_features::attribute_summaries(&input, &mapping, &params)
                .map_err(PipelineError::from)
        })
        .map_err(to_py)?;
    to_text(&summaries)
}

/// The vocabulary (JSON) of a whole base: the parts' label totals (JSON, from `label_totals`)
/// merged and the `top_levels` heaviest labels chosen, and the parts' attribute summaries
/// (JSON, from `attribute_summaries`; none without a customers table) merged into the whole
/// table's attribute encoding.
#[pyfunction]
#[pyo3(signature = (totals, *, top_levels=8, attributes=Vec::new()))]
pub fn vocabulary(
    totals: Vec<String>,
    top_levels: usize,
    attributes: Vec<String>,
) -> PyResult<String> {
    let mut merged = LabelTotals::default();
    for part in totals {
        merged.merge(parsed("label totals", &part)?);
    }
    let summaries = merged_parts(
        "attribute summaries",
        &attributes,
        |total: &mut Vec<(String, AttributeSummary)>, part| {
            merge_attribute_summaries(total, part).map_err(|e| to_py(PipelineError::from(e)))
        },
    )?;
    let encoding = summaries.map_or_else(Vec::new, |s| encodings(&s, top_levels));
    to_text(&merged.vocabulary(top_levels, encoding))
}

/// A JSON document of the driver's, read back on a worker.
pub(crate) fn parsed<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> PyResult<T> {
    serde_json::from_str(text).map_err(|e| InputError::new_err(format!("{what}: {e}")))
}

pub(crate) fn to_text(value: &impl serde::Serialize) -> PyResult<String> {
    serde_json::to_string(value).map_err(|e| InputError::new_err(e.to_string()))
}

/// What the Spark tasks of a training need from the driver: the pipeline spec of `config` (a
/// pipeline file's path or a dict of its sections) as JSON, checked to have only stages that
/// train from counts, and the text of its segment rules file.
#[pyfunction]
pub fn training_plan(config: &Bound<'_, PyAny>) -> PyResult<(String, Option<String>)> {
    let spec = spec_of(config)?;
    lookalike_pipeline::check_counted_stages(&spec).map_err(to_py)?;
    let rules = match spec.segments.as_ref().and_then(|s| s.rules.as_ref()) {
        Some(path) => Some(std::fs::read_to_string(path).map_err(|source| {
            to_py(PipelineError::Io {
                path: path.clone(),
                source,
            })
        })?),
        None => None,
    };
    Ok((to_text(&spec)?, rules))
}

/// The training counts (JSON) of one part's features (whole customers).
#[pyfunction]
pub fn training_counts(
    py: Python<'_>,
    spec: &str,
    features: &Bound<'_, PyAny>,
) -> PyResult<String> {
    let spec: PipelineSpec = parsed("the pipeline spec", spec)?;
    let table = feature_table(features)?;
    let counts = py
        .detach(|| TrainingCounts::of(&spec, &table))
        .map_err(to_py)?;
    to_text(&counts)
}

/// The parts' counts (compressed JSON) merged, in the order given.
fn merged_counts(counts: &[PyBackedBytes]) -> PyResult<TrainingCounts> {
    merged_packed_parts(
        "training counts",
        counts,
        |total: &mut TrainingCounts, part| total.merge(part).map_err(to_py),
    )?
    .ok_or_else(|| InputError::new_err("no training counts: the features have no partition"))
}

/// The parts' JSON documents (`what`, for messages) parsed and folded by `merge` in the order
/// given; none without parts.
fn merged_parts<T: serde::de::DeserializeOwned>(
    what: &str,
    parts: &[String],
    merge: impl Fn(&mut T, &T) -> PyResult<()>,
) -> PyResult<Option<T>> {
    folded(parts.iter().map(|part| parsed(what, part)), merge)
}

/// [`merged_parts`] of parts as `lookalike.spark` collects them from its tasks: each JSON
/// document compressed (zstd), so that the driver holds a fraction of their text (the training
/// counts of 100M customers are gigabytes of JSON) and unpacks one part at a time.
pub(crate) fn merged_packed_parts<T: serde::de::DeserializeOwned>(
    what: &str,
    parts: &[PyBackedBytes],
    merge: impl Fn(&mut T, &T) -> PyResult<()>,
) -> PyResult<Option<T>> {
    folded(parts.iter().map(|part| unpacked(what, part)), merge)
}

/// The parts folded by `merge` in the order given; none without parts.
fn folded<T>(
    parts: impl Iterator<Item = PyResult<T>>,
    merge: impl Fn(&mut T, &T) -> PyResult<()>,
) -> PyResult<Option<T>> {
    let mut total: Option<T> = None;
    for part in parts {
        let part = part?;
        match &mut total {
            Some(total) => merge(total, &part)?,
            None => total = Some(part),
        }
    }
    Ok(total)
}

/// A part's compressed JSON document, read.
fn unpacked<T: serde::de::DeserializeOwned>(what: &str, part: &[u8]) -> PyResult<T> {
    let text = zstd::stream::decode_all(part)
        .map_err(|e| InputError::new_err(format!("{what}: not a compressed part: {e}")))?;
    serde_json::from_slice(&text).map_err(|e| InputError::new_err(format!("{what}: {e}")))
}

/// The segment edges and value-tier thresholds (JSON) learned from the parts' merged counts;
/// none without `[segments]`.
#[pyfunction]
#[pyo3(signature = (spec, rules, counts))]
pub fn trained_scores(
    spec: &str,
    rules: Option<&str>,
    counts: Vec<PyBackedBytes>,
) -> PyResult<Option<String>> {
    let spec: PipelineSpec = parsed("the pipeline spec", spec)?;
    let trained = merged_counts(&counts)?
        .trained_scores(&spec, rules)
        .map_err(to_py)?;
    trained.as_ref().map(to_text).transpose()
}

/// The segment report's sums (JSON) of one part's features, segmented with `trained`.
#[pyfunction]
#[pyo3(signature = (spec, rules, trained, features))]
pub fn segment_sums(
    py: Python<'_>,
    spec: &str,
    rules: Option<&str>,
    trained: &str,
    features: &Bound<'_, PyAny>,
) -> PyResult<String> {
    let spec: PipelineSpec = parsed("the pipeline spec", spec)?;
    let trained: TrainedScores = parsed("the trained scores", trained)?;
    let table = feature_table(features)?;
    let sums = py
        .detach(|| lookalike_pipeline::segment_sums(&spec, rules, &trained, &table))
        .map_err(to_py)?;
    to_text(&sums)
}

/// The `[clusters]` section of a spec (JSON).
fn clusters_of(spec: &str) -> PyResult<ClusterConfig> {
    let spec: PipelineSpec = parsed("the pipeline spec", spec)?;
    spec.clusters
        .ok_or_else(|| InputError::new_err("the pipeline spec has no [clusters]"))
}

fn cluster_error(error: lookalike_cluster::ClusterError) -> PyErr {
    to_py(PipelineError::from(error))
}

/// The driver of `[clusters]` over a DataFrame's partitions: it asks for a pass
/// (`task`), takes the partitions' answers (`absorb`), until no pass is left; then
/// `train_counted` takes the fit.
#[pyclass(module = "lookalike._lookalike")]
pub struct ClusterFit {
    fit: Option<KMeansInParts>,
    /// The clustered columns: all the Lloyd and spread passes read.
    #[pyo3(get)]
    columns: Vec<String>,
}

#[pymethods]
impl ClusterFit {
    #[new]
    fn new(spec: &str) -> PyResult<ClusterFit> {
        let config = clusters_of(spec)?;
        Ok(ClusterFit {
            fit: Some(KMeansInParts::new(&config).map_err(cluster_error)?),
            columns: config.columns(),
        })
    }

    /// The next pass every partition must answer (`cluster_answer`), as (whether it reads
    /// only the clustered columns, the task as JSON); None when done.
    fn task(&self) -> PyResult<Option<(bool, String)>> {
        let fit = self
            .fit
            .as_ref()
            .ok_or_else(|| InputError::new_err("the clusters fit was already taken"))?;
        match fit.task() {
            Some(task) => {
                let narrow = matches!(task, PartTask::Assign { .. } | PartTask::Spread { .. });
                Ok(Some((narrow, to_text(&task)?)))
            }
            None => Ok(None),
        }
    }

    /// The partitions' answers to the last task (compressed JSON), merged in the order given.
    fn absorb(&mut self, py: Python<'_>, answers: Vec<PyBackedBytes>) -> PyResult<()> {
        let merged = merged_packed_parts(
            "clusters answers",
            &answers,
            |total: &mut PartAnswer, part| total.merge(part).map_err(cluster_error),
        )?
        .ok_or_else(|| InputError::new_err("no clusters answers: the features have no rows"))?;
        let fit = self
            .fit
            .as_mut()
            .ok_or_else(|| InputError::new_err("the clusters fit was already taken"))?;
        py.detach(|| fit.absorb(merged)).map_err(cluster_error)
    }
}

/// One partition's answer (JSON) to a clusters task.
#[pyfunction]
pub fn cluster_answer(
    py: Python<'_>,
    spec: &str,
    task: &str,
    features: &Bound<'_, PyAny>,
) -> PyResult<String> {
    let config = clusters_of(spec)?;
    let task: PartTask = parsed("the clusters task", task)?;
    let table = feature_table(features)?;
    let answer = py
        .detach(|| task.answer(&config, &table))
        .map_err(cluster_error)?;
    to_text(&answer)
}

/// The model fitted from the parts' counts and segment sums (JSON, each merged in the order
/// given) and, with `[clusters]`, the finished clusters fit.
#[pyfunction]
#[pyo3(signature = (spec, rules, counts, sums, clusters=None, audiences=None, *, as_of=None, features_name="the Spark features"))]
#[allow(clippy::too_many_arguments)]
pub fn train_counted(
    py: Python<'_>,
    spec: &str,
    rules: Option<String>,
    counts: Vec<PyBackedBytes>,
    sums: Vec<PyBackedBytes>,
    clusters: Option<PyRefMut<'_, ClusterFit>>,
    audiences: Option<PyRefMut<'_, AudienceFit>>,
    as_of: Option<String>,
    features_name: &str,
) -> PyResult<Model> {
    let spec: PipelineSpec = parsed("the pipeline spec", spec)?;
    let merged = merged_counts(&counts)?;
    let report = merged_packed_parts("segment sums", &sums, |total: &mut ReportSums, part| {
        total.merge(part).map_err(|e| to_py(PipelineError::from(e)))
    })?;
    let inputs = TrainingInputs {
        segment_rules: rules,
        as_of: as_of
            .or_else(|| spec.features.as_of.clone())
            .unwrap_or_default(),
        features_name: features_name.to_string(),
        ..TrainingInputs::default()
    };
    let clusters = match clusters {
        Some(mut fit) => Some(
            fit.fit
                .take()
                .ok_or_else(|| InputError::new_err("the clusters fit was already taken"))?
                .finish()
                .map_err(cluster_error)?,
        ),
        None => None,
    };
    let audiences = match audiences {
        Some(mut fit) => Some(fit.take()?),
        None => None,
    };
    let inner = py
        .detach(|| {
            fit_counted(
                &spec,
                &merged,
                report.as_ref(),
                clusters.as_ref(),
                audiences.as_ref(),
                &inputs,
            )
        })
        .map_err(to_py)?;
    Ok(Model { inner })
}
