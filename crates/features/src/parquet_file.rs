//! Reading Parquet files that may be damaged. The parquet and arrow crates trust a file's bytes:
//! some damage in the footer (a negative offset, a column chunk past the end of the file) or in
//! the pages makes them panic while decoding. A damaged input is bad input, not a defect of
//! this program, so the footer is checked when the file is opened and decoding runs shielded:
//! a panic inside it becomes an error naming the file, and the panic message is not printed.

use std::cell::Cell;
use std::fs::File;
use std::panic::AssertUnwindSafe;

use arrow_array::RecordBatch;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use parquet::file::metadata::ParquetMetaData;

thread_local! {
    /// Whether this thread is decoding inside [`shielded`] (its panics are expected).
    static SHIELDED: Cell<bool> = const { Cell::new(false) };
}

/// Runs `decode`, turning a panic of the Parquet decoder into an error. The process's panic hook
/// is wrapped once so that it stays silent for shielded panics and prints every other one.
fn shielded<T>(decode: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    static QUIET_HOOK: std::sync::Once = std::sync::Once::new();
    QUIET_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !SHIELDED.with(Cell::get) {
                previous(info);
            }
        }));
    });
    let was = SHIELDED.with(|s| s.replace(true));
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(decode));
    SHIELDED.with(|s| s.set(was));
    outcome.unwrap_or_else(|payload| {
        let reason = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown".into());
        Err(format!(
            "the file is damaged (its data cannot be decoded: {reason})"
        ))
    })
}

/// A reader builder over `file`, whose metadata describes column chunks that lie inside it.
pub(crate) fn checked_builder(file: File) -> Result<ParquetRecordBatchReaderBuilder<File>, String> {
    let length = file.metadata().map_err(|e| e.to_string())?.len();
    let builder =
        shielded(|| ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| e.to_string()))?;
    check_metadata(builder.metadata(), length)?;
    Ok(builder)
}

/// The next batch of `reader`, decoded shielded.
pub(crate) fn next_batch(
    reader: &mut ParquetRecordBatchReader,
) -> Option<Result<RecordBatch, String>> {
    shielded(|| Ok(reader.next().map(|batch| batch.map_err(|e| e.to_string()))))
        .unwrap_or_else(|message| Some(Err(message)))
}

fn check_metadata(metadata: &ParquetMetaData, length: u64) -> Result<(), String> {
    let damaged = |what: String| Err(format!("the file is damaged: {what}"));
    for (g, group) in metadata.row_groups().iter().enumerate() {
        if group.num_rows() < 0 {
            return damaged(format!("row group {g} has {} rows", group.num_rows()));
        }
        for (c, column) in group.columns().iter().enumerate() {
            let start = column
                .dictionary_page_offset()
                .unwrap_or(column.data_page_offset());
            let size = column.compressed_size();
            let inside = start >= 0
                && column.data_page_offset() >= 0
                && size >= 0
                && (start as u64)
                    .checked_add(size as u64)
                    .is_some_and(|end| end <= length);
            if !inside {
                return damaged(format!(
                    "column chunk {c} of row group {g} lies outside the file (bytes {start} + {size} of {length})"
                ));
            }
        }
    }
    Ok(())
}
