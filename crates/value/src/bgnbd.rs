//! BG/NBD (Fader, Hardie & Lee 2005, "Counting Your Customers the Easy Way", Marketing Science
//! 24(2)): purchases follow a Poisson process with rate λ ~ Gamma(r, α) while the customer is
//! active; after each purchase the customer drops out with probability p ~ Beta(a, b).

use serde::Serialize;

use crate::dual::Real;
use crate::error::ValueError;
use crate::fit::{FitOptions, FitReport, Likelihood, maximise};
use crate::purchases::PurchaseModel;
use crate::special::{ln_hyp2f1, log_sum_exp};
use crate::summary::{RepeatData, Summary};

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
    fn log_likelihood<T: Real + Send>(&self, parameters: [T; 4]) -> T {
        self.sum(|s| log_likelihood(parameters, s))
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
        if t == 0.0 {
            return 0.0;
        }
        let BgNbd { r, alpha, a, b } = *self;
        let x = s.frequency;
        let z = t / (alpha + s.t + t);
        let ln_f = ln_hyp2f1(r + x, b + x, a + b + x - 1.0, z);
        let ln_ratio = (r + x) * ((alpha + s.t) / (alpha + s.t + t)).ln();
        let bracket = -(ln_ratio + ln_f).exp_m1();
        let head = (a + b + x - 1.0) / (a - 1.0);
        let odds = if x > 0.0 {
            (a.ln() - (b + x - 1.0).ln() + (r + x) * ((alpha + s.t) / (alpha + s.recency)).ln())
                .exp()
        } else {
            0.0
        };
        head * bracket / (1.0 + odds)
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
