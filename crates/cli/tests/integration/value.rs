//! `lookalike value` end to end on the CDNOW sample: the published parameters through the real
//! binary, a model directory that predict reads back, the holdout report, and bad input.

use crate::common;

use common::{fails, ok, repo};

fn cdnow_features(dir: &std::path::Path) -> String {
    let out = dir.join("cdnow.csv");
    let transactions = repo("data/cdnow/cdnow_transactions.csv");
    ok(&[
        "features",
        "--transactions",
        transactions.to_str().unwrap(),
        "--column",
        "timestamp=date",
        "--column",
        "amount=dollar_value",
        "--as-of",
        "1997-10-01",
        "--holdout-end",
        "1998-07-01",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    out.to_str().unwrap().to_string()
}

#[test]
fn fit_predict_and_evaluate_reproduce_the_published_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let features = cdnow_features(dir.path());
    let model = dir.path().join("model");
    let model = model.to_str().unwrap();
    ok(&["value", "fit", "--features", &features, "--out", model]);
    let document: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("model/value_model.json")).unwrap(),
    )
    .unwrap();
    let purchases = &document["purchases"];
    assert_eq!(purchases["kind"], "bgnbd");
    assert_eq!(document["time_unit"], "weeks");
    assert!((purchases["log_likelihood"].as_f64().unwrap() + 9582.43).abs() < 0.01);
    assert!((purchases["parameters"]["r"].as_f64().unwrap() - 0.2426).abs() < 1e-4);
    assert!((document["spend"]["log_likelihood"].as_f64().unwrap() + 4055.92).abs() < 0.01);
    assert_eq!(purchases["warnings"].as_array().unwrap().len(), 0);

    // Predict 39 weeks: customer 1's P(alive) 0.7266, E[Y(39)] 1.226, spend 24.65.
    let predictions = dir.path().join("predictions.csv");
    let out = ok(&[
        "value",
        "predict",
        "--model",
        model,
        "--features",
        &features,
        "--horizon",
        "39",
        "--unit",
        "weeks",
        "--out",
        predictions.to_str().unwrap(),
    ]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("top 10 customers by CLV"));
    let text = std::fs::read_to_string(&predictions).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "customer_id,p_alive,expected_purchases,expected_spend,clv"
    );
    assert_eq!(text.lines().count(), 2_358);
    let first: Vec<f64> = lines
        .next()
        .unwrap()
        .split(',')
        .skip(1)
        .take(4)
        .map(|v| v.parse().unwrap())
        .collect();
    assert!((first[0] - 0.7266).abs() < 5e-5 && (first[1] - 1.226).abs() < 5e-4);
    assert!((first[2] - 24.65).abs() < 0.005 && first[3] > 0.0);

    // Evaluate: fits the calibration period itself, compares with the 1,882 holdout purchases.
    let transactions = repo("data/cdnow/cdnow_transactions.csv");
    let report = dir.path().join("report");
    let out = ok(&[
        "value",
        "evaluate",
        "--transactions",
        transactions.to_str().unwrap(),
        "--column",
        "timestamp=date",
        "--column",
        "amount=dollar_value",
        "--as-of",
        "1997-10-01",
        "--holdout-end",
        "1998-07-01",
        "--model",
        "pareto",
        "--out",
        report.to_str().unwrap(),
        "--plot",
        report.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("Pareto/NBD on 2357 customers, log-likelihood -9594.98"),
        "{stdout}"
    );
    assert!(stdout.contains("actual 1882"), "{stdout}");
    let by_x = std::fs::read_to_string(report.join("by_frequency.csv")).unwrap();
    // 1,411 customers made no repeat purchase in calibration (the paper's table).
    assert!(
        by_x.lines().nth(1).unwrap().starts_with("0,1411,"),
        "{by_x}"
    );
    assert!(report.join("deciles.csv").is_file() && report.join("metrics.csv").is_file());
    // Weekly tracking: 39 holdout weeks whose purchases add up to the 1,882 of the holdout,
    // and a model curve ending at the model's total in the metrics.
    let tracking = std::fs::read_to_string(report.join("tracking.csv")).unwrap();
    let weeks: Vec<Vec<f64>> = tracking
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
        .collect();
    assert_eq!(weeks.len(), 39);
    assert_eq!(weeks[38][1], 1882.0);
    assert!(
        weeks
            .windows(2)
            .all(|w| w[1][1] >= w[0][1] && w[1][2] > w[0][2])
    );
    let metrics = std::fs::read_to_string(report.join("metrics.csv")).unwrap();
    let model_total: f64 = metrics
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (weeks[38][2] - model_total).abs() < 1e-6 * model_total,
        "{} vs {model_total}",
        weeks[38][2]
    );
    // The cohort over the whole period: from the week of the first purchases (1 January 1997,
    // 39 weeks before as-of) to the holdout's end; at as-of the 2,457 repeat purchase days of
    // calibration (Σx, counted from the raw file), 1,882 more at the end.
    let cohort: Vec<Vec<f64>> = std::fs::read_to_string(report.join("cohort_tracking.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
        .collect();
    assert_eq!(cohort.first().unwrap()[0], -266.0);
    assert_eq!(cohort.len(), 39 + 39);
    let cutoff = cohort.iter().find(|w| w[0] == 0.0).unwrap();
    assert_eq!(cutoff[2], 2457.0);
    assert_eq!(cohort.last().unwrap()[2], 2457.0 + 1882.0);
    assert_eq!(cohort.last().unwrap()[0], 273.0);
    // The unconditional expectation starts near 0, grows every week and, fitted on these
    // data, meets the calibration total within 3%.
    assert!(cohort[0][3] < 10.0);
    assert!(cohort.windows(2).all(|w| w[1][3] > w[0][3]));
    assert!((cutoff[3] / 2457.0 - 1.0).abs() < 0.03, "{}", cutoff[3]);
    let svg = std::fs::read_to_string(report.join("tracking.svg")).unwrap();
    assert!(svg.contains("as-of: calibration | holdout"));
    for plot in [
        "tracking.svg",
        "conditional_expectations.svg",
        "p_alive.svg",
    ] {
        let svg = std::fs::read_to_string(report.join(plot)).unwrap();
        assert!(
            svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"),
            "{plot}"
        );
    }
}

/// Logs drawn by `lookalike generate --model bgnbd` and `mbgnbd` with known parameters, through
/// `features` and `value fit`: every parameter within 3 standard errors of the truth. The rates
/// are low enough (mean 1 purchase in 60 weeks) that same-day purchases, which the summary
/// merges, are rare: with a heavy tail of daily buyers the merging biases x down (see the
/// value crate's README).
#[test]
fn generated_log_with_known_parameters_is_recovered() {
    let dir = tempfile::tempdir().unwrap();
    let r_alpha_a_b = &["r", "alpha", "a", "b"][..];
    for kind in ["bgnbd", "mbgnbd"] {
        let truth = [0.5, 30.0, 0.8, 2.5];
        recover(kind, "weeks", r_alpha_a_b, &truth, &dir.path().join(kind));
    }
    // BG/BB with a day per opportunity: buying on about 1 day in 40, leaving after about 50.
    let names = &["alpha", "beta", "gamma", "delta"][..];
    let truth = [0.5, 20.0, 0.8, 40.0];
    recover("bgbb", "days", names, &truth, &dir.path().join("bgbb"));
}

/// Draws a log from the model `kind` with the parameters `truth` (named `names`, in `unit`)
/// into `dir`, summarises and fits it: every parameter within 3 standard errors of the truth.
fn recover(kind: &str, unit: &str, names: &[&str], truth: &[f64], dir: &std::path::Path) {
    std::fs::create_dir_all(dir).unwrap();
    let path = |name: &str| dir.join(name).to_str().unwrap().to_string();
    let spend = [6.25, 3.74, 15.44];
    let list = |values: &[f64]| {
        values
            .iter()
            .map(f64::to_string)
            .collect::<Vec<_>>()
            .join(",")
    };
    ok(&[
        "generate",
        "--model",
        kind,
        "--parameters",
        &list(truth),
        "--unit",
        unit,
        "--spend",
        &list(&spend),
        "--customers",
        "20000",
        "--seed",
        "4",
        "--start",
        "2023-01-01",
        "--end",
        "2025-01-01",
        "--out",
        &path("log"),
        "--quiet",
    ]);
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path("log/truth.json")).unwrap()).unwrap();
    assert_eq!(written["parameters"][names[1]], truth[1]);
    ok(&[
        "features",
        "--transactions",
        &path("log/transactions.csv"),
        "--as-of",
        "2025-01-01",
        "--time-unit",
        unit,
        "--out",
        &path("features.csv"),
        "--quiet",
    ]);
    ok(&[
        "value",
        "fit",
        "--features",
        &path("features.csv"),
        "--model",
        kind,
        "--out",
        &path("model"),
        "--quiet",
    ]);
    let model: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path("model/value_model.json")).unwrap())
            .unwrap();
    for (section, names, values) in [
        ("purchases", names, truth),
        ("spend", &["p", "q", "gamma"][..], &spend[..]),
    ] {
        assert!(model[section]["customers"].as_u64().unwrap() > 5000);
        for (name, value) in names.iter().zip(values) {
            let estimate = model[section]["parameters"][name].as_f64().unwrap();
            let se = model[section]["std_errors"][name].as_f64().unwrap();
            assert!(
                (estimate - value).abs() < 3.0 * se,
                "{name}: {estimate} ± {se}, truth {value}"
            );
        }
    }
    assert_eq!(model["purchases"]["kind"], kind);
}

#[test]
fn generated_logs_with_bad_parameters_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    // Bad parameters are refused before anything is written.
    let err = fails(&[
        "generate",
        "--model",
        "bgnbd",
        "--parameters",
        "1,2,3",
        "--out",
        &path("x"),
    ]);
    assert!(err.contains("needs 4 numbers"), "{err}");
    let err = fails(&[
        "generate",
        "--model",
        "pareto",
        "--parameters",
        "1,2,0,4",
        "--out",
        &path("x"),
    ]);
    assert!(err.contains("s = 0"), "{err}");
    assert!(!dir.path().join("x/transactions.csv").exists());
}

#[test]
fn bad_input_gets_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    // A feature table without the BTYD columns.
    std::fs::write(path("plain.csv"), "customer_id,orders\na,1\nb,2\n").unwrap();
    let err = fails(&[
        "value",
        "fit",
        "--features",
        &path("plain.csv"),
        "--out",
        &path("m"),
    ]);
    assert!(err.contains("no `frequency` column"), "{err}");
    // The last purchase after the end of the period, in row 1.
    std::fs::write(
        path("bad.csv"),
        "customer_id,frequency,recency,T,monetary_value\na,1,3,5,10\nb,2,9,5,10\n",
    )
    .unwrap();
    let err = fails(&[
        "value",
        "fit",
        "--features",
        &path("bad.csv"),
        "--out",
        &path("m"),
    ]);
    assert!(
        err.contains("bad.csv: line 3, customer \"b\": recency 9 is greater than T 5"),
        "{err}"
    );
    // Nobody bought twice.
    std::fs::write(
        path("once.csv"),
        "customer_id,frequency,recency,T,monetary_value\na,0,0,5,0\nb,0,0,7,0\n",
    )
    .unwrap();
    let err = fails(&[
        "value",
        "fit",
        "--features",
        &path("once.csv"),
        "--out",
        &path("m"),
    ]);
    assert!(err.contains("no customer made a repeat purchase"), "{err}");
    // A missing model directory, a negative penalty, a bad horizon.
    let err = fails(&[
        "value",
        "predict",
        "--model",
        &path("nothing"),
        "--features",
        &path("bad.csv"),
        "--out",
        &path("p.csv"),
    ]);
    assert!(
        err.contains("--model") && err.contains("does not exist"),
        "{err}"
    );
    let features = cdnow_features(dir.path());
    let err = fails(&[
        "value",
        "fit",
        "--features",
        &features,
        "--penalty=-1",
        "--out",
        &path("m"),
    ]);
    assert!(err.contains("penalty must be a finite number ≥ 0"), "{err}");
    ok(&[
        "value",
        "fit",
        "--features",
        &features,
        "--out",
        &path("good"),
        "--quiet",
    ]);
    let err = fails(&[
        "value",
        "predict",
        "--model",
        &path("good"),
        "--features",
        &features,
        "--horizon=-3",
        "--out",
        &path("p.csv"),
    ]);
    assert!(err.contains("--horizon"), "{err}");
    assert!(
        !dir.path().join("p.csv").exists(),
        "no output after an error"
    );
}

/// `value fit --transactions` summarises the log itself: on CDNOW it fits the published
/// parameters, writes the same model parameters as a fit on `lookalike features`' table, and
/// `--predictions` writes byte for byte what `value predict` writes from that table. `value
/// predict --transactions` does the same with a saved model.
#[test]
fn fit_and_predict_straight_from_the_log_equal_the_feature_table_route() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let features = cdnow_features(dir.path());
    let transactions = repo("data/cdnow/cdnow_transactions.csv");
    let transactions = transactions.to_str().unwrap();
    let log_args = [
        "--transactions",
        transactions,
        "--column",
        "timestamp=date",
        "--column",
        "amount=dollar_value",
        "--as-of",
        "1997-10-01",
    ];
    let horizon = ["--horizon", "39", "--unit", "weeks"];
    let (from_log_dir, p_log) = (path("from_log"), path("p_log.csv"));
    let (from_table_dir, p_table, p_saved) =
        (path("from_table"), path("p_table.csv"), path("p_saved.csv"));
    let mut one_pass = vec!["value", "fit"];
    one_pass.extend(log_args);
    one_pass.extend(["--out", &from_log_dir, "--predictions", &p_log]);
    one_pass.extend(horizon);
    let out = ok(&one_pass);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("summarised 2357 customers as of 1997-10-01"),
        "{stderr}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("top 10 customers by CLV"));

    ok(&[
        "value",
        "fit",
        "--features",
        &features,
        "--out",
        &from_table_dir,
    ]);
    let mut predict = vec!["value", "predict", "--model", &from_table_dir];
    predict.extend(["--features", &features, "--out", &p_table]);
    predict.extend(horizon);
    ok(&predict);

    let model = |name: &str| -> serde_json::Value {
        let text = std::fs::read_to_string(dir.path().join(name).join("value_model.json"));
        serde_json::from_str(&text.unwrap()).unwrap()
    };
    let (from_log, from_table) = (model("from_log"), model("from_table"));
    assert!((from_log["purchases"]["log_likelihood"].as_f64().unwrap() + 9582.43).abs() < 0.01);
    for part in ["purchases", "spend"] {
        assert_eq!(
            from_log[part]["parameters"], from_table[part]["parameters"],
            "{part}"
        );
    }
    assert_eq!(from_log["transactions"], transactions);
    assert!(from_log.get("features").is_none());
    let read = |name: &str| std::fs::read(dir.path().join(name)).unwrap();
    assert_eq!(read("p_log.csv"), read("p_table.csv"));

    // A saved model scores a log directly.
    let mut predict_log = vec!["value", "predict", "--model", &from_table_dir];
    predict_log.extend(log_args);
    predict_log.extend(["--out", &p_saved]);
    predict_log.extend(horizon);
    ok(&predict_log);
    assert_eq!(read("p_saved.csv"), read("p_table.csv"));

    // Recency and T in days against a model fitted in weeks: refused, saying what to pass.
    let mut days = predict_log.clone();
    days.extend(["--time-unit", "days"]);
    let err = fails(&days);
    assert!(err.contains("pass --time-unit weeks"), "{err}");
    // One source, not both and not none; log options need the log.
    let err = fails(&[
        "value",
        "fit",
        "--features",
        &features,
        "--transactions",
        transactions,
        "--out",
        &path("m"),
    ]);
    assert!(err.contains("cannot be used with"), "{err}");
    let err = fails(&["value", "fit", "--out", &path("m")]);
    assert!(err.contains("--features"), "{err}");
    let err = fails(&[
        "value",
        "fit",
        "--features",
        &features,
        "--as-of",
        "1997-10-01",
        "--out",
        &path("m"),
    ]);
    assert!(err.contains("--transactions"), "{err}");
    // A bad line of the log is named with its file, line and column.
    std::fs::write(
        path("bad_log.csv"),
        "customer_id,timestamp,amount\na,2024-01-01,5\na,2024-01-09,-\n",
    )
    .unwrap();
    let err = fails(&[
        "value",
        "fit",
        "--transactions",
        &path("bad_log.csv"),
        "--out",
        &path("m"),
    ]);
    assert!(
        err.contains("bad_log.csv") && err.contains("line 3"),
        "{err}"
    );
    assert!(err.contains("amount"), "{err}");
    assert!(!dir.path().join("m").exists(), "no model after an error");
}

#[test]
fn plots_may_go_in_a_folder_inside_the_tables_folder() {
    let dir = tempfile::tempdir().unwrap();
    let transactions = common::repo("data/sample/transactions.csv");
    let out = dir.path().join("evaluation");
    let plots = out.join("plots");
    let evaluate = || {
        common::ok(&[
            "value",
            "evaluate",
            "--transactions",
            common::s(&transactions),
            "--as-of",
            "2025-07-01",
            "--holdout-end",
            "2026-01-01",
            "--out",
            common::s(&out),
            "--plot",
            common::s(&plots),
            "--quiet",
        ])
    };
    evaluate();
    let listing = |dir: &std::path::Path| {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with('.'))
            .collect();
        names.sort();
        names
    };
    let tables = listing(&out);
    assert!(tables.contains(&"plots".to_string()), "{tables:?}");
    assert!(tables.iter().any(|n| n == "tracking.csv"), "{tables:?}");
    let svgs = listing(&plots);
    assert!(svgs.contains(&"tracking.svg".to_string()), "{svgs:?}");
    assert!(svgs.iter().all(|n| n.ends_with(".svg")), "{svgs:?}");
    let tracking = std::fs::read_to_string(plots.join("tracking.svg")).unwrap();
    // The same run again replaces both whole, leaving no staging folder beside them.
    evaluate();
    assert_eq!(listing(&out), tables);
    assert_eq!(listing(&plots), svgs);
    assert_eq!(
        std::fs::read_to_string(plots.join("tracking.svg")).unwrap(),
        tracking
    );
    assert_eq!(listing(dir.path()), ["evaluation"]);
}
