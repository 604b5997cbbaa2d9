"""Test and track: did the campaign work, is a segment large enough to test, who moved where.

The statistics are ``lookalike-measure``'s, the same as ``lookalike measure``, ``power`` and
``migrate`` compute: Wilson and Newcombe intervals for conversion, Welch's t for revenue per
customer, CUPED with a pre-period, the minimum detectable lift of statsmodels'
``NormalIndPower``.

>>> result = lookalike.measure(audience, "transactions.csv", start="2025-07-01",
...                            end="2026-01-01", pre_start="2025-01-01")
>>> result["groups"][-1]["conversion"]["absolute_interval"]
"""

from __future__ import annotations

import json
import os
from typing import Mapping, Optional

import pyarrow as pa

from . import _lookalike

__all__ = ["measure", "migration", "minimum_detectable_lift"]


def _column(table: pa.Table, name: str) -> list:
    if name not in table.column_names:
        raise _lookalike.InputError(f"no column {name!r} (columns: {', '.join(table.column_names)})")
    return table.column(name).to_pylist()


def measure(audience, transactions, *, start: str, end: Optional[str] = None,
            pre_start: Optional[str] = None, by: str = "tier", control_column: str = "control",
            level: float = 0.95, columns: Optional[Mapping[str, str]] = None,
            missing_customer: str = "fail", date_format: Optional[str] = None) -> dict:
    """The campaign's lift per group (``by``) and overall, treated against control customers,
    from the outcome period [``start``, ``end``) of the transaction log ``transactions`` (a path).

    ``audience`` is an Arrow table (pyarrow, polars, pandas) with ``customer_id``, the group
    column and a boolean control column, such as ``lookalike.expand`` returns; rows whose control
    flag is null (seeds) are not in the test. With ``pre_start``, revenue is also CUPED-adjusted
    by each customer's revenue in [``pre_start``, ``start``).
    """
    table = pa.table(audience) if not isinstance(audience, pa.Table) else audience
    ids, groups, controls = (_column(table, "customer_id"), _column(table, by),
                             _column(table, control_column))
    members = [(str(i), str(g), bool(c)) for i, g, c in zip(ids, groups, controls)
               if c is not None]
    if len(set(m[0] for m in members)) != len(members):
        raise _lookalike.InputError("the audience lists a customer more than once")
    text = _lookalike.measure_json(
        members, os.fspath(transactions), start=start, end=end, pre_start=pre_start,
        level=level, columns=dict(columns or {}), missing_customer=missing_customer,
        date_format=date_format)
    return json.loads(text)


def minimum_detectable_lift(treated: int, control: int, baseline: float, *,
                            alpha: float = 0.05, power: float = 0.8) -> Optional[float]:
    """The smallest relative lift of a conversion rate (0.25 = +25%) a test detects with
    ``power`` at two-sided level ``alpha``; None when no lift is detectable."""
    return _lookalike.minimum_detectable_lift_of(treated, control, baseline, alpha=alpha,
                                                 power=power)


def migration(before, after, *, by: str = "rfm_segment") -> dict:
    """The transition matrix between two runs' segments (tables with ``customer_id`` and
    ``by``): segments, counts[i][j], and the customers in one run only."""
    def pairs(run):
        table = pa.table(run) if not isinstance(run, pa.Table) else run
        return [(str(i), "(none)" if s in (None, "") else str(s))
                for i, s in zip(_column(table, "customer_id"), _column(table, by))]
    return json.loads(_lookalike.migration_json(pairs(before), pairs(after)))
