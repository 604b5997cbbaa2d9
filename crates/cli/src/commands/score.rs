//! `lookalike score`: the whole base scored with a trained model, one row per customer,
//! streamed chunk by chunk into one CSV or Parquet file that appears only when complete.

use std::io::Write;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, SyncSender};
use std::thread::JoinHandle;
use std::time::Instant;

use anyhow::{Context, bail};
use arrow_array::cast::AsArray;
use arrow_array::types::Int32Type;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{
    Array, BooleanArray, DictionaryArray, Float64Array, Int64Array, RecordBatch, StringArray,
};
use arrow_schema::DataType;
use lookalike_core::{FeatureTable, IdPartition, PASS_HASH_SEED, Progress};
use lookalike_features::{
    FeatureChunks, FeatureError, FeatureInputs, FeatureParams, extract_with, format_number,
    parse_date,
};
use lookalike_pipeline::{PipelineModel, UNSCORED_REASON};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use rayon::prelude::*;

use crate::commands::features::{InputArgs, refuse_log_options, report_inputs};
use crate::output::Ui;
use crate::paths::Paths;
use lookalike_core::Pseudonymizer;
use lookalike_features::{FileFormat, LogReading, OnBadRow};

/// Parses `--partition i/n`.
pub fn parse_partition(text: &str) -> anyhow::Result<IdPartition> {
    IdPartition::parse(text).ok_or_else(|| {
        anyhow::anyhow!(
            "--partition {text:?}: give i/n with 0 ≤ i < n (e.g. 0/4, 1/4, 2/4, 3/4 split a base in four)"
        )
    })
}

/// The base a model is applied to, as `score` and `explain` read it: a feature table, or logs
/// whose features are computed with the model's settings.
#[derive(Debug, Clone, clap::Args)]
#[group(skip)]
pub struct BaseSource {
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
    pub format: Option<FileFormat>,
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
    /// How the logs are read (with --transactions): as when the model's features were made.
    #[command(flatten)]
    pub reading: LogReading,
    /// The key the model's ids are pseudonyms under (`train --pseudonymize`): the base's ids
    /// are hashed with it before scoring. Not needed for features pseudonymized with it.
    #[arg(long, value_name = "KEYFILE")]
    pub pseudonymize: Option<PathBuf>,
}

impl BaseSource {
    /// A feature file.
    pub fn features(path: PathBuf) -> BaseSource {
        BaseSource {
            features: Some(path),
            transactions: None,
            events: None,
            customers: None,
            format: None,
            delimiter: None,
            columns: Vec::new(),
            as_of: None,
            reading: LogReading::default(),
            pseudonymize: None,
        }
    }
}

/// Options of `lookalike score`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("base").required(true).args(["features", "transactions"])))]
#[command(after_help = "Examples:
  lookalike score --model models/sample --features features.parquet --out scores.parquet
  lookalike score --model model --transactions tx.parquet --events events.parquet \\
      --customers customers.csv --out scores.csv
  lookalike score --model model --features features.parquet --partition 3/8 --out part3.parquet")]
pub struct Args {
    /// Model directory from `lookalike train`.
    #[arg(long, value_name = "DIR")]
    pub model: PathBuf,
    /// The base to score.
    #[command(flatten)]
    pub source: BaseSource,
    /// A bad log row or a customer whose purchase history cannot be scored: stop, or skip it,
    /// count it and show the first few.
    #[arg(long, value_enum, default_value = "fail")]
    pub on_error: OnBadRow,
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
enum Origin {
    File(Box<FeatureChunks>),
    Logs(Box<LogSource>),
}

/// The base's chunks, their ids turned into the model's (pseudonyms when the model has them).
struct Source {
    origin: Origin,
    key: Option<Pseudonymizer>,
}

impl Source {
    fn next_chunk(&mut self) -> Option<anyhow::Result<FeatureTable>> {
        let chunk = match &mut self.origin {
            Origin::File(chunks) => chunks.next().map(|c| c.map_err(anyhow::Error::from)),
            Origin::Logs(logs) => logs.next_chunk(),
        };
        match &self.key {
            Some(key) => chunk.map(|c| c.and_then(|c| Ok(key.table(c)?))),
            None => chunk,
        }
    }

    /// Whether the next chunk is being made on another thread already.
    fn reads_ahead(&self) -> bool {
        matches!(self.origin, Origin::Logs(_))
    }

    fn total(&self) -> Option<u64> {
        match &self.origin {
            Origin::File(chunks) => chunks.total_rows(),
            Origin::Logs(logs) => logs.total,
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
    fn new(model: &PipelineModel, model_dir: &std::path::Path) -> Self {
        ColumnCheck {
            required: model
                .required_columns()
                .into_iter()
                .map(String::from)
                .collect(),
            trained: model.manifest().features.columns.clone(),
            model_dir: model_dir.to_path_buf(),
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
/// A thread reads the logs and fills the features a chunk of customers at a time as the
/// scoring takes them, so the whole feature table is never in memory beside the states.
struct LogSource {
    fed: Receiver<anyhow::Result<Fed>>,
    feeder: Option<JoinHandle<()>>,
    /// A message read ahead (the first, read before anything is written).
    pending: Option<anyhow::Result<Fed>>,
    /// Customers of the base when it is read in one pass.
    total: Option<u64>,
    done: bool,
}

/// What the extraction thread sends.
enum Fed {
    /// A pass's base is read: its customer count.
    Customers(usize),
    Chunk(FeatureTable),
    /// Every pass is done.
    Done,
}

/// What the extraction thread needs: the logs and how to read them, pass after pass.
struct LogPasses {
    inputs: FeatureInputs,
    params: FeatureParams,
    passes: u64,
    chunk_rows: usize,
    columns: ColumnCheck,
    what: String,
    ui: Ui,
}

impl LogPasses {
    /// Starts the thread that reads the logs, and waits for the first pass's base (or its
    /// error), so that a mismatch is reported before anything is written.
    fn start(self) -> anyhow::Result<LogSource> {
        let (send, fed) = std::sync::mpsc::sync_channel(1);
        let passes = self.passes;
        let feeder = std::thread::Builder::new()
            .name("features".into())
            .spawn(move || {
                let outcome = self.feed(&send);
                // The receiver may be gone (the run stopped): nothing is left to tell.
                let _ = send.send(outcome.map(|()| Fed::Done));
            })
            .context("starting the feature extraction thread")?;
        let mut logs = LogSource {
            fed,
            feeder: Some(feeder),
            pending: None,
            total: None,
            done: false,
        };
        match logs.receive()? {
            Fed::Customers(n) if passes == 1 => logs.total = Some(n as u64),
            other => logs.pending = Some(Ok(other)),
        }
        Ok(logs)
    }

    /// Runs every pass, sending each pass's customer count and then its chunks.
    fn feed(&self, send: &SyncSender<anyhow::Result<Fed>>) -> anyhow::Result<()> {
        for pass in 0..self.passes {
            let mut params = self.params.clone();
            let mut label = String::new();
            if self.passes > 1 {
                let part = IdPartition::with_seed(pass, self.passes, PASS_HASH_SEED)
                    .expect("pass < passes");
                params = params.only_customers_in(part);
                label = format!(" (pass {} of {})", pass + 1, self.passes);
            }
            let began = Instant::now();
            let sent = extract_with(&self.inputs, &params, &self.ui.progress(), |rows| {
                self.ui.say(format!(
                    "features of {} customers as of {} in {:.2}s{label}",
                    rows.len(),
                    rows.as_of,
                    began.elapsed().as_secs_f64()
                ));
                report_inputs(&rows.inputs, &self.ui);
                self.columns.check(rows.columns(), &self.what)?;
                if send.send(Ok(Fed::Customers(rows.len()))).is_err() {
                    return Ok(false);
                }
                for start in (0..rows.len()).step_by(self.chunk_rows) {
                    let chunk = rows.table(start..(start + self.chunk_rows).min(rows.len()));
                    if send.send(Ok(Fed::Chunk(chunk))).is_err() {
                        return Ok(false);
                    }
                }
                anyhow::Ok(true)
            });
            match sent {
                Ok(true) => {}
                // Nobody takes the chunks any more.
                Ok(false) => return Ok(()),
                // A small base can leave a part empty; the run fails only if all of them are.
                Err(error)
                    if matches!(
                        error.downcast_ref::<FeatureError>(),
                        Some(FeatureError::NoCustomers(_))
                    ) && (self.passes > 1 || self.params_filtered()) =>
                {
                    self.ui.say(format!("no customers{label}"));
                }
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }

    /// Whether `--partition` already narrows the customers read.
    fn params_filtered(&self) -> bool {
        self.params.customers_in_value().next().is_some()
    }
}

impl LogSource {
    /// The next message of the extraction thread; an error if it stopped without a word.
    fn receive(&mut self) -> anyhow::Result<Fed> {
        if let Some(message) = self.pending.take() {
            return message;
        }
        if let Ok(message) = self.fed.recv() {
            return message;
        }
        let panic = match self.feeder.take().map(JoinHandle::join) {
            Some(Err(panic)) => panic,
            _ => bail!("the feature extraction stopped before it finished"),
        };
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic".into());
        bail!("the feature extraction failed: {what}")
    }

    fn next_chunk(&mut self) -> Option<anyhow::Result<FeatureTable>> {
        while !self.done {
            match self.receive() {
                Ok(Fed::Customers(_)) => {}
                Ok(Fed::Chunk(chunk)) => return Some(Ok(chunk)),
                Ok(Fed::Done) => self.done = true,
                Err(error) => {
                    self.done = true;
                    return Some(Err(error));
                }
            }
        }
        None
    }
}

fn csv_bytes(batch: &RecordBatch) -> anyhow::Result<Vec<u8>> {
    /// A column, downcast once per batch rather than once per cell.
    enum Typed<'a> {
        Text(&'a StringArray),
        /// Categories: codes into a few texts.
        Coded(&'a DictionaryArray<Int32Type>, &'a StringArray),
        Int(&'a Int64Array),
        Float(&'a Float64Array),
        /// Written 1 and 0, as `segment` writes its flags.
        Flag(&'a BooleanArray),
    }
    let typed: Vec<Typed<'_>> = batch
        .columns()
        .iter()
        .map(|column| {
            Ok(match column.data_type() {
                DataType::Utf8 => Typed::Text(column.as_string::<i32>()),
                DataType::Dictionary(..) => {
                    let coded = column.as_dictionary::<Int32Type>();
                    Typed::Coded(coded, coded.values().as_string::<i32>())
                }
                DataType::Int64 => Typed::Int(column.as_primitive::<Int64Type>()),
                DataType::Float64 => Typed::Float(column.as_primitive::<Float64Type>()),
                DataType::Boolean => Typed::Flag(column.as_boolean()),
                other => bail!("an output column of type {other} cannot be written as CSV"),
            })
        })
        .collect::<anyhow::Result<_>>()?;
    const BLOCK: usize = 16_384;
    let n = batch.num_rows();
    let blocks: Vec<anyhow::Result<Vec<u8>>> = (0..n.div_ceil(BLOCK))
        .into_par_iter()
        .map(|b| {
            let mut writer = csv::WriterBuilder::new().from_writer(Vec::with_capacity(1 << 20));
            let mut integer = itoa::Buffer::new();
            let mut cell: Vec<u8> = Vec::new();
            for i in b * BLOCK..((b + 1) * BLOCK).min(n) {
                for column in &typed {
                    cell.clear();
                    match column {
                        Typed::Text(values) => {
                            writer.write_field(if values.is_valid(i) {
                                values.value(i)
                            } else {
                                ""
                            })?;
                            continue;
                        }
                        Typed::Coded(codes, texts) => {
                            writer.write_field(if codes.is_valid(i) {
                                texts.value(codes.keys().value(i) as usize)
                            } else {
                                ""
                            })?;
                            continue;
                        }
                        Typed::Flag(values) if values.is_valid(i) => {
                            cell.push(if values.value(i) { b'1' } else { b'0' })
                        }
                        Typed::Int(values) if values.is_valid(i) => {
                            cell.extend_from_slice(integer.format(values.value(i)).as_bytes())
                        }
                        Typed::Float(values) if values.is_valid(i) => {
                            format_number(values.value(i), &mut cell)
                        }
                        _ => {}
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

/// The features to score, checked against what the model reads.
/// The feature chunks `score` reads from `args`' source (a feature file, or logs with the
/// model's settings), checked against the model, and the source's name: for `explain`.
pub fn source_chunks(
    args: &Args,
    model: &PipelineModel,
    ui: &Ui,
) -> anyhow::Result<(impl Iterator<Item = anyhow::Result<FeatureTable>>, String)> {
    let (mut source, name) = open_source(args, model, ui)?;
    Ok((std::iter::from_fn(move || source.next_chunk()), name))
}

fn open_source(args: &Args, model: &PipelineModel, ui: &Ui) -> anyhow::Result<(Source, String)> {
    let key = args
        .source
        .pseudonymize
        .as_deref()
        .map(Pseudonymizer::from_key_file)
        .transpose()?;
    // Pseudonyms the features already hold (their schema says under which key).
    let hashed = match &args.source.features {
        Some(path) if lookalike_core::FeatureSchema::path_beside(path).is_file() => {
            lookalike_core::FeatureSchema::read(&lookalike_core::FeatureSchema::path_beside(path))
                .ok()
                .and_then(|schema| {
                    lookalike_core::pseudonym_fingerprint(&schema.provenance).map(String::from)
                })
        }
        _ => None,
    };
    let key = model
        .id_key(hashed.as_deref(), key.as_ref())
        .with_context(|| format!("the ids of the base and the model {}", args.model.display()))?
        .cloned();
    let (origin, name) = open_origin(args, model, ui)?;
    Ok((Source { origin, key }, name))
}

fn open_origin(args: &Args, model: &PipelineModel, ui: &Ui) -> anyhow::Result<(Origin, String)> {
    let columns = ColumnCheck::new(model, &args.model);
    let trained_unit = model.manifest().features.time_unit;
    let required = &columns.required;
    if let Some(path) = &args.source.features {
        refuse_log_options(
            &[
                ("--events", args.source.events.is_some()),
                ("--customers", args.source.customers.is_some()),
                ("--as-of", args.source.as_of.is_some()),
                ("--passes", args.passes != 1),
            ],
            path,
        )?;
        let schema = lookalike_core::FeatureSchema::path_beside(path);
        if schema.is_file() {
            let unit = crate::value_model::time_unit_of(path).name();
            if unit != trained_unit.name() {
                bail!(
                    "{} has recency and T in {unit} but the model {} was trained in {trained_unit}; rebuild the features with --time-unit {trained_unit}",
                    path.display(),
                    args.model.display(),
                );
            }
        }
        // Keep what a stage reads.
        let chunks =
            FeatureChunks::open(path, |c| required.iter().any(|r| r == c), args.chunk_rows)
                .with_context(|| format!("reading features from {}", path.display()))?;
        columns.check(chunks.all_columns(), &path.display().to_string())?;
        return Ok((Origin::File(Box::new(chunks)), path.display().to_string()));
    }
    let transactions = args
        .source
        .transactions
        .clone()
        .expect("clap requires a source");
    let input = InputArgs {
        transactions: transactions.clone(),
        events: args.source.events.clone(),
        customers: args.source.customers.clone(),
        format: args.source.format,
        delimiter: args.source.delimiter.clone(),
        columns: args.source.columns.clone(),
        on_error: args.on_error,
        reading: args.source.reading.clone(),
    };
    let mut params = args.source.reading.apply(
        FeatureParams::new()
            .time_unit(trained_unit)
            .on_bad_row(input.on_error)
            .top_levels(model.manifest().features.top_levels)
            .threads(rayon::current_num_threads()),
    );
    if let Some(date) = &args.source.as_of {
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
    let logs = LogPasses {
        inputs: input.resolve()?,
        params,
        passes: args.passes,
        chunk_rows: args.chunk_rows,
        columns,
        what: format!("the features of {}", transactions.display()),
        ui: *ui,
    };
    let what = logs.what.clone();
    Ok((Origin::Logs(Box::new(logs.start()?)), what))
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
    Parquet(Box<ArrowWriter<&'w mut W>>),
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

/// A chunk scored: its output rows and what was left out.
struct ScoredChunk {
    batch: RecordBatch,
    /// Customers left out because they belong to another partition.
    other_partition: usize,
    /// Customers skipped as unscorable (`--on-error skip`), with the first reasons.
    skipped: usize,
    skip_examples: Vec<String>,
}

/// Scores `table`, whose first customer is data row `first_row` (1-based) of `source`: keeps
/// the partition's customers, applies the model, and stops at (or skips and counts) customers
/// the model cannot score.
fn score_chunk(
    model: &PipelineModel,
    table: FeatureTable,
    first_row: u64,
    source: &str,
    partition: Option<IdPartition>,
    skip_invalid: bool,
) -> anyhow::Result<ScoredChunk> {
    let n = table.len();
    // rows[i]: the chunk row of the i-th customer kept.
    let rows: Vec<usize> = match partition {
        Some(p) => {
            let keep: Vec<bool> = table
                .ids()
                .par_iter()
                .map(|id| p.contains(id.as_str()))
                .collect();
            (0..n).filter(|i| keep[*i]).collect()
        }
        None => (0..n).collect(),
    };
    let other_partition = n - rows.len();
    let table = if rows.len() == n {
        table
    } else {
        table.select_rows(&rows)
    };
    let mut batch = model.transform_table(&table)?;
    let (mut skipped, mut skip_examples) = (0, Vec::new());
    let reason_at = batch.schema().index_of(UNSCORED_REASON)?;
    let reasons = batch.column(reason_at).clone();
    let reasons = reasons.as_string::<i32>();
    if reasons.null_count() < reasons.len() {
        let describe = |i: usize| {
            format!(
                "{source}: data row {}: customer {}: {}",
                first_row + rows[i] as u64,
                table.ids()[i].as_str(),
                reasons.value(i)
            )
        };
        let bad: Vec<usize> = (0..reasons.len())
            .filter(|i| reasons.is_valid(*i))
            .collect();
        if !skip_invalid {
            bail!(
                "{} (use --on-error skip to skip such customers and count them)",
                describe(bad[0])
            );
        }
        skipped = bad.len();
        skip_examples = bad.iter().take(5).map(|i| describe(*i)).collect();
        let scorable: BooleanArray = (0..reasons.len())
            .map(|i| Some(reasons.is_null(i)))
            .collect();
        batch = arrow_select::filter::filter_record_batch(&batch, &scorable)?;
    }
    batch.remove_column(reason_at);
    Ok(ScoredChunk {
        batch,
        other_partition,
        skipped,
        skip_examples,
    })
}

/// Streams every chunk of `source` through the model into `writer`.
fn score_into<W: Write + Send>(
    writer: &mut W,
    parquet: bool,
    model: &PipelineModel,
    mut source: Source,
    source_name: &str,
    args: &Args,
    ui: &Ui,
) -> anyhow::Result<Counts> {
    let partition = args.partition.as_deref().map(parse_partition).transpose()?;
    let progress = ui.progress();
    progress.start_counting(
        "scoring customers",
        source.total(),
        lookalike_core::Unit::Items("customers"),
    );
    let mut counts = Counts::default();
    let mut sink: Option<Sink<'_, W>> = None;
    let mut writer = Some(writer);
    let skip = matches!(args.on_error, OnBadRow::Skip);
    let mut seen = SeenIds::default();
    let mut next = source.next_chunk();
    while let Some(chunk) = next {
        let chunk = chunk?;
        let rows = chunk.len() as u64;
        let first_row = counts.read + 1;
        seen.check(&chunk, first_row, source_name)?;
        // Read the next chunk while this one is scored. The logs' extraction thread already
        // fills the next chunk meanwhile; waiting for it inside the thread pool could block
        // the very workers that fill it.
        let (scored, following) = if source.reads_ahead() {
            let scored = score_chunk(model, chunk, first_row, source_name, partition, skip);
            (scored, source.next_chunk())
        } else {
            rayon::join(
                || score_chunk(model, chunk, first_row, source_name, partition, skip),
                || source.next_chunk(),
            )
        };
        next = following;
        let mut scored = scored?;
        counts.read += rows;
        counts.scored += scored.batch.num_rows() as u64;
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
            let schema = scored.batch.schema();
            sink = Some(if parquet {
                let properties = lookalike_features::with_run_metadata(
                    WriterProperties::builder()
                        .set_compression(Compression::SNAPPY)
                        .build(),
                );
                Sink::Parquet(Box::new(ArrowWriter::try_new(w, schema, Some(properties))?))
            } else {
                let mut header = csv::Writer::from_writer(Vec::new());
                header.write_record(schema.fields().iter().map(|f| f.name()))?;
                w.write_all(&header.into_inner().map_err(|e| e.into_error())?)?;
                Sink::Csv(w)
            });
        }
        match sink.as_mut().expect("made above") {
            Sink::Csv(w) => w.write_all(&csv_bytes(&scored.batch)?)?,
            Sink::Parquet(w) => w.write(&scored.batch)?,
        }
        progress.advance(rows);
    }
    progress.finish();
    match sink {
        Some(Sink::Parquet(w)) => {
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
    if args.chunk_rows == 0 {
        bail!("--chunk-rows must be at least 1");
    }
    Paths::new()
        .input_folder("--model", Some(&args.model))
        .table("--features", args.source.features.as_deref())
        .table("--transactions", args.source.transactions.as_deref())
        .table("--events", args.source.events.as_deref())
        .table("--customers", args.source.customers.as_deref())
        .input("--pseudonymize", args.source.pseudonymize.as_deref())
        .output("--out", Some(&args.out))
        .check()?;
    let parquet = crate::output::is_parquet_output(&args.out)?;
    let model = PipelineModel::load(&args.model)?;
    let partition = args.partition.as_deref().map(parse_partition).transpose()?;
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
        Some(p) if args.source.transactions.is_some() => {
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

pub fn run(mut args: Args, ui: &Ui) -> anyhow::Result<()> {
    let mut saved = Vec::new();
    for input in [&mut args.source.features, &mut args.source.transactions]
        .into_iter()
        .flatten()
    {
        let (path, stdin) = crate::stdin::resolve(input, "csv")?;
        *input = path;
        saved.extend(stdin);
    }
    // The final line is a message, silenced by --quiet unless customers were skipped: lost
    // rows are said even then.
    let line = score(&args, ui)?;
    if line.contains("SKIPPED") {
        eprintln!("{line}");
    } else {
        ui.say(line);
    }
    Ok(())
}
