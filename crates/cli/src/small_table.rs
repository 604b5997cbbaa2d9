//! Tables a command reads a few columns of, every cell as text: audiences, segment and score
//! files (CSV, or Parquet by extension). Only the named columns are kept, so a wide score file
//! costs what its id and one segment column cost.

use std::path::Path;

use anyhow::Context;

/// The named columns of a table, every cell as text (an empty cell or null as "").
pub struct SmallTable {
    /// One row per data row, one cell per kept column, in the order asked for.
    pub rows: Vec<Vec<String>>,
    /// Whether rows are counted as Parquet rows (1-based) rather than CSV lines.
    pub parquet: bool,
}

impl SmallTable {
    /// Reads the columns `names` of `path`; a missing column is an error naming the file and
    /// the columns it has.
    pub fn read(path: &Path, names: &[&str]) -> anyhow::Result<SmallTable> {
        // A table in part files (a folder, a glob): the files' rows in name order.
        if lookalike_core::is_dataset(path) {
            let mut rows = Vec::new();
            let mut parquet = false;
            for file in lookalike_core::table_files(path)? {
                let part = SmallTable::read(&file, names)?;
                parquet = part.parquet;
                rows.extend(part.rows);
            }
            return Ok(SmallTable { rows, parquet });
        }
        let parquet = crate::output::is_parquet_output(path)?;
        let rows = if parquet {
            read_parquet(path, names)?
        } else {
            read_csv(path, names)?
        };
        Ok(SmallTable { rows, parquet })
    }

    /// The column names of `path` (of its first part file when it is a folder or a glob).
    pub fn header(path: &Path) -> anyhow::Result<Vec<String>> {
        if lookalike_core::is_dataset(path) {
            let files = lookalike_core::table_files(path)?;
            let first = files
                .first()
                .with_context(|| format!("{}: no table files in it", path.display()))?;
            return SmallTable::header(first);
        }
        if crate::output::is_parquet_output(path)? {
            let file =
                std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
            let builder =
                parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
                    .with_context(|| format!("reading {}", path.display()))?;
            return Ok(builder
                .schema()
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect());
        }
        let mut reader =
            csv::Reader::from_path(path).with_context(|| format!("reading {}", path.display()))?;
        Ok(reader
            .headers()
            .with_context(|| format!("reading the header of {}", path.display()))?
            .iter()
            .map(str::to_string)
            .collect())
    }

    /// Where data row `i` (0-based) is in the file, as a person would look for it.
    pub fn place(&self, i: usize) -> String {
        place(self.parquet, i)
    }
}

/// Where data row `i` (0-based) of a Parquet (row n) or CSV (line n, the header on line 1)
/// file is.
pub fn place(parquet: bool, i: usize) -> String {
    if parquet {
        format!("row {}", i + 1)
    } else {
        format!("line {}", i + 2)
    }
}

/// The position of each of `names` in `header`.
fn positions(path: &Path, names: &[&str], header: &[String]) -> anyhow::Result<Vec<usize>> {
    names
        .iter()
        .map(|name| {
            header
                .iter()
                .position(|h| h == name)
                .ok_or_else(|| missing(path, name, header))
        })
        .collect()
}

fn missing(path: &Path, name: &str, header: &[String]) -> anyhow::Error {
    anyhow::anyhow!(
        "{}: no column {name:?} (columns: {})",
        path.display(),
        header.join(", ")
    )
}

fn read_csv(path: &Path, names: &[&str]) -> anyhow::Result<Vec<Vec<String>>> {
    let mut reader =
        csv::Reader::from_path(path).with_context(|| format!("reading {}", path.display()))?;
    let header: Vec<String> = reader
        .headers()
        .with_context(|| format!("reading the header of {}", path.display()))?
        .iter()
        .map(str::to_string)
        .collect();
    let positions = positions(path, names, &header)?;
    let mut rows = Vec::new();
    // Byte records: only the kept cells are checked as UTF-8, not the whole (wide) line.
    let mut record = csv::ByteRecord::new();
    let mut line = 1;
    while reader
        .read_byte_record(&mut record)
        .with_context(|| format!("{}: line {}", path.display(), line + 1))?
    {
        line += 1;
        let row = positions
            .iter()
            .map(|&p| {
                let cell = record.get(p).unwrap_or(b"");
                std::str::from_utf8(cell)
                    .map(str::to_string)
                    .with_context(|| {
                        format!(
                            "{}: line {line}, column {:?}: the cell is not UTF-8 text",
                            path.display(),
                            header[p]
                        )
                    })
            })
            .collect::<anyhow::Result<Vec<String>>>()?;
        rows.push(row);
    }
    Ok(rows)
}

fn read_parquet(path: &Path, names: &[&str]) -> anyhow::Result<Vec<Vec<String>>> {
    use arrow_array::Array;
    use arrow_array::cast::AsArray;
    use parquet::arrow::ProjectionMask;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let file = std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .with_context(|| format!("reading {}", path.display()))?;
    let header: Vec<String> = builder
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let positions = positions(path, names, &header)?;
    let mask = ProjectionMask::roots(builder.parquet_schema(), positions.iter().copied());
    let reader = builder
        .with_projection(mask)
        .build()
        .with_context(|| format!("reading {}", path.display()))?;
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch.with_context(|| format!("reading {}", path.display()))?;
        // The projected batch keeps the file's column order: find each name in it.
        let columns = names
            .iter()
            .map(|name| {
                let column = batch
                    .column_by_name(name)
                    .ok_or_else(|| missing(path, name, &header))?;
                arrow_cast::cast(column, &arrow_schema::DataType::Utf8)
                    .with_context(|| format!("reading {}", path.display()))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        for i in 0..batch.num_rows() {
            rows.push(
                columns
                    .iter()
                    .map(|c| {
                        let c = c.as_string::<i32>();
                        if c.is_null(i) {
                            String::new()
                        } else {
                            c.value(i).to_string()
                        }
                    })
                    .collect(),
            );
        }
    }
    Ok(rows)
}

/// The customer ids of a table seen so far, to refuse one listed twice with both of its rows.
pub struct UniqueIds<'a> {
    first_row: foldhash::HashMap<&'a str, usize>,
    path: &'a Path,
    parquet: bool,
    /// Why an id may appear once, for the message ("an audience lists a customer once").
    rule: &'static str,
}

impl<'a> UniqueIds<'a> {
    /// Room for `rows` ids.
    pub fn new(path: &'a Path, parquet: bool, rule: &'static str, rows: usize) -> Self {
        let mut first_row = foldhash::HashMap::default();
        first_row.reserve(rows);
        UniqueIds {
            first_row,
            path,
            parquet,
            rule,
        }
    }

    /// The data row (0-based) `id` is on, if seen.
    pub fn row(&self, id: &str) -> Option<usize> {
        self.first_row.get(id).copied()
    }

    /// Notes that `id` is on data row `i` (0-based); an error if it was on an earlier one.
    pub fn insert(&mut self, id: &'a str, i: usize) -> anyhow::Result<()> {
        if let Some(first) = self.first_row.insert(id, i) {
            anyhow::bail!(
                "{}: customer id {id:?} is on {} and again on {}: {}",
                self.path.display(),
                place(self.parquet, first),
                place(self.parquet, i),
                self.rule
            );
        }
        Ok(())
    }
}

/// One CSV record of owned cells.
pub fn csv_row<const N: usize>(cells: [&str; N]) -> Vec<String> {
    cells.map(String::from).to_vec()
}

/// Writes `records` (the header first) as CSV to `path`, atomically; the csv crate quotes what
/// needs quoting.
pub fn write_csv(path: &Path, records: &[Vec<String>]) -> anyhow::Result<()> {
    lookalike_core::write_atomically(path, |w| {
        let mut writer = csv::Writer::from_writer(w);
        for record in records {
            writer.write_record(record).map_err(std::io::Error::other)?;
        }
        writer.flush()
    })
    .with_context(|| format!("writing {}", path.display()))
}
