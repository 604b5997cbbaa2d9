use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::{CoreError, write_atomically};

/// What kind of number a feature is, so that later stages know how to treat it (scale it, keep
/// it out of clustering, use it as a target).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeatureKind {
    /// A non-negative whole number (orders, views).
    Count,
    /// A real quantity: money, durations.
    Real,
    /// A fraction in [0, 1].
    Share,
    /// 0 or 1.
    Binary,
    /// 0 or 1 indicator of one level of a categorical attribute.
    OneHot,
    /// A holdout target: measured after the as-of date, never a model input.
    Target,
}

/// One column of a feature table, described for people and programs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureSpec {
    /// Column name.
    pub name: String,
    /// Kind of number.
    pub kind: FeatureKind,
    /// Unit, when it has one (`days`, `weeks`, `currency`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub unit: Option<String>,
    /// What it means, and when it is missing.
    pub description: String,
}

/// The `<out>.schema.json` written beside every feature table.
///
/// ```
/// use lookalike_core::{FeatureKind, FeatureSchema, FeatureSpec};
/// let schema = FeatureSchema::new(vec![FeatureSpec {
///     name: "orders".into(),
///     kind: FeatureKind::Count,
///     unit: None,
///     description: "distinct orders".into(),
/// }]);
/// assert_eq!(schema.feature_names(), vec!["orders"]);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureSchema {
    /// Format version of this document.
    pub format_version: u32,
    /// The id column's name (always `customer_id`).
    pub id_column: String,
    /// Facts about how the table was made (as-of date, time unit, inputs, counts).
    #[serde(default)]
    pub provenance: serde_json::Map<String, serde_json::Value>,
    /// The feature columns, in table order.
    pub features: Vec<FeatureSpec>,
}

impl FeatureSchema {
    /// Version written by this build.
    pub const FORMAT_VERSION: u32 = 1;

    /// A schema for these features with empty provenance.
    pub fn new(features: Vec<FeatureSpec>) -> Self {
        FeatureSchema {
            format_version: Self::FORMAT_VERSION,
            id_column: "customer_id".into(),
            provenance: serde_json::Map::new(),
            features,
        }
    }

    /// The feature names in table order.
    pub fn feature_names(&self) -> Vec<&str> {
        self.features.iter().map(|f| f.name.as_str()).collect()
    }

    /// Writes the schema as pretty JSON, atomically.
    pub fn write(&self, path: &Path) -> Result<(), CoreError> {
        write_atomically(path, |w| {
            serde_json::to_writer_pretty(&mut *w, self)?;
            w.write_all(b"\n")
        })
    }

    /// Reads a schema written by [`FeatureSchema::write`].
    pub fn read(path: &Path) -> Result<Self, CoreError> {
        let text = std::fs::read_to_string(path).map_err(|source| CoreError::Write {
            path: path.to_path_buf(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|source| CoreError::Json {
            path: path.to_path_buf(),
            source,
        })
    }

    /// The path of the schema that belongs to a feature table at `table`.
    pub fn path_beside(table: &Path) -> std::path::PathBuf {
        let mut name = table.as_os_str().to_owned();
        name.push(".schema.json");
        name.into()
    }
}

use std::io::Write as _;
