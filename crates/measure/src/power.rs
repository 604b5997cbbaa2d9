//! How large a lift a test can detect: the power of the two-proportion test in Cohen's effect
//! size h = 2·asin√p₁ − 2·asin√p₀ (Cohen 1988, ch. 6), by the normal approximation — the
//! calculation of statsmodels' `NormalIndPower`, so that the numbers agree with it.

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal};

use crate::MeasureError;

/// Power of the two-sided test at level `alpha` for effect size `h` with `treated` and
/// `control` customers: both tails, as statsmodels counts them.
fn power(h: f64, treated: f64, control: f64, alpha: f64) -> f64 {
    let normal = Normal::standard();
    let crit = normal.inverse_cdf(1.0 - alpha / 2.0);
    let effective = 1.0 / (1.0 / treated + 1.0 / control);
    let shift = h * effective.sqrt();
    normal.sf(crit - shift) + normal.cdf(-crit - shift)
}

fn check(alpha: f64, target_power: f64, baseline: f64) -> Result<(), MeasureError> {
    if !(alpha > 0.0 && alpha < 1.0 && target_power > alpha && target_power < 1.0) {
        return Err(MeasureError::OutOfRange(format!(
            "alpha {alpha} and power {target_power} must satisfy 0 < alpha < power < 1"
        )));
    }
    if !(baseline > 0.0 && baseline < 1.0) {
        return Err(MeasureError::OutOfRange(format!(
            "the baseline conversion {baseline} must be between 0 and 1 (exclusive)"
        )));
    }
    Ok(())
}

/// Solves `f(x) = 0` for an increasing `f` on `[low, high]` by bisection, to the last bit.
fn bisect(mut low: f64, mut high: f64, f: impl Fn(f64) -> f64) -> f64 {
    for _ in 0..200 {
        let mid = 0.5 * (low + high);
        if mid <= low || mid >= high {
            break;
        }
        if f(mid) < 0.0 {
            low = mid;
        } else {
            high = mid;
        }
    }
    0.5 * (low + high)
}

/// The smallest relative lift of the conversion rate (0.25 = +25%) that a test with `treated`
/// and `control` customers detects with probability `target_power` (0.8) at two-sided level
/// `alpha` (0.05), when the control converts at `baseline`. None when no lift is detectable
/// (even a rate of 1 would not be).
///
/// ```
/// // statsmodels' NormalIndPower (nobs1=9000, ratio=1000/9000, alpha=0.05, power=0.8) has
/// // h = 0.0933861; from a 5% baseline that is a lift of 44.6%.
/// let lift = lookalike_measure::minimum_detectable_lift(9000, 1000, 0.05, 0.05, 0.8).unwrap();
/// assert!((lift.unwrap() - 0.4456847852003154).abs() < 1e-9);
/// ```
pub fn minimum_detectable_lift(
    treated: u64,
    control: u64,
    baseline: f64,
    alpha: f64,
    target_power: f64,
) -> Result<Option<f64>, MeasureError> {
    check(alpha, target_power, baseline)?;
    if treated == 0 || control == 0 {
        return Err(MeasureError::EmptyGroup(if treated == 0 {
            "treated"
        } else {
            "control"
        }));
    }
    let (n1, n0) = (treated as f64, control as f64);
    let start = 2.0 * baseline.sqrt().asin();
    // The largest h there is: a treated rate of 1.
    let most = std::f64::consts::PI - start;
    if power(most, n1, n0, alpha) < target_power {
        return Ok(None);
    }
    let h = bisect(0.0, most, |h| power(h, n1, n0, alpha) - target_power);
    let rate = ((h + start) / 2.0).sin().powi(2);
    Ok(Some(rate / baseline - 1.0))
}

/// The control group a test needs to detect a relative `lift` of the conversion rate with
/// probability `target_power` at two-sided level `alpha`, given `treated` customers and the
/// control's `baseline` rate. None when no control group is large enough (the treated group
/// alone is too small).
///
/// ```
/// // statsmodels: NormalIndPower().solve_power(h, nobs1=9000, alpha=0.05, power=0.8,
/// // ratio=None) with h for 5% → 6% gives a ratio of 0.826…: 7,434 control customers.
/// let control = lookalike_measure::control_size_for(0.2, 9000, 0.05, 0.05, 0.8).unwrap();
/// assert!((control.unwrap() - 7434.346207595314).abs() < 1e-6);
/// ```
pub fn control_size_for(
    lift: f64,
    treated: u64,
    baseline: f64,
    alpha: f64,
    target_power: f64,
) -> Result<Option<f64>, MeasureError> {
    check(alpha, target_power, baseline)?;
    let rate = baseline * (1.0 + lift);
    if !(lift > 0.0 && rate < 1.0) {
        return Err(MeasureError::OutOfRange(format!(
            "a lift of {lift} from {baseline} must be above 0 and keep the rate below 1"
        )));
    }
    if treated == 0 {
        return Err(MeasureError::EmptyGroup("treated"));
    }
    let h = 2.0 * rate.sqrt().asin() - 2.0 * baseline.sqrt().asin();
    let n1 = treated as f64;
    if power(h, n1, f64::INFINITY, alpha) < target_power {
        return Ok(None);
    }
    Ok(Some(bisect(1e-9, 1e15, |n0| {
        power(h, n1, n0, alpha) - target_power
    })))
}

/// How a segment would be tested: the share held out as control, the test's level and power,
/// the lift a campaign hopes for, and the largest detectable lift still worth testing.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TestPlan {
    /// Share of the segment held out as its control group (0.1).
    pub control_share: f64,
    /// Two-sided significance level (0.05).
    pub alpha: f64,
    /// Power (0.8).
    pub power: f64,
    /// The relative lift a campaign hopes for (0.2): the control group it needs is reported.
    pub target_lift: f64,
    /// Segments whose minimum detectable lift is above this (0.5) are too small to test.
    pub max_detectable: f64,
}

impl Default for TestPlan {
    fn default() -> Self {
        Self {
            control_share: 0.1,
            alpha: 0.05,
            power: 0.8,
            target_lift: 0.2,
            max_detectable: 0.5,
        }
    }
}

/// What a test on one segment could show.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SegmentPower {
    /// Customers who would receive the campaign.
    pub treated: u64,
    /// Customers held out (the segment's size times the control share, rounded).
    pub control: u64,
    /// The smallest relative lift the test detects; None when no lift is (an empty group, a
    /// baseline of 0 or 1, or unknown, or a segment too small for any lift).
    pub minimum_detectable_lift: Option<f64>,
    /// The control group the target lift needs, rounded up; None when none is large enough.
    pub control_needed_for_target: Option<f64>,
    /// No detectable lift, or one above the plan's `max_detectable`.
    pub too_small_to_test: bool,
}

/// The power of a test on a segment of `customers` converting at `baseline` (NaN when unknown),
/// split as `plan` says. Errors only for a plan out of range.
///
/// ```
/// use lookalike_measure::{TestPlan, segment_power};
/// // 10,000 customers, 10% held out, 5% converting: the first case of
/// // `minimum_detectable_lift`'s example.
/// let power = segment_power(10_000, 0.05, &TestPlan::default()).unwrap();
/// assert_eq!((power.treated, power.control), (9_000, 1_000));
/// assert!((power.minimum_detectable_lift.unwrap() - 0.4456847852003154).abs() < 1e-9);
/// assert!(!power.too_small_to_test);
/// ```
pub fn segment_power(
    customers: u64,
    baseline: f64,
    plan: &TestPlan,
) -> Result<SegmentPower, MeasureError> {
    if !(plan.control_share > 0.0 && plan.control_share < 1.0) {
        return Err(MeasureError::OutOfRange(format!(
            "the control share {} must be between 0 and 1 (exclusive)",
            plan.control_share
        )));
    }
    if !(plan.target_lift > 0.0 && plan.max_detectable > 0.0) {
        return Err(MeasureError::OutOfRange(format!(
            "the target lift {} and the largest detectable lift {} must be positive",
            plan.target_lift, plan.max_detectable
        )));
    }
    // Checks alpha and power even when the segment cannot be tested.
    check(plan.alpha, plan.power, 0.5)?;
    let control = ((customers as f64) * plan.control_share).round() as u64;
    let treated = customers - control;
    let usable = baseline > 0.0 && baseline < 1.0 && treated > 0 && control > 0;
    let minimum_detectable_lift = if usable {
        minimum_detectable_lift(treated, control, baseline, plan.alpha, plan.power)?
    } else {
        None
    };
    let control_needed_for_target = if usable && baseline * (1.0 + plan.target_lift) < 1.0 {
        control_size_for(plan.target_lift, treated, baseline, plan.alpha, plan.power)?
            .map(f64::ceil)
    } else {
        None
    };
    Ok(SegmentPower {
        treated,
        control,
        minimum_detectable_lift,
        control_needed_for_target,
        too_small_to_test: minimum_detectable_lift.is_none_or(|m| m > plan.max_detectable),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference: the root in h of statsmodels 0.15's `NormalIndPower().power(h, treated, 0.05,
    /// ratio=control/treated, alternative='two-sided') - 0.8`, found with SciPy's
    /// `brentq(…, xtol=1e-15, rtol=1e-15)` (statsmodels' own `solve_power` stops about 3e-6
    /// away: 0.0933863… for the first case), then the rate sin²((h + 2·asin√p₀)/2).
    #[test]
    fn the_minimum_detectable_lift_equals_statsmodels() {
        for (treated, control, baseline, expected) in [
            (9000, 1000, 0.05, 0.4456847852003154),
            (400, 100, 0.1, 1.1190113234936714),
            (50000, 50000, 0.02, 0.12779217752508587),
        ] {
            let lift = minimum_detectable_lift(treated, control, baseline, 0.05, 0.8)
                .unwrap()
                .unwrap();
            assert!(
                (lift - expected).abs() < 1e-9 * expected,
                "{treated} {control}: {lift} vs {expected}"
            );
        }
        // Five customers against five cannot detect anything from an 80% baseline.
        assert_eq!(minimum_detectable_lift(5, 5, 0.8, 0.05, 0.8).unwrap(), None);
    }

    #[test]
    fn a_larger_control_group_detects_a_smaller_lift() {
        let mut previous = f64::INFINITY;
        for control in [100, 1_000, 10_000, 100_000] {
            let lift = minimum_detectable_lift(10_000, control, 0.03, 0.05, 0.8)
                .unwrap()
                .unwrap();
            assert!(lift < previous);
            previous = lift;
            // The control size for that lift is the control size it came from.
            let needed = control_size_for(lift, 10_000, 0.03, 0.05, 0.8)
                .unwrap()
                .unwrap();
            assert!(
                (needed - control as f64).abs() < 1e-6 * control as f64,
                "{needed}"
            );
        }
        // A treated group too small for the lift, whatever the control.
        assert_eq!(control_size_for(0.01, 100, 0.05, 0.05, 0.8).unwrap(), None);
    }

    #[test]
    fn segment_power_splits_flags_and_refuses_a_bad_plan() {
        let plan = TestPlan::default();
        // 500 customers from a 4% baseline: 450 against 50 detect only a lift far above 50%.
        let small = segment_power(500, 0.04, &plan).unwrap();
        assert_eq!((small.treated, small.control), (450, 50));
        assert!(small.minimum_detectable_lift.unwrap() > 0.5 && small.too_small_to_test);
        // The same segment with the same numbers as the two functions it is made of.
        let big = segment_power(200_000, 0.04, &plan).unwrap();
        assert_eq!(
            big.minimum_detectable_lift,
            minimum_detectable_lift(180_000, 20_000, 0.04, 0.05, 0.8).unwrap()
        );
        let needed = control_size_for(0.2, 180_000, 0.04, 0.05, 0.8)
            .unwrap()
            .unwrap();
        assert_eq!(big.control_needed_for_target, Some(needed.ceil()));
        assert!(!big.too_small_to_test);
        // An unknown baseline, no converters, or a segment of one: nothing is detectable.
        for (customers, baseline) in [(10_000, f64::NAN), (10_000, 0.0), (1, 0.5), (0, 0.5)] {
            let power = segment_power(customers, baseline, &plan).unwrap();
            assert_eq!(power.minimum_detectable_lift, None);
            assert!(power.too_small_to_test);
        }
        for bad in [
            TestPlan {
                control_share: 0.0,
                ..plan
            },
            TestPlan {
                control_share: 1.0,
                ..plan
            },
            TestPlan { alpha: 0.9, ..plan },
            TestPlan {
                target_lift: 0.0,
                ..plan
            },
        ] {
            assert!(segment_power(1000, 0.1, &bad).is_err(), "{bad:?}");
        }
    }
}
