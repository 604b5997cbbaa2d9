"""What calling through the Python package costs over the same Rust calls, and KMeans against
scikit-learn (issue #17), in one run with the tools alternated.

    python benches/python_calls.py DIR [ROUNDS]

Needs a release build of the example and of the package:
    cargo build --release -p lookalike-pipeline --example time_calls
    (cd python && maturin develop --release)       # into the active venv
and `pip install scikit-learn pyarrow`. Makes, if missing: DIR/logs (`lookalike generate
--customers 1000000 --format parquet`, time-ordered logs), DIR/features.parquet (their features)
and DIR/blobs.parquet (1M x 16, k = 64; benches/kmeans_peers.py make). Then, ROUNDS times
(default 3), alternating: the Rust example (features from the logs, score with models/sample,
k-means k = 64 with k-means++ and Lloyd to tol 1e-4, seed 0), then the same three calls through
`lookalike`. Last, KMeans against scikit-learn on the blobs over seeds 0-4 (one restart each,
k-means++, tol 1e-4), medians of time and inertia.
"""

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

import lookalike

ROOT = Path(__file__).resolve().parents[1]
CLI = ROOT / "target" / "release" / "lookalike"
EXAMPLE = ROOT / "target" / "release" / "examples" / "time_calls"


def prepare(directory: Path) -> None:
    logs = directory / "logs"
    if not (logs / "transactions.parquet").exists():
        subprocess.run([str(CLI), "--quiet", "generate", "--customers", "1000000",
                        "--format", "parquet", "--out", str(logs)], check=True)
    if not (directory / "features.parquet").exists():
        subprocess.run([str(CLI), "--quiet", "features", "--transactions",
                        str(logs / "transactions.parquet"), "--events", str(logs / "events.parquet"),
                        "--customers", str(logs / "customers.parquet"),
                        "--out", str(directory / "features.parquet")], check=True)
    if not (directory / "blobs.parquet").exists():
        subprocess.run([sys.executable, str(ROOT / "benches" / "kmeans_peers.py"), "make",
                        str(directory)], check=True)


def python_round(directory: Path, model, blobs: np.ndarray) -> dict:
    logs = directory / "logs"
    began = time.perf_counter()
    features = lookalike.features(logs / "transactions.parquet", logs / "events.parquet",
                                  logs / "customers.parquet")
    features_seconds = time.perf_counter() - began
    table = pq.read_table(directory / "features.parquet")
    began = time.perf_counter()
    scores = model.score(table)
    score_seconds = time.perf_counter() - began
    began = time.perf_counter()
    fitted = lookalike.KMeans(n_clusters=64, init="k-means++", algorithm="lloyd", n_init=1,
                              tol=1e-4, random_state=0).fit(blobs)
    kmeans_seconds = time.perf_counter() - began
    return {"features": features_seconds, "features_rows": features.num_rows,
            "score": score_seconds, "score_rows": scores.num_rows,
            "kmeans": kmeans_seconds, "kmeans_inertia": fitted.inertia_}


def main() -> None:
    directory = Path(sys.argv[1])
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    directory.mkdir(parents=True, exist_ok=True)
    prepare(directory)
    model = lookalike.Model.load(ROOT / "models" / "sample")
    table = pq.read_table(directory / "blobs.parquet")
    blobs = np.column_stack([table.column(f"f{j:02d}").to_numpy() for j in range(16)])
    rust, python = [], []
    for _ in range(rounds):
        out = subprocess.run([str(EXAMPLE), str(directory / "logs"), str(directory / "features.parquet"),
                              str(ROOT / "models" / "sample"), str(directory / "blobs.parquet")],
                             check=True, capture_output=True, text=True).stdout
        rust.append(json.loads(out))
        python.append(python_round(directory, model, blobs))
        print("rust", rust[-1], "\npython", python[-1], flush=True)
    print("\ncall       rust median   python median   overhead")
    for call in ("features", "score", "kmeans"):
        r = statistics.median(x[call] for x in rust)
        p = statistics.median(x[call] for x in python)
        print(f"{call:<10} {r:>10.3f} s {p:>13.3f} s {100 * (p / r - 1):>+9.1f}%")
    assert all(x["kmeans_inertia"] == rust[0]["kmeans_inertia"] for x in rust + python), \
        "the same k-means must give the same inertia through Python"

    from sklearn.cluster import KMeans
    ours, theirs = [], []
    for seed in range(5):
        began = time.perf_counter()
        a = lookalike.KMeans(n_clusters=64, n_init=1, tol=1e-4, random_state=seed).fit(blobs)
        ours.append((time.perf_counter() - began, a.inertia_))
        began = time.perf_counter()
        b = KMeans(n_clusters=64, n_init=1, tol=1e-4, random_state=seed).fit(blobs)
        theirs.append((time.perf_counter() - began, b.inertia_))
        print(f"seed {seed}: lookalike {ours[-1][0]:.2f} s {ours[-1][1]:.6e}, "
              f"scikit-learn {theirs[-1][0]:.2f} s {theirs[-1][1]:.6e}", flush=True)
    t_ours = statistics.median(t for t, _ in ours)
    t_theirs = statistics.median(t for t, _ in theirs)
    i_ours = statistics.median(i for _, i in ours)
    i_theirs = statistics.median(i for _, i in theirs)
    print(f"\nKMeans 1M x 16, k = 64, seeds 0-4: lookalike {t_ours:.2f} s (inertia {i_ours:.6e}), "
          f"scikit-learn {t_theirs:.2f} s (inertia {i_theirs:.6e}): {t_theirs / t_ours:.2f}x")


if __name__ == "__main__":
    main()
