//! `lookalike.Model`: a trained pipeline (a model directory) that scores tables.

use std::path::PathBuf;

use arrow::pyarrow::ToPyArrow;
use lookalike_pipeline::PipelineModel;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::errors::{model_to_py, to_py};
use crate::tables::{batches_of, is_table, to_pyarrow};
use crate::threads::with_threads;

/// A trained pipeline: segments, clusters, value and audiences, as `lookalike train` writes it.
///
/// >>> model = lookalike.Model.load("models/sample")
/// >>> scores = model.score(features)          # any Arrow table: pyarrow, polars, DuckDB
/// >>> scores.to_pandas().head()
#[pyclass(module = "lookalike", frozen)]
pub struct Model {
    pub(crate) inner: PipelineModel,
}

#[pymethods]
impl Model {
    /// Reads and checks a model directory (every value and file it refers to).
    #[staticmethod]
    fn load(py: Python<'_>, path: PathBuf) -> PyResult<Model> {
        let inner = py
            .detach(|| PipelineModel::load(&path))
            .map_err(model_to_py)?;
        Ok(Model { inner })
    }

    /// Writes the model directory `path` (replaced if it holds a model; refused if it holds
    /// anything else), atomically.
    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        py.detach(|| self.inner.save(&path)).map_err(to_py)
    }

    /// The model as bytes, to send to workers.
    fn to_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.inner.to_bytes())
    }

    /// A model from `to_bytes()`, checked as `load` checks a directory.
    #[staticmethod]
    fn from_bytes(py: Python<'_>, data: Vec<u8>) -> PyResult<Model> {
        let inner = py
            .detach(|| PipelineModel::from_bytes(&data))
            .map_err(model_to_py)?;
        Ok(Model { inner })
    }

    /// Scores a feature table (any Arrow table, or a feature file's path): `customer_id` and
    /// the required columns in, one row per customer out (same order) with every stage's
    /// columns. Row-local: any split of a base into tables gives the same rows. `threads`:
    /// worker threads (default every core; 1 inside a Spark task, where each core runs a
    /// task); the rows are the same whatever the count.
    #[pyo3(signature = (features, *, threads = None))]
    fn score<'py>(
        &self,
        py: Python<'py>,
        features: &Bound<'py, PyAny>,
        threads: Option<usize>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let model = &self.inner;
        if !is_table(features)? {
            let table = crate::stages::feature_table(features)?;
            let scored = py
                .detach(|| with_threads(threads, || model.transform_table(&table)))?
                .map_err(to_py)?;
            return to_pyarrow(py, vec![scored], model.output_schema());
        }
        let batches = batches_of(features)?;
        let scored = py
            .detach(|| {
                with_threads(threads, || {
                    batches
                        .iter()
                        .map(|batch| model.transform(batch))
                        .collect::<Result<Vec<_>, _>>()
                })
            })?
            .map_err(to_py)?;
        to_pyarrow(py, scored, model.output_schema())
    }

    /// Everything the model derives for one customer of `features` (any Arrow table or a
    /// feature file's path), with the reasons, and the model files holding the customer's own
    /// data: `lookalike explain --json` as a dict. Every result is `score`'s.
    fn explain<'py>(
        &self,
        py: Python<'py>,
        features: &Bound<'py, PyAny>,
        customer_id: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let table = crate::stages::feature_table(features)?;
        let row = table.row_of(customer_id).ok_or_else(|| {
            crate::errors::InputError::new_err(format!(
                "customer {customer_id:?} is not in the features: the model derives nothing for them"
            ))
        })?;
        let model = &self.inner;
        let explanation = py.detach(|| model.explain(&table, row)).map_err(to_py)?;
        let text = serde_json::to_string(&explanation)
            .map_err(|e| crate::errors::LookalikeError::new_err(e.to_string()))?;
        py.import("json")?.call_method1("loads", (text,))
    }

    /// The model without the customers `ids` (the right to erasure): every audience is refitted
    /// on `features` — the features the model was trained on — without them, from the seeds it
    /// had minus them; with `refit_all`, every stage is. The erasure is the last entry of the
    /// new model's `manifest["erasures"]` (counts, stages; never the ids). With nothing to
    /// erase, a warning says why and the model is returned unchanged.
    #[pyo3(signature = (features, ids, *, refit_all = false))]
    fn forget(
        &self,
        py: Python<'_>,
        features: &Bound<'_, PyAny>,
        ids: Vec<String>,
        refit_all: bool,
    ) -> PyResult<Model> {
        let table = crate::stages::feature_table(features)?;
        let model = &self.inner;
        let erasure = py
            .detach(|| {
                lookalike_pipeline::forget(
                    model,
                    &table,
                    &ids,
                    refit_all,
                    &lookalike_core::NoProgress,
                )
            })
            .map_err(to_py)?;
        match erasure {
            lookalike_pipeline::Erasure::Erased { model, .. } => Ok(Model { inner: *model }),
            lookalike_pipeline::Erasure::NothingToErase(why) => {
                let warning = py.get_type::<pyo3::exceptions::PyUserWarning>();
                PyErr::warn(
                    py,
                    &warning,
                    &std::ffi::CString::new(why).unwrap_or_default(),
                    1,
                )?;
                let inner =
                    PipelineModel::from_bytes(&self.inner.to_bytes()).map_err(model_to_py)?;
                Ok(Model { inner })
            }
        }
    }

    /// The columns `score` reads besides `customer_id`.
    #[getter]
    fn required_columns(&self) -> Vec<String> {
        self.inner
            .required_columns()
            .into_iter()
            .map(String::from)
            .collect()
    }

    /// The schema of `score`'s output (a `pyarrow.Schema`).
    #[getter]
    fn output_schema<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.inner.output_schema().as_ref().to_pyarrow(py)
    }

    /// The manifest (`manifest.json`) as a dict: versions, as-of date, inputs, every setting,
    /// each stage's metrics.
    #[getter]
    fn manifest<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let text = serde_json::to_string(&self.inner.documents().manifest)
            .map_err(|e| crate::errors::LookalikeError::new_err(e.to_string()))?;
        py.import("json")?.call_method1("loads", (text,))
    }

    /// The audiences' names.
    #[getter]
    fn audiences(&self) -> Vec<String> {
        self.inner
            .audiences()
            .iter()
            .map(|a| a.name().to_string())
            .collect()
    }

    fn __repr__(&self) -> String {
        let manifest = self.inner.manifest();
        format!(
            "Model(as_of={}, customers={}, audiences={:?})",
            manifest.as_of,
            manifest.customers,
            self.audiences()
        )
    }
}
