//! Seeded synthetic customer bases with known latent personas and future value.
//!
//! [`generate`] writes `transactions`, `events`, `customers` and `truth` tables (CSV or Parquet)
//! for any number of customers, streaming: customers are drawn in chunks, in parallel, each from
//! its own random stream, and written in order, so memory stays flat and the same seed gives the
//! same bytes whatever the thread count. `truth` holds each customer's persona, latent purchase
//! rate, dropout probability and mean order value, and what they really bought in the future
//! window after the observation end, so models can be scored against ground truth.

mod btyd_log;
mod error;
mod persona;
mod simulate;
mod time_order;
mod write;

use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use lookalike_core::Progress;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use rayon::prelude::*;

pub use btyd_log::{BtydLogSpec, write_btyd_log};
pub use error::SynthError;
pub use persona::{Persona, Scenario};
pub use time_order::LogOrder;

use simulate::{Calendar, Rows, simulate};

/// Output format of the generated tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum OutputFormat {
    /// Comma-separated text with a header.
    #[default]
    Csv,
    /// Apache Parquet (snappy).
    Parquet,
}

impl OutputFormat {
    fn extension(self) -> &'static str {
        match self {
            OutputFormat::Csv => "csv",
            OutputFormat::Parquet => "parquet",
        }
    }
}

/// What to generate. Consuming setters; each says its default.
///
/// ```
/// let params = lookalike_synth::GenerateParams::new(1_000).seed(7);
/// assert_eq!(params.customers_value(), 1_000);
/// ```
#[derive(Debug, Clone)]
pub struct GenerateParams {
    customers: u64,
    seed: u64,
    start: NaiveDate,
    end: NaiveDate,
    future_days: u32,
    format: OutputFormat,
    scenario: Scenario,
    order: LogOrder,
}

impl GenerateParams {
    /// `customers` customers, every other setting at its default.
    pub fn new(customers: u64) -> Self {
        GenerateParams {
            customers,
            seed: 7,
            start: NaiveDate::from_ymd_opt(2023, 1, 1).expect("valid"),
            end: NaiveDate::from_ymd_opt(2026, 1, 1).expect("valid"),
            future_days: 182,
            format: OutputFormat::Csv,
            scenario: Scenario::Standard,
            order: LogOrder::Customer,
        }
    }

    /// Random seed. Default: 7.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// First day of the observation period. Default: 2023-01-01.
    pub fn start(mut self, date: NaiveDate) -> Self {
        self.start = date;
        self
    }

    /// First day after the observation period: the natural as-of date. Default: 2026-01-01.
    pub fn end(mut self, date: NaiveDate) -> Self {
        self.end = date;
        self
    }

    /// Length of the future window that `truth` covers. Default: 182 days (26 weeks).
    pub fn future_days(mut self, days: u32) -> Self {
        self.future_days = days;
        self
    }

    /// Which personas the base holds. Default: [`Scenario::Standard`].
    pub fn scenario(mut self, scenario: Scenario) -> Self {
        self.scenario = scenario;
        self
    }

    /// The order of the logs' rows: the same rows either way. Default: [`LogOrder::Customer`].
    pub fn order(mut self, order: LogOrder) -> Self {
        self.order = order;
        self
    }

    /// Output format. Default: CSV.
    pub fn format(mut self, format: OutputFormat) -> Self {
        self.format = format;
        self
    }

    /// The number of customers.
    pub fn customers_value(&self) -> u64 {
        self.customers
    }
}

/// What was written.
#[derive(Debug, Clone)]
pub struct GenerateSummary {
    /// Customers generated.
    pub customers: u64,
    /// Transaction lines written.
    pub transactions: u64,
    /// Events written.
    pub events: u64,
    /// The four files, in the order transactions, events, customers, truth.
    pub files: Vec<PathBuf>,
    /// The observation end (first day after it), i.e. the as-of date for features.
    pub observation_end: NaiveDate,
    /// The first day after the future window of `truth`.
    pub future_end: NaiveDate,
}

/// The calendar date of a day number (days since 1970-01-01).
pub(crate) fn date_of_day(day: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid") + chrono::TimeDelta::days(day as i64)
}

fn day_number(date: NaiveDate) -> i32 {
    (date - NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid")).num_days() as i32
}

const CHUNK: u64 = 8_192;

enum Sink {
    Csv(BufWriter<File>),
    Parquet(Box<ArrowWriter<File>>),
}

/// Generates the tables into `out_dir` (created if needed). Files appear only when complete:
/// each is written to a temporary file and renamed at the end.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let summary = lookalike_synth::generate(
///     &lookalike_synth::GenerateParams::new(200).seed(1),
///     dir.path(),
///     &lookalike_core::NoProgress,
/// ).unwrap();
/// assert_eq!(summary.customers, 200);
/// assert!(dir.path().join("transactions.csv").exists());
/// ```
pub fn generate(
    params: &GenerateParams,
    out_dir: &Path,
    progress: &dyn Progress,
) -> Result<GenerateSummary, SynthError> {
    if params.customers == 0 {
        return Err(SynthError::NoCustomers);
    }
    if params.end <= params.start {
        return Err(SynthError::EmptyPeriod {
            start: params.start,
            end: params.end,
        });
    }
    let calendar = Calendar {
        start: day_number(params.start),
        end: day_number(params.end),
        future_days: params.future_days as i32,
        scenario: params.scenario,
    };
    let fail = |path: &Path| {
        let path = path.to_path_buf();
        move |e: String| SynthError::Write {
            path: path.clone(),
            message: e,
        }
    };
    std::fs::create_dir_all(out_dir).map_err(|e| fail(out_dir)(e.to_string()))?;
    let width = params.customers.to_string().len().max(8);
    let schemas = write::schemas();
    let paths: Vec<PathBuf> = write::TABLES
        .iter()
        .map(|t| out_dir.join(format!("{t}.{}", params.format.extension())))
        .collect();
    let mut temporaries = Vec::new();
    let mut sinks = Vec::new();
    for (i, path) in paths.iter().enumerate() {
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let prefix = format!(".{file_name}.");
        let temporary = lookalike_core::temporary_file_builder(&prefix)
            .tempfile_in(out_dir)
            .map_err(|e| fail(path)(e.to_string()))?;
        let file = temporary.reopen().map_err(|e| fail(path)(e.to_string()))?;
        sinks.push(match params.format {
            OutputFormat::Csv => {
                let mut w = BufWriter::with_capacity(1 << 20, file);
                writeln!(w, "{}", write::HEADERS[i]).map_err(|e| fail(path)(e.to_string()))?;
                Sink::Csv(w)
            }
            OutputFormat::Parquet => {
                // The run's provenance (version, command) as every Parquet output carries it.
                let metadata = lookalike_core::run_metadata()
                    .into_iter()
                    .map(|(key, value)| parquet::file::metadata::KeyValue::new(key, value))
                    .collect::<Vec<_>>();
                let properties = WriterProperties::builder()
                    .set_compression(Compression::SNAPPY)
                    .set_max_row_group_row_count(Some(1 << 20))
                    .set_key_value_metadata((!metadata.is_empty()).then_some(metadata))
                    .build();
                Sink::Parquet(Box::new(
                    ArrowWriter::try_new(file, schemas[i].clone(), Some(properties))
                        .map_err(|e| fail(path)(e.to_string()))?,
                ))
            }
        });
        temporaries.push(temporary);
    }

    progress.start_counting(
        "generating customers",
        Some(params.customers),
        lookalike_core::Unit::Items("customers"),
    );
    let chunks: Vec<u64> = (0..params.customers).step_by(CHUNK as usize).collect();
    let mut counts = (0u64, 0u64);
    // In time order the logs' rows wait in day buckets until every customer is drawn.
    let mut buckets = match params.order {
        LogOrder::Customer => None,
        LogOrder::Time => Some(
            time_order::TimeBuckets::new(
                params.customers,
                calendar.start,
                calendar.end + calendar.future_days,
                out_dir,
            )
            .map_err(|e| fail(out_dir)(e.to_string()))?,
        ),
    };
    for group in chunks.chunks(2 * rayon::current_num_threads().max(1)) {
        let mut drawn: Vec<Rows> = group
            .par_iter()
            .map(|&first| {
                let mut rows = Rows::default();
                for customer in first..(first + CHUNK).min(params.customers) {
                    simulate(params.seed, customer, calendar, &mut rows);
                }
                // Logs are written in time order within a chunk, as a shop's export would be.
                rows.transactions
                    .sort_by_key(|r| (r.seconds, r.customer, r.order));
                rows.events.sort_by_key(|e| (e.seconds, e.customer, e.kind));
                rows
            })
            .collect();
        for rows in &mut drawn {
            counts.0 += rows.transactions.len() as u64;
            counts.1 += rows.events.len() as u64;
            if let Some(buckets) = &mut buckets {
                buckets
                    .spill(&rows.transactions, &rows.events)
                    .map_err(|e| fail(out_dir)(e.to_string()))?;
                rows.transactions = Vec::new();
                rows.events = Vec::new();
            }
        }
        let encoded: Vec<Result<Encoded, String>> = drawn
            .par_iter()
            .map(|rows| encode(rows, params.format, width, &schemas))
            .collect();
        for (rows, encoded) in drawn.iter().zip(encoded) {
            let encoded = encoded.map_err(fail(out_dir))?;
            write_tables(&mut sinks, &encoded, &paths, buckets.is_none())?;
            progress.advance(rows.customers.len() as u64);
        }
    }
    if let Some(buckets) = buckets {
        progress.start_counting(
            "writing the logs in time order",
            Some(counts.0 + counts.1),
            lookalike_core::Unit::Items("rows"),
        );
        for bucket in buckets.into_sorted() {
            let (transactions, events) = bucket.map_err(|e| fail(out_dir)(e.to_string()))?;
            let rows = transactions.len() + events.len();
            // Encoded in parallel slices, written in order.
            let slices: Vec<Rows> = transactions
                .chunks(TIME_SLICE)
                .map(|t| Rows {
                    transactions: t.to_vec(),
                    ..Rows::default()
                })
                .chain(events.chunks(TIME_SLICE).map(|e| Rows {
                    events: e.to_vec(),
                    ..Rows::default()
                }))
                .collect();
            drop((transactions, events));
            let encoded: Vec<Result<Encoded, String>> = slices
                .par_iter()
                .map(|rows| encode(rows, params.format, width, &schemas))
                .collect();
            for encoded in encoded {
                let encoded = encoded.map_err(fail(out_dir))?;
                write_logs(&mut sinks, &encoded, &paths)?;
            }
            progress.advance(rows as u64);
        }
    }
    for (i, sink) in sinks.into_iter().enumerate() {
        let file = match sink {
            Sink::Csv(w) => w.into_inner().map_err(|e| e.to_string()),
            Sink::Parquet(w) => w.into_inner().map_err(|e| e.to_string()),
        }
        .map_err(fail(&paths[i]))?;
        file.sync_all()
            .map_err(|e| fail(&paths[i])(e.to_string()))?;
    }
    for (temporary, path) in temporaries.into_iter().zip(&paths) {
        temporary
            .persist(path)
            .map_err(|e| fail(path)(e.error.to_string()))?;
    }
    progress.finish();
    Ok(GenerateSummary {
        customers: params.customers,
        transactions: counts.0,
        events: counts.1,
        files: paths,
        observation_end: params.end,
        future_end: date_of_day(calendar.end + calendar.future_days),
    })
}

enum Encoded {
    Csv([Vec<u8>; 4]),
    Parquet([arrow_array::RecordBatch; 4]),
}

/// Log rows per slice encoded at once when writing in time order.
const TIME_SLICE: usize = 1 << 16;

fn encode(
    rows: &Rows,
    format: OutputFormat,
    width: usize,
    schemas: &[arrow_schema::SchemaRef; 4],
) -> Result<Encoded, String> {
    match format {
        OutputFormat::Csv => Ok(Encoded::Csv(write::csv(rows, width))),
        OutputFormat::Parquet => write::batches(rows, width, schemas)
            .map(Encoded::Parquet)
            .map_err(|e| e.to_string()),
    }
}

/// Writes table `i` of `encoded` to its sink (an empty Parquet batch is skipped).
fn write_table(
    sink: &mut Sink,
    encoded: &Encoded,
    i: usize,
    path: &Path,
) -> Result<(), SynthError> {
    let result = match (sink, encoded) {
        (Sink::Csv(w), Encoded::Csv(text)) => w.write_all(&text[i]).map_err(|e| e.to_string()),
        (Sink::Parquet(w), Encoded::Parquet(batches)) if batches[i].num_rows() > 0 => {
            w.write(&batches[i]).map_err(|e| e.to_string())
        }
        (Sink::Parquet(_), Encoded::Parquet(_)) => Ok(()),
        _ => unreachable!("one format per run"),
    };
    result.map_err(|message| SynthError::Write {
        path: path.to_path_buf(),
        message,
    })
}

/// Writes a chunk's tables: all four, or with `logs` false only customers and truth (the logs
/// wait in time buckets).
fn write_tables(
    sinks: &mut [Sink],
    encoded: &Encoded,
    paths: &[PathBuf],
    logs: bool,
) -> Result<(), SynthError> {
    for (i, sink) in sinks.iter_mut().enumerate() {
        if logs || i >= 2 {
            write_table(sink, encoded, i, &paths[i])?;
        }
    }
    Ok(())
}

/// Writes the transactions and events of `encoded`.
fn write_logs(sinks: &mut [Sink], encoded: &Encoded, paths: &[PathBuf]) -> Result<(), SynthError> {
    for i in 0..2 {
        write_table(&mut sinks[i], encoded, i, &paths[i])?;
    }
    Ok(())
}
