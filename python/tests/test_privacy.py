"""Privacy from Python: a subject-access answer (`Model.explain`) that agrees with `score`, and
erasure (`Model.forget`) that leaves no erased id in the model."""

import warnings

import pyarrow.parquet as pq
import pytest

import lookalike


@pytest.fixture(scope="module")
def model(root):
    return lookalike.Model.load(root / "models" / "sample")


def test_explain_agrees_with_score(model, sample_features):
    scores = model.score(sample_features).to_pylist()
    for row in scores[::500]:
        answer = model.explain(sample_features, row["customer_id"])
        assert answer["customer_id"] == row["customer_id"]
        assert answer["scores"] == row
        segments = answer["segments"]
        assert segments["recency"]["score"] == row["r_score"]
        assert segments["lifecycle"] == row["lifecycle"]
        placement = answer["audiences"][0]["placement"]
        if placement is not None:
            assert placement["score"] == row["top_clv_score"]
    with pytest.raises(lookalike.InputError, match="not in the features"):
        model.explain(sample_features, "nobody")


def test_forget_takes_the_customers_out(model, sample_features, tmp_path):
    path = tmp_path / "model"
    model.save(path)
    seeds = pq.read_table(path / "audiences" / "top_clv_seeds.parquet")
    erased = seeds.column("customer_id").to_pylist()[:5] + ["nobody"]
    forgotten = model.forget(sample_features, erased)
    record = forgotten.manifest["erasures"][-1]
    assert record["requested"] == 6 and record["not_found"] == 1
    assert record["refitted"] == ["audiences/top_clv"]
    forgotten.save(tmp_path / "after")
    for file in (tmp_path / "after").rglob("*"):
        if file.is_file():
            data = file.read_bytes()
            if file.suffix == ".parquet":
                data += "\n".join(pq.read_table(file).column("customer_id").to_pylist()).encode()
            for customer in erased:
                assert customer.encode() not in data, (file, customer)
    # Every stage refitted, and nothing to erase: a warning, the model unchanged.
    everything = model.forget(sample_features, erased[:2], refit_all=True)
    assert everything.manifest["erasures"][-1]["kept"] == []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        same = model.forget(sample_features, ["nobody"])
    assert any("nothing to erase" in str(w.message) for w in caught)
    assert same.manifest == model.manifest
    with pytest.raises(lookalike.InputError, match="not those the model was trained on"):
        model.forget(sample_features.select(["customer_id", "orders"]), erased)


def test_pseudonymized_features_and_training_hold_no_raw_id(root, tmp_path, sample_features):
    key = tmp_path / "key"
    key.write_bytes(bytes(range(32)))
    sample = root / "data" / "sample"
    logs = [sample / "transactions.csv", sample / "events.csv", sample / "customers.csv"]
    hashed = lookalike.features(*logs, as_of="2026-01-01", pseudonymize=key)
    ids = sample_features.column("customer_id").to_pylist()
    # Same rows, same values; the ids are the pseudonyms a key holder computes.
    assert hashed.column("customer_id").to_pylist() == lookalike.pseudonymize(ids, key)
    assert hashed.drop(["customer_id"]).equals(sample_features.drop(["customer_id"]))
    assert lookalike.pseudonymize(sample_features, key).equals(hashed)
    model = lookalike.train(root / "data" / "pipeline.example.toml", pseudonymize=key)
    assert model.manifest["pseudonymized"]["method"] == "hmac-sha256"
    model.save(tmp_path / "model")
    for file in (tmp_path / "model").rglob("*"):
        if file.is_file():
            data = file.read_bytes()
            if file.suffix == ".parquet":
                data += "\n".join(pq.read_table(file).column("customer_id").to_pylist()).encode()
            assert b"C0000" not in data, file
    # The pseudonymized model scores the pseudonymized features as the raw one scores the raw.
    raw = lookalike.Model.load(root / "models" / "sample").score(sample_features)
    scored = model.score(hashed)
    assert scored.drop(["customer_id", "top_clv_control"]).equals(
        raw.drop(["customer_id", "top_clv_control"]))
    with pytest.raises(lookalike.InputError, match="at least 32"):
        short = tmp_path / "short"
        short.write_text("too short\n")
        lookalike.pseudonymize(["x"], short)

