//! End-to-end: `lookalike cluster` and `lookalike bench clustering` on real files.

use crate::common;

use common::{fails, ok, s, sample_features};

use std::collections::HashMap;
use std::path::{Path, PathBuf};

fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let header = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    (header, rows)
}

#[test]
fn the_model_alone_reproduces_the_assignments_of_every_customer() {
    let dir = tempfile::tempdir().unwrap();
    let features = sample_features(dir.path(), "features.csv", false);
    let out = dir.path().join("clusters");
    let run = ok(&[
        "cluster",
        "--features",
        s(&features),
        "--k",
        "4",
        "--log1p",
        "orders,total_spend",
        "--weight",
        "T=0.5",
        "--out",
        s(&out),
    ]);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(stdout.contains("CLUSTERS  k = 4"), "{stdout}");
    assert!(stdout.contains("were not clustered"), "{stdout}");

    // The recipe of models/README.md, from model.json alone.
    let model: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("model.json")).unwrap()).unwrap();
    assert_eq!(model["format"], "lookalike-kmeans");
    let columns: Vec<String> = serde_json::from_value(model["columns"].clone()).unwrap();
    let vector =
        |key: &str| -> Vec<f64> { serde_json::from_value(model["scaling"][key].clone()).unwrap() };
    let log1p: Vec<bool> = serde_json::from_value(model["scaling"]["log1p"].clone()).unwrap();
    let (center, spread, weight) = (vector("center"), vector("spread"), vector("weight"));
    assert_eq!(weight, vec![1.0, 1.0, 1.0, 0.5]);
    let centroids: Vec<Vec<f64>> = serde_json::from_value(model["centroids"].clone()).unwrap();
    let (header, rows) = read_csv(&features);
    let index: Vec<usize> = columns
        .iter()
        .map(|c| header.iter().position(|h| h == c).unwrap())
        .collect();
    let mut expected: HashMap<String, Option<usize>> = HashMap::new();
    for row in &rows {
        let raw: Vec<Option<f64>> = index
            .iter()
            .map(|j| row[*j].parse::<f64>().ok().filter(|v| v.is_finite()))
            .collect();
        let label = if raw.iter().all(Option::is_some) {
            let x: Vec<f64> = raw
                .iter()
                .enumerate()
                .map(|(j, v)| {
                    let v = v.unwrap();
                    let v = if log1p[j] { v.ln_1p() } else { v };
                    weight[j] * (v - center[j]) / spread[j]
                })
                .collect();
            let squared =
                |c: &Vec<f64>| -> f64 { c.iter().zip(&x).map(|(a, b)| (a - b) * (a - b)).sum() };
            (0..centroids.len())
                .min_by(|a, b| squared(&centroids[*a]).total_cmp(&squared(&centroids[*b])))
        } else {
            None
        };
        expected.insert(row[0].clone(), label);
    }
    let (assign_header, assignments) = read_csv(&out.join("assignments.csv"));
    assert_eq!(assign_header, ["customer_id", "cluster", "distance"]);
    assert_eq!(
        assignments.len(),
        rows.len(),
        "one row per customer, nothing lost"
    );
    let mut clustered = 0;
    for row in &assignments {
        let got = row[1].parse::<usize>().ok();
        assert_eq!(got, expected[&row[0]], "customer {}", row[0]);
        assert_eq!(row[2].is_empty(), got.is_none());
        clustered += usize::from(got.is_some());
    }
    assert!(clustered > 3_000 && clustered < rows.len());
    assert_eq!(model["fit"]["customers"], clustered);
    let (_, profiles) = read_csv(&out.join("profiles.csv"));
    assert_eq!(profiles.len(), 4);
    let sizes: usize = profiles
        .iter()
        .map(|p| p[1].parse::<usize>().unwrap())
        .sum();
    assert_eq!(sizes, clustered);
}

#[test]
fn a_sweep_over_k_suggests_one_and_writes_its_model() {
    let dir = tempfile::tempdir().unwrap();
    let features = sample_features(dir.path(), "features.csv", false);
    let out = dir.path().join("sweep");
    let run = ok(&[
        "cluster",
        "--features",
        s(&features),
        "--k",
        "2..5",
        "--out",
        s(&out),
    ]);
    let stdout = String::from_utf8_lossy(&run.stdout);
    let suggested: usize = stdout
        .split("suggested k = ")
        .nth(1)
        .and_then(|rest| rest.split(':').next())
        .and_then(|k| k.parse().ok())
        .unwrap_or_else(|| panic!("no suggestion in {stdout}"));
    let (header, rows) = read_csv(&out.join("sweep.csv"));
    assert_eq!(
        rows.iter().map(|r| r[0].as_str()).collect::<Vec<_>>(),
        ["2", "3", "4", "5"]
    );
    let silhouette = header.iter().position(|h| h == "silhouette").unwrap();
    let best = rows
        .iter()
        .max_by(|a, b| {
            a[silhouette]
                .parse::<f64>()
                .unwrap()
                .total_cmp(&b[silhouette].parse::<f64>().unwrap())
        })
        .unwrap();
    assert_eq!(best[0].parse::<usize>().unwrap(), suggested);
    let model: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("model.json")).unwrap()).unwrap();
    assert_eq!(model["k"], suggested);
    // The plot: each cluster of the chosen k with its size, and the sweep's two curves.
    let svg = std::fs::read_to_string(out.join("clusters.svg")).unwrap();
    assert!(svg.contains(&format!("{suggested} clusters")), "{svg}");
    for cluster in model["clusters"].as_array().unwrap() {
        let label = format!("{} ({}):", cluster["cluster"], cluster["size"]);
        assert!(svg.contains(&label), "{label}");
    }
    assert!(svg.contains("silhouette (higher is better)") && svg.contains("inertia (the elbow)"));
}

#[test]
fn same_seed_same_assignments_at_any_thread_count_and_parquet_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let features = sample_features(dir.path(), "features.csv", false);
    let run = |threads: &str, name: &str| {
        let out = dir.path().join(name);
        ok(&[
            "cluster",
            "--features",
            s(&features),
            "--k",
            "6",
            "--init",
            "kmeans-par",
            "--algo",
            "lloyd",
            "--precision",
            "f32",
            "--threads",
            threads,
            "--out",
            s(&out),
            "--quiet",
        ]);
        std::fs::read(out.join("assignments.csv")).unwrap()
    };
    assert_eq!(run("1", "one"), run("2", "two"));
    let out = dir.path().join("pq");
    ok(&[
        "cluster",
        "--features",
        s(&features),
        "--k",
        "3",
        "--algo",
        "minibatch",
        "--assignments",
        "assignments.parquet",
        "--out",
        s(&out),
        "--quiet",
    ]);
    let bytes = std::fs::read(out.join("assignments.parquet")).unwrap();
    assert!(bytes.starts_with(b"PAR1") && bytes.ends_with(b"PAR1"));
}

fn small_table(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn bad_input_gets_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let good = small_table(
        dir.path(),
        "small.csv",
        "customer_id,a,b,flat\nc1,1,5,2\nc2,2,6,2\nc3,9,1,2\nc4,,3,2\n",
    );
    let out = dir.path().join("out");
    let cluster = |extra: &[&str]| {
        let mut args = vec!["cluster", "--features", s(&good), "--out", s(&out)];
        args.extend_from_slice(extra);
        fails(&args)
    };
    let error = cluster(&["--k", "2", "--columns", "a,nope"]);
    assert!(
        error.contains("\"nope\"") && error.contains("known columns: a, b, flat"),
        "{error}"
    );
    assert!(cluster(&["--k", "0", "--columns", "a,b"]).contains("at least 1"));
    assert!(cluster(&["--k", "5..2", "--columns", "a,b"]).contains("empty"));
    assert!(cluster(&["--k", "many", "--columns", "a,b"]).contains("expected a number"));
    let error = cluster(&["--k", "2", "--columns", "a,flat"]);
    assert!(
        error.contains("flat") && error.contains("constant"),
        "{error}"
    );
    let error = cluster(&["--k", "4", "--columns", "a,b"]);
    assert!(
        error.contains("k = 4 but the data has only 3 distinct points"),
        "{error}"
    );
    let error = cluster(&["--k", "2", "--columns", "a,b", "--missing", "fail"]);
    assert!(error.contains("c4") && error.contains("\"a\""), "{error}");
    assert!(
        cluster(&["--k", "2", "--columns", "a,b", "--weight", "a=heavy"]).contains("not a number")
    );
    assert!(cluster(&["--k", "2", "--columns", "a,b", "--weight", "a=-1"]).contains("weight"));
    let empty = small_table(dir.path(), "empty.csv", "customer_id,a,b\n");
    let error = fails(&[
        "cluster",
        "--features",
        s(&empty),
        "--k",
        "2",
        "--columns",
        "a,b",
        "--out",
        s(&out),
    ]);
    assert!(error.contains("no customer"), "{error}");
    let error = fails(&[
        "cluster",
        "--features",
        s(&dir.path().join("missing.csv")),
        "--k",
        "2",
        "--out",
        s(&out),
    ]);
    assert!(error.contains("missing.csv"), "{error}");
    assert!(
        !out.join("model.json").exists(),
        "nothing is written on failure"
    );
    // linfa's backend works on the same small table.
    ok(&[
        "cluster",
        "--features",
        s(&good),
        "--k",
        "2",
        "--columns",
        "a,b",
        "--algo",
        "linfa",
        "--out",
        s(&out),
        "--quiet",
    ]);
}

#[test]
fn bench_clustering_runs_the_grid_and_writes_table_files_and_plots() {
    let dir = tempfile::tempdir().unwrap();
    let features = sample_features(dir.path(), "features.csv", false);
    let out = dir.path().join("bench");
    let run = ok(&[
        "bench",
        "clustering",
        "--features",
        s(&features),
        "--columns",
        "orders,total_spend,T",
        "--k",
        "2,3",
        "--init",
        "kmeans++,random",
        "--algo",
        "lloyd,hamerly,linfa",
        "--repeats",
        "2",
        "--out",
        s(&out),
    ]);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(stdout.contains("BENCH clustering"), "{stdout}");
    let (header, rows) = read_csv(&out.join("bench.csv"));
    assert_eq!(rows.len(), 2 * 2 * 3);
    let ari = header.iter().position(|h| h == "ari_vs_best").unwrap();
    let inertia = header.iter().position(|h| h == "inertia").unwrap();
    for k in ["2", "3"] {
        let group: Vec<&Vec<String>> = rows.iter().filter(|r| r[0] == k).collect();
        let best = group
            .iter()
            .map(|r| r[inertia].parse::<f64>().unwrap())
            .fold(f64::INFINITY, f64::min);
        for r in &group {
            if r[inertia].parse::<f64>().unwrap() == best {
                assert_eq!(r[ari], "1.0", "the best run agrees with itself");
            }
        }
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("bench.json")).unwrap()).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 12);
    for plot in ["elbow.svg", "silhouette.svg", "time_quality.svg"] {
        let svg = std::fs::read_to_string(out.join(plot)).unwrap();
        assert!(svg.contains("<svg") && svg.contains("hamerly"), "{plot}");
    }
    let start = small_table(dir.path(), "start.csv", "orders,total_spend,T\n1,2,3\n");
    let error = fails(&[
        "bench",
        "clustering",
        "--features",
        s(&features),
        "--columns",
        "orders,total_spend,T",
        "--k",
        "2",
        "--init-centroids",
        s(&start),
        "--out",
        s(&out),
    ]);
    assert!(error.contains("--k 1"), "{error}");
}
