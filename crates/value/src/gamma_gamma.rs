//! Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV", JMR 42(4); Fader & Hardie
//! 2013, "The Gamma-Gamma Model of Monetary Value"): each transaction's value is
//! Gamma(p, ν) with ν ~ Gamma(q, γ) across customers, independent of the purchase process.

use serde::Serialize;

use crate::dual::Real;
use crate::error::ValueError;
use crate::fit::{FitOptions, FitReport, Likelihood, maximise};
use crate::summary::{SpendData, sum_in_chunks};

/// A fitted (or given) Gamma-Gamma model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct GammaGamma {
    /// Shape of each transaction's value.
    pub p: f64,
    /// Shape of the Gamma distribution of ν across customers.
    pub q: f64,
    /// Scale (currency) of the Gamma distribution of ν across customers.
    pub gamma: f64,
}

/// ln f(m̄ | p, q, γ; x) of one customer, Fader & Hardie (2013) eq. (3):
/// Γ(px+q)/(Γ(px)Γ(q)) · γ^q m̄^(px−1) x^(px) / (γ + m̄x)^(px+q).
fn log_likelihood<T: Real>([p, q, gamma]: [T; 3], x: f64, m: f64) -> T {
    let px = p * x;
    (px + q).ln_gamma() - px.ln_gamma() - q.ln_gamma()
        + q * gamma.ln()
        + (px - 1.0) * m.ln()
        + px * x.ln()
        - (px + q) * (gamma + m * x).ln()
}

impl Likelihood<3> for SpendData {
    const MODEL: &'static str = "Gamma-Gamma";
    const NAMES: [&'static str; 3] = ["p", "q", "gamma"];
    fn customers(&self) -> usize {
        self.rows.len()
    }
    fn log_likelihood<T: Real + Send>(&self, parameters: [T; 3]) -> T {
        sum_in_chunks(&self.rows, |(x, m)| log_likelihood(parameters, *x, *m))
    }
    fn starts(&self) -> Vec<[f64; 3]> {
        let mean = self.rows.iter().map(|(_, m)| m).sum::<f64>() / self.rows.len() as f64;
        vec![
            [1.0, 1.0, mean],
            [5.0, 3.0, 3.0 * mean],
            [2.0, 5.0, 10.0 * mean],
        ]
    }
    fn degeneracy(&self, [p, q, gamma]: [f64; 3]) -> Vec<String> {
        let mut notes = Vec::new();
        if q > 1e4 && gamma > 1e4 {
            notes.push(format!(
                "q and gamma grow together without bound: every customer seems to share one mean spend scale ν = {:.4e}; spend varies within customers only",
                q / gamma
            ));
        }
        if p > 1e4 {
            notes.push(
                "p grows without bound: each customer's transactions look identical in value"
                    .into(),
            );
        }
        notes
    }
}

impl GammaGamma {
    /// A model with given parameters (all must be finite and > 0).
    ///
    /// ```
    /// let model = lookalike_value::GammaGamma::new(6.25, 3.74, 15.44).unwrap();
    /// assert!((model.conditional_spend(0.0, 0.0) - 6.25 * 15.44 / 2.74).abs() < 1e-9);
    /// ```
    pub fn new(p: f64, q: f64, gamma: f64) -> Result<Self, ValueError> {
        for (name, value) in [("p", p), ("q", q), ("gamma", gamma)] {
            if !(value > 0.0 && value.is_finite()) {
                return Err(ValueError::BadParameter { name, value });
            }
        }
        Ok(GammaGamma { p, q, gamma })
    }

    /// Fits by maximum likelihood on the repeat buyers with a positive mean spend. Adds a
    /// warning when frequency and spend are correlated (|ρ| > 0.3), which the model assumes
    /// they are not, and when buyers were left out for a spend ≤ 0.
    pub fn fit(data: &SpendData, options: &FitOptions) -> Result<(Self, FitReport), ValueError> {
        let ([p, q, gamma], mut report) = maximise(data, options)?;
        if data.correlation().abs() > 0.3 {
            report.warnings.push(format!(
                "frequency and mean spend are correlated (Pearson ρ = {:.3}); Gamma-Gamma assumes they are independent, so expected spend may be biased",
                data.correlation()
            ));
        }
        if data.non_positive() > 0 {
            report.warnings.push(format!(
                "{} repeat buyers with a mean spend ≤ 0 (refunds or free orders) were left out of the spend fit",
                data.non_positive()
            ));
        }
        Ok((GammaGamma { p, q, gamma }, report))
    }

    /// Σ ln f over the data at these parameters.
    pub fn log_likelihood(&self, data: &SpendData) -> f64 {
        data.log_likelihood([self.p, self.q, self.gamma])
    }

    /// E[M | p, q, γ, m̄, x] = p(γ + m̄x) / (px + q − 1) (FHL 2005 JMR eq. (5)): a weighted mean
    /// of the population mean pγ/(q−1) and the customer's own m̄. With x = 0 it is the
    /// population mean. Infinite when q ≤ 1 and x = 0 (the population mean does not exist).
    pub fn conditional_spend(&self, x: f64, m: f64) -> f64 {
        let GammaGamma { p, q, gamma } = *self;
        let m = if x > 0.0 { m } else { 0.0 };
        p * (gamma + m * x) / (p * x + q - 1.0)
    }
}
