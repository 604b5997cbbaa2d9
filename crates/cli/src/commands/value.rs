//! `lookalike value fit | predict | evaluate`: expected purchases, spend and CLV.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use lookalike_core::FeatureTable;
use lookalike_features::{FeatureParams, TimeUnit, extract, parse_date, read_feature_table};
use lookalike_value::{FitOptions, Horizon, MonthLength, expected_total_purchases};

use crate::commands::features::{InputArgs, Unit};
use crate::output::Ui;
use crate::value_model::{self, PurchaseKind};
use crate::value_report;

/// Options of `lookalike value`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: ValueCommand,
}

#[derive(Debug, clap::Subcommand)]
enum ValueCommand {
    /// Fit a purchase model (BG/NBD or Pareto/NBD) and Gamma-Gamma on a feature table.
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
    #[arg(long, value_enum, default_value_t = PurchaseKind::Bgnbd)]
    pub model: PurchaseKind,
    /// L2 penalty on the log-parameters (the optimiser minimises −LL/n + L·Σ ln(θ)²); try
    /// 0.001–0.1 for small data or when a parameter runs to a boundary.
    #[arg(long, value_name = "L", default_value_t = 0.0)]
    pub penalty: f64,
}

#[derive(Debug, clap::Args)]
struct FitArgs {
    /// Feature table from `lookalike features` (frequency, recency, T, monetary_value).
    #[arg(long, value_name = "FILE")]
    features: PathBuf,
    #[command(flatten)]
    settings: FitSettings,
    /// Model directory to write (value_model.json).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

/// Which month CLV's monthly steps use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MonthArg {
    /// 365.25/12 days.
    Calendar,
    /// lifetimes' 30 days (4.345 weeks), to reproduce its CLV.
    Lifetimes,
}

/// Horizon and discounting.
#[derive(Debug, Clone, clap::Args)]
pub struct HorizonArgs {
    /// Prediction horizon (expected purchases and CLV).
    #[arg(long, default_value_t = 12.0)]
    pub horizon: f64,
    /// Unit of the horizon: days, weeks or months.
    #[arg(long, default_value = "months")]
    pub unit: String,
    /// Discount rate per month (CLV discounts each month's value by (1 + rate)^month).
    #[arg(long, default_value_t = 0.01)]
    pub discount: f64,
    /// Month length of CLV's monthly steps.
    #[arg(long, value_enum, default_value_t = MonthArg::Calendar)]
    pub month: MonthArg,
}

impl HorizonArgs {
    pub fn resolve(&self, unit: &(String, f64)) -> anyhow::Result<Horizon> {
        let months = match self.month {
            MonthArg::Calendar => MonthLength::Calendar,
            MonthArg::Lifetimes => MonthLength::Lifetimes,
        };
        value_model::horizon(self.horizon, &self.unit, unit.1, self.discount, months)
    }
}

#[derive(Debug, clap::Args)]
struct PredictArgs {
    /// Model directory from `lookalike value fit`.
    #[arg(long, value_name = "DIR")]
    model: PathBuf,
    /// Feature table of the customers to score.
    #[arg(long, value_name = "FILE")]
    features: PathBuf,
    #[command(flatten)]
    horizon: HorizonArgs,
    /// Output (.csv or .parquet): customer_id, p_alive, expected_purchases, expected_spend,
    /// clv, residual_purchases.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

#[derive(Debug, clap::Args)]
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
    time_unit: Unit,
    #[command(flatten)]
    settings: FitSettings,
    /// Write the report's tables as CSV into this directory.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Write SVG plots into this directory: the tracking curve, the conditional expectations
    /// by calibration frequency and a recency × frequency P(alive) map.
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

/// Fits on a feature table and writes `<dir>/value_model.json`; returns the fit and its text.
pub fn fit_to_dir(
    features: &std::path::Path,
    settings: &FitSettings,
    dir: &std::path::Path,
    ui: &Ui,
) -> anyhow::Result<(value_model::Fitted, FeatureTable, String)> {
    let began = Instant::now();
    let table = read(features)?;
    let unit = value_model::time_unit_of(features);
    let fitted = value_model::fit(&table, settings.model, &options(settings), unit)
        .with_context(|| format!("fitting {}", features.display()))?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join("value_model.json");
    let document = value_model::model_json(&fitted, features);
    lookalike_core::write_atomically(&path, |w| {
        serde_json::to_writer_pretty(&mut *w, &document)?;
        w.write_all(b"\n")
    })
    .with_context(|| format!("writing {}", path.display()))?;
    ui.say(format!(
        "fitted {} customers ({} distinct histories; {} without a purchase left out) in {:.2}s; wrote {}",
        fitted.data.customers(),
        fitted.data.unique(),
        fitted.data.without_purchase(),
        began.elapsed().as_secs_f64(),
        path.display()
    ));
    let text = value_model::describe(&fitted);
    Ok((fitted, table, text))
}

fn fit(args: FitArgs, ui: &Ui) -> anyhow::Result<()> {
    let (_, _, text) = fit_to_dir(&args.features, &args.settings, &args.out, ui)?;
    ui.data(&text)?;
    Ok(())
}

fn predict(args: PredictArgs, ui: &Ui) -> anyhow::Result<()> {
    let began = Instant::now();
    let (purchases, spend, unit) = value_model::load(&args.model)?;
    let table = read(&args.features)?;
    let table_unit = value_model::time_unit_of(&args.features);
    if table_unit.0 != unit.0 {
        anyhow::bail!(
            "the model was fitted on recency and T in {} but {} has them in {}; rebuild the features with --time-unit {}",
            unit.0,
            args.features.display(),
            table_unit.0,
            unit.0
        );
    }
    let horizon = args.horizon.resolve(&unit)?;
    let predictions = value_model::predict(&table, &purchases, spend.as_ref(), &horizon)
        .with_context(|| format!("scoring {}", args.features.display()))?;
    value_model::write_predictions(&table, &predictions, &args.out)?;
    let scored = predictions.iter().flatten().count();
    ui.say(format!(
        "scored {scored} customers in {:.2}s; {} without a purchase have empty cells; wrote {}",
        began.elapsed().as_secs_f64(),
        table.len() - scored,
        args.out.display()
    ));
    if spend.is_none() {
        ui.say("  no spend model in the model directory: expected_spend and clv are empty");
    }
    ui.data(&value_report::summary(&table, &predictions, 10))?;
    Ok(())
}

fn evaluate(args: EvaluateArgs, ui: &Ui) -> anyhow::Result<()> {
    let as_of = parse_date(&args.as_of).map_err(|e| anyhow::anyhow!("--as-of: {e}"))?;
    let end = parse_date(&args.holdout_end).map_err(|e| anyhow::anyhow!("--holdout-end: {e}"))?;
    if end <= as_of {
        anyhow::bail!("--holdout-end {end} must be after --as-of {as_of}");
    }
    let (time_unit, unit) = match args.time_unit {
        Unit::Days => (TimeUnit::Days, ("days".to_string(), 1.0)),
        Unit::Weeks => (TimeUnit::Weeks, ("weeks".to_string(), 7.0)),
    };
    let params = FeatureParams::new()
        .as_of(as_of)
        .holdout_end(end)
        .time_unit(time_unit)
        .on_bad_row(args.input.on_bad_row())
        .threads(rayon::current_num_threads());
    let inputs = args.input.resolve()?;
    let extraction = extract(&inputs, &params, &ui.progress())?;
    crate::commands::features::report_inputs(&extraction, ui);
    let table = &extraction.table;
    let fitted = value_model::fit(
        table,
        args.settings.model,
        &options(&args.settings),
        unit.clone(),
    )
    .context("fitting on the calibration period")?;
    let holdout_units = (end - as_of).num_days() as f64 / unit.1;
    let horizon = value_model::horizon(holdout_units, &unit.0, unit.1, 0.0, MonthLength::Calendar)?;
    let spend = fitted.spend_model();
    let predictions = value_model::predict(table, &fitted.purchases, spend.as_ref(), &horizon)?;
    let report = value_report::Evaluation::new(table, &predictions, holdout_units)?;
    let holdout_days = (end - as_of).num_days() as f64;
    let week_ends: Vec<f64> = (1..=extraction.holdout_weeks.len())
        .map(|w| (7.0 * w as f64).min(holdout_days) / unit.1)
        .collect();
    let model_cumulative =
        expected_total_purchases(fitted.purchases.model(), &fitted.data, &week_ends);
    let [x, _, t, _] = value_model::btyd_columns(table)?;
    let naive_rate: f64 = x
        .iter()
        .zip(t.iter())
        .filter(|(x, t)| !x.is_nan() && **t > 0.0)
        .map(|(x, t)| x / t)
        .sum();
    let tracking = value_report::Tracking::new(
        &extraction.holdout_weeks,
        &model_cumulative,
        naive_rate,
        &week_ends,
    );
    let mut text = value_model::describe(&fitted);
    text += &format!(
        "\nholdout {as_of} to {end} ({holdout_units:.2} {}), {} customers with a calibration purchase\n",
        unit.0,
        predictions.iter().flatten().count()
    );
    text += &report.render();
    text += &tracking.render();
    if let Some(dir) = &args.out {
        report.write(dir)?;
        value_report::write_tracking(&tracking, dir)?;
        ui.say(format!("wrote the report's tables to {}", dir.display()));
    }
    if let Some(dir) = &args.plot {
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
        for path in value_report::plot(&report, &tracking, fitted.purchases.model(), &longest, dir)?
        {
            ui.say(format!("wrote {}", path.display()));
        }
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
