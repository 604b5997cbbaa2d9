//! A per-customer metric (revenue, orders) of a treated group against its control group.

use serde::Serialize;
use statrs::distribution::{ContinuousCDF, StudentsT};

use crate::MeasureError;
use crate::proportions::{Interval, check_level};

/// The difference of means of the treated and the control group, by Welch's t.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MeanLift {
    /// Mean of the treated group.
    pub treated_mean: f64,
    /// Mean of the control group.
    pub control_mean: f64,
    /// Treated mean − control mean.
    pub absolute: f64,
    /// Welch's interval of the difference.
    pub absolute_interval: Interval,
    /// Relative lift: the difference over the control mean (None when that mean is 0).
    pub relative: Option<f64>,
    /// The difference's interval over the control mean (the control mean taken as known).
    pub relative_interval: Option<Interval>,
    /// Welch's t statistic.
    pub t: f64,
    /// Welch–Satterthwaite degrees of freedom.
    pub degrees_of_freedom: f64,
    /// Two-sided p-value.
    pub p_value: f64,
    /// What the treatment added over the treated group: difference × treated customers.
    pub incremental: f64,
    /// Its interval.
    pub incremental_interval: Interval,
}

fn mean_and_variance(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, variance)
}

/// The lift of a per-customer metric (one value per customer, 0 for customers who did nothing)
/// of `treated` over `control`, by Welch's t-test, which does not assume equal variances: the
/// safer choice for spend, heavy-tailed and more variable where a campaign worked.
///
/// ```
/// let lift = lookalike_measure::mean_lift(&[3.0, 0.0, 5.0, 4.0], &[1.0, 0.0, 2.0], 0.95).unwrap();
/// assert!((lift.absolute - 2.0).abs() < 1e-12);
/// ```
pub fn mean_lift(treated: &[f64], control: &[f64], level: f64) -> Result<MeanLift, MeasureError> {
    if treated.len() < 2 {
        return Err(MeasureError::TooFewForVariance("treated"));
    }
    if control.len() < 2 {
        return Err(MeasureError::TooFewForVariance("control"));
    }
    check_level(level)?;
    if let Some(bad) = treated.iter().chain(control).find(|v| !v.is_finite()) {
        return Err(MeasureError::OutOfRange(format!(
            "a customer's value {bad} is not a finite number"
        )));
    }
    let (m1, v1) = mean_and_variance(treated);
    let (m0, v0) = mean_and_variance(control);
    let (n1, n0) = (treated.len() as f64, control.len() as f64);
    let (a, b) = (v1 / n1, v0 / n0);
    let se = (a + b).sqrt();
    let diff = m1 - m0;
    // Welch–Satterthwaite; with no variance at all, the difference is exact.
    let (t, df, half, p_value) = if se > 0.0 {
        let df = (a + b).powi(2) / (a * a / (n1 - 1.0) + b * b / (n0 - 1.0));
        let student =
            StudentsT::new(0.0, 1.0, df).map_err(|e| MeasureError::OutOfRange(e.to_string()))?;
        let t = diff / se;
        let half = student.inverse_cdf(1.0 - (1.0 - level) / 2.0) * se;
        (t, df, half, 2.0 * student.sf(t.abs()))
    } else {
        (0.0, n1 + n0 - 2.0, 0.0, if diff == 0.0 { 1.0 } else { 0.0 })
    };
    let absolute_interval = Interval {
        low: diff - half,
        high: diff + half,
    };
    Ok(MeanLift {
        treated_mean: m1,
        control_mean: m0,
        absolute: diff,
        absolute_interval,
        relative: (m0 != 0.0).then(|| diff / m0),
        relative_interval: (m0 != 0.0).then(|| Interval {
            low: absolute_interval.low / m0.abs(),
            high: absolute_interval.high / m0.abs(),
        }),
        t,
        degrees_of_freedom: df,
        p_value,
        incremental: diff * n1,
        incremental_interval: absolute_interval.scaled(n1),
    })
}

/// CUPED (Deng, Xu, Kohavi & Walker 2013): each customer's outcome `y` minus θ(x − x̄), where
/// `x` is a pre-period covariate (spend before the campaign) unaffected by the treatment and
/// θ = cov(x, y)/var(x) over all customers of both groups. The mean difference between groups is
/// unchanged in expectation while its variance shrinks by the squared correlation of x and y.
/// Returns the adjusted outcomes and the share of variance saved (1 − var(adjusted)/var(y)).
///
/// ```
/// let x = [1.0, 2.0, 3.0, 4.0];
/// let y = [2.0, 4.1, 5.9, 8.0];
/// let (adjusted, saved) = lookalike_measure::cuped(&y, &x).unwrap();
/// assert!(saved > 0.99);
/// assert!((adjusted.iter().sum::<f64>() - y.iter().sum::<f64>()).abs() < 1e-9);
/// ```
pub fn cuped(outcome: &[f64], covariate: &[f64]) -> Result<(Vec<f64>, f64), MeasureError> {
    if outcome.len() != covariate.len() {
        return Err(MeasureError::LengthMismatch {
            outcome: outcome.len(),
            covariate: covariate.len(),
        });
    }
    if outcome.len() < 2 {
        return Err(MeasureError::TooFewForVariance("measured"));
    }
    let n = outcome.len() as f64;
    let (mx, my) = (
        covariate.iter().sum::<f64>() / n,
        outcome.iter().sum::<f64>() / n,
    );
    let (mut sxx, mut sxy, mut syy) = (0.0, 0.0, 0.0);
    for (x, y) in covariate.iter().zip(outcome) {
        sxx += (x - mx) * (x - mx);
        sxy += (x - mx) * (y - my);
        syy += (y - my) * (y - my);
    }
    if sxx == 0.0 {
        // A constant covariate explains nothing.
        return Ok((outcome.to_vec(), 0.0));
    }
    let theta = sxy / sxx;
    let adjusted: Vec<f64> = outcome
        .iter()
        .zip(covariate)
        .map(|(y, x)| y - theta * (x - mx))
        .collect();
    let saved = if syy > 0.0 {
        sxy * sxy / (sxx * syy)
    } else {
        0.0
    };
    Ok((adjusted, saved))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-9 * b.abs().max(1.0), "{a} vs {b}");
    }

    /// Reference: SciPy 1.17, `r = scipy.stats.ttest_ind(a, b, equal_var=False)`,
    /// `r.statistic, r.pvalue, r.df, r.confidence_interval(0.95)` on these arrays.
    #[test]
    fn welch_equals_scipy() {
        let a = [
            0.0, 0.0, 12.5, 0.0, 80.0, 0.0, 0.0, 33.2, 0.0, 0.0, 150.0, 0.0, 7.9, 0.0, 0.0, 0.0,
            45.0, 0.0, 0.0, 0.0,
        ];
        let b = [
            0.0, 0.0, 0.0, 20.0, 0.0, 0.0, 0.0, 0.0, 10.5, 0.0, 0.0, 0.0, 0.0, 0.0, 60.0, 0.0, 0.0,
            0.0,
        ];
        let lift = mean_lift(&a, &b, 0.95).unwrap();
        close(lift.t, 1.2546195201595398);
        close(lift.p_value, 0.22114525481238798);
        close(lift.degrees_of_freedom, 25.16404598849309);
        close(lift.absolute_interval.low, -7.309072976825423);
        close(lift.absolute_interval.high, 30.113517421269865);
        close(lift.incremental, lift.absolute * 20.0);
    }

    #[test]
    fn cuped_removes_the_covariates_share_of_the_variance() {
        let x: Vec<f64> = (0..200).map(|i| (i % 17) as f64).collect();
        let y: Vec<f64> = x
            .iter()
            .enumerate()
            .map(|(i, x)| 2.0 * x + ((i * 7919) % 13) as f64)
            .collect();
        let (adjusted, saved) = cuped(&y, &x).unwrap();
        let variance = |v: &[f64]| mean_and_variance(v).1;
        close(1.0 - variance(&adjusted) / variance(&y), saved);
        close(adjusted.iter().sum::<f64>(), y.iter().sum::<f64>());
        assert!(saved > 0.5, "{saved}");
        assert_eq!(
            cuped(&y, &x[..10]).unwrap_err(),
            MeasureError::LengthMismatch {
                outcome: 200,
                covariate: 10
            }
        );
    }
}
