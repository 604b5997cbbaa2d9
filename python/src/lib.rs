//! The native module of the Python package `lookalike` (`lookalike._lookalike`).
//!
//! Thin by design: it converts Python arguments into the library's types, releases the GIL while
//! the library computes, and hands tables back as Arrow (`pyarrow.Table`). Everything that reaches
//! a model or an output column is `lookalike-pipeline`'s, the same code the CLI runs.

use pyo3::prelude::*;

mod cluster;
mod errors;
mod measure;
mod model;
mod progress;
mod spark;
mod spark_audiences;
mod stages;
mod tables;
mod threads;
mod train;
mod value;

/// The module: exceptions, `Model`, `train`, `features`.
#[pymodule]
fn _lookalike(m: &Bound<'_, PyModule>) -> PyResult<()> {
    errors::register(m)?;
    m.add_class::<model::Model>()?;
    m.add_function(wrap_pyfunction!(train::train, m)?)?;
    m.add_function(wrap_pyfunction!(train::features, m)?)?;
    m.add_function(wrap_pyfunction!(train::generate, m)?)?;
    m.add_function(wrap_pyfunction!(train::pseudonymize, m)?)?;
    m.add_function(wrap_pyfunction!(spark::label_totals, m)?)?;
    m.add_function(wrap_pyfunction!(spark::attribute_summaries, m)?)?;
    m.add_function(wrap_pyfunction!(spark::vocabulary, m)?)?;
    m.add_function(wrap_pyfunction!(spark::training_plan, m)?)?;
    m.add_function(wrap_pyfunction!(spark::training_counts, m)?)?;
    m.add_function(wrap_pyfunction!(spark::trained_scores, m)?)?;
    m.add_function(wrap_pyfunction!(spark::segment_sums, m)?)?;
    m.add_function(wrap_pyfunction!(spark::train_counted, m)?)?;
    m.add_function(wrap_pyfunction!(spark::cluster_answer, m)?)?;
    m.add_class::<spark::ClusterFit>()?;
    m.add_function(wrap_pyfunction!(spark_audiences::earlier_stages, m)?)?;
    m.add_function(wrap_pyfunction!(spark_audiences::audience_survey, m)?)?;
    m.add_function(wrap_pyfunction!(spark_audiences::audience_strengths, m)?)?;
    m.add_class::<spark_audiences::AudienceFit>()?;
    m.add_function(wrap_pyfunction!(spark_audiences::ranks_by_clv, m)?)?;
    m.add_function(wrap_pyfunction!(spark_audiences::audience_clv, m)?)?;
    m.add("CLV_RANK_COLUMN", spark_audiences::CLV_RANK_COLUMN)?;
    m.add("CLV_COLUMN", spark_audiences::CLV_COLUMN)?;
    m.add_function(wrap_pyfunction!(cluster::kmeans_fit, m)?)?;
    m.add_function(wrap_pyfunction!(cluster::kmeans_predict, m)?)?;
    m.add_function(wrap_pyfunction!(cluster::kmeans_transform, m)?)?;
    m.add_function(wrap_pyfunction!(cluster::silhouette_score, m)?)?;
    m.add_function(wrap_pyfunction!(cluster::davies_bouldin_score, m)?)?;
    m.add_function(wrap_pyfunction!(cluster::calinski_harabasz_score, m)?)?;
    m.add_function(wrap_pyfunction!(cluster::adjusted_rand_score, m)?)?;
    m.add_function(wrap_pyfunction!(measure::measure_json, m)?)?;
    m.add_function(wrap_pyfunction!(measure::minimum_detectable_lift_of, m)?)?;
    m.add_function(wrap_pyfunction!(measure::migration_json, m)?)?;
    m.add_function(wrap_pyfunction!(stages::segment, m)?)?;
    m.add_function(wrap_pyfunction!(stages::expand, m)?)?;
    m.add_function(wrap_pyfunction!(stages::overlap, m)?)?;
    m.add_function(wrap_pyfunction!(stages::evaluate_audience, m)?)?;
    m.add_function(wrap_pyfunction!(value::purchases_fit, m)?)?;
    m.add_function(wrap_pyfunction!(value::purchases_predict, m)?)?;
    m.add_function(wrap_pyfunction!(value::gamma_gamma_fit, m)?)?;
    m.add_function(wrap_pyfunction!(value::gamma_gamma_spend, m)?)?;
    m.add_function(wrap_pyfunction!(value::customer_lifetime_value, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
