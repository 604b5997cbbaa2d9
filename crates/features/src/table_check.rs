//! A feature table read back is checked against what its columns mean, so that a bad cell is an
//! error naming the file, line (or row), column and value, never a silent change of meaning: a
//! negative `frequency` would make a six-order customer a prospect, a `recency` beyond `T` has no
//! BTYD likelihood, and one absurd amount drowns the spend model for everyone.
//!
//! The rules come from the schema written beside the table (each column's kind: counts are
//! whole and ≥ 0, shares in [0, 1], indicators 0 or 1; amounts in currency bounded), and for the
//! BTYD columns from their definition whether or not a schema is there. The schema also records
//! the size of its table: a schema beside a table of another size was left by another run.

use std::path::{Path, PathBuf};

use lookalike_core::{FeatureKind, FeatureSchema, FeatureTable};

use crate::FeatureError;
use crate::table_io::TABLE_BYTES;

/// The largest amount of money accepted in a currency column: beyond any business's revenue, and
/// far from where sums of squares overflow.
pub const MAX_AMOUNT: f64 = 1e15;

/// The BTYD summary's columns, whose ranges follow from their definitions.
const BTYD_COLUMNS: [&str; 4] = ["frequency", "recency", "T", "monetary_value"];

/// What a column's values must satisfy.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Rule {
    /// Whole and ≥ 0.
    Count,
    /// In [0, 1].
    Share,
    /// 0 or 1.
    Indicator,
    /// ≥ 0 (BTYD times).
    NonNegative,
    /// |value| ≤ [`MAX_AMOUNT`].
    Amount,
    /// Only finite (checked for every column).
    Finite,
}

impl Rule {
    fn holds(self, value: f64) -> bool {
        match self {
            Rule::Count => value >= 0.0 && value.fract() == 0.0,
            Rule::Share => (0.0..=1.0).contains(&value),
            Rule::Indicator => value == 0.0 || value == 1.0,
            Rule::NonNegative => value >= 0.0,
            Rule::Amount => value.abs() <= MAX_AMOUNT,
            Rule::Finite => value.is_finite(),
        }
    }

    fn expected(self) -> &'static str {
        match self {
            Rule::Count => "a whole number ≥ 0 (a count)",
            Rule::Share => "a share between 0 and 1",
            Rule::Indicator => "0 or 1",
            Rule::NonNegative => "a number ≥ 0",
            Rule::Amount => "an amount of at most 1e15 in absolute value",
            Rule::Finite => "a finite number (leave the cell empty for a missing value)",
        }
    }
}

/// The checks of one feature table's columns.
#[derive(Debug, Clone)]
pub(crate) struct TableCheck {
    path: PathBuf,
    /// Rules of each column, by column index of the checked tables.
    rules: Vec<Vec<Rule>>,
    /// Column indexes of recency and T, which must satisfy recency ≤ T.
    recency_and_t: Option<(usize, usize)>,
    /// Whether rows are told by line (CSV: header on line 1) or by row (Parquet).
    by_line: bool,
}

impl TableCheck {
    /// The checks for a table at `path` whose chunks have `columns`, from its schema (read
    /// and checked against the table by [`read_schema_beside`]) when there is one.
    pub(crate) fn with_schema(
        path: &Path,
        schema: Option<&FeatureSchema>,
        columns: &[String],
        by_line: bool,
    ) -> TableCheck {
        let mut check = Self::for_columns(path, schema, columns, by_line);
        let at = |name: &str| columns.iter().position(|c| c == name);
        check.recency_and_t = at("recency").zip(at("T"));
        check
    }

    /// The checks for a table whose BTYD columns (frequency, recency, T, monetary_value) are
    /// checked customer by customer by the caller, which can skip an unscorable history
    /// (`score --on-error skip`): only that their values are finite and plausible amounts is
    /// checked here.
    pub(crate) fn leaving_btyd_to_caller(
        path: &Path,
        columns: &[String],
        by_line: bool,
    ) -> Result<TableCheck, FeatureError> {
        let schema = read_schema_beside(path)?;
        let mut check = Self::for_columns(path, schema.as_ref(), columns, by_line);
        for (name, rules) in columns.iter().zip(&mut check.rules) {
            if BTYD_COLUMNS.contains(&name.as_str()) {
                rules.retain(|r| matches!(r, Rule::Finite | Rule::Amount));
            }
        }
        Ok(check)
    }

    fn for_columns(
        path: &Path,
        schema: Option<&FeatureSchema>,
        columns: &[String],
        by_line: bool,
    ) -> TableCheck {
        let rules = columns
            .iter()
            .map(|name| {
                let mut rules = vec![Rule::Finite];
                if let Some(spec) = schema.and_then(|s| s.features.iter().find(|f| &f.name == name))
                {
                    match spec.kind {
                        FeatureKind::Count => rules.push(Rule::Count),
                        FeatureKind::Share => rules.push(Rule::Share),
                        FeatureKind::Binary | FeatureKind::OneHot => rules.push(Rule::Indicator),
                        FeatureKind::Real | FeatureKind::Target => {}
                    }
                    if spec.unit.as_deref() == Some("currency") {
                        rules.push(Rule::Amount);
                    }
                }
                // The BTYD summary's definitions hold in any table.
                match name.as_str() {
                    "frequency" => rules.push(Rule::Count),
                    "recency" | "T" => rules.push(Rule::NonNegative),
                    "monetary_value" => rules.extend([Rule::NonNegative, Rule::Amount]),
                    _ => {}
                }
                rules.dedup();
                rules
            })
            .collect();
        TableCheck {
            path: path.to_path_buf(),
            rules,
            recency_and_t: None,
            by_line,
        }
    }

    fn place(&self, row: usize) -> String {
        if self.by_line {
            format!("line {}", crate::table_io::csv_table_line(&self.path, row))
        } else {
            format!("row {}", row + 1)
        }
    }

    /// Checks a table (or a chunk whose first row is row `first_row` of the file, 0-based).
    /// Empty cells (NaN) are missing values and pass.
    pub(crate) fn check(&self, table: &FeatureTable, first_row: usize) -> Result<(), FeatureError> {
        let values = table.values();
        let columns = table.columns();
        for (j, rules) in self.rules.iter().enumerate() {
            let column = values.column(j);
            for rule in rules {
                let bad = column.iter().position(|v| !v.is_nan() && !rule.holds(*v));
                if let Some(i) = bad {
                    return Err(FeatureError::FeatureTable {
                        path: self.path.clone(),
                        message: format!(
                            "{}, column {:?}, customer {:?}: {} is not {}",
                            self.place(first_row + i),
                            columns[j],
                            table.ids()[i].as_str(),
                            shown(column[i]),
                            rule.expected()
                        ),
                    });
                }
            }
        }
        if let Some((r, t)) = self.recency_and_t {
            let (recency, tenure) = (values.column(r), values.column(t));
            // Both are rounded to the written precision: allow a relative 1e-9.
            let bad = (0..table.len()).find(|&i| recency[i] > tenure[i] * (1.0 + 1e-9) + 1e-12);
            if let Some(i) = bad {
                return Err(FeatureError::FeatureTable {
                    path: self.path.clone(),
                    message: format!(
                        "{}, customer {:?}: recency {} is greater than T {} (the time from the first purchase to the last cannot exceed the time from the first purchase to the end)",
                        self.place(first_row + i),
                        table.ids()[i].as_str(),
                        shown(recency[i]),
                        shown(tenure[i])
                    ),
                });
            }
        }
        Ok(())
    }
}

/// A value as a person would write it: `1e308`, not 309 digits.
fn shown(value: f64) -> String {
    if value != 0.0 && value.is_finite() && !(1e-6..1e15).contains(&value.abs()) {
        format!("{value:e}")
    } else {
        format!("{value}")
    }
}

/// The schema beside `table`, if there is one; an error if it is unreadable or describes a
/// table of another size.
pub(crate) fn read_schema_beside(table: &Path) -> Result<Option<FeatureSchema>, FeatureError> {
    if lookalike_core::is_special_output(table) {
        return Ok(None);
    }
    let path = FeatureSchema::path_beside(table);
    if !path.is_file() {
        return Ok(None);
    }
    let schema = FeatureSchema::read(&path)?;
    let recorded = schema.provenance.get(TABLE_BYTES).and_then(|v| v.as_u64());
    let actual = std::fs::metadata(table).ok().map(|m| m.len());
    if let (Some(recorded), Some(actual)) = (recorded, actual)
        && recorded != actual
    {
        return Err(FeatureError::FeatureTable {
            path: table.to_path_buf(),
            message: format!(
                "its schema {} describes a table of {recorded} bytes but this file has {actual}: \
                 the two come from different runs; write the features again",
                path.display()
            ),
        });
    }
    Ok(Some(schema))
}

#[cfg(test)]
mod tests {
    use super::*;
    use lookalike_core::{CustomerId, FeatureSpec};

    fn table(columns: &[&str], rows: Vec<Vec<f64>>) -> FeatureTable {
        let n = rows.len();
        FeatureTable::new(
            (0..n).map(|i| CustomerId::from(format!("c{i}"))).collect(),
            columns.iter().map(|c| c.to_string()).collect(),
            ndarray::Array2::from_shape_vec((n, columns.len()), rows.concat()).unwrap(),
        )
        .unwrap()
    }

    fn check(columns: &[&str], rows: Vec<Vec<f64>>) -> Result<(), FeatureError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.csv");
        let names: Vec<String> = columns.iter().map(|c| c.to_string()).collect();
        TableCheck::with_schema(&path, None, &names, true).check(&table(columns, rows), 0)
    }

    #[test]
    fn btyd_columns_are_checked_by_their_definition() {
        let cols = ["frequency", "recency", "T", "monetary_value"];
        check(&cols, vec![vec![5.0, 10.0, 20.0, 30.0], vec![f64::NAN; 4]]).unwrap();
        for (row, expected) in [
            (
                vec![-1.0, 10.0, 20.0, 30.0],
                "line 3, column \"frequency\", customer \"c1\": -1 is not a whole number",
            ),
            (vec![1.5, 10.0, 20.0, 30.0], "1.5 is not a whole number"),
            (
                vec![5.0, 30.0, 20.0, 30.0],
                "recency 30 is greater than T 20",
            ),
            (
                vec![5.0, 10.0, 20.0, 1e308],
                "1e308 is not an amount of at most 1e15",
            ),
            (
                vec![5.0, 10.0, f64::INFINITY, 30.0],
                "inf is not a finite number",
            ),
        ] {
            let error = check(&cols, vec![vec![1.0, 1.0, 1.0, 1.0], row]).unwrap_err();
            assert!(error.to_string().contains(expected), "{error}");
        }
    }

    #[test]
    fn the_schema_kinds_are_checked_and_a_schema_of_another_table_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.csv");
        let spec = |name: &str, kind| FeatureSpec {
            name: name.into(),
            kind,
            unit: None,
            description: String::new(),
        };
        let mut schema = FeatureSchema::new(vec![
            spec("views", FeatureKind::Count),
            spec("open_rate", FeatureKind::Share),
            spec("country_DE", FeatureKind::OneHot),
        ]);
        std::fs::write(&path, "customer_id,views,open_rate,country_DE\n").unwrap();
        schema.provenance.insert(TABLE_BYTES.into(), 39.into());
        schema.write(&FeatureSchema::path_beside(&path)).unwrap();
        let columns: Vec<String> = ["views", "open_rate", "country_DE"]
            .map(String::from)
            .to_vec();
        let schema = read_schema_beside(&path).unwrap();
        let checks = TableCheck::with_schema(&path, schema.as_ref(), &columns, true);
        let cols = ["views", "open_rate", "country_DE"];
        checks
            .check(&table(&cols, vec![vec![3.0, 0.5, 1.0]]), 0)
            .unwrap();
        for (row, expected) in [
            (vec![-3.0, 0.5, 1.0], "is not a whole number"),
            (vec![3.0, 1.5, 1.0], "is not a share"),
            (vec![3.0, 0.5, 0.5], "is not 0 or 1"),
        ] {
            let error = checks.check(&table(&cols, vec![row]), 10).unwrap_err();
            assert!(error.to_string().contains(expected), "{error}");
            assert!(error.to_string().contains("line 12"), "{error}");
        }
        std::fs::write(&path, "customer_id,views,open_rate,country_DE\nc0,1,0,1\n").unwrap();
        let error = read_schema_beside(&path).unwrap_err();
        assert!(error.to_string().contains("different runs"), "{error}");
    }
}
