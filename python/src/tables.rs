//! Tables across the boundary: anything with the Arrow PyCapsule interface in (pyarrow Table and
//! RecordBatch, polars DataFrame, DuckDB relations, pandas 2.2+), `pyarrow.Table` out. The
//! buffers are shared, not copied: the C stream hands over the producer's memory.

use arrow::array::{Array, ArrayData, Float64Array, RecordBatch, RecordBatchReader, make_array};
use arrow::datatypes::SchemaRef;
use arrow::ffi_stream::RecordBatchStreamReader;
use arrow::pyarrow::{FromPyArrow, IntoPyArrow, Table};
use pyo3::prelude::*;

use crate::errors::{InputError, arrow_to_py};

/// Whether an object is an Arrow table (a stream, a batch, or a list of them) rather than, say,
/// a path.
pub fn is_table(object: &Bound<'_, PyAny>) -> PyResult<bool> {
    Ok(object.hasattr("__arrow_c_stream__")?
        || object.hasattr("__arrow_c_array__")?
        || object.is_instance_of::<pyo3::types::PyList>())
}

/// The record batches of a table-like object: a stream (`__arrow_c_stream__`), a single batch
/// (`__arrow_c_array__`), or a list of either.
pub fn batches_of(table: &Bound<'_, PyAny>) -> PyResult<Vec<RecordBatch>> {
    if let Ok(list) = table.cast::<pyo3::types::PyList>() {
        let mut batches = Vec::new();
        for item in list.iter() {
            batches.extend(batches_of(&item)?);
        }
        return Ok(batches);
    }
    if table.hasattr("__arrow_c_stream__")? {
        let reader = RecordBatchStreamReader::from_pyarrow_bound(table)?;
        let schema = reader.schema();
        let mut batches = reader.collect::<Result<Vec<_>, _>>().map_err(arrow_to_py)?;
        // A table without rows may stream no batch at all; its columns still matter (an empty
        // part of a base, or an error that names the columns found).
        if batches.is_empty() {
            batches.push(RecordBatch::new_empty(schema));
        }
        return Ok(batches);
    }
    if table.hasattr("__arrow_c_array__")? {
        return Ok(vec![RecordBatch::from_pyarrow_bound(table)?]);
    }
    Err(InputError::new_err(format!(
        "expected a table with the Arrow PyCapsule interface (pyarrow, polars, DuckDB, pandas 2.2+), got {}",
        table.get_type().name()?
    )))
}

/// `batches` as one `pyarrow.Table` (no copy: pyarrow takes the buffers).
pub fn to_pyarrow<'py>(
    py: Python<'py>,
    batches: Vec<RecordBatch>,
    schema: SchemaRef,
) -> PyResult<Bound<'py, PyAny>> {
    Table::try_new(batches, schema)
        .map_err(arrow_to_py)?
        .into_pyarrow(py)
}

/// A float64 column passed as an Arrow array (a NumPy array via `pyarrow.array`, no copy);
/// nulls are refused.
pub fn float_column(object: &Bound<'_, PyAny>, name: &str) -> PyResult<Float64Array> {
    let array = make_array(ArrayData::from_pyarrow_bound(object)?);
    let values = array
        .as_any()
        .downcast_ref::<Float64Array>()
        .ok_or_else(|| InputError::new_err(format!("{name}: expected float64 values")))?;
    if values.null_count() > 0 {
        return Err(InputError::new_err(format!("{name}: a value is missing")));
    }
    Ok(values.clone())
}
