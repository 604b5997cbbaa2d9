//! `lookalike migrate`: how customers moved between segments from one run to the next.

use std::path::PathBuf;

use anyhow::Context;
use lookalike_measure::Migration;

use crate::output::Ui;
use crate::paths::Paths;
use crate::plots;
use crate::small_table::{SmallTable, UniqueIds, csv_row, write_csv};

/// Options of `lookalike migrate`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  lookalike migrate --before segments_june.csv --after segments_dec.csv --out matrix.csv
  lookalike migrate --before scores_a.parquet --after scores_b.parquet --by lifecycle \\
      --out matrix.csv --moves moves.csv --plot migration.svg")]
pub struct Args {
    /// The earlier run (a `segment` or `score` output, CSV or Parquet).
    #[arg(long, value_name = "FILE")]
    pub before: PathBuf,
    /// The later run on the same base.
    #[arg(long, value_name = "FILE")]
    pub after: PathBuf,
    /// The column whose values are the segments (rfm_segment, lifecycle, cluster, a tier …).
    #[arg(long, value_name = "COLUMN", default_value = "rfm_segment")]
    pub by: String,
    /// The transition matrix (.csv): one row per (segment before, segment after) with the count
    /// and the share of the segment before.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Also list every customer who changed segment (customer_id, before, after).
    #[arg(long, value_name = "FILE")]
    pub moves: Option<PathBuf>,
    /// Also draw the transition matrix as a heatmap of row shares (.svg).
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
}

/// (customer id, segment) of a run; an empty segment is "(none)". A customer listed twice is
/// an error naming both rows.
fn read_run(path: &std::path::Path, by: &str) -> anyhow::Result<Vec<(String, String)>> {
    let table = SmallTable::read(path, &["customer_id", by])?;
    let parquet = table.parquet;
    let run: Vec<(String, String)> = table
        .rows
        .into_iter()
        .map(|mut row| {
            let segment = std::mem::take(&mut row[1]);
            let id = std::mem::take(&mut row[0]);
            let segment = if segment.is_empty() {
                "(none)".to_string()
            } else {
                segment
            };
            (id, segment)
        })
        .collect();
    let mut seen = UniqueIds::new(path, parquet, "a run has one row per customer", run.len());
    for (i, (id, _)) in run.iter().enumerate() {
        seen.insert(id, i)?;
    }
    Ok(run)
}

pub fn run(args: Args, ui: &Ui) -> anyhow::Result<()> {
    Paths::new()
        .table("--before", Some(&args.before))
        .table("--after", Some(&args.after))
        .output("--out", Some(&args.out))
        .output("--moves", args.moves.as_deref())
        .output("--plot", args.plot.as_deref())
        .check()?;
    crate::commands::segment::check_output_names(args.plot.as_deref(), None)?;
    // The two runs are read side by side: each is one thread's CSV parsing.
    let (before, after) = rayon::join(
        || read_run(&args.before, &args.by),
        || read_run(&args.after, &args.by),
    );
    let (before, after) = (before?, after?);
    let migration = Migration::between(
        before.iter().map(|(id, s)| (id.as_str(), s.as_str())),
        after.iter().map(|(id, s)| (id.as_str(), s.as_str())),
    );
    let shares = migration.row_shares();
    let mut matrix = vec![csv_row(["before", "after", "customers", "share_of_before"])];
    for (i, from) in migration.segments.iter().enumerate() {
        for (j, to) in migration.segments.iter().enumerate() {
            if migration.counts[i][j] > 0 {
                let (count, share) = (migration.counts[i][j].to_string(), shares[i][j].to_string());
                matrix.push(csv_row([from.as_str(), to, &count, &share]));
            }
        }
    }
    write_csv(&args.out, &matrix)?;
    if let Some(path) = &args.moves {
        let earlier: foldhash::HashMap<&str, &str> = before
            .iter()
            .map(|(id, s)| (id.as_str(), s.as_str()))
            .collect();
        let mut moves = vec![csv_row(["customer_id", "before", "after"])];
        for (id, to) in &after {
            if let Some(from) = earlier.get(id.as_str())
                && *from != to.as_str()
            {
                moves.push(csv_row([id.as_str(), from, to]));
            }
        }
        write_csv(path, &moves)?;
    }
    if let Some(path) = &args.plot {
        plots::migration(&migration, &args.by, path)
            .with_context(|| format!("drawing {}", path.display()))?;
    }
    let mut text = format!(
        "{} customers in both runs; {} only in {} (left the base), {} only in {} (new)\n\n{:<22} {:>10} {:>10} {:>10} {:>10}\n",
        migration.in_both(),
        migration.only_before,
        args.before.display(),
        migration.only_after,
        args.after.display(),
        args.by,
        "stayed",
        "left",
        "entered",
        "retention"
    );
    for (segment, (stayed, left, entered)) in migration.segments.iter().zip(migration.flows()) {
        let base = stayed + left;
        text += &format!(
            "{:<22} {:>10} {:>10} {:>10} {:>9.1}%\n",
            segment,
            stayed,
            left,
            entered,
            if base > 0 {
                100.0 * stayed as f64 / base as f64
            } else {
                0.0
            }
        );
    }
    ui.data(&text)?;
    Ok(())
}
