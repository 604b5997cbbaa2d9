//! One rule on its own — a seed rule, a scope — in the language of the segment rules, over
//! columns the caller provides (numbers, or texts with their labels).

use std::borrow::Cow;
use std::collections::HashMap;

use super::eval::{Column, EvalError, MISSING_TEXT, TRUE, evaluate};
use super::parse::{Expr, parse};
use crate::RfmError;

/// A parsed rule with its name for messages (e.g. "--scope").
///
/// ```
/// use lookalike_rfm::{Rule, RuleColumns};
/// let rule = Rule::parse("--scope", "country == 'DE' and orders >= 2").unwrap();
/// assert_eq!(rule.columns(), vec!["country", "orders"]);
/// let mut columns = RuleColumns::new();
/// columns.number("orders", &[1.0, 3.0, 5.0]);
/// columns.text("country", &[0, 0, 1], &["DE", "FR"]);
/// assert_eq!(rule.select(&columns).unwrap(), vec![false, true, false]);
/// let err = Rule::parse("--scope", "orders >").unwrap_err().to_string();
/// assert!(err.starts_with("--scope: rule \"orders >\", at position 9"), "{err}");
/// let unknown = Rule::parse("--scope", "age > 3").unwrap().select(&columns).unwrap_err();
/// assert!(unknown.to_string().contains("unknown column \"age\"; known columns: country, orders"));
/// let mismatch = Rule::parse("--scope", "country > 3").unwrap().select(&columns).unwrap_err();
/// assert!(mismatch.to_string().starts_with("--scope: rule \"country > 3\""));
/// ```
#[derive(Debug, Clone)]
pub struct Rule {
    name: String,
    text: String,
    expr: Expr,
}

/// The columns a [`Rule`] can read, by name.
#[derive(Default)]
pub struct RuleColumns<'a> {
    columns: HashMap<&'a str, Column<'a>>,
}

impl<'a> RuleColumns<'a> {
    /// No columns yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// A numeric column (NaN = missing).
    pub fn number(&mut self, name: &'a str, values: &'a [f64]) {
        self.columns
            .insert(name, Column::Number(Cow::Borrowed(values)));
    }

    /// A text column: each row's code into `labels` (255 = missing).
    pub fn text(&mut self, name: &'a str, codes: &'a [u8], labels: &'a [&'a str]) {
        self.columns.insert(name, Column::Text { codes, labels });
    }

    /// Whether a column of this name is present.
    pub fn has(&self, name: &str) -> bool {
        self.columns.contains_key(name)
    }
}

/// The code of a missing text value in [`RuleColumns::text`].
pub const MISSING: u8 = MISSING_TEXT;

impl Rule {
    /// Parses `text`; `name` says where the rule came from in messages.
    pub fn parse(name: &str, text: &str) -> Result<Rule, RfmError> {
        let expr = parse(text).map_err(|(position, message)| RfmError::RuleSyntax {
            origin: name.to_string(),
            rule: text.to_string(),
            position,
            message,
            caret: format!("{}^", " ".repeat(position - 1)),
        })?;
        Ok(Rule {
            name: name.to_string(),
            text: text.to_string(),
            expr,
        })
    }

    /// The column names the rule reads, in order of appearance.
    pub fn columns(&self) -> Vec<&str> {
        self.expr.columns()
    }

    /// Whether each row matches (a comparison with a missing value is unknown, and unknown
    /// does not match).
    pub fn select(&self, columns: &RuleColumns<'_>) -> Result<Vec<bool>, RfmError> {
        let truth = evaluate(&self.expr, &columns.columns).map_err(|e| match e {
            EvalError::UnknownColumn(column) => {
                let mut known: Vec<&str> = columns.columns.keys().copied().collect();
                known.sort_unstable();
                RfmError::RuleUnknownColumn {
                    origin: self.name.clone(),
                    rule: self.text.clone(),
                    column,
                    known: known.join(", "),
                }
            }
            EvalError::Type(message) => RfmError::RuleTypeMismatch {
                origin: self.name.clone(),
                rule: self.text.clone(),
                message,
            },
        })?;
        Ok(truth.into_iter().map(|t| t == TRUE).collect())
    }
}
