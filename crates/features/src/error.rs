use std::path::PathBuf;

use lookalike_core::{CoreError, InputKind};

/// Everything that can go wrong while reading inputs and building features.
///
/// Row-level problems name the file, the row (CSV: the line in the file, header = line 1;
/// Parquet: the 1-based data row), the column and the value, so the user can open the file and
/// fix it.
#[derive(Debug, thiserror::Error)]
pub enum FeatureError {
    /// The file could not be opened or read.
    #[error("reading {kind} from {path}: {source}", kind = kind_name(*.kind))]
    Io {
        /// Which input.
        kind: InputKind,
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file has no bytes, so not even a header.
    #[error("reading {kind} from {path}: the file is empty (no header row)", kind = kind_name(*.kind))]
    EmptyFile {
        /// Which input.
        kind: InputKind,
        /// The file.
        path: PathBuf,
    },
    /// The format could not be told from the extension.
    #[error(
        "cannot tell the format of {path} from its extension; pass --format csv or --format parquet"
    )]
    UnknownFormat {
        /// The file.
        path: PathBuf,
    },
    /// A needed column is not in the file.
    #[error(
        "reading {kind} from {path}: no column {column:?} (for field {field}); the columns found are: {found}. Map another column with --column {field}=NAME",
        kind = kind_name(*.kind)
    )]
    MissingColumn {
        /// Which input.
        kind: InputKind,
        /// The file.
        path: PathBuf,
        /// The canonical field.
        field: String,
        /// The source column looked for.
        column: String,
        /// The columns the file has, comma separated.
        found: String,
    },
    /// Two header cells have the same name, so a mapping would be ambiguous.
    #[error("reading {kind} from {path}: the header names the column {column:?} twice", kind = kind_name(*.kind))]
    DuplicateHeader {
        /// Which input.
        kind: InputKind,
        /// The file.
        path: PathBuf,
        /// The repeated name.
        column: String,
    },
    /// A field could not be used.
    #[error("reading {kind} from {path}: {row}, column {column:?}: {value:?} {reason}", kind = kind_name(*.kind))]
    BadValue {
        /// Which input.
        kind: InputKind,
        /// The file.
        path: PathBuf,
        /// `line N` (CSV) or `row N` (Parquet).
        row: String,
        /// The source column.
        column: String,
        /// The offending value.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The row itself is malformed (wrong number of fields, unterminated quote).
    #[error("reading {kind} from {path}: {row}: {reason}", kind = kind_name(*.kind))]
    BadRow {
        /// Which input.
        kind: InputKind,
        /// The file.
        path: PathBuf,
        /// `line N` (CSV) or `row N` (Parquet).
        row: String,
        /// What is wrong.
        reason: String,
    },
    /// The Parquet file could not be decoded, or a column has a type that cannot be read.
    #[error("reading {kind} from {path}: {message}", kind = kind_name(*.kind))]
    Parquet {
        /// Which input.
        kind: InputKind,
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The options contradict each other.
    #[error("{0}")]
    InvalidOptions(String),
    /// After reading every input there is no customer to describe.
    #[error("no customers: {0}")]
    NoCustomers(String),
    /// A feature table file could not be read back.
    #[error("reading the feature table {path}: {message}")]
    FeatureTable {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// Writing an output failed.
    #[error(transparent)]
    Output(#[from] CoreError),
    /// An Arrow batch of features that cannot be read as a feature table.
    #[error("feature batch: {0}")]
    Batch(String),
    /// A fixed vocabulary (one part of a base extracted on its own) that does not fit the input.
    #[error("vocabulary: {0}")]
    Vocabulary(String),
}

pub(crate) fn kind_name(kind: InputKind) -> &'static str {
    kind.prefix()
}
