//! Column-wise evaluation of rules with three-valued logic.
//!
//! A comparison with a missing value (NaN, or an empty text column) is *unknown*, not false, so
//! that `not (days_since_last_purchase <= 30)` does not select customers who never bought.
//! `and`, `or` and `not` follow Kleene's logic; a customer matches a rule only when it is true.

use std::collections::HashMap;

use rayon::prelude::*;

use super::parse::{Expr, Literal, Op, Operand};

pub(crate) const FALSE: u8 = 0;
pub(crate) const TRUE: u8 = 1;
pub(crate) const UNKNOWN: u8 = 2;
/// The code of a missing value in a text column.
pub(crate) const MISSING_TEXT: u8 = u8::MAX;

/// A column a rule can read.
pub(crate) enum Column<'a> {
    Number(std::borrow::Cow<'a, [f64]>),
    /// Codes into `labels`; [`MISSING_TEXT`] = missing.
    Text {
        codes: &'a [u8],
        labels: &'a [&'a str],
    },
}

/// Why a rule cannot be evaluated on these columns.
pub(crate) enum EvalError {
    UnknownColumn(String),
    Type(String),
}

fn compare(op: Op, a: f64, b: f64) -> u8 {
    if a.is_nan() || b.is_nan() {
        return UNKNOWN;
    }
    (match op {
        Op::Lt => a < b,
        Op::Le => a <= b,
        Op::Gt => a > b,
        Op::Ge => a >= b,
        Op::Eq => a == b,
        Op::Ne => a != b,
    }) as u8
}

fn kleene_and(a: u8, b: u8) -> u8 {
    if a == FALSE || b == FALSE {
        FALSE
    } else if a == TRUE && b == TRUE {
        TRUE
    } else {
        UNKNOWN
    }
}

fn kleene_or(a: u8, b: u8) -> u8 {
    if a == TRUE || b == TRUE {
        TRUE
    } else if a == FALSE && b == FALSE {
        FALSE
    } else {
        UNKNOWN
    }
}

fn kleene_not(a: u8) -> u8 {
    match a {
        TRUE => FALSE,
        FALSE => TRUE,
        _ => UNKNOWN,
    }
}

/// The truth value (FALSE, TRUE, UNKNOWN) of `expr` for every row.
pub(crate) fn evaluate(
    expr: &Expr,
    columns: &HashMap<&str, Column<'_>>,
) -> Result<Vec<u8>, EvalError> {
    let column = |name: &str| {
        columns
            .get(name)
            .ok_or_else(|| EvalError::UnknownColumn(name.to_string()))
    };
    let text_code = |name: &str, labels: &[&str], value: &str| -> Result<u8, EvalError> {
        labels
            .iter()
            .position(|l| *l == value)
            .map(|p| p as u8)
            .ok_or_else(|| {
                EvalError::Type(format!(
                    "{value:?} is not a value of {name}; its values are: {}",
                    labels.join(", ")
                ))
            })
    };
    Ok(match expr {
        Expr::Compare {
            column: name,
            op,
            operand,
        } => match (column(name)?, operand) {
            (Column::Number(values), Operand::Literal(Literal::Number(c))) => {
                values.par_iter().map(|v| compare(*op, *v, *c)).collect()
            }
            (Column::Number(values), Operand::Column(other)) => match column(other)? {
                Column::Number(others) => values
                    .par_iter()
                    .zip(others.par_iter())
                    .map(|(a, b)| compare(*op, *a, *b))
                    .collect(),
                Column::Text { .. } => {
                    return Err(EvalError::Type(format!(
                        "{name} is a number and {other} is text"
                    )));
                }
            },
            (Column::Number(_), Operand::Literal(Literal::Text(t))) => {
                return Err(EvalError::Type(format!(
                    "{name} is a number, compared with the text {t:?}"
                )));
            }
            (Column::Text { codes, labels }, Operand::Literal(Literal::Text(t))) => {
                let equal = match op {
                    Op::Eq => true,
                    Op::Ne => false,
                    _ => {
                        return Err(EvalError::Type(format!(
                            "{name} is text: only ==, != and in apply"
                        )));
                    }
                };
                let code = text_code(name, labels, t)?;
                codes
                    .par_iter()
                    .map(|c| {
                        if *c == MISSING_TEXT {
                            UNKNOWN
                        } else {
                            ((*c == code) == equal) as u8
                        }
                    })
                    .collect()
            }
            (Column::Text { .. }, _) => {
                return Err(EvalError::Type(format!(
                    "{name} is text: compare it with a 'text'"
                )));
            }
        },
        Expr::In {
            column: name,
            values,
            negated,
        } => {
            let result: Vec<u8> = match column(name)? {
                Column::Number(column_values) => {
                    let wanted = values
                        .iter()
                        .map(|v| match v {
                            Literal::Number(n) => Ok(*n),
                            Literal::Text(t) => Err(EvalError::Type(format!(
                                "{name} is a number, but the list has the text {t:?}"
                            ))),
                        })
                        .collect::<Result<Vec<f64>, _>>()?;
                    column_values
                        .par_iter()
                        .map(|v| {
                            if v.is_nan() {
                                UNKNOWN
                            } else {
                                wanted.contains(v) as u8
                            }
                        })
                        .collect()
                }
                Column::Text { codes, labels } => {
                    let mut wanted = [false; 256];
                    for v in values {
                        match v {
                            Literal::Text(t) => wanted[text_code(name, labels, t)? as usize] = true,
                            Literal::Number(n) => {
                                return Err(EvalError::Type(format!(
                                    "{name} is text, but the list has the number {n}"
                                )));
                            }
                        }
                    }
                    codes
                        .par_iter()
                        .map(|c| {
                            if *c == MISSING_TEXT {
                                UNKNOWN
                            } else {
                                wanted[*c as usize] as u8
                            }
                        })
                        .collect()
                }
            };
            if *negated {
                result.into_par_iter().map(kleene_not).collect()
            } else {
                result
            }
        }
        Expr::Not(inner) => evaluate(inner, columns)?
            .into_par_iter()
            .map(kleene_not)
            .collect(),
        Expr::And(a, b) => {
            let (left, right) = (evaluate(a, columns)?, evaluate(b, columns)?);
            left.par_iter()
                .zip(right.par_iter())
                .map(|(x, y)| kleene_and(*x, *y))
                .collect()
        }
        Expr::Or(a, b) => {
            let (left, right) = (evaluate(a, columns)?, evaluate(b, columns)?);
            left.par_iter()
                .zip(right.par_iter())
                .map(|(x, y)| kleene_or(*x, *y))
                .collect()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::parse::parse;

    const SEGMENTS: [&str; 3] = ["Champions", "Loyal", "Lost"];

    fn run(rule: &str) -> Vec<u8> {
        let nan = f64::NAN;
        let mut columns: HashMap<&str, Column<'_>> = HashMap::new();
        columns.insert("x", Column::Number(vec![1.0, 5.0, nan, 10.0].into()));
        columns.insert("y", Column::Number(vec![2.0, 5.0, 3.0, nan].into()));
        static CODES: [u8; 4] = [0, 1, 2, MISSING_TEXT];
        columns.insert(
            "seg",
            Column::Text {
                codes: &CODES,
                labels: &SEGMENTS,
            },
        );
        evaluate(&parse(rule).unwrap(), &columns).ok().unwrap()
    }

    #[test]
    fn table_of_cases() {
        const U: u8 = UNKNOWN;
        let cases: Vec<(&str, [u8; 4])> = vec![
            ("x > 4", [0, 1, U, 1]),
            ("x <= 5", [1, 1, U, 0]),
            ("x == 5", [0, 1, U, 0]),
            ("x != 5", [1, 0, U, 1]),
            ("not x > 4", [1, 0, U, 0]),
            ("x > 4 and y > 4", [0, 1, 0, U]),
            ("x > 4 or y > 2", [0, 1, 1, 1]),
            ("x < 0 and y > 100", [0, 0, 0, 0]),
            ("x > 100 or y > 100", [0, 0, U, U]),
            ("x < y", [1, 0, U, U]),
            ("x in [1, 10]", [1, 0, U, 1]),
            ("x not in [1, 10]", [0, 1, U, 0]),
            ("seg == 'Loyal'", [0, 1, 0, U]),
            ("seg != 'Loyal'", [1, 0, 1, U]),
            ("seg in ['Champions', 'Lost']", [1, 0, 1, U]),
            ("not (seg == 'Lost' or x > 4)", [1, 0, 0, 0]),
        ];
        for (rule, expected) in cases {
            assert_eq!(run(rule), expected, "{rule}");
        }
    }

    #[test]
    fn type_errors_and_unknown_columns() {
        let columns: HashMap<&str, Column<'_>> = [("x", Column::Number(vec![1.0].into()))]
            .into_iter()
            .collect();
        for (rule, unknown) in [
            ("z > 1", true),
            ("x == 'a'", false),
            ("x in ['a']", false),
            ("x > z", true),
        ] {
            match evaluate(&parse(rule).unwrap(), &columns) {
                Err(EvalError::UnknownColumn(c)) => assert!(unknown, "{rule}: unknown {c}"),
                Err(EvalError::Type(_)) => assert!(!unknown, "{rule}"),
                Ok(_) => panic!("{rule} should fail"),
            }
        }
    }
}
