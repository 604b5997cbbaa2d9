//! `lookalike train` and `lookalike score` end to end on the bundled sample: the trained model
//! scores the base exactly as the individual subcommands do, the manifest says what was trained,
//! output bytes do not depend on threads, chunks or partitions, mismatched models and inputs are
//! refused, and a killed scoring run never leaves a partial output.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use common::{fails, lookalike, ok, repo, s};

/// The example pipeline, trained into `dir/model` with the stage outputs in `dir/outputs`.
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
    (model, outputs)
}

/// A CSV file as a map id → (column → cell).
fn rows_by_id(path: &Path) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            let cells = header
                .iter()
                .zip(r.iter())
                .map(|(h, v)| (h.clone(), v.to_string()))
                .collect();
            (r[0].to_string(), cells)
        })
        .collect()
}

fn number(cell: &str) -> Option<f64> {
    (!cell.is_empty()).then(|| cell.parse().unwrap())
}

fn score_with(model: &Path, features: &Path, out: &Path, extra: &[&str]) {
    let mut args = vec![
        "score",
        "--model",
        s(model),
        "--features",
        s(features),
        "--out",
        s(out),
    ];
    args.extend_from_slice(extra);
    ok(&args);
}

/// The sample's three logs and the as-of date the example pipeline uses, as options.
fn sample_log_options() -> Vec<String> {
    let path = |name: &str| s(&repo(&format!("data/sample/{name}"))).to_string();
    [
        "--transactions".into(),
        path("transactions.csv"),
        "--events".into(),
        path("events.csv"),
        "--customers".into(),
        path("customers.csv"),
        "--as-of".into(),
        "2026-01-01".into(),
    ]
    .to_vec()
}

/// `lookalike expand` with the options of the example pipeline's `[[audience]]`, plus `extra`.
fn expand_as_the_example(
    features: &Path,
    value: &Path,
    segments: &Path,
    out: &Path,
    extra: &[&str],
) {
    let mut args = vec![
        "expand",
        "--features",
        s(features),
        "--seed-rule",
        "clv_rank <= 0.05",
        "--value-model",
        s(value),
        "--segments",
        s(segments),
        "--size",
        "1%,5%",
        "--holdout",
        "10%",
        "--require-consent",
        "marketing_consent",
        "--out",
        s(out),
        "--quiet",
    ];
    args.extend_from_slice(extra);
    ok(&args);
}

/// `lookalike expand --candidate-sample N` makes the audience a pipeline trains with
/// `candidate_sample = N` (the fit `lookalike.spark.train` makes too), byte for byte, and the
/// sample changes the fit. A sample of 0 is refused by name.
#[test]
fn expand_on_a_candidate_sample_is_the_trained_audience() {
    let dir = tempfile::tempdir().unwrap();
    let data = repo("data");
    let example = std::fs::read_to_string(data.join("pipeline.example.toml")).unwrap();
    let marker = "# candidate_sample = 50000 #";
    assert!(
        example.contains(marker),
        "the example documents candidate_sample"
    );
    // The example's paths are relative to it: made absolute for a copy elsewhere.
    let config = example
        .replace(marker, "candidate_sample = 1200 #")
        .replace("\"sample/", &format!("\"{}/sample/", data.display()))
        .replace(
            "\"segments.example.toml\"",
            &format!("\"{}\"", data.join("segments.example.toml").display()),
        );
    let config_path = dir.path().join("pipeline.toml");
    std::fs::write(&config_path, config).unwrap();
    let outputs = dir.path().join("outputs");
    ok(&[
        "train",
        "--config",
        s(&config_path),
        "--out",
        s(&dir.path().join("model")),
        "--outputs",
        s(&outputs),
        "--quiet",
    ]);
    let expand = |extra: &[&str], out: &str| {
        let out = dir.path().join(out);
        expand_as_the_example(
            &outputs.join("features.parquet"),
            &outputs.join("value"),
            &outputs.join("segments.csv"),
            &out,
            extra,
        );
        std::fs::read_to_string(out).unwrap()
    };
    let trained = std::fs::read_to_string(outputs.join("audience_top_clv.csv")).unwrap();
    let sampled = expand(&["--candidate-sample", "1200"], "sampled.csv");
    assert!(sampled.lines().count() > 100, "{sampled}");
    assert_eq!(sampled, trained);
    assert_ne!(expand(&[], "whole.csv"), trained);
    let error = fails(&[
        "expand",
        "--features",
        s(&outputs.join("features.parquet")),
        "--seed-rule",
        "orders > 3",
        "--candidate-sample",
        "0",
        "--out",
        s(&dir.path().join("x.csv")),
    ]);
    assert!(
        error.contains("--candidate-sample") && error.contains("needs candidates"),
        "{error}"
    );
}

#[test]
fn a_trained_model_scores_like_the_individual_subcommands() {
    let dir = tempfile::tempdir().unwrap();
    let (model, outputs) = trained(dir.path());
    let features = outputs.join("features.parquet");
    let scores = dir.path().join("scores.csv");
    score_with(&model, &features, &scores, &["--quiet"]);
    let scored = rows_by_id(&scores);
    assert_eq!(scored.len(), 5000);

    // The subcommands, run on their own with the pipeline file's options.
    let d = |name: &str| dir.path().join(name);
    let rules = repo("data/segments.example.toml");
    ok(&[
        "segment",
        "--features",
        s(&features),
        "--rules",
        s(&rules),
        "--min-size",
        "200",
        "--out",
        s(&d("segments.csv")),
        "--quiet",
    ]);
    ok(&[
        "cluster",
        "--features",
        s(&features),
        "--k",
        "2..8",
        "--columns",
        "orders,total_spend,days_since_last_purchase,T",
        "--log1p",
        "orders,total_spend",
        "--out",
        s(&d("clusters")),
        "--quiet",
    ]);
    ok(&[
        "value",
        "fit",
        "--features",
        s(&features),
        "--out",
        s(&d("value")),
        "--quiet",
    ]);
    ok(&[
        "value",
        "predict",
        "--model",
        s(&d("value")),
        "--features",
        s(&features),
        "--out",
        s(&d("value.csv")),
        "--quiet",
    ]);
    expand_as_the_example(
        &features,
        &d("value"),
        &d("segments.csv"),
        &d("audience.csv"),
        &["--scorer", "classifier"],
    );

    // Segments: every column, cell for cell.
    let segments = rows_by_id(&d("segments.csv"));
    assert_eq!(segments.len(), 5000);
    for (id, row) in &segments {
        for (column, cell) in row {
            assert_eq!(&scored[id][column], cell, "{id} {column}");
        }
    }
    // Clusters: the same cluster, the distance to rounding.
    let assignments = rows_by_id(&d("clusters/assignments.csv"));
    for (id, row) in &assignments {
        assert_eq!(scored[id]["cluster"], row["cluster"], "{id}");
        match (
            number(&row["distance"]),
            number(&scored[id]["cluster_distance"]),
        ) {
            (Some(a), Some(b)) => assert!((a - b).abs() <= 1e-9 * a.max(1.0), "{id}: {a} {b}"),
            (a, b) => assert_eq!(a, b, "{id}"),
        }
    }
    // Value: the same numbers.
    let value = rows_by_id(&d("value.csv"));
    for (id, row) in &value {
        for column in ["p_alive", "expected_purchases", "expected_spend", "clv"] {
            assert_eq!(
                number(&row[column]),
                number(&scored[id][column]),
                "{id} {column}"
            );
        }
    }
    // The audience: its members and nobody else are in a tier, with the same score, tier and
    // control flag; the seeds are marked.
    let audience = rows_by_id(&d("audience.csv"));
    assert_eq!(audience.len(), 119);
    for (id, row) in &scored {
        match audience.get(id) {
            Some(member) => {
                assert_eq!(row["top_clv_tier"], member["tier"], "{id}");
                let control = if member["control"] == "true" {
                    "1"
                } else {
                    "0"
                };
                assert_eq!(row["top_clv_control"], control, "{id}");
                assert_eq!(
                    number(&row["top_clv_score"]),
                    number(&member["score"]),
                    "{id}"
                );
            }
            None => assert!(
                ["", "seed"].contains(&row["top_clv_tier"].as_str()),
                "{id} is tiered but not in the audience"
            ),
        }
    }
    let seeds = scored
        .values()
        .filter(|r| r["top_clv_tier"] == "seed")
        .count();
    let ranked: Vec<f64> = value.values().filter_map(|r| number(&r["clv"])).collect();
    assert_eq!(seeds, 251);
    assert!(ranked.len() > 4000);

    // The manifest says what was trained, on what, and how.
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(model.join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["format"], "lookalike-model");
    assert_eq!(manifest["format_version"], 1);
    assert_eq!(manifest["tool_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(manifest["as_of"], "2026-01-01");
    assert_eq!(manifest["customers"], 5000);
    let transactions = repo("data/sample/transactions.csv");
    let lines = std::fs::read_to_string(&transactions)
        .unwrap()
        .lines()
        .count() as u64;
    let input = &manifest["inputs"][0];
    assert_eq!(input["kind"], "transactions");
    assert_eq!(input["rows"], lines - 1);
    assert_eq!(
        input["bytes"],
        std::fs::metadata(&transactions).unwrap().len()
    );
    assert_eq!(input["xxh3_64"].as_str().unwrap().len(), 16);
    assert_eq!(manifest["inputs"].as_array().unwrap().len(), 3);
    assert_eq!(manifest["features"]["time_unit"], "weeks");
    assert_eq!(manifest["pipeline"]["clusters"]["seed"], 0);
    assert_eq!(manifest["pipeline"]["audience"][0]["scorer"], "auto");
    // auto records its choice and every single scorer's cross-validated recall.
    let audience = &manifest["stages"]["audiences"][0];
    let selection = &audience["selection"];
    assert_eq!(audience["scorer"], selection["chosen"]);
    assert_eq!(selection["recall"].as_array().unwrap().len(), 4);
    let best = selection["recall"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[1].as_f64().unwrap())
        .fold(0.0, f64::max);
    assert_eq!(selection["chosen_recall"].as_f64().unwrap(), best);
    assert_eq!(manifest["stages"]["value"]["purchases"]["kind"], "bgnbd");
    assert!(manifest["stages"]["clusters"]["metrics"]["silhouette"].is_number());
    assert_eq!(manifest["stages"]["audiences"][0]["seeds"], 251);
    assert_eq!(
        manifest["stages"]["audiences"][0]["tiers"][1]["customers"],
        119
    );
}

#[test]
fn output_bytes_depend_on_nothing_but_model_and_input() {
    let dir = tempfile::tempdir().unwrap();
    let (model, outputs) = trained(dir.path());
    let features = outputs.join("features.parquet");
    let read = |name: &str| std::fs::read(dir.path().join(name)).unwrap();
    let out = |name: &str| dir.path().join(name);
    score_with(&model, &features, &out("a.csv"), &["--threads", "1"]);
    score_with(
        &model,
        &features,
        &out("b.csv"),
        &["--threads", "2", "--chunk-rows", "777"],
    );
    assert_eq!(read("a.csv"), read("b.csv"));
    score_with(&model, &features, &out("a.parquet"), &["--threads", "1"]);
    score_with(
        &model,
        &features,
        &out("b.parquet"),
        &["--chunk-rows", "1000"],
    );
    assert_eq!(read("a.parquet"), read("b.parquet"));
    // From the logs, with the model's feature settings: the same rows.
    let log_options = sample_log_options();
    let logs = |out: &Path, extra: &[&str]| {
        let mut args = vec!["score", "--model", s(&model)];
        args.extend(log_options.iter().map(String::as_str));
        args.extend(["--out", s(out)]);
        args.extend_from_slice(extra);
        let run = ok(&args);
        String::from_utf8_lossy(&run.stderr).to_string()
    };
    logs(&out("logs.csv"), &["--quiet"]);
    assert_eq!(read("a.csv"), read("logs.csv"));

    // Partitions: disjoint, and together exactly the unpartitioned rows.
    let whole: BTreeSet<String> = String::from_utf8(read("a.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(String::from)
        .collect();
    let mut union = BTreeSet::new();
    let mut total = 0;
    for i in 0..3 {
        let name = format!("part{i}.csv");
        score_with(
            &model,
            &features,
            &out(&name),
            &["--partition", &format!("{i}/3")],
        );
        let text = String::from_utf8(read(&name)).unwrap();
        let rows: Vec<&str> = text.lines().skip(1).collect();
        assert!(rows.len() > 1000, "partition {i}: {}", rows.len());
        total += rows.len();
        union.extend(rows.into_iter().map(String::from));
    }
    assert_eq!(total, whole.len());
    assert_eq!(union, whole);

    // From the logs, a partition leaves the other customers out while reading: the same bytes as
    // the partition of the features. Passes read the logs part by part: the same rows, pass by
    // pass, whether alone or inside a partition.
    let stderr = logs(&out("logs_part1.csv"), &["--partition", "1/3"]);
    assert!(stderr.contains("left out while reading"), "{stderr}");
    assert_eq!(read("logs_part1.csv"), read("part1.csv"));
    let rows_of = |name: &str| -> (usize, BTreeSet<String>) {
        let text = String::from_utf8(read(name)).unwrap();
        let rows: Vec<String> = text.lines().skip(1).map(String::from).collect();
        (rows.len(), rows.into_iter().collect())
    };
    let stderr = logs(&out("passes.csv"), &["--passes", "3"]);
    assert!(stderr.contains("(pass 3 of 3)"), "{stderr}");
    assert!(stderr.contains("logs read in 3 passes"), "{stderr}");
    assert_eq!(rows_of("passes.csv"), (whole.len(), whole.clone()));
    assert_ne!(read("passes.csv"), read("a.csv"), "passes reorder the rows");
    logs(
        &out("part1_passes.csv"),
        &["--partition", "1/3", "--passes", "2"],
    );
    assert_eq!(rows_of("part1_passes.csv"), rows_of("part1.csv"));
    // Byte-identical across threads, passes or not.
    logs(
        &out("passes_1thread.csv"),
        &["--passes", "3", "--threads", "1"],
    );
    assert_eq!(read("passes_1thread.csv"), read("passes.csv"));
    let err = fails(&[
        "score",
        "--model",
        s(&model),
        "--features",
        s(&features),
        "--partition",
        "3/3",
        "--out",
        s(&out("x.csv")),
    ]);
    assert!(err.contains("0 ≤ i < n"), "{err}");
    // Options of the logs are refused with precomputed features, not ignored.
    let x = out("x.csv");
    for extra in [["--passes", "2"], ["--as-of", "2026-01-01"]] {
        let mut args = vec!["score", "--model", s(&model), "--features", s(&features)];
        args.extend(extra);
        args.extend(["--out", s(&x)]);
        let err = fails(&args);
        assert!(err.contains("applies to --transactions"), "{err}");
    }
}

#[test]
fn mismatched_models_and_inputs_are_refused_with_what_differs() {
    let dir = tempfile::tempdir().unwrap();
    let (model, outputs) = trained(dir.path());
    let features = outputs.join("features.parquet");
    let out = dir.path().join("scores.csv");
    let score = |model: &Path, features: &Path| {
        fails(&[
            "score",
            "--model",
            s(model),
            "--features",
            s(features),
            "--out",
            s(&out),
        ])
    };

    // Another format version.
    let old = dir.path().join("old");
    copy_dir(&model, &old);
    let manifest = old.join("manifest.json");
    let text = std::fs::read_to_string(&manifest)
        .unwrap()
        .replace("\"format_version\": 1", "\"format_version\": 99");
    std::fs::write(&manifest, text).unwrap();
    let err = score(&old, &features);
    assert!(
        err.contains("version 99") && err.contains("retrain"),
        "{err}"
    );

    // Features without a column the model reads.
    let csv_features = common::sample_features(dir.path(), "f.csv", true);
    let text = std::fs::read_to_string(&csv_features).unwrap();
    let dropped: String = text
        .lines()
        .map(|line| {
            let cells: Vec<&str> = line.split(',').collect();
            let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
            let at = header.iter().position(|h| *h == "tenure_days").unwrap();
            cells
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != at)
                .map(|(_, c)| *c)
                .collect::<Vec<_>>()
                .join(",")
                + "\n"
        })
        .collect();
    let narrow = dir.path().join("narrow.csv");
    std::fs::write(&narrow, dropped).unwrap();
    let err = score(&model, &narrow);
    assert!(
        err.contains("tenure_days") && err.contains("lacks"),
        "{err}"
    );

    // Features in days for a model trained in weeks.
    let days = dir.path().join("days.csv");
    ok(&[
        "features",
        "--transactions",
        s(&repo("data/sample/transactions.csv")),
        "--time-unit",
        "days",
        "--out",
        s(&days),
        "--quiet",
    ]);
    let err = score(&model, &days);
    assert!(
        err.contains("days") && err.contains("--time-unit weeks"),
        "{err}"
    );

    // Not a model directory; nothing written.
    let err = score(&outputs, &features);
    assert!(err.contains("no manifest.json"), "{err}");
    assert!(!out.exists());

    // Training refuses to replace a folder that is not a model, and a bad pipeline file.
    let config = repo("data/pipeline.example.toml");
    let err = fails(&["train", "--config", s(&config), "--out", s(&outputs)]);
    assert!(err.contains("not a model directory"), "{err}");
    let bad = dir.path().join("bad.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    let data = repo("data");
    let anchored = text.replace("\"sample/", &format!("\"{}/sample/", data.display()));
    let anchored = anchored.replace(
        "\"segments.example.toml\"",
        &format!("\"{}/segments.example.toml\"", data.display()),
    );
    for (from, to, expected) in [
        ("scorer = \"auto\"", "scorer = \"ensemble\"", "ensemble"),
        (
            "algo = \"hamerly\"",
            "algo = \"fastest\"",
            "`lloyd`, `hamerly`",
        ),
        ("bins = 5", "bins = 5\ncolour = 1", "colour"),
        (
            "seed_rule = \"clv_rank <= 0.05\"",
            "",
            "exactly one of seeds",
        ),
    ] {
        std::fs::write(&bad, anchored.replace(from, to)).unwrap();
        let err = fails(&[
            "train",
            "--config",
            s(&bad),
            "--out",
            s(&dir.path().join("m2")),
        ]);
        assert!(err.contains(expected), "{from} → {to}: {err}");
        assert!(!dir.path().join("m2").exists());
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn a_killed_scoring_run_leaves_the_previous_output() {
    let dir = tempfile::tempdir().unwrap();
    let (model, outputs) = trained(dir.path());
    // A base of 250,000 customers: the sample's features, 50 times over with new ids.
    let features = common::sample_features(dir.path(), "f.csv", true);
    let text = std::fs::read_to_string(&features).unwrap();
    let (header, body) = text.split_once('\n').unwrap();
    let mut big = String::with_capacity(text.len() * 50);
    big.push_str(header);
    big.push('\n');
    for copy in 0..50 {
        for line in body.lines() {
            big.push_str(&format!("R{copy}-{line}\n"));
        }
    }
    let base = outputs.join("big.csv");
    std::fs::write(&base, big).unwrap();
    let out = dir.path().join("scores.csv");
    std::fs::write(&out, "previous\n").unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_lookalike"))
        .args([
            "score",
            "--model",
            s(&model),
            "--features",
            s(&base),
            "--chunk-rows",
            "2000",
            "--out",
            s(&out),
            "--quiet",
        ])
        .spawn()
        .unwrap();
    // Kill it once it has written part of its output.
    let partial = || {
        std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(Result::ok)
            .find(|e| e.file_name().to_string_lossy().ends_with(".partial"))
            .and_then(|e| e.metadata().ok())
            .is_some_and(|m| m.len() > 100_000)
    };
    let began = std::time::Instant::now();
    while !partial() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "scoring finished before it could be killed; make the base larger"
        );
        assert!(began.elapsed().as_secs() < 300);
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "previous\n");
    // Run again to the end: the complete output replaces the previous one.
    ok(&[
        "score",
        "--model",
        s(&model),
        "--features",
        s(&base),
        "--out",
        s(&out),
        "--quiet",
    ]);
    let lines = std::fs::read_to_string(&out).unwrap().lines().count();
    assert_eq!(lines, 250_001);
}

#[test]
fn the_committed_sample_model_is_current() {
    // models/sample is what the example pipeline trains today: both score the sample alike.
    let dir = tempfile::tempdir().unwrap();
    let (model, outputs) = trained(dir.path());
    let features = outputs.join("features.parquet");
    let (fresh, committed) = (
        dir.path().join("fresh.csv"),
        dir.path().join("committed.csv"),
    );
    score_with(&model, &features, &fresh, &["--quiet"]);
    score_with(&repo("models/sample"), &features, &committed, &["--quiet"]);
    assert!(
        std::fs::read(&fresh).unwrap() == std::fs::read(&committed).unwrap(),
        "models/sample is stale: retrain it with `lookalike train --config data/pipeline.example.toml --out models/sample`"
    );
    let out = lookalike(&[
        "score",
        "--model",
        s(&repo("models/sample")),
        "--features",
        s(&features),
        "--out",
        s(&committed),
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("scored 5000 customers"));
}

/// A customer with two rows in a feature table, in different chunks, is refused with the row
/// that repeats it; no output is left behind.
/// The sample's features as CSV in `dir/features.csv` (with its schema beside it).
fn sample_features_csv(dir: &Path) -> PathBuf {
    let features = dir.join("features.csv");
    let log_options = sample_log_options();
    let mut args = vec!["features"];
    args.extend(log_options.iter().map(String::as_str));
    args.extend(["--out", s(&features), "--quiet"]);
    ok(&args);
    features
}

#[test]
fn a_customer_twice_in_the_features_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let features = sample_features_csv(dir.path());
    let text = std::fs::read_to_string(&features).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    // Header, five customers, then the first customer again: data row 6.
    let twice = dir.path().join("twice.csv");
    let mut doubled: Vec<&str> = lines[..6].to_vec();
    doubled.push(lines[1]);
    std::fs::write(&twice, doubled.join("\n") + "\n").unwrap();
    copy_schema_to(dir.path(), "twice.csv");
    let out = dir.path().join("scores.csv");
    let model = repo("models/sample");
    let err = fails(&[
        "score",
        "--model",
        s(&model),
        "--features",
        s(&twice),
        "--chunk-rows",
        "4",
        "--out",
        s(&out),
    ]);
    let first = lines[1].split(',').next().unwrap();
    assert!(
        err.contains(&format!("data row 6: customer {first} already had a row")),
        "{err}"
    );
    assert!(!out.exists());
    // The file without the repeat scores.
    std::fs::write(&twice, lines[..6].join("\n") + "\n").unwrap();
    ok(&[
        "score",
        "--model",
        s(&model),
        "--features",
        s(&twice),
        "--chunk-rows",
        "4",
        "--out",
        s(&out),
        "--quiet",
    ]);
    assert_eq!(std::fs::read_to_string(&out).unwrap().lines().count(), 6);
}

/// A customer whose purchase history cannot be scored (recency after T) stops the run naming its
/// data row and id; with `--on-error skip` it alone is left out and counted, and every other row
/// is the row the intact file gives.
#[test]
fn an_unscorable_history_stops_the_run_or_is_skipped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let features = sample_features_csv(dir.path());
    let text = std::fs::read_to_string(&features).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let header: Vec<&str> = lines[0].split(',').collect();
    let at = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (recency, t) = (at("recency"), at("T"));
    // The first buyer after data row 2, so that it sits inside the second chunk of 2 rows.
    let row = (3..lines.len())
        .find(|i| {
            let cells: Vec<&str> = lines[*i].split(',').collect();
            !cells[t].is_empty() && cells[t].parse::<f64>().unwrap() > 1.0
        })
        .unwrap();
    let mut cells: Vec<String> = lines[row].split(',').map(String::from).collect();
    let id = cells[0].clone();
    cells[recency] = format!("{}", cells[t].parse::<f64>().unwrap() + 1.0);
    lines[row] = cells.join(",");
    let broken = dir.path().join("broken.csv");
    std::fs::write(&broken, lines.join("\n") + "\n").unwrap();
    copy_schema_to(dir.path(), "broken.csv");
    let model = repo("models/sample");
    let out = dir.path().join("scores.csv");
    let base = [
        "score",
        "--model",
        s(&model),
        "--out",
        s(&out),
        "--chunk-rows",
        "2",
    ];

    let mut args = base.to_vec();
    args.extend(["--features", s(&broken)]);
    let err = fails(&args);
    assert!(
        err.contains(&format!("data row {row}: customer {id}: value: recency")),
        "{err}"
    );
    assert!(err.contains("--on-error skip"), "{err}");
    assert!(!out.exists());

    args.extend(["--on-error", "skip"]);
    let run = ok(&args);
    let message = String::from_utf8_lossy(&run.stderr);
    assert!(message.contains("1 customers SKIPPED"), "{message}");
    assert!(message.contains(&format!("customer {id}")), "{message}");
    let skipped = std::fs::read_to_string(&out).unwrap();

    let mut args = base.to_vec();
    args.extend(["--features", s(&features), "--quiet"]);
    ok(&args);
    let intact = std::fs::read_to_string(&out).unwrap();
    let expected: Vec<&str> = intact
        .lines()
        .filter(|l| !l.starts_with(&format!("{id},")))
        .collect();
    assert_eq!(expected.len(), intact.lines().count() - 1);
    assert_eq!(skipped.lines().collect::<Vec<_>>(), expected);
}

/// Copies the sample features' schema beside an edited table, as a user would, without the
/// size of the table it was written with (which would tell the two apart).
fn copy_schema_to(dir: &Path, table: &str) {
    let text = std::fs::read_to_string(dir.join("features.csv.schema.json")).unwrap();
    let mut schema: serde_json::Value = serde_json::from_str(&text).unwrap();
    schema["provenance"]
        .as_object_mut()
        .unwrap()
        .remove("table_bytes");
    std::fs::write(dir.join(format!("{table}.schema.json")), schema.to_string()).unwrap();
}
