//! The columns of a segment file (from `lookalike segment`) for seed rules and scopes, read
//! into the library's `RuleExtras`.

use std::path::Path;

use anyhow::Context;
use lookalike_core::FeatureTable;
use lookalike_pipeline::RuleExtras;

use crate::small_table::{SmallTable, UniqueIds};

/// The columns of a segment file (CSV or Parquet with `customer_id`, or a folder of parts), aligned to the rows of `table`.
/// The file must hold every customer of the table once, as `lookalike segment` writes it: a
/// customer missing or listed twice means it was made from other features.
pub fn from_segments(path: &Path, table: &FeatureTable) -> anyhow::Result<RuleExtras> {
    let header = SmallTable::header(path)?;
    if !header.iter().any(|h| h == "customer_id") {
        anyhow::bail!(
            "{}: no customer_id column (columns: {})",
            path.display(),
            header.join(", ")
        );
    }
    let names: Vec<&str> = header.iter().map(String::as_str).collect();
    let segments = SmallTable::read(path, &names)?;
    let id_at = names
        .iter()
        .position(|h| *h == "customer_id")
        .expect("checked");
    let mut row_of = UniqueIds::new(
        path,
        segments.parquet,
        "a segment file has one row per customer",
        segments.rows.len(),
    );
    for (i, row) in segments.rows.iter().enumerate() {
        row_of.insert(&row[id_at], i)?;
    }
    let rows: Vec<Option<usize>> = table
        .ids()
        .iter()
        .map(|id| row_of.row(id.as_str()))
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
        let aligned = rows
            .iter()
            .map(|r| r.map(|r| segments.rows[r][j].clone()))
            .collect();
        extras
            .add_cells(name, aligned)
            .with_context(|| format!("reading {}", path.display()))?;
    }
    Ok(extras)
}
