"""lookalike.spark on a local[2] Spark, and one job on a standalone cluster on loopback: the
same features, models and scores as one process.

scripts/test installs pyspark (and Java when missing) and sets LOOKALIKE_REQUIRE_SPARK=1, so
that these tests cannot be skipped there; elsewhere they are skipped without pyspark."""

import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import lookalike

if os.environ.get("LOOKALIKE_REQUIRE_SPARK") != "1":
    pytest.importorskip("pyspark")

from lookalike import spark as lks  # noqa: E402


@pytest.fixture(scope="module")
def session():
    from pyspark.sql import SparkSession

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ["PYSPARK_PYTHON"] = sys.executable
    spark = (
        SparkSession.builder.master("local[2]")
        .appName("lookalike-tests")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        # Small batches, so that customers' rows straddle batches within a partition.
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "700")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    yield spark
    spark.stop()


def by_id(table):
    return table.sort_by("customer_id")


def assert_same_rows(expected, got, relative=0.0):
    """Same columns, same ids, and every value equal (NaN equal to NaN, nulls equal; floats
    within ``relative``)."""
    expected, got = by_id(expected), by_id(got)
    assert got.column_names == expected.column_names
    assert got.num_rows == expected.num_rows
    for name in expected.column_names:
        a, b = expected.column(name).to_pylist(), got.column(name).to_pylist()
        if a == b:
            continue
        for i, (x, y) in enumerate(zip(a, b)):
            floats = isinstance(x, float) and isinstance(y, float)
            same = x == y or (floats and math.isnan(x) and math.isnan(y)) or (
                floats and abs(x - y) <= relative * max(abs(x), abs(y)))
            assert same, f"{name}, customer {expected.column('customer_id')[i]}: {x!r} != {y!r}"


def test_features_on_the_sample_equal_one_process(session, root):
    sample = root / "data" / "sample"
    read = lambda name: session.read.csv(str(sample / name), header=True)  # noqa: E731
    spark_features = lks.features(
        read("transactions.csv"), read("events.csv"), read("customers.csv"),
        as_of="2026-01-01", partitions=3,
    ).toArrow()
    local = lookalike.features(sample / "transactions.csv", sample / "events.csv",
                               sample / "customers.csv", as_of="2026-01-01")
    assert_same_rows(local, spark_features)
    # The share columns and the attribute one-hots were chosen from the whole base.
    assert any(n.startswith("category_share_") for n in local.column_names)
    assert any(n.startswith("country_") for n in local.column_names)


def cli_scores(root, features_file, out):
    cli = root / "target" / "debug" / "lookalike"
    subprocess.run([str(cli), "--quiet", "score", "--model", str(root / "models" / "sample"),
                    "--features", str(features_file), "--out", str(out)], check=True)
    return pq.read_table(out)


def test_score_files_write_the_command_lines_rows(session, root, sample_features, tmp_path):
    """score_files: features in two files of several row groups, scored by tasks of whole row
    groups (one spanning both files), are the rows `lookalike score` writes, labels and all."""
    folder = tmp_path / "features"
    folder.mkdir()
    half = sample_features.num_rows // 2
    pq.write_table(sample_features.slice(0, half), folder / "part-0.parquet", row_group_size=600)
    pq.write_table(sample_features.slice(half), folder / "part-1.parquet", row_group_size=700)
    (folder / "_SUCCESS").write_text("")
    pq.write_table(sample_features, tmp_path / "features.parquet")
    expected = cli_scores(root, tmp_path / "features.parquet", tmp_path / "cli.parquet")
    model = lookalike.Model.load(root / "models" / "sample")
    out = tmp_path / "scores"
    # Row groups 600 x4, 100 | 700 x3, 400: tasks [600 x3], [600, 100 | 700], [700, 700, 400].
    scores_df = lks.score_files(model, folder, out, rows_per_task=2000)
    assert sorted(p.name for p in out.iterdir()) == [
        "_SUCCESS", "part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]
    assert [pq.ParquetFile(out / f"part-0000{i}.parquet").metadata.num_rows
            for i in range(3)] == [1800, 1400, 1800]
    got = pq.read_table(out)
    assert got.schema == expected.schema
    assert by_id(got).equals(by_id(expected))
    assert scores_df.count() == sample_features.num_rows
    # Nothing left beside the output (the staging folder became it).
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "cli.parquet", "features", "features.parquet", "scores"]


def with_unscorable(table, column, customer):
    import pyarrow.compute as pc

    at = table.column_names.index(column)
    holed = pc.if_else(pc.equal(table.column("customer_id"), customer), float("nan"),
                       table.column(column))
    return table.set_column(at, table.schema.field(at), holed)


def test_score_files_replace_earlier_scores_only_when_complete(session, root, sample_features,
                                                              tmp_path):
    model = lookalike.Model.load(root / "models" / "sample")
    good, bad, out = tmp_path / "good.parquet", tmp_path / "bad.parquet", tmp_path / "scores"
    pq.write_table(sample_features, good, row_group_size=1000)
    lks.score_files(model, good, out, rows_per_task=1000)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert len(before) == 6  # five parts and _SUCCESS
    ids = sample_features.column("customer_id").to_pylist()
    row = ids.index("C00000007") + 1
    pq.write_table(with_unscorable(sample_features, model.required_columns[0], "C00000007"),
                   bad, row_group_size=1000)
    # A task fails: the job fails naming the file, the data row and the customer, and the
    # earlier scores are as they were, with nothing left beside them.
    with pytest.raises(Exception, match=rf"bad\.parquet: data row {row}: customer C00000007"):
        lks.score_files(model, bad, out, rows_per_task=1000)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.parquet", "good.parquet", "scores"]
    # Skipping: the new scores replace the earlier ones whole (one task now, one part).
    with pytest.warns(UserWarning, match=r"1 customer\(s\) could not be scored"):
        lks.score_files(model, bad, out, on_error="skip")
    assert sorted(p.name for p in out.iterdir()) == ["_SUCCESS", "part-00000.parquet"]
    kept = pq.read_table(out)
    assert kept.num_rows == sample_features.num_rows - 1
    assert "C00000007" not in kept.column("customer_id").to_pylist()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.parquet", "good.parquet", "scores"]


KILLED_JOB = """
import sys

import lookalike
import lookalike.spark as lks
from pyspark.sql import SparkSession

model, features, out = sys.argv[1:4]
spark = (SparkSession.builder.master("local[1]").config("spark.driver.host", "127.0.0.1")
         .config("spark.driver.bindAddress", "127.0.0.1").config("spark.ui.enabled", "false")
         .getOrCreate())
lks.score_files(lookalike.Model.load(model), features, out, rows_per_task=500)
"""


def test_score_files_killed_midway_leave_earlier_scores_whole(session, root, sample_features,
                                                              tmp_path):
    """A driver killed (SIGKILL, with its JVM and workers) while its tasks write their parts
    leaves the earlier scores as they were: the parts were only ever in the staging folder."""
    import pyarrow as pa

    copies = [sample_features.set_column(0, "customer_id", pa.array(
        [f"K{n}-{i}" for i in sample_features.column("customer_id").to_pylist()]))
        for n in range(4)]
    assert sample_features.column_names[0] == "customer_id"
    features = tmp_path / "features.parquet"
    pq.write_table(pa.concat_tables(copies), features, row_group_size=500)  # 40 row groups
    model_dir, out = root / "models" / "sample", tmp_path / "scores"
    lks.score_files(lookalike.Model.load(model_dir), features, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    job = tmp_path / "job.py"
    job.write_text(KILLED_JOB)
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable, SPARK_LOCAL_IP="127.0.0.1")
    driver = subprocess.Popen([sys.executable, str(job), str(model_dir), str(features), str(out)],
                              env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    try:
        while not list(tmp_path.glob(".scores.lookalike-staging-*/part-*.parquet")):
            assert driver.poll() is None, "the job ended before any part was seen"
            assert time.monotonic() < deadline, "no part written in 180 s"
            time.sleep(0.01)
    finally:
        os.killpg(driver.pid, signal.SIGKILL)
        driver.wait()
    parts = list(tmp_path.glob(".scores.lookalike-staging-*/part-*.parquet"))
    assert 0 < len(parts) < 40, len(parts)  # killed midway
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_score_files_refuse_what_would_lose_data(session, root, sample_features, tmp_path):
    model = lookalike.Model.load(root / "models" / "sample")
    features = tmp_path / "features.parquet"
    pq.write_table(sample_features, features)

    def refused(source, out, match, **options):
        with pytest.raises(lookalike.InputError, match=match):
            lks.score_files(model, source, out, **options)

    refused(features, features, "would overwrite the features")
    folder = tmp_path / "in"
    folder.mkdir()
    pq.write_table(sample_features, folder / "part-0.parquet")
    refused(folder, folder / "scores", "would overwrite the features")
    refused(folder / "part-0.parquet", folder, "would overwrite the features")
    (tmp_path / "nested" / "day=1").mkdir(parents=True)
    refused(tmp_path / "nested", tmp_path / "out", "nested: a folder without data files")
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "keep.txt").write_text("mine")
    refused(features, notes, "notes: holds keep.txt, which is not a part of earlier scores")
    assert (notes / "keep.txt").read_text() == "mine"
    (tmp_path / "scores.parquet").write_text("a file")
    refused(features, tmp_path / "scores.parquet", "scores.parquet: is a file")
    refused(tmp_path / "missing", tmp_path / "out", "missing: no such file or folder")
    (tmp_path / "features.csv").write_text("customer_id,T\nC1,3\n")
    refused(tmp_path / "features.csv", tmp_path / "out", "features.csv: not a Parquet file")
    lacking = tmp_path / "lacking.parquet"
    pq.write_table(sample_features.drop_columns(["frequency"]), lacking)
    refused(lacking, tmp_path / "out", "lacking.parquet: lacks the column.s. the model reads: "
            "frequency")
    refused(features, tmp_path / "out", "on_error must be", on_error="drop")
    refused(features, "s3://bucket/scores", "renaming folders, which s3 storage does not do")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "features.csv", "features.parquet", "in", "lacking.parquet", "nested", "notes",
        "scores.parquet"]
    assert sorted(p.name for p in folder.iterdir()) == ["part-0.parquet"]
    # No customers: one empty part, with the scores' columns.
    pq.write_table(sample_features.slice(0, 0), tmp_path / "empty.parquet")
    lks.score_files(model, tmp_path / "empty.parquet", tmp_path / "none")
    none = pq.read_table(tmp_path / "none")
    assert none.num_rows == 0
    assert none.column_names == [n for n in model.output_schema.names if n != "unscored_reason"]


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """A generated base of 100k customers, its log in time order, as Parquet split into three
    files by row ranges: every customer's rows straddle files, partitions and batches."""
    out = tmp_path_factory.mktemp("base")
    summary = lookalike.generate(out, customers=100_000, seed=11, format="parquet", order="time")
    log = pq.read_table(out / "transactions.parquet")
    parts = out / "transactions"
    parts.mkdir()
    third = log.num_rows // 3
    for i, start in enumerate([0, third, 2 * third]):
        end = log.num_rows if i == 2 else start + third
        pq.write_table(log.slice(start, end - start), parts / f"part-{i}.parquet")
    return out, summary["as_of"], log.num_rows


@pytest.fixture(scope="module")
def generated_features(generated):
    """The generated base's features, extracted in one process."""
    out, as_of, _ = generated
    return lookalike.features(out / "transactions.parquet", as_of=as_of)


def test_features_of_a_log_split_over_files_equal_one_process(session, generated,
                                                              generated_features):
    out, as_of, lines = generated
    assert lines > 1_000_000
    tx = session.read.parquet(str(out / "transactions"))
    assert tx.count() == lines
    spark_features = lks.features(tx, as_of=as_of, partitions=5).toArrow()
    local = generated_features
    assert local.num_rows > 80_000
    assert_same_rows(local, spark_features)


def test_holdout_targets_and_column_mapping_carry_over(session, root):
    sample = root / "data" / "sample"
    tx = session.read.csv(str(sample / "transactions.csv"), header=True)
    renamed = tx.withColumnRenamed("customer_id", "cid").withColumnRenamed("amount", "total")
    columns = {"customer_id": "cid", "amount": "total"}
    spark_features = lks.features(renamed, as_of="2025-07-01", holdout_end="2026-01-01",
                                  columns=columns, top_levels=3).toArrow()
    local = lookalike.features(sample / "transactions.csv", as_of="2025-07-01",
                               holdout_end="2026-01-01", top_levels=3)
    assert {"holdout_purchases", "holdout_spend"} <= set(local.column_names)
    assert sum(1 for n in local.column_names if n.startswith("category_share_")) == 3
    assert_same_rows(local, spark_features)


def test_scores_equal_the_command_line(session, root, tmp_path):
    """Spark features scored on Spark are `lookalike features` scored by `lookalike score`."""
    sample = root / "data" / "sample"
    features_file, scores_file = tmp_path / "features.parquet", tmp_path / "scores.parquet"
    cli = root / "target" / "debug" / "lookalike"
    subprocess.run([str(cli), "--quiet", "features", "--transactions", str(sample / "transactions.csv"),
                    "--events", str(sample / "events.csv"), "--customers", str(sample / "customers.csv"),
                    "--as-of", "2026-01-01", "--out", str(features_file)], check=True)
    subprocess.run([str(cli), "--quiet", "score", "--model", str(root / "models" / "sample"),
                    "--features", str(features_file), "--out", str(scores_file)], check=True)
    read = lambda name: session.read.csv(str(sample / name), header=True)  # noqa: E731
    features_df = lks.features(read("transactions.csv"), read("events.csv"),
                               read("customers.csv"), as_of="2026-01-01", partitions=3)
    model = lookalike.Model.load(root / "models" / "sample")
    scored = lks.score(model, features_df).toArrow()
    assert_same_rows(pq.read_table(scores_file), scored)
    assert scored.num_rows == 5000


def test_bad_input_is_named(session, root):
    sample = root / "data" / "sample"
    tx = session.read.csv(str(sample / "transactions.csv"), header=True)
    with pytest.raises(lookalike.InputError, match="customer id column 'cid'"):
        lks.features(tx, as_of="2026-01-01", columns={"customer_id": "cid"})
    with pytest.raises(TypeError):
        lks.features(tx)  # as_of is required: every partition must use the same date
    model = lookalike.Model.load(root / "models" / "sample")
    with pytest.raises(lookalike.InputError, match="lacks the column"):
        lks.score(model, tx)
    from pyspark.sql import functions as F

    bad = tx.withColumn("amount", F.lit("12,50"))
    with pytest.raises(Exception, match="amount"):
        lks.features(bad, as_of="2026-01-01").collect()


def test_unscorable_customers_fail_or_are_left_out(session, root, sample_features):
    model = lookalike.Model.load(root / "models" / "sample")
    column = model.required_columns[0]
    features_df = session.createDataFrame(sample_features)
    from pyspark.sql import functions as F

    holed = features_df.withColumn(
        column, F.when(F.col("customer_id") == "C00000007", F.lit(float("nan")))
        .otherwise(F.col(column)))
    with pytest.raises(Exception, match="C00000007"):
        lks.score(model, holed).collect()
    kept = lks.score(model, holed, on_error="skip").toArrow()
    assert kept.num_rows == sample_features.num_rows - 1
    assert "C00000007" not in kept.column("customer_id").to_pylist()


def counted_pipeline(root, tmp_path):
    """The example pipeline made for a base in parts: its clusters started from a hash
    sample, its audience's scorer (seeds: the top 5% by CLV) fitted against a hash sample of
    the candidates, its paths made absolute."""
    data = root / "data"
    text = (data / "pipeline.example.toml").read_text()
    assert '\nseed_rule = "clv_rank <= 0.05"' in text
    text = text.replace('\nseed_rule = "clv_rank <= 0.05"',
                        '\ncandidate_sample = 1200\nseed_rule = "clv_rank <= 0.05"')
    assert '\ninit = "auto"' in text
    text = text.replace('\ninit = "auto"', '\ninit = "sample"')
    # Fewer k than the example's 2..8: every Lloyd iteration is a Spark job.
    assert '\nk = "2..8"' in text
    text = text.replace('\nk = "2..8"', '\nk = "3..5"')
    text = text.replace('"sample/', f'"{data}/sample/').replace(
        '"segments.example.toml"', f'"{data / "segments.example.toml"}"')
    path = tmp_path / "pipeline.toml"
    path.write_text(text)
    return path


def saved(model, folder):
    """The documents of a saved model, by path in its folder."""
    model.save(folder)
    return {p.relative_to(folder).as_posix(): json.loads(p.read_text())
            for p in folder.rglob("*.json")}


def assert_close(a, b, at="", relative=1e-12):
    """Equal JSON, numbers within `relative`."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), at
        for key in a:
            assert_close(a[key], b[key], f"{at}.{key}", relative)
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), at
        for i, (x, y) in enumerate(zip(a, b)):
            assert_close(x, y, f"{at}[{i}]", relative)
    elif isinstance(a, float) and isinstance(b, (int, float)):
        assert abs(a - b) <= relative * max(abs(a), abs(b)), f"{at}: {a} != {b}"
    else:
        assert a == b, f"{at}: {a!r} != {b!r}"


def assert_same_training(one_process, spark):
    """Edges, thresholds and value parameters identical; the segment report equal up to the
    order of additions; the same customers and feature columns."""
    assert spark["segments.json"] == one_process["segments.json"]
    value = "value/value_model.json"
    for document in (one_process[value], spark[value]):
        document.pop("features")  # where the features came from: a file, or the DataFrame
    assert spark[value] == one_process[value]
    a, b = one_process["manifest.json"], spark["manifest.json"]
    assert b["customers"] == a["customers"]
    assert b["features"] == a["features"]
    assert b["stages"]["value"] == a["stages"]["value"]
    assert_close(a["stages"]["segments"], b["stages"]["segments"], "segments")
    clusters = "clusters/model.json"
    assert (clusters in spark) == (clusters in one_process)
    if clusters in one_process:
        # k-means from per-partition sums: the same fit up to the order of additions.
        for document in (one_process[clusters], spark[clusters], a["stages"]["clusters"],
                         b["stages"]["clusters"]):
            document["fit"].pop("seconds")
            document.pop("features_file", None)
        assert_close(one_process[clusters], spark[clusters], "clusters", relative=1e-9)
        assert ([c["size"] for c in spark[clusters]["clusters"]]
                == [c["size"] for c in one_process[clusters]["clusters"]])
        assert spark[clusters]["parameters"]["init"] == "sample"
        assert_close(a["stages"]["clusters"], b["stages"]["clusters"], "stage", relative=1e-9)
    audiences = sorted(name for name in one_process if name.startswith("audiences/"))
    assert audiences == sorted(name for name in spark if name.startswith("audiences/"))
    for name in audiences:
        # The scaler, the scorer and every tier cut: bit for bit.
        assert spark[name] == one_process[name], name
    assert b["stages"].get("audiences") == a["stages"].get("audiences")


def test_train_on_the_sample_equals_the_command_line(session, root, tmp_path):
    pipeline = counted_pipeline(root, tmp_path)
    cli = root / "target" / "debug" / "lookalike"
    subprocess.run([str(cli), "--quiet", "train", "--config", str(pipeline),
                    "--out", str(tmp_path / "cli")], check=True)
    one_process = lookalike.Model.load(tmp_path / "cli")
    sample = root / "data" / "sample"
    read = lambda name: session.read.csv(str(sample / name), header=True)  # noqa: E731
    features_df = lks.features(read("transactions.csv"), read("events.csv"),
                               read("customers.csv"), as_of="2026-01-01", partitions=3)
    model = lks.train(pipeline, features_df)
    assert_same_training(saved(one_process, tmp_path / "a"), saved(model, tmp_path / "b"))
    features = lookalike.features(sample / "transactions.csv", sample / "events.csv",
                                  sample / "customers.csv", as_of="2026-01-01")
    # Cluster distances from centroids equal to rounding; every cluster the same.
    assert_same_rows(one_process.score(features), model.score(features), relative=1e-9)


def test_train_on_a_base_in_partitions_equals_one_process(session, generated,
                                                           generated_features):
    out, as_of, _ = generated
    config = {
        "input": {"transactions": str(out / "transactions.parquet")},
        "features": {"as_of": as_of},
        "segments": {"bins": 4, "min_size": 500},
        "value": {"model": "pareto", "horizon": 6},
        # Every Lloyd iteration is a Spark job: one k, two restarts, at most 25 iterations.
        "clusters": {"k": 4, "init": "sample", "n_init": 2, "max_iter": 25,
                     "init_sample": 20000, "silhouette_sample": 2000,
                     "log1p": ["total_spend"]},
        # Seeds by a rule on a feature, the classifier fitted against a hash sample.
        "audience": [{"name": "frequent", "seed_rule": "orders >= 8",
                      "scorer": "classifier", "scaling": "robust", "candidate_sample": 5000,
                      "sizes": ["1%", "5%", 2000], "holdout": "10%"}],
    }
    one_process = lookalike.train(config)
    features = generated_features
    # Rows dealt round-robin over 5 partitions: no partition is a range of the id order.
    features_df = session.createDataFrame(features).repartition(5)
    model = lks.train({k: v for k, v in config.items() if k != "input"}, features_df)
    tmp = out / "trained"
    assert_same_training(saved(one_process, tmp / "a"), saved(model, tmp / "b"))
    assert model.manifest["customers"] == features.num_rows
    assert_same_rows(one_process.score(features), model.score(features), relative=1e-9)


def test_train_refuses_what_it_cannot_fit_on_spark(session, root, sample_features):
    features_df = session.createDataFrame(sample_features)
    with pytest.raises(lookalike.InputError, match=r'\[clusters\].*set init = "sample"'):
        lks.train(root / "data" / "pipeline.example.toml", features_df)
    with pytest.raises(lookalike.InputError, match="clusters on nope, which the features"):
        lks.train({"clusters": {"k": 3, "init": "sample", "columns": ["orders", "nope"]}},
                  features_df)
    with pytest.raises(lookalike.InputError, match=r'"a": training on a base in parts.*set '
                                                   r'candidate_sample'):
        lks.train({"clusters": {"k": 3, "init": "sample"},
                   "audience": [{"name": "a", "seeds": "x.csv"}]}, features_df)
    with pytest.raises(lookalike.InputError, match=r"clv_rank, which needs \[value\]"):
        lks.train({"audience": [{"name": "a", "seed_rule": "clv_rank < 0.1",
                                 "candidate_sample": 100}]}, features_df)
    with pytest.raises(lookalike.InputError, match="no customer_id"):
        lks.train({"value": {}}, features_df.drop("customer_id"))
    with pytest.raises(Exception, match="frequency"):
        lks.train({"value": {}}, features_df.drop("frequency"))


def test_partitions_without_customer_rows_keep_the_whole_encoding(session, root, tmp_path):
    """Attribute encodings are merged from every partition's summary, also when most
    partitions have no customers-table row."""
    import pyarrow.csv as pacsv

    sample = root / "data" / "sample"
    customers = pacsv.read_csv(sample / "customers.csv")
    few = customers.slice(0, 3)
    pacsv.write_csv(few, tmp_path / "customers.csv")
    read = lambda path: session.read.csv(str(path), header=True)  # noqa: E731
    spark_features = lks.features(read(sample / "transactions.csv"), None,
                                  read(tmp_path / "customers.csv"), as_of="2026-01-01",
                                  partitions=7).toArrow()
    local = lookalike.features(sample / "transactions.csv", None, tmp_path / "customers.csv",
                               as_of="2026-01-01")
    assert any(n.startswith("country_") for n in local.column_names)
    assert_same_rows(local, spark_features)


CLUSTER_JOB = """
import sys

import lookalike
import lookalike.spark as lks
from pyspark.sql import SparkSession

sample, pipeline, out = sys.argv[1:4]
spark = SparkSession.builder.getOrCreate()
read = lambda name: spark.read.csv(f"{sample}/{name}", header=True)
lks.features(read("transactions.csv"), read("events.csv"), read("customers.csv"),
             as_of="2026-01-01", partitions=3).write.parquet(f"{out}/features")
features = spark.read.parquet(f"{out}/features")
model = lks.train(pipeline, features)
model.save(f"{out}/model")
lks.score(model, features).write.parquet(f"{out}/scores")
lks.score_files(model, f"{out}/features", f"{out}/scored_files", rows_per_task=1000)
where = spark.sparkContext.parallelize([0], 1).map(lambda _: lookalike.__file__).collect()
open(f"{out}/where.txt", "w").write(where[0])
spark.stop()
"""


def spark_home():
    """The Spark that pyspark ships (its jars and bin/ scripts)."""
    import pyspark

    return Path(pyspark.__file__).parent


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def standalone_cluster(tmp_path):
    """A Spark standalone cluster on loopback: a master and one worker (2 cores, 2 GB), whose
    executors run in JVMs of their own, in application folders under ``tmp_path / "work"``.
    Yields the master's URL."""
    home = spark_home()
    env = dict(os.environ, SPARK_HOME=str(home), SPARK_LOCAL_IP="127.0.0.1")
    spark_class = str(home / "bin" / "spark-class")
    port = free_port()
    url = f"spark://127.0.0.1:{port}"
    logs = {name: tmp_path / f"{name}.log" for name in ("master", "worker")}
    commands = {
        "master": [spark_class, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                   "--port", str(port), "--webui-port", str(free_port())],
        "worker": [spark_class, "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1",
                   "--cores", "2", "--memory", "2g", "--webui-port", str(free_port()),
                   "--work-dir", str(tmp_path / "work"), url],
    }
    started = []
    try:
        for name in ("master", "worker"):
            with open(logs[name], "w") as log:
                started.append(subprocess.Popen(commands[name], env=env, stdout=log,
                                                stderr=subprocess.STDOUT,
                                                start_new_session=True))
            deadline = time.monotonic() + 120
            ready = {"master": "I have been elected leader",
                     "worker": "Successfully registered with master"}[name]
            while ready not in logs[name].read_text():
                assert started[-1].poll() is None, logs[name].read_text()[-3000:]
                assert time.monotonic() < deadline, logs[name].read_text()[-3000:]
                time.sleep(0.5)
        yield url
    finally:
        for process in reversed(started):
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def test_a_packed_environment_serves_a_standalone_cluster(root, tmp_path, standalone_cluster):
    """The cluster install of the README, on a real cluster manager: scripts/pack_spark_env
    packs the wheel into an environment, spark-submit ships it with --archives to a standalone
    cluster, whose worker unpacks it for the executors (JVMs of their own, apart from the
    driver), and the job's features, training and scores (``score`` and ``score_files``) are
    those of one process."""
    archive = tmp_path / "lookalike_env.tar.gz"
    packing = subprocess.run([str(root / "scripts" / "pack_spark_env"), str(archive), "--debug"],
                             capture_output=True, text=True)
    assert packing.returncode == 0, packing.stderr[-3000:]
    job, out = tmp_path / "job.py", tmp_path / "out"
    job.write_text(CLUSTER_JOB)
    pipeline = counted_pipeline(root, tmp_path)
    sample = root / "data" / "sample"
    env = dict(os.environ, SPARK_HOME=str(spark_home()), PYSPARK_DRIVER_PYTHON=sys.executable,
               PYSPARK_PYTHON="./environment/bin/python", SPARK_LOCAL_IP="127.0.0.1")
    submit = spark_home() / "bin" / "spark-submit"
    run = subprocess.run(
        [str(submit), "--master", standalone_cluster, "--conf", "spark.ui.enabled=false",
         "--conf", "spark.driver.host=127.0.0.1", "--conf", "spark.driver.bindAddress=127.0.0.1",
         "--conf", "spark.executor.memory=1g", "--conf", "spark.sql.shuffle.partitions=4",
         "--archives", f"{archive}#environment",
         str(job), str(sample), str(pipeline), str(out)],
        env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-3000:]
    # The executors imported lookalike from the archive the worker unpacked for the job.
    where = Path((out / "where.txt").read_text())
    assert where.is_relative_to(tmp_path / "work"), where
    assert "environment" in where.parts, where
    features = lookalike.features(sample / "transactions.csv", sample / "events.csv",
                                  sample / "customers.csv", as_of="2026-01-01")
    assert_same_rows(features, pq.read_table(out / "features"))
    cli = root / "target" / "debug" / "lookalike"
    subprocess.run([str(cli), "--quiet", "train", "--config", str(pipeline),
                    "--out", str(tmp_path / "cli")], check=True)
    one_process = lookalike.Model.load(tmp_path / "cli")
    cluster_model = lookalike.Model.load(out / "model")
    assert_same_training(saved(one_process, tmp_path / "a"), saved(cluster_model, tmp_path / "b"))
    scores = pq.read_table(out / "scores")
    assert scores.num_rows == 5000
    one_process_scores = cluster_model.score(features)
    # Spark's score fails on, or leaves out, a customer it cannot score: the reason column
    # is the one-process output's alone.
    assert one_process_scores.column("unscored_reason").null_count == 5000
    assert_same_rows(one_process_scores.drop_columns(["unscored_reason"]), scores)
    # score_files: the executors read Spark's feature part files and wrote the scores' parts.
    assert len(list((out / "scored_files").glob("part-*.parquet"))) == 3
    assert_same_rows(one_process_scores.drop_columns(["unscored_reason"]),
                     pq.read_table(out / "scored_files"))
