/// What can go wrong while scoring and segmenting.
#[derive(Debug, thiserror::Error)]
pub enum RfmError {
    /// The test plan of the report is out of range (a control share of 0, a level above the
    /// power).
    #[error("test plan: {0}")]
    TestPlan(String),
    /// Scores need at least two bins.
    #[error("bins must be at least 2 (got {0}): one bin would give every customer the same score")]
    TooFewBins(usize),
    /// More bins than a score can name.
    #[error("bins must be at most 100 (got {0})")]
    TooManyBins(usize),
    /// The feature table lacks a column the segmentation needs.
    #[error("the features have no column {column:?} ({purpose}); its columns are: {known}")]
    MissingColumn {
        /// The column looked for.
        column: String,
        /// What it is needed for.
        purpose: String,
        /// The table's columns.
        known: String,
    },
    /// The rules file is not valid TOML or not of the expected shape.
    #[error("rules file: {0}")]
    RulesFile(String),
    /// Two segments of the rules file have the same name.
    #[error("rules file: the segment name {0:?} is used twice")]
    DuplicateSegment(String),
    /// A rule's expression is malformed.
    #[error(
        "segment {segment:?}: rule {rule:?}, at position {position}: {message}\n  {rule}\n  {caret}"
    )]
    Syntax {
        /// The segment whose rule is bad.
        segment: String,
        /// The rule text.
        rule: String,
        /// 1-based character position of the problem.
        position: usize,
        /// What is wrong there.
        message: String,
        /// A caret under the position, for display.
        caret: String,
    },
    /// A standalone rule (a seed rule, a scope) is malformed.
    #[error("{origin}: rule {rule:?}, at position {position}: {message}\n  {rule}\n  {caret}")]
    RuleSyntax {
        /// Where the rule came from ("--scope").
        origin: String,
        /// The rule text.
        rule: String,
        /// 1-based character position of the problem.
        position: usize,
        /// What is wrong there.
        message: String,
        /// A caret under the position, for display.
        caret: String,
    },
    /// A standalone rule names a column that is not there.
    #[error("{origin}: rule {rule:?} uses the unknown column {column:?}; known columns: {known}")]
    RuleUnknownColumn {
        /// Where the rule came from.
        origin: String,
        /// The rule text.
        rule: String,
        /// The unknown name.
        column: String,
        /// The names the rule can use.
        known: String,
    },
    /// A standalone rule compares a number with text or text with a number.
    #[error("{origin}: rule {rule:?}: {message}")]
    RuleTypeMismatch {
        /// Where the rule came from.
        origin: String,
        /// The rule text.
        rule: String,
        /// What does not fit.
        message: String,
    },
    /// A rule names a column the table does not have.
    #[error(
        "segment {segment:?}: rule {rule:?} uses the unknown column {column:?}; known columns: {known}"
    )]
    UnknownColumn {
        /// The segment whose rule is bad.
        segment: String,
        /// The rule text.
        rule: String,
        /// The unknown name.
        column: String,
        /// The names a rule can use.
        known: String,
    },
    /// A rule compares a numeric column with text or a text column with a number.
    #[error("segment {segment:?}: rule {rule:?}: {message}")]
    TypeMismatch {
        /// The segment whose rule is bad.
        segment: String,
        /// The rule text.
        rule: String,
        /// What does not fit.
        message: String,
    },
    /// Fixed score breaks must increase.
    #[error(
        "rules file: [scores] {name} breaks must be {expected} increasing numbers, got {got:?}"
    )]
    BadBreaks {
        /// Which score.
        name: String,
        /// How many were expected.
        expected: usize,
        /// What was given.
        got: Vec<f64>,
    },
    /// A parameter is out of its range.
    #[error("{0}")]
    InvalidParameter(String),
}
