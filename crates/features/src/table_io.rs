//! Feature tables on disk: CSV (empty cell = missing) or Parquet (null = missing), always
//! written atomically, with the schema beside them.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_buffer::NullBuffer;
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use lookalike_core::{
    CoreError, CustomerId, FeatureKind, FeatureSchema, FeatureTable, write_atomically,
};
use ndarray::Array2;
use parquet::arrow::ArrowSchemaConverter;
use parquet::arrow::arrow_writer::{ArrowColumnChunk, ArrowRowGroupWriterFactory, compute_leaves};
use parquet::basic::Compression;
use parquet::errors::ParquetError;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use rayon::prelude::*;

use crate::FeatureError;
use crate::extract::FeatureRows;
use crate::input::{FileFormat, csv_record_line_in_file};
use crate::table_check::TableCheck;

const ROWS_PER_PIECE: usize = 64 * 1024;
/// Rows per Parquet row group of a written table. A row group's encoded pages stay in memory
/// until it is closed: at 2^20 rows the whole output of a 1M-customer run (83 MB) was held,
/// in fresh pages, until the end. At 2^17 (DuckDB writes 122,880) one group's pages are
/// written out and their memory serves the next group: 4-5% less CPU time for `features`
/// (BENCHMARKS.md, issue #20), and readers still get row groups of megabytes per column.
const ROWS_PER_GROUP: usize = 1 << 17;

/// Writes a number the way people and pandas read it back: whole numbers without a decimal
/// point, others in the shortest form that round-trips, missing (NaN) as an empty cell.
///
/// ```
/// let mut cell = Vec::new();
/// lookalike_features::format_number(3.0, &mut cell);
/// lookalike_features::format_number(0.25, &mut cell);
/// lookalike_features::format_number(f64::NAN, &mut cell);
/// assert_eq!(cell, b"30.25");
/// ```
pub fn format_number(value: f64, out: &mut Vec<u8>) {
    if value.is_nan() {
        return;
    }
    if value.fract() == 0.0 && value.abs() < 1e15 {
        out.extend_from_slice(itoa::Buffer::new().format(value as i64).as_bytes());
    } else {
        out.extend_from_slice(ryu::Buffer::new().format(value).as_bytes());
    }
}

/// A CSV feature table's reader and header, checked to start with `customer_id`.
pub(crate) fn open_csv_table(
    path: &Path,
) -> Result<(csv::Reader<File>, Vec<String>), FeatureError> {
    let fail = |message: String| FeatureError::FeatureTable {
        path: path.to_path_buf(),
        message,
    };
    let mut reader = csv::ReaderBuilder::new()
        .from_path(path)
        .map_err(|e| fail(e.to_string()))?;
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| fail(e.to_string()))?
        .iter()
        .map(str::to_string)
        .collect();
    if header.first().map(String::as_str) != Some("customer_id") {
        return Err(fail(format!(
            "the first column must be customer_id, found {:?}",
            header.first()
        )));
    }
    Ok((reader, header))
}

/// The line of data row `row` (0-based, below the header) of the CSV feature table at `path`:
/// `row + 2` unless empty lines or `\r\n` line ends come before it. The file is read again,
/// as [`open_csv_table`] reads it, up to that row, so only when a message needs the line;
/// `row + 2` if it cannot be read.
pub(crate) fn csv_table_line(path: &Path, row: usize) -> u64 {
    let fallback = row as u64 + 2;
    let Ok((mut reader, _)) = open_csv_table(path) else {
        return fallback;
    };
    let mut record = csv::ByteRecord::new();
    for _ in 0..=row {
        if !matches!(reader.read_byte_record(&mut record), Ok(true)) {
            return fallback;
        }
    }
    csv_record_line_in_file(record.position(), path)
}

/// The schema's provenance entry holding the size in bytes of the table it describes.
pub(crate) const TABLE_BYTES: &str = "table_bytes";

/// Writes `table` to `path` (format by extension unless `format` is given) and its schema to
/// `<path>.schema.json`, both atomically.
///
/// ```
/// use lookalike_core::{CustomerId, FeatureSchema, FeatureTable};
/// let table = FeatureTable::new(
///     vec![CustomerId::from("a")],
///     vec!["orders".into()],
///     ndarray::array![[2.0]],
/// ).unwrap();
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("features.csv");
/// lookalike_features::write_feature_table(&table, &FeatureSchema::new(vec![]), &path, None).unwrap();
/// assert_eq!(std::fs::read_to_string(&path).unwrap(), "customer_id,orders\na,2\n");
/// ```
pub fn write_feature_table(
    table: &FeatureTable,
    schema: &FeatureSchema,
    path: &Path,
    format: Option<FileFormat>,
) -> Result<(), FeatureError> {
    match FileFormat::of(path, format)? {
        FileFormat::Csv => write_csv(table, path)?,
        FileFormat::Parquet => write_parquet(table, schema, path)?,
    }
    write_schema_beside(schema, path)
}

/// Writes the features of `rows` to `path` (CSV or Parquet, as [`write_feature_table`] writes
/// a whole table) with the schema beside them, filling a row group of customers at a time:
/// memory holds one chunk of values, not the table. Counts and indicators are written as
/// integers by their kind alone — extraction makes them whole — since the types are fixed
/// before the first chunk exists.
pub fn write_feature_rows(
    rows: &FeatureRows<'_>,
    path: &Path,
    format: Option<FileFormat>,
) -> Result<(), FeatureError> {
    write_rows_in_slices(rows, path, format, ROWS_PER_GROUP, ROWS_PER_PIECE)
}

/// [`write_feature_rows`], filling `slice_rows` customers at a time, in Parquet row groups of
/// `group_rows`.
fn write_rows_in_slices(
    rows: &FeatureRows<'_>,
    path: &Path,
    format: Option<FileFormat>,
    group_rows: usize,
    slice_rows: usize,
) -> Result<(), FeatureError> {
    let schema = &rows.schema;
    match FileFormat::of(path, format)? {
        FileFormat::Csv => {
            let header: Vec<&str> = std::iter::once("customer_id")
                .chain(rows.columns().iter().map(String::as_str))
                .collect();
            write_csv_groups(
                path,
                &header,
                (rows.len(), slice_rows),
                |range| Ok(rows.table(range)),
                |chunk, writer, cell, i| {
                    writer.write_field(chunk.ids()[i].as_str())?;
                    for value in chunk.values().row(i) {
                        cell.clear();
                        format_number(*value, cell);
                        writer.write_field(&*cell)?;
                    }
                    Ok(())
                },
            )?;
        }
        FileFormat::Parquet => {
            let integer = whole_kinds(rows.columns(), schema);
            write_parquet_groups(
                path,
                parquet_schema(rows.columns(), &integer),
                feature_properties(schema),
                (rows.len(), group_rows, slice_rows),
                |range| Ok((range.clone(), rows.column_tiles(range))),
                |(range, tiles), j| {
                    let ids = &rows.ids()[range.clone()];
                    if j == 0 {
                        return Ok(Arc::new(StringArray::from_iter_values(
                            ids.iter().map(|i| i.as_str()),
                        )));
                    }
                    if integer[j - 1]
                        && let Some((i, value)) =
                            tiles.column(j - 1).enumerate().find(|(_, v)| !is_whole(*v))
                    {
                        return Err(std::io::Error::other(format!(
                            "column {} is a count but customer {} has {value}",
                            rows.columns()[j - 1],
                            ids[i].as_str()
                        )));
                    }
                    Ok(arrow_column(|| tiles.column(j - 1), integer[j - 1]))
                },
            )?;
        }
    }
    write_schema_beside(schema, path)
}

/// The schema beside a table just written to `path` (unless `path` is a stream or device),
/// with the table's size, so that a reader can tell a schema left beside another table.
fn write_schema_beside(schema: &FeatureSchema, path: &Path) -> Result<(), FeatureError> {
    if !lookalike_core::is_special_output(path) {
        // The sidecar records the size of the table it describes, so that a reader can tell a
        // schema left beside another table (see `table_check`).
        let mut schema = schema.clone();
        if let Some(bytes) = lookalike_core::written_size(path) {
            schema
                .provenance
                .insert(TABLE_BYTES.into(), serde_json::Value::from(bytes));
        }
        schema.write(&FeatureSchema::path_beside(path))?;
    }
    Ok(())
}

fn write_csv(table: &FeatureTable, path: &Path) -> Result<(), FeatureError> {
    let header: Vec<&str> = std::iter::once("customer_id")
        .chain(table.columns().iter().map(String::as_str))
        .collect();
    let values = table.values();
    write_csv_in_parallel(path, &header, table.len(), |writer, cell, i| {
        writer.write_field(table.ids()[i].as_str())?;
        for value in values.row(i) {
            cell.clear();
            format_number(*value, cell);
            writer.write_field(&*cell)?;
        }
        Ok(())
    })?;
    Ok(())
}

/// Writes a CSV file of `rows` rows under `header`, atomically, formatting pieces of rows on all
/// cores and writing them in order. `write_row(writer, scratch, i)` writes the fields of row i
/// (the record is ended for it); `scratch` is a reusable buffer for formatting.
pub fn write_csv_in_parallel<F>(
    path: &Path,
    header: &[&str],
    rows: usize,
    write_row: F,
) -> Result<(), CoreError>
where
    F: Fn(&mut csv::Writer<Vec<u8>>, &mut Vec<u8>, usize) -> csv::Result<()> + Sync,
{
    write_csv_groups(
        path,
        header,
        (rows, ROWS_PER_PIECE),
        |range| Ok(range.start),
        |start, writer, scratch, i| write_row(writer, scratch, start + i),
    )
}

/// As [`write_csv_in_parallel`], `(rows, piece_rows)`: pieces of `piece_rows` rows formatted
/// in parallel, as many pieces at a time as two per thread. `prepare(rows)` makes what such a
/// group of pieces is written from (e.g. its values, filled just in time), and
/// `write_row(group, writer, scratch, i)` writes the group's row i.
fn write_csv_groups<G, P, F>(
    path: &Path,
    header: &[&str],
    (rows, piece_rows): (usize, usize),
    mut prepare: P,
    write_row: F,
) -> Result<(), CoreError>
where
    G: Sync,
    P: FnMut(std::ops::Range<usize>) -> std::io::Result<G>,
    F: Fn(&G, &mut csv::Writer<Vec<u8>>, &mut Vec<u8>, usize) -> csv::Result<()> + Sync,
{
    write_atomically(path, |w| {
        use std::io::Write;
        let mut head = csv::Writer::from_writer(Vec::new());
        head.write_record(header)?;
        w.write_all(
            &head
                .into_inner()
                .map_err(|e| std::io::Error::other(e.to_string()))?,
        )?;
        let group_rows = piece_rows * 2 * rayon::current_num_threads().max(1);
        for group_start in (0..rows).step_by(group_rows) {
            let group_end = (group_start + group_rows).min(rows);
            let group = prepare(group_start..group_end)?;
            let starts: Vec<usize> = (0..group_end - group_start).step_by(piece_rows).collect();
            for batch in starts.chunks(2 * rayon::current_num_threads().max(1)) {
                let pieces: Vec<std::io::Result<Vec<u8>>> = batch
                    .par_iter()
                    .map(|&start| {
                        let end = (start + piece_rows).min(group_end - group_start);
                        let mut writer =
                            csv::Writer::from_writer(Vec::with_capacity((end - start) * 64));
                        let mut scratch = Vec::with_capacity(32);
                        for i in start..end {
                            write_row(&group, &mut writer, &mut scratch, i)?;
                            writer.write_record(None::<&[u8]>)?;
                        }
                        writer
                            .into_inner()
                            .map_err(|e| std::io::Error::other(e.to_string()))
                    })
                    .collect();
                for piece in pieces {
                    w.write_all(&piece?)?;
                }
            }
        }
        Ok(())
    })
}

/// Per column of `table`: whether it is written as integers — counts and indicators (by the
/// schema's kinds) whose every value is whole, as pandas and polars expect a count; the rest
/// are float64.
pub fn integer_columns(table: &FeatureTable, schema: &FeatureSchema) -> Vec<bool> {
    whole_kinds(table.columns(), schema)
        .into_iter()
        .enumerate()
        .map(|(j, counted)| counted && table.values().column(j).iter().all(|v| is_whole(*v)))
        .collect()
}

/// Per column: whether the schema gives it a kind whose values are whole (counts and
/// indicators).
fn whole_kinds(columns: &[String], schema: &FeatureSchema) -> Vec<bool> {
    columns
        .iter()
        .map(|name| {
            schema.features.iter().any(|f| {
                &f.name == name
                    && matches!(
                        f.kind,
                        FeatureKind::Count | FeatureKind::Binary | FeatureKind::OneHot
                    )
            })
        })
        .collect()
}

/// Missing, or a whole number an int64 holds exactly.
fn is_whole(value: f64) -> bool {
    value.is_nan() || (value.fract() == 0.0 && value.abs() < 9.0e15)
}

fn column_type(integer: bool) -> DataType {
    if integer {
        DataType::Int64
    } else {
        DataType::Float64
    }
}

/// The Arrow schema of a feature table: `customer_id`, then each column, int64 or float64.
fn parquet_schema(columns: &[String], integer: &[bool]) -> SchemaRef {
    let fields: Vec<Field> = std::iter::once(Field::new("customer_id", DataType::Utf8, false))
        .chain(
            columns
                .iter()
                .zip(integer)
                .map(|(c, whole)| Field::new(c, column_type(*whole), true)),
        )
        .collect();
    Arc::new(Schema::new(fields))
}

/// Dictionary bytes a column chunk of a feature file may hold before it falls back to plain
/// values: 2,048 doubles. Counts, day numbers and shares of a few orders take a few hundred
/// distinct values a row group and stay dictionary-encoded (a byte or two a value instead of
/// eight); money and most shares are nearly all distinct, and give up after hashing their
/// first few thousand values instead of the 131,072 of a row group that parquet-rs's 1 MB
/// default lets through. On a 1M-customer log: 72.6 MB instead of 83.5 MB without
/// dictionaries, the write no slower (less for Snappy to compress).
const DICTIONARY_LIMIT: usize = 16 * 1024;

/// How a feature table's Parquet file is written, with its schema in the file's metadata.
fn feature_properties(schema: &FeatureSchema) -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_dictionary_page_size_limit(DICTIONARY_LIMIT)
        .set_key_value_metadata(Some(vec![KeyValue::new(
            "lookalike.feature_schema".to_string(),
            serde_json::to_string(schema).unwrap_or_default(),
        )]))
        .build()
}

/// The ids of `table` for `rows` as Arrow.
fn id_column(table: &FeatureTable, rows: std::ops::Range<usize>) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(
        table.ids()[rows].iter().map(|i| i.as_str()),
    ))
}

/// Column `j` of `table` for `rows` as Arrow (missing values as nulls), integers when asked.
fn value_column(
    table: &FeatureTable,
    j: usize,
    rows: std::ops::Range<usize>,
    integer: bool,
) -> ArrayRef {
    let column = table.values().column(j);
    arrow_column(|| rows.clone().map(|i| column[i]), integer)
}

/// A column of values as Arrow (missing values as nulls), integers when asked; `values` gives
/// the column's values each time it is called. Built from whole buffers, the validity only when
/// something is missing.
fn arrow_column<I: Iterator<Item = f64>>(values: impl Fn() -> I, integer: bool) -> ArrayRef {
    let nulls = values()
        .any(|v| v.is_nan())
        .then(|| NullBuffer::from_iter(values().map(|v| !v.is_nan())));
    if integer {
        let whole = values().map(|v| if v.is_nan() { 0 } else { v as i64 });
        Arc::new(Int64Array::from_iter_values_with_nulls(whole, nulls))
    } else {
        Arc::new(Float64Array::from_iter_values_with_nulls(values(), nulls))
    }
}

/// A feature table as one Arrow batch, typed as `write_feature_table` writes Parquet: counts
/// and indicators as int64, the rest as float64 (what `lookalike.features` returns).
pub fn typed_batch(table: &FeatureTable, schema: &FeatureSchema) -> RecordBatch {
    let integer = integer_columns(table, schema);
    let columns: Vec<ArrayRef> = std::iter::once(id_column(table, 0..table.len()))
        .chain((0..integer.len()).map(|j| value_column(table, j, 0..table.len(), integer[j])))
        .collect();
    RecordBatch::try_new(parquet_schema(table.columns(), &integer), columns)
        .expect("the columns match the schema")
}

fn write_parquet(
    table: &FeatureTable,
    schema: &FeatureSchema,
    path: &Path,
) -> Result<(), FeatureError> {
    let integer = integer_columns(table, schema);
    write_parquet_in_parallel(
        path,
        parquet_schema(table.columns(), &integer),
        feature_properties(schema),
        table.len(),
        |rows, j| {
            Ok(if j == 0 {
                id_column(table, rows)
            } else {
                value_column(table, j - 1, rows, integer[j - 1])
            })
        },
    )
}

/// `properties` with the run's provenance (tool version, command, inputs) in the file's
/// key-value metadata, when a front end recorded it (`lookalike_core::record_run`).
pub fn with_run_metadata(properties: WriterProperties) -> WriterProperties {
    let run = lookalike_core::run_metadata();
    if run.is_empty() {
        return properties;
    }
    let mut metadata = properties.key_value_metadata().cloned().unwrap_or_default();
    metadata.extend(
        run.into_iter()
            .map(|(key, value)| parquet::file::metadata::KeyValue::new(key, value)),
    );
    properties
        .into_builder()
        .set_key_value_metadata(Some(metadata))
        .build()
}

/// Writes `rows` rows to a Parquet file, atomically, in row groups of up to 2^17 rows, building
/// and encoding the columns of each row group on all cores (parquet-rs's documented way to
/// parallelise a row group: one `ArrowColumnWriter` per column, chunks appended in order).
/// `column(rows, j)` returns column j of `schema` for that range of rows.
pub fn write_parquet_in_parallel<F>(
    path: &Path,
    schema: SchemaRef,
    properties: WriterProperties,
    rows: usize,
    column: F,
) -> Result<(), FeatureError>
where
    F: Fn(std::ops::Range<usize>, usize) -> std::io::Result<ArrayRef> + Sync,
{
    write_parquet_groups(
        path,
        schema,
        properties,
        (rows, ROWS_PER_GROUP, ROWS_PER_PIECE),
        Ok,
        |rows: &std::ops::Range<usize>, j| column(rows.clone(), j),
    )
}

/// As [`write_parquet_in_parallel`], `(rows, group_rows, slice_rows)`: row groups of
/// `group_rows`, each written a slice of `slice_rows` at a time, so that memory holds one
/// slice of Arrow arrays beside the encoded pages. `prepare(rows)` makes what a slice is
/// written from (e.g. its values, filled just in time), and `column(slice, j)` returns column
/// j of the slice.
fn write_parquet_groups<G, P, F>(
    path: &Path,
    schema: SchemaRef,
    properties: WriterProperties,
    (rows, group_rows, slice_rows): (usize, usize, usize),
    mut prepare: P,
    column: F,
) -> Result<(), FeatureError>
where
    G: Sync,
    P: FnMut(std::ops::Range<usize>) -> std::io::Result<G>,
    F: Fn(&G, usize) -> std::io::Result<ArrayRef> + Sync,
{
    // The Arrow schema goes into the file's metadata, as ArrowWriter puts it, so that readers
    // get the written types back (dictionaries as categories, not plain strings).
    let mut properties = with_run_metadata(properties);
    parquet::arrow::add_encoded_arrow_schema_to_metadata(&schema, &mut properties);
    let properties = Arc::new(properties);
    let parquet_schema = ArrowSchemaConverter::new()
        .with_coerce_types(properties.coerce_types())
        .convert(&schema)
        .map_err(|e| FeatureError::InvalidOptions(e.to_string()))?;
    write_atomically(path, |w| {
        let io = std::io::Error::other;
        let mut writer =
            SerializedFileWriter::new(w, parquet_schema.root_schema_ptr(), properties.clone())
                .map_err(io)?;
        let factory = ArrowRowGroupWriterFactory::new(&writer, schema.clone());
        for (index, start) in (0..rows).step_by(group_rows).enumerate() {
            let end = (start + group_rows).min(rows);
            let mut writers = factory.create_column_writers(index).map_err(io)?;
            for slice_start in (start..end).step_by(slice_rows) {
                let slice = prepare(slice_start..(slice_start + slice_rows).min(end))?;
                writers
                    .par_iter_mut()
                    .enumerate()
                    .try_for_each(|(j, column_writer)| {
                        let array =
                            column(&slice, j).map_err(|e| ParquetError::External(Box::new(e)))?;
                        for leaf in compute_leaves(schema.field(j), &array)? {
                            column_writer.write(&leaf)?;
                        }
                        Ok::<_, ParquetError>(())
                    })
                    .map_err(io)?;
            }
            let chunks: Vec<Result<ArrowColumnChunk, ParquetError>> = writers
                .into_par_iter()
                .map(|column_writer| column_writer.close())
                .collect();
            let mut row_group = writer.next_row_group().map_err(io)?;
            for chunk in chunks {
                chunk
                    .map_err(io)?
                    .append_to_row_group(&mut row_group)
                    .map_err(io)?;
            }
            row_group.close().map_err(io)?;
        }
        writer.close().map_err(io)?;
        Ok(())
    })?;
    Ok(())
}

/// Reads a feature table written by [`write_feature_table`] (or by any tool that writes a
/// `customer_id` column and numeric feature columns; empty cells and nulls become `NaN`).
///
/// ```
/// # use lookalike_core::{CustomerId, FeatureSchema, FeatureTable};
/// # let table = FeatureTable::new(vec![CustomerId::from("a")], vec!["orders".into()], ndarray::array![[2.0]]).unwrap();
/// # let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("features.parquet");
/// lookalike_features::write_feature_table(&table, &FeatureSchema::new(vec![]), &path, None).unwrap();
/// let back = lookalike_features::read_feature_table(&path, None).unwrap();
/// assert_eq!(back, table);
/// ```
pub fn read_feature_table(
    path: &Path,
    format: Option<FileFormat>,
) -> Result<FeatureTable, FeatureError> {
    let fail = |message: String| FeatureError::FeatureTable {
        path: path.to_path_buf(),
        message,
    };
    if lookalike_core::is_dataset(path) {
        return read_feature_parts(path, format);
    }
    // A schema left beside another table is refused before the table is read.
    let schema = crate::table_check::read_schema_beside(path)?;
    let (ids, columns, values) = match FileFormat::of(path, format)? {
        FileFormat::Csv => {
            let (mut reader, header) = open_csv_table(path)?;
            let mut ids = Vec::new();
            let mut values = Vec::new();
            for record in reader.records() {
                let record = record.map_err(|e| fail(csv_error(&e, &header, path)))?;
                ids.push(CustomerId::from(&record[0]));
                for (j, cell) in record.iter().enumerate().skip(1) {
                    values.push(parse_feature_cell(cell).map_err(|expected| {
                        fail(format!(
                            "line {}, column {:?}: {cell:?} is not {expected}",
                            csv_record_line_in_file(record.position(), path),
                            header[j]
                        ))
                    })?);
                }
            }
            (ids, header[1..].to_vec(), values)
        }
        FileFormat::Parquet => {
            let table = read_parquet_table(path)?;
            TableCheck::with_schema(path, schema.as_ref(), table.columns(), false)
                .check(&table, 0)?;
            return Ok(table);
        }
    };
    let rows = ids.len();
    let matrix =
        Array2::from_shape_vec((rows, columns.len()), values).map_err(|e| fail(e.to_string()))?;
    let table = FeatureTable::new(ids.clone(), columns, matrix)
        .map_err(|e| fail(table_error(e, &ids, 0, Some(path))))?;
    TableCheck::with_schema(path, schema.as_ref(), table.columns(), true).check(&table, 0)?;
    Ok(table)
}

/// A CSV reading error in words: text that is not UTF-8 is named by line and column.
pub(crate) fn csv_error(error: &csv::Error, header: &[String], path: &Path) -> String {
    match error.kind() {
        csv::ErrorKind::Utf8 { pos, err } => format!(
            "line {}, column {:?}: the text is not valid UTF-8 (save the file as UTF-8)",
            csv_record_line_in_file(pos.as_ref(), path),
            header.get(err.field()).map_or("?", String::as_str)
        ),
        _ => error.to_string(),
    }
}

/// A table that cannot be built, in words: a duplicate id names both of its lines (CSV, the
/// file at `csv_path`) or rows (Parquet); `first_row` is the 0-based file row of `ids[0]`.
pub(crate) fn table_error(
    error: CoreError,
    ids: &[CustomerId],
    first_row: usize,
    csv_path: Option<&Path>,
) -> String {
    let CoreError::DuplicateId(id) = &error else {
        return error.to_string();
    };
    let place = |i: usize| match csv_path {
        Some(path) => format!("line {}", csv_table_line(path, first_row + i)),
        None => format!("row {}", first_row + i + 1),
    };
    let rows: Vec<String> = ids
        .iter()
        .enumerate()
        .filter(|(_, other)| other.as_str() == id)
        .take(2)
        .map(|(i, _)| place(i))
        .collect();
    format!(
        "customer id {id:?} is on {} and again on {}: a feature table has one row per customer",
        rows.first().map_or("?", String::as_str),
        rows.get(1).map_or("?", String::as_str)
    )
}

/// A feature cell of a CSV table: empty is missing (NaN); otherwise a finite number. `NaN` or
/// `inf` written out is refused, so that a missing value is always an empty cell. On error,
/// says what was expected.
pub(crate) fn parse_feature_cell(cell: &str) -> Result<f64, &'static str> {
    if cell.is_empty() {
        return Ok(f64::NAN);
    }
    match cell.parse::<f64>() {
        Ok(value) if value.is_finite() => Ok(value),
        Ok(_) => Err("a finite number (leave the cell empty for a missing value)"),
        Err(_) => Err("a number"),
    }
}

use arrow_array::Array as _;
use arrow_array::RecordBatchReader as _;

/// A feature table in part files (a folder, a glob): each file read and checked as a table,
/// the rows appended in file order; the same columns in every file, a customer in one row.
fn read_feature_parts(
    path: &Path,
    format: Option<FileFormat>,
) -> Result<FeatureTable, FeatureError> {
    let files = lookalike_core::table_files(path)?;
    let mut ids = Vec::new();
    let mut columns: Option<Vec<String>> = None;
    let mut blocks = Vec::new();
    for file in &files {
        let part = read_feature_table(file, format)?;
        match &columns {
            None => columns = Some(part.columns().to_vec()),
            Some(first) if first.as_slice() != part.columns() => {
                return Err(FeatureError::FeatureTable {
                    path: file.clone(),
                    message: format!(
                        "its columns differ from {}'s: every file of {} needs the same columns",
                        files[0].display(),
                        path.display()
                    ),
                });
            }
            Some(_) => {}
        }
        let (part_ids, _, values) = part.into_parts();
        ids.extend(part_ids);
        blocks.push(values);
    }
    let views: Vec<_> = blocks.iter().map(|b| b.view()).collect();
    let values =
        ndarray::concatenate(ndarray::Axis(0), &views).map_err(|e| FeatureError::FeatureTable {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    FeatureTable::new(ids, columns.unwrap_or_default(), values).map_err(|e| {
        FeatureError::FeatureTable {
            path: path.to_path_buf(),
            message: e.to_string(),
        }
    })
}

/// Reads a Parquet table of numbers that is not a feature table — a model's seed index, whose
/// rows are in scaled units, so that a feature's name says nothing of its range — as it is:
/// none of a feature table's value checks; the caller checks what it needs.
pub fn read_scaled_table(path: &Path) -> Result<FeatureTable, FeatureError> {
    read_parquet_table(path)
}

/// Reads a Parquet feature table column by column into a column-major matrix, so that each
/// feature is one contiguous slice (what scoring and segmenting read) and no value is cast one
/// at a time.
fn read_parquet_table(path: &Path) -> Result<FeatureTable, FeatureError> {
    let fail = |message: String| FeatureError::FeatureTable {
        path: path.to_path_buf(),
        message,
    };
    let file = File::open(path).map_err(|e| fail(e.to_string()))?;
    let builder = crate::parquet_file::checked_builder(file).map_err(fail)?;
    let rows = builder.metadata().file_metadata().num_rows().max(0) as usize;
    let mut reader = builder
        .with_batch_size(256 * 1024)
        .build()
        .map_err(|e| fail(e.to_string()))?;
    let header: Vec<String> = reader
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let id_at = header
        .iter()
        .position(|h| h == "customer_id")
        .ok_or_else(|| {
            fail(format!(
                "no customer_id column; columns: {}",
                header.join(", ")
            ))
        })?;
    let feature_columns: Vec<usize> = (0..header.len()).filter(|j| *j != id_at).collect();
    let mut ids: Vec<CustomerId> = Vec::with_capacity(rows);
    // Column j of the table is flat[j·rows .. (j+1)·rows]: batches are written in place.
    let mut flat = vec![f64::NAN; feature_columns.len() * rows];
    while let Some(batch) = crate::parquet_file::next_batch(&mut reader) {
        let batch = batch.map_err(fail)?;
        let id_column = arrow_cast::cast(batch.column(id_at), &DataType::Utf8)
            .map_err(|e| fail(e.to_string()))?;
        let id_strings = id_column.as_string::<i32>();
        if id_strings.null_count() > 0 {
            return Err(fail("customer_id has empty (null) values".into()));
        }
        let start = ids.len();
        if start + batch.num_rows() > rows {
            return Err(fail("the file has more rows than its metadata says".into()));
        }
        let batch_ids: Vec<CustomerId> = (0..batch.num_rows())
            .into_par_iter()
            .map(|i| CustomerId::from(id_strings.value(i)))
            .collect();
        ids.extend(batch_ids);
        let converted: Vec<Result<ArrayRef, FeatureError>> = feature_columns
            .par_iter()
            .map(|&j| {
                arrow_cast::cast(batch.column(j), &DataType::Float64)
                    .map_err(|e| fail(format!("column {:?}: {e}", header[j])))
            })
            .collect();
        for (k, array) in converted.into_iter().enumerate() {
            let array = array?;
            let values = array.as_primitive::<Float64Type>();
            let target = &mut flat[k * rows + start..k * rows + start + values.len()];
            if values.null_count() == 0 {
                target.copy_from_slice(values.values());
            } else {
                for (slot, value) in target.iter_mut().zip(values.iter()) {
                    *slot = value.unwrap_or(f64::NAN);
                }
            }
        }
    }
    let names: Vec<String> = feature_columns.iter().map(|j| header[*j].clone()).collect();
    if ids.len() != rows {
        return Err(fail(format!(
            "the metadata says {rows} rows but {} were read",
            ids.len()
        )));
    }
    let matrix = Array2::from_shape_vec((names.len(), rows), flat)
        .map_err(|e| fail(e.to_string()))?
        .reversed_axes();
    FeatureTable::new(ids.clone(), names, matrix).map_err(|e| fail(table_error(e, &ids, 0, None)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FeatureInputs, FeatureParams, InputFile, extract, extract_with};
    use lookalike_core::{ColumnMapping, InputKind, NoProgress};

    fn sample_inputs() -> FeatureInputs {
        let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/sample");
        let file = |kind, name: &str| InputFile::new(kind, sample.join(name), None, None).unwrap();
        FeatureInputs {
            transactions: file(InputKind::Transactions, "transactions.csv"),
            events: Some(file(InputKind::Events, "events.csv")),
            customers: Some(file(InputKind::Customers, "customers.csv")),
            mapping: ColumnMapping::default(),
        }
    }

    /// Row groups and slices far smaller than the base: the files hold the whole table, row
    /// groups of the size asked, and the types a whole-table write gives.
    #[test]
    fn rows_written_in_small_groups_read_back_as_the_whole_table() {
        let dir = tempfile::tempdir().unwrap();
        let params = FeatureParams::new();
        let whole = extract(&sample_inputs(), &params, &NoProgress).unwrap();
        let n = whole.table.len();
        let (csv, parquet) = (dir.path().join("f.csv"), dir.path().join("f.parquet"));
        let at_once = dir.path().join("whole.csv");
        write_feature_table(&whole.table, &whole.schema, &at_once, None).unwrap();
        extract_with(&sample_inputs(), &params, &NoProgress, |rows| {
            write_rows_in_slices(&rows, &csv, None, 333, 100)?;
            write_rows_in_slices(&rows, &parquet, None, 333, 100)
        })
        .unwrap();
        assert_eq!(
            std::fs::read(&at_once).unwrap(),
            std::fs::read(&csv).unwrap()
        );
        let back = read_feature_table(&parquet, None).unwrap();
        assert_eq!(back.ids(), whole.table.ids());
        assert_eq!(back.columns(), whole.table.columns());
        let same = |a: &f64, b: &f64| a.to_bits() == b.to_bits();
        assert!(
            back.values()
                .iter()
                .zip(whole.table.values())
                .all(|(a, b)| same(a, b))
        );
        let file = File::open(&parquet).unwrap();
        let reader =
            parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
        assert_eq!(reader.metadata().num_row_groups(), n.div_ceil(333));
        assert_eq!(
            reader.schema().fields(),
            typed_batch(&whole.table, &whole.schema).schema().fields()
        );
        assert!(
            reader
                .schema()
                .fields()
                .iter()
                .any(|f| f.data_type() == &DataType::Int64)
        );
    }

    /// Columns of few distinct values are dictionary-encoded; a column of distinct doubles
    /// falls back to plain values within its row group; both read back as written.
    #[test]
    fn few_distinct_values_are_dictionary_encoded_and_distinct_ones_fall_back() {
        use lookalike_core::{CustomerId, FeatureKind, FeatureSpec};
        use parquet::basic::Encoding;
        let n = 20_000;
        let ids = (0..n)
            .map(|i| CustomerId::from(format!("c{i}").as_str()))
            .collect();
        let values = Array2::from_shape_fn((n, 2), |(i, j)| {
            if j == 0 {
                (i % 7) as f64
            } else {
                i as f64 * 1.37 + 0.001
            }
        });
        let table = FeatureTable::new(ids, vec!["orders".into(), "spend".into()], values).unwrap();
        let spec = |name: &str, kind| FeatureSpec {
            name: name.into(),
            kind,
            unit: None,
            description: String::new(),
        };
        let schema = FeatureSchema::new(vec![
            spec("orders", FeatureKind::Count),
            spec("spend", FeatureKind::Real),
        ]);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.parquet");
        write_feature_table(&table, &schema, &path, None).unwrap();
        assert_eq!(read_feature_table(&path, None).unwrap(), table);
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
            File::open(&path).unwrap(),
        )
        .unwrap();
        // The encodings of each column's data pages (the metadata keeps them as a mask).
        let data_pages = |column: usize| -> Vec<Encoding> {
            let chunk = reader.metadata().row_group(0).column(column);
            let mask = chunk.page_encoding_stats_mask().expect("page encodings");
            mask.encodings().collect()
        };
        assert_eq!(data_pages(1), [Encoding::RLE_DICTIONARY], "orders");
        assert!(
            data_pages(2).contains(&Encoding::PLAIN),
            "spend: {:?}",
            data_pages(2)
        );
        assert!(
            data_pages(0).contains(&Encoding::PLAIN),
            "ids: {:?}",
            data_pages(0)
        );
    }
}
