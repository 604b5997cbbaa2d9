//! Reading Parquet files that may be damaged. The parquet and arrow crates trust a file's bytes:
//! some damage in the footer (a negative offset, a column chunk past the end of the file) or in
//! the pages makes them panic while decoding. A damaged input is bad input, not a defect of
//! this program, so the footer is checked when the file is opened and decoding runs shielded:
//! a panic inside it becomes an error naming the file, and the panic message is not printed.

use std::cell::Cell;
use std::fs::File;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{DataType, Schema};
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReader,
    ParquetRecordBatchReaderBuilder,
};
use parquet::basic::Encoding;
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
    let metadata = checked_metadata(&file)?;
    Ok(ParquetRecordBatchReaderBuilder::new_with_metadata(
        file, metadata,
    ))
}

/// The metadata of `file` (footer and Arrow schema), checked as [`checked_builder`] checks it:
/// read once, it serves a reader per row group.
pub(crate) fn checked_metadata(file: &File) -> Result<ArrowReaderMetadata, String> {
    let length = file.metadata().map_err(|e| e.to_string())?.len();
    let metadata = shielded(|| {
        ArrowReaderMetadata::load(file, ArrowReaderOptions::new()).map_err(|e| e.to_string())
    })?;
    check_metadata(metadata.metadata(), length)?;
    Ok(metadata)
}

/// `metadata`, reading as Arrow dictionaries the text columns among `columns` (top-level
/// fields) whose data pages in row group `group` are all dictionary-encoded, as writers store
/// categories and channels: the reader then hands over each page dictionary's few values and a
/// key per row instead of copying every row's text. Other columns, and files whose metadata
/// does not record the pages' encodings, are read as before.
pub(crate) fn with_dictionaries(
    metadata: &ArrowReaderMetadata,
    group: usize,
    columns: &[usize],
) -> ArrowReaderMetadata {
    let schema = metadata.schema();
    let file = metadata.metadata();
    let leaves = file.file_metadata().schema_descr().columns();
    let mut fields: Vec<_> = schema.fields().iter().cloned().collect();
    let mut changed = false;
    for &c in columns {
        let Some(field) = schema.fields().get(c) else {
            continue;
        };
        if !matches!(
            field.data_type(),
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
        ) {
            continue;
        }
        let Some(leaf) = leaves
            .iter()
            .position(|l| l.path().parts() == [field.name().as_str()])
        else {
            continue;
        };
        let chunk = file.row_group(group).column(leaf);
        let all_dictionary = chunk.dictionary_page_offset().is_some()
            && chunk.page_encoding_stats_mask().is_some_and(|mask| {
                mask.is_only(Encoding::PLAIN_DICTIONARY) || mask.is_only(Encoding::RLE_DICTIONARY)
            });
        if all_dictionary {
            let labels = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
            fields[c] = Arc::new(field.as_ref().clone().with_data_type(labels));
            changed = true;
        }
    }
    if !changed {
        return metadata.clone();
    }
    let schema = Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()));
    // A schema the reader turns down (a type it cannot convert) leaves the file read as it is.
    ArrowReaderMetadata::try_new(file.clone(), ArrowReaderOptions::new().with_schema(schema))
        .unwrap_or_else(|_| metadata.clone())
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
