//! The rule language: a tokenizer and a recursive-descent parser.
//!
//! ```text
//! rule       := or
//! or         := and ("or" and)*
//! and        := not ("and" not)*
//! not        := "not" not | "(" rule ")" | comparison
//! comparison := name op operand | name ["not"] "in" "[" literal ("," literal)* "]"
//! op         := "<" | "<=" | ">" | ">=" | "==" | "=" | "!="
//! operand    := literal | name
//! literal    := number | 'text' | "text" | true | false
//! ```
//!
//! Keywords are case-insensitive; `&&`, `||` and `!` are accepted for `and`, `or` and `not`.

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

/// A constant in a rule.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Literal {
    Number(f64),
    Text(String),
}

/// The right-hand side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Operand {
    Literal(Literal),
    Column(String),
}

/// A parsed rule.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    Compare {
        column: String,
        op: Op,
        operand: Operand,
    },
    In {
        column: String,
        values: Vec<Literal>,
        negated: bool,
    },
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

impl Expr {
    /// Every column name the rule uses.
    pub fn columns(&self) -> Vec<&str> {
        match self {
            Expr::Compare {
                column, operand, ..
            } => {
                let mut names = vec![column.as_str()];
                if let Operand::Column(other) = operand {
                    names.push(other);
                }
                names
            }
            Expr::In { column, .. } => vec![column.as_str()],
            Expr::Not(inner) => inner.columns(),
            Expr::And(a, b) | Expr::Or(a, b) => {
                let mut names = a.columns();
                names.extend(b.columns());
                names
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Name(String),
    Number(f64),
    Text(String),
    Op(Op),
    And,
    Or,
    Not,
    In,
    Open,
    Close,
    OpenList,
    CloseList,
    Comma,
    End,
}

/// A syntax error: 1-based character position and message.
pub(crate) type SyntaxError = (usize, String);

fn describe(token: &Token) -> String {
    match token {
        Token::Name(n) => format!("the name {n:?}"),
        Token::Number(v) => format!("the number {v}"),
        Token::Text(t) => format!("the text {t:?}"),
        Token::Op(_) => "a comparison operator".into(),
        Token::And => "'and'".into(),
        Token::Or => "'or'".into(),
        Token::Not => "'not'".into(),
        Token::In => "'in'".into(),
        Token::Open => "'('".into(),
        Token::Close => "')'".into(),
        Token::OpenList => "'['".into(),
        Token::CloseList => "']'".into(),
        Token::Comma => "','".into(),
        Token::End => "the end of the rule".into(),
    }
}

fn tokenize(rule: &str) -> Result<Vec<(usize, Token)>, SyntaxError> {
    let chars: Vec<char> = rule.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let at = i + 1;
        let next = chars.get(i + 1).copied();
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                tokens.push((at, Token::Open));
                i += 1;
            }
            ')' => {
                tokens.push((at, Token::Close));
                i += 1;
            }
            '[' => {
                tokens.push((at, Token::OpenList));
                i += 1;
            }
            ']' => {
                tokens.push((at, Token::CloseList));
                i += 1;
            }
            ',' => {
                tokens.push((at, Token::Comma));
                i += 1;
            }
            '<' | '>' | '=' | '!' => {
                let (token, width) = match (c, next) {
                    ('<', Some('=')) => (Token::Op(Op::Le), 2),
                    ('<', _) => (Token::Op(Op::Lt), 1),
                    ('>', Some('=')) => (Token::Op(Op::Ge), 2),
                    ('>', _) => (Token::Op(Op::Gt), 1),
                    ('=', Some('=')) => (Token::Op(Op::Eq), 2),
                    ('=', _) => (Token::Op(Op::Eq), 1),
                    ('!', Some('=')) => (Token::Op(Op::Ne), 2),
                    _ => (Token::Not, 1),
                };
                tokens.push((at, token));
                i += width;
            }
            '&' | '|' => {
                if next != Some(c) {
                    return Err((
                        at,
                        format!(
                            "'{c}' alone is not an operator; use '{c}{c}' or '{}'",
                            if c == '&' { "and" } else { "or" }
                        ),
                    ));
                }
                tokens.push((at, if c == '&' { Token::And } else { Token::Or }));
                i += 2;
            }
            '\'' | '"' => {
                let end = chars[i + 1..]
                    .iter()
                    .position(|d| *d == c)
                    .ok_or((at, "this text is never closed".to_string()))?;
                tokens.push((at, Token::Text(chars[i + 1..i + 1 + end].iter().collect())));
                i += end + 2;
            }
            c if c.is_ascii_digit()
                || c == '.'
                || (c == '-' && next.is_some_and(|d| d.is_ascii_digit() || d == '.')) =>
            {
                let start = i;
                i += 1;
                while i < chars.len()
                    && (chars[i].is_ascii_digit()
                        || matches!(chars[i], '.' | 'e' | 'E' | '_')
                        || (matches!(chars[i], '+' | '-') && matches!(chars[i - 1], 'e' | 'E')))
                {
                    i += 1;
                }
                let text: String = chars[start..i].iter().filter(|d| **d != '_').collect();
                let value = text
                    .parse::<f64>()
                    .map_err(|_| (at, format!("{text:?} is not a number")))?;
                tokens.push((at, Token::Number(value)));
            }
            c if c.is_alphabetic() || c == '_' => {
                let start = i;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                let token = match word.to_ascii_lowercase().as_str() {
                    "and" => Token::And,
                    "or" => Token::Or,
                    "not" => Token::Not,
                    "in" => Token::In,
                    "true" => Token::Number(1.0),
                    "false" => Token::Number(0.0),
                    _ => Token::Name(word),
                };
                tokens.push((at, token));
            }
            other => return Err((at, format!("unexpected character {other:?}"))),
        }
    }
    tokens.push((chars.len() + 1, Token::End));
    Ok(tokens)
}

struct Parser {
    tokens: Vec<(usize, Token)>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> &Token {
        &self.tokens[self.at].1
    }

    fn position(&self) -> usize {
        self.tokens[self.at].0
    }

    fn advance(&mut self) -> Token {
        let token = self.tokens[self.at].1.clone();
        if self.at + 1 < self.tokens.len() {
            self.at += 1;
        }
        token
    }

    fn fail<T>(&self, expected: &str) -> Result<T, SyntaxError> {
        Err((
            self.position(),
            format!("expected {expected}, found {}", describe(self.peek())),
        ))
    }

    fn or(&mut self) -> Result<Expr, SyntaxError> {
        let mut left = self.and()?;
        while *self.peek() == Token::Or {
            self.advance();
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, SyntaxError> {
        let mut left = self.not()?;
        while *self.peek() == Token::And {
            self.advance();
            left = Expr::And(Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Expr, SyntaxError> {
        match self.peek() {
            Token::Not => {
                self.advance();
                Ok(Expr::Not(Box::new(self.not()?)))
            }
            Token::Open => {
                let open = self.position();
                self.advance();
                let inner = self.or()?;
                if *self.peek() != Token::Close {
                    return Err((
                        self.position(),
                        format!(
                            "expected ')' to close the '(' at position {open}, found {}",
                            describe(self.peek())
                        ),
                    ));
                }
                self.advance();
                Ok(inner)
            }
            Token::Name(_) => self.comparison(),
            _ => self.fail("a column name, 'not' or '('"),
        }
    }

    fn literal(&mut self) -> Result<Literal, SyntaxError> {
        match self.peek().clone() {
            Token::Number(v) => {
                self.advance();
                Ok(Literal::Number(v))
            }
            Token::Text(t) => {
                self.advance();
                Ok(Literal::Text(t))
            }
            _ => self.fail("a number or a 'text'"),
        }
    }

    fn comparison(&mut self) -> Result<Expr, SyntaxError> {
        let Token::Name(column) = self.advance() else {
            unreachable!("checked by the caller")
        };
        let negated = if *self.peek() == Token::Not {
            self.advance();
            if *self.peek() != Token::In {
                return self.fail("'in' after 'not'");
            }
            true
        } else {
            false
        };
        match self.peek().clone() {
            Token::Op(op) if !negated => {
                self.advance();
                let operand = match self.peek().clone() {
                    Token::Name(other) => {
                        self.advance();
                        Operand::Column(other)
                    }
                    _ => Operand::Literal(self.literal()?),
                };
                Ok(Expr::Compare {
                    column,
                    op,
                    operand,
                })
            }
            Token::In => {
                self.advance();
                if *self.peek() != Token::OpenList {
                    return self.fail("'[' to start the list");
                }
                self.advance();
                let mut values = vec![self.literal()?];
                while *self.peek() == Token::Comma {
                    self.advance();
                    values.push(self.literal()?);
                }
                if *self.peek() != Token::CloseList {
                    return self.fail("',' or ']'");
                }
                self.advance();
                Ok(Expr::In {
                    column,
                    values,
                    negated,
                })
            }
            _ => self.fail(&format!(
                "a comparison (<, <=, >, >=, ==, != or in) after {column:?}"
            )),
        }
    }
}

/// Parses a rule.
pub(crate) fn parse(rule: &str) -> Result<Expr, SyntaxError> {
    let mut parser = Parser {
        tokens: tokenize(rule)?,
        at: 0,
    };
    if *parser.peek() == Token::End {
        return Err((1, "the rule is empty".into()));
    }
    let expr = parser.or()?;
    if *parser.peek() != Token::End {
        return parser.fail("'and', 'or' or the end of the rule");
    }
    Ok(expr)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(column: &str, op: Op, v: f64) -> Expr {
        Expr::Compare {
            column: column.into(),
            op,
            operand: Operand::Literal(Literal::Number(v)),
        }
    }

    #[test]
    fn precedence_and_forms() {
        let a = cmp("a", Op::Lt, 1.0);
        let b = cmp("b", Op::Ge, 2.0);
        let c = cmp("c", Op::Eq, 3.0);
        let and = |x: Expr, y: Expr| Expr::And(Box::new(x), Box::new(y));
        let or = |x: Expr, y: Expr| Expr::Or(Box::new(x), Box::new(y));
        let cases: Vec<(&str, Expr)> = vec![
            (
                "a < 1 and b >= 2 or c == 3",
                or(and(a.clone(), b.clone()), c.clone()),
            ),
            (
                "a < 1 or b >= 2 and c = 3",
                or(a.clone(), and(b.clone(), c.clone())),
            ),
            (
                "a < 1 and (b >= 2 or c == 3)",
                and(a.clone(), or(b.clone(), c.clone())),
            ),
            ("NOT a < 1", Expr::Not(Box::new(a.clone()))),
            (
                "!(a < 1) && b >= 2",
                and(Expr::Not(Box::new(a.clone())), b.clone()),
            ),
            ("a<1||b>=2", or(a.clone(), b.clone())),
            ("x != -2.5e1", cmp("x", Op::Ne, -25.0)),
            ("x > 1_000", cmp("x", Op::Gt, 1000.0)),
            ("flag == true", cmp("flag", Op::Eq, 1.0)),
            (
                "seg in ['Champions', \"Loyal\"]",
                Expr::In {
                    column: "seg".into(),
                    values: vec![
                        Literal::Text("Champions".into()),
                        Literal::Text("Loyal".into()),
                    ],
                    negated: false,
                },
            ),
            (
                "n not in [1, 2]",
                Expr::In {
                    column: "n".into(),
                    values: vec![Literal::Number(1.0), Literal::Number(2.0)],
                    negated: true,
                },
            ),
            (
                "orders >= frequency",
                Expr::Compare {
                    column: "orders".into(),
                    op: Op::Ge,
                    operand: Operand::Column("frequency".into()),
                },
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(parse(text), Ok(expected), "{text}");
        }
    }

    #[test]
    fn errors_point_at_the_problem() {
        let cases: Vec<(&str, usize, &str)> = vec![
            ("", 1, "empty"),
            ("a <", 4, "expected a number"),
            ("a < 1 and", 10, "expected a column name"),
            ("(a < 1", 7, "close the '(' at position 1"),
            ("a < 1)", 6, "expected 'and'"),
            ("a 1", 3, "expected a comparison"),
            ("a in 1", 6, "'['"),
            ("a in [1 2]", 9, "',' or ']'"),
            ("a < 'x", 5, "never closed"),
            ("a & b", 3, "'&&' or 'and'"),
            ("a < 1 # b", 7, "unexpected character"),
            ("a not b", 7, "'in' after 'not'"),
            ("a < 1.2.3", 5, "not a number"),
        ];
        for (text, position, message) in cases {
            let (at, got) = parse(text).unwrap_err();
            assert_eq!(at, position, "{text}: {got}");
            assert!(got.contains(message), "{text}: {got}");
        }
    }
}
