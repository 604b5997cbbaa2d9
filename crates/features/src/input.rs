//! What an input file is: its path, kind and format, and how its columns are found.

use std::path::{Path, PathBuf};

use lookalike_core::{ColumnMapping, InputKind};

use crate::FeatureError;

/// File formats the readers understand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum FileFormat {
    /// Delimited text with a header row.
    Csv,
    /// Apache Parquet.
    Parquet,
}

impl FileFormat {
    /// The format told by the file's extension (`.csv`, `.tsv`, `.txt`, `.parquet`, `.pq`),
    /// or by `forced` when given.
    pub fn of(path: &Path, forced: Option<FileFormat>) -> Result<FileFormat, FeatureError> {
        if let Some(format) = forced {
            return Ok(format);
        }
        // A stream or device without an extension (`-`, `/dev/stdout`) gets CSV.
        if path.extension().is_none() && lookalike_core::is_special_output(path) {
            return Ok(FileFormat::Csv);
        }
        let extension = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        match extension.as_str() {
            "csv" | "tsv" | "txt" | "psv" => Ok(FileFormat::Csv),
            "parquet" | "pq" => Ok(FileFormat::Parquet),
            _ => Err(FeatureError::UnknownFormat {
                path: path.to_path_buf(),
            }),
        }
    }
}

/// One input file and how to read it.
#[derive(Debug, Clone)]
pub struct InputFile {
    /// Which kind of input this is.
    pub kind: InputKind,
    /// Where it is.
    pub path: PathBuf,
    /// Its format.
    pub format: FileFormat,
    /// CSV delimiter; detected from the header when `None`.
    pub delimiter: Option<u8>,
    /// An in-memory Arrow table read instead of a file (then `path` is only its name in
    /// messages, and rows are numbered across the batches from 1).
    pub table: Option<std::sync::Arc<[arrow_array::RecordBatch]>>,
    /// The files of a table split over several (a folder of part files, a glob), in name
    /// order; empty for one file. Rows are numbered within each file, as its messages say.
    pub parts: Vec<PathBuf>,
}

impl InputFile {
    /// Describes `path` as an input of `kind`, telling the format from the extension unless
    /// `forced`.
    pub fn new(
        kind: InputKind,
        path: impl Into<PathBuf>,
        forced: Option<FileFormat>,
        delimiter: Option<u8>,
    ) -> Result<Self, FeatureError> {
        let path = path.into();
        // A folder of part files or a glob: the files, in name order.
        let files = if lookalike_core::is_dataset(&path) {
            lookalike_core::table_files(&path)?
        } else {
            Vec::new()
        };
        let format = FileFormat::of(files.first().unwrap_or(&path), forced)?;
        let (path, parts) = match files.len() {
            1 => (files[0].clone(), Vec::new()),
            _ => (path, files),
        };
        Ok(InputFile {
            kind,
            path,
            format,
            delimiter,
            table: None,
            parts,
        })
    }
}

impl InputFile {
    /// An in-memory Arrow table as an input of `kind`, called `name` in messages (the batches
    /// are read in place, as a Parquet file's row groups are).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use arrow_array::{Float64Array, RecordBatch, StringArray};
    /// use lookalike_core::InputKind;
    /// let batch = RecordBatch::try_from_iter([
    ///     ("customer_id", Arc::new(StringArray::from(vec!["a", "a"])) as _),
    ///     ("timestamp", Arc::new(StringArray::from(vec!["2025-01-02", "2025-02-03"])) as _),
    ///     ("amount", Arc::new(Float64Array::from(vec![10.0, 5.5])) as _),
    /// ]).unwrap();
    /// let input = lookalike_features::InputFile::from_batches(InputKind::Transactions, "orders", vec![batch]);
    /// let inputs = lookalike_features::FeatureInputs {
    ///     transactions: input, events: None, customers: None,
    ///     mapping: lookalike_core::ColumnMapping::parse::<&str>(&[]).unwrap(),
    /// };
    /// let params = lookalike_features::FeatureParams::new();
    /// let table = lookalike_features::extract(&inputs, &params, &lookalike_core::NoProgress).unwrap().table;
    /// assert_eq!(table.column("orders").unwrap()[0], 2.0);
    /// ```
    pub fn from_batches(
        kind: InputKind,
        name: impl Into<PathBuf>,
        batches: Vec<arrow_array::RecordBatch>,
    ) -> Self {
        InputFile {
            kind,
            path: name.into(),
            format: FileFormat::Parquet,
            delimiter: None,
            table: Some(batches.into()),
            parts: Vec::new(),
        }
    }

    /// The column names: a file's header, or an in-memory table's schema.
    pub(crate) fn column_names(&self) -> Result<Vec<String>, FeatureError> {
        // A table in several files: the first file's columns (each file is checked as read).
        if let Some(first) = self.parts.first() {
            let file = InputFile {
                path: first.clone(),
                parts: Vec::new(),
                ..self.clone()
            };
            return file.column_names();
        }
        if let Some(batches) = &self.table {
            return Ok(batches
                .first()
                .map(|b| {
                    b.schema()
                        .fields()
                        .iter()
                        .map(|f| f.name().clone())
                        .collect()
                })
                .unwrap_or_default());
        }
        match self.format {
            FileFormat::Parquet => crate::scan::parquet_column_names(self),
            FileFormat::Csv => Ok(csv_head(self)?.1),
        }
    }
}

/// A field to read: its canonical name, the source column and whether it must exist.
#[derive(Debug, Clone)]
pub(crate) struct FieldRequest {
    pub field: &'static str,
    pub column: String,
    pub required: bool,
}

impl FieldRequest {
    /// The requests for `kind`'s first `required` fields (required) and the rest (optional,
    /// unless explicitly mapped).
    pub fn for_kind(kind: InputKind, mapping: &ColumnMapping, required: usize) -> Vec<Self> {
        kind.fields()
            .iter()
            .enumerate()
            .map(|(i, field)| FieldRequest {
                field,
                column: mapping.source(kind, field).to_string(),
                required: i < required || mapping.is_explicit(kind, field),
            })
            .collect()
    }
}

/// Finds each requested column in a header, failing on duplicates and missing required ones.
pub(crate) fn resolve_columns(
    input: &InputFile,
    header: &[String],
    fields: &[FieldRequest],
) -> Result<Vec<Option<usize>>, FeatureError> {
    for (i, name) in header.iter().enumerate() {
        if header[..i].contains(name) {
            return Err(FeatureError::DuplicateHeader {
                kind: input.kind,
                path: input.path.clone(),
                column: name.clone(),
            });
        }
    }
    fields
        .iter()
        .map(|request| {
            let found = header.iter().position(|h| *h == request.column);
            if found.is_none() && request.required {
                return Err(FeatureError::MissingColumn {
                    kind: input.kind,
                    path: input.path.clone(),
                    field: request.field.to_string(),
                    column: request.column.clone(),
                    found: header
                        .iter()
                        .map(|h| format!("{h:?}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
            Ok(found)
        })
        .collect()
}

/// The delimiter (given, or detected from the header line) and the header of a CSV input.
/// A file with nothing but blanks is an [`FeatureError::EmptyFile`].
pub(crate) fn csv_head(input: &InputFile) -> Result<(u8, Vec<String>), FeatureError> {
    use std::io::Read;
    let io = |source| FeatureError::Io {
        kind: input.kind,
        path: input.path.clone(),
        source,
    };
    let mut head = Vec::new();
    std::fs::File::open(&input.path)
        .map_err(io)?
        .take(64 * 1024)
        .read_to_end(&mut head)
        .map_err(io)?;
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&head);
    if head.iter().all(u8::is_ascii_whitespace) {
        return Err(FeatureError::EmptyFile {
            kind: input.kind,
            path: input.path.clone(),
        });
    }
    let line = head.split(|b| *b == b'\n').next().unwrap_or_default();
    let delimiter = input.delimiter.unwrap_or_else(|| detect_delimiter(line));
    let (header, _) = parse_header(input, head, delimiter)?;
    Ok((delimiter, header))
}

/// Parses the header record at the start of `bytes` (BOM already removed): the trimmed column
/// names and the byte length of the header. Shared by every CSV reader so that they agree on
/// what a header is.
pub(crate) fn parse_header(
    input: &InputFile,
    bytes: &[u8],
    delimiter: u8,
) -> Result<(Vec<String>, usize), FeatureError> {
    let bad = |reason: String| FeatureError::BadRow {
        kind: input.kind,
        path: input.path.clone(),
        row: "line 1".into(),
        reason,
    };
    let mut reader = log_reader(delimiter).from_reader(bytes);
    let mut record = csv::ByteRecord::new();
    reader
        .read_byte_record(&mut record)
        .map_err(|e| bad(format!("the header cannot be read: {e}")))?;
    let header = record
        .iter()
        .map(|cell| {
            std::str::from_utf8(cell)
                .map(|name| name.trim().to_string())
                .map_err(|_| bad("the header is not valid UTF-8".into()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((header, reader.position().byte() as usize))
}

/// Picks the delimiter that occurs most often in the header line among `,` `;` tab and `|`
/// (a one-column file gets `,`).
pub(crate) fn detect_delimiter(header_line: &[u8]) -> u8 {
    let mut best = (0usize, b',');
    for candidate in [b',', b';', b'\t', b'|'] {
        let count = memchr::memchr_iter(candidate, header_line).count();
        if count > best.0 {
            best = (count, candidate);
        }
    }
    best.1
}

/// How a log's CSV records are read, the header among them: every record as data, of any width
/// (a row of the wrong width is the row's problem, not the file's).
pub(crate) fn log_reader(delimiter: u8) -> csv::ReaderBuilder {
    let mut builder = csv::ReaderBuilder::new();
    builder
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter);
    builder
}

/// The line of `data` a record read by `csv` is on, from the position `csv` gives it. After
/// empty lines that position is where they start (line and byte), not where the record does,
/// and after a `\r\n` line end it is the `\n`, counted on the line before; so the line ends
/// at that byte are counted in.
pub(crate) fn csv_record_line(position: &csv::Position, data: &[u8]) -> u64 {
    line_past_line_ends(
        position.line(),
        data.get(position.byte() as usize..).unwrap_or_default(),
    )
}

/// [`csv_record_line`] for a record of the file at `path` read as a stream: the bytes after
/// the position are read from the file again, so only when a message needs the line (0 when
/// `csv` gave no position).
pub(crate) fn csv_record_line_in_file(position: Option<&csv::Position>, path: &Path) -> u64 {
    use std::io::{Read, Seek, SeekFrom};
    let Some(position) = position else {
        return 0;
    };
    let mut following = Vec::new();
    if let Ok(mut file) = std::fs::File::open(path)
        && file.seek(SeekFrom::Start(position.byte())).is_ok()
    {
        let mut buffer = [0u8; 4096];
        while let Ok(read @ 1..) = file.read(&mut buffer) {
            following.extend_from_slice(&buffer[..read]);
            if buffer[..read].iter().any(|&b| b != b'\n' && b != b'\r') {
                break;
            }
        }
    }
    line_past_line_ends(position.line(), &following)
}

/// `line` plus the line ends that `rest` starts with.
fn line_past_line_ends(line: u64, rest: &[u8]) -> u64 {
    let empty_lines = rest
        .iter()
        .take_while(|&&b| b == b'\n' || b == b'\r')
        .filter(|&&b| b == b'\n')
        .count();
    line + empty_lines as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiter_detection() {
        assert_eq!(detect_delimiter(b"a,b,c"), b',');
        assert_eq!(detect_delimiter(b"a;b;c"), b';');
        assert_eq!(detect_delimiter(b"a\tb\tc"), b'\t');
        assert_eq!(detect_delimiter(b"a|b"), b'|');
        assert_eq!(detect_delimiter(b"single"), b',');
    }

    #[test]
    fn format_from_extension() {
        assert_eq!(
            FileFormat::of(Path::new("x.CSV"), None).unwrap(),
            FileFormat::Csv
        );
        assert_eq!(
            FileFormat::of(Path::new("x.parquet"), None).unwrap(),
            FileFormat::Parquet
        );
        assert!(FileFormat::of(Path::new("x.xlsx"), None).is_err());
        assert_eq!(
            FileFormat::of(Path::new("x.xlsx"), Some(FileFormat::Csv)).unwrap(),
            FileFormat::Csv
        );
    }
}
