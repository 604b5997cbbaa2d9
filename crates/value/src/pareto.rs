//! Pareto/NBD (Schmittlein, Morrison & Colombo 1987): purchases follow a Poisson process with
//! rate λ ~ Gamma(r, α) while the customer is active; lifetimes are exponential with rate
//! μ ~ Gamma(s, β). Likelihood and predictions follow Fader & Hardie (2005), "A Note on
//! Deriving the Pareto/NBD Model and Related Expressions".

use std::borrow::Cow;

use serde::Serialize;

use crate::dual::Real;
use crate::error::ValueError;
use crate::fit::{FitOptions, FitReport, Likelihood, maximise};
use crate::purchases::PurchaseModel;
use crate::special::{ln_hyp2f1, log_diff_exp, log_sum_exp};
use crate::summary::{RepeatData, Summary};

/// A fitted (or given) Pareto/NBD model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ParetoNbd {
    /// Shape of the Gamma distribution of purchase rates.
    pub r: f64,
    /// Scale (in time units) of the Gamma distribution of purchase rates.
    pub alpha: f64,
    /// Shape of the Gamma distribution of dropout rates.
    pub s: f64,
    /// Scale (in time units) of the Gamma distribution of dropout rates.
    pub beta: f64,
}

/// The data seen through Pareto/NBD's likelihood (a newtype so that [`RepeatData`] can have
/// a likelihood per model).
pub(crate) struct ParetoData<'a>(pub(crate) Cow<'a, RepeatData>);

/// ln A₀ of the note's eq. (19), by its two cases (α ≥ β and α < β) so that the argument of
/// ₂F₁ is always in [0, 1): A₀ = F(t_x) − F(T) with
/// F(y) = ₂F₁(r+s+x, s+1 | r+x; r+s+x+1; |α−β|/(max(α,β)+y)) / (max(α,β)+y)^(r+s+x).
fn ln_a0<T: Real>([r, alpha, s, beta]: [T; 4], c: &Summary) -> T {
    let x = c.frequency;
    let total = r + s + x;
    let (high, low, second) = if alpha.value() >= beta.value() {
        (alpha, beta, s + 1.0)
    } else {
        (beta, alpha, r + x)
    };
    let ln_f = |y: f64| {
        let z = (high - low) / (high + y);
        ln_hyp2f1(total, second, total + 1.0, z) - total * (high + y).ln()
    };
    log_diff_exp(ln_f(c.recency), ln_f(c.t))
}

/// ln L of one customer, the note's eq. (22), in log space.
fn log_likelihood<T: Real>(parameters: [T; 4], c: &Summary) -> T {
    let [r, alpha, s, beta] = parameters;
    let x = c.frequency;
    let head = (r + x).ln_gamma() - r.ln_gamma() + r * alpha.ln() + s * beta.ln();
    let survived = -(r + x) * (alpha + c.t).ln() - s * (beta + c.t).ln();
    let dropped = (s / (r + s + x)).ln() + ln_a0(parameters, c);
    head + log_sum_exp(survived, dropped)
}

impl Likelihood<4> for ParetoData<'_> {
    const MODEL: &'static str = "Pareto/NBD";
    const NAMES: [&'static str; 4] = ["r", "alpha", "s", "beta"];
    fn customers(&self) -> usize {
        self.0.customers()
    }
    fn log_likelihood<T: Real + Send>(&self, parameters: [T; 4]) -> T {
        self.0.sum(|c| log_likelihood(parameters, c))
    }
    fn thinned(&self, customers: usize) -> Option<Self> {
        Some(ParetoData(Cow::Owned(self.0.thinned(customers)?)))
    }
    fn starts(&self) -> Vec<[f64; 4]> {
        let scale = crate::bgnbd::mean_t(&self.0);
        vec![
            [1.0, scale, 1.0, scale],
            [0.5, scale / 4.0, 0.5, scale / 3.0],
            [2.0, 2.0 * scale, 2.0, 2.0 * scale],
        ]
    }
    fn degeneracy(&self, [r, alpha, s, beta]: [f64; 4]) -> Vec<String> {
        let mut notes = Vec::new();
        if r > 1e4 && alpha > 1e4 {
            notes.push(format!(
                "r and alpha grow together without bound (r/alpha = {:.4} purchases per time unit): purchase rates look the same for every customer; try --penalty 0.001",
                r / alpha
            ));
        }
        if s > 1e4 && beta > 1e4 {
            notes.push(format!(
                "s and beta grow together without bound: every customer seems to share one dropout rate {:.4e} per time unit",
                s / beta
            ));
        }
        if s < 1e-4 || beta > 1e5 {
            notes.push("the dropout rate runs to 0: the data show almost no dropout".into());
        }
        notes
    }
}

impl ParetoNbd {
    /// A model with given parameters (all must be finite and > 0).
    ///
    /// ```
    /// let model = lookalike_value::ParetoNbd::new(0.553, 10.578, 0.606, 11.669).unwrap();
    /// assert!(lookalike_value::ParetoNbd::new(0.5, f64::NAN, 1.0, 1.0).is_err());
    /// ```
    pub fn new(r: f64, alpha: f64, s: f64, beta: f64) -> Result<Self, ValueError> {
        for (name, value) in [("r", r), ("alpha", alpha), ("s", s), ("beta", beta)] {
            if !(value > 0.0 && value.is_finite()) {
                return Err(ValueError::BadParameter { name, value });
            }
        }
        Ok(ParetoNbd { r, alpha, s, beta })
    }

    /// Fits by maximum likelihood.
    ///
    /// ```
    /// use lookalike_value::{FitOptions, ParetoNbd, RepeatData};
    /// let data = RepeatData::from_columns(&[0.0, 1.0, 3.0, 0.0, 2.0], &[0.0, 4.0, 9.0, 0.0, 7.5], &[10.0, 9.0, 12.0, 8.0, 11.0]).unwrap();
    /// let (model, report) = ParetoNbd::fit(&data, &FitOptions::new().penalty(0.01)).unwrap();
    /// assert!(report.log_likelihood.is_finite() && model.s > 0.0);
    /// ```
    pub fn fit(data: &RepeatData, options: &FitOptions) -> Result<(Self, FitReport), ValueError> {
        if data.repeat_buyers() == 0 {
            return Err(ValueError::NoRepeatBuyers);
        }
        let ([r, alpha, s, beta], report) = maximise(&ParetoData(Cow::Borrowed(data)), options)?;
        Ok((ParetoNbd { r, alpha, s, beta }, report))
    }

    /// Σ ln L over the data at these parameters.
    pub fn log_likelihood(&self, data: &RepeatData) -> f64 {
        ParetoData(Cow::Borrowed(data)).log_likelihood([self.r, self.alpha, self.s, self.beta])
    }

    fn parameters(&self) -> [f64; 4] {
        [self.r, self.alpha, self.s, self.beta]
    }
}

impl PurchaseModel for ParetoNbd {
    fn name(&self) -> &'static str {
        "Pareto/NBD"
    }

    /// The note's eq. (18): 1 / (1 + s/(r+s+x) · (α+T)^(r+x) (β+T)^s · A₀).
    fn p_alive(&self, c: &Summary) -> f64 {
        let ParetoNbd { r, alpha, s, beta } = *self;
        let x = c.frequency;
        let ln_odds = (s / (r + s + x)).ln()
            + (r + x) * (alpha + c.t).ln()
            + s * (beta + c.t).ln()
            + ln_a0(self.parameters(), c);
        1.0 / (1.0 + ln_odds.exp())
    }

    /// The note's eq. (24) (s ≠ 1; at s = 1 its limit, a logarithm).
    fn expected_purchases(&self, t: f64, c: &Summary) -> f64 {
        let mut value = [0.0];
        self.expected_purchases_at(&[t], c, &mut value);
        value[0]
    }

    /// Eq. (24) at several t with P(alive), the costly factor, computed once.
    fn expected_purchases_at(&self, times: &[f64], c: &Summary, out: &mut [f64]) {
        let ParetoNbd { r, alpha, s, beta } = *self;
        let rate = (r + c.frequency) / (alpha + c.t) * self.p_alive(c);
        for (t, value) in times.iter().zip(out) {
            let growth = ((beta + c.t + t) / (beta + c.t)).ln();
            let horizon = if (s - 1.0).abs() < 1e-9 {
                (beta + c.t) * growth
            } else {
                (beta + c.t) / (s - 1.0) * -((1.0 - s) * growth).exp_m1()
            };
            *value = rate * horizon;
        }
    }

    /// The note's eq. (17).
    fn unconditional_purchases(&self, t: f64) -> f64 {
        let ParetoNbd { r, alpha, s, beta } = *self;
        if (s - 1.0).abs() < 1e-9 {
            return r * beta / alpha * ((beta + t) / beta).ln();
        }
        r * beta / (alpha * (s - 1.0)) * -((s - 1.0) * (beta / (beta + t)).ln()).exp_m1()
    }

    /// t → ∞ in eq. (24): (r+x)(β+T) / ((α+T)(s−1)) · P(alive) for s > 1, else infinite.
    fn residual_purchases(&self, c: &Summary) -> Option<f64> {
        let ParetoNbd { r, alpha, s, beta } = *self;
        (s > 1.0).then(|| {
            (r + c.frequency) * (beta + c.t) / ((alpha + c.t) * (s - 1.0)) * self.p_alive(c)
        })
    }
}
