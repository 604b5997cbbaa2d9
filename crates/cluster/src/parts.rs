//! k-means on a base held in parts — Spark partitions, each holding whole customers — with
//! `init = sample`, so that a fit in one process and a fit over the parts are the same fit.
//!
//! Nothing here needs the customers together. The driver, [`KMeansInParts`], asks for passes
//! over the base ([`PartTask`]); each part answers with sums ([`PartTask::answer`]); the answers
//! of all parts, merged in part order ([`PartAnswer::merge`]), go back to the driver:
//!
//! 1. **Survey**: per clustered column the count, mean and squared deviations of the values
//!    (merged with Chan et al.'s pairwise update) and, for robust scaling, the values with their
//!    counts (exact quartiles); and the `init_sample` customers with the lowest hash of their id
//!    (xxh3, seeded with the fit's seed), which depends on the ids only, not on how the base is
//!    split.
//! 2. The scaler is fitted from the survey, and greedy k-means++ starts every restart of every
//!    k from the scaled sample.
//! 3. **Lloyd's iterations**, all runs in one pass: each part assigns its customers to the
//!    nearest centroid of each run and sums the members of each cluster, with the part's
//!    farthest customers (to re-seed a cluster left empty). The driver moves the centroids to
//!    the means, and stops a run as [`crate::KMeansParams`] does: centroid shift at most `tol`
//!    × the mean variance of the scaled columns, or `max_iter`.
//! 4. **Describe** (the best run of each k): cluster sizes, scaled sums (the means) and the
//!    profile sums of every feature column; then **spread**: each member's distance to its
//!    cluster's mean, for the Davies-Bouldin and Calinski-Harabasz indexes. The silhouette is
//!    computed on the first `silhouette_sample` customers of the hash sample.
//!
//! One process runs the same driver with its table as the only part, so the only differences
//! between the two are the order of floating-point additions across parts: assignments are the
//! same and inertias agree to about 1e-12 relative.

use std::time::Instant;

use lookalike_core::FeatureTable;
use ndarray::{Array2, Axis};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_64_with_seed;

use crate::config::{ClusterConfig, ClusterOutcome, Missing, Precision, QualityMetrics};
use crate::init::kmeans_plus_plus;
use crate::lloyd::{assign, squared_shift};
use crate::metrics::{calinski_harabasz_of, davies_bouldin_of};
use crate::scale::column_indexes;
use crate::statistics::ColumnStatistics;
use crate::{
    Algorithm, ClusterError, ClusterProfile, Init, ProfileSums, Scaler, silhouette, suggest_k,
};

/// Customers in the hash sample k-means++ starts from, unless `init_sample` says otherwise.
pub const DEFAULT_INIT_SAMPLE: usize = 50_000;

/// The key that orders customers for the sample.
fn sample_key(id: &str, seed: u64) -> u64 {
    xxh3_64_with_seed(id.as_bytes(), seed)
}

/// A customer of the hash sample: the key, the id and the clustered values (after ln(1 + x)
/// where asked, before scaling).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampledCustomer {
    key: u64,
    id: String,
    values: Vec<f64>,
}

impl SampledCustomer {
    fn order(&self, other: &SampledCustomer) -> std::cmp::Ordering {
        self.key
            .cmp(&other.key)
            .then_with(|| self.id.cmp(&other.id))
    }
}

/// Keeps the `size` lowest of `customers` in (key, id) order.
fn lowest(mut customers: Vec<SampledCustomer>, size: usize) -> Vec<SampledCustomer> {
    customers.sort_by(SampledCustomer::order);
    customers.truncate(size);
    customers
}

/// What the survey pass learns of a part.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartSurvey {
    /// Customers the sample keeps (`init_sample`).
    sample_size: usize,
    /// The part's feature columns (every part must have the same).
    columns: Vec<String>,
    /// Customers with every clustered value.
    clustered: u64,
    /// Customers left out for a missing value.
    skipped: u64,
    /// The clustered columns' scaler statistics.
    statistics: ColumnStatistics,
    /// The part's lowest-keyed customers.
    sample: Vec<SampledCustomer>,
}

/// A customer far from its centroid, to re-seed a cluster left empty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FarCustomer {
    /// Squared distance to its centroid.
    distance: f64,
    key: u64,
    id: String,
    /// Its scaled values.
    point: Vec<f64>,
}

impl FarCustomer {
    /// Farthest first; ties by key and id, which do not depend on the split.
    fn order(&self, other: &FarCustomer) -> std::cmp::Ordering {
        other
            .distance
            .total_cmp(&self.distance)
            .then_with(|| self.key.cmp(&other.key))
            .then_with(|| self.id.cmp(&other.id))
    }
}

/// One run's sums from one Lloyd pass.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSums {
    /// k × d sums of the members' scaled values.
    sums: Vec<f64>,
    /// Members per cluster.
    mass: Vec<f64>,
    /// Summed squared distances to the nearest centroid.
    inertia: f64,
    /// The k customers farthest from their centroid.
    farthest: Vec<FarCustomer>,
}

/// The describe pass of one k.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DescribeSums {
    /// Members per cluster.
    sizes: Vec<u64>,
    /// k × d sums of the members' scaled values.
    scaled: Vec<f64>,
    /// Every feature column, per cluster.
    profile: ProfileSums,
}

/// The spread pass of one k: per cluster the summed distance and squared distance of the
/// members to their cluster's mean.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpreadSums {
    distances: Vec<f64>,
    squares: Vec<f64>,
}

/// Centroid sets as they travel: one k × d matrix as rows.
type Rows = Vec<Vec<f64>>;

fn to_rows(matrix: &Array2<f64>) -> Rows {
    matrix.rows().into_iter().map(|r| r.to_vec()).collect()
}

fn from_rows(rows: &Rows, d: usize) -> Result<Array2<f64>, ClusterError> {
    let flat: Vec<f64> = rows.iter().flatten().copied().collect();
    if rows.iter().any(|r| r.len() != d) {
        return Err(ClusterError::PartsDiffer(format!(
            "a centroid set does not have {d} columns"
        )));
    }
    Array2::from_shape_vec((rows.len(), d), flat)
        .map_err(|e| ClusterError::PartsDiffer(e.to_string()))
}

/// A pass the driver asks of every part.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartTask {
    /// Moments, counts and the hash sample.
    Survey,
    /// One Lloyd pass for each run's centroids.
    Assign {
        /// The scaler fitted from the survey.
        scaler: crate::ScalingParameters,
        /// Centroids of each run still iterating.
        runs: Vec<Rows>,
    },
    /// Sizes, means and profiles of each k's final centroids.
    Describe {
        /// The scaler.
        scaler: crate::ScalingParameters,
        /// Final centroids of each k.
        fits: Vec<Rows>,
    },
    /// Distances to the cluster means of each k.
    Spread {
        /// The scaler.
        scaler: crate::ScalingParameters,
        /// Final centroids of each k (the members).
        fits: Vec<Rows>,
        /// Means of each k's clusters.
        means: Vec<Rows>,
    },
}

/// A part's answer to a [`PartTask`]; the answers of all parts merge into the base's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartAnswer {
    /// To [`PartTask::Survey`].
    Survey(PartSurvey),
    /// To [`PartTask::Assign`], run by run.
    Assign(Vec<RunSums>),
    /// To [`PartTask::Describe`], k by k.
    Describe(Vec<DescribeSums>),
    /// To [`PartTask::Spread`], k by k.
    Spread(Vec<SpreadSums>),
}

fn add(mine: &mut [f64], theirs: &[f64]) {
    mine.iter_mut().zip(theirs).for_each(|(m, t)| *m += t);
}

impl PartAnswer {
    /// Adds the next part's answer to the same task.
    pub fn merge(&mut self, other: &PartAnswer) -> Result<(), ClusterError> {
        let differ = |what: &str| ClusterError::PartsDiffer(what.to_string());
        match (self, other) {
            (PartAnswer::Survey(mine), PartAnswer::Survey(theirs)) => {
                if mine.columns != theirs.columns {
                    return Err(differ("in their feature columns"));
                }
                mine.clustered += theirs.clustered;
                mine.skipped += theirs.skipped;
                mine.statistics.merge(&theirs.statistics)?;
                let mut both = std::mem::take(&mut mine.sample);
                both.extend(theirs.sample.iter().cloned());
                mine.sample = lowest(both, mine.sample_size);
            }
            (PartAnswer::Assign(mine), PartAnswer::Assign(theirs))
                if mine.len() == theirs.len() =>
            {
                for (m, t) in mine.iter_mut().zip(theirs) {
                    add(&mut m.sums, &t.sums);
                    add(&mut m.mass, &t.mass);
                    m.inertia += t.inertia;
                    let k = m.mass.len();
                    m.farthest.extend(t.farthest.iter().cloned());
                    m.farthest.sort_by(FarCustomer::order);
                    m.farthest.truncate(k);
                }
            }
            (PartAnswer::Describe(mine), PartAnswer::Describe(theirs))
                if mine.len() == theirs.len() =>
            {
                for (m, t) in mine.iter_mut().zip(theirs) {
                    m.sizes.iter_mut().zip(&t.sizes).for_each(|(m, t)| *m += t);
                    add(&mut m.scaled, &t.scaled);
                    m.profile.merge(&t.profile);
                }
            }
            (PartAnswer::Spread(mine), PartAnswer::Spread(theirs))
                if mine.len() == theirs.len() =>
            {
                for (m, t) in mine.iter_mut().zip(theirs) {
                    add(&mut m.distances, &t.distances);
                    add(&mut m.squares, &t.squares);
                }
            }
            _ => return Err(differ("in the pass they answered")),
        }
        Ok(())
    }
}

/// A part's clustered customers (table rows) and their clustered values, after ln(1 + x)
/// where asked: the rows and checks of [`Scaler::fit`] on a whole table.
struct ClusteredRows {
    rows: Vec<usize>,
    values: Array2<f64>,
}

impl ClusteredRows {
    fn of(config: &ClusterConfig, table: &FeatureTable) -> Result<ClusteredRows, ClusterError> {
        let columns = config.columns();
        let indexes = column_indexes(table, &columns)?;
        let values = table.values();
        let rows: Vec<usize> = match config.missing {
            Missing::Skip => crate::config::clustered_rows(table, config),
            Missing::Fail => {
                for (name, j) in columns.iter().zip(&indexes) {
                    if let Some(i) = (0..table.len()).find(|i| !values[[*i, *j]].is_finite()) {
                        return Err(ClusterError::MissingFeature {
                            customer: table.ids()[i].to_string(),
                            column: name.clone(),
                        });
                    }
                }
                (0..table.len()).collect()
            }
        };
        let mut clustered = values.select(Axis(1), &indexes).select(Axis(0), &rows);
        for (j, name) in columns.iter().enumerate() {
            if !config.log1p.contains(name) {
                continue;
            }
            for (position, v) in clustered.column_mut(j).iter_mut().enumerate() {
                if *v <= -1.0 {
                    return Err(ClusterError::NegativeForLog {
                        column: name.clone(),
                        customer: table.ids()[rows[position]].to_string(),
                        value: *v,
                    });
                }
                *v = v.ln_1p();
            }
        }
        Ok(ClusteredRows {
            rows,
            values: clustered,
        })
    }

    /// The values scaled as [`Scaler::scale_row`] scales them.
    fn scaled(&self, scaler: &Scaler) -> Array2<f64> {
        let mut scaled = self.values.clone();
        for (j, mut column) in scaled.columns_mut().into_iter().enumerate() {
            column.mapv_inplace(|v| scaler.scale_logged(j, v));
        }
        scaled
    }
}

fn scaler_of(
    config: &ClusterConfig,
    parameters: &crate::ScalingParameters,
) -> Result<Scaler, ClusterError> {
    Scaler::from_parameters(config.columns(), parameters.clone())
}

/// The nearest centroid of every row, with the clusters' sums.
fn assigned(matrix: &Array2<f64>, centroids: &Array2<f64>) -> crate::lloyd::Assignment<f64> {
    let ones = vec![1.0; matrix.nrows()];
    assign(matrix.view(), centroids.view(), Some(&ones))
}

/// The k customers farthest from their centroid.
fn farthest(
    table: &FeatureTable,
    part: &ClusteredRows,
    matrix: &Array2<f64>,
    distances: &[f64],
    k: usize,
    seed: u64,
) -> Vec<FarCustomer> {
    if distances.is_empty() {
        return Vec::new();
    }
    let mut sorted = distances.to_vec();
    let nth = k.min(sorted.len()) - 1;
    let (_, threshold, _) = sorted.select_nth_unstable_by(nth, |a, b| b.total_cmp(a));
    let threshold = *threshold;
    let mut far: Vec<FarCustomer> = distances
        .iter()
        .enumerate()
        .filter(|(_, d)| d.total_cmp(&threshold).is_ge())
        .map(|(position, d)| {
            let id = table.ids()[part.rows[position]].as_str();
            FarCustomer {
                distance: *d,
                key: sample_key(id, seed),
                id: id.to_string(),
                point: matrix.row(position).to_vec(),
            }
        })
        .collect();
    far.sort_by(FarCustomer::order);
    far.truncate(k);
    far
}

/// A part ready to answer tasks: its clustered rows and values, and the values scaled by the
/// last scaler asked for. A process that holds its part across passes (one process fitting
/// its table) prepares it once; a Spark task prepares its partition for each pass.
pub struct PreparedPart<'a> {
    table: &'a FeatureTable,
    clustered: ClusteredRows,
    scaled: Option<(crate::ScalingParameters, Array2<f64>)>,
}

impl<'a> PreparedPart<'a> {
    /// `table`'s customers as `config` clusters them (missing values skipped or refused, ln(1 + x)
    /// applied and checked).
    pub fn new(config: &ClusterConfig, table: &'a FeatureTable) -> Result<Self, ClusterError> {
        Ok(PreparedPart {
            table,
            clustered: ClusteredRows::of(config, table)?,
            scaled: None,
        })
    }

    /// The clustered rows and their values scaled by `scaler` (kept for the next pass with the
    /// same scaler).
    fn scaled(
        &mut self,
        config: &ClusterConfig,
        scaler: &crate::ScalingParameters,
    ) -> Result<(&ClusteredRows, &Array2<f64>), ClusterError> {
        if self.scaled.as_ref().is_none_or(|(kept, _)| kept != scaler) {
            let matrix = self.clustered.scaled(&scaler_of(config, scaler)?);
            self.scaled = Some((scaler.clone(), matrix));
        }
        let matrix = &self.scaled.as_ref().expect("just scaled").1;
        Ok((&self.clustered, matrix))
    }
}

impl PartTask {
    /// This part's answer: `part` holds whole customers of the base, with the feature columns
    /// of every other part.
    pub fn answer(
        &self,
        config: &ClusterConfig,
        part: &FeatureTable,
    ) -> Result<PartAnswer, ClusterError> {
        self.answer_prepared(config, &mut PreparedPart::new(config, part)?)
    }

    /// [`PartTask::answer`] for a part prepared once for every pass.
    pub fn answer_prepared(
        &self,
        config: &ClusterConfig,
        prepared: &mut PreparedPart<'_>,
    ) -> Result<PartAnswer, ClusterError> {
        let part = prepared.table;
        let d = prepared.clustered.values.ncols();
        Ok(match self {
            PartTask::Survey => PartAnswer::Survey(survey(config, part, &prepared.clustered)),
            PartTask::Assign { scaler, runs } => {
                let (clustered, matrix) = prepared.scaled(config, scaler)?;
                let mut answers = Vec::with_capacity(runs.len());
                for centroids in runs {
                    let centroids = from_rows(centroids, d)?;
                    let k = centroids.nrows();
                    let found = assigned(matrix, &centroids);
                    answers.push(RunSums {
                        inertia: found.distances.iter().sum(),
                        farthest: farthest(
                            part,
                            clustered,
                            matrix,
                            &found.distances,
                            k,
                            config.seed,
                        ),
                        sums: found.sums.sums,
                        mass: found.sums.mass,
                    });
                }
                PartAnswer::Assign(answers)
            }
            PartTask::Describe { scaler, fits } => {
                let (clustered, matrix) = prepared.scaled(config, scaler)?;
                let mut answers = Vec::with_capacity(fits.len());
                for centroids in fits {
                    let centroids = from_rows(centroids, d)?;
                    let k = centroids.nrows();
                    let found = assigned(matrix, &centroids);
                    answers.push(DescribeSums {
                        sizes: found.sums.mass.iter().map(|m| *m as u64).collect(),
                        profile: ProfileSums::of(part, &clustered.rows, &found.labels, k),
                        scaled: found.sums.sums,
                    });
                }
                PartAnswer::Describe(answers)
            }
            PartTask::Spread {
                scaler,
                fits,
                means,
            } => {
                let (_, matrix) = prepared.scaled(config, scaler)?;
                let mut answers = Vec::with_capacity(fits.len());
                for (centroids, means) in fits.iter().zip(means) {
                    let (centroids, means) = (from_rows(centroids, d)?, from_rows(means, d)?);
                    let k = centroids.nrows();
                    let labels = assign(matrix.view(), centroids.view(), None).labels;
                    let mut spread = SpreadSums {
                        distances: vec![0.0; k],
                        squares: vec![0.0; k],
                    };
                    for (row, label) in matrix.rows().into_iter().zip(&labels) {
                        let distance = row
                            .iter()
                            .zip(means.row(*label))
                            .map(|(x, m)| (x - m) * (x - m))
                            .sum::<f64>()
                            .sqrt();
                        spread.distances[*label] += distance;
                        spread.squares[*label] += distance.powi(2);
                    }
                    answers.push(spread);
                }
                PartAnswer::Spread(answers)
            }
        })
    }
}

fn survey(config: &ClusterConfig, part: &FeatureTable, clustered: &ClusteredRows) -> PartSurvey {
    let values = &clustered.values;
    let statistics = ColumnStatistics::of(values.view(), config.scaling);
    let ids = part.ids();
    let mut keyed: Vec<(u64, usize)> = clustered
        .rows
        .iter()
        .enumerate()
        .map(|(position, row)| (sample_key(ids[*row].as_str(), config.seed), position))
        .collect();
    let by_key_then_id = |a: &(u64, usize), b: &(u64, usize)| {
        a.0.cmp(&b.0).then_with(|| {
            ids[clustered.rows[a.1]]
                .as_str()
                .cmp(ids[clustered.rows[b.1]].as_str())
        })
    };
    if keyed.len() > config.init_sample && config.init_sample > 0 {
        keyed.select_nth_unstable_by(config.init_sample - 1, by_key_then_id);
        keyed.truncate(config.init_sample);
    }
    let sample = keyed
        .into_iter()
        .map(|(key, position)| SampledCustomer {
            key,
            id: ids[clustered.rows[position]].to_string(),
            values: values.row(position).to_vec(),
        })
        .collect();
    PartSurvey {
        sample_size: config.init_sample,
        columns: part.columns().to_vec(),
        clustered: clustered.rows.len() as u64,
        skipped: (part.len() - clustered.rows.len()) as u64,
        statistics,
        sample: lowest(sample, config.init_sample),
    }
}

/// One restart of one k, iterating.
#[derive(Debug, Clone)]
struct Run {
    k: usize,
    centroids: Array2<f64>,
    iterations: usize,
    converged: bool,
    /// The coming pass is the run's last (it converged or used its iterations).
    last_pass: bool,
    /// Its inertia, once done.
    inertia: Option<f64>,
}

/// What the survey established.
#[derive(Debug, Clone)]
struct Surveyed {
    scaler: Scaler,
    columns: Vec<String>,
    clustered: usize,
    skipped: usize,
    /// The scaled hash sample, in key order.
    sample: Array2<f64>,
    tolerance: f64,
}

#[derive(Debug)]
enum Phase {
    Survey,
    Iterate,
    Describe,
    Spread(Vec<DescribeSums>),
    Done(Box<ClusteredInParts>),
}

/// The driver of a k-means fit over a base in parts: it says which pass it needs next
/// ([`KMeansInParts::task`]), takes the merged answers ([`KMeansInParts::absorb`]) and, when no
/// pass is left, gives the fit ([`KMeansInParts::finish`]).
#[derive(Debug)]
pub struct KMeansInParts {
    config: ClusterConfig,
    started: Instant,
    phase: Phase,
    surveyed: Option<Surveyed>,
    runs: Vec<Run>,
}

/// A clustering fitted over a base in parts: the scaler, every k fitted (without per-customer
/// labels, which stay in the parts), the chosen k and its profiles.
#[derive(Debug, Clone)]
pub struct ClusteredInParts {
    /// The scaler.
    pub scaler: Scaler,
    /// Every k fitted, in order; `labels` and `distances` are empty.
    pub sweep: Vec<ClusterOutcome>,
    /// The chosen k.
    pub chosen: usize,
    /// Why that k (sweeps only).
    pub why: Option<String>,
    /// Profiles of the chosen fit.
    pub profiles: Vec<ClusterProfile>,
    /// The feature columns of the base (the profiles' columns).
    pub columns: Vec<String>,
    /// Customers clustered.
    pub customers: usize,
    /// Customers left out for a missing clustered value.
    pub skipped: usize,
}

impl ClusteredInParts {
    /// The chosen fit.
    pub fn outcome(&self) -> &ClusterOutcome {
        self.sweep
            .iter()
            .find(|o| o.k == self.chosen)
            .expect("the chosen k was fitted")
    }

    /// The `model.json` document, as [`crate::Clustering::document`] writes it.
    pub fn document(&self, config: &ClusterConfig, features_file: &str) -> serde_json::Value {
        crate::config::model_document(
            config,
            features_file,
            &self.scaler,
            self.outcome(),
            self.customers,
            &self.profiles,
        )
    }
}

impl KMeansInParts {
    /// A fit as `config` says; refused unless it can run in parts (`init = sample`, Lloyd's
    /// or Hamerly's iterations, which assign alike, in f64).
    pub fn new(config: &ClusterConfig) -> Result<KMeansInParts, ClusterError> {
        if config.init != Init::Sample {
            return Err(ClusterError::NotInParts(format!(
                "it starts from a hash sample of the customers, and init is {}; set init = \"sample\" \
                 (one process then makes the same fit)",
                config.init.name()
            )));
        }
        if !matches!(config.algorithm, Algorithm::Lloyd | Algorithm::Hamerly) {
            return Err(ClusterError::NotInParts(format!(
                "algo {} cannot run in parts; use lloyd or hamerly",
                config.algorithm.name()
            )));
        }
        if config.precision != Precision::F64 {
            return Err(ClusterError::NotInParts(
                "precision f32 cannot run in parts; use f64".into(),
            ));
        }
        if config.init_sample == 0 {
            return Err(ClusterError::NotInParts(
                "init_sample must be at least 1".into(),
            ));
        }
        for k in config.k.values() {
            config
                .kmeans_params(k)
                .init(Init::KMeansPlusPlus)
                .validate()?;
        }
        Ok(KMeansInParts {
            config: config.clone(),
            started: Instant::now(),
            phase: Phase::Survey,
            surveyed: None,
            runs: Vec::new(),
        })
    }

    /// The pass to run over every part next; none when the fit is done.
    pub fn task(&self) -> Option<PartTask> {
        let scaler = || {
            self.surveyed
                .as_ref()
                .expect("surveyed before iterating")
                .scaler
                .parameters()
        };
        match &self.phase {
            Phase::Survey => Some(PartTask::Survey),
            Phase::Iterate => Some(PartTask::Assign {
                scaler: scaler(),
                runs: self
                    .runs
                    .iter()
                    .filter(|r| r.inertia.is_none())
                    .map(|r| to_rows(&r.centroids))
                    .collect(),
            }),
            Phase::Describe => Some(PartTask::Describe {
                scaler: scaler(),
                fits: self.best_runs().map(|r| to_rows(&r.centroids)).collect(),
            }),
            Phase::Spread(described) => Some(PartTask::Spread {
                scaler: scaler(),
                fits: self.best_runs().map(|r| to_rows(&r.centroids)).collect(),
                means: described
                    .iter()
                    .map(|sums| to_rows(&cluster_means(sums, self.dimensions())))
                    .collect(),
            }),
            Phase::Done(_) => None,
        }
    }

    fn dimensions(&self) -> usize {
        self.config.columns().len()
    }

    /// The run with the lowest inertia of each k (the first on ties), k by k.
    fn best_runs(&self) -> impl Iterator<Item = &Run> {
        self.config.k.values().into_iter().map(|k| {
            self.runs
                .iter()
                .filter(|r| r.k == k)
                .reduce(|best, run| {
                    if run.inertia < best.inertia {
                        run
                    } else {
                        best
                    }
                })
                .expect("n_init ≥ 1 runs per k")
        })
    }

    /// Takes the merged answer of every part to the last [`KMeansInParts::task`].
    pub fn absorb(&mut self, answer: PartAnswer) -> Result<(), ClusterError> {
        let phase = std::mem::replace(&mut self.phase, Phase::Survey);
        self.phase = match (phase, answer) {
            (Phase::Survey, PartAnswer::Survey(survey)) => {
                self.start(survey)?;
                Phase::Iterate
            }
            (Phase::Iterate, PartAnswer::Assign(sums)) => {
                self.iterate(&sums)?;
                if self.runs.iter().all(|r| r.inertia.is_some()) {
                    Phase::Describe
                } else {
                    Phase::Iterate
                }
            }
            (Phase::Describe, PartAnswer::Describe(described)) => Phase::Spread(described),
            (Phase::Spread(described), PartAnswer::Spread(spread)) => {
                Phase::Done(Box::new(self.conclude(&described, &spread)?))
            }
            (phase, _) => {
                self.phase = phase;
                return Err(ClusterError::PartsDiffer(
                    "they answered another pass than the one asked".into(),
                ));
            }
        };
        Ok(())
    }

    /// The fit, once [`KMeansInParts::task`] has nothing left to ask.
    pub fn finish(self) -> Result<ClusteredInParts, ClusterError> {
        match self.phase {
            Phase::Done(fitted) => Ok(*fitted),
            _ => Err(ClusterError::PartsDiffer(
                "the fit was asked for before its last pass".into(),
            )),
        }
    }

    /// The scaler, the scaled sample, the tolerance and every run's k-means++ start.
    fn start(&mut self, survey: PartSurvey) -> Result<(), ClusterError> {
        let config = &self.config;
        let columns = config.columns();
        if survey.clustered == 0 {
            return Err(ClusterError::NoCompleteCustomer(columns.join(", ")));
        }
        let scaler = Scaler::from_statistics(&config.scaler_params(), &survey.statistics)?;
        let d = columns.len();
        let mut sample = Array2::zeros((survey.sample.len(), d));
        for (mut row, customer) in sample.rows_mut().into_iter().zip(&survey.sample) {
            for (j, out) in row.iter_mut().enumerate() {
                *out = scaler.scale_logged(j, customer.values[j]);
            }
        }
        // The variance of a scaled column is (weight / spread)² × the raw column's.
        let mean_variance = survey
            .statistics
            .moments()
            .iter()
            .enumerate()
            .map(|(j, m)| (scaler.weight[j] / scaler.spread[j]).powi(2) * m.variance())
            .sum::<f64>()
            / d as f64;
        let distinct = distinct_points(&sample, config.k.to);
        for k in config.k.values() {
            if distinct < k {
                return Err(ClusterError::TooFewDistinctPoints { k, distinct });
            }
            let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
            let ones = vec![1.0; sample.nrows()];
            for _ in 0..config.n_init {
                self.runs.push(Run {
                    k,
                    centroids: kmeans_plus_plus(sample.view(), &ones, k, &mut rng),
                    iterations: 0,
                    converged: false,
                    last_pass: false,
                    inertia: None,
                });
            }
        }
        self.surveyed = Some(Surveyed {
            scaler,
            columns: survey.columns,
            clustered: survey.clustered as usize,
            skipped: survey.skipped as usize,
            sample,
            tolerance: config.tol * mean_variance,
        });
        Ok(())
    }

    /// One Lloyd step of every run still iterating, from its merged sums.
    fn iterate(&mut self, sums: &[RunSums]) -> Result<(), ClusterError> {
        let tolerance = self.surveyed.as_ref().expect("surveyed").tolerance;
        let max_iter = self.config.max_iter;
        let active: Vec<&mut Run> = self
            .runs
            .iter_mut()
            .filter(|r| r.inertia.is_none())
            .collect();
        if active.len() != sums.len() {
            return Err(ClusterError::PartsDiffer(format!(
                "{} runs answered, {} asked",
                sums.len(),
                active.len()
            )));
        }
        for (run, sums) in active.into_iter().zip(sums) {
            if run.last_pass {
                run.inertia = Some(sums.inertia);
                continue;
            }
            let next = moved_centroids(&run.centroids, sums)?;
            let shift = squared_shift(&run.centroids, &next);
            run.centroids = next;
            run.iterations += 1;
            run.converged = shift <= tolerance;
            run.last_pass = run.converged || run.iterations >= max_iter;
        }
        Ok(())
    }

    /// Each k's outcome and metrics, the chosen k and its profiles.
    fn conclude(
        &self,
        described: &[DescribeSums],
        spread: &[SpreadSums],
    ) -> Result<ClusteredInParts, ClusterError> {
        let surveyed = self.surveyed.as_ref().expect("surveyed");
        let d = self.dimensions();
        let seconds = self.started.elapsed().as_secs_f64();
        let silhouette_rows = match self.config.silhouette_sample {
            0 => surveyed.sample.nrows(),
            m => m.min(surveyed.sample.nrows()),
        };
        let silhouette_sample = surveyed
            .sample
            .select(Axis(0), &(0..silhouette_rows).collect::<Vec<_>>());
        let mut sweep = Vec::new();
        let mut profiles = Vec::new();
        for ((run, described), spread) in self.best_runs().zip(described).zip(spread) {
            let means = cluster_means(described, d);
            let sizes: Vec<usize> = described.sizes.iter().map(|s| *s as usize).collect();
            let n: usize = sizes.iter().sum();
            let overall: Vec<f64> = (0..d)
                .map(|j| described.scaled.iter().skip(j).step_by(d).sum::<f64>() / n as f64)
                .collect();
            let labels = assign(silhouette_sample.view(), run.centroids.view(), None).labels;
            let metrics = QualityMetrics {
                silhouette: silhouette(silhouette_sample.view(), &labels),
                silhouette_sample: silhouette_rows,
                davies_bouldin: davies_bouldin_of(&means, &sizes, &spread.distances),
                calinski_harabasz: calinski_harabasz_of(
                    &means,
                    &sizes,
                    &overall,
                    spread.squares.iter().sum(),
                ),
            };
            profiles.push(described.profile.profiles(&surveyed.columns, 3));
            sweep.push(ClusterOutcome {
                k: run.k,
                centroids: run.centroids.clone(),
                labels: Vec::new(),
                distances: Vec::new(),
                inertia: run.inertia.expect("every run done"),
                iterations: run.iterations,
                converged: run.converged,
                init: Init::Sample,
                seconds,
                metrics,
            });
        }
        let (chosen, why) = if sweep.len() > 1 {
            let (k, why) = suggest_k(&sweep);
            (k, Some(why))
        } else {
            (sweep[0].k, None)
        };
        let position = sweep.iter().position(|o| o.k == chosen).expect("fitted");
        Ok(ClusteredInParts {
            scaler: surveyed.scaler.clone(),
            sweep,
            chosen,
            why,
            profiles: profiles.swap_remove(position),
            columns: surveyed.columns.clone(),
            customers: surveyed.clustered,
            skipped: surveyed.skipped,
        })
    }
}

/// The means of the members of each cluster (zeros for an empty one, as the metrics take it).
fn cluster_means(described: &DescribeSums, d: usize) -> Array2<f64> {
    let k = described.sizes.len();
    let mut means = Array2::zeros((k, d));
    for (c, mut row) in means.rows_mut().into_iter().enumerate() {
        let size = described.sizes[c];
        for (j, out) in row.iter_mut().enumerate() {
            let sum = described.scaled[c * d + j];
            *out = if size > 0 { sum / size as f64 } else { sum };
        }
    }
    means
}

/// Centroids moved to their members' means; a cluster left empty is re-seeded at the farthest
/// customer not taken yet, as Lloyd's iterations in one process do.
fn moved_centroids(old: &Array2<f64>, sums: &RunSums) -> Result<Array2<f64>, ClusterError> {
    let (k, d) = old.dim();
    if sums.mass.len() != k || sums.sums.len() != k * d {
        return Err(ClusterError::PartsDiffer(
            "a run's sums do not match its centroids".into(),
        ));
    }
    let mut next = Array2::zeros((k, d));
    let mut far = sums.farthest.iter();
    for (j, mut row) in next.rows_mut().into_iter().enumerate() {
        if sums.mass[j] > 0.0 {
            for (c, s) in row.iter_mut().zip(&sums.sums[j * d..(j + 1) * d]) {
                *c = s / sums.mass[j];
            }
        } else {
            let customer = far.next().ok_or_else(|| {
                ClusterError::PartsDiffer("too few customers to re-seed an empty cluster".into())
            })?;
            row.assign(&ndarray::ArrayView1::from(&customer.point));
        }
    }
    Ok(next)
}

/// Distinct rows of `sample`, counted up to `enough`.
fn distinct_points(sample: &Array2<f64>, enough: usize) -> usize {
    let mut distinct = std::collections::HashSet::new();
    for row in sample.rows() {
        distinct.insert(
            row.iter()
                .map(|v| (v + 0.0).to_bits())
                .collect::<Vec<u64>>(),
        );
        if distinct.len() >= enough {
            break;
        }
    }
    distinct.len()
}
