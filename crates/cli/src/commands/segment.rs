//! `lookalike segment`: RFM scores, named segments, lifecycle, flags and rule segments.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use lookalike_core::FeatureTable;
use lookalike_features::read_feature_table;
use lookalike_pipeline::{SegmentSpec, SegmentTraining, segment_table, write_segments};
use lookalike_rfm::SegmentReport;

use crate::output::Ui;
use crate::paths::Paths;
use crate::plots;
use crate::shares;

/// Options of `lookalike segment`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  lookalike segment --features features.parquet --out segments.csv
  lookalike segment --features features.parquet --rules data/segments.example.toml \\
      --out segments.parquet --report report.json --plot segments.svg
  lookalike segment --features features.parquet --bins 4 --control-share 20% --out segments.csv")]
pub struct Args {
    /// Feature table written by `lookalike features` (.csv or .parquet).
    #[arg(long, value_name = "FILE")]
    pub features: PathBuf,
    /// TOML file of [[segment]] rules and optional [scores] breaks (see data/segments.example.toml).
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// Score bins: 5 = quintiles, 4 = quartiles, 10 = deciles.
    #[arg(long, default_value_t = 5)]
    pub bins: usize,
    /// One row per customer with scores, segments, stage and flags (.csv or .parquet).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Also write the segment report (.csv or .json).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Draw segment sizes and revenue shares (.svg).
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
    /// Segments with fewer customers are flagged as too small to test.
    #[arg(long, default_value_t = 1_000)]
    pub min_size: usize,
    /// The report's power analysis: the share of each segment a test would hold out.
    #[arg(long, value_name = "SHARE", default_value = "10%", value_parser = shares::rate)]
    pub control_share: f64,
    /// Every segment's baseline conversion (e.g. 3%); default: each segment's share of
    /// customers who ordered in the last 30 days (orders_30d).
    #[arg(long, value_name = "RATE", value_parser = shares::rate)]
    pub baseline: Option<f64>,
    /// The lift a campaign hopes for: the report gives the control group it needs.
    #[arg(long, value_name = "LIFT", default_value = "20%", value_parser = shares::lift)]
    pub target_lift: f64,
    /// Segments where a test detects no lift below this are flagged too small to test.
    #[arg(long, value_name = "LIFT", default_value = "50%", value_parser = shares::lift)]
    pub max_detectable: f64,
    /// Leave customers whose COLUMN is not 1 out of every segment (e.g. marketing_consent).
    #[arg(long, value_name = "COLUMN")]
    pub require_consent: Option<String>,
    /// Column that ranks buyers into value tiers (top 1% / 5%).
    #[arg(long, value_name = "COLUMN", default_value = "total_spend")]
    pub value_column: String,
    /// Lifecycle: lapsing after this many times the customer's usual gap without a purchase.
    #[arg(long, value_name = "FACTOR", default_value_t = 2.0)]
    pub lapsing_factor: f64,
    /// Lifecycle: lost after this many times the usual gap.
    #[arg(long, value_name = "FACTOR", default_value_t = 4.0)]
    pub lost_factor: f64,
    /// Lifecycle: purchase days from which a customer is loyal.
    #[arg(long, value_name = "DAYS", default_value_t = 5.0)]
    pub loyal_purchase_days: f64,
    /// Lifecycle: the usual gap assumed for customers with one purchase day.
    #[arg(long, value_name = "DAYS", default_value_t = 90.0)]
    pub single_purchase_gap: f64,
}

impl Args {
    /// The settings as the pipeline file gives them.
    fn spec(&self) -> SegmentSpec {
        SegmentSpec {
            rules: self.rules.clone(),
            bins: self.bins,
            value_column: self.value_column.clone(),
            require_consent: self.require_consent.clone(),
            lapsing_factor: self.lapsing_factor,
            lost_factor: self.lost_factor,
            loyal_purchase_days: self.loyal_purchase_days,
            single_purchase_gap: self.single_purchase_gap,
            min_size: self.min_size,
            control_share: self.control_share,
            baseline: self.baseline,
            target_lift: self.target_lift,
            max_detectable: self.max_detectable,
        }
    }
}

/// Reads, segments (the library's `segment_table`, as `train` does) and writes; returns the
/// report (the demo prints it too).
pub fn segment_to_files(args: &Args, ui: &Ui) -> anyhow::Result<SegmentReport> {
    let began = Instant::now();
    Paths::new()
        .table("--features", Some(&args.features))
        .input("--rules", args.rules.as_deref())
        .output("--out", Some(&args.out))
        .output("--report", args.report.as_deref())
        .output("--plot", args.plot.as_deref())
        .check()?;
    let rules = match &args.rules {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .with_context(|| format!("reading rules from {}", path.display()))?,
        ),
        None => None,
    };
    check_output_names(args.plot.as_deref(), args.report.as_deref())?;
    let table = read_feature_table(&args.features, None)
        .with_context(|| format!("reading features from {}", args.features.display()))?;
    let what = match &args.rules {
        Some(path) => format!(
            "segmenting {} with {}",
            args.features.display(),
            path.display()
        ),
        None => format!("segmenting {}", args.features.display()),
    };
    let trained = segment_table(&table, &args.spec(), rules.as_deref()).with_context(|| what)?;
    write_outputs(
        &table,
        &trained,
        &args.out,
        args.report.as_deref(),
        args.plot.as_deref(),
    )?;
    ui.say(format!(
        "segmented {} customers ({} rule segments, {} bins) in {:.2}s; wrote {}",
        table.len(),
        trained.segmentation.rule_names.len(),
        args.bins,
        began.elapsed().as_secs_f64(),
        args.out.display()
    ));
    for warning in &trained.report.warnings {
        ui.say(format!("  warning: {warning}"));
    }
    Ok(trained.report)
}

/// Refuses a plot that is not .svg or a report that is neither .csv nor .json, before any work.
pub fn check_output_names(plot: Option<&Path>, report: Option<&Path>) -> anyhow::Result<()> {
    if let Some(plot) = plot
        && plot.extension().and_then(|e| e.to_str()) != Some("svg")
    {
        bail!(
            "--plot {}: the plot is written as SVG; give a .svg file",
            plot.display()
        );
    }
    if let Some(report_path) = report {
        report_format(report_path)?;
    }
    Ok(())
}

/// Writes the segmentation (one row per customer), the report and the plot.
pub fn write_outputs(
    table: &FeatureTable,
    trained: &SegmentTraining,
    out: &Path,
    report: Option<&Path>,
    plot: Option<&Path>,
) -> anyhow::Result<()> {
    write_segments(table, &trained.segmentation, out)
        .with_context(|| format!("writing segments to {}", out.display()))?;
    if let Some(path) = report {
        write_report(&trained.report, path)?;
    }
    if let Some(path) = plot {
        plots::segment_shares(&trained.report, path)
            .with_context(|| format!("drawing {}", path.display()))?;
    }
    Ok(())
}

enum ReportFormat {
    Csv,
    Json,
}

fn report_format(path: &Path) -> anyhow::Result<ReportFormat> {
    if path.as_os_str() == "-" {
        return Ok(ReportFormat::Csv);
    }
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("csv") => Ok(ReportFormat::Csv),
        Some("json") => Ok(ReportFormat::Json),
        _ => bail!("--report {}: give a .csv or .json file", path.display()),
    }
}

fn write_report(summary: &SegmentReport, path: &Path) -> anyhow::Result<()> {
    let format = report_format(path)?;
    lookalike_core::write_atomically(path, |w| match format {
        ReportFormat::Json => {
            serde_json::to_writer_pretty(&mut *w, summary).map_err(std::io::Error::other)?;
            std::io::Write::write_all(w, b"\n")
        }
        ReportFormat::Csv => {
            let mut writer = csv::Writer::from_writer(w);
            for row in &summary.rows {
                writer.serialize(row).map_err(std::io::Error::other)?;
            }
            writer.flush()
        }
    })
    .with_context(|| format!("writing the report to {}", path.display()))
}

/// The report as a readable table.
pub fn report_table(summary: &SegmentReport) -> String {
    let mut text = String::new();
    let mut group = "";
    for row in &summary.rows {
        if row.group != group {
            group = &row.group;
            let title = match group {
                "rfm" => "RFM SEGMENTS",
                "lifecycle" => "LIFECYCLE STAGES",
                _ => "RULE SEGMENTS (primary)",
            };
            text += &format!(
                "\n{title}\n  {:<20} {:>9} {:>7} {:>12} {:>8} {:>10} {:>9} {:>9} {:>8} {:>9}\n",
                "segment",
                "customers",
                "share",
                "revenue",
                "rev.share",
                "recency_d",
                "frequency",
                "monetary",
                "baseline",
                "min.lift"
            );
        }
        let number = |v: f64| {
            if v.is_nan() {
                "-".to_string()
            } else {
                format!("{v:.1}")
            }
        };
        let lift = match row.minimum_detectable_lift {
            Some(lift) if lift < 10.0 => format!("+{:.0}%", 100.0 * lift),
            Some(_) => ">+999%".into(),
            None => "-".into(),
        };
        let flag = if row.too_small_to_test && row.customers > 0 {
            " *"
        } else {
            ""
        };
        text += &format!(
            "  {:<20} {:>9} {:>6.1}% {:>12.0} {:>7.1}% {:>10} {:>9} {:>9} {:>8} {:>9}{flag}\n",
            row.segment,
            row.customers,
            100.0 * row.share,
            row.revenue,
            if row.revenue_share.is_nan() {
                0.0
            } else {
                100.0 * row.revenue_share
            },
            number(row.mean_recency_days),
            number(row.mean_frequency),
            number(row.mean_monetary),
            if row.baseline_conversion.is_nan() {
                "-".into()
            } else {
                format!("{:.1}%", 100.0 * row.baseline_conversion)
            },
            lift,
        );
    }
    if summary
        .rows
        .iter()
        .any(|r| r.too_small_to_test && r.customers > 0)
    {
        text += "\n  * too small to test: fewer customers than --min-size, or a test holding out\n    \
                 --control-share detects no lift below --max-detectable (80% power, α = 0.05)\n";
    }
    if summary.without_consent > 0 {
        text += &format!(
            "\n  {} customers without consent are in no segment\n",
            summary.without_consent
        );
    }
    text
}

pub fn run(mut args: Args, ui: &Ui) -> anyhow::Result<()> {
    let (features, _stdin) = crate::stdin::resolve(&args.features, "csv")?;
    args.features = features;
    let summary = segment_to_files(&args, ui)?;
    ui.data(&report_table(&summary))?;
    Ok(())
}
