//! The sample's features and trained model, shared by the pipeline tests.

// Each test binary uses a part of these helpers.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::OnceLock;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use lookalike_core::{ColumnMapping, FeatureTable, InputKind, NoProgress};
use lookalike_features::{FeatureInputs, FeatureParams, InputFile, extract, parse_date};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The example pipeline, `data/pipeline.example.toml`.
pub fn example_spec() -> lookalike_pipeline::PipelineSpec {
    lookalike_pipeline::PipelineSpec::read(&root().join("data/pipeline.example.toml")).unwrap()
}

/// What training the example reads besides the features: its rules file, and the sample's
/// as-of date.
pub fn example_inputs() -> lookalike_pipeline::TrainingInputs {
    lookalike_pipeline::TrainingInputs {
        segment_rules: Some(
            std::fs::read_to_string(root().join("data/segments.example.toml")).unwrap(),
        ),
        as_of: "2026-01-01".into(),
        ..lookalike_pipeline::TrainingInputs::default()
    }
}

pub fn sample_model_dir() -> PathBuf {
    root().join("models/sample")
}

/// The features of the bundled sample as `models/sample` was trained on them.
pub fn sample_features() -> &'static FeatureTable {
    static TABLE: OnceLock<FeatureTable> = OnceLock::new();
    TABLE.get_or_init(|| {
        let sample = root().join("data/sample");
        let input = |kind, name: &str| InputFile::new(kind, sample.join(name), None, None).unwrap();
        let inputs = FeatureInputs {
            transactions: input(InputKind::Transactions, "transactions.csv"),
            events: Some(input(InputKind::Events, "events.csv")),
            customers: Some(input(InputKind::Customers, "customers.csv")),
            mapping: ColumnMapping::parse::<&str>(&[]).unwrap(),
        };
        let params = FeatureParams::new().as_of(parse_date("2026-01-01").unwrap());
        extract(&inputs, &params, &NoProgress).unwrap().table
    })
}

/// Any column as text (categories by their names, flags as true/false), to compare by value.
pub fn texts(column: &dyn Array) -> arrow_array::ArrayRef {
    arrow_cast::cast(column, &DataType::Utf8).expect("a column casts to text")
}

/// Asserts two batches hold the same columns and the same bits in every cell (floats compared
/// by their bit patterns, nulls by position).
pub fn assert_same_bits(a: &RecordBatch, b: &RecordBatch) {
    assert_eq!(a.schema(), b.schema());
    assert_eq!(a.num_rows(), b.num_rows());
    for (j, (x, y)) in a.columns().iter().zip(b.columns()).enumerate() {
        let name = a.schema().field(j).name().clone();
        assert_eq!(x.nulls(), y.nulls(), "nulls of {name}");
        match x.data_type() {
            DataType::Float64 => {
                let (x, y) = (
                    x.as_primitive::<Float64Type>(),
                    y.as_primitive::<Float64Type>(),
                );
                for i in 0..x.len() {
                    if x.is_valid(i) {
                        assert_eq!(
                            x.value(i).to_bits(),
                            y.value(i).to_bits(),
                            "{name}, row {i}: {} vs {}",
                            x.value(i),
                            y.value(i)
                        );
                    }
                }
            }
            DataType::Int64 => assert_eq!(
                x.as_primitive::<Int64Type>(),
                y.as_primitive::<Int64Type>(),
                "{name}"
            ),
            // Text, categories and flags compared by what they say.
            _ => assert_eq!(
                texts(x).as_string::<i32>(),
                texts(y).as_string::<i32>(),
                "{name}"
            ),
        }
    }
}
