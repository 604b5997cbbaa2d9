//! BG/NBD (Fader, Hardie & Lee 2005, "Counting Your Customers the Easy Way", Marketing Science
//! 24(2)): purchases follow a Poisson process with rate λ ~ Gamma(r, α) while the customer is
//! active; after each purchase the customer drops out with probability p ~ Beta(a, b).

use serde::Serialize;

use crate::dual::Real;
use crate::error::ValueError;
use crate::fit::{FitOptions, FitReport, Likelihood, maximise};
use crate::purchases::PurchaseModel;
use crate::special::{ln_hyp2f1, ln_hyp2f1_many, log_sum_exp};
use crate::summary::{RepeatData, Summary, sum_in_chunks};
use rayon::prelude::*;

/// A fitted (or given) BG/NBD model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BgNbd {
    /// Shape of the Gamma distribution of purchase rates.
    pub r: f64,
    /// Scale (in time units) of the Gamma distribution of purchase rates.
    pub alpha: f64,
    /// First shape of the Beta distribution of dropout probabilities.
    pub a: f64,
    /// Second shape of the Beta distribution of dropout probabilities.
    pub b: f64,
}

/// ln L of one customer, FHL 2005 eq. (6), as
/// A₁ + A₂ + ln(e^A₃ + δ_{x>0} e^A₄) (their note on implementing the model, in log space).
/// The fit sums the same terms with A₁, A₂ tabulated by x and ln(α + t) by time; this
/// per-customer form is their test oracle.
#[cfg(test)]
fn log_likelihood<T: Real>([r, alpha, a, b]: [T; 4], s: &Summary) -> T {
    let x = s.frequency;
    let a1 = (r + x).ln_gamma() - r.ln_gamma() + r * alpha.ln();
    let a2 = (a + b).ln_gamma() + (b + x).ln_gamma() - b.ln_gamma() - (a + b + x).ln_gamma();
    let a3 = -(r + x) * (alpha + s.t).ln();
    if x > 0.0 {
        let a4 = a.ln() - (b + (x - 1.0)).ln() - (r + x) * (alpha + s.recency).ln();
        a1 + a2 + log_sum_exp(a3, a4)
    } else {
        a1 + a2 + a3
    }
}

impl Likelihood<4> for RepeatData {
    const MODEL: &'static str = "BG/NBD";
    const NAMES: [&'static str; 4] = ["r", "alpha", "a", "b"];
    fn customers(&self) -> usize {
        self.customers()
    }
    /// A₁ + A₂ depend on x alone and are computed per distinct x; ln(α + t_x) and ln(α + T)
    /// per distinct time; each history then costs one log-sum-exp.
    fn log_likelihood<T: Real + Send>(&self, [r, alpha, a, b]: [T; 4]) -> T {
        let tables = &self.tables;
        let ln_alpha_plus: Vec<T> = tables
            .times
            .par_iter()
            .with_min_len(1024)
            .map(|t| (alpha + *t).ln())
            .collect();
        let constant = (a + b).ln_gamma() - b.ln_gamma() - r.ln_gamma() + r * alpha.ln();
        // Per distinct x: (A₁ + A₂ times its customers, r + x, ln a − ln(b + x − 1)).
        let per_x: Vec<(T, T, T)> = tables
            .frequencies
            .iter()
            .map(|&(x, customers)| {
                let head = (r + x).ln_gamma() + (b + x).ln_gamma() - (a + b + x).ln_gamma();
                let ln_odds = if x > 0.0 {
                    a.ln() - (b + (x - 1.0)).ln()
                } else {
                    T::constant(0.0)
                };
                ((head + constant) * customers, r + x, ln_odds)
            })
            .collect();
        let heads = per_x
            .iter()
            .fold(T::constant(0.0), |total, (head, _, _)| total + *head);
        let rows = sum_in_chunks(self.rows.len(), |i| {
            let (summary, count) = &self.rows[i];
            let [group, recency, t] = tables.keys[i];
            let (_, r_x, ln_odds) = per_x[group as usize];
            let a3 = -(r_x * ln_alpha_plus[t as usize]);
            let term = if summary.frequency > 0.0 {
                log_sum_exp(a3, ln_odds - r_x * ln_alpha_plus[recency as usize])
            } else {
                a3
            };
            term * *count
        });
        heads + rows
    }
    fn thinned(&self, customers: usize) -> Option<Self> {
        RepeatData::thinned(self, customers)
    }
    fn starts(&self) -> Vec<[f64; 4]> {
        let scale = mean_t(self);
        vec![
            [1.0, scale, 1.0, 1.0],
            [0.25, scale / 4.0, 0.8, 2.5],
            [2.0, 2.0 * scale, 3.0, 8.0],
        ]
    }
    fn degeneracy(&self, [r, alpha, a, b]: [f64; 4]) -> Vec<String> {
        let mut notes = Vec::new();
        if r > 1e4 && alpha > 1e4 {
            notes.push(format!(
                "r and alpha grow together without bound (r/alpha = {:.4} purchases per time unit): purchase rates look the same for every customer, so the Gamma mixing collapses to a single rate; try --penalty 0.001 or a longer calibration period",
                r / alpha
            ));
        }
        if a < 1e-4 {
            notes.push("a → 0: the data show almost no dropout after purchases (BG/NBD degenerates towards the NBD model)".into());
        }
        if a > 1e4 && b > 1e4 {
            notes.push(format!(
                "a and b grow together without bound: every customer seems to share one dropout probability {:.4}",
                a / (a + b)
            ));
        }
        notes
    }
}

pub(crate) fn mean_t(data: &RepeatData) -> f64 {
    let total: f64 = data.rows.iter().map(|(s, n)| s.t * n).sum();
    (total / data.customers() as f64).max(1e-3)
}

impl BgNbd {
    /// A model with given parameters (all must be finite and > 0).
    ///
    /// ```
    /// let model = lookalike_value::BgNbd::new(0.243, 4.414, 0.793, 2.426).unwrap();
    /// assert!(lookalike_value::BgNbd::new(0.0, 1.0, 1.0, 1.0).is_err());
    /// ```
    pub fn new(r: f64, alpha: f64, a: f64, b: f64) -> Result<Self, ValueError> {
        for (name, value) in [("r", r), ("alpha", alpha), ("a", a), ("b", b)] {
            if !(value > 0.0 && value.is_finite()) {
                return Err(ValueError::BadParameter { name, value });
            }
        }
        Ok(BgNbd { r, alpha, a, b })
    }

    /// Fits by maximum likelihood.
    ///
    /// ```
    /// use lookalike_value::{BgNbd, FitOptions, RepeatData};
    /// let data = RepeatData::from_columns(&[0.0, 1.0, 3.0, 0.0, 2.0], &[0.0, 4.0, 9.0, 0.0, 7.5], &[10.0, 9.0, 12.0, 8.0, 11.0]).unwrap();
    /// let (model, report) = BgNbd::fit(&data, &FitOptions::new().penalty(0.01)).unwrap();
    /// assert!(report.log_likelihood.is_finite() && model.r > 0.0);
    /// ```
    pub fn fit(data: &RepeatData, options: &FitOptions) -> Result<(Self, FitReport), ValueError> {
        if data.repeat_buyers() == 0 {
            return Err(ValueError::NoRepeatBuyers);
        }
        let ([r, alpha, a, b], report) = maximise(data, options)?;
        Ok((BgNbd { r, alpha, a, b }, report))
    }

    /// Σ ln L over the data at these parameters.
    pub fn log_likelihood(&self, data: &RepeatData) -> f64 {
        Likelihood::<4>::log_likelihood(data, [self.r, self.alpha, self.a, self.b])
    }
}

impl PurchaseModel for BgNbd {
    fn name(&self) -> &'static str {
        "BG/NBD"
    }

    /// FHL 2005 note "Computing P(alive) using the BG/NBD model", eq. (5).
    fn p_alive(&self, s: &Summary) -> f64 {
        if s.frequency == 0.0 {
            return 1.0;
        }
        let (r, x) = (self.r, s.frequency);
        let ln_odds = self.a.ln() - (self.b + x - 1.0).ln()
            + (r + x) * ((self.alpha + s.t).ln() - (self.alpha + s.recency).ln());
        1.0 / (1.0 + ln_odds.exp())
    }

    /// FHL 2005 eq. (10).
    fn expected_purchases(&self, t: f64, s: &Summary) -> f64 {
        let mut value = [0.0];
        self.expected_purchases_at(&[t], s, &mut value);
        value[0]
    }

    /// Eq. (10) at several t: the factor outside the bracket is computed once and the
    /// ₂F₁(r + x, b + x; a + b + x − 1; t/(α + T + t)) of every t share their series.
    fn expected_purchases_at(&self, times: &[f64], s: &Summary, out: &mut [f64]) {
        let BgNbd { r, alpha, a, b } = *self;
        let x = s.frequency;
        let odds = if x > 0.0 {
            (a.ln() - (b + x - 1.0).ln() + (r + x) * ((alpha + s.t) / (alpha + s.recency)).ln())
                .exp()
        } else {
            0.0
        };
        let factor = (a + b + x - 1.0) / (a - 1.0) / (1.0 + odds);
        let z: Vec<f64> = times.iter().map(|t| t / (alpha + s.t + t)).collect();
        ln_hyp2f1_many(r + x, b + x, a + b + x - 1.0, &z, out);
        for (t, value) in times.iter().zip(out.iter_mut()) {
            let ln_ratio = (r + x) * ((alpha + s.t) / (alpha + s.t + t)).ln();
            let bracket = -(ln_ratio + *value).exp_m1();
            *value = if *t == 0.0 { 0.0 } else { factor * bracket };
        }
    }

    /// FHL 2005 eq. (7).
    fn unconditional_purchases(&self, t: f64) -> f64 {
        if t == 0.0 {
            return 0.0;
        }
        let BgNbd { r, alpha, a, b } = *self;
        let ln_f = ln_hyp2f1(r, b, a + b - 1.0, t / (alpha + t));
        let ln_ratio = r * (alpha / (alpha + t)).ln();
        (a + b - 1.0) / (a - 1.0) * -(ln_ratio + ln_f).exp_m1()
    }

    /// As t → ∞ the bracket of eq. (10) tends to 1 when a > 1, leaving
    /// (a + b + x − 1)/(a − 1) · P(alive); for a ≤ 1 the expectation is infinite.
    fn residual_purchases(&self, s: &Summary) -> Option<f64> {
        (self.a > 1.0)
            .then(|| (self.a + self.b + s.frequency - 1.0) / (self.a - 1.0) * self.p_alive(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dual::Dual;

    /// The tabulated sum equals the per-customer formula summed, in value and gradient.
    #[test]
    fn tabulated_likelihood_equals_the_sum_over_customers() {
        let n = 6000;
        let x: Vec<f64> = (0..n).map(|i| ((i * 7) % 9) as f64).collect();
        let t: Vec<f64> = (0..n)
            .map(|i| 20.0 + ((i * 13) % 31) as f64 * 0.5)
            .collect();
        let t_x: Vec<f64> = (0..n)
            .map(|i| {
                if x[i] > 0.0 {
                    t[i] * ((i % 5) + 1) as f64 / 5.0
                } else {
                    0.0
                }
            })
            .collect();
        let data = RepeatData::from_columns(&x, &t_x, &t).unwrap();
        assert!(data.unique() < n && data.tables.times.len() < data.unique());
        let theta: [Dual<4>; 4] =
            std::array::from_fn(|i| Dual::variable([0.3, 4.0, 0.8, 2.5][i], i));
        let tabulated = Likelihood::log_likelihood(&data, theta);
        let direct = (0..n).fold(Dual::constant(0.0), |total, i| {
            let s = Summary {
                frequency: x[i],
                recency: t_x[i],
                t: t[i],
            };
            total + log_likelihood(theta, &s)
        });
        assert!((tabulated.value - direct.value).abs() < 1e-9 * direct.value.abs());
        for (g, d) in tabulated.gradient.iter().zip(direct.gradient) {
            assert!((g - d).abs() < 1e-9 * d.abs().max(1.0), "{g} vs {d}");
        }
    }
}
