//! `lookalike power`: which segments are large enough to test a campaign on.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use anyhow::{Context, bail};
use lookalike_features::{LogReading, day_number, outcomes, parse_date};
use lookalike_measure::{SegmentPower, TestPlan, segment_power};

use crate::commands::features::InputArgs;
use crate::output::Ui;
use crate::paths::Paths;
use crate::shares;
use crate::small_table::SmallTable;

/// Options of `lookalike power`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  lookalike power --segments segments.csv --baseline 3% --out power.csv
  lookalike power --segments segments.csv --transactions tx.csv --from 2025-10-01 \\
      --control-share 20% --target-lift 15% --out power.csv")]
pub struct Args {
    /// Segments (what `segment` or `score` writes, CSV or Parquet): customer_id and --by.
    #[arg(long, value_name = "FILE")]
    pub segments: PathBuf,
    /// The column whose values are the segments.
    #[arg(long, value_name = "COLUMN", default_value = "rfm_segment")]
    pub by: String,
    /// Share of each segment held out as its control group (10% or 0.1).
    #[arg(long, value_name = "SHARE", default_value = "10%", value_parser = shares::rate)]
    pub control_share: f64,
    /// Baseline conversion of every segment (e.g. 3%); without it, each segment's conversion in
    /// [--from, --to) of --transactions.
    #[arg(long, value_name = "RATE", conflicts_with = "transactions", value_parser = shares::rate)]
    pub baseline: Option<f64>,
    /// The transaction log to measure each segment's baseline conversion on.
    #[arg(long, value_name = "FILE")]
    pub transactions: Option<PathBuf>,
    /// Read a field of the log from another column: FIELD=NAME. Repeatable.
    #[arg(long = "column", value_name = "FIELD=NAME", requires = "transactions")]
    pub columns: Vec<String>,
    /// How the log is read.
    #[command(flatten)]
    pub reading: LogReading,
    /// Start of the baseline period (with --transactions).
    #[arg(long, value_name = "DATE", requires = "transactions")]
    pub from: Option<String>,
    /// End of the baseline period, exclusive (with --transactions; default: the log's end).
    #[arg(long, value_name = "DATE", requires = "transactions")]
    pub to: Option<String>,
    /// The lift a campaign hopes for, relative (20% = conversion × 1.2): the control group it
    /// needs is reported.
    #[arg(long, value_name = "LIFT", default_value = "20%", value_parser = shares::lift)]
    pub target_lift: f64,
    /// Segments whose minimum detectable lift is above this are flagged too small to test.
    #[arg(long, value_name = "LIFT", default_value = "50%", value_parser = shares::lift)]
    pub max_detectable: f64,
    /// Significance level (two-sided).
    #[arg(long, default_value_t = 0.05)]
    pub alpha: f64,
    /// Power.
    #[arg(long, default_value_t = 0.8)]
    pub power: f64,
    /// The table (.csv): one row per segment.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

/// A line of the table.
#[derive(serde::Serialize)]
struct PowerRow<'a> {
    segment: &'a str,
    customers: u64,
    treated: u64,
    control: u64,
    baseline_conversion: f64,
    minimum_detectable_lift: Option<f64>,
    control_needed_for_target: Option<f64>,
    too_small_to_test: bool,
}

pub fn run(args: Args, ui: &Ui) -> anyhow::Result<()> {
    Paths::new()
        .table("--segments", Some(&args.segments))
        .table("--transactions", args.transactions.as_deref())
        .output("--out", Some(&args.out))
        .check()?;
    let input = args.transactions.as_ref().map(|transactions| InputArgs {
        transactions: transactions.clone(),
        events: None,
        customers: None,
        format: None,
        delimiter: None,
        columns: args.columns.clone(),
        on_error: lookalike_features::OnBadRow::Fail,
        reading: args.reading.clone(),
    });
    let plan = TestPlan {
        control_share: args.control_share,
        alpha: args.alpha,
        power: args.power,
        target_lift: args.target_lift,
        max_detectable: args.max_detectable,
    };
    let table = SmallTable::read(&args.segments, &["customer_id", &args.by])?;
    let (id_at, by_at) = (0, 1);
    let rows = &table.rows;
    let mut segments: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for row in rows {
        if !row[by_at].is_empty() {
            segments
                .entry(row[by_at].clone())
                .or_default()
                .push(row[id_at].clone());
        }
    }
    // Each segment's baseline conversion: given, or measured on the log.
    let converted: Option<HashMap<String, bool>> = match (&args.baseline, &input) {
        (Some(_), _) => None,
        (None, Some(input)) => {
            let from = args
                .from
                .as_deref()
                .context("--from is needed with --transactions: the baseline period's start")?;
            let from = day_number(parse_date(from).map_err(|e| anyhow::anyhow!("--from: {e}"))?);
            let to = match &args.to {
                Some(to) => day_number(parse_date(to).map_err(|e| anyhow::anyhow!("--to: {e}"))?),
                None => i32::MAX,
            };
            let inputs = input.resolve()?;
            let params = input.reading.apply(
                lookalike_features::FeatureParams::new()
                    .on_bad_row(input.on_error)
                    .threads(rayon::current_num_threads()),
            );
            let read = outcomes(
                &inputs.transactions,
                &inputs.mapping,
                &params,
                (from, to),
                None,
                &ui.progress(),
            )?;
            Some(
                read.customers
                    .into_iter()
                    .map(|(id, o)| (id, o.purchase_lines > 0))
                    .collect(),
            )
        }
        (None, None) => bail!(
            "give --baseline RATE, or --transactions LOG --from DATE to measure each segment's conversion"
        ),
    };
    let mut table = Vec::with_capacity(segments.len());
    let mut text = format!(
        "{:<22} {:>9} {:>8} {:>9} {:>12} {:>16}\n",
        args.by, "customers", "control", "baseline", "min. lift", "control needed"
    );
    for (segment, ids) in &segments {
        let n = ids.len() as u64;
        let baseline = match (args.baseline, &converted) {
            (Some(rate), _) => rate,
            (None, Some(converted)) => {
                ids.iter()
                    .filter(|id| converted.get(*id).copied().unwrap_or(false))
                    .count() as f64
                    / n as f64
            }
            (None, None) => unreachable!("checked above"),
        };
        let SegmentPower {
            treated,
            control,
            minimum_detectable_lift: mde,
            control_needed_for_target: needed,
            too_small_to_test: too_small,
        } = segment_power(n, baseline, &plan)?;
        table.push(PowerRow {
            segment,
            customers: n,
            treated,
            control,
            baseline_conversion: baseline,
            minimum_detectable_lift: mde,
            control_needed_for_target: needed,
            too_small_to_test: too_small,
        });
        text += &format!(
            "{:<22} {:>9} {:>8} {:>8.2}% {:>12} {:>16}{}\n",
            segment,
            n,
            control,
            100.0 * baseline,
            mde.map_or("-".into(), |m| format!("+{:.1}%", 100.0 * m)),
            needed.map_or("-".into(), |c| format!("{c:.0}")),
            if too_small { "  too small to test" } else { "" }
        );
    }
    lookalike_core::write_atomically(&args.out, |w| {
        let mut writer = csv::Writer::from_writer(w);
        for row in &table {
            writer.serialize(row).map_err(std::io::Error::other)?;
        }
        writer.flush()
    })
    .with_context(|| format!("writing {}", args.out.display()))?;
    ui.data(&text)?;
    Ok(())
}
