//! Weighted k-means: parameters → validated parameters → fitted model.
//!
//! Lloyd's algorithm with blocked distance computation: for a block of points, squared
//! distances to all centroids come from ‖x‖² − 2·x·c + ‖c‖² (one matrix product per block, no
//! n × k matrix for the whole data). Blocks have a fixed size and their partial sums are
//! combined in block order, so the result is the same whatever the thread count.
//! Convergence follows scikit-learn: the squared centroid shift summed over clusters is at most
//! `tol` × the mean of the columns' variances.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis, Slice};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::ClusterError;
use crate::init::{kmeans_plus_plus, random_init};

/// Rows per block of the assignment step.
const BLOCK: usize = 1024;

/// How initial centroids are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Init {
    /// Greedy k-means++ (Arthur & Vassilvitskii 2007), 2 + ⌊ln k⌋ candidates per step as in
    /// scikit-learn, weighted by sample weight.
    KMeansPlusPlus,
    /// k distinct points drawn with probability proportional to their weight.
    Random,
}

/// k-means settings. Consuming setters; each says its default.
///
/// ```
/// use lookalike_cluster::KMeansParams;
/// let data = ndarray::array![[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.1, 5.0]];
/// let model = KMeansParams::new(2).seed(1).validate().unwrap().fit(data.view(), None).unwrap();
/// let (labels, _) = model.predict(data.view());
/// assert_eq!(labels[0], labels[1]);
/// assert_ne!(labels[0], labels[2]);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct KMeansParams {
    k: usize,
    init: Init,
    max_iter: usize,
    tol: f64,
    n_init: usize,
    seed: u64,
}

impl KMeansParams {
    /// k clusters, every other setting at its default.
    pub fn new(k: usize) -> Self {
        KMeansParams {
            k,
            init: Init::KMeansPlusPlus,
            max_iter: 300,
            tol: 1e-4,
            n_init: 1,
            seed: 0,
        }
    }

    /// Initialisation. Default: k-means++.
    pub fn init(mut self, init: Init) -> Self {
        self.init = init;
        self
    }

    /// Most Lloyd iterations per run. Default: 300.
    pub fn max_iter(mut self, max_iter: usize) -> Self {
        self.max_iter = max_iter;
        self
    }

    /// Relative convergence tolerance (scikit-learn's semantics). Default: 1e-4.
    pub fn tol(mut self, tol: f64) -> Self {
        self.tol = tol;
        self
    }

    /// Restarts; the run with the lowest inertia is kept. Default: 1.
    pub fn n_init(mut self, n_init: usize) -> Self {
        self.n_init = n_init;
        self
    }

    /// Random seed. Default: 0.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Checks the settings.
    pub fn validate(self) -> Result<KMeansValidParams, ClusterError> {
        if self.k == 0 {
            return Err(ClusterError::ZeroClusters);
        }
        if self.max_iter == 0 {
            return Err(ClusterError::ZeroIterations);
        }
        if self.n_init == 0 {
            return Err(ClusterError::ZeroRestarts);
        }
        if self.tol.is_nan() || self.tol < 0.0 {
            return Err(ClusterError::BadTolerance(self.tol));
        }
        Ok(KMeansValidParams(self))
    }
}

/// Settings that passed validation.
#[derive(Debug, Clone, PartialEq)]
pub struct KMeansValidParams(KMeansParams);

/// A fitted k-means model.
#[derive(Debug, Clone, PartialEq)]
pub struct KMeans {
    centroids: Array2<f64>,
    inertia: f64,
    iterations: usize,
    converged: bool,
}

impl KMeans {
    /// The centroids, k × d.
    pub fn centroids(&self) -> &Array2<f64> {
        &self.centroids
    }

    /// Weighted sum of squared distances to the nearest centroid on the training data.
    pub fn inertia(&self) -> f64 {
        self.inertia
    }

    /// Lloyd iterations of the kept run.
    pub fn iterations(&self) -> usize {
        self.iterations
    }

    /// Whether the kept run met the tolerance before `max_iter`.
    pub fn converged(&self) -> bool {
        self.converged
    }

    /// The nearest centroid of every row and the squared distance to it.
    pub fn predict(&self, data: ArrayView2<'_, f64>) -> (Vec<usize>, Vec<f64>) {
        assign(data, &self.centroids)
    }
}

fn check_data(
    data: ArrayView2<'_, f64>,
    weights: Option<ArrayView1<'_, f64>>,
    k: usize,
) -> Result<Array1<f64>, ClusterError> {
    if data.nrows() == 0 || data.ncols() == 0 {
        return Err(ClusterError::EmptyInput);
    }
    if let Some(((row, column), value)) = data.indexed_iter().find(|(_, v)| !v.is_finite()) {
        return Err(ClusterError::NonFinite {
            row,
            column,
            value: *value,
        });
    }
    let weights = match weights {
        None => Array1::ones(data.nrows()),
        Some(w) => {
            if w.len() != data.nrows() {
                return Err(ClusterError::BadWeights(format!(
                    "{} weights for {} rows",
                    w.len(),
                    data.nrows()
                )));
            }
            if let Some((i, v)) = w
                .iter()
                .enumerate()
                .find(|(_, v)| !v.is_finite() || **v < 0.0)
            {
                return Err(ClusterError::BadWeights(format!(
                    "weight {i} is {v}; weights must be finite and non-negative"
                )));
            }
            if w.sum() <= 0.0 {
                return Err(ClusterError::BadWeights("all weights are zero".into()));
            }
            w.to_owned()
        }
    };
    // Distinct points with positive weight, counted only up to k.
    let mut distinct = std::collections::HashSet::new();
    for (row, w) in data.rows().into_iter().zip(weights.iter()) {
        if *w > 0.0 {
            distinct.insert(
                row.iter()
                    .map(|v| (v + 0.0).to_bits())
                    .collect::<Vec<u64>>(),
            );
            if distinct.len() >= k {
                break;
            }
        }
    }
    if distinct.len() < k {
        return Err(ClusterError::TooFewDistinctPoints {
            k,
            distinct: distinct.len(),
        });
    }
    Ok(weights)
}

/// Nearest centroid and squared distance of every row, block by block.
pub(crate) fn assign(data: ArrayView2<'_, f64>, centroids: &Array2<f64>) -> (Vec<usize>, Vec<f64>) {
    let centroid_norms: Vec<f64> = centroids.rows().into_iter().map(|c| c.dot(&c)).collect();
    let blocks: Vec<(Vec<usize>, Vec<f64>)> = (0..data.nrows())
        .into_par_iter()
        .step_by(BLOCK)
        .map(|start| {
            let block = data.slice_axis(
                Axis(0),
                Slice::from(start..(start + BLOCK).min(data.nrows())),
            );
            let dots = block.dot(&centroids.t());
            let mut labels = Vec::with_capacity(block.nrows());
            let mut distances = Vec::with_capacity(block.nrows());
            for (row, dot_row) in block.rows().into_iter().zip(dots.rows()) {
                let mut best = (0usize, f64::INFINITY);
                for (j, (d, norm)) in dot_row.iter().zip(&centroid_norms).enumerate() {
                    let partial = norm - 2.0 * d;
                    if partial < best.1 {
                        best = (j, partial);
                    }
                }
                // The expansion loses precision for near points: report the exact distance.
                let diff = &row - &centroids.row(best.0);
                labels.push(best.0);
                distances.push(diff.dot(&diff));
            }
            (labels, distances)
        })
        .collect();
    let mut labels = Vec::with_capacity(data.nrows());
    let mut distances = Vec::with_capacity(data.nrows());
    for (l, d) in blocks {
        labels.extend(l);
        distances.extend(d);
    }
    (labels, distances)
}

/// One Lloyd update: weighted means of the assigned points; a cluster left empty is re-seeded
/// at the point farthest from its centroid (never left as NaN).
fn update(
    data: ArrayView2<'_, f64>,
    weights: &Array1<f64>,
    labels: &[usize],
    distances: &[f64],
    k: usize,
) -> Array2<f64> {
    let d = data.ncols();
    let partials: Vec<(Array2<f64>, Vec<f64>)> = (0..data.nrows())
        .into_par_iter()
        .step_by(BLOCK)
        .map(|start| {
            let mut sums = Array2::<f64>::zeros((k, d));
            let mut mass = vec![0.0; k];
            for i in start..(start + BLOCK).min(data.nrows()) {
                let w = weights[i];
                sums.row_mut(labels[i]).scaled_add(w, &data.row(i));
                mass[labels[i]] += w;
            }
            (sums, mass)
        })
        .collect();
    let mut sums = Array2::<f64>::zeros((k, d));
    let mut mass = vec![0.0; k];
    for (s, m) in partials {
        sums += &s;
        for (total, part) in mass.iter_mut().zip(m) {
            *total += part;
        }
    }
    let mut taken: Vec<usize> = Vec::new();
    for (j, total) in mass.iter().enumerate() {
        if *total > 0.0 {
            sums.row_mut(j).mapv_inplace(|v| v / total);
        } else {
            let farthest = (0..data.nrows())
                .filter(|i| weights[*i] > 0.0 && !taken.contains(i))
                .max_by(|a, b| distances[*a].total_cmp(&distances[*b]).then(b.cmp(a)))
                .expect("at least k distinct points");
            taken.push(farthest);
            sums.row_mut(j).assign(&data.row(farthest));
        }
    }
    sums
}

impl KMeansValidParams {
    /// Fits k-means to the rows of `data`, weighted by `weights` (all 1 when `None`).
    pub fn fit(
        &self,
        data: ArrayView2<'_, f64>,
        weights: Option<ArrayView1<'_, f64>>,
    ) -> Result<KMeans, ClusterError> {
        let p = &self.0;
        let weights = check_data(data, weights, p.k)?;
        let mean_variance = data.var_axis(Axis(0), 0.0).mean().unwrap_or(0.0);
        let tolerance = p.tol * mean_variance;
        let mut rng = ChaCha8Rng::seed_from_u64(p.seed);
        let mut best: Option<KMeans> = None;
        for _ in 0..p.n_init {
            let initial = match p.init {
                Init::KMeansPlusPlus => kmeans_plus_plus(data, &weights, p.k, &mut rng),
                Init::Random => random_init(data, &weights, p.k, &mut rng),
            };
            let run = self.lloyd(data, &weights, initial, tolerance);
            if best.as_ref().is_none_or(|b| run.inertia < b.inertia) {
                best = Some(run);
            }
        }
        Ok(best.expect("n_init ≥ 1"))
    }

    /// Lloyd iterations from given initial centroids (exposed so variants can be compared from
    /// the same start).
    pub fn fit_from(
        &self,
        data: ArrayView2<'_, f64>,
        weights: Option<ArrayView1<'_, f64>>,
        initial: Array2<f64>,
    ) -> Result<KMeans, ClusterError> {
        let weights = check_data(data, weights, self.0.k)?;
        if initial.dim() != (self.0.k, data.ncols()) {
            return Err(ClusterError::BadInitialCentroids {
                got: initial.dim(),
                expected: (self.0.k, data.ncols()),
            });
        }
        let tolerance = self.0.tol * data.var_axis(Axis(0), 0.0).mean().unwrap_or(0.0);
        Ok(self.lloyd(data, &weights, initial, tolerance))
    }

    fn lloyd(
        &self,
        data: ArrayView2<'_, f64>,
        weights: &Array1<f64>,
        mut centroids: Array2<f64>,
        tolerance: f64,
    ) -> KMeans {
        let mut iterations = 0;
        let mut converged = false;
        while iterations < self.0.max_iter {
            let (labels, distances) = assign(data, &centroids);
            let next = update(data, weights, &labels, &distances, self.0.k);
            let shift: f64 = (&next - &centroids).mapv(|v| v * v).sum();
            centroids = next;
            iterations += 1;
            if shift <= tolerance {
                converged = true;
                break;
            }
        }
        let (_, distances) = assign(data, &centroids);
        let inertia = distances.iter().zip(weights).map(|(d, w)| d * w).sum();
        KMeans {
            centroids,
            inertia,
            iterations,
            converged,
        }
    }
}
