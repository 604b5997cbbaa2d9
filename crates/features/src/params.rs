//! The options of feature extraction.

use chrono::NaiveDate;
use lookalike_core::IdPartition;

use crate::FeatureError;

/// What to do with a row that cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum OnBadRow {
    /// Stop at the first bad row and report it (the default: nothing is silently dropped).
    #[default]
    Fail,
    /// Skip bad rows, count them and report the first few.
    Skip,
}

pub use lookalike_core::TimeUnit;

/// How to build features. Consuming setters; each says its default.
///
/// ```
/// use lookalike_features::{FeatureParams, TimeUnit};
/// let params = FeatureParams::new()
///     .as_of(chrono::NaiveDate::from_ymd_opt(1997, 10, 1).unwrap())
///     .time_unit(TimeUnit::Weeks);
/// assert_eq!(params.top_levels_value(), 8);
/// ```
#[derive(Debug, Clone)]
pub struct FeatureParams {
    pub(crate) as_of: Option<NaiveDate>,
    pub(crate) holdout_end: Option<NaiveDate>,
    pub(crate) time_unit: TimeUnit,
    pub(crate) on_bad_row: OnBadRow,
    pub(crate) threads: usize,
    pub(crate) top_levels: usize,
    pub(crate) customers_in: Vec<IdPartition>,
}

impl Default for FeatureParams {
    fn default() -> Self {
        FeatureParams {
            as_of: None,
            holdout_end: None,
            time_unit: TimeUnit::Weeks,
            on_bad_row: OnBadRow::Fail,
            threads: rayon::current_num_threads(),
            top_levels: 8,
            customers_in: Vec::new(),
        }
    }
}

impl FeatureParams {
    /// Parameters with every default.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only rows strictly before this date feed features. Default: the day after the last
    /// transaction.
    pub fn as_of(mut self, date: NaiveDate) -> Self {
        self.as_of = Some(date);
        self
    }

    /// Adds holdout targets measured from as-of up to (not including) this date. Default: none.
    pub fn holdout_end(mut self, date: NaiveDate) -> Self {
        self.holdout_end = Some(date);
        self
    }

    /// Unit of `recency` and `T`. Default: weeks.
    pub fn time_unit(mut self, unit: TimeUnit) -> Self {
        self.time_unit = unit;
        self
    }

    /// What to do with unreadable rows. Default: fail.
    pub fn on_bad_row(mut self, policy: OnBadRow) -> Self {
        self.on_bad_row = policy;
        self
    }

    /// Reader threads. Default: rayon's thread count (all cores).
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }

    /// How many categories, channels and attribute levels get their own column. Default: 8.
    pub fn top_levels(mut self, levels: usize) -> Self {
        self.top_levels = levels;
        self
    }

    /// Keeps only the customers whose id is in `part` (repeatable: a customer must be in every
    /// part given), so that a base too large for memory can be built part by part. Every row is
    /// still read and checked; the as-of date found from the data is the same for every part.
    /// Columns that rank levels (the top categories, channels and attribute levels) rank them
    /// among the kept customers. Default: every customer.
    pub fn only_customers_in(mut self, part: IdPartition) -> Self {
        self.customers_in.push(part);
        self
    }

    /// The parts a customer must be in to be kept ([`only_customers_in`](Self::only_customers_in)).
    pub fn customers_in_value(&self) -> impl Iterator<Item = &IdPartition> {
        self.customers_in.iter()
    }

    /// The number of levels that get their own column.
    pub fn top_levels_value(&self) -> usize {
        self.top_levels
    }

    pub(crate) fn validate(&self) -> Result<(), FeatureError> {
        if self.threads == 0 {
            return Err(FeatureError::InvalidOptions(
                "threads must be at least 1".into(),
            ));
        }
        if self.top_levels == 0 {
            return Err(FeatureError::InvalidOptions(
                "top levels must be at least 1".into(),
            ));
        }
        match (self.as_of, self.holdout_end) {
            (None, Some(_)) => Err(FeatureError::InvalidOptions(
                "a holdout end needs an explicit as-of date (--as-of), where calibration ends"
                    .into(),
            )),
            (Some(a), Some(h)) if h <= a => Err(FeatureError::InvalidOptions(format!(
                "the holdout end {h} must be after the as-of date {a}"
            ))),
            _ => Ok(()),
        }
    }
}
