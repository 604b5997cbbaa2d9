//! `lookalike expand` end to end on the bundled sample: seeds from one persona of the
//! generator's truth, tiers, exclusions, consent, control groups, and bad input.

mod common;

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

/// Seeds: 150 loyal high spenders of the generator. Hidden among the candidates are the other
/// 373. A supervised random forest on every feature column, told every customer's persona,
/// recovers 62% of them in its top 10% (5-fold cross-validation, scikit-learn 1.7): the
/// personas overlap that much. The kNN default recovers 66%, the centroids scorer 39%, a
/// random 10% tier 10%; the test asks for at least 60% and 30%.
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
    let expand = |extra: &[&str]| {
        let mut args = vec![
            "expand",
            "--features",
            &features,
            "--out",
            "/dev/null/x.csv",
        ];
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
