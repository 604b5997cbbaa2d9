//! The audience stage's per-customer output (`lookalike expand --out`): one row per chosen
//! customer, best first.

use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, BooleanArray, Float64Array, StringArray, UInt64Array};
use arrow_schema::{DataType, Field, Schema};
use lookalike_audience::Audience;
use lookalike_core::CustomerId;
use lookalike_features::{write_csv_in_parallel, write_parquet_in_parallel};
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use super::OutputFormat;
use crate::PipelineError;

const NAMES: [&str; 9] = [
    "customer_id",
    "score",
    "percentile",
    "rank",
    "tier",
    "control",
    "nearest_seed",
    "expected_value",
    "reasons",
];

/// "orders +2.10; days_since_last_purchase -0.98": each reason's feature and its deviation from
/// the base mean in scaled units (same direction as the seeds').
fn reasons_text(reasons: &[(usize, f64)], columns: &[String]) -> String {
    reasons
        .iter()
        .map(|(j, c)| format!("{} {c:+.2}", columns[*j]))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Writes the members of `audience` (rows index `ids`) as CSV or Parquet by extension,
/// atomically. `columns` names the features the reasons refer to.
pub fn write_audience(
    ids: &[CustomerId],
    audience: &Audience,
    columns: &[String],
    path: &Path,
) -> Result<(), PipelineError> {
    let members = &audience.members;
    let tier = |i: usize| audience.tiers[members[i].tier].0.as_str();
    // The expected_value column only when the audience carries values.
    let valued = members.iter().any(|m| m.expected_value.is_some());
    let names: Vec<&str> = NAMES
        .iter()
        .copied()
        .filter(|n| valued || *n != "expected_value")
        .collect();
    if OutputFormat::of(path)? == OutputFormat::Parquet {
        let fields: Vec<Field> = names
            .iter()
            .map(|name| {
                let kind = match *name {
                    "score" | "percentile" | "expected_value" => DataType::Float64,
                    "rank" => DataType::UInt64,
                    "control" => DataType::Boolean,
                    _ => DataType::Utf8,
                };
                Field::new(*name, kind, false)
            })
            .collect();
        let properties = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .build();
        write_parquet_in_parallel(
            path,
            Arc::new(Schema::new(fields)),
            properties,
            members.len(),
            |rows, j| {
                Ok(match names[j] {
                    "customer_id" => Arc::new(StringArray::from_iter_values(
                        rows.map(|i| ids[members[i].row].as_str()),
                    )) as ArrayRef,
                    "score" => Arc::new(Float64Array::from_iter_values(
                        rows.map(|i| members[i].score),
                    )),
                    "percentile" => Arc::new(Float64Array::from_iter_values(
                        rows.map(|i| members[i].percentile),
                    )),
                    "rank" => Arc::new(UInt64Array::from_iter_values(
                        rows.map(|i| members[i].rank as u64),
                    )),
                    "tier" => Arc::new(StringArray::from_iter_values(rows.map(tier))),
                    "control" => Arc::new(BooleanArray::from(
                        rows.map(|i| members[i].control).collect::<Vec<_>>(),
                    )),
                    "nearest_seed" => Arc::new(StringArray::from_iter_values(
                        rows.map(|i| ids[members[i].nearest_seed].as_str()),
                    )),
                    "expected_value" => Arc::new(Float64Array::from_iter_values(
                        rows.map(|i| members[i].expected_value.unwrap_or(0.0)),
                    )),
                    _ => Arc::new(StringArray::from_iter_values(
                        rows.map(|i| reasons_text(&members[i].reasons, columns)),
                    )),
                })
            },
        )?;
    } else {
        write_csv_in_parallel(path, &names, members.len(), |writer, _, i| {
            let m = &members[i];
            let mut buffer = ryu::Buffer::new();
            writer.write_field(ids[m.row].as_str())?;
            writer.write_field(buffer.format(m.score))?;
            writer.write_field(buffer.format(m.percentile))?;
            writer.write_field(m.rank.to_string())?;
            writer.write_field(tier(i))?;
            writer.write_field(if m.control { "true" } else { "false" })?;
            writer.write_field(ids[m.nearest_seed].as_str())?;
            if let Some(value) = m.expected_value {
                writer.write_field(buffer.format(value))?;
            }
            writer.write_field(reasons_text(&m.reasons, columns))?;
            Ok(())
        })?;
    }
    Ok(())
}
