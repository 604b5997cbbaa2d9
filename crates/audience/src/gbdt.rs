//! Gradient-boosted decision trees for the binary log-loss, grown on histograms of binned
//! features: the design of LightGBM (Ke et al. 2017) and scikit-learn's
//! `HistGradientBoostingClassifier`, whose defaults are kept (learning rate 0.1, at most 100
//! rounds, 31 leaves grown best-first, at least 20 rows a leaf, 255 bins, no L2 penalty,
//! early stopping on a tenth of the rows above 10,000 rows).
//!
//! Written here rather than taken from a crate: `perpetual` (the one well-kept Rust GBDT)
//! sizes its node arena from the machine's free memory and pulls `sysinfo` and a third `rand`
//! into the tree, and a scorer must give the same bits on every machine and thread count.
//! Every sum here runs in row order within one feature, so the fit is the same at any thread
//! count; prediction compares raw values against thresholds, so no binning is needed to score.

use ndarray::{ArrayView1, ArrayView2};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Settings of a boosted fit (scikit-learn's defaults).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct BoostSettings {
    /// Shrinkage of each tree's leaf values.
    pub learning_rate: f64,
    /// Most trees.
    pub rounds: usize,
    /// Most leaves per tree.
    pub max_leaves: usize,
    /// Fewest rows in a leaf.
    pub min_leaf: usize,
    /// Most bins per feature (at most 256).
    pub max_bins: usize,
    /// L2 penalty λ on the leaf values.
    pub l2: f64,
    /// Rows from which a tenth is held out to stop when its loss stops falling.
    pub early_stopping_from: usize,
    /// Rounds without improvement (by more than 1e-7) before stopping.
    pub patience: usize,
}

impl Default for BoostSettings {
    fn default() -> Self {
        BoostSettings {
            learning_rate: 0.1,
            rounds: 100,
            max_leaves: 31,
            min_leaf: 20,
            max_bins: 255,
            l2: 0.0,
            early_stopping_from: 10_000,
            patience: 10,
        }
    }
}

/// One node of a tree: a split (`x[feature] <= threshold` goes left) or a leaf.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TreeNode {
    /// An inner node.
    Split {
        /// Column compared.
        feature: usize,
        /// Rows with a value at most this go to `left`.
        threshold: f64,
        /// Index of the left child in the tree's nodes.
        left: usize,
        /// Index of the right child.
        right: usize,
    },
    /// A leaf: its contribution to the log-odds (already shrunk by the learning rate).
    Leaf {
        /// The contribution.
        value: f64,
    },
}

/// A fitted ensemble of trees: log-odds = `base` + Σ over trees of the leaf reached.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BoostedTrees {
    /// The log-odds before any tree (of the weighted share of positives).
    pub base: f64,
    /// Each tree's nodes, the root first.
    pub trees: Vec<Vec<TreeNode>>,
}

impl BoostedTrees {
    /// The log-odds of one row, trees added in order (the same bits whatever else is scored).
    pub fn log_odds(&self, row: ArrayView1<'_, f64>) -> f64 {
        self.trees
            .iter()
            .fold(self.base, |sum, tree| sum + leaf_value(tree, row))
    }

    /// What a stored ensemble must hold to score rows of `columns` columns: finite numbers,
    /// features in range, children after their parent (so a walk always ends).
    pub(crate) fn check(&self, columns: usize) -> Result<(), String> {
        if !self.base.is_finite() {
            return Err(format!(
                "the trees' base log-odds {} is not finite",
                self.base
            ));
        }
        for (t, tree) in self.trees.iter().enumerate() {
            if tree.is_empty() {
                return Err(format!("tree {t} has no nodes"));
            }
            for (i, node) in tree.iter().enumerate() {
                let fine = match *node {
                    TreeNode::Split {
                        feature,
                        threshold,
                        left,
                        right,
                    } => {
                        feature < columns
                            && !threshold.is_nan()
                            && left > i
                            && right > i
                            && left < tree.len()
                            && right < tree.len()
                    }
                    TreeNode::Leaf { value } => value.is_finite(),
                };
                if !fine {
                    return Err(format!(
                        "tree {t}, node {i} is not a usable node for {columns} columns: {node:?}"
                    ));
                }
            }
        }
        Ok(())
    }
}

/// The value of the leaf `row` reaches in `tree`.
fn leaf_value(tree: &[TreeNode], row: ArrayView1<'_, f64>) -> f64 {
    let mut at = 0;
    loop {
        match tree[at] {
            TreeNode::Split {
                feature,
                threshold,
                left,
                right,
            } => {
                at = if row[feature] <= threshold {
                    left
                } else {
                    right
                }
            }
            TreeNode::Leaf { value } => return value,
        }
    }
}

/// Each feature's bin edges: a value goes in the bin of the first edge at or above it (the last
/// bin when none is), so a split after bin b is `x <= edges[b]`.
struct Bins {
    edges: Vec<Vec<f64>>,
}

impl Bins {
    /// An edge after each distinct value when there are at most `max_bins` of them; else at
    /// `max_bins` quantiles. Each edge is the largest value of its bin, not the midpoint to
    /// the next: the bins of the training rows are the same, and a value between two training
    /// values goes with the one above it. A midpoint would be where a value the training rows
    /// skip lands after linear scaling (3 orders between 2 and 4), and which side it fell on
    /// would follow the rounding of the scaler's mean: a fit whose scaler was summed over a
    /// base in parts, in another order, would score it otherwise.
    fn new(x: ArrayView2<'_, f64>, max_bins: usize) -> Bins {
        let edges = x
            .columns()
            .into_iter()
            .map(|column| {
                let mut values: Vec<f64> = column.to_vec();
                values.sort_by(f64::total_cmp);
                let mut distinct = values.clone();
                distinct.dedup();
                let cuts: Vec<f64> = if distinct.len() <= max_bins {
                    distinct[..distinct.len().saturating_sub(1)].to_vec()
                } else {
                    let n = values.len();
                    let mut cuts: Vec<f64> = (1..max_bins)
                        .map(|q| {
                            let at = values[q * n / max_bins];
                            // The largest distinct value below `at` ends the bin.
                            let below = distinct.partition_point(|v| *v < at);
                            if below == 0 { at } else { distinct[below - 1] }
                        })
                        .collect();
                    cuts.dedup();
                    cuts
                };
                cuts
            })
            .collect();
        Bins { edges }
    }

    /// The rows' bins, column by column.
    fn bin(&self, x: ArrayView2<'_, f64>) -> Vec<Vec<u8>> {
        self.edges
            .par_iter()
            .enumerate()
            .map(|(j, edges)| {
                x.column(j)
                    .iter()
                    .map(|v| edges.partition_point(|e| e < v) as u8)
                    .collect()
            })
            .collect()
    }
}

/// Sums of gradient, hessian and rows over one bin.
#[derive(Debug, Clone, Copy, Default)]
struct Cell {
    gradient: f64,
    hessian: f64,
    rows: usize,
}

impl Cell {
    fn add(&mut self, other: Cell) {
        self.gradient += other.gradient;
        self.hessian += other.hessian;
        self.rows += other.rows;
    }
    fn minus(self, other: Cell) -> Cell {
        Cell {
            gradient: self.gradient - other.gradient,
            hessian: self.hessian - other.hessian,
            rows: self.rows - other.rows,
        }
    }
}

/// One histogram per feature.
type Histogram = Vec<Vec<Cell>>;

/// The best split of a leaf.
#[derive(Debug, Clone, Copy)]
struct Split {
    gain: f64,
    feature: usize,
    bin: usize,
}

/// A leaf still growing: its rows, histogram, totals and best split.
struct Growing {
    node: usize,
    rows: Vec<u32>,
    histogram: Histogram,
    total: Cell,
    split: Option<Split>,
}

/// The fit's data: bins, gradients and hessians of the training rows.
struct Grower<'a> {
    bins: &'a [Vec<u8>],
    edges: &'a Bins,
    gradient: &'a [f64],
    hessian: &'a [f64],
    settings: &'a BoostSettings,
}

impl Grower<'_> {
    fn histogram(&self, rows: &[u32]) -> Histogram {
        self.bins
            .par_iter()
            .zip(&self.edges.edges)
            .map(|(column, edges)| {
                let mut cells = vec![Cell::default(); edges.len() + 1];
                for &row in rows {
                    let cell = &mut cells[column[row as usize] as usize];
                    cell.gradient += self.gradient[row as usize];
                    cell.hessian += self.hessian[row as usize];
                    cell.rows += 1;
                }
                cells
            })
            .collect()
    }

    /// G²/(H + λ): the loss reduction of a leaf at its Newton value.
    fn score(&self, cell: Cell) -> f64 {
        cell.gradient * cell.gradient / (cell.hessian + self.settings.l2)
    }

    /// The split with the largest gain that leaves each side at least `min_leaf` rows and some
    /// hessian; ties to the lower feature, then the lower bin.
    fn best_split(&self, histogram: &Histogram, total: Cell) -> Option<Split> {
        let min_leaf = self.settings.min_leaf;
        if total.rows < 2 * min_leaf {
            return None;
        }
        let parent = self.score(total);
        let mut best: Option<Split> = None;
        for (feature, cells) in histogram.iter().enumerate() {
            let mut left = Cell::default();
            for (bin, cell) in cells[..cells.len() - 1].iter().enumerate() {
                left.add(*cell);
                let right = total.minus(left);
                if left.rows < min_leaf || left.hessian < 1e-3 {
                    continue;
                }
                if right.rows < min_leaf || right.hessian < 1e-3 {
                    break;
                }
                let gain = self.score(left) + self.score(right) - parent;
                if gain > 1e-12 && best.is_none_or(|b| gain > b.gain) {
                    best = Some(Split { gain, feature, bin });
                }
            }
        }
        best
    }

    fn leaf(&self, node: usize, rows: Vec<u32>, histogram: Histogram) -> Growing {
        let mut total = Cell::default();
        for cell in &histogram[0] {
            total.add(*cell);
        }
        let split = self.best_split(&histogram, total);
        Growing {
            node,
            rows,
            histogram,
            total,
            split,
        }
    }

    /// One tree, best-first: the leaf whose split gains most is split until `max_leaves`.
    /// Returns the nodes and, per training row, the leaf value it reached.
    fn grow(&self, rows: Vec<u32>) -> (Vec<TreeNode>, Vec<(Vec<u32>, f64)>) {
        let settings = self.settings;
        let mut nodes = vec![TreeNode::Leaf { value: 0.0 }];
        let root_histogram = self.histogram(&rows);
        let mut growing = vec![self.leaf(0, rows, root_histogram)];
        let mut done: Vec<Growing> = Vec::new();
        while growing.len() + done.len() < settings.max_leaves {
            let Some(pick) = (0..growing.len())
                .filter(|i| growing[*i].split.is_some())
                .max_by(|a, b| {
                    let gain = |i: usize| growing[i].split.expect("filtered").gain;
                    gain(*a).total_cmp(&gain(*b)).then(b.cmp(a))
                })
            else {
                break;
            };
            let leaf = growing.swap_remove(pick);
            let Split { feature, bin, .. } = leaf.split.expect("filtered");
            let column = &self.bins[feature];
            let (left_rows, right_rows): (Vec<u32>, Vec<u32>) = leaf
                .rows
                .iter()
                .partition(|r| column[**r as usize] as usize <= bin);
            // The smaller child is summed; the larger is the parent minus it.
            let left_smaller = left_rows.len() <= right_rows.len();
            let small = self.histogram(if left_smaller {
                &left_rows
            } else {
                &right_rows
            });
            let large: Histogram = leaf
                .histogram
                .iter()
                .zip(&small)
                .map(|(p, s)| p.iter().zip(s).map(|(p, s)| p.minus(*s)).collect())
                .collect();
            let (left_histogram, right_histogram) = if left_smaller {
                (small, large)
            } else {
                (large, small)
            };
            let (left, right) = (nodes.len(), nodes.len() + 1);
            nodes.push(TreeNode::Leaf { value: 0.0 });
            nodes.push(TreeNode::Leaf { value: 0.0 });
            nodes[leaf.node] = TreeNode::Split {
                feature,
                threshold: self.edges.edges[feature][bin],
                left,
                right,
            };
            for (node, rows, histogram) in [
                (left, left_rows, left_histogram),
                (right, right_rows, right_histogram),
            ] {
                let child = self.leaf(node, rows, histogram);
                if child.split.is_some() {
                    growing.push(child);
                } else {
                    done.push(child);
                }
            }
        }
        let mut reached = Vec::new();
        for leaf in growing.into_iter().chain(done) {
            let value = -settings.learning_rate * leaf.total.gradient
                / (leaf.total.hessian + settings.l2).max(1e-12);
            nodes[leaf.node] = TreeNode::Leaf { value };
            reached.push((leaf.rows, value));
        }
        (nodes, reached)
    }
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// Weighted log-loss of rows at log-odds `f`.
fn log_loss(rows: &[u32], f: &[f64], y: &[bool], w: &[f64]) -> f64 {
    let (mut loss, mut weight) = (0.0, 0.0);
    for &r in rows {
        let r = r as usize;
        // ln(1 + e^−f) for a positive, ln(1 + e^f) for a negative, overflow-safe.
        let z = if y[r] { -f[r] } else { f[r] };
        loss += w[r] * (z.max(0.0) + (-z.abs()).exp().ln_1p());
        weight += w[r];
    }
    loss / weight.max(f64::MIN_POSITIVE)
}

/// Fits boosted trees to labels `y` with sample weights `w` (≥ 0, some positive weight in
/// each class). Above `early_stopping_from` rows, every tenth row (in a fixed interleaving)
/// is held out and the fit stops when its loss has not fallen for `patience` rounds.
pub(crate) fn fit(
    x: ArrayView2<'_, f64>,
    y: &[bool],
    w: &[f64],
    settings: &BoostSettings,
) -> BoostedTrees {
    let n = x.nrows();
    let edges = Bins::new(x, settings.max_bins.clamp(2, 256));
    let bins = edges.bin(x);
    let (positive, total): (f64, f64) = y.iter().zip(w).fold((0.0, 0.0), |(p, t), (y, w)| {
        (p + if *y { *w } else { 0.0 }, t + w)
    });
    let share = (positive / total).clamp(1e-12, 1.0 - 1e-12);
    let base = (share / (1.0 - share)).ln();
    let stopping = n > settings.early_stopping_from;
    let (validation, training): (Vec<u32>, Vec<u32>) =
        (0..n as u32).partition(|r| stopping && r % 10 == 9);
    let mut f = vec![base; n];
    let mut gradient = vec![0.0; n];
    let mut hessian = vec![0.0; n];
    let mut trees = Vec::new();
    let mut best_loss = log_loss(&validation, &f, y, w);
    let mut best_rounds = 0;
    for round in 0..settings.rounds {
        for &r in &training {
            let r = r as usize;
            let p = sigmoid(f[r]);
            gradient[r] = w[r] * (p - if y[r] { 1.0 } else { 0.0 });
            hessian[r] = w[r] * p * (1.0 - p);
        }
        let grower = Grower {
            bins: &bins,
            edges: &edges,
            gradient: &gradient,
            hessian: &hessian,
            settings,
        };
        let (tree, reached) = grower.grow(training.clone());
        for (rows, value) in reached {
            for r in rows {
                f[r as usize] += value;
            }
        }
        for &r in &validation {
            f[r as usize] += leaf_value(&tree, x.row(r as usize));
        }
        trees.push(tree);
        if stopping {
            let loss = log_loss(&validation, &f, y, w);
            if loss < best_loss - 1e-7 {
                best_loss = loss;
                best_rounds = round + 1;
            } else if round + 1 - best_rounds >= settings.patience {
                trees.truncate(best_rounds.max(1));
                break;
            }
        }
    }
    BoostedTrees { base, trees }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    /// A tree's leaf values are Newton steps: with one split on a feature that separates the
    /// classes exactly, each side's value is −lr·G/H at the base rate.
    #[test]
    fn one_split_gives_newton_leaf_values() {
        // 40 rows: x = 0 negative, x = 1 positive, 30 and 10 of them.
        let x = Array2::from_shape_fn((40, 1), |(i, _)| if i < 30 { 0.0 } else { 1.0 });
        let y: Vec<bool> = (0..40).map(|i| i >= 30).collect();
        let w = vec![1.0; 40];
        let settings = BoostSettings {
            rounds: 1,
            min_leaf: 5,
            ..BoostSettings::default()
        };
        let trees = fit(x.view(), &y, &w, &settings);
        let p: f64 = 10.0 / 40.0;
        assert!((trees.base - (p / (1.0 - p)).ln()).abs() < 1e-12);
        let [
            TreeNode::Split { threshold, .. },
            TreeNode::Leaf { value: left },
            TreeNode::Leaf { value: right },
        ] = trees.trees[0][..]
        else {
            panic!("{:?}", trees.trees[0]);
        };
        // The edge is the largest value of the left bin.
        assert_eq!(threshold, 0.0);
        // Left: 30 negatives, g = p each, h = p(1 − p) each: value = −0.1·p/(p(1 − p)).
        assert!((left - -0.1 / (1.0 - p)).abs() < 1e-12, "{left}");
        // Right: 10 positives, g = p − 1, h = p(1 − p): value = 0.1·(1 − p)/(p(1 − p)) = 0.1/p.
        assert!((right - 0.1 / p).abs() < 1e-12, "{right}");
    }

    /// On a ring (positives at radius ~1, negatives inside and outside), which no linear
    /// boundary separates, the trees rank every positive above every negative of the
    /// training data; the same fit at one and at several threads.
    #[test]
    fn trees_learn_a_ring_and_fit_the_same_at_any_thread_count() {
        let n = 2_000;
        let x = Array2::from_shape_fn((n, 2), |(i, j)| {
            let radius = [0.3, 1.0, 1.8][i % 3] + ((i * 7919) % 100) as f64 * 0.001;
            let angle = (i as f64) * 2.399;
            if j == 0 {
                radius * angle.cos()
            } else {
                radius * angle.sin()
            }
        });
        let y: Vec<bool> = (0..n).map(|i| i % 3 == 1).collect();
        let w = vec![1.0; n];
        let settings = BoostSettings::default();
        let trees = fit(x.view(), &y, &w, &settings);
        let scores: Vec<f64> = x.rows().into_iter().map(|r| trees.log_odds(r)).collect();
        let lowest_positive = (0..n)
            .filter(|i| y[*i])
            .map(|i| scores[i])
            .fold(f64::INFINITY, f64::min);
        let highest_negative = (0..n)
            .filter(|i| !y[*i])
            .map(|i| scores[i])
            .fold(f64::NEG_INFINITY, f64::max);
        assert!(
            lowest_positive > highest_negative,
            "{lowest_positive} vs {highest_negative}"
        );
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let alone = pool.install(|| fit(x.view(), &y, &w, &settings));
        assert_eq!(alone, trees);
        assert!(trees.check(2).is_ok());
        assert!(trees.check(1).is_err());
    }

    /// Weights count as repeated rows: a row of weight 2 fits like the row twice.
    #[test]
    fn a_weight_of_two_is_a_row_twice() {
        let rows = 300;
        let value = |i: usize| ((i * 37) % 101) as f64 / 10.0;
        let label = |i: usize| (i * 37) % 101 > 60 || i.is_multiple_of(7);
        let x = Array2::from_shape_fn((rows, 1), |(i, _)| value(i));
        let doubled = Array2::from_shape_fn((2 * rows, 1), |(i, _)| value(i % rows));
        let y: Vec<bool> = (0..rows).map(label).collect();
        let y2: Vec<bool> = (0..2 * rows).map(|i| label(i % rows)).collect();
        // One row a leaf at least, so that row counts (which weights do not double) never
        // decide a split.
        let settings = BoostSettings {
            rounds: 5,
            min_leaf: 1,
            ..BoostSettings::default()
        };
        let weighted = fit(x.view(), &y, &vec![2.0; rows], &settings);
        let repeated = fit(doubled.view(), &y2, &vec![1.0; 2 * rows], &settings);
        assert_eq!(weighted.trees.len(), repeated.trees.len());
        for i in 0..rows {
            let (a, b) = (weighted.log_odds(x.row(i)), repeated.log_odds(x.row(i)));
            assert!((a - b).abs() < 1e-9, "row {i}: {a} vs {b}");
        }
    }
}
