//! The HTML report of a model (`lookalike report`): sections built from the manifest and the
//! stage documents, plots drawn by `plots` and inlined as SVG.

use std::fmt::Write as _;

use lookalike_pipeline::PipelineModel;
use lookalike_rfm::{ReportRow, SegmentReport};
use serde_json::Value;

use crate::plots;

/// Text made safe inside HTML.
fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A JSON cell as a person reads it.
fn show(value: &Value) -> String {
    match value {
        Value::Null => "–".into(),
        Value::Number(n) => match n.as_f64() {
            Some(x) if x.fract() != 0.0 => format!("{x:.4}"),
            _ => n.to_string(),
        },
        Value::String(s) => s.clone(),
        Value::Bool(b) => if *b { "yes" } else { "no" }.into(),
        other => other.to_string(),
    }
}

/// An HTML table of `rows` under `header`.
fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut html = String::from("<table><thead><tr>");
    for h in header {
        let _ = write!(html, "<th>{}</th>", esc(h));
    }
    html += "</tr></thead><tbody>";
    for row in rows {
        html += "<tr>";
        for cell in row {
            let _ = write!(html, "<td>{}</td>", esc(cell));
        }
        html += "</tr>";
    }
    html + "</tbody></table>"
}

/// The segment report as the manifest keeps it, back as the report type (null numbers: NaN).
fn segment_report(value: &Value) -> Option<SegmentReport> {
    let number = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
    let rows = value["rows"]
        .as_array()?
        .iter()
        .map(|r| ReportRow {
            group: r["group"].as_str().unwrap_or("").to_string(),
            segment: r["segment"].as_str().unwrap_or("").to_string(),
            customers: r["customers"].as_u64().unwrap_or(0) as usize,
            share: number(&r["share"]),
            revenue: number(&r["revenue"]),
            revenue_share: number(&r["revenue_share"]),
            mean_recency_days: number(&r["mean_recency_days"]),
            mean_frequency: number(&r["mean_frequency"]),
            mean_monetary: number(&r["mean_monetary"]),
            baseline_conversion: number(&r["baseline_conversion"]),
            minimum_detectable_lift: r["minimum_detectable_lift"].as_f64(),
            control_needed_for_target: r["control_needed_for_target"].as_f64(),
            too_small_to_test: r["too_small_to_test"].as_bool().unwrap_or(false),
        })
        .collect();
    Some(SegmentReport {
        customers: value["customers"].as_u64().unwrap_or(0) as usize,
        without_consent: value["without_consent"].as_u64().unwrap_or(0) as usize,
        rows,
        warnings: value["warnings"]
            .as_array()
            .map(|w| {
                w.iter()
                    .filter_map(|x| x.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default(),
    })
}

fn percent(v: f64) -> String {
    if v.is_nan() {
        "–".into()
    } else {
        format!("{:.1}%", 100.0 * v)
    }
}

fn segments(model: &PipelineModel) -> anyhow::Result<String> {
    let Some(entry) = &model.manifest().stages.segments else {
        return Ok(String::new());
    };
    let mut html = String::from("<section><h2>Segments</h2>");
    if let Some(report) = entry.report.get("report").and_then(segment_report) {
        html += &plots::segment_shares_svg(&report)?;
        let rows: Vec<Vec<String>> = report
            .rows
            .iter()
            .map(|r| {
                vec![
                    r.group.clone(),
                    r.segment.clone(),
                    r.customers.to_string(),
                    percent(r.share),
                    percent(r.revenue_share),
                    percent(r.baseline_conversion),
                    r.minimum_detectable_lift
                        .map_or("–".into(), |m| format!("+{:.0}%", 100.0 * m)),
                    if r.too_small_to_test { "too small" } else { "" }.into(),
                ]
            })
            .collect();
        html += &table(
            &[
                "group",
                "segment",
                "customers",
                "share",
                "revenue share",
                "baseline conversion",
                "min. detectable lift",
                "test",
            ],
            &rows,
        );
        if !report.warnings.is_empty() {
            html += "<ul class=\"warnings\">";
            for w in &report.warnings {
                let _ = write!(html, "<li>{}</li>", esc(w));
            }
            html += "</ul>";
        }
    }
    Ok(html + "</section>")
}

fn clusters(model: &PipelineModel) -> anyhow::Result<String> {
    let Some(document) = &model.documents().clusters else {
        return Ok(String::new());
    };
    let mut html = String::from("<section><h2>Clusters</h2>");
    let bars: Vec<plots::ClusterBar> = document["clusters"]
        .as_array()
        .map(|clusters| {
            clusters
                .iter()
                .map(|c| plots::ClusterBar {
                    cluster: c["cluster"].as_u64().unwrap_or(0) as usize,
                    size: c["size"].as_u64().unwrap_or(0) as usize,
                    share: c["share"].as_f64().unwrap_or(0.0),
                    distinguishing: c["distinguishing"]
                        .as_array()
                        .map(|d| {
                            d.iter()
                                .filter_map(|x| {
                                    Some((x["column"].as_str()?.to_string(), x["z"].as_f64()?))
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default();
    let k = document["k"].as_u64().unwrap_or(0) as usize;
    if !bars.is_empty() {
        html += &plots::clusters_svg(&bars, &[], k)?;
    }
    let metrics = &document["metrics"];
    html += &table(
        &[
            "k",
            "columns",
            "scaling",
            "silhouette",
            "Davies-Bouldin",
            "Calinski-Harabasz",
            "inertia",
        ],
        &[vec![
            k.to_string(),
            document["columns"]
                .as_array()
                .map(|c| c.iter().map(show).collect::<Vec<_>>().join(", "))
                .unwrap_or_default(),
            show(&document["scaling"]["method"]),
            show(&metrics["silhouette"]),
            show(&metrics["davies_bouldin"]),
            show(&metrics["calinski_harabasz"]),
            show(&document["fit"]["inertia"]),
        ]],
    );
    Ok(html + "</section>")
}

fn value(model: &PipelineModel) -> String {
    let Some(entry) = &model.manifest().stages.value else {
        return String::new();
    };
    let mut html = format!(
        "<section><h2>Value</h2><p>Expected purchases and CLV over {} {} ({} month), discounted {}% a month.</p>",
        entry.horizon,
        entry.horizon_unit.name(),
        entry.month.name(),
        100.0 * entry.discount
    );
    for (title, part) in [("purchases", &entry.purchases), ("spend", &entry.spend)] {
        let parameters: Vec<Vec<String>> = part["parameters"]
            .as_object()
            .map(|p| p.iter().map(|(k, v)| vec![k.clone(), show(v)]).collect())
            .unwrap_or_default();
        let _ = write!(
            html,
            "<h3>{} model: {}</h3><p>log-likelihood {}, converged {}</p>",
            esc(title),
            esc(&show(&part["kind"])),
            esc(&show(&part["log_likelihood"])),
            esc(&show(&part["converged"]))
        );
        html += &table(&["parameter", "value"], &parameters);
        if let Some(warnings) = part["warnings"].as_array().filter(|w| !w.is_empty()) {
            html += "<ul class=\"warnings\">";
            for w in warnings {
                let _ = write!(html, "<li>{}</li>", esc(&show(w)));
            }
            html += "</ul>";
        }
    }
    html + "</section>"
}

fn audiences(model: &PipelineModel) -> String {
    let mut html = String::new();
    for (entry, audience) in model
        .manifest()
        .stages
        .audiences
        .iter()
        .zip(model.audiences())
    {
        let settings = audience.settings();
        let _ = write!(
            html,
            "<section><h2>Audience {}</h2><p>{} scorer on {} seeds ({}), {} candidates when trained; {:.0}% of each tier held out as control.</p>",
            esc(&entry.name),
            esc(&entry.scorer),
            entry.seeds,
            esc(&entry.seed_source),
            entry.candidates,
            100.0 * settings.holdout
        );
        let rows: Vec<Vec<String>> = settings
            .tiers
            .iter()
            .map(|t| {
                vec![
                    t.label.clone(),
                    t.customers.to_string(),
                    format!("{:.4}", t.last_strength),
                ]
            })
            .collect();
        html += &table(&["tier", "customers", "cut (ranking strength)"], &rows);
        let _ = write!(
            html,
            "<p>Compared features: {}.</p></section>",
            esc(&settings.columns.join(", "))
        );
    }
    html
}

fn privacy(model: &PipelineModel) -> String {
    let manifest = model.manifest();
    let mut html = String::from("<section><h2>What the model holds about customers</h2>");
    let rows: Vec<Vec<String>> = manifest
        .data_inventory
        .iter()
        .map(|(file, held)| {
            vec![
                file.clone(),
                if held.customer_level { "yes" } else { "no" }.into(),
                held.holds.clone(),
            ]
        })
        .collect();
    if rows.is_empty() {
        html += "<p>This model was trained before the inventory was recorded.</p>";
    } else {
        html += &table(&["file", "customer-level data", "what it holds"], &rows);
    }
    if let Some(p) = &manifest.pseudonymized {
        let _ = write!(
            html,
            "<p>Customer ids are pseudonyms ({}, key fingerprint {}).</p>",
            esc(&p.method),
            esc(&p.key_fingerprint)
        );
    }
    for e in &manifest.erasures {
        let _ = write!(
            html,
            "<p>Erasure at {}: {} ids asked for, {} in the features, {} stored; refitted {}.</p>",
            esc(&e.erased_at),
            e.requested,
            e.in_features,
            e.stored_in_model,
            esc(&e.refitted.join(", "))
        );
    }
    html + "</section>"
}

const STYLE: &str = "body{font-family:sans-serif;margin:2em auto;max-width:1250px;color:#222}\
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}\
table{border-collapse:collapse;margin:1em 0;font-size:.9em}\
th,td{border:1px solid #ddd;padding:.25em .6em;text-align:left}th{background:#f3f3f3}\
svg{max-width:100%;height:auto;display:block;margin:1em 0}.warnings{color:#8a4b00}";

/// The whole page for `model`, read from `origin`.
pub fn page(model: &PipelineModel, origin: &str) -> anyhow::Result<String> {
    let manifest = model.manifest();
    let mut html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>lookalike model {}</title><style>{STYLE}</style></head><body>",
        esc(origin)
    );
    let _ = write!(
        html,
        "<h1>Model {}</h1><p>Trained {} by lookalike {} on {} customers, features as of {} ({} columns, recency and T in {}).</p>",
        esc(origin),
        esc(&manifest.created_at),
        esc(&manifest.tool_version),
        manifest.customers,
        esc(&manifest.as_of),
        manifest.features.columns.len(),
        manifest.features.time_unit
    );
    let inputs: Vec<Vec<String>> = manifest
        .inputs
        .iter()
        .map(|i| {
            vec![
                show(&i["kind"]),
                show(&i["path"]),
                show(&i["bytes"]),
                show(&i["rows"]),
            ]
        })
        .collect();
    if !inputs.is_empty() {
        html += &table(&["input", "path", "bytes", "rows"], &inputs);
    }
    html += &segments(model)?;
    html += &clusters(model)?;
    html += &value(model);
    html += &audiences(model);
    html += &privacy(model);
    Ok(html + "</body></html>\n")
}
