//! The columns a seed rule or a scope can name: the feature table's numbers; a text column for
//! every one-hot group of it (`country` from `country_DE`, `country_FR`, …, as feature
//! extraction encodes customer attributes); the columns of a segmentation (`rfm_segment`,
//! `lifecycle`, `primary_segment` …, as `lookalike segment` writes them); and, with a value
//! model, `clv` and `clv_rank` (0 for the highest CLV, so `clv_rank <= 0.05` is the top 5%).

use std::collections::HashMap;

use lookalike_core::{CustomerId, FeatureTable};
use lookalike_rfm::{Lifecycle, MISSING, RfmSegment, Rule, RuleColumns, Segmentation, ValueTier};

use crate::PipelineError;

/// The column a part of a base carries with each customer's `clv_rank` in the whole base
/// (position in the order of CLV, highest first, equal values by id, over the customers),
/// computed by the driver's sort; a seed rule on the part reads it instead of ranking the
/// part alone.
pub const CLV_RANK_COLUMN: &str = "__lookalike_clv_rank";

/// The column a part of a base may carry with each customer's CLV, as the pass that ranked
/// them computed it ([`crate::clv_keys`]): the later passes read it instead of predicting
/// every customer's CLV again.
pub const CLV_COLUMN: &str = "__lookalike_clv";

/// A text column: codes into labels (MISSING = none).
#[derive(Debug, Clone)]
struct Text {
    codes: Vec<u8>,
    labels: Vec<String>,
}

impl Text {
    /// Codes for `values` (None = missing), whose labels start with `vocabulary` (the values
    /// the column can hold, whether or not these rows hold them); at most 254 distinct values.
    fn of(
        name: &str,
        values: impl Iterator<Item = Option<String>>,
        vocabulary: &[&str],
    ) -> Result<Text, PipelineError> {
        let mut labels: Vec<String> = vocabulary.iter().map(|v| v.to_string()).collect();
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
                    None => {
                        return Err(PipelineError::Rule(format!(
                            "column {name:?} has more than 254 distinct values: a rule cannot compare it as text"
                        )));
                    }
                },
            });
        }
        Ok(Text { codes, labels })
    }
}

/// Numbers and texts per table row, by name, beside the feature table's own columns.
#[derive(Debug, Clone, Default)]
pub struct RuleExtras {
    numbers: HashMap<String, Vec<f64>>,
    texts: HashMap<String, Text>,
}

impl RuleExtras {
    /// Adds columns of cells, one per table row (None: missing). A column whose every cell is
    /// a number (or missing) is numeric, any other is text — as when read from a CSV file.
    pub fn add_cells(
        &mut self,
        name: &str,
        cells: Vec<Option<String>>,
    ) -> Result<(), PipelineError> {
        let numeric = cells
            .iter()
            .flatten()
            .all(|c| c.trim().is_empty() || c.trim().parse::<f64>().is_ok());
        if numeric {
            let values = cells
                .iter()
                .map(|c| {
                    c.as_ref()
                        .and_then(|c| c.trim().parse().ok())
                        .unwrap_or(f64::NAN)
                })
                .collect();
            self.numbers.insert(name.to_string(), values);
        } else {
            let text = Text::of(
                name,
                cells.into_iter().map(|c| c.filter(|v| !v.is_empty())),
                &[],
            )?;
            self.texts.insert(name.to_string(), text);
        }
        Ok(())
    }

    /// Adds a column that is text whatever its cells hold, and may hold the values of
    /// `vocabulary`: a segmentation's names, which a rule compares with text and may name
    /// even in a part of a base where no customer has them.
    fn add_text_cells(
        &mut self,
        name: &str,
        cells: Vec<Option<String>>,
        vocabulary: &[&str],
    ) -> Result<(), PipelineError> {
        let text = Text::of(
            name,
            cells.into_iter().map(|c| c.filter(|v| !v.is_empty())),
            vocabulary,
        )?;
        self.texts.insert(name.to_string(), text);
        Ok(())
    }

    /// The columns of a segmentation of the table's customers, with the cells `lookalike
    /// segment` writes.
    pub fn from_segmentation(s: &Segmentation) -> Result<RuleExtras, PipelineError> {
        let n = s.r.len();
        let rule_names: Vec<&str> = s.rule_names.iter().map(String::as_str).collect();
        let mut extras = RuleExtras::default();
        let digits = |scores: &[Option<u8>]| -> Vec<Option<String>> {
            scores.iter().map(|v| v.map(|v| v.to_string())).collect()
        };
        extras.add_cells("r_score", digits(&s.r))?;
        extras.add_cells("f_score", digits(&s.f))?;
        extras.add_cells("m_score", digits(&s.m))?;
        extras.add_cells("rfm_cell", (0..n).map(|i| s.rfm_cell(i)).collect())?;
        let names = |name: &dyn Fn(usize) -> Option<&'static str>| -> Vec<Option<String>> {
            (0..n).map(|i| name(i).map(String::from)).collect()
        };
        extras.add_text_cells(
            "rfm_segment",
            names(&|i| s.rfm_segment[i].map(|x| x.name())),
            &RfmSegment::ALL.map(RfmSegment::name),
        )?;
        extras.add_text_cells(
            "lifecycle",
            names(&|i| Some(s.lifecycle[i].name())),
            &Lifecycle::ALL.map(Lifecycle::name),
        )?;
        extras.add_text_cells(
            "value_tier",
            names(&|i| Some(s.value_tier[i].name())),
            &ValueTier::ALL.map(ValueTier::name),
        )?;
        extras.add_text_cells(
            "primary_segment",
            (0..n)
                .map(|i| s.primary_name(i).map(String::from))
                .collect(),
            &rule_names,
        )?;
        let matched = (0..n)
            .map(|i| {
                let names: Vec<&str> = (0..s.rule_names.len())
                    .filter(|k| s.matches[*k][i])
                    .map(|k| s.rule_names[k].as_str())
                    .collect();
                Some(names.join(";"))
            })
            .collect();
        extras.add_text_cells("segments", matched, &rule_names)?;
        if let Some(flags) = &s.flags {
            for (name, values) in [
                ("cart_abandoner", &flags.cart_abandoner),
                ("active_browser", &flags.active_browser),
                ("engaged", &flags.engaged),
                ("dormant", &flags.dormant),
            ] {
                let cells = values.iter().map(|v| Some(u8::from(*v).to_string()));
                extras.add_cells(name, cells.collect())?;
            }
        }
        Ok(extras)
    }

    /// Adds `clv` and `clv_rank` (0 for the highest value) from each row's expected value;
    /// `ids` are the rows' customer ids. A customer's `clv_rank` is its position in the order
    /// of CLV (highest first, equal values by id) over the number of rows: what a base in
    /// parts computes with a sort of every customer's CLV ([`CLV_RANK_COLUMN`]).
    pub fn add_values(&mut self, values: &[f64], ids: &[CustomerId]) {
        let mut order: Vec<usize> = (0..values.len()).collect();
        order.sort_by(|a, b| {
            values[*b]
                .total_cmp(&values[*a])
                .then_with(|| ids[*a].as_str().cmp(ids[*b].as_str()))
        });
        let mut rank = vec![0.0; values.len()];
        let n = values.len().max(1) as f64;
        for (position, row) in order.iter().enumerate() {
            rank[*row] = position as f64 / n;
        }
        self.add_ranked_values(values, rank);
    }

    /// Adds `clv` and `clv_rank` as given: the ranks of a part's customers in the whole base.
    pub fn add_ranked_values(&mut self, values: &[f64], ranks: Vec<f64>) {
        self.numbers.insert("clv".into(), values.to_vec());
        self.numbers.insert("clv_rank".into(), ranks);
    }

    /// Which rows of `table` match `rule` (`origin` names the option or field in messages).
    pub fn select(
        &self,
        origin: &str,
        text: &str,
        table: &FeatureTable,
    ) -> Result<Vec<bool>, PipelineError> {
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
            } else if let Some(values) = self.numbers.get(name) {
                numbers.push((name.to_string(), values.clone()));
            } else if let Some(text) = self.texts.get(name) {
                texts.push((name.to_string(), text.clone()));
            } else if let Some(text) = one_hot(table, name) {
                texts.push((name.to_string(), text));
            } else {
                return Err(PipelineError::Rule(format!(
                    "{origin}: rule {text:?} uses the unknown column {name:?}; it can use {}",
                    self.known(table).join(", ")
                )));
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
    fn known(&self, table: &FeatureTable) -> Vec<String> {
        let mut names: Vec<String> = table.columns().to_vec();
        // One-hot groups: 0/1 columns sharing a prefix that ends with '_' (country_DE,
        // country_FR → country; age_band_18_24, age_band_25_34 → age_band).
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
        names.extend(self.numbers.keys().cloned());
        names.extend(self.texts.keys().cloned());
        names.sort();
        names.dedup();
        names
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// `clv_rank` is the position in the order of CLV, highest first, equal values by id
    /// (not by row, which a base split into parts does not keep), over the customers.
    #[test]
    fn clv_ranks_break_ties_by_id() {
        let ids = ["b", "a", "c", "d"].map(CustomerId::from);
        let table = FeatureTable::new(
            ids.to_vec(),
            vec!["orders".into()],
            ndarray::array![[1.0], [1.0], [1.0], [1.0]],
        )
        .unwrap();
        let mut extras = RuleExtras::default();
        extras.add_values(&[5.0, 5.0, 9.0, 0.0], &ids);
        let top_half = extras
            .select("seed_rule", "clv_rank < 0.5", &table)
            .unwrap();
        // c (9) is first, then a and b (5, by id), then d.
        assert_eq!(top_half, vec![false, true, true, false]);
        assert_eq!(extras.numbers["clv_rank"], vec![0.5, 0.25, 0.0, 0.75]);
    }
}
