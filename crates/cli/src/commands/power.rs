//! `lookalike power`: which segments are large enough to test a campaign on.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use anyhow::{Context, bail};
use lookalike_features::{LogReading, day_number, outcomes, parse_date};
use lookalike_measure::{control_size_for, minimum_detectable_lift};

use crate::commands::features::InputArgs;
use crate::output::Ui;
use crate::paths::Paths;
use crate::small_table::{SmallTable, csv_text};

/// Options of `lookalike power`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Segments (what `segment` or `score` writes, CSV or Parquet): customer_id and --by.
    #[arg(long, value_name = "FILE")]
    pub segments: PathBuf,
    /// The column whose values are the segments.
    #[arg(long, value_name = "COLUMN", default_value = "rfm_segment")]
    pub by: String,
    /// Share of each segment held out as its control group (10% or 0.1).
    #[arg(long, value_name = "SHARE", default_value = "10%")]
    pub control_share: String,
    /// Baseline conversion of every segment (e.g. 3%); without it, each segment's conversion in
    /// [--from, --to) of --transactions.
    #[arg(long, value_name = "RATE", conflicts_with = "transactions")]
    pub baseline: Option<String>,
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
    #[arg(long, value_name = "LIFT", default_value = "20%")]
    pub target_lift: String,
    /// Segments whose minimum detectable lift is above this are flagged too small to test.
    #[arg(long, value_name = "LIFT", default_value = "50%")]
    pub max_detectable: String,
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

/// A relative lift (may exceed 100%).
fn parse_lift(option: &str, text: &str) -> anyhow::Result<f64> {
    lookalike_pipeline::parse_share(text)
        .filter(|v| *v > 0.0)
        .with_context(|| format!("{option} {text:?}: give a positive lift like 20% or 0.2"))
}

/// A share strictly between 0 and 1.
fn parse_rate(option: &str, text: &str) -> anyhow::Result<f64> {
    lookalike_pipeline::parse_share(text)
        .filter(|v| *v > 0.0 && *v < 1.0)
        .with_context(|| {
            format!("{option} {text:?}: give a share above 0 and below 100%, like 10% or 0.1")
        })
}

pub fn run(args: Args, ui: &Ui) -> anyhow::Result<()> {
    Paths::new()
        .input("--segments", Some(&args.segments))
        .input("--transactions", args.transactions.as_deref())
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
    let control_share = parse_rate("--control-share", &args.control_share)?;
    let target = parse_lift("--target-lift", &args.target_lift)?;
    let max_detectable = parse_lift("--max-detectable", &args.max_detectable)?;
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
    let given = args
        .baseline
        .as_deref()
        .map(|b| parse_rate("--baseline", b))
        .transpose()?;
    let mut table = String::from(
        "segment,customers,treated,control,baseline_conversion,minimum_detectable_lift,control_needed_for_target,too_small_to_test\n",
    );
    let mut text = format!(
        "{:<22} {:>9} {:>8} {:>9} {:>12} {:>16}\n",
        args.by, "customers", "control", "baseline", "min. lift", "control needed"
    );
    for (segment, ids) in &segments {
        let n = ids.len() as u64;
        let control = ((n as f64) * control_share).round() as u64;
        let treated = n - control;
        let baseline = match (&given, &converted) {
            (Some(rate), _) => *rate,
            (None, Some(converted)) => {
                ids.iter()
                    .filter(|id| converted.get(*id).copied().unwrap_or(false))
                    .count() as f64
                    / n as f64
            }
            (None, None) => unreachable!("checked above"),
        };
        let usable = baseline > 0.0 && baseline < 1.0 && treated > 0 && control > 0;
        let mde = if usable {
            minimum_detectable_lift(treated, control, baseline, args.alpha, args.power)?
        } else {
            None
        };
        let needed = if usable && baseline * (1.0 + target) < 1.0 {
            control_size_for(target, treated, baseline, args.alpha, args.power)?
        } else {
            None
        };
        let too_small = mde.is_none_or(|m| m > max_detectable);
        let cell = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v}"));
        table += &format!(
            "{},{n},{treated},{control},{baseline},{},{},{too_small}\n",
            csv_text(segment),
            cell(mde),
            cell(needed.map(f64::ceil))
        );
        text += &format!(
            "{:<22} {:>9} {:>8} {:>8.2}% {:>12} {:>16}{}\n",
            segment,
            n,
            control,
            100.0 * baseline,
            mde.map_or("-".into(), |m| format!("+{:.1}%", 100.0 * m)),
            needed.map_or("-".into(), |c| format!("{:.0}", c.ceil())),
            if too_small { "  too small to test" } else { "" }
        );
    }
    lookalike_core::write_atomically(&args.out, |w| {
        std::io::Write::write_all(w, table.as_bytes())
    })
    .with_context(|| format!("writing {}", args.out.display()))?;
    ui.data(&text)?;
    Ok(())
}
