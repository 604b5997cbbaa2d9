//! Customer lifetime value over a horizon: expected purchases per period × expected spend per
//! purchase, discounted.
//!
//! Convention: the horizon is cut into months; the purchases expected in month i are
//! E[Y(i)] − E[Y(i−1)] (the model's conditional expectation), valued at the Gamma-Gamma
//! expected spend and discounted at the end of the month by (1 + d)^i, d per month. A final
//! partial month is discounted by (1 + d)^(fractional i). This is the convention of
//! lifetimes' `customer_lifetime_value`; its month is 30 days (or 4.345 weeks), ours by default
//! a calendar month of 365.25/12 = 30.4375 days, and [`MonthLength::Lifetimes`] reproduces its
//! numbers exactly.

use crate::error::ValueError;
use crate::forecast::{Horizon, forecast_one};
use crate::purchases::PurchaseModel;
use crate::summary::Summary;

/// Days in a month for CLV's monthly steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum MonthLength {
    /// 365.25 / 12 = 30.4375 days.
    #[default]
    Calendar,
    /// lifetimes' factors: 30 days, or 4.345 weeks when the model's unit is weeks.
    Lifetimes,
}

impl std::str::FromStr for MonthLength {
    type Err = ValueError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "calendar" => Ok(MonthLength::Calendar),
            "lifetimes" => Ok(MonthLength::Lifetimes),
            _ => Err(ValueError::UnknownChoice {
                what: "month",
                given: text.to_string(),
                expected: "calendar or lifetimes",
            }),
        }
    }
}

impl MonthLength {
    /// The name used in files and options.
    pub fn name(self) -> &'static str {
        match self {
            MonthLength::Calendar => "calendar",
            MonthLength::Lifetimes => "lifetimes",
        }
    }

    /// One month in the model's time unit, given the unit's length in days.
    ///
    /// ```
    /// use lookalike_value::MonthLength;
    /// assert_eq!(MonthLength::Lifetimes.in_units(7.0), 4.345);
    /// assert_eq!(MonthLength::Calendar.in_units(1.0), 30.4375);
    /// ```
    pub fn in_units(self, unit_days: f64) -> f64 {
        match self {
            MonthLength::Calendar => 365.25 / 12.0 / unit_days,
            MonthLength::Lifetimes if unit_days == 7.0 => 4.345,
            MonthLength::Lifetimes => 30.0 / unit_days,
        }
    }
}

/// CLV of one customer over `months` months (each `month` time units long) at discount rate
/// `discount` per month, with expected spend per purchase `spend`.
///
/// ```
/// use lookalike_value::{BgNbd, Summary, clv};
/// let model = BgNbd::new(0.243, 4.414, 0.793, 2.426).unwrap();
/// let customer = Summary { frequency: 2.0, recency: 30.43, t: 38.86 };
/// let undiscounted = clv(&model, &customer, 20.0, 12.0, 4.345, 0.0).unwrap();
/// let expected = 20.0 * lookalike_value::PurchaseModel::expected_purchases(&model, 12.0 * 4.345, &customer);
/// assert!((undiscounted - expected).abs() < 1e-9);
/// ```
pub fn clv(
    model: &dyn PurchaseModel,
    customer: &Summary,
    spend: f64,
    months: f64,
    month: f64,
    discount: f64,
) -> Result<f64, ValueError> {
    let horizon = Horizon::new(months, month, discount)?;
    Ok(spend * forecast_one(model, customer, &horizon).discounted_purchases)
}
