//! A trained segmentation as a model that scores one customer at a time: the learned score
//! edges and value-tier thresholds, the lifecycle settings, the consent column and the rule
//! segments. Every output of [`segment`] with trained edges is a function of the customer's own
//! row, so chunks of a base are scored exactly as the training base was.

use lookalike_core::FeatureTable;
use serde::{Deserialize, Serialize};

use crate::error::RfmError;
use crate::lifecycle::LifecycleParams;
use crate::rules::RuleSet;
use crate::segment::{SegmentParams, Segmentation, TrainedScores, segment};

/// The feature columns segmentation always reads.
pub const SEGMENT_INPUTS: [&str; 5] = [
    "days_since_last_purchase",
    "orders",
    "total_spend",
    "frequency",
    "mean_gap_days",
];

/// The optional event columns behind the intent and engagement flags (`orders_30d` is used
/// when present).
pub const FLAG_INPUTS: [&str; 4] = [
    "views_30d",
    "abandoned_carts_30d",
    "email_open_rate",
    "days_since_last_event",
];

/// Columns a segmentation makes on the way, which rules may name.
pub const SEGMENT_MADE: [&str; 6] = [
    "r_score",
    "f_score",
    "m_score",
    "rfm_segment",
    "lifecycle",
    "value_tier",
];

/// What `segments.json` of a model directory holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentSettings {
    /// The learned edges and thresholds.
    pub trained: TrainedScores,
    /// Customers without 1 in this column are in no segment.
    pub require_consent: Option<String>,
    /// Lifecycle: lapsing after this many usual gaps.
    pub lapsing_factor: f64,
    /// Lifecycle: lost after this many usual gaps.
    pub lost_factor: f64,
    /// Lifecycle: loyal from this many purchase days.
    pub loyal_purchase_days: f64,
    /// Lifecycle: the usual gap assumed after one purchase day.
    pub single_purchase_gap: f64,
    /// The rules file beside it (a plain file name), or none without rule segments.
    pub rules_file: Option<String>,
}

impl SegmentSettings {
    /// The lifecycle parameters these settings name.
    pub fn lifecycle(&self) -> LifecycleParams {
        LifecycleParams::default()
            .lapsing_factor(self.lapsing_factor)
            .lost_factor(self.lost_factor)
            .loyal_min_purchase_days(self.loyal_purchase_days)
            .single_purchase_gap_days(self.single_purchase_gap)
    }
}

/// A trained segmentation: [`SegmentModel::transform`].
#[derive(Debug, Clone)]
pub struct SegmentModel {
    settings: SegmentSettings,
    rules_text: Option<String>,
    rules: RuleSet,
    params: SegmentParams,
    flags: bool,
}

fn check_edges(name: &str, edges: &[f64]) -> Result<(), RfmError> {
    if edges.iter().any(|e| !e.is_finite()) || edges.windows(2).any(|w| w[0] > w[1]) {
        return Err(RfmError::InvalidParameter(format!(
            "trained.{name} must be ascending finite numbers, got {edges:?}"
        )));
    }
    Ok(())
}

impl SegmentModel {
    /// The model of `settings` with the text of its rules file (none without rule segments);
    /// `flags` says whether the intent and engagement flags are scored (the training features
    /// had the event columns, [`FLAG_INPUTS`]). Refused when a value is out of range.
    pub fn new(
        settings: SegmentSettings,
        rules_text: Option<String>,
        flags: bool,
    ) -> Result<SegmentModel, RfmError> {
        let trained = &settings.trained;
        check_edges("recency_edges", &trained.recency_edges)?;
        check_edges("frequency_edges", &trained.frequency_edges)?;
        check_edges("monetary_edges", &trained.monetary_edges)?;
        for (name, threshold) in [
            ("vip_1_from", trained.vip_1_from),
            ("vip_5_from", trained.vip_5_from),
        ] {
            if threshold.is_some_and(|t| !t.is_finite()) {
                return Err(RfmError::InvalidParameter(format!(
                    "trained.{name} must be a finite number"
                )));
            }
        }
        if settings.rules_file.is_some() != rules_text.is_some() {
            return Err(RfmError::RulesFile(
                "the settings name a rules file but no rules were given (or the reverse)".into(),
            ));
        }
        let rules = match &rules_text {
            Some(text) => RuleSet::from_toml(text)?,
            None => RuleSet::default(),
        };
        let mut params = SegmentParams::new()
            .lifecycle(settings.lifecycle())
            .trained(settings.trained.clone());
        if let Some(column) = &settings.require_consent {
            params = params.require_consent(column);
        }
        params.validate()?;
        Ok(SegmentModel {
            settings,
            rules_text,
            rules,
            params,
            flags,
        })
    }

    /// The stored settings.
    pub fn settings(&self) -> &SegmentSettings {
        &self.settings
    }

    /// The rules file's text, if any.
    pub fn rules_text(&self) -> Option<&str> {
        self.rules_text.as_deref()
    }

    /// The rule segments.
    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    /// Whether the flags are scored.
    pub fn flags(&self) -> bool {
        self.flags
    }

    /// Every feature column the model reads, sorted: the fixed inputs, the value and consent
    /// columns, the flags' event columns and the feature columns the rules name.
    pub fn required_columns(&self) -> Vec<String> {
        let mut columns: Vec<String> = SEGMENT_INPUTS.map(String::from).to_vec();
        columns.push(self.settings.trained.value_column.clone());
        columns.extend(self.settings.require_consent.clone());
        if self.flags {
            columns.extend(FLAG_INPUTS.map(String::from));
        }
        for rule in self.rules.segments() {
            columns.extend(
                rule.columns()
                    .into_iter()
                    .filter(|c| !SEGMENT_MADE.contains(c))
                    .map(String::from),
            );
        }
        columns.sort();
        columns.dedup();
        columns
    }

    /// Segments the customers of `table` with the trained edges.
    pub fn transform(&self, table: &FeatureTable) -> Result<Segmentation, RfmError> {
        segment(table, &self.rules, &self.params)
    }
}
