//! The library's errors as Python exceptions: `LookalikeError` and, for what a user can fix in
//! their data or files, `InputError` (a log, a feature table, a pipeline file, a seed list: the
//! message names the file, row, column and value as the CLI's does) and `ModelError` (a model
//! directory or image that cannot be used).

use lookalike_pipeline::PipelineError;
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

create_exception!(
    lookalike,
    LookalikeError,
    PyException,
    "Every error lookalike raises."
);
create_exception!(
    lookalike,
    InputError,
    LookalikeError,
    "Bad input: a log, feature table, pipeline file or id list that cannot be used as it is."
);
create_exception!(
    lookalike,
    ModelError,
    LookalikeError,
    "A model directory or model image that cannot be loaded or does not fit the data."
);

/// Adds the exception classes to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("LookalikeError", py.get_type::<LookalikeError>())?;
    m.add("InputError", py.get_type::<InputError>())?;
    m.add("ModelError", py.get_type::<ModelError>())?;
    Ok(())
}

/// The Python exception of a library error.
pub fn to_py(error: PipelineError) -> PyErr {
    let message = error.to_string();
    match error {
        PipelineError::NotAModel(_)
        | PipelineError::FormatVersion { .. }
        | PipelineError::BadValue { .. }
        | PipelineError::PathOutside { .. }
        | PipelineError::TimeUnitMismatch { .. } => ModelError::new_err(message),
        PipelineError::Io { .. }
        | PipelineError::Document { .. }
        | PipelineError::MissingColumns { .. }
        | PipelineError::NoBtydColumn(_)
        | PipelineError::Customer { .. }
        | PipelineError::Rule(_)
        | PipelineError::Seeds(_)
        | PipelineError::Erasure(_)
        | PipelineError::Pseudonyms(_)
        | PipelineError::IdList { .. }
        | PipelineError::Features(_)
        | PipelineError::Segments(_) => InputError::new_err(message),
        _ => LookalikeError::new_err(message),
    }
}

/// A model directory or image that cannot be read, whatever the cause.
pub fn model_to_py(error: PipelineError) -> PyErr {
    match error {
        PipelineError::Io { .. } | PipelineError::Document { .. } => {
            ModelError::new_err(error.to_string())
        }
        other => to_py(other),
    }
}

/// A choice by its name, as the pipeline file writes it ("weeks", "skip", "kmeans++").
pub fn choice<T: serde::de::DeserializeOwned>(field: &str, name: &str) -> PyResult<T> {
    serde_json::from_value(serde_json::Value::String(name.to_string()))
        .map_err(|e| InputError::new_err(format!("{field} = {name:?}: {e}")))
}

/// An Arrow error (a table that cannot be read or built) as bad input.
pub fn arrow_to_py(error: arrow::error::ArrowError) -> PyErr {
    InputError::new_err(error.to_string())
}
