//! Lifecycle stages from purchase history.

use serde::Serialize;

/// Where a customer is in their life with the business.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Lifecycle {
    /// Known (events, sign-up) but never bought.
    Prospect,
    /// One purchase day, not lapsing.
    FirstTimeBuyer,
    /// Two or more purchase days, not lapsing.
    RepeatBuyer,
    /// Many purchase days, not lapsing.
    Loyal,
    /// No purchase for clearly longer than this customer's usual gap.
    Lapsing,
    /// No purchase for far longer than the usual gap.
    Lost,
}

impl Lifecycle {
    /// Every stage, in declaration order (so `ALL[stage as usize] == stage`).
    pub const ALL: [Lifecycle; 6] = [
        Lifecycle::Prospect,
        Lifecycle::FirstTimeBuyer,
        Lifecycle::RepeatBuyer,
        Lifecycle::Loyal,
        Lifecycle::Lapsing,
        Lifecycle::Lost,
    ];

    /// The stage's name, as written in outputs.
    pub fn name(self) -> &'static str {
        match self {
            Lifecycle::Prospect => "prospect",
            Lifecycle::FirstTimeBuyer => "first_time_buyer",
            Lifecycle::RepeatBuyer => "repeat_buyer",
            Lifecycle::Loyal => "loyal",
            Lifecycle::Lapsing => "lapsing",
            Lifecycle::Lost => "lost",
        }
    }
}

/// Thresholds of the lifecycle stages. Consuming setters; each says its default.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LifecycleParams {
    pub(crate) lapsing_factor: f64,
    pub(crate) lost_factor: f64,
    pub(crate) single_purchase_gap_days: f64,
    pub(crate) min_gap_days: f64,
    pub(crate) loyal_min_purchase_days: f64,
}

impl Default for LifecycleParams {
    fn default() -> Self {
        LifecycleParams {
            lapsing_factor: 2.0,
            lost_factor: 4.0,
            single_purchase_gap_days: 90.0,
            min_gap_days: 14.0,
            loyal_min_purchase_days: 5.0,
        }
    }
}

impl LifecycleParams {
    /// Lapsing after `factor` × the customer's usual gap without a purchase. Default: 2.
    pub fn lapsing_factor(mut self, factor: f64) -> Self {
        self.lapsing_factor = factor;
        self
    }

    /// Lost after `factor` × the usual gap. Default: 4.
    pub fn lost_factor(mut self, factor: f64) -> Self {
        self.lost_factor = factor;
        self
    }

    /// The usual gap assumed for customers with one purchase day. Default: 90 days.
    pub fn single_purchase_gap_days(mut self, days: f64) -> Self {
        self.single_purchase_gap_days = days;
        self
    }

    /// Usual gaps shorter than this are raised to it, so that a burst of same-week orders does
    /// not make a customer lapse within days. Default: 14 days.
    pub fn min_gap_days(mut self, days: f64) -> Self {
        self.min_gap_days = days;
        self
    }

    /// Purchase days from which a customer is loyal. Default: 5.
    pub fn loyal_min_purchase_days(mut self, days: f64) -> Self {
        self.loyal_min_purchase_days = days;
        self
    }

    /// The stage of a customer with `purchase_days` distinct purchase days (0 = prospect), the
    /// last `days_since_last` days ago and a mean gap of `mean_gap_days` (NaN with one day).
    ///
    /// ```
    /// use lookalike_rfm::{Lifecycle, LifecycleParams};
    /// let p = LifecycleParams::default();
    /// assert_eq!(p.stage(0.0, f64::NAN, f64::NAN), Lifecycle::Prospect);
    /// assert_eq!(p.stage(1.0, 30.0, f64::NAN), Lifecycle::FirstTimeBuyer);
    /// assert_eq!(p.stage(3.0, 70.0, 30.0), Lifecycle::Lapsing);
    /// assert_eq!(p.stage(6.0, 10.0, 30.0), Lifecycle::Loyal);
    /// ```
    pub fn stage(&self, purchase_days: f64, days_since_last: f64, mean_gap_days: f64) -> Lifecycle {
        if purchase_days.is_nan() || purchase_days < 1.0 || days_since_last.is_nan() {
            return Lifecycle::Prospect;
        }
        let usual = if purchase_days >= 2.0 && !mean_gap_days.is_nan() {
            mean_gap_days
        } else {
            self.single_purchase_gap_days
        }
        .max(self.min_gap_days);
        if days_since_last > self.lost_factor * usual {
            Lifecycle::Lost
        } else if days_since_last > self.lapsing_factor * usual {
            Lifecycle::Lapsing
        } else if purchase_days >= self.loyal_min_purchase_days {
            Lifecycle::Loyal
        } else if purchase_days >= 2.0 {
            Lifecycle::RepeatBuyer
        } else {
            Lifecycle::FirstTimeBuyer
        }
    }

    pub(crate) fn validate(&self) -> Result<(), crate::RfmError> {
        let positive = [
            ("lapsing factor", self.lapsing_factor),
            ("single-purchase gap", self.single_purchase_gap_days),
            ("minimum gap", self.min_gap_days),
            ("loyal purchase days", self.loyal_min_purchase_days),
        ];
        for (name, value) in positive {
            if value.is_nan() || value <= 0.0 {
                return Err(crate::RfmError::InvalidParameter(format!(
                    "the {name} must be positive (got {value})"
                )));
            }
        }
        if self.lost_factor.is_nan() || self.lost_factor <= self.lapsing_factor {
            return Err(crate::RfmError::InvalidParameter(format!(
                "the lost factor ({}) must be larger than the lapsing factor ({})",
                self.lost_factor, self.lapsing_factor
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{RfmSegment, ValueTier};

    #[test]
    fn all_lists_are_in_declaration_order() {
        // Outputs and rules code values as `value as u8` and decode them through ALL.
        assert!(
            Lifecycle::ALL
                .iter()
                .enumerate()
                .all(|(i, x)| *x as usize == i)
        );
        assert!(
            RfmSegment::ALL
                .iter()
                .enumerate()
                .all(|(i, x)| *x as usize == i)
        );
        assert!(
            ValueTier::ALL
                .iter()
                .enumerate()
                .all(|(i, x)| *x as usize == i)
        );
    }
}
