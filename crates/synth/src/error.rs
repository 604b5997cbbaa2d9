use std::path::PathBuf;

/// What can go wrong while generating.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    /// Zero customers were asked for.
    #[error("the number of customers must be at least 1")]
    NoCustomers,
    /// The observation period is empty or reversed.
    #[error("the observation end {end} must be after its start {start}")]
    EmptyPeriod {
        /// Start date.
        start: chrono::NaiveDate,
        /// End date.
        end: chrono::NaiveDate,
    },
    /// Model parameters that cannot draw a log.
    #[error("{0}")]
    Parameters(String),
    /// Writing a file failed.
    #[error("writing {path}: {message}")]
    Write {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}
