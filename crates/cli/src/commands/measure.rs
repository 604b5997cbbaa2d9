//! `lookalike measure`: what a campaign did, per audience group, against its control group.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use lookalike_features::{day_number, outcomes, parse_date};
use lookalike_measure::{CampaignResult, Member, measure_campaign};

use crate::commands::features::InputArgs;
use crate::output::Ui;
use crate::paths::Paths;
use crate::small_table::{SmallTable, UniqueIds};

/// Options of `lookalike measure`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  lookalike measure --audience audience.csv --transactions tx.csv --from 2026-01-01 --out lift.csv
  lookalike measure --audience audience.csv --transactions tx.csv --from 2026-01-01 \\
      --to 2026-02-01 --pre-from 2025-10-01 --out lift.json --plot lift.svg")]
pub struct Args {
    /// The audience (what `expand` or `score` writes, CSV or Parquet): a customer_id column, a
    /// group column (--by) and a control column (true/false; empty = not in the test, e.g. seeds).
    #[arg(long, value_name = "FILE")]
    pub audience: PathBuf,
    /// The transaction log of the outcome period (and the pre-period), read as `features` reads it.
    #[command(flatten)]
    pub input: InputArgs,
    /// First day of the outcome period (inclusive).
    #[arg(long, value_name = "DATE")]
    pub from: String,
    /// First day after the outcome period (default: the day after the log's last line).
    #[arg(long, value_name = "DATE")]
    pub to: Option<String>,
    /// The audience column that names each customer's group.
    #[arg(long, value_name = "COLUMN", default_value = "tier")]
    pub by: String,
    /// The audience column that says whether a customer was held out.
    #[arg(long, value_name = "COLUMN", default_value = "control")]
    pub control_column: String,
    /// Start of a pre-period [pre-from, from): each customer's revenue in it adjusts the revenue
    /// lift by CUPED (Deng et al. 2013), reported beside the unadjusted one.
    #[arg(long, value_name = "DATE")]
    pub pre_from: Option<String>,
    /// Confidence level of the intervals.
    #[arg(long, default_value_t = 0.95)]
    pub level: f64,
    /// The report (.csv: one row per group; .json: everything).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Draw each group's conversion lift with its interval (.svg).
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
}

/// An audience row: id, group, control flag (None: not in the test).
type AudienceRow = (String, String, Option<bool>);

fn flag(text: &str) -> Result<Option<bool>, ()> {
    match text.trim().to_ascii_lowercase().as_str() {
        "" => Ok(None),
        "true" | "t" | "yes" | "y" | "1" => Ok(Some(true)),
        "false" | "f" | "no" | "n" | "0" => Ok(Some(false)),
        _ => Err(()),
    }
}

/// Reads the audience's id, group and control columns (CSV or Parquet).
fn read_audience(path: &Path, by: &str, control: &str) -> anyhow::Result<Vec<AudienceRow>> {
    let table = SmallTable::read(path, &["customer_id", by, control])?;
    let (id_at, group_at, control_at) = (0, 1, 2);
    let rows = &table.rows;
    let place = |i: usize| table.place(i);
    let mut seen = UniqueIds::new(
        path,
        table.parquet,
        "an audience lists a customer once",
        rows.len(),
    );
    let mut audience = Vec::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        let id = row[id_at].as_str();
        if id.is_empty() {
            bail!(
                "{}: {}, column \"customer_id\": empty id",
                path.display(),
                place(i)
            );
        }
        seen.insert(id, i)?;
        let control = flag(&row[control_at]).map_err(|()| {
            anyhow::anyhow!(
                "{}: {}, column {control:?}: {:?} is not true/false (empty: not in the test)",
                path.display(),
                place(i),
                row[control_at]
            )
        })?;
        audience.push((id.to_string(), row[group_at].clone(), control));
    }
    Ok(audience)
}

fn render(result: &CampaignResult) -> String {
    let pct = |v: f64| format!("{:.2}%", 100.0 * v);
    let mut text = format!(
        "{:<10} {:>9} {:>9} {:>9} {:>9} {:>26} {:>9} {:>30}\n",
        "group",
        "treated",
        "control",
        "conv.",
        "ctrl conv.",
        "conversion lift [95% CI]",
        "p",
        "revenue/customer lift [CI]"
    );
    for g in &result.groups {
        let conversion = g.conversion.as_ref().map_or("-".to_string(), |c| {
            format!(
                "{:+.2} pt [{:+.2}, {:+.2}]",
                100.0 * c.absolute,
                100.0 * c.absolute_interval.low,
                100.0 * c.absolute_interval.high
            )
        });
        let revenue = g.revenue.as_ref().map_or("-".to_string(), |r| {
            format!(
                "{:+.2} [{:+.2}, {:+.2}]",
                r.absolute, r.absolute_interval.low, r.absolute_interval.high
            )
        });
        text += &format!(
            "{:<10} {:>9} {:>9} {:>9} {:>9} {:>26} {:>9} {:>30}\n",
            g.group,
            g.treated.customers,
            g.control.customers,
            pct(g.treated.converters as f64 / g.treated.customers.max(1) as f64),
            pct(g.control.converters as f64 / g.control.customers.max(1) as f64),
            conversion,
            g.conversion
                .as_ref()
                .map_or("-".into(), |c| format!("{:.4}", c.p_value)),
            revenue
        );
        if let Some((cuped, saved)) = &g.revenue_cuped {
            text += &format!(
                "{:<10} CUPED-adjusted revenue lift {:+.2} [{:+.2}, {:+.2}], p {:.4}; variance saved {:.1}%\n",
                "",
                cuped.absolute,
                cuped.absolute_interval.low,
                cuped.absolute_interval.high,
                cuped.p_value,
                100.0 * saved
            );
        }
        if let Some(note) = &g.note {
            text += &format!("{:<10} {note}\n", "");
        }
    }
    text
}

pub fn run(args: Args, ui: &Ui) -> anyhow::Result<()> {
    args.input
        .declare(Paths::new().table("--audience", Some(&args.audience)))
        .output("--out", Some(&args.out))
        .output("--plot", args.plot.as_deref())
        .check()?;
    let json = match args.out.extension().and_then(|e| e.to_str()) {
        Some("json") => true,
        Some("csv") => false,
        _ if lookalike_core::is_special_output(&args.out) => false,
        _ => bail!("--out {}: give a .csv or .json file", args.out.display()),
    };
    let date =
        |option: &str, text: &str| parse_date(text).map_err(|e| anyhow::anyhow!("{option}: {e}"));
    let from = day_number(date("--from", &args.from)?);
    let to = args
        .to
        .as_deref()
        .map(|t| date("--to", t).map(day_number))
        .transpose()?;
    if to.is_some_and(|to| to <= from) {
        bail!(
            "--to {} must be after --from {}",
            args.to.as_deref().unwrap_or(""),
            args.from
        );
    }
    let pre_from = args
        .pre_from
        .as_deref()
        .map(|t| date("--pre-from", t).map(day_number))
        .transpose()?;
    if pre_from.is_some_and(|p| p >= from) {
        bail!(
            "--pre-from {} must be before --from {}: the pre-period ends where the outcome period starts",
            args.pre_from.as_deref().unwrap_or(""),
            args.from
        );
    }
    let audience = read_audience(&args.audience, &args.by, &args.control_column)?;
    let members: Vec<Member<'_>> = audience
        .iter()
        .filter_map(|(id, group, control)| control.map(|control| Member { id, group, control }))
        .collect();
    let not_in_test = audience.len() - members.len();
    if !members.iter().any(|m| m.control) {
        bail!(
            "{}: no customer has {} = true: without a control group lift cannot be measured",
            args.audience.display(),
            args.control_column
        );
    }
    let inputs = args.input.resolve()?;
    let params = args.input.reading.apply(
        lookalike_features::FeatureParams::new()
            .on_bad_row(args.input.on_error)
            .threads(rayon::current_num_threads()),
    );
    let to = to.unwrap_or(i32::MAX);
    let read = outcomes(
        &inputs.transactions,
        &inputs.mapping,
        &params,
        (from, to),
        pre_from,
        &ui.progress(),
    )?;
    let result = measure_campaign(&members, &read.customers, args.level, pre_from.is_some())?;
    ui.say(format!(
        "{} audience customers in the test ({} without a control flag left out); {} rows of {} read ({} outside the periods, {} guest lines left out, {} bad rows skipped); {} customers who bought are not in the audience (ignored)",
        members.len(),
        not_in_test,
        read.rows,
        args.input.transactions.display(),
        read.outside,
        read.guest_lines,
        read.skipped,
        result.outside_audience
    ));
    let body = if json {
        serde_json::to_string_pretty(&result)? + "\n"
    } else {
        result.to_csv()
    };
    lookalike_core::write_atomically(&args.out, |w| std::io::Write::write_all(w, body.as_bytes()))
        .with_context(|| format!("writing {}", args.out.display()))?;
    if let Some(plot) = &args.plot {
        crate::plots::campaign_lift(&result, plot)
            .with_context(|| format!("drawing {}", plot.display()))?;
    }
    ui.data(&render(&result))?;
    Ok(())
}
