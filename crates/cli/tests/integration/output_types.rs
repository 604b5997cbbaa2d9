//! One type per shared column, whichever command writes it (data/README.md, "Output types").

use crate::common;

use std::collections::BTreeMap;
use std::path::Path;

use arrow_schema::DataType;
use common::{ok, repo, s, sample_features};

/// Column name → type of a Parquet file's Arrow schema.
fn types(path: &Path) -> BTreeMap<String, DataType> {
    let file = std::fs::File::open(path).unwrap();
    let reader =
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    reader
        .schema()
        .fields()
        .iter()
        .map(|f| (f.name().clone(), f.data_type().clone()))
        .collect()
}

#[test]
fn shared_columns_have_one_type_across_commands() {
    let dir = tempfile::tempdir().unwrap();
    let features = sample_features(dir.path(), "features.parquet", true);
    let out = |name: &str| dir.path().join(name);
    ok(&[
        "segment",
        "--features",
        s(&features),
        "--out",
        s(&out("segments.parquet")),
        "--quiet",
    ]);
    let model = repo("models/sample");
    ok(&[
        "score",
        "--model",
        s(&model),
        "--features",
        s(&features),
        "--out",
        s(&out("scores.parquet")),
        "--quiet",
    ]);
    ok(&[
        "expand",
        "--features",
        s(&features),
        "--seed-rule",
        "orders >= 12",
        "--size",
        "1%,5%",
        "--control-share",
        "10%",
        "--min-seeds",
        "50",
        "--out",
        s(&out("audience.parquet")),
        "--quiet",
    ]);
    ok(&[
        "cluster",
        "--features",
        s(&features),
        "--k",
        "3",
        "--assignments",
        "assignments.parquet",
        "--out",
        s(&out("clusters")),
        "--quiet",
    ]);
    // Feature tables: counts and indicators as integers, the rest as floats.
    let feature_types = types(&features);
    for column in [
        "orders",
        "frequency",
        "orders_30d",
        "marketing_consent",
        "country_DE",
    ] {
        assert_eq!(feature_types[column], DataType::Int64, "{column}");
    }
    for column in [
        "total_spend",
        "recency",
        "T",
        "refund_share",
        "email_open_rate",
    ] {
        assert_eq!(feature_types[column], DataType::Float64, "{column}");
    }
    let segments = types(&out("segments.parquet"));
    let scores = types(&out("scores.parquet"));
    let audience = types(&out("audience.parquet"));
    let assignments = types(&out("clusters").join("assignments.parquet"));
    let category = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
    for column in ["r_score", "f_score", "m_score"] {
        assert_eq!(segments[column], DataType::Int64, "{column}");
        assert_eq!(scores[column], DataType::Int64, "{column}");
    }
    for column in [
        "rfm_cell",
        "rfm_segment",
        "lifecycle",
        "value_tier",
        "primary_segment",
        "segments",
    ] {
        assert_eq!(segments[column], category, "{column}");
        assert_eq!(scores[column], category, "{column}");
    }
    for column in ["cart_abandoner", "active_browser", "engaged", "dormant"] {
        assert_eq!(segments[column], DataType::Boolean, "{column}");
        assert_eq!(scores[column], DataType::Boolean, "{column}");
    }
    assert_eq!(audience["control"], DataType::Boolean);
    assert_eq!(scores["top_clv_control"], DataType::Boolean);
    assert_eq!(audience["tier"], category);
    assert_eq!(scores["top_clv_tier"], category);
    assert_eq!(audience["rank"], DataType::Int64);
    assert_eq!(assignments["cluster"], DataType::Int64);
    assert_eq!(scores["cluster"], DataType::Int64);
}

/// The key-value metadata of a Parquet file.
fn metadata(path: &Path) -> BTreeMap<String, String> {
    let file = std::fs::File::open(path).unwrap();
    let reader = parquet::file::reader::SerializedFileReader::new(file).unwrap();
    parquet::file::reader::FileReader::metadata(&reader)
        .file_metadata()
        .key_value_metadata()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|kv| (kv.key, kv.value.unwrap_or_default()))
        .collect()
}

#[test]
fn outputs_record_the_version_and_inputs_and_generate_its_settings() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base");
    ok(&[
        "generate",
        "--customers",
        "300",
        "--random-seed",
        "3",
        "--out-format",
        "parquet",
        "--out",
        s(&base),
        "--quiet",
    ]);
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(base.join("generate.json")).unwrap())
            .unwrap();
    assert_eq!(record["random_seed"], 3);
    assert_eq!(record["customers"], 300);
    assert_eq!(record["out_format"], "parquet");
    assert_eq!(record["tool_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(
        record["command"],
        "lookalike generate --customers 300 --random-seed 3 --start 2023-01-01 --end 2026-01-01 --future-days 182 --out-format parquet"
    );
    let generated = metadata(&base.join("transactions.parquet"));
    assert_eq!(generated["lookalike.version"], env!("CARGO_PKG_VERSION"));
    let features = dir.path().join("features.parquet");
    let transactions = base.join("transactions.parquet");
    ok(&[
        "features",
        "--transactions",
        s(&transactions),
        "--out",
        s(&features),
        "--quiet",
    ]);
    let written = metadata(&features);
    let inputs: serde_json::Value = serde_json::from_str(&written["lookalike.inputs"]).unwrap();
    let input = &inputs[0];
    assert_eq!(input["path"], s(&transactions));
    assert_eq!(
        input["bytes"].as_u64().unwrap(),
        std::fs::metadata(&transactions).unwrap().len()
    );
    // And the scores of a model, written by another writer.
    let scores = dir.path().join("scores.parquet");
    let model = repo("models/sample");
    let sample = sample_features(dir.path(), "sample.parquet", true);
    ok(&[
        "score",
        "--model",
        s(&model),
        "--features",
        s(&sample),
        "--out",
        s(&scores),
        "--quiet",
    ]);
    let written = metadata(&scores);
    assert_eq!(written["lookalike.version"], env!("CARGO_PKG_VERSION"));
    assert!(written["lookalike.inputs"].contains("sample.parquet"));
}
