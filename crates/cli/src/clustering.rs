//! The files and tables of a clustering (fitted by `lookalike_cluster::cluster_table`), shared
//! by `cluster`, `train` and `demo`: `model.json`, the assignments, the profiles, the sweep.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use lookalike_cluster::{ClusterConfig, ClusterOutcome, ClusterProfile, Clustering};
use lookalike_core::FeatureTable;

/// Writes `model.json` (see models/README.md).
pub fn write_model(
    dir: &Path,
    config: &ClusterConfig,
    clustering: &Clustering,
    source: &Path,
) -> anyhow::Result<()> {
    let model = clustering.document(config, &source.display().to_string());
    let path = dir.join("model.json");
    lookalike_core::write_atomically(&path, |w| {
        serde_json::to_writer_pretty(&mut *w, &model).map_err(std::io::Error::other)?;
        w.write_all(b"\n")
    })
    .with_context(|| format!("writing {}", path.display()))
}

/// Writes `profiles.csv` (the library's `profiles_csv`, as the model folder keeps it).
pub fn write_profiles(
    table: &FeatureTable,
    profiles: &[ClusterProfile],
    path: &Path,
) -> anyhow::Result<()> {
    let text = lookalike_pipeline::profiles_csv(table.columns(), profiles);
    lookalike_core::write_atomically(path, |w| w.write_all(text.as_bytes()))
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

/// The sweep as a readable table.
pub fn sweep_table(results: &[ClusterOutcome]) -> String {
    let mut text = format!(
        "  {:>3} {:>14} {:>11} {:>15} {:>18} {:>6} {:>9}\n",
        "k", "inertia", "silhouette", "davies_bouldin", "calinski_harabasz", "iters", "seconds"
    );
    for o in results {
        text += &format!(
            "  {:>3} {:>14.4} {:>11.4} {:>15.4} {:>18.2} {:>6} {:>9.3}\n",
            o.k,
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

/// Writes `sweep.csv`: one row per k.
pub fn write_sweep(results: &[ClusterOutcome], path: &Path) -> anyhow::Result<()> {
    lookalike_core::write_atomically(path, |w| {
        writeln!(w, "k,inertia,silhouette,silhouette_sample_size,davies_bouldin,calinski_harabasz,iterations,converged,seconds")?;
        for o in results {
            writeln!(
                w,
                "{},{},{},{},{},{},{},{},{}",
                o.k,
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
