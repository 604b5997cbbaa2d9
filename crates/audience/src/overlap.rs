//! How much audiences (or segments, or any id lists) share, pair by pair: sizes, the customers in
//! both, the Jaccard index and each side's share in the other.

use std::collections::HashSet;

/// The overlap of two sets of customers.
#[derive(Debug, Clone, PartialEq)]
pub struct Overlap {
    /// The first set's name.
    pub a: String,
    /// The second set's name.
    pub b: String,
    /// Customers in the first set.
    pub size_a: usize,
    /// Customers in the second set.
    pub size_b: usize,
    /// Customers in both.
    pub both: usize,
    /// |A ∩ B| / |A ∪ B| (0 when both are empty).
    pub jaccard: f64,
    /// |A ∩ B| / |A| (0 when A is empty).
    pub share_of_a: f64,
    /// |A ∩ B| / |B| (0 when B is empty).
    pub share_of_b: f64,
}

/// Every pair of `sets` (name, ids), in order: (0, 1), (0, 2) … (1, 2) …
///
/// ```
/// use std::collections::HashSet;
/// let set = |ids: &[&str]| ids.iter().map(|s| s.to_string()).collect::<HashSet<_>>();
/// let pairs = lookalike_audience::overlaps(&[
///     ("a".into(), set(&["1", "2", "3"])),
///     ("b".into(), set(&["2", "3", "4", "5"])),
/// ]);
/// assert_eq!(pairs[0].both, 2);
/// assert_eq!(pairs[0].jaccard, 2.0 / 5.0);
/// assert_eq!((pairs[0].share_of_a, pairs[0].share_of_b), (2.0 / 3.0, 0.5));
/// ```
pub fn overlaps(sets: &[(String, HashSet<String>)]) -> Vec<Overlap> {
    let ratio = |part: usize, whole: usize| {
        if whole == 0 {
            0.0
        } else {
            part as f64 / whole as f64
        }
    };
    let mut pairs = Vec::new();
    for i in 0..sets.len() {
        for j in i + 1..sets.len() {
            let ((a, left), (b, right)) = (&sets[i], &sets[j]);
            let both = left.intersection(right).count();
            let union = left.len() + right.len() - both;
            pairs.push(Overlap {
                a: a.clone(),
                b: b.clone(),
                size_a: left.len(),
                size_b: right.len(),
                both,
                jaccard: ratio(both, union),
                share_of_a: ratio(both, left.len()),
                share_of_b: ratio(both, right.len()),
            });
        }
    }
    pairs
}
