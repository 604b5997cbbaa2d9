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

/// What to do with a log line that has no customer id (a guest checkout, an anonymous visit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum MissingCustomer {
    /// Such a line is a bad row (the default: a missing id may be a broken export).
    #[default]
    Fail,
    /// Leave such lines out and count them apart from bad rows.
    Skip,
}

/// How shop exports are read beyond their columns: guest lines, text timestamps in a local
/// format, attributes written on the lines. One set of options for every front end (the CLI's
/// flags, the pipeline file's `[input]`, Python's keyword arguments).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
pub struct LogReading {
    /// Log lines without a customer id (guest checkouts): fail, or skip them and count them
    /// apart from bad rows.
    #[cfg_attr(feature = "clap", arg(long, value_enum, default_value_t = MissingCustomer::Fail))]
    #[serde(default)]
    pub missing_customer: MissingCustomer,
    /// strftime format of text timestamps, e.g. "%m/%d/%Y %H:%M" for `12/1/2010 8:26` (default:
    /// ISO dates and datetimes, yyyymmdd and unix seconds are recognised by themselves).
    #[cfg_attr(feature = "clap", arg(long, value_name = "FORMAT"))]
    #[serde(default)]
    pub date_format: Option<String>,
    /// A transaction-log column to make a customer attribute of (e.g. Country): the value on
    /// most of the customer's lines, encoded like a customers-file attribute. Repeatable.
    #[cfg_attr(feature = "clap", arg(long = "attribute", value_name = "COLUMN"))]
    #[serde(default)]
    pub attributes: Vec<String>,
}

impl LogReading {
    /// `params` with these reading options.
    pub fn apply(&self, mut params: FeatureParams) -> FeatureParams {
        params = params.missing_customer(self.missing_customer);
        if let Some(format) = &self.date_format {
            params = params.date_format(format.clone());
        }
        for column in &self.attributes {
            params = params.line_attribute(column.clone());
        }
        params
    }
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
    pub(crate) missing_customer: MissingCustomer,
    pub(crate) date_format: Option<String>,
    pub(crate) line_attributes: Vec<String>,
    pub(crate) vocabulary: Option<crate::Vocabulary>,
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
            missing_customer: MissingCustomer::Fail,
            date_format: None,
            line_attributes: Vec::new(),
            vocabulary: None,
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

    /// What to do with log lines without a customer id. Default: fail.
    pub fn missing_customer(mut self, policy: MissingCustomer) -> Self {
        self.missing_customer = policy;
        self
    }

    /// The strftime format of text timestamps in the logs (e.g. `%m/%d/%Y %H:%M` for
    /// `12/1/2010 8:26`). Default: none — ISO dates and datetimes, `yyyymmdd` and unix seconds
    /// are recognised by themselves. Typed Parquet dates and timestamps never need one.
    pub fn date_format(mut self, format: impl Into<String>) -> Self {
        self.date_format = Some(format.into());
        self
    }

    /// Makes a per-customer attribute of a transaction-log column (`Country` on each line): the
    /// customer's most frequent value over their lines before as-of (ties: the smallest value,
    /// so that line order does not matter), encoded like a customers-file attribute.
    /// Repeatable. Default: none.
    pub fn line_attribute(mut self, column: impl Into<String>) -> Self {
        self.line_attributes.push(column.into());
        self
    }

    /// Fixes the columns chosen from the whole base (share columns, attribute encodings) for an
    /// extraction over one part of it, so that every part of a base split over workers gets the
    /// same columns and values as one extraction over the whole base. Needs the as-of date;
    /// cannot be combined with line attributes (their encoding is not part of a vocabulary).
    pub fn vocabulary(mut self, vocabulary: crate::Vocabulary) -> Self {
        self.vocabulary = Some(vocabulary);
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
        if let Some(format) = &self.date_format {
            crate::cell::check_date_format(format).map_err(FeatureError::InvalidOptions)?;
        }
        if self.line_attributes.len() > 8 {
            return Err(FeatureError::InvalidOptions(format!(
                "{} line attributes given; at most 8",
                self.line_attributes.len()
            )));
        }
        for (i, column) in self.line_attributes.iter().enumerate() {
            if self.line_attributes[..i].contains(column) {
                return Err(FeatureError::InvalidOptions(format!(
                    "the line attribute {column:?} is given twice"
                )));
            }
        }
        if self.vocabulary.is_some() {
            if self.as_of.is_none() {
                return Err(FeatureError::InvalidOptions(
                    "a fixed vocabulary needs the as-of date, as every part of the base must use the same".into(),
                ));
            }
            if !self.line_attributes.is_empty() {
                return Err(FeatureError::InvalidOptions(
                    "line attributes cannot be combined with a fixed vocabulary: their encoding is chosen from the whole base".into(),
                ));
            }
        }
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
