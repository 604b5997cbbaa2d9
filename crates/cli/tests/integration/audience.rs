//! `lookalike expand` end to end on the bundled sample: seeds from one persona of the
//! generator's truth, tiers, exclusions, consent, control groups, and bad input.

use crate::common;

use std::collections::HashSet;
use std::path::Path;

use common::{fails, ok, repo, s, sample_features};

/// (customer_id, persona) of the sample's truth file.
fn personas() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(repo("data/sample/truth.csv")).unwrap();
    text.lines()
        .skip(1)
        .map(|l| {
            let mut cells = l.split(',');
            (
                cells.next().unwrap().to_string(),
                cells.next().unwrap().to_string(),
            )
        })
        .collect()
}

fn write_ids(path: &Path, ids: &[&str]) {
    let mut text = String::from("customer_id\n");
    for id in ids {
        text += id;
        text += "\n";
    }
    std::fs::write(path, text).unwrap();
}

/// Rows of an audience CSV as (customer_id, tier, control) plus the whole text.
fn audience(path: &Path) -> (Vec<(String, String, bool)>, String) {
    let text = std::fs::read_to_string(path).unwrap();
    let rows = text
        .lines()
        .skip(1)
        .map(|l| {
            let cells: Vec<&str> = l.split(',').collect();
            (
                cells[0].to_string(),
                cells[4].to_string(),
                cells[5] == "true",
            )
        })
        .collect();
    (rows, text)
}

/// Seeds: 150 loyal high spenders of the generator; hidden among the candidates are the other
/// 373. Measured recall of them at the 10% tier: classifier (the default) 76%, ensemble 69%,
/// kNN 66%, centroids 39%; a random 10% tier finds 10%. The personas overlap in what a log
/// shows (a quadratic logistic regression told every customer's persona, 5-fold, finds 64% in
/// the top 10% of all buyers), so the test asks for 70%, 60%, 60% and 30%.
#[test]
fn seeds_from_one_persona_find_the_rest_of_it() {
    let dir = tempfile::tempdir().unwrap();
    let features = sample_features(dir.path(), "features.csv", false);
    let features = s(&features).to_string();
    let personas = personas();
    let loyal: Vec<&str> = personas
        .iter()
        .filter(|(_, p)| p == "loyal_high_spender")
        .map(|(id, _)| id.as_str())
        .collect();
    let seeds = dir.path().join("seeds.csv");
    write_ids(&seeds, &loyal[..150]);
    let hidden: HashSet<&str> = loyal[150..].iter().copied().collect();
    for (scorer, least) in [("knn", 0.6), ("centroids", 0.3)] {
        let out = dir.path().join(format!("{scorer}.csv"));
        ok(&[
            "expand",
            "--features",
            &features,
            "--seeds",
            s(&seeds),
            "--size",
            "10%",
            "--scorer",
            scorer,
            "--out",
            s(&out),
            "--quiet",
        ]);
        let (rows, _) = audience(&out);
        let found = rows
            .iter()
            .filter(|r| hidden.contains(r.0.as_str()))
            .count();
        let recall = found as f64 / hidden.len() as f64;
        assert!(recall >= least, "{scorer}: recall {recall}");
    }
}

/// Nested exact tiers; no seed, excluded or non-consenting customer ever chosen; the same
/// bytes at 1 and 2 threads and the same control flags under another tier set.
#[test]
fn tiers_exclusions_consent_and_control() {
    let dir = tempfile::tempdir().unwrap();
    let features = sample_features(dir.path(), "features.csv", false);
    let features = s(&features).to_string();
    let personas = personas();
    let ids: Vec<&str> = personas.iter().map(|(id, _)| id.as_str()).collect();
    let seed_ids: Vec<&str> = ids.iter().step_by(20).copied().collect(); // 250 seeds
    let seeds = dir.path().join("seeds.csv");
    write_ids(&seeds, &seed_ids);
    let excluded: Vec<&str> = ids.iter().skip(3).step_by(7).copied().collect();
    let suppression = dir.path().join("suppress.csv");
    write_ids(&suppression, &excluded);
    let run = |name: &str, sizes: &str, threads: &str| {
        let out = dir.path().join(name);
        let result = ok(&[
            "expand",
            "--features",
            &features,
            "--seeds",
            s(&seeds),
            "--size",
            sizes,
            "--holdout",
            "20%",
            "--salt",
            "5",
            "--exclude",
            s(&suppression),
            "--require-consent",
            "marketing_consent",
            "--threads",
            threads,
            "--out",
            s(&out),
        ]);
        (
            audience(&out),
            String::from_utf8_lossy(&result.stderr).into_owned(),
        )
    };
    let ((rows, text), messages) = run("a.csv", "2%,5%,100", "1");
    // The pool, from the messages: scored candidates.
    let scored: usize = messages
        .split("scored ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{messages}"));
    let sizes = [
        (0.02 * scored as f64).round() as usize,
        100,
        (0.05 * scored as f64).round() as usize,
    ];
    assert_eq!(rows.len(), sizes[2]);
    for (t, label) in ["2%", "100", "5%"].iter().enumerate() {
        let first = rows.iter().position(|r| r.1 == *label).unwrap();
        let last = rows.iter().rposition(|r| r.1 == *label).unwrap();
        let before = if t == 0 { 0 } else { sizes[t - 1] };
        assert_eq!((first, last + 1), (before, sizes[t]), "tier {label}");
    }
    let forbidden: HashSet<&str> = seed_ids.iter().chain(&excluded).copied().collect();
    let consent = consent_of(&features);
    for (id, _, _) in &rows {
        assert!(
            !forbidden.contains(id.as_str()),
            "{id} is a seed or excluded"
        );
        assert_eq!(consent.get(id.as_str()), Some(&true), "{id} has no consent");
    }
    let controls = rows.iter().filter(|r| r.2).count() as f64 / rows.len() as f64;
    assert!((controls - 0.2).abs() < 0.08, "control share {controls}");
    let ((_, again), _) = run("b.csv", "2%,5%,100", "2");
    assert_eq!(text, again, "same bytes at 1 and 2 threads");
    let ((wider, _), _) = run("c.csv", "10%", "2");
    let flags: std::collections::HashMap<&str, bool> =
        wider.iter().map(|r| (r.0.as_str(), r.2)).collect();
    assert!(
        rows.iter().all(|r| flags[r.0.as_str()] == r.2),
        "control flags stable"
    );
}

fn consent_of(features: &str) -> std::collections::HashMap<String, bool> {
    let text = std::fs::read_to_string(features).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let at = header
        .iter()
        .position(|h| *h == "marketing_consent")
        .unwrap();
    lines
        .map(|l| {
            let cells: Vec<&str> = l.split(',').collect();
            (cells[0].to_string(), cells[at] == "1")
        })
        .collect()
}

#[test]
fn bad_input_gets_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let features = sample_features(dir.path(), "features.csv", false);
    let features = s(&features).to_string();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let personas = personas();
    let ids: Vec<&str> = personas.iter().map(|(id, _)| id.as_str()).collect();
    write_ids(Path::new(&path("seeds.csv")), &ids[..200]);
    let out = path("audience.csv");
    let expand = |extra: &[&str]| {
        let mut args = vec!["expand", "--features", &features, "--out", &out];
        args.extend_from_slice(extra);
        fails(&args)
    };
    std::fs::write(path("empty.csv"), "").unwrap();
    assert!(expand(&["--seeds", &path("empty.csv")]).contains("empty"));
    write_ids(Path::new(&path("unknown.csv")), &["nobody", "noone"]);
    let err = expand(&["--seeds", &path("unknown.csv")]);
    assert!(err.contains("none of the 2 seed ids"), "{err}");
    // 20 seeds, 4 of whom have no purchase (no features to compare): 16 remain.
    write_ids(Path::new(&path("few.csv")), &ids[..20]);
    let err = expand(&["--seeds", &path("few.csv")]);
    assert!(
        err.contains("16 seed customers, fewer than the minimum of 100"),
        "{err}"
    );
    let seeds = path("seeds.csv");
    let err = expand(&["--seeds", &seeds, "--size", "0%"]);
    assert!(err.contains("selects no customer"), "{err}");
    let err = expand(&["--seeds", &seeds, "--size", "150%"]);
    assert!(err.contains("is more than"), "{err}");
    let err = expand(&["--seeds", &seeds, "--require-consent", "opt_in"]);
    assert!(
        err.contains("--require-consent opt_in: no such column"),
        "{err}"
    );
    let err = expand(&["--seeds", &seeds, "--columns", "orders,shoe_size"]);
    assert!(err.contains("shoe_size"), "{err}");
    let err = expand(&["--seeds", &seeds, "--seed-value", "clv"]);
    assert!(err.contains("no column \"clv\""), "{err}");
    std::fs::write(
        path("valued.csv"),
        "customer_id,clv\nC00000001,12\nC00000002,abc\n",
    )
    .unwrap();
    let err = expand(&["--seeds", &path("valued.csv"), "--seed-value", "clv"]);
    assert!(
        err.contains("row 3, column \"clv\": \"abc\" is not a number"),
        "{err}"
    );
    // Everyone excluded: no candidate left.
    write_ids(Path::new(&path("everyone.csv")), &ids);
    let err = expand(&["--seeds", &seeds, "--exclude", &path("everyone.csv")]);
    assert!(err.contains("no candidate customer is left"), "{err}");
}

/// Cross-validation on the sample's loyal high spenders: a random row, every scorer far above
/// it, the default (classifier) finding most of the hidden seeds and of the persona.
#[test]
fn evaluation_reports_every_scorer_against_random() {
    let dir = tempfile::tempdir().unwrap();
    let features = sample_features(dir.path(), "features.csv", false);
    let personas = personas();
    let loyal: Vec<&str> = personas
        .iter()
        .filter(|(_, p)| p == "loyal_high_spender")
        .map(|(id, _)| id.as_str())
        .collect();
    let seeds = dir.path().join("seeds.csv");
    write_ids(&seeds, &loyal[..200]);
    let table = dir.path().join("evaluation.csv");
    let out = ok(&[
        "evaluate-audience",
        "--features",
        s(&features),
        "--seeds",
        s(&seeds),
        "--folds",
        "4",
        "--truth",
        s(&repo("data/sample/truth.csv")),
        "--out",
        s(&table),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("loyal_high_s"), "{stdout}");
    let text = std::fs::read_to_string(&table).unwrap();
    let rows: Vec<Vec<&str>> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(rows.len(), 7 * 3, "{text}");
    let value = |scorer: &str, tier: &str, column: usize| -> f64 {
        let row = rows
            .iter()
            .find(|r| r[0] == scorer && r[1] == tier)
            .unwrap();
        row[column].parse().unwrap()
    };
    // Columns: scorer, tier, recall, precision, lift, auc, value_recall, truth_recall, ratio.
    let random_auc = value("random", "10%", 5);
    assert!((random_auc - 0.5).abs() < 0.1, "random AUC {random_auc}");
    // Measured at the 10% tier: lift 6.9 (kNN), 3.9 (centroids), 7.5 (classifier), 6.4
    // (boosted), 7.6 (ensemble), 7.5 (auto), 1.3 (random); future spend 4.7×, 2.2×, 5.0×,
    // 4.3×, 5.0×, 5.0×, 1.0×.
    for scorer in [
        "knn",
        "centroids",
        "classifier",
        "boosted",
        "ensemble",
        "auto",
    ] {
        assert!(value(scorer, "10%", 5) > random_auc + 0.3, "{scorer}");
        assert!(value(scorer, "10%", 4) > 3.0, "{scorer} lift");
        assert!(value(scorer, "10%", 8) > 1.8, "{scorer} future spend");
    }
    assert!(value("classifier", "10%", 2) > 0.65, "{text}");
    assert!(value("classifier", "10%", 7) > 0.65, "{text}");
    assert!(value("random", "10%", 2) < 0.2, "{text}");
    // auto and the learned ensemble are chosen on the training folds' seeds: on the hidden
    // ones they come within a few points of the best single scorer (measured: auto picked
    // the classifier, 0.745; the ensemble 0.755).
    let best_single = ["knn", "centroids", "classifier", "boosted"]
        .map(|scorer| value(scorer, "10%", 2))
        .into_iter()
        .fold(0.0, f64::max);
    for scorer in ["auto", "ensemble"] {
        assert!(
            value(scorer, "10%", 2) > best_single - 0.05,
            "{scorer}: {text}"
        );
    }
    let err = fails(&[
        "evaluate-audience",
        "--features",
        s(&features),
        "--seeds",
        s(&seeds),
        "--folds",
        "1",
    ]);
    assert!(
        err.contains("1 folds: the evaluation needs at least 2"),
        "{err}"
    );
}

/// Overlap of two hand-made lists and of one file split by a column: exact counts.
#[test]
fn overlap_counts_shared_customers() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.csv");
    let b = dir.path().join("b.csv");
    std::fs::write(&a, "customer_id,tier\nc1,1%\nc2,1%\nc3,5%\nc4,5%\n").unwrap();
    std::fs::write(&b, "id\nc3\nc4\nc5\n").unwrap();
    let pairs = dir.path().join("pairs.csv");
    let out = ok(&["overlap", s(&a), s(&b), "--out", s(&pairs)]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("Jaccard"));
    let text = std::fs::read_to_string(&pairs).unwrap();
    let row: Vec<&str> = text.lines().nth(1).unwrap().split(',').collect();
    // |A| = 4, |B| = 3, both 2, Jaccard 2/5, half of A, two thirds of B.
    assert_eq!(&row[2..6], &["4", "3", "2", "0.4"]);
    let out = ok(&["overlap", s(&a), "--by", "tier", "--out", s(&pairs)]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("a.csv:1%"));
    let text = std::fs::read_to_string(&pairs).unwrap();
    assert!(
        text.lines().nth(1).unwrap().ends_with(",2,2,0,0,0,0"),
        "{text}"
    );
    let err = fails(&["overlap", s(&a), s(&b), "--by", "segment"]);
    assert!(err.contains("no column \"segment\""), "{err}");
    let err = fails(&["overlap", s(&b)]);
    assert!(err.contains("at least two sets"), "{err}");
}

/// With a value model every member carries its 12-month CLV; `--rank-by value` orders by
/// score × value and lifts the tier's value; without a model it is refused.
#[test]
fn value_model_adds_and_ranks_by_expected_value() {
    let dir = tempfile::tempdir().unwrap();
    let features = sample_features(dir.path(), "features.csv", false);
    let model = dir.path().join("model");
    ok(&[
        "value",
        "fit",
        "--features",
        s(&features),
        "--out",
        s(&model),
        "--quiet",
    ]);
    let personas = personas();
    let ids: Vec<&str> = personas.iter().map(|(id, _)| id.as_str()).collect();
    let seeds = dir.path().join("seeds.csv");
    write_ids(&seeds, &ids.iter().step_by(10).copied().collect::<Vec<_>>());
    let run = |name: &str, rank_by: &str| {
        let out = dir.path().join(name);
        ok(&[
            "expand",
            "--features",
            s(&features),
            "--seeds",
            s(&seeds),
            "--size",
            "5%",
            "--scorer",
            "knn",
            "--value-model",
            s(&model),
            "--rank-by",
            rank_by,
            "--out",
            s(&out),
            "--quiet",
        ]);
        let text = std::fs::read_to_string(out).unwrap();
        let mut lines = text.lines();
        let header: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
        let at = |name: &str| header.iter().position(|h| h == name).unwrap();
        let (score, value) = (at("score"), at("expected_value"));
        lines
            .map(|l| {
                let cells: Vec<&str> = l.split(',').collect();
                (
                    cells[score].parse::<f64>().unwrap(),
                    cells[value].parse::<f64>().unwrap(),
                )
            })
            .collect::<Vec<_>>()
    };
    let similar = run("similar.csv", "similarity");
    let plot = dir.path().join("audience.svg");
    ok(&[
        "expand",
        "--features",
        s(&features),
        "--seeds",
        s(&seeds),
        "--value-model",
        s(&model),
        "--plot",
        s(&plot),
        "--out",
        s(&dir.path().join("plotted.csv")),
        "--quiet",
    ]);
    let svg = std::fs::read_to_string(&plot).unwrap();
    assert!(
        svg.contains("candidates by score, tier cuts")
            && svg.contains("mean expected value per tier")
    );
    // Each tier's cut is drawn at the score of its last member, and the tiers stand beside
    // all candidates.
    let plotted = std::fs::read_to_string(dir.path().join("plotted.csv")).unwrap();
    let mut reader = csv::Reader::from_reader(plotted.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let (tier_at, score_at) = (
        header.iter().position(|h| h == "tier").unwrap(),
        header.iter().position(|h| h == "score").unwrap(),
    );
    let mut last: std::collections::BTreeMap<String, f64> = Default::default();
    for r in reader.records() {
        let r = r.unwrap();
        last.insert(r[tier_at].to_string(), r[score_at].parse().unwrap());
    }
    for (tier, score) in &last {
        let label = format!("{tier} ≥ {score:.3}");
        assert!(svg.contains(&label), "{label}");
    }
    assert!(svg.contains("all candidates"));
    let valuable = run("valuable.csv", "value");
    assert_eq!(similar.len(), valuable.len());
    let products: Vec<f64> = valuable.iter().map(|(s, v)| s * v.max(0.0)).collect();
    assert!(products.windows(2).all(|w| w[0] >= w[1]));
    let total = |rows: &[(f64, f64)]| rows.iter().map(|r| r.1).sum::<f64>();
    assert!(
        total(&valuable) > 1.2 * total(&similar),
        "{} vs {}",
        total(&valuable),
        total(&similar)
    );
    let err = fails(&[
        "expand",
        "--features",
        s(&features),
        "--seeds",
        s(&seeds),
        "--rank-by",
        "value",
        "--out",
        s(&dir.path().join("x.csv")),
    ]);
    assert!(err.contains("--rank-by value needs --value-model"), "{err}");
}

/// Seeds by rule (the top 5% by CLV; the Champions of a segment file) and a scope on a one-hot
/// attribute: the seeds are the rule's customers, every member is inside the scope, and bad
/// rules get messages that name what is available.
#[test]
fn seed_rules_and_scopes() {
    let dir = tempfile::tempdir().unwrap();
    let features = sample_features(dir.path(), "features.csv", false);
    let model = dir.path().join("model");
    ok(&[
        "value",
        "fit",
        "--features",
        s(&features),
        "--out",
        s(&model),
        "--quiet",
    ]);
    let out = dir.path().join("top.csv");
    let result = ok(&[
        "expand",
        "--features",
        s(&features),
        "--seed-rule",
        "clv_rank <= 0.05",
        "--value-model",
        s(&model),
        "--scope",
        "country == 'DE'",
        "--size",
        "10%",
        "--out",
        s(&out),
    ]);
    let messages = String::from_utf8_lossy(&result.stderr);
    // 5,000 customers: ranks 0, 1/5000, … up to 0.05 are the best 251.
    assert!(
        messages.contains("--seed-rule selected 251 seed customers"),
        "{messages}"
    );
    assert!(
        messages.contains("outside --scope \"country == 'DE'\""),
        "{messages}"
    );
    let text = std::fs::read_to_string(&features).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let de = header.iter().position(|h| *h == "country_DE").unwrap();
    let german: HashSet<String> = lines
        .filter(|l| l.split(',').nth(de) == Some("1"))
        .map(|l| l.split(',').next().unwrap().to_string())
        .collect();
    let (rows, _) = audience(&out);
    assert!(!rows.is_empty());
    assert!(
        rows.iter().all(|r| german.contains(&r.0)),
        "a member outside the scope"
    );
    // Champions of a segment file.
    let segments = dir.path().join("segments.csv");
    ok(&[
        "segment",
        "--features",
        s(&features),
        "--out",
        s(&segments),
        "--quiet",
    ]);
    let champions = dir.path().join("champions.csv");
    let result = ok(&[
        "expand",
        "--features",
        s(&features),
        "--seed-rule",
        "rfm_segment == 'Champions'",
        "--segments",
        s(&segments),
        "--size",
        "5%",
        "--out",
        s(&champions),
    ]);
    assert!(String::from_utf8_lossy(&result.stderr).contains("--seed-rule selected"));
    let err = fails(&[
        "expand",
        "--features",
        s(&features),
        "--seed-rule",
        "shoe_size > 40",
        "--out",
        s(&champions),
    ]);
    assert!(
        err.contains("unknown column \"shoe_size\"") && err.contains("country"),
        "{err}"
    );
    let err = fails(&[
        "expand",
        "--features",
        s(&features),
        "--seeds",
        s(&out),
        "--scope",
        "country == 'XX'",
        "--out",
        s(&champions),
    ]);
    assert!(
        err.contains("\"XX\" is not a value of country; its values are: DE"),
        "{err}"
    );
    let err = fails(&[
        "expand",
        "--features",
        s(&features),
        "--seed-rule",
        "orders > 1000",
        "--out",
        s(&champions),
    ]);
    assert!(err.contains("matches no customer"), "{err}");
}
