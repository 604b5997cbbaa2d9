//! `lookalike cluster`: k-means on a feature table; the model, assignments and profiles in a
//! folder; with `--k 2..16`, a sweep over k that suggests one.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, bail};
use lookalike_cluster::cluster_profiles;
use lookalike_core::FeatureTable;
use lookalike_features::read_feature_table;

use crate::clustering::{
    self, Algo, Config, DEFAULT_COLUMNS, InitArg, Outcome, Precision, ScalingArg,
};
use crate::output::Ui;

/// Options of `lookalike cluster`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Feature table written by `lookalike features` (.csv or .parquet).
    #[arg(long, value_name = "FILE")]
    pub features: PathBuf,
    /// Clusters: one number (8) or an inclusive range to sweep (2..16).
    #[arg(long, value_name = "K|FROM..TO", default_value = "8")]
    pub k: String,
    /// Feature columns to cluster on, comma-separated [default: orders,total_spend,days_since_last_purchase,T].
    #[arg(long, value_name = "COLUMNS", value_delimiter = ',')]
    pub columns: Vec<String>,
    /// How columns are scaled before distances are measured.
    #[arg(long, value_enum, default_value_t = ScalingArg::Standard)]
    pub scaling: ScalingArg,
    /// Columns passed through ln(1 + x) before scaling (skewed amounts and counts).
    #[arg(long, value_name = "COLUMNS", value_delimiter = ',')]
    pub log1p: Vec<String>,
    /// A column's weight in distances, COLUMN=WEIGHT (repeatable; default 1).
    #[arg(long = "weight", value_name = "COLUMN=WEIGHT")]
    pub weights: Vec<String>,
    /// Initialisation (auto: k-means‖ above 50,000 customers, k-means++ below).
    #[arg(long, value_enum, default_value_t = InitArg::Auto)]
    pub init: InitArg,
    /// Algorithm.
    #[arg(long, value_enum, default_value_t = Algo::Hamerly)]
    pub algo: Algo,
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
    #[arg(long, default_value_t = 0)]
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

/// What to do with customers missing a clustered value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Missing {
    /// Leave them out of the fit; their cluster is empty in the assignments.
    Skip,
    /// Stop with an error naming the first such customer.
    Fail,
}

/// `8` or `2..16`.
fn parse_k(text: &str) -> anyhow::Result<Vec<usize>> {
    let number = |s: &str| -> anyhow::Result<usize> {
        s.trim().parse().with_context(|| {
            format!("--k {text:?}: expected a number like 8 or a range like 2..16")
        })
    };
    let ks: Vec<usize> = match text.split_once("..") {
        Some((from, to)) => {
            let (from, to) = (number(from)?, number(to.trim_start_matches('=')));
            let to = to?;
            if from > to {
                bail!("--k {text}: the range is empty (from {from} to {to})");
            }
            (from..=to).collect()
        }
        None => vec![number(text)?],
    };
    if ks.contains(&0) {
        bail!("--k must be at least 1");
    }
    Ok(ks)
}

fn parse_weights(weights: &[String]) -> anyhow::Result<Vec<(String, f64)>> {
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

/// The configuration of `args` for `k` clusters.
pub fn config(args: &Args, k: usize) -> anyhow::Result<Config> {
    Ok(Config {
        k,
        columns: if args.columns.is_empty() {
            DEFAULT_COLUMNS.iter().map(|c| c.to_string()).collect()
        } else {
            args.columns.clone()
        },
        scaling: args.scaling,
        log1p: args.log1p.clone(),
        weights: parse_weights(&args.weights)?,
        init: args.init,
        algo: args.algo,
        n_init: args.n_init,
        max_iter: args.max_iter,
        tol: args.tol,
        seed: args.seed,
        batch_size: args.batch_size,
        precision: args.precision,
        silhouette_sample: args.silhouette_sample,
    })
}

/// The suggested k of a sweep and why: the highest silhouette, ties to the smaller k.
fn suggest(results: &[(usize, Outcome)]) -> (usize, String) {
    let best = results.iter().filter(|(k, _)| *k >= 2).max_by(|a, b| {
        a.1.metrics
            .silhouette
            .total_cmp(&b.1.metrics.silhouette)
            .then(b.0.cmp(&a.0))
    });
    let Some((k, outcome)) = best else {
        return (results[0].0, "only one k was fitted".into());
    };
    let lowest_db = results
        .iter()
        .filter(|(k, _)| *k >= 2)
        .min_by(|a, b| {
            a.1.metrics
                .davies_bouldin
                .total_cmp(&b.1.metrics.davies_bouldin)
        })
        .map(|(k, _)| *k);
    let mut why = format!(
        "highest silhouette ({:.3}): customers sit closest to their own cluster relative to the next one",
        outcome.metrics.silhouette
    );
    why += &match lowest_db {
        Some(db) if db == *k => "; Davies-Bouldin is also lowest there".to_string(),
        Some(db) => format!("; Davies-Bouldin would prefer k = {db}"),
        None => String::new(),
    };
    (*k, why)
}

fn sweep_table(results: &[(usize, Outcome)]) -> String {
    let mut text = format!(
        "  {:>3} {:>14} {:>11} {:>15} {:>18} {:>6} {:>9}\n",
        "k", "inertia", "silhouette", "davies_bouldin", "calinski_harabasz", "iters", "seconds"
    );
    for (k, o) in results {
        text += &format!(
            "  {:>3} {:>14.4} {:>11.4} {:>15.4} {:>18.2} {:>6} {:>9.3}\n",
            k,
            o.inertia,
            o.metrics.silhouette,
            o.metrics.davies_bouldin,
            o.metrics.calinski_harabasz,
            o.iterations,
            o.seconds
        );
    }
    text
}

fn write_sweep(results: &[(usize, Outcome)], path: &std::path::Path) -> anyhow::Result<()> {
    lookalike_core::write_atomically(path, |w| {
        writeln!(w, "k,inertia,silhouette,silhouette_sample_size,davies_bouldin,calinski_harabasz,iterations,converged,seconds")?;
        for (k, o) in results {
            writeln!(
                w,
                "{k},{},{},{},{},{},{},{},{}",
                o.inertia,
                o.metrics.silhouette,
                o.metrics.silhouette_sample,
                o.metrics.davies_bouldin,
                o.metrics.calinski_harabasz,
                o.iterations,
                o.converged,
                o.seconds
            )?;
        }
        Ok(())
    })
    .with_context(|| format!("writing {}", path.display()))
}

/// Fits (or sweeps), writes the model folder and returns the report text.
pub fn cluster_to_dir(args: &Args, ui: &Ui) -> anyhow::Result<String> {
    let ks = parse_k(&args.k)?;
    let all: FeatureTable = read_feature_table(&args.features, None)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let first = config(args, ks[0])?;
    let (rows, table) = match args.missing {
        Missing::Skip => clustering::complete_rows(&all, &first.columns)?,
        Missing::Fail => ((0..all.len()).collect(), all.clone()),
    };
    let skipped = all.len() - rows.len();
    let mut fitted: Vec<Option<usize>> = vec![None; all.len()];
    for (position, row) in rows.iter().enumerate() {
        fitted[*row] = Some(position);
    }
    if table.is_empty() {
        bail!(
            "no customer of {} has a value in every clustered column ({})",
            args.features.display(),
            first.columns.join(", ")
        );
    }
    let scaled = clustering::scale(&table, &first, &args.features)?;
    let mut results: Vec<(usize, Outcome)> = Vec::new();
    for k in &ks {
        let config = config(args, *k)?;
        let outcome = clustering::fit(&scaled.matrix, &config, None)
            .with_context(|| format!("k-means with k = {k} on {}", args.features.display()))?;
        if ks.len() > 1 {
            ui.say(format!(
                "k = {k}: silhouette {:.3}, {:.2} s",
                outcome.metrics.silhouette, outcome.seconds
            ));
        }
        results.push((*k, outcome));
    }
    let mut text = String::new();
    let chosen = if ks.len() > 1 {
        let (k, why) = suggest(&results);
        write_sweep(&results, &args.out.join("sweep.csv"))?;
        text += &format!(
            "SWEEP over k on {} customers ({} in the silhouette sample)\n",
            table.len(),
            results[0].1.metrics.silhouette_sample
        );
        text += &sweep_table(&results);
        text += &format!("suggested k = {k}: {why}\n\n");
        k
    } else {
        ks[0]
    };
    let config = config(args, chosen)?;
    let (_, outcome) = results
        .into_iter()
        .find(|(k, _)| *k == chosen)
        .expect("fitted");
    let profiles = cluster_profiles(&table, &outcome.labels, chosen, 3);
    clustering::write_model(
        &args.out,
        &config,
        &scaled,
        &outcome,
        &profiles,
        &args.features,
    )?;
    clustering::write_assignments(&all, &outcome, &fitted, &args.out.join(&args.assignments))?;
    clustering::write_profiles(&table, &profiles, &args.out.join("profiles.csv"))?;
    text += &format!(
        "CLUSTERS  k = {chosen} on {} customers, columns {}; {} init, {} iterations{}; inertia {:.4}\n  silhouette {:.3} ({}), Davies-Bouldin {:.3}, Calinski-Harabasz {:.1}\n  written to {} (model.json, {}, profiles.csv)\n",
        table.len(),
        config.columns.join(", "),
        clustering::init_name(outcome.init),
        outcome.iterations,
        if outcome.converged { ", converged" } else { "" },
        outcome.inertia,
        outcome.metrics.silhouette,
        if outcome.metrics.silhouette_sample < table.len() {
            format!("stratified sample of {}", outcome.metrics.silhouette_sample)
        } else {
            "exact".to_string()
        },
        outcome.metrics.davies_bouldin,
        outcome.metrics.calinski_harabasz,
        args.out.display(),
        args.assignments
    );
    if skipped > 0 {
        text += &format!(
            "  {skipped} customers miss a value in these columns (e.g. no purchase yet) and were not clustered; their cluster is empty in {}\n",
            args.assignments
        );
    }
    text += &clustering::profiles_table(&table, &profiles, &config.columns);
    Ok(text)
}

pub fn run(args: Args, ui: &Ui) -> anyhow::Result<()> {
    let text = cluster_to_dir(&args, ui)?;
    ui.data(&text)?;
    Ok(())
}
