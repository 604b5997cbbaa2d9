//! The files and tables of a clustering (fitted by `lookalike_cluster::cluster_table`), shared
//! by `cluster`, `train` and `demo`: `model.json`, the assignments, the profiles, the sweep.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use arrow_array::{ArrayRef, Float64Array, StringArray, UInt32Array};
use arrow_schema::{DataType, Field, Schema};
use lookalike_cluster::{ClusterConfig, ClusterOutcome, ClusterProfile, Clustering};
use lookalike_core::FeatureTable;
use lookalike_features::{write_csv_in_parallel, write_parquet_in_parallel};
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

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

/// Writes one row per customer of `table` (`customer_id, cluster, distance`) as CSV or Parquet,
/// with empty cells for customers that were not clustered.
pub fn write_assignments(
    table: &FeatureTable,
    clustering: &Clustering,
    path: &Path,
) -> anyhow::Result<()> {
    let parquet = crate::output::is_parquet_output(path)?;
    let ids = table.ids();
    let cluster = |i: usize| clustering.assignment(i).map(|(c, _)| c as u32);
    let distance = |i: usize| clustering.assignment(i).map(|(_, d)| d);
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
