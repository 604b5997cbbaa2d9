//! Each stage's per-customer output on a table, as the subcommands and `train --outputs` write
//! it: CSV or Parquet by the file's extension, written atomically, in parallel. The columns are
//! defined here once, for every front end.

mod audience;
mod segments;

use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int64Array, StringArray};
use arrow_schema::{DataType, Field, Schema};
use lookalike_cluster::Clustering;
use lookalike_core::FeatureTable;
use lookalike_features::{write_csv_in_parallel, write_parquet_in_parallel};
use lookalike_value::Prediction;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::PipelineError;

pub use audience::{audience_batch, write_audience};
pub use segments::{segments_batch, write_segments};

/// The formats an output can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// `.csv`.
    Csv,
    /// `.parquet` or `.pq`.
    Parquet,
}

impl OutputFormat {
    /// The format a path's extension asks for; any other extension is refused, so nothing is
    /// written in a format the user did not choose. A stream or device without an extension
    /// (`-`, `/dev/stdout`) gets CSV.
    pub fn of(path: &Path) -> Result<OutputFormat, PipelineError> {
        if path.extension().is_none() && lookalike_core::is_special_output(path) {
            return Ok(OutputFormat::Csv);
        }
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("csv") => Ok(OutputFormat::Csv),
            Some("parquet") | Some("pq") => Ok(OutputFormat::Parquet),
            _ => Err(output_error(
                path,
                "cannot tell the format; use .csv or .parquet".into(),
            )),
        }
    }
}

pub(crate) fn output_error(path: &Path, message: String) -> PipelineError {
    PipelineError::Output {
        path: path.to_path_buf(),
        message,
    }
}

/// Writes one row per customer of `table` (`customer_id, cluster, distance`) as CSV or Parquet,
/// with empty cells for customers that were not clustered.
pub fn write_assignments(
    table: &FeatureTable,
    clustering: &Clustering,
    path: &Path,
) -> Result<(), PipelineError> {
    let parquet = OutputFormat::of(path)? == OutputFormat::Parquet;
    let ids = table.ids();
    let cluster = |i: usize| clustering.assignment(i).map(|(c, _)| c as i64);
    let distance = |i: usize| clustering.assignment(i).map(|(_, d)| d);
    if parquet {
        let schema = Arc::new(Schema::new(vec![
            Field::new("customer_id", DataType::Utf8, false),
            Field::new("cluster", DataType::Int64, true),
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
                1 => Arc::new(rows.map(cluster).collect::<Int64Array>()),
                _ => Arc::new(rows.map(distance).collect::<Float64Array>()),
            })
        })?;
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
        )?;
    }
    Ok(())
}

/// Writes `customer_id, p_alive, expected_purchases, expected_spend, clv` (CSV or Parquet by
/// extension), atomically. Empty cells: no purchase yet (all columns), no spend model (spend
/// and CLV). The purchases over a whole lifetime are not written: they are infinite whenever the
/// dropout prior has a ≤ 1 (BG/NBD) or s ≤ 1 (Pareto/NBD), as the published CDNOW fits and the
/// sample's have, so the column was empty for every customer; the CLV's horizon is the finite
/// quantity to use.
pub fn write_predictions(
    table: &FeatureTable,
    predictions: &[Option<Prediction>],
    path: &Path,
) -> Result<(), PipelineError> {
    const NAMES: [&str; 5] = [
        "customer_id",
        "p_alive",
        "expected_purchases",
        "expected_spend",
        "clv",
    ];
    let value = |i: usize, j: usize| -> Option<f64> {
        let p = predictions[i].as_ref()?;
        match j {
            1 => Some(p.p_alive),
            2 => Some(p.expected_purchases),
            3 => p.expected_spend,
            _ => p.clv,
        }
    };
    let ids = table.ids();
    let parquet = OutputFormat::of(path)? == OutputFormat::Parquet;
    if parquet {
        let mut fields = vec![Field::new("customer_id", DataType::Utf8, false)];
        fields.extend(
            NAMES[1..]
                .iter()
                .map(|n| Field::new(*n, DataType::Float64, true)),
        );
        let properties = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .build();
        write_parquet_in_parallel(
            path,
            Arc::new(Schema::new(fields)),
            properties,
            ids.len(),
            |rows, j| {
                Ok(if j == 0 {
                    Arc::new(StringArray::from_iter_values(
                        ids[rows].iter().map(|id| id.as_str()),
                    )) as ArrayRef
                } else {
                    Arc::new(rows.map(|i| value(i, j)).collect::<Float64Array>())
                })
            },
        )?;
    } else {
        write_csv_in_parallel(path, &NAMES, ids.len(), |writer, _, i| {
            writer.write_field(ids[i].as_str())?;
            for j in 1..NAMES.len() {
                let mut buffer = ryu::Buffer::new();
                writer.write_field(value(i, j).map_or("", |v| buffer.format(v)))?;
            }
            Ok(())
        })?;
    }
    Ok(())
}
