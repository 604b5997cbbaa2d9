//! `lookalike cluster`: k-means on a feature table; the model, assignments and profiles in a
//! folder; with `--k 2..16`, a sweep over k that suggests one. The clustering itself is
//! `lookalike_cluster::cluster_table`, the code `train` runs too.

use std::path::PathBuf;

use anyhow::Context;
use lookalike_cluster::{
    Algorithm, ClusterConfig, ClusterEvent, Clustering, Init, KChoice, Missing, Precision, Scaling,
    cluster_table_watched,
};
use lookalike_core::Progress;
use lookalike_features::read_feature_table;

use crate::clustering;
use crate::output::Ui;
use crate::paths::{self, Paths};

/// Options of `lookalike cluster`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  lookalike cluster --features features.parquet --k 5 --out clusters
  lookalike cluster --features features.parquet --k 2..10 --out sweep
  lookalike cluster --features features.parquet --k 6 --columns orders,total_spend,T \\
      --log1p orders,total_spend --scaling robust --random-seed 1 --out clusters")]
pub struct Args {
    /// Feature table written by `lookalike features` (.csv or .parquet).
    #[arg(long, value_name = "FILE")]
    pub features: PathBuf,
    /// Clusters: one number (8) or an inclusive range to sweep (2..16).
    #[arg(long, value_name = "K|FROM..TO", default_value = "8")]
    pub k: KChoice,
    /// Feature columns to cluster on, comma-separated [default: orders,total_spend,days_since_last_purchase,T].
    #[arg(long, value_name = "COLUMNS", value_delimiter = ',')]
    pub columns: Vec<String>,
    /// How columns are scaled before distances are measured.
    #[arg(long, value_enum, default_value_t = Scaling::Standard)]
    pub scaling: Scaling,
    /// Columns passed through ln(1 + x) before scaling (skewed amounts and counts).
    #[arg(long, value_name = "COLUMNS", value_delimiter = ',')]
    pub log1p: Vec<String>,
    /// A column's weight in distances, COLUMN=WEIGHT (repeatable; default 1).
    #[arg(long = "weight", value_name = "COLUMN=WEIGHT")]
    pub weights: Vec<String>,
    /// Initialisation (auto: k-means‖ above 50,000 customers, k-means++ below; sample:
    /// k-means++ on a hash sample of the customers, the fit `lookalike.spark.train` repeats).
    #[arg(long, value_enum, default_value_t = Init::Auto)]
    pub init: Init,
    /// Algorithm.
    #[arg(long, value_enum, default_value_t = Algorithm::Hamerly)]
    pub algo: Algorithm,
    /// Restarts; the lowest inertia is kept.
    #[arg(long, default_value_t = 3)]
    pub n_init: usize,
    /// Most iterations per restart (mini-batch: passes over the data).
    #[arg(long, default_value_t = 300)]
    pub max_iter: usize,
    /// Convergence tolerance, relative to the data's variance (scikit-learn's meaning).
    #[arg(long, default_value_t = 1e-4)]
    pub tol: f64,
    /// Random seed: the same seed and data give the same clusters.
    #[arg(long = "random-seed", alias = "seed", default_value_t = 0)]
    pub seed: u64,
    /// Customers per mini-batch.
    #[arg(long, default_value_t = 4096)]
    pub batch_size: usize,
    /// Numeric precision of the fit.
    #[arg(long, value_enum, default_value_t = Precision::F64)]
    pub precision: Precision,
    /// Customers in the stratified silhouette sample (0: exact, O(n²)).
    #[arg(long, default_value_t = 10_000)]
    pub silhouette_sample: usize,
    /// With --init sample: customers in the hash sample k-means++ starts from.
    #[arg(long, default_value_t = lookalike_cluster::DEFAULT_INIT_SAMPLE)]
    pub init_sample: usize,
    /// Customers missing a value in a clustered column: skip them (they get an empty cluster in
    /// the assignments) or fail.
    #[arg(long, value_enum, default_value_t = Missing::Skip)]
    pub missing: Missing,
    /// File name of the assignments inside --out (.csv or .parquet).
    #[arg(long, default_value = "assignments.csv", value_name = "NAME")]
    pub assignments: String,
    /// Output folder: model.json, assignments, profiles.csv (and sweep.csv for a range of k).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

fn parse_weights(weights: &[String]) -> anyhow::Result<std::collections::BTreeMap<String, f64>> {
    weights
        .iter()
        .map(|w| {
            let (column, value) = w
                .split_once('=')
                .with_context(|| format!("--weight {w:?}: expected COLUMN=WEIGHT"))?;
            let value: f64 = value
                .parse()
                .with_context(|| format!("--weight {w:?}: {value:?} is not a number"))?;
            Ok((column.to_string(), value))
        })
        .collect()
}

/// The configuration of `args`.
pub fn config(args: &Args) -> anyhow::Result<ClusterConfig> {
    Ok(ClusterConfig {
        k: args.k,
        columns: args.columns.clone(),
        scaling: args.scaling,
        log1p: args.log1p.clone(),
        weights: parse_weights(&args.weights)?,
        init: args.init,
        algorithm: args.algo,
        n_init: args.n_init,
        max_iter: args.max_iter,
        tol: args.tol,
        seed: args.seed,
        batch_size: args.batch_size,
        precision: args.precision,
        silhouette_sample: args.silhouette_sample,
        init_sample: args.init_sample,
        missing: args.missing,
    })
}

/// Fits (or sweeps) as `config` says, writes the model folder `out` (the assignments under
/// `assignments`) and returns the report text.
pub fn cluster_to_dir(
    features: &std::path::Path,
    config: &ClusterConfig,
    out: &std::path::Path,
    assignments: &str,
    ui: &Ui,
) -> anyhow::Result<String> {
    Paths::new()
        .table("--features", Some(features))
        .output_folder("--out", Some(out))
        .check()?;
    let staged = paths::stage_folder("--out", out, |name| {
        [
            "model.json",
            "profiles.csv",
            "sweep.csv",
            "clusters.svg",
            assignments,
        ]
        .contains(&name)
    })?;
    let all = read_feature_table(features, None)?;
    let sweeping = config.k.from < config.k.to;
    let progress = ui.progress();
    let fits = config.k.values().len() as u64;
    progress.start_counting(
        &format!(
            "clustering {} customers",
            lookalike_core::si(all.len() as f64)
        ),
        (fits > 1).then_some(fits),
        lookalike_core::Unit::Items("clusterings"),
    );
    let restarts = config.n_init;
    let clustering =
        cluster_table_watched(&all, config, progress.is_shown(), |event| match event {
            ClusterEvent::Step { k, step } => progress.note(&step.describe(k, restarts)),
            ClusterEvent::Fitted(outcome) => {
                progress.advance(1);
                if sweeping {
                    let line = format!(
                        "k = {}: silhouette {:.3}, {:.2} s",
                        outcome.k, outcome.metrics.silhouette, outcome.seconds
                    );
                    if !progress.println(&line) {
                        ui.say(line);
                    }
                }
            }
        })
        .with_context(|| format!("clustering {}", features.display()))?;
    progress.finish();
    write_outputs(
        &all,
        config,
        &clustering,
        features,
        staged.path(),
        assignments,
    )?;
    staged.publish()?;
    Ok(report_text(config, &clustering, Some(out), assignments))
}

/// Writes the model folder `out` of a clustering of `all` (sweep.csv for a sweep, model.json,
/// the assignments under `assignments`, profiles.csv).
pub fn write_outputs(
    all: &lookalike_core::FeatureTable,
    config: &ClusterConfig,
    clustering: &Clustering,
    features: &std::path::Path,
    out: &std::path::Path,
    assignments: &str,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    if clustering.why.is_some() {
        clustering::write_sweep(&clustering.sweep, &out.join("sweep.csv"))?;
    }
    clustering::write_model(out, config, clustering, features)?;
    let assignments_file = out.join(assignments);
    lookalike_pipeline::write_assignments(all, clustering, &assignments_file)
        .with_context(|| format!("writing {}", assignments_file.display()))?;
    clustering::write_profiles(
        &clustering.table,
        &clustering.profiles,
        &out.join("profiles.csv"),
    )?;
    let plot = out.join("clusters.svg");
    crate::plots::clusters(clustering, &plot).with_context(|| format!("drawing {}", plot.display()))
}

/// The report of a clustering: the sweep (when k was a range), the chosen fit's quality, who
/// was left out, the profiles; `out` is where its files were written, if they were.
pub fn report_text(
    config: &ClusterConfig,
    clustering: &Clustering,
    out: Option<&std::path::Path>,
    assignments: &str,
) -> String {
    let table = &clustering.table;
    let mut text = String::new();
    if let Some(why) = &clustering.why {
        text += &format!(
            "SWEEP over k on {} customers ({} in the silhouette sample)\n",
            table.len(),
            clustering.sweep[0].metrics.silhouette_sample
        );
        text += &clustering::sweep_table(&clustering.sweep);
        text += &format!("suggested k = {}: {why}\n\n", clustering.chosen);
    }
    let outcome = clustering.outcome();
    let columns = config.columns();
    text += &format!(
        "CLUSTERS  k = {} on {} customers, columns {}; {} init, {} iterations{}; inertia {:.4}\n  silhouette {:.3} ({}), Davies-Bouldin {:.3}, Calinski-Harabasz {:.1}\n",
        clustering.chosen,
        table.len(),
        columns.join(", "),
        outcome.init.name(),
        outcome.iterations,
        if outcome.converged { ", converged" } else { "" },
        outcome.inertia,
        outcome.metrics.silhouette,
        if outcome.metrics.silhouette_sample < table.len() && outcome.init == Init::Sample {
            format!("hash sample of {}", outcome.metrics.silhouette_sample)
        } else if outcome.metrics.silhouette_sample < table.len() {
            format!("stratified sample of {}", outcome.metrics.silhouette_sample)
        } else {
            "exact".to_string()
        },
        outcome.metrics.davies_bouldin,
        outcome.metrics.calinski_harabasz,
    );
    if let Some(out) = out {
        text += &format!(
            "  written to {} (model.json, {assignments}, profiles.csv)\n",
            out.display()
        );
    }
    let skipped = clustering.skipped();
    if skipped > 0 {
        text += &format!(
            "  {skipped} customers miss a value in these columns (e.g. no purchase yet) and were not clustered; their cluster is empty in {assignments}\n"
        );
    }
    text += &clustering::profiles_table(table, &clustering.profiles, &columns);
    text
}

pub fn run(mut args: Args, ui: &Ui) -> anyhow::Result<()> {
    let (features, _stdin) = crate::stdin::resolve(&args.features, "csv")?;
    args.features = features;
    let config = config(&args)?;
    let text = cluster_to_dir(&args.features, &config, &args.out, &args.assignments, ui)?;
    ui.data(&text)?;
    Ok(())
}
