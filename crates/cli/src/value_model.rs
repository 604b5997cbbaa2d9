//! The value model directory (`value_model.json`, documented in `models/README.md`) and the
//! per-customer predictions shared by `lookalike value` and the demo.

use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use arrow_array::{ArrayRef, Float64Array, StringArray};
use arrow_schema::{DataType, Field, Schema};
use lookalike_core::{FeatureSchema, FeatureTable};
use lookalike_features::{write_csv_in_parallel, write_parquet_in_parallel};
pub use lookalike_value::Prediction;
use lookalike_value::{
    BgNbd, FitOptions, FitReport, GammaGamma, Horizon, ParetoNbd, PurchaseKind, Purchases,
    RepeatData, SpendData, ValueError,
};
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use serde_json::{Value, json};

/// Format version of `value_model.json`.
pub const FORMAT_VERSION: u64 = lookalike_pipeline::VALUE_FORMAT_VERSION;

/// Everything fitted, with the reports.
pub struct Fitted {
    pub purchases: Purchases,
    pub purchase_report: FitReport,
    /// The spend model, or why there is none.
    pub spend: Result<(GammaGamma, FitReport, SpendData), String>,
    pub data: RepeatData,
    /// The time unit of recency and T and its length in days.
    pub unit: (String, f64),
}

impl Fitted {
    /// The fitted spend model, if there is one.
    pub fn spend_model(&self) -> Option<GammaGamma> {
        self.spend.as_ref().ok().map(|(model, _, _)| *model)
    }
}

/// Column `name` of a table as one slice (borrowed when the table stores it contiguously),
/// or an error that says how to get it.
pub fn column_values<'a>(table: &'a FeatureTable, name: &str) -> anyhow::Result<Cow<'a, [f64]>> {
    table.column_values(name).with_context(|| {
        format!("the feature table has no `{name}` column; make it with `lookalike features`")
    })
}

/// The BTYD columns of a feature table.
pub fn btyd_columns(table: &FeatureTable) -> anyhow::Result<[Cow<'_, [f64]>; 4]> {
    let column = |name: &str| column_values(table, name);
    Ok([
        column("frequency")?,
        column("recency")?,
        column("T")?,
        column("monetary_value")?,
    ])
}

/// The time unit recorded in the schema beside a feature table (weeks when there is none).
pub fn time_unit_of(features: &Path) -> (String, f64) {
    let unit = FeatureSchema::read(&FeatureSchema::path_beside(features))
        .ok()
        .and_then(|s| {
            s.provenance
                .get("time_unit")
                .and_then(|u| u.as_str().map(String::from))
        })
        .unwrap_or_else(|| "weeks".into());
    let days = if unit == "days" { 1.0 } else { 7.0 };
    (unit, days)
}

/// The error with the customer it is about (rows count from 0 among the table's customers).
fn with_customer(table: &FeatureTable, error: ValueError) -> anyhow::Error {
    match error.row() {
        Some(row) => anyhow::anyhow!(
            "{error} (customer {}, data row {} of the table)",
            table.ids()[row].as_str(),
            row + 1
        ),
        None => error.into(),
    }
}

/// Fits the purchase model and Gamma-Gamma on a feature table.
pub fn fit(
    table: &FeatureTable,
    kind: PurchaseKind,
    options: &FitOptions,
    unit: (String, f64),
) -> anyhow::Result<Fitted> {
    let [x, t_x, t, m] = btyd_columns(table)?;
    let data = RepeatData::from_columns(&x, &t_x, &t).map_err(|e| with_customer(table, e))?;
    let (purchases, purchase_report) = match kind {
        PurchaseKind::Bgnbd => {
            let (m, r) = BgNbd::fit(&data, options)?;
            (Purchases::BgNbd(m), r)
        }
        PurchaseKind::Pareto => {
            let (m, r) = ParetoNbd::fit(&data, options)?;
            (Purchases::Pareto(m), r)
        }
    };
    let spend = SpendData::from_columns(&x, &m)
        .and_then(|d| GammaGamma::fit(&d, options).map(|(g, r)| (g, r, d)))
        .map_err(|e| e.to_string());
    Ok(Fitted {
        purchases,
        purchase_report,
        spend,
        data,
        unit,
    })
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

/// The model document; `source` names where the BTYD summary came from (`features` or
/// `transactions`) and `path` the file.
pub fn model_json(fitted: &Fitted, source: &str, path: &Path) -> Value {
    let mut purchases = report_json(&fitted.purchase_report);
    purchases["kind"] = json!(match fitted.purchases {
        Purchases::BgNbd(_) => "bgnbd",
        Purchases::Pareto(_) => "pareto",
    });
    purchases["distinct_histories"] = json!(fitted.data.unique());
    purchases["customers_without_purchase"] = json!(fitted.data.without_purchase());
    let spend = match &fitted.spend {
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
        "format_version": FORMAT_VERSION,
        "kind": "lookalike-value",
        "tool_version": env!("CARGO_PKG_VERSION"),
        source: path.display().to_string(),
        "time_unit": fitted.unit.0,
        "time_unit_days": fitted.unit.1,
        "purchases": purchases,
        "spend": spend,
    })
}

/// A human summary of the fits.
pub fn describe(fitted: &Fitted) -> String {
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
            text += &format!("  {name:>6} = {value:>12.6}  (se {se:.4})\n");
        }
        for warning in &report.warnings {
            text += &format!("  WARNING: {warning}\n");
        }
    };
    block("purchases", &fitted.purchase_report);
    match &fitted.spend {
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

/// Reads a model directory back into fitted models (checked by the pipeline's reader).
pub fn load(dir: &Path) -> anyhow::Result<(Purchases, Option<GammaGamma>, (String, f64))> {
    let path = dir.join("value_model.json");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("reading the value model {}", path.display()))?;
    let doc: Value =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let fit = lookalike_pipeline::ValueFit::from_json(&doc, &path.display().to_string())?;
    let unit = (fit.time_unit.name().to_string(), fit.time_unit.days());
    Ok((fit.purchases, fit.spend, unit))
}

/// Predictions for every customer of a table (the value crate's composition of CLV); None
/// where the customer has no purchase. The first history that cannot be scored is an error
/// naming the customer.
pub fn predict(
    table: &FeatureTable,
    purchases: &Purchases,
    spend: Option<&GammaGamma>,
    horizon: &Horizon,
) -> anyhow::Result<Vec<Option<Prediction>>> {
    let [x, t_x, t, m] = btyd_columns(table)?;
    lookalike_value::predict(purchases.model(), spend, horizon, [&x, &t_x, &t, &m])
        .into_iter()
        .map(|p| p.map_err(|e| with_customer(table, e)))
        .collect()
}

/// Writes `customer_id, p_alive, expected_purchases, expected_spend, clv,
/// residual_purchases` (CSV or Parquet by extension), atomically. Empty cells: no purchase
/// yet (all columns), no spend model (spend and CLV), infinite (residual purchases).
pub fn write_predictions(
    table: &FeatureTable,
    predictions: &[Option<Prediction>],
    path: &Path,
) -> anyhow::Result<()> {
    const NAMES: [&str; 6] = [
        "customer_id",
        "p_alive",
        "expected_purchases",
        "expected_spend",
        "clv",
        "residual_purchases",
    ];
    let value = |i: usize, j: usize| -> Option<f64> {
        let p = predictions[i].as_ref()?;
        match j {
            1 => Some(p.p_alive),
            2 => Some(p.expected_purchases),
            3 => p.expected_spend,
            4 => p.clv,
            _ => p.residual_purchases,
        }
    };
    let ids = table.ids();
    let parquet = crate::output::is_parquet_output(path)?;
    if parquet {
        let mut fields = vec![Field::new("customer_id", DataType::Utf8, false)];
        fields.extend(
            NAMES[1..]
                .iter()
                .map(|n| Field::new(*n, DataType::Float64, true)),
        );
        let properties = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .build();
        write_parquet_in_parallel(
            path,
            Arc::new(Schema::new(fields)),
            properties,
            ids.len(),
            |rows, j| {
                Ok(if j == 0 {
                    Arc::new(StringArray::from_iter_values(
                        ids[rows].iter().map(|id| id.as_str()),
                    )) as ArrayRef
                } else {
                    Arc::new(rows.map(|i| value(i, j)).collect::<Float64Array>())
                })
            },
        )
        .with_context(|| format!("writing {}", path.display()))
    } else {
        write_csv_in_parallel(path, &NAMES, ids.len(), |writer, _, i| {
            writer.write_field(ids[i].as_str())?;
            for j in 1..NAMES.len() {
                let mut buffer = ryu::Buffer::new();
                writer.write_field(value(i, j).map_or("", |v| buffer.format(v)))?;
            }
            Ok(())
        })
        .with_context(|| format!("writing {}", path.display()))
    }
}
