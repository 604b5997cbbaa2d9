//! Seeded simulations of campaigns with a known true lift: the 95% intervals must cover the
//! truth 93–97% of the time (1,000 campaigns each), and CUPED must keep that coverage while
//! narrowing the interval when the pre-period spend predicts the outcome.

use lookalike_measure::{cuped, mean_lift, proportion_lift};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Gamma};

const CAMPAIGNS: usize = 1_000;
const TREATED: usize = 4_000;
const CONTROL: usize = 1_000;

fn assert_covered(hits: usize, what: &str) {
    let share = hits as f64 / CAMPAIGNS as f64;
    assert!(
        (0.93..=0.97).contains(&share),
        "{what}: the 95% interval covered the truth in {share:.3} of the campaigns"
    );
}

#[test]
fn conversion_intervals_cover_the_true_lift() {
    let (p0, p1) = (0.05, 0.065);
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    let mut covered = (0, 0);
    for _ in 0..CAMPAIGNS {
        let draw = |n: usize, p: f64, rng: &mut ChaCha8Rng| {
            (0..n).filter(|_| rng.random::<f64>() < p).count() as u64
        };
        let treated = draw(TREATED, p1, &mut rng);
        let control = draw(CONTROL, p0, &mut rng);
        let lift =
            proportion_lift((treated, TREATED as u64), (control, CONTROL as u64), 0.95).unwrap();
        covered.0 += usize::from(lift.absolute_interval.contains(p1 - p0));
        if let Some(relative) = lift.relative_interval {
            covered.1 += usize::from(relative.contains(p1 / p0 - 1.0));
        }
    }
    assert_covered(covered.0, "absolute conversion lift (Newcombe)");
    assert_covered(covered.1, "relative conversion lift (log ratio)");
}

/// Each customer converts with probability `p` × their propensity (Gamma(0.7, 1/0.7): mean 1,
/// E[X²] = 1 + 1/0.7) and then spends a Gamma(2, 50) amount (mean 100) plus 40 × propensity:
/// heavy-tailed revenue with most customers at 0. `pre` is the customer's spend before the
/// campaign, which shares the propensity with the outcome.
fn customer(p: f64, rng: &mut ChaCha8Rng) -> (f64, f64) {
    let spend = Gamma::new(2.0, 50.0).unwrap();
    let propensity: f64 = Gamma::new(0.7, 1.0 / 0.7).unwrap().sample(rng);
    let pre = propensity * 60.0 + spend.sample(rng) * 0.2;
    let outcome = if rng.random::<f64>() < p * propensity {
        spend.sample(rng) + propensity * 40.0
    } else {
        0.0
    };
    (outcome, pre)
}

#[test]
fn revenue_intervals_cover_the_true_lift_and_cuped_narrows_them() {
    let (p0, p1) = (0.05, 0.065);
    // E[outcome] = p · E[X · (spend + 40 X)] = p · (100 E[X] + 40 E[X²]); p · X stays below 1
    // but for a vanishing tail.
    let truth = (p1 - p0) * (100.0 + 40.0 * (1.0 + 1.0 / 0.7));
    let mut rng = ChaCha8Rng::seed_from_u64(22);
    let (mut plain_hits, mut cuped_hits) = (0, 0);
    let (mut plain_width, mut cuped_width) = (0.0, 0.0);
    for _ in 0..CAMPAIGNS {
        let treated: Vec<(f64, f64)> = (0..TREATED).map(|_| customer(p1, &mut rng)).collect();
        let control: Vec<(f64, f64)> = (0..CONTROL).map(|_| customer(p0, &mut rng)).collect();
        let outcome = |g: &[(f64, f64)]| g.iter().map(|c| c.0).collect::<Vec<_>>();
        let plain = mean_lift(&outcome(&treated), &outcome(&control), 0.95).unwrap();
        plain_hits += usize::from(plain.absolute_interval.contains(truth));
        plain_width += plain.absolute_interval.high - plain.absolute_interval.low;
        // CUPED over both groups together, then the same test on the adjusted outcomes.
        let all: Vec<(f64, f64)> = treated.iter().chain(&control).copied().collect();
        let (adjusted, saved) = cuped(
            &all.iter().map(|c| c.0).collect::<Vec<_>>(),
            &all.iter().map(|c| c.1).collect::<Vec<_>>(),
        )
        .unwrap();
        assert!(saved > 0.0);
        let adjusted_lift = mean_lift(&adjusted[..TREATED], &adjusted[TREATED..], 0.95).unwrap();
        cuped_hits += usize::from(adjusted_lift.absolute_interval.contains(truth));
        cuped_width += adjusted_lift.absolute_interval.high - adjusted_lift.absolute_interval.low;
    }
    assert_covered(plain_hits, "revenue per customer (Welch)");
    assert_covered(cuped_hits, "revenue per customer, CUPED-adjusted");
    assert!(
        cuped_width < 0.97 * plain_width,
        "CUPED should narrow the interval: {cuped_width} vs {plain_width}"
    );
}
