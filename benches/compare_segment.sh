#!/usr/bin/env bash
# Segmenting 10M customers with 10 rules: lookalike vs pandas (qcut-based RFM), same input.
#
#   benches/compare_segment.sh [DIR] [REPEATS]
#
# Needs a release build and `pip install pandas pyarrow`. Makes DIR/features10m.parquet with
# benches/rfm_pandas.py if missing, then alternates the two tools and prints median wall time and
# peak memory. Both read the Parquet features and write one Parquet row per customer.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-/tmp/lookalike-rfm-bench}
repeats=${2:-3}
bin=target/release/lookalike
[ -x "$bin" ] || { echo "build first: cargo build --release" >&2; exit 2; }
mkdir -p "$dir"
[ -f "$dir/features10m.parquet" ] || python3 benches/rfm_pandas.py make "$dir/features10m.parquet" 10000000
: > "$dir/results.txt"
for _ in $(seq "$repeats"); do
  /usr/bin/time -f "lookalike %e %M" -a -o "$dir/results.txt" \
    "$bin" segment --features "$dir/features10m.parquet" --rules benches/rfm_rules.toml --out "$dir/ours.parquet" --quiet > /dev/null
  /usr/bin/time -f "pandas %e %M" -a -o "$dir/results.txt" \
    python3 benches/rfm_pandas.py score "$dir/features10m.parquet" "$dir/pandas.parquet" 2> /dev/null
done
python3 - "$dir/results.txt" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    label, seconds, kb = line.split()
    rows.setdefault(label, []).append((float(seconds), int(kb)))
for label, runs in rows.items():
    times = [t for t, _ in runs]
    print(f"{label:<10} median {statistics.median(times):6.2f} s  min {min(times):6.2f} s  peak {max(k for _, k in runs) / 1024:6.0f} MB")
ours = statistics.median(t for t, _ in rows["lookalike"])
theirs = statistics.median(t for t, _ in rows["pandas"])
print(f"lookalike is {theirs / ours:.1f}x faster than pandas")
PY
