//! Fitting one clustering configuration on a feature table, shared by `cluster`, `bench
//! clustering` and `demo`: scaling, the fit (ours in f32 or f64, or linfa-clustering), the
//! quality metrics, and the files of a fitted model.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use arrow_array::{ArrayRef, Float64Array, StringArray, UInt32Array};
use arrow_schema::{DataType, Field, Schema};
use lookalike_cluster::{
    Algorithm, ClusterProfile, Init, KMeansParams, Scaler, ScalerParams, Scaling,
    calinski_harabasz, davies_bouldin, fit_with_linfa, sampled_silhouette,
};
use lookalike_core::FeatureTable;
use lookalike_features::{write_csv_in_parallel, write_parquet_in_parallel};
use ndarray::Array2;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use rayon::prelude::*;
use serde_json::json;

/// The algorithms the CLI offers: ours, or linfa-clustering's Lloyd.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Algo {
    /// Lloyd's iterations (blocked, SIMD).
    Lloyd,
    /// Hamerly's bounds: Lloyd's result with fewer distance computations.
    Hamerly,
    /// Sculley's mini-batch k-means: approximate, for very large n.
    Minibatch,
    /// linfa-clustering's KMeans, for comparison.
    Linfa,
}

/// Initialisations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InitArg {
    /// k-means‖ above 50,000 customers, k-means++ below.
    Auto,
    /// Greedy k-means++.
    #[value(name = "kmeans++")]
    KMeansPlusPlus,
    /// k-means‖ (Bahmani et al. 2012).
    #[value(name = "kmeans-par")]
    KMeansParallel,
    /// Random distinct customers.
    Random,
}

/// Scalings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ScalingArg {
    /// (x − mean) / standard deviation.
    Standard,
    /// (x − median) / interquartile range.
    Robust,
    /// Raw values.
    None,
}

/// Numeric precision of the fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Precision {
    /// 32-bit floats: half the memory, faster.
    F32,
    /// 64-bit floats.
    F64,
}

/// Customers above which `auto` initialisation uses k-means‖.
const PARALLEL_INIT_FROM: usize = 50_000;

/// Columns clustered when none are named: behaviour every customer has a value for.
pub const DEFAULT_COLUMNS: [&str; 4] = ["orders", "total_spend", "days_since_last_purchase", "T"];

/// One configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub k: usize,
    pub columns: Vec<String>,
    pub scaling: ScalingArg,
    pub log1p: Vec<String>,
    pub weights: Vec<(String, f64)>,
    pub init: InitArg,
    pub algo: Algo,
    pub n_init: usize,
    pub max_iter: usize,
    pub tol: f64,
    pub seed: u64,
    pub batch_size: usize,
    pub precision: Precision,
    /// Stratified sample size for the silhouette (0: exact).
    pub silhouette_sample: usize,
}

impl Config {
    fn scaler_params(&self) -> ScalerParams {
        let mut params = ScalerParams::new(self.columns.clone())
            .scaling(match self.scaling {
                ScalingArg::Standard => Scaling::Standard,
                ScalingArg::Robust => Scaling::Robust,
                ScalingArg::None => Scaling::None,
            })
            .log1p(self.log1p.clone());
        for (column, weight) in &self.weights {
            params = params.weight(column.clone(), *weight);
        }
        params
    }

    /// The initialisation actually used for `n` customers.
    pub fn init_for(&self, n: usize) -> Init {
        match self.init {
            InitArg::Auto if n > PARALLEL_INIT_FROM => Init::KMeansParallel,
            InitArg::Auto | InitArg::KMeansPlusPlus => Init::KMeansPlusPlus,
            InitArg::KMeansParallel => Init::KMeansParallel,
            InitArg::Random => Init::Random,
        }
    }

    fn kmeans_params(&self, n: usize) -> KMeansParams {
        KMeansParams::new(self.k)
            .init(self.init_for(n))
            .algorithm(match self.algo {
                Algo::Hamerly => Algorithm::Hamerly,
                Algo::Minibatch => Algorithm::MiniBatch,
                Algo::Lloyd | Algo::Linfa => Algorithm::Lloyd,
            })
            .n_init(self.n_init)
            .max_iter(self.max_iter)
            .tol(self.tol)
            .seed(self.seed)
            .batch_size(self.batch_size)
    }
}

/// The scaled matrix of a table, with its scaler.
pub struct Scaled {
    pub scaler: Scaler,
    pub matrix: Array2<f64>,
}

/// Fits the scaler of `config` on `table` and scales it.
pub fn scale(table: &FeatureTable, config: &Config, source: &Path) -> anyhow::Result<Scaled> {
    let scaler = Scaler::fit(table, &config.scaler_params())
        .with_context(|| format!("scaling the features of {}", source.display()))?;
    let matrix = scaler.transform(table)?;
    Ok(Scaled { scaler, matrix })
}

/// A fitted configuration with its quality.
pub struct Outcome {
    /// Centroids in the scaled space, k × columns.
    pub centroids: Array2<f64>,
    pub labels: Vec<usize>,
    /// Euclidean distance of each customer to its centroid, in the scaled space.
    pub distances: Vec<f64>,
    pub inertia: f64,
    pub iterations: usize,
    pub converged: bool,
    pub init: Init,
    pub seconds: f64,
    pub metrics: Metrics,
}

/// Quality metrics of a labelling.
#[derive(Debug, Clone, Copy)]
pub struct Metrics {
    pub silhouette: f64,
    pub silhouette_sample: usize,
    pub davies_bouldin: f64,
    pub calinski_harabasz: f64,
}

/// Quality of `labels` on the scaled matrix.
pub fn metrics(matrix: &Array2<f64>, labels: &[usize], sample: usize, seed: u64) -> Metrics {
    let silhouette = sampled_silhouette(
        matrix.view(),
        labels,
        if sample == 0 { usize::MAX } else { sample },
        seed,
    );
    Metrics {
        silhouette: silhouette.value,
        silhouette_sample: silhouette.sample_size,
        davies_bouldin: davies_bouldin(matrix.view(), labels),
        calinski_harabasz: calinski_harabasz(matrix.view(), labels),
    }
}

/// Fits `config` on the scaled matrix (from `initial` centroids when given); times the fit only.
pub fn fit(
    matrix: &Array2<f64>,
    config: &Config,
    initial: Option<&Array2<f64>>,
) -> anyhow::Result<Outcome> {
    let n = matrix.nrows();
    let params = config.kmeans_params(n).validate()?;
    // The f32 copies are made before the clock starts: the fit is timed, not the conversion.
    let narrow = (config.precision == Precision::F32).then(|| matrix.mapv(|v| v as f32));
    let narrow_start = initial.map(|c| c.mapv(|v| v as f32));
    let started = Instant::now();
    let (centroids, labels, squared, inertia, iterations, converged) = match (config.algo, &narrow)
    {
        (Algo::Linfa, None) => {
            let model = fit_with_linfa(&params, matrix.view(), initial.cloned())?;
            let (labels, squared) = model.predict(matrix.view());
            (
                model.centroids().clone(),
                labels,
                squared,
                model.inertia(),
                0,
                false,
            )
        }
        (Algo::Linfa, Some(narrow)) => {
            let model = fit_with_linfa(&params, narrow.view(), narrow_start)?;
            let (labels, squared) = model.predict(narrow.view());
            let squared = squared.iter().map(|v| f64::from(*v)).collect();
            let centroids = model.centroids().mapv(f64::from);
            (centroids, labels, squared, model.inertia(), 0, false)
        }
        (_, None) => {
            let fitted = match initial {
                Some(start) => params.fit_predict_from(matrix.view(), None, start.clone())?,
                None => params.fit_predict(matrix.view(), None)?,
            };
            let m = fitted.model;
            (
                m.centroids().clone(),
                fitted.labels,
                fitted.distances,
                m.inertia(),
                m.iterations(),
                m.converged(),
            )
        }
        (_, Some(narrow)) => {
            let fitted = match narrow_start {
                Some(start) => params.fit_predict_from(narrow.view(), None, start)?,
                None => params.fit_predict(narrow.view(), None)?,
            };
            let m = fitted.model;
            let squared = fitted.distances.iter().map(|v| f64::from(*v)).collect();
            (
                m.centroids().mapv(f64::from),
                fitted.labels,
                squared,
                m.inertia(),
                m.iterations(),
                m.converged(),
            )
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    let metrics = metrics(matrix, &labels, config.silhouette_sample, config.seed);
    Ok(Outcome {
        centroids,
        distances: squared.iter().map(|d| d.max(0.0).sqrt()).collect(),
        labels,
        inertia,
        iterations,
        converged,
        init: params.params().init_method(),
        seconds,
        metrics,
    })
}

/// Name of an initialisation in files and tables.
pub fn init_name(init: Init) -> &'static str {
    match init {
        Init::KMeansPlusPlus => "kmeans++",
        Init::KMeansParallel => "kmeans-par",
        Init::Random => "random",
    }
}

fn value_name<T: clap::ValueEnum>(value: T) -> String {
    value
        .to_possible_value()
        .map(|v| v.get_name().to_string())
        .unwrap_or_default()
}

/// Writes `model.json` (see models/README.md).
pub fn write_model(
    dir: &Path,
    config: &Config,
    scaled: &Scaled,
    outcome: &Outcome,
    profiles: &[ClusterProfile],
    source: &Path,
) -> anyhow::Result<()> {
    let s = &scaled.scaler;
    let model = json!({
        "format": "lookalike-kmeans",
        "version": 1,
        "features_file": source.display().to_string(),
        "k": config.k,
        "columns": s.columns,
        "scaling": s.parameters(),
        "centroids": outcome.centroids.rows().into_iter().map(|r| r.to_vec()).collect::<Vec<_>>(),
        "parameters": {
            "init": init_name(outcome.init),
            "algorithm": value_name(config.algo),
            "n_init": config.n_init,
            "max_iter": config.max_iter,
            "tol": config.tol,
            "seed": config.seed,
            "batch_size": config.batch_size,
            "precision": value_name(config.precision),
        },
        "fit": {
            "customers": outcome.labels.len(),
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
    });
    let path = dir.join("model.json");
    lookalike_core::write_atomically(&path, |w| {
        serde_json::to_writer_pretty(&mut *w, &model).map_err(std::io::Error::other)?;
        w.write_all(b"\n")
    })
    .with_context(|| format!("writing {}", path.display()))
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

/// The customers with a value in every one of `columns` (unknown columns are left for the
/// scaler to report), and the table of just those customers.
pub fn complete_rows(
    table: &FeatureTable,
    columns: &[String],
) -> anyhow::Result<(Vec<usize>, FeatureTable)> {
    rows_where(table, &complete_mask(table, columns))
}

/// The rows where `keep` holds, and the table of just those rows (the table itself, cloned,
/// when every row is kept).
pub fn rows_where(
    table: &FeatureTable,
    keep: &[bool],
) -> anyhow::Result<(Vec<usize>, FeatureTable)> {
    let rows: Vec<usize> = (0..table.len()).filter(|i| keep[*i]).collect();
    if rows.len() == table.len() {
        return Ok((rows, table.clone()));
    }
    let ids = rows.iter().map(|i| table.ids()[*i].clone()).collect();
    let subset = FeatureTable::new(
        ids,
        table.columns().to_vec(),
        table.values().select(ndarray::Axis(0), &rows),
    )?;
    Ok((rows, subset))
}

/// Writes one row per customer of `table` (`customer_id, cluster, distance`) as CSV or Parquet;
/// `fitted[i]` is customer i's row in `outcome`, `None` (empty cells) when it was not clustered.
pub fn write_assignments(
    table: &FeatureTable,
    outcome: &Outcome,
    fitted: &[Option<usize>],
    path: &Path,
) -> anyhow::Result<()> {
    let parquet = crate::output::is_parquet_output(path)?;
    let ids = table.ids();
    let cluster = |i: usize| fitted[i].map(|r| outcome.labels[r] as u32);
    let distance = |i: usize| fitted[i].map(|r| outcome.distances[r]);
    if parquet {
        let schema = Arc::new(Schema::new(vec![
            Field::new("customer_id", DataType::Utf8, false),
            Field::new("cluster", DataType::UInt32, true),
            Field::new("distance", DataType::Float64, true),
        ]));
        let properties = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .build();
        write_parquet_in_parallel(path, schema, properties, ids.len(), |rows, j| {
            Ok(match j {
                0 => Arc::new(StringArray::from_iter_values(
                    ids[rows].iter().map(|id| id.as_str()),
                )) as ArrayRef,
                1 => Arc::new(rows.map(cluster).collect::<UInt32Array>()),
                _ => Arc::new(rows.map(distance).collect::<Float64Array>()),
            })
        })
        .with_context(|| format!("writing {}", path.display()))
    } else {
        write_csv_in_parallel(
            path,
            &["customer_id", "cluster", "distance"],
            ids.len(),
            |writer, _, i| {
                writer.write_field(ids[i].as_str())?;
                writer.write_field(cluster(i).map_or(String::new(), |c| c.to_string()))?;
                writer.write_field(distance(i).map_or(String::new(), |d| d.to_string()))
            },
        )
        .with_context(|| format!("writing {}", path.display()))
    }
}

/// Writes `profiles.csv`: one row per cluster with its size, share and every raw feature mean.
pub fn write_profiles(
    table: &FeatureTable,
    profiles: &[ClusterProfile],
    path: &Path,
) -> anyhow::Result<()> {
    let mut header: Vec<&str> = vec!["cluster", "size", "share", "distinguishing"];
    header.extend(table.columns().iter().map(String::as_str));
    write_csv_in_parallel(path, &header, profiles.len(), |writer, _, i| {
        let p = &profiles[i];
        let mut record = vec![
            p.cluster.to_string(),
            p.size.to_string(),
            format!("{:.6}", p.share),
            p.distinguishing
                .iter()
                .map(|(c, z)| format!("{c} {z:+.2}"))
                .collect::<Vec<_>>()
                .join("; "),
        ];
        record.extend(p.means.iter().map(|m| {
            if m.is_finite() {
                format!("{m}")
            } else {
                String::new()
            }
        }));
        record
            .iter()
            .try_for_each(|field| writer.write_field(field))
    })
    .with_context(|| format!("writing {}", path.display()))
}

/// The profiles as a readable table: size, share, a few raw means and what sets each apart.
pub fn profiles_table(
    table: &FeatureTable,
    profiles: &[ClusterProfile],
    shown: &[String],
) -> String {
    let indexes: Vec<(usize, &String)> = shown
        .iter()
        .filter_map(|c| table.column_index(c).ok().map(|i| (i, c)))
        .collect();
    let mut text = format!("  {:>7} {:>8} {:>6}", "cluster", "size", "share");
    for (_, name) in &indexes {
        text += &format!(" {:>14}", truncate(name, 14));
    }
    text += "  most distinguishing (standard deviations from the mean)\n";
    for p in profiles {
        text += &format!("  {:>7} {:>8} {:>5.1}%", p.cluster, p.size, 100.0 * p.share);
        for (i, _) in &indexes {
            text += &format!(" {:>14.2}", p.means[*i]);
        }
        let apart: Vec<String> = p
            .distinguishing
            .iter()
            .map(|(c, z)| format!("{c} {z:+.1}"))
            .collect();
        text += &format!("  {}\n", apart.join(", "));
    }
    text
}

fn truncate(name: &str, width: usize) -> &str {
    match name.char_indices().nth(width) {
        Some((cut, _)) => &name[..cut],
        None => name,
    }
}
