//! The columns of a segment file (from `lookalike segment`) for seed rules and scopes, read
//! into the library's `RuleExtras`.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context;
use lookalike_core::FeatureTable;
use lookalike_pipeline::RuleExtras;

/// The columns of a segment file (CSV with `customer_id`), aligned to the rows of `table`.
/// The file must hold every customer of the table once, as `lookalike segment` writes it: a
/// customer missing or listed twice means it was made from other features.
pub fn from_segments(path: &Path, table: &FeatureTable) -> anyhow::Result<RuleExtras> {
    let mut reader =
        csv::Reader::from_path(path).with_context(|| format!("reading {}", path.display()))?;
    let header = reader.headers()?.clone();
    let id_at = header
        .iter()
        .position(|h| h == "customer_id")
        .with_context(|| format!("{}: no customer_id column", path.display()))?;
    let mut cells: Vec<Vec<String>> = vec![Vec::new(); header.len()];
    let mut ids = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.with_context(|| format!("{}: row {}", path.display(), i + 2))?;
        ids.push(record[id_at].to_string());
        for (j, cell) in record.iter().enumerate() {
            cells[j].push(cell.to_string());
        }
    }
    let mut row_of: HashMap<&str, usize> = HashMap::with_capacity(ids.len());
    for (i, id) in ids.iter().enumerate() {
        if let Some(first) = row_of.insert(id.as_str(), i) {
            anyhow::bail!(
                "{}: customer id {id:?} is on line {} and again on line {}: a segment file has one row per customer",
                path.display(),
                first + 2,
                i + 2
            );
        }
    }
    let rows: Vec<Option<usize>> = table
        .ids()
        .iter()
        .map(|id| row_of.get(id.as_str()).copied())
        .collect();
    let missing = rows.iter().filter(|r| r.is_none()).count();
    if let Some(example) = table.ids().iter().zip(&rows).find(|(_, r)| r.is_none()) {
        anyhow::bail!(
            "{}: {missing} of the {} customers of the features are not in it (e.g. {:?}): it was made from other features; run `lookalike segment` on these features",
            path.display(),
            table.len(),
            example.0.as_str()
        );
    }
    let mut extras = RuleExtras::default();
    for (j, name) in header.iter().enumerate() {
        if j == id_at {
            continue;
        }
        let column = &cells[j];
        let aligned = rows.iter().map(|r| r.map(|r| column[r].clone())).collect();
        extras
            .add_cells(name, aligned)
            .with_context(|| format!("reading {}", path.display()))?;
    }
    Ok(extras)
}
