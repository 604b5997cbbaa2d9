/// Why a measurement cannot be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MeasureError {
    /// A group without members.
    #[error("the {0} group is empty: lift cannot be measured without it")]
    EmptyGroup(&'static str),
    /// More converters than customers, or a negative count.
    #[error("{converters} converters among {customers} customers")]
    BadCounts {
        /// Converters given.
        converters: u64,
        /// Customers given.
        customers: u64,
    },
    /// A group too small for a variance (Welch needs two values per group).
    #[error("the {0} group needs at least two customers for a variance")]
    TooFewForVariance(&'static str),
    /// A covariate of another length than the outcome.
    #[error("{outcome} outcome values but {covariate} pre-period values")]
    LengthMismatch {
        /// Outcome values.
        outcome: usize,
        /// Covariate values.
        covariate: usize,
    },
    /// A parameter out of its range.
    #[error("{0}")]
    OutOfRange(String),
}
