"""Campaign measurement from Python equals the command line's on the same files."""

import csv
import subprocess
from pathlib import Path

import pyarrow as pa
import pytest

import lookalike

ROOT = Path(__file__).resolve().parents[2]
CLI = ROOT / "target" / "debug" / "lookalike"
LOG = ROOT / "data" / "sample" / "transactions.csv"


def test_measure_is_the_cli_measure(tmp_path, sample_features):
    ids = sample_features.column("customer_id").to_pylist()[:400]
    audience = lookalike.expand(sample_features, seeds=ids, sizes=["5%", "20%"], holdout=0.2)
    path = tmp_path / "audience.parquet"
    import pyarrow.parquet as pq
    pq.write_table(audience, path)
    out = tmp_path / "lift.csv"
    subprocess.run([str(CLI), "--quiet", "measure", "--audience", str(path), "--transactions",
                    str(LOG), "--from", "2025-07-01", "--to", "2026-01-01", "--pre-from",
                    "2025-01-01", "--out", str(out)], check=True)
    with open(out) as f:
        rows = {r["group"]: r for r in csv.DictReader(f)}
    ours = lookalike.measure(audience, LOG, start="2025-07-01", end="2026-01-01",
                             pre_start="2025-01-01")
    assert [g["group"] for g in ours["groups"]] == list(rows)
    for group in ours["groups"]:
        theirs = rows[group["group"]]
        assert group["treated"]["customers"] == int(theirs["treated_customers"])
        assert group["control"]["converters"] == int(theirs["control_converters"])
        conversion = group["conversion"]
        assert conversion["absolute_interval"]["low"] == pytest.approx(
            float(theirs["conversion_lift_low"]), rel=1e-12)
        assert group["revenue"]["p_value"] == pytest.approx(float(theirs["revenue_p_value"]),
                                                            rel=1e-12)
        lift, saved = group["revenue_cuped"]
        assert saved == pytest.approx(float(theirs["cuped_variance_saved"]), rel=1e-12)


def test_power_and_migration():
    # statsmodels' NormalIndPower root (see crates/measure/src/power.rs).
    assert lookalike.minimum_detectable_lift(9000, 1000, 0.05) == pytest.approx(
        0.4456847852003154, rel=1e-9)
    assert lookalike.minimum_detectable_lift(5, 5, 0.8) is None
    before = pa.table({"customer_id": ["a", "b", "c"], "rfm_segment": ["x", "y", "x"]})
    after = pa.table({"customer_id": ["a", "b", "d"], "rfm_segment": ["y", "y", None]})
    moved = lookalike.migration(before, after)
    assert moved["segments"] == ["(none)", "x", "y"]
    assert moved["counts"][1][2] == 1 and moved["counts"][2][2] == 1
    assert (moved["only_before"], moved["only_after"]) == (1, 1)
    with pytest.raises(lookalike.InputError, match="no column 'tier'"):
        lookalike.measure(before, LOG, start="2025-07-01")
