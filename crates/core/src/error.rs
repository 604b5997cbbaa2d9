use std::path::PathBuf;

/// Errors of the shared types.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// The number of ids does not match the number of rows of the value matrix.
    #[error("feature table has {ids} customer ids but {rows} rows of values")]
    RowCountMismatch {
        /// Number of ids given.
        ids: usize,
        /// Number of rows in the matrix.
        rows: usize,
    },
    /// The number of column names does not match the number of matrix columns.
    #[error("feature table has {names} column names but {columns} columns of values")]
    ColumnCountMismatch {
        /// Number of names given.
        names: usize,
        /// Number of matrix columns.
        columns: usize,
    },
    /// Two columns share a name.
    #[error("feature table has the column {0:?} twice")]
    DuplicateColumn(String),
    /// Two rows share a customer id.
    #[error("feature table has customer id {0:?} twice")]
    DuplicateId(String),
    /// A column was asked for by name and is not in the table.
    #[error("no column {name:?} in the feature table; its columns are: {known}")]
    UnknownColumn {
        /// The name asked for.
        name: String,
        /// The table's columns, comma separated.
        known: String,
    },
    /// A `--column FIELD=NAME` mapping could not be understood.
    #[error("column mapping {0:?} is not of the form FIELD=NAME (or FILE.FIELD=NAME)")]
    BadMapping(String),
    /// One field mapped to two different columns.
    #[error(
        "--column maps {field} twice, to {first:?} and to {second:?}; give each field one column"
    )]
    RepeatedMapping {
        /// The field, with its input kind.
        field: String,
        /// The first column given.
        first: String,
        /// The second.
        second: String,
    },
    /// A mapping names a field that no input has.
    #[error("column mapping {spec:?}: unknown field {field:?}; known fields: {known}")]
    UnknownField {
        /// The mapping as typed.
        spec: String,
        /// The field named.
        field: String,
        /// The fields that can be mapped.
        known: String,
    },
    /// An input cannot be read as asked.
    #[error("{0}")]
    InvalidInput(String),
    /// An output cannot be written where it was asked for.
    #[error("{0}")]
    InvalidOutput(String),
    /// Writing an output failed.
    #[error("writing {path}: {source}")]
    Write {
        /// The output path.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Reading or parsing a JSON document failed.
    #[error("{path}: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: serde_json::Error,
    },
    /// Reading a file failed.
    #[error("reading {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A key file that cannot serve as a pseudonymization key.
    #[error("key file {path}: {message}")]
    KeyFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// A time unit other than days or weeks.
    #[error("time unit {0:?}: expected days or weeks")]
    UnknownTimeUnit(String),
}
