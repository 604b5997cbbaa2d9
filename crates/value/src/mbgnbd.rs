//! MBG/NBD (Batislam, Denizel & Filiztekin 2007, "Empirical validation and comparison of
//! models for customer base analysis", International Journal of Research in Marketing 24(3)):
//! BG/NBD with one change — a customer may also drop out at time zero, right after the first
//! purchase, so that customers with no repeat purchase are not all assumed alive.
//!
//! Purchases follow a Poisson process with rate λ ~ Gamma(r, α) while active; at time zero and
//! after each purchase the customer drops out with probability p ~ Beta(a, b). The expressions
//! below are the BG/NBD's (Fader, Hardie & Lee 2005) with that extra chance of dropping out:
//! ln L = A₁ + A₂ + ln(e^A₃ + e^A₄) for every x, with
//! A₂ = ln B(a, b + x + 1) − ln B(a, b) and A₄ = ln a − ln(b + x) − (r + x) ln(α + t_x).

use std::borrow::Cow;

use rayon::prelude::*;
use serde::Serialize;

use crate::dual::Real;
use crate::error::ValueError;
use crate::fit::{FitOptions, FitReport, Likelihood, maximise};
use crate::purchases::PurchaseModel;
use crate::special::{ln_hyp2f1, ln_hyp2f1_many, log_sum_exp};
use crate::summary::{RepeatData, Summary, sum_in_chunks};

/// A fitted (or given) MBG/NBD model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MbgNbd {
    /// Shape of the Gamma distribution of purchase rates.
    pub r: f64,
    /// Scale (in time units) of the Gamma distribution of purchase rates.
    pub alpha: f64,
    /// First shape of the Beta distribution of dropout probabilities.
    pub a: f64,
    /// Second shape of the Beta distribution of dropout probabilities.
    pub b: f64,
}

/// The data seen through MBG/NBD's likelihood.
pub(crate) struct MbgData<'a>(pub(crate) Cow<'a, RepeatData>);

/// ln L of one customer, the per-customer form the tabulated sum is tested against.
#[cfg(test)]
fn log_likelihood<T: Real>([r, alpha, a, b]: [T; 4], s: &Summary) -> T {
    let x = s.frequency;
    let a1 = (r + x).ln_gamma() - r.ln_gamma() + r * alpha.ln();
    let a2 =
        (a + b).ln_gamma() + (b + x + 1.0).ln_gamma() - b.ln_gamma() - (a + b + x + 1.0).ln_gamma();
    let a3 = -(r + x) * (alpha + s.t).ln();
    let a4 = a.ln() - (b + x).ln() - (r + x) * (alpha + s.recency).ln();
    a1 + a2 + log_sum_exp(a3, a4)
}

impl Likelihood<4> for MbgData<'_> {
    const MODEL: &'static str = "MBG/NBD";
    const NAMES: [&'static str; 4] = ["r", "alpha", "a", "b"];
    fn customers(&self) -> usize {
        self.0.customers()
    }
    /// As BG/NBD's: A₁ + A₂ per distinct x, ln(α + time) per distinct time, one log-sum-exp
    /// per history.
    fn log_likelihood<T: Real + Send>(&self, [r, alpha, a, b]: [T; 4]) -> T {
        let data = &self.0;
        let tables = &data.tables;
        let ln_alpha_plus: Vec<T> = tables
            .times
            .par_iter()
            .with_min_len(1024)
            .map(|t| (alpha + *t).ln())
            .collect();
        let constant = (a + b).ln_gamma() - b.ln_gamma() - r.ln_gamma() + r * alpha.ln();
        // Per distinct x: (A₁ + A₂ times its customers, r + x, ln a − ln(b + x)).
        let per_x: Vec<(T, T, T)> = tables
            .frequencies
            .iter()
            .map(|&(x, customers)| {
                let head =
                    (r + x).ln_gamma() + (b + x + 1.0).ln_gamma() - (a + b + x + 1.0).ln_gamma();
                ((head + constant) * customers, r + x, a.ln() - (b + x).ln())
            })
            .collect();
        let heads = per_x
            .iter()
            .fold(T::constant(0.0), |total, (head, _, _)| total + *head);
        let rows = sum_in_chunks(data.rows.len(), |i| {
            let (_, count) = &data.rows[i];
            let [group, recency, t] = tables.keys[i];
            let (_, r_x, ln_odds) = per_x[group as usize];
            let a3 = -(r_x * ln_alpha_plus[t as usize]);
            let a4 = ln_odds - r_x * ln_alpha_plus[recency as usize];
            log_sum_exp(a3, a4) * *count
        });
        heads + rows
    }
    fn thinned(&self, customers: usize) -> Option<Self> {
        Some(MbgData(Cow::Owned(self.0.thinned(customers)?)))
    }
    fn starts(&self) -> Vec<[f64; 4]> {
        let scale = crate::bgnbd::mean_t(&self.0);
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
                "r and alpha grow together without bound (r/alpha = {:.4} purchases per time unit): purchase rates look the same for every customer; try --penalty 0.001 or a longer calibration period",
                r / alpha
            ));
        }
        if a < 1e-4 {
            notes.push(
                "a → 0: the data show almost no dropout, after purchases or at the first".into(),
            );
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

impl MbgNbd {
    /// A model with given parameters (all must be finite and > 0).
    ///
    /// ```
    /// let model = lookalike_value::MbgNbd::new(0.525, 6.183, 0.891, 1.614).unwrap();
    /// assert!(lookalike_value::MbgNbd::new(0.5, 1.0, -1.0, 1.0).is_err());
    /// ```
    pub fn new(r: f64, alpha: f64, a: f64, b: f64) -> Result<Self, ValueError> {
        for (name, value) in [("r", r), ("alpha", alpha), ("a", a), ("b", b)] {
            if !(value > 0.0 && value.is_finite()) {
                return Err(ValueError::BadParameter { name, value });
            }
        }
        Ok(MbgNbd { r, alpha, a, b })
    }

    /// Fits by maximum likelihood.
    pub fn fit(data: &RepeatData, options: &FitOptions) -> Result<(Self, FitReport), ValueError> {
        if data.repeat_buyers() == 0 {
            return Err(ValueError::NoRepeatBuyers);
        }
        let ([r, alpha, a, b], report) = maximise(&MbgData(Cow::Borrowed(data)), options)?;
        Ok((MbgNbd { r, alpha, a, b }, report))
    }

    /// Σ ln L over the data at these parameters.
    pub fn log_likelihood(&self, data: &RepeatData) -> f64 {
        Likelihood::<4>::log_likelihood(
            &MbgData(Cow::Borrowed(data)),
            [self.r, self.alpha, self.a, self.b],
        )
    }

    /// ln of the odds of having dropped out against being alive:
    /// (a / (b + x)) · ((α + T) / (α + t_x))^(r + x).
    fn ln_dropout_odds(&self, s: &Summary) -> f64 {
        let (r, x) = (self.r, s.frequency);
        self.a.ln() - (self.b + x).ln()
            + (r + x) * ((self.alpha + s.t).ln() - (self.alpha + s.recency).ln())
    }
}

impl PurchaseModel for MbgNbd {
    fn name(&self) -> &'static str {
        "MBG/NBD"
    }

    /// 1 / (1 + odds of dropout): below 1 even without a repeat purchase.
    fn p_alive(&self, s: &Summary) -> f64 {
        1.0 / (1.0 + self.ln_dropout_odds(s).exp())
    }

    fn expected_purchases(&self, t: f64, s: &Summary) -> f64 {
        let mut value = [0.0];
        self.expected_purchases_at(&[t], s, &mut value);
        value[0]
    }

    /// E[Y(t) | x, t_x, T] = (a + b + x)/(a − 1) · [1 − ((α + T)/(α + T + t))^(r + x)
    /// ₂F₁(r + x, b + x + 1; a + b + x; t/(α + T + t))] · P(alive), the ₂F₁ of every t sharing
    /// their series.
    fn expected_purchases_at(&self, times: &[f64], s: &Summary, out: &mut [f64]) {
        let MbgNbd { r, alpha, a, b } = *self;
        let x = s.frequency;
        let factor = (a + b + x) / (a - 1.0) * self.p_alive(s);
        let z: Vec<f64> = times.iter().map(|t| t / (alpha + s.t + t)).collect();
        ln_hyp2f1_many(r + x, b + x + 1.0, a + b + x, &z, out);
        for (t, value) in times.iter().zip(out.iter_mut()) {
            let ln_ratio = (r + x) * ((alpha + s.t) / (alpha + s.t + t)).ln();
            let bracket = -(ln_ratio + *value).exp_m1();
            *value = if *t == 0.0 { 0.0 } else { factor * bracket };
        }
    }

    /// E[X(t)] = b/(a − 1) · [1 − (α/(α + t))^r ₂F₁(r, b + 1; a + b; t/(α + t))].
    fn unconditional_purchases(&self, t: f64) -> f64 {
        if t == 0.0 {
            return 0.0;
        }
        let MbgNbd { r, alpha, a, b } = *self;
        let ln_f = ln_hyp2f1(r, b + 1.0, a + b, t / (alpha + t));
        let ln_ratio = r * (alpha / (alpha + t)).ln();
        b / (a - 1.0) * -(ln_ratio + ln_f).exp_m1()
    }

    /// As t → ∞ the bracket tends to 1 when a > 1; for a ≤ 1 the expectation is infinite.
    fn residual_purchases(&self, s: &Summary) -> Option<f64> {
        (self.a > 1.0).then(|| (self.a + self.b + s.frequency) / (self.a - 1.0) * self.p_alive(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dual::Dual;

    /// The tabulated sum equals the per-customer formula summed, in value and gradient.
    #[test]
    fn tabulated_likelihood_equals_the_sum_over_customers() {
        let n = 5000;
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
        let theta: [Dual<4>; 4] =
            std::array::from_fn(|i| Dual::variable([0.5, 6.0, 0.9, 1.6][i], i));
        let tabulated = Likelihood::log_likelihood(&MbgData(Cow::Borrowed(&data)), theta);
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

    /// The likelihood is a probability: for T = 0 (no time to buy again) the customer's only
    /// history is x = 0, whose likelihood must be 1.
    #[test]
    fn a_customer_seen_for_no_time_has_likelihood_one() {
        let theta = [0.5, 6.0, 0.9, 1.6];
        let s = Summary {
            frequency: 0.0,
            recency: 0.0,
            t: 0.0,
        };
        assert!(log_likelihood(theta, &s).abs() < 1e-12);
    }

    /// A customer seen for no time (x = t_x = T = 0) tells nothing: the conditional
    /// expectation must equal the unconditional one (P(alive) is then b/(a + b), the chance of
    /// not dropping out at the first purchase).
    #[test]
    fn with_nothing_learned_the_conditional_is_the_unconditional() {
        let model = MbgNbd::new(0.525, 6.183, 0.891, 1.614).unwrap();
        let s = Summary {
            frequency: 0.0,
            recency: 0.0,
            t: 0.0,
        };
        for t in [1.0, 10.0, 39.0, 78.0] {
            let conditional = model.expected_purchases(t, &s);
            let unconditional = model.unconditional_purchases(t);
            assert!(
                (conditional - unconditional).abs() < 1e-9 * unconditional,
                "{t}: {conditional} vs {unconditional}"
            );
        }
    }
}
