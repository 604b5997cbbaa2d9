//! Trains the example pipeline on the bundled sample and scores it through the libraries alone,
//! as the Python package and a Spark job do: features from the logs (lookalike-features),
//! `fit` and Arrow batches in and out (lookalike-pipeline). It then checks that the model it
//! trained scores every customer exactly as the committed `models/sample` does.
//!
//! ```sh
//! cargo run -p lookalike-pipeline --example train_and_score
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};
use lookalike_core::{ColumnMapping, FeatureTable, NoProgress};
use lookalike_features::{FeatureInputs, FeatureParams, InputFile, extract, parse_date};
use lookalike_pipeline::{PipelineModel, PipelineSpec, TrainingInputs, fit};

type Error = Box<dyn std::error::Error>;

/// The features the pipeline file asks for, from the logs it names.
fn features(spec: &PipelineSpec) -> Result<(FeatureTable, String), Error> {
    let input = &spec.input;
    let file = |kind, path: &Path| InputFile::new(kind, path, input.format, None).map_err(Box::new);
    use lookalike_core::InputKind::{Customers, Events, Transactions};
    let columns: Vec<String> = input
        .columns
        .iter()
        .map(|(f, c)| format!("{f}={c}"))
        .collect();
    let inputs = FeatureInputs {
        transactions: file(Transactions, &input.transactions)?,
        events: input
            .events
            .as_deref()
            .map(|p| file(Events, p))
            .transpose()?,
        customers: input
            .customers
            .as_deref()
            .map(|p| file(Customers, p))
            .transpose()?,
        mapping: ColumnMapping::parse(&columns)?,
    };
    let mut params = FeatureParams::new()
        .time_unit(spec.features.time_unit)
        .top_levels(spec.features.top_levels)
        .on_bad_row(input.on_error);
    if let Some(date) = &spec.features.as_of {
        params = params.as_of(parse_date(date)?);
    }
    let extraction = extract(&inputs, &params, &NoProgress)?;
    Ok((extraction.table, extraction.as_of.to_string()))
}

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
    let (table, as_of) = features(&spec)?;
    let rules = match spec.segments.as_ref().and_then(|s| s.rules.as_ref()) {
        Some(path) => Some(std::fs::read_to_string(path)?),
        None => None,
    };
    let inputs = TrainingInputs {
        segment_rules: rules,
        as_of,
        features_name: "the sample's features".into(),
        ..TrainingInputs::default()
    };
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
            for tier in column.as_string::<i32>().iter().flatten() {
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
