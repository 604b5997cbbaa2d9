//! End-to-end: the privacy commands on the sample — `forget` takes customers out of a trained
//! model, leaving no trace of their ids in any file.

mod common;

use std::path::{Path, PathBuf};

use common::{fails, ok, repo, s};

/// The sample pipeline trained into `dir/model`, its features kept in `dir/outputs`.
fn trained(dir: &Path) -> (PathBuf, PathBuf) {
    let (model, outputs) = (dir.join("model"), dir.join("outputs"));
    let config = repo("data/pipeline.example.toml");
    ok(&[
        "train",
        "--config",
        s(&config),
        "--out",
        s(&model),
        "--outputs",
        s(&outputs),
        "--quiet",
    ]);
    (model, outputs.join("features.parquet"))
}

/// Every file under `dir` with its bytes, Parquet files also with their ids decoded.
fn contents(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(contents(&path));
            continue;
        }
        let mut bytes = std::fs::read(&path).unwrap();
        if path.extension().is_some_and(|e| e == "parquet") {
            let table = lookalike_features::read_feature_table(&path, None).unwrap();
            for id in table.ids() {
                bytes.extend_from_slice(id.as_str().as_bytes());
                bytes.push(b'\n');
            }
        }
        files.push((path, bytes));
    }
    files
}

fn holds(bytes: &[u8], id: &str) -> bool {
    bytes.windows(id.len()).any(|w| w == id.as_bytes())
}

fn seed_ids(model: &Path) -> Vec<String> {
    let seeds = lookalike_features::read_feature_table(
        &model.join("audiences/top_clv_seeds.parquet"),
        None,
    )
    .unwrap();
    seeds
        .ids()
        .iter()
        .map(|id| id.as_str().to_string())
        .collect()
}

#[test]
fn forget_leaves_no_trace_of_the_erased_customers() {
    let dir = tempfile::tempdir().unwrap();
    let (model, features) = trained(dir.path());
    let seeds = seed_ids(&model);
    // Seeds, a customer of the base who is no seed, one unknown id, one listed twice.
    let mut erased: Vec<String> = seeds.iter().step_by(10).take(8).cloned().collect();
    let other = (1..=5000)
        .map(|i| format!("C{i:08}"))
        .find(|id| !seeds.contains(id))
        .unwrap();
    erased.push(other);
    let ids = dir.path().join("erase.csv");
    std::fs::write(
        &ids,
        format!(
            "customer_id\n{}\nnobody\n{}\n",
            erased.join("\n"),
            erased[0]
        ),
    )
    .unwrap();
    assert!(contents(&model).iter().any(|(_, b)| holds(b, &erased[0])));

    let out = dir.path().join("model_erased");
    let run = ok(&[
        "forget",
        "--model",
        s(&model),
        "--ids",
        s(&ids),
        "--features",
        s(&features),
        "--out",
        s(&out),
    ]);
    let said = String::from_utf8_lossy(&run.stdout);
    assert!(
        said.contains("erased 10 customers")
            && said.contains("9 in the features")
            && said.contains("1 found in neither")
            && said.contains("listed more than once"),
        "{said}"
    );
    for (file, bytes) in contents(&out) {
        for id in &erased {
            assert!(!holds(&bytes, id), "{} holds {id}", file.display());
        }
    }
    // The erasure is recorded without ids; the model loads and scores; the input model is
    // untouched.
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    let record = &manifest["erasures"][0];
    assert_eq!(record["requested"], 10);
    assert_eq!(record["refitted"], serde_json::json!(["audiences/top_clv"]));
    assert_eq!(
        manifest["data_inventory"]["audiences/top_clv_seeds.parquet"]["customer_level"],
        true
    );
    assert_eq!(seed_ids(&model), seeds);
    let scores = dir.path().join("scores.csv");
    ok(&[
        "score",
        "--model",
        s(&out),
        "--features",
        s(&features),
        "--out",
        s(&scores),
        "--quiet",
    ]);
    assert_eq!(
        std::fs::read_to_string(&scores).unwrap().lines().count(),
        5001
    );

    // In place (no --out): the model is replaced whole.
    ok(&[
        "forget",
        "--model",
        s(&model),
        "--ids",
        s(&ids),
        "--features",
        s(&features),
    ]);
    assert!(seed_ids(&model).iter().all(|id| !erased.contains(id)));
}

#[test]
fn bad_erasure_requests_are_refused_or_said() {
    let dir = tempfile::tempdir().unwrap();
    let (model, features) = trained(dir.path());
    let empty = dir.path().join("empty.csv");
    std::fs::write(&empty, "customer_id\n").unwrap();
    let error = fails(&[
        "forget",
        "--model",
        s(&model),
        "--ids",
        s(&empty),
        "--features",
        s(&features),
    ]);
    assert!(error.contains("no customer id in it"), "{error}");
    // Features that are not the training features (no events, no customers file).
    let narrow = dir.path().join("narrow.csv");
    let transactions = repo("data/sample/transactions.csv");
    ok(&[
        "features",
        "--transactions",
        s(&transactions),
        "--out",
        s(&narrow),
        "--quiet",
    ]);
    let ids = dir.path().join("ids.csv");
    std::fs::write(&ids, "customer_id\nC00000001\n").unwrap();
    let error = fails(&[
        "forget",
        "--model",
        s(&model),
        "--ids",
        s(&ids),
        "--features",
        s(&narrow),
    ]);
    assert!(
        error.contains("not those the model was trained on"),
        "{error}"
    );
    // Unknown ids: nothing to erase, nothing written.
    let before = std::fs::read(model.join("manifest.json")).unwrap();
    std::fs::write(&ids, "customer_id\nnobody\n").unwrap();
    let run = ok(&[
        "forget",
        "--model",
        s(&model),
        "--ids",
        s(&ids),
        "--features",
        s(&features),
    ]);
    assert!(
        String::from_utf8_lossy(&run.stderr).contains("nothing to erase"),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(std::fs::read(model.join("manifest.json")).unwrap(), before);
}

#[test]
fn explain_answers_for_one_customer_as_score_scores_them() {
    let dir = tempfile::tempdir().unwrap();
    let model = repo("models/sample");
    let features = common::sample_features(dir.path(), "features.parquet", true);
    let scores = dir.path().join("scores.csv");
    ok(&[
        "score",
        "--model",
        s(&model),
        "--features",
        s(&features),
        "--out",
        s(&scores),
        "--quiet",
    ]);
    let mut reader = csv::Reader::from_path(&scores).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    let seeds = seed_ids(&model);
    let tier_at = header.iter().position(|h| h == "top_clv_tier").unwrap();
    // A seed, a member of a tier, and a customer in no tier.
    let chosen = [
        rows.iter().find(|r| seeds.contains(&r[0])).unwrap(),
        rows.iter().find(|r| r[tier_at] == "1%").unwrap(),
        rows.iter().find(|r| r[tier_at].is_empty()).unwrap(),
    ];
    let transactions = repo("data/sample/transactions.csv");
    let events = repo("data/sample/events.csv");
    let customers = repo("data/sample/customers.csv");
    for (k, row) in chosen.iter().enumerate() {
        let id = &row[0];
        // From the features, and (once) from the logs as `score --transactions` reads them.
        let mut args = vec!["explain", "--model", s(&model), "--customer", id, "--json"];
        if k == 0 {
            args.extend([
                "--transactions",
                s(&transactions),
                "--events",
                s(&events),
                "--customers",
                s(&customers),
                "--as-of",
                "2026-01-01",
            ]);
        } else {
            args.extend(["--features", s(&features)]);
        }
        let run = ok(&args);
        let json: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
        assert_eq!(json["customer_id"], id.as_str());
        for (name, cell) in header.iter().zip(row.iter()) {
            let value = &json["scores"][name];
            let shown = match value {
                serde_json::Value::Null => String::new(),
                serde_json::Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            if let (Ok(a), Ok(b)) = (shown.parse::<f64>(), cell.parse::<f64>()) {
                assert_eq!(a, b, "{id}: {name}");
            } else {
                assert_eq!(&shown, cell, "{id}: {name}");
            }
        }
        let stored = json["stored_in_model"].as_array().unwrap();
        assert_eq!(!stored.is_empty(), seeds.contains(id), "{id}");
    }
    // The text answer names each part; an unknown customer is an error that says so.
    let text = ok(&[
        "explain",
        "--model",
        s(&model),
        "--features",
        s(&features),
        "--customer",
        &chosen[0][0],
    ]);
    let text = String::from_utf8_lossy(&text.stdout);
    for part in [
        "STORED IN THE MODEL",
        "SEGMENTS",
        "CLUSTER",
        "VALUE",
        "AUDIENCE top_clv",
        "nearest seed",
    ] {
        assert!(text.contains(part), "{part}: {text}");
    }
    let error = fails(&[
        "explain",
        "--model",
        s(&model),
        "--features",
        s(&features),
        "--customer",
        "nobody",
    ]);
    assert!(
        error.contains("\"nobody\" is not in") && error.contains("no file of the model holds"),
        "{error}"
    );
}
