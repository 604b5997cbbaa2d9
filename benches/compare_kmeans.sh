#!/usr/bin/env bash
# k-means on 1M x 16 blobs, k = 64: lookalike vs scikit-learn, FAISS and linfa-clustering, in one run.
#
#   benches/compare_kmeans.sh [DIR] [REPEATS]
#
# Needs a release build and `pip install scikit-learn faiss-cpu pyarrow`. Makes DIR/blobs.parquet
# and DIR/start.csv with benches/kmeans_peers.py if missing, then runs, with the median of REPEATS:
#   1. 20 Lloyd iterations from start.csv (tol 0): ours (f32, f64; Lloyd and Hamerly), linfa-clustering;
#   2. end-to-end fits: ours (k-means‖ or k-means++, then Hamerly or Lloyd, tol 1e-4);
#   3. the peers (scikit-learn f32/f64 and FAISS: 20 iterations from start.csv, init alone, end-to-end).
# The initialisation alone is in the criterion bench: cargo bench -p lookalike-cluster --bench kmeans -- init
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-/tmp/lookalike-kmeans-bench}
repeats=${2:-3}
bin=target/release/lookalike
[ -x "$bin" ] || { echo "build first: cargo build --release" >&2; exit 2; }
mkdir -p "$dir"
[ -f "$dir/blobs.parquet" ] || python3 benches/kmeans_peers.py make "$dir"
columns=$(python3 -c 'print(",".join(f"f{j:02d}" for j in range(16)))')
"$bin" bench clustering --features "$dir/blobs.parquet" --columns "$columns" --scaling none --k 64 \
  --init-centroids "$dir/start.csv" --max-iter 20 --tol 0 --algo lloyd,hamerly,linfa --precision f32,f64 \
  --repeats "$repeats" --silhouette-sample 2000 --out "$dir/lloyd20" --quiet
"$bin" bench clustering --features "$dir/blobs.parquet" --columns "$columns" --scaling none --k 64 \
  --init kmeans-par,kmeans++ --algo hamerly,lloyd --precision f32,f64 \
  --repeats "$repeats" --silhouette-sample 2000 --out "$dir/fit" --quiet
OMP_NUM_THREADS=2 python3 benches/kmeans_peers.py run "$dir" "$repeats"
