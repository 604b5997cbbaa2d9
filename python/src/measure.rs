//! Test and track from Python: the campaign's lift per group, the power of a test, segment
//! migration — `lookalike-measure`'s functions, returned as JSON documents that the Python
//! wrappers (`lookalike.measure`) turn into dicts.

use std::collections::BTreeMap;
use std::path::PathBuf;

use lookalike_features::{FeatureParams, LogReading, MissingCustomer, day_number, parse_date};
use lookalike_measure::{Member, Migration, measure_campaign, minimum_detectable_lift};
use pyo3::prelude::*;

use crate::errors::{InputError, choice, to_py};
use lookalike_pipeline::log_file;

fn measure_error(error: lookalike_measure::MeasureError) -> PyErr {
    InputError::new_err(error.to_string())
}

fn day(field: &str, text: &str) -> PyResult<i32> {
    parse_date(text)
        .map(day_number)
        .map_err(|e| InputError::new_err(format!("{field}: {e}")))
}

/// The lift of a campaign per group against its control group, from the outcome period
/// [`start`, `end`) of a transaction log (a path). `members` are (customer id, group, is
/// control) triples. Returns the result as JSON.
#[pyfunction]
#[pyo3(signature = (
    members, transactions, *, start, end=None, pre_start=None, level=0.95, columns=None,
    missing_customer="fail", date_format=None
))]
#[allow(clippy::too_many_arguments)]
pub fn measure_json(
    py: Python<'_>,
    members: Vec<(String, String, bool)>,
    transactions: PathBuf,
    start: &str,
    end: Option<&str>,
    pre_start: Option<&str>,
    level: f64,
    columns: Option<BTreeMap<String, String>>,
    missing_customer: &str,
    date_format: Option<String>,
) -> PyResult<String> {
    let from = day("start", start)?;
    let to = end.map(|e| day("end", e)).transpose()?.unwrap_or(i32::MAX);
    let pre_from = pre_start.map(|p| day("pre_start", p)).transpose()?;
    let mapping = crate::train::column_mapping(columns)?;
    let input = log_file(
        lookalike_core::InputKind::Transactions,
        &transactions,
        None,
        None,
    )
    .map_err(to_py)?;
    let reading = LogReading {
        missing_customer: choice::<MissingCustomer>("missing_customer", missing_customer)?,
        date_format,
        attributes: Vec::new(),
    };
    let params = reading.apply(FeatureParams::new());
    let result = py.detach(|| -> Result<_, String> {
        let read = lookalike_features::outcomes(
            &input,
            &mapping,
            &params,
            (from, to),
            pre_from,
            &lookalike_core::NoProgress,
        )
        .map_err(|e| e.to_string())?;
        let members: Vec<Member<'_>> = members
            .iter()
            .map(|(id, group, control)| Member {
                id,
                group,
                control: *control,
            })
            .collect();
        measure_campaign(&members, &read.customers, level, pre_from.is_some())
            .map_err(|e| e.to_string())
    });
    let result = result.map_err(InputError::new_err)?;
    serde_json::to_string(&result).map_err(|e| InputError::new_err(e.to_string()))
}

/// The minimum detectable relative lift of a two-proportion test (None when none is).
#[pyfunction]
#[pyo3(signature = (treated, control, baseline, *, alpha=0.05, power=0.8))]
pub fn minimum_detectable_lift_of(
    treated: u64,
    control: u64,
    baseline: f64,
    alpha: f64,
    power: f64,
) -> PyResult<Option<f64>> {
    minimum_detectable_lift(treated, control, baseline, alpha, power).map_err(measure_error)
}

/// The transition matrix between two runs' segments, as JSON.
#[pyfunction]
pub fn migration_json(
    before: Vec<(String, String)>,
    after: Vec<(String, String)>,
) -> PyResult<String> {
    let migration = Migration::between(
        before.iter().map(|(a, b)| (a.as_str(), b.as_str())),
        after.iter().map(|(a, b)| (a.as_str(), b.as_str())),
    );
    serde_json::to_string(&migration).map_err(|e| InputError::new_err(e.to_string()))
}
