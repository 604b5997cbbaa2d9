//! Subject access: everything a model derives for one customer, with the rule or number that
//! decided each result, and whether the customer's own data is stored in the model
//! (`lookalike explain`). Every result is the one `score` writes: the explanation scores the
//! customer's row with [`PipelineModel::transform_table`] and reads the reasons from the stored
//! parameters beside it.

use std::collections::BTreeMap;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int32Type, Int64Type};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use lookalike_audience::PlacementDetail;
use lookalike_core::FeatureTable;
use lookalike_rfm::{Lifecycle, RfmSegment, ValueTier, score};
use serde::Serialize;
use serde_json::Value;

use crate::error::PipelineError;
use crate::model::PipelineModel;

/// One of R, F, M: the feature it scores, the customer's value, and the score the edges give.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoreReason {
    /// The feature scored.
    pub column: String,
    /// The customer's value (None: missing, or no purchase).
    pub value: Option<f64>,
    /// The score the trained edges give it (1 to bins).
    pub score: Option<u8>,
    /// The rule, in words, with the edges.
    pub rule: String,
}

/// A rule segment and whether the customer matched it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleMatch {
    /// The segment's name.
    pub name: String,
    /// Its rule as written.
    pub rule: String,
    /// Whether the customer is in it.
    pub matched: bool,
}

/// The segmentation of one customer, with the reasons.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SegmentReasons {
    /// R, from days since the last purchase.
    pub recency: ScoreReason,
    /// F, from orders.
    pub frequency: ScoreReason,
    /// M, from total spend.
    pub monetary: ScoreReason,
    /// The named RFM segment (None: no purchase, or no consent).
    pub rfm_segment: Option<String>,
    /// How the scores name it.
    pub rfm_segment_rule: String,
    /// The lifecycle stage.
    pub lifecycle: String,
    /// Why: purchase days, days since the last, the usual gap and the thresholds.
    pub lifecycle_rule: String,
    /// The value tier.
    pub value_tier: String,
    /// Why: the value and the tier thresholds.
    pub value_tier_rule: String,
    /// Every rule segment, matched or not, in priority order.
    pub rule_segments: Vec<RuleMatch>,
    /// When consent is required and the customer has none: in no segment.
    pub consent: Option<String>,
}

/// The customer's cluster and its profile.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClusterReasons {
    /// The cluster (None: a clustered column is missing).
    pub cluster: Option<i64>,
    /// Distance to its centroid in the scaled space.
    pub distance: Option<f64>,
    /// The cluster's customers at training.
    pub size: Option<u64>,
    /// Their share.
    pub share: Option<f64>,
    /// What sets the cluster apart: features and their z (standard deviations of the cluster
    /// mean from the overall mean).
    pub distinguishing: Vec<(String, f64)>,
}

/// The customer's expected value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ValueReasons {
    /// The purchase model (`bgnbd`, `pareto`) and whether a spend model is there.
    pub model: String,
    /// The history it reads: frequency, recency, T, monetary_value.
    pub history: BTreeMap<String, Option<f64>>,
    /// Probability the customer is still active.
    pub p_alive: Option<f64>,
    /// Expected purchases over the horizon.
    pub expected_purchases: Option<f64>,
    /// Expected spend per purchase.
    pub expected_spend: Option<f64>,
    /// Discounted customer lifetime value over the horizon.
    pub clv: Option<f64>,
    /// The horizon and discount.
    pub horizon: String,
}

/// The customer in one audience.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AudienceReasons {
    /// The audience.
    pub name: String,
    /// Its scorer.
    pub scorer: String,
    /// Score, strength, tier, control, cuts, nearest seed and reasons (None: unscorable).
    pub placement: Option<PlacementDetail>,
}

/// Everything a model derives for one customer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    /// The customer.
    pub customer_id: String,
    /// The files of the model that hold this customer's own data (empty: none).
    pub stored_in_model: Vec<String>,
    /// The features the model reads, with the customer's values (None: missing).
    pub features: BTreeMap<String, Option<f64>>,
    /// Every column `score` writes for the customer (null: none).
    pub scores: BTreeMap<String, Value>,
    /// Segments, with the rules that placed the customer.
    pub segments: Option<SegmentReasons>,
    /// The cluster and its profile.
    pub cluster: Option<ClusterReasons>,
    /// The expected value.
    pub value: Option<ValueReasons>,
    /// Each audience.
    pub audiences: Vec<AudienceReasons>,
}

/// Row `row` of column `name` of `batch` as JSON (null when null).
fn cell(batch: &RecordBatch, name: &str, row: usize) -> Value {
    let Ok(at) = batch.schema().index_of(name) else {
        return Value::Null;
    };
    let column = batch.column(at);
    if column.is_null(row) {
        return Value::Null;
    }
    match column.data_type() {
        DataType::Int64 => Value::from(column.as_primitive::<Int64Type>().value(row)),
        DataType::Float64 => Value::from(column.as_primitive::<Float64Type>().value(row)),
        DataType::Utf8 => Value::from(column.as_string::<i32>().value(row)),
        DataType::Dictionary(..) => {
            let coded = column.as_dictionary::<Int32Type>();
            let key = coded.keys().value(row) as usize;
            Value::from(coded.values().as_string::<i32>().value(key))
        }
        DataType::Boolean => Value::from(column.as_boolean().value(row)),
        other => Value::from(format!("({other})")),
    }
}

fn number(value: f64) -> Option<f64> {
    (!value.is_nan()).then_some(value)
}

fn edges_text(edges: &[f64]) -> String {
    edges
        .iter()
        .map(|e| format!("{e}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl PipelineModel {
    /// Everything the model derives for the customer of row `row` of `features` (a table with
    /// the model's required columns), with the reasons; the results are `score`'s.
    pub fn explain(
        &self,
        features: &FeatureTable,
        row: usize,
    ) -> Result<Explanation, PipelineError> {
        let table = features.select_rows(&[row]);
        let id = table.ids()[0].as_str().to_string();
        let batch = self.transform_table(&table)?;
        let value_of = |name: &str| {
            table
                .column_index(name)
                .ok()
                .map(|j| table.values()[[0, j]])
                .unwrap_or(f64::NAN)
        };
        let scores: BTreeMap<String, Value> = batch
            .schema()
            .fields()
            .iter()
            .map(|f| (f.name().clone(), cell(&batch, f.name(), 0)))
            .collect();
        let features_used: BTreeMap<String, Option<f64>> = self
            .required_columns()
            .into_iter()
            .map(|c| (c.to_string(), number(value_of(c))))
            .collect();
        let mut stored = Vec::new();
        for audience in self.audiences() {
            let settings = audience.settings();
            if audience.is_seed(&id) {
                stored.push(format!(
                    "audiences/{}: its id and scaled features ({})",
                    settings.seeds_file,
                    settings.columns.join(", ")
                ));
            }
            for cut in settings.tiers.iter().filter(|c| c.last_customer_id == id) {
                stored.push(format!(
                    "audiences/{}.json and manifest.json: its id, as the last customer of tier {} (the cut's tie-break)",
                    settings.name, cut.label
                ));
            }
        }
        let segments = self.segments().map(|model| {
            let settings = model.settings();
            let trained = &settings.trained;
            let days = value_of("days_since_last_purchase");
            let orders = value_of("orders");
            let buyer = orders > 0.0 && !days.is_nan();
            let masked = |v: f64| if buyer { v } else { f64::NAN };
            let recency = ScoreReason {
                column: "days_since_last_purchase".into(),
                value: number(days),
                score: trained.recency_score(masked(days)),
                rule: format!(
                    "R = 1 + the number of edges {} the days since the last purchase (edges: {})",
                    if trained.recency_edge_included {
                        "at or above"
                    } else {
                        "above"
                    },
                    edges_text(&trained.recency_edges)
                ),
            };
            let frequency = ScoreReason {
                column: "orders".into(),
                value: number(orders),
                score: score(masked(orders), &trained.frequency_edges),
                rule: format!(
                    "F = 1 + the number of edges below the orders (edges: {})",
                    edges_text(&trained.frequency_edges)
                ),
            };
            let spend = value_of("total_spend");
            let monetary = ScoreReason {
                column: "total_spend".into(),
                value: number(spend),
                score: score(masked(spend), &trained.monetary_edges),
                rule: format!(
                    "M = 1 + the number of edges below the total spend (edges: {})",
                    edges_text(&trained.monetary_edges)
                ),
            };
            let consent = settings.require_consent.as_ref().and_then(|column| {
                (value_of(column) != 1.0).then(|| {
                    format!("{column} is not 1: the customer is in no segment (scores and stage are still computed)")
                })
            });
            let rfm_segment = match (recency.score, frequency.score, monetary.score) {
                (Some(r), Some(f), Some(m)) if consent.is_none() => {
                    Some(RfmSegment::of(r, f, m, trained.bins).name().to_string())
                }
                _ => None,
            };
            let rfm_segment_rule = match (recency.score, frequency.score, monetary.score) {
                (Some(r), Some(f), Some(m)) => format!(
                    "R {r}, F {f}, M {m} of {}: the named-segment grid of R against the mean of F and M (crates/rfm/README.md)",
                    trained.bins
                ),
                _ => "no purchase: no scores, no named segment".into(),
            };
            let lifecycle_params = settings.lifecycle();
            let purchase_days = if buyer {
                value_of("frequency") + 1.0
            } else {
                0.0
            };
            let gap = value_of("mean_gap_days");
            let stage: Lifecycle = lifecycle_params.stage(purchase_days, days, gap);
            let usual = if purchase_days >= 2.0 && !gap.is_nan() {
                format!("{gap:.1} days (the mean gap between purchase days)")
            } else {
                format!(
                    "{} days (assumed after one purchase day)",
                    settings.single_purchase_gap
                )
            };
            let lifecycle_rule = if purchase_days < 1.0 || days.is_nan() {
                "no purchase yet: a prospect".to_string()
            } else {
                format!(
                    "{purchase_days} purchase days, the last {days} days ago; usual gap {usual}; lapsing beyond {} × the gap, lost beyond {} ×; loyal from {} purchase days",
                    settings.lapsing_factor, settings.lost_factor, settings.loyal_purchase_days
                )
            };
            let value = value_of(&trained.value_column);
            let tier: ValueTier = trained.value_tier(value, buyer);
            let threshold = |t: Option<f64>| t.map_or("none".to_string(), |t| format!("{t}"));
            let value_tier_rule = format!(
                "{} = {}: vip_1 from {}, vip_5 from {} (the top 1% and 5% of buyers when trained)",
                trained.value_column,
                number(value).map_or("missing".to_string(), |v| format!("{v}")),
                threshold(trained.vip_1_from),
                threshold(trained.vip_5_from)
            );
            let matched: Vec<String> = scores
                .get("segments")
                .and_then(Value::as_str)
                .map(|s| s.split(';').filter(|s| !s.is_empty()).map(String::from).collect())
                .unwrap_or_default();
            let rule_segments = model
                .rules()
                .segments()
                .iter()
                .map(|rule| RuleMatch {
                    name: rule.name.clone(),
                    rule: rule.rule.clone(),
                    matched: matched.contains(&rule.name),
                })
                .collect();
            SegmentReasons {
                recency,
                frequency,
                monetary,
                rfm_segment,
                rfm_segment_rule,
                lifecycle: stage.name().to_string(),
                lifecycle_rule,
                value_tier: tier.name().to_string(),
                value_tier_rule,
                rule_segments,
                consent,
            }
        });
        let cluster = self.clusters().map(|_| {
            let cluster = scores.get("cluster").and_then(Value::as_i64);
            let profile = cluster.and_then(|k| {
                self.documents().clusters.as_ref()?["clusters"]
                    .as_array()?
                    .iter()
                    .find(|c| c["cluster"].as_i64() == Some(k))
                    .cloned()
            });
            ClusterReasons {
                cluster,
                distance: scores.get("cluster_distance").and_then(Value::as_f64),
                size: profile.as_ref().and_then(|p| p["size"].as_u64()),
                share: profile.as_ref().and_then(|p| p["share"].as_f64()),
                distinguishing: profile
                    .as_ref()
                    .and_then(|p| p["distinguishing"].as_array().cloned())
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|d| Some((d["column"].as_str()?.to_string(), d["z"].as_f64()?)))
                    .collect(),
            }
        });
        let value = self.value().map(|model| {
            let spec = model.horizon_spec();
            let get = |name: &str| scores.get(name).and_then(Value::as_f64);
            ValueReasons {
                model: format!(
                    "{}{}",
                    model.purchases().kind().name(),
                    if model.spend().is_some() {
                        " with Gamma-Gamma spend"
                    } else {
                        ""
                    }
                ),
                history: ["frequency", "recency", "T", "monetary_value"]
                    .iter()
                    .map(|c| (c.to_string(), number(value_of(c))))
                    .collect(),
                p_alive: get("p_alive"),
                expected_purchases: get("expected_purchases"),
                expected_spend: get("expected_spend"),
                clv: get("clv"),
                horizon: format!(
                    "{} {}, discounted {}% a month",
                    spec.horizon,
                    spec.horizon_unit.name(),
                    100.0 * spec.discount
                ),
            }
        });
        let mut audiences = Vec::new();
        for audience in self.audiences() {
            let settings = audience.settings();
            let consents = settings
                .require_consent
                .as_ref()
                .is_none_or(|c| value_of(c) == 1.0);
            let placement = audience
                .detail(&id, |j| value_of(&settings.columns[j]), consents)
                .map_err(|e| PipelineError::Seeds(format!("audience {}: {e}", settings.name)))?;
            audiences.push(AudienceReasons {
                name: settings.name.clone(),
                scorer: audience_scorer_name(&settings.scorer),
                placement,
            });
        }
        Ok(Explanation {
            customer_id: id,
            stored_in_model: stored,
            features: features_used,
            scores,
            segments,
            cluster,
            value,
            audiences,
        })
    }
}

fn audience_scorer_name(scorer: &lookalike_audience::SavedScorer) -> String {
    use lookalike_audience::SavedScorer;
    match scorer {
        SavedScorer::Classifier { .. } => "classifier".into(),
        SavedScorer::Boosted { trees, .. } => format!("boosted ({} trees)", trees.trees.len()),
        SavedScorer::Knn { k, .. } => format!("knn (k = {k})"),
        SavedScorer::Centroids {
            representatives, ..
        } => format!("centroids ({} representatives)", representatives.len()),
    }
}
