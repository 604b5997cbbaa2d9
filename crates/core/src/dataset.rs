//! Tables split over files — a folder of part files as Spark, DuckDB and polars write them, or a
//! glob — read as one table, wherever a log or a feature table is read.

use std::path::{Path, PathBuf};

use crate::CoreError;

/// Whether `path` is a glob pattern (`*`, `?` or `[` in it).
pub fn is_pattern(path: &Path) -> bool {
    path.to_string_lossy().contains(['*', '?', '['])
}

/// Whether `path` names a table in several files: a folder or a glob pattern.
pub fn is_dataset(path: &Path) -> bool {
    is_pattern(path) || path.is_dir()
}

fn is_table_file(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let extension = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    // Writers' markers and hidden files (`_SUCCESS`, `_metadata`, `.part-0.crc`) are not data.
    !name.starts_with(['.', '_'])
        && ["parquet", "pq", "csv", "tsv", "txt", "psv"].contains(&extension.as_str())
        && path.is_file()
}

/// The files of a table, in name order: a file is itself; a folder gives its data files (not
/// `_SUCCESS`, `_metadata` or hidden files, not sub-folders); a glob gives the files it
/// matches. One format for all of them. Errors name the option's path.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// for name in ["part-1.parquet", "part-0.parquet", "_SUCCESS"] {
///     std::fs::write(dir.path().join(name), b"").unwrap();
/// }
/// let files = lookalike_core::table_files(dir.path()).unwrap();
/// assert_eq!(files, [dir.path().join("part-0.parquet"), dir.path().join("part-1.parquet")]);
/// let pattern = dir.path().join("part-*.parquet");
/// assert_eq!(lookalike_core::table_files(&pattern).unwrap(), files);
/// ```
pub fn table_files(path: &Path) -> Result<Vec<PathBuf>, CoreError> {
    let mut files: Vec<PathBuf> = if is_pattern(path) {
        let pattern = path.to_string_lossy();
        glob::glob(&pattern)
            .map_err(|e| CoreError::InvalidInput(format!("{}: {e}", path.display())))?
            .filter_map(Result::ok)
            .filter(|p| is_table_file(p))
            .collect()
    } else if path.is_dir() {
        std::fs::read_dir(path)
            .map_err(|source| CoreError::Io {
                path: path.to_path_buf(),
                source,
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| is_table_file(p))
            .collect()
    } else {
        return Ok(vec![path.to_path_buf()]);
    };
    files.sort();
    let Some(first) = files.first() else {
        return Err(CoreError::InvalidInput(format!(
            "{}: no .parquet or .csv file {}",
            path.display(),
            if is_pattern(path) {
                "matches"
            } else {
                "in the folder"
            }
        )));
    };
    let kind = |p: &Path| {
        let e = p
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        matches!(e.as_str(), "parquet" | "pq")
    };
    if let Some(other) = files.iter().find(|f| kind(f) != kind(first)) {
        return Err(CoreError::InvalidInput(format!(
            "{}: {} and {} are not of one format; a table's files are all Parquet or all CSV",
            path.display(),
            first.display(),
            other.display()
        )));
    }
    Ok(files)
}
