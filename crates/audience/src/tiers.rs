//! Ranking, nested tiers and control groups.
//!
//! Candidates are ranked by score (highest first; equal scores by customer id, so the order
//! never depends on input order or thread count). Tier sizes are cumulative — the 1% tier is
//! the top 1% of the ranking and lies inside the 2% tier — so a tier is simply the first rank
//! a size reaches. The control group is drawn by hashing the customer id: a customer is in
//! control when xxh3-64(id, seed = salt) / 2⁶⁴ < the holdout share. The same customer is in
//! control in every rerun, every tier and every run that uses the same salt, and the rule can
//! be reproduced outside this project (Python: `xxhash.xxh3_64_intdigest(id, seed=salt)`).

use std::cmp::Ordering;

use rayon::prelude::*;

use xxhash_rust::xxh3::xxh3_64_with_seed;

use crate::error::AudienceError;

/// A tier size: a share of the candidate pool or a number of customers.
#[derive(Debug, Clone, PartialEq)]
pub enum TierSize {
    /// A share in (0, 1] of the candidates, written as a percentage ("5%").
    Share(f64),
    /// A number of customers ("10000").
    Count(usize),
}

impl TierSize {
    /// Reads "5%", "0.5%" or "10000".
    ///
    /// ```
    /// use lookalike_audience::TierSize;
    /// assert_eq!(TierSize::parse("5%").unwrap(), TierSize::Share(0.05));
    /// assert_eq!(TierSize::parse("1000").unwrap(), TierSize::Count(1000));
    /// assert!(TierSize::parse("five").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<TierSize, AudienceError> {
        let trimmed = text.trim();
        let bad = || AudienceError::BadTierSize(text.to_string());
        if let Some(percent) = trimmed.strip_suffix('%') {
            let value: f64 = percent.trim().parse().map_err(|_| bad())?;
            if !value.is_finite() {
                return Err(bad());
            }
            Ok(TierSize::Share(value / 100.0))
        } else {
            trimmed.parse().map(TierSize::Count).map_err(|_| bad())
        }
    }

    /// The number of customers this size selects out of `candidates` (a share is rounded to
    /// the nearest customer).
    pub fn customers(&self, candidates: usize) -> usize {
        match self {
            TierSize::Share(share) => (share * candidates as f64).round().max(0.0) as usize,
            TierSize::Count(count) => *count,
        }
    }

    /// How it was written back: "5%" or "10000".
    pub fn label(&self) -> String {
        match self {
            TierSize::Share(share) => format!("{}%", share * 100.0),
            TierSize::Count(count) => count.to_string(),
        }
    }
}

/// Written as in a pipeline file: "5%" or 10000.
impl serde::Serialize for TierSize {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.label())
    }
}

impl<'de> serde::Deserialize<'de> for TierSize {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum Written {
            Count(u64),
            Text(String),
        }
        match Written::deserialize(deserializer)? {
            Written::Count(count) => Ok(TierSize::Count(count as usize)),
            Written::Text(text) => TierSize::parse(&text).map_err(serde::de::Error::custom),
        }
    }
}

impl std::str::FromStr for TierSize {
    type Err = AudienceError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        TierSize::parse(text)
    }
}

/// The tiers `sizes` make of a pool of `candidates`: (label, customers), smallest first, equal
/// sizes once; an error for an empty tier or one larger than the pool.
///
/// ```
/// use lookalike_audience::{TierSize, tier_sizes};
/// let sizes = [TierSize::Share(0.05), TierSize::Count(3)];
/// assert_eq!(tier_sizes(&sizes, 100).unwrap(), vec![("3".to_string(), 3), ("5%".to_string(), 5)]);
/// assert!(tier_sizes(&sizes, 2).is_err());
/// ```
pub fn tier_sizes(
    sizes: &[TierSize],
    candidates: usize,
) -> Result<Vec<(String, usize)>, AudienceError> {
    resolve(sizes, candidates)
}

/// A ranking strength as an integer that sorts as the ranking does (`f64::total_cmp`), for a
/// sort outside this crate (Spark's, on a base in parts); [`strength_of_key`] turns it back.
///
/// ```
/// use lookalike_audience::{strength_key, strength_of_key};
/// let strengths = [-1.5, -0.0, 0.0, 1e-300, 0.25, 1.0, f64::INFINITY];
/// let keys: Vec<i64> = strengths.iter().map(|s| strength_key(*s)).collect();
/// assert!(keys.windows(2).all(|w| w[0] < w[1]));
/// assert!(strengths.iter().zip(&keys).all(|(s, k)| strength_of_key(*k).to_bits() == s.to_bits()));
/// ```
pub fn strength_key(strength: f64) -> i64 {
    // The transformation `f64::total_cmp` makes: flip the magnitude bits of negatives.
    let bits = strength.to_bits() as i64;
    bits ^ ((((bits >> 63) as u64) >> 1) as i64)
}

/// The strength of a [`strength_key`].
pub fn strength_of_key(key: i64) -> f64 {
    f64::from_bits((key ^ ((((key >> 63) as u64) >> 1) as i64)) as u64)
}

/// Resolved tiers: (label, customers), ascending, each checked against the pool.
pub(crate) fn resolve(
    sizes: &[TierSize],
    candidates: usize,
) -> Result<Vec<(String, usize)>, AudienceError> {
    if sizes.is_empty() {
        return Err(AudienceError::NoTiers);
    }
    let mut tiers = Vec::new();
    for size in sizes {
        let customers = size.customers(candidates);
        if customers == 0 {
            return Err(AudienceError::EmptyTier(size.label()));
        }
        if customers > candidates {
            return Err(AudienceError::TierTooLarge {
                size: size.label(),
                candidates,
            });
        }
        tiers.push((size.label(), customers));
    }
    tiers.sort_by_key(|t| t.1);
    tiers.dedup_by_key(|t| t.1);
    Ok(tiers)
}

/// The `top` best candidate positions in order: ranking strength descending, equal strengths
/// by id ascending. Only the top is sorted (a selection first), so ranking ten million
/// candidates for a 10% audience sorts one million.
pub(crate) fn top_ranked(strength: &[f64], ids: &[&str], top: usize) -> Vec<usize> {
    let before = |a: &usize, b: &usize| match strength[*b].total_cmp(&strength[*a]) {
        Ordering::Equal => ids[*a].cmp(ids[*b]),
        other => other,
    };
    let mut order: Vec<usize> = (0..strength.len()).collect();
    let top = top.min(order.len());
    if top < order.len() && top > 0 {
        order.select_nth_unstable_by(top - 1, before);
    }
    order.truncate(top);
    order.par_sort_unstable_by(before);
    order
}

/// Whether customer `id` is in the control group for this `salt` and holdout share.
///
/// ```
/// use lookalike_audience::in_control;
/// let share = (0..10_000).filter(|i| in_control(&format!("C{i}"), 7, 0.1)).count();
/// assert!((900..1100).contains(&share));
/// assert_eq!(in_control("C42", 7, 0.1), in_control("C42", 7, 0.1));
/// assert!(!in_control("C42", 7, 0.0));
/// ```
pub fn in_control(id: &str, salt: u64, holdout: f64) -> bool {
    (xxh3_64_with_seed(id.as_bytes(), salt) as f64) < holdout * 18_446_744_073_709_551_616.0
}
