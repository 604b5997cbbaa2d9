//! Times three library calls in process — the reference for what the Python package adds on top
//! of them (`benches/python_calls.py` runs this and the same calls through Python, alternated):
//!
//! - `features`: extraction from the logs in LOGS (transactions, events, customers .parquet);
//! - `score`: `PipelineModel::transform_table` of MODEL on the feature table FEATURES;
//! - `kmeans`: k-means (k = 64, k-means++, Lloyd, tol 1e-4, one restart, seed 0) on the
//!   float columns of BLOBS.
//!
//! ```sh
//! cargo run --release -p lookalike-pipeline --example time_calls -- LOGS FEATURES MODEL BLOBS
//! ```
//! Prints one JSON object of seconds per call.

use std::path::PathBuf;
use std::time::Instant;

use lookalike_cluster::{Algorithm, Init, KMeansParams};
use lookalike_core::{ColumnMapping, InputKind, NoProgress};
use lookalike_features::{FeatureInputs, FeatureParams, InputFile, extract, read_feature_table};
use lookalike_pipeline::PipelineModel;

type Error = Box<dyn std::error::Error>;

fn main() -> Result<(), Error> {
    let args: Vec<PathBuf> = std::env::args().skip(1).map(PathBuf::from).collect();
    let [logs, features, model, blobs] = args.as_slice() else {
        return Err("usage: time_calls LOGS FEATURES MODEL BLOBS".into());
    };

    let input =
        |kind, name: &str| InputFile::new(kind, logs.join(name), None, None).map_err(Box::new);
    let inputs = FeatureInputs {
        transactions: input(InputKind::Transactions, "transactions.parquet")?,
        events: Some(input(InputKind::Events, "events.parquet")?),
        customers: Some(input(InputKind::Customers, "customers.parquet")?),
        mapping: ColumnMapping::parse::<&str>(&[])?,
    };
    let params = FeatureParams::new().threads(rayon::current_num_threads());
    let began = Instant::now();
    let extraction = extract(&inputs, &params, &NoProgress)?;
    let features_seconds = began.elapsed().as_secs_f64();

    let table = read_feature_table(features, None)?;
    let model = PipelineModel::load(model)?;
    let began = Instant::now();
    let scores = model.transform_table(&table)?;
    let score_seconds = began.elapsed().as_secs_f64();

    let points = read_feature_table(blobs, None)?;
    let kmeans = KMeansParams::new(64)
        .init(Init::KMeansPlusPlus)
        .algorithm(Algorithm::Lloyd)
        .n_init(1)
        .tol(1e-4)
        .seed(0)
        .validate()?;
    let began = Instant::now();
    let fitted = kmeans.fit(points.values().view(), None)?;
    let kmeans_seconds = began.elapsed().as_secs_f64();

    println!(
        "{{\"features\": {features_seconds}, \"features_rows\": {}, \"score\": {score_seconds}, \"score_rows\": {}, \"kmeans\": {kmeans_seconds}, \"kmeans_inertia\": {}}}",
        extraction.table.len(),
        scores.num_rows(),
        fitted.inertia()
    );
    Ok(())
}
