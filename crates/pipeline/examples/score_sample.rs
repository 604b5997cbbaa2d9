//! Scores the bundled sample with the trained sample model through the library alone: features
//! from the logs (lookalike-features), Arrow batches in, Arrow batches out (lookalike-pipeline).
//!
//! ```sh
//! cargo run -p lookalike-pipeline --example score_sample [-- MODEL_DIR]
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};
use lookalike_core::{ColumnMapping, InputKind, NoProgress};
use lookalike_features::{FeatureInputs, FeatureParams, InputFile, extract, parse_date};
use lookalike_pipeline::PipelineModel;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let model_dir = std::env::args()
        .nth(1)
        .map_or_else(|| root.join("models/sample"), PathBuf::from);
    let model = PipelineModel::load(&model_dir)?;
    let manifest = model.manifest();

    // Features as the model's manifest says they were built.
    let sample = root.join("data/sample");
    let input =
        |kind, name: &str| InputFile::new(kind, sample.join(name), None, None).map_err(Box::new);
    let inputs = FeatureInputs {
        transactions: input(InputKind::Transactions, "transactions.csv")?,
        events: Some(input(InputKind::Events, "events.csv")?),
        customers: Some(input(InputKind::Customers, "customers.csv")?),
        mapping: ColumnMapping::parse::<&str>(&[])?,
    };
    let params = FeatureParams::new()
        .as_of(parse_date(&manifest.as_of)?)
        .time_unit(manifest.features.time_unit)
        .top_levels(manifest.features.top_levels);
    let table = extract(&inputs, &params, &NoProgress)?.table;

    // The required columns as one Arrow batch per 1,000 customers, as a Spark task would see them.
    let required = model.required_columns();
    let mut tiers: BTreeMap<String, usize> = BTreeMap::new();
    let mut scored = 0;
    for start in (0..table.len()).step_by(1000) {
        let rows: Vec<usize> = (start..(start + 1000).min(table.len())).collect();
        let mut columns: Vec<(String, ArrayRef)> = vec![(
            "customer_id".into(),
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|i| table.ids()[*i].as_str()),
            )),
        )];
        for name in &required {
            let j = table.column_index(name)?;
            let values: Float64Array = rows
                .iter()
                .map(|i| Some(table.values()[[*i, j]]).filter(|v| !v.is_nan()))
                .collect();
            columns.push((name.to_string(), Arc::new(values)));
        }
        let batch = RecordBatch::try_from_iter(columns)?;
        let out = model.transform(&batch)?;
        scored += out.num_rows();
        for audience in model.audiences() {
            let column = out
                .column_by_name(&format!("{}_tier", audience.name()))
                .expect("one tier column per audience");
            for tier in column.as_string::<i32>().iter().flatten() {
                *tiers
                    .entry(format!("{} {tier}", audience.name()))
                    .or_default() += 1;
            }
        }
    }
    println!(
        "scored {scored} customers of {} with {} ({} output columns)",
        sample.display(),
        model_dir.display(),
        model.output_schema().fields().len()
    );
    for (tier, customers) in tiers {
        println!("  {tier}: {customers}");
    }
    Ok(())
}
