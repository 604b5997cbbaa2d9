//! `lookalike.Model`: a trained pipeline (a model directory) that scores tables.

use std::path::PathBuf;

use arrow::pyarrow::ToPyArrow;
use lookalike_pipeline::PipelineModel;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::errors::{model_to_py, to_py};
use crate::tables::{batches_of, is_table, to_pyarrow};

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
    /// columns. Row-local: any split of a base into tables gives the same rows.
    fn score<'py>(
        &self,
        py: Python<'py>,
        features: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let model = &self.inner;
        if !is_table(features)? {
            let table = crate::stages::feature_table(features)?;
            let scored = py.detach(|| model.transform_table(&table)).map_err(to_py)?;
            return to_pyarrow(py, vec![scored], model.output_schema());
        }
        let batches = batches_of(features)?;
        let scored = py
            .detach(|| {
                batches
                    .iter()
                    .map(|batch| model.transform(batch))
                    .collect::<Result<Vec<_>, _>>()
            })
            .map_err(to_py)?;
        to_pyarrow(py, scored, model.output_schema())
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
