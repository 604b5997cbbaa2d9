//! Lists of customer ids read from CSV: seed lists (with an optional value column) and
//! exclusion lists. The id column is `customer_id` when the header has one, else the first.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, bail};
use lookalike_core::FeatureTable;

/// Ids in file order with their optional values.
pub struct IdList {
    pub ids: Vec<String>,
    pub values: Option<Vec<f64>>,
    /// Ids listed more than once (kept once; the first value wins).
    pub duplicates: usize,
}

/// Reads `path`; with `value_column`, that column must exist and hold numbers.
pub fn read(path: &Path, value_column: Option<&str>) -> anyhow::Result<IdList> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_path(path)
        .with_context(|| format!("reading {}", path.display()))?;
    let header = reader
        .headers()
        .with_context(|| format!("reading the header of {}", path.display()))?
        .clone();
    if header.is_empty() {
        bail!(
            "{}: the file is empty (a header with a customer_id column is expected)",
            path.display()
        );
    }
    let id_at = header.iter().position(|h| h == "customer_id").unwrap_or(0);
    let value_at = match value_column {
        Some(name) => Some(header.iter().position(|h| h == name).with_context(|| {
            format!(
                "{}: no column {name:?} (columns: {})",
                path.display(),
                header.iter().collect::<Vec<_>>().join(", ")
            )
        })?),
        None => None,
    };
    let mut seen: HashMap<String, ()> = HashMap::new();
    let (mut ids, mut values, mut duplicates) = (Vec::new(), Vec::new(), 0);
    for (i, record) in reader.records().enumerate() {
        // Row numbers as a spreadsheet shows them: the header is row 1.
        let row = i + 2;
        let record = record.with_context(|| format!("{}: row {row}", path.display()))?;
        let id = record.get(id_at).unwrap_or("").trim();
        if id.is_empty() {
            bail!(
                "{}: row {row}, column {:?}: empty customer id",
                path.display(),
                &header[id_at]
            );
        }
        if seen.insert(id.to_string(), ()).is_some() {
            duplicates += 1;
            continue;
        }
        if let Some(at) = value_at {
            let text = record.get(at).unwrap_or("").trim();
            let value: f64 = text
                .parse()
                .ok()
                .filter(|v: &f64| v.is_finite())
                .with_context(|| {
                    format!(
                        "{}: row {row}, column {:?}: {text:?} is not a number",
                        path.display(),
                        &header[at]
                    )
                })?;
            values.push(value);
        }
        ids.push(id.to_string());
    }
    Ok(IdList {
        ids,
        values: value_at.map(|_| values),
        duplicates,
    })
}

/// The rows of `table` whose ids are in `ids`, as id → row (one pass over the table; the
/// memory is that of the list, not of the base).
pub fn rows_of<'a>(table: &FeatureTable, ids: &'a [String]) -> HashMap<&'a str, usize> {
    let wanted: std::collections::HashSet<&str> = ids.iter().map(String::as_str).collect();
    let mut found = HashMap::with_capacity(wanted.len());
    for (row, id) in table.ids().iter().enumerate() {
        if let Some(id) = wanted.get(id.as_str()) {
            found.entry(*id).or_insert(row);
        }
    }
    found
}
