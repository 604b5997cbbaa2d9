//! Every feature against a naive oracle computed straight from the raw rows of random small logs.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use chrono::NaiveDate;
use lookalike_core::{ColumnMapping, InputKind, NoProgress};
use lookalike_features::{FeatureInputs, FeatureParams, InputFile, TimeUnit, day_number, extract};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

#[derive(Debug, Clone)]
struct Tx {
    customer: String,
    day: i32,
    cents: i64,
    order: Option<String>,
    quantity: i64,
    category: Option<&'static str>,
    channel: Option<&'static str>,
}

#[derive(Debug, Clone)]
struct Event {
    customer: String,
    day: i32,
    kind: &'static str,
}

const CATEGORIES: [&str; 4] = ["books", "music", "toys", "garden"];
const CHANNELS: [&str; 3] = ["web", "app", "store"];
const EVENT_KINDS: [&str; 8] = [
    "view",
    "add_to_cart",
    "checkout",
    "purchase",
    "email_sent",
    "email_open",
    "email_click",
    "wishlist",
];

fn date_text(day: i32) -> String {
    lookalike_features::date_of_day(day).to_string()
}

fn random_log(rng: &mut ChaCha8Rng, as_of: i32) -> (Vec<Tx>, Vec<Event>) {
    let customers = rng.random_range(1..15);
    let mut tx = Vec::new();
    for _ in 0..rng.random_range(1..120) {
        let customer = format!("c{}", rng.random_range(0..customers));
        let day = as_of - rng.random_range(-60..400);
        let order = rng
            .random_bool(0.8)
            .then(|| format!("o{}", rng.random_range(0..30)));
        // Channels belong to orders, so every line of an order agrees.
        let channel = order.as_ref().and_then(|o| {
            let n: usize = o[1..].parse().unwrap();
            (n % 4 != 3).then(|| CHANNELS[n % 3])
        });
        let lines = rng.random_range(1..4);
        for _ in 0..lines {
            let cents = if rng.random_bool(0.15) {
                -rng.random_range(1..5_000)
            } else {
                rng.random_range(0..20_000)
            };
            tx.push(Tx {
                customer: customer.clone(),
                day,
                cents,
                order: order.clone(),
                quantity: rng.random_range(1..4),
                category: rng
                    .random_bool(0.85)
                    .then(|| CATEGORIES[rng.random_range(0..4)]),
                channel,
            });
        }
    }
    let mut events = Vec::new();
    for _ in 0..rng.random_range(0..80) {
        events.push(Event {
            customer: format!("c{}", rng.random_range(0..customers + 3)),
            day: as_of - rng.random_range(-10..100),
            kind: EVENT_KINDS[rng.random_range(0..EVENT_KINDS.len())],
        });
    }
    (tx, events)
}

fn write_logs(dir: &std::path::Path, tx: &[Tx], events: &[Event]) {
    let mut text =
        String::from("customer_id,timestamp,amount,order_id,quantity,category,channel\n");
    for t in tx {
        writeln!(
            text,
            "{},{}T12:00:00,{}.{:02},{},{},{},{}",
            t.customer,
            date_text(t.day),
            if t.cents < 0 {
                format!("-{}", -t.cents / 100)
            } else {
                (t.cents / 100).to_string()
            },
            t.cents.abs() % 100,
            t.order.as_deref().unwrap_or(""),
            t.quantity,
            t.category.unwrap_or(""),
            t.channel.unwrap_or("")
        )
        .unwrap();
    }
    std::fs::write(dir.join("tx.csv"), text).unwrap();
    let mut text = String::from("customer_id,timestamp,event_type\n");
    for e in events {
        writeln!(text, "{},{},{}", e.customer, date_text(e.day), e.kind).unwrap();
    }
    std::fs::write(dir.join("events.csv"), text).unwrap();
}

/// The naive oracle: every feature of one customer from the raw rows.
fn oracle(
    rows: &[&Tx],
    events: &[&Event],
    as_of: i32,
    holdout_end: i32,
    unit: f64,
    shown_categories: &[&str],
) -> BTreeMap<String, f64> {
    let nan = f64::NAN;
    let last = as_of - 1;
    let calibration: Vec<&&Tx> = rows.iter().filter(|t| t.day < as_of).collect();
    let purchases: Vec<&&&Tx> = calibration.iter().filter(|t| t.cents >= 0).collect();
    let mut day_value: BTreeMap<i32, i64> = BTreeMap::new();
    for t in &purchases {
        *day_value.entry(t.day).or_default() += t.cents;
    }
    let days: Vec<i32> = day_value.keys().copied().collect();
    let orders: BTreeSet<(i32, String)> = purchases
        .iter()
        .map(|t| (t.day, t.order.clone().unwrap_or_default()))
        .collect();
    let money = |cents: i64| cents as f64 / 100.0;
    let sum = |f: &dyn Fn(&Tx) -> bool| -> i64 {
        calibration.iter().filter(|t| f(t)).map(|t| t.cents).sum()
    };
    let paid: i64 = purchases.iter().map(|t| t.cents).sum();
    let refunded: i64 = -sum(&|t| t.cents < 0);
    let mut f = BTreeMap::new();
    let has = !days.is_empty();
    let frequency = days.len() as f64 - 1.0;
    f.insert("frequency".into(), if has { frequency } else { nan });
    f.insert(
        "recency".into(),
        if has {
            (days[days.len() - 1] - days[0]) as f64 / unit
        } else {
            nan
        },
    );
    f.insert(
        "T".into(),
        if has {
            (last - days[0]) as f64 / unit
        } else {
            nan
        },
    );
    f.insert(
        "monetary_value".into(),
        if !has {
            nan
        } else if days.len() == 1 {
            0.0
        } else {
            money(day_value.values().skip(1).sum()) / frequency
        },
    );
    f.insert(
        "days_since_last_purchase".into(),
        if has {
            (last - days[days.len() - 1]) as f64
        } else {
            nan
        },
    );
    f.insert("orders".into(), orders.len() as f64);
    f.insert("total_spend".into(), money(sum(&|_| true)));
    f.insert(
        "avg_order_value".into(),
        if orders.is_empty() {
            nan
        } else {
            money(paid) / orders.len() as f64
        },
    );
    f.insert(
        "tenure_days".into(),
        if has { (last - days[0]) as f64 } else { nan },
    );
    let gaps: Vec<f64> = days.windows(2).map(|w| (w[1] - w[0]) as f64).collect();
    let mean_gap = gaps.iter().sum::<f64>() / gaps.len() as f64;
    f.insert(
        "mean_gap_days".into(),
        if gaps.is_empty() { nan } else { mean_gap },
    );
    f.insert(
        "std_gap_days".into(),
        if gaps.is_empty() {
            nan
        } else {
            (gaps.iter().map(|g| (g - mean_gap).powi(2)).sum::<f64>() / gaps.len() as f64).sqrt()
        },
    );
    for w in [30, 90, 365] {
        f.insert(
            format!("orders_{w}d"),
            orders.iter().filter(|(d, _)| *d >= as_of - w).count() as f64,
        );
        f.insert(format!("spend_{w}d"), money(sum(&|t| t.day >= as_of - w)));
    }
    let a: i64 = purchases
        .iter()
        .filter(|t| t.day >= as_of - 90)
        .map(|t| t.cents)
        .sum();
    let b: i64 = purchases
        .iter()
        .filter(|t| t.day >= as_of - 180 && t.day < as_of - 90)
        .map(|t| t.cents)
        .sum();
    f.insert(
        "spend_trend_90d".into(),
        if a + b == 0 {
            0.0
        } else {
            (a - b) as f64 / (a + b) as f64
        },
    );
    f.insert(
        "refund_count".into(),
        calibration.iter().filter(|t| t.cents < 0).count() as f64,
    );
    f.insert(
        "refund_share".into(),
        if paid > 0 {
            refunded as f64 / paid as f64
        } else {
            nan
        },
    );
    let mut by_category: BTreeMap<&str, i64> = BTreeMap::new();
    for t in &purchases {
        if let Some(c) = t.category {
            *by_category.entry(c).or_default() += t.cents;
        }
    }
    let categorised: i64 = by_category.values().sum();
    f.insert(
        "distinct_categories".into(),
        by_category.values().filter(|v| **v > 0).count() as f64,
    );
    f.insert(
        "top_category_share".into(),
        if categorised > 0 {
            *by_category.values().max().unwrap() as f64 / categorised as f64
        } else {
            nan
        },
    );
    for c in shown_categories {
        f.insert(
            format!("category_share_{c}"),
            if categorised > 0 {
                *by_category.get(c).unwrap_or(&0) as f64 / categorised as f64
            } else {
                nan
            },
        );
    }
    let mut order_channel: BTreeMap<(i32, String), &str> = BTreeMap::new();
    for t in &purchases {
        if let Some(ch) = t.channel {
            order_channel.insert((t.day, t.order.clone().unwrap_or_default()), ch);
        }
    }
    for ch in CHANNELS {
        let name = format!("channel_share_{ch}");
        let n = order_channel.values().filter(|c| **c == ch).count();
        f.insert(
            name,
            if order_channel.is_empty() {
                nan
            } else {
                n as f64 / order_channel.len() as f64
            },
        );
    }
    f.insert(
        "units".into(),
        purchases.iter().map(|t| t.quantity).sum::<i64>() as f64,
    );
    let holdout: Vec<&&Tx> = rows
        .iter()
        .filter(|t| t.day >= as_of && t.day < holdout_end && t.cents >= 0)
        .collect();
    f.insert(
        "holdout_purchases".into(),
        holdout.iter().map(|t| t.day).collect::<BTreeSet<_>>().len() as f64,
    );
    f.insert(
        "holdout_spend".into(),
        money(holdout.iter().map(|t| t.cents).sum()),
    );

    let before: Vec<&&Event> = events.iter().filter(|e| e.day < as_of).collect();
    let recent = |kind: &str| {
        before
            .iter()
            .filter(|e| e.kind == kind && e.day >= as_of - 30)
            .count() as f64
    };
    f.insert("views_30d".into(), recent("view"));
    f.insert("add_to_carts_30d".into(), recent("add_to_cart"));
    f.insert("checkouts_30d".into(), recent("checkout"));
    let abandoned: Vec<&&&Event> = before
        .iter()
        .filter(|e| {
            e.kind == "add_to_cart" && !days.contains(&e.day) && !days.contains(&(e.day + 1))
        })
        .collect();
    f.insert("abandoned_carts".into(), abandoned.len() as f64);
    f.insert(
        "abandoned_carts_30d".into(),
        abandoned.iter().filter(|e| e.day >= as_of - 30).count() as f64,
    );
    f.insert(
        "days_since_last_event".into(),
        before
            .iter()
            .map(|e| e.day)
            .max()
            .map_or(nan, |d| (last - d) as f64),
    );
    let count = |kind: &str| before.iter().filter(|e| e.kind == kind).count() as f64;
    let sent = count("email_sent");
    f.insert(
        "email_open_rate".into(),
        if sent == 0.0 {
            nan
        } else {
            (count("email_open") / sent).min(1.0)
        },
    );
    f.insert(
        "email_click_rate".into(),
        if sent == 0.0 {
            nan
        } else {
            (count("email_click") / sent).min(1.0)
        },
    );
    f
}

#[test]
fn every_feature_matches_the_oracle_on_random_logs() {
    let dir = tempfile::tempdir().unwrap();
    let as_of_date = NaiveDate::from_ymd_opt(2024, 6, 1).unwrap();
    let holdout_date = NaiveDate::from_ymd_opt(2024, 7, 1).unwrap();
    let (as_of, holdout_end) = (day_number(as_of_date), day_number(holdout_date));
    let mut checked = 0usize;
    for seed in 0..60u64 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let (tx, events) = random_log(&mut rng, as_of);
        write_logs(dir.path(), &tx, &events);
        let inputs = FeatureInputs {
            transactions: InputFile::new(
                InputKind::Transactions,
                dir.path().join("tx.csv"),
                None,
                None,
            )
            .unwrap(),
            events: Some(
                InputFile::new(InputKind::Events, dir.path().join("events.csv"), None, None)
                    .unwrap(),
            ),
            customers: None,
            mapping: ColumnMapping::default(),
        };
        let unit = if seed % 2 == 0 {
            TimeUnit::Weeks
        } else {
            TimeUnit::Days
        };
        let mut reference = None;
        for threads in [1, 3] {
            let params = FeatureParams::new()
                .as_of(as_of_date)
                .holdout_end(holdout_date)
                .time_unit(unit)
                .threads(threads)
                .top_levels(2);
            let extraction = match extract(&inputs, &params, &NoProgress) {
                Ok(e) => e,
                Err(lookalike_features::FeatureError::NoCustomers(_)) => {
                    assert!(
                        tx.iter().all(|t| t.day >= as_of) && events.iter().all(|e| e.day >= as_of)
                    );
                    continue;
                }
                Err(e) => panic!("seed {seed}: {e}"),
            };
            let table = extraction.table;
            // The two most purchased categories (ties by name) get their own column.
            let mut totals: BTreeMap<&str, i64> = BTreeMap::new();
            for t in tx.iter().filter(|t| t.day < as_of && t.cents >= 0) {
                if let Some(c) = t.category {
                    *totals.entry(c).or_default() += t.cents;
                }
            }
            let mut ranked: Vec<(&str, i64)> = totals.into_iter().filter(|(_, v)| *v > 0).collect();
            ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
            let shown: Vec<&str> = ranked.iter().take(2).map(|(c, _)| *c).collect();
            let shown_columns: Vec<&String> = table
                .columns()
                .iter()
                .filter(|c| c.starts_with("category_share_"))
                .collect();
            assert_eq!(
                shown_columns.len(),
                shown.len(),
                "seed {seed}: {:?}",
                table.columns()
            );

            let expected_ids: BTreeSet<&str> = tx
                .iter()
                .filter(|t| t.day < as_of)
                .map(|t| t.customer.as_str())
                .chain(
                    events
                        .iter()
                        .filter(|e| e.day < as_of)
                        .map(|e| e.customer.as_str()),
                )
                .collect();
            let ids: BTreeSet<&str> = table.ids().iter().map(|i| i.as_str()).collect();
            assert_eq!(ids, expected_ids, "seed {seed}");
            for (row, id) in table.ids().iter().enumerate() {
                let rows: Vec<&Tx> = tx.iter().filter(|t| t.customer == id.as_str()).collect();
                let evs: Vec<&Event> = events
                    .iter()
                    .filter(|e| e.customer == id.as_str())
                    .collect();
                let unit_days = if unit == TimeUnit::Weeks { 7.0 } else { 1.0 };
                let want = oracle(&rows, &evs, as_of, holdout_end, unit_days, &shown);
                for (j, name) in table.columns().iter().enumerate() {
                    let got = table.values()[[row, j]];
                    let Some(expected) = want.get(name.as_str()) else {
                        if name.starts_with("channel_share_") {
                            continue;
                        }
                        panic!("seed {seed}: no oracle for {name}");
                    };
                    let same = (got.is_nan() && expected.is_nan())
                        || (got - expected).abs() <= 1e-9 * expected.abs().max(1.0);
                    assert!(
                        same,
                        "seed {seed}, threads {threads}, customer {id}, {name}: got {got}, oracle {expected}"
                    );
                    checked += 1;
                }
            }
            let bytes = format!("{:?}{:?}", table.ids(), table.values());
            match &reference {
                None => reference = Some(bytes),
                Some(r) => assert_eq!(r, &bytes, "seed {seed}: thread count changed the output"),
            }
        }
    }
    assert!(checked > 10_000, "only {checked} values checked");
}
