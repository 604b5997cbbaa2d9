"""Pipeline stages on a feature table: segments and lookalike audiences.

``features`` is any Arrow table (pyarrow, polars, DuckDB, pandas 2.2+) with ``customer_id`` and
numeric feature columns, such as ``lookalike.features(...)`` returns. The computing is the
library's, the same as ``lookalike segment`` and ``lookalike expand``.

>>> segments, report = lookalike.segment(features, rules="data/segments.example.toml")
>>> audience = lookalike.expand(features, seed_rule="rfm_segment == 'Champions'",
...                             sizes=["1%", "5%"])
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Iterable, Optional, Sequence

import pyarrow as pa

from . import _lookalike

__all__ = ["evaluate_audience", "expand", "overlap", "segment"]


def _text_or_file(rules) -> Optional[str]:
    """Rules given as a path to a TOML file, or as its text."""
    if rules is None:
        return None
    if isinstance(rules, os.PathLike) or (isinstance(rules, str) and "\n" not in rules
                                          and rules.endswith(".toml")):
        return Path(rules).read_text()
    return str(rules)


def segment(features, rules=None, *, bins: int = 5, value_column: str = "total_spend",
            require_consent: Optional[str] = None, lapsing_factor: float = 2.0,
            lost_factor: float = 4.0, loyal_purchase_days: float = 5.0,
            single_purchase_gap: float = 90.0, min_size: int = 1000,
            control_share: float = 0.1, baseline: Optional[float] = None,
            target_lift: float = 0.2, max_detectable: float = 0.5
            ) -> tuple[pa.Table, pa.Table]:
    """RFM scores (``bins``-tiles), named RFM segments, lifecycle stages, value tiers, intent
    flags and rule segments for every customer.

    ``rules`` is a rules file (path) or its TOML text (``[[segment]]`` rules, see
    ``data/segments.example.toml``). Returns the per-customer table and the report (one row per
    segment: customers, share, revenue, means, and the power of a test on it); segments too
    small to test are warned about (``warnings.warn``).

    The power analysis holds ``control_share`` of each segment out and judges it at 80% power,
    α = 0.05 (two-sided) from ``baseline`` (a conversion rate; by default each segment's share
    of customers with an order in the last 30 days): ``minimum_detectable_lift`` and the
    ``control_needed_for_target`` for ``target_lift``. A segment is too small to test with fewer
    than ``min_size`` customers or when no lift below ``max_detectable`` is detectable.
    """
    table, report = _lookalike.segment(features, _text_or_file(rules), bins, value_column,
                                       require_consent, lapsing_factor, lost_factor,
                                       loyal_purchase_days, single_purchase_gap, min_size,
                                       control_share, baseline, target_lift, max_detectable)
    report = json.loads(report)
    for message in report["warnings"]:
        warnings.warn(message, stacklevel=2)
    return table, pa.Table.from_pylist(report["rows"])


def _ids(values) -> list[str]:
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        values = values.to_pylist()
    return [str(v) for v in values]


def expand(features, *, seeds: Optional[Iterable] = None, seed_rule: Optional[str] = None,
           scope: Optional[str] = None, exclude: Sequence[Iterable] = (),
           require_consent: Optional[str] = None, columns: Sequence[str] = (),
           log1p: Optional[Sequence[str]] = None, scaling: str = "standard",
           sizes: Sequence[str] = ("1%", "2%", "5%", "10%"), scorer: str = "auto",
           k: int = 10, index: str = "auto", representatives: int = 0, holdout: float = 0.0,
           salt: int = 0, min_seeds: int = 100, seed: int = 0,
           candidate_sample: Optional[int] = None) -> pa.Table:
    """A lookalike audience: the customers most like the seeds, ranked, in nested tiers.

    Give the seeds as customer ids (``seeds``) or as a rule over the features (``seed_rule``,
    e.g. ``"orders >= 10"``). Candidates are the other customers, minus the ``exclude`` lists,
    those without ``require_consent`` and those outside ``scope``. ``scorer`` is "auto" (the
    single scorer that finds most of the seeds' own hidden fold, recorded in the table's
    ``lookalike.selection`` metadata), "boosted", "classifier", "knn", "centroids" or
    "ensemble"; ``holdout`` draws a control group of that
    share inside each tier. Returns the members of the largest tier, best first: score,
    percentile, rank, tier, control, nearest seed and the reasons. Who was left out is
    reported with ``warnings.warn``.

    ``candidate_sample=N`` fits the scorer against the N candidates with the lowest hash of
    their id (keyed by ``seed``) instead of all of them, for large bases; every candidate is
    still scored. It is the fit of ``candidate_sample = N`` in a pipeline's ``[[audience]]``
    (``lookalike train``, ``lookalike.spark.train``) and of ``lookalike expand
    --candidate-sample N``.
    """
    table, notes = _lookalike.expand(
        features, None if seeds is None else _ids(seeds), seed_rule, scope,
        [_ids(ids) for ids in exclude], require_consent, list(columns),
        None if log1p is None else list(log1p), scaling, list(sizes), scorer, k, index,
        representatives, float(holdout), salt, min_seeds, seed, candidate_sample)
    for note in notes:
        warnings.warn(note.removeprefix("warning: "), stacklevel=2)
    return table


def overlap(sets) -> pa.Table:
    """How much named sets of customers share, pair by pair: sizes, customers in both, the
    Jaccard index and each side's share in the other.

    ``sets`` maps names to ids (lists, arrays, or tables with a ``customer_id`` column).

    >>> lookalike.overlap({"spring": spring["customer_id"], "summer": summer["customer_id"]})
    """
    named = []
    for name, ids in dict(sets).items():
        if hasattr(ids, "column_names") and "customer_id" in ids.column_names:
            ids = ids.column("customer_id")
        named.append((str(name), _ids(ids)))
    return _lookalike.overlap(named)


def evaluate_audience(features, *, seeds: Optional[Iterable] = None,
                      seed_rule: Optional[str] = None, exclude: Sequence[Iterable] = (),
                      require_consent: Optional[str] = None, columns: Sequence[str] = (),
                      log1p: Optional[Sequence[str]] = None, scaling: str = "standard",
                      scorers: Optional[Sequence[str]] = None, folds: int = 5,
                      sizes: Sequence[str] = ("1%", "5%", "10%"), k: int = 10,
                      representatives: int = 0, min_seeds: int = 100, seed: int = 0,
                      truth=None, truth_classes: Optional[Sequence[str]] = None) -> pa.Table:
    """Cross-validates the scorers on the seeds: each fold of seeds is hidden once and looked
    for. Per scorer and tier: recall, precision and lift of the hidden seeds, AUC, value recall;
    a ``random`` scorer is the baseline.

    ``truth`` (a table with ``customer_id``, ``persona`` and ``future_spend``, such as the
    ``truth.csv`` of ``generate``) adds the share of the seeds' persona recovered
    (``truth_recall``) and the tier's true future spend over the average
    (``truth_value_ratio``); the persona is in the table's metadata (``persona``).
    ``truth_classes`` names the personas that count as the seeds' kind (default: the seeds'
    most common one), e.g. both kinds of best customer of ``generate(scenario="two-kinds")``.
    """
    known = None
    if truth is not None:
        if not isinstance(truth, pa.Table):
            truth = pa.table(truth)
        known = dict(zip(truth.column("customer_id").to_pylist(),
                         zip(truth.column("persona").to_pylist(),
                             [float(v) for v in truth.column("future_spend").to_pylist()])))
    table, persona, notes = _lookalike.evaluate_audience(
        features, None if seeds is None else _ids(seeds), seed_rule,
        [_ids(ids) for ids in exclude], require_consent, list(columns),
        None if log1p is None else list(log1p), scaling,
        None if scorers is None else list(scorers), folds, list(sizes), k, representatives,
        min_seeds, seed, known, None if truth_classes is None else list(truth_classes))
    for note in notes:
        warnings.warn(note.removeprefix("warning: "), stacklevel=2)
    if persona is not None:
        table = table.replace_schema_metadata({"persona": persona})
    return table
