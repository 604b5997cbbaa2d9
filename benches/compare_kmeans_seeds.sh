#!/usr/bin/env bash
# End-to-end k-means fits over several seeds: lookalike vs scikit-learn and FAISS, f32, in one run.
#
#   benches/compare_kmeans_seeds.sh [DIR] [SEEDS]
#
# One seed's inertia says little: on the 1M x 16 blobs of benches/compare_kmeans.sh (k = 64),
# scikit-learn's own f32 and f64 fits with seed 0 differ by 6.5%. This runs SEEDS fits of each
# (seeds 0..SEEDS-1, one fit each, 2 threads) and prints the median time and median inertia:
#   lookalike: k-means++ or k-means‖, then Lloyd to tol 1e-4 (bench clustering --seed S), and
#              k-means‖ then at most 25 Lloyd iterations (FAISS's budget);
#   scikit-learn: KMeans(k, n_init=1, random_state=S) (greedy k-means++, Lloyd/Elkan "auto");
#   FAISS: faiss.Kmeans(d, k, niter=25, seed=S) (random init, its defaults).
# Needs a release build and `pip install scikit-learn faiss-cpu pyarrow`.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-/tmp/lookalike-kmeans-bench}
seeds=${2:-5}
bin=target/release/lookalike
[ -x "$bin" ] || { echo "build first: cargo build --release" >&2; exit 2; }
mkdir -p "$dir"
[ -f "$dir/blobs.parquet" ] || python3 benches/kmeans_peers.py make "$dir"
columns=$(python3 -c 'print(",".join(f"f{j:02d}" for j in range(16)))')
for seed in $(seq 0 $((seeds - 1))); do
  "$bin" bench clustering --features "$dir/blobs.parquet" --columns "$columns" --scaling none --k 64 \
    --init kmeans++,kmeans-par --algo lloyd --precision f32 --repeats 1 --seed "$seed" \
    --silhouette-sample 2000 --out "$dir/seed$seed" --quiet > /dev/null
  # FAISS's budget: at most 25 iterations (it runs exactly 25, without a convergence test).
  "$bin" bench clustering --features "$dir/blobs.parquet" --columns "$columns" --scaling none --k 64 \
    --init kmeans-par --algo lloyd --precision f32 --repeats 1 --seed "$seed" --max-iter 25 \
    --silhouette-sample 2000 --out "$dir/seed$seed-25" --quiet > /dev/null
done
OMP_NUM_THREADS=2 python3 benches/kmeans_peers.py seeds "$dir" "$seeds"
python3 - "$dir" "$seeds" <<'PY'
import csv, json, statistics, sys
d, seeds = sys.argv[1], int(sys.argv[2])
runs = {}
for seed in range(seeds):
    for row in csv.DictReader(open(f"{d}/seed{seed}/bench.csv")):
        runs.setdefault(f"lookalike {row['init']} + lloyd", []).append(
            (float(row["median_seconds"]), float(row["inertia"])))
    for row in csv.DictReader(open(f"{d}/seed{seed}-25/bench.csv")):
        runs.setdefault("lookalike kmeans-par + lloyd<=25", []).append(
            (float(row["median_seconds"]), float(row["inertia"])))
for row in json.load(open(f"{d}/peers_seeds.json")):
    runs.setdefault(row["peer"], []).append((row["seconds"], row["inertia"]))
print(f"{'f32, 1M x 16, k = 64':<28} {'median s':>9} {'median inertia':>15} {'best':>12} {'worst':>12}")
for name, values in runs.items():
    times, inertias = [v[0] for v in values], [v[1] for v in values]
    print(f"{name:<28} {statistics.median(times):9.3f} {statistics.median(inertias):15.6e} "
          f"{min(inertias):12.5e} {max(inertias):12.5e}")
PY
