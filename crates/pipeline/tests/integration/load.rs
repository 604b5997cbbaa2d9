//! Loading refuses what it cannot trust, naming the file and the field.

use crate::common;

use std::path::Path;

use common::sample_model_dir;
use lookalike_pipeline::PipelineModel;
use serde_json::Value;

/// A copy of the sample model, changed by `change`, then loaded: the error's text.
fn refusal(change: impl Fn(&Path)) -> String {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("model");
    PipelineModel::load(&sample_model_dir())
        .unwrap()
        .save(&copy)
        .unwrap();
    change(&copy);
    PipelineModel::load(&copy).unwrap_err().to_string()
}

fn edit_json(path: &Path, edit: impl Fn(&mut Value)) {
    let mut document: Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    edit(&mut document);
    std::fs::write(path, serde_json::to_string_pretty(&document).unwrap()).unwrap();
}

#[test]
fn another_format_version_is_refused_with_how_to_retrain() {
    let error = refusal(|dir| {
        edit_json(&dir.join("manifest.json"), |m| {
            m["format_version"] = 2.into()
        })
    });
    assert!(
        error.contains("version 2") && error.contains("lookalike train"),
        "{error}"
    );
}

#[test]
fn a_value_model_in_another_time_unit_is_refused() {
    let error = refusal(|dir| {
        edit_json(&dir.join("value/value_model.json"), |v| {
            v["time_unit"] = "days".into();
            v["time_unit_days"] = 1.0.into();
        })
    });
    assert!(error.contains("days") && error.contains("weeks"), "{error}");
    let unknown = refusal(|dir| {
        edit_json(&dir.join("manifest.json"), |m| {
            m["features"]["time_unit"] = "fortnights".into()
        })
    });
    assert!(unknown.contains("fortnights"), "{unknown}");
}

#[test]
fn out_of_range_values_are_refused() {
    let spread = refusal(|dir| {
        edit_json(&dir.join("clusters/model.json"), |c| {
            c["scaling"]["spread"][0] = 0.0.into()
        })
    });
    assert!(
        spread.contains("spread") && spread.contains("clusters/model.json"),
        "{spread}"
    );
    let holdout = refusal(|dir| {
        edit_json(&dir.join("audiences/top_clv.json"), |a| {
            a["holdout"] = 2.0.into()
        })
    });
    assert!(
        holdout.contains("holdout") && holdout.contains("top_clv.json"),
        "{holdout}"
    );
    let parameter = refusal(|dir| {
        edit_json(&dir.join("value/value_model.json"), |v| {
            v["purchases"]["parameters"]["r"] = (-1.0).into()
        })
    });
    assert!(parameter.contains("purchases.parameters"), "{parameter}");
    // JSON has no NaN: a NaN written by another tool arrives as null or a string.
    let nan = refusal(|dir| {
        edit_json(&dir.join("segments.json"), |s| {
            s["trained"]["recency_edges"][0] = "NaN".into()
        })
    });
    assert!(nan.contains("segments.json"), "{nan}");
    let calibration = refusal(|dir| {
        edit_json(&dir.join("audiences/top_clv.json"), |a| {
            a["scorer"]["calibration"] = 0.0.into()
        })
    });
    assert!(calibration.contains("calibration"), "{calibration}");
}

#[test]
fn a_path_leaving_the_model_folder_is_refused() {
    let error = refusal(|dir| {
        edit_json(&dir.join("manifest.json"), |m| {
            m["stages"]["audiences"][0]["file"] = "../../x.json".into()
        })
    });
    assert!(
        error.contains("leaves the model folder") && error.contains("../../x.json"),
        "{error}"
    );
    let seeds = refusal(|dir| {
        edit_json(&dir.join("audiences/top_clv.json"), |a| {
            a["seeds_file"] = "/etc/passwd".into()
        })
    });
    assert!(seeds.contains("leaves the model folder"), "{seeds}");
    let name = refusal(|dir| {
        edit_json(&dir.join("audiences/top_clv.json"), |a| {
            a["name"] = "../x".into()
        })
    });
    assert!(name.contains("\"../x\""), "{name}");
}

#[test]
fn a_missing_or_truncated_file_is_refused() {
    let missing = refusal(|dir| std::fs::remove_file(dir.join("value/value_model.json")).unwrap());
    assert!(missing.contains("value_model.json"), "{missing}");
    let truncated = refusal(|dir| {
        let path = dir.join("segments.json");
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, &text[..text.len() / 2]).unwrap();
    });
    assert!(truncated.contains("segments.json"), "{truncated}");
    let seeds = refusal(|dir| {
        let path = dir.join("audiences/top_clv_seeds.parquet");
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    });
    assert!(seeds.contains("top_clv_seeds.parquet"), "{seeds}");
    let not_a_model = PipelineModel::load(Path::new("/")).unwrap_err().to_string();
    assert!(not_a_model.contains("no manifest.json"), "{not_a_model}");
}
