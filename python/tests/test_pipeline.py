"""The package against the command line on the same files, and its errors."""

import json
import subprocess
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import lookalike

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"
CLI = ROOT / "target" / "debug" / "lookalike"


def cli(*args: str) -> None:
    """Runs the command line built by `cargo build` (scripts/test builds it first)."""
    assert CLI.exists(), f"{CLI} is missing: build it with `cargo build -p lookalike-cli`"
    subprocess.run([str(CLI), "--quiet", *args], check=True)


def assert_same_table(a: pa.Table, b: pa.Table) -> None:
    """Same columns, same types, same values (NaN and null compared as equal positions)."""
    assert a.column_names == b.column_names
    assert a.num_rows == b.num_rows
    for name in a.column_names:
        x, y = a.column(name).combine_chunks(), b.column(name).combine_chunks()
        assert x.type == y.type, name
        assert x.to_pylist() == y.to_pylist() or _equal_with_nan(x, y), name


def _equal_with_nan(x: pa.Array, y: pa.Array) -> bool:
    return all(
        (p == q) or (p != p and q != q) for p, q in zip(x.to_pylist(), y.to_pylist())
    )


def test_features_are_the_cli_features(tmp_path, sample_features):
    out = tmp_path / "features.parquet"
    cli(
        "features",
        "--transactions", str(SAMPLE / "transactions.csv"),
        "--events", str(SAMPLE / "events.csv"),
        "--customers", str(SAMPLE / "customers.csv"),
        "--as-of", "2026-01-01",
        "--out", str(out),
    )
    from_cli = pq.read_table(out)
    assert sample_features.column_names == from_cli.column_names
    assert sample_features.num_rows == 5000
    for name in from_cli.column_names[1:]:
        ours = sample_features.column(name).to_pylist()
        theirs = [None if v != v else v for v in from_cli.column(name).to_pylist()]
        assert ours == theirs, name
    assert sample_features.column("customer_id").to_pylist() == from_cli.column(
        "customer_id"
    ).to_pylist()


def test_scores_are_the_cli_scores(tmp_path, sample_features):
    features = tmp_path / "features.parquet"
    pq.write_table(sample_features, features)
    out = tmp_path / "scores.parquet"
    cli("score", "--model", str(ROOT / "models" / "sample"), "--features", str(features),
        "--out", str(out))
    model = lookalike.Model.load(ROOT / "models" / "sample")
    scores = model.score(sample_features)
    # Every row was scored, so the reason column is all null; the CLI drops it (it stops or
    # skips and counts an unscorable row instead).
    assert scores.column("unscored_reason").null_count == scores.num_rows
    assert_same_table(scores.drop_columns(["unscored_reason"]), pq.read_table(out))


def test_training_the_example_makes_the_committed_model(sample_features):
    trained = lookalike.train(ROOT / "data" / "pipeline.example.toml")
    committed = lookalike.Model.load(ROOT / "models" / "sample")
    assert trained.audiences == ["top_clv"]
    assert trained.output_schema == committed.output_schema
    assert_same_table(trained.score(sample_features), committed.score(sample_features))


def test_a_dict_config_trains_like_its_file(tmp_path, sample_features):
    import tomllib

    config = tomllib.loads((ROOT / "data" / "pipeline.example.toml").read_text())
    data = ROOT / "data"
    config["input"] = {k: str(data / v) if k in ("transactions", "events", "customers") else v
                       for k, v in config["input"].items()}
    config["segments"]["rules"] = str(data / config["segments"]["rules"])
    model = lookalike.train(config)
    committed = lookalike.Model.load(ROOT / "models" / "sample")
    assert_same_table(model.score(sample_features), committed.score(sample_features))


def test_the_same_table_from_pandas_polars_and_pyarrow_scores_the_same(sample_features):
    import polars as pl

    model = lookalike.Model.load(ROOT / "models" / "sample")
    expected = model.score(sample_features)
    as_polars = pl.from_arrow(sample_features)
    assert_same_table(model.score(as_polars), expected)
    as_pandas = sample_features.to_pandas()
    if not hasattr(as_pandas, "__arrow_c_stream__"):
        as_pandas = pa.Table.from_pandas(as_pandas, preserve_index=False)
    assert_same_table(model.score(as_pandas), expected)
    # Batches of any size: the transform is row-local.
    batches = pa.Table.from_batches(sample_features.to_batches(max_chunksize=777))
    assert_same_table(model.score(batches), expected)
    one_batch = sample_features.combine_chunks().to_batches()[0]
    assert_same_table(model.score(one_batch), expected)
    a_list = sample_features.to_batches(max_chunksize=1000)
    assert_same_table(model.score(a_list), expected)


def test_scores_do_not_depend_on_the_threads(sample_features):
    model = lookalike.Model.load(ROOT / "models" / "sample")
    expected = model.score(sample_features)
    for threads in (1, 3):
        assert_same_table(model.score(sample_features, threads=threads), expected)
        assert_same_table(model.score(sample_features.to_batches(max_chunksize=700),
                                      threads=threads), expected)
    tasks = Path("/proc/self/task")
    if tasks.exists():
        # The call ran on a pool of its own, of the size asked for.
        names = {(task / "comm").read_text().strip() for task in tasks.iterdir()}
        assert {"lookalike-0", "lookalike-1", "lookalike-2"} <= names
        assert "lookalike-3" not in names
    with pytest.raises(lookalike.InputError, match="threads must be at least 1"):
        model.score(sample_features, threads=0)


def test_a_model_round_trips_through_bytes_and_a_folder(tmp_path, sample_features):
    model = lookalike.Model.load(ROOT / "models" / "sample")
    expected = model.score(sample_features)
    from_bytes = lookalike.Model.from_bytes(model.to_bytes())
    assert_same_table(from_bytes.score(sample_features), expected)
    model.save(tmp_path / "copy")
    assert_same_table(lookalike.Model.load(tmp_path / "copy").score(sample_features), expected)
    manifest = model.manifest
    assert manifest["format_version"] == 1 and manifest["as_of"] == "2026-01-01"
    assert json.loads(json.dumps(manifest)) == manifest


def test_bad_input_raises_with_the_file_row_and_column(tmp_path):
    bad = tmp_path / "tx.csv"
    bad.write_text("customer_id,timestamp,amount\nc1,2025-01-02,12.5\nc2,2025-13-40,3\n")
    with pytest.raises(lookalike.InputError) as error:
        lookalike.features(bad)
    message = str(error.value)
    assert "tx.csv" in message and "line 3" in message and "timestamp" in message
    with pytest.raises(lookalike.InputError, match="does not exist"):
        lookalike.features(tmp_path / "missing.csv")
    with pytest.raises(lookalike.InputError, match="time_unit"):
        lookalike.features(bad, time_unit="fortnights")
    assert issubclass(lookalike.InputError, lookalike.LookalikeError)


def test_a_model_refuses_what_it_cannot_score(tmp_path, sample_features):
    with pytest.raises(lookalike.ModelError, match="not a model directory"):
        lookalike.Model.load(tmp_path)
    with pytest.raises(lookalike.ModelError):
        lookalike.Model.from_bytes(b"not a model")
    model = lookalike.Model.load(ROOT / "models" / "sample")
    with pytest.raises(lookalike.InputError, match="orders"):
        model.score(sample_features.drop_columns(["orders"]))
    with pytest.raises(lookalike.InputError, match="Arrow"):
        model.score({"customer_id": [1, 2, 3]})


def test_progress_is_reported_stage_by_stage_and_callback_errors_are_raised():
    calls = []
    lookalike.features(SAMPLE / "transactions.csv", SAMPLE / "events.csv",
                       progress=lambda stage, done, total: calls.append((stage, done, total)))
    stages = list(dict.fromkeys(stage for stage, _, _ in calls))
    assert stages, "no progress was reported"
    for stage in stages:
        seen = [(done, total) for s, done, total in calls if s == stage]
        assert seen[0][0] == 0, stage
        assert [d for d, _ in seen] == sorted(d for d, _ in seen), stage
        total = seen[-1][1]
        if total is not None:
            assert seen[-1][0] == total, stage

    def broken(stage, done, total):
        raise RuntimeError("the callback failed")

    with pytest.raises(RuntimeError, match="the callback failed"):
        lookalike.features(SAMPLE / "transactions.csv", progress=broken)
    with pytest.raises(TypeError):
        lookalike.features(SAMPLE / "transactions.csv", progress="yes")


def test_generate_writes_what_the_cli_writes(tmp_path):
    summary = lookalike.generate(tmp_path / "py", customers=300, seed=11)
    cli("generate", "--customers", "300", "--seed", "11", "--out", str(tmp_path / "cli"))
    assert summary["customers"] == 300 and summary["as_of"] == "2026-01-01"
    for name in ("transactions.csv", "events.csv", "customers.csv", "truth.csv"):
        assert (tmp_path / "py" / name).read_bytes() == (tmp_path / "cli" / name).read_bytes(), name
    with pytest.raises(lookalike.InputError, match="format"):
        lookalike.generate(tmp_path / "bad", format="xlsx")
    # In time order: the same bytes as the CLI's, and the same lines as customer order.
    lookalike.generate(tmp_path / "py-time", customers=300, seed=11, order="time")
    cli("generate", "--customers", "300", "--seed", "11", "--order", "time",
        "--out", str(tmp_path / "cli-time"))
    timed = (tmp_path / "py-time" / "transactions.csv").read_bytes()
    assert timed == (tmp_path / "cli-time" / "transactions.csv").read_bytes()
    by_customer = (tmp_path / "py" / "transactions.csv").read_bytes()
    assert sorted(timed.splitlines()) == sorted(by_customer.splitlines())
    with pytest.raises(lookalike.InputError, match="order"):
        lookalike.generate(tmp_path / "bad", order="random")


def test_logs_as_tables_give_the_features_of_the_files(sample_features):
    import pyarrow.csv as pacsv
    import polars as pl

    tables = [pacsv.read_csv(SAMPLE / f"{name}.csv")
              for name in ("transactions", "events", "customers")]
    from_tables = lookalike.features(*tables, as_of="2026-01-01")
    assert_same_table(from_tables, sample_features)
    from_polars = lookalike.features(*(pl.from_arrow(t) for t in tables), as_of="2026-01-01")
    assert_same_table(from_polars, sample_features)
    # A table and files mixed.
    mixed = lookalike.features(tables[0], SAMPLE / "events.csv", SAMPLE / "customers.csv",
                               as_of="2026-01-01")
    assert_same_table(mixed, sample_features)


def test_a_bad_row_of_a_table_is_named_by_its_row_and_column():
    bad = pa.table({"customer_id": ["c1", "c2", "c3"], "timestamp": ["2025-01-02", "2025-02-30", "2025-03-01"],
                    "amount": [1.0, 2.0, 3.0]})
    with pytest.raises(lookalike.InputError) as error:
        lookalike.features(bad)
    message = str(error.value)
    assert "transactions table" in message and "row 2" in message and "timestamp" in message, message
    skipped = lookalike.features(bad, on_error="skip")
    assert skipped.num_rows == 2


def test_training_on_tables_makes_the_model_of_the_files(sample_features):
    import pyarrow.csv as pacsv
    import polars as pl

    transactions = pl.read_csv(SAMPLE / "transactions.csv")
    events = pacsv.read_csv(SAMPLE / "events.csv")
    model = lookalike.train(ROOT / "data" / "pipeline.example.toml",
                            transactions=transactions, events=events)
    committed = lookalike.Model.load(ROOT / "models" / "sample")
    assert_same_table(model.score(sample_features), committed.score(sample_features))
    inputs = model.manifest["inputs"]
    assert inputs[0]["table"] is True and inputs[0]["rows"] == transactions.height
    assert "xxh3_64" in inputs[2]  # the customers file named by the pipeline, hashed


def test_a_model_scores_a_feature_file(tmp_path, sample_features):
    path = tmp_path / "features.parquet"
    pq.write_table(sample_features, path)
    model = lookalike.Model.load(ROOT / "models" / "sample")
    assert_same_table(model.score(path), model.score(sample_features))


SHOP = ROOT / "data" / "online_retail" / "transactions.csv"
SHOP_COLUMNS = {
    "customer_id": "CustomerID",
    "timestamp": "InvoiceDate",
    "order_id": "InvoiceNo",
    "quantity": "Quantity",
    "unit_price": "UnitPrice",
}


def test_a_shop_export_gives_the_cli_features(tmp_path):
    """Unit price × quantity, guest lines, a local date format and the country on the lines."""
    reading = dict(
        columns=SHOP_COLUMNS,
        date_format="%m/%d/%Y %H:%M",
        missing_customer="skip",
        attributes=["Country"],
    )
    ours = lookalike.features(SHOP, **reading)
    out = tmp_path / "shop.parquet"
    mapping = [arg for field, name in SHOP_COLUMNS.items() for arg in ("--column", f"{field}={name}")]
    cli(
        "features", "--transactions", str(SHOP), *mapping,
        "--date-format", "%m/%d/%Y %H:%M", "--missing-customer", "skip",
        "--attribute", "Country", "--out", str(out),
    )
    theirs = pq.read_table(out)
    assert ours.column_names == theirs.column_names
    assert "Country_United_Kingdom" in ours.column_names
    assert all("." not in i for i in ours.column("customer_id").to_pylist())
    for name in theirs.column_names[1:]:
        assert ours.column(name).to_pylist() == [
            None if v != v else v for v in theirs.column(name).to_pylist()
        ], name
    with pytest.raises(lookalike.InputError, match="missing-customer skip"):
        lookalike.features(SHOP, columns=SHOP_COLUMNS, date_format="%m/%d/%Y %H:%M")
    with pytest.raises(lookalike.InputError, match="missing_customer"):
        lookalike.features(SHOP, columns=SHOP_COLUMNS, missing_customer="drop")
    # The pipeline file's [input] takes the same options.
    model = lookalike.train({
        "input": {"transactions": str(SHOP), **{"columns": SHOP_COLUMNS}, **{
            k: v for k, v in reading.items() if k != "columns"}},
        "segments": {},
    })
    assert "Country_Germany" in model.manifest["features"]["columns"]
