//! `lookalike train`: features → segments → clusters → value → audiences as a pipeline file
//! says, into one model directory that `lookalike score` applies to the whole base.
//!
//! Each stage runs the very code of its subcommand (`features`, `segment`, `cluster`,
//! `value fit`, `expand`), so a trained stage is what the subcommand makes; its per-customer
//! outputs on the training base go to `--outputs` when asked. The stages' documents become one
//! [`PipelineModel`] (checked as loading checks it), which the library saves: built beside its
//! destination and swapped into place at the end, so a failed or killed training leaves the
//! previous model, never half of a new one.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use lookalike_features::Extraction;
use serde_json::{Value, json};

use lookalike_audience::{AudienceSettings, TierCut};
use lookalike_pipeline::{
    AudienceDocument, MODEL_FORMAT, MODEL_VERSION, ModelDocuments, PipelineModel, PipelineSpec,
};
use lookalike_rfm::SegmentSettings;

use crate::commands::value::FitSettings;
use crate::commands::{cluster, expand, features, segment, value};
use crate::output::Ui;
use crate::pipeline::{expand_args, feature_args, segment_args};
use crate::value_model;

/// Options of `lookalike train`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Pipeline file (TOML; every option is in data/pipeline.example.toml).
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// Model directory to write (replaced if it holds a model; refused if it holds anything
    /// else).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Also keep each stage's per-customer output on the training base here (features,
    /// segments, cluster assignments, value predictions, audiences).
    #[arg(long, value_name = "DIR")]
    pub outputs: Option<PathBuf>,
}

/// What training made, for the summary (and the demo).
pub struct Training {
    pub extraction: Extraction,
    pub features_file: PathBuf,
    pub outputs: PathBuf,
    pub segment_report: Option<String>,
    pub clusters: Option<String>,
    pub value: Option<String>,
    pub audiences: Vec<(String, String)>,
    pub seconds: f64,
    /// Holds a temporary outputs folder until the caller is done with it.
    _scratch: Option<tempfile::TempDir>,
}

/// Hash (xxh3-64, hex), size and path of an input file.
fn fingerprint(path: &Path) -> anyhow::Result<Value> {
    let mut file =
        std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    let mut buffer = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let read = file
            .read(&mut buffer)
            .with_context(|| format!("reading {}", path.display()))?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
        bytes += read as u64;
    }
    Ok(json!({
        "path": path.display().to_string(),
        "bytes": bytes,
        "xxh3_64": format!("{:016x}", hasher.digest()),
    }))
}

/// The moment as RFC 3339 in UTC.
fn now_utc() -> String {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    chrono::DateTime::from_timestamp(seconds, 0).map_or_else(String::new, |t| {
        t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    })
}

fn read_json(path: &Path) -> anyhow::Result<Value> {
    serde_json::from_str(
        &std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?,
    )
    .with_context(|| format!("parsing {}", path.display()))
}

/// Runs the pipeline of `args.config` into `args.out`.
pub fn train(args: &Args, ui: &Ui) -> anyhow::Result<Training> {
    let pipeline = PipelineSpec::read(&args.config)?;
    train_pipeline(&pipeline, &args.out, args.outputs.as_deref(), ui)
}

/// Runs `pipeline` into the model directory `out`, keeping the stage outputs in `outputs`.
pub fn train_pipeline(
    pipeline: &PipelineSpec,
    out: &Path,
    outputs: Option<&Path>,
    ui: &Ui,
) -> anyhow::Result<Training> {
    let began = Instant::now();
    // Refused before the stages run, not after.
    lookalike_pipeline::check_model_destination(out).map_err(|e| anyhow::anyhow!("--out {e}"))?;
    let mut documents = ModelDocuments {
        manifest: Value::Null,
        segments: None,
        rules: None,
        clusters: None,
        value: None,
        audiences: Vec::new(),
        extras: Default::default(),
    };
    let (outputs, scratch) = match outputs {
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            (dir.to_path_buf(), None)
        }
        None => {
            let scratch = tempfile::Builder::new()
                .prefix("lookalike-train-")
                .tempdir()
                .context("creating a temporary folder for the stage outputs")?;
            (scratch.path().to_path_buf(), Some(scratch))
        }
    };
    let features_file = outputs.join("features.parquet");
    let feature_args = feature_args(pipeline, &features_file);
    let extraction = features::extract_to_file(&feature_args, ui)?;
    let mut stages = serde_json::Map::new();
    let mut training = Training {
        features_file: features_file.clone(),
        outputs: outputs.clone(),
        segment_report: None,
        clusters: None,
        value: None,
        audiences: Vec::new(),
        seconds: 0.0,
        extraction,
        _scratch: scratch,
    };

    if let Some(section) = &pipeline.segments {
        let segments_csv = outputs.join("segments.csv");
        let segment_args = segment_args(
            section,
            &features_file,
            &segments_csv,
            &outputs.join("segment_report.csv"),
        );
        let (_, segmentation, report) = segment::segment_to_files(&segment_args, ui)?;
        let rules_file = match &section.rules {
            Some(path) => {
                documents.rules = Some(
                    std::fs::read_to_string(path)
                        .with_context(|| format!("reading {}", path.display()))?,
                );
                Some("rules.toml".to_string())
            }
            None => None,
        };
        let settings = SegmentSettings {
            trained: segmentation.trained.clone(),
            require_consent: section.require_consent.clone(),
            lapsing_factor: section.lapsing_factor,
            lost_factor: section.lost_factor,
            loyal_purchase_days: section.loyal_purchase_days,
            single_purchase_gap: section.single_purchase_gap,
            rules_file,
        };
        documents.segments = Some(serde_json::to_value(&settings)?);
        stages.insert(
            "segments".into(),
            json!({
                "file": "segments.json",
                "bins": section.bins,
                "rule_segments": segmentation.rule_names,
                "bin_sizes": { "r": segmentation.bin_sizes[0], "f": segmentation.bin_sizes[1], "m": segmentation.bin_sizes[2] },
                "report": report,
            }),
        );
        training.segment_report = Some(segment::report_table(&report));
    }

    if let Some(section) = &pipeline.clusters {
        let cluster_out = outputs.join("clusters");
        let text =
            cluster::cluster_to_dir(&features_file, section, &cluster_out, "assignments.csv", ui)?;
        let fitted = read_json(&cluster_out.join("model.json"))?;
        documents.clusters = Some(fitted.clone());
        let profiles = cluster_out.join("profiles.csv");
        documents.extras.insert(
            "clusters/profiles.csv".into(),
            std::fs::read_to_string(&profiles)
                .with_context(|| format!("reading {}", profiles.display()))?,
        );
        stages.insert(
            "clusters".into(),
            json!({
                "file": "clusters/model.json",
                "k": fitted["k"],
                "columns": fitted["columns"],
                "parameters": fitted["parameters"],
                "fit": fitted["fit"],
                "metrics": fitted["metrics"],
            }),
        );
        training.clusters = Some(text);
    }

    let value_dir = outputs.join("value");
    if let Some(section) = &pipeline.value {
        let settings = FitSettings {
            model: section.model,
            penalty: section.penalty,
        };
        let (fitted, table, mut text) =
            value::fit_to_dir(&features_file, &settings, &value_dir, ui)?;
        let horizon = section.horizon().in_units(fitted.time_unit.days())?;
        let spend = fitted.spend_model();
        let predictions =
            value_model::predict(&table, &fitted.purchases, spend.as_ref(), &horizon)?;
        let predictions_file = outputs.join("value.csv");
        value_model::write_predictions(&table, &predictions, &predictions_file)?;
        text += &crate::value_report::summary(&table, &predictions, 10);
        let document = read_json(&value_dir.join("value_model.json"))?;
        documents.value = Some(document.clone());
        stages.insert(
            "value".into(),
            json!({
                "file": "value/value_model.json",
                "horizon": section.horizon,
                "horizon_unit": section.unit,
                "discount": section.discount,
                "month": section.month,
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
            }),
        );
        training.value = Some(text);
    }

    let mut audiences = Vec::new();
    // Seed rules see the CLV that is scored: the [value] horizon.
    let value_horizon = pipeline.value.as_ref().map(|section| section.horizon());
    for section in &pipeline.audiences {
        let segments_csv = outputs.join("segments.csv");
        let expand_args = expand_args(
            section,
            &features_file,
            pipeline
                .segments
                .is_some()
                .then_some(segments_csv.as_path()),
            pipeline.value.is_some().then_some(value_dir.as_path()),
            value_horizon.as_ref(),
            &outputs.join(format!("audience_{}.csv", section.name)),
        );
        let (text, audience, prepared) = expand::build_audience(&expand_args, ui)
            .with_context(|| format!("audience {:?}", section.name))?;
        let saved = audience.saved_scorer.clone().with_context(|| {
            format!(
                "audience {:?}: the {} scorer cannot be saved",
                section.name, audience.scorer
            )
        })?;
        let ids = prepared.ids();
        let tiers = TierCut::of(&audience, &ids);
        let settings = AudienceSettings {
            name: section.name.clone(),
            columns: prepared.columns.clone(),
            scaling: prepared.scaler.parameters(),
            scorer: saved,
            require_consent: section.require_consent.clone(),
            seeds_file: format!("{}_seeds.parquet", section.name),
            seeds: audience.seeds,
            candidates: audience.candidates,
            tiers,
            holdout: section.holdout,
            salt: section.salt,
            seed_source: match (&section.seed_rule, &section.seeds) {
                (Some(rule), _) => format!("rule: {rule}"),
                (None, Some(path)) => format!("file: {}", path.display()),
                (None, None) => unreachable!("checked when the pipeline was read"),
            },
        };
        documents.audiences.push(AudienceDocument {
            settings: serde_json::to_value(&settings)?,
            seed_ids: prepared
                .seeds
                .iter()
                .map(|r| prepared.customer_ids[*r].as_str().to_string())
                .collect(),
            seed_rows: prepared
                .seeds
                .iter()
                .map(|r| prepared.scaled.row(*r).to_vec())
                .collect(),
        });
        let file = settings;
        audiences.push(json!({
            "name": section.name,
            "file": format!("audiences/{}.json", section.name),
            "scorer": audience.scorer,
            "seed_source": file.seed_source,
            "seeds": audience.seeds,
            "candidates": audience.candidates,
            "tiers": file.tiers,
        }));
        training.audiences.push((section.name.clone(), text));
    }
    if !audiences.is_empty() {
        stages.insert("audiences".into(), Value::Array(audiences));
    }

    let mut inputs = vec![fingerprint(&pipeline.input.transactions)?];
    inputs.extend(
        [&pipeline.input.events, &pipeline.input.customers]
            .into_iter()
            .flatten()
            .map(|p| fingerprint(p))
            .collect::<anyhow::Result<Vec<_>>>()?,
    );
    for (input, report) in inputs.iter_mut().zip(&training.extraction.inputs) {
        input["kind"] = json!(report.kind.prefix());
        input["rows"] = json!(report.rows);
        input["rows_skipped"] = json!(report.skipped);
    }
    let table = &training.extraction.table;
    let manifest = json!({
        "format": MODEL_FORMAT,
        "format_version": MODEL_VERSION,
        "tool": "lookalike",
        "tool_version": env!("CARGO_PKG_VERSION"),
        "created_at": now_utc(),
        "as_of": training.extraction.as_of.to_string(),
        "inputs": inputs,
        "customers": table.len(),
        "features": {
            "time_unit": pipeline.features.time_unit,
            "top_levels": pipeline.features.top_levels,
            "columns": table.columns(),
        },
        "pipeline": pipeline,
        "stages": stages,
    });
    documents.manifest = manifest;
    let model = PipelineModel::from_documents(documents, &out.display().to_string())
        .context("checking the trained model")?;
    model
        .save(out)
        .with_context(|| format!("writing the model {}", out.display()))?;
    training.seconds = began.elapsed().as_secs_f64();
    Ok(training)
}

pub fn run(args: Args, ui: &Ui) -> anyhow::Result<()> {
    let training = train(&args, ui)?;
    let mut text = format!(
        "trained on {} customers (as of {}) in {:.1}s; model in {}\n",
        training.extraction.table.len(),
        training.extraction.as_of,
        training.seconds,
        args.out.display()
    );
    if let Some(report) = &training.segment_report {
        text += "\nSEGMENTS\n";
        text += report;
    }
    if let Some(clusters) = &training.clusters {
        text += "\n";
        text += clusters;
    }
    if let Some(value) = &training.value {
        text += "\nVALUE\n";
        text += value;
    }
    for (name, summary) in &training.audiences {
        text += &format!("\nAUDIENCE {name}\n");
        text += summary;
    }
    if args.outputs.is_some() {
        text += &format!(
            "\nstage outputs on the training base in {}\n",
            training.outputs.display()
        );
    }
    ui.data(&text)?;
    Ok(())
}
