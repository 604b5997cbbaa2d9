//! The value stage on a feature table: the purchase model and Gamma-Gamma fitted on the BTYD
//! columns (`frequency`, `recency`, `T`, `monetary_value`), the `value_model.json` document,
//! its text summary, and per-customer predictions. `lookalike value`, `train` and the pipeline's
//! fit share it; the formulas are the value crate's.

use std::borrow::Cow;

use lookalike_core::{FeatureTable, TimeUnit};
use lookalike_value::{
    FitOptions, FitReport, GammaGamma, HistoryCounts, HoldoutColumns, HoldoutEvaluation, Horizon,
    HorizonUnit, MonthLength, Prediction, PurchaseKind, Purchases, RepeatData, SpendCounts,
    SpendData, Tracking, ValueError, expected_total_purchases,
};
use serde_json::{Value, json};

use crate::{PipelineError, VALUE_FORMAT_VERSION};

/// The BTYD summary columns, in the order the value crate takes them.
pub const BTYD_COLUMNS: [&str; 4] = ["frequency", "recency", "T", "monetary_value"];

/// A fitted value stage with its reports.
#[derive(Debug, Clone)]
pub struct ValueTraining {
    /// The purchase model.
    pub purchases: Purchases,
    /// Its fit report.
    pub purchase_report: FitReport,
    /// The spend model, its report and data, or why there is none.
    pub spend: Result<(GammaGamma, FitReport, SpendData), String>,
    /// The repeat-purchase data the purchase model was fitted on.
    pub data: RepeatData,
    /// The unit of recency and T.
    pub time_unit: TimeUnit,
}

/// The four BTYD columns of a table, or an error that names the missing one.
pub fn btyd_columns(table: &FeatureTable) -> Result<[Cow<'_, [f64]>; 4], PipelineError> {
    let column = |name: &str| {
        table
            .column_values(name)
            .map_err(|_| PipelineError::NoBtydColumn(name.to_string()))
    };
    Ok([
        column(BTYD_COLUMNS[0])?,
        column(BTYD_COLUMNS[1])?,
        column(BTYD_COLUMNS[2])?,
        column(BTYD_COLUMNS[3])?,
    ])
}

/// The error with the customer it is about.
fn with_customer(table: &FeatureTable, error: ValueError) -> PipelineError {
    match error.row() {
        Some(row) => PipelineError::Customer {
            customer: table.ids()[row].as_str().to_string(),
            row: row + 1,
            message: error.to_string(),
        },
        None => PipelineError::Value(Box::new(error)),
    }
}

/// What the value stage needs from a table's BTYD columns: its distinct histories, checked
/// (an error names the customer), and its repeat buyers' spend, or why there is none (a bad
/// mean spend, with the customer).
pub(crate) fn value_counts(
    table: &FeatureTable,
) -> Result<(HistoryCounts, Result<SpendCounts, String>), PipelineError> {
    let [x, t_x, t, m] = btyd_columns(table)?;
    let histories = HistoryCounts::of_columns(&x, &t_x, &t).map_err(|e| with_customer(table, e))?;
    let spend = SpendCounts::of_columns(&x, &m).map_err(|e| with_customer(table, e).to_string());
    Ok((histories, spend))
}

impl ValueTraining {
    /// Fits the purchase model of `kind` and Gamma-Gamma on the BTYD columns of `table`.
    pub fn fit(
        table: &FeatureTable,
        kind: PurchaseKind,
        options: &FitOptions,
        time_unit: TimeUnit,
    ) -> Result<Self, PipelineError> {
        let (histories, spend) = value_counts(table)?;
        Self::fit_counted(&histories, spend.as_ref(), kind, options, time_unit)
    }

    /// Fits the purchase model of `kind` and Gamma-Gamma on a base's counted histories (the
    /// merged counts of its parts, or a whole table's): the same data as [`ValueTraining::fit`]
    /// on the whole base, so the same parameters, bit for bit. `spend` is the spend counts or
    /// why there are none.
    pub fn fit_counted(
        histories: &HistoryCounts,
        spend: Result<&SpendCounts, &String>,
        kind: PurchaseKind,
        options: &FitOptions,
        time_unit: TimeUnit,
    ) -> Result<Self, PipelineError> {
        let value_error = |e: ValueError| PipelineError::Value(Box::new(e));
        let data = histories.data().map_err(value_error)?;
        let (purchases, purchase_report) =
            Purchases::fit(kind, &data, options).map_err(value_error)?;
        let spend = match spend {
            Ok(counts) => counts
                .data()
                .and_then(|d| GammaGamma::fit(&d, options).map(|(g, r)| (g, r, d)))
                .map_err(|e| e.to_string()),
            Err(reason) => Err(reason.clone()),
        };
        Ok(ValueTraining {
            purchases,
            purchase_report,
            spend,
            data,
            time_unit,
        })
    }

    /// The fitted spend model, if there is one.
    pub fn spend_model(&self) -> Option<GammaGamma> {
        self.spend.as_ref().ok().map(|(model, _, _)| *model)
    }

    /// The `value_model.json` document (see models/README.md); `source` names where the BTYD
    /// summary came from (`features` or `transactions`) and `path` the file.
    pub fn document(&self, source: &str, path: &str) -> Value {
        let mut purchases = report_json(&self.purchase_report);
        purchases["kind"] = json!(self.purchases.kind().name());
        purchases["distinct_histories"] = json!(self.data.unique());
        purchases["customers_without_purchase"] = json!(self.data.without_purchase());
        let spend = match &self.spend {
            Ok((_, report, data)) => {
                let mut s = report_json(report);
                s["kind"] = json!("gamma_gamma");
                s["frequency_spend_correlation"] = json!(data.correlation());
                s["excluded_non_positive_spend"] = json!(data.non_positive());
                s
            }
            Err(reason) => json!({ "kind": null, "reason": reason }),
        };
        json!({
            "format_version": VALUE_FORMAT_VERSION,
            "kind": "lookalike-value",
            "tool_version": env!("CARGO_PKG_VERSION"),
            source: path,
            "time_unit": self.time_unit.name(),
            "time_unit_days": self.time_unit.days(),
            "purchases": purchases,
            "spend": spend,
        })
    }

    /// A human summary of the fits: parameters with standard errors, convergence, warnings.
    pub fn describe(&self) -> String {
        let mut text = String::new();
        let mut block = |title: &str, report: &FitReport| {
            text += &format!(
                "{title}: {} on {} customers, log-likelihood {:.2}, {} iterations, {}\n",
                report.model,
                report.customers,
                report.log_likelihood,
                report.iterations,
                if report.converged {
                    "converged"
                } else {
                    "NOT converged"
                }
            );
            for ((name, value), se) in report.parameters.iter().zip(&report.std_errors) {
                // No standard error: a parameter held fixed (Pareto/NBD's s at its limit).
                if se.is_nan() {
                    text += &format!("  {name:>6} = {value:>12.6}  (fixed)\n");
                } else {
                    text += &format!("  {name:>6} = {value:>12.6}  (se {se:.4})\n");
                }
            }
            for warning in &report.warnings {
                text += &format!("  WARNING: {warning}\n");
            }
        };
        block("purchases", &self.purchase_report);
        match &self.spend {
            Ok((_, report, data)) => {
                block("spend", report);
                text += &format!(
                    "  frequency–spend correlation {:.3} (Gamma-Gamma assumes none)\n",
                    data.correlation()
                );
            }
            Err(reason) => text += &format!("spend: not fitted: {reason}\n"),
        }
        text
    }
}

fn report_json(report: &FitReport) -> Value {
    let parameters: serde_json::Map<String, Value> = report
        .parameters
        .iter()
        .map(|(n, v)| (n.to_string(), json!(v)))
        .collect();
    let errors: serde_json::Map<String, Value> = report
        .parameters
        .iter()
        .zip(&report.std_errors)
        .map(|((n, _), se)| {
            (
                n.to_string(),
                if se.is_finite() {
                    json!(se)
                } else {
                    Value::Null
                },
            )
        })
        .collect();
    json!({
        "model": report.model,
        "parameters": parameters,
        "std_errors": errors,
        "log_likelihood": report.log_likelihood,
        "iterations": report.iterations,
        "converged": report.converged,
        "starts_tried": report.starts.0,
        "starts_converged": report.starts.1,
        "penalty": report.penalty,
        "customers": report.customers,
        "warnings": report.warnings,
    })
}

/// Predictions for every customer of a table (the value crate's one composition of CLV); None
/// where the customer has no purchase. The first history that cannot be scored is an error
/// naming the customer.
pub fn predict_table(
    table: &FeatureTable,
    purchases: &Purchases,
    spend: Option<&GammaGamma>,
    horizon: &Horizon,
) -> Result<Vec<Option<Prediction>>, PipelineError> {
    let [x, t_x, t, m] = btyd_columns(table)?;
    lookalike_value::predict(purchases.model(), spend, horizon, [&x, &t_x, &t, &m])
        .into_iter()
        .map(|p| p.map_err(|e| with_customer(table, e)))
        .collect()
}

/// A value stage judged on a holdout period: predictions over the holdout next to what the
/// customers did, the naive baseline, and the weekly tracking of cumulative purchases.
#[derive(Debug, Clone)]
pub struct HoldoutReport {
    /// The holdout's length in the model's time unit.
    pub holdout_units: f64,
    /// Each customer's prediction over the holdout (None: no calibration purchase).
    pub predictions: Vec<Option<Prediction>>,
    /// Errors, Gini, conditional expectations, deciles.
    pub evaluation: HoldoutEvaluation,
    /// Cumulative purchases week by week.
    pub tracking: Tracking,
}

/// Judges `training` (fitted on the calibration columns of `table`) on the holdout columns
/// (`holdout_purchases`, `holdout_spend`) of a table built with a holdout window of
/// `holdout_days` days; `holdout_weeks[k]` are the purchase days in its week k and
/// `calibration_weeks` the repeat purchase days per calibration week (as
/// `lookalike_features::Extraction` has them).
pub fn evaluate_holdout(
    table: &FeatureTable,
    training: &ValueTraining,
    holdout_days: f64,
    holdout_weeks: &[f64],
    calibration_weeks: &[f64],
) -> Result<HoldoutReport, PipelineError> {
    let unit = training.time_unit;
    let holdout_units = holdout_days / unit.days();
    let horizon = lookalike_value::HorizonSpec {
        horizon: holdout_units,
        horizon_unit: match unit {
            TimeUnit::Days => HorizonUnit::Days,
            TimeUnit::Weeks => HorizonUnit::Weeks,
        },
        discount: 0.0,
        month: MonthLength::Calendar,
    }
    .in_units(unit.days())?;
    let spend = training.spend_model();
    let predictions = predict_table(table, &training.purchases, spend.as_ref(), &horizon)?;
    let column = |name: &str| {
        table
            .column_values(name)
            .map_err(|_| PipelineError::NoBtydColumn(name.to_string()))
    };
    let (x, t, m) = (
        column("frequency")?,
        column("T")?,
        column("monetary_value")?,
    );
    let aov = column("avg_order_value")?;
    let (hp, hs) = (column("holdout_purchases")?, column("holdout_spend")?);
    let columns = HoldoutColumns {
        frequency: &x,
        t: &t,
        monetary_value: &m,
        avg_order_value: &aov,
        holdout_purchases: &hp,
        holdout_spend: &hs,
    };
    let evaluation = HoldoutEvaluation::new(columns, &predictions, holdout_units);
    let week_ends: Vec<f64> = (1..=holdout_weeks.len())
        .map(|w| (7.0 * w as f64).min(holdout_days) / unit.days())
        .collect();
    let model_cumulative =
        expected_total_purchases(training.purchases.model(), &training.data, &week_ends);
    // The naive baseline's rate: each customer's historical x/T, summed.
    let naive_rate: f64 = x
        .iter()
        .zip(t.iter())
        .filter(|(x, t)| !x.is_nan() && **t > 0.0)
        .map(|(x, t)| x / t)
        .sum();
    // The cohort's first purchase days, from T (time from the first purchase day to the day
    // before as-of).
    let first_days: Vec<i64> = t
        .iter()
        .zip(x.iter())
        .filter(|(_, x)| !x.is_nan())
        .map(|(t, _)| -1 - (t * unit.days()).round() as i64)
        .collect();
    let tracking = Tracking::new(holdout_weeks, &model_cumulative, naive_rate, &week_ends)
        .with_cohort(
            training.purchases.model(),
            &first_days,
            calibration_weeks,
            holdout_weeks,
            holdout_days.round() as i64,
            unit.days(),
        );
    Ok(HoldoutReport {
        holdout_units,
        predictions,
        evaluation,
        tracking,
    })
}
