//! Trains the example pipeline on the bundled sample and scores it through the libraries alone,
//! as the Python package and a Spark job do: features from the logs (lookalike-features),
//! `fit` and Arrow batches in and out (lookalike-pipeline). It then checks that the model it
//! trained scores every customer exactly as the committed `models/sample` does.
//!
//! ```sh
//! cargo run -p lookalike-pipeline --example train_and_score
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};
use lookalike_core::{FeatureTable, NoProgress};
use lookalike_pipeline::{PipelineModel, PipelineSpec, TrainingInputs, fit};

type Error = Box<dyn std::error::Error>;

/// The required columns of rows `start..end` as one Arrow batch, as a Spark task sees them.
fn batch(
    table: &FeatureTable,
    required: &[&str],
    rows: std::ops::Range<usize>,
) -> Result<RecordBatch, Error> {
    let mut columns: Vec<(String, ArrayRef)> = vec![(
        "customer_id".into(),
        Arc::new(StringArray::from_iter_values(
            rows.clone().map(|i| table.ids()[i].as_str()),
        )),
    )];
    for name in required {
        let j = table.column_index(name)?;
        let values: Float64Array = rows
            .clone()
            .map(|i| Some(table.values()[[i, j]]).filter(|v| !v.is_nan()))
            .collect();
        columns.push((name.to_string(), Arc::new(values)));
    }
    Ok(RecordBatch::try_from_iter(columns)?)
}

fn main() -> Result<(), Error> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let spec = PipelineSpec::read(&root.join("data/pipeline.example.toml"))?;
    // The features the pipeline file asks for, from the logs it names.
    let extraction = spec.extract(&NoProgress)?;
    // The rules file and seed lists it names, and the inputs' fingerprints.
    let inputs = TrainingInputs::read(&spec, &extraction, "the sample's features")?;
    let table = extraction.table;
    let (model, report) = fit(&spec, &table, &inputs, &NoProgress)?;
    if let Some(clusters) = &report.clusters {
        println!(
            "clusters: k = {} of {:?}",
            clusters.chosen,
            spec.clusters.as_ref().map(|c| c.k.to_string())
        );
    }
    // Through bytes, as a model is broadcast to workers.
    let model = PipelineModel::from_bytes(&model.to_bytes())?;
    let committed = PipelineModel::load(&root.join("models/sample"))?;

    let required = model.required_columns();
    let mut tiers: BTreeMap<String, usize> = BTreeMap::new();
    let mut scored = 0;
    for start in (0..table.len()).step_by(1000) {
        let batch = batch(&table, &required, start..(start + 1000).min(table.len()))?;
        let out = model.transform(&batch)?;
        if out != committed.transform(&batch)? {
            return Err(format!(
                "rows {start}.. score differently with the model trained here and models/sample: retrain it (`lookalike train --config data/pipeline.example.toml --out models/sample`)"
            )
            .into());
        }
        scored += out.num_rows();
        for audience in model.audiences() {
            let column = out
                .column_by_name(&format!("{}_tier", audience.name()))
                .expect("one tier column per audience");
            // Tiers are categories: codes into their labels.
            let tiers_here = column.as_dictionary::<arrow_array::types::Int32Type>();
            let labels = tiers_here.values().as_string::<i32>();
            for code in tiers_here.keys().iter().flatten() {
                let tier = labels.value(code as usize);
                *tiers
                    .entry(format!("{} {tier}", audience.name()))
                    .or_default() += 1;
            }
        }
    }
    println!(
        "trained on {} customers and scored {scored} in batches of 1,000 ({} output columns), exactly as models/sample scores them",
        table.len(),
        model.output_schema().fields().len()
    );
    for (tier, customers) in tiers {
        println!("  {tier}: {customers} customers");
    }
    Ok(())
}
