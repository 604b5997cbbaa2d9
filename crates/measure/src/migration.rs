//! How customers moved between segments from one run to the next.

use std::collections::BTreeMap;

use foldhash::HashMap;

use serde::Serialize;

/// The transition matrix of two segmentations of the same base: for each pair (segment before,
/// segment after) the customers who made that move, and the customers present in one run only.
///
/// ```
/// let before = [("a", "Champions"), ("b", "At risk"), ("c", "Champions")];
/// let after = [("a", "Champions"), ("b", "Champions"), ("d", "New")];
/// let migration = lookalike_measure::Migration::between(before, after);
/// assert_eq!(migration.count("At risk", "Champions"), 1);
/// assert_eq!(migration.only_before, 1); // c
/// assert_eq!(migration.only_after, 1); // d
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Migration {
    /// Segments in order (every segment seen in either run).
    pub segments: Vec<String>,
    /// `counts[i][j]`: customers in segment i before and segment j after.
    pub counts: Vec<Vec<u64>>,
    /// Customers in the first run only.
    pub only_before: u64,
    /// Customers in the second run only.
    pub only_after: u64,
}

impl Migration {
    /// The migration from `before` to `after`, each a list of (customer id, segment).
    pub fn between<'a>(
        before: impl IntoIterator<Item = (&'a str, &'a str)>,
        after: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Migration {
        let after: Vec<(&str, &str)> = after.into_iter().collect();
        let before: Vec<(&str, &str)> = before.into_iter().collect();
        // Segments are few: each gets an index once, and every move is a cell of the matrix.
        let mut names: BTreeMap<&str, usize> = BTreeMap::new();
        for (_, segment) in before.iter().chain(&after) {
            names.entry(segment).or_insert(0);
        }
        for (i, index) in names.values_mut().enumerate() {
            *index = i;
        }
        let mut segment_before: HashMap<&str, usize> = HashMap::default();
        segment_before.reserve(before.len());
        for (id, segment) in &before {
            segment_before.insert(id, names[segment]);
        }
        let mut counts = vec![vec![0u64; names.len()]; names.len()];
        let mut in_both = 0u64;
        let mut last: Option<(&str, usize)> = None;
        for (id, segment) in &after {
            let to = match last {
                Some((name, index)) if name == *segment => index,
                _ => names[segment],
            };
            last = Some((segment, to));
            if let Some(&from) = segment_before.get(id) {
                in_both += 1;
                counts[from][to] += 1;
            }
        }
        Migration {
            segments: names.keys().map(|s| s.to_string()).collect(),
            counts,
            only_before: segment_before.len() as u64 - in_both,
            only_after: after.len() as u64 - in_both,
        }
    }

    fn index(&self, segment: &str) -> Option<usize> {
        self.segments.iter().position(|s| s == segment)
    }

    /// Customers who moved from `from` to `to` (0 for unknown segments).
    pub fn count(&self, from: &str, to: &str) -> u64 {
        match (self.index(from), self.index(to)) {
            (Some(i), Some(j)) => self.counts[i][j],
            _ => 0,
        }
    }

    /// Customers present in both runs.
    pub fn in_both(&self) -> u64 {
        self.counts.iter().flatten().sum()
    }

    /// Per segment: (stayed, left for another segment, entered from another segment).
    pub fn flows(&self) -> Vec<(u64, u64, u64)> {
        (0..self.segments.len())
            .map(|i| {
                let stayed = self.counts[i][i];
                let left = self.counts[i].iter().sum::<u64>() - stayed;
                let entered = self.counts.iter().map(|row| row[i]).sum::<u64>() - stayed;
                (stayed, left, entered)
            })
            .collect()
    }

    /// Row shares: of the customers in segment i before, the share in segment j after.
    pub fn row_shares(&self) -> Vec<Vec<f64>> {
        self.counts
            .iter()
            .map(|row| {
                let total = row.iter().sum::<u64>();
                row.iter()
                    .map(|c| {
                        if total > 0 {
                            *c as f64 / total as f64
                        } else {
                            0.0
                        }
                    })
                    .collect()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_up_to_the_customers_in_both_runs() {
        let before: Vec<(String, String)> = (0..1000)
            .map(|i| (format!("c{i}"), format!("s{}", i % 4)))
            .collect();
        // 100 customers leave the base, 50 join; the rest move by a rule.
        let after: Vec<(String, String)> = (100..1050)
            .map(|i| (format!("c{i}"), format!("s{}", (i / 3) % 5)))
            .collect();
        let migration = Migration::between(
            before.iter().map(|(a, b)| (a.as_str(), b.as_str())),
            after.iter().map(|(a, b)| (a.as_str(), b.as_str())),
        );
        assert_eq!(migration.in_both(), 900);
        assert_eq!(migration.only_before, 100);
        assert_eq!(migration.only_after, 50);
        assert_eq!(migration.segments, ["s0", "s1", "s2", "s3", "s4"]);
        let direct = (100..1000)
            .filter(|i| i % 4 == 1 && (i / 3) % 5 == 2)
            .count() as u64;
        assert_eq!(migration.count("s1", "s2"), direct);
        for (i, shares) in migration.row_shares().iter().enumerate() {
            let total: f64 = shares.iter().sum();
            assert!((total - 1.0).abs() < 1e-12 || migration.counts[i].iter().sum::<u64>() == 0);
        }
        let flows = migration.flows();
        let (stayed, left, entered): (u64, u64, u64) = flows
            .iter()
            .fold((0, 0, 0), |a, f| (a.0 + f.0, a.1 + f.1, a.2 + f.2));
        assert_eq!(stayed + left, 900);
        assert_eq!(left, entered);
    }
}
