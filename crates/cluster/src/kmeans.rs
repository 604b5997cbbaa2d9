//! Weighted k-means: parameters → validated parameters → fitted model.
//!
//! The algorithms live in their own modules ([`crate::lloyd`], [`crate::hamerly`],
//! [`crate::minibatch`]) and share the blocked distance kernel of [`crate::distance`]; this
//! module checks the settings and the data, runs the restarts and keeps the best.
//! Convergence follows scikit-learn: the squared centroid shift summed over clusters is at most
//! `tol` × the mean of the columns' variances.

use ndarray::{Array2, ArrayView1, ArrayView2};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::ClusterError;
use crate::distance::standard_layout;
use crate::float::{Float, wide};
use crate::hamerly::hamerly;
use crate::init::{kmeans_parallel, kmeans_plus_plus, random_init};
use crate::lloyd::{Run, Watch, lloyd};
use crate::minibatch::minibatch;

/// How initial centroids are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Init {
    /// k-means‖ above 50,000 points, greedy k-means++ below (k-means++ makes k sequential
    /// passes over the data, k-means‖ a few parallel ones).
    #[serde(rename = "auto")]
    Auto,
    /// Greedy k-means++ (Arthur & Vassilvitskii 2007), 2 + ⌊ln k⌋ candidates per step as in
    /// scikit-learn, weighted by sample weight.
    #[serde(rename = "kmeans++")]
    #[cfg_attr(feature = "clap", value(name = "kmeans++"))]
    KMeansPlusPlus,
    /// k-means‖ (Bahmani et al. 2012): a few parallel sampling passes instead of k sequential
    /// ones; for large n.
    #[serde(rename = "kmeans-par")]
    #[cfg_attr(feature = "clap", value(name = "kmeans-par"))]
    KMeansParallel,
    /// k distinct points drawn with probability proportional to their weight.
    #[serde(rename = "random")]
    Random,
    /// Greedy k-means++ on a sample of the customers chosen by a hash of their ids (the
    /// `init_sample` lowest hashes), then Lloyd's iterations summed over the base in parts: the
    /// same fit in one process and on a base split over Spark partitions (see
    /// [`crate::KMeansInParts`]). It needs customer ids, so it is a setting of
    /// [`crate::cluster_table`] and pipeline training, not of a bare matrix.
    #[serde(rename = "sample")]
    #[cfg_attr(feature = "clap", value(name = "sample"))]
    Sample,
}

/// Points above which [`Init::Auto`] uses k-means‖.
pub const PARALLEL_INIT_FROM: usize = 50_000;

impl Init {
    /// The initialisation used on `n` points: [`Init::Auto`] resolved, any other as it is.
    pub fn resolve(self, n: usize) -> Init {
        match self {
            Init::Auto if n > PARALLEL_INIT_FROM => Init::KMeansParallel,
            Init::Auto => Init::KMeansPlusPlus,
            other => other,
        }
    }

    /// The name in files, reports and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Init::Auto => "auto",
            Init::KMeansPlusPlus => "kmeans++",
            Init::KMeansParallel => "kmeans-par",
            Init::Random => "random",
            Init::Sample => "sample",
        }
    }
}

/// How the centroids are improved after initialisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Algorithm {
    /// Lloyd's iterations with blocked distance computation.
    Lloyd,
    /// Hamerly's triangle-inequality bounds: Lloyd's iterations, most distances skipped.
    Hamerly,
    /// Sculley's mini-batch k-means: random batches, running-mean updates; approximate.
    #[cfg_attr(feature = "clap", value(name = "minibatch"))]
    MiniBatch,
    /// linfa-clustering's KMeans (its Lloyd iterations), for comparison; takes no sample
    /// weights (see [`crate::fit_with_linfa`]).
    Linfa,
}

impl Algorithm {
    /// The name in files, reports and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Lloyd => "lloyd",
            Algorithm::Hamerly => "hamerly",
            Algorithm::MiniBatch => "minibatch",
            Algorithm::Linfa => "linfa",
        }
    }
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
    algorithm: Algorithm,
    batch_size: usize,
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
            algorithm: Algorithm::Lloyd,
            batch_size: 4096,
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

    /// Algorithm. Default: Lloyd.
    pub fn algorithm(mut self, algorithm: Algorithm) -> Self {
        self.algorithm = algorithm;
        self
    }

    /// Points per mini-batch (mini-batch k-means only). Default: 4096.
    pub fn batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
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
        if self.batch_size == 0 {
            return Err(ClusterError::ZeroBatchSize);
        }
        if self.init == Init::Sample {
            return Err(ClusterError::SampleNeedsCustomers);
        }
        Ok(KMeansValidParams(self))
    }
}

/// Settings that passed validation.
#[derive(Debug, Clone, PartialEq)]
pub struct KMeansValidParams(KMeansParams);

impl KMeansValidParams {
    /// Number of clusters.
    pub fn k(&self) -> usize {
        self.0.k
    }

    /// The settings.
    pub fn params(&self) -> &KMeansParams {
        &self.0
    }
}

impl KMeansParams {
    /// Number of clusters.
    pub fn n_clusters(&self) -> usize {
        self.k
    }
    /// Initialisation.
    pub fn init_method(&self) -> Init {
        self.init
    }
    /// Algorithm.
    pub fn algorithm_used(&self) -> Algorithm {
        self.algorithm
    }
    /// Most iterations per run.
    pub fn max_iterations(&self) -> usize {
        self.max_iter
    }
    /// Relative tolerance.
    pub fn tolerance(&self) -> f64 {
        self.tol
    }
    /// Restarts.
    pub fn restarts(&self) -> usize {
        self.n_init
    }
    /// Random seed.
    pub fn random_seed(&self) -> u64 {
        self.seed
    }
    /// Points per mini-batch.
    pub fn mini_batch_size(&self) -> usize {
        self.batch_size
    }
}

/// A fitted k-means model, with centroids of the data's element type (`f32` or `f64`).
#[derive(Debug, Clone, PartialEq)]
pub struct KMeans<F: Float = f64> {
    centroids: Array2<F>,
    inertia: f64,
    iterations: usize,
    converged: bool,
}

impl<F: Float> KMeans<F> {
    /// A model from known centroids (for example read back from a saved model).
    pub fn from_centroids(centroids: Array2<F>) -> Self {
        KMeans {
            centroids,
            inertia: f64::NAN,
            iterations: 0,
            converged: false,
        }
    }

    /// Sets the inertia (for models fitted elsewhere, such as the linfa backend).
    pub(crate) fn set_inertia(&mut self, inertia: f64) {
        self.inertia = inertia;
    }

    /// The centroids, k × d.
    pub fn centroids(&self) -> &Array2<F> {
        &self.centroids
    }

    /// Weighted sum of squared distances to the nearest centroid on the training data.
    pub fn inertia(&self) -> f64 {
        self.inertia
    }

    /// Iterations of the kept run (mini-batch: batches).
    pub fn iterations(&self) -> usize {
        self.iterations
    }

    /// Whether the kept run met its stopping rule before `max_iter`.
    pub fn converged(&self) -> bool {
        self.converged
    }

    /// The nearest centroid of every row and the squared distance to it.
    pub fn predict(&self, data: ArrayView2<'_, F>) -> (Vec<usize>, Vec<F>) {
        let data = standard_layout(data);
        let assignment = crate::lloyd::assign(data.view(), self.centroids.view(), None);
        (assignment.labels, assignment.distances)
    }

    /// The Euclidean distance of every row to every centroid, n × k (scikit-learn's
    /// `transform`), rows in parallel.
    ///
    /// ```
    /// use lookalike_cluster::KMeans;
    /// let model = KMeans::from_centroids(ndarray::array![[0.0, 0.0], [3.0, 4.0]]);
    /// let distances = model.transform(ndarray::array![[0.0, 0.0], [6.0, 8.0]].view());
    /// assert_eq!(distances, ndarray::array![[0.0, 5.0], [10.0, 5.0]]);
    /// ```
    pub fn transform(&self, data: ArrayView2<'_, F>) -> Array2<f64> {
        use rayon::prelude::*;
        let data = standard_layout(data);
        let centroids = self.centroids.as_standard_layout();
        let mut out = Array2::zeros((data.nrows(), centroids.nrows()));
        out.axis_iter_mut(ndarray::Axis(0))
            .into_par_iter()
            .zip(data.axis_iter(ndarray::Axis(0)).into_par_iter())
            .for_each(|(mut distances, row)| {
                let row = row.as_slice().expect("standard layout rows are contiguous");
                for (j, centroid) in centroids.rows().into_iter().enumerate() {
                    let centroid = centroid
                        .as_slice()
                        .expect("standard layout rows are contiguous");
                    let squared = wide(crate::distance::squared_distance(row, centroid));
                    distances[j] = squared.max(0.0).sqrt();
                }
            });
        out
    }
}

fn check_data<F: Float>(
    data: ArrayView2<'_, F>,
    weights: Option<ArrayView1<'_, f64>>,
    k: usize,
) -> Result<Vec<f64>, ClusterError> {
    if data.nrows() == 0 || data.ncols() == 0 {
        return Err(ClusterError::EmptyInput);
    }
    if let Some(((row, column), value)) = data.indexed_iter().find(|(_, v)| !v.is_finite()) {
        return Err(ClusterError::NonFinite {
            row,
            column,
            value: wide(*value),
        });
    }
    let weights = match weights {
        None => vec![1.0; data.nrows()],
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
            w.to_vec()
        }
    };
    // Distinct points with positive weight, counted only up to k.
    let mut distinct = std::collections::HashSet::new();
    for (row, w) in data.rows().into_iter().zip(weights.iter()) {
        if *w > 0.0 {
            distinct.insert(
                row.iter()
                    .map(|v| (wide(*v) + 0.0).to_bits())
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

/// Mean of the columns' variances, the scale of scikit-learn's tolerance (two passes, row by
/// row, in `f64`).
fn mean_variance<F: Float>(data: ArrayView2<'_, F>) -> f64 {
    let (n, d) = (data.nrows() as f64, data.ncols());
    let mut means = vec![0.0; d];
    for row in data.rows() {
        for (m, x) in means.iter_mut().zip(row) {
            *m += wide(*x);
        }
    }
    means.iter_mut().for_each(|m| *m /= n);
    let mut squares = vec![0.0; d];
    for row in data.rows() {
        for ((s, m), x) in squares.iter_mut().zip(&means).zip(row) {
            *s += (wide(*x) - m).powi(2);
        }
    }
    squares.iter().sum::<f64>() / n / d as f64
}

impl KMeansValidParams {
    /// Fits k-means to the rows of `data`, weighted by `weights` (all 1 when `None`).
    pub fn fit<F: Float>(
        &self,
        data: ArrayView2<'_, F>,
        weights: Option<ArrayView1<'_, f64>>,
    ) -> Result<KMeans<F>, ClusterError> {
        Ok(self.fit_predict(data, weights)?.model)
    }

    /// Fits k-means and also returns the training points' clusters and squared distances,
    /// which the last iteration computed anyway.
    pub fn fit_predict<F: Float>(
        &self,
        data: ArrayView2<'_, F>,
        weights: Option<ArrayView1<'_, f64>>,
    ) -> Result<Fitted<F>, ClusterError> {
        self.fit_predict_watched(data, weights, None)
    }

    /// [`KMeansValidParams::fit_predict`] telling `watch` about the initialisation and every
    /// iteration of every restart (for progress displays; the result is the same as unwatched).
    pub fn fit_predict_watched<F: Float>(
        &self,
        data: ArrayView2<'_, F>,
        weights: Option<ArrayView1<'_, f64>>,
        mut watch: Option<&mut dyn FnMut(FitStep)>,
    ) -> Result<Fitted<F>, ClusterError> {
        let p = &self.0;
        if p.algorithm == Algorithm::Linfa {
            return self.fit_with_linfa(data, weights, None);
        }
        let weights = check_data(data, weights, p.k)?;
        let data = standard_layout(data);
        let data = data.view();
        let tolerance = p.tol * mean_variance(data);
        let mut rng = ChaCha8Rng::seed_from_u64(p.seed);
        let mut best: Option<Run<F>> = None;
        for restart in 0..p.n_init {
            if let Some(watch) = watch.as_mut() {
                watch(FitStep::Initialising { restart });
            }
            let initial = initial_centroids(data, &weights, p.k, p.init, &mut rng);
            let mut tell = watch.as_mut().map(|watch| {
                move |iteration, inertia| {
                    watch(FitStep::Iterated(Iteration {
                        restart,
                        iteration,
                        inertia,
                    }))
                }
            });
            let run = self.improve(
                data,
                &weights,
                initial,
                tolerance,
                &mut rng,
                tell.as_mut().map(|t| t as &mut Watch<'_>),
            );
            if best.as_ref().is_none_or(|b| run.inertia < b.inertia) {
                best = Some(run);
            }
        }
        Ok(fitted(best.expect("n_init ≥ 1")))
    }

    /// Runs the algorithm from given initial centroids (no initialisation, no restarts), so
    /// algorithms can be compared from the same start.
    pub fn fit_from<F: Float>(
        &self,
        data: ArrayView2<'_, F>,
        weights: Option<ArrayView1<'_, f64>>,
        initial: Array2<F>,
    ) -> Result<KMeans<F>, ClusterError> {
        Ok(self.fit_predict_from(data, weights, initial)?.model)
    }

    /// [`KMeansValidParams::fit_from`] that also returns the training points' clusters.
    pub fn fit_predict_from<F: Float>(
        &self,
        data: ArrayView2<'_, F>,
        weights: Option<ArrayView1<'_, f64>>,
        initial: Array2<F>,
    ) -> Result<Fitted<F>, ClusterError> {
        if self.0.algorithm == Algorithm::Linfa {
            return self.fit_with_linfa(data, weights, Some(initial));
        }
        let weights = check_data(data, weights, self.0.k)?;
        if initial.dim() != (self.0.k, data.ncols()) {
            return Err(ClusterError::BadInitialCentroids {
                got: initial.dim(),
                expected: (self.0.k, data.ncols()),
            });
        }
        if initial.iter().any(|v| !v.is_finite()) {
            return Err(ClusterError::BadInitialCentroids {
                got: initial.dim(),
                expected: (self.0.k, data.ncols()),
            });
        }
        let tolerance = self.0.tol * mean_variance(data);
        let mut rng = ChaCha8Rng::seed_from_u64(self.0.seed);
        let data = standard_layout(data);
        let data = data.view();
        let initial = initial.as_standard_layout().into_owned();
        Ok(fitted(self.improve(
            data, &weights, initial, tolerance, &mut rng, None,
        )))
    }

    /// [`Algorithm::Linfa`]: linfa-clustering fits, this crate assigns the training points.
    fn fit_with_linfa<F: Float>(
        &self,
        data: ArrayView2<'_, F>,
        weights: Option<ArrayView1<'_, f64>>,
        initial: Option<Array2<F>>,
    ) -> Result<Fitted<F>, ClusterError> {
        if weights.is_some() {
            return Err(ClusterError::BadWeights(
                "linfa-clustering's k-means takes no sample weights".into(),
            ));
        }
        check_data(data, None, self.0.k)?;
        let model = crate::fit_with_linfa(self, data, initial)?;
        let (labels, distances) = model.predict(data);
        Ok(Fitted {
            model,
            labels,
            distances,
        })
    }

    /// Only the initial centroids (for benchmarks and for comparing algorithms).
    pub fn initial_centroids<F: Float>(
        &self,
        data: ArrayView2<'_, F>,
        weights: Option<ArrayView1<'_, f64>>,
    ) -> Result<Array2<F>, ClusterError> {
        let weights = check_data(data, weights, self.0.k)?;
        let mut rng = ChaCha8Rng::seed_from_u64(self.0.seed);
        let data = standard_layout(data);
        let data = data.view();
        Ok(initial_centroids(
            data,
            &weights,
            self.0.k,
            self.0.init,
            &mut rng,
        ))
    }

    fn improve<F: Float>(
        &self,
        data: ArrayView2<'_, F>,
        weights: &[f64],
        initial: Array2<F>,
        tolerance: f64,
        rng: &mut ChaCha8Rng,
        watch: Option<&mut Watch<'_>>,
    ) -> Run<F> {
        let p = &self.0;
        match p.algorithm {
            // Linfa is delegated before this point (see `fit_predict`).
            Algorithm::Lloyd | Algorithm::Linfa => {
                lloyd(data, weights, initial, tolerance, p.max_iter, watch)
            }
            Algorithm::Hamerly => hamerly(data, weights, initial, tolerance, p.max_iter, watch),
            Algorithm::MiniBatch => {
                minibatch(data, weights, initial, p.batch_size, p.max_iter, rng, watch)
            }
        }
    }
}

fn initial_centroids<F: Float>(
    data: ArrayView2<'_, F>,
    weights: &[f64],
    k: usize,
    init: Init,
    rng: &mut ChaCha8Rng,
) -> Array2<F> {
    match init.resolve(data.nrows()) {
        // Validation keeps `Sample` (which needs customer ids) away from bare matrices.
        Init::Auto | Init::KMeansPlusPlus | Init::Sample => kmeans_plus_plus(data, weights, k, rng),
        Init::KMeansParallel => kmeans_parallel(data, weights, k, rng),
        Init::Random => random_init(data, weights, k, rng),
    }
}

/// What a k-means fit is doing, as told to a progress display.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FitStep {
    /// Choosing the initial centroids of a restart.
    Initialising {
        /// The restart, from 0 (of `n_init`).
        restart: usize,
    },
    /// An iteration is done.
    Iterated(Iteration),
}

impl FitStep {
    /// The step as a progress line shows it, for the fit with `k` clusters and `restarts`
    /// restarts: `k = 5, restart 2/3, iteration 12, inertia 1.23M`.
    pub fn describe(&self, k: usize, restarts: usize) -> String {
        let restart = |r: usize| {
            if restarts > 1 {
                format!(", restart {}/{restarts}", r + 1)
            } else {
                String::new()
            }
        };
        match self {
            FitStep::Initialising { restart: r } => {
                format!("k = {k}{}, choosing initial centroids", restart(*r))
            }
            FitStep::Iterated(it) => format!(
                "k = {k}{}, iteration {}, inertia {}",
                restart(it.restart),
                it.iteration,
                lookalike_core::si(it.inertia)
            ),
        }
    }
}

/// One finished iteration of a k-means fit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Iteration {
    /// The restart it belongs to, from 0 (of `n_init`).
    pub restart: usize,
    /// The iteration within the restart, from 1 (mini-batch: the batch step).
    pub iteration: usize,
    /// The weighted inertia after it (mini-batch: the smoothed batch estimate, scaled to all
    /// points).
    pub inertia: f64,
}

/// A fitted model with the clusters of the points it was fitted on.
#[derive(Debug, Clone)]
pub struct Fitted<F: Float> {
    /// The model.
    pub model: KMeans<F>,
    /// Cluster of each training row.
    pub labels: Vec<usize>,
    /// Squared distance of each training row to its centroid.
    pub distances: Vec<F>,
}

fn fitted<F: Float>(run: Run<F>) -> Fitted<F> {
    Fitted {
        model: KMeans {
            centroids: run.centroids,
            inertia: run.inertia,
            iterations: run.iterations,
            converged: run.converged,
        },
        labels: run.labels,
        distances: run.distances,
    }
}
