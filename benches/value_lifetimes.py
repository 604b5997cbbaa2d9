"""The lifetimes side of benches/compare_value.sh: summary, BG/NBD fit, Gamma-Gamma fit and
12-month CLV of every customer, as a lifetimes user writes it, timed step by step.

    python3 benches/value_lifetimes.py TRANSACTIONS.csv AS_OF OUT.json

Refund lines (amount <= 0) are dropped first, as lookalike's BTYD summary does.
AS_OF is the first day after the calibration period (lookalike's --as-of); lifetimes' inclusive
`observation_period_end` is the day before, so T counts the same days on both sides. Writes the
timings and fitted parameters as JSON; the shell script prints them next to ours.
"""

import json
import sys
import time
import warnings

import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter
from lifetimes.utils import summary_data_from_transaction_data


def main(path: str, as_of: str, out: str) -> None:
    timings = {}
    began = time.perf_counter()
    log = pd.read_csv(path, usecols=["customer_id", "timestamp", "amount"], parse_dates=["timestamp"])
    # Our features count purchase lines only (refunds, amount <= 0, are features of their own);
    # lifetimes would count a refund day as a purchase day, so it gets the purchase lines.
    log = log[log["amount"] > 0]
    timings["read"] = time.perf_counter() - began

    step = time.perf_counter()
    end = pd.Timestamp(as_of) - pd.Timedelta(days=1)
    summary = summary_data_from_transaction_data(
        log, "customer_id", "timestamp", monetary_value_col="amount",
        observation_period_end=end, freq="D",
    )
    timings["summary"] = time.perf_counter() - step

    result = {"customers": int(len(summary)), "tool": "lifetimes"}
    step = time.perf_counter()
    purchases = BetaGeoFitter()
    try:
        purchases.fit(summary["frequency"], summary["recency"], summary["T"])
        params = purchases.params_
        result["bgnbd"] = {k: float(params[k]) for k in ["r", "alpha", "a", "b"]}
        result["bgnbd_log_likelihood"] = float(-purchases._negative_log_likelihood_ * len(summary))
    except Exception as error:  # lifetimes raises ConvergenceError on hard data
        result["bgnbd_error"] = repr(error)
    timings["fit_bgnbd"] = time.perf_counter() - step

    step = time.perf_counter()
    buyers = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    spend = GammaGammaFitter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            spend.fit(buyers["frequency"], buyers["monetary_value"])
        params = spend.params_
        result["gamma_gamma"] = {k: float(params[k]) for k in ["p", "q", "v"]}
    except Exception as error:
        result["gamma_gamma_error"] = repr(error)
    timings["fit_gamma_gamma"] = time.perf_counter() - step

    step = time.perf_counter()
    if "bgnbd" in result and "gamma_gamma" in result:
        clv = spend.customer_lifetime_value(
            purchases, summary["frequency"], summary["recency"], summary["T"],
            summary["monetary_value"], time=12, discount_rate=0.01, freq="D",
        )
        result["mean_clv"] = float(clv.mean())
    timings["clv12"] = time.perf_counter() - step
    timings["total"] = time.perf_counter() - began
    result["timings"] = timings
    with open(out, "w") as f:
        json.dump(result, f, indent=1)


if __name__ == "__main__":
    main(*sys.argv[1:4])
