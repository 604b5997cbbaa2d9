//! BG/BB (Fader, Hardie & Shang 2010, "Customer-Base Analysis in a Discrete-Time
//! Noncontractual Setting", Marketing Science 29(6)): time comes in discrete opportunities to
//! buy (a year's donation drive, a day's visit). While active, a customer buys at each
//! opportunity with probability p ~ Beta(α, β); before each opportunity an active customer
//! drops out with probability θ ~ Beta(γ, δ).
//!
//! A history is (x, t_x, n): x repeat transactions in the n opportunities after the first
//! purchase, the last at opportunity t_x (0 without one). The likelihood, eq. (5) of the paper:
//!
//! L = B(α+x, β+n−x)/B(α,β) · B(γ, δ+n)/B(γ,δ)
//!   + Σ_{i=0}^{n−t_x−1} B(α+x, β+t_x−x+i)/B(α,β) · B(γ+1, δ+t_x+i)/B(γ,δ).
//!
//! The sum's term for m = t_x + i, B(α+x, β+m−x)·B(γ+1, δ+m), depends on x and m alone and
//! falls as m grows. So the fit tabulates, per distinct x, the log of the sums of the terms
//! from m to the longest history (suffix sums), and a history's sum is the difference of two
//! entries (m = t_x and m = n): O(1) per history and O(distinct x × longest n) per evaluation,
//! every ln Γ on the integer grid computed once. As the terms fall, the difference loses at
//! most a factor of the longest n in relative precision. A single history (predictions) sums
//! its terms by the ratio of consecutive ones, (β+m−x)/(α+β+m) · (δ+m)/(γ+1+δ+m): one
//! multiplication per opportunity.

use std::borrow::Cow;

use serde::Serialize;

use crate::dual::Real;
use crate::error::ValueError;
use crate::fit::{FitOptions, FitReport, Likelihood, maximise};
use crate::purchases::PurchaseModel;
use crate::special::{log_diff_exp, log_sum_exp};
use crate::summary::{RepeatData, Summary, sum_in_chunks};
use rayon::prelude::*;

/// A fitted (or given) BG/BB model. Its time unit is one opportunity.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BgBb {
    /// First shape of the Beta distribution of purchase probabilities.
    pub alpha: f64,
    /// Second shape of the Beta distribution of purchase probabilities.
    pub beta: f64,
    /// First shape of the Beta distribution of dropout probabilities.
    pub gamma: f64,
    /// Second shape of the Beta distribution of dropout probabilities.
    pub delta: f64,
}

/// The data seen through BG/BB's likelihood: histories in whole opportunities, each keyed by
/// its x's position among the distinct x, its t_x and its n.
pub(crate) struct BgBbData<'a> {
    data: Cow<'a, RepeatData>,
    /// Distinct x, ascending.
    xs: Vec<f64>,
    /// Per history: (index in `xs`, t_x, n).
    keys: Vec<(usize, usize, usize)>,
    /// The longest n.
    longest: usize,
}

impl<'a> BgBbData<'a> {
    /// Keys the histories; refuses any that is not whole opportunities with x ≤ t_x ≤ n.
    fn new(data: Cow<'a, RepeatData>) -> Result<Self, ValueError> {
        let mut xs: Vec<f64> = Vec::new();
        let mut keys = Vec::with_capacity(data.rows.len());
        for (s, _) in &data.rows {
            let whole = |v: f64| v.fract() == 0.0;
            if !whole(s.recency) || !whole(s.t) || s.frequency > s.recency {
                return Err(ValueError::NotDiscrete {
                    frequency: s.frequency,
                    recency: s.recency,
                    t: s.t,
                });
            }
            // Rows are sorted by x first.
            if xs.last() != Some(&s.frequency) {
                xs.push(s.frequency);
            }
            keys.push((xs.len() - 1, s.recency as usize, s.t as usize));
        }
        let longest = keys.iter().map(|k| k.2).max().unwrap_or(0);
        Ok(BgBbData {
            data,
            xs,
            keys,
            longest,
        })
    }
}

/// ln Γ(start + k) for k = 0..=last, by ln Γ(z + 1) = ln Γ(z) + ln z from one ln Γ.
fn ln_gamma_grid<T: Real>(start: T, last: usize) -> Vec<T> {
    let mut values = Vec::with_capacity(last + 1);
    let mut value = start.ln_gamma();
    for k in 0..=last {
        values.push(value);
        value = value + (start + k as f64).ln();
    }
    values
}

/// ln Γ of a plain number (the predictions are not differentiated).
fn lg(x: f64) -> f64 {
    statrs::function::gamma::ln_gamma(x)
}

fn ln_beta<T: Real>(a: T, b: T) -> T {
    a.ln_gamma() + b.ln_gamma() - (a + b).ln_gamma()
}

/// ln L of one history, eq. (5), its sum accumulated by the ratio of consecutive terms.
fn log_likelihood<T: Real>([alpha, beta, gamma, delta]: [T; 4], s: &Summary) -> T {
    let (x, t_x, n) = (s.frequency, s.recency, s.t);
    let base = ln_beta(alpha, beta) + ln_beta(gamma, delta);
    let survived = ln_beta(alpha + x, beta + (n - x)) + ln_beta(gamma, delta + n) - base;
    let gaps = (n - t_x) as usize;
    if gaps == 0 {
        return survived;
    }
    // Σ_i term_i = term_0 · Σ_i Π_{j<i} ratio_j.
    let first = ln_beta(alpha + x, beta + (t_x - x)) + ln_beta(gamma + 1.0, delta + t_x) - base;
    let mut factor = T::constant(1.0);
    let mut total = T::constant(1.0);
    for i in 0..gaps - 1 {
        let i = i as f64;
        factor = factor * (beta + (t_x - x + i)) / (alpha + beta + (t_x + i)) * (delta + (t_x + i))
            / (gamma + delta + (1.0 + t_x + i));
        total = total + factor;
    }
    log_sum_exp(survived, first + total.ln())
}

impl Likelihood<4> for BgBbData<'_> {
    const MODEL: &'static str = "BG/BB";
    const NAMES: [&'static str; 4] = ["alpha", "beta", "gamma", "delta"];
    fn customers(&self) -> usize {
        self.data.customers()
    }
    fn log_likelihood<T: Real + Send>(&self, [alpha, beta, gamma, delta]: [T; 4]) -> T {
        let last = self.longest;
        let base = ln_beta(alpha, beta) + ln_beta(gamma, delta);
        // ln Γ on the integer grid: β + k, α + β + m, δ + m, γ + δ + m, γ + 1 + δ + m.
        let g_beta = ln_gamma_grid(beta, last);
        let g_alpha_beta = ln_gamma_grid(alpha + beta, last);
        let g_delta = ln_gamma_grid(delta, last);
        let g_gamma_delta = ln_gamma_grid(gamma + delta, last);
        let g_gamma1_delta = ln_gamma_grid(gamma + delta + 1.0, last);
        let (ln_g_gamma, ln_g_gamma1) = (gamma.ln_gamma(), (gamma + 1.0).ln_gamma());
        // Per distinct x: ln Γ(α + x) and the suffix log-sums of the terms,
        // tail[m − x] = ln Σ_{m' = m}^{last} B(α+x, β+m'−x)·B(γ+1, δ+m') / (B(α,β)·B(γ,δ)),
        // with tail[last + 1 − x] = ln 0.
        let per_x: Vec<(T, Vec<T>)> = self
            .xs
            .par_iter()
            .map(|&x| {
                let lead = (alpha + x).ln_gamma();
                let from = x as usize;
                let mut tail = vec![T::constant(f64::NEG_INFINITY); last + 2 - from];
                for m in (from..=last).rev() {
                    let term = lead + g_beta[m - from] - g_alpha_beta[m] + ln_g_gamma1 + g_delta[m]
                        - g_gamma1_delta[m]
                        - base;
                    tail[m - from] = log_sum_exp(term, tail[m - from + 1]);
                }
                (lead, tail)
            })
            .collect();
        sum_in_chunks(self.keys.len(), |i| {
            let (group, t_x, n) = self.keys[i];
            let (lead, tail) = &per_x[group];
            let from = self.xs[group] as usize;
            let survived = *lead + g_beta[n - from] - g_alpha_beta[n] + ln_g_gamma + g_delta[n]
                - g_gamma_delta[n]
                - base;
            let ln_l = if t_x < n {
                log_sum_exp(survived, log_diff_exp(tail[t_x - from], tail[n - from]))
            } else {
                survived
            };
            ln_l * self.data.rows[i].1
        })
    }
    fn thinned(&self, customers: usize) -> Option<Self> {
        BgBbData::new(Cow::Owned(self.data.thinned(customers)?)).ok()
    }
    fn starts(&self) -> Vec<[f64; 4]> {
        vec![
            [1.0, 1.0, 1.0, 1.0],
            [0.5, 2.0, 0.5, 3.0],
            [2.0, 0.5, 2.0, 8.0],
        ]
    }
    fn degeneracy(&self, [alpha, beta, gamma, delta]: [f64; 4]) -> Vec<String> {
        let mut notes = Vec::new();
        if alpha > 1e4 && beta > 1e4 {
            notes.push(format!(
                "alpha and beta grow together without bound: every customer seems to buy at an opportunity with one probability {:.4}",
                alpha / (alpha + beta)
            ));
        }
        if gamma > 1e4 && delta > 1e4 {
            notes.push(format!(
                "gamma and delta grow together without bound: every customer seems to share one dropout probability {:.4}",
                gamma / (gamma + delta)
            ));
        }
        if gamma < 1e-4 {
            notes.push("gamma → 0: the data show almost no dropout".into());
        }
        notes
    }
}

impl BgBb {
    /// A model with given parameters (all must be finite and > 0).
    ///
    /// ```
    /// let model = lookalike_value::BgBb::new(1.204, 0.750, 0.657, 2.783).unwrap();
    /// assert!(lookalike_value::BgBb::new(1.0, 1.0, 0.0, 1.0).is_err());
    /// ```
    pub fn new(alpha: f64, beta: f64, gamma: f64, delta: f64) -> Result<Self, ValueError> {
        for (name, value) in [
            ("alpha", alpha),
            ("beta", beta),
            ("gamma", gamma),
            ("delta", delta),
        ] {
            if !(value > 0.0 && value.is_finite()) {
                return Err(ValueError::BadParameter { name, value });
            }
        }
        Ok(BgBb {
            alpha,
            beta,
            gamma,
            delta,
        })
    }

    /// Fits by maximum likelihood. The histories must be in whole opportunities with
    /// x ≤ t_x ≤ n (one transaction per opportunity at most).
    pub fn fit(data: &RepeatData, options: &FitOptions) -> Result<(Self, FitReport), ValueError> {
        let keyed = BgBbData::new(Cow::Borrowed(data))?;
        if data.repeat_buyers() == 0 {
            return Err(ValueError::NoRepeatBuyers);
        }
        let ([alpha, beta, gamma, delta], report) = maximise(&keyed, options)?;
        Ok((
            BgBb {
                alpha,
                beta,
                gamma,
                delta,
            },
            report,
        ))
    }

    /// Σ ln L over the data at these parameters (NaN for histories that are not whole
    /// opportunities).
    pub fn log_likelihood(&self, data: &RepeatData) -> f64 {
        match BgBbData::new(Cow::Borrowed(data)) {
            Ok(keyed) => Likelihood::<4>::log_likelihood(&keyed, self.parameters()),
            Err(_) => f64::NAN,
        }
    }

    fn parameters(&self) -> [f64; 4] {
        [self.alpha, self.beta, self.gamma, self.delta]
    }

    /// ln of the first term of L: the customer is alive after the n-th opportunity (without
    /// the dropout before it, which `p_alive` adds for opportunity n + 1).
    fn ln_likelihood(&self, s: &Summary) -> f64 {
        log_likelihood(self.parameters(), s)
    }

    /// Γ(1+δ+m)/Γ(γ+δ+m) for the expectations' brackets.
    fn ln_ratio(&self, m: f64) -> f64 {
        lg(1.0 + self.delta + m) - lg(self.gamma + self.delta + m)
    }
}

impl PurchaseModel for BgBb {
    fn name(&self) -> &'static str {
        "BG/BB"
    }

    /// Eq. (11): P(alive at opportunity n + 1 | x, t_x, n).
    fn p_alive(&self, s: &Summary) -> f64 {
        let BgBb {
            alpha,
            beta,
            gamma,
            delta,
        } = *self;
        let (x, n) = (s.frequency, s.t);
        let alive = ln_beta(alpha + x, beta + n - x) - ln_beta(alpha, beta)
            + ln_beta(gamma, delta + n + 1.0)
            - ln_beta(gamma, delta);
        (alive - self.ln_likelihood(s)).exp()
    }

    /// Eq. (13): expected transactions in the next `t` opportunities.
    fn expected_purchases(&self, t: f64, s: &Summary) -> f64 {
        if t == 0.0 {
            return 0.0;
        }
        let BgBb {
            alpha,
            beta,
            gamma,
            delta,
        } = *self;
        let (x, n) = (s.frequency, s.t);
        let ln_head = ln_beta(alpha + x + 1.0, beta + n - x) - ln_beta(alpha, beta)
            + lg(gamma + delta)
            - lg(1.0 + delta)
            - self.ln_likelihood(s);
        // δ/(γ − 1) · [R(n) − R(n + t)], both factors negative when γ < 1.
        let bracket = self.ln_ratio(n).exp() - self.ln_ratio(n + t).exp();
        ln_head.exp() * delta / (gamma - 1.0) * bracket
    }

    /// Eq. (7): E[X(n)] = α/(α+β) · δ/(γ−1) · [1 − Γ(γ+δ)Γ(1+δ+n) / (Γ(γ+δ+n)Γ(1+δ))].
    fn unconditional_purchases(&self, t: f64) -> f64 {
        if t == 0.0 {
            return 0.0;
        }
        let BgBb {
            alpha,
            beta,
            gamma,
            delta,
        } = *self;
        let ln_ratio = lg(gamma + delta) - lg(1.0 + delta) + self.ln_ratio(t);
        alpha / (alpha + beta) * delta / (gamma - 1.0) * -ln_ratio.exp_m1()
    }

    /// Over an unbounded horizon Γ(1+δ+m)/Γ(γ+δ+m) vanishes when γ > 1, leaving the head times
    /// δ/(γ − 1) · Γ(1+δ+n)/Γ(γ+δ+n); for γ ≤ 1 the expectation is infinite.
    fn residual_purchases(&self, s: &Summary) -> Option<f64> {
        (self.gamma > 1.0).then(|| {
            let BgBb {
                alpha,
                beta,
                gamma,
                delta,
            } = *self;
            let (x, n) = (s.frequency, s.t);
            let ln_head = ln_beta(alpha + x + 1.0, beta + n - x) - ln_beta(alpha, beta)
                + lg(gamma + delta)
                - lg(1.0 + delta)
                - self.ln_likelihood(s);
            ln_head.exp() * delta / (gamma - 1.0) * self.ln_ratio(n).exp()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ln B by ln Γ of f64, for the oracle below.
    fn beta_fn(a: f64, b: f64) -> f64 {
        ln_beta(a, b).exp()
    }

    /// Eq. (5) term by term, as the paper writes it.
    fn likelihood_as_written([a, b, g, d]: [f64; 4], x: f64, t_x: f64, n: f64) -> f64 {
        let mut total =
            beta_fn(a + x, b + n - x) / beta_fn(a, b) * beta_fn(g, d + n) / beta_fn(g, d);
        let mut i = 0.0;
        while i <= n - t_x - 1.0 {
            total += beta_fn(a + x, b + t_x - x + i) / beta_fn(a, b)
                * beta_fn(g + 1.0, d + t_x + i)
                / beta_fn(g, d);
            i += 1.0;
        }
        total
    }

    #[test]
    fn the_recursive_sum_equals_the_written_likelihood() {
        let theta = [1.2, 0.75, 0.66, 2.8];
        for (x, t_x, n) in [
            (0.0, 0.0, 6.0),
            (2.0, 4.0, 6.0),
            (6.0, 6.0, 6.0),
            (3.0, 9.0, 40.0),
        ] {
            let s = Summary {
                frequency: x,
                recency: t_x,
                t: n,
            };
            let got = log_likelihood(theta, &s);
            let want = likelihood_as_written(theta, x, t_x, n).ln();
            assert!((got - want).abs() < 1e-12, "{x} {t_x} {n}: {got} vs {want}");
        }
    }

    /// The histories of n opportunities are every (x, t_x) with x ≤ t_x ≤ n (x = 0 only with
    /// t_x = 0), each counted once per set of opportunities it stands for: C(t_x − 1, x − 1)
    /// orders of the transactions before the last. Their probabilities add up to 1.
    #[test]
    fn the_probabilities_of_all_histories_add_up_to_one() {
        let theta = [1.2, 0.75, 0.66, 2.8];
        let n = 7.0;
        let choose = |k: f64, j: f64| -> f64 {
            (1..=j as u64).fold(1.0, |c, i| c * (k - j + i as f64) / i as f64)
        };
        let mut total = likelihood_as_written(theta, 0.0, 0.0, n);
        for t_x in 1..=n as u64 {
            for x in 1..=t_x {
                let (x, t_x) = (x as f64, t_x as f64);
                total += choose(t_x - 1.0, x - 1.0) * likelihood_as_written(theta, x, t_x, n);
            }
        }
        assert!((total - 1.0).abs() < 1e-12, "{total}");
    }

    /// The fit's tabulated sum equals the per-history formula summed, in value and gradient.
    #[test]
    fn tabulated_likelihood_equals_the_sum_over_histories() {
        use crate::dual::Dual;
        let count = 4000;
        let n: Vec<f64> = (0..count).map(|i| (20 + (i * 37) % 300) as f64).collect();
        let t_x: Vec<f64> = (0..count)
            .map(|i| ((i * 13) % (n[i] as usize + 1)) as f64)
            .collect();
        let x: Vec<f64> = (0..count)
            .map(|i| {
                if t_x[i] == 0.0 {
                    0.0
                } else {
                    1.0 + ((i * 7) % t_x[i] as usize) as f64
                }
            })
            .collect();
        let data = RepeatData::from_columns(&x, &t_x, &n).unwrap();
        let keyed = BgBbData::new(Cow::Borrowed(&data)).unwrap();
        let theta: [Dual<4>; 4] =
            std::array::from_fn(|i| Dual::variable([0.5, 20.0, 0.8, 40.0][i], i));
        let tabulated = Likelihood::log_likelihood(&keyed, theta);
        let direct = (0..count).fold(Dual::constant(0.0), |total, i| {
            let s = Summary {
                frequency: x[i],
                recency: t_x[i],
                t: n[i],
            };
            total + log_likelihood(theta, &s)
        });
        assert!(
            (tabulated.value - direct.value).abs() < 1e-9 * direct.value.abs(),
            "{} vs {}",
            tabulated.value,
            direct.value
        );
        for (g, d) in tabulated.gradient.iter().zip(direct.gradient) {
            assert!((g - d).abs() < 1e-8 * d.abs().max(1.0), "{g} vs {d}");
        }
    }

    /// With nothing learned (n = 0) the conditional expectation is the unconditional one.
    #[test]
    fn with_nothing_learned_the_conditional_is_the_unconditional() {
        let model = BgBb::new(1.204, 0.750, 0.657, 2.783).unwrap();
        let s = Summary {
            frequency: 0.0,
            recency: 0.0,
            t: 0.0,
        };
        for t in [1.0, 5.0, 10.0] {
            let (c, u) = (
                model.expected_purchases(t, &s),
                model.unconditional_purchases(t),
            );
            assert!((c - u).abs() < 1e-12 * u, "{t}: {c} vs {u}");
        }
    }
}
