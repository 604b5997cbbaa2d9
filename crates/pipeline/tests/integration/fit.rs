//! Training through the library: `fit` on the sample's features makes the committed sample
//! model, and refuses a spec whose files were not read.

use crate::common;

use std::path::Path;

use common::{
    assert_same_bits, example_inputs, example_spec, root, sample_features, sample_model_dir,
};
use lookalike_core::NoProgress;
use lookalike_pipeline::{PipelineError, PipelineModel, PipelineSpec, TrainingInputs, fit};

#[test]
fn fitting_the_example_on_the_sample_scores_as_the_committed_model() {
    let table = sample_features();
    let (model, report) = fit(&example_spec(), table, &example_inputs(), &NoProgress).unwrap();
    let committed = PipelineModel::load(&sample_model_dir()).unwrap();
    assert_same_bits(
        &model.transform_table(table).unwrap(),
        &committed.transform_table(table).unwrap(),
    );
    // The report is what the model was built from.
    let clusters = report.clusters.as_ref().unwrap();
    assert_eq!(clusters.sweep.len(), 7, "k = 2..8");
    let committed_k = &committed
        .manifest()
        .stages
        .clusters
        .as_ref()
        .unwrap()
        .report["k"];
    assert_eq!(Some(clusters.chosen as u64), committed_k.as_u64());
    let audience = &report.audiences[0];
    assert_eq!(audience.name, "top_clv");
    assert_eq!(audience.audience.seeds, audience.prepared.seeds.len());
    let value = report.value.as_ref().unwrap();
    assert_eq!(value.predictions.len(), table.len());
    assert_eq!(
        report.segments.as_ref().unwrap().segmentation.r.len(),
        table.len()
    );
}

#[test]
fn a_spec_whose_files_were_not_read_is_refused() {
    let table = sample_features();
    let spec = example_spec();
    let no_rules = TrainingInputs::default();
    let error = fit(&spec, table, &no_rules, &NoProgress).unwrap_err();
    assert!(
        error.to_string().contains("segment rules were not read"),
        "{error}"
    );
    let listed = PipelineSpec::from_toml(
        &std::fs::read_to_string(root().join("data/pipeline.example.toml"))
            .unwrap()
            .replace("seed_rule = \"clv_rank <= 0.05\"", "seeds = \"seeds.csv\""),
        &root().join("data"),
    )
    .unwrap();
    let error = fit(&listed, table, &example_inputs(), &NoProgress).unwrap_err();
    assert!(
        matches!(&error, PipelineError::Seeds(m) if m.contains("seed list") && m.contains("seeds.csv")),
        "{error}"
    );
}

#[test]
fn seed_lists_are_read_with_their_row_numbers_in_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seeds.csv");
    std::fs::write(&path, "customer_id,value\na,1\nb,2\na,3\n").unwrap();
    let list = lookalike_pipeline::IdList::read(&path, Some("value")).unwrap();
    assert_eq!(list.ids, ["a", "b"]);
    assert_eq!(list.values, Some(vec![1.0, 2.0]));
    assert_eq!(list.duplicates, 1);
    std::fs::write(&path, "customer_id,value\na,1\n,2\n").unwrap();
    let error = lookalike_pipeline::IdList::read(&path, None).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("row 3, column \"customer_id\": empty customer id"),
        "{error}"
    );
    std::fs::write(&path, "customer_id,value\na,many\n").unwrap();
    let error = lookalike_pipeline::IdList::read(&path, Some("value")).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("row 2, column \"value\": \"many\" is not a number"),
        "{error}"
    );
    assert!(lookalike_pipeline::IdList::read(Path::new("/no/such/file.csv"), None).is_err());
}
