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
/// Γ(px+q)/(Γ(px)Γ(q)) · γ^q m̄^(px−1) x^(px) / (γ + m̄x)^(px+q). The fit sums the same terms
/// grouped by x; this per-customer form is their test oracle.
#[cfg(test)]
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
    /// The per-customer terms of [`log_likelihood`] that depend on x alone are summed once
    /// per distinct x; each row adds only −(px + q)·ln(γ + m̄x).
    fn log_likelihood<T: Real + Send>(&self, [p, q, gamma]: [T; 3]) -> T {
        let per_x: Vec<(T, T)> = self
            .frequencies
            .iter()
            .map(|&(x, buyers, sum_ln_m)| {
                let px = p * x;
                let head = ((px + q).ln_gamma() - px.ln_gamma() - q.ln_gamma()
                    + q * gamma.ln()
                    + px * x.ln())
                    * buyers
                    + (px - 1.0) * sum_ln_m;
                (head, px + q)
            })
            .collect();
        let heads = per_x
            .iter()
            .fold(T::constant(0.0), |total, (head, _)| total + *head);
        let rows = sum_in_chunks(self.rows.len(), |i| {
            let (x, m) = self.rows[i];
            per_x[self.groups[i] as usize].1 * (gamma + m * x).ln()
        });
        heads - rows
    }
    fn thinned(&self, customers: usize) -> Option<Self> {
        SpendData::thinned(self, customers)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dual::Dual;

    /// The grouped sum equals the per-customer formula summed, in value and gradient.
    #[test]
    fn grouped_likelihood_equals_the_sum_over_customers() {
        let x: Vec<f64> = (0..5000).map(|i| ((i * 7) % 11 + 1) as f64).collect();
        let m: Vec<f64> = (0..5000)
            .map(|i| 5.0 + ((i * 13) % 97) as f64 * 1.7)
            .collect();
        let data = SpendData::from_columns(&x, &m).unwrap();
        let theta: [Dual<3>; 3] = std::array::from_fn(|i| Dual::variable([2.1, 3.4, 15.0][i], i));
        let grouped = data.log_likelihood(theta);
        let direct = x.iter().zip(&m).fold(Dual::constant(0.0), |total, (x, m)| {
            total + log_likelihood(theta, *x, *m)
        });
        assert!((grouped.value - direct.value).abs() < 1e-9 * direct.value.abs());
        for (g, d) in grouped.gradient.iter().zip(direct.gradient) {
            assert!((g - d).abs() < 1e-9 * d.abs().max(1.0), "{g} vs {d}");
        }
    }
}
