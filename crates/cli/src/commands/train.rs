//! `lookalike train`: features → segments → clusters → value → audiences as a pipeline file
//! says, into one model directory that `lookalike score` applies to the whole base.
//!
//! The CLI reads the files the pipeline file names (logs, rules, seed lists), extracts the
//! features and hands them to `lookalike_pipeline::fit`, the same training the Python package
//! runs; each stage's per-customer outputs on the training base go to `--outputs` when asked,
//! written by the same code as the stage's subcommand. The library saves the model: built
//! beside its destination and swapped into place at the end, so a failed or killed training
//! leaves the previous model, never half of a new one.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use lookalike_features::Extraction;
use lookalike_pipeline::{PipelineSpec, TrainingInputs, TrainingReport, fit};

use crate::commands::features::{self, InputArgs};
use crate::commands::{cluster, expand, segment};
use crate::output::Ui;
use crate::paths::{self, Paths};
use crate::value_model;

/// Options of `lookalike train`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  lookalike train --config data/pipeline.example.toml --out model
  lookalike train --config data/pipeline.example.toml --out model --outputs outputs
  lookalike train --config pipeline.toml --out model --pseudonymize key")]
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
    /// Replace every customer id — of the logs and of the seed lists — by its keyed hash
    /// (HMAC-SHA256) under the key in KEYFILE before anything is stored: the model and the
    /// outputs hold no raw id. `score` then needs the same key (or features made with it).
    #[arg(long, value_name = "KEYFILE")]
    pub pseudonymize: Option<PathBuf>,
}

/// What training made, for the summary (and the demo).
pub struct Training {
    pub extraction: Extraction,
    /// The written features (in `outputs`), when outputs were asked for.
    pub features_file: PathBuf,
    /// The features' name as reports and documents show it (where they are once the run ends).
    pub features_shown: PathBuf,
    pub outputs: Option<PathBuf>,
    pub segment_report: Option<String>,
    pub clusters: Option<String>,
    pub value: Option<String>,
    pub audiences: Vec<(String, String)>,
    pub seconds: f64,
}

/// `lookalike features` as configured, writing `out`.
pub fn feature_args(spec: &PipelineSpec, out: &Path) -> features::Args {
    let input = &spec.input;
    features::Args {
        input: InputArgs {
            transactions: input.transactions.clone(),
            events: input.events.clone(),
            customers: input.customers.clone(),
            format: input.format,
            delimiter: input.delimiter.clone(),
            columns: input
                .columns
                .iter()
                .map(|(field, name)| format!("{field}={name}"))
                .collect(),
            on_error: input.on_error,
            reading: input.reading(),
        },
        as_of: spec.features.as_of.clone(),
        holdout_end: None,
        time_unit: spec.features.time_unit,
        top_levels: spec.features.top_levels,
        out: out.to_path_buf(),
        out_format: None,
        pseudonymize: None,
    }
}

/// Runs the pipeline of `args.config` into `args.out`.
pub fn train(args: &Args, ui: &Ui) -> anyhow::Result<Training> {
    Paths::new().input("--config", Some(&args.config)).check()?;
    let pipeline = PipelineSpec::read(&args.config)?;
    let input = &pipeline.input;
    let seeds: Vec<PathBuf> = pipeline
        .audiences
        .iter()
        .filter_map(|a| a.seeds.clone())
        .collect();
    Paths::new()
        .table("transactions", Some(&input.transactions))
        .table("events", input.events.as_deref())
        .table("customers", input.customers.as_deref())
        .input(
            "segments.rules",
            pipeline.segments.as_ref().and_then(|s| s.rules.as_deref()),
        )
        .inputs("audience seeds", &seeds)
        .input("--pseudonymize", args.pseudonymize.as_deref())
        .output_folder("--out", Some(&args.out))
        .output_folder("--outputs", args.outputs.as_deref())
        .check()?;
    let staged = args
        .outputs
        .as_deref()
        .map(|dir| paths::stage_folder("--outputs", dir, is_stage_output))
        .transpose()?;
    let outputs = staged
        .as_ref()
        .zip(args.outputs.as_deref())
        .map(|(staged, shown)| StageOutputs {
            dir: staged.path(),
            shown,
        });
    let training = train_pipeline(
        &pipeline,
        &args.out,
        outputs,
        args.pseudonymize.as_deref(),
        ui,
    )?;
    if let Some(staged) = staged {
        staged.publish()?;
    }
    Ok(training)
}

/// Where the per-customer outputs of the stages are written, and where they will be once the
/// run ends (what the reports show).
#[derive(Debug, Clone, Copy)]
pub struct StageOutputs<'a> {
    pub dir: &'a Path,
    pub shown: &'a Path,
}

/// Runs `pipeline` into the model directory `out`, keeping the stage outputs in `outputs`;
/// with `key` (a key file), on pseudonymous ids.
pub fn train_pipeline(
    pipeline: &PipelineSpec,
    out: &Path,
    outputs: Option<StageOutputs>,
    key: Option<&Path>,
    ui: &Ui,
) -> anyhow::Result<Training> {
    let began = Instant::now();
    // Refused before the stages run, not after.
    lookalike_pipeline::check_model_destination(out).map_err(|e| anyhow::anyhow!("--out {e}"))?;
    let written_features = outputs.map(|o| o.dir.join("features.parquet"));
    let shown_features = outputs.map_or_else(
        || PathBuf::from("features"),
        |o| o.shown.join("features.parquet"),
    );
    let with_key = |file: &Path| features::Args {
        pseudonymize: key.map(Path::to_path_buf),
        ..feature_args(pipeline, file)
    };
    let extraction = match &written_features {
        Some(file) => {
            let feature_args = with_key(file);
            let extraction = features::extract_features(&feature_args, ui)?;
            features::write_features(&extraction, &feature_args, ui)?;
            extraction
        }
        None => features::extract_features(&with_key(&shown_features), ui)?,
    };
    let mut inputs =
        TrainingInputs::read(pipeline, &extraction, &shown_features.display().to_string())?;
    if let Some(path) = key {
        inputs = inputs.pseudonymized(&lookalike_core::Pseudonymizer::from_key_file(path)?);
    }
    let (model, report) = fit(pipeline, &extraction.table, &inputs, &ui.progress())?;
    let mut training = Training {
        features_file: written_features.unwrap_or_else(|| shown_features.clone()),
        features_shown: shown_features,
        outputs: outputs.map(|o| o.dir.to_path_buf()),
        segment_report: None,
        clusters: None,
        value: None,
        audiences: Vec::new(),
        seconds: 0.0,
        extraction,
    };
    describe(
        pipeline,
        &report,
        &mut training,
        outputs.map(|o| o.shown),
        ui,
    )?;
    model
        .save(out)
        .with_context(|| format!("writing the model {}", out.display()))?;
    training.seconds = began.elapsed().as_secs_f64();
    Ok(training)
}

/// Each stage's summary, and its per-customer outputs when `training.outputs` is set.
fn describe(
    pipeline: &PipelineSpec,
    report: &TrainingReport,
    training: &mut Training,
    shown_outputs: Option<&Path>,
    ui: &Ui,
) -> anyhow::Result<()> {
    let table = &training.extraction.table;
    let outputs = training.outputs.clone();
    let file = |name: &str| outputs.as_ref().map(|dir| dir.join(name));
    if let Some(trained) = &report.segments {
        if let Some(out) = file("segments.csv") {
            let report_file = out.with_file_name("segment_report.csv");
            let plot = out.with_file_name("segments.svg");
            segment::write_outputs(table, trained, &out, Some(&report_file), Some(&plot))?;
        }
        ui.say(format!(
            "segmented {} customers ({} rule segments, {} bins)",
            table.len(),
            trained.segmentation.rule_names.len(),
            trained.segmentation.bins
        ));
        for warning in &trained.report.warnings {
            ui.say(format!("  warning: {warning}"));
        }
        training.segment_report = Some(segment::report_table(&trained.report));
    }
    if let (Some(clustering), Some(config)) = (&report.clusters, &pipeline.clusters) {
        for outcome in clustering.sweep.iter().filter(|_| clustering.why.is_some()) {
            ui.say(format!(
                "k = {}: silhouette {:.3}, {:.2} s",
                outcome.k, outcome.metrics.silhouette, outcome.seconds
            ));
        }
        let dir = file("clusters");
        if let Some(dir) = &dir {
            cluster::write_outputs(
                table,
                config,
                clustering,
                &training.features_shown,
                dir,
                "assignments.csv",
            )?;
        }
        let shown = shown_outputs.map(|d| d.join("clusters"));
        training.clusters = Some(cluster::report_text(
            config,
            clustering,
            shown.as_deref(),
            "assignments.csv",
        ));
    }
    if let Some(value) = &report.value {
        let data = &value.training.data;
        ui.say(format!(
            "fitted {} customers ({} distinct histories; {} without a purchase left out)",
            data.customers(),
            data.unique(),
            data.without_purchase()
        ));
        if let Some(dir) = file("value") {
            value_model::write_document(
                &value.training,
                "features",
                &training.features_shown,
                &dir,
            )?;
            let predictions = dir.with_extension("csv");
            lookalike_pipeline::write_predictions(table, &value.predictions, &predictions)
                .with_context(|| format!("writing {}", predictions.display()))?;
        }
        training.value = Some(
            value.training.describe()
                + &crate::value_report::summary(table, &value.predictions, 10),
        );
    }
    for trained in &report.audiences {
        for note in &trained.prepared.notes {
            ui.say(note);
        }
        let text = match file(&format!("audience_{}.csv", trained.name)) {
            Some(out) => expand::write_outputs(
                &trained.prepared,
                &trained.audience,
                &out,
                Some(&out.with_extension("svg")),
                None,
                ui,
            )?,
            None => expand::summary(&trained.prepared, &trained.audience),
        };
        training.audiences.push((trained.name.clone(), text));
    }
    Ok(())
}

/// Whether a file name is one that `--outputs` holds (outputs of versions before the run
/// marker are recognised by name).
fn is_stage_output(name: &str) -> bool {
    name.starts_with("features.parquet")
        || name.starts_with("segment")
        || name.starts_with("audience_")
        || name.starts_with("value")
        || name == "clusters"
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
    if let Some(outputs) = &args.outputs {
        text += &format!(
            "\nstage outputs on the training base in {}\n",
            outputs.display()
        );
    }
    ui.data(&text)?;
    Ok(())
}
