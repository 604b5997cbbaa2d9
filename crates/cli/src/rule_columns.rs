//! The columns a seed rule or a scope can name: the feature table's numbers; a text column for
//! every one-hot group of it (`country` from `country_DE`, `country_FR`, …, as `lookalike
//! features` encodes customer attributes); the columns of a segment file (`rfm_segment`,
//! `lifecycle`, `primary_segment` …, from `lookalike segment`); and, with a value model, `clv`
//! and `clv_rank` (0 for the highest CLV, so `clv_rank <= 0.05` is the top 5%).

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, bail};
use lookalike_core::FeatureTable;
use lookalike_rfm::{MISSING, Rule, RuleColumns};

/// A text column: codes into labels (MISSING = none).
struct Text {
    codes: Vec<u8>,
    labels: Vec<String>,
}

impl Text {
    /// Codes for `values` (None = missing); at most 254 distinct values.
    fn of(name: &str, values: impl Iterator<Item = Option<String>>) -> anyhow::Result<Text> {
        let mut labels: Vec<String> = Vec::new();
        let mut codes = Vec::new();
        for value in values {
            codes.push(match value {
                None => MISSING,
                Some(v) => match labels.iter().position(|l| *l == v) {
                    Some(code) => code as u8,
                    None if labels.len() < MISSING as usize => {
                        labels.push(v);
                        (labels.len() - 1) as u8
                    }
                    None => bail!("column {name:?} has more than 254 distinct values: a rule cannot compare it as text"),
                },
            });
        }
        Ok(Text { codes, labels })
    }
}

/// Numbers and texts per table row, by name.
#[derive(Default)]
pub struct Extra {
    numbers: HashMap<String, Vec<f64>>,
    texts: HashMap<String, Text>,
}

impl Extra {
    /// The columns of a segment file (CSV with `customer_id`), aligned to the rows of `table`
    /// (customers missing from the file have missing values). A column whose every value is a
    /// number (or empty) is numeric, any other is text.
    pub fn from_segments(path: &Path, table: &FeatureTable) -> anyhow::Result<Extra> {
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
        let row_of: HashMap<&str, usize> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.as_str(), i))
            .collect();
        let rows: Vec<Option<usize>> = table
            .ids()
            .iter()
            .map(|id| row_of.get(id.as_str()).copied())
            .collect();
        let mut extra = Extra::default();
        for (j, name) in header.iter().enumerate() {
            if j == id_at {
                continue;
            }
            let column = &cells[j];
            let numeric = column
                .iter()
                .all(|c| c.trim().is_empty() || c.trim().parse::<f64>().is_ok());
            if numeric {
                let values = rows
                    .iter()
                    .map(|r| {
                        r.and_then(|r| column[r].trim().parse().ok())
                            .unwrap_or(f64::NAN)
                    })
                    .collect();
                extra.numbers.insert(name.to_string(), values);
            } else {
                let text = Text::of(
                    name,
                    rows.iter()
                        .map(|r| r.map(|r| column[r].clone()).filter(|v| !v.is_empty())),
                )
                .with_context(|| format!("reading {}", path.display()))?;
                extra.texts.insert(name.to_string(), text);
            }
        }
        Ok(extra)
    }

    /// Adds `clv` and `clv_rank` from each row's expected value.
    pub fn add_values(&mut self, values: &[f64]) {
        let mut order: Vec<usize> = (0..values.len()).collect();
        order.sort_by(|a, b| values[*b].total_cmp(&values[*a]).then(a.cmp(b)));
        let mut rank = vec![0.0; values.len()];
        let n = values.len().max(1) as f64;
        for (position, row) in order.iter().enumerate() {
            rank[*row] = position as f64 / n;
        }
        self.numbers.insert("clv".into(), values.to_vec());
        self.numbers.insert("clv_rank".into(), rank);
    }
}

/// Which rows of `table` match `rule` (`origin` names the flag in messages).
pub fn select(
    origin: &str,
    text: &str,
    table: &FeatureTable,
    extra: &Extra,
) -> anyhow::Result<Vec<bool>> {
    let rule = Rule::parse(origin, text)?;
    // Owned values first, so the rule columns can borrow them.
    let mut numbers: Vec<(String, Vec<f64>)> = Vec::new();
    let mut texts: Vec<(String, Text)> = Vec::new();
    for name in rule.columns() {
        if numbers.iter().any(|(n, _)| n == name) || texts.iter().any(|(n, _)| n == name) {
            continue;
        }
        if let Ok(column) = table.column(name) {
            numbers.push((name.to_string(), column.to_vec()));
        } else if let Some(values) = extra.numbers.get(name) {
            numbers.push((name.to_string(), values.clone()));
        } else if let Some(text) = extra.texts.get(name) {
            let copy = Text {
                codes: text.codes.clone(),
                labels: text.labels.clone(),
            };
            texts.push((name.to_string(), copy));
        } else if let Some(text) = one_hot(table, name) {
            texts.push((name.to_string(), text));
        } else {
            bail!(
                "{origin}: rule {text:?} uses the unknown column {name:?}; it can use {}",
                known(table, extra).join(", ")
            );
        }
    }
    let labels: Vec<Vec<&str>> = texts
        .iter()
        .map(|(_, t)| t.labels.iter().map(String::as_str).collect())
        .collect();
    let mut columns = RuleColumns::new();
    for (name, values) in &numbers {
        columns.number(name, values);
    }
    for ((name, text), labels) in texts.iter().zip(&labels) {
        columns.text(name, &text.codes, labels);
    }
    Ok(rule.select(&columns)?)
}

/// Every name a rule can use here.
fn known(table: &FeatureTable, extra: &Extra) -> Vec<String> {
    let mut names: Vec<String> = table.columns().to_vec();
    // One-hot groups: 0/1 columns sharing a prefix that ends with '_' (country_DE, country_FR →
    // country; age_band_18_24, age_band_25_34 → age_band).
    let values = table.values();
    let mut binary: Vec<&String> = table
        .columns()
        .iter()
        .enumerate()
        .filter(|(j, _)| {
            values
                .column(*j)
                .iter()
                .all(|v| v.is_nan() || *v == 0.0 || *v == 1.0)
        })
        .map(|(_, c)| c)
        .collect();
    binary.sort();
    for pair in binary.windows(2) {
        let common: usize = pair[0]
            .bytes()
            .zip(pair[1].bytes())
            .take_while(|(a, b)| a == b)
            .count();
        if let Some(end) = pair[0][..common].rfind('_')
            && end > 0
        {
            names.push(pair[0][..end].to_string());
        }
    }
    names.extend(extra.numbers.keys().cloned());
    names.extend(extra.texts.keys().cloned());
    names.sort();
    names.dedup();
    names
}

/// The text column behind the one-hot columns `{name}_{value}` of the table, if there are any.
fn one_hot(table: &FeatureTable, name: &str) -> Option<Text> {
    let prefix = format!("{name}_");
    let group: Vec<(usize, String)> = table
        .columns()
        .iter()
        .enumerate()
        .filter_map(|(j, c)| c.strip_prefix(&prefix).map(|value| (j, value.to_string())))
        .collect();
    if group.is_empty() || group.len() >= MISSING as usize {
        return None;
    }
    let values = table.values();
    let codes = (0..table.len())
        .map(|i| {
            group
                .iter()
                .position(|(j, _)| values[[i, *j]] == 1.0)
                .map_or(MISSING, |k| k as u8)
        })
        .collect();
    Some(Text {
        codes,
        labels: group.into_iter().map(|(_, v)| v).collect(),
    })
}
