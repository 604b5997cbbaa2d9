//! `lookalike features`: one feature row per customer.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use lookalike_features::{
    Extraction, FeatureInputs, FeatureParams, FileFormat, InputReport, LogReading, OnBadRow,
    TimeUnit, extract, extract_with, parse_date, write_feature_rows, write_feature_table,
};
use lookalike_pipeline::log_inputs;

use crate::output::Ui;
use crate::paths::Paths;

/// How input files are read; shared by every subcommand that reads logs.
#[derive(Debug, Clone, clap::Args)]
pub struct InputArgs {
    /// Transaction log (CSV or Parquet): customer_id, timestamp, amount [, order_id, quantity,
    /// category, channel].
    #[arg(long, value_name = "FILE")]
    pub transactions: PathBuf,
    /// Event log: customer_id, timestamp, event_type [, category].
    #[arg(long, value_name = "FILE")]
    pub events: Option<PathBuf>,
    /// Customers file: customer_id [, marketing_consent] and attribute columns.
    #[arg(long, value_name = "FILE")]
    pub customers: Option<PathBuf>,
    /// Input format, when the extension does not tell.
    #[arg(long, value_enum)]
    pub format: Option<FileFormat>,
    /// CSV delimiter (`,` `;` `|` or `tab`); detected from the header when not given.
    #[arg(long, value_name = "CHAR")]
    pub delimiter: Option<String>,
    /// Read a canonical field from another column: FIELD=NAME, or KIND.FIELD=NAME for one input
    /// kind (transactions, events, customers). Repeatable.
    #[arg(long = "column", value_name = "FIELD=NAME")]
    pub columns: Vec<String>,
    /// What to do with an unreadable row.
    #[arg(long, value_enum, default_value = "fail")]
    pub on_error: OnBadRow,
    #[command(flatten)]
    pub reading: LogReading,
}

/// Options of `lookalike features`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  lookalike features --transactions data/sample/transactions.csv --out features.parquet
  lookalike features --transactions data/sample/transactions.csv --events data/sample/events.csv \\
      --customers data/sample/customers.csv --as-of 2026-01-01 --out features.csv
  lookalike features --transactions online_retail.csv --column customer_id=CustomerID \\
      --column timestamp=InvoiceDate --date-format \"%m/%d/%Y %H:%M\" --missing-customer skip \\
      --out features.parquet")]
pub struct Args {
    #[command(flatten)]
    pub input: InputArgs,
    /// Only rows strictly before this date feed features (default: the day after the last
    /// transaction).
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,
    /// Add holdout targets (holdout_purchases, holdout_spend) from --as-of up to this date.
    #[arg(long, value_name = "DATE")]
    pub holdout_end: Option<String>,
    /// Unit of the BTYD recency and T columns.
    #[arg(long, value_enum, default_value = "weeks")]
    pub time_unit: TimeUnit,
    /// Categories, channels and attribute levels that get their own column.
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub top_levels: usize,
    /// Output feature table (.csv or .parquet); its schema is written to <out>.schema.json.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Output format, when the extension does not tell.
    #[arg(long, value_enum)]
    pub out_format: Option<FileFormat>,
    /// Replace every customer id by its keyed hash (HMAC-SHA256, 64 hex digits) under the key
    /// in KEYFILE (at least 32 bytes) before anything is written; the schema records the key's
    /// fingerprint, never the key.
    #[arg(long, value_name = "KEYFILE")]
    pub pseudonymize: Option<PathBuf>,
}

impl InputArgs {
    /// Checks the files and builds the inputs (the library's `log_inputs`).
    pub fn resolve(&self) -> anyhow::Result<FeatureInputs> {
        Ok(log_inputs(
            [
                Some(self.transactions.as_path()),
                self.events.as_deref(),
                self.customers.as_deref(),
            ],
            self.format,
            self.delimiter.as_deref(),
            &self.columns,
        )?)
    }
}

/// Refuses the first of `given` (option name, whether it was given) that only applies to logs,
/// when the command reads the precomputed features in `features`. clap lets `requires` pass
/// when the required argument conflicts with a given one, so this is checked by hand.
pub fn refuse_log_options(given: &[(&str, bool)], features: &Path) -> anyhow::Result<()> {
    match given.iter().find(|(_, given)| *given) {
        Some((option, _)) => bail!(
            "{option} applies to --transactions; the features in {} are already computed",
            features.display()
        ),
        None => Ok(()),
    }
}

impl Args {
    fn params(&self) -> anyhow::Result<FeatureParams> {
        let mut params = self.input.reading.apply(
            FeatureParams::new()
                .time_unit(self.time_unit)
                .on_bad_row(self.input.on_error)
                .top_levels(self.top_levels)
                .threads(rayon::current_num_threads()),
        );
        if let Some(date) = &self.as_of {
            params = params.as_of(parse_date(date).map_err(|e| anyhow::anyhow!("--as-of: {e}"))?);
        }
        if let Some(date) = &self.holdout_end {
            params = params
                .holdout_end(parse_date(date).map_err(|e| anyhow::anyhow!("--holdout-end: {e}"))?);
        }
        Ok(params)
    }
}

/// Reports how the inputs were read, on stderr.
pub fn report_inputs(reports: &[InputReport], ui: &Ui) {
    for report in reports {
        let mut line = format!("  {}: {} rows read", report.kind.prefix(), report.rows);
        if report.after_as_of > 0 {
            line += &format!(
                ", {} dated on or after as-of (holdout or ignored)",
                report.after_as_of
            );
        }
        if report.ignored_after_window > 0 {
            line += &format!(
                ", {} after the holdout window (ignored)",
                report.ignored_after_window
            );
        }
        if report.guest_lines > 0 {
            line += &format!(
                ", {} guest lines (no customer id) left out",
                report.guest_lines
            );
        }
        if report.skipped > 0 {
            line += &format!(", {} bad rows SKIPPED", report.skipped);
        }
        ui.say(line);
        for example in &report.skip_examples {
            ui.say(format!("    skipped: {example}"));
        }
    }
}

/// Extracts features as `args` say (without writing them), saying how the inputs were read.
pub fn extract_features(args: &Args, ui: &Ui) -> anyhow::Result<Extraction> {
    let inputs = args.input.resolve()?;
    let params = args.params()?;
    let began = Instant::now();
    let progress = ui.progress();
    let mut extraction = extract(&inputs, &params, &progress)?;
    if let Some(path) = &args.pseudonymize {
        let key = lookalike_core::Pseudonymizer::from_key_file(path)?;
        extraction = extraction.pseudonymized(&key)?;
        ui.say(format!(
            "customer ids replaced by their pseudonyms (HMAC-SHA256, key {})",
            key.fingerprint()
        ));
    }
    ui.say(format!(
        "features of {} customers ({} columns) as of {} in {:.2}s",
        extraction.table.len(),
        extraction.table.columns().len(),
        extraction.as_of,
        began.elapsed().as_secs_f64()
    ));
    report_inputs(&extraction.inputs, ui);
    Ok(extraction)
}

/// Where the schema of a feature table written to `out` goes: beside it, unless the table goes
/// to a stream or device.
pub fn schema_path(out: &Path) -> Option<PathBuf> {
    (!lookalike_core::is_special_output(out))
        .then(|| lookalike_core::FeatureSchema::path_beside(out))
}

/// Writes extracted features to `args.out`, with the schema beside them.
pub fn write_features(extraction: &Extraction, args: &Args, ui: &Ui) -> anyhow::Result<()> {
    write_feature_table(
        &extraction.table,
        &extraction.schema,
        &args.out,
        args.out_format,
    )
    .with_context(|| format!("writing features to {}", args.out.display()))?;
    say_written(&args.out, ui);
    Ok(())
}

fn say_written(out: &Path, ui: &Ui) {
    match schema_path(out) {
        Some(schema) => ui.say(format!(
            "  wrote {} and {}",
            out.display(),
            schema.display()
        )),
        None => ui.say(format!("  wrote {}", out.display())),
    }
}

/// Extracts features as `args` say and writes them, filling the table a row group at a time
/// as it is written, so that the whole table is never in memory.
pub fn extract_to_file(args: &Args, ui: &Ui) -> anyhow::Result<()> {
    let inputs = args.input.resolve()?;
    let params = args.params()?;
    let key = args
        .pseudonymize
        .as_deref()
        .map(lookalike_core::Pseudonymizer::from_key_file)
        .transpose()?;
    let began = Instant::now();
    let progress = ui.progress();
    extract_with(&inputs, &params, &progress, |mut rows| {
        if let Some(key) = &key {
            rows = rows.pseudonymized(key);
            ui.say(format!(
                "customer ids replaced by their pseudonyms (HMAC-SHA256, key {})",
                key.fingerprint()
            ));
        }
        ui.say(format!(
            "features of {} customers ({} columns) as of {} in {:.2}s",
            rows.len(),
            rows.columns().len(),
            rows.as_of,
            began.elapsed().as_secs_f64()
        ));
        report_inputs(&rows.inputs, ui);
        write_feature_rows(&rows, &args.out, args.out_format)
            .with_context(|| format!("writing features to {}", args.out.display()))?;
        say_written(&args.out, ui);
        anyhow::Ok(())
    })
}

impl InputArgs {
    /// Declares the log files as inputs.
    pub fn declare<'a>(&'a self, paths: Paths<'a>) -> Paths<'a> {
        paths
            .table("--transactions", Some(&self.transactions))
            .table("--events", self.events.as_deref())
            .table("--customers", self.customers.as_deref())
    }
}

pub fn run(mut args: Args, ui: &Ui) -> anyhow::Result<()> {
    let extension = match args.input.format {
        Some(FileFormat::Parquet) => "parquet",
        _ => "csv",
    };
    let (transactions, _stdin) = crate::stdin::resolve(&args.input.transactions, extension)?;
    args.input.transactions = transactions;
    let schema = schema_path(&args.out);
    args.input
        .declare(Paths::new())
        .input("--pseudonymize", args.pseudonymize.as_deref())
        .output("--out", Some(&args.out))
        .output("--out (its schema)", schema.as_deref())
        .check()?;
    extract_to_file(&args, ui)
}
