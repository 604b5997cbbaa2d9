//! What the score edges and value-tier thresholds need from a base, counted: each score input's
//! values with their multiplicities. Parts of a base counted apart (Spark partitions) merge
//! exactly, and the edges read from the merged counts are the order statistics
//! [`quantile_edges`](crate::quantile_edges) selects from the whole base, bit for bit.

use lookalike_core::{FeatureTable, ValueCounts};
use serde::{Deserialize, Serialize};

use crate::RfmError;
use crate::rules::RuleSet;
use crate::segment::{
    ScoreInput, ScoreInputs, SegmentParams, TrainedScores, buyers, required, train_scores,
};

/// The `bins − 1` quantile edges of the counted values, as
/// [`quantile_edges`](crate::quantile_edges) defines them.
pub fn counted_edges(counts: &ValueCounts, bins: usize) -> Vec<f64> {
    let n = counts.len();
    if n == 0 {
        return Vec::new();
    }
    let bins = bins as u64;
    let positions: Vec<u64> = (1..bins).map(|i| (i * n).div_ceil(bins) - 1).collect();
    counts.at_positions(&positions)
}

/// The lowest value of the top `share` (at least one value), none when empty: the value-tier
/// threshold.
fn top_threshold(counts: &ValueCounts, share: f64) -> Option<f64> {
    let n = counts.len();
    if n == 0 {
        return None;
    }
    let k = ((share * n as f64).ceil() as u64).clamp(1, n) - 1;
    counts.at_positions(&[n - 1 - k]).first().copied()
}

/// The score inputs of the buyers of a base, counted: negated days since the last purchase,
/// orders, total spend, and the value column that ranks the tiers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScoreCounts {
    /// Negated days since the last purchase (fewer days score higher).
    pub recency: ValueCounts,
    /// Orders.
    pub frequency: ValueCounts,
    /// Total spend.
    pub monetary: ValueCounts,
    /// The value column, when it is not `total_spend` (then the monetary counts serve: the
    /// same buyers' same values, counted once).
    pub value: Option<ValueCounts>,
}

impl ScoreCounts {
    /// The counts of `table`'s buyers, with the columns `segment` reads for the scores.
    pub fn of(table: &FeatureTable, params: &SegmentParams) -> Result<ScoreCounts, RfmError> {
        let days = required(table, "days_since_last_purchase", "recency")?;
        let orders = required(table, "orders", "frequency")?;
        let spend = required(table, "total_spend", "monetary value")?;
        let value = required(table, params.value_column_name(), "value tiers")?;
        let buyer = buyers(&orders, &days);
        let mut counts = ScoreCounts::default();
        let mut value_counts =
            (params.value_column_name() != "total_spend").then(ValueCounts::default);
        for (i, _) in buyer.iter().enumerate().filter(|(_, b)| **b) {
            counts.recency.add(-days[i]);
            counts.frequency.add(orders[i]);
            counts.monetary.add(spend[i]);
            if let Some(counted) = &mut value_counts {
                counted.add(value[i]);
            }
        }
        counts.value = value_counts;
        Ok(counts)
    }

    /// Adds another part's counts.
    pub fn merge(&mut self, other: &ScoreCounts) {
        self.recency.merge(&other.recency);
        self.frequency.merge(&other.frequency);
        self.monetary.merge(&other.monetary);
        // Parts counted for one spec all have value counts or none.
        if let (Some(mine), Some(theirs)) = (&mut self.value, &other.value) {
            mine.merge(theirs);
        }
    }

    /// The counts of the value column.
    fn value_counts(&self) -> &ValueCounts {
        self.value.as_ref().unwrap_or(&self.monetary)
    }

    /// The edges and thresholds `segment` learns from a table with these counts (the rules
    /// file's fixed breaks, when it has them, replace the quantiles as there).
    pub fn trained(
        &self,
        rules: &RuleSet,
        params: &SegmentParams,
    ) -> Result<TrainedScores, RfmError> {
        params.validate()?;
        train_scores(rules, params, self)
    }
}

impl ScoreInputs for ScoreCounts {
    fn edges(&self, input: ScoreInput, bins: usize) -> Vec<f64> {
        let counts = match input {
            ScoreInput::NegatedDays => &self.recency,
            ScoreInput::Orders => &self.frequency,
            ScoreInput::Spend => &self.monetary,
        };
        counted_edges(counts, bins)
    }

    fn top_threshold(&self, share: f64) -> Option<f64> {
        top_threshold(self.value_counts(), share)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quantile_edges;

    #[test]
    fn edges_from_counts_are_the_selected_order_statistics() {
        // Heavy ties, negative zero, and a NaN that both leave out.
        let values: Vec<f64> = (0..997)
            .map(|i| match i % 11 {
                0 => f64::NAN,
                1 => -0.0,
                k => ((i * 7919) % 23) as f64 * 0.5 - k as f64,
            })
            .collect();
        let mut counts = ValueCounts::default();
        let mut other = ValueCounts::default();
        for (i, v) in values.iter().enumerate() {
            if i % 3 == 0 { &mut counts } else { &mut other }.add(*v);
        }
        counts.merge(&other);
        for bins in [2, 3, 5, 10, 100] {
            let expected = quantile_edges(&values, bins);
            let got = counted_edges(&counts, bins);
            assert_eq!(
                expected.iter().map(|e| e.to_bits()).collect::<Vec<_>>(),
                got.iter().map(|e| e.to_bits()).collect::<Vec<_>>(),
                "bins {bins}"
            );
        }
        assert!(counted_edges(&ValueCounts::default(), 5).is_empty());
    }

    #[test]
    fn top_threshold_counts_ties_from_the_top() {
        let mut counts = ValueCounts::default();
        for v in [5.0, 9.0, 9.0, 1.0, 7.0] {
            counts.add(v);
        }
        // ceil(0.01·5) = 1: the largest; ceil(0.5·5) = 3: the third largest.
        assert_eq!(top_threshold(&counts, 0.01), Some(9.0));
        assert_eq!(top_threshold(&counts, 0.5), Some(7.0));
        assert_eq!(top_threshold(&ValueCounts::default(), 0.05), None);
    }
}
