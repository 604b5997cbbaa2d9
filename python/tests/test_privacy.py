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
