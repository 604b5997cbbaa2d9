//! `lookalike score`: the whole base scored with a trained model, one row per customer,
//! streamed chunk by chunk into one CSV or Parquet file that appears only when complete.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use lookalike_core::{FeatureTable, IdPartition, PASS_HASH_SEED, Progress};
use lookalike_features::{
    FeatureChunks, FeatureError, FeatureInputs, FeatureParams, TimeUnit, extract, format_number,
    parse_date,
};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use rayon::prelude::*;

use crate::commands::features::{Format, InputArgs, OnError, refuse_log_options, report_inputs};
use crate::model_dir::TrainedModel;
use crate::output::Ui;
use crate::scoring::{Cells, ScoredChunk, parse_partition, score_chunk};

/// Options of `lookalike score`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["features", "transactions"])))]
pub struct Args {
    /// Model directory from `lookalike train`.
    #[arg(long, value_name = "DIR")]
    pub model: PathBuf,
    /// Precomputed features of the base (from `lookalike features`, same time unit as the
    /// model), streamed chunk by chunk.
    #[arg(long, value_name = "FILE")]
    pub features: Option<PathBuf>,
    /// Transaction log of the base: features are computed with the model's settings.
    #[arg(long, value_name = "FILE")]
    pub transactions: Option<PathBuf>,
    /// Event log (with --transactions).
    #[arg(long, value_name = "FILE", requires = "transactions")]
    pub events: Option<PathBuf>,
    /// Customers file (with --transactions).
    #[arg(long, value_name = "FILE", requires = "transactions")]
    pub customers: Option<PathBuf>,
    /// Input format of the logs, when the extension does not tell.
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// CSV delimiter of the logs.
    #[arg(long, value_name = "CHAR")]
    pub delimiter: Option<String>,
    /// Column mapping of the logs, FIELD=NAME (repeatable; see `lookalike features`).
    #[arg(long = "column", value_name = "FIELD=NAME")]
    pub columns: Vec<String>,
    /// Features as of this date (with --transactions; default: the day after the last
    /// transaction).
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,
    /// A bad log row or a customer whose purchase history cannot be scored: stop, or skip it,
    /// count it and show the first few.
    #[arg(long, value_enum, default_value = "fail")]
    pub on_error: OnError,
    /// Score only the customers whose id hashes into partition i of n (0 ≤ i < n); the
    /// outputs of 0/n … (n−1)/n together are the unpartitioned output.
    #[arg(long, value_name = "i/n")]
    pub partition: Option<String>,
    /// With --transactions: read the logs this many times, each time keeping one hash part of
    /// the customers (about 1/N of them), so that peak memory falls about N-fold and reading
    /// takes N times as long. Output rows come pass by pass (the same rows as one pass, in
    /// another order).
    #[arg(long, value_name = "N", default_value_t = 1, requires = "transactions")]
    pub passes: u64,
    /// Customers per chunk (memory grows with it; output does not change).
    #[arg(long, default_value_t = 262_144)]
    pub chunk_rows: usize,
    /// Output (.csv or .parquet), written to a temporary file and renamed when complete.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

/// Where chunks come from.
enum Source {
    File(FeatureChunks),
    Logs(LogSource),
}

impl Source {
    fn next_chunk(&mut self) -> Option<anyhow::Result<FeatureTable>> {
        match self {
            Source::File(chunks) => chunks.next().map(|c| c.map_err(anyhow::Error::from)),
            Source::Logs(logs) => logs.next_chunk(),
        }
    }

    fn total(&self) -> Option<u64> {
        match self {
            Source::File(chunks) => chunks.total_rows(),
            Source::Logs(logs) if logs.passes == 1 => logs.table.as_ref().map(|t| t.len() as u64),
            Source::Logs(_) => None,
        }
    }
}

/// What the model needs of a feature table's columns, to refuse a mismatch with what differs.
struct ColumnCheck {
    required: Vec<String>,
    trained: Vec<String>,
    model_dir: PathBuf,
}

impl ColumnCheck {
    fn new(model: &TrainedModel) -> Self {
        ColumnCheck {
            required: model.required_columns(),
            trained: serde_json::from_value(model.manifest["features"]["columns"].clone())
                .unwrap_or_default(),
            model_dir: model.dir.clone(),
        }
    }

    fn check(&self, available: &[String], what: &str) -> anyhow::Result<()> {
        let missing: Vec<&str> = self
            .required
            .iter()
            .filter(|c| !available.contains(c))
            .map(String::as_str)
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let extra: Vec<&str> = available
            .iter()
            .filter(|c| !self.trained.contains(c))
            .map(String::as_str)
            .collect();
        bail!(
            "{what} does not match the model {}: it lacks the column(s) {} that the model needs{}",
            self.model_dir.display(),
            missing.join(", "),
            if extra.is_empty() {
                String::new()
            } else {
                format!(
                    "; it has column(s) the training features did not: {}",
                    extra.join(", ")
                )
            }
        );
    }
}

/// Features computed from the logs with the model's settings, one pass at a time: each pass
/// keeps the customers of one hash part (`--passes`), so only that part's state is in memory.
struct LogSource {
    inputs: FeatureInputs,
    params: FeatureParams,
    passes: u64,
    next_pass: u64,
    /// The current pass's features and the next row to hand out.
    table: Option<FeatureTable>,
    next_row: usize,
    chunk_rows: usize,
    columns: ColumnCheck,
    what: String,
    ui: Ui,
}

impl LogSource {
    /// Runs the next pass's extraction; `false` when every pass is done.
    fn run_pass(&mut self) -> anyhow::Result<bool> {
        if self.next_pass == self.passes {
            return Ok(false);
        }
        let pass = self.next_pass;
        self.next_pass += 1;
        let mut params = self.params.clone();
        let mut label = String::new();
        if self.passes > 1 {
            let part =
                IdPartition::with_seed(pass, self.passes, PASS_HASH_SEED).expect("pass < passes");
            params = params.only_customers_in(part);
            label = format!(" (pass {} of {})", pass + 1, self.passes);
        }
        // Free the previous pass's table before building the next one.
        self.table = None;
        let began = Instant::now();
        let extraction = match extract(&self.inputs, &params, &self.ui.progress()) {
            Ok(extraction) => extraction,
            // A small base can leave a part empty; the run fails only if all of them are.
            Err(FeatureError::NoCustomers(_)) if self.passes > 1 || self.params_filtered() => {
                self.ui.say(format!("no customers{label}"));
                return Ok(true);
            }
            Err(error) => return Err(error.into()),
        };
        self.ui.say(format!(
            "features of {} customers as of {} in {:.2}s{label}",
            extraction.table.len(),
            extraction.as_of,
            began.elapsed().as_secs_f64()
        ));
        report_inputs(&extraction, &self.ui);
        self.columns.check(extraction.table.columns(), &self.what)?;
        self.table = Some(extraction.table);
        self.next_row = 0;
        Ok(true)
    }

    /// Whether `--partition` already narrows the customers read.
    fn params_filtered(&self) -> bool {
        self.params.customers_in_value().next().is_some()
    }

    fn next_chunk(&mut self) -> Option<anyhow::Result<FeatureTable>> {
        loop {
            if let Some(table) = &self.table
                && self.next_row < table.len()
            {
                let end = (self.next_row + self.chunk_rows).min(table.len());
                let picked: Vec<usize> = (self.next_row..end).collect();
                let chunk = FeatureTable::new(
                    table.ids()[self.next_row..end].to_vec(),
                    table.columns().to_vec(),
                    table.values().select(ndarray::Axis(0), &picked),
                );
                self.next_row = end;
                return Some(chunk.map_err(anyhow::Error::from));
            }
            match self.run_pass() {
                Ok(true) => {}
                Ok(false) => return None,
                Err(error) => return Some(Err(error)),
            }
        }
    }
}

/// CSV text of a scored chunk, built block by block in parallel.
fn csv_bytes(chunk: &ScoredChunk<'_>) -> anyhow::Result<Vec<u8>> {
    const BLOCK: usize = 16_384;
    let n = chunk.table.len();
    let ids = chunk.table.ids();
    let blocks: Vec<anyhow::Result<Vec<u8>>> = (0..n.div_ceil(BLOCK))
        .into_par_iter()
        .map(|b| {
            let mut writer = csv::WriterBuilder::new().from_writer(Vec::with_capacity(1 << 20));
            let mut integer = itoa::Buffer::new();
            let mut cell: Vec<u8> = Vec::new();
            for i in b * BLOCK..((b + 1) * BLOCK).min(n) {
                writer.write_field(ids[i].as_str())?;
                for column in &chunk.columns {
                    cell.clear();
                    match &column.cells {
                        Cells::Text(values) => {
                            writer.write_field(values[i].as_deref().unwrap_or(""))?;
                            continue;
                        }
                        Cells::Int(values) => {
                            if let Some(v) = values[i] {
                                cell.extend_from_slice(integer.format(v).as_bytes());
                            }
                        }
                        Cells::Float(values) => format_number(values[i], &mut cell),
                    }
                    writer.write_field(&cell)?;
                }
                writer.write_record(None::<&[u8]>)?;
            }
            writer.flush()?;
            Ok(writer.into_inner().map_err(|e| e.into_error())?)
        })
        .collect();
    let mut bytes = Vec::new();
    for block in blocks {
        bytes.extend(block?);
    }
    Ok(bytes)
}

fn parquet_schema(chunk: &ScoredChunk<'_>) -> SchemaRef {
    let mut fields = vec![Field::new("customer_id", DataType::Utf8, false)];
    for column in &chunk.columns {
        let kind = match column.cells {
            Cells::Text(_) => DataType::Utf8,
            Cells::Int(_) => DataType::Int64,
            Cells::Float(_) => DataType::Float64,
        };
        fields.push(Field::new(&column.name, kind, true));
    }
    Arc::new(Schema::new(fields))
}

fn record_batch(chunk: &ScoredChunk<'_>, schema: SchemaRef) -> anyhow::Result<RecordBatch> {
    let mut arrays: Vec<ArrayRef> = vec![Arc::new(StringArray::from_iter_values(
        chunk.table.ids().iter().map(|id| id.as_str()),
    ))];
    for column in &chunk.columns {
        arrays.push(match &column.cells {
            Cells::Text(values) => {
                Arc::new(values.iter().map(|v| v.as_deref()).collect::<StringArray>())
            }
            Cells::Int(values) => Arc::new(values.iter().copied().collect::<Int64Array>()),
            Cells::Float(values) => Arc::new(
                values
                    .iter()
                    .map(|v| (!v.is_nan()).then_some(*v))
                    .collect::<Float64Array>(),
            ),
        });
    }
    Ok(RecordBatch::try_new(schema, arrays)?)
}

fn header_names(chunk: &ScoredChunk<'_>) -> Vec<String> {
    std::iter::once("customer_id".to_string())
        .chain(chunk.columns.iter().map(|c| c.name.clone()))
        .collect()
}

/// The features to score, checked against what the model reads.
fn open_source(args: &Args, model: &TrainedModel, ui: &Ui) -> anyhow::Result<(Source, String)> {
    let columns = ColumnCheck::new(model);
    let required = &columns.required;
    if let Some(path) = &args.features {
        refuse_log_options(
            &[
                ("--events", args.events.is_some()),
                ("--customers", args.customers.is_some()),
                ("--as-of", args.as_of.is_some()),
                ("--passes", args.passes != 1),
            ],
            path,
        )?;
        let schema = lookalike_core::FeatureSchema::path_beside(path);
        if schema.is_file() {
            let (unit, _) = crate::value_model::time_unit_of(path);
            if unit != model.time_unit {
                bail!(
                    "{} has recency and T in {unit} but the model {} was trained in {}; rebuild the features with --time-unit {}",
                    path.display(),
                    model.dir.display(),
                    model.time_unit,
                    model.time_unit
                );
            }
        }
        // Keep what a stage reads, plus the optional event columns segmentation flags use.
        const FLAG_COLUMNS: [&str; 5] = [
            "views_30d",
            "abandoned_carts_30d",
            "email_open_rate",
            "days_since_last_event",
            "orders_30d",
        ];
        let chunks = FeatureChunks::open(
            path,
            |c| required.iter().any(|r| r == c) || FLAG_COLUMNS.contains(&c),
            args.chunk_rows,
        )
        .with_context(|| format!("reading features from {}", path.display()))?;
        columns.check(chunks.all_columns(), &path.display().to_string())?;
        return Ok((Source::File(chunks), path.display().to_string()));
    }
    let transactions = args.transactions.clone().expect("clap requires a source");
    let input = InputArgs {
        transactions: transactions.clone(),
        events: args.events.clone(),
        customers: args.customers.clone(),
        format: args.format,
        delimiter: args.delimiter.clone(),
        columns: args.columns.clone(),
        on_error: args.on_error,
    };
    let mut params = FeatureParams::new()
        .time_unit(match model.time_unit.as_str() {
            "days" => TimeUnit::Days,
            _ => TimeUnit::Weeks,
        })
        .on_bad_row(input.on_bad_row())
        .top_levels(model.top_levels)
        .threads(rayon::current_num_threads());
    if let Some(date) = &args.as_of {
        params = params.as_of(parse_date(date).map_err(|e| anyhow::anyhow!("--as-of: {e}"))?);
    }
    // With --partition, the other partitions' customers are left out while reading, so their
    // state never takes memory.
    if let Some(partition) = args.partition.as_deref().map(parse_partition).transpose()? {
        params = params.only_customers_in(partition);
    }
    if args.passes == 0 {
        bail!("--passes must be at least 1");
    }
    let mut logs = LogSource {
        inputs: input.resolve()?,
        params,
        passes: args.passes,
        next_pass: 0,
        table: None,
        next_row: 0,
        chunk_rows: args.chunk_rows.max(1),
        columns,
        what: format!("the features of {}", transactions.display()),
        ui: *ui,
    };
    // The first pass runs now, so a mismatch is reported before anything is written.
    logs.run_pass()?;
    let what = logs.what.clone();
    Ok((Source::Logs(logs), what))
}

/// Totals of a run.
#[derive(Default)]
struct Counts {
    scored: u64,
    read: u64,
    other_partition: u64,
    skipped: u64,
    skip_examples: Vec<String>,
}

enum Sink<'w, W: Write + Send> {
    Csv(&'w mut W),
    Parquet(Box<ArrowWriter<&'w mut W>>, SchemaRef),
}

/// The customers already read, by a 64-bit hash of the id: a chunk can only check its own ids
/// for duplicates, and a customer scored twice would get two output rows. (Two different ids
/// share a hash with probability about n²/2⁶⁵: 3·10⁻⁶ for 10M customers.)
#[derive(Default)]
struct SeenIds(foldhash::HashSet<u64>);

impl SeenIds {
    /// Records the chunk's ids; fails on an id an earlier chunk had. `first_row` is the chunk's
    /// first data row (1-based) in `source`.
    fn check(&mut self, chunk: &FeatureTable, first_row: u64, source: &str) -> anyhow::Result<()> {
        let hashes: Vec<u64> = chunk
            .ids()
            .par_iter()
            .map(|id| xxhash_rust::xxh3::xxh3_64(id.as_str().as_bytes()))
            .collect();
        self.0.reserve(hashes.len());
        for (row, hash) in hashes.into_iter().enumerate() {
            if !self.0.insert(hash) {
                bail!(
                    "{source}: data row {}: customer {} already had a row; every customer must have exactly one",
                    first_row + row as u64,
                    chunk.ids()[row].as_str()
                );
            }
        }
        Ok(())
    }
}

/// Streams every chunk of `source` through the model into `writer`.
fn score_into<W: Write + Send>(
    writer: &mut W,
    parquet: bool,
    model: &TrainedModel,
    mut source: Source,
    source_name: &str,
    args: &Args,
    ui: &Ui,
) -> anyhow::Result<Counts> {
    let partition = args.partition.as_deref().map(parse_partition).transpose()?;
    let progress = ui.progress();
    progress.start("scoring customers", source.total());
    let mut counts = Counts::default();
    let mut sink: Option<Sink<'_, W>> = None;
    let mut writer = Some(writer);
    let skip = matches!(args.on_error, OnError::Skip);
    let mut seen = SeenIds::default();
    let mut next = source.next_chunk();
    while let Some(chunk) = next {
        let chunk = chunk?;
        let rows = chunk.len() as u64;
        let first_row = counts.read + 1;
        seen.check(&chunk, first_row, source_name)?;
        // Read the next chunk while this one is scored.
        let (scored, following) = rayon::join(
            || score_chunk(model, chunk, first_row, source_name, partition, skip),
            || source.next_chunk(),
        );
        next = following;
        let mut scored = scored?;
        counts.read += rows;
        counts.scored += scored.table.len() as u64;
        counts.other_partition += scored.other_partition as u64;
        counts.skipped += scored.skipped as u64;
        let room = 5 - counts.skip_examples.len();
        counts.skip_examples.extend(
            std::mem::take(&mut scored.skip_examples)
                .into_iter()
                .take(room),
        );
        if sink.is_none() {
            let w = writer.take().expect("one sink");
            sink = Some(if parquet {
                let schema = parquet_schema(&scored);
                let properties = WriterProperties::builder()
                    .set_compression(Compression::SNAPPY)
                    .build();
                Sink::Parquet(
                    Box::new(ArrowWriter::try_new(w, schema.clone(), Some(properties))?),
                    schema,
                )
            } else {
                let mut header = csv::Writer::from_writer(Vec::new());
                header.write_record(header_names(&scored))?;
                w.write_all(&header.into_inner().map_err(|e| e.into_error())?)?;
                Sink::Csv(w)
            });
        }
        match sink.as_mut().expect("made above") {
            Sink::Csv(w) => w.write_all(&csv_bytes(&scored)?)?,
            Sink::Parquet(w, schema) => w.write(&record_batch(&scored, schema.clone())?)?,
        }
        progress.advance(rows);
    }
    progress.finish();
    match sink {
        Some(Sink::Parquet(w, _)) => {
            w.close()?;
        }
        Some(Sink::Csv(_)) => {}
        None => bail!("{source_name} has no customers to score"),
    }
    Ok(counts)
}

/// Scores as `args` say; returns the final line.
pub fn score(args: &Args, ui: &Ui) -> anyhow::Result<String> {
    let began = Instant::now();
    let model = TrainedModel::load(&args.model)?;
    let partition = args.partition.as_deref().map(parse_partition).transpose()?;
    let parquet = crate::output::is_parquet_output(&args.out)?;
    if let Some(parent) = args.out.parent()
        && !parent.as_os_str().is_empty()
        && !parent.is_dir()
    {
        bail!(
            "--out {}: the folder {} does not exist",
            args.out.display(),
            parent.display()
        );
    }
    let (source, source_name) = open_source(args, &model, ui)?;
    let mut outcome: Option<anyhow::Result<Counts>> = None;
    let written = lookalike_core::write_atomically(&args.out, |w| {
        let result = score_into(w, parquet, &model, source, &source_name, args, ui);
        let failed = result.is_err();
        outcome = Some(result);
        if failed {
            Err(std::io::Error::other("scoring failed"))
        } else {
            Ok(())
        }
    });
    let counts = match outcome {
        Some(Err(error)) => return Err(error),
        Some(Ok(counts)) => counts,
        None => unreachable!("the writer ran"),
    };
    written.with_context(|| format!("writing {}", args.out.display()))?;
    let seconds = began.elapsed().as_secs_f64();
    let threads = rayon::current_num_threads();
    let rate = counts.read as f64 / seconds.max(1e-9);
    let mut line = format!(
        "scored {} customers in {seconds:.2}s ({:.0} customers/s, {:.0} per core on {threads}) into {}",
        counts.scored,
        rate,
        rate / threads as f64,
        args.out.display()
    );
    match partition {
        Some(p) if args.transactions.is_some() => {
            line += &format!(
                "; partition {}/{}: the other partitions' customers were left out while reading",
                p.index, p.count
            );
        }
        Some(p) => {
            line += &format!(
                "; partition {}/{}: {} customers belong to other partitions",
                p.index, p.count, counts.other_partition
            );
        }
        None => {}
    }
    if args.passes > 1 {
        line += &format!("; logs read in {} passes", args.passes);
    }
    if counts.skipped > 0 {
        line += &format!("; {} customers SKIPPED", counts.skipped);
        for example in &counts.skip_examples {
            line += &format!("\n  skipped: {example}");
        }
    }
    Ok(line)
}

pub fn run(args: Args, ui: &Ui) -> anyhow::Result<()> {
    // The final line is a message, but it is always printed: batch logs need it.
    let line = score(&args, ui)?;
    eprintln!("{line}");
    Ok(())
}
