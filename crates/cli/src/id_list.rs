//! Lists of customer ids read from CSV: seed lists (with an optional value column) and
//! exclusion lists. The id column is `customer_id` when the header has one, else the first.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, bail};
use lookalike_pipeline::IdList;

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
        origin: path.display().to_string(),
        ids,
        values: value_at.map(|_| values),
        duplicates,
    })
}
