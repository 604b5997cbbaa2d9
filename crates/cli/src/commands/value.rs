//! `lookalike value fit | predict | evaluate`: expected purchases, spend and CLV.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use lookalike_core::FeatureTable;
use lookalike_core::Progress;
use lookalike_features::{
    FeatureParams, FileFormat, LogReading, OnBadRow, TimeUnit, btyd_summary, extract, parse_date,
    read_feature_table,
};
use lookalike_pipeline::{ValueTraining, evaluate_holdout};
use lookalike_value::{FitOptions, Horizon, HorizonUnit, MonthLength};

use crate::commands::features::{InputArgs, refuse_log_options};
use crate::output::Ui;
use crate::paths::{self, Paths};
use crate::value_model;
use crate::value_report::{self, TrackingText as _};
use lookalike_value::PurchaseKind;

/// Options of `lookalike value`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: ValueCommand,
}

#[derive(Debug, clap::Subcommand)]
enum ValueCommand {
    /// Fit a purchase model (BG/NBD or Pareto/NBD) and Gamma-Gamma on a feature table or a
    /// transaction log (optionally scoring every customer in the same run).
    Fit(FitArgs),
    /// Per-customer P(alive), expected purchases, expected spend and CLV from a fitted model.
    Predict(PredictArgs),
    /// Fit on a calibration period and compare with the holdout, next to a naive baseline.
    Evaluate(EvaluateArgs),
}

/// How to fit.
#[derive(Debug, Clone, clap::Args)]
pub struct FitSettings {
    /// Purchase model.
    #[arg(long, default_value = "bgnbd", value_name = "bgnbd|pareto|mbgnbd|bgbb")]
    pub model: PurchaseKind,
    /// L2 penalty on the log-parameters (the optimiser minimises −LL/n + L·Σ ln(θ)²); try
    /// 0.001–0.1 for small data or when a parameter runs to a boundary.
    #[arg(long, value_name = "L", default_value_t = 0.0)]
    pub penalty: f64,
}

/// Where the BTYD summary (frequency, recency, T, monetary_value) comes from: a feature table,
/// or a transaction log summarised on the fly.
#[derive(Debug, Clone, clap::Args)]
struct SummaryArgs {
    /// Feature table from `lookalike features` (frequency, recency, T, monetary_value).
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "transactions",
        conflicts_with = "transactions"
    )]
    features: Option<PathBuf>,
    /// Or a transaction log (CSV or Parquet): only its customer_id, timestamp and amount columns
    /// are read and the BTYD summary is computed on the way, the same as `lookalike features`
    /// computes it.
    #[arg(long, value_name = "FILE")]
    transactions: Option<PathBuf>,
    /// Only transactions strictly before this date count (default: the day after the last one).
    #[arg(long, value_name = "DATE")]
    as_of: Option<String>,
    /// Unit of recency and T when summarising --transactions [default: weeks].
    #[arg(long, value_enum)]
    time_unit: Option<TimeUnit>,
    /// Format of --transactions, when the extension does not tell.
    #[arg(long, value_enum)]
    format: Option<FileFormat>,
    /// CSV delimiter of --transactions (`,` `;` `|` or `tab`); detected when not given.
    #[arg(long, value_name = "CHAR")]
    delimiter: Option<String>,
    /// Read a canonical field of --transactions from another column: FIELD=NAME. Repeatable.
    #[arg(long = "column", value_name = "FIELD=NAME")]
    columns: Vec<String>,
    /// What to do with an unreadable row of --transactions.
    #[arg(long, value_enum, default_value = "fail")]
    on_error: OnBadRow,
    #[command(flatten)]
    reading: LogReading,
}

/// A BTYD summary and where it came from.
struct Summary {
    table: FeatureTable,
    /// The time unit of recency and T.
    unit: TimeUnit,
    /// `features` or `transactions`, and the file.
    source: (&'static str, PathBuf),
}

impl SummaryArgs {
    /// Saves standard input to a file when the features or the log are `-`.
    fn read_stdin(&mut self) -> anyhow::Result<Option<crate::stdin::SavedStdin>> {
        let mut saved = None;
        for input in [&mut self.features, &mut self.transactions]
            .into_iter()
            .flatten()
        {
            let (path, stdin) = crate::stdin::resolve(input, "csv")?;
            *input = path;
            saved = saved.or(stdin);
        }
        Ok(saved)
    }

    /// Declares the features or the log as inputs.
    fn declare<'a>(&'a self, paths: Paths<'a>) -> Paths<'a> {
        paths
            .table("--features", self.features.as_deref())
            .table("--transactions", self.transactions.as_deref())
    }

    fn load(&self, ui: &Ui) -> anyhow::Result<Summary> {
        if let Some(features) = &self.features {
            refuse_log_options(
                &[
                    ("--as-of", self.as_of.is_some()),
                    ("--time-unit", self.time_unit.is_some()),
                    ("--format", self.format.is_some()),
                    ("--delimiter", self.delimiter.is_some()),
                    ("--column", !self.columns.is_empty()),
                ],
                features,
            )?;
            return Ok(Summary {
                table: read(features)?,
                unit: value_model::time_unit_of(features),
                source: ("features", features.clone()),
            });
        }
        let path = self.transactions.clone().expect("clap requires one source");
        let input = InputArgs {
            transactions: path.clone(),
            events: None,
            customers: None,
            format: self.format,
            delimiter: self.delimiter.clone(),
            columns: self.columns.clone(),
            on_error: self.on_error,
            reading: self.reading.clone(),
        };
        let inputs = input.resolve()?;
        let unit = self.time_unit.unwrap_or(TimeUnit::Weeks);
        let mut params = self.reading.apply(
            FeatureParams::new()
                .time_unit(unit)
                .on_bad_row(input.on_error)
                .threads(rayon::current_num_threads()),
        );
        if let Some(date) = &self.as_of {
            params = params.as_of(parse_date(date).map_err(|e| anyhow::anyhow!("--as-of: {e}"))?);
        }
        let began = Instant::now();
        let extraction = btyd_summary(
            &inputs.transactions,
            &inputs.mapping,
            &params,
            &ui.progress(),
        )?;
        ui.say(format!(
            "summarised {} customers as of {} in {:.2}s",
            extraction.table.len(),
            extraction.as_of,
            began.elapsed().as_secs_f64()
        ));
        crate::commands::features::report_inputs(&extraction.inputs, ui);
        Ok(Summary {
            table: extraction.table,
            unit,
            source: ("transactions", path),
        })
    }
}

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  lookalike value fit --features features.parquet --out value
  lookalike value fit --transactions tx.csv --as-of 2026-01-01 --model pareto \\
      --predictions predictions.csv --out value")]
struct FitArgs {
    #[command(flatten)]
    summary: SummaryArgs,
    #[command(flatten)]
    settings: FitSettings,
    /// Model directory to write (value_model.json).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Also score every customer of the summary with the fitted models, as `value predict`
    /// would, into this file (.csv or .parquet); --horizon, --unit, --discount and --month apply.
    #[arg(long, value_name = "FILE")]
    predictions: Option<PathBuf>,
    #[command(flatten)]
    horizon: HorizonArgs,
}

/// Horizon and discounting.
#[derive(Debug, Clone, clap::Args)]
pub struct HorizonArgs {
    /// Prediction horizon (expected purchases and CLV), at most 100 years.
    #[arg(long, default_value_t = 12.0, allow_negative_numbers = true)]
    pub horizon: f64,
    /// Unit of the horizon.
    #[arg(long, value_enum, default_value_t = HorizonUnit::Months)]
    pub unit: HorizonUnit,
    /// Discount rate per month (CLV discounts each month's value by (1 + rate)^month).
    #[arg(long, default_value_t = 0.01, allow_negative_numbers = true)]
    pub discount: f64,
    /// Month length of CLV's monthly steps.
    #[arg(long, value_enum, default_value_t = MonthLength::Calendar)]
    pub month: MonthLength,
}

impl HorizonArgs {
    /// The horizon as the value crate takes it.
    pub fn spec(&self) -> lookalike_value::HorizonSpec {
        lookalike_value::HorizonSpec {
            horizon: self.horizon,
            horizon_unit: self.unit,
            discount: self.discount,
            month: self.month,
        }
    }

    /// Checks the horizon and discount before any work (the unit of the model does not change
    /// whether they are valid).
    pub fn check(&self) -> anyhow::Result<()> {
        self.resolve(TimeUnit::Weeks).map(|_| ())
    }

    pub fn resolve(&self, unit: TimeUnit) -> anyhow::Result<Horizon> {
        self.spec()
            .in_units(unit.days())
            .map_err(|e| anyhow::anyhow!("--horizon/--discount: {e}"))
    }
}

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  lookalike value predict --model value --features features.parquet --out predictions.csv
  lookalike value predict --model value --features features.parquet --horizon 6 --unit months \\
      --out predictions.parquet")]
struct PredictArgs {
    /// Model directory from `lookalike value fit`.
    #[arg(long, value_name = "DIR")]
    model: PathBuf,
    /// The customers to score: their features, or their transaction log.
    #[command(flatten)]
    summary: SummaryArgs,
    #[command(flatten)]
    horizon: HorizonArgs,
    /// Output (.csv or .parquet): customer_id, p_alive, expected_purchases, expected_spend,
    /// clv.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  lookalike value evaluate --transactions tx.csv --as-of 2025-07-01 --holdout-end 2026-01-01 \\
      --out evaluation
  lookalike value evaluate --transactions tx.csv --as-of 2025-07-01 --holdout-end 2026-01-01 \\
      --model pareto --out evaluation --plot plots")]
struct EvaluateArgs {
    #[command(flatten)]
    input: InputArgs,
    /// End of calibration: only transactions strictly before this date are used to fit.
    #[arg(long, value_name = "DATE")]
    as_of: String,
    /// End of the holdout period (exclusive).
    #[arg(long, value_name = "DATE")]
    holdout_end: String,
    /// Unit of recency and T.
    #[arg(long, value_enum, default_value = "weeks")]
    time_unit: TimeUnit,
    #[command(flatten)]
    settings: FitSettings,
    /// Write the report's tables as CSV into this directory.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Write SVG plots into this directory (it may be --out or a folder inside it): the
    /// tracking curve over calibration and holdout with the as-of line, the conditional
    /// expectations by calibration frequency and a recency × frequency P(alive) map.
    #[arg(long, value_name = "DIR")]
    plot: Option<PathBuf>,
}

fn options(settings: &FitSettings) -> FitOptions {
    FitOptions::new().penalty(settings.penalty)
}

fn read(features: &std::path::Path) -> anyhow::Result<FeatureTable> {
    read_feature_table(features, None)
        .with_context(|| format!("reading features from {}", features.display()))
}

/// Fits on a summary and writes `<dir>/value_model.json`; returns the fit and its text.
fn fit_summary(
    summary: &Summary,
    settings: &FitSettings,
    dir: &std::path::Path,
    shown: &std::path::Path,
    began: Instant,
    ui: &Ui,
) -> anyhow::Result<(ValueTraining, String)> {
    let (kind, source) = (summary.source.0, &summary.source.1);
    let progress = ui.progress();
    progress.start(
        &format!("fitting {} and Gamma-Gamma", settings.model.name()),
        None,
    );
    let fitted = ValueTraining::fit(
        &summary.table,
        settings.model,
        &options(settings),
        summary.unit,
    );
    progress.finish();
    let fitted = fitted.with_context(|| format!("fitting {}", source.display()))?;
    value_model::write_document(&fitted, kind, source, dir)?;
    let path = shown.join("value_model.json");
    ui.say(format!(
        "fitted {} customers ({} distinct histories; {} without a purchase left out) in {:.2}s; wrote {}",
        fitted.data.customers(),
        fitted.data.unique(),
        fitted.data.without_purchase(),
        began.elapsed().as_secs_f64(),
        path.display()
    ));
    let text = fitted.describe();
    Ok((fitted, text))
}

fn fit(mut args: FitArgs, ui: &Ui) -> anyhow::Result<()> {
    let _stdin = args.summary.read_stdin()?;
    args.summary
        .declare(Paths::new())
        .output_folder("--out", Some(&args.out))
        .output("--predictions", args.predictions.as_deref())
        .check()?;
    args.horizon.check()?;
    let staged = paths::stage_folder("--out", &args.out, |name| name == "value_model.json")?;
    let summary = args.summary.load(ui)?;
    let began = Instant::now();
    let (fitted, text) = fit_summary(
        &summary,
        &args.settings,
        staged.path(),
        &args.out,
        began,
        ui,
    )?;
    staged.publish()?;
    ui.data(&text)?;
    if let Some(out) = &args.predictions {
        let spend = fitted.spend_model();
        write_scores(
            &summary,
            &fitted.purchases,
            spend.as_ref(),
            &args.horizon,
            out,
            ui,
        )?;
    }
    Ok(())
}

/// Scores every customer of `summary`, writes the predictions and prints their summary.
fn write_scores(
    summary: &Summary,
    purchases: &lookalike_value::Purchases,
    spend: Option<&lookalike_value::GammaGamma>,
    horizon: &HorizonArgs,
    out: &std::path::Path,
    ui: &Ui,
) -> anyhow::Result<()> {
    let began = Instant::now();
    let table = &summary.table;
    let horizon = horizon.resolve(summary.unit)?;
    let predictions = lookalike_pipeline::predict_table(table, purchases, spend, &horizon)
        .with_context(|| format!("scoring {}", summary.source.1.display()))?;
    lookalike_pipeline::write_predictions(table, &predictions, out)
        .with_context(|| format!("writing {}", out.display()))?;
    let scored = predictions.iter().flatten().count();
    ui.say(format!(
        "scored {scored} customers in {:.2}s; {} without a purchase have empty cells; wrote {}",
        began.elapsed().as_secs_f64(),
        table.len() - scored,
        out.display()
    ));
    if spend.is_none() {
        ui.say("  no spend model: expected_spend and clv are empty");
    }
    ui.data(&value_report::summary(table, &predictions, 10))?;
    Ok(())
}

fn predict(mut args: PredictArgs, ui: &Ui) -> anyhow::Result<()> {
    let _stdin = args.summary.read_stdin()?;
    args.summary
        .declare(Paths::new().input_folder("--model", Some(&args.model)))
        .output("--out", Some(&args.out))
        .check()?;
    args.horizon.check()?;
    let (purchases, spend, unit) = value_model::load(&args.model)?;
    let summary = args.summary.load(ui)?;
    if summary.unit != unit {
        let fix = match summary.source.0 {
            "features" => "rebuild the features with",
            _ => "pass",
        };
        anyhow::bail!(
            "the model was fitted on recency and T in {} but {} has them in {}; {fix} --time-unit {}",
            unit.name(),
            summary.source.1.display(),
            summary.unit.name(),
            unit.name()
        );
    }
    write_scores(
        &summary,
        &purchases,
        spend.as_ref(),
        &args.horizon,
        &args.out,
        ui,
    )
}

fn evaluate(args: EvaluateArgs, ui: &Ui) -> anyhow::Result<()> {
    let as_of = parse_date(&args.as_of).map_err(|e| anyhow::anyhow!("--as-of: {e}"))?;
    let end = parse_date(&args.holdout_end).map_err(|e| anyhow::anyhow!("--holdout-end: {e}"))?;
    if end <= as_of {
        anyhow::bail!("--holdout-end {end} must be after --as-of {as_of}");
    }
    // Plots may go in the tables' folder or in a folder inside it: they are then written in
    // its staging folder and swapped in with it. `inside` is the plots' place within `--out`.
    let inside: Option<PathBuf> = match (&args.out, &args.plot) {
        (Some(out), Some(plot)) if plot.starts_with(out) => {
            Some(plot.strip_prefix(out).expect("starts with").to_path_buf())
        }
        _ => None,
    };
    let top = inside
        .as_ref()
        .and_then(|rel| rel.components().next())
        .map(|c| c.as_os_str().to_string_lossy().into_owned());
    args.input
        .declare(Paths::new())
        .output_folder("--out", args.out.as_deref())
        .output_folder("--plot", args.plot.as_deref().filter(|_| inside.is_none()))
        .check()?;
    let is_report = |name: &str| name.ends_with(".csv") || name.ends_with(".svg");
    let tables = args
        .out
        .as_deref()
        .map(|dir| {
            paths::stage_folder("--out", dir, |name| {
                is_report(name) || top.as_deref() == Some(name)
            })
        })
        .transpose()?;
    let plots = args
        .plot
        .as_deref()
        .filter(|_| inside.is_none())
        .map(|dir| paths::stage_folder("--plot", dir, is_report))
        .transpose()?;
    let unit = args.time_unit;
    let params = args.input.reading.apply(
        FeatureParams::new()
            .as_of(as_of)
            .holdout_end(end)
            .time_unit(unit)
            .on_bad_row(args.input.on_error)
            .threads(rayon::current_num_threads()),
    );
    let inputs = args.input.resolve()?;
    let extraction = extract(&inputs, &params, &ui.progress())?;
    crate::commands::features::report_inputs(&extraction.inputs, ui);
    let table = &extraction.table;
    let progress = ui.progress();
    progress.start("fitting on the calibration period", None);
    let fitted = ValueTraining::fit(table, args.settings.model, &options(&args.settings), unit);
    progress.finish();
    let fitted = fitted.context("fitting on the calibration period")?;
    let holdout = evaluate_holdout(
        table,
        &fitted,
        (end - as_of).num_days() as f64,
        &extraction.holdout_weeks,
        &extraction.calibration_weeks,
    )?;
    let (report, tracking) = (
        value_report::Evaluation(holdout.evaluation),
        holdout.tracking,
    );
    let holdout_units = holdout.holdout_units;
    let [x, _, t, _] = lookalike_pipeline::btyd_columns(table)?;
    let mut text = fitted.describe();
    text += &format!(
        "\nholdout {as_of} to {end} ({holdout_units:.2} {}), {} customers with a calibration purchase\n",
        unit.name(),
        holdout.predictions.iter().flatten().count()
    );
    text += &report.render();
    text += &tracking.render();
    if let (Some(staged), Some(dir)) = (&tables, &args.out) {
        report.write(staged.path())?;
        value_report::write_tracking(&tracking, staged.path())?;
        ui.say(format!("wrote the report's tables to {}", dir.display()));
    }
    // Plots inside the tables' folder are written in its staging folder, which is published
    // after them.
    let plot_dir: Option<PathBuf> = match (&tables, &inside, &plots) {
        (Some(tables), Some(rel), _) => Some(tables.path().join(rel)),
        (_, None, Some(staged)) => Some(staged.path().to_path_buf()),
        _ => None,
    };
    if let (Some(at), Some(dir)) = (&plot_dir, &args.plot) {
        std::fs::create_dir_all(at).with_context(|| format!("creating {}", dir.display()))?;
        // The P(alive) map covers the longest tenure and the most repeat purchases seen.
        let widest = |values: &[f64]| {
            values
                .iter()
                .copied()
                .filter(|v| !v.is_nan())
                .fold(0.0, f64::max)
        };
        let longest = lookalike_value::Summary {
            frequency: widest(&x),
            recency: 0.0,
            t: widest(&t),
        };
        let written =
            value_report::plot(&report, &tracking, fitted.purchases.model(), &longest, at)?;
        for name in written.iter().filter_map(|path| path.file_name()) {
            ui.say(format!("wrote {}", dir.join(name).display()));
        }
    }
    if let Some(plots) = plots {
        plots.publish()?;
    }
    if let Some(tables) = tables {
        tables.publish()?;
    }
    ui.data(&text)?;
    Ok(())
}

pub fn run(args: Args, ui: &Ui) -> anyhow::Result<()> {
    match args.command {
        ValueCommand::Fit(a) => fit(a, ui),
        ValueCommand::Predict(a) => predict(a, ui),
        ValueCommand::Evaluate(a) => evaluate(a, ui),
    }
}
