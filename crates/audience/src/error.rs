/// Why an audience cannot be built. One validation rule, one variant.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AudienceError {
    /// No seed customer was found in the base.
    #[error("no seed customer is in the base (or all were left out)")]
    NoSeeds,
    /// Fewer seeds than the minimum.
    #[error(
        "{seeds} seed customers, fewer than the minimum of {minimum} (lower it with --min-seeds if you must; ad platforms advise 1,000 or more)"
    )]
    TooFewSeeds {
        /// Seeds found.
        seeds: usize,
        /// The minimum.
        minimum: usize,
    },
    /// Every candidate was left out.
    #[error(
        "no candidate customer is left (the base minus the seeds, exclusions, consent and scope is empty)"
    )]
    NoCandidates,
    /// Fewer seeds than cross-validation folds.
    #[error(
        "{seeds} seed customers cannot be split into {folds} folds: give --folds {seeds} or fewer (5 is usual)"
    )]
    FewerSeedsThanFolds {
        /// Seeds found.
        seeds: usize,
        /// Folds asked for.
        folds: usize,
    },
    /// A tier given as a share above 100%.
    #[error("tier size {0:?} is more than 100% of the candidates")]
    ShareAboveAll(String),
    /// A tier size of zero customers.
    #[error("tier size {0:?} selects no customer")]
    EmptyTier(String),
    /// A tier larger than the candidate pool.
    #[error("tier size {size:?} is more than the {candidates} candidates")]
    TierTooLarge {
        /// The size as written.
        size: String,
        /// Candidates in the pool.
        candidates: usize,
    },
    /// A tier size that is neither a percentage nor a count.
    #[error("tier size {0:?}: give a percentage (5%) or a count (10000)")]
    BadTierSize(String),
    /// No tier sizes.
    #[error("at least one tier size is needed")]
    NoTiers,
    /// The control share must be in [0, 1).
    #[error("holdout share {0} must be at least 0 and below 1")]
    BadHoldout(f64),
    /// A neighbour count of zero.
    #[error("k (neighbours) must be at least 1")]
    ZeroNeighbours,
    /// A seed value that is not a non-negative number.
    #[error("seed {row}: value {value} must be a non-negative number")]
    BadSeedValue {
        /// 0-based position in the seed list.
        row: usize,
        /// The value.
        value: f64,
    },
    /// Every seed value is zero.
    #[error("every seed value is 0: value-weighted scores would all be 0")]
    ZeroSeedValues,
    /// A feature value is NaN or infinite.
    #[error("row {row}, column {column}: {value} is not a finite number")]
    NonFinite {
        /// 0-based row of the data.
        row: usize,
        /// 0-based column.
        column: usize,
        /// The value.
        value: f64,
    },
    /// A row index outside the data.
    #[error("row {row} is outside the data ({rows} rows)")]
    RowOutOfRange {
        /// The row.
        row: usize,
        /// Rows in the data.
        rows: usize,
    },
    /// Ranking by value without values.
    #[error("ranking by value needs each candidate's expected value (a value model)")]
    NoValues,
    /// One value per row of the data is needed.
    #[error("{values} expected values for {rows} rows")]
    ValueCount {
        /// Values given.
        values: usize,
        /// Rows of the data.
        rows: usize,
    },
    /// A candidate's expected value is NaN or infinite.
    #[error("row {row}: expected value {value} is not a finite number")]
    NonFiniteValue {
        /// 0-based row.
        row: usize,
        /// The value.
        value: f64,
    },
    /// Cross-validation needs at least two folds.
    #[error("{0} folds: the evaluation needs at least 2")]
    TooFewFolds(usize),
    /// A saved scorer does not fit the seed rows or candidates given to it.
    #[error("the saved scorer does not fit its data: {0}")]
    BadSavedScorer(String),
    /// Candidates with another number of columns than the scorer was fitted on.
    #[error("the scorer was fitted on {expected} columns but the candidates have {got}")]
    ColumnCount {
        /// Columns of the fit.
        expected: usize,
        /// Columns given.
        got: usize,
    },
    /// The classifier could not be fitted.
    #[error("the classifier scorer failed: {0}")]
    Classifier(String),
    /// The clustering crate refused (k-means of the seeds or the neighbour search).
    #[error(transparent)]
    Cluster(#[from] lookalike_cluster::ClusterError),
    /// An audience name that could not name a file and a column prefix safely.
    #[error(
        "audience name {0:?}: use 1 to 100 letters, digits, '_' or '-' (it names output columns and files)"
    )]
    BadAudienceName(String),
    /// Stored tier cuts that are missing, not nested or not numbers.
    #[error("tier cuts: {0}")]
    BadTierCuts(String),
}
