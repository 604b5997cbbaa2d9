"""segment and expand against `lookalike segment` and `lookalike expand` on the same table."""

import subprocess
import warnings
from pathlib import Path

import polars as pl
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

import lookalike

ROOT = Path(__file__).resolve().parents[2]
CLI = ROOT / "target" / "debug" / "lookalike"
RULES = ROOT / "data" / "segments.example.toml"


def cli(*args: str) -> None:
    assert CLI.exists(), f"{CLI} is missing: build it with `cargo build -p lookalike-cli`"
    subprocess.run([str(CLI), "--quiet", *args], check=True, capture_output=True)


def same_values(a, b) -> None:
    assert a.column_names == b.column_names
    for name in a.column_names:
        assert a.column(name).to_pylist() == b.column(name).to_pylist(), name


@pytest.fixture(scope="module")
def features_file(tmp_path_factory, sample_features):
    path = tmp_path_factory.mktemp("features") / "features.parquet"
    pq.write_table(sample_features, path)
    return path


def test_segments_are_the_cli_segments(tmp_path, sample_features, features_file):
    out = tmp_path / "segments.parquet"
    cli("segment", "--features", str(features_file), "--rules", str(RULES), "--out", str(out))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        segments, report = lookalike.segment(sample_features, rules=RULES, min_size=200)
    same_values(segments, pq.read_table(out))
    assert any("too small to test" in str(w.message) for w in caught)
    champions = report.filter(
        (report.column("group").to_numpy(zero_copy_only=False) == "rfm")
        & (report.column("segment").to_numpy(zero_copy_only=False) == "Champions"))
    assert champions.column("customers").to_pylist() == [873]
    # The rules as text, and the features as polars, give the same table.
    from_text, _ = lookalike.segment(pl.from_arrow(sample_features), rules=RULES.read_text())
    same_values(from_text, segments)


def test_the_segment_report_plans_a_test_like_the_cli(tmp_path, sample_features, features_file):
    out, report_file = tmp_path / "segments.csv", tmp_path / "report.csv"
    cli("segment", "--features", str(features_file), "--out", str(out), "--report",
        str(report_file), "--min-size", "200", "--control-share", "50%")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, report = lookalike.segment(sample_features, min_size=200, control_share=0.5)
    from_cli = pacsv.read_csv(report_file)
    for column in ["customers", "baseline_conversion", "minimum_detectable_lift",
                   "control_needed_for_target", "too_small_to_test"]:
        assert report.column(column).to_pylist() == from_cli.column(column).to_pylist(), column
    # Each row's lift is the power analysis of its own split: half held out.
    rows = report.to_pylist()
    tested = [r for r in rows if r["minimum_detectable_lift"] is not None]
    assert tested, "the sample has segments with recent buyers"
    for row in tested:
        control = int(row["customers"] * 0.5 + 0.5)  # half away from zero, as Rust rounds
        assert row["minimum_detectable_lift"] == lookalike.minimum_detectable_lift(
            row["customers"] - control, control, row["baseline_conversion"])
    # A given baseline is every segment's.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, given = lookalike.segment(sample_features, baseline=0.04)
    assert set(given.column("baseline_conversion").to_pylist()) == {0.04}


def test_an_audience_is_the_cli_audience(tmp_path, sample_features, features_file):
    out = tmp_path / "audience.parquet"
    rule = "orders >= 12 and days_since_last_purchase <= 60"
    cli("expand", "--features", str(features_file), "--seed-rule", rule, "--size", "1%,5%",
        "--holdout", "10%", "--min-seeds", "50", "--out", str(out))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        audience = lookalike.expand(sample_features, seed_rule=rule, sizes=["1%", "5%"],
                                    holdout=0.1, min_seeds=50)
    same_values(audience, pq.read_table(out))
    assert any("selected" in str(w.message) for w in caught)
    # The same seeds listed by id give the same audience.
    ids = pl.from_arrow(sample_features).filter(
        (pl.col("orders") >= 12) & (pl.col("days_since_last_purchase") <= 60))["customer_id"]
    by_ids = lookalike.expand(sample_features, seeds=ids.to_list() + ids.to_list()[:3],
                              sizes=["1%", "5%"], holdout=0.1, min_seeds=50)
    same_values(by_ids, audience)


def test_an_audience_fitted_on_a_candidate_sample_is_the_cli_one(tmp_path, sample_features,
                                                                 features_file):
    out = tmp_path / "audience.parquet"
    rule = "orders >= 12"
    cli("expand", "--features", str(features_file), "--seed-rule", rule, "--size", "5%",
        "--scorer", "classifier", "--candidate-sample", "800", "--random-seed", "3",
        "--out", str(out))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sampled = lookalike.expand(sample_features, seed_rule=rule, sizes=["5%"],
                                   scorer="classifier", seed=3, candidate_sample=800)
        whole = lookalike.expand(sample_features, seed_rule=rule, sizes=["5%"],
                                 scorer="classifier", seed=3)
    same_values(sampled, pq.read_table(out))
    # The sample changes the fit: the scores are not those of the fit on every candidate.
    assert sampled.column("score").to_pylist() != whole.column("score").to_pylist()
    with pytest.raises(lookalike.InputError, match="candidate_sample"):
        lookalike.expand(sample_features, seed_rule=rule, candidate_sample=0)


def test_stage_input_errors_name_what_is_wrong(sample_features):
    with pytest.raises(lookalike.InputError, match="exactly one"):
        lookalike.expand(sample_features)
    with pytest.raises(lookalike.InputError, match="shoe_size"):
        lookalike.expand(sample_features, seed_rule="shoe_size > 40")
    with pytest.raises(lookalike.InputError, match="scorer"):
        lookalike.expand(sample_features, seed_rule="orders > 10", scorer="magic")
    with pytest.raises(lookalike.InputError):
        lookalike.segment(sample_features, rules="[[segment]]\nname = 'x'\nrule = 'orders >>> 2'\n")


def test_overlap_is_the_cli_overlap(tmp_path):
    a = ["c1", "c2", "c3", "c4"]
    b = ["c3", "c4", "c5"]
    for name, ids in (("a", a), ("b", b)):
        (tmp_path / f"{name}.csv").write_text("customer_id\n" + "\n".join(ids) + "\n")
    out = tmp_path / "pairs.csv"
    cli("overlap", str(tmp_path / "a.csv"), str(tmp_path / "b.csv"), "--out", str(out))
    ours = lookalike.overlap({str(tmp_path / "a.csv"): a, str(tmp_path / "b.csv"): b})
    import pyarrow.csv as pacsv
    theirs = pacsv.read_csv(out)
    assert ours.column("both").to_pylist() == theirs.column("both").to_pylist() == [2]
    assert ours.column("jaccard").to_pylist() == pytest.approx(theirs.column("jaccard").to_pylist())
    assert ours.column("jaccard").to_pylist() == [0.4]
    with pytest.raises(lookalike.InputError, match="two sets"):
        lookalike.overlap({"only": a})


def test_evaluation_is_the_cli_evaluation(tmp_path, sample_features, features_file):
    out = tmp_path / "evaluation.csv"
    rule = "orders >= 12 and days_since_last_purchase <= 60"
    truth_file = ROOT / "data" / "sample" / "truth.csv"
    cli("evaluate-audience", "--features", str(features_file), "--seed-rule", rule,
        "--min-seeds", "50", "--truth", str(truth_file), "--out", str(out))
    import pyarrow.csv as pacsv
    truth = pacsv.read_csv(truth_file)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = lookalike.evaluate_audience(sample_features, seed_rule=rule, min_seeds=50,
                                           truth=truth)
    theirs = pacsv.read_csv(out)
    assert ours.column("scorer").to_pylist() == theirs.column("scorer").to_pylist()
    for name in ("recall", "precision", "lift", "auc", "truth_recall", "truth_value_ratio"):
        assert ours.column(name).to_pylist() == pytest.approx(theirs.column(name).to_pylist(),
                                                              rel=1e-12), name
    assert ours.schema.metadata[b"persona"] == b"loyal_high_spender"
    best = max(r for s, r in zip(ours.column("scorer").to_pylist(),
                                 ours.column("recall").to_pylist()) if s != "random")
    baseline = max(r for s, r in zip(ours.column("scorer").to_pylist(),
                                     ours.column("recall").to_pylist()) if s == "random")
    assert best > 2 * baseline


def test_stages_take_a_feature_file_as_well_as_a_table(sample_features, features_file):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from_file, _ = lookalike.segment(features_file, rules=RULES)
        from_table, _ = lookalike.segment(sample_features, rules=RULES)
    same_values(from_file, from_table)
    with pytest.raises(lookalike.InputError):
        lookalike.segment(features_file.with_name("missing.parquet"))
