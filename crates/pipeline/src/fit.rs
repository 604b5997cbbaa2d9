//! Training: every stage a [`PipelineSpec`] names, fitted on one feature table, assembled into a
//! [`PipelineModel`] (checked as loading checks it) with a [`TrainingReport`] of what each stage
//! found. The stages are the same library calls the subcommands make (`segment`, `cluster`,
//! `value fit`, `expand`), so a trained stage is what its subcommand makes.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::Path;

use lookalike_audience::{Audience, ExpandParams};
use lookalike_cluster::{ClusterEvent, ClusterProfile, Clustering, cluster_table_watched};
use lookalike_core::{FeatureTable, Progress};
use lookalike_features::{Extraction, FeatureInputs};
use lookalike_rfm::{
    LifecycleParams, RuleSet, SegmentParams, SegmentReport, SegmentSettings, Segmentation,
    TrainedScores, report, segment,
};
use lookalike_value::{FitOptions, Prediction};
use serde_json::{Value, json};

use crate::audience_fit::{AudienceInputs, fit_audiences};
use crate::inventory::data_inventory;
use crate::{
    AudienceSpec, IdList, MODEL_FORMAT, MODEL_VERSION, ModelDocuments, PipelineError,
    PipelineModel, PipelineSpec, Prepared, SegmentSpec, ValueTraining, predict_table,
};

/// What training reads besides the feature table: the files the pipeline file names, read by
/// the front end, and the provenance the manifest records.
#[derive(Debug, Clone, Default)]
pub struct TrainingInputs {
    /// The text of the segment rules file (`[segments] rules`), when there is one.
    pub segment_rules: Option<String>,
    /// The seed list of each audience that names a seed file, by audience name.
    pub seed_lists: BTreeMap<String, IdList>,
    /// The date the features were computed as of.
    pub as_of: String,
    /// The input files (path, size, hash, rows), as the manifest lists them.
    pub inputs: Vec<Value>,
    /// How the feature table is named in documents and messages (a file, or "the features").
    pub features_name: String,
    /// When the ids are pseudonyms: the key's record (`Pseudonymizer::record`), which the
    /// manifest keeps so that scoring with another key, or none, is refused.
    pub pseudonymized: Option<Value>,
}

impl TrainingInputs {
    /// Reads what `spec` names besides the logs — the segment rules file and each audience's
    /// seed list — and records the provenance of `extraction` (the features of the spec's
    /// input): the as-of date and each input file's size, xxh3-64 hash and rows.
    pub fn read(
        spec: &PipelineSpec,
        extraction: &Extraction,
        features_name: &str,
    ) -> Result<TrainingInputs, PipelineError> {
        TrainingInputs::read_with(spec, &spec.input.inputs()?, extraction, features_name)
    }

    /// The seed list of each audience of `spec` that names a seed file, by audience name.
    pub fn seed_lists_of(spec: &PipelineSpec) -> Result<BTreeMap<String, IdList>, PipelineError> {
        let mut seed_lists = BTreeMap::new();
        for audience in &spec.audiences {
            if let Some(path) = &audience.seeds {
                seed_lists.insert(audience.name.clone(), IdList::read(path, None)?);
            }
        }
        Ok(seed_lists)
    }

    /// [`TrainingInputs::read`] for features extracted from `logs` (files, or in-memory tables,
    /// which are recorded by name and rows, without a hash).
    pub fn read_with(
        spec: &PipelineSpec,
        logs: &FeatureInputs,
        extraction: &Extraction,
        features_name: &str,
    ) -> Result<TrainingInputs, PipelineError> {
        let read_text = |path: &Path| {
            std::fs::read_to_string(path).map_err(|source| PipelineError::Io {
                path: path.to_path_buf(),
                source,
            })
        };
        let segment_rules = match spec.segments.as_ref().and_then(|s| s.rules.as_ref()) {
            Some(path) => Some(read_text(path)?),
            None => None,
        };
        let seed_lists = TrainingInputs::seed_lists_of(spec)?;
        let files = [
            Some(&logs.transactions),
            logs.events.as_ref(),
            logs.customers.as_ref(),
        ];
        let mut inputs = Vec::new();
        for (input, report) in files.into_iter().flatten().zip(&extraction.inputs) {
            let mut record = match input.table {
                Some(_) => json!({ "path": input.path.display().to_string(), "table": true }),
                None => fingerprint(&input.path)?,
            };
            record["kind"] = json!(report.kind.prefix());
            record["rows"] = json!(report.rows);
            record["rows_skipped"] = json!(report.skipped);
            inputs.push(record);
        }
        Ok(TrainingInputs {
            segment_rules,
            seed_lists,
            as_of: extraction.as_of.to_string(),
            inputs,
            features_name: features_name.to_string(),
            pseudonymized: None,
        })
    }

    /// The inputs of a training on pseudonymous ids: each seed list's ids replaced by their
    /// pseudonyms under `key` (the lists are written with the customers' own ids), and the
    /// key's record kept for the manifest. The features must be pseudonymized with the same
    /// key (`Extraction::pseudonymized`).
    pub fn pseudonymized(mut self, key: &lookalike_core::Pseudonymizer) -> TrainingInputs {
        for list in self.seed_lists.values_mut() {
            for id in &mut list.ids {
                *id = key.pseudonym(id);
            }
        }
        self.pseudonymized = Some(key.record());
        self
    }

    /// How the features are named in documents ("the features" when not set).
    pub(crate) fn name_of_features(&self) -> &str {
        if self.features_name.is_empty() {
            "the features"
        } else {
            &self.features_name
        }
    }

    /// An error when `spec` names a segment rules file and its text was not read.
    pub(crate) fn check_rules_read(&self, spec: &PipelineSpec) -> Result<(), PipelineError> {
        match spec.segments.as_ref().and_then(|s| s.rules.as_ref()) {
            Some(path) if self.segment_rules.is_none() => Err(PipelineError::Document {
                file: path.display().to_string(),
                message: "the segment rules were not read (TrainingInputs::read reads them)".into(),
            }),
            _ => Ok(()),
        }
    }
}

/// Hash (xxh3-64, hex), size and path of an input file (a dataset folder: of its files, in
/// name order).
fn fingerprint(path: &Path) -> Result<Value, PipelineError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| PipelineError::Io { path, source }
    };
    let mut files = vec![path.to_path_buf()];
    if path.is_dir() {
        files = std::fs::read_dir(path)
            .map_err(io(path))?
            .map(|entry| entry.map(|e| e.path()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(io(path))?;
        files.retain(|f| f.is_file());
        files.sort();
    }
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    let mut buffer = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    for file in &files {
        let mut reader = std::fs::File::open(file).map_err(io(file))?;
        loop {
            let read = reader.read(&mut buffer).map_err(io(file))?;
            if read == 0 {
                break;
            }
            hasher.update(&buffer[..read]);
            bytes += read as u64;
        }
    }
    Ok(json!({
        "path": path.display().to_string(),
        "bytes": bytes,
        "xxh3_64": format!("{:016x}", hasher.digest()),
    }))
}

/// The segment stage: every customer's scores and segments, and the report.
#[derive(Debug, Clone)]
pub struct SegmentTraining {
    /// Per customer, in table order.
    pub segmentation: Segmentation,
    /// Sizes, revenue and warnings per segment.
    pub report: SegmentReport,
}

/// The value stage: the fits and every customer's prediction over the `[value]` horizon.
#[derive(Debug, Clone)]
pub struct ValueStageReport {
    /// The fitted models and their reports.
    pub training: ValueTraining,
    /// Per customer, in table order (None: no purchase).
    pub predictions: Vec<Option<Prediction>>,
}

/// One audience as trained.
#[derive(Debug)]
pub struct AudienceTraining {
    /// Its name.
    pub name: String,
    /// The members, tiers and control group on the training base.
    pub audience: Audience,
    /// Its scaled pool (seeds and candidates) and the notes on who was left out.
    pub prepared: Prepared,
}

/// What each stage found on the training base.
#[derive(Debug, Default)]
pub struct TrainingReport {
    /// Segments, when the spec has them.
    pub segments: Option<SegmentTraining>,
    /// Clusters.
    pub clusters: Option<Clustering>,
    /// Value.
    pub value: Option<ValueStageReport>,
    /// Audiences, in spec order.
    pub audiences: Vec<AudienceTraining>,
}

/// The rule set of the rules file's text (none: RFM segments only).
pub(crate) fn rule_set(rules: Option<&str>) -> Result<RuleSet, PipelineError> {
    Ok(match rules {
        Some(text) => RuleSet::from_toml(text)?,
        None => RuleSet::default(),
    })
}

/// The segmentation settings of `[segments]`.
pub(crate) fn segment_params(spec: &SegmentSpec) -> SegmentParams {
    let lifecycle = LifecycleParams::default()
        .lapsing_factor(spec.lapsing_factor)
        .lost_factor(spec.lost_factor)
        .loyal_min_purchase_days(spec.loyal_purchase_days)
        .single_purchase_gap_days(spec.single_purchase_gap);
    let mut params = SegmentParams::new()
        .bins(spec.bins)
        .value_column(&spec.value_column)
        .lifecycle(lifecycle);
    if let Some(column) = &spec.require_consent {
        params = params.require_consent(column);
    }
    params
}

/// Segments `table` as `spec` says, with the rules of `rules` (TOML text).
pub fn segment_table(
    table: &FeatureTable,
    spec: &SegmentSpec,
    rules: Option<&str>,
) -> Result<SegmentTraining, PipelineError> {
    let rules = rule_set(rules)?;
    let params = segment_params(spec);
    let segmentation = segment(table, &rules, &params)?;
    let report = report(table, &segmentation, &spec.test_checks())?;
    Ok(SegmentTraining {
        segmentation,
        report,
    })
}

/// `profiles.csv`: one row per cluster with its size, share, what sets it apart and every raw
/// feature mean (empty when undefined).
pub fn profiles_csv(columns: &[String], profiles: &[ClusterProfile]) -> String {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<&str> = vec!["cluster", "size", "share", "distinguishing"];
    header.extend(columns.iter().map(String::as_str));
    let mut rows = vec![header.iter().map(|h| h.to_string()).collect::<Vec<_>>()];
    for p in profiles {
        let mut record = vec![
            p.cluster.to_string(),
            p.size.to_string(),
            format!("{:.6}", p.share),
            p.distinguishing
                .iter()
                .map(|(c, z)| format!("{c} {z:+.2}"))
                .collect::<Vec<_>>()
                .join("; "),
        ];
        record.extend(p.means.iter().map(|m| {
            if m.is_finite() {
                format!("{m}")
            } else {
                String::new()
            }
        }));
        rows.push(record);
    }
    for row in rows {
        writer.write_record(&row).expect("writing to memory");
    }
    String::from_utf8(writer.into_inner().expect("writing to memory")).expect("UTF-8 fields")
}

/// The expansion settings of an audience of the pipeline file.
pub fn expand_params(spec: &AudienceSpec) -> ExpandParams {
    ExpandParams::new(spec.sizes.clone())
        .scorer(spec.scorer)
        .neighbours(spec.k)
        .representatives(spec.representatives)
        .holdout(spec.holdout)
        .salt(spec.salt)
        .min_seeds(spec.min_seeds)
        .seed(spec.seed)
        .index(spec.index)
}

/// Each customer's CLV, 0 for customers without a purchase (they have no history to project),
/// with a note; an error when there is no spend model.
pub fn expected_values(
    has_spend_model: bool,
    predictions: &[Option<Prediction>],
    notes: &mut Vec<String>,
) -> Result<Vec<f64>, PipelineError> {
    if !has_spend_model {
        return Err(PipelineError::Seeds(
            "the value model has no spend model, so no CLV to rank or report by".into(),
        ));
    }
    let without = predictions.iter().filter(|p| p.is_none()).count();
    if without > 0 {
        notes.push(format!(
            "{without} customers have no purchase: expected value 0 (the value model needs a history)"
        ));
    }
    Ok(predictions
        .iter()
        .map(|p| p.as_ref().and_then(|p| p.clv).unwrap_or(0.0))
        .collect())
}

/// The moment as RFC 3339 in UTC.
pub(crate) fn now_utc() -> String {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    chrono::DateTime::from_timestamp(seconds, 0).map_or_else(String::new, |t| {
        t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    })
}

/// Fits every stage of `spec` on `table` (one row per customer, computed as `spec.features`
/// says) and assembles the model. Cross-row work happens here: quantile edges, scaler
/// statistics, k-means, maximum likelihood, scorers and tier cuts.
///
/// ```no_run
/// use lookalike_pipeline::{PipelineSpec, TrainingInputs, fit};
/// let spec = PipelineSpec::read(std::path::Path::new("data/pipeline.example.toml")).unwrap();
/// // Features built as spec.features says (see examples/train_and_score.rs).
/// let features = lookalike_features::read_feature_table(std::path::Path::new("features.parquet"), None).unwrap();
/// let inputs = TrainingInputs {
///     segment_rules: Some(std::fs::read_to_string("data/segments.example.toml").unwrap()),
///     ..TrainingInputs::default()
/// };
/// let (model, report) = fit(&spec, &features, &inputs, &lookalike_core::NoProgress).unwrap();
/// assert_eq!(report.audiences.len(), model.audiences().len());
/// ```
pub fn fit(
    spec: &PipelineSpec,
    table: &FeatureTable,
    inputs: &TrainingInputs,
    progress: &dyn Progress,
) -> Result<(PipelineModel, TrainingReport), PipelineError> {
    spec.check().map_err(|message| PipelineError::Document {
        file: "the pipeline spec".into(),
        message,
    })?;
    let features_name = inputs.name_of_features();
    let mut documents = ModelDocuments::default();
    inputs.check_rules_read(spec)?;
    let mut report = TrainingReport::default();
    let mut stages = serde_json::Map::new();

    if let Some(section) = &spec.segments {
        progress.start("segments", None);
        let trained = segment_table(table, section, inputs.segment_rules.as_deref())?;
        progress.finish();
        let sizes = &trained.segmentation.bin_sizes;
        let entry = segments_stage(
            section,
            &trained.segmentation.trained,
            inputs,
            (&trained.segmentation.rule_names, sizes, &trained.report),
            &mut documents,
        )?;
        stages.insert("segments".into(), entry);
        report.segments = Some(trained);
    }

    if let Some(config) = &spec.clusters {
        progress.start_counting(
            "clusters",
            Some(config.k.values().len() as u64),
            lookalike_core::Unit::Items("clusterings"),
        );
        let clustering =
            cluster_table_watched(table, config, progress.is_shown(), |event| match event {
                ClusterEvent::Step { k, step } => progress.note(&step.describe(k, config.n_init)),
                ClusterEvent::Fitted(_) => progress.advance(1),
            })?;
        progress.finish();
        let fitted = clustering.document(config, features_name);
        documents.extras.insert(
            "clusters/profiles.csv".into(),
            profiles_csv(clustering.table.columns(), &clustering.profiles),
        );
        stages.insert("clusters".into(), cluster_entry(&fitted));
        documents.clusters = Some(fitted);
        report.clusters = Some(clustering);
    }

    if let Some(section) = &spec.value {
        progress.start("value", None);
        let options = FitOptions::new().penalty(section.penalty);
        let unit = spec.features.time_unit;
        let training = ValueTraining::fit(table, section.model, &options, unit)?;
        let horizon = section.horizon().in_units(unit.days())?;
        let spend = training.spend_model();
        let predictions = predict_table(table, &training.purchases, spend.as_ref(), &horizon)?;
        progress.finish();
        let document = training.document("features", features_name);
        stages.insert("value".into(), value_entry(section, &document)?);
        documents.value = Some(document);
        report.value = Some(ValueStageReport {
            training,
            predictions,
        });
    }

    if !spec.audiences.is_empty() {
        // The CLV (an error without a spend model) and the rule columns, once for all.
        let shared = AudienceInputs::of(spec, &report)?;
        let fitted = fit_audiences(spec, table, inputs, &shared, features_name, progress)?;
        documents.audiences = fitted.documents;
        report.audiences = fitted.trainings;
        stages.insert("audiences".into(), Value::Array(fitted.entries));
    }

    documents.manifest = manifest(
        spec,
        inputs,
        (table.len(), table.columns()),
        stages,
        &documents,
    );
    let model = PipelineModel::from_documents(documents, "the trained model")?;
    Ok((model, report))
}

/// The segments stage's documents (`segments.json`, the rules file) put in `documents`, and
/// its manifest entry: the learned edges, and what segmenting the training base found (rule
/// names, R/F/M bin sizes, the report).
pub(crate) fn segments_stage(
    section: &SegmentSpec,
    trained: &TrainedScores,
    inputs: &TrainingInputs,
    (rule_names, sizes, report): (&[String], &[Vec<usize>; 3], &SegmentReport),
    documents: &mut ModelDocuments,
) -> Result<Value, PipelineError> {
    let rules_file = inputs.segment_rules.as_ref().map(|text| {
        documents.rules = Some(text.clone());
        "rules.toml".to_string()
    });
    let settings = SegmentSettings {
        trained: trained.clone(),
        require_consent: section.require_consent.clone(),
        lapsing_factor: section.lapsing_factor,
        lost_factor: section.lost_factor,
        loyal_purchase_days: section.loyal_purchase_days,
        single_purchase_gap: section.single_purchase_gap,
        rules_file,
    };
    documents.segments = Some(to_json(&settings)?);
    Ok(json!({
        "file": "segments.json",
        "bins": section.bins,
        "rule_segments": rule_names,
        "bin_sizes": { "r": sizes[0], "f": sizes[1], "m": sizes[2] },
        "report": report,
    }))
}

/// `manifest.json` of a model trained on `customers` customers with these feature columns.
pub(crate) fn manifest(
    spec: &PipelineSpec,
    inputs: &TrainingInputs,
    (customers, columns): (usize, &[String]),
    stages: serde_json::Map<String, Value>,
    documents: &ModelDocuments,
) -> Value {
    let mut manifest = json!({
        "format": MODEL_FORMAT,
        "format_version": MODEL_VERSION,
        "tool": "lookalike",
        "tool_version": env!("CARGO_PKG_VERSION"),
        "created_at": now_utc(),
        "as_of": inputs.as_of,
        "inputs": inputs.inputs,
        "customers": customers,
        "features": {
            "time_unit": spec.features.time_unit,
            "top_levels": spec.features.top_levels,
            "columns": columns,
        },
        "pipeline": spec,
        "stages": stages,
        "data_inventory": data_inventory(documents),
    });
    if let Some(record) = &inputs.pseudonymized {
        manifest["pseudonymized"] = record.clone();
    }
    manifest
}

pub(crate) fn to_json(value: &impl serde::Serialize) -> Result<Value, PipelineError> {
    serde_json::to_value(value).map_err(|e| PipelineError::Document {
        file: "the trained model".into(),
        message: e.to_string(),
    })
}

/// The manifest's record of the clusters.
pub(crate) fn cluster_entry(fitted: &Value) -> Value {
    json!({
        "file": "clusters/model.json",
        "k": fitted["k"],
        "columns": fitted["columns"],
        "parameters": fitted["parameters"],
        "fit": fitted["fit"],
        "metrics": fitted["metrics"],
    })
}

/// The manifest's record of the value stage.
pub(crate) fn value_entry(
    section: &crate::ValueSpec,
    document: &Value,
) -> Result<Value, PipelineError> {
    Ok(json!({
        "file": "value/value_model.json",
        "horizon": section.horizon,
        "horizon_unit": to_json(&section.unit)?,
        "discount": section.discount,
        "month": to_json(&section.month)?,
        "purchases": {
            "kind": document["purchases"]["kind"],
            "parameters": document["purchases"]["parameters"],
            "log_likelihood": document["purchases"]["log_likelihood"],
            "converged": document["purchases"]["converged"],
            "warnings": document["purchases"]["warnings"],
        },
        "spend": {
            "kind": document["spend"]["kind"],
            "parameters": document["spend"]["parameters"],
            "converged": document["spend"]["converged"],
            "warnings": document["spend"]["warnings"],
        },
    }))
}
