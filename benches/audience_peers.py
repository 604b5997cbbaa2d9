"""Lookalike scorers against scikit-learn's positive-unlabelled classifiers, on two generators
with two kinds of best customer and decoys between them (issue #19's benchmark).

    python3 benches/audience_peers.py LOOKALIKE WORKDIR [CUSTOMERS]

LOOKALIKE is the release binary (target/release/lookalike). Needs numpy, pyarrow and
scikit-learn. For each base:

  A. `lookalike generate --scenario two-kinds --random-seed 11` (best: best_frequent and
     best_big_ticket; decoys between them);
  B. `benches/second_generator.py` (independent code; best: best_regular and best_burst);

features come from `lookalike features` as of 2026-01-01. The best customers with features are
split at random (numpy seed 0): 20% are the seeds, the rest the hidden positives. Candidates
are every other customer. Every scorer ranks all candidates (`lookalike expand --size 100%`;
the peers score the same rows); per scorer: recall of the hidden positives in the top 5% and
10% of candidates, AUC of hidden positives against the other candidates, and seconds.

The peers are trained as lookalike's positive-unlabelled scorers are: the seeds (label 1)
against 5 random candidates per seed (label 0), on the same columns: the default 7 with
ln(1 + x) on the same 4, and all the numeric columns with ln(1 + x) on those that are
non-negative and skewed (skewness above 2, the same list given to lookalike). Logistic
regression on standardised columns (scikit-learn's defaults, max_iter 1000);
HistGradientBoostingClassifier with its defaults.
"""

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

DEFAULT = ["orders", "avg_order_value", "monetary_value", "days_since_last_purchase",
           "tenure_days", "orders_365d", "distinct_categories"]
DEFAULT_LOG1P = ["orders", "avg_order_value", "monetary_value", "orders_365d"]
SCORERS = ["auto", "boosted", "classifier", "knn", "centroids", "ensemble"]
BASES = {
    "A (lookalike generate --scenario two-kinds)": ["best_frequent", "best_big_ticket"],
    "B (benches/second_generator.py)": ["best_regular", "best_burst"],
}


def run(*args):
    subprocess.run([str(a) for a in args], check=True)


def make_bases(lookalike, work, customers):
    a, b = work / "a", work / "b"
    if not (a / "features.parquet").exists():
        run(lookalike, "generate", "--customers", customers, "--scenario", "two-kinds",
            "--random-seed", 11, "--out", a, "-q")
        run(lookalike, "features", "--transactions", a / "transactions.csv", "--events",
            a / "events.csv", "--customers", a / "customers.csv", "--as-of", "2026-01-01",
            "--out", a / "features.parquet", "-q")
    if not (b / "features.parquet").exists():
        here = Path(__file__).parent
        run(sys.executable, here / "second_generator.py", b, customers, 1)
        run(lookalike, "features", "--transactions", b / "transactions.csv", "--as-of",
            "2026-01-01", "--out", b / "features.parquet", "-q")
    return [a, b]


def auc(scores, positive):
    """Mann-Whitney: P(a positive outscores a negative), ties halved."""
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    i = 0
    while i < len(scores):
        j = i
        while j + 1 < len(scores) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    p = positive.sum()
    n = len(scores) - p
    return (ranks[positive].sum() - p * (p + 1) / 2) / (p * n)


def metrics(order_ids, candidates, hidden, scores=None):
    """Recall at 5% and 10% from a ranking of the candidates (best first), AUC from scores
    (or from the ranking)."""
    wanted = set(candidates)
    position = {cid: i for i, cid in enumerate(c for c in order_ids if c in wanted)}
    n = len(candidates)
    # A candidate the scorer did not rank (none should be missing) counts as ranked last.
    rank = np.array([position.get(c, n) for c in candidates])
    positive = np.array([c in hidden for c in candidates])
    recall = [float((rank[positive] < round(share * n)).mean()) for share in (0.05, 0.10)]
    return recall + [auc(-rank.astype(float) if scores is None else scores, positive)]


def skewed(table, columns):
    chosen = []
    for c in columns:
        x = table[c]
        if x.min() >= 0 and x.std() > 0:
            skew = ((x - x.mean()) ** 3).mean() / x.std() ** 3
            if skew > 2:
                chosen.append(c)
    return chosen


def peers(table, columns, log1p, seed_rows, candidate_rows):
    x = np.column_stack([np.log1p(table[c]) if c in log1p else table[c] for c in columns])
    rng = np.random.default_rng(0)
    unlabelled = rng.choice(candidate_rows, size=min(5 * len(seed_rows), len(candidate_rows)),
                            replace=False)
    train = np.concatenate([seed_rows, unlabelled])
    y = np.concatenate([np.ones(len(seed_rows)), np.zeros(len(unlabelled))])
    results = {}
    began = time.perf_counter()
    hgb = HistGradientBoostingClassifier(random_state=0).fit(x[train], y)
    results["scikit-learn HistGradientBoosting (PU)"] = (
        hgb.predict_proba(x[candidate_rows])[:, 1], time.perf_counter() - began)
    began = time.perf_counter()
    scaler = StandardScaler().fit(x)
    lr = LogisticRegression(max_iter=1000).fit(scaler.transform(x[train]), y)
    results["scikit-learn LogisticRegression (PU)"] = (
        lr.decision_function(scaler.transform(x[candidate_rows])), time.perf_counter() - began)
    return results


def main(lookalike, work, customers):
    work.mkdir(parents=True, exist_ok=True)
    print("| base | columns | scorer | recall 5% | recall 10% | AUC | seconds |")
    print("|---|---|---|---|---|---|---|")
    for (name, best), base in zip(BASES.items(), make_bases(lookalike, work, customers)):
        features = pq.read_table(base / "features.parquet")
        ids = features.column("customer_id").to_pylist()
        numeric = [f.name for f in features.schema
                   if f.name != "customer_id" and str(f.type) in ("double", "int64", "int32",
                                                                  "uint32", "uint64", "float")]
        table = {c: features.column(c).to_numpy(zero_copy_only=False).astype(float)
                 for c in numeric}
        complete = np.all([np.isfinite(table[c]) for c in numeric], axis=0)
        # Columns that vary: a constant column (consent recorded for every buyer) says nothing.
        numeric = [c for c in numeric if np.nanstd(table[c][complete]) > 0]
        persona = {}
        with open(base / "truth.csv") as f:
            next(f)
            for line in f:
                cid, p = line.split(",")[:2]
                persona[cid] = p
        positives = np.array([i for i, c in enumerate(ids) if persona.get(c) in best])
        rng = np.random.default_rng(0)
        seed_rows = np.sort(rng.choice(positives, size=len(positives) // 5, replace=False))
        seed_set = set(seed_rows.tolist())
        with open(base / "seeds.csv", "w") as f:
            f.write("customer_id\n" + "".join(f"{ids[i]}\n" for i in seed_rows))
        hidden = {ids[i] for i in positives if i not in seed_set}
        for label, columns in (("default 7", DEFAULT), (f"all {len(numeric)}", numeric)):
            # Rows every column is known for: what both sides can score.
            usable = complete if columns is numeric else np.all(
                [np.isfinite(table[c]) for c in columns], axis=0)
            candidate_rows = np.array([i for i in range(len(ids))
                                       if i not in seed_set and usable[i]])
            # Seeds missing a column are left out by lookalike too (and reported).
            usable_seeds = seed_rows[usable[seed_rows]]
            candidates = [ids[i] for i in candidate_rows]
            log1p = DEFAULT_LOG1P if columns is DEFAULT else skewed(table, columns)
            for scorer in SCORERS:
                out = base / f"audience_{scorer}.parquet"
                args = [lookalike, "expand", "--features", base / "features.parquet",
                        "--seeds", base / "seeds.csv", "--size", "100%", "--scorer", scorer,
                        "--out", out, "-q", "--min-seeds", 10]
                if columns is not DEFAULT:
                    args += ["--columns", ",".join(columns), "--log1p", ",".join(log1p)]
                began = time.perf_counter()
                run(*args)
                seconds = time.perf_counter() - began
                audience = pq.read_table(out)
                metadata = audience.schema.metadata or {}
                chosen = metadata.get(b"lookalike.scorer", b"").decode()
                ranked = audience.column("customer_id").to_pylist()
                r5, r10, a = metrics(ranked, candidates, hidden)
                shown = f"lookalike {scorer}" + (f" → {chosen}" if scorer == "auto" else "")
                print(f"| {name} | {label} | {shown} | {r5:.3f} | {r10:.3f} | {a:.3f} | "
                      f"{seconds:.1f} |", flush=True)
            for peer, (scores, seconds) in peers(table, columns, log1p, usable_seeds,
                                                 candidate_rows).items():
                order = [candidates[i] for i in np.argsort(-scores, kind="mergesort")]
                r5, r10, _ = metrics(order, candidates, hidden)
                positive = np.array([c in hidden for c in candidates])
                print(f"| {name} | {label} | {peer} | {r5:.3f} | {r10:.3f} | "
                      f"{auc(scores, positive):.3f} | {seconds:.1f} |", flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 100_000)
