//! `lookalike overlap`: how much audiences (or segments) share, pair by pair.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Context, bail};

use crate::output::Ui;

/// Options of `lookalike overlap`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  lookalike overlap audience_a.csv audience_b.csv
  lookalike overlap audience.csv --by tier --out overlap.csv")]
pub struct Args {
    /// CSV or Parquet files with a `customer_id` column (CSV: or ids in the first column):
    /// audiences from `expand`, segments, scores, any list.
    #[arg(required = true, num_args = 1..)]
    files: Vec<PathBuf>,
    /// Split each file by the values of this column (e.g. `tier`, `rfm_segment`): every value
    /// becomes its own set, named FILE:VALUE.
    #[arg(long, value_name = "COLUMN")]
    by: Option<String>,
    /// Write the pairs as CSV.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// Named sets of ids, in file order (then value order).
fn read_sets(args: &Args) -> anyhow::Result<Vec<(String, HashSet<String>)>> {
    let mut sets = Vec::new();
    for path in &args.files {
        if lookalike_core::is_dataset(path)
            || crate::output::is_parquet_output(path).unwrap_or(false)
        {
            sets.extend(parquet_sets(path, args.by.as_deref())?);
            continue;
        }
        let mut reader =
            csv::Reader::from_path(path).with_context(|| format!("reading {}", path.display()))?;
        let header = reader
            .headers()
            .with_context(|| format!("reading the header of {}", path.display()))?
            .clone();
        let id_at = header.iter().position(|h| h == "customer_id").unwrap_or(0);
        let by_at = match &args.by {
            Some(column) => Some(header.iter().position(|h| h == column).with_context(|| {
                format!("{}: no column {column:?} to split by", path.display())
            })?),
            None => None,
        };
        let name = path.display().to_string();
        let mut groups: BTreeMap<String, HashSet<String>> = BTreeMap::new();
        for (i, record) in reader.records().enumerate() {
            let record = record.with_context(|| format!("{}: row {}", path.display(), i + 2))?;
            let id = record.get(id_at).unwrap_or("").trim();
            if id.is_empty() {
                bail!("{}: row {}: empty customer id", path.display(), i + 2);
            }
            let group = match by_at {
                Some(at) => format!("{name}:{}", record.get(at).unwrap_or("")),
                None => name.clone(),
            };
            groups.entry(group).or_default().insert(id.to_string());
        }
        if groups.is_empty() {
            groups.insert(name, HashSet::new());
        }
        sets.extend(groups);
    }
    if sets.len() < 2 {
        bail!("overlap needs at least two sets (give two files, or --by a column with two values)");
    }
    Ok(sets)
}

/// The sets of a Parquet file or of a table in part files: its ids, or its ids by the values
/// of `by`.
fn parquet_sets(
    path: &std::path::Path,
    by: Option<&str>,
) -> anyhow::Result<Vec<(String, HashSet<String>)>> {
    let mut columns = vec!["customer_id"];
    columns.extend(by);
    let table = crate::small_table::SmallTable::read(path, &columns)?;
    let name = path.display().to_string();
    let mut groups: BTreeMap<String, HashSet<String>> = BTreeMap::new();
    for (i, row) in table.rows.iter().enumerate() {
        if row[0].is_empty() {
            bail!("{}: {}: empty customer id", name, table.place(i));
        }
        let group = match by {
            Some(_) => format!("{name}:{}", row[1]),
            None => name.clone(),
        };
        groups.entry(group).or_default().insert(row[0].clone());
    }
    if groups.is_empty() {
        groups.insert(name, HashSet::new());
    }
    Ok(groups.into_iter().collect())
}

pub fn run(args: Args, ui: &Ui) -> anyhow::Result<()> {
    crate::paths::Paths::new()
        .tables("FILES", &args.files)
        .output("--out", args.out.as_deref())
        .check()?;
    let sets = read_sets(&args)?;
    let mut text = format!(
        "{:<40} {:<40} {:>9} {:>9} {:>9} {:>8} {:>7} {:>7}\n",
        "A", "B", "|A|", "|B|", "both", "Jaccard", "of A", "of B"
    );
    let mut csv = String::from("a,b,size_a,size_b,both,jaccard,share_of_a,share_of_b\n");
    for o in lookalike_audience::overlaps(&sets) {
        let _ = writeln!(
            text,
            "{:<40} {:<40} {:>9} {:>9} {:>9} {:>8.3} {:>7.3} {:>7.3}",
            o.a, o.b, o.size_a, o.size_b, o.both, o.jaccard, o.share_of_a, o.share_of_b
        );
        let _ = writeln!(
            csv,
            "\"{}\",\"{}\",{},{},{},{},{},{}",
            o.a, o.b, o.size_a, o.size_b, o.both, o.jaccard, o.share_of_a, o.share_of_b
        );
    }
    if let Some(path) = &args.out {
        lookalike_core::write_atomically(path, |w| std::io::Write::write_all(w, csv.as_bytes()))
            .with_context(|| format!("writing {}", path.display()))?;
        ui.say(format!("wrote {}", path.display()));
    }
    ui.data(&text)?;
    Ok(())
}
