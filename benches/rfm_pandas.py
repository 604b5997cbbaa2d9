"""RFM scoring and segmentation with pandas, for the comparison in BENCHMARKS.md.

    python3 benches/rfm_pandas.py make FEATURES.parquet N      # a synthetic feature table
    python3 benches/rfm_pandas.py score FEATURES.parquet OUT.parquet

`score` does what `lookalike segment --rules benches/rfm_rules.toml` does, the usual pandas way:
qcut of ranks into quintiles for R, F and M, the same R x FM segment grid, lifecycle stages, value
tiers and the ten rules of benches/rfm_rules.toml as boolean masks with priorities. Note that
qcut of `rank(method='first')` splits ties arbitrarily where lookalike gives equal values equal
scores, so the two do not agree customer by customer; the work done is the same.
"""

import sys
import time

import numpy as np
import pandas as pd

GRID = [
    ["Lost", "Hibernating", "At risk", "At risk", "Can't lose them"],
    ["Hibernating", "About to sleep", "Need attention", "At risk", "Can't lose them"],
    ["About to sleep", "Need attention", "Need attention", "Loyal", "Loyal"],
    ["Promising", "Potential loyalist", "Loyal", "Champions", "Champions"],
    ["New", "Potential loyalist", "Potential loyalist", "Champions", "Champions"],
]


def make(path: str, n: int) -> None:
    rng = np.random.default_rng(7)
    buyer = rng.random(n) < 0.8
    orders = np.where(buyer, rng.geometric(0.25, n), 0).astype(float)
    days = np.where(buyer, rng.integers(0, 1095, n), np.nan).astype(float)
    spend = np.where(buyer, np.round(orders * rng.gamma(2.0, 30.0, n), 2), 0.0)
    table = pd.DataFrame(
        {
            "customer_id": [f"C{i:09d}" for i in range(n)],
            "frequency": np.where(buyer, orders - 1, np.nan),
            "monetary_value": np.where(orders > 1, spend / np.maximum(orders, 1), np.where(buyer, 0.0, np.nan)),
            "days_since_last_purchase": days,
            "orders": orders,
            "total_spend": spend,
            "mean_gap_days": np.where(orders > 1, rng.integers(5, 300, n), np.nan).astype(float),
            "orders_30d": np.where(buyer & (days < 30), 1.0, 0.0),
            "views_30d": rng.poisson(0.8, n).astype(float),
            "abandoned_carts_30d": rng.poisson(0.1, n).astype(float),
            "days_since_last_event": np.where(rng.random(n) < 0.9, rng.integers(0, 400, n), np.nan).astype(float),
            "email_open_rate": np.where(rng.random(n) < 0.6, rng.random(n), np.nan),
            "marketing_consent": (rng.random(n) < 0.6).astype(float),
        }
    )
    table.to_parquet(path, index=False)


def score(source: str, out: str) -> None:
    df = pd.read_parquet(source)
    buyer = df["orders"] > 0
    b = df[buyer]
    r = pd.Series(np.nan, index=df.index)
    f = r.copy()
    m = r.copy()
    r[buyer] = pd.qcut((-b["days_since_last_purchase"]).rank(method="first"), 5, labels=False) + 1
    f[buyer] = pd.qcut(b["orders"].rank(method="first"), 5, labels=False) + 1
    m[buyer] = pd.qcut(b["total_spend"].rank(method="first"), 5, labels=False) + 1
    fm = np.ceil((f + m) / 2)
    grid = np.array(GRID, dtype=object)
    segment = pd.Series(None, index=df.index, dtype=object)
    segment[buyer] = grid[r[buyer].astype(int) - 1, fm[buyer].astype(int) - 1]
    days = df["days_since_last_purchase"]
    usual = np.maximum(np.where(df["frequency"] >= 1, df["mean_gap_days"], 90.0), 14.0)
    lifecycle = np.select(
        [~buyer, days > 4 * usual, days > 2 * usual, df["frequency"] + 1 >= 5, df["frequency"] >= 1],
        ["prospect", "lost", "lapsing", "loyal", "repeat_buyer"],
        default="first_time_buyer",
    )
    spend = df["total_spend"].where(buyer)
    top1, top5 = spend.quantile(0.99), spend.quantile(0.95)
    tier = np.select([~buyer, spend >= top1, spend >= top5], ["none", "vip_1", "vip_5"], default="standard")
    df = df.assign(r_score=r, f_score=f, m_score=m, rfm_segment=segment, lifecycle=lifecycle, value_tier=tier)
    rules = [
        ("vip_at_risk", df["value_tier"].isin(["vip_1", "vip_5"]) & df["lifecycle"].isin(["lapsing", "lost"])),
        ("cart_rescue", (df["abandoned_carts_30d"] >= 1) & (df["orders_30d"] == 0)),
        ("win_back", (days > 180) & (df["orders"] >= 3)),
        ("second_purchase", (df["lifecycle"] == "first_time_buyer") & (days <= 60)),
        ("champions_newsletter", (df["rfm_segment"] == "Champions") & (df["email_open_rate"] >= 0.3)),
        ("browsers", (df["orders"] == 0) & (df["views_30d"] >= 1)),
        ("big_baskets", (df["monetary_value"] > 150) & (df["frequency"] >= 2)),
        ("dormant_email", (df["email_open_rate"] < 0.05) & (df["days_since_last_event"] > 90)),
        ("high_recent", (df["r_score"] >= 4) & (df["m_score"] >= 4)),
        ("low_value", ~(df["m_score"] >= 2) | (df["total_spend"] < 20)),
    ]
    primary = pd.Series(None, index=df.index, dtype=object)
    for name, mask in reversed(rules):  # highest priority written last
        primary[mask] = name
    names = np.array([name for name, _ in rules], dtype=object)
    matrix = np.column_stack([mask.to_numpy() for _, mask in rules])
    segments = [";".join(names[row]) for row in matrix]
    cell = (r.astype("Int64").astype(str) + f.astype("Int64").astype(str) + m.astype("Int64").astype(str)).where(buyer)
    result = pd.DataFrame(
        {
            "customer_id": df["customer_id"],
            "r_score": r, "f_score": f, "m_score": m, "rfm_cell": cell,
            "rfm_segment": df["rfm_segment"], "lifecycle": lifecycle, "value_tier": tier,
            "primary_segment": primary, "segments": segments,
        }
    )
    result.to_parquet(out, index=False)


if __name__ == "__main__":
    began = time.perf_counter()
    if sys.argv[1] == "make":
        make(sys.argv[2], int(sys.argv[3]))
    else:
        score(sys.argv[2], sys.argv[3])
    print(f"pandas {pd.__version__}: {sys.argv[1]} in {time.perf_counter() - began:.2f}s", file=sys.stderr)
