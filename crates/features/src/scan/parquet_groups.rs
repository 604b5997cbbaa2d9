//! Parquet: row groups are shared out between worker threads.

use std::fs::File;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Float64Type, Int32Type, Int64Type};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, TimeUnit};
use lookalike_core::Progress;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ParquetRecordBatchReaderBuilder};

use super::routing::{PackedRow, SharedRows, Worker, links};
use super::{Place, Problems, RowHandler, ScanOptions, ScanResult, io_error};
use crate::FeatureError;
use crate::cell::Cell;
use crate::dictionary::LabelId;
use crate::input::{FieldRequest, InputFile, resolve_columns};

/// A Parquet column seen through the few shapes the parsers understand.
pub(crate) enum ColumnView {
    Text(arrow_array::StringArray),
    /// Text kept as a dictionary (a Parquet column whose pages are dictionary-encoded, a
    /// categorical column): each row is a key into a few distinct values, so no row's text is
    /// copied out.
    Labels {
        /// Read as 32-bit keys, the type Parquet readers give dictionaries: a cast to 64 bits
        /// was a copy of every key of every batch.
        keys: arrow_array::Int32Array,
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
                // A key too large for 32 bits fails the cast instead of becoming a null.
                let strict = arrow_cast::CastOptions {
                    safe: false,
                    ..Default::default()
                };
                let keys = arrow_cast::cast_with_options(dictionary.keys(), &Int32, &strict)
                    .map_err(|e| format!("cannot read its dictionary keys: {e}"))?
                    .as_primitive::<Int32Type>()
                    .clone();
                let values = cast_array(dictionary.values(), &Utf8)?
                    .as_string::<i32>()
                    .clone();
                let outside = |key: &i32| usize::try_from(*key).map_or(true, |k| k >= values.len());
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

    /// Calls `put` with the cell of each row in `rows`, in order, one column at a time: the
    /// column's shape is matched once for the whole run, not once per cell, and `put` writes
    /// each cell straight into place. Built a row at a time through [`ColumnView::cell`], the
    /// cells were 13% of a Parquet scan's samples, most of them stalls reading back each cell
    /// just returned.
    #[inline]
    pub(crate) fn for_each_cell<'v>(
        &'v self,
        rows: impl Iterator<Item = usize>,
        mut put: impl FnMut(Cell<'v>),
    ) {
        let all_valid = |a: &dyn Array| a.null_count() == 0;
        match self {
            ColumnView::Text(a) if all_valid(a) => rows.for_each(|i| put(Cell::Str(a.value(i)))),
            ColumnView::Int(a) if all_valid(a) => {
                let values = a.values();
                rows.for_each(|i| put(Cell::Int(values[i])));
            }
            ColumnView::Float(a) if all_valid(a) => {
                let values = a.values();
                rows.for_each(|i| put(Cell::Float(values[i])));
            }
            ColumnView::Epoch { values, per_second } if all_valid(values) => {
                // One loop per unit, so that each divides by a constant (a multiplication)
                // rather than by a variable (a division, tens of cycles a row).
                let values = values.values();
                match *per_second {
                    1 => epoch_seconds::<1>(values, rows, put),
                    1_000 => epoch_seconds::<1_000>(values, rows, put),
                    1_000_000 => epoch_seconds::<1_000_000>(values, rows, put),
                    1_000_000_000 => epoch_seconds::<1_000_000_000>(values, rows, put),
                    other => {
                        rows.for_each(|i| put(Cell::EpochSeconds(values[i].div_euclid(other))))
                    }
                }
            }
            ColumnView::Labels { keys, values } if all_valid(keys) && all_valid(values) => {
                // Keys were checked to be within the dictionary when the view was made.
                let keys = keys.values();
                rows.for_each(|i| put(Cell::Str(values.value(keys[i] as usize))));
            }
            ColumnView::Absent => rows.for_each(|_| put(Cell::Null)),
            _ => rows.for_each(|i| put(self.cell(i))),
        }
    }

    /// As [`ColumnView::for_each_cell`], the values of a dictionary column as [`Cell::Label`]s
    /// with `ids[key]`, the label id of each dictionary value (other columns as they are).
    #[inline]
    pub(crate) fn for_each_label<'v>(
        &'v self,
        rows: impl Iterator<Item = usize>,
        ids: &[LabelId],
        mut put: impl FnMut(Cell<'v>),
    ) {
        let ColumnView::Labels { keys, values } = self else {
            return self.for_each_cell(rows, put);
        };
        if ids.len() != values.len() {
            // Ids given for another dictionary: the cells stay text.
            return self.for_each_cell(rows, put);
        }
        if keys.null_count() == 0 && values.null_count() == 0 {
            // Keys were checked to be within the dictionary when the view was made.
            let keys = keys.values();
            rows.for_each(|i| {
                let key = keys[i] as usize;
                put(Cell::Label(values.value(key), ids[key]))
            });
        } else {
            rows.for_each(|i| {
                put(match self.cell(i) {
                    Cell::Str(text) => Cell::Label(text, ids[keys.value(i) as usize]),
                    other => other,
                })
            });
        }
    }

    #[inline]
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

/// The cells of timestamps counted in `1 / PER_SECOND` seconds, as whole seconds.
#[inline]
fn epoch_seconds<'v, const PER_SECOND: i64>(
    values: &[i64],
    rows: impl Iterator<Item = usize>,
    mut put: impl FnMut(Cell<'v>),
) {
    rows.for_each(|i| put(Cell::EpochSeconds(values[i].div_euclid(PER_SECOND))));
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

fn scan_parquet_group<H: RowHandler>(
    input: &InputFile,
    metadata: &ArrowReaderMetadata,
    mask: &ProjectionMask,
    group: usize,
    first_row: u64,
    column_names: &[Option<&str>],
    handler: &mut Worker<'_, H>,
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
        )?;
        handler.take_delivered();
    }
    Ok(count)
}

/// A batch's columns, shared by the workers that aggregate its rows ([`SharedRows`]).
struct BatchRows {
    views: Vec<ColumnView>,
    rows: usize,
    /// The row group (or table batch) the rows are from, for their ordering keys.
    group: usize,
    /// The input's row number of the group's first row (0-based).
    first_row: u64,
    /// Rows of the group before this batch.
    before: u64,
}

impl SharedRows for BatchRows {
    fn len(&self) -> usize {
        self.rows
    }

    fn ids_into<'a>(&'a self, rows: std::ops::Range<usize>, out: &mut [Cell<'a>]) {
        let mut out = out.iter_mut();
        self.views[0].for_each_cell(rows, |cell| {
            if let Some(slot) = out.next() {
                *slot = cell;
            }
        });
    }

    fn label_columns(&self) -> Vec<(usize, Vec<&str>)> {
        self.views
            .iter()
            .enumerate()
            .filter_map(|(field, view)| match view {
                ColumnView::Labels { values, .. } => {
                    Some((field, (0..values.len()).map(|i| values.value(i)).collect()))
                }
                _ => None,
            })
            .collect()
    }

    fn rows_into<'a>(
        &'a self,
        rows: &[u32],
        group: &mut [PackedRow<'a>],
        labels: &[Option<Vec<LabelId>>],
    ) {
        for (slot, view) in self.views.iter().enumerate() {
            let mut out = group.iter_mut();
            let put = |cell| {
                if let Some(row) = out.next() {
                    row.cells[slot] = cell;
                }
            };
            let rows = rows.iter().map(|&i| i as usize);
            match labels.get(slot).and_then(Option::as_deref) {
                Some(ids) => view.for_each_label(rows, ids, put),
                None => view.for_each_cell(rows, put),
            }
        }
        for (row, &i) in group.iter_mut().zip(rows) {
            let in_group = self.before + u64::from(i);
            row.order = ((self.group as u64) << 32) | in_group;
            row.place = Place::ParquetRow(self.first_row + in_group + 1);
        }
    }
}

/// Feeds the rows of one batch of group `group` (whose first row is `first_row` of the input,
/// `row_in_group` rows of it already read) to `handler`; returns the rows taken (a bad row is
/// reported, and taken back, by the worker that applies it).
fn scan_rows<H: RowHandler>(
    input: &InputFile,
    batch: &RecordBatch,
    group: usize,
    first_row: u64,
    row_in_group: &mut u64,
    column_names: &[Option<&str>],
    handler: &mut Worker<'_, H>,
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
    let rows = batch.num_rows();
    handler.rows_shared(Arc::new(BatchRows {
        views,
        rows,
        group,
        first_row,
        before: *row_in_group,
    }));
    *row_in_group += rows as u64;
    Ok(rows as u64)
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
            )?;
            progress.advance(batches[b].num_rows() as u64);
            Ok(count)
        },
    );
    progress.finish();
    scanned
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{
        Date32Array, DictionaryArray, Float64Array, Int32Array, Int64Array, StringArray,
        TimestampMillisecondArray, TimestampNanosecondArray, TimestampSecondArray,
    };

    use super::*;
    use crate::scan::MAX_FIELDS;

    /// Columns of every shape the views take, with and without nulls (negative timestamps
    /// too, where a truncating division would be off by one).
    fn columns() -> Vec<ArrayRef> {
        let text = ["a", "bb", "", "ccc", "d", "ee", "f"];
        vec![
            Arc::new(StringArray::from_iter_values(text)),
            Arc::new(StringArray::from(vec![
                Some("a"),
                None,
                Some("c"),
                None,
                Some("e"),
                Some("f"),
                None,
            ])),
            Arc::new(DictionaryArray::<Int32Type>::new(
                Int32Array::from(vec![
                    Some(1),
                    Some(0),
                    None,
                    Some(1),
                    Some(2),
                    Some(0),
                    Some(2),
                ]),
                Arc::new(StringArray::from(vec![Some("x"), Some("y"), None])),
            )),
            Arc::new(DictionaryArray::<Int32Type>::new(
                Int32Array::from(vec![2, 0, 1, 1, 2, 0, 0]),
                Arc::new(StringArray::from_iter_values(["store", "web", "app"])),
            )),
            Arc::new(Int32Array::from(vec![1, -2, 3, 4, 5, 6, 7])),
            Arc::new(Int64Array::from(vec![
                Some(1),
                None,
                Some(3),
                Some(4),
                None,
                Some(6),
                Some(7),
            ])),
            Arc::new(Float64Array::from(vec![
                0.5, -1.25, 3.0, 4.5, 5.0, 6.0, 7.75,
            ])),
            Arc::new(Float64Array::from(vec![
                Some(0.5),
                None,
                Some(3.0),
                None,
                None,
                Some(6.0),
                Some(7.0),
            ])),
            Arc::new(TimestampSecondArray::from(vec![
                -1, 0, 59, 60, 86_399, 86_400, -86_401,
            ])),
            Arc::new(TimestampMillisecondArray::from(vec![
                -1, 0, 999, 1_000, 1_001, -1_000, -1_001,
            ])),
            Arc::new(TimestampNanosecondArray::from(vec![
                Some(-1),
                Some(0),
                None,
                Some(1_000_000_000),
                Some(1_999_999_999),
                Some(-1_000_000_001),
                Some(7),
            ])),
            Arc::new(Date32Array::from(vec![
                Some(-1),
                Some(0),
                None,
                Some(19_000),
                Some(1),
                Some(2),
                Some(3),
            ])),
        ]
    }

    /// Cells made a column at a time, over any run of rows or any rows picked out, are the
    /// cells made one by one.
    #[test]
    fn cells_made_by_the_column_are_the_cells_made_one_by_one() {
        let mut views: Vec<ColumnView> = columns()
            .iter()
            .map(|c| ColumnView::of(c).expect("a readable column"))
            .collect();
        views.push(ColumnView::Absent);
        let picks: [&[usize]; 6] = [
            &[0, 1, 2, 3, 4, 5, 6],
            &[2, 3, 4],
            &[6],
            &[],
            &[5, 0, 3],
            &[1, 1, 6],
        ];
        for rows in picks {
            for (slot, view) in views.iter().enumerate() {
                let mut made = Vec::new();
                view.for_each_cell(rows.iter().copied(), |cell| made.push(cell));
                let one_by_one: Vec<Cell<'_>> = rows.iter().map(|&i| view.cell(i)).collect();
                assert_eq!(made, one_by_one, "rows {rows:?}, column {slot}");
            }
        }
    }

    /// Whole seconds round down, before 1970 too.
    #[test]
    fn timestamps_become_whole_seconds_rounded_down() {
        let millis: ArrayRef =
            Arc::new(TimestampMillisecondArray::from(vec![-1_001, -1, 0, 1_999]));
        let view = ColumnView::of(&millis).expect("a timestamp column");
        let mut seconds = Vec::new();
        view.for_each_cell(0..4, |cell| seconds.push(cell));
        assert_eq!(seconds, [-2, -1, 0, 1].map(Cell::EpochSeconds).to_vec());
    }

    /// Dictionaries with keys of any integer type read as their values (the view keeps them as
    /// 32-bit keys).
    #[test]
    fn dictionary_keys_of_any_width_read_as_their_values() {
        use arrow_array::types::{Int64Type, UInt8Type};
        let values = Arc::new(StringArray::from(vec!["app", "web"]));
        let narrow: ArrayRef = Arc::new(DictionaryArray::<UInt8Type>::new(
            vec![1u8, 0, 1].into(),
            values.clone(),
        ));
        let wide: ArrayRef = Arc::new(DictionaryArray::<Int64Type>::new(
            Int64Array::from(vec![Some(1), None, Some(0)]),
            values,
        ));
        let reads_as = |array: &ArrayRef, expected: &[Cell<'_>]| {
            let view = ColumnView::of(array).expect("a dictionary");
            let mut cells = Vec::new();
            view.for_each_cell(0..3, |cell| cells.push(cell));
            assert_eq!(cells, expected);
        };
        reads_as(
            &narrow,
            &[Cell::Str("web"), Cell::Str("app"), Cell::Str("web")],
        );
        reads_as(&wide, &[Cell::Str("web"), Cell::Null, Cell::Str("app")]);
    }

    /// A shared batch gives each row picked out its cells, ordering key and place: the key
    /// counts rows within the group, the place counts rows of the input from 1.
    #[test]
    fn a_shared_batch_makes_the_rows_picked_out() {
        let views: Vec<ColumnView> = columns()
            .iter()
            .map(|c| ColumnView::of(c).expect("a readable column"))
            .collect();
        let batch = BatchRows {
            views,
            rows: 7,
            group: 3,
            first_row: 1_000,
            before: 20,
        };
        let picked = [6u32, 0, 4];
        let mut group = [PackedRow {
            order: 0,
            place: Place::ParquetRow(0),
            cells: [Cell::Text(b"unset"); MAX_FIELDS],
        }; 3];
        batch.rows_into(&picked, &mut group, &vec![None; MAX_FIELDS]);
        for (row, &i) in group.iter().zip(&picked) {
            assert_eq!(row.order, (3 << 32) | (20 + u64::from(i)));
            assert!(
                matches!(row.place, Place::ParquetRow(r) if r == 1_000 + 20 + u64::from(i) + 1)
            );
            for (slot, view) in batch.views.iter().enumerate() {
                assert_eq!(row.cells[slot], view.cell(i as usize));
            }
            assert_eq!(row.cells[batch.views.len()], Cell::Text(b"unset"));
        }
        let mut ids = [Cell::Null; 3];
        batch.ids_into(4..7, &mut ids);
        assert_eq!(ids, [Cell::Str("d"), Cell::Str("ee"), Cell::Str("f")]);
        assert_eq!(batch.len(), 7);

        // The dictionary columns, with label ids given for their values: each row's text with
        // its value's id, nulls (a null key, a null value) still null; other columns as before.
        let dictionaries = batch.label_columns();
        assert_eq!(
            dictionaries,
            vec![(2, vec!["x", "y", ""]), (3, vec!["store", "web", "app"])]
        );
        let mut labels = vec![None; MAX_FIELDS];
        labels[2] = Some(vec![10, 11, 12]);
        labels[3] = Some(vec![20, 21, 22]);
        let every_row: Vec<u32> = (0..7).collect();
        let mut group = [PackedRow {
            order: 0,
            place: Place::ParquetRow(0),
            cells: [Cell::Text(b"unset"); MAX_FIELDS],
        }; 7];
        batch.rows_into(&every_row, &mut group, &labels);
        let column =
            |slot: usize| -> Vec<Cell<'_>> { group.iter().map(|r| r.cells[slot]).collect() };
        assert_eq!(
            column(2),
            [
                Cell::Label("y", 11),
                Cell::Label("x", 10),
                Cell::Null,
                Cell::Label("y", 11),
                Cell::Null,
                Cell::Label("x", 10),
                Cell::Null,
            ]
        );
        assert_eq!(
            column(3),
            [2, 0, 1, 1, 2, 0, 0]
                .map(|key| Cell::Label(["store", "web", "app"][key], 20 + key as u32))
        );
        for slot in [0, 1, 4, 5, 6] {
            let one_by_one: Vec<Cell<'_>> = (0..7).map(|i| batch.views[slot].cell(i)).collect();
            assert_eq!(column(slot), one_by_one, "column {slot}");
        }
    }
}
