//! A feature table read a chunk of customers at a time, so that scoring a base of any size holds
//! one chunk in memory, not the table.

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow_array::Array as _;
use arrow_array::RecordBatch;
use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_schema::DataType;
use lookalike_core::{CustomerId, FeatureTable};
use ndarray::Array2;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReader;
use rayon::prelude::*;

use crate::FeatureError;
use crate::input::{FileFormat, csv_record_line_in_file};
use crate::table_check::TableCheck;
use crate::table_io::{csv_error, open_csv_table, parse_feature_cell, table_error};

enum Reader {
    Csv {
        reader: csv::Reader<File>,
        /// Position in the file of each kept column (after customer_id).
        positions: Vec<usize>,
    },
    Parquet(ParquetRecordBatchReader),
}

/// Chunks of a feature table (CSV or Parquet), each a [`FeatureTable`] of at most `rows`
/// customers with the kept columns in file order.
///
/// ```
/// use lookalike_core::{CustomerId, FeatureSchema, FeatureTable};
/// let table = FeatureTable::new(
///     (0..5).map(|i| CustomerId::from(format!("c{i}"))).collect(),
///     vec!["orders".into(), "spend".into()],
///     ndarray::Array2::from_shape_fn((5, 2), |(i, j)| (i * 10 + j) as f64),
/// ).unwrap();
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("f.parquet");
/// lookalike_features::write_feature_table(&table, &FeatureSchema::new(vec![]), &path, None).unwrap();
/// let keep = |c: &str| c == "spend";
/// let mut chunks = lookalike_features::FeatureChunks::open(&path, keep, 2).unwrap();
/// assert_eq!(chunks.columns(), ["spend"]);
/// let sizes: Vec<usize> = chunks.by_ref().map(|c| c.unwrap().len()).collect();
/// assert_eq!(sizes, vec![2, 2, 1]);
/// ```
pub struct FeatureChunks {
    path: PathBuf,
    reader: Reader,
    columns: Vec<String>,
    all_columns: Vec<String>,
    rows: usize,
    total: Option<u64>,
    read: u64,
    /// What the kept columns' values must satisfy (the BTYD columns are checked per customer
    /// by the scorer, which can skip an unscorable history).
    checks: TableCheck,
    /// The files still to read of a table in part files (a folder, a glob).
    rest: std::collections::VecDeque<PathBuf>,
}

impl FeatureChunks {
    /// Opens `path` (format by extension) keeping the columns for which `keep` is true, `rows`
    /// customers per chunk.
    pub fn open(
        path: &Path,
        keep: impl Fn(&str) -> bool,
        rows: usize,
    ) -> Result<FeatureChunks, FeatureError> {
        if lookalike_core::is_dataset(path) {
            // A table in part files: the first file now, the others when it is read; the
            // total is the Parquet files' rows when every file is Parquet.
            let mut files: std::collections::VecDeque<PathBuf> =
                lookalike_core::table_files(path)?.into();
            let first = files
                .pop_front()
                .expect("table_files gives at least one file");
            let mut chunks = FeatureChunks::open_file(&first, keep, rows)?;
            let mut total = chunks.total;
            for file in &files {
                total = match (total, FileFormat::of(file, None)?) {
                    (Some(sum), FileFormat::Parquet) => {
                        let handle = File::open(file).map_err(|e| FeatureError::FeatureTable {
                            path: file.clone(),
                            message: e.to_string(),
                        })?;
                        let builder =
                            crate::parquet_file::checked_builder(handle).map_err(|message| {
                                FeatureError::FeatureTable {
                                    path: file.clone(),
                                    message,
                                }
                            })?;
                        Some(sum + builder.metadata().file_metadata().num_rows().max(0) as u64)
                    }
                    _ => None,
                };
            }
            chunks.total = total;
            chunks.rest = files;
            return Ok(chunks);
        }
        FeatureChunks::open_file(path, keep, rows)
    }

    /// [`FeatureChunks::open`] of one file.
    fn open_file(
        path: &Path,
        keep: impl Fn(&str) -> bool,
        rows: usize,
    ) -> Result<FeatureChunks, FeatureError> {
        let fail = |message: String| FeatureError::FeatureTable {
            path: path.to_path_buf(),
            message,
        };
        let rows = rows.max(1);
        match FileFormat::of(path, None)? {
            FileFormat::Csv => {
                let (reader, header) = open_csv_table(path)?;
                let positions: Vec<usize> =
                    (1..header.len()).filter(|j| keep(&header[*j])).collect();
                let columns: Vec<String> = positions.iter().map(|j| header[*j].clone()).collect();
                Ok(FeatureChunks {
                    path: path.to_path_buf(),
                    checks: TableCheck::leaving_btyd_to_caller(path, &columns, true)?,
                    columns,
                    all_columns: header[1..].to_vec(),
                    reader: Reader::Csv { reader, positions },
                    rows,
                    total: None,
                    read: 0,
                    rest: Default::default(),
                })
            }
            FileFormat::Parquet => {
                let file = File::open(path).map_err(|e| fail(e.to_string()))?;
                let builder = crate::parquet_file::checked_builder(file).map_err(fail)?;
                let total = builder.metadata().file_metadata().num_rows().max(0) as u64;
                let names: Vec<String> = builder
                    .schema()
                    .fields()
                    .iter()
                    .map(|f| f.name().clone())
                    .collect();
                if !names.iter().any(|n| n == "customer_id") {
                    return Err(fail(format!(
                        "no customer_id column; columns: {}",
                        names.join(", ")
                    )));
                }
                let kept: Vec<usize> = (0..names.len())
                    .filter(|j| names[*j] == "customer_id" || keep(&names[*j]))
                    .collect();
                let mask = ProjectionMask::roots(builder.parquet_schema(), kept.iter().copied());
                let reader = builder
                    .with_projection(mask)
                    .with_batch_size(rows)
                    .build()
                    .map_err(|e| fail(e.to_string()))?;
                let columns: Vec<String> = kept
                    .iter()
                    .filter(|j| names[**j] != "customer_id")
                    .map(|j| names[*j].clone())
                    .collect();
                Ok(FeatureChunks {
                    path: path.to_path_buf(),
                    checks: TableCheck::leaving_btyd_to_caller(path, &columns, false)?,
                    columns,
                    all_columns: names.into_iter().filter(|n| n != "customer_id").collect(),
                    reader: Reader::Parquet(reader),
                    rows,
                    total: Some(total),
                    read: 0,
                    rest: Default::default(),
                })
            }
        }
    }

    /// The kept columns, in the order of each chunk's columns.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// Every feature column of the file (kept or not).
    pub fn all_columns(&self) -> &[String] {
        &self.all_columns
    }

    /// Customers in the file, when its metadata says (Parquet).
    pub fn total_rows(&self) -> Option<u64> {
        self.total
    }

    /// Customers read so far (the first customer of the next chunk is this + 1, 1-based).
    pub fn rows_read(&self) -> u64 {
        self.read
    }

    fn fail(&self, message: String) -> FeatureError {
        FeatureError::FeatureTable {
            path: self.path.clone(),
            message,
        }
    }

    fn next_csv(&mut self) -> Result<Option<FeatureTable>, FeatureError> {
        let Reader::Csv { reader, positions } = &mut self.reader else {
            unreachable!("called for CSV only")
        };
        let read: Result<Vec<csv::StringRecord>, csv::Error> =
            reader.records().take(self.rows).collect();
        let positions = positions.clone();
        let header: Vec<String> = std::iter::once("customer_id".to_string())
            .chain(self.all_columns.iter().cloned())
            .collect();
        let records = read.map_err(|e| self.fail(csv_error(&e, &header, &self.path)))?;
        if records.is_empty() {
            return Ok(None);
        }
        let width = positions.len();
        let (columns, path) = (&self.columns, &self.path);
        let parsed: Vec<Result<Vec<f64>, String>> = records
            .par_iter()
            .map(|record| {
                positions
                    .iter()
                    .enumerate()
                    .map(|(k, j)| {
                        let cell = record.get(*j).unwrap_or("");
                        parse_feature_cell(cell).map_err(|expected| {
                            format!(
                                "line {}, column {:?}: {cell:?} is not {expected}",
                                csv_record_line_in_file(record.position(), path),
                                columns[k]
                            )
                        })
                    })
                    .collect()
            })
            .collect();
        let mut values = Vec::with_capacity(records.len() * width);
        for row in parsed {
            values.extend(row.map_err(|m| self.fail(m))?);
        }
        let ids: Vec<CustomerId> = records.iter().map(|r| CustomerId::from(&r[0])).collect();
        let matrix = Array2::from_shape_vec((records.len(), width), values)
            .map_err(|e| self.fail(e.to_string()))?;
        let first_row = self.read as usize;
        self.read += records.len() as u64;
        let table = FeatureTable::new(ids.clone(), self.columns.clone(), matrix)
            .map_err(|e| self.fail(table_error(e, &ids, first_row, Some(&self.path))))?;
        self.checks.check(&table, first_row)?;
        Ok(Some(table))
    }

    fn next_parquet(&mut self) -> Result<Option<FeatureTable>, FeatureError> {
        let Reader::Parquet(reader) = &mut self.reader else {
            unreachable!("called for Parquet only")
        };
        let Some(batch) = crate::parquet_file::next_batch(reader) else {
            return Ok(None);
        };
        let batch = batch.map_err(|e| self.fail(e))?;
        let columns: Vec<&str> = self.columns.iter().map(String::as_str).collect();
        let table = table_from_batch(&batch, &columns).map_err(|e| self.fail(e.to_string()))?;
        self.checks.check(&table, self.read as usize)?;
        self.read += table.len() as u64;
        Ok(Some(table))
    }
}

/// The rows of an Arrow batch as a feature table: `customer_id` (any type Arrow casts to text,
/// no nulls) and the named `columns` cast to numbers, nulls as missing (NaN). The matrix is
/// column-major, like a table read from Parquet, so each feature is one contiguous slice.
///
/// ```
/// use std::sync::Arc;
/// use arrow_array::{Float64Array, RecordBatch, StringArray};
/// let batch = RecordBatch::try_from_iter([
///     ("customer_id", Arc::new(StringArray::from(vec!["a", "b"])) as _),
///     ("orders", Arc::new(Float64Array::from(vec![Some(3.0), None])) as _),
/// ]).unwrap();
/// let table = lookalike_features::table_from_batch(&batch, &["orders"]).unwrap();
/// assert_eq!(table.values()[[0, 0]], 3.0);
/// assert!(table.values()[[1, 0]].is_nan());
/// ```
pub fn table_from_batch(
    batch: &RecordBatch,
    columns: &[&str],
) -> Result<FeatureTable, FeatureError> {
    batch_table(batch, columns).map_err(FeatureError::Batch)
}

/// Rows `rows` of a feature table as an Arrow batch: `customer_id` (Utf8) and every column as
/// Float64, missing values as nulls — the inverse of [`table_from_batch`].
///
/// ```
/// use lookalike_core::{CustomerId, FeatureTable};
/// let table = FeatureTable::new(
///     vec![CustomerId::from("a"), CustomerId::from("b")],
///     vec!["orders".into()],
///     ndarray::array![[3.0], [f64::NAN]],
/// ).unwrap();
/// let batch = lookalike_features::batch_from_table(&table, 0..2);
/// assert_eq!(batch.num_columns(), 2);
/// assert_eq!(batch.column(1).null_count(), 1);
/// let back = lookalike_features::table_from_batch(&batch, &["orders"]).unwrap();
/// assert_eq!(back.ids(), table.ids());
/// ```
pub fn batch_from_table(table: &FeatureTable, rows: std::ops::Range<usize>) -> RecordBatch {
    let mut fields = vec![arrow_schema::Field::new(
        "customer_id",
        DataType::Utf8,
        false,
    )];
    let mut columns: Vec<arrow_array::ArrayRef> = vec![std::sync::Arc::new(
        arrow_array::StringArray::from_iter_values(
            table.ids()[rows.clone()].iter().map(|id| id.as_str()),
        ),
    )];
    let values = table.values();
    for (j, name) in table.columns().iter().enumerate() {
        fields.push(arrow_schema::Field::new(name, DataType::Float64, true));
        let column: arrow_array::Float64Array = rows
            .clone()
            .map(|i| Some(values[[i, j]]).filter(|v| !v.is_nan()))
            .collect();
        columns.push(std::sync::Arc::new(column));
    }
    let schema = std::sync::Arc::new(arrow_schema::Schema::new(fields));
    RecordBatch::try_new(schema, columns).expect("the columns match the schema")
}

fn batch_table(batch: &RecordBatch, columns: &[&str]) -> Result<FeatureTable, String> {
    let schema = batch.schema();
    let id_at = schema.index_of("customer_id").map_err(|e| e.to_string())?;
    let ids_array =
        arrow_cast::cast(batch.column(id_at), &DataType::Utf8).map_err(|e| e.to_string())?;
    let id_strings = ids_array.as_string::<i32>();
    if id_strings.null_count() > 0 {
        return Err("customer_id has empty (null) values".into());
    }
    let n = batch.num_rows();
    let ids: Vec<CustomerId> = (0..n)
        .into_par_iter()
        .map(|i| CustomerId::from(id_strings.value(i)))
        .collect();
    let mut flat = vec![f64::NAN; n * columns.len()];
    flat.par_chunks_mut(n.max(1))
        .zip(columns.par_iter())
        .try_for_each(|(target, name)| -> Result<(), String> {
            let index = schema.index_of(name).map_err(|e| e.to_string())?;
            let array = arrow_cast::cast(batch.column(index), &DataType::Float64)
                .map_err(|e| format!("column {name:?}: {e}"))?;
            let values = array.as_primitive::<Float64Type>();
            if values.null_count() == 0 {
                target.copy_from_slice(values.values());
            } else {
                for (slot, value) in target.iter_mut().zip(values.iter()) {
                    *slot = value.unwrap_or(f64::NAN);
                }
            }
            Ok(())
        })?;
    let matrix = Array2::from_shape_vec((columns.len(), n), flat)
        .map_err(|e| e.to_string())?
        .reversed_axes();
    FeatureTable::new(ids, columns.iter().map(|c| c.to_string()).collect(), matrix)
        .map_err(|e| e.to_string())
}

impl Iterator for FeatureChunks {
    type Item = Result<FeatureTable, FeatureError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let next = match self.reader {
                Reader::Csv { .. } => self.next_csv(),
                Reader::Parquet(_) => self.next_parquet(),
            };
            match next.transpose() {
                None => {
                    // The next file of a table in part files, with the same columns kept.
                    let file = self.rest.pop_front()?;
                    let kept = self.columns.clone();
                    let opened =
                        FeatureChunks::open_file(&file, |c| kept.iter().any(|k| k == c), self.rows);
                    match opened {
                        Ok(next) if next.all_columns != self.all_columns => {
                            return Some(Err(FeatureError::FeatureTable {
                                path: file,
                                message: format!(
                                    "its columns differ from {}'s: every file of a table needs the same columns",
                                    self.path.display()
                                ),
                            }));
                        }
                        Ok(next) => {
                            let (total, rest) = (self.total, std::mem::take(&mut self.rest));
                            *self = FeatureChunks {
                                total,
                                rest,
                                ..next
                            };
                        }
                        Err(e) => return Some(Err(e)),
                    }
                }
                some => return some,
            }
        }
    }
}
