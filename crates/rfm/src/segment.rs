//! Scores, segments, stages and flags of every customer of a feature table.

use std::borrow::Cow;
use std::collections::HashMap;

use lookalike_core::FeatureTable;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::RfmError;
use crate::lifecycle::{Lifecycle, LifecycleParams};
use crate::named::RfmSegment;
use crate::quantile::{bin_sizes, quantile_edges, score};
use crate::rules::{Column, EvalError, MISSING_TEXT, RuleSet, TRUE, evaluate};

/// The value tier of a customer, by the value column (total spend by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum ValueTier {
    /// Top 1% of buyers.
    Vip1,
    /// Top 5% of buyers (and not top 1%).
    Vip5,
    /// Other buyers.
    Standard,
    /// No purchase.
    NoPurchase,
}

impl ValueTier {
    /// All tiers, best first.
    pub const ALL: [ValueTier; 4] = [
        ValueTier::Vip1,
        ValueTier::Vip5,
        ValueTier::Standard,
        ValueTier::NoPurchase,
    ];

    /// The tier's name, as written in outputs.
    pub fn name(self) -> &'static str {
        match self {
            ValueTier::Vip1 => "vip_1",
            ValueTier::Vip5 => "vip_5",
            ValueTier::Standard => "standard",
            ValueTier::NoPurchase => "none",
        }
    }
}

/// Intent and engagement thresholds (documented in the crate README).
const ACTIVE_BROWSER_MIN_VIEWS_30D: f64 = 3.0;
const ENGAGED_MIN_OPEN_RATE: f64 = 0.3;
const ENGAGED_MAX_DAYS_SINCE_EVENT: f64 = 14.0;
const DORMANT_MIN_DAYS_SINCE_EVENT: f64 = 90.0;
const DORMANT_MAX_OPEN_RATE: f64 = 0.05;

/// How to segment. Consuming setters; each says its default.
///
/// ```
/// let params = lookalike_rfm::SegmentParams::new().bins(10).require_consent("marketing_consent");
/// ```
#[derive(Debug, Clone)]
pub struct SegmentParams {
    bins: usize,
    lifecycle: LifecycleParams,
    value_column: String,
    consent_column: Option<String>,
    trained: Option<TrainedScores>,
}

impl Default for SegmentParams {
    fn default() -> Self {
        SegmentParams {
            bins: 5,
            lifecycle: LifecycleParams::default(),
            value_column: "total_spend".into(),
            consent_column: None,
            trained: None,
        }
    }
}

/// What a segmentation learned from its customers — the score edges and the value-tier
/// thresholds — so that other customers (a later scoring run, one chunk of a base at a time) are
/// scored exactly as these were: [`SegmentParams::trained`].
///
/// Scores: R = 1 + the number of `recency_edges` above the customer's days since the last
/// purchase (at or above when `recency_edge_included`: fixed breaks of a rules file give a
/// customer exactly at a break the better score); F = 1 + the number of `frequency_edges`
/// strictly below `orders`; M likewise on `total_spend`. Value tiers: buyers with a value at or
/// above `vip_1_from` are `vip_1`, else at or above `vip_5_from` `vip_5`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainedScores {
    /// Score bins.
    pub bins: u8,
    /// Recency edges, in days since the last purchase, ascending.
    pub recency_edges: Vec<f64>,
    /// Whether a customer exactly at a recency edge counts as below it.
    pub recency_edge_included: bool,
    /// Frequency edges on `orders`, ascending.
    pub frequency_edges: Vec<f64>,
    /// Monetary edges on `total_spend`, ascending.
    pub monetary_edges: Vec<f64>,
    /// The value column the tiers rank by.
    pub value_column: String,
    /// Lowest value of the top 1% of buyers (none: there were no buyers).
    pub vip_1_from: Option<f64>,
    /// Lowest value of the top 5% of buyers.
    pub vip_5_from: Option<f64>,
}

impl TrainedScores {
    /// R of a buyer `days` since their last purchase (None when missing).
    pub fn recency_score(&self, days: f64) -> Option<u8> {
        recency_score(days, &self.recency_edges, self.recency_edge_included)
    }

    /// The value tier of a customer with this value.
    pub fn value_tier(&self, value: f64, buyer: bool) -> ValueTier {
        value_tier(value, buyer, self.vip_1_from, self.vip_5_from)
    }
}

/// R = 1 + the number of `edges` above `days` (at or above when `included`); none when missing.
fn recency_score(days: f64, edges: &[f64], included: bool) -> Option<u8> {
    if days.is_nan() {
        return None;
    }
    let above = edges
        .iter()
        .filter(|e| if included { days <= **e } else { days < **e })
        .count();
    Some(1 + above as u8)
}

/// The tier of a customer with this value: `vip_1` at or above `vip_1_from`, else `vip_5` at or
/// above `vip_5_from` (no threshold: no buyer reaches it).
fn value_tier(
    value: f64,
    buyer: bool,
    vip_1_from: Option<f64>,
    vip_5_from: Option<f64>,
) -> ValueTier {
    let at_least = |from: Option<f64>| from.is_some_and(|f| value >= f);
    match buyer {
        false => ValueTier::NoPurchase,
        true if at_least(vip_1_from) => ValueTier::Vip1,
        true if at_least(vip_5_from) => ValueTier::Vip5,
        true => ValueTier::Standard,
    }
}

impl SegmentParams {
    /// Every default.
    pub fn new() -> Self {
        Self::default()
    }

    /// Score bins: 5 gives quintiles, 4 quartiles, 10 deciles. Default: 5.
    pub fn bins(mut self, bins: usize) -> Self {
        self.bins = bins;
        self
    }

    /// Lifecycle thresholds. Default: [`LifecycleParams::default`].
    pub fn lifecycle(mut self, lifecycle: LifecycleParams) -> Self {
        self.lifecycle = lifecycle;
        self
    }

    /// The column that ranks customers into value tiers. Default: `total_spend`.
    pub fn value_column(mut self, column: impl Into<String>) -> Self {
        self.value_column = column.into();
        self
    }

    /// Leave customers whose `column` is not 1 out of every segment. Default: none.
    pub fn require_consent(mut self, column: impl Into<String>) -> Self {
        self.consent_column = Some(column.into());
        self
    }

    /// Score with the edges and tier thresholds another segmentation learned
    /// ([`Segmentation::trained`]) instead of this table's quantiles; its bins and value column
    /// replace these. Default: none (learn them from the table).
    pub fn trained(mut self, trained: TrainedScores) -> Self {
        self.bins = trained.bins as usize;
        self.value_column = trained.value_column.clone();
        self.trained = Some(trained);
        self
    }

    /// Score bins.
    pub(crate) fn bins_count(&self) -> usize {
        self.bins
    }

    /// The column that ranks the value tiers.
    pub(crate) fn value_column_name(&self) -> &str {
        &self.value_column
    }

    pub(crate) fn validate(&self) -> Result<(), RfmError> {
        if self.bins < 2 {
            return Err(RfmError::TooFewBins(self.bins));
        }
        if self.bins > 100 {
            return Err(RfmError::TooManyBins(self.bins));
        }
        self.lifecycle.validate()
    }
}

/// Everything `segment` found, one entry per customer in table order.
#[derive(Debug, Clone)]
pub struct Segmentation {
    /// Score bins.
    pub bins: u8,
    /// Recency, frequency and monetary scores (none without a purchase).
    pub r: Vec<Option<u8>>,
    /// Frequency scores.
    pub f: Vec<Option<u8>>,
    /// Monetary scores.
    pub m: Vec<Option<u8>>,
    /// Named RFM segment (none without a purchase or without consent).
    pub rfm_segment: Vec<Option<RfmSegment>>,
    /// Lifecycle stage.
    pub lifecycle: Vec<Lifecycle>,
    /// Value tier.
    pub value_tier: Vec<ValueTier>,
    /// Intent and engagement flags (none when the features have no event columns).
    pub flags: Option<Flags>,
    /// Whether the customer may be in segments (all true without a consent requirement).
    pub consented: Vec<bool>,
    /// Names of the rule segments, in file order.
    pub rule_names: Vec<String>,
    /// `matches[k][i]`: customer i matches rule segment k.
    pub matches: Vec<Vec<bool>>,
    /// Index of the highest-priority matching rule segment.
    pub primary: Vec<Option<u16>>,
    /// The edges and value-tier thresholds used: give them to [`SegmentParams::trained`] to
    /// score other customers the same way.
    pub trained: TrainedScores,
    /// Customers per score value, for R, F and M.
    pub bin_sizes: [Vec<usize>; 3],
}

/// Intent and engagement flags.
#[derive(Debug, Clone)]
pub struct Flags {
    /// Abandoned a cart in the last 30 days.
    pub cart_abandoner: Vec<bool>,
    /// Three or more views in the last 30 days and no order.
    pub active_browser: Vec<bool>,
    /// Opens at least 30% of emails, or had an event in the last 14 days.
    pub engaged: Vec<bool>,
    /// No event for 90 days and opens under 5% of emails (missing counts as none).
    pub dormant: Vec<bool>,
}

impl Segmentation {
    /// The R, F and M scores of customer `i` as one cell (see [`Segmentation::cell_text`]).
    pub fn rfm_cell(&self, i: usize) -> Option<String> {
        Some(Self::cell_text(
            self.r[i]?, self.f[i]?, self.m[i]?, self.bins,
        ))
    }

    /// Scores as a cell: `"545"` when every score is one digit (bins ≤ 9), else `"10-4-5"`.
    pub fn cell_text(r: u8, f: u8, m: u8, bins: u8) -> String {
        if bins <= 9 {
            format!("{r}{f}{m}")
        } else {
            format!("{r}-{f}-{m}")
        }
    }

    /// The names of all rule segments customer `i` matches, joined by `;`.
    pub fn segments_of(&self, i: usize) -> String {
        let names: Vec<&str> = self
            .matches
            .iter()
            .zip(&self.rule_names)
            .filter(|(m, _)| m[i])
            .map(|(_, n)| n.as_str())
            .collect();
        names.join(";")
    }

    /// The primary rule segment's name of customer `i`.
    pub fn primary_name(&self, i: usize) -> Option<&str> {
        self.primary[i].map(|k| self.rule_names[k as usize].as_str())
    }
}

pub(crate) fn required<'a>(
    table: &'a FeatureTable,
    column: &str,
    purpose: &str,
) -> Result<Cow<'a, [f64]>, RfmError> {
    table
        .column_values(column)
        .map_err(|_| RfmError::MissingColumn {
            column: column.to_string(),
            purpose: purpose.to_string(),
            known: table.columns().join(", "),
        })
}

fn optional<'a>(table: &'a FeatureTable, column: &str) -> Option<Cow<'a, [f64]>> {
    table.column_values(column).ok()
}

/// Which customers are buyers (at least one order and a last purchase): only they are scored.
pub(crate) fn buyers(orders: &[f64], days: &[f64]) -> Vec<bool> {
    orders
        .par_iter()
        .zip(days.par_iter())
        .map(|(o, d)| *o > 0.0 && !d.is_nan())
        .collect()
}

fn scores_by(values: &[f64], edges: &[f64]) -> Vec<Option<u8>> {
    values.par_iter().map(|v| score(*v, edges)).collect()
}

pub(crate) fn check_breaks(name: &str, breaks: &[f64], bins: usize) -> Result<(), RfmError> {
    if breaks.len() != bins - 1
        || breaks.windows(2).any(|w| w[0] >= w[1])
        || breaks.iter().any(|b| !b.is_finite())
    {
        return Err(RfmError::BadBreaks {
            name: name.to_string(),
            expected: bins - 1,
            got: breaks.to_vec(),
        });
    }
    Ok(())
}

/// Scores and segments every customer of `table`.
///
/// Needs the columns `days_since_last_purchase`, `orders`, `total_spend`, `frequency` and
/// `mean_gap_days` (as written by `lookalike features`); uses `views_30d`, `orders_30d`,
/// `abandoned_carts_30d`, `email_open_rate` and `days_since_last_event` for the flags when present.
///
/// ```
/// use lookalike_core::{CustomerId, FeatureTable};
/// use lookalike_rfm::{RuleSet, SegmentParams, segment};
/// let columns = ["days_since_last_purchase", "orders", "total_spend", "frequency", "mean_gap_days"];
/// let table = FeatureTable::new(
///     vec![CustomerId::from("a"), CustomerId::from("b")],
///     columns.iter().map(|c| c.to_string()).collect(),
///     ndarray::array![[3.0, 9.0, 900.0, 8.0, 20.0], [400.0, 1.0, 20.0, 0.0, f64::NAN]],
/// ).unwrap();
/// let result = segment(&table, &RuleSet::default(), &SegmentParams::new().bins(2)).unwrap();
/// assert_eq!(result.rfm_cell(0).as_deref(), Some("222"));
/// assert_eq!(result.rfm_segment[1].unwrap().name(), "Lost");
/// ```
pub fn segment(
    table: &FeatureTable,
    rules: &RuleSet,
    params: &SegmentParams,
) -> Result<Segmentation, RfmError> {
    params.validate()?;
    let bins = params.bins;
    let n = table.len();
    let days = required(table, "days_since_last_purchase", "recency")?;
    let orders = required(table, "orders", "frequency")?;
    let spend = required(table, "total_spend", "monetary value")?;
    let frequency = required(table, "frequency", "lifecycle: repeat purchase days")?;
    let gaps = required(table, "mean_gap_days", "lifecycle: the usual gap")?;
    let value = required(table, &params.value_column, "value tiers")?;
    let consent = match &params.consent_column {
        Some(column) => Some(required(table, column, "--require-consent")?),
        None => None,
    };
    // Customers without a purchase get no score: mask their values as missing.
    let buyer = buyers(&orders, &days);
    let masked = |values: &[f64]| -> Vec<f64> {
        values
            .par_iter()
            .zip(buyer.par_iter())
            .map(|(v, b)| if *b { *v } else { f64::NAN })
            .collect()
    };
    let (days_b, orders_b, spend_b) = (masked(&days), masked(&orders), masked(&spend));

    // What is learned (unless given) is learned first, and every customer is scored with it:
    // one scoring whether the edges come from this table, a trained model or counts of a base
    // in parts.
    let trained = match &params.trained {
        Some(trained) => trained.clone(),
        None => train_scores(
            rules,
            params,
            &BuyerValues {
                days: &days_b,
                orders: &orders_b,
                spend: &spend_b,
                value: &value,
                buyer: &buyer,
            },
        )?,
    };
    let (r, (f, m)) = rayon::join(
        || {
            days_b
                .par_iter()
                .map(|d| trained.recency_score(*d))
                .collect::<Vec<_>>()
        },
        || {
            rayon::join(
                || scores_by(&orders_b, &trained.frequency_edges),
                || scores_by(&spend_b, &trained.monetary_edges),
            )
        },
    );
    let value_tier: Vec<ValueTier> = value
        .par_iter()
        .zip(buyer.par_iter())
        .map(|(v, b)| trained.value_tier(*v, *b))
        .collect();

    let consented: Vec<bool> = match &consent {
        Some(c) => c.par_iter().map(|v| *v == 1.0).collect(),
        None => vec![true; n],
    };
    let rfm_segment: Vec<Option<RfmSegment>> = (0..n)
        .into_par_iter()
        .map(|i| match (r[i], f[i], m[i]) {
            (Some(r), Some(f), Some(m)) if consented[i] => {
                Some(RfmSegment::of(r, f, m, bins as u8))
            }
            _ => None,
        })
        .collect();
    let lifecycle: Vec<Lifecycle> = (0..n)
        .into_par_iter()
        .map(|i| {
            let purchase_days = if buyer[i] { frequency[i] + 1.0 } else { 0.0 };
            params.lifecycle.stage(purchase_days, days[i], gaps[i])
        })
        .collect();
    let flags = flags(table, n);

    // Rule segments: feature columns, the scores and the segment labels are all available.
    // Text columns are coded by their position in ALL (the enum discriminant).
    let segment_names: Vec<&'static str> = RfmSegment::ALL.iter().map(|s| s.name()).collect();
    let lifecycle_names: Vec<&'static str> = Lifecycle::ALL.iter().map(|l| l.name()).collect();
    let tier_names: Vec<&'static str> = ValueTier::ALL.iter().map(|t| t.name()).collect();
    let segment_codes: Vec<u8> = rfm_segment
        .par_iter()
        .map(|s| s.map_or(MISSING_TEXT, |s| s as u8))
        .collect();
    let lifecycle_codes: Vec<u8> = lifecycle.par_iter().map(|l| *l as u8).collect();
    let tier_codes: Vec<u8> = value_tier.par_iter().map(|t| *t as u8).collect();
    let as_numbers = |scores: &[Option<u8>]| -> Vec<f64> {
        scores
            .iter()
            .map(|s| s.map_or(f64::NAN, f64::from))
            .collect()
    };
    let mut columns: HashMap<&str, Column<'_>> = HashMap::new();
    let needed: Vec<&str> = rules
        .segments()
        .iter()
        .flat_map(|s| s.expr.columns())
        .collect();
    for name in table.columns() {
        if needed.contains(&name.as_str()) {
            columns.insert(
                name,
                Column::Number(table.column_values(name).expect("listed")),
            );
        }
    }
    columns.insert("r_score", Column::Number(Cow::Owned(as_numbers(&r))));
    columns.insert("f_score", Column::Number(Cow::Owned(as_numbers(&f))));
    columns.insert("m_score", Column::Number(Cow::Owned(as_numbers(&m))));
    columns.insert(
        "rfm_segment",
        Column::Text {
            codes: &segment_codes,
            labels: &segment_names,
        },
    );
    columns.insert(
        "lifecycle",
        Column::Text {
            codes: &lifecycle_codes,
            labels: &lifecycle_names,
        },
    );
    columns.insert(
        "value_tier",
        Column::Text {
            codes: &tier_codes,
            labels: &tier_names,
        },
    );
    let mut matches = Vec::with_capacity(rules.segments().len());
    for rule in rules.segments() {
        let truth = evaluate(&rule.expr, &columns).map_err(|e| match e {
            EvalError::UnknownColumn(column) => {
                let mut known: Vec<&str> = table.columns().iter().map(String::as_str).collect();
                known.extend(crate::model::SEGMENT_MADE);
                RfmError::UnknownColumn {
                    segment: rule.name.clone(),
                    rule: rule.rule.clone(),
                    column,
                    known: known.join(", "),
                }
            }
            EvalError::Type(message) => RfmError::TypeMismatch {
                segment: rule.name.clone(),
                rule: rule.rule.clone(),
                message,
            },
        })?;
        matches.push(
            truth
                .par_iter()
                .zip(consented.par_iter())
                .map(|(t, c)| *t == TRUE && *c)
                .collect::<Vec<bool>>(),
        );
    }
    let mut order: Vec<usize> = (0..rules.segments().len()).collect();
    // Highest priority first; the earlier segment wins a tie (stable sort).
    order.sort_by_key(|k| std::cmp::Reverse(rules.segments()[*k].priority));
    let primary: Vec<Option<u16>> = (0..n)
        .into_par_iter()
        .map(|i| order.iter().find(|k| matches[**k][i]).map(|k| *k as u16))
        .collect();
    Ok(Segmentation {
        bins: bins as u8,
        bin_sizes: [
            bin_sizes(&r, bins),
            bin_sizes(&f, bins),
            bin_sizes(&m, bins),
        ],
        r,
        f,
        m,
        rfm_segment,
        lifecycle,
        value_tier,
        flags,
        consented,
        rule_names: rules.segments().iter().map(|s| s.name.clone()).collect(),
        matches,
        primary,
        trained,
    })
}

/// A score input, by the values its quantile edges are read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScoreInput {
    /// Days since the last purchase, negated (fewer days score higher).
    NegatedDays,
    /// Orders.
    Orders,
    /// Total spend.
    Spend,
}

/// The order statistics of the buyers' score inputs and values, from whatever holds them: the
/// table being segmented, or the counts of a base in parts ([`crate::ScoreCounts`]).
pub(crate) trait ScoreInputs: Sync {
    /// The `bins − 1` edges of an input's values, as [`quantile_edges`] selects them.
    fn edges(&self, input: ScoreInput, bins: usize) -> Vec<f64>;
    /// The lowest value of the top `share` of buyers by value (at least one buyer; none
    /// without buyers): a value-tier threshold.
    fn top_threshold(&self, share: f64) -> Option<f64>;
}

/// What `segment` learns of a base: each score's edges — the rules file's fixed breaks where
/// it has them, quantile edges of the buyers' values otherwise — and the value-tier thresholds
/// (top 1% and 5% of buyers). The only place that choice is made.
pub(crate) fn train_scores(
    rules: &RuleSet,
    params: &SegmentParams,
    inputs: &impl ScoreInputs,
) -> Result<TrainedScores, RfmError> {
    let bins = params.bins_count();
    let breaks = rules.breaks();
    let fixed_or_quantile = |name: &str, input: ScoreInput, fixed: &Option<Vec<f64>>| match fixed {
        Some(b) => check_breaks(name, b, bins).map(|()| b.clone()),
        None => Ok(inputs.edges(input, bins)),
    };
    // Returns the ascending edges in days and whether a customer at an edge is below it.
    let recency = || match &breaks.recency {
        Some(b) => check_breaks("recency", b, bins).map(|()| (b.clone(), true)),
        None => {
            let negated = inputs.edges(ScoreInput::NegatedDays, bins);
            Ok((negated.iter().rev().map(|e| -e).collect(), false))
        }
    };
    // Each has a sequential selection step: run them side by side.
    let ((recency, frequency), (monetary, (vip_1_from, vip_5_from))) = rayon::join(
        || {
            rayon::join(recency, || {
                fixed_or_quantile("frequency", ScoreInput::Orders, &breaks.frequency)
            })
        },
        || {
            rayon::join(
                || fixed_or_quantile("monetary", ScoreInput::Spend, &breaks.monetary),
                || (inputs.top_threshold(0.01), inputs.top_threshold(0.05)),
            )
        },
    );
    let (recency_edges, recency_edge_included) = recency?;
    Ok(TrainedScores {
        bins: bins as u8,
        recency_edges,
        recency_edge_included,
        frequency_edges: frequency?,
        monetary_edges: monetary?,
        value_column: params.value_column_name().to_string(),
        vip_1_from,
        vip_5_from,
    })
}

/// The buyers' score inputs of the table being segmented (non-buyers' masked as missing).
struct BuyerValues<'a> {
    days: &'a [f64],
    orders: &'a [f64],
    spend: &'a [f64],
    value: &'a [f64],
    buyer: &'a [bool],
}

impl ScoreInputs for BuyerValues<'_> {
    fn edges(&self, input: ScoreInput, bins: usize) -> Vec<f64> {
        match input {
            ScoreInput::NegatedDays => {
                let negated: Vec<f64> = self.days.par_iter().map(|d| -d).collect();
                quantile_edges(&negated, bins)
            }
            ScoreInput::Orders => quantile_edges(self.orders, bins),
            ScoreInput::Spend => quantile_edges(self.spend, bins),
        }
    }

    fn top_threshold(&self, share: f64) -> Option<f64> {
        let mut values: Vec<f64> = self
            .value
            .iter()
            .zip(self.buyer)
            .filter(|(v, b)| **b && !v.is_nan())
            .map(|(v, _)| *v)
            .collect();
        if values.is_empty() {
            return None;
        }
        let k = ((share * values.len() as f64).ceil() as usize).clamp(1, values.len()) - 1;
        Some(*values.select_nth_unstable_by(k, |a, b| b.total_cmp(a)).1)
    }
}

fn flags(table: &FeatureTable, n: usize) -> Option<Flags> {
    let views = optional(table, "views_30d")?;
    let abandoned = optional(table, "abandoned_carts_30d")?;
    let opens = optional(table, "email_open_rate")?;
    let since_event = optional(table, "days_since_last_event")?;
    let recent_orders = optional(table, "orders_30d").unwrap_or_else(|| Cow::Owned(vec![0.0; n]));
    let cart_abandoner = abandoned.par_iter().map(|a| *a > 0.0).collect();
    let active_browser = views
        .par_iter()
        .zip(recent_orders.par_iter())
        .map(|(v, o)| *v >= ACTIVE_BROWSER_MIN_VIEWS_30D && (o.is_nan() || *o <= 0.0))
        .collect();
    let engaged = opens
        .par_iter()
        .zip(since_event.par_iter())
        .map(|(o, d)| *o >= ENGAGED_MIN_OPEN_RATE || *d <= ENGAGED_MAX_DAYS_SINCE_EVENT)
        .collect();
    let dormant = opens
        .par_iter()
        .zip(since_event.par_iter())
        .map(|(o, d)| {
            (d.is_nan() || *d > DORMANT_MIN_DAYS_SINCE_EVENT)
                && (o.is_nan() || *o < DORMANT_MAX_OPEN_RATE)
        })
        .collect();
    Some(Flags {
        cart_abandoner,
        active_browser,
        engaged,
        dormant,
    })
}
