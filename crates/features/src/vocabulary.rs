//! The choices of a feature table that depend on the whole base, made once and then fixed.
//!
//! Most columns are one customer's own history, but a few are chosen by looking at everyone:
//! which categories and channels get a share column (the most purchased overall) and how each
//! customers-file attribute is encoded (its type and most frequent levels). When a base is
//! split over workers — Spark partitions, each holding whole customers — every part must get
//! the same columns, so the choices are made first from mergeable counts ([`LabelTotals`],
//! summed in any order, exactly) and handed to every part as a [`Vocabulary`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::customers::AttributeEncoding;

/// Fixed column choices for [`FeatureParams::vocabulary`](crate::FeatureParams::vocabulary).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Vocabulary {
    /// Categories with a `category_share_…` column, in column order.
    pub categories: Vec<String>,
    /// Channels with a `channel_share_…` column, in column order.
    pub channels: Vec<String>,
    /// The customers file's attribute columns, in file order, and how each is encoded. Empty
    /// without a customers file.
    pub attributes: Vec<(String, AttributeEncoding)>,
}

/// Per label, the weight that ranks it: purchase value per category (in the log's fixed-point
/// money units) and orders per channel, over the calibration period. Sums of integers, so parts
/// merge exactly in any order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LabelTotals {
    /// Purchase value per category.
    pub categories: BTreeMap<String, i128>,
    /// Orders per channel.
    pub channels: BTreeMap<String, i128>,
}

impl LabelTotals {
    /// Adds another part's totals.
    pub fn merge(&mut self, other: LabelTotals) {
        for (label, weight) in other.categories {
            *self.categories.entry(label).or_default() += weight;
        }
        for (label, weight) in other.channels {
            *self.channels.entry(label).or_default() += weight;
        }
    }

    /// The vocabulary these totals choose: the `top_levels` heaviest categories and channels,
    /// as one extraction over the whole base would choose them.
    pub fn vocabulary(
        &self,
        top_levels: usize,
        attributes: Vec<(String, AttributeEncoding)>,
    ) -> Vocabulary {
        Vocabulary {
            categories: heaviest(&self.categories, top_levels),
            channels: heaviest(&self.channels, top_levels),
            attributes,
        }
    }
}

/// The `count` labels with the largest positive weight, heaviest first; ties broken by label
/// text, so the choice does not depend on the order labels were first seen.
pub(crate) fn heaviest<'a>(
    weights: impl IntoIterator<Item = (&'a String, &'a i128)>,
    count: usize,
) -> Vec<String> {
    let mut weighted: Vec<(i128, &str)> = weights
        .into_iter()
        .filter(|(_, w)| **w > 0)
        .map(|(l, w)| (*w, l.as_str()))
        .collect();
    weighted.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    weighted
        .into_iter()
        .take(count)
        .map(|(_, l)| l.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn totals(categories: &[(&str, i128)], channels: &[(&str, i128)]) -> LabelTotals {
        LabelTotals {
            categories: categories
                .iter()
                .map(|(l, w)| (l.to_string(), *w))
                .collect(),
            channels: channels.iter().map(|(l, w)| (l.to_string(), *w)).collect(),
        }
    }

    #[test]
    fn merged_parts_choose_as_the_whole_would() {
        let mut a = totals(&[("toys", 5), ("books", 7), ("food", 0)], &[("web", 3)]);
        let b = totals(&[("toys", 4), ("garden", 9)], &[("store", 3), ("app", 1)]);
        a.merge(b);
        assert_eq!(a.categories["toys"], 9);
        let vocabulary = a.vocabulary(2, Vec::new());
        // toys 9 and garden 9 tie: by text. Zero weights never get a column.
        assert_eq!(vocabulary.categories, vec!["garden", "toys"]);
        assert_eq!(vocabulary.channels, vec!["store", "web"]);
        assert_eq!(a.vocabulary(8, Vec::new()).categories.len(), 3);
    }
}
