"""The plain polars query issue #20 measures `lookalike features` against: 14 RFM columns per
customer from a transaction log, one lazy group_by on all cores, Parquet out.

    python3 benches/rfm_polars_query.py TRANSACTIONS.{csv,parquet} OUT.parquet [AS_OF]

Columns: lines, orders, spend, refunded, mean_line, max_line, units, first_seen, last_seen,
recency_days, tenure_days, purchase_days, categories, channels; over the lines before AS_OF
(default 2026-01-01). The timestamp format is given explicitly (no inference), as a tuned query
would. This is narrower than `lookalike features` (no same-day merge, windows, trend or shares):
the ratio against it is the ratio against the cheapest useful query, not an equal-work one (that
is benches/features_polars.py).
"""

import sys
import time
from datetime import date, datetime

import polars as pl


def rfm(source: str, out: str, as_of: date) -> None:
    if source.endswith(".parquet"):
        lines = pl.scan_parquet(source).with_columns(pl.col("timestamp").dt.replace_time_zone(None))
    else:
        lines = pl.scan_csv(
            source, schema_overrides={"customer_id": pl.String, "order_id": pl.String}
        ).with_columns(pl.col("timestamp").str.to_datetime("%Y-%m-%dT%H:%M:%S"))
    cutoff = datetime(as_of.year, as_of.month, as_of.day)
    ts = pl.col("timestamp")
    table = (
        lines.filter(ts < cutoff)
        .group_by("customer_id")
        .agg(
            lines=pl.len(),
            orders=pl.col("order_id").n_unique(),
            spend=pl.col("amount").sum(),
            refunded=pl.when(pl.col("amount") < 0).then(-pl.col("amount")).otherwise(0.0).sum(),
            mean_line=pl.col("amount").mean(),
            max_line=pl.col("amount").max(),
            units=pl.col("quantity").sum(),
            first_seen=ts.min(),
            last_seen=ts.max(),
            purchase_days=ts.dt.date().n_unique(),
            categories=pl.col("category").n_unique(),
            channels=pl.col("channel").n_unique(),
        )
        .with_columns(
            recency_days=(pl.lit(cutoff) - pl.col("last_seen")).dt.total_days(),
            tenure_days=(pl.lit(cutoff) - pl.col("first_seen")).dt.total_days(),
        )
    )
    table.sink_parquet(out)


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    as_of = date.fromisoformat(sys.argv[3]) if len(sys.argv) > 3 else date(2026, 1, 1)
    began = time.perf_counter()
    rfm(sys.argv[1], sys.argv[2], as_of)
    print(f"polars RFM query: {time.perf_counter() - began:.2f} s", file=sys.stderr)
