//! The native side of `lookalike.spark`: what a Spark task needs besides `features` and
//! `Model.score`. A base split over partitions (each holding whole customers) gets the columns
//! one extraction over the whole base would: every partition reports its label totals, the
//! driver merges them and fixes the vocabulary, and every partition is extracted with it.

use std::collections::BTreeMap;

use lookalike_core::{InputKind, NoProgress, TimeUnit};
use lookalike_features::{
    FeatureInputs, LabelTotals, LogReading, MissingCustomer, OnBadRow, parse_date,
};
use lookalike_pipeline::{FeatureSpec, PipelineError};
use pyo3::prelude::*;

use crate::errors::{InputError, choice, to_py};
use crate::train::{column_mapping, log_input};

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
    let reading = LogReading {
        missing_customer: choice::<MissingCustomer>("missing_customer", missing_customer)?,
        date_format,
        attributes: Vec::new(),
    };
    let settings = FeatureSpec {
        as_of: Some(as_of.to_string()),
        time_unit: TimeUnit::Weeks,
        top_levels: 8,
    };
    let mut params = settings
        .params(choice::<OnBadRow>("on_error", on_error)?, &reading)
        .map_err(to_py)?;
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
    serde_json::to_string(&totals).map_err(|e| InputError::new_err(e.to_string()))
}

/// The vocabulary (JSON) of a whole base: the parts' label totals (JSON, from `label_totals`)
/// merged, the `top_levels` heaviest labels chosen, and the whole customers table's attribute
/// encoding.
#[pyfunction]
#[pyo3(signature = (totals, *, top_levels=8, customers=None, columns=None, on_error="fail", date_format=None))]
pub fn vocabulary(
    py: Python<'_>,
    totals: Vec<String>,
    top_levels: usize,
    customers: Option<&Bound<'_, PyAny>>,
    columns: Option<BTreeMap<String, String>>,
    on_error: &str,
    date_format: Option<String>,
) -> PyResult<String> {
    let mut merged = LabelTotals::default();
    for part in totals {
        let part: LabelTotals = serde_json::from_str(&part)
            .map_err(|e| InputError::new_err(format!("label totals: {e}")))?;
        merged.merge(part);
    }
    let attributes = match customers {
        Some(table) => {
            let input = log_input(InputKind::Customers, table, None, None)?;
            let reading = LogReading {
                missing_customer: MissingCustomer::Fail,
                date_format,
                attributes: Vec::new(),
            };
            let settings = FeatureSpec {
                as_of: None,
                time_unit: TimeUnit::Weeks,
                top_levels,
            };
            let params = settings
                .params(choice::<OnBadRow>("on_error", on_error)?, &reading)
                .map_err(to_py)?;
            let mapping = column_mapping(columns)?;
            py.detach(|| {
                lookalike_features::attribute_encoding(&input, &mapping, &params)
                    .map_err(PipelineError::from)
            })
            .map_err(to_py)?
        }
        None => Vec::new(),
    };
    let vocabulary = merged.vocabulary(top_levels, attributes);
    serde_json::to_string(&vocabulary).map_err(|e| InputError::new_err(e.to_string()))
}
