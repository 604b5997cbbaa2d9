//! `lookalike migrate`: how customers moved between segments from one run to the next.

use std::path::PathBuf;

use anyhow::Context;
use lookalike_measure::Migration;

use crate::output::Ui;
use crate::paths::Paths;
use crate::small_table::{SmallTable, UniqueIds, csv_text};

/// Options of `lookalike migrate`.
#[derive(Debug, clap::Args)]
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
        .input("--before", Some(&args.before))
        .input("--after", Some(&args.after))
        .output("--out", Some(&args.out))
        .output("--moves", args.moves.as_deref())
        .check()?;
    let before = read_run(&args.before, &args.by)?;
    let after = read_run(&args.after, &args.by)?;
    let migration = Migration::between(
        before.iter().map(|(id, s)| (id.as_str(), s.as_str())),
        after.iter().map(|(id, s)| (id.as_str(), s.as_str())),
    );
    let shares = migration.row_shares();
    let mut matrix = String::from("before,after,customers,share_of_before\n");
    for (i, from) in migration.segments.iter().enumerate() {
        for (j, to) in migration.segments.iter().enumerate() {
            if migration.counts[i][j] > 0 {
                matrix += &format!(
                    "{},{},{},{}\n",
                    csv_text(from),
                    csv_text(to),
                    migration.counts[i][j],
                    shares[i][j]
                );
            }
        }
    }
    lookalike_core::write_atomically(&args.out, |w| {
        std::io::Write::write_all(w, matrix.as_bytes())
    })
    .with_context(|| format!("writing {}", args.out.display()))?;
    if let Some(path) = &args.moves {
        let earlier: foldhash::HashMap<&str, &str> = before
            .iter()
            .map(|(id, s)| (id.as_str(), s.as_str()))
            .collect();
        let mut moves = String::from("customer_id,before,after\n");
        for (id, to) in &after {
            if let Some(from) = earlier.get(id.as_str())
                && *from != to.as_str()
            {
                moves += &format!("{},{},{}\n", csv_text(id), csv_text(from), csv_text(to));
            }
        }
        lookalike_core::write_atomically(path, |w| std::io::Write::write_all(w, moves.as_bytes()))
            .with_context(|| format!("writing {}", path.display()))?;
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
