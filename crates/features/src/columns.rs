//! The feature columns: their names, meanings and formulas.

use lookalike_core::{FeatureKind, FeatureSpec};

use crate::cell::units_to_amount;
use crate::dictionary::LabelId;
use crate::events::CustomerEvents;
use crate::params::TimeUnit;
use crate::transactions::{CustomerTx, OrderEntry, is_label};

/// The BTYD summary columns lead the transaction columns.
pub(crate) const BTYD_WIDTH: usize = 4;

/// The BTYD summary columns (frequency, recency, T, monetary_value) with `unit` for recency and T.
pub(crate) fn btyd_specs(unit: TimeUnit) -> Vec<FeatureSpec> {
    TX_FIXED[..BTYD_WIDTH]
        .iter()
        .map(|(name, kind, column_unit, description)| FeatureSpec {
            name: name.to_string(),
            kind: *kind,
            unit: column_unit.map(|u| {
                if u == "unit" {
                    unit.name().to_string()
                } else {
                    u.to_string()
                }
            }),
            description: description.to_string(),
        })
        .collect()
}

/// The BTYD summary of one customer from their purchase days, sorted and distinct, each with its
/// value (fixed point): frequency, recency and T in units of `unit_days` days, monetary value.
/// All empty (NaN) without a purchase day.
pub(crate) fn fill_btyd(days: &[(i32, i128)], last_day: i32, unit_days: f64, out: &mut [f64]) {
    let nan = f64::NAN;
    let (Some(first), Some(last)) = (days.first(), days.last()) else {
        out[..BTYD_WIDTH].fill(nan);
        return;
    };
    let frequency = days.len() - 1;
    out[0] = frequency as f64;
    out[1] = (last.0 - first.0) as f64 / unit_days;
    out[2] = (last_day - first.0) as f64 / unit_days;
    out[3] = if frequency == 0 {
        0.0
    } else {
        units_to_amount(days[1..].iter().map(|d| d.1).sum::<i128>()) / frequency as f64
    };
}

/// Which transaction columns exist and where.
pub(crate) struct TxLayout {
    pub(crate) unit: TimeUnit,
    pub(crate) as_of: i32,
    pub(crate) categories: Vec<(LabelId, String)>,
    pub(crate) channels: Vec<(LabelId, String)>,
    pub(crate) has_quantity: bool,
    pub(crate) holdout: bool,
}

/// The fixed transaction columns, in order.
const TX_FIXED: &[(&str, FeatureKind, Option<&str>, &str)] = &[
    (
        "frequency",
        FeatureKind::Count,
        None,
        "BTYD x: repeat purchase days (distinct purchase days − 1); same-day purchases merged; empty for customers with no purchase",
    ),
    (
        "recency",
        FeatureKind::Real,
        Some("unit"),
        "BTYD t_x: time from the first to the last purchase day; empty without a purchase",
    ),
    (
        "T",
        FeatureKind::Real,
        Some("unit"),
        "BTYD T: time from the first purchase day to the last day before as-of; empty without a purchase",
    ),
    (
        "monetary_value",
        FeatureKind::Real,
        Some("currency"),
        "mean value of the repeat purchase days (the first purchase day excluded; a day's value is the sum of its purchase lines, refunds excluded); 0 for customers with no repeat purchase, empty without a purchase",
    ),
    (
        "days_since_last_purchase",
        FeatureKind::Real,
        Some("days"),
        "days from the last purchase day to the last day before as-of; empty without a purchase",
    ),
    (
        "orders",
        FeatureKind::Count,
        None,
        "distinct orders (by order id, or one per purchase day when the file has no order id)",
    ),
    (
        "total_spend",
        FeatureKind::Real,
        Some("currency"),
        "purchases minus refunds before as-of",
    ),
    (
        "avg_order_value",
        FeatureKind::Real,
        Some("currency"),
        "purchase value per order (refunds excluded); empty without an order",
    ),
    (
        "tenure_days",
        FeatureKind::Real,
        Some("days"),
        "days from the first purchase to the last day before as-of; empty without a purchase",
    ),
    (
        "mean_gap_days",
        FeatureKind::Real,
        Some("days"),
        "mean days between consecutive purchase days; empty with fewer than two purchase days",
    ),
    (
        "std_gap_days",
        FeatureKind::Real,
        Some("days"),
        "population standard deviation of the days between consecutive purchase days; empty with fewer than two purchase days",
    ),
    (
        "orders_30d",
        FeatureKind::Count,
        None,
        "orders in the 30 days before as-of",
    ),
    (
        "orders_90d",
        FeatureKind::Count,
        None,
        "orders in the 90 days before as-of",
    ),
    (
        "orders_365d",
        FeatureKind::Count,
        None,
        "orders in the 365 days before as-of",
    ),
    (
        "spend_30d",
        FeatureKind::Real,
        Some("currency"),
        "purchases minus refunds in the 30 days before as-of",
    ),
    (
        "spend_90d",
        FeatureKind::Real,
        Some("currency"),
        "purchases minus refunds in the 90 days before as-of",
    ),
    (
        "spend_365d",
        FeatureKind::Real,
        Some("currency"),
        "purchases minus refunds in the 365 days before as-of",
    ),
    (
        "spend_trend_90d",
        FeatureKind::Real,
        None,
        "(a − b) / (a + b), a = purchases in the last 90 days, b = in the 90 days before; in [−1, 1], 0 when both are 0",
    ),
    (
        "refund_count",
        FeatureKind::Count,
        None,
        "refund lines (negative amounts) before as-of",
    ),
    (
        "refund_share",
        FeatureKind::Real,
        None,
        "refunded amount / purchased amount; empty without purchases",
    ),
    (
        "distinct_categories",
        FeatureKind::Count,
        None,
        "categories with a purchase",
    ),
    (
        "top_category_share",
        FeatureKind::Share,
        None,
        "share of purchase value in the customer's own largest category; empty without categorised purchases",
    ),
];

impl TxLayout {
    pub(crate) fn width(&self) -> usize {
        TX_FIXED.len() + self.categories.len() + self.channels.len() + self.has_quantity as usize
    }

    pub(crate) fn specs(
        &self,
        category_labels: &[String],
        channel_labels: &[String],
    ) -> Vec<FeatureSpec> {
        let mut specs = btyd_specs(self.unit);
        specs.extend(
            TX_FIXED[BTYD_WIDTH..]
                .iter()
                .map(|(name, kind, unit, description)| FeatureSpec {
                    name: name.to_string(),
                    kind: *kind,
                    unit: unit.map(str::to_string),
                    description: description.to_string(),
                }),
        );
        for (label, name) in &self.categories {
            specs.push(FeatureSpec {
                name: name.clone(),
                kind: FeatureKind::Share,
                unit: None,
                description: format!("share of purchase value in category {:?} (one of the most purchased categories overall); empty without categorised purchases", category_labels[*label as usize]),
            });
        }
        for (label, name) in &self.channels {
            specs.push(FeatureSpec {
                name: name.clone(),
                kind: FeatureKind::Share,
                unit: None,
                description: format!("share of orders placed through channel {:?}; empty without an order with a channel", channel_labels[*label as usize]),
            });
        }
        if self.has_quantity {
            specs.push(FeatureSpec {
                name: "units".into(),
                kind: FeatureKind::Real,
                unit: None,
                description: "units bought (sum of quantity over purchase lines)".into(),
            });
        }
        specs
    }

    pub(crate) fn holdout_specs(&self) -> Vec<FeatureSpec> {
        if !self.holdout {
            return Vec::new();
        }
        vec![
            FeatureSpec {
                name: "holdout_purchases".into(),
                kind: FeatureKind::Target,
                unit: None,
                description: "purchase days from as-of up to the holdout end (target, not an input)".into(),
            },
            FeatureSpec {
                name: "holdout_spend".into(),
                kind: FeatureKind::Target,
                unit: Some("currency".into()),
                description: "purchase value from as-of up to the holdout end, refunds excluded (target, not an input)".into(),
            },
        ]
    }

    pub(crate) fn fill_holdout(&self, state: Option<&CustomerTx>, out: &mut [f64]) {
        let holdout = state.map_or(&[][..], |s| s.holdout());
        let mut days = 0usize;
        let mut previous = None;
        let mut spend = 0i128;
        for (day, paid) in holdout {
            if previous != Some(*day) {
                days += 1;
                previous = Some(*day);
            }
            spend += *paid as i128;
        }
        out[0] = days as f64;
        out[1] = units_to_amount(spend);
    }

    /// Fills the transaction columns of one customer from its state and its settled `entries`
    /// (compacted, sorted by day).
    pub(crate) fn fill(
        &self,
        state: Option<&CustomerTx>,
        entries: &[OrderEntry],
        scratch: &mut Scratch,
        out: &mut [f64],
    ) {
        let empty = CustomerTx::default();
        let state = state.unwrap_or(&empty);
        let last_day = self.as_of - 1;
        let unit = self.unit.days();
        // Purchase days with their value.
        let days = &mut scratch.days;
        days.clear();
        let (mut paid, mut refunded, mut orders) = (0i128, 0i128, 0u64);
        let mut windows = [(30, 0u64, 0i128), (90, 0, 0), (365, 0, 0)];
        let (mut recent90, mut previous90) = (0i128, 0i128);
        let channel_orders = &mut scratch.channel_orders;
        channel_orders.clear();
        channel_orders.resize(self.channels.len(), 0);
        let mut orders_with_channel = 0u64;
        for e in entries {
            paid += e.paid() as i128;
            refunded += e.refunded() as i128;
            let age = last_day - e.day; // 0 = the last day before as-of
            for (w, count, spend) in windows.iter_mut() {
                if age < *w {
                    *spend += e.paid() as i128 - e.refunded() as i128;
                    *count += e.is_purchase() as u64;
                }
            }
            if age < 90 {
                recent90 += e.paid() as i128;
            } else if age < 180 {
                previous90 += e.paid() as i128;
            }
            if e.is_purchase() {
                orders += 1;
                match days.last_mut() {
                    Some((d, v)) if *d == e.day => *v += e.paid() as i128,
                    _ => days.push((e.day, e.paid() as i128)),
                }
                if is_label(e.channel()) {
                    orders_with_channel += 1;
                    if let Some(k) = self.channels.iter().position(|(l, _)| *l == e.channel()) {
                        channel_orders[k] += 1;
                    }
                }
            }
        }
        let nan = f64::NAN;
        let (first, last) = match (days.first(), days.last()) {
            (Some(f), Some(l)) => (Some(f.0), Some(l.0)),
            _ => (None, None),
        };
        fill_btyd(days, last_day, unit, &mut out[..BTYD_WIDTH]);
        out[4] = last.map_or(nan, |l| (last_day - l) as f64);
        out[5] = orders as f64;
        out[6] = units_to_amount(paid - refunded);
        out[7] = if orders > 0 {
            units_to_amount(paid) / orders as f64
        } else {
            nan
        };
        out[8] = first.map_or(nan, |f| (last_day - f) as f64);
        if days.len() >= 2 {
            let gaps = days.windows(2).map(|w| (w[1].0 - w[0].0) as f64);
            let count = (days.len() - 1) as f64;
            let mean = gaps.clone().sum::<f64>() / count;
            let variance = gaps.map(|g| (g - mean).powi(2)).sum::<f64>() / count;
            out[9] = mean;
            out[10] = variance.sqrt();
        } else {
            out[9] = nan;
            out[10] = nan;
        }
        for (k, (_, count, spend)) in windows.iter().enumerate() {
            out[11 + k] = *count as f64;
            out[14 + k] = units_to_amount(*spend);
        }
        out[17] = if recent90 + previous90 == 0 {
            0.0
        } else {
            (recent90 - previous90) as f64 / (recent90 + previous90) as f64
        };
        out[18] = state.refund_lines as f64;
        out[19] = if paid > 0 {
            refunded as f64 / paid as f64
        } else {
            nan
        };
        let categorised: i128 = state.category_paid.iter().map(|c| c.1 as i128).sum();
        out[20] = state.category_paid.iter().filter(|c| c.1 > 0).count() as f64;
        out[21] = if categorised > 0 {
            state.category_paid.iter().map(|c| c.1).max().unwrap_or(0) as f64 / categorised as f64
        } else {
            nan
        };
        let mut at = TX_FIXED.len();
        for (label, _) in &self.categories {
            out[at] = if categorised > 0 {
                state
                    .category_paid
                    .iter()
                    .find(|c| c.0 == *label)
                    .map_or(0, |c| c.1) as f64
                    / categorised as f64
            } else {
                nan
            };
            at += 1;
        }
        for &mut count in channel_orders.iter_mut() {
            out[at] = if orders_with_channel > 0 {
                count as f64 / orders_with_channel as f64
            } else {
                nan
            };
            at += 1;
        }
        if self.has_quantity {
            out[at] = units_to_amount(state.units as i128);
        }
    }
}

/// Per-thread buffers of [`TxLayout::fill`], reused from customer to customer.
#[derive(Default)]
pub(crate) struct Scratch {
    days: Vec<(i32, i128)>,
    channel_orders: Vec<u64>,
}

pub(crate) const EVENT_WIDTH: usize = 8;

pub(crate) fn event_specs() -> Vec<FeatureSpec> {
    let spec = |name: &str, kind, unit: Option<&str>, description: &str| FeatureSpec {
        name: name.into(),
        kind,
        unit: unit.map(str::to_string),
        description: description.into(),
    };
    vec![
        spec(
            "views_30d",
            FeatureKind::Count,
            None,
            "view events in the 30 days before as-of",
        ),
        spec(
            "add_to_carts_30d",
            FeatureKind::Count,
            None,
            "add-to-cart events in the 30 days before as-of",
        ),
        spec(
            "checkouts_30d",
            FeatureKind::Count,
            None,
            "checkout events in the 30 days before as-of",
        ),
        spec(
            "abandoned_carts",
            FeatureKind::Count,
            None,
            "add-to-cart events before as-of with no purchase (transaction) on the same or the next day",
        ),
        spec(
            "abandoned_carts_30d",
            FeatureKind::Count,
            None,
            "abandoned carts in the 30 days before as-of",
        ),
        spec(
            "days_since_last_event",
            FeatureKind::Real,
            Some("days"),
            "days from the last event of any type to the last day before as-of; empty without events",
        ),
        spec(
            "email_open_rate",
            FeatureKind::Share,
            None,
            "email opens / emails sent, capped at 1; empty when no email was sent",
        ),
        spec(
            "email_click_rate",
            FeatureKind::Share,
            None,
            "email clicks / emails sent, capped at 1; empty when no email was sent",
        ),
    ]
}

pub(crate) fn fill_events(counts: Option<&CustomerEvents>, as_of: i32, out: &mut [f64]) {
    let empty = CustomerEvents::default();
    let c = counts.unwrap_or(&empty);
    out[0] = c.views_30d as f64;
    out[1] = c.carts_30d as f64;
    out[2] = c.checkouts_30d as f64;
    out[3] = c.abandoned_carts as f64;
    out[4] = c.abandoned_carts_30d as f64;
    out[5] = c
        .last_event_day
        .map_or(f64::NAN, |d| (as_of - 1 - d) as f64);
    let rate = |n: u32| {
        if c.emails_sent == 0 {
            f64::NAN
        } else {
            (n as f64 / c.emails_sent as f64).min(1.0)
        }
    };
    out[6] = rate(c.email_opens);
    out[7] = rate(c.email_clicks);
}
