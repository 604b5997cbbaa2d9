//! Conversion of a treated group against its control group.

use serde::Serialize;
use statrs::distribution::{ContinuousCDF, Normal};

use crate::MeasureError;

/// A confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    /// Lower end.
    pub low: f64,
    /// Upper end.
    pub high: f64,
}

impl Interval {
    /// Whether `value` lies in the interval (ends included).
    pub fn contains(&self, value: f64) -> bool {
        self.low <= value && value <= self.high
    }

    pub(crate) fn scaled(self, factor: f64) -> Interval {
        Interval {
            low: self.low * factor,
            high: self.high * factor,
        }
    }
}

/// Refuses a confidence level outside (0, 1).
pub(crate) fn check_level(level: f64) -> Result<(), MeasureError> {
    if level > 0.0 && level < 1.0 {
        Ok(())
    } else {
        Err(MeasureError::OutOfRange(format!(
            "confidence level {level} must be between 0 and 1"
        )))
    }
}

/// The standard normal quantile of a two-sided level (1.959964… for 95%).
pub(crate) fn z_of(level: f64) -> f64 {
    let normal = Normal::standard();
    normal.inverse_cdf(1.0 - (1.0 - level) / 2.0)
}

fn check_counts(converters: u64, customers: u64) -> Result<(), MeasureError> {
    if converters > customers {
        return Err(MeasureError::BadCounts {
            converters,
            customers,
        });
    }
    Ok(())
}

/// Wilson's score interval for a proportion `converters / customers` (Wilson 1927), which keeps
/// its coverage for small counts and proportions near 0 where the normal interval fails.
///
/// ```
/// let ci = lookalike_measure::wilson(230, 4000, 0.95).unwrap();
/// // statsmodels: proportion_confint(230, 4000, 0.05, 'wilson')
/// assert!((ci.low - 0.050701252776744136).abs() < 1e-12);
/// ```
pub fn wilson(converters: u64, customers: u64, level: f64) -> Result<Interval, MeasureError> {
    check_counts(converters, customers)?;
    if customers == 0 {
        return Err(MeasureError::EmptyGroup("measured"));
    }
    let (x, n, z) = (converters as f64, customers as f64, z_of(level));
    let p = x / n;
    let z2 = z * z;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = z / (1.0 + z2 / n) * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    Ok(Interval {
        low: (centre - half).max(0.0),
        high: (centre + half).min(1.0),
    })
}

/// Conversion of the treated against the control group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProportionLift {
    /// Conversion rate of the treated group and its Wilson interval.
    pub treated_rate: f64,
    /// Its interval.
    pub treated_interval: Interval,
    /// Conversion rate of the control group.
    pub control_rate: f64,
    /// Its interval.
    pub control_interval: Interval,
    /// Absolute lift: treated rate − control rate.
    pub absolute: f64,
    /// Newcombe's hybrid score interval of the difference (Newcombe 1998, method 10).
    pub absolute_interval: Interval,
    /// Relative lift: treated rate / control rate − 1 (None when the control never converted).
    pub relative: Option<f64>,
    /// The log (Katz) interval of the ratio, minus 1 (None when either group never converted).
    pub relative_interval: Option<Interval>,
    /// Two-sided p-value of the pooled two-proportion z-test.
    pub p_value: f64,
    /// Conversions the treatment added among the treated: absolute lift × treated customers.
    pub incremental: f64,
    /// Its interval.
    pub incremental_interval: Interval,
}

/// Conversion lift of `treated = (converters, customers)` over `control`, at a two-sided
/// confidence `level` (0.95).
///
/// ```
/// let lift = lookalike_measure::proportion_lift((230, 4000), (160, 4000), 0.95).unwrap();
/// assert!((lift.absolute - 0.0175).abs() < 1e-12);
/// assert!(lift.absolute_interval.low > 0.0);
/// ```
pub fn proportion_lift(
    treated: (u64, u64),
    control: (u64, u64),
    level: f64,
) -> Result<ProportionLift, MeasureError> {
    check_counts(treated.0, treated.1)?;
    check_counts(control.0, control.1)?;
    if treated.1 == 0 {
        return Err(MeasureError::EmptyGroup("treated"));
    }
    if control.1 == 0 {
        return Err(MeasureError::EmptyGroup("control"));
    }
    check_level(level)?;
    let (x1, n1) = (treated.0 as f64, treated.1 as f64);
    let (x0, n0) = (control.0 as f64, control.1 as f64);
    let (p1, p0) = (x1 / n1, x0 / n0);
    let (w1, w0) = (
        wilson(treated.0, treated.1, level)?,
        wilson(control.0, control.1, level)?,
    );
    // Newcombe's method 10: the difference's limits from the two Wilson intervals.
    let diff = p1 - p0;
    let absolute_interval = Interval {
        low: diff - ((p1 - w1.low).powi(2) + (w0.high - p0).powi(2)).sqrt(),
        high: diff + ((w1.high - p1).powi(2) + (p0 - w0.low).powi(2)).sqrt(),
    };
    let z = z_of(level);
    let relative_interval = (treated.0 > 0 && control.0 > 0).then(|| {
        let log_ratio = (p1 / p0).ln();
        let se = (1.0 / x1 - 1.0 / n1 + 1.0 / x0 - 1.0 / n0).sqrt();
        Interval {
            low: (log_ratio - z * se).exp() - 1.0,
            high: (log_ratio + z * se).exp() - 1.0,
        }
    });
    let pooled = (x1 + x0) / (n1 + n0);
    let se = (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n0)).sqrt();
    let p_value = if se > 0.0 {
        2.0 * Normal::standard().sf((diff / se).abs())
    } else {
        1.0
    };
    Ok(ProportionLift {
        treated_rate: p1,
        treated_interval: w1,
        control_rate: p0,
        control_interval: w0,
        absolute: diff,
        absolute_interval,
        relative: (control.0 > 0).then(|| p1 / p0 - 1.0),
        relative_interval,
        p_value,
        incremental: diff * n1,
        incremental_interval: absolute_interval.scaled(n1),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-12 * b.abs().max(1.0), "{a} vs {b}");
    }

    /// Reference values from statsmodels 0.15 on the same counts:
    /// `proportion_confint(x, n, 0.05, 'wilson')`,
    /// `confint_proportions_2indep(230, 4000, 160, 4000, method='newcomb', compare='diff')`,
    /// `… method='log', compare='ratio'`, `proportions_ztest([230, 160], [4000, 4000])`.
    #[test]
    fn intervals_and_p_values_equal_statsmodels() {
        let lift = proportion_lift((230, 4000), (160, 4000), 0.95).unwrap();
        close(lift.treated_interval.low, 0.050701252776744136);
        close(lift.treated_interval.high, 0.0651478545346417);
        close(lift.control_interval.low, 0.03435550734181986);
        close(lift.control_interval.high, 0.04652718048470553);
        close(lift.absolute_interval.low, 0.008075189716198528);
        close(lift.absolute_interval.high, 0.027005260456783343);
        let relative = lift.relative_interval.unwrap();
        close(relative.low + 1.0, 1.180517321427165);
        close(relative.high + 1.0, 1.7504243372743196);
        close(lift.p_value, 0.0002787578434773728);
        close(lift.incremental, 70.0);
        // Small counts, and a control group that never converted.
        let w = wilson(3, 40, 0.95).unwrap();
        close(w.low, 0.025836025774588184);
        close(w.high, 0.1986423352431055);
        let lift = proportion_lift((3, 40), (0, 35), 0.95).unwrap();
        close(lift.absolute_interval.low, -0.03544683175351293);
        close(lift.absolute_interval.high, 0.1986423352431055);
        assert_eq!(lift.relative, None);
        assert_eq!(lift.relative_interval, None);
    }

    #[test]
    fn each_rule_has_its_error() {
        assert_eq!(
            proportion_lift((5, 10), (0, 0), 0.95).unwrap_err(),
            MeasureError::EmptyGroup("control")
        );
        assert!(matches!(
            proportion_lift((11, 10), (1, 10), 0.95),
            Err(MeasureError::BadCounts { .. })
        ));
        assert!(matches!(
            proportion_lift((1, 10), (1, 10), 1.5),
            Err(MeasureError::OutOfRange(_))
        ));
    }
}
