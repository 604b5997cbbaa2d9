//! Clustering a feature table as a user configures it: which customers can be clustered, the
//! scaler, one fit or a sweep over k (with the suggested k), the quality metrics, the profiles
//! and the `model.json` document. `lookalike cluster`, `bench clustering`, the demo and the
//! pipeline's fit all run this code, so a trained stage is what the subcommand makes.

use std::time::Instant;

use lookalike_core::FeatureTable;
use ndarray::Array2;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::{
    Algorithm, ClusterError, ClusterProfile, FitStep, Init, KMeansParams, Scaler, ScalerParams,
    Scaling, calinski_harabasz, cluster_profiles, davies_bouldin, sampled_silhouette,
};

/// Numeric precision of a fit (distances, centroids).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Precision {
    /// 32-bit floats: half the memory, faster.
    F32,
    /// 64-bit floats.
    #[default]
    F64,
}

impl Precision {
    /// The name in files and reports.
    pub fn name(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::F64 => "f64",
        }
    }
}

/// Columns clustered when none are named: behaviour every customer has a value for.
pub const DEFAULT_CLUSTER_COLUMNS: [&str; 4] =
    ["orders", "total_spend", "days_since_last_purchase", "T"];

/// The number of clusters: one k, or an inclusive range to sweep (written `8` or `2..16`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KChoice {
    /// Smallest k.
    pub from: usize,
    /// Largest k (equal to `from` for one k).
    pub to: usize,
}

impl KChoice {
    /// The k values, in order.
    pub fn values(&self) -> Vec<usize> {
        (self.from..=self.to).collect()
    }
}

impl std::str::FromStr for KChoice {
    type Err = ClusterError;

    /// `8` or `2..16` (`2..=16` too).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || ClusterError::BadK(text.to_string());
        let number = |s: &str| s.trim().parse::<usize>().map_err(|_| bad());
        let (from, to) = match text.split_once("..") {
            Some((from, to)) => (number(from)?, number(to.trim_start_matches('='))?),
            None => {
                let k = number(text)?;
                (k, k)
            }
        };
        if from == 0 {
            return Err(ClusterError::ZeroClusters);
        }
        if from > to {
            return Err(bad());
        }
        Ok(KChoice { from, to })
    }
}

impl std::fmt::Display for KChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.from == self.to {
            write!(f, "{}", self.from)
        } else {
            write!(f, "{}..{}", self.from, self.to)
        }
    }
}

/// In a pipeline file `k = 8` or `k = "2..8"`.
impl Serialize for KChoice {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.from == self.to {
            serializer.serialize_u64(self.from as u64)
        } else {
            serializer.serialize_str(&self.to_string())
        }
    }
}

impl<'de> Deserialize<'de> for KChoice {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Written {
            Number(u64),
            Text(String),
        }
        let text = match Written::deserialize(deserializer)? {
            Written::Number(k) => k.to_string(),
            Written::Text(text) => text,
        };
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// What to do with customers missing a value in a clustered column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Missing {
    /// Leave them out of the fit; they get no cluster.
    #[default]
    Skip,
    /// Stop with an error naming the first such customer.
    Fail,
}

/// One clustering configuration, as the command line and the pipeline file give it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// One k or a range to sweep.
    pub k: KChoice,
    /// Clustered columns (empty: [`DEFAULT_CLUSTER_COLUMNS`]).
    #[serde(default)]
    pub columns: Vec<String>,
    /// How columns are scaled before distances are measured.
    #[serde(default = "standard")]
    pub scaling: Scaling,
    /// Columns passed through ln(1 + x) before scaling.
    #[serde(default)]
    pub log1p: Vec<String>,
    /// Weights of columns in distances (default 1).
    #[serde(default)]
    pub weights: std::collections::BTreeMap<String, f64>,
    /// Initialisation.
    #[serde(default = "auto")]
    pub init: Init,
    /// Algorithm.
    #[serde(default = "hamerly", rename = "algo")]
    pub algorithm: Algorithm,
    /// Restarts; the lowest inertia is kept.
    #[serde(default = "three")]
    pub n_init: usize,
    /// Most iterations per restart.
    #[serde(default = "max_iter")]
    pub max_iter: usize,
    /// Relative tolerance (scikit-learn's meaning).
    #[serde(default = "tol")]
    pub tol: f64,
    /// Random seed.
    #[serde(default)]
    pub seed: u64,
    /// Points per mini-batch.
    #[serde(default = "batch_size")]
    pub batch_size: usize,
    /// Numeric precision of the fit.
    #[serde(default)]
    pub precision: Precision,
    /// Customers in the stratified silhouette sample (0: exact, O(n²)). With `init = sample`,
    /// the first this many customers of the hash sample (0: all of it).
    #[serde(default = "silhouette_sample")]
    pub silhouette_sample: usize,
    /// With `init = sample`: customers in the hash sample that k-means++ starts from.
    #[serde(default = "init_sample")]
    pub init_sample: usize,
    /// Customers missing a clustered value.
    #[serde(default)]
    pub missing: Missing,
}

fn standard() -> Scaling {
    Scaling::Standard
}
fn auto() -> Init {
    Init::Auto
}
fn hamerly() -> Algorithm {
    Algorithm::Hamerly
}
fn three() -> usize {
    3
}
fn max_iter() -> usize {
    300
}
fn tol() -> f64 {
    1e-4
}
fn batch_size() -> usize {
    4096
}
fn silhouette_sample() -> usize {
    10_000
}
fn init_sample() -> usize {
    crate::DEFAULT_INIT_SAMPLE
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            k: KChoice { from: 8, to: 8 },
            columns: Vec::new(),
            scaling: standard(),
            log1p: Vec::new(),
            weights: Default::default(),
            init: auto(),
            algorithm: hamerly(),
            n_init: three(),
            max_iter: max_iter(),
            tol: tol(),
            seed: 0,
            batch_size: batch_size(),
            precision: Precision::F64,
            silhouette_sample: silhouette_sample(),
            init_sample: init_sample(),
            missing: Missing::Skip,
        }
    }
}

impl ClusterConfig {
    /// The clustered columns: the named ones, or the defaults.
    pub fn columns(&self) -> Vec<String> {
        if self.columns.is_empty() {
            DEFAULT_CLUSTER_COLUMNS.map(String::from).to_vec()
        } else {
            self.columns.clone()
        }
    }

    /// The scaler settings.
    pub fn scaler_params(&self) -> ScalerParams {
        let mut params = ScalerParams::new(self.columns())
            .scaling(self.scaling)
            .log1p(self.log1p.clone());
        for (column, weight) in &self.weights {
            params = params.weight(column.clone(), *weight);
        }
        params
    }

    /// The k-means settings for `k` clusters.
    pub fn kmeans_params(&self, k: usize) -> KMeansParams {
        KMeansParams::new(k)
            .init(self.init)
            .algorithm(self.algorithm)
            .n_init(self.n_init)
            .max_iter(self.max_iter)
            .tol(self.tol)
            .seed(self.seed)
            .batch_size(self.batch_size)
    }

    /// Fits `k` clusters on a scaled matrix (from `initial` centroids when given); times the
    /// fit only, not the f32 copy.
    pub fn fit(
        &self,
        matrix: &Array2<f64>,
        k: usize,
        initial: Option<&Array2<f64>>,
    ) -> Result<ClusterOutcome, ClusterError> {
        self.fit_watched(matrix, k, initial, None)
    }

    /// [`ClusterConfig::fit`] telling `watch` what k-means is doing (progress displays).
    pub fn fit_watched(
        &self,
        matrix: &Array2<f64>,
        k: usize,
        initial: Option<&Array2<f64>>,
        watch: Option<&mut dyn FnMut(FitStep)>,
    ) -> Result<ClusterOutcome, ClusterError> {
        let params = self.kmeans_params(k).validate()?;
        let (centroids, labels, squared, inertia, iterations, converged, seconds) = match self
            .precision
        {
            Precision::F64 => {
                let started = Instant::now();
                let fitted = match initial {
                    Some(start) => params.fit_predict_from(matrix.view(), None, start.clone())?,
                    None => params.fit_predict_watched(matrix.view(), None, watch)?,
                };
                let seconds = started.elapsed().as_secs_f64();
                let m = fitted.model;
                let (inertia, iterations, converged) = (m.inertia(), m.iterations(), m.converged());
                let centroids = m.centroids().clone();
                let labels = fitted.labels;
                let distances = fitted.distances;
                (
                    centroids, labels, distances, inertia, iterations, converged, seconds,
                )
            }
            Precision::F32 => {
                let narrow = matrix.mapv(|v| v as f32);
                let start = initial.map(|c| c.mapv(|v| v as f32));
                let started = Instant::now();
                let fitted = match start {
                    Some(start) => params.fit_predict_from(narrow.view(), None, start)?,
                    None => params.fit_predict_watched(narrow.view(), None, watch)?,
                };
                let seconds = started.elapsed().as_secs_f64();
                let m = fitted.model;
                let squared = fitted.distances.iter().map(|v| f64::from(*v)).collect();
                (
                    m.centroids().mapv(f64::from),
                    fitted.labels,
                    squared,
                    m.inertia(),
                    m.iterations(),
                    m.converged(),
                    seconds,
                )
            }
        };
        let metrics = QualityMetrics::of(matrix, &labels, self.silhouette_sample, self.seed);
        Ok(ClusterOutcome {
            k,
            centroids,
            distances: squared.iter().map(|d: &f64| d.max(0.0).sqrt()).collect(),
            labels,
            inertia,
            // linfa reports no iteration count.
            iterations: if self.algorithm == Algorithm::Linfa {
                0
            } else {
                iterations
            },
            converged: converged && self.algorithm != Algorithm::Linfa,
            init: self.init.resolve(matrix.nrows()),
            seconds,
            metrics,
        })
    }
}

/// Quality metrics of a labelling (scikit-learn's definitions).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QualityMetrics {
    /// Mean silhouette (on a stratified sample when the base is large).
    pub silhouette: f64,
    /// Customers the silhouette was computed on.
    pub silhouette_sample: usize,
    /// Davies-Bouldin index (lower is better).
    pub davies_bouldin: f64,
    /// Calinski-Harabasz index (higher is better).
    pub calinski_harabasz: f64,
}

impl QualityMetrics {
    /// Quality of `labels` on the scaled matrix; `sample` 0 is the exact silhouette.
    pub fn of(matrix: &Array2<f64>, labels: &[usize], sample: usize, seed: u64) -> Self {
        let silhouette = sampled_silhouette(
            matrix.view(),
            labels,
            if sample == 0 { usize::MAX } else { sample },
            seed,
        );
        QualityMetrics {
            silhouette: silhouette.value,
            silhouette_sample: silhouette.sample_size,
            davies_bouldin: davies_bouldin(matrix.view(), labels),
            calinski_harabasz: calinski_harabasz(matrix.view(), labels),
        }
    }
}

/// One fitted k with its quality.
#[derive(Debug, Clone)]
pub struct ClusterOutcome {
    /// Clusters.
    pub k: usize,
    /// Centroids in the scaled space, k × columns.
    pub centroids: Array2<f64>,
    /// Cluster of each clustered customer.
    pub labels: Vec<usize>,
    /// Euclidean distance of each clustered customer to its centroid, in the scaled space.
    pub distances: Vec<f64>,
    /// Sum of squared distances.
    pub inertia: f64,
    /// Iterations of the kept restart.
    pub iterations: usize,
    /// Whether it met the tolerance.
    pub converged: bool,
    /// The initialisation used (auto resolved).
    pub init: Init,
    /// Seconds of the fit.
    pub seconds: f64,
    /// Quality.
    pub metrics: QualityMetrics,
}

/// The suggested k of a sweep and why: the highest silhouette, ties to the smaller k.
pub fn suggest_k(results: &[ClusterOutcome]) -> (usize, String) {
    let eligible = || results.iter().filter(|o| o.k >= 2);
    let best = eligible().max_by(|a, b| {
        a.metrics
            .silhouette
            .total_cmp(&b.metrics.silhouette)
            .then(b.k.cmp(&a.k))
    });
    let Some(best) = best else {
        return (results[0].k, "only one k was fitted".into());
    };
    let lowest_db = eligible()
        .min_by(|a, b| {
            a.metrics
                .davies_bouldin
                .total_cmp(&b.metrics.davies_bouldin)
        })
        .map(|o| o.k);
    let mut why = format!(
        "highest silhouette ({:.3}): customers sit closest to their own cluster relative to the next one",
        best.metrics.silhouette
    );
    why += &match lowest_db {
        Some(db) if db == best.k => "; Davies-Bouldin is also lowest there".to_string(),
        Some(db) => format!("; Davies-Bouldin would prefer k = {db}"),
        None => String::new(),
    };
    (best.k, why)
}

/// Whether each customer has a finite value in every one of `columns` (unknown columns are
/// left for the scaler to report).
pub fn complete_mask(table: &FeatureTable, columns: &[String]) -> Vec<bool> {
    let indexes: Vec<usize> = columns
        .iter()
        .filter_map(|c| table.column_index(c).ok())
        .collect();
    let values = table.values();
    (0..table.len())
        .into_par_iter()
        .map(|i| indexes.iter().all(|j| values[[i, *j]].is_finite()))
        .collect()
}

/// A clustering of a feature table: the sweep, the chosen fit, profiles and the model document.
#[derive(Debug)]
pub struct Clustering {
    /// Row of the fit for each row of the table (`None`: not clustered, missing a value).
    pub fitted_row: Vec<Option<usize>>,
    /// The table of the clustered customers.
    pub table: FeatureTable,
    /// Their scaler.
    pub scaler: Scaler,
    /// Every k fitted, in order (one for a single k).
    pub sweep: Vec<ClusterOutcome>,
    /// The chosen k and why (the sweep's suggestion; the only k otherwise).
    pub chosen: usize,
    /// Why that k.
    pub why: Option<String>,
    /// Cluster profiles of the chosen fit.
    pub profiles: Vec<ClusterProfile>,
}

impl Clustering {
    /// The chosen fit.
    pub fn outcome(&self) -> &ClusterOutcome {
        self.sweep
            .iter()
            .find(|o| o.k == self.chosen)
            .expect("the chosen k was fitted")
    }

    /// Customers left out for missing a clustered value.
    pub fn skipped(&self) -> usize {
        self.fitted_row.iter().filter(|r| r.is_none()).count()
    }

    /// Cluster and distance of table row `i` (None when it was not clustered).
    pub fn assignment(&self, i: usize) -> Option<(usize, f64)> {
        let outcome = self.outcome();
        self.fitted_row[i].map(|r| (outcome.labels[r], outcome.distances[r]))
    }

    /// The `model.json` document (see models/README.md): what the scorer reads (columns,
    /// scaling, centroids) and the fit's record.
    pub fn document(&self, config: &ClusterConfig, features_file: &str) -> Value {
        let outcome = self.outcome();
        model_document(
            config,
            features_file,
            &self.scaler,
            outcome,
            outcome.labels.len(),
            &self.profiles,
        )
    }
}

/// The `model.json` document of a fit of `customers` customers, in one process or in parts.
pub(crate) fn model_document(
    config: &ClusterConfig,
    features_file: &str,
    scaler: &Scaler,
    outcome: &ClusterOutcome,
    customers: usize,
    profiles: &[ClusterProfile],
) -> Value {
    let in_parts = outcome.init == Init::Sample;
    let mut parameters = json!({
        "init": outcome.init.name(),
        // In parts the iterations are Lloyd's (Hamerly's would assign alike).
        "algorithm": if in_parts { Algorithm::Lloyd.name() } else { config.algorithm.name() },
        "n_init": config.n_init,
        "max_iter": config.max_iter,
        "tol": config.tol,
        "seed": config.seed,
        "batch_size": config.batch_size,
        "precision": config.precision.name(),
    });
    if in_parts {
        parameters["init_sample"] = json!(config.init_sample);
    }
    json!({
        "format": "lookalike-kmeans",
        "version": 1,
        "features_file": features_file,
        "k": outcome.k,
        "columns": scaler.columns,
        "scaling": scaler.parameters(),
        "centroids": outcome.centroids.rows().into_iter().map(|r| r.to_vec()).collect::<Vec<_>>(),
        "parameters": parameters,
        "fit": {
            "customers": customers,
            "inertia": outcome.inertia,
            "iterations": outcome.iterations,
            "converged": outcome.converged,
            "seconds": outcome.seconds,
        },
        "metrics": {
            "silhouette": outcome.metrics.silhouette,
            "silhouette_sample_size": outcome.metrics.silhouette_sample,
            "davies_bouldin": outcome.metrics.davies_bouldin,
            "calinski_harabasz": outcome.metrics.calinski_harabasz,
        },
        "clusters": profiles.iter().map(|p| json!({
            "cluster": p.cluster,
            "size": p.size,
            "share": p.share,
            "distinguishing": p.distinguishing.iter().map(|(c, z)| json!({"column": c, "z": z})).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

/// What [`cluster_table`] is doing, for progress displays.
#[derive(Debug, Clone, Copy)]
pub enum ClusterEvent<'a> {
    /// A step of the k-means fit with `k` clusters.
    Step {
        /// The number of clusters being fitted.
        k: usize,
        /// The step.
        step: FitStep,
    },
    /// The fit with `outcome.k` clusters is done.
    Fitted(&'a ClusterOutcome),
}

/// Clusters `all` as `config` says: leaves out (or refuses) customers missing a clustered
/// value, scales, fits every k of `config.k` and keeps the suggested one. `fitted` is called
/// after each k (for progress messages).
pub fn cluster_table(
    all: &FeatureTable,
    config: &ClusterConfig,
    mut fitted: impl FnMut(&ClusterOutcome),
) -> Result<Clustering, ClusterError> {
    cluster_table_watched(all, config, false, |event| {
        if let ClusterEvent::Fitted(outcome) = event {
            fitted(outcome)
        }
    })
}

/// [`cluster_table`] telling `tell` about every fit and, with `iterations`, about every k-means
/// step too (Hamerly then computes its inertia at each iteration, one more pass over the data).
pub fn cluster_table_watched(
    all: &FeatureTable,
    config: &ClusterConfig,
    iterations: bool,
    mut tell: impl FnMut(ClusterEvent<'_>),
) -> Result<Clustering, ClusterError> {
    if config.init == Init::Sample {
        return cluster_table_in_one_part(all, config, tell);
    }
    let columns = config.columns();
    let (table, fitted_row) = clustered_table(all, config);
    if table.is_empty() {
        return Err(ClusterError::NoCompleteCustomer(columns.join(", ")));
    }
    let scaler = Scaler::fit(&table, &config.scaler_params())?;
    let matrix = scaler.transform(&table)?;
    let mut sweep = Vec::new();
    for k in config.k.values() {
        let mut watch = |step| tell(ClusterEvent::Step { k, step });
        let watch = iterations.then_some(&mut watch as &mut dyn FnMut(FitStep));
        let outcome = config.fit_watched(&matrix, k, None, watch)?;
        tell(ClusterEvent::Fitted(&outcome));
        sweep.push(outcome);
    }
    let (chosen, why) = if sweep.len() > 1 {
        let (k, why) = suggest_k(&sweep);
        (k, Some(why))
    } else {
        (sweep[0].k, None)
    };
    let labels = &sweep.iter().find(|o| o.k == chosen).expect("fitted").labels;
    let profiles = cluster_profiles(&table, labels, chosen, 3);
    Ok(Clustering {
        fitted_row,
        table,
        scaler,
        sweep,
        chosen,
        why,
        profiles,
    })
}

/// The rows of `all` that are clustered: those with a finite value in every clustered column
/// (`missing = skip`); every row with `fail`, which the scaler then checks.
pub(crate) fn clustered_rows(all: &FeatureTable, config: &ClusterConfig) -> Vec<usize> {
    match config.missing {
        Missing::Skip => {
            let complete = complete_mask(all, &config.columns());
            (0..all.len()).filter(|i| complete[*i]).collect()
        }
        Missing::Fail => (0..all.len()).collect(),
    }
}

/// The table of the clustered customers, and the row in it of each row of `all`.
fn clustered_table(
    all: &FeatureTable,
    config: &ClusterConfig,
) -> (FeatureTable, Vec<Option<usize>>) {
    let rows = clustered_rows(all, config);
    let mut fitted_row = vec![None; all.len()];
    for (position, row) in rows.iter().enumerate() {
        fitted_row[*row] = Some(position);
    }
    let table = if rows.len() == all.len() {
        all.clone()
    } else {
        all.select_rows(&rows)
    };
    (table, fitted_row)
}

/// [`cluster_table`] with `init = sample`: the fit over a base in parts
/// ([`crate::KMeansInParts`]) with the whole table as the only part, then every customer's
/// cluster from the fitted centroids.
fn cluster_table_in_one_part(
    all: &FeatureTable,
    config: &ClusterConfig,
    mut tell: impl FnMut(ClusterEvent<'_>),
) -> Result<Clustering, ClusterError> {
    let mut fit = crate::KMeansInParts::new(config)?;
    let mut part = crate::PreparedPart::new(config, all)?;
    while let Some(task) = fit.task() {
        let answer = task.answer_prepared(config, &mut part)?;
        fit.absorb(answer)?;
    }
    drop(part);
    let fitted = fit.finish()?;
    let (table, fitted_row) = clustered_table(all, config);
    let matrix = fitted.scaler.transform(&table)?;
    let mut sweep = fitted.sweep;
    for outcome in &mut sweep {
        let (labels, squared) =
            crate::KMeans::from_centroids(outcome.centroids.clone()).predict(matrix.view());
        outcome.labels = labels;
        outcome.distances = squared.iter().map(|d| d.max(0.0).sqrt()).collect();
        tell(ClusterEvent::Fitted(outcome));
    }
    Ok(Clustering {
        fitted_row,
        table,
        scaler: fitted.scaler,
        sweep,
        chosen: fitted.chosen,
        why: fitted.why,
        profiles: fitted.profiles,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn k_is_one_number_or_a_range() {
        assert_eq!("8".parse::<KChoice>().unwrap().values(), vec![8]);
        assert_eq!("2..4".parse::<KChoice>().unwrap().values(), vec![2, 3, 4]);
        assert_eq!("2..=3".parse::<KChoice>().unwrap().values(), vec![2, 3]);
        assert_eq!("0".parse::<KChoice>(), Err(ClusterError::ZeroClusters));
        assert!(matches!(
            "5..2".parse::<KChoice>(),
            Err(ClusterError::BadK(_))
        ));
        assert!(matches!("x".parse::<KChoice>(), Err(ClusterError::BadK(_))));
    }

    #[test]
    fn a_config_reads_from_toml_with_defaults() {
        let config: ClusterConfig =
            serde_json::from_str(r#"{"k": "2..3", "init": "kmeans++", "algo": "minibatch"}"#)
                .unwrap();
        assert_eq!(config.k, KChoice { from: 2, to: 3 });
        assert_eq!(config.init, Init::KMeansPlusPlus);
        assert_eq!(config.algorithm, Algorithm::MiniBatch);
        assert_eq!(config.precision, Precision::F64);
        assert_eq!(config.columns().len(), 4);
        let back: ClusterConfig =
            serde_json::from_value(serde_json::to_value(&config).unwrap()).unwrap();
        assert_eq!(back, config);
        assert!(serde_json::from_str::<ClusterConfig>(r#"{"k": 3, "init": "best"}"#).is_err());
    }

    fn outcome(k: usize, silhouette: f64, davies_bouldin: f64) -> ClusterOutcome {
        ClusterOutcome {
            k,
            centroids: Array2::zeros((k, 1)),
            labels: Vec::new(),
            distances: Vec::new(),
            inertia: 0.0,
            iterations: 0,
            converged: true,
            init: Init::KMeansPlusPlus,
            seconds: 0.0,
            metrics: QualityMetrics {
                silhouette,
                silhouette_sample: 0,
                davies_bouldin,
                calinski_harabasz: 0.0,
            },
        }
    }

    #[test]
    fn the_suggested_k_has_the_highest_silhouette_ties_to_the_smaller() {
        let sweep = [
            outcome(1, 0.9, 0.1),
            outcome(2, 0.5, 0.4),
            outcome(3, 0.7, 0.3),
            outcome(4, 0.7, 0.2),
        ];
        let (k, why) = suggest_k(&sweep);
        assert_eq!(k, 3, "k = 1 has no silhouette to compare; 3 and 4 tie");
        assert!(why.contains("Davies-Bouldin would prefer k = 4"), "{why}");
    }
}
