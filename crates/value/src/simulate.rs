//! Customers drawn from the models' own stories with known parameters: for tests of parameter
//! recovery, benchmarks, and for checking what a fitted model implies.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Beta, Distribution, Exp, Gamma};

use crate::bgbb::BgBb;
use crate::bgnbd::BgNbd;
use crate::gamma_gamma::GammaGamma;
use crate::mbgnbd::MbgNbd;
use crate::pareto::ParetoNbd;
use crate::summary::Summary;

/// One simulated customer: the BTYD summary and the mean value of the repeat purchases
/// (0 without a repeat purchase).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SimulatedCustomer {
    /// x, t_x, T.
    pub summary: Summary,
    /// m̄ from Gamma-Gamma.
    pub monetary: f64,
}

/// The generator of customer `i`: its own stream, so results do not depend on order or
/// thread count.
fn rng_of(seed: u64, customer: usize) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(customer as u64);
    rng
}

/// One simulated customer's whole history, for writing a transaction log.
#[derive(Debug, Clone, PartialEq)]
pub struct SimulatedHistory {
    /// T: time from the first purchase to the end of observation.
    pub t: f64,
    /// Times of the repeat purchases since the first (ascending, in (0, T]).
    pub repeat_times: Vec<f64>,
    /// Value of the first purchase, then of each repeat purchase (Gamma(p, ν)).
    pub values: Vec<f64>,
}

impl SimulatedHistory {
    /// The BTYD summary and mean repeat value.
    pub fn customer(&self) -> SimulatedCustomer {
        let x = self.repeat_times.len();
        let repeat = &self.values[1..];
        SimulatedCustomer {
            summary: Summary {
                frequency: x as f64,
                recency: self.repeat_times.last().copied().unwrap_or(0.0),
                t: self.t,
            },
            monetary: if x == 0 {
                0.0
            } else {
                repeat.iter().sum::<f64>() / x as f64
            },
        }
    }
}

/// Purchase values: ν ~ Gamma(q, γ) for the customer, then each repeat purchase's value
/// ~ Gamma(p, ν), then the first purchase's (drawn last so that the repeat values do not
/// depend on whether the first is wanted).
fn values(rng: &mut ChaCha8Rng, spend: &GammaGamma, repeats: usize) -> Vec<f64> {
    let nu = Gamma::new(spend.q, 1.0 / spend.gamma)
        .expect("positive parameters")
        .sample(rng);
    let value = Gamma::new(spend.p, 1.0 / nu).expect("positive parameters");
    let mut values: Vec<f64> = (0..=repeats).map(|_| value.sample(rng)).collect();
    values.rotate_right(1);
    values
}

/// The story both models share: customer i (its own random stream) is observed for a T drawn
/// uniformly from `observed`, buys at a rate λ ~ Gamma(r, α) from its first purchase at time 0,
/// and `lifetime` (given T) says until when purchases can happen and the probability of
/// dropping out after each repeat purchase, if the model has one. Spend is drawn last.
fn simulate(
    customers: usize,
    observed: (f64, f64),
    seed: u64,
    (r, alpha): (f64, f64),
    spend: &GammaGamma,
    lifetime: impl Fn(&mut ChaCha8Rng, f64) -> (f64, Option<f64>),
) -> Vec<SimulatedHistory> {
    (0..customers)
        .map(|i| {
            let mut rng = rng_of(seed, i);
            let t = rng.random_range(observed.0..=observed.1);
            let rate = Gamma::new(r, 1.0 / alpha)
                .expect("positive parameters")
                .sample(&mut rng);
            let (end, dropout) = lifetime(&mut rng, t);
            let gap = Exp::new(rate).expect("positive rate");
            let mut repeat_times = Vec::new();
            let mut now = 0.0;
            loop {
                now += gap.sample(&mut rng);
                if now > end {
                    break;
                }
                repeat_times.push(now);
                if dropout.is_some_and(|p| rng.random_bool(p)) {
                    break;
                }
            }
            let values = values(&mut rng, spend, repeat_times.len());
            SimulatedHistory {
                t,
                repeat_times,
                values,
            }
        })
        .collect()
}

/// BG/NBD customers (FHL 2005 §2): λ ~ Gamma(r, α), p ~ Beta(a, b); after the first purchase
/// at time 0, purchases arrive at rate λ and each repeat purchase is followed by dropout with
/// probability p. Each customer is observed for a T drawn uniformly from `observed`.
///
/// ```
/// use lookalike_value::{BgNbd, GammaGamma, simulate_bgnbd};
/// let model = BgNbd::new(0.25, 4.0, 0.8, 2.5).unwrap();
/// let spend = GammaGamma::new(6.0, 4.0, 15.0).unwrap();
/// let customers = simulate_bgnbd(&model, &spend, 100, (30.0, 40.0), 7);
/// assert!(customers.iter().all(|c| c.summary.recency <= c.summary.t));
/// ```
pub fn simulate_bgnbd(
    model: &BgNbd,
    spend: &GammaGamma,
    customers: usize,
    observed: (f64, f64),
    seed: u64,
) -> Vec<SimulatedCustomer> {
    summaries(simulate_bgnbd_histories(
        model, spend, customers, observed, seed,
    ))
}

/// The whole histories behind [`simulate_bgnbd`] (same draws: the same seed gives the same
/// customers).
pub fn simulate_bgnbd_histories(
    model: &BgNbd,
    spend: &GammaGamma,
    customers: usize,
    observed: (f64, f64),
    seed: u64,
) -> Vec<SimulatedHistory> {
    simulate(
        customers,
        observed,
        seed,
        (model.r, model.alpha),
        spend,
        |rng, t| {
            let dropout = Beta::new(model.a, model.b)
                .expect("positive parameters")
                .sample(rng);
            (t, Some(dropout))
        },
    )
}

/// MBG/NBD customers (Batislam et al. 2007): as BG/NBD, except that the customer may also
/// drop out, with the same probability p, right after the first purchase.
///
/// ```
/// use lookalike_value::{GammaGamma, MbgNbd, simulate_mbgnbd};
/// let model = MbgNbd::new(0.5, 6.0, 0.9, 1.6).unwrap();
/// let spend = GammaGamma::new(6.0, 4.0, 15.0).unwrap();
/// assert_eq!(simulate_mbgnbd(&model, &spend, 50, (30.0, 40.0), 7).len(), 50);
/// ```
pub fn simulate_mbgnbd(
    model: &MbgNbd,
    spend: &GammaGamma,
    customers: usize,
    observed: (f64, f64),
    seed: u64,
) -> Vec<SimulatedCustomer> {
    summaries(simulate_mbgnbd_histories(
        model, spend, customers, observed, seed,
    ))
}

/// The whole histories behind [`simulate_mbgnbd`].
pub fn simulate_mbgnbd_histories(
    model: &MbgNbd,
    spend: &GammaGamma,
    customers: usize,
    observed: (f64, f64),
    seed: u64,
) -> Vec<SimulatedHistory> {
    simulate(
        customers,
        observed,
        seed,
        (model.r, model.alpha),
        spend,
        |rng, t| {
            let dropout = Beta::new(model.a, model.b)
                .expect("positive parameters")
                .sample(rng);
            // Gone at the first purchase: no repeat purchase can happen.
            let end = if rng.random_bool(dropout) { 0.0 } else { t };
            (end, Some(dropout))
        },
    )
}

/// BG/BB customers (Fader, Hardie & Shang 2010): p ~ Beta(α, β), θ ~ Beta(γ, δ); after the
/// first purchase at time 0 come opportunities 1, 2, … ⌊T⌋: before each an active customer
/// drops out with probability θ, and at each buys with probability p. Repeat purchases happen
/// at whole opportunities; T is drawn uniformly from `observed` as for the other models.
pub fn simulate_bgbb_histories(
    model: &BgBb,
    spend: &GammaGamma,
    customers: usize,
    observed: (f64, f64),
    seed: u64,
) -> Vec<SimulatedHistory> {
    (0..customers)
        .map(|i| {
            let mut rng = rng_of(seed, i);
            let t = rng.random_range(observed.0..=observed.1);
            let buy = Beta::new(model.alpha, model.beta)
                .expect("positive parameters")
                .sample(&mut rng);
            let drop = Beta::new(model.gamma, model.delta)
                .expect("positive parameters")
                .sample(&mut rng);
            let mut repeat_times = Vec::new();
            for opportunity in 1..=t.floor() as u64 {
                if rng.random_bool(drop) {
                    break;
                }
                if rng.random_bool(buy) {
                    repeat_times.push(opportunity as f64);
                }
            }
            let values = values(&mut rng, spend, repeat_times.len());
            SimulatedHistory {
                t,
                repeat_times,
                values,
            }
        })
        .collect()
}

/// Pareto/NBD customers (Schmittlein et al. 1987): λ ~ Gamma(r, α), μ ~ Gamma(s, β); purchases
/// at rate λ from the first at time 0 until an exponential lifetime of rate μ ends.
///
/// ```
/// use lookalike_value::{GammaGamma, ParetoNbd, simulate_pareto};
/// let model = ParetoNbd::new(0.55, 10.0, 0.6, 12.0).unwrap();
/// let spend = GammaGamma::new(6.0, 4.0, 15.0).unwrap();
/// assert_eq!(simulate_pareto(&model, &spend, 50, (30.0, 40.0), 7).len(), 50);
/// ```
pub fn simulate_pareto(
    model: &ParetoNbd,
    spend: &GammaGamma,
    customers: usize,
    observed: (f64, f64),
    seed: u64,
) -> Vec<SimulatedCustomer> {
    summaries(simulate_pareto_histories(
        model, spend, customers, observed, seed,
    ))
}

/// The whole histories behind [`simulate_pareto`].
pub fn simulate_pareto_histories(
    model: &ParetoNbd,
    spend: &GammaGamma,
    customers: usize,
    observed: (f64, f64),
    seed: u64,
) -> Vec<SimulatedHistory> {
    simulate(
        customers,
        observed,
        seed,
        (model.r, model.alpha),
        spend,
        |rng, t| {
            let death_rate = Gamma::new(model.s, 1.0 / model.beta)
                .expect("positive parameters")
                .sample(rng);
            let lifetime = Exp::new(death_rate).expect("positive rate").sample(rng);
            (lifetime.min(t), None)
        },
    )
}

fn summaries(histories: Vec<SimulatedHistory>) -> Vec<SimulatedCustomer> {
    histories.iter().map(SimulatedHistory::customer).collect()
}
