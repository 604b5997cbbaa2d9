//! `manifest.json`: what was trained, on what, with which settings, and how well. The fields
//! scoring depends on are typed and checked; reports (metrics, fit diagnostics, the pipeline
//! as written) are kept as JSON for people and tools.

use std::collections::BTreeMap;

use lookalike_core::TimeUnit;
use lookalike_value::{HorizonUnit, MonthLength};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::forget::ErasureRecord;
use crate::inventory::DataHeld;

/// `manifest.json`'s `format`.
pub const MODEL_FORMAT: &str = "lookalike-model";
/// The model directory layout this build reads and writes; any change to a file's meaning bumps
/// it, and loading refuses other versions.
pub const MODEL_VERSION: u64 = 1;

/// The manifest of a model directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`MODEL_FORMAT`].
    pub format: String,
    /// [`MODEL_VERSION`] when written by this build.
    pub format_version: u64,
    /// `lookalike`.
    pub tool: String,
    /// The version of the tool that trained it.
    pub tool_version: String,
    /// When, RFC 3339 in UTC.
    pub created_at: String,
    /// The as-of date of the training features.
    pub as_of: String,
    /// Fingerprints of the input files (path, bytes, xxh3-64, kind, rows).
    pub inputs: Vec<Value>,
    /// Customers in the training features.
    pub customers: usize,
    /// How the features were built.
    pub features: FeatureSettings,
    /// The pipeline file as trained.
    pub pipeline: Value,
    /// Each stage's file and report.
    pub stages: Stages,
    /// Per file: whether it holds customer-level data, and what (models trained before the
    /// inventory have none).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub data_inventory: BTreeMap<String, DataHeld>,
    /// Each erasure of customers from the model, oldest first (never the ids).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub erasures: Vec<ErasureRecord>,
    /// When the model was trained on pseudonymous ids: the method and the key's fingerprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pseudonymized: Option<PseudonymRecord>,
}

/// How a model's ids were pseudonymized: never the key, only its fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PseudonymRecord {
    /// `hmac-sha256`.
    pub method: String,
    /// `Pseudonymizer::fingerprint` of the key.
    pub key_fingerprint: String,
}

/// How the training features were built: scoring from logs builds them the same way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureSettings {
    /// Unit of recency and T.
    pub time_unit: TimeUnit,
    /// Levels per categorical feature that got their own column.
    pub top_levels: usize,
    /// The training features' columns.
    pub columns: Vec<String>,
}

/// The stages of the model.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Stages {
    /// Segmentation (`segments.json`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segments: Option<StageEntry>,
    /// Clustering (`clusters/model.json`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clusters: Option<StageEntry>,
    /// The value model (`value/value_model.json`) and its CLV horizon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<ValueEntry>,
    /// Audiences (`audiences/NAME.json`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub audiences: Vec<AudienceEntry>,
}

/// A stage's file and its report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageEntry {
    /// The stage's file, relative to the model folder.
    pub file: String,
    /// Everything else: the stage's settings, metrics and report.
    #[serde(flatten)]
    pub report: Map<String, Value>,
}

/// The value stage: its file, the CLV horizon and the fits' report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValueEntry {
    /// `value/value_model.json`.
    pub file: String,
    /// Horizon length.
    pub horizon: f64,
    /// Its unit.
    pub horizon_unit: HorizonUnit,
    /// Discount rate per month.
    pub discount: f64,
    /// Month length.
    pub month: MonthLength,
    /// The purchase model's parameters and diagnostics.
    pub purchases: Value,
    /// The spend model's parameters and diagnostics.
    pub spend: Value,
}

/// One audience.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AudienceEntry {
    /// Its name (column prefix).
    pub name: String,
    /// `audiences/NAME.json`.
    pub file: String,
    /// The scorer's name.
    pub scorer: String,
    /// How `auto` chose it: each single scorer's cross-validated recall of hidden seeds.
    #[serde(default)]
    pub selection: Option<Value>,
    /// Where the seeds came from.
    pub seed_source: String,
    /// Seeds used.
    pub seeds: usize,
    /// Candidates scored.
    pub candidates: usize,
    /// The tier cuts (also in the audience file).
    pub tiers: Value,
}
