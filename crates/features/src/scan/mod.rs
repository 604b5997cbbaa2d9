//! Parallel row scanning of one input file.
//!
//! CSV files are cut into blocks at record boundaries (quote-aware, so quoted newlines never
//! split a record) and parsed by worker threads; Parquet files are split by row group. Each
//! worker has its own [`RowHandler`] and owns the customers whose id hashes to it: rows of other
//! customers go to their owner's handler (`routing`). The caller merges the handlers. Every row carries an
//! ordering key (block or row group, then row within it), so results that depend on row order
//! are the same whatever the thread count, and the first bad row reported is the first in the
//! file.

mod csv_blocks;
mod parquet_groups;
mod plain_csv;
mod routing;

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use lookalike_core::Progress;

use crate::cell::Cell;
use crate::dictionary::LabelId;
use crate::input::{FieldRequest, FileFormat, InputFile};
use crate::{FeatureError, OnBadRow};

pub(crate) use self::parquet_groups::{ColumnView, parquet_column_names};

/// Most fields any input kind reads per row: the transaction log's eight and up to eight line
/// attributes.
pub(crate) const MAX_FIELDS: usize = 16;
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
    /// Applies one row. `found` is the slot [`RowHandler::warm`] found for the row's customer,
    /// if it was warmed and the customer had one (`None` is always correct, only slower).
    fn row(&mut self, order: u64, cells: &[Cell<'_>], found: Option<u32>)
    -> Result<(), RowProblem>;

    /// Reads, without changing anything, what [`RowHandler::row`] will read first for a
    /// group of rows whose customer id cells (field 0) are `ids`: the customers' index entries
    /// and states. The scan calls it before the group's `row` calls: in a log in time order
    /// each row's customer is a cache miss, and the misses of short loops overlap where those
    /// of whole rows cannot.
    ///
    /// Sets `found[k]` to the slot of the customer in `ids[k]` when it has one already, for
    /// [`RowHandler::row`].
    fn warm(&self, _ids: &[Cell<'_>], found: &mut [Option<u32>]) {
        found.fill(None);
    }

    /// Told once, before any row: this handler takes only the rows of customers that
    /// [`owner_of`](crate::customer_slots::owner_of) gives to `owner` of `owners`.
    fn route(&mut self, _owner: usize, _owners: usize) {}

    /// The label ids of `values`, the distinct values of a dictionary column read for field
    /// `field`, when this handler reads that field as labels: the scan then hands the field's
    /// cells over as [`Cell::Label`] with their value's id, and the handler need not look the
    /// text up row by row. `None` (the default): the cells stay text.
    fn label_ids(&mut self, _field: usize, _values: &[&str]) -> Option<Vec<LabelId>> {
        None
    }
}

/// How to scan.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ScanOptions {
    pub on_bad_row: OnBadRow,
    pub threads: usize,
    /// Leave out rows without a customer id (field 0) and count them apart from bad rows.
    pub skip_guests: bool,
}

/// The handlers after the scan, and what was skipped.
pub(crate) struct Scanned<H> {
    pub handlers: Vec<H>,
    pub rows: u64,
    pub skipped: u64,
    pub skip_examples: Vec<FeatureError>,
    /// Rows without a customer id left out (`ScanOptions::skip_guests`), counted in `rows` too.
    pub guest_lines: u64,
}

/// Where a problem is, precisely enough to name the line or row later.
#[derive(Debug, Clone, Copy)]
pub(super) enum Place {
    /// CSV: the block's byte offset and the 1-based line within the block.
    CsvLine {
        block_offset: u64,
        line_in_block: u64,
    },
    /// Parquet: the 1-based data row.
    ParquetRow(u64),
}

pub(super) struct Pending {
    order: u64,
    place: Place,
    problem: RowProblem,
}

/// Problems found by all workers.
pub(super) struct Problems {
    fail_fast: bool,
    /// Blocks after this one need not be read (fail mode): an earlier block had an error.
    pub(super) stop_after_block: AtomicU64,
    found: Mutex<Vec<Pending>>,
    skipped: AtomicU64,
    skip_guests: bool,
    guests: AtomicU64,
}

impl Problems {
    fn new(options: ScanOptions) -> Self {
        Problems {
            fail_fast: options.on_bad_row == OnBadRow::Fail,
            stop_after_block: AtomicU64::new(u64::MAX),
            found: Mutex::new(Vec::new()),
            skipped: AtomicU64::new(0),
            skip_guests: options.skip_guests,
            guests: AtomicU64::new(0),
        }
    }

    /// Whether a row is a guest line to leave out (no customer id in field 0, and guests are
    /// skipped); counts it. The row goes to no handler: every input kind skips them alike.
    pub(super) fn skips_guest(&self, cells: &[Cell<'_>]) -> bool {
        let guest = self.skip_guests && crate::customer_slots::is_guest(cells[0]);
        if guest {
            self.guests.fetch_add(1, Ordering::Relaxed);
        }
        guest
    }

    pub(super) fn wanted(&self, block: u64) -> bool {
        block <= self.stop_after_block.load(Ordering::Relaxed)
    }

    /// Records a problem; returns whether the worker should stop reading its block.
    pub(super) fn report(&self, order: u64, place: Place, problem: RowProblem) -> bool {
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
    if input.parts.is_empty() {
        scan_file(input, fields, options, progress, make_handler)
    } else {
        scan_parts(input, fields, options, progress, make_handler)
    }
}

/// [`scan`] of one file (or in-memory table).
fn scan_file<H, M>(
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
    let problems = Problems::new(options);
    let (handlers, rows) = match (&input.table, input.format) {
        (Some(batches), _) => parquet_groups::scan_batches(
            input,
            batches,
            fields,
            options,
            progress,
            &make_handler,
            &problems,
        )?,
        (None, FileFormat::Csv) => {
            csv_blocks::scan_csv(input, fields, options, progress, &make_handler, &problems)?
        }
        (None, FileFormat::Parquet) => parquet_groups::scan_parquet(
            input,
            fields,
            options,
            progress,
            &make_handler,
            &problems,
        )?,
    };
    let mut found = problems.found.into_inner().expect("problem list poisoned");
    found.sort_by_key(|p| p.order);
    let mut resolved = Vec::new();
    let limit = if problems.fail_fast { 1 } else { SKIP_EXAMPLES };
    for pending in found.into_iter().take(limit) {
        resolved.push(describe(input, fields, pending)?);
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
        guest_lines: problems.guests.into_inner(),
    })
}

/// A handler of one part file of a table: its rows' ordering keys moved past the earlier
/// files', so that "first seen" orders customers across the whole table.
struct PartHandler<H> {
    inner: H,
    offset: u64,
}

impl<H: RowHandler> RowHandler for PartHandler<H> {
    fn row(
        &mut self,
        order: u64,
        cells: &[Cell<'_>],
        found: Option<u32>,
    ) -> Result<(), RowProblem> {
        self.inner.row(order + self.offset, cells, found)
    }

    fn warm(&self, ids: &[Cell<'_>], found: &mut [Option<u32>]) {
        self.inner.warm(ids, found);
    }

    fn route(&mut self, owner: usize, owners: usize) {
        self.inner.route(owner, owners);
    }
}

/// The bits of an ordering key for the file: keys are (block or row group) << 32 | row, with
/// blocks and row groups under 2^20 per file, so 12 bits above them number up to 4,096 files.
const PART_SHIFT: u32 = 52;

/// Scans a table split over files, file after file, into handlers of the same kind: one table.
fn scan_parts<H, M>(
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
    if input.parts.len() > 1 << (64 - PART_SHIFT) {
        return Err(FeatureError::InvalidOptions(format!(
            "{}: {} files; a table is read from at most {} (merge the parts first)",
            input.path.display(),
            input.parts.len(),
            1u64 << (64 - PART_SHIFT)
        )));
    }
    let mut all = Scanned {
        handlers: Vec::new(),
        rows: 0,
        skipped: 0,
        skip_examples: Vec::new(),
        guest_lines: 0,
    };
    for (k, part) in input.parts.iter().enumerate() {
        let file = InputFile {
            path: part.clone(),
            parts: Vec::new(),
            ..input.clone()
        };
        let offset = (k as u64) << PART_SHIFT;
        let scanned = scan_file(&file, fields, options, progress, || PartHandler {
            inner: make_handler(),
            offset,
        })?;
        all.handlers
            .extend(scanned.handlers.into_iter().map(|h| h.inner));
        all.rows += scanned.rows;
        all.skipped += scanned.skipped;
        all.guest_lines += scanned.guest_lines;
        let room = SKIP_EXAMPLES.saturating_sub(all.skip_examples.len());
        all.skip_examples
            .extend(scanned.skip_examples.into_iter().take(room));
    }
    Ok(all)
}

fn describe(
    input: &InputFile,
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
pub(super) fn count_newlines_before(path: &Path, offset: u64) -> std::io::Result<u64> {
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

pub(super) fn io_error(input: &InputFile) -> impl Fn(std::io::Error) -> FeatureError + '_ {
    move |source| FeatureError::Io {
        kind: input.kind,
        path: input.path.clone(),
        source,
    }
}

/// The handlers and the rows they took.
type ScanResult<H> = Result<(Vec<H>, u64), FeatureError>;
