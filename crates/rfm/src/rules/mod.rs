//! Rule-based segments from a TOML file.
//!
//! ```toml
//! [[segment]]
//! name = "win_back"
//! rule = "days_since_last_purchase > 180 and orders >= 3"
//! priority = 10
//! ```
//!
//! A customer's primary segment is the matching segment with the highest priority (an earlier
//! segment in the file wins a tie); every matching segment is listed too.

mod eval;
mod parse;
mod standalone;

pub use standalone::{MISSING, Rule, RuleColumns};

pub(crate) use eval::{Column, EvalError, MISSING_TEXT, TRUE, evaluate};
pub(crate) use parse::Expr;

use serde::Deserialize;

use crate::RfmError;

/// One segment of the rules file.
#[derive(Debug, Clone)]
pub struct SegmentRule {
    /// The segment's name.
    pub name: String,
    /// The rule as written.
    pub rule: String,
    /// Higher wins when a customer matches several segments.
    pub priority: i64,
    pub(crate) expr: Expr,
}

impl SegmentRule {
    /// The column names the rule reads (feature columns, scores or segment labels).
    pub fn columns(&self) -> Vec<&str> {
        self.expr.columns()
    }
}

/// Fixed score breaks, instead of quantiles (each list has `bins − 1` increasing numbers).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ScoreBreaks {
    /// Upper bounds, in days since the last purchase, of R = bins, bins−1, …, 2 (a customer at
    /// exactly a break gets the better score).
    pub recency: Option<Vec<f64>>,
    /// Upper bounds of F = 1, 2, … on `orders`.
    pub frequency: Option<Vec<f64>>,
    /// Upper bounds of M = 1, 2, … on `total_spend`.
    pub monetary: Option<Vec<f64>>,
}

/// The segments and score breaks of a rules file.
///
/// ```
/// let rules = lookalike_rfm::RuleSet::from_toml(r#"
///     [[segment]]
///     name = "vip"
///     rule = "total_spend > 1000"
///     priority = 1
/// "#).unwrap();
/// assert_eq!(rules.segments()[0].name, "vip");
/// ```
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    segments: Vec<SegmentRule>,
    breaks: ScoreBreaks,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    scores: ScoreBreaks,
    #[serde(default)]
    segment: Vec<RawSegment>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSegment {
    name: String,
    rule: String,
    priority: i64,
    #[serde(default)]
    #[allow(dead_code)]
    description: Option<String>,
}

impl RuleSet {
    /// Parses a rules file's text.
    pub fn from_toml(text: &str) -> Result<RuleSet, RfmError> {
        let raw: RawFile = toml::from_str(text).map_err(|e| RfmError::RulesFile(e.to_string()))?;
        let mut segments: Vec<SegmentRule> = Vec::with_capacity(raw.segment.len());
        for s in raw.segment {
            if segments.iter().any(|seen| seen.name == s.name) {
                return Err(RfmError::DuplicateSegment(s.name));
            }
            if s.name.trim().is_empty() || s.name.contains(';') {
                return Err(RfmError::RulesFile(format!(
                    "segment name {:?}: names must be non-empty and must not contain ';' (it separates segments in outputs)",
                    s.name
                )));
            }
            let expr = parse::parse(&s.rule).map_err(|(position, message)| RfmError::Syntax {
                segment: s.name.clone(),
                rule: s.rule.clone(),
                position,
                message,
                caret: format!("{}^", " ".repeat(position - 1)),
            })?;
            segments.push(SegmentRule {
                name: s.name,
                rule: s.rule,
                priority: s.priority,
                expr,
            });
        }
        Ok(RuleSet {
            segments,
            breaks: raw.scores,
        })
    }

    /// The segments, in file order.
    pub fn segments(&self) -> &[SegmentRule] {
        &self.segments
    }

    /// The fixed score breaks, if any.
    pub fn breaks(&self) -> &ScoreBreaks {
        &self.breaks
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_names_are_rejected() {
        let err = RuleSet::from_toml(
            "[[segment]]\nname='a'\nrule='x > 1'\npriority=1\n[[segment]]\nname='a'\nrule='x > 2'\npriority=2\n",
        )
        .unwrap_err();
        assert!(
            matches!(err, RfmError::DuplicateSegment(ref n) if n == "a"),
            "{err}"
        );
    }

    #[test]
    fn syntax_errors_name_the_segment_and_point_at_the_position() {
        let err =
            RuleSet::from_toml("[[segment]]\nname='late'\nrule='orders >= and x'\npriority=1\n")
                .unwrap_err();
        let text = err.to_string();
        assert!(
            matches!(err, RfmError::Syntax { position: 11, .. }),
            "{text}"
        );
        assert!(
            text.contains("\"late\"") && text.contains("\n            ^"),
            "{text}"
        );
    }

    #[test]
    fn missing_priority_and_unknown_keys_are_rejected() {
        assert!(matches!(
            RuleSet::from_toml("[[segment]]\nname='a'\nrule='x > 1'\n"),
            Err(RfmError::RulesFile(_))
        ));
        assert!(matches!(
            RuleSet::from_toml("[[segment]]\nname='a'\nrule='x > 1'\npriority=1\ncolour='red'\n"),
            Err(RfmError::RulesFile(_))
        ));
        assert!(matches!(
            RuleSet::from_toml("not toml ["),
            Err(RfmError::RulesFile(_))
        ));
    }
}
