//! End-to-end: the privacy commands on the sample — `forget` takes customers out of a trained
//! model, leaving no trace of their ids in any file.

use crate::common;

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
            let table = lookalike_features::read_scaled_table(&path).unwrap();
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
    let seeds =
        lookalike_features::read_scaled_table(&model.join("audiences/top_clv_seeds.parquet"))
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
                // Flags and control groups are booleans, written 1 and 0 in CSV.
                serde_json::Value::Bool(flag) => if *flag { "1" } else { "0" }.to_string(),
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

/// The example pipeline written into `dir` with its audience seeded by `seeds.csv` (raw ids:
/// the sample's customers with 12 orders or more).
fn listed_pipeline(dir: &Path) -> PathBuf {
    let data = repo("data");
    let text = std::fs::read_to_string(data.join("pipeline.example.toml"))
        .unwrap()
        .replace("\"sample/", &format!("\"{}/sample/", data.display()))
        .replace(
            "\"segments.example.toml\"",
            &format!("\"{}/segments.example.toml\"", data.display()),
        )
        .replace("seed_rule = \"clv_rank <= 0.05\"", "seeds = \"seeds.csv\"");
    let features = common::sample_features(dir, "raw_features.csv", false);
    let mut reader = csv::Reader::from_path(&features).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let orders = header.iter().position(|h| h == "orders").unwrap();
    let mut seeds = String::from("customer_id\n");
    for r in reader.records() {
        let r = r.unwrap();
        if r[orders].parse::<f64>().unwrap() >= 12.0 {
            seeds += &format!("{}\n", &r[0]);
        }
    }
    std::fs::write(dir.join("seeds.csv"), seeds).unwrap();
    let config = dir.join("pipeline.toml");
    std::fs::write(&config, text).unwrap();
    config
}

/// customer_id → the row's cells, by column name.
fn rows_by_id(path: &Path) -> std::collections::HashMap<String, Vec<(String, String)>> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            let cells = header
                .iter()
                .cloned()
                .zip(r.iter().map(String::from))
                .collect();
            (r[0].to_string(), cells)
        })
        .collect()
}

#[test]
fn pseudonymized_runs_hold_no_raw_id_and_join_back_with_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = listed_pipeline(dir.path());
    let key = dir.path().join("key");
    std::fs::write(&key, format!("{}\n", "5a".repeat(32))).unwrap();
    let train = |out: &str, outputs: &str, key: Option<&Path>| {
        let (out, outputs) = (dir.path().join(out), dir.path().join(outputs));
        let mut args = vec![
            "train",
            "--config",
            s(&config),
            "--out",
            s(&out),
            "--outputs",
            s(&outputs),
            "--quiet",
        ];
        if let Some(key) = key {
            args.extend(["--pseudonymize", s(key)]);
        }
        ok(&args);
        (out, outputs)
    };
    let (raw_model, _) = train("raw", "raw_outputs", None);
    let (model, outputs) = train("pseudo", "pseudo_outputs", Some(&key));
    let (again, _) = train("again", "again_outputs", Some(&key));
    // The same key gives the same pseudonyms: the two trainings hold the same seed index.
    assert_eq!(seed_ids(&model), seed_ids(&again));
    assert!(seed_ids(&model).iter().all(|id| id.len() == 64));
    let transactions = repo("data/sample/transactions.csv");
    let events = repo("data/sample/events.csv");
    let customers = repo("data/sample/customers.csv");
    let score = |model: &Path, out: &str, key: Option<&Path>| {
        let out = dir.path().join(out);
        let mut args = vec![
            "score",
            "--model",
            s(model),
            "--transactions",
            s(&transactions),
            "--events",
            s(&events),
            "--customers",
            s(&customers),
            "--as-of",
            "2026-01-01",
            "--out",
            s(&out),
            "--quiet",
        ];
        if let Some(key) = key {
            args.extend(["--pseudonymize", s(key)]);
        }
        ok(&args);
        out
    };
    let raw_scores = score(&raw_model, "raw_scores.csv", None);
    let scores = score(&model, "scores.csv", Some(&key));
    // No raw id (the sample's are C followed by 8 digits) in the model, the outputs or the scores.
    for folder in [&model, &outputs] {
        for (file, bytes) in contents(folder) {
            assert!(!holds(&bytes, "C0000"), "{} holds a raw id", file.display());
        }
    }
    assert!(!holds(&std::fs::read(&scores).unwrap(), "C0000"));
    // A key holder hashes their own list and joins: every customer has the same results as
    // in the run on raw ids (the control group is drawn from the id, so it is another draw).
    let ids = dir.path().join("all_ids.csv");
    let raw = rows_by_id(&raw_scores);
    std::fs::write(
        &ids,
        format!(
            "customer_id,raw\n{}",
            raw.keys()
                .map(|id| format!("{id},{id}\n"))
                .collect::<String>()
        ),
    )
    .unwrap();
    let hashed_ids = dir.path().join("all_ids.pseudonymous.csv");
    ok(&[
        "pseudonymize",
        "--key",
        s(&key),
        "--ids",
        s(&ids),
        "--out",
        s(&hashed_ids),
        "--quiet",
    ]);
    let pseudonymous = rows_by_id(&scores);
    let mut reader = csv::Reader::from_path(&hashed_ids).unwrap();
    let mut joined = 0;
    for r in reader.records() {
        let r = r.unwrap();
        let (hashed, original) = (&r[0], &r[1]);
        let (a, b) = (&raw[original], &pseudonymous[hashed]);
        for ((name, x), (_, y)) in a.iter().zip(b).skip(1) {
            if name != "top_clv_control" {
                assert_eq!(x, y, "{original}: {name}");
            }
        }
        joined += 1;
    }
    assert_eq!(joined, 5000);
    // A customer asks what the model holds: found by their own id with the key.
    let run = ok(&[
        "explain",
        "--model",
        s(&model),
        "--transactions",
        s(&transactions),
        "--events",
        s(&events),
        "--customers",
        s(&customers),
        "--as-of",
        "2026-01-01",
        "--pseudonymize",
        s(&key),
        "--customer",
        "C00000042",
        "--json",
    ]);
    let json: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    let hashed = json["customer_id"].as_str().unwrap();
    assert_eq!(hashed.len(), 64);
    assert_eq!(json["scores"]["r_score"].to_string(), {
        let row = &raw["C00000042"];
        row.iter().find(|(n, _)| n == "r_score").unwrap().1.clone()
    });
    // Scoring with no key, or another, is refused; a short key too.
    let error = fails(&[
        "score",
        "--model",
        s(&model),
        "--transactions",
        s(&transactions),
        "--out",
        s(&dir.path().join("x.csv")),
    ]);
    assert!(error.contains("trained on pseudonymous ids"), "{error}");
    let short = dir.path().join("short");
    std::fs::write(&short, "0123456789\n").unwrap();
    let error = fails(&[
        "features",
        "--transactions",
        s(&transactions),
        "--pseudonymize",
        s(&short),
        "--out",
        s(&dir.path().join("x.csv")),
    ]);
    assert!(
        error.contains("10 bytes") && error.contains("at least 32"),
        "{error}"
    );
}
