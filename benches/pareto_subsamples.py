"""lifetimes' Pareto/NBD fit on subsamples of the CDNOW sample: the reference that
`crates/value/tests/integration/cdnow.rs` holds our fits to (none below lifetimes'
log-likelihood, none slower than 2 s).

Usage (lifetimes 0.11.3 in the Python that runs it):

    lookalike features --transactions data/cdnow/cdnow_transactions.csv \\
        --column timestamp=date --column amount=dollar_value --as-of 1997-10-01 \\
        --time-unit weeks --out /tmp/cdnow_summary.csv
    python benches/pareto_subsamples.py /tmp/cdnow_summary.csv > data/cdnow/pareto_subsamples.csv

Subsample (size, seed): the `size` customers with the smallest key(sample_id, seed), a
32-bit hash (below) that the Rust test computes too.
"""

import csv
import sys
import time

import numpy as np
from lifetimes import ParetoNBDFitter

SIZES = (50, 200, 500, 2000)
SEEDS = range(10)


def key(customer, seed):
    h = (customer * 2654435761 + seed * 2246822519) % 2**32
    h ^= h >> 15
    h = (h * 2246822519) % 2**32
    return h ^ (h >> 13)


def subsample(ids, size, seed):
    keys = [(key(int(i), seed), n) for n, i in enumerate(ids)]
    keys.sort()
    return sorted(n for _, n in keys[:size])


def main(path):
    with open(path) as f:
        rows = list(csv.DictReader(f))
    ids = [r["customer_id"] for r in rows]
    x = np.array([float(r["frequency"]) for r in rows])
    t_x = np.array([float(r["recency"]) for r in rows])
    t = np.array([float(r["T"]) for r in rows])
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["size", "seed", "log_likelihood", "seconds", "r", "alpha", "s", "beta"])
    for size in SIZES:
        for seed in SEEDS:
            rows_in = subsample(ids, size, seed)
            fitter = ParetoNBDFitter()
            began = time.perf_counter()
            fitter.fit(x[rows_in], t_x[rows_in], t[rows_in])
            seconds = time.perf_counter() - began
            p = fitter.params_
            # lifetimes fits on rescaled times; its optimum, in the data's own times:
            params = (p["r"], p["alpha"], p["s"], p["beta"])
            ll = ParetoNBDFitter._conditional_log_likelihood(
                params, x[rows_in], t_x[rows_in], t[rows_in]).sum()
            out.writerow([size, seed, f"{ll:.6f}", f"{seconds:.3f}", *params])
            sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1])
