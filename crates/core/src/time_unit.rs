//! The unit of the BTYD durations (`recency`, `T`) and of every rate fitted on them: one
//! definition for feature extraction, the value model and the trained pipeline, so that a
//! model fitted in weeks can never silently score features in days.

use serde::{Deserialize, Serialize};

use crate::CoreError;

/// The unit of the BTYD summary's durations (`recency`, `T`).
///
/// ```
/// use lookalike_core::TimeUnit;
/// let unit: TimeUnit = "days".parse().unwrap();
/// assert_eq!((unit.days(), unit.name()), (1.0, "days"));
/// assert!("fortnights".parse::<TimeUnit>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum TimeUnit {
    /// Days.
    Days,
    /// Weeks of seven days, as in the BG/NBD and Pareto/NBD papers.
    #[default]
    Weeks,
}

impl TimeUnit {
    /// Every unit, for messages and argument parsers.
    pub const ALL: [TimeUnit; 2] = [TimeUnit::Days, TimeUnit::Weeks];

    /// Length of one unit in days.
    pub fn days(self) -> f64 {
        match self {
            TimeUnit::Days => 1.0,
            TimeUnit::Weeks => 7.0,
        }
    }

    /// The name used in files and options (`days`, `weeks`).
    pub fn name(self) -> &'static str {
        match self {
            TimeUnit::Days => "days",
            TimeUnit::Weeks => "weeks",
        }
    }
}

impl std::fmt::Display for TimeUnit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for TimeUnit {
    type Err = CoreError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        TimeUnit::ALL
            .into_iter()
            .find(|u| u.name() == text)
            .ok_or_else(|| CoreError::UnknownTimeUnit(text.to_string()))
    }
}
