"""The lookalike scorers on bases with two kinds of best customer and decoys between them, from
both generators: the project's (`generate(scenario="two-kinds")`) and the independent one in
`benches/second_generator.py`. Seeds are a fifth of the best customers; the rest are hidden and
should come back in the 10% tier."""

import importlib.util
import warnings
from pathlib import Path

import pyarrow.csv as pacsv
import pytest

import lookalike

ROOT = Path(__file__).resolve().parents[2]


def second_generator():
    spec = importlib.util.spec_from_file_location(
        "second_generator", ROOT / "benches" / "second_generator.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module", params=["generate", "second_generator"])
def base(request, tmp_path_factory):
    """(features, persona by id, the best personas) of a 15,000-customer base."""
    out = tmp_path_factory.mktemp(request.param)
    if request.param == "generate":
        summary = lookalike.generate(out, customers=15_000, seed=3, scenario="two-kinds")
        features = lookalike.features(*summary["files"][:3], as_of=summary["as_of"])
        best = {"best_frequent", "best_big_ticket"}
    else:
        second_generator().main(out, 15_000, 2)
        features = lookalike.features(out / "transactions.csv", as_of="2026-01-01")
        best = {"best_regular", "best_burst"}
    truth = pacsv.read_csv(out / "truth.csv")
    persona = dict(zip(truth.column("customer_id").to_pylist(),
                       truth.column("persona").to_pylist()))
    return features, persona, best


def recall_at_10(base, **options):
    features, persona, best = base
    ids = features.column("customer_id").to_pylist()
    positives = sorted(i for i in ids if persona[i] in best)
    seeds = positives[::5]
    hidden = set(positives) - set(seeds)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        audience = lookalike.expand(features, seeds=seeds, sizes=["10%"], **options)
    chosen = set(audience.column("customer_id").to_pylist())
    return len(chosen & hidden) / len(hidden), audience


def test_auto_picks_a_scorer_as_good_as_the_best_and_records_why(base):
    boosted, _ = recall_at_10(base, scorer="boosted")
    classifier, _ = recall_at_10(base, scorer="classifier")
    knn, _ = recall_at_10(base, scorer="knn")
    one_centroid, _ = recall_at_10(base, scorer="centroids", representatives=1)
    auto, audience = recall_at_10(base)
    # A single centroid sits among the decoys; the trees separate both kinds from them.
    assert boosted > one_centroid + 0.1, (boosted, one_centroid)
    best = max(boosted, classifier, knn)
    assert auto >= best - 0.03, (auto, boosted, classifier, knn)
    metadata = audience.schema.metadata
    chosen = metadata[b"lookalike.scorer"].decode()
    assert chosen in {"boosted", "classifier", "knn", "centroids"}
    assert b"cross-validation" in metadata[b"lookalike.selection"]


def test_scores_stay_below_one_and_follow_the_ranking(base):
    _, audience = recall_at_10(base, scorer="classifier")
    scores = audience.column("score").to_pylist()
    assert max(scores) < 1.0
    assert scores == sorted(scores, reverse=True)
    # Distinct, not saturated: at most a handful of exact ties in a tier of 10%.
    assert len(set(scores)) > 0.99 * len(scores)
