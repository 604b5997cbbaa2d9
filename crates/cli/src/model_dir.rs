//! The trained model directory of `lookalike train` and `lookalike score` (documented field by
//! field in `models/README.md`): `manifest.json`, and one artifact per stage in formats any
//! JSON or Parquet reader opens.
//!
//! ```text
//! manifest.json              what was trained, on what, with which settings, and how well
//! segments.json, rules.toml  RFM edges, value-tier thresholds, lifecycle settings, rule segments
//! clusters/model.json        scaler and centroids (the `lookalike cluster` format)
//! value/value_model.json     BG/NBD or Pareto/NBD and Gamma-Gamma (the `lookalike value` format)
//! audiences/NAME.json        scorer, scaler, tier cuts, control group of audience NAME
//! audiences/NAME_seeds.parquet  its seed customers with their scaled features (the seed index)
//! ```

use std::collections::HashSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use lookalike_audience::{SavedScorer, Scorer};
use lookalike_cluster::{Scaler, Scaling};
use lookalike_features::read_feature_table;
use lookalike_rfm::{LifecycleParams, RuleSet, SegmentParams, TrainedScores};
use lookalike_value::{GammaGamma, Horizon};
use ndarray::Array2;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::value_model::{self, Purchases};

/// `manifest.json`'s `format`.
pub const MODEL_FORMAT: &str = "lookalike-model";
/// The model directory layout this build reads and writes; any change to a file's meaning
/// bumps it, and scoring refuses other versions.
pub const MODEL_VERSION: u64 = 1;

/// Writes a JSON document atomically, pretty-printed.
pub fn write_json(path: &Path, document: &impl Serialize) -> anyhow::Result<()> {
    lookalike_core::write_atomically(path, |w| {
        serde_json::to_writer_pretty(&mut *w, document).map_err(std::io::Error::other)?;
        w.write_all(b"\n")
    })
    .with_context(|| format!("writing {}", path.display()))
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> anyhow::Result<T> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// A scaler as JSON: the `scaling` object of the k-means model format.
pub fn scaler_json(scaler: &Scaler) -> Value {
    json!({
        "method": match scaler.scaling {
            Scaling::None => "none",
            Scaling::Standard => "standard",
            Scaling::Robust => "robust",
        },
        "log1p": scaler.log1p,
        "center": scaler.center,
        "spread": scaler.spread,
        "weight": scaler.weight,
    })
}

/// A scaler back from [`scaler_json`] and its column names.
pub fn scaler_from_json(columns: Vec<String>, scaling: &Value) -> anyhow::Result<Scaler> {
    let numbers = |name: &str| -> anyhow::Result<Vec<f64>> {
        let values: Vec<f64> = serde_json::from_value(scaling[name].clone())
            .with_context(|| format!("scaling.{name}"))?;
        if values.len() != columns.len() {
            bail!(
                "scaling.{name} has {} values for {} columns",
                values.len(),
                columns.len()
            );
        }
        Ok(values)
    };
    let log1p: Vec<bool> =
        serde_json::from_value(scaling["log1p"].clone()).context("scaling.log1p")?;
    if log1p.len() != columns.len() {
        bail!(
            "scaling.log1p has {} values for {} columns",
            log1p.len(),
            columns.len()
        );
    }
    Ok(Scaler {
        scaling: match scaling["method"].as_str() {
            Some("none") => Scaling::None,
            Some("standard") => Scaling::Standard,
            Some("robust") => Scaling::Robust,
            other => bail!("scaling.method {other:?}: expected none, standard or robust"),
        },
        center: numbers("center")?,
        spread: numbers("spread")?,
        weight: numbers("weight")?,
        log1p,
        columns,
    })
}

/// Row `row` of `values` scaled as `scaler` says, or none when a value is missing (or not above
/// −1 where ln(1 + x) applies). `indexes[j]` is the table column of the scaler's column j. The
/// arithmetic is `Scaler::transform`'s, so training and scoring agree to the bit.
pub fn scale_row(
    scaler: &Scaler,
    indexes: &[usize],
    values: &Array2<f64>,
    row: usize,
    out: &mut [f64],
) -> bool {
    for (j, index) in indexes.iter().enumerate() {
        let mut v = values[[row, *index]];
        if !v.is_finite() || (scaler.log1p[j] && v <= -1.0) {
            return false;
        }
        if scaler.log1p[j] {
            v = v.ln_1p();
        }
        out[j] = scaler.weight[j] * (v - scaler.center[j]) / scaler.spread[j];
    }
    true
}

/// `segments.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SegmentsFile {
    pub trained: TrainedScores,
    pub require_consent: Option<String>,
    pub lapsing_factor: f64,
    pub lost_factor: f64,
    pub loyal_purchase_days: f64,
    pub single_purchase_gap: f64,
    /// `rules.toml` beside it, or none without rule segments.
    pub rules_file: Option<String>,
}

/// One tier's cut: a candidate is in the tier when its ranking strength is above the last
/// member's, or equal with an id that sorts at or before the last member's.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TierCut {
    pub label: String,
    pub customers: usize,
    pub last_strength: f64,
    pub last_customer_id: String,
}

/// `audiences/NAME.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AudienceFile {
    pub name: String,
    pub columns: Vec<String>,
    pub scaling: Value,
    pub scorer: SavedScorer,
    pub require_consent: Option<String>,
    pub seeds_file: String,
    pub seeds: usize,
    pub candidates: usize,
    pub tiers: Vec<TierCut>,
    pub holdout: f64,
    pub salt: u64,
    pub seed_source: String,
}

/// The segmentation stage, ready to score.
pub struct SegmentStage {
    pub rules: RuleSet,
    pub params: SegmentParams,
    /// Feature columns it reads (for the input check).
    pub columns: Vec<String>,
}

/// The clustering stage.
pub struct ClusterStage {
    pub scaler: Scaler,
    pub centroids: Array2<f64>,
}

/// The value stage.
pub struct ValueStage {
    pub purchases: Purchases,
    pub spend: Option<GammaGamma>,
    pub horizon: Horizon,
}

/// One audience.
pub struct AudienceStage {
    pub file: AudienceFile,
    pub scaler: Scaler,
    pub scorer: Box<dyn Scorer>,
    pub seed_ids: HashSet<String>,
}

/// A model directory, read and checked.
pub struct TrainedModel {
    pub dir: PathBuf,
    pub manifest: Value,
    pub time_unit: String,
    pub top_levels: usize,
    pub segments: Option<SegmentStage>,
    pub clusters: Option<ClusterStage>,
    pub value: Option<ValueStage>,
    pub audiences: Vec<AudienceStage>,
}

/// The columns segmentation reads: its fixed inputs, the value and consent columns and the
/// feature columns its rules name (scores and labels are made on the way).
fn segment_columns(file: &SegmentsFile, rules: &RuleSet) -> Vec<String> {
    let mut columns: Vec<String> = [
        "days_since_last_purchase",
        "orders",
        "total_spend",
        "frequency",
        "mean_gap_days",
    ]
    .map(String::from)
    .to_vec();
    columns.push(file.trained.value_column.clone());
    columns.extend(file.require_consent.clone());
    const MADE: [&str; 6] = [
        "r_score",
        "f_score",
        "m_score",
        "rfm_segment",
        "lifecycle",
        "value_tier",
    ];
    for rule in rules.segments() {
        columns.extend(
            rule.columns()
                .into_iter()
                .filter(|c| !MADE.contains(c))
                .map(String::from),
        );
    }
    columns.sort();
    columns.dedup();
    columns
}

impl TrainedModel {
    /// Reads `dir`, refusing another format or version with what differs.
    pub fn load(dir: &Path) -> anyhow::Result<TrainedModel> {
        let manifest_path = dir.join("manifest.json");
        if !manifest_path.is_file() {
            bail!(
                "{} is not a model directory: it has no manifest.json (train one with `lookalike train --config FILE --out {}`)",
                dir.display(),
                dir.display()
            );
        }
        let manifest: Value = read_json(&manifest_path)?;
        let version = manifest["format_version"].as_u64();
        if manifest["format"] != MODEL_FORMAT || version != Some(MODEL_VERSION) {
            bail!(
                "{}: format {} version {}, but this lookalike ({}) reads {MODEL_FORMAT} version {MODEL_VERSION}; retrain the model with this version (`lookalike train`)",
                manifest_path.display(),
                manifest["format"],
                version.map_or("missing".to_string(), |v| v.to_string()),
                env!("CARGO_PKG_VERSION")
            );
        }
        let time_unit = manifest["features"]["time_unit"]
            .as_str()
            .unwrap_or("weeks")
            .to_string();
        let top_levels = manifest["features"]["top_levels"].as_u64().unwrap_or(8) as usize;
        let stage = |name: &str| manifest["stages"].get(name).filter(|v| !v.is_null());
        let segments = match stage("segments") {
            Some(_) => Some(load_segments(dir)?),
            None => None,
        };
        let clusters = match stage("clusters") {
            Some(_) => Some(load_clusters(&dir.join("clusters/model.json"))?),
            None => None,
        };
        let value = match stage("value") {
            Some(section) => {
                let (purchases, spend, unit) = value_model::load(&dir.join("value"))?;
                let horizon = value_model::horizon(
                    section["horizon"].as_f64().unwrap_or(12.0),
                    section["horizon_unit"].as_str().unwrap_or("months"),
                    unit.1,
                    section["discount"].as_f64().unwrap_or(0.01),
                    match section["month"].as_str() {
                        Some("lifetimes") => lookalike_value::MonthLength::Lifetimes,
                        _ => lookalike_value::MonthLength::Calendar,
                    },
                )?;
                Some(ValueStage {
                    purchases,
                    spend,
                    horizon,
                })
            }
            None => None,
        };
        let mut audiences = Vec::new();
        if let Some(list) = stage("audiences").and_then(Value::as_array) {
            for entry in list {
                let name = entry["name"]
                    .as_str()
                    .context("an audience without a name")?;
                audiences.push(load_audience(dir, name)?);
            }
        }
        Ok(TrainedModel {
            dir: dir.to_path_buf(),
            manifest,
            time_unit,
            top_levels,
            segments,
            clusters,
            value,
            audiences,
        })
    }

    /// Every feature column some stage reads, sorted.
    pub fn required_columns(&self) -> Vec<String> {
        let mut columns: Vec<String> = Vec::new();
        if let Some(s) = &self.segments {
            columns.extend(s.columns.iter().cloned());
        }
        if let Some(c) = &self.clusters {
            columns.extend(c.scaler.columns.iter().cloned());
        }
        if self.value.is_some() {
            columns.extend(["frequency", "recency", "T", "monetary_value"].map(String::from));
        }
        for a in &self.audiences {
            columns.extend(a.scaler.columns.iter().cloned());
            columns.extend(a.file.require_consent.clone());
        }
        columns.sort();
        columns.dedup();
        columns
    }
}

fn load_segments(dir: &Path) -> anyhow::Result<SegmentStage> {
    let file: SegmentsFile = read_json(&dir.join("segments.json"))?;
    let rules = match &file.rules_file {
        Some(name) => {
            let path = dir.join(name);
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            RuleSet::from_toml(&text).with_context(|| format!("in {}", path.display()))?
        }
        None => RuleSet::default(),
    };
    let lifecycle = LifecycleParams::default()
        .lapsing_factor(file.lapsing_factor)
        .lost_factor(file.lost_factor)
        .loyal_min_purchase_days(file.loyal_purchase_days)
        .single_purchase_gap_days(file.single_purchase_gap);
    let mut params = SegmentParams::new()
        .lifecycle(lifecycle)
        .trained(file.trained.clone());
    if let Some(column) = &file.require_consent {
        params = params.require_consent(column);
    }
    Ok(SegmentStage {
        columns: segment_columns(&file, &rules),
        rules,
        params,
    })
}

/// The scaler and centroids of a k-means `model.json`.
pub fn load_clusters(path: &Path) -> anyhow::Result<ClusterStage> {
    let model: Value = read_json(path)?;
    let columns: Vec<String> = serde_json::from_value(model["columns"].clone())
        .with_context(|| format!("{}: columns", path.display()))?;
    let scaler = scaler_from_json(columns, &model["scaling"])
        .with_context(|| format!("in {}", path.display()))?;
    let rows: Vec<Vec<f64>> = serde_json::from_value(model["centroids"].clone())
        .with_context(|| format!("{}: centroids", path.display()))?;
    let d = scaler.columns.len();
    if rows.is_empty() || rows.iter().any(|r| r.len() != d) {
        bail!(
            "{}: the centroids must be rows of {d} numbers",
            path.display()
        );
    }
    let centroids = Array2::from_shape_vec((rows.len(), d), rows.concat())?;
    Ok(ClusterStage { scaler, centroids })
}

fn load_audience(dir: &Path, name: &str) -> anyhow::Result<AudienceStage> {
    let path = dir.join("audiences").join(format!("{name}.json"));
    let file: AudienceFile = read_json(&path)?;
    let scaler = scaler_from_json(file.columns.clone(), &file.scaling)
        .with_context(|| format!("in {}", path.display()))?;
    let seeds_path = dir.join("audiences").join(&file.seeds_file);
    let seeds = read_feature_table(&seeds_path, None)
        .with_context(|| format!("reading the seed index {}", seeds_path.display()))?;
    if seeds.columns() != file.columns.as_slice() {
        bail!(
            "{}: its columns ({}) are not the audience's ({})",
            seeds_path.display(),
            seeds.columns().join(", "),
            file.columns.join(", ")
        );
    }
    let scorer = file
        .scorer
        .restore(seeds.values().view())
        .with_context(|| format!("restoring the scorer of {}", path.display()))?;
    let seed_ids = seeds
        .ids()
        .iter()
        .map(|id| id.as_str().to_string())
        .collect();
    Ok(AudienceStage {
        file,
        scaler,
        scorer,
        seed_ids,
    })
}
