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
    /// The written features (in `outputs`), when outputs were asked for.
    pub features_file: PathBuf,
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
        },
        as_of: spec.features.as_of.clone(),
        holdout_end: None,
        time_unit: spec.features.time_unit,
        top_levels: spec.features.top_levels,
        out: out.to_path_buf(),
        out_format: None,
    }
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
    let features_file = outputs.map_or_else(
        || PathBuf::from("features"),
        |dir| dir.join("features.parquet"),
    );
    let feature_args = feature_args(pipeline, &features_file);
    let extraction = features::extract_features(&feature_args, ui)?;
    if let Some(dir) = outputs {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        features::write_features(&extraction, &feature_args, ui)?;
    }
    let inputs = TrainingInputs::read(pipeline, &extraction, &features_file.display().to_string())?;
    let (model, report) = fit(pipeline, &extraction.table, &inputs, &ui.progress())?;
    let mut training = Training {
        features_file,
        outputs: outputs.map(Path::to_path_buf),
        segment_report: None,
        clusters: None,
        value: None,
        audiences: Vec::new(),
        seconds: 0.0,
        extraction,
    };
    describe(pipeline, &report, &mut training, ui)?;
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
        training.clusters = Some(match file("clusters") {
            Some(dir) => cluster::write_outputs(
                table,
                config,
                clustering,
                &training.features_file,
                &dir,
                "assignments.csv",
            )?,
            None => cluster::report_text(config, clustering, None, "assignments.csv"),
        });
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
                &training.features_file,
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
    if let Some(outputs) = &training.outputs {
        text += &format!(
            "\nstage outputs on the training base in {}\n",
            outputs.display()
        );
    }
    ui.data(&text)?;
    Ok(())
}
