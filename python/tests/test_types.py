"""Output types from Python are the CLI's: a feature table from `lookalike.features` has the
column types of `lookalike features`' Parquet (data/README.md, "Output types")."""

import subprocess

import pyarrow.parquet as pq


def test_feature_types_are_the_cli_parquet_types(root, tmp_path, sample_features):
    sample = root / "data" / "sample"
    out = tmp_path / "features.parquet"
    subprocess.run([str(root / "target" / "debug" / "lookalike"), "--quiet", "features",
                    "--transactions", str(sample / "transactions.csv"),
                    "--events", str(sample / "events.csv"),
                    "--customers", str(sample / "customers.csv"),
                    "--as-of", "2026-01-01", "--out", str(out)], check=True)
    written = pq.read_schema(out)
    assert sample_features.schema.types == written.types
    assert sample_features.schema.field("orders").type == "int64"
    assert sample_features.schema.field("total_spend").type == "double"
