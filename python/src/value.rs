//! The BTYD models and Gamma-Gamma behind the Python estimators (`lookalike.BetaGeo`,
//! `ParetoNBD`, `GammaGamma`): maximum-likelihood fits and per-customer predictions on Arrow
//! Float64 columns (NumPy arrays cross without a copy), computed by the value crate.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Float64Array};
use arrow::pyarrow::ToPyArrow;
use lookalike_value::{
    FitOptions, FitReport, GammaGamma, Horizon, MonthLength, PurchaseKind, Purchases, RepeatData,
    SpendData, Summary, ValueError, predict,
};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::errors::{InputError, choice};
use crate::tables::float_column;

fn bad(error: impl std::fmt::Display) -> PyErr {
    InputError::new_err(error.to_string())
}

fn same_length(columns: &[(&str, &Float64Array)]) -> PyResult<()> {
    let n = columns[0].1.len();
    match columns.iter().find(|(_, c)| c.len() != n) {
        Some((name, c)) => Err(bad(format!(
            "{name} has {} values, {} has {n}",
            c.len(),
            columns[0].0
        ))),
        None => Ok(()),
    }
}

/// A value error with the customer (row, from 0) it is about.
fn value_error(error: ValueError) -> PyErr {
    match error.row() {
        Some(row) => bad(format!("{error} (row {row})")),
        None => bad(error),
    }
}

/// A fit report as a dict: params, standard errors, log-likelihood, convergence, warnings.
fn report_dict<'py>(py: Python<'py>, report: &FitReport) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    let params = PyDict::new(py);
    let errors = PyDict::new(py);
    for ((name, value), se) in report.parameters.iter().zip(&report.std_errors) {
        params.set_item(*name, *value)?;
        errors.set_item(*name, *se)?;
    }
    dict.set_item("params", params)?;
    dict.set_item("standard_errors", errors)?;
    dict.set_item("log_likelihood", report.log_likelihood)?;
    dict.set_item("iterations", report.iterations)?;
    dict.set_item("converged", report.converged)?;
    dict.set_item("customers", report.customers)?;
    dict.set_item("warnings", report.warnings.clone())?;
    Ok(dict)
}

fn purchases_of(kind: PurchaseKind, params: &[f64]) -> PyResult<Purchases> {
    let [a, b, c, d] = params
        .try_into()
        .map_err(|_| bad(format!("{} takes 4 parameters", kind.name())))?;
    Purchases::new(kind, [a, b, c, d]).map_err(value_error)
}

fn gamma_gamma_of(params: &[f64]) -> PyResult<GammaGamma> {
    let [p, q, gamma] = params
        .try_into()
        .map_err(|_| bad("Gamma-Gamma takes 3 parameters (p, q, gamma)"))?;
    GammaGamma::new(p, q, gamma).map_err(value_error)
}

fn to_arrow<'py>(py: Python<'py>, values: Vec<f64>) -> PyResult<Bound<'py, PyAny>> {
    let array: ArrayRef = Arc::new(Float64Array::from(values));
    array.to_data().to_pyarrow(py)
}

/// Fits a purchase model ("bgnbd", "pareto", "mbgnbd" or "bgbb") to frequency, recency and T by maximum
/// likelihood (L2 `penalty` on the log-parameters); returns its report.
#[pyfunction]
pub fn purchases_fit<'py>(
    py: Python<'py>,
    kind: &str,
    frequency: &Bound<'py, PyAny>,
    recency: &Bound<'py, PyAny>,
    t: &Bound<'py, PyAny>,
    penalty: f64,
) -> PyResult<Bound<'py, PyDict>> {
    let kind: PurchaseKind = choice("model", kind)?;
    let (x, t_x, t) = (
        float_column(frequency, "frequency")?,
        float_column(recency, "recency")?,
        float_column(t, "T")?,
    );
    same_length(&[("frequency", &x), ("recency", &t_x), ("T", &t)])?;
    let options = FitOptions::new().penalty(penalty);
    let report = py
        .detach(|| -> Result<FitReport, ValueError> {
            let data = RepeatData::from_columns(x.values(), t_x.values(), t.values())?;
            Ok(Purchases::fit(kind, &data, &options)?.1)
        })
        .map_err(value_error)?;
    report_dict(py, &report)
}

/// Per customer: P(alive) (`what` = "p_alive") or the expected purchases over the next `t`
/// time units ("expected_purchases").
#[pyfunction]
#[allow(clippy::too_many_arguments)]
pub fn purchases_predict<'py>(
    py: Python<'py>,
    kind: &str,
    params: Vec<f64>,
    what: &str,
    t: f64,
    frequency: &Bound<'py, PyAny>,
    recency: &Bound<'py, PyAny>,
    age: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let model = purchases_of(choice("model", kind)?, &params)?;
    let (x, t_x, big_t) = (
        float_column(frequency, "frequency")?,
        float_column(recency, "recency")?,
        float_column(age, "T")?,
    );
    same_length(&[("frequency", &x), ("recency", &t_x), ("T", &big_t)])?;
    let expected = match what {
        "p_alive" => false,
        "expected_purchases" => true,
        other => return Err(bad(format!("unknown prediction {other:?}"))),
    };
    let values = py.detach(|| {
        let model = model.model();
        (0..x.len())
            .map(|i| {
                let customer = Summary {
                    frequency: x.value(i),
                    recency: t_x.value(i),
                    t: big_t.value(i),
                };
                if expected {
                    model.expected_purchases(t, &customer)
                } else {
                    model.p_alive(&customer)
                }
            })
            .collect::<Vec<_>>()
    });
    to_arrow(py, values)
}

/// Fits Gamma-Gamma to the repeat buyers' frequency and mean spend.
#[pyfunction]
pub fn gamma_gamma_fit<'py>(
    py: Python<'py>,
    frequency: &Bound<'py, PyAny>,
    monetary_value: &Bound<'py, PyAny>,
    penalty: f64,
) -> PyResult<Bound<'py, PyDict>> {
    let (x, m) = (
        float_column(frequency, "frequency")?,
        float_column(monetary_value, "monetary_value")?,
    );
    same_length(&[("frequency", &x), ("monetary_value", &m)])?;
    let options = FitOptions::new().penalty(penalty);
    let report = py
        .detach(|| -> Result<FitReport, ValueError> {
            let data = SpendData::from_columns(x.values(), m.values())?;
            Ok(GammaGamma::fit(&data, &options)?.1)
        })
        .map_err(value_error)?;
    report_dict(py, &report)
}

/// Each customer's expected spend per purchase under Gamma-Gamma.
#[pyfunction]
pub fn gamma_gamma_spend<'py>(
    py: Python<'py>,
    params: Vec<f64>,
    frequency: &Bound<'py, PyAny>,
    monetary_value: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let model = gamma_gamma_of(&params)?;
    let (x, m) = (
        float_column(frequency, "frequency")?,
        float_column(monetary_value, "monetary_value")?,
    );
    same_length(&[("frequency", &x), ("monetary_value", &m)])?;
    let values = (0..x.len())
        .map(|i| model.conditional_spend(x.value(i), m.value(i)))
        .collect();
    to_arrow(py, values)
}

/// Each customer's discounted CLV over `months` months (the value crate's one composition:
/// expected purchases per month × expected spend, discounted monthly at `discount`), with
/// months of `month_days` days ("lifetimes": 30) and the models' time unit `unit_days` long.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
pub fn customer_lifetime_value<'py>(
    py: Python<'py>,
    kind: &str,
    params: Vec<f64>,
    spend_params: Vec<f64>,
    frequency: &Bound<'py, PyAny>,
    recency: &Bound<'py, PyAny>,
    age: &Bound<'py, PyAny>,
    monetary_value: &Bound<'py, PyAny>,
    months: f64,
    discount: f64,
    month: &str,
    unit_days: f64,
) -> PyResult<Bound<'py, PyAny>> {
    let purchases = purchases_of(choice("model", kind)?, &params)?;
    let spend = gamma_gamma_of(&spend_params)?;
    let month: MonthLength = choice("month", month)?;
    let horizon = Horizon::new(months, month.in_units(unit_days), discount).map_err(value_error)?;
    let columns = [
        float_column(frequency, "frequency")?,
        float_column(recency, "recency")?,
        float_column(age, "T")?,
        float_column(monetary_value, "monetary_value")?,
    ];
    let [x, t_x, t, m] = &columns;
    same_length(&[
        ("frequency", x),
        ("recency", t_x),
        ("T", t),
        ("monetary_value", m),
    ])?;
    let values = py
        .detach(|| {
            predict(
                purchases.model(),
                Some(&spend),
                &horizon,
                [x.values(), t_x.values(), t.values(), m.values()],
            )
            .into_iter()
            .map(|p| p.map(|p| p.and_then(|p| p.clv).unwrap_or(f64::NAN)))
            .collect::<Result<Vec<_>, _>>()
        })
        .map_err(value_error)?;
    to_arrow(py, values)
}
