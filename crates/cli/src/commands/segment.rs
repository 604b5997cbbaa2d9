//! `lookalike segment`: RFM scores, named segments, lifecycle, flags and rule segments.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use lookalike_core::FeatureTable;
use lookalike_features::read_feature_table;
use lookalike_rfm::{
    LifecycleParams, RuleSet, SegmentParams, SegmentReport, Segmentation, report, segment,
};

use crate::output::Ui;
use crate::plots;
use crate::segment_output::write_segments;

/// Options of `lookalike segment`.
#[derive(Debug, clap::Args)]
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

/// Reads, segments and writes; returns the report (the demo prints it too).
pub fn segment_to_files(
    args: &Args,
    ui: &Ui,
) -> anyhow::Result<(FeatureTable, Segmentation, SegmentReport)> {
    let began = Instant::now();
    let rules = match &args.rules {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading rules from {}", path.display()))?;
            RuleSet::from_toml(&text)
                .with_context(|| format!("in the rules file {}", path.display()))?
        }
        None => RuleSet::default(),
    };
    if let Some(plot) = &args.plot
        && plot.extension().and_then(|e| e.to_str()) != Some("svg")
    {
        bail!(
            "--plot {}: the plot is written as SVG; give a .svg file",
            plot.display()
        );
    }
    if let Some(report_path) = &args.report {
        report_format(report_path)?;
    }
    let table = read_feature_table(&args.features, None)
        .with_context(|| format!("reading features from {}", args.features.display()))?;
    let lifecycle = LifecycleParams::default()
        .lapsing_factor(args.lapsing_factor)
        .lost_factor(args.lost_factor)
        .loyal_min_purchase_days(args.loyal_purchase_days)
        .single_purchase_gap_days(args.single_purchase_gap);
    let mut params = SegmentParams::new()
        .bins(args.bins)
        .value_column(&args.value_column)
        .lifecycle(lifecycle);
    if let Some(column) = &args.require_consent {
        params = params.require_consent(column);
    }
    let what = match &args.rules {
        Some(path) => format!(
            "segmenting {} with {}",
            args.features.display(),
            path.display()
        ),
        None => format!("segmenting {}", args.features.display()),
    };
    let segmentation = segment(&table, &rules, &params).with_context(|| what)?;
    write_segments(&table, &segmentation, &args.out)
        .with_context(|| format!("writing segments to {}", args.out.display()))?;
    let summary = report(&table, &segmentation, args.min_size);
    if let Some(path) = &args.report {
        write_report(&summary, path)?;
    }
    if let Some(path) = &args.plot {
        plots::segment_shares(&summary, path)
            .with_context(|| format!("drawing {}", path.display()))?;
    }
    ui.say(format!(
        "segmented {} customers ({} rule segments, {} bins) in {:.2}s; wrote {}",
        table.len(),
        segmentation.rule_names.len(),
        args.bins,
        began.elapsed().as_secs_f64(),
        args.out.display()
    ));
    for warning in &summary.warnings {
        ui.say(format!("  warning: {warning}"));
    }
    Ok((table, segmentation, summary))
}

enum ReportFormat {
    Csv,
    Json,
}

fn report_format(path: &Path) -> anyhow::Result<ReportFormat> {
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
                "\n{title}\n  {:<20} {:>9} {:>7} {:>12} {:>8} {:>10} {:>9} {:>9}\n",
                "segment",
                "customers",
                "share",
                "revenue",
                "rev.share",
                "recency_d",
                "frequency",
                "monetary"
            );
        }
        let number = |v: f64| {
            if v.is_nan() {
                "-".to_string()
            } else {
                format!("{v:.1}")
            }
        };
        text += &format!(
            "  {:<20} {:>9} {:>6.1}% {:>12.0} {:>7.1}% {:>10} {:>9} {:>9}\n",
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
        );
    }
    if summary.without_consent > 0 {
        text += &format!(
            "\n  {} customers without consent are in no segment\n",
            summary.without_consent
        );
    }
    text
}

pub fn run(args: Args, ui: &Ui) -> anyhow::Result<()> {
    let (_, _, summary) = segment_to_files(&args, ui)?;
    ui.data(&report_table(&summary))?;
    Ok(())
}
