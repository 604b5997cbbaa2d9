//! `lookalike measure` on an audience of the sample against the sample's transactions: the
//! counts and means per tier equal what the files say (computed here), and bad input is named.

use crate::common;

use std::collections::{BTreeMap, HashMap};

use common::{fails, ok, repo, s, sample_features};

/// Net revenue and purchase lines per customer in [from, to) of the sample's transactions.
fn sample_outcomes(from: &str, to: &str) -> HashMap<String, (f64, u64)> {
    let mut reader = csv::Reader::from_path(repo("data/sample/transactions.csv")).unwrap();
    let header = reader.headers().unwrap().clone();
    let at = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (id, timestamp, amount) = (at("customer_id"), at("timestamp"), at("amount"));
    let mut outcomes: HashMap<String, (f64, u64)> = HashMap::new();
    for record in reader.records() {
        let record = record.unwrap();
        let day = &record[timestamp][..10];
        if day < from || day >= to {
            continue;
        }
        let value: f64 = record[amount].parse().unwrap();
        let entry = outcomes.entry(record[id].to_string()).or_default();
        entry.0 += value;
        entry.1 += u64::from(value >= 0.0);
    }
    outcomes
}

#[test]
fn per_tier_counts_and_means_are_what_the_log_says() {
    let dir = tempfile::tempdir().unwrap();
    let features = sample_features(dir.path(), "features.csv", false);
    let ids: Vec<String> = std::fs::read_to_string(&features)
        .unwrap()
        .lines()
        .skip(1)
        .take(400)
        .map(|l| l.split(',').next().unwrap().to_string())
        .collect();
    let seeds = dir.path().join("seeds.csv");
    std::fs::write(&seeds, format!("customer_id\n{}\n", ids.join("\n"))).unwrap();
    let audience = dir.path().join("audience.csv");
    ok(&[
        "expand",
        "--features",
        s(&features),
        "--seeds",
        s(&seeds),
        "--size",
        "5%",
        "--size",
        "20%",
        "--holdout",
        "20%",
        // The audience this test's numbers were worked out on (auto might pick another
        // scorer for these arbitrary seeds).
        "--scorer",
        "classifier",
        "--out",
        s(&audience),
        "--quiet",
    ]);
    let report = dir.path().join("lift.csv");
    let plot = dir.path().join("lift.svg");
    let log = repo("data/sample/transactions.csv");
    ok(&[
        "measure",
        "--audience",
        s(&audience),
        "--transactions",
        s(&log),
        "--from",
        "2025-07-01",
        "--to",
        "2026-01-01",
        "--pre-from",
        "2025-01-01",
        "--out",
        s(&report),
        "--plot",
        s(&plot),
        "--quiet",
    ]);
    let svg = std::fs::read_to_string(&plot).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("Conversion lift"));
    for group in ["5%", "20%", "all"] {
        assert!(
            svg.lines().any(|line| line.trim() == group),
            "{group} is not named in the plot"
        );
    }

    // The oracle: each audience member's outcome from the log, grouped by tier and control.
    let outcomes = sample_outcomes("2025-07-01", "2026-01-01");
    let mut expected: BTreeMap<(String, bool), (u64, u64, f64)> = BTreeMap::new();
    let mut reader = csv::Reader::from_path(&audience).unwrap();
    for record in reader.records() {
        let record = record.unwrap();
        let (tier, control) = (record[4].to_string(), &record[5] == "true");
        let (revenue, lines) = outcomes.get(&record[0]).copied().unwrap_or_default();
        for group in [tier.clone(), "all".to_string()] {
            let entry = expected.entry((group, control)).or_default();
            entry.0 += 1;
            entry.1 += u64::from(lines > 0);
            entry.2 += revenue;
        }
    }
    let mut reader = csv::Reader::from_path(&report).unwrap();
    let header = reader.headers().unwrap().clone();
    let at = |name: &str| header.iter().position(|h| h == name).unwrap();
    let mut groups = 0;
    for record in reader.records() {
        let record = record.unwrap();
        let group = record[0].to_string();
        for (control, side) in [(false, "treated"), (true, "control")] {
            let (customers, converters, revenue) = expected[&(group.clone(), control)];
            let number = |name: &str| {
                record[at(&format!("{side}_{name}"))]
                    .parse::<f64>()
                    .unwrap()
            };
            assert_eq!(number("customers"), customers as f64, "{group} {side}");
            assert_eq!(number("converters"), converters as f64, "{group} {side}");
            let mean = revenue / customers as f64;
            assert!(
                (number("revenue_per_customer") - mean).abs() < 1e-6,
                "{group} {side}"
            );
        }
        // Every interval holds its estimate; CUPED saved some variance.
        let value = |name: &str| record[at(name)].parse::<f64>().unwrap();
        for name in ["conversion_lift", "revenue_lift", "cuped_revenue_lift"] {
            assert!(value(&format!("{name}_low")) <= value(name));
            assert!(value(name) <= value(&format!("{name}_high")));
        }
        assert!(value("cuped_variance_saved") > 0.0);
        groups += 1;
    }
    assert_eq!(groups, 3, "5%, 20% and all");
}

#[test]
fn a_campaign_that_cannot_be_measured_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let log = repo("data/sample/transactions.csv");
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let out = dir.path().join("lift.csv");
    let measure = |audience: &std::path::Path, extra: &[&str]| {
        let mut args = vec![
            "measure",
            "--audience",
            s(audience),
            "--transactions",
            s(&log),
            "--out",
            s(&out),
        ];
        args.extend(extra);
        fails(&args)
    };
    let period = ["--from", "2025-07-01", "--to", "2026-01-01"];
    let no_control = write("no_control.csv", "customer_id,tier\nC00000001,5%\n");
    let error = measure(&no_control, &period);
    assert!(error.contains("no column \"control\""), "{error}");
    let nobody_held_out = write(
        "nobody.csv",
        "customer_id,tier,control\nC00000001,5%,false\nC00000002,5%,false\n",
    );
    let error = measure(&nobody_held_out, &period);
    assert!(error.contains("without a control group"), "{error}");
    let twice = write(
        "twice.csv",
        "customer_id,tier,control\nC00000001,5%,false\nC00000002,5%,true\nC00000001,5%,true\n",
    );
    let error = measure(&twice, &period);
    assert!(
        error.contains("is on line 2 and again on line 4"),
        "{error}"
    );
    let bad_flag = write("flag.csv", "customer_id,tier,control\nC00000001,5%,maybe\n");
    let error = measure(&bad_flag, &period);
    assert!(
        error.contains("line 2, column \"control\": \"maybe\""),
        "{error}"
    );
    let fine = write(
        "fine.csv",
        "customer_id,tier,control\nC00000001,5%,false\nC00000002,5%,true\n",
    );
    let error = measure(&fine, &["--from", "2026-01-01", "--to", "2025-07-01"]);
    assert!(
        error.contains("--to 2025-07-01 must be after --from 2026-01-01"),
        "{error}"
    );
    let error = measure(&fine, &["--from", "2025-07-01", "--pre-from", "2025-08-01"]);
    assert!(
        error.contains("--pre-from 2025-08-01 must be before --from"),
        "{error}"
    );
}

/// Segments of the sample as of two dates; `migrate` counts every move.
#[test]
fn migration_counts_add_up_and_match_the_two_runs() {
    let dir = tempfile::tempdir().unwrap();
    let log = repo("data/sample/transactions.csv");
    let mut runs = Vec::new();
    for as_of in ["2025-07-01", "2026-01-01"] {
        let features = dir.path().join(format!("f_{as_of}.csv"));
        ok(&[
            "features",
            "--transactions",
            s(&log),
            "--as-of",
            as_of,
            "--out",
            s(&features),
            "--quiet",
        ]);
        let segments = dir.path().join(format!("s_{as_of}.csv"));
        ok(&[
            "segment",
            "--features",
            s(&features),
            "--out",
            s(&segments),
            "--quiet",
        ]);
        runs.push(segments);
    }
    let (matrix, moves) = (dir.path().join("matrix.csv"), dir.path().join("moves.csv"));
    let plot = dir.path().join("migration.svg");
    let run = ok(&[
        "migrate",
        "--plot",
        s(&plot),
        "--before",
        s(&runs[0]),
        "--after",
        s(&runs[1]),
        "--by",
        "rfm_segment",
        "--out",
        s(&matrix),
        "--moves",
        s(&moves),
    ]);
    let read = |path: &std::path::Path| -> HashMap<String, String> {
        let mut reader = csv::Reader::from_path(path).unwrap();
        let at = reader
            .headers()
            .unwrap()
            .iter()
            .position(|h| h == "rfm_segment")
            .unwrap();
        reader
            .records()
            .map(|r| {
                let r = r.unwrap();
                let segment = if r[at].is_empty() { "(none)" } else { &r[at] };
                (r[0].to_string(), segment.to_string())
            })
            .collect()
    };
    let (before, after) = (read(&runs[0]), read(&runs[1]));
    let mut expected: BTreeMap<(String, String), u64> = BTreeMap::new();
    for (id, to) in &after {
        if let Some(from) = before.get(id) {
            *expected.entry((from.clone(), to.clone())).or_default() += 1;
        }
    }
    let mut got: BTreeMap<(String, String), u64> = BTreeMap::new();
    let mut reader = csv::Reader::from_path(&matrix).unwrap();
    for r in reader.records() {
        let r = r.unwrap();
        got.insert((r[0].to_string(), r[1].to_string()), r[2].parse().unwrap());
    }
    assert_eq!(got, expected);
    let in_both: u64 = expected.values().sum();
    let only_after = after.keys().filter(|id| !before.contains_key(*id)).count();
    let summary = String::from_utf8_lossy(&run.stdout);
    assert!(
        summary.starts_with(&format!("{in_both} customers in both runs")),
        "{summary}"
    );
    assert!(
        summary.contains(&format!("{only_after} only in")),
        "{summary}"
    );
    let changed = expected
        .iter()
        .filter(|((a, b), _)| a != b)
        .map(|(_, n)| n)
        .sum::<u64>();
    assert_eq!(
        std::fs::read_to_string(&moves).unwrap().lines().count() as u64,
        changed + 1
    );
    // The heatmap: one cell text per move made, giving its count, and each segment named with
    // its customers before (rows).
    let svg = std::fs::read_to_string(&plot).unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    let mut drawn: Vec<u64> = svg
        .split("</text>")
        .filter_map(|part| part.rsplit('>').next()?.trim().parse().ok())
        .collect();
    let mut made: Vec<u64> = expected.values().copied().collect();
    drawn.sort_unstable();
    made.sort_unstable();
    assert_eq!(drawn, made);
    let mut rows: BTreeMap<&str, u64> = BTreeMap::new();
    for ((from, _), n) in &expected {
        *rows.entry(from).or_default() += n;
    }
    for (segment, n) in rows {
        let label = format!("{segment} ({n})").replace('\'', "&apos;");
        assert!(svg.contains(&label), "{label}");
    }
}

#[test]
fn power_flags_the_segments_too_small_to_test() {
    let dir = tempfile::tempdir().unwrap();
    let features = sample_features(dir.path(), "features.csv", false);
    let segments = dir.path().join("segments.csv");
    ok(&[
        "segment",
        "--features",
        s(&features),
        "--out",
        s(&segments),
        "--quiet",
    ]);
    let out = dir.path().join("power.csv");
    ok(&[
        "power",
        "--segments",
        s(&segments),
        "--baseline",
        "5%",
        "--control-share",
        "20%",
        "--max-detectable",
        "150%",
        "--out",
        s(&out),
        "--quiet",
    ]);
    let mut sizes: BTreeMap<String, u64> = BTreeMap::new();
    let mut reader = csv::Reader::from_path(&segments).unwrap();
    let at = reader
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "rfm_segment")
        .unwrap();
    for r in reader.records() {
        let r = r.unwrap();
        if !r[at].is_empty() {
            *sizes.entry(r[at].to_string()).or_default() += 1;
        }
    }
    let mut reader = csv::Reader::from_path(&out).unwrap();
    let mut rows = 0;
    for r in reader.records() {
        let r = r.unwrap();
        let n = sizes[&r[0]];
        let control = (n as f64 * 0.2).round() as u64;
        assert_eq!(r[1].parse::<u64>().unwrap(), n);
        assert_eq!(r[3].parse::<u64>().unwrap(), control);
        let mde = lookalike_measure::minimum_detectable_lift(n - control, control, 0.05, 0.05, 0.8)
            .unwrap();
        match mde {
            Some(mde) => {
                assert!(
                    (r[5].parse::<f64>().unwrap() - mde).abs() < 1e-12,
                    "{}",
                    &r[0]
                );
                assert_eq!(&r[7] == "true", mde > 1.5, "{}", &r[0]);
            }
            None => assert_eq!((&r[5], &r[7]), ("", "true")),
        }
        rows += 1;
    }
    assert_eq!(rows, sizes.len());
    let error = fails(&["power", "--segments", s(&segments), "--out", s(&out)]);
    assert!(error.contains("give --baseline RATE"), "{error}");
    let error = fails(&[
        "power",
        "--segments",
        s(&segments),
        "--baseline",
        "5%",
        "--control-share",
        "100%",
        "--out",
        s(&out),
    ]);
    assert!(
        error.contains("'100%' for '--control-share") && error.contains("below 100%"),
        "{error}"
    );

    // `segment --report` plans the same test on each RFM segment as `power` on its output.
    let report = dir.path().join("report.csv");
    ok(&[
        "segment",
        "--features",
        s(&features),
        "--out",
        s(&segments),
        "--report",
        s(&report),
        "--baseline",
        "5%",
        "--control-share",
        "20%",
        "--max-detectable",
        "150%",
        "--min-size",
        "1",
        "--quiet",
    ]);
    let power: BTreeMap<String, Vec<String>> = csv::Reader::from_path(&out)
        .unwrap()
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[0].to_string(), r.iter().map(String::from).collect())
        })
        .collect();
    let mut reader = csv::Reader::from_path(&report).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let column = |name: &str| header.iter().position(|h| h == name).unwrap();
    let mut compared = 0;
    for r in reader.records() {
        let r = r.unwrap();
        let Some(row) = power.get(&r[column("segment")]).filter(|_| &r[0] == "rfm") else {
            continue;
        };
        // power: segment, customers, treated, control, baseline, mde, control needed, too small.
        assert_eq!(r[column("customers")], row[1]);
        assert_eq!(r[column("minimum_detectable_lift")], row[5]);
        assert_eq!(
            r[column("control_needed_for_target")].parse::<f64>().ok(),
            row[6].parse::<f64>().ok()
        );
        assert_eq!(r[column("too_small_to_test")], row[7]);
        compared += 1;
    }
    assert_eq!(compared, power.len());
}
