//! `lookalike bench clustering`: a grid of clustering settings run side by side on one feature
//! table, with timings and quality; a table on stdout, CSV and JSON files and SVG plots.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use lookalike_cluster::{
    Algorithm, ClusterConfig, Init, Precision, Scaling, SettingRun, SettingsGrid, complete_mask,
};
use lookalike_features::read_feature_table;
use ndarray::Array2;
use serde_json::json;

use crate::output::Ui;
use crate::plots::{self, Series};

/// Options of `lookalike bench`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(Debug, clap::Subcommand)]
enum What {
    /// Compare k-means settings: every combination of the listed values.
    Clustering(ClusteringArgs),
}

/// Options of `lookalike bench clustering`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  lookalike bench clustering --features features.parquet --out bench
  lookalike bench clustering --features features.parquet --k 4,8 --init kmeans++,random \\
      --algo lloyd,hamerly --scaling standard,robust --repeats 3 --out bench")]
pub struct ClusteringArgs {
    /// Feature table (.csv or .parquet).
    #[arg(long, value_name = "FILE")]
    features: PathBuf,
    /// Feature columns, comma-separated [default: orders,total_spend,days_since_last_purchase,T].
    #[arg(long, value_delimiter = ',', value_name = "COLUMNS")]
    columns: Vec<String>,
    /// Values of k.
    #[arg(long, value_delimiter = ',', default_value = "4,8,16")]
    k: Vec<usize>,
    /// Initialisations.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "kmeans++,kmeans-par"
    )]
    init: Vec<Init>,
    /// Algorithms.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "lloyd,hamerly"
    )]
    algo: Vec<Algorithm>,
    /// Scalings.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "standard")]
    scaling: Vec<Scaling>,
    /// Restart counts.
    #[arg(long, value_delimiter = ',', default_value = "1")]
    n_init: Vec<usize>,
    /// Precisions.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "f64")]
    precision: Vec<Precision>,
    /// Timed runs per setting (median and min are reported).
    #[arg(long, default_value_t = 3)]
    repeats: usize,
    /// Start every run from these centroids (CSV, one row per cluster, in the scaled space) instead
    /// of an initialisation: compares algorithms from the same start.
    #[arg(long, value_name = "FILE")]
    init_centroids: Option<PathBuf>,
    /// Most iterations per run.
    #[arg(long, default_value_t = 300)]
    max_iter: usize,
    /// Convergence tolerance (0: run max_iter iterations unless nothing moves).
    #[arg(long, default_value_t = 1e-4)]
    tol: f64,
    /// Random seed.
    #[arg(long = "random-seed", alias = "seed", default_value_t = 0)]
    seed: u64,
    /// Customers per mini-batch.
    #[arg(long, default_value_t = 4096)]
    batch_size: usize,
    /// Customers in the stratified silhouette sample (0: exact).
    #[arg(long, default_value_t = 10_000)]
    silhouette_sample: usize,
    /// Output folder: bench.csv, bench.json, elbow.svg, silhouette.svg, time_quality.svg.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

fn read_centroids(path: &Path, columns: &[String]) -> anyhow::Result<Array2<f64>> {
    let mut reader =
        csv::Reader::from_path(path).with_context(|| format!("reading {}", path.display()))?;
    let header: Vec<String> = reader.headers()?.iter().map(str::to_string).collect();
    if header.len() != columns.len() {
        bail!(
            "{}: {} columns, but {} feature columns are clustered ({})",
            path.display(),
            header.len(),
            columns.len(),
            columns.join(", ")
        );
    }
    let mut values = Vec::new();
    let mut rows = 0;
    for (line, record) in reader.records().enumerate() {
        let record = record.with_context(|| format!("reading {}", path.display()))?;
        for (j, cell) in record.iter().enumerate() {
            let value: f64 = cell
                .trim()
                .parse()
                .ok()
                .filter(|v: &f64| v.is_finite())
                .with_context(|| {
                    format!(
                        "{}, line {}, column {}: {cell:?} is not a finite number",
                        path.display(),
                        line + 2,
                        header[j]
                    )
                })?;
            values.push(value);
        }
        rows += 1;
    }
    Ok(Array2::from_shape_vec((rows, columns.len()), values)?)
}

pub fn run(args: Args, ui: &Ui) -> anyhow::Result<()> {
    let What::Clustering(args) = args.what;
    if args.repeats == 0 {
        bail!("--repeats must be at least 1");
    }
    if args.k.contains(&0) {
        bail!("--k values must be at least 1");
    }
    let all = read_feature_table(&args.features, None)?;
    crate::paths::Paths::new()
        .table("--features", Some(&args.features))
        .input("--init-centroids", args.init_centroids.as_deref())
        .output_folder("--out", Some(&args.out))
        .check()?;
    let staged = crate::paths::stage_folder("--out", &args.out, |name| {
        name == "bench.json" || name == "bench.csv"
    })?;
    let columns = ClusterConfig {
        columns: args.columns.clone(),
        ..ClusterConfig::default()
    }
    .columns();
    // As `cluster`: customers missing a clustered value are left out (and counted).
    let complete = complete_mask(&all, &columns);
    let kept: Vec<usize> = (0..all.len()).filter(|i| complete[*i]).collect();
    let table = all.select_rows(&kept);
    if kept.is_empty() {
        bail!(
            "no customer of {} has a value in every clustered column ({})",
            args.features.display(),
            columns.join(", ")
        );
    }
    if kept.len() < all.len() {
        ui.say(format!(
            "{} customers miss a value in {} and are left out",
            all.len() - kept.len(),
            columns.join(", ")
        ));
    }
    let initial = match &args.init_centroids {
        Some(path) => Some(read_centroids(path, &columns)?),
        None => None,
    };
    if let Some(start) = &initial
        && (args.k.len() != 1 || args.k[0] != start.nrows())
    {
        bail!(
            "--init-centroids has {} rows: use --k {}",
            start.nrows(),
            start.nrows()
        );
    }
    let grid = SettingsGrid {
        ks: args.k.clone(),
        inits: args.init.clone(),
        algorithms: args.algo.clone(),
        scalings: args.scaling.clone(),
        n_inits: args.n_init.clone(),
        precisions: args.precision.clone(),
        repeats: args.repeats,
        base: ClusterConfig {
            columns: columns.clone(),
            max_iter: args.max_iter,
            tol: args.tol,
            seed: args.seed,
            batch_size: args.batch_size,
            silhouette_sample: args.silhouette_sample,
            ..ClusterConfig::default()
        },
        initial,
    };
    let total = grid.len();
    let rows = grid
        .run(&table, |run, position| {
            ui.say(format!(
                "[{position}/{total}] k={} {} {} {} n_init={} {}: {:.3} s",
                run.k,
                run.config.scaling.name(),
                run.init,
                run.config.algorithm.name(),
                run.config.n_init,
                run.config.precision.name(),
                run.median_seconds()
            ))
        })
        .with_context(|| format!("comparing settings on {}", args.features.display()))?;
    write_outputs(&rows, staged.path(), table.len())?;
    staged.publish()?;
    ui.data(&table_text(&rows, table.len()))?;
    Ok(())
}

fn table_text(rows: &[SettingRun], customers: usize) -> String {
    let mut text = format!(
        "BENCH clustering on {customers} customers (times: the fit alone, median and min)\n"
    );
    text += &format!(
        "  {:>3} {:>8} {:>10} {:>9} {:>6} {:>4} {:>9} {:>9} {:>5} {:>15} {:>8} {:>7} {:>11} {:>7}\n",
        "k",
        "scaling",
        "init",
        "algo",
        "n_init",
        "prec",
        "median_s",
        "min_s",
        "iters",
        "inertia",
        "silh",
        "DB",
        "CH",
        "ARI"
    );
    for r in rows {
        let o = &r.outcome;
        text += &format!(
            "  {:>3} {:>8} {:>10} {:>9} {:>6} {:>4} {:>9.3} {:>9.3} {:>5} {:>15.6e} {:>8.4} {:>7.3} {:>11.1} {:>7.4}\n",
            r.k,
            r.config.scaling.name(),
            r.init,
            r.config.algorithm.name(),
            r.config.n_init,
            r.config.precision.name(),
            r.median_seconds(),
            r.min_seconds(),
            o.iterations,
            o.inertia,
            o.metrics.silhouette,
            o.metrics.davies_bouldin,
            o.metrics.calinski_harabasz,
            r.ari_vs_best
        );
    }
    text
}

fn write_outputs(rows: &[SettingRun], out: &Path, customers: usize) -> anyhow::Result<()> {
    let records: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            let o = &r.outcome;
            json!({
                "k": r.k, "scaling": r.config.scaling.name(), "init": r.init, "algo": r.config.algorithm.name(),
                "n_init": r.config.n_init, "precision": r.config.precision.name(), "customers": customers,
                "median_seconds": r.median_seconds(), "min_seconds": r.min_seconds(),
                "seconds": r.seconds, "iterations": o.iterations, "converged": o.converged, "inertia": o.inertia,
                "silhouette": o.metrics.silhouette, "silhouette_sample_size": o.metrics.silhouette_sample,
                "davies_bouldin": o.metrics.davies_bouldin, "calinski_harabasz": o.metrics.calinski_harabasz,
                "ari_vs_best": r.ari_vs_best,
            })
        })
        .collect();
    let json_path = out.join("bench.json");
    lookalike_core::write_atomically(&json_path, |w| {
        serde_json::to_writer_pretty(&mut *w, &records).map_err(std::io::Error::other)?;
        w.write_all(b"\n")
    })
    .with_context(|| format!("writing {}", json_path.display()))?;
    let csv_path = out.join("bench.csv");
    let fields = [
        "k",
        "scaling",
        "init",
        "algo",
        "n_init",
        "precision",
        "customers",
        "median_seconds",
        "min_seconds",
        "iterations",
        "converged",
        "inertia",
        "silhouette",
        "silhouette_sample_size",
        "davies_bouldin",
        "calinski_harabasz",
        "ari_vs_best",
    ];
    lookalike_core::write_atomically(&csv_path, |w| {
        writeln!(w, "{}", fields.join(","))?;
        for record in &records {
            let cells: Vec<String> = fields
                .iter()
                .map(|f| match &record[*f] {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect();
            writeln!(w, "{}", cells.join(","))?;
        }
        Ok(())
    })
    .with_context(|| format!("writing {}", csv_path.display()))?;
    // One series per setting other than k.
    let mut by_setting: BTreeMap<String, Vec<&SettingRun>> = BTreeMap::new();
    for r in rows {
        let label = format!(
            "{} {} {} n_init={} {}",
            r.config.scaling.name(),
            r.init,
            r.config.algorithm.name(),
            r.config.n_init,
            r.config.precision.name()
        );
        by_setting.entry(label).or_default().push(r);
    }
    let series = |value: &dyn Fn(&SettingRun) -> (f64, f64), named: bool| -> Vec<Series> {
        by_setting
            .iter()
            .map(|(label, rs)| Series {
                label: label.clone(),
                points: rs.iter().map(|r| value(r)).collect(),
                notes: if named {
                    rs.iter().map(|r| format!("   k={}", r.k)).collect()
                } else {
                    Vec::new()
                },
            })
            .collect()
    };
    plots::lines(
        "Elbow: inertia by k",
        "k",
        "inertia",
        &series(&|r| (r.k as f64, r.outcome.inertia), false),
        true,
        &out.join("elbow.svg"),
    )?;
    plots::lines(
        "Silhouette by k",
        "k",
        "silhouette",
        &series(&|r| (r.k as f64, r.outcome.metrics.silhouette), false),
        true,
        &out.join("silhouette.svg"),
    )?;
    plots::lines(
        "Time against quality (each point one setting and k)",
        "median fit seconds",
        "silhouette",
        &series(
            &|r| (r.median_seconds(), r.outcome.metrics.silhouette),
            true,
        ),
        false,
        &out.join("time_quality.svg"),
    )?;
    Ok(())
}
