//! Quantile scores with deterministic ties.
//!
//! The edges are empirical quantiles of the values: with `n` values sorted ascending and `k`
//! bins, edge `i` (1 ≤ i < k) is the value at position ⌈i·n/k⌉ − 1. A value's score is
//! 1 + the number of edges it exceeds. The score depends on the value only, so equal values
//! always get equal scores (unlike `rank(method='first')`), and with distinct values each bin
//! holds n/k customers, give or take one. Heavy ties make bins uneven; [`bin_sizes`] reports it.

use rayon::prelude::*;

/// The `bins − 1` edges of `values` (missing values, NaN, are left out). Empty when there are no
/// values.
pub fn quantile_edges(values: &[f64], bins: usize) -> Vec<f64> {
    let mut present: Vec<f64> = values.par_iter().copied().filter(|v| !v.is_nan()).collect();
    let n = present.len();
    if n == 0 {
        return Vec::new();
    }
    let positions: Vec<usize> = (1..bins).map(|i| (i * n).div_ceil(bins) - 1).collect();
    // Successive selections on the remaining suffix: O(n·bins) instead of a full sort.
    let mut edges = Vec::with_capacity(positions.len());
    let mut done = 0;
    for &position in &positions {
        if position >= done {
            let (_, nth, _) =
                present[done..].select_nth_unstable_by(position - done, f64::total_cmp);
            edges.push(*nth);
            done = position;
        } else {
            edges.push(present[position]);
        }
    }
    edges
}

/// The score of `value` (1..=edges.len()+1) for ascending `edges`: higher values score higher.
/// Missing values have no score.
pub fn score(value: f64, edges: &[f64]) -> Option<u8> {
    if value.is_nan() {
        return None;
    }
    Some(1 + edges.iter().filter(|e| value > **e).count() as u8)
}

/// How many customers got each score (index 0 = score 1).
pub fn bin_sizes(scores: &[Option<u8>], bins: usize) -> Vec<usize> {
    let mut sizes = vec![0; bins];
    for s in scores.iter().flatten() {
        sizes[*s as usize - 1] += 1;
    }
    sizes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_values_fill_bins_evenly() {
        let values: Vec<f64> = (0..100).map(|v| v as f64).collect();
        let edges = quantile_edges(&values, 5);
        assert_eq!(edges, vec![19.0, 39.0, 59.0, 79.0]);
        let scores: Vec<Option<u8>> = values.iter().map(|v| score(*v, &edges)).collect();
        assert_eq!(bin_sizes(&scores, 5), vec![20; 5]);
    }

    #[test]
    fn ties_get_equal_scores() {
        let values = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 2.0, 3.0, 4.0, 5.0];
        let edges = quantile_edges(&values, 5);
        let scores: Vec<u8> = values.iter().map(|v| score(*v, &edges).unwrap()).collect();
        assert!(scores[..6].iter().all(|s| *s == scores[0]));
        assert_eq!(score(f64::NAN, &edges), None);
    }
}
