//! Parquet: row groups are shared out between worker threads.

use std::fs::File;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Float64Type, Int64Type};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, TimeUnit};
use lookalike_core::Progress;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ParquetRecordBatchReaderBuilder};

use super::routing::{HeldRows, Worker, links};
use super::{MAX_FIELDS, Place, Problems, RowHandler, ScanOptions, ScanResult, io_error};
use crate::FeatureError;
use crate::cell::Cell;
use crate::input::{FieldRequest, InputFile, resolve_columns};

/// A Parquet column seen through the few shapes the parsers understand.
pub(crate) enum ColumnView {
    Text(arrow_array::StringArray),
    /// Text kept as a dictionary (a Parquet column whose pages are dictionary-encoded, a
    /// categorical column): each row is a key into a few distinct values, so no row's text is
    /// copied out.
    Labels {
        keys: arrow_array::Int64Array,
        values: arrow_array::StringArray,
    },
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
        let cast_array = |array: &dyn Array, to: &DataType| {
            arrow_cast::cast(array, to).map_err(|e| format!("cannot read as {to}: {e}"))
        };
        let cast = |to: &DataType| cast_array(array, to);
        Ok(match array.data_type() {
            Utf8 | LargeUtf8 | Utf8View | Boolean => {
                ColumnView::Text(cast(&Utf8)?.as_string::<i32>().clone())
            }
            Dictionary(_, _) => {
                let dictionary = array.as_any_dictionary();
                let keys = cast_array(dictionary.keys(), &Int64)?
                    .as_primitive::<Int64Type>()
                    .clone();
                let values = cast_array(dictionary.values(), &Utf8)?
                    .as_string::<i32>()
                    .clone();
                let outside = |key: &i64| !(0..values.len() as i64).contains(key);
                if let Some(key) = keys.iter().flatten().find(outside) {
                    return Err(format!(
                        "has a dictionary key ({key}) outside its dictionary of {} values",
                        values.len()
                    ));
                }
                ColumnView::Labels { keys, values }
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
            ColumnView::Text(a) if a.is_valid(i) => Cell::Str(a.value(i)),
            ColumnView::Labels { keys, values } if keys.is_valid(i) => {
                let key = keys.value(i) as usize;
                if values.is_valid(key) {
                    Cell::Str(values.value(key))
                } else {
                    Cell::Null
                }
            }
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

/// The column names of a Parquet file's top-level fields, the rows of each row group and the
/// file's checked metadata.
fn parquet_header(
    input: &InputFile,
) -> Result<(Vec<String>, Vec<u64>, ArrowReaderMetadata), FeatureError> {
    let file = File::open(&input.path).map_err(io_error(input))?;
    if file.metadata().map(|m| m.len()).unwrap_or(0) == 0 {
        return Err(FeatureError::EmptyFile {
            kind: input.kind,
            path: input.path.clone(),
        });
    }
    let metadata = crate::parquet_file::checked_metadata(&file)
        .map_err(|e| parquet_error(input)(format!("not a readable Parquet file: {e}")))?;
    let header = metadata
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let group_rows = metadata
        .metadata()
        .row_groups()
        .iter()
        .map(|g| g.num_rows() as u64)
        .collect();
    Ok((header, group_rows, metadata))
}

/// The names of a Parquet file's top-level columns.
pub(crate) fn parquet_column_names(input: &InputFile) -> Result<Vec<String>, FeatureError> {
    Ok(parquet_header(input)?.0)
}

pub(super) fn scan_parquet<H, M>(
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
    let (header, group_rows, metadata) = parquet_header(input)?;
    let columns = resolve_columns(input, &header, fields)?;
    // Batches are looked up by name: the name of each requested field's column, if present.
    let column_names: Vec<Option<&str>> = columns
        .iter()
        .map(|c| c.map(|i| header[i].as_str()))
        .collect();
    let wanted: Vec<usize> = {
        let mut w: Vec<usize> = columns.iter().flatten().copied().collect();
        w.sort_unstable();
        w.dedup();
        w
    };
    let mask = ProjectionMask::roots(
        metadata.metadata().file_metadata().schema_descr(),
        wanted.iter().copied(),
    );
    let mut group_start = Vec::with_capacity(group_rows.len());
    let mut total = 0u64;
    for rows in &group_rows {
        group_start.push(total);
        total += rows;
    }
    progress.start_counting(
        &format!("reading {}", input.path.display()),
        Some(total),
        lookalike_core::Unit::Items("rows"),
    );
    let workers = options.threads.max(1).min(group_rows.len().max(1));
    let scanned = share_out(
        group_rows.len(),
        workers,
        column_names.len(),
        problems,
        make_handler,
        |group, handler| {
            let count = scan_parquet_group(
                input,
                &crate::parquet_file::with_dictionaries(&metadata, group, &wanted),
                &mask,
                group,
                group_start[group],
                &column_names,
                handler,
                problems,
            )?;
            progress.advance(group_rows[group]);
            Ok(count)
        },
    );
    progress.finish();
    scanned
}

/// Shares `units` (a file's row groups, a table's batches) out between `workers` threads, each
/// with its own handler and owning its share of the customers; `read(unit, worker)` returns
/// the rows it took. Rows have `width` cells. The first failure stops every worker and is
/// returned.
fn share_out<H, M, R>(
    units: usize,
    workers: usize,
    width: usize,
    problems: &Problems,
    make_handler: &M,
    read: R,
) -> ScanResult<H>
where
    H: RowHandler,
    M: Fn() -> H + Sync,
    R: Fn(usize, &mut Worker<'_, H>) -> Result<u64, FeatureError> + Sync,
{
    let next = AtomicUsize::new(0);
    let rows = AtomicU64::new(0);
    let first_failure: Mutex<Option<FeatureError>> = Mutex::new(None);
    let mut worker_links = links(workers).into_iter();
    let handlers = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                let links = worker_links.next().expect("one link per worker");
                let (next, rows, first_failure, read) = (&next, &rows, &first_failure, &read);
                scope.spawn(move || {
                    let mut worker = Worker::new(links, make_handler(), width, problems, rows);
                    loop {
                        let unit = next.fetch_add(1, Ordering::Relaxed);
                        if unit >= units || !problems.wanted(unit as u64) {
                            break;
                        }
                        match read(unit, &mut worker) {
                            Ok(count) => {
                                rows.fetch_add(count, Ordering::Relaxed);
                                worker.take_delivered();
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
                    worker.finish()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("scan worker panicked"))
            .collect::<Vec<H>>()
    });
    if let Some(failure) = first_failure.into_inner().expect("failure slot poisoned") {
        return Err(failure);
    }
    Ok((handlers, rows.into_inner()))
}

#[allow(clippy::too_many_arguments)]
fn scan_parquet_group<H: RowHandler>(
    input: &InputFile,
    metadata: &ArrowReaderMetadata,
    mask: &ProjectionMask,
    group: usize,
    first_row: u64,
    column_names: &[Option<&str>],
    handler: &mut Worker<'_, H>,
    problems: &Problems,
) -> Result<u64, FeatureError> {
    let file = File::open(&input.path).map_err(io_error(input))?;
    let mut reader = ParquetRecordBatchReaderBuilder::new_with_metadata(file, metadata.clone())
        .with_projection(mask.clone())
        .with_row_groups(vec![group])
        .with_batch_size(16 * 1024)
        .build()
        .map_err(|e| parquet_error(input)(e.to_string()))?;
    let mut row_in_group = 0u64;
    let mut count = 0u64;
    while let Some(batch) = crate::parquet_file::next_batch(&mut reader) {
        let batch: RecordBatch =
            batch.map_err(|e| parquet_error(input)(format!("row group {group}: {e}")))?;
        count += scan_rows(
            input,
            &batch,
            group,
            first_row,
            &mut row_in_group,
            column_names,
            handler,
            problems,
        )?;
        handler.take_delivered();
    }
    Ok(count)
}

/// Feeds the rows of one batch of group `group` (whose first row is `first_row` of the input,
/// `row_in_group` rows of it already read) to `handler`; returns the rows taken (a bad row is
/// reported, and taken back, by the worker that applies it).
#[allow(clippy::too_many_arguments)]
fn scan_rows<H: RowHandler>(
    input: &InputFile,
    batch: &RecordBatch,
    group: usize,
    first_row: u64,
    row_in_group: &mut u64,
    column_names: &[Option<&str>],
    handler: &mut Worker<'_, H>,
    problems: &Problems,
) -> Result<u64, FeatureError> {
    let mut views = Vec::with_capacity(column_names.len());
    for name in column_names {
        views.push(match name {
            None => ColumnView::Absent,
            Some(name) => {
                let array = batch.column_by_name(name).ok_or_else(|| {
                    parquet_error(input)(format!("column {name:?} is not a flat column"))
                })?;
                ColumnView::of(array)
                    .map_err(|m| parquet_error(input)(format!("column {name:?} {m}")))?
            }
        });
    }
    let mut held = HeldRows::default();
    for i in 0..batch.num_rows() {
        let order = ((group as u64) << 32) | *row_in_group;
        let absolute_row = first_row + *row_in_group + 1;
        *row_in_group += 1;
        let mut cells = [Cell::Null; MAX_FIELDS];
        for (slot, view) in views.iter().enumerate() {
            cells[slot] = view.cell(i);
        }
        if problems.skips_guest(&cells[..views.len()]) {
            continue;
        }
        handler.row_held(
            &mut held,
            order,
            Place::ParquetRow(absolute_row),
            &cells[..views.len()],
        );
    }
    handler.apply_held(&mut held);
    Ok(batch.num_rows() as u64)
}

/// An in-memory Arrow table: its batches are shared out between worker threads as a Parquet
/// file's row groups are.
pub(super) fn scan_batches<H, M>(
    input: &InputFile,
    batches: &[RecordBatch],
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
    let header = input.column_names()?;
    let columns = resolve_columns(input, &header, fields)?;
    let column_names: Vec<Option<&str>> = columns
        .iter()
        .map(|c| c.map(|i| header[i].as_str()))
        .collect();
    let mut batch_start = Vec::with_capacity(batches.len());
    let mut total = 0u64;
    for batch in batches {
        batch_start.push(total);
        total += batch.num_rows() as u64;
    }
    progress.start_counting(
        &format!("reading {}", input.path.display()),
        Some(total),
        lookalike_core::Unit::Items("rows"),
    );
    let workers = options.threads.max(1).min(batches.len().max(1));
    let scanned = share_out(
        batches.len(),
        workers,
        column_names.len(),
        problems,
        make_handler,
        |b, handler| {
            let mut row_in_batch = 0u64;
            let count = scan_rows(
                input,
                &batches[b],
                b,
                batch_start[b],
                &mut row_in_batch,
                &column_names,
                handler,
                problems,
            )?;
            progress.advance(batches[b].num_rows() as u64);
            Ok(count)
        },
    );
    progress.finish();
    scanned
}
