#!/usr/bin/env bash
# Feature extraction, lookalike vs polars, on the same generated 1M-customer log (CSV and Parquet).
#
#   benches/compare_features.sh [DIR] [REPEATS] [ORDER]
#
# Needs a release build (cargo build --release) and `pip install polars`. Generates
# DIR/{csv,parquet}/transactions.* with `lookalike generate --customers 1000000 --seed 7 --order ORDER`
# (ORDER: customer, the default, or time: the layout of a real appended log) if they are missing,
# then alternates three runs REPEATS times per format — lookalike features, polars computing the
# same columns (benches/features_polars.py) and polars' plain 14-column RFM query
# (benches/rfm_polars_query.py) — and prints the median wall time and peak memory of each.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-/tmp/lookalike-bench}
repeats=${2:-3}
order=${3:-customer}
python=${PYTHON:-python3}
bin=target/release/lookalike
[ -x "$bin" ] || { echo "build first: cargo build --release" >&2; exit 2; }
mkdir -p "$dir"
for format in csv parquet; do
  if [ ! -f "$dir/$format/transactions.$format" ]; then
    /usr/bin/time -f "generate $format: %e s, peak %M KB" \
      "$bin" generate --customers 1000000 --seed 7 --order "$order" --format "$format" --out "$dir/$format"
  fi
done
measure() { # label, command...
  local label=$1; shift
  /usr/bin/time -f "%e %M" -o "$dir/time.txt" "$@" > /dev/null 2>&1
  echo "$label $(cat "$dir/time.txt")" >> "$dir/results.txt"
}
: > "$dir/results.txt"
for format in csv parquet; do
  input="$dir/$format/transactions.$format"
  for _ in $(seq "$repeats"); do
    measure "lookalike-$format" "$bin" features --transactions "$input" --as-of 2026-01-01 --out "$dir/ours.parquet"
    measure "polars-$format" "$python" benches/features_polars.py "$input" "$dir/polars.parquet" 2026-01-01
    measure "rfm-query-$format" "$python" benches/rfm_polars_query.py "$input" "$dir/rfm.parquet" 2026-01-01
  done
done
python3 - "$dir/results.txt" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    label, seconds, kb = line.split()
    rows.setdefault(label, []).append((float(seconds), int(kb)))
print(f"{'run':<18} {'median s':>9} {'min s':>7} {'peak MB':>8}")
for label, runs in rows.items():
    times = [t for t, _ in runs]
    print(f"{label:<18} {statistics.median(times):>9.2f} {min(times):>7.2f} {max(k for _, k in runs) / 1024:>8.0f}")
for fmt in ("csv", "parquet"):
    ours = statistics.median(t for t, _ in rows[f"lookalike-{fmt}"])
    theirs = statistics.median(t for t, _ in rows[f"polars-{fmt}"])
    query = statistics.median(t for t, _ in rows[f"rfm-query-{fmt}"])
    print(f"{fmt}: lookalike is {theirs / ours:.2f}x faster than polars (same columns), {query / ours:.2f}x faster than the RFM query")
PY
