//! Why a value model cannot be fitted or applied. One validation rule, one variant.

/// Errors of the value crate.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ValueError {
    /// The three summary columns have different lengths.
    #[error("frequency, recency and T have different lengths ({0}, {1}, {2})")]
    LengthMismatch(usize, usize, usize),
    /// No customer with a purchase: nothing to fit.
    #[error("no customer has a purchase (every row is empty): nothing to fit")]
    NoCustomers,
    /// A summary value is missing while others of the same row are present.
    #[error("row {row}: {column} is missing while the other BTYD columns are present")]
    PartlyMissing {
        /// 0-based row.
        row: usize,
        /// The missing column.
        column: &'static str,
    },
    /// Frequency must be a whole number ≥ 0.
    #[error("row {row}: frequency {value} is not a whole number ≥ 0")]
    BadFrequency {
        /// 0-based row.
        row: usize,
        /// The value found.
        value: f64,
    },
    /// Recency and T must be finite and ≥ 0.
    #[error("row {row}: {column} {value} is not a finite number ≥ 0")]
    BadTime {
        /// 0-based row.
        row: usize,
        /// `recency` or `T`.
        column: &'static str,
        /// The value found.
        value: f64,
    },
    /// The last purchase cannot be after the end of calibration.
    #[error(
        "row {row}: recency {recency} is after T {t} (the last purchase after the end of the period)"
    )]
    RecencyAfterT {
        /// 0-based row.
        row: usize,
        /// t_x.
        recency: f64,
        /// T.
        t: f64,
    },
    /// A repeat purchase needs time after the first one.
    #[error(
        "row {row}: frequency {frequency} > 0 but recency is 0 (repeat purchases need a later day)"
    )]
    RepeatWithoutRecency {
        /// 0-based row.
        row: usize,
        /// x.
        frequency: f64,
    },
    /// Without repeat buyers, the purchase and dropout processes cannot be told apart.
    #[error(
        "no customer made a repeat purchase: the purchase-rate and dropout parameters cannot be estimated"
    )]
    NoRepeatBuyers,
    /// BG/BB counts opportunities: its histories must be whole numbers of them.
    #[error(
        "BG/BB needs histories in whole opportunities with at most one transaction each (x ≤ t_x ≤ n); found x = {frequency}, t_x = {recency}, n = {t}: summarise the log with --time-unit days, each day one opportunity"
    )]
    NotDiscrete {
        /// x of the first such history.
        frequency: f64,
        /// t_x of it.
        recency: f64,
        /// n (T) of it.
        t: f64,
    },
    /// The spend model needs repeat buyers with a positive mean spend.
    #[error("{0} repeat buyers with a positive spend: the spend model needs at least 2")]
    TooFewSpenders(usize),
    /// A spend value is NaN or infinite.
    #[error("row {row}: monetary value {value} is not a finite number")]
    BadSpend {
        /// 0-based row.
        row: usize,
        /// The value found.
        value: f64,
    },
    /// The penalty must be a finite number ≥ 0.
    #[error("penalty must be a finite number ≥ 0 (got {0})")]
    BadPenalty(f64),
    /// Parameters must be finite and positive.
    #[error("parameter {name} = {value} must be a finite number > 0")]
    BadParameter {
        /// The parameter's name.
        name: &'static str,
        /// The value found.
        value: f64,
    },
    /// A horizon must be finite and ≥ 0.
    #[error("horizon {0} must be a finite number ≥ 0")]
    BadHorizon(f64),
    /// A horizon longer than [`crate::MAX_HORIZON_MONTHS`].
    #[error(
        "horizon {horizon} {unit:?} is longer than 100 years: give at most 1200 months, 5217 weeks or 36525 days"
    )]
    HorizonTooLong {
        /// The horizon as given.
        horizon: f64,
        /// Its unit.
        unit: crate::HorizonUnit,
    },
    /// A discount rate must be finite and > −1.
    #[error("discount rate {0} must be a finite number > −1 (0.01 = 1% per month)")]
    BadDiscount(f64),
    /// No starting point led to a finite likelihood.
    #[error("{model}: no starting point gave a finite log-likelihood; the data may be degenerate")]
    NoFiniteStart {
        /// The model's name.
        model: &'static str,
    },
    /// A named choice that is not one of the known ones.
    #[error("{what} {given:?}: expected {expected}")]
    UnknownChoice {
        /// What was being chosen.
        what: &'static str,
        /// The text given.
        given: String,
        /// The known names.
        expected: &'static str,
    },
    /// A stored model without one of its parameters.
    #[error("parameter {0} is missing")]
    MissingParameter(&'static str),
}

impl ValueError {
    /// The 0-based row an error is about, if it is about one.
    ///
    /// ```
    /// use lookalike_value::ValueError;
    /// assert_eq!(ValueError::BadSpend { row: 4, value: f64::NAN }.row(), Some(4));
    /// assert_eq!(ValueError::NoCustomers.row(), None);
    /// ```
    pub fn row(&self) -> Option<usize> {
        match self {
            ValueError::PartlyMissing { row, .. }
            | ValueError::BadFrequency { row, .. }
            | ValueError::BadTime { row, .. }
            | ValueError::RecencyAfterT { row, .. }
            | ValueError::RepeatWithoutRecency { row, .. }
            | ValueError::BadSpend { row, .. } => Some(*row),
            _ => None,
        }
    }
}
