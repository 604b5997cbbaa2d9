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
///
/// The series needs more than a + b terms; when that is long (s or r + x in the hundreds, as
/// when a fit runs towards s → ∞) A₀ is computed from its integral form instead.
fn ln_a0<T: Real>(parameters: [T; 4], c: &Summary) -> T {
    let [r, _, s, _] = parameters;
    let x = c.frequency;
    let total = r + s + x;
    let (high, low, second) = a0_series(parameters, c);
    let ln_f = |y: f64| {
        let z = (high - low) / (high + y);
        ln_hyp2f1(total, second, total + 1.0, z) - total * (high + y).ln()
    };
    log_diff_exp(ln_f(c.recency), ln_f(c.t))
}

/// The larger scale, the smaller and the second upper parameter of A₀'s ₂F₁ in its case.
fn a0_series<T: Real>([r, alpha, s, beta]: [T; 4], c: &Summary) -> (T, T, T) {
    if alpha.value() >= beta.value() {
        (alpha, beta, s + 1.0)
    } else {
        (beta, alpha, r + c.frequency)
    }
}

/// Whether A₀'s series would be long: its terms grow for about a + b = (r + s + x) + second
/// of them and then fall like zᵏ, so it runs about (a + b)/(1 − z) terms, z at its largest
/// (y = t_x): long when s or r + x are in the hundreds, or when β ≫ α puts z near 1.
fn long_series<T: Real>(parameters: [T; 4], c: &Summary) -> bool {
    let [r, _, s, _] = parameters;
    let (high, low, second) = a0_series(parameters, c);
    let z = (high.value() - low.value()) / (high.value() + c.recency);
    let grows = r.value() + s.value() + c.frequency + second.value();
    grows > LONG_SERIES || grows / (1.0 - z) > SLOW_SERIES
}

/// ln of the survival term of eq. (22) without the common factor Γ(r+x)α^r β^s / Γ(r):
/// (α+T)^−(r+x) (β/(β+T))^s, the last as e^(−s·ln(1 + T/β)) so that huge s and β keep their
/// precision.
fn ln_survived<T: Real>([r, alpha, s, beta]: [T; 4], c: &Summary) -> T {
    -(r + c.frequency) * (alpha + c.t).ln() - s * (T::constant(c.t) / beta).ln_1p()
}

/// ln of the dropout term of eq. (22) without the same factor: s/(r+s+x) · β^s · A₀. From the
/// series when it is short; else from the integral, with β^s (β+t_x)^−(s+1) taken as
/// e^(−s·ln(1 + t_x/β)) / (β + t_x).
fn ln_dropped<T: Real>(parameters: [T; 4], c: &Summary) -> T {
    let [r, alpha, s, beta] = parameters;
    let x = c.frequency;
    if !long_series(parameters, c) {
        return (s / (r + s + x)).ln() + s * beta.ln() + ln_a0(parameters, c);
    }
    let from = c.recency;
    s.ln()
        - s * (T::constant(from) / beta).ln_1p()
        - (beta + from).ln()
        - (r + x) * (alpha + from).ln()
        + a0_integral(parameters, c)
}

/// Series terms above which A₀ is integrated instead (the ₂F₁ series runs at least a + b
/// terms, thousands when s runs off).
const LONG_SERIES: f64 = 150.0;

/// Estimated terms above which the integral replaces a series that is long because z nears
/// one. The integral costs one to four panels of 16 nodes, about what 20 terms of the series
/// cost; measured (`cargo bench -p lookalike-value --bench pareto`), 10,000 day-grid histories
/// with β ≫ α fitted 10× faster than with the series up to 1,000 terms, and the 20,000
/// continuous-time histories of `tests/integration/recovery.rs` no slower.
const SLOW_SERIES: f64 = 20.0;

/// Gauss–Legendre nodes per panel, and the most panels, of the integrals below.
const NODES: usize = 16;
const PANELS: usize = 4;
/// Fall of the log-integrand one panel of [`NODES`] integrates to about 1e-14.
const DROP_PER_PANEL: f64 = 12.5;

/// ln ∫ from `from` to `to` of exp(`log_integrand`(τ − from)) dτ, by Gauss–Legendre in
/// u = ln((scale + τ)/(scale + from)), which turns the power laws (α + τ)^−k of the
/// integrands into smooth exponentials in u. `scale` > 0 is the integrand's shortest length.
/// `decay` is the integrand's logarithmic decay rate per unit τ at τ = `from` (it only grows
/// with τ): past u = 50 / (decay·(scale + from)) the integrand is below e^−50 of its start, so
/// the rule covers [0, that] and a steep integrand (hundreds of purchases) is resolved.
fn ln_integral<T: Real>(
    from: f64,
    to: f64,
    scale: f64,
    decay: f64,
    log_integrand: impl Fn(f64) -> T,
) -> T {
    static RULE: std::sync::OnceLock<Vec<(f64, f64)>> = std::sync::OnceLock::new();
    let rule = RULE.get_or_init(|| crate::special::gauss_legendre(NODES));
    if to <= from {
        return T::constant(f64::NEG_INFINITY);
    }
    let base = scale + from;
    let mut width = (scale + to).ln() - base.ln();
    if decay > 0.0 {
        width = width.min(50.0 / (decay * base));
    }
    // One panel per DROP_PER_PANEL of the log-integrand's fall over the range (at most
    // PANELS): a flat integrand, as for most histories, needs one panel of NODES.
    let fall = -log_integrand(base * width.exp_m1()).value();
    let panels = ((fall / DROP_PER_PANEL).ceil() as usize).clamp(1, PANELS);
    let panel = width / panels as f64;
    let mut logs: Vec<(T, f64)> = Vec::with_capacity(NODES * panels);
    for k in 0..panels {
        let centre = panel * (k as f64 + 0.5);
        for (node, weight) in rule {
            let u = centre + node * panel / 2.0;
            // τ − from, and dτ = (scale + from) e^u du.
            let offset = base * u.exp_m1();
            logs.push((
                log_integrand(offset) + (u + base.ln()),
                weight * panel / 2.0,
            ));
        }
    }
    let top = logs
        .iter()
        .map(|(g, _)| g.value())
        .fold(f64::NEG_INFINITY, f64::max);
    let sum = logs
        .iter()
        .fold(T::constant(0.0), |sum, (g, w)| sum + (*g - top).exp() * *w);
    sum.ln() + top
}

/// A₀'s integral form, A₀ = (r+s+x) ∫_{t_x}^{T} (β+τ)^−(s+1) (α+τ)^−(r+x) dτ (dropout at τ,
/// no purchase since t_x): ln of the integral with the powers taken relative to their values
/// at τ = t_x.
fn a0_integral<T: Real>([r, alpha, s, beta]: [T; 4], c: &Summary) -> T {
    let x = c.frequency;
    let from = c.recency;
    let scale = alpha.value().min(beta.value());
    let decay =
        (s.value() + 1.0) / (beta.value() + from) + (r.value() + x) / (alpha.value() + from);
    ln_integral(from, c.t, scale, decay, |d| {
        let d = T::constant(d);
        -((s + 1.0) * (d / (beta + from)).ln_1p()) - (r + x) * (d / (alpha + from)).ln_1p()
    })
}

/// ln A₀ from the integral form (for the test against the series).
#[cfg(test)]
fn ln_a0_integral<T: Real>(parameters: [T; 4], c: &Summary) -> T {
    let [r, alpha, s, beta] = parameters;
    let (x, from) = (c.frequency, c.recency);
    (r + s + x).ln() - (s + 1.0) * (beta + from).ln() - (r + x) * (alpha + from).ln()
        + a0_integral(parameters, c)
}

/// ln L of one customer, the note's eq. (22), in log space.
fn log_likelihood<T: Real>(parameters: [T; 4], c: &Summary) -> T {
    let [r, alpha, s, beta] = parameters;
    let x = c.frequency;
    if !long_series(parameters, c) {
        let head = (r + x).ln_gamma() - r.ln_gamma() + r * alpha.ln() + s * beta.ln();
        let survived = -(r + x) * (alpha + c.t).ln() - s * (beta + c.t).ln();
        let dropped = (s / (r + s + x)).ln() + ln_a0(parameters, c);
        return head + log_sum_exp(survived, dropped);
    }
    let head = (r + x).ln_gamma() - r.ln_gamma() + r * alpha.ln();
    head + log_sum_exp(ln_survived(parameters, c), ln_dropped(parameters, c))
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
                "s and beta grow together without bound: every customer seems to share one dropout rate, {:.4} per time unit",
                s / beta
            ));
        }
        // The mean dropout rate s/β, not β alone: β also grows when s does.
        if s < 1e-4 || s / beta < 1e-6 {
            notes.push("the dropout rate runs to 0: the data show almost no dropout".into());
        }
        notes
    }
}

/// Pareto/NBD's limit s → ∞ at fixed s/β = μ: the Gamma of dropout rates collapses onto μ,
/// so every customer drops out at the same rate. Fitted when the full model runs off there.
pub(crate) struct ParetoLimitData<'a>(pub(crate) Cow<'a, RepeatData>);

/// ln L of one customer under the limit: alive at T with no purchase since t_x, or gone at
/// τ ∈ (t_x, T] with no purchase since t_x,
/// L = Γ(r+x)α^r/Γ(r) · [e^−μT (α+T)^−(r+x) + μ ∫_{t_x}^{T} e^−μτ (α+τ)^−(r+x) dτ].
fn limit_log_likelihood<T: Real>([r, alpha, mu]: [T; 3], c: &Summary) -> T {
    let x = c.frequency;
    let head = (r + x).ln_gamma() - r.ln_gamma() + r * alpha.ln();
    let survived = -(mu * c.t) - (r + x) * (alpha + c.t).ln();
    let from = c.recency;
    let decay = mu.value() + (r.value() + x) / (alpha.value() + from);
    let integral = ln_integral(from, c.t, alpha.value(), decay, |d| {
        -(mu * d) - (r + x) * (T::constant(d) / (alpha + from)).ln_1p()
    });
    let dropped = mu.ln() - mu * from - (r + x) * (alpha + from).ln() + integral;
    head + log_sum_exp(survived, dropped)
}

impl Likelihood<3> for ParetoLimitData<'_> {
    const MODEL: &'static str = "Pareto/NBD, one dropout rate";
    const NAMES: [&'static str; 3] = ["r", "alpha", "dropout_rate"];
    fn customers(&self) -> usize {
        self.0.customers()
    }
    fn log_likelihood<T: Real + Send>(&self, parameters: [T; 3]) -> T {
        self.0.sum(|c| limit_log_likelihood(parameters, c))
    }
    fn thinned(&self, customers: usize) -> Option<Self> {
        Some(ParetoLimitData(Cow::Owned(self.0.thinned(customers)?)))
    }
    fn starts(&self) -> Vec<[f64; 3]> {
        let scale = crate::bgnbd::mean_t(&self.0);
        vec![
            [1.0, scale, 1.0 / scale],
            [0.5, scale / 4.0, 0.3 / scale],
            [2.0, 2.0 * scale, 3.0 / scale],
        ]
    }
}

/// A full fit with s above this has all but collapsed onto the limit of one dropout rate
/// (coefficient of variation 1/√s below 10%): the limit is fitted too and kept if it is as
/// likely.
const RUNAWAY_SHAPE: f64 = 100.0;

/// The shape standing for s = ∞ in a fitted limit (rates within 1e-3 of one another; every
/// prediction within about 1e-6 of the limit's).
const LIMIT_SHAPE: f64 = 1e6;

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
        let full = (ParetoNbd { r, alpha, s, beta }, report);
        if s <= RUNAWAY_SHAPE {
            return Ok(full);
        }
        // Running off to s → ∞ at fixed s/β: fit the limit, one dropout rate for everyone.
        let Ok(([r, alpha, rate], limit)) =
            maximise(&ParetoLimitData(Cow::Borrowed(data)), options)
        else {
            return Ok(full);
        };
        if limit.log_likelihood < full.1.log_likelihood - 1e-6 * full.1.log_likelihood.abs() {
            return Ok(full);
        }
        let model = ParetoNbd {
            r,
            alpha,
            s: LIMIT_SHAPE,
            beta: LIMIT_SHAPE / rate,
        };
        let mut warnings = vec![format!(
            "s and beta grew together without bound (s = {:.3e}, s/beta = {:.4}): every customer shares one dropout rate (the gamma's shape s → ∞ at fixed s/β), so the limit was fitted instead: one dropout rate, {rate:.4} per time unit (stored as s = {LIMIT_SHAPE:e}, beta = s/rate)",
            full.0.s,
            full.0.s / full.0.beta
        )];
        warnings.extend(
            limit
                .warnings
                .iter()
                .filter(|w| !w.contains("dropout_rate"))
                .cloned(),
        );
        let se = |name: &str| {
            limit
                .parameters
                .iter()
                .position(|(n, _)| *n == name)
                .map_or(f64::NAN, |i| limit.std_errors[i])
        };
        let report = FitReport {
            model: "Pareto/NBD",
            parameters: vec![
                ("r", model.r),
                ("alpha", model.alpha),
                ("s", model.s),
                ("beta", model.beta),
            ],
            // s is fixed at the limit; β's error is the rate's, carried by β = s/rate.
            std_errors: vec![
                se("r"),
                se("alpha"),
                f64::NAN,
                se("dropout_rate") * LIMIT_SHAPE / (rate * rate),
            ],
            warnings,
            ..limit
        };
        Ok((model, report))
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

    /// The note's eq. (18): 1 / (1 + s/(r+s+x) · (α+T)^(r+x) (β+T)^s · A₀), as the ratio of
    /// the dropout and survival terms of the likelihood.
    fn p_alive(&self, c: &Summary) -> f64 {
        let parameters = self.parameters();
        let ln_odds = ln_dropped(parameters, c) - ln_survived(parameters, c);
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
            let growth = (t / (beta + c.t)).ln_1p();
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
            return r * beta / alpha * (t / beta).ln_1p();
        }
        r * beta / (alpha * (s - 1.0)) * -(-(s - 1.0) * (t / beta).ln_1p()).exp_m1()
    }

    /// t → ∞ in eq. (24): (r+x)(β+T) / ((α+T)(s−1)) · P(alive) for s > 1, else infinite.
    fn residual_purchases(&self, c: &Summary) -> Option<f64> {
        let ParetoNbd { r, alpha, s, beta } = *self;
        (s > 1.0).then(|| {
            (r + c.frequency) * (beta + c.t) / ((alpha + c.t) * (s - 1.0)) * self.p_alive(c)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn history(x: f64, t_x: f64, t: f64) -> Summary {
        Summary {
            frequency: x,
            recency: t_x,
            t,
        }
    }

    /// Where both work, the integral form of A₀ equals the ₂F₁ form.
    #[test]
    fn the_integral_form_of_a0_equals_the_series() {
        for parameters in [
            [0.55, 10.6, 0.61, 11.7],
            [0.3, 2.0, 2.5, 40.0],
            [1.8, 30.0, 0.2, 3.0],
            [0.9, 0.4, 1.1, 0.7],
            // beta far above alpha (z near 1), as fits to day-grid logs reach.
            [0.58, 10.9, 10.2, 312.0],
            [0.58, 10.9, 1.2, 3120.0],
        ] {
            for c in [
                history(0.0, 0.0, 38.0),
                history(2.0, 30.4, 38.9),
                history(12.0, 5.0, 70.0),
                history(1.0, 0.5, 1.0),
                history(3.0, 20.0 / 7.0, 200.0 / 7.0),
                history(25.0, 30.0, 31.0),
                // Steep: 200 purchases, then 30 weeks without one.
                history(200.0, 10.0, 40.0),
            ] {
                let series = ln_a0(parameters, &c);
                let integral = ln_a0_integral(parameters, &c);
                assert!(
                    (series - integral).abs() < 1e-12 * series.abs().max(1.0),
                    "{parameters:?} {c:?}: {series} vs {integral}"
                );
            }
        }
    }

    /// The limit's likelihood is the full model's at a huge s with s/β fixed.
    #[test]
    fn the_limit_is_the_full_model_at_huge_s() {
        let (r, alpha, rate) = (0.6, 9.0, 0.03);
        for c in [
            history(0.0, 0.0, 38.0),
            history(2.0, 30.4, 38.9),
            history(7.0, 12.0, 60.0),
        ] {
            let limit = limit_log_likelihood([r, alpha, rate], &c);
            let s = 1e7;
            let full = log_likelihood([r, alpha, s, s / rate], &c);
            assert!((limit - full).abs() < 1e-5, "{c:?}: {limit} vs {full}");
        }
    }
}
