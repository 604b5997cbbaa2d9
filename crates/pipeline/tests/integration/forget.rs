//! Erasure through the library: `forget` takes customers out of every file holding
//! customer-level data, and each refitted stage is what training from scratch without them
//! makes.

use crate::common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{example_spec, root, sample_features};
use lookalike_core::{FeatureTable, NoProgress};
use lookalike_pipeline::{
    Erasure, IdList, PipelineError, PipelineModel, PipelineSpec, TrainingInputs, fit, forget,
};

fn example_inputs() -> TrainingInputs {
    TrainingInputs {
        segment_rules: Some(
            std::fs::read_to_string(root().join("data/segments.example.toml")).unwrap(),
        ),
        as_of: "2026-01-01".into(),
        features_name: "the features".into(),
        ..TrainingInputs::default()
    }
}

/// The table without the customers `ids`.
fn without(table: &FeatureTable, ids: &[String]) -> FeatureTable {
    let rows: Vec<usize> = (0..table.len())
        .filter(|&r| !ids.iter().any(|id| id == table.ids()[r].as_str()))
        .collect();
    table.select_rows(&rows)
}

/// Erased ids: some seeds of the first audience, customers of the base that are no seed, and
/// one id nobody has.
fn erased_ids(model: &PipelineModel) -> Vec<String> {
    let seeds = &model.documents().audiences[0].seed_ids;
    let table = sample_features();
    let mut ids: Vec<String> = seeds.iter().step_by(7).take(12).cloned().collect();
    ids.extend(
        table
            .ids()
            .iter()
            .map(|id| id.as_str().to_string())
            .filter(|id| !seeds.contains(id))
            .step_by(97)
            .take(20),
    );
    ids.push("nobody-has-this-id".into());
    ids
}

/// Every file under `dir` (recursively) with its bytes; Parquet files also with their ids
/// decoded (their pages may be compressed, so the bytes alone prove nothing).
fn contents(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(contents(&path));
            continue;
        }
        let mut bytes = std::fs::read(&path).unwrap();
        if path.extension().is_some_and(|e| e == "parquet") {
            let table = lookalike_features::read_scaled_table(&path).unwrap();
            for id in table.ids() {
                bytes.extend_from_slice(id.as_str().as_bytes());
                bytes.push(b'\n');
            }
        }
        files.push((path.display().to_string(), bytes));
    }
    files
}

/// A document without its timings (`seconds`), the one thing two runs of a fit differ in.
fn untimed(document: &serde_json::Value) -> serde_json::Value {
    match document {
        serde_json::Value::Object(map) => map
            .iter()
            .filter(|(key, _)| key.as_str() != "seconds")
            .map(|(key, value)| (key.clone(), untimed(value)))
            .collect(),
        serde_json::Value::Array(items) => items.iter().map(untimed).collect(),
        other => other.clone(),
    }
}

fn holds(bytes: &[u8], id: &str) -> bool {
    bytes.windows(id.len()).any(|w| w == id.as_bytes())
}

#[test]
fn refitting_every_stage_equals_training_without_the_customers() {
    let table = sample_features();
    let spec = example_spec();
    let (model, _) = fit(&spec, table, &example_inputs(), &NoProgress).unwrap();
    let ids = erased_ids(&model);
    let dir = tempfile::tempdir().unwrap();
    model.save(&dir.path().join("before")).unwrap();
    let before = contents(&dir.path().join("before"));
    assert!(
        ids[..12]
            .iter()
            .all(|id| before.iter().any(|(_, b)| holds(b, id))),
        "the seeds are stored before the erasure"
    );

    let Erasure::Erased {
        model: erased,
        record,
    } = forget(&model, table, &ids, true, &NoProgress).unwrap()
    else {
        panic!("there was something to erase")
    };
    assert_eq!(record.requested, ids.len());
    assert_eq!(record.in_features, ids.len() - 1);
    assert_eq!(record.not_found, 1);
    assert!(record.stored_in_model >= 12, "{record:?}");
    assert_eq!(record.customers_after, table.len() - (ids.len() - 1));
    assert_eq!(
        record.refitted,
        ["segments", "clusters", "value", "audiences/top_clv"]
    );
    assert!(record.kept.is_empty());

    // The same training from scratch on the features without them.
    let remaining = without(table, &ids);
    let (scratch, _) = fit(&spec, &remaining, &example_inputs(), &NoProgress).unwrap();
    let (a, b) = (erased.documents(), scratch.documents());
    assert_eq!(a.segments, b.segments);
    assert_eq!(a.rules, b.rules);
    assert_eq!(
        a.clusters.as_ref().map(untimed),
        b.clusters.as_ref().map(untimed)
    );
    assert_eq!(a.value.as_ref().map(untimed), b.value.as_ref().map(untimed));
    assert_eq!(a.extras, b.extras);
    assert_eq!(a.audiences, b.audiences);
    assert_eq!(
        untimed(&a.manifest["stages"]),
        untimed(&b.manifest["stages"])
    );
    assert_eq!(erased.manifest().erasures, vec![record.clone()]);

    // Saved: no file holds an erased id in any encoding, and the model loads and scores.
    let out = dir.path().join("after");
    erased.save(&out).unwrap();
    for (file, bytes) in contents(&out) {
        for id in &ids {
            assert!(!holds(&bytes, id), "{file} holds the erased id {id}");
        }
    }
    let loaded = PipelineModel::load(&out).unwrap();
    assert_eq!(loaded.manifest().erasures, vec![record]);
    let scores = loaded.transform_table(&remaining).unwrap();
    assert_eq!(scores.num_rows(), remaining.len());
    // Identical bytes where the training is deterministic: the seed index and the audience.
    scratch.save(&dir.path().join("scratch")).unwrap();
    for file in ["audiences/top_clv.json", "audiences/top_clv_seeds.parquet"] {
        assert_eq!(
            std::fs::read(out.join(file)).unwrap(),
            std::fs::read(dir.path().join("scratch").join(file)).unwrap(),
            "{file}"
        );
    }
}

/// A spec whose audience is seeded by a list and needs no other stage, with clusters beside.
fn listed_spec(dir: &Path) -> (PipelineSpec, TrainingInputs) {
    let text = std::fs::read_to_string(root().join("data/pipeline.example.toml"))
        .unwrap()
        .replace("seed_rule = \"clv_rank <= 0.05\"", "seeds = \"seeds.csv\"");
    let mut spec = PipelineSpec::from_toml(&text, dir).unwrap();
    spec.segments = None;
    spec.value = None;
    let table = sample_features();
    let orders = table.column("orders").unwrap();
    let seeds: Vec<String> = (0..table.len())
        .filter(|&r| orders[r] >= 12.0)
        .map(|r| table.ids()[r].as_str().to_string())
        .collect();
    assert!(seeds.len() > 150, "{}", seeds.len());
    let inputs = TrainingInputs {
        seed_lists: BTreeMap::from([(
            "top_clv".to_string(),
            IdList {
                origin: "seeds.csv".into(),
                ids: seeds,
                values: None,
                duplicates: 0,
            },
        )]),
        as_of: "2026-01-01".into(),
        features_name: "the features".into(),
        ..TrainingInputs::default()
    };
    (spec, inputs)
}

#[test]
fn by_default_only_the_audiences_are_refitted_as_from_scratch() {
    let dir = tempfile::tempdir().unwrap();
    let (spec, inputs) = listed_spec(dir.path());
    let table = sample_features();
    let (model, _) = fit(&spec, table, &inputs, &NoProgress).unwrap();
    let ids = erased_ids(&model);
    let Erasure::Erased {
        model: erased,
        record,
    } = forget(&model, table, &ids, false, &NoProgress).unwrap()
    else {
        panic!("there was something to erase")
    };
    assert_eq!(record.refitted, ["audiences/top_clv"]);
    assert_eq!(record.kept, ["clusters"]);
    // The clusters are kept as they were; the audience is the one trained without them, from
    // the seed list without them.
    assert_eq!(erased.documents().clusters, model.documents().clusters);
    let remaining = without(table, &ids);
    let mut scratch_inputs = inputs.clone();
    let list = scratch_inputs.seed_lists.get_mut("top_clv").unwrap();
    list.ids.retain(|id| !ids.contains(id));
    let (scratch, _) = fit(&spec, &remaining, &scratch_inputs, &NoProgress).unwrap();
    assert_eq!(erased.documents().audiences, scratch.documents().audiences);
    assert_eq!(
        erased.manifest().stages.audiences,
        scratch.manifest().stages.audiences
    );
    // The inventory says which files hold customer-level data.
    let inventory = &erased.manifest().data_inventory;
    assert!(inventory["audiences/top_clv_seeds.parquet"].customer_level);
    assert!(inventory["audiences/top_clv.json"].customer_level);
    assert!(!inventory["clusters/model.json"].customer_level);
    // A second erasure is recorded after the first.
    let Erasure::Erased { model: twice, .. } =
        forget(&erased, table, &ids[..3], false, &NoProgress).unwrap()
    else {
        panic!("the first ids are still in the features")
    };
    assert_eq!(twice.manifest().erasures.len(), 2);
}

#[test]
fn nothing_to_erase_and_bad_requests_are_said() {
    let table = sample_features();
    let mut spec = example_spec();
    spec.audiences.clear();
    let (aggregates, _) = fit(&spec, table, &example_inputs(), &NoProgress).unwrap();
    let ids = vec![table.ids()[0].as_str().to_string()];
    match forget(&aggregates, table, &ids, false, &NoProgress).unwrap() {
        Erasure::NothingToErase(why) => assert!(why.contains("no customer-level data"), "{why}"),
        Erasure::Erased { .. } => panic!("a model without audiences holds no customer"),
    }
    let (model, _) = fit(&example_spec(), table, &example_inputs(), &NoProgress).unwrap();
    let unknown = vec!["x1".to_string(), "x2".to_string()];
    match forget(&model, table, &unknown, false, &NoProgress).unwrap() {
        Erasure::NothingToErase(why) => assert!(why.contains("none of the 2 ids"), "{why}"),
        Erasure::Erased { .. } => panic!("unknown ids erase nothing"),
    }
    let error = forget(&model, table, &[], false, &NoProgress).unwrap_err();
    assert!(matches!(error, PipelineError::Erasure(_)), "{error}");
    // Features that are not the training features are refused.
    let narrow = FeatureTable::new(
        table.ids().to_vec(),
        vec!["orders".into()],
        table
            .values()
            .column(table.column_index("orders").unwrap())
            .to_owned()
            .insert_axis(ndarray::Axis(1)),
    )
    .unwrap();
    let error = forget(&model, &narrow, &ids, false, &NoProgress).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("not those the model was trained on"),
        "{error}"
    );
}
