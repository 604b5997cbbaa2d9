"""The core features of `lookalike features` (no events) computed with polars, for the speed
comparison in BENCHMARKS.md and as an independent cross-check of the values.

    python3 benches/features_polars.py TRANSACTIONS.{csv,parquet} OUT.parquet [AS_OF] [--weeks]

Lazy scan -> group_by on all cores, same definitions as the Rust implementation
(crates/features): same-day purchases merged, frequency = repeat purchase days, windows counted
back from the last day before as-of, category/channel shares over the 8 largest levels.
"""

import sys
import time
from datetime import date

import polars as pl

TOP = 8


def features(source: str, out: str, as_of: date, unit_days: float) -> None:
    if source.endswith(".parquet"):
        lines = pl.scan_parquet(source).with_columns(pl.col("timestamp").dt.replace_time_zone(None))
    else:
        lines = pl.scan_csv(source, schema_overrides={"customer_id": pl.String, "order_id": pl.String}).with_columns(
            pl.col("timestamp").str.to_datetime("%Y-%m-%dT%H:%M:%S")
        )
    as_of_day = (as_of - date(1970, 1, 1)).days
    last = as_of_day - 1
    lines = (
        lines.with_columns(day=pl.col("timestamp").dt.date().cast(pl.Int32))
        .filter(pl.col("day") < as_of_day)
        .with_columns(
            paid=pl.when(pl.col("amount") >= 0).then(pl.col("amount")).otherwise(0.0),
            refunded=pl.when(pl.col("amount") < 0).then(-pl.col("amount")).otherwise(0.0),
            is_purchase=pl.col("amount") >= 0,
        )
    )
    orders = lines.group_by("customer_id", "day", "order_id").agg(
        pl.col("paid").sum(),
        pl.col("refunded").sum(),
        pl.col("is_purchase").any(),
        pl.col("channel").first(),
    )
    age = last - pl.col("day")
    per_order = orders.group_by("customer_id").agg(
        orders=pl.col("is_purchase").sum(),
        paid=pl.col("paid").sum(),
        refunded=pl.col("refunded").sum(),
        **{f"orders_{w}d": (pl.col("is_purchase") & (age < w)).sum() for w in (30, 90, 365)},
        **{f"spend_{w}d": ((pl.col("paid") - pl.col("refunded")) * (age < w)).sum() for w in (30, 90, 365)},
        recent90=(pl.col("paid") * (age < 90)).sum(),
        previous90=(pl.col("paid") * ((age >= 90) & (age < 180))).sum(),
    )
    days = (
        orders.filter(pl.col("is_purchase"))
        .group_by("customer_id", "day")
        .agg(value=pl.col("paid").sum())
        .sort("customer_id", "day")
        .group_by("customer_id", maintain_order=True)
        .agg(
            n=pl.len(),
            first=pl.col("day").first(),
            last=pl.col("day").last(),
            first_value=pl.col("value").first(),
            total_value=pl.col("value").sum(),
            mean_gap=pl.col("day").diff().mean(),
            std_gap=pl.col("day").diff().std(ddof=0),
        )
    )
    purchases = lines.filter(pl.col("is_purchase"))
    by_category = purchases.filter(pl.col("category").is_not_null()).group_by("customer_id", "category").agg(
        pl.col("paid").sum()
    )
    top_categories = (
        by_category.group_by("category").agg(pl.col("paid").sum()).sort(["paid", "category"], descending=[True, False]).head(TOP)
    ).collect()["category"].to_list()
    category = by_category.group_by("customer_id").agg(
        distinct_categories=(pl.col("paid") > 0).sum(),
        top_category_share=pl.col("paid").max() / pl.col("paid").sum(),
        **{f"category_share_{c}": (pl.col("paid") * (pl.col("category") == c)).sum() / pl.col("paid").sum() for c in top_categories},
    )
    with_channel = orders.filter(pl.col("is_purchase") & pl.col("channel").is_not_null())
    top_channels = (
        with_channel.group_by("channel").agg(n=pl.len()).sort(["n", "channel"], descending=[True, False]).head(TOP)
    ).collect()["channel"].to_list()
    channel = with_channel.group_by("customer_id").agg(
        **{f"channel_share_{c}": (pl.col("channel") == c).mean() for c in top_channels}
    )
    per_line = lines.group_by("customer_id").agg(
        refund_count=(pl.col("amount") < 0).sum(),
        units=(pl.col("quantity") * pl.col("is_purchase")).sum(),
    )
    frequency = pl.col("n") - 1
    result = (
        per_order.join(days, on="customer_id", how="left")
        .join(category, on="customer_id", how="left")
        .join(channel, on="customer_id", how="left")
        .join(per_line, on="customer_id", how="left")
        .select(
            "customer_id",
            frequency=frequency,
            recency=(pl.col("last") - pl.col("first")) / unit_days,
            T=(last - pl.col("first")) / unit_days,
            monetary_value=pl.when(frequency > 0).then((pl.col("total_value") - pl.col("first_value")) / frequency).otherwise(0.0),
            days_since_last_purchase=last - pl.col("last"),
            orders="orders",
            total_spend=pl.col("paid") - pl.col("refunded"),
            avg_order_value=pl.col("paid") / pl.col("orders"),
            tenure_days=last - pl.col("first"),
            mean_gap_days="mean_gap",
            std_gap_days=pl.when(pl.col("n") >= 2).then(pl.col("std_gap")),
            **{f"orders_{w}d": f"orders_{w}d" for w in (30, 90, 365)},
            **{f"spend_{w}d": f"spend_{w}d" for w in (30, 90, 365)},
            spend_trend_90d=pl.when(pl.col("recent90") + pl.col("previous90") == 0)
            .then(0.0)
            .otherwise((pl.col("recent90") - pl.col("previous90")) / (pl.col("recent90") + pl.col("previous90"))),
            refund_count="refund_count",
            refund_share=pl.when(pl.col("paid") > 0).then(pl.col("refunded") / pl.col("paid")),
            distinct_categories=pl.col("distinct_categories").fill_null(0),
            top_category_share="top_category_share",
            **{f"category_share_{c}": f"category_share_{c}" for c in top_categories},
            **{f"channel_share_{c}": f"channel_share_{c}" for c in top_channels},
            units="units",
        )
    )
    result.sink_parquet(out)


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    as_of = date.fromisoformat(args[2]) if len(args) > 2 else date(2026, 1, 1)
    began = time.perf_counter()
    features(args[0], args[1], as_of, 7.0 if "--weeks" in sys.argv or "--days" not in sys.argv else 1.0)
    print(f"polars {pl.__version__}: {args[0]} -> {args[1]} in {time.perf_counter() - began:.2f}s", file=sys.stderr)
