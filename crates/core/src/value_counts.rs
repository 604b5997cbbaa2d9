//! Values with their multiplicities: what order statistics (quantile edges, medians,
//! interquartile ranges) need from a base held in parts. Parts counted apart merge exactly, and
//! a value read at a rank of the merged counts is the one a sort of the whole base puts there,
//! bit for bit.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Values with how many customers have each, in `f64::total_cmp` order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ValueCounts {
    /// Total-order key of the value (its bits, reordered as `total_cmp` orders) → count.
    counts: BTreeMap<i64, u64>,
}

/// The key under which `f64::total_cmp` orders like `i64::cmp`; its own inverse.
fn total_order_key(bits: i64) -> i64 {
    bits ^ ((((bits >> 63) as u64) >> 1) as i64)
}

impl ValueCounts {
    /// Counts `value` (NaN is left out, as quantiles leave it out).
    pub fn add(&mut self, value: f64) {
        if !value.is_nan() {
            *self
                .counts
                .entry(total_order_key(value.to_bits() as i64))
                .or_default() += 1;
        }
    }

    /// Adds another part's counts.
    pub fn merge(&mut self, other: &ValueCounts) {
        for (key, n) in &other.counts {
            *self.counts.entry(*key).or_default() += n;
        }
    }

    /// Values counted.
    pub fn len(&self) -> u64 {
        self.counts.values().sum()
    }

    /// Whether no value was counted.
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// The values at 0-based `positions` (ascending) of the sorted multiset.
    pub fn at_positions(&self, positions: &[u64]) -> Vec<f64> {
        let mut found = Vec::with_capacity(positions.len());
        let mut wanted = positions.iter().peekable();
        let mut before = 0u64;
        for (key, n) in &self.counts {
            while let Some(&&position) = wanted.peek() {
                if position >= before + n {
                    break;
                }
                found.push(f64::from_bits(total_order_key(*key) as u64));
                wanted.next();
            }
            before += n;
        }
        found
    }

    /// The `q` quantile by linear interpolation between the order statistics around
    /// `q · (n − 1)` (numpy's default method); none when empty.
    ///
    /// ```
    /// let mut counts = lookalike_core::ValueCounts::default();
    /// for v in [4.0, 1.0, 3.0, 2.0] {
    ///     counts.add(v);
    /// }
    /// assert_eq!(counts.quantile(0.5), Some(2.5));
    /// assert_eq!(counts.quantile(0.25), Some(1.75));
    /// ```
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let n = self.len();
        if n == 0 {
            return None;
        }
        let position = q * (n - 1) as f64;
        let (low, high) = (position.floor() as u64, position.ceil() as u64);
        let values = self.at_positions(&[low, high]);
        let (below, above) = (values[0], values[values.len() - 1]);
        Some(below + (above - below) * (position - low as f64))
    }
}
