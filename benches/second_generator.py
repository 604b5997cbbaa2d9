"""A second customer-base generator, independent of `lookalike generate` (its own processes, its
own code, numpy only), for the audience tests and benchmark: a scorer tuned to one generator's
quirks shows it here.

    python3 benches/second_generator.py DIR [CUSTOMERS] [SEED]

Writes DIR/transactions.csv (customer_id, timestamp, order_id, amount, quantity, category,
channel; in time order, as a shop's export is) and DIR/truth.csv (customer_id, persona,
future_spend). Observation 2024-01-01 to 2026-01-01 (the as-of date); future_spend covers the
next 182 days.

Purchases are not Poisson here. Personas:

- `best_regular` (7%): a fixed rhythm of one order every 7–21 days with a day of jitter,
  small to middling baskets (log-normal, median 25), groceries and household, to the end.
- `best_burst` (6%): a few bursts a year (3–8 orders within two weeks), big baskets (median
  180), electronics and sports, web.
- `decoy` (12%): irregular buyers (gaps log-normal, median 35 days) with medium baskets
  (median 60, wide): between the two kinds of best customer on frequency and basket.
- `near_regular` (8%): the regulars' rhythm and tastes with small baskets (median 10), and
  they may stop; `near_burst` (6%): one or two bursts of big baskets, then nothing.
- `one_off` (22%): a single order; `lapsed` (19%): regular for a while, then gone;
  `seasonal` (8%): orders in November and December only; `occasional` (12%): a few orders
  scattered over the window.
"""

import csv
import sys
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

START = datetime(2024, 1, 1)
END = datetime(2026, 1, 1)
FUTURE_DAYS = 182
WINDOW = (END - START).days
HORIZON = WINDOW + FUTURE_DAYS
CATEGORIES = ["groceries", "household", "electronics", "sports", "clothing", "garden"]
CHANNELS = ["web", "app", "store"]

PERSONAS = [
    ("best_regular", 0.07),
    ("best_burst", 0.06),
    ("decoy", 0.12),
    ("near_regular", 0.08),
    ("near_burst", 0.06),
    ("one_off", 0.22),
    ("lapsed", 0.19),
    ("seasonal", 0.08),
    ("occasional", 0.12),
]


def regular_days(rng, start, period, end):
    days, t = [], start
    while t < end:
        days.append(t + rng.normal(0.0, 1.0))
        t += period
    return days


def burst_days(rng, start, end):
    days, t = [], start
    while t < end:
        first = t + rng.uniform(0, 30)
        days.extend(first + np.sort(rng.uniform(0, 14, size=rng.integers(3, 9))))
        t += rng.exponential(365 / rng.uniform(1.5, 3.0))
    return days


def gap_days(rng, start, end, median_gap, sigma):
    days, t = [], start
    while t < end:
        days.append(t)
        t += rng.lognormal(np.log(median_gap), sigma)
    return days


def customer(rng, persona):
    """(purchase days since START, basket median, basket sigma, category weights, channel
    weights) of one customer."""
    birth = rng.uniform(0, WINDOW * 0.7)
    if persona == "best_regular":
        days = regular_days(rng, birth, rng.uniform(7.0, 21.0), HORIZON)
        return days, 25.0, 0.5, [5, 4, 0.3, 0.5, 1, 0.5], [1, 3, 2]
    if persona == "best_burst":
        return burst_days(rng, birth, HORIZON), 180.0, 0.6, [0.5, 0.3, 5, 3, 1, 1], [5, 1, 1]
    if persona == "decoy":
        return gap_days(rng, birth, HORIZON, 35.0, 0.8), 60.0, 0.8, [2, 2, 2, 2, 2, 1], [2, 2, 2]
    if persona == "near_regular":
        # The rhythm of the regulars with small baskets, and it may stop.
        stop = birth + rng.exponential(400)
        days = regular_days(rng, birth, rng.uniform(7.0, 21.0), min(stop, HORIZON))
        return days, 10.0, 0.5, [5, 4, 0.3, 0.5, 1, 0.5], [1, 3, 2]
    if persona == "near_burst":
        # One or two bursts of big baskets, then nothing.
        days = []
        for _ in range(rng.integers(1, 3)):
            first = rng.uniform(birth, WINDOW)
            days.extend(first + np.sort(rng.uniform(0, 14, size=rng.integers(2, 5))))
        return days, 140.0, 0.6, [0.5, 0.3, 5, 3, 1, 1], [5, 1, 1]
    if persona == "one_off":
        return [rng.uniform(0, WINDOW)], 45.0, 0.7, [1, 1, 1, 1, 2, 1], [3, 1, 2]
    if persona == "lapsed":
        stop = birth + rng.exponential(200)
        return gap_days(rng, birth, min(stop, HORIZON), 30.0, 0.6), 40.0, 0.6, [2, 2, 1, 1, 2, 1], [2, 2, 2]
    if persona == "seasonal":
        days = []
        for year in (2024, 2025):
            base = (datetime(year, 11, 1) - START).days
            days.extend(base + rng.uniform(0, 60, size=rng.integers(1, 4)))
        return days, 90.0, 0.5, [0.5, 1, 2, 1, 2, 0.5], [3, 1, 2]
    return list(rng.uniform(0, HORIZON, size=rng.integers(2, 6))), 50.0, 0.6, [1, 1, 1, 1, 1, 1], [2, 2, 2]


def main(out, customers, seed):
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    names = [p for p, _ in PERSONAS]
    shares = np.array([s for _, s in PERSONAS])
    personas = rng.choice(len(names), size=customers, p=shares / shares.sum())
    lines = []
    truth = []
    for c in range(customers):
        persona = names[personas[c]]
        cid = f"K{c:07d}"
        days, median, sigma, categories, channels = customer(rng, persona)
        categories = np.array(categories, float) * rng.gamma(2.0, 0.5, size=len(CATEGORIES))
        channels = np.array(channels, float) * rng.gamma(2.0, 0.5, size=len(CHANNELS))
        future = 0.0
        order = 0
        for day in sorted(d for d in days if 0 <= d < HORIZON):
            amount = round(float(rng.lognormal(np.log(median), sigma)), 2)
            if day >= WINDOW:
                future += amount
                continue
            order += 1
            when = START + timedelta(days=float(day))
            lines.append((
                when.strftime("%Y-%m-%dT%H:%M:%S"), cid, f"{cid}-{order}", f"{amount:.2f}",
                int(rng.integers(1, 4)),
                CATEGORIES[rng.choice(len(CATEGORIES), p=categories / categories.sum())],
                CHANNELS[rng.choice(len(CHANNELS), p=channels / channels.sum())],
            ))
        truth.append((cid, persona, f"{future:.2f}"))
    lines.sort()
    with open(out / "transactions.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["customer_id", "timestamp", "order_id", "amount", "quantity", "category",
                    "channel"])
        for when, cid, order, amount, quantity, category, channel in lines:
            w.writerow([cid, when, order, amount, quantity, category, channel])
    with open(out / "truth.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["customer_id", "persona", "future_spend"])
        w.writerows(truth)
    print(f"wrote {customers} customers, {len(lines)} transaction lines to {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 100_000,
         int(sys.argv[3]) if len(sys.argv) > 3 else 1)
