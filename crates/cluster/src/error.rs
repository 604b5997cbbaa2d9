/// Why a clustering cannot be fitted. One validation rule, one variant.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ClusterError {
    /// k must be at least 1.
    #[error("k must be at least 1")]
    ZeroClusters,
    /// At least one iteration is needed.
    #[error("max_iter must be at least 1")]
    ZeroIterations,
    /// At least one restart is needed.
    #[error("n_init must be at least 1")]
    ZeroRestarts,
    /// The tolerance must be a non-negative number.
    #[error("tol must be a non-negative number (got {0})")]
    BadTolerance(f64),
    /// There is nothing to cluster.
    #[error("the data has no rows (or no columns)")]
    EmptyInput,
    /// A value is NaN or infinite.
    #[error("row {row}, column {column}: {value} is not a finite number")]
    NonFinite {
        /// 0-based row.
        row: usize,
        /// 0-based column.
        column: usize,
        /// The value.
        value: f64,
    },
    /// Fewer distinct points than clusters.
    #[error("k = {k} but the data has only {distinct} distinct points")]
    TooFewDistinctPoints {
        /// Clusters asked for.
        k: usize,
        /// Distinct points found.
        distinct: usize,
    },
    /// The sample weights do not fit the data.
    #[error("sample weights: {0}")]
    BadWeights(String),
    /// Initial centroids of the wrong shape were given.
    #[error("initial centroids are {got:?} (rows × columns), expected {expected:?}")]
    BadInitialCentroids {
        /// Their shape.
        got: (usize, usize),
        /// k × the data's columns.
        expected: (usize, usize),
    },
    /// Two labelings of different lengths were compared.
    #[error("the labelings have {0} and {1} labels")]
    LabelLengthMismatch(usize, usize),
}
