//! The native side of `lookalike.spark.train`'s audiences (those with `candidate_sample`): a
//! survey pass over the partitions, the scorers fitted on the driver, then every candidate's
//! strength key for Spark to sort, and the tier cuts read off that sort
//! (`lookalike_pipeline::AudienceSurvey`).

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{Field, Schema};
use lookalike_pipeline::{
    AudienceSurvey, AudiencesInParts, IdList, PipelineModel, PipelineSpec, TrainingInputs,
};

/// The column `audience_survey` and `audience_strengths` read each customer's `clv_rank` in
/// the whole base from, when a seed rule names it.
pub const CLV_RANK_COLUMN: &str = lookalike_pipeline::CLV_RANK_COLUMN;
/// The column of each customer's CLV beside its rank (`lookalike_pipeline::CLV_COLUMN`).
pub const CLV_COLUMN: &str = lookalike_pipeline::CLV_COLUMN;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;

use crate::errors::{InputError, to_py};
use crate::spark::{merged_packed_parts, parsed, to_text};
use crate::stages::feature_table;
use crate::tables::to_pyarrow;

/// The training inputs a task needs: the seed lists (JSON, as `AudienceFit.seed_lists` gives
/// them).
fn task_inputs(seed_lists: &str) -> PyResult<TrainingInputs> {
    let seed_lists: BTreeMap<String, IdList> = parsed("the seed lists", seed_lists)?;
    Ok(TrainingInputs {
        seed_lists,
        ..TrainingInputs::default()
    })
}

/// The spec of a pipeline's stages before its audiences that seed rules read (segments and
/// value): the spec (JSON) without `[clusters]` and `[[audience]]`.
#[pyfunction]
pub fn earlier_stages(spec: &str) -> PyResult<String> {
    let spec: PipelineSpec = parsed("the pipeline spec", spec)?;
    to_text(&PipelineSpec {
        clusters: None,
        audiences: Vec::new(),
        ..spec
    })
}

/// The driver of a spec's audiences over a DataFrame's partitions: the surveys merged and the
/// scorers fitted (`absorb_surveys`), then the tier cuts set from Spark's sort of every
/// candidate's strength (`set_cuts` at `cut_ranks`); `train_counted` takes the result.
#[pyclass(module = "lookalike._lookalike")]
pub struct AudienceFit {
    spec: PipelineSpec,
    inputs: TrainingInputs,
    fitted: Option<AudiencesInParts>,
    /// The seed lists (JSON) every task needs, read once on the driver.
    #[pyo3(get)]
    seed_lists: String,
}

impl AudienceFit {
    fn fitted_mut(&mut self) -> PyResult<&mut AudiencesInParts> {
        self.fitted
            .as_mut()
            .ok_or_else(|| InputError::new_err("the audiences are not fitted yet (absorb_surveys)"))
    }

    /// The audiences fitted with their cuts, for `train_counted`.
    pub(crate) fn take(&mut self) -> PyResult<AudiencesInParts> {
        self.fitted
            .take()
            .ok_or_else(|| InputError::new_err("the audiences are not fitted, or were taken"))
    }
}

#[pymethods]
impl AudienceFit {
    /// For the spec (JSON); reads its seed lists.
    #[new]
    fn new(spec: &str) -> PyResult<AudienceFit> {
        let spec: PipelineSpec = parsed("the pipeline spec", spec)?;
        let seed_lists = TrainingInputs::seed_lists_of(&spec).map_err(to_py)?;
        let text = to_text(&seed_lists)?;
        Ok(AudienceFit {
            spec,
            inputs: TrainingInputs {
                seed_lists,
                ..TrainingInputs::default()
            },
            fitted: None,
            seed_lists: text,
        })
    }

    /// Merges the partitions' surveys (compressed JSON, in the order given) and fits every
    /// scorer.
    fn absorb_surveys(&mut self, py: Python<'_>, surveys: Vec<PyBackedBytes>) -> PyResult<()> {
        let spec = &self.spec;
        let merged = merged_packed_parts(
            "an audience survey",
            &surveys,
            |total: &mut AudienceSurvey, part| total.merge(part, spec).map_err(to_py),
        )?
        .ok_or_else(|| InputError::new_err("no audience surveys: the features have no rows"))?;
        let inputs = &self.inputs;
        self.fitted = Some(py.detach(|| merged.fit(spec, inputs)).map_err(to_py)?);
        Ok(())
    }

    /// The fitted scorers (JSON), for `audience_strengths`.
    fn fitted(&mut self) -> PyResult<String> {
        to_text(self.fitted_mut()?)
    }

    /// Per audience, the ranks (1 = best) of each tier's last customer.
    fn cut_ranks(&mut self) -> PyResult<Vec<Vec<usize>>> {
        Ok(self.fitted_mut()?.cut_ranks())
    }

    /// Sets audience `audience`'s cuts: the (strength key, customer id) at each of its
    /// `cut_ranks`, in order.
    fn set_cuts(&mut self, audience: usize, cuts: Vec<(i64, String)>) -> PyResult<()> {
        self.fitted_mut()?.set_cuts(audience, &cuts).map_err(to_py)
    }
}

/// One partition's audience survey (JSON); `interim` is the bytes of the model of the
/// earlier stages (`earlier_stages`), whose segments and CLV seed rules read.
#[pyfunction]
pub fn audience_survey(
    py: Python<'_>,
    spec: &str,
    seed_lists: &str,
    interim: &[u8],
    features: &Bound<'_, PyAny>,
) -> PyResult<String> {
    let spec: PipelineSpec = parsed("the pipeline spec", spec)?;
    let inputs = task_inputs(seed_lists)?;
    let table = feature_table(features)?;
    let survey = py
        .detach(|| {
            let interim = PipelineModel::from_bytes(interim)?;
            AudienceSurvey::of(&spec, &inputs, &interim, &table)
        })
        .map_err(to_py)?;
    to_text(&survey)
}

/// Every candidate of one partition, for every audience: a `pyarrow.Table` of `audience`
/// (its index), `customer_id` and `strength_key` (an integer that sorts as the ranking:
/// the tiers take the highest keys, equal keys by id ascending).
#[pyfunction]
pub fn audience_strengths<'py>(
    py: Python<'py>,
    spec: &str,
    seed_lists: &str,
    fitted: &str,
    interim: &[u8],
    features: &Bound<'_, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let spec: PipelineSpec = parsed("the pipeline spec", spec)?;
    let inputs = task_inputs(seed_lists)?;
    let fitted: AudiencesInParts = parsed("the fitted audiences", fitted)?;
    let table = feature_table(features)?;
    let ranked = py
        .detach(|| {
            let interim = PipelineModel::from_bytes(interim)?;
            fitted.strengths(&spec, &inputs, &interim, &table)
        })
        .map_err(to_py)?;
    let audiences = Int64Array::from_iter_values(ranked.iter().map(|r| r.0 as i64));
    let ids = StringArray::from_iter_values(ranked.iter().map(|r| r.1.as_str()));
    let keys = Int64Array::from_iter_values(ranked.iter().map(|r| r.2));
    arrow_table(
        py,
        vec![
            ("audience", Arc::new(audiences)),
            ("customer_id", Arc::new(ids)),
            ("strength_key", Arc::new(keys)),
        ],
    )
}

/// A `pyarrow.Table` of `columns` (name, array), none of them null.
fn arrow_table<'py>(
    py: Python<'py>,
    columns: Vec<(&str, ArrayRef)>,
) -> PyResult<Bound<'py, PyAny>> {
    let fields: Vec<Field> = columns
        .iter()
        .map(|(name, array)| Field::new(*name, array.data_type().clone(), false))
        .collect();
    let schema = Arc::new(Schema::new(fields));
    let arrays = columns.into_iter().map(|(_, array)| array).collect();
    let batch = RecordBatch::try_new(schema.clone(), arrays)
        .map_err(|e| InputError::new_err(e.to_string()))?;
    to_pyarrow(py, vec![batch], schema)
}

/// Whether a seed rule of the spec (JSON) names `clv_rank`: then the features need the
/// column `CLV_RANK_COLUMN`, each customer's rank in the whole base by `audience_clv`.
#[pyfunction]
pub fn ranks_by_clv(spec: &str) -> PyResult<bool> {
    let spec: PipelineSpec = parsed("the pipeline spec", spec)?;
    lookalike_pipeline::ranks_by_clv(&spec).map_err(to_py)
}

/// Every customer of one partition with its CLV as a key that sorts as the CLV: a
/// `pyarrow.Table` of `customer_id`, `clv_key` and `clv` (the value the key stands for, which
/// the later passes read from `CLV_COLUMN` instead of predicting it again). A customer's `clv_rank` is its position in
/// the order of the keys (highest first, equal keys by id) over the customers of the base.
#[pyfunction]
pub fn audience_clv<'py>(
    py: Python<'py>,
    interim: &[u8],
    features: &Bound<'_, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let table = feature_table(features)?;
    let keyed = py
        .detach(|| {
            let interim = PipelineModel::from_bytes(interim)?;
            lookalike_pipeline::clv_keys(&interim, &table)
        })
        .map_err(to_py)?;
    let ids = StringArray::from_iter_values(keyed.iter().map(|k| k.0.as_str()));
    let keys = Int64Array::from_iter_values(keyed.iter().map(|k| k.1));
    // The key is the CLV's exact image: the value comes back bit for bit.
    let clv = Float64Array::from_iter_values(
        keyed
            .iter()
            .map(|k| lookalike_audience::strength_of_key(k.1)),
    );
    arrow_table(
        py,
        vec![
            ("customer_id", Arc::new(ids)),
            ("clv_key", Arc::new(keys)),
            ("clv", Arc::new(clv)),
        ],
    )
}
