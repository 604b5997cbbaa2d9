//! End-to-end: `lookalike segment` on features of the bundled sample.

use crate::common;

use common::{fails, ok, repo, s, sample_features};

use std::path::PathBuf;

#[test]
fn segments_report_and_plot_of_the_sample() {
    let dir = tempfile::tempdir().unwrap();
    let features = sample_features(dir.path(), "features.parquet", true);
    let rules = repo("data/segments.example.toml");
    let out = dir.path().join("segments.csv");
    let report = dir.path().join("report.json");
    let plot = dir.path().join("segments.svg");
    let run = ok(&[
        "segment",
        "--features",
        s(&features),
        "--rules",
        s(&rules),
        "--out",
        s(&out),
        "--report",
        s(&report),
        "--plot",
        s(&plot),
        "--require-consent",
        "marketing_consent",
    ]);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        stdout.contains("RFM SEGMENTS")
            && stdout.contains("Champions")
            && stdout.contains("vip_at_risk"),
        "{stdout}"
    );
    assert!(
        stdout.contains("customers without consent are in no segment"),
        "{stdout}"
    );
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("too small to test"),
        "the sample's segments are below 1,000: {stderr}"
    );

    let text = std::fs::read_to_string(&out).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "customer_id,r_score,f_score,m_score,rfm_cell,rfm_segment,lifecycle,value_tier,primary_segment,segments,cart_abandoner,active_browser,engaged,dormant"
    );
    assert_eq!(lines.count(), 5_000);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(json["customers"], 5_000);
    let rfm_total: u64 = json["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["group"] == "rfm")
        .map(|r| r["customers"].as_u64().unwrap())
        .sum();
    assert_eq!(rfm_total, 5_000, "every customer is in exactly one RFM row");
    assert!(std::fs::read_to_string(&plot).unwrap().starts_with("<svg"));
}

#[test]
fn same_input_same_bytes_and_parquet_output() {
    let dir = tempfile::tempdir().unwrap();
    let features = sample_features(dir.path(), "features.parquet", true);
    let rules = repo("data/segments.example.toml");
    let (a, b) = (dir.path().join("a.csv"), dir.path().join("b.csv"));
    ok(&[
        "segment",
        "--features",
        s(&features),
        "--rules",
        s(&rules),
        "--out",
        s(&a),
        "--threads",
        "1",
        "--quiet",
    ]);
    ok(&[
        "segment",
        "--features",
        s(&features),
        "--rules",
        s(&rules),
        "--out",
        s(&b),
        "--threads",
        "2",
        "--quiet",
    ]);
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    let parquet = dir.path().join("segments.parquet");
    ok(&[
        "segment",
        "--features",
        s(&features),
        "--bins",
        "10",
        "--out",
        s(&parquet),
        "--quiet",
    ]);
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
        std::fs::File::open(&parquet).unwrap(),
    )
    .unwrap();
    assert_eq!(reader.metadata().file_metadata().num_rows(), 5_000);
}

#[test]
fn bad_rules_and_options_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let features = sample_features(dir.path(), "features.parquet", true);
    let out = dir.path().join("segments.csv");
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let cases: Vec<(PathBuf, Vec<&str>)> = vec![
        (
            write(
                "unknown.toml",
                "[[segment]]\nname='recent'\nrule='recency_days <= 30'\npriority=1\n",
            ),
            vec![
                "unknown.toml",
                "\"recent\"",
                "\"recency_days\"",
                "days_since_last_purchase",
            ],
        ),
        (
            write(
                "malformed.toml",
                "[[segment]]\nname='m'\nrule='orders >= 3 and (views_30d > 1'\npriority=1\n",
            ),
            vec!["\"m\"", "position 31", "close the '(' at position 17"],
        ),
        (
            write(
                "dup.toml",
                "[[segment]]\nname='a'\nrule='orders > 1'\npriority=1\n[[segment]]\nname='a'\nrule='orders > 2'\npriority=2\n",
            ),
            vec!["\"a\" is used twice"],
        ),
        (
            write(
                "label.toml",
                "[[segment]]\nname='c'\nrule=\"lifecycle == 'churned'\"\npriority=1\n",
            ),
            vec!["\"churned\" is not a value of lifecycle", "lapsing"],
        ),
    ];
    for (rules, expected) in cases {
        let message = fails(&[
            "segment",
            "--features",
            s(&features),
            "--rules",
            s(&rules),
            "--out",
            s(&out),
        ]);
        for part in expected {
            assert!(message.contains(part), "{part:?} not in {message}");
        }
        assert!(!out.exists());
    }
    for bins in ["0", "1"] {
        let message = fails(&[
            "segment",
            "--features",
            s(&features),
            "--bins",
            bins,
            "--out",
            s(&out),
        ]);
        assert!(message.contains("bins must be at least 2"), "{message}");
    }
    let message = fails(&[
        "segment",
        "--features",
        s(&features),
        "--out",
        s(&out),
        "--lapsing-factor",
        "5",
        "--lost-factor",
        "3",
    ]);
    assert!(
        message.contains("lost factor (3) must be larger than the lapsing factor (5)"),
        "{message}"
    );
    let thin = write("thin.csv", "customer_id,orders\na,1\n");
    let message = fails(&["segment", "--features", s(&thin), "--out", s(&out)]);
    assert!(
        message.contains("\"days_since_last_purchase\"") && message.contains("orders"),
        "{message}"
    );
    let message = fails(&[
        "segment",
        "--features",
        s(&features),
        "--out",
        s(&out),
        "--plot",
        s(&dir.path().join("p.png")),
    ]);
    assert!(message.contains(".svg"), "{message}");
    let message = fails(&[
        "segment",
        "--features",
        s(&features),
        "--out",
        s(&out),
        "--report",
        s(&dir.path().join("r.txt")),
    ]);
    assert!(message.contains(".csv or .json"), "{message}");
    let message = fails(&[
        "segment",
        "--features",
        s(&features),
        "--out",
        s(&out),
        "--require-consent",
        "gdpr_ok",
    ]);
    assert!(
        message.contains("\"gdpr_ok\"") && message.contains("--require-consent"),
        "{message}"
    );
}
