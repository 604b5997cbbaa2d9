//! One customer's life, drawn from their own random stream.
//!
//! Each customer's generator is seeded from (seed, customer index), so customers can be drawn
//! in parallel, in any order, and the base is the same for a seed whatever the thread count.

use rand::distr::Distribution;
use rand::distr::weighted::WeightedIndex;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Beta, Exp, Gamma, Poisson};

use crate::persona::{AGE_BANDS, CATEGORIES, CHANNELS, COUNTRIES, Persona};

pub(crate) const SECONDS_PER_DAY: i64 = 86_400;

/// Event types written to `events`.
pub(crate) const EVENT_TYPES: [&str; 7] = [
    "view",
    "add_to_cart",
    "checkout",
    "purchase",
    "email_sent",
    "email_open",
    "email_click",
];
const VIEW: u8 = 0;
const ADD_TO_CART: u8 = 1;
const CHECKOUT: u8 = 2;
const PURCHASE: u8 = 3;
const EMAIL_SENT: u8 = 4;
const EMAIL_OPEN: u8 = 5;
const EMAIL_CLICK: u8 = 6;
pub(crate) const NO_CATEGORY: u8 = u8::MAX;

/// One line of an order (or a refund, with a negative amount).
#[derive(Debug, Clone, Copy)]
pub(crate) struct TxRow {
    pub customer: u64,
    pub seconds: i64,
    pub order: u32,
    pub amount_cents: i64,
    pub quantity: u8,
    pub category: u8,
    pub channel: u8,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct EventRow {
    pub customer: u64,
    pub seconds: i64,
    pub kind: u8,
    pub category: u8,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct CustomerRow {
    pub customer: u64,
    pub country: u8,
    pub age_band: u8,
    pub signup_day: i32,
    pub consent: bool,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct TruthRow {
    pub customer: u64,
    pub persona: Persona,
    pub purchases_per_year: f64,
    pub dropout_prob: f64,
    pub mean_order_value: f64,
    pub alive_at_end: bool,
    pub future_purchases: u32,
    pub future_spend_cents: i64,
}

/// Rows of a run of customers.
#[derive(Default)]
pub(crate) struct Rows {
    pub transactions: Vec<TxRow>,
    pub events: Vec<EventRow>,
    pub customers: Vec<CustomerRow>,
    pub truth: Vec<TruthRow>,
}

/// The calendar of the simulation, in day numbers (days since 1970-01-01).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Calendar {
    pub start: i32,
    /// First day after the observation period (the natural as-of date).
    pub end: i32,
    /// Days after `end` covered by `truth`.
    pub future_days: i32,
    /// Which personas the base holds.
    pub scenario: crate::Scenario,
}

fn customer_rng(seed: u64, customer: u64) -> ChaCha8Rng {
    // SplitMix64 finaliser: neighbouring customers get unrelated streams.
    let mut z = seed ^ customer.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    ChaCha8Rng::seed_from_u64(z ^ (z >> 31))
}

fn month_of(day: f64) -> u32 {
    use chrono::Datelike;
    crate::date_of_day(day.floor() as i32).month()
}

fn weighted(weights: &[f64]) -> WeightedIndex<f64> {
    WeightedIndex::new(weights).expect("positive weights")
}

/// Draws customer `customer` and appends their rows.
pub(crate) fn simulate(seed: u64, customer: u64, calendar: Calendar, rows: &mut Rows) {
    let mut rng = customer_rng(seed, customer);
    let persona = Persona::ALL[weighted(&calendar.scenario.shares()).sample(&mut rng)];
    let p = persona.params();
    let rate = Gamma::new(p.r, 1.0 / p.alpha)
        .expect("valid")
        .sample(&mut rng);
    let dropout = Beta::new(p.a, p.b).expect("valid").sample(&mut rng);
    let nu = Gamma::new(p.gg_q, 1.0 / p.gg_gamma)
        .expect("valid")
        .sample(&mut rng);
    let order_value = Gamma::new(p.gg_p, 1.0 / nu).expect("valid");
    let buyer = rng.random::<f64>() >= p.never_buys;
    let window = (calendar.end - calendar.start) as f64;
    let (from, to) = p.birth_window;
    let birth = calendar.start as f64 + (from + (to - from) * rng.random::<f64>()) * window;
    let signup_day = birth.floor() as i32 - rng.random_range(0..60);
    // Personal tastes: the persona's weights, each scaled by a random factor.
    let taste = Gamma::new(2.0, 0.5).expect("valid");
    let categories: Vec<f64> = p
        .categories
        .iter()
        .map(|w| w * taste.sample(&mut rng) + 1e-3)
        .collect();
    let channels: Vec<f64> = p
        .channels
        .iter()
        .map(|w| w * taste.sample(&mut rng) + 1e-3)
        .collect();
    let category_pick = weighted(&categories);
    let channel_pick = weighted(&channels);
    let consent = rng.random_bool(p.consent_prob);
    let country = weighted(&COUNTRIES.map(|c| c.1)).sample(&mut rng) as u8;
    let age_band = weighted(&p.ages).sample(&mut rng) as u8;
    debug_assert!(
        AGE_BANDS.len() == p.ages.len()
            && CATEGORIES.len() == categories.len()
            && CHANNELS.len() == channels.len()
    );

    let horizon = (calendar.end + calendar.future_days) as f64;
    let end = calendar.end as f64;
    let mut purchases = Vec::new();
    let mut death = f64::INFINITY;
    if buyer && rate > 0.0 {
        let gap = Exp::new(rate).expect("positive rate");
        let mut t = birth;
        while t < horizon {
            purchases.push(t);
            if rng.random_bool(dropout) {
                death = t;
                break;
            }
            loop {
                t += gap.sample(&mut rng);
                // A very slow buyer's next gap can land millennia away: test the horizon before
                // asking the calendar about such a day.
                if t >= horizon {
                    break;
                }
                let in_season = matches!(month_of(t), 11 | 12);
                if in_season || rng.random_bool(p.off_season_keep) {
                    break;
                }
            }
        }
    }

    let items = Poisson::new(1.5).expect("valid");
    let browse = Poisson::new(0.7).expect("valid");
    let mut future_days = Vec::new();
    let mut future_spend = 0i64;
    for (k, &t) in purchases.iter().enumerate() {
        let value_cents = ((order_value.sample(&mut rng) * 100.0).round() as i64).max(100);
        if t >= end {
            future_days.push(t.floor() as i32);
            future_spend = future_spend.saturating_add(value_cents);
            continue;
        }
        let seconds = (t * SECONDS_PER_DAY as f64) as i64;
        let channel = channel_pick.sample(&mut rng) as u8;
        let lines = 1 + items.sample(&mut rng) as usize;
        // Split the order value into line amounts that add up exactly.
        let weights: Vec<f64> = (0..lines).map(|_| rng.random::<f64>() + 0.2).collect();
        let total: f64 = weights.iter().sum();
        let mut left = value_cents;
        let first_line = rows.transactions.len();
        for (i, w) in weights.iter().enumerate() {
            let cents = if i + 1 == lines {
                left
            } else {
                ((value_cents as f64 * w / total).round() as i64).min(left)
            };
            left -= cents;
            let category = category_pick.sample(&mut rng) as u8;
            rows.transactions.push(TxRow {
                customer,
                seconds,
                order: k as u32 + 1,
                amount_cents: cents,
                quantity: 1 + (rng.random::<f64>() < 0.2) as u8,
                category,
                channel,
            });
        }
        let category = rows.transactions[first_line].category;
        let views = 1 + browse.sample(&mut rng) as i64;
        for v in 0..views {
            rows.events.push(EventRow {
                customer,
                seconds: seconds - 600 * (views - v) - 300,
                kind: VIEW,
                category,
            });
        }
        rows.events.push(EventRow {
            customer,
            seconds: seconds - 240,
            kind: ADD_TO_CART,
            category,
        });
        rows.events.push(EventRow {
            customer,
            seconds: seconds - 120,
            kind: CHECKOUT,
            category,
        });
        rows.events.push(EventRow {
            customer,
            seconds,
            kind: PURCHASE,
            category,
        });
        if rng.random_bool(p.refund_prob) {
            let line = rows.transactions[first_line + rng.random_range(0..lines)];
            let refund_seconds = seconds + rng.random_range(1..=30) * SECONDS_PER_DAY;
            if refund_seconds < calendar.end as i64 * SECONDS_PER_DAY {
                rows.transactions.push(TxRow {
                    seconds: refund_seconds,
                    amount_cents: -line.amount_cents,
                    ..line
                });
            }
        }
    }
    future_days.dedup();

    // Browsing sessions while interested: from sign-up until a month after dropping out.
    let active_from = (signup_day as f64).max(calendar.start as f64);
    let active_to = (death + 30.0).min(end);
    if active_to > active_from {
        let expected = p.sessions_per_day * (active_to - active_from);
        let sessions = Poisson::new(expected.max(1e-9))
            .expect("valid")
            .sample(&mut rng) as usize;
        for _ in 0..sessions {
            let t = active_from + rng.random::<f64>() * (active_to - active_from);
            let seconds = (t * SECONDS_PER_DAY as f64) as i64;
            let category = category_pick.sample(&mut rng) as u8;
            let views = 1 + browse.sample(&mut rng) as i64;
            for v in 0..views {
                rows.events.push(EventRow {
                    customer,
                    seconds: seconds + 60 * v,
                    kind: VIEW,
                    category,
                });
            }
            if rng.random_bool(p.cart_prob) {
                rows.events.push(EventRow {
                    customer,
                    seconds: seconds + 60 * views,
                    kind: ADD_TO_CART,
                    category,
                });
                if rng.random_bool(0.3) {
                    rows.events.push(EventRow {
                        customer,
                        seconds: seconds + 60 * views + 30,
                        kind: CHECKOUT,
                        category,
                    });
                }
            }
        }
    }
    // Monthly emails in the last year, to customers who agreed to marketing.
    if consent {
        let mut day = (calendar.end - 365).max(signup_day + 1);
        while day < calendar.end {
            let seconds = day as i64 * SECONDS_PER_DAY + 9 * 3600;
            rows.events.push(EventRow {
                customer,
                seconds,
                kind: EMAIL_SENT,
                category: NO_CATEGORY,
            });
            if rng.random_bool(p.email_open) {
                let opened = seconds + rng.random_range(600..30 * 3600);
                rows.events.push(EventRow {
                    customer,
                    seconds: opened,
                    kind: EMAIL_OPEN,
                    category: NO_CATEGORY,
                });
                if rng.random_bool(p.email_click) {
                    rows.events.push(EventRow {
                        customer,
                        seconds: opened + 20,
                        kind: EMAIL_CLICK,
                        category: NO_CATEGORY,
                    });
                }
            }
            day += 30;
        }
    }
    rows.customers.push(CustomerRow {
        customer,
        country,
        age_band,
        signup_day,
        consent,
    });
    rows.truth.push(TruthRow {
        customer,
        persona,
        purchases_per_year: if buyer { rate * 365.0 } else { 0.0 },
        dropout_prob: dropout,
        mean_order_value: p.gg_p * nu.recip(),
        alive_at_end: buyer && !purchases.is_empty() && death >= end,
        future_purchases: future_days.len() as u32,
        future_spend_cents: future_spend,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The default calendar of `lookalike generate` (2023-01-01 to 2026-01-01, 182 days ahead).
    fn default_calendar() -> Calendar {
        Calendar {
            start: 19_358,
            end: 20_454,
            future_days: 182,
            scenario: crate::Scenario::Standard,
        }
    }

    /// The two-kinds scenario: its personas in their shares, none of them in the standard
    /// base, and the decoys between the two kinds of best customer on both ln(purchase rate)
    /// and ln(mean order value), where a line or a centroid through the best passes.
    #[test]
    fn two_kinds_puts_decoys_between_the_kinds_of_best_customer() {
        let run = |scenario| {
            let calendar = Calendar {
                scenario,
                ..default_calendar()
            };
            let mut rows = Rows::default();
            for customer in 0..20_000 {
                simulate(5, customer, calendar, &mut rows);
            }
            rows.truth
        };
        let standard = run(crate::Scenario::Standard);
        assert!(standard.iter().all(|t| (t.persona as usize) < 6));
        let hard = run(crate::Scenario::TwoKinds);
        let of = |persona: Persona| -> Vec<&TruthRow> {
            hard.iter().filter(|t| t.persona == persona).collect()
        };
        assert!(of(Persona::LoyalHighSpender).is_empty());
        let mean_log = |rows: &[&TruthRow], f: fn(&TruthRow) -> f64| {
            rows.iter().map(|t| f(t).ln()).sum::<f64>() / rows.len() as f64
        };
        let (often, big, decoy) = (
            of(Persona::BestFrequent),
            of(Persona::BestBigTicket),
            of(Persona::Decoy),
        );
        for (rows, share) in [(&often, 0.08), (&big, 0.06), (&decoy, 0.14)] {
            let got = rows.len() as f64 / 20_000.0;
            assert!((got - share).abs() < 0.01, "{got} vs {share}");
        }
        for f in [
            (|t: &TruthRow| t.purchases_per_year) as fn(&TruthRow) -> f64,
            |t: &TruthRow| t.mean_order_value,
        ] {
            let (a, b, d) = (mean_log(&often, f), mean_log(&big, f), mean_log(&decoy, f));
            let (low, high) = (a.min(b), a.max(b));
            // Strictly inside, at least a quarter of the gap from either kind.
            let gap = high - low;
            assert!(d > low + gap / 4.0 && d < high - gap / 4.0, "{a} {b} {d}");
        }
    }

    #[test]
    fn very_slow_buyers_whose_next_purchase_is_millennia_away_do_not_panic() {
        // The customers that made `generate --customers 130387 --seed 1` and
        // `--customers 200000 --seed 12` panic with `NaiveDate + TimeDelta overflowed`.
        for (seed, customer) in [(1, 130_386), (12, 176_394)] {
            let mut rows = Rows::default();
            simulate(seed, customer, default_calendar(), &mut rows);
            assert_eq!(rows.customers.len(), 1);
        }
    }

    #[test]
    fn many_seeds_and_customers_simulate_within_the_calendar() {
        let calendar = default_calendar();
        let horizon = (calendar.end + calendar.future_days) as i64 * SECONDS_PER_DAY;
        for seed in 0..24 {
            let mut rows = Rows::default();
            for customer in (0..400_000).step_by(97) {
                simulate(seed, customer, calendar, &mut rows);
            }
            assert!(rows.transactions.iter().all(|t| t.seconds < horizon));
            assert!(rows.events.iter().all(|e| e.seconds < horizon));
        }
    }

    #[test]
    fn order_lines_add_up_and_refunds_mirror_a_line() {
        let calendar = Calendar {
            start: 19_000,
            end: 20_000,
            future_days: 180,
            scenario: crate::Scenario::Standard,
        };
        let mut rows = Rows::default();
        for c in 0..300 {
            simulate(3, c, calendar, &mut rows);
        }
        assert_eq!(rows.customers.len(), 300);
        assert!(
            rows.transactions
                .iter()
                .all(|t| t.seconds < calendar.end as i64 * SECONDS_PER_DAY)
        );
        assert!(
            rows.transactions.iter().any(|t| t.amount_cents < 0),
            "some refunds"
        );
        assert!(
            rows.transactions
                .iter()
                .filter(|t| t.amount_cents >= 0)
                .all(|t| t.amount_cents >= 0)
        );
        let same = {
            let mut again = Rows::default();
            for c in 0..300 {
                simulate(3, c, calendar, &mut again);
            }
            again.transactions.len() == rows.transactions.len()
                && again.events.len() == rows.events.len()
        };
        assert!(same, "same seed, same rows");
    }
}
