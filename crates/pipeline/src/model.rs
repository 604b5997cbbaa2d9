//! The trained pipeline as one value: every stage's model, read from a model directory (or a
//! byte image of one) and checked field by field, and written back whole.
//!
//! ```text
//! manifest.json                 what was trained, on what, with which settings, and how well
//! segments.json, rules.toml     RFM edges, value-tier thresholds, lifecycle, rule segments
//! clusters/model.json           scaler and centroids (the `lookalike cluster` format)
//! value/value_model.json        BG/NBD or Pareto/NBD and Gamma-Gamma (the `lookalike value` format)
//! audiences/NAME.json           scorer, scaler, tier cuts, control group of audience NAME
//! audiences/NAME_seeds.parquet  its seed customers with their scaled features (the seed index)
//! ```

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Component, Path, PathBuf};

use lookalike_audience::{AudienceModel, AudienceSettings};
use lookalike_cluster::ClusterModel;
use lookalike_core::{CustomerId, FeatureSchema, FeatureTable, TimeUnit};
use lookalike_rfm::{FLAG_INPUTS, SegmentModel, SegmentSettings};
use lookalike_value::{GammaGamma, HorizonSpec, PurchaseKind, Purchases, ValueModel};
use ndarray::Array2;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::PipelineError;
use crate::manifest::{MODEL_FORMAT, MODEL_VERSION, Manifest};

/// Every document of a model, in memory: what a model directory holds, and what
/// [`PipelineModel::to_bytes`] writes. [`PipelineModel::from_documents`] checks them all.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelDocuments {
    /// `manifest.json`.
    pub manifest: Value,
    /// `segments.json`.
    pub segments: Option<Value>,
    /// The rules file's text.
    pub rules: Option<String>,
    /// `clusters/model.json`.
    pub clusters: Option<Value>,
    /// `value/value_model.json`.
    pub value: Option<Value>,
    /// Each audience's settings and seed index.
    pub audiences: Vec<AudienceDocument>,
    /// Files kept for people (e.g. `clusters/profiles.csv`), by path in the folder.
    pub extras: BTreeMap<String, String>,
}

/// One audience's file and seed index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AudienceDocument {
    /// `audiences/NAME.json`.
    pub settings: Value,
    /// The seeds' ids, in index order.
    pub seed_ids: Vec<String>,
    /// Their scaled rows.
    pub seed_rows: Vec<Vec<f64>>,
}

/// The purchase and spend models of a `value_model.json` and the unit they were fitted in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ValueFit {
    /// The purchase model.
    pub purchases: Purchases,
    /// Gamma-Gamma, when it could be fitted.
    pub spend: Option<GammaGamma>,
    /// The unit of recency and T.
    pub time_unit: TimeUnit,
}

/// Format version of `value_model.json`.
pub const VALUE_FORMAT_VERSION: u64 = 1;

#[derive(Deserialize)]
struct ValueModelFile {
    format_version: u64,
    kind: String,
    time_unit: TimeUnit,
    purchases: PurchasesSection,
    spend: SpendSection,
}

#[derive(Deserialize)]
struct PurchasesSection {
    kind: PurchaseKind,
    parameters: BTreeMap<String, f64>,
}

#[derive(Deserialize)]
struct SpendSection {
    kind: Option<String>,
    #[serde(default)]
    parameters: Option<BTreeMap<String, f64>>,
}

impl ValueFit {
    /// Reads a `value_model.json` document; `file` names it in errors. Refuses another format
    /// version, an unknown model, a missing or out-of-range parameter.
    pub fn from_json(document: &Value, file: &str) -> Result<ValueFit, PipelineError> {
        let stored: ValueModelFile = parse(document, file)?;
        if stored.kind != "lookalike-value" || stored.format_version != VALUE_FORMAT_VERSION {
            return Err(PipelineError::Document {
                file: file.into(),
                message: format!(
                    "not a lookalike value model of format version {VALUE_FORMAT_VERSION} (kind {:?}, version {})",
                    stored.kind, stored.format_version
                ),
            });
        }
        let bad = |field: &str, message: String| PipelineError::BadValue {
            file: file.into(),
            field: field.into(),
            message,
        };
        let purchases =
            Purchases::from_parameters(stored.purchases.kind, &stored.purchases.parameters)
                .map_err(|e| bad("purchases.parameters", e.to_string()))?;
        let spend = match stored.spend.kind.as_deref() {
            Some("gamma_gamma") => {
                let p = stored.spend.parameters.unwrap_or_default();
                let get = |name: &str| {
                    p.get(name)
                        .copied()
                        .ok_or_else(|| bad("spend.parameters", format!("{name} is missing")))
                };
                Some(
                    GammaGamma::new(get("p")?, get("q")?, get("gamma")?)
                        .map_err(|e| bad("spend.parameters", e.to_string()))?,
                )
            }
            None => None,
            Some(other) => {
                return Err(bad(
                    "spend.kind",
                    format!("{other:?}: expected \"gamma_gamma\" or null"),
                ));
            }
        };
        Ok(ValueFit {
            purchases,
            spend,
            time_unit: stored.time_unit,
        })
    }
}

/// A trained pipeline: [`PipelineModel::transform`] scores feature rows with every stage.
#[derive(Debug)]
pub struct PipelineModel {
    pub(crate) documents: ModelDocuments,
    pub(crate) manifest: Manifest,
    pub(crate) segments: Option<SegmentModel>,
    pub(crate) clusters: Option<ClusterModel>,
    pub(crate) value: Option<ValueModel>,
    pub(crate) audiences: Vec<AudienceModel>,
    /// Every feature column some stage reads, sorted.
    pub(crate) required: Vec<String>,
}

fn parse<T: for<'de> Deserialize<'de>>(document: &Value, file: &str) -> Result<T, PipelineError> {
    T::deserialize(document).map_err(|e| PipelineError::Document {
        file: file.into(),
        message: e.to_string(),
    })
}

/// Whether `path` is a relative path of plain names (no `..`, no root, no prefix).
fn stays_inside(path: &str) -> bool {
    !path.is_empty()
        && Path::new(path)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
}

fn checked_path(path: &str, file: &str, field: &str) -> Result<(), PipelineError> {
    if stays_inside(path) {
        Ok(())
    } else {
        Err(PipelineError::PathOutside {
            file: file.into(),
            field: field.into(),
            path: path.into(),
        })
    }
}

fn read_text(path: &Path) -> Result<String, PipelineError> {
    std::fs::read_to_string(path).map_err(|source| PipelineError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn read_json(path: &Path) -> Result<Value, PipelineError> {
    serde_json::from_str(&read_text(path)?).map_err(|e| PipelineError::Document {
        file: path.display().to_string(),
        message: e.to_string(),
    })
}

impl PipelineModel {
    /// Reads a model directory, checking every value and every path it reads; refuses another
    /// format version, a time-unit mismatch between stages, out-of-range values, a path leaving
    /// the folder, a missing or truncated file — naming the file and the field.
    pub fn load(dir: &Path) -> Result<PipelineModel, PipelineError> {
        let manifest_path = dir.join("manifest.json");
        if !manifest_path.is_file() {
            return Err(PipelineError::NotAModel(dir.to_path_buf()));
        }
        let manifest_value = read_json(&manifest_path)?;
        let origin = dir.display().to_string();
        let manifest = check_manifest(&manifest_value, &origin)?;
        let manifest_file = manifest_path.display().to_string();
        let mut documents = ModelDocuments {
            manifest: manifest_value,
            segments: None,
            rules: None,
            clusters: None,
            value: None,
            audiences: Vec::new(),
            extras: BTreeMap::new(),
        };
        if let Some(entry) = &manifest.stages.segments {
            checked_path(&entry.file, &manifest_file, "stages.segments.file")?;
            let path = dir.join(&entry.file);
            let segments = read_json(&path)?;
            if let Some(rules) = segments.get("rules_file").and_then(Value::as_str) {
                checked_path(rules, &path.display().to_string(), "rules_file")?;
                documents.rules = Some(read_text(&dir.join(rules))?);
            }
            documents.segments = Some(segments);
        }
        if let Some(entry) = &manifest.stages.clusters {
            checked_path(&entry.file, &manifest_file, "stages.clusters.file")?;
            documents.clusters = Some(read_json(&dir.join(&entry.file))?);
            let profiles = Path::new(&entry.file).with_file_name("profiles.csv");
            if let Ok(text) = std::fs::read_to_string(dir.join(&profiles)) {
                documents
                    .extras
                    .insert(profiles.display().to_string(), text);
            }
        }
        if let Some(entry) = &manifest.stages.value {
            checked_path(&entry.file, &manifest_file, "stages.value.file")?;
            documents.value = Some(read_json(&dir.join(&entry.file))?);
        }
        for (i, entry) in manifest.stages.audiences.iter().enumerate() {
            let field = format!("stages.audiences[{i}].file");
            checked_path(&entry.file, &manifest_file, &field)?;
            let path = dir.join(&entry.file);
            let settings_value = read_json(&path)?;
            let file = path.display().to_string();
            let settings: AudienceSettings = parse(&settings_value, &file)?;
            checked_path(&settings.seeds_file, &file, "seeds_file")?;
            let seeds_path = path.with_file_name(&settings.seeds_file);
            // Scaled rows: a column named monetary_value may be below 0 here.
            let seeds = lookalike_features::read_scaled_table(&seeds_path)?;
            if seeds.columns() != settings.columns.as_slice() {
                return Err(PipelineError::BadValue {
                    file: seeds_path.display().to_string(),
                    field: "columns".into(),
                    message: format!(
                        "{} are not the audience's columns ({})",
                        seeds.columns().join(", "),
                        settings.columns.join(", ")
                    ),
                });
            }
            documents.audiences.push(AudienceDocument {
                settings: settings_value,
                seed_ids: seeds
                    .ids()
                    .iter()
                    .map(|id| id.as_str().to_string())
                    .collect(),
                seed_rows: seeds
                    .values()
                    .rows()
                    .into_iter()
                    .map(|r| r.to_vec())
                    .collect(),
            });
        }
        PipelineModel::from_documents(documents, &origin)
    }

    /// The model of `documents`, every stage checked; `origin` (a folder, or a name for a byte
    /// image) prefixes the file names in errors.
    pub fn from_documents(
        documents: ModelDocuments,
        origin: &str,
    ) -> Result<PipelineModel, PipelineError> {
        let file = |name: &str| format!("{origin}/{name}");
        let manifest = check_manifest(&documents.manifest, origin)?;
        let stages = &manifest.stages;
        let bad = |file: String, field: &str, message: String| PipelineError::BadValue {
            file,
            field: field.into(),
            message,
        };
        let segments = match (&stages.segments, &documents.segments) {
            (Some(entry), Some(document)) => {
                let name = file(&entry.file);
                let settings: SegmentSettings = parse(document, &name)?;
                if let Some(rules) = &settings.rules_file {
                    checked_path(rules, &name, "rules_file")?;
                }
                let flags = FLAG_INPUTS
                    .iter()
                    .all(|c| manifest.features.columns.iter().any(|f| f == c));
                Some(
                    SegmentModel::new(settings, documents.rules.clone(), flags)
                        .map_err(|e| bad(name, "segments", e.to_string()))?,
                )
            }
            (None, _) => None,
            (Some(entry), None) => return Err(missing(&file(&entry.file))),
        };
        let clusters = match (&stages.clusters, &documents.clusters) {
            (Some(entry), Some(document)) => {
                Some(parse::<ClusterModel>(document, &file(&entry.file))?)
            }
            (None, _) => None,
            (Some(entry), None) => return Err(missing(&file(&entry.file))),
        };
        let value = match (&stages.value, &documents.value) {
            (Some(entry), Some(document)) => {
                let name = file(&entry.file);
                let fit = ValueFit::from_json(document, &name)?;
                if fit.time_unit != manifest.features.time_unit {
                    return Err(PipelineError::TimeUnitMismatch {
                        file: name,
                        value_unit: fit.time_unit.to_string(),
                        features_unit: manifest.features.time_unit.to_string(),
                    });
                }
                let spec = HorizonSpec {
                    horizon: entry.horizon,
                    horizon_unit: entry.horizon_unit,
                    discount: entry.discount,
                    month: entry.month,
                };
                Some(
                    ValueModel::new(fit.purchases, fit.spend, fit.time_unit.days(), spec)
                        .map_err(|e| bad(file("manifest.json"), "stages.value", e.to_string()))?,
                )
            }
            (None, _) => None,
            (Some(entry), None) => return Err(missing(&file(&entry.file))),
        };
        if stages.audiences.len() != documents.audiences.len() {
            return Err(bad(
                file("manifest.json"),
                "stages.audiences",
                format!(
                    "{} audiences listed but {} given",
                    stages.audiences.len(),
                    documents.audiences.len()
                ),
            ));
        }
        let mut audiences = Vec::with_capacity(stages.audiences.len());
        for (entry, document) in stages.audiences.iter().zip(&documents.audiences) {
            let name = file(&entry.file);
            let settings: AudienceSettings = parse(&document.settings, &name)?;
            if settings.name != entry.name {
                return Err(bad(
                    name,
                    "name",
                    format!(
                        "{:?}, but the manifest lists {:?}",
                        settings.name, entry.name
                    ),
                ));
            }
            let d = settings.columns.len();
            if let Some(row) = document.seed_rows.iter().position(|r| r.len() != d) {
                return Err(bad(
                    name,
                    "seed index",
                    format!("seed row {row} is not {d} numbers"),
                ));
            }
            let rows =
                Array2::from_shape_vec((document.seed_rows.len(), d), document.seed_rows.concat())
                    .map_err(|e| bad(name.clone(), "seed index", e.to_string()))?;
            audiences.push(
                AudienceModel::new(settings, document.seed_ids.clone(), rows)
                    .map_err(|e| bad(name, "audience", e.to_string()))?,
            );
        }
        let mut required: Vec<String> = Vec::new();
        if let Some(s) = &segments {
            required.extend(s.required_columns());
        }
        if let Some(c) = &clusters {
            required.extend(c.columns().iter().cloned());
        }
        if value.is_some() {
            required.extend(ValueModel::COLUMNS.map(String::from));
        }
        for a in &audiences {
            required.extend(a.required_columns().into_iter().map(String::from));
        }
        required.sort();
        required.dedup();
        Ok(PipelineModel {
            documents,
            manifest,
            segments,
            clusters,
            value,
            audiences,
            required,
        })
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The documents the model was built from.
    pub fn documents(&self) -> &ModelDocuments {
        &self.documents
    }

    /// The segmentation stage.
    pub fn segments(&self) -> Option<&SegmentModel> {
        self.segments.as_ref()
    }

    /// The clustering stage.
    pub fn clusters(&self) -> Option<&ClusterModel> {
        self.clusters.as_ref()
    }

    /// The value stage.
    pub fn value(&self) -> Option<&ValueModel> {
        self.value.as_ref()
    }

    /// The audiences.
    pub fn audiences(&self) -> &[AudienceModel] {
        &self.audiences
    }

    /// The whole model as bytes (one JSON document), to broadcast to workers.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(&self.documents).expect("documents of JSON values serialise")
    }

    /// The model back from [`PipelineModel::to_bytes`], checked like [`PipelineModel::load`].
    pub fn from_bytes(bytes: &[u8]) -> Result<PipelineModel, PipelineError> {
        let documents: ModelDocuments =
            serde_json::from_slice(bytes).map_err(|e| PipelineError::Document {
                file: "model bytes".into(),
                message: e.to_string(),
            })?;
        PipelineModel::from_documents(documents, "model bytes")
    }

    /// Writes the model directory `dir`: built in a fresh folder beside it and swapped into
    /// place whole, so a failed or killed save leaves the previous model. A folder that exists
    /// and holds anything but a model is refused.
    pub fn save(&self, dir: &Path) -> Result<(), PipelineError> {
        check_model_destination(dir)?;
        let parent = match dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent).map_err(io_error(&parent))?;
        // Built beside `dir` and swapped in whole (at the end of the run when a front end
        // batches its outputs); what `dir` may hold was checked just above.
        let staged = lookalike_core::stage_folder(dir, |_| true)?;
        self.write_files(staged.path())?;
        staged.publish()?;
        Ok(())
    }

    fn write_files(&self, root: &Path) -> Result<(), PipelineError> {
        let docs = &self.documents;
        let stages = &self.manifest.stages;
        write_json(&root.join("manifest.json"), &docs.manifest)?;
        if let (Some(entry), Some(doc)) = (&stages.segments, &docs.segments) {
            write_json(&root.join(&entry.file), doc)?;
            if let (Some(rules), Some(text)) = (
                self.segments
                    .as_ref()
                    .and_then(|s| s.settings().rules_file.as_ref()),
                &docs.rules,
            ) {
                write_bytes(
                    &root.join(&entry.file).with_file_name(rules),
                    text.as_bytes(),
                )?;
            }
        }
        if let (Some(entry), Some(doc)) = (&stages.clusters, &docs.clusters) {
            write_json(&root.join(&entry.file), doc)?;
        }
        if let (Some(entry), Some(doc)) = (&stages.value, &docs.value) {
            write_json(&root.join(&entry.file), doc)?;
        }
        for (path, text) in &docs.extras {
            if stays_inside(path) {
                write_bytes(&root.join(path), text.as_bytes())?;
            }
        }
        for ((entry, doc), audience) in stages
            .audiences
            .iter()
            .zip(&docs.audiences)
            .zip(&self.audiences)
        {
            let path = root.join(&entry.file);
            write_json(&path, &doc.settings)?;
            let seeds = FeatureTable::new(
                audience
                    .seed_ids()
                    .iter()
                    .map(|id| CustomerId::from(id.as_str()))
                    .collect(),
                audience.settings().columns.clone(),
                audience.seed_rows().to_owned(),
            )
            .map_err(|e| PipelineError::Document {
                file: path.display().to_string(),
                message: e.to_string(),
            })?;
            let seeds_path = path.with_file_name(&audience.settings().seeds_file);
            lookalike_features::write_feature_table(
                &seeds,
                &FeatureSchema::new(Vec::new()),
                &seeds_path,
                None,
            )?;
            // The schema beside a seed index says nothing the audience file does not.
            let _ = std::fs::remove_file(FeatureSchema::path_beside(&seeds_path));
        }
        Ok(())
    }
}

fn missing(file: &str) -> PipelineError {
    PipelineError::Document {
        file: file.into(),
        message: "the manifest lists this stage but its file is missing".into(),
    }
}

/// The manifest, refused unless it is this build's format and version.
fn check_manifest(document: &Value, origin: &str) -> Result<Manifest, PipelineError> {
    let file = format!("{origin}/manifest.json");
    let format = document.get("format").and_then(Value::as_str);
    let version = document.get("format_version").and_then(Value::as_u64);
    if format != Some(MODEL_FORMAT) || version != Some(MODEL_VERSION) {
        return Err(PipelineError::FormatVersion {
            file,
            format: format.map_or_else(|| "missing".into(), |f| format!("{f:?}")),
            version: version.map_or_else(|| "missing".into(), |v| v.to_string()),
            expected: MODEL_VERSION,
            tool: env!("CARGO_PKG_VERSION"),
        });
    }
    parse(document, &file)
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> PipelineError + '_ {
    move |source| PipelineError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn write_bytes(path: &Path, bytes: &[u8]) -> Result<(), PipelineError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io_error(parent))?;
    }
    std::fs::write(path, bytes).map_err(io_error(path))
}

/// Writes a JSON document, pretty-printed, atomically.
pub fn write_json(path: &Path, document: &impl Serialize) -> Result<(), PipelineError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io_error(parent))?;
    }
    lookalike_core::write_atomically(path, |w| {
        serde_json::to_writer_pretty(&mut *w, document).map_err(std::io::Error::other)?;
        w.write_all(b"\n")
    })
    .map_err(|e| PipelineError::Document {
        file: path.display().to_string(),
        message: e.to_string(),
    })
}

/// Refuses a destination that exists and holds anything but a model (an empty folder or a
/// previous model may be replaced). [`PipelineModel::save`] checks it; a trainer can check it
/// before the long work.
pub fn check_model_destination(out: &Path) -> Result<(), PipelineError> {
    if out.exists() {
        let is_model = out.join("manifest.json").is_file();
        let empty = out.read_dir().map_err(io_error(out))?.next().is_none();
        if !is_model && !empty {
            return Err(PipelineError::Document {
                file: out.display().to_string(),
                message: "the folder exists and is not a model directory (no manifest.json); refusing to replace it".into(),
            });
        }
    }
    Ok(())
}
