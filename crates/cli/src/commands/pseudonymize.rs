//! `lookalike pseudonymize`: a list of customers (a seed list, an erasure request, a CRM
//! export) with its ids replaced by their pseudonyms under a key, so that a key holder can join
//! their own lists with the outputs of runs made with `--pseudonymize`.

use std::path::PathBuf;

use anyhow::{Context, bail};
use lookalike_core::Pseudonymizer;

use crate::output::Ui;
use crate::paths::Paths;
use crate::small_table::write_csv;

/// Options of `lookalike pseudonymize`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  head -c 32 /dev/urandom > key
  lookalike pseudonymize --key key --ids seeds.csv --out seeds.pseudonymous.csv
  lookalike pseudonymize --key key --ids crm.csv --column email_id --out crm.pseudonymous.csv")]
pub struct Args {
    /// The key file (at least 32 bytes), as given to `features`, `train` and `score`.
    #[arg(long, value_name = "KEYFILE")]
    pub key: PathBuf,
    /// A CSV file with a header.
    #[arg(long, value_name = "FILE")]
    pub ids: PathBuf,
    /// The column of ids to replace (default: customer_id, else the first column).
    #[arg(long, value_name = "NAME")]
    pub column: Option<String>,
    /// The same file with the ids replaced (every other column as it was).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

pub fn run(args: Args, ui: &Ui) -> anyhow::Result<()> {
    Paths::new()
        .input("--key", Some(&args.key))
        .input("--ids", Some(&args.ids))
        .output("--out", Some(&args.out))
        .check()?;
    let key = Pseudonymizer::from_key_file(&args.key)?;
    let mut reader = csv::Reader::from_path(&args.ids)
        .with_context(|| format!("reading {}", args.ids.display()))?;
    let header: Vec<String> = reader
        .headers()
        .with_context(|| format!("reading the header of {}", args.ids.display()))?
        .iter()
        .map(String::from)
        .collect();
    if header.is_empty() {
        bail!(
            "{}: the file is empty (a header is expected)",
            args.ids.display()
        );
    }
    let at = match &args.column {
        Some(name) => header.iter().position(|h| h == name).with_context(|| {
            format!(
                "{}: no column {name:?} (columns: {})",
                args.ids.display(),
                header.join(", ")
            )
        })?,
        None => header.iter().position(|h| h == "customer_id").unwrap_or(0),
    };
    let mut records = vec![header.clone()];
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let record = record.with_context(|| format!("{}: line {line}", args.ids.display()))?;
        let mut cells: Vec<String> = record.iter().map(String::from).collect();
        let id = cells.get(at).map(|c| c.trim()).unwrap_or("");
        if id.is_empty() {
            bail!(
                "{}: line {line}, column {:?}: empty id",
                args.ids.display(),
                header[at]
            );
        }
        cells[at] = key.pseudonym(id);
        records.push(cells);
    }
    write_csv(&args.out, &records)?;
    ui.say(format!(
        "{} ids of column {:?} replaced by their pseudonyms (HMAC-SHA256, key {}); wrote {}",
        records.len() - 1,
        header[at],
        key.fingerprint(),
        args.out.display()
    ));
    Ok(())
}
