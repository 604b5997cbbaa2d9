//! Small tables a command reads whole, every cell as text: audiences, segment files (CSV, or
//! Parquet by extension).

use std::path::{Path, PathBuf};

use anyhow::Context;

/// A table read whole, every cell as text.
pub struct SmallTable {
    pub path: PathBuf,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl SmallTable {
    /// Reads `path` (CSV, or Parquet by its extension).
    pub fn read(path: &Path) -> anyhow::Result<SmallTable> {
        let (header, rows) = read_strings(path)?;
        Ok(SmallTable {
            path: path.to_path_buf(),
            header,
            rows,
        })
    }

    /// The position of a column, or an error naming the file and its columns.
    pub fn column(&self, name: &str) -> anyhow::Result<usize> {
        self.header.iter().position(|h| h == name).with_context(|| {
            format!(
                "{}: no column {name:?} (columns: {})",
                self.path.display(),
                self.header.join(", ")
            )
        })
    }
}

/// A CSV cell: quoted when it holds a delimiter, a quote or a line break.
pub fn csv_text(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// Every cell of a small table (CSV, or Parquet by extension) as text, with its header.
fn read_strings(path: &Path) -> anyhow::Result<(Vec<String>, Vec<Vec<String>>)> {
    if crate::output::is_parquet_output(path)? {
        return read_parquet_strings(path);
    }
    let mut reader =
        csv::Reader::from_path(path).with_context(|| format!("reading {}", path.display()))?;
    let header = reader
        .headers()
        .with_context(|| format!("reading the header of {}", path.display()))?
        .iter()
        .map(str::to_string)
        .collect();
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.with_context(|| format!("{}: line {}", path.display(), i + 2))?;
        rows.push(record.iter().map(str::to_string).collect());
    }
    Ok((header, rows))
}

/// Every column of a Parquet file as text.
fn read_parquet_strings(path: &Path) -> anyhow::Result<(Vec<String>, Vec<Vec<String>>)> {
    use arrow_array::Array;
    use arrow_array::RecordBatchReader;
    use arrow_array::cast::AsArray;
    let file = std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.build())
        .with_context(|| format!("reading {}", path.display()))?;
    let header: Vec<String> = reader
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch.with_context(|| format!("reading {}", path.display()))?;
        let columns = batch
            .columns()
            .iter()
            .map(|c| arrow_cast::cast(c, &arrow_schema::DataType::Utf8))
            .collect::<Result<Vec<_>, _>>()
            .with_context(|| format!("reading {}", path.display()))?;
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
    Ok((header, rows))
}
