//! Files of the value stage for `lookalike value`, `train` and the demo: the time unit beside a
//! feature table, a `value_model.json` read back, the per-customer predictions written. The
//! fitting, the document and the predictions are the pipeline library's value stage.

use std::path::Path;

use anyhow::Context;
use lookalike_core::{FeatureSchema, TimeUnit};
use lookalike_pipeline::ValueTraining;
use lookalike_value::{GammaGamma, Purchases};
use serde_json::Value;

/// Writes `<dir>/value_model.json`; `source` names where the BTYD summary came from
/// (`features` or `transactions`) and `path` the file. Returns the file written.
pub fn write_document(
    fitted: &ValueTraining,
    source: &str,
    path: &Path,
    dir: &Path,
) -> anyhow::Result<std::path::PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let file = dir.join("value_model.json");
    let document = fitted.document(source, &path.display().to_string());
    lookalike_pipeline::write_json(&file, &document)
        .with_context(|| format!("writing {}", file.display()))?;
    Ok(file)
}

/// The time unit recorded in the schema beside a feature table (weeks when there is none).
pub fn time_unit_of(features: &Path) -> TimeUnit {
    FeatureSchema::read(&FeatureSchema::path_beside(features))
        .ok()
        .and_then(|s| {
            s.provenance
                .get("time_unit")
                .and_then(|u| u.as_str().and_then(|u| u.parse().ok()))
        })
        .unwrap_or(TimeUnit::Weeks)
}

/// Reads a model directory back into fitted models (checked by the pipeline's reader).
pub fn load(dir: &Path) -> anyhow::Result<(Purchases, Option<GammaGamma>, TimeUnit)> {
    let path = dir.join("value_model.json");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("reading the value model {}", path.display()))?;
    let doc: Value =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let fit = lookalike_pipeline::ValueFit::from_json(&doc, &path.display().to_string())?;
    Ok((fit.purchases, fit.spend, fit.time_unit))
}
