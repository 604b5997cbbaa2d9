//! The audience stage's per-customer output (`lookalike expand --out`): one row per chosen
//! customer, best first.

use std::path::Path;
use std::sync::Arc;

use arrow_array::types::Int32Type;
use arrow_array::{
    ArrayRef, BooleanArray, DictionaryArray, Float64Array, Int64Array, RecordBatch, StringArray,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
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

/// The output columns of an audience (expected_value only when it carries values).
fn names_of(audience: &Audience) -> Vec<&'static str> {
    let valued = audience.members.iter().any(|m| m.expected_value.is_some());
    NAMES
        .iter()
        .copied()
        .filter(|n| valued || *n != "expected_value")
        .collect()
}

/// The columns' types, and in the metadata the scorer and how `auto` chose it
/// (`lookalike.scorer`, `lookalike.selection`).
fn schema_of(names: &[&str], audience: &Audience) -> SchemaRef {
    let fields: Vec<Field> = names
        .iter()
        .map(|name| {
            let kind = match *name {
                "score" | "percentile" | "expected_value" => DataType::Float64,
                "rank" => DataType::Int64,
                "control" => DataType::Boolean,
                "tier" => crate::categorical(),
                _ => DataType::Utf8,
            };
            Field::new(*name, kind, false)
        })
        .collect();
    let mut metadata = std::collections::HashMap::from([(
        "lookalike.scorer".to_string(),
        audience.scorer.to_string(),
    )]);
    if let Some(selection) = &audience.selection {
        metadata.insert("lookalike.selection".into(), selection.describe());
    }
    Arc::new(Schema::new_with_metadata(fields, metadata))
}

/// Column `name` for members `rows`.
fn column(
    ids: &[CustomerId],
    audience: &Audience,
    columns: &[String],
    name: &str,
    rows: std::ops::Range<usize>,
) -> ArrayRef {
    let members = &audience.members;
    let tier = |i: usize| audience.tiers[members[i].tier].0.as_str();
    match name {
        "customer_id" => Arc::new(StringArray::from_iter_values(
            rows.map(|i| ids[members[i].row].as_str()),
        )) as ArrayRef,
        "score" => Arc::new(Float64Array::from_iter_values(
            rows.map(|i| members[i].score),
        )),
        "percentile" => Arc::new(Float64Array::from_iter_values(
            rows.map(|i| members[i].percentile),
        )),
        "rank" => Arc::new(Int64Array::from_iter_values(
            rows.map(|i| members[i].rank as i64),
        )),
        "tier" => Arc::new(
            rows.map(|i| Some(tier(i)))
                .collect::<DictionaryArray<Int32Type>>(),
        ),
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
    }
}

/// The members of `audience` (rows index `ids`) as one Arrow batch, best first, with the
/// columns of `lookalike expand --out`; `columns` names the features the reasons refer to.
pub fn audience_batch(
    ids: &[CustomerId],
    audience: &Audience,
    columns: &[String],
) -> Result<RecordBatch, PipelineError> {
    let names = names_of(audience);
    let arrays = names
        .iter()
        .map(|name| column(ids, audience, columns, name, 0..audience.members.len()))
        .collect();
    Ok(RecordBatch::try_new(schema_of(&names, audience), arrays)?)
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
    let names = names_of(audience);
    if OutputFormat::of(path)? == OutputFormat::Parquet {
        let properties = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .build();
        write_parquet_in_parallel(
            path,
            schema_of(&names, audience),
            properties,
            members.len(),
            |rows, j| Ok(column(ids, audience, columns, names[j], rows)),
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
