//! Parallel row scanning of one input file.
//!
//! CSV files are cut into blocks at record boundaries (quote-aware, so quoted newlines never
//! split a record) and parsed by worker threads; Parquet files are split by row group. Each
//! worker feeds its own [`RowHandler`]; the caller merges the handlers. Every row carries an
//! ordering key (block or row group, then row within it), so results that depend on row order
//! are the same whatever the thread count, and the first bad row reported is the first in the
//! file.

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Float64Type, Int64Type};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, TimeUnit};
use lookalike_core::Progress;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::cell::Cell;
use crate::input::{FieldRequest, FileFormat, InputFile, detect_delimiter, resolve_columns};
use crate::{FeatureError, OnBadRow};

/// Most fields any input kind reads per row.
pub(crate) const MAX_FIELDS: usize = 8;
const BLOCK_BYTES: usize = 4 << 20;
/// A quoted field longer than this is taken to be an unterminated quote.
const MAX_CARRY_BYTES: usize = 64 << 20;
/// How many skipped rows are described by example.
pub(crate) const SKIP_EXAMPLES: usize = 5;

/// What is wrong with a row: the field slot (None = the row as a whole), its value and why.
#[derive(Debug)]
pub(crate) struct RowProblem {
    pub slot: Option<usize>,
    pub value: String,
    pub reason: String,
}

impl RowProblem {
    pub fn field(slot: usize, cell: Cell<'_>, reason: String) -> Self {
        RowProblem {
            slot: Some(slot),
            value: cell.display(),
            reason,
        }
    }
}

/// Consumes rows. `row` must leave the handler unchanged when it returns an error, so that a
/// skipped row leaves no trace.
pub(crate) trait RowHandler: Send {
    fn row(&mut self, order: u64, cells: &[Cell<'_>]) -> Result<(), RowProblem>;
}

/// How to scan.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ScanOptions {
    pub on_bad_row: OnBadRow,
    pub threads: usize,
}

/// The handlers after the scan, and what was skipped.
pub(crate) struct Scanned<H> {
    pub handlers: Vec<H>,
    pub rows: u64,
    pub skipped: u64,
    pub skip_examples: Vec<FeatureError>,
}

/// Where a problem is, precisely enough to name the line or row later.
#[derive(Debug, Clone, Copy)]
enum Place {
    /// CSV: the block's byte offset and the 1-based line within the block.
    CsvLine {
        block_offset: u64,
        line_in_block: u64,
    },
    /// Parquet: the 1-based data row.
    ParquetRow(u64),
}

struct Pending {
    order: u64,
    place: Place,
    problem: RowProblem,
}

/// Problems found by all workers.
struct Problems {
    fail_fast: bool,
    /// Blocks after this one need not be read (fail mode): an earlier block had an error.
    stop_after_block: AtomicU64,
    found: Mutex<Vec<Pending>>,
    skipped: AtomicU64,
}

impl Problems {
    fn new(on_bad_row: OnBadRow) -> Self {
        Problems {
            fail_fast: on_bad_row == OnBadRow::Fail,
            stop_after_block: AtomicU64::new(u64::MAX),
            found: Mutex::new(Vec::new()),
            skipped: AtomicU64::new(0),
        }
    }

    fn wanted(&self, block: u64) -> bool {
        block <= self.stop_after_block.load(Ordering::Relaxed)
    }

    /// Records a problem; returns whether the worker should stop reading its block.
    fn report(&self, order: u64, place: Place, problem: RowProblem) -> bool {
        let mut found = self.found.lock().expect("problem list poisoned");
        if self.fail_fast {
            self.stop_after_block
                .fetch_min(order >> 32, Ordering::Relaxed);
            found.push(Pending {
                order,
                place,
                problem,
            });
            true
        } else {
            self.skipped.fetch_add(1, Ordering::Relaxed);
            found.push(Pending {
                order,
                place,
                problem,
            });
            // Keep only the earliest examples so memory stays bounded.
            if found.len() > 4 * SKIP_EXAMPLES {
                found.sort_by_key(|p| p.order);
                found.truncate(SKIP_EXAMPLES);
            }
            false
        }
    }
}

/// Scans `input`, feeding each worker's rows to a handler made by `make_handler`.
pub(crate) fn scan<H, M>(
    input: &InputFile,
    fields: &[FieldRequest],
    options: ScanOptions,
    progress: &dyn Progress,
    make_handler: M,
) -> Result<Scanned<H>, FeatureError>
where
    H: RowHandler,
    M: Fn() -> H + Sync,
{
    assert!(fields.len() <= MAX_FIELDS);
    let problems = Problems::new(options.on_bad_row);
    let (handlers, rows, columns) = match input.format {
        FileFormat::Csv => scan_csv(input, fields, options, progress, &make_handler, &problems)?,
        FileFormat::Parquet => {
            scan_parquet(input, fields, options, progress, &make_handler, &problems)?
        }
    };
    let mut found = problems.found.into_inner().expect("problem list poisoned");
    found.sort_by_key(|p| p.order);
    let mut resolved = Vec::new();
    let limit = if problems.fail_fast { 1 } else { SKIP_EXAMPLES };
    for pending in found.into_iter().take(limit) {
        resolved.push(describe(input, &columns, fields, pending)?);
    }
    if problems.fail_fast {
        if let Some(first) = resolved.into_iter().next() {
            return Err(first);
        }
        resolved = Vec::new();
    }
    Ok(Scanned {
        handlers,
        rows,
        skipped: problems.skipped.into_inner(),
        skip_examples: resolved,
    })
}

fn describe(
    input: &InputFile,
    columns: &[Option<usize>],
    fields: &[FieldRequest],
    pending: Pending,
) -> Result<FeatureError, FeatureError> {
    let row = match pending.place {
        Place::ParquetRow(row) => format!("row {row}"),
        Place::CsvLine {
            block_offset,
            line_in_block,
        } => {
            let before = count_newlines_before(&input.path, block_offset).map_err(|source| {
                FeatureError::Io {
                    kind: input.kind,
                    path: input.path.clone(),
                    source,
                }
            })?;
            format!("line {}", before + line_in_block)
        }
    };
    let _ = columns;
    Ok(match pending.problem.slot {
        Some(slot) => FeatureError::BadValue {
            kind: input.kind,
            path: input.path.clone(),
            row,
            column: fields[slot].column.clone(),
            value: pending.problem.value,
            reason: pending.problem.reason,
        },
        None => FeatureError::BadRow {
            kind: input.kind,
            path: input.path.clone(),
            row,
            reason: pending.problem.reason,
        },
    })
}

/// Line numbers are only needed for the few rows reported, so they are counted then, by
/// reading the file up to the block, instead of on every block of the hot path.
fn count_newlines_before(path: &Path, offset: u64) -> std::io::Result<u64> {
    let mut file = File::open(path)?.take(offset);
    let mut buffer = vec![0u8; 1 << 20];
    let mut count = 0u64;
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            return Ok(count);
        }
        count += memchr::memchr_iter(b'\n', &buffer[..n]).count() as u64;
    }
}

fn io_error(input: &InputFile) -> impl Fn(std::io::Error) -> FeatureError + '_ {
    move |source| FeatureError::Io {
        kind: input.kind,
        path: input.path.clone(),
        source,
    }
}

/// Fills `buffer` from `reader` until it is full or the input ends; returns the bytes read.
fn read_full(reader: &mut impl Read, buffer: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match reader.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// The end of the last complete record in `data` (just after its newline), when quotes are
/// balanced up to that point. Quote parity is exact for RFC 4180 files: an escaped quote (`""`)
/// flips it twice.
fn last_record_end(data: &[u8], quote: u8) -> Option<usize> {
    if memchr::memchr(quote, data).is_none() {
        return memchr::memrchr(b'\n', data).map(|i| i + 1);
    }
    let mut inside_quotes = false;
    let mut end = None;
    for i in memchr::memchr2_iter(quote, b'\n', data) {
        if data[i] == quote {
            inside_quotes = !inside_quotes;
        } else if !inside_quotes {
            end = Some(i + 1);
        }
    }
    end
}

struct Block {
    index: u64,
    offset: u64,
    data: Vec<u8>,
}

type ScanResult<H> = Result<(Vec<H>, u64, Vec<Option<usize>>), FeatureError>;

fn scan_csv<H, M>(
    input: &InputFile,
    fields: &[FieldRequest],
    options: ScanOptions,
    progress: &dyn Progress,
    make_handler: &M,
    problems: &Problems,
) -> ScanResult<H>
where
    H: RowHandler,
    M: Fn() -> H + Sync,
{
    let mut file = File::open(&input.path).map_err(io_error(input))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut first = vec![0u8; BLOCK_BYTES];
    let filled = read_full(&mut file, &mut first).map_err(io_error(input))?;
    first.truncate(filled);
    let bom = if first.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    if first[bom..].iter().all(u8::is_ascii_whitespace) {
        return Err(FeatureError::EmptyFile {
            kind: input.kind,
            path: input.path.clone(),
        });
    }
    let header_line_end = memchr::memchr(b'\n', &first[bom..]).map_or(first.len(), |i| bom + i);
    let delimiter = input
        .delimiter
        .unwrap_or_else(|| detect_delimiter(&first[bom..header_line_end]));
    let builder = {
        let mut b = csv::ReaderBuilder::new();
        b.has_headers(false).flexible(true).delimiter(delimiter);
        b
    };
    let mut header_reader = builder.from_reader(&first[bom..]);
    let mut header_record = csv::ByteRecord::new();
    header_reader
        .read_byte_record(&mut header_record)
        .map_err(|e| FeatureError::BadRow {
            kind: input.kind,
            path: input.path.clone(),
            row: "line 1".into(),
            reason: format!("the header cannot be read: {e}"),
        })?;
    let header_end = bom + header_reader.position().byte() as usize;
    let mut header = Vec::with_capacity(header_record.len());
    for cell in header_record.iter() {
        let name = std::str::from_utf8(cell).map_err(|_| FeatureError::BadRow {
            kind: input.kind,
            path: input.path.clone(),
            row: "line 1".into(),
            reason: "the header is not valid UTF-8".into(),
        })?;
        header.push(name.trim().to_string());
    }
    let columns = resolve_columns(input, &header, fields)?;
    let header_width = header.len();
    progress.start(&format!("reading {}", input.path.display()), Some(size));
    progress.advance(header_end as u64);

    let workers = options.threads.max(1);
    let (sender, receiver) = crossbeam_channel::bounded::<Block>(2 * workers);
    // Parsed blocks come back for reuse, so the reader does not fault in fresh pages per block.
    let (recycle, reusable) = crossbeam_channel::unbounded::<Vec<u8>>();
    let rows = AtomicU64::new(0);
    let read_result = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                let receiver = receiver.clone();
                let recycle = recycle.clone();
                let columns = &columns;
                let rows = &rows;
                let builder = &builder;
                scope.spawn(move || {
                    let mut handler = make_handler();
                    let mut record = csv::ByteRecord::new();
                    for block in receiver.iter() {
                        if !problems.wanted(block.index) {
                            continue;
                        }
                        let mut reader = builder.from_reader(block.data.as_slice());
                        let mut row_in_block = 0u64;
                        let mut count = 0u64;
                        while reader.read_byte_record(&mut record).unwrap_or(false) {
                            let order = (block.index << 32) | row_in_block;
                            row_in_block += 1;
                            let line_in_block = record.position().map_or(1, |p| p.line());
                            let place = Place::CsvLine {
                                block_offset: block.offset,
                                line_in_block,
                            };
                            if record.len() != header_width {
                                let problem = RowProblem {
                                    slot: None,
                                    value: String::new(),
                                    reason: format!(
                                        "has {} fields but the header has {header_width}",
                                        record.len()
                                    ),
                                };
                                if problems.report(order, place, problem) {
                                    break;
                                }
                                continue;
                            }
                            let mut cells = [Cell::Null; MAX_FIELDS];
                            for (slot, column) in columns.iter().enumerate() {
                                if let Some(c) = column {
                                    cells[slot] = Cell::Text(&record[*c]);
                                }
                            }
                            count += 1;
                            if let Err(problem) = handler.row(order, &cells[..columns.len()]) {
                                count -= 1;
                                if problems.report(order, place, problem) {
                                    break;
                                }
                            }
                        }
                        rows.fetch_add(count, Ordering::Relaxed);
                        progress.advance(block.data.len() as u64);
                        drop(reader);
                        let _ = recycle.send(block.data);
                    }
                    handler
                })
            })
            .collect();
        drop(receiver);
        let produced = produce_blocks(
            &mut file, first, header_end, &sender, &reusable, problems, input,
        );
        drop(sender);
        let handlers: Vec<H> = handles
            .into_iter()
            .map(|h| h.join().expect("CSV worker panicked"))
            .collect();
        produced.map(|_| handlers)
    });
    progress.finish();
    let handlers = read_result?;
    Ok((handlers, rows.into_inner(), columns))
}

/// Reads the file block by block and sends each run of complete records to the workers.
fn produce_blocks(
    file: &mut File,
    first: Vec<u8>,
    header_end: usize,
    sender: &crossbeam_channel::Sender<Block>,
    reusable: &crossbeam_channel::Receiver<Vec<u8>>,
    problems: &Problems,
    input: &InputFile,
) -> Result<(), FeatureError> {
    let mut carry = first[header_end..].to_vec();
    let mut carry_offset = header_end as u64;
    let mut index = 0u64;
    let mut at_end = first.len() < BLOCK_BYTES;
    loop {
        if !problems.wanted(index) {
            return Ok(());
        }
        if !at_end {
            let start = carry.len();
            carry.resize(start + BLOCK_BYTES, 0);
            let n = read_full(file, &mut carry[start..]).map_err(io_error(input))?;
            carry.truncate(start + n);
            at_end = n < BLOCK_BYTES;
        }
        let split = if at_end {
            carry.len()
        } else {
            match last_record_end(&carry, b'"') {
                Some(end) => end,
                None if carry.len() > MAX_CARRY_BYTES => {
                    return Err(FeatureError::BadRow {
                        kind: input.kind,
                        path: input.path.clone(),
                        row: format!(
                            "line {}",
                            1 + count_newlines_before(&input.path, carry_offset)
                                .map_err(io_error(input))?
                        ),
                        reason: "a quoted field never ends (unbalanced '\"')".into(),
                    });
                }
                None => continue,
            }
        };
        let mut rest = reusable.try_recv().unwrap_or_default();
        rest.clear();
        rest.extend_from_slice(&carry[split..]);
        carry.truncate(split);
        let data = std::mem::replace(&mut carry, rest);
        let length = data.len() as u64;
        if !data.is_empty()
            && sender
                .send(Block {
                    index,
                    offset: carry_offset,
                    data,
                })
                .is_err()
        {
            return Ok(());
        }
        carry_offset += length;
        index += 1;
        if at_end && carry.is_empty() {
            return Ok(());
        }
    }
}

/// A Parquet column seen through the few shapes the parsers understand.
pub(crate) enum ColumnView {
    Text(arrow_array::StringArray),
    Int(arrow_array::Int64Array),
    Float(arrow_array::Float64Array),
    Epoch {
        values: arrow_array::Int64Array,
        per_second: i64,
    },
    Date(arrow_array::Date32Array),
    Absent,
}

impl ColumnView {
    pub(crate) fn of(array: &ArrayRef) -> Result<Self, String> {
        use DataType::*;
        let cast = |to: &DataType| {
            arrow_cast::cast(array, to).map_err(|e| format!("cannot read as {to}: {e}"))
        };
        Ok(match array.data_type() {
            Utf8 | LargeUtf8 | Utf8View | Boolean | Dictionary(_, _) => {
                ColumnView::Text(cast(&Utf8)?.as_string::<i32>().clone())
            }
            Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64 => {
                ColumnView::Int(cast(&Int64)?.as_primitive::<Int64Type>().clone())
            }
            Float16
            | Float32
            | Float64
            | Decimal32(_, _)
            | Decimal64(_, _)
            | Decimal128(_, _)
            | Decimal256(_, _) => {
                ColumnView::Float(cast(&Float64)?.as_primitive::<Float64Type>().clone())
            }
            Timestamp(unit, _) => ColumnView::Epoch {
                values: cast(&Int64)?.as_primitive::<Int64Type>().clone(),
                per_second: match unit {
                    TimeUnit::Second => 1,
                    TimeUnit::Millisecond => 1_000,
                    TimeUnit::Microsecond => 1_000_000,
                    TimeUnit::Nanosecond => 1_000_000_000,
                },
            },
            Date32 => ColumnView::Date(array.as_primitive::<Date32Type>().clone()),
            Date64 => ColumnView::Epoch {
                values: cast(&Int64)?.as_primitive::<Int64Type>().clone(),
                per_second: 1_000,
            },
            other => return Err(format!("has type {other}, which cannot be read")),
        })
    }

    pub(crate) fn cell(&self, i: usize) -> Cell<'_> {
        match self {
            ColumnView::Absent => Cell::Null,
            ColumnView::Text(a) if a.is_valid(i) => Cell::Text(a.value(i).as_bytes()),
            ColumnView::Int(a) if a.is_valid(i) => Cell::Int(a.value(i)),
            ColumnView::Float(a) if a.is_valid(i) => Cell::Float(a.value(i)),
            ColumnView::Epoch { values, per_second } if values.is_valid(i) => {
                Cell::EpochSeconds(values.value(i).div_euclid(*per_second))
            }
            ColumnView::Date(a) if a.is_valid(i) => Cell::Day(a.value(i)),
            _ => Cell::Null,
        }
    }
}

fn parquet_error(input: &InputFile) -> impl Fn(String) -> FeatureError + '_ {
    move |message| FeatureError::Parquet {
        kind: input.kind,
        path: input.path.clone(),
        message,
    }
}

/// The column names of a Parquet file's top-level fields.
fn parquet_header(
    input: &InputFile,
) -> Result<(Vec<String>, Vec<u64>, parquet::schema::types::SchemaDescPtr), FeatureError> {
    let file = File::open(&input.path).map_err(io_error(input))?;
    if file.metadata().map(|m| m.len()).unwrap_or(0) == 0 {
        return Err(FeatureError::EmptyFile {
            kind: input.kind,
            path: input.path.clone(),
        });
    }
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| parquet_error(input)(format!("not a readable Parquet file: {e}")))?;
    let header = builder
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let metadata = builder.metadata();
    let group_rows = metadata
        .row_groups()
        .iter()
        .map(|g| g.num_rows() as u64)
        .collect();
    Ok((
        header,
        group_rows,
        metadata.file_metadata().schema_descr_ptr(),
    ))
}

/// Reads a whole Parquet file's requested columns as batches, for small inputs read in one
/// go (the customers file). Columns absent from the file are `None`.
pub(crate) fn parquet_column_names(input: &InputFile) -> Result<Vec<String>, FeatureError> {
    Ok(parquet_header(input)?.0)
}

fn scan_parquet<H, M>(
    input: &InputFile,
    fields: &[FieldRequest],
    options: ScanOptions,
    progress: &dyn Progress,
    make_handler: &M,
    problems: &Problems,
) -> ScanResult<H>
where
    H: RowHandler,
    M: Fn() -> H + Sync,
{
    let (header, group_rows, schema) = parquet_header(input)?;
    let columns = resolve_columns(input, &header, fields)?;
    let wanted: Vec<usize> = {
        let mut w: Vec<usize> = columns.iter().flatten().copied().collect();
        w.sort_unstable();
        w.dedup();
        w
    };
    let mask = ProjectionMask::roots(&schema, wanted.iter().copied());
    let mut group_start = Vec::with_capacity(group_rows.len());
    let mut total = 0u64;
    for rows in &group_rows {
        group_start.push(total);
        total += rows;
    }
    progress.start(&format!("reading {}", input.path.display()), Some(total));
    let next_group = AtomicUsize::new(0);
    let rows = AtomicU64::new(0);
    let workers = options.threads.max(1).min(group_rows.len().max(1));
    let first_failure: Mutex<Option<FeatureError>> = Mutex::new(None);
    let handlers = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut handler = make_handler();
                    loop {
                        let group = next_group.fetch_add(1, Ordering::Relaxed);
                        if group >= group_rows.len() || !problems.wanted(group as u64) {
                            break;
                        }
                        let outcome = scan_parquet_group(
                            input,
                            &mask,
                            group,
                            group_start[group],
                            &columns,
                            &mut handler,
                            problems,
                        );
                        match outcome {
                            Ok(count) => {
                                rows.fetch_add(count, Ordering::Relaxed);
                                progress.advance(group_rows[group]);
                            }
                            Err(e) => {
                                first_failure
                                    .lock()
                                    .expect("failure slot poisoned")
                                    .get_or_insert(e);
                                problems.stop_after_block.store(0, Ordering::Relaxed);
                                break;
                            }
                        }
                    }
                    handler
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("Parquet worker panicked"))
            .collect::<Vec<H>>()
    });
    progress.finish();
    if let Some(failure) = first_failure.into_inner().expect("failure slot poisoned") {
        return Err(failure);
    }
    Ok((handlers, rows.into_inner(), columns))
}

fn scan_parquet_group<H: RowHandler>(
    input: &InputFile,
    mask: &ProjectionMask,
    group: usize,
    first_row: u64,
    columns: &[Option<usize>],
    handler: &mut H,
    problems: &Problems,
) -> Result<u64, FeatureError> {
    let file = File::open(&input.path).map_err(io_error(input))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| parquet_error(input)(e.to_string()))?
        .with_projection(mask.clone())
        .with_row_groups(vec![group])
        .with_batch_size(64 * 1024)
        .build()
        .map_err(|e| parquet_error(input)(e.to_string()))?;
    let header_names: Vec<String> = parquet_column_names(input)?;
    let mut row_in_group = 0u64;
    let mut count = 0u64;
    for batch in reader {
        let batch: RecordBatch =
            batch.map_err(|e| parquet_error(input)(format!("row group {group}: {e}")))?;
        let mut views = Vec::with_capacity(columns.len());
        for column in columns {
            views.push(match column {
                None => ColumnView::Absent,
                Some(c) => {
                    let name = &header_names[*c];
                    let array = batch.column_by_name(name).ok_or_else(|| {
                        parquet_error(input)(format!("column {name:?} is not a flat column"))
                    })?;
                    ColumnView::of(array)
                        .map_err(|m| parquet_error(input)(format!("column {name:?} {m}")))?
                }
            });
        }
        for i in 0..batch.num_rows() {
            let order = ((group as u64) << 32) | row_in_group;
            let absolute_row = first_row + row_in_group + 1;
            row_in_group += 1;
            let mut cells = [Cell::Null; MAX_FIELDS];
            for (slot, view) in views.iter().enumerate() {
                cells[slot] = view.cell(i);
            }
            match handler.row(order, &cells[..views.len()]) {
                Ok(()) => count += 1,
                Err(problem) => {
                    if problems.report(order, Place::ParquetRow(absolute_row), problem) {
                        return Ok(count);
                    }
                }
            }
        }
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_end_respects_quotes() {
        assert_eq!(last_record_end(b"a,b\nc,d\ne", b'"'), Some(8));
        assert_eq!(last_record_end(b"a,\"x\ny\"\nc", b'"'), Some(8));
        assert_eq!(last_record_end(b"a,\"x\ny", b'"'), None);
        assert_eq!(last_record_end(b"a,\"x\"\"\n\"\n", b'"'), Some(9));
        assert_eq!(last_record_end(b"no newline", b'"'), None);
    }
}
