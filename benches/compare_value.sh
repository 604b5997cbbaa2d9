#!/usr/bin/env bash
# Value models end to end on a 1M-customer log: lookalike vs lifetimes, in one run.
#
#   benches/compare_value.sh [DIR] [REPEATS]
#
# Needs a release build and `pip install lifetimes pandas`. Generates DIR/csv (1M customers, about
# 10.9M transaction lines, seed 7) if missing, then times REPEATS runs of each side:
#   lookalike, one pass: value fit --transactions (BTYD summary of the log, BG/NBD + Gamma-Gamma)
#              --predictions (12-month CLV at 1% of every customer)
#   lookalike, three steps: features (all columns, days) -> value fit -> value predict
#   lifetimes: read_csv -> summary_data_from_transaction_data -> BetaGeoFitter -> GammaGammaFitter
#              -> customer_lifetime_value (12 months, 1%), benches/value_lifetimes.py
# and prints both sides' parameters for the 3-significant-digit agreement check.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-/tmp/lookalike-value-bench}
repeats=${2:-1}
bin=target/release/lookalike
[ -x "$bin" ] || { echo "build first: cargo build --release" >&2; exit 2; }
[ -f "$dir/csv/transactions.csv" ] || "$bin" generate --customers 1000000 --seed 7 --out "$dir/csv" --quiet
log=$dir/csv/transactions.csv
for i in $(seq "$repeats"); do
  /usr/bin/time -f "lookalike one pass %e s, peak %M KB" \
    $bin value fit --transactions $log --as-of 2026-01-01 --time-unit days --out $dir/model1 \
      --predictions $dir/predictions1.parquet --horizon 12 --unit months --discount 0.01 \
      --month lifetimes --quiet
  /usr/bin/time -f "lookalike three steps %e s, peak %M KB" bash -c "
    set -e
    start=\$(date +%s.%N)
    $bin features --transactions $log --as-of 2026-01-01 --time-unit days --out $dir/features.parquet --quiet
    t1=\$(date +%s.%N)
    $bin value fit --features $dir/features.parquet --out $dir/model --quiet
    t2=\$(date +%s.%N)
    $bin value predict --model $dir/model --features $dir/features.parquet --horizon 12 --unit months \
      --discount 0.01 --month lifetimes --out $dir/predictions.parquet --quiet
    t3=\$(date +%s.%N)
    python3 -c \"print(f'lookalike: features {\$t1-\$start:.2f} s, fit {\$t2-\$t1:.2f} s, predict {\$t3-\$t2:.2f} s')\"
  "
  /usr/bin/time -f "lifetimes total %e s, peak %M KB" python3 benches/value_lifetimes.py "$log" 2026-01-01 "$dir/lifetimes.json"
  python3 - "$dir" <<'PY'
import json, sys
d = sys.argv[1]
theirs = json.load(open(f"{d}/lifetimes.json"))
ours = json.load(open(f"{d}/model1/value_model.json"))
three = json.load(open(f"{d}/model/value_model.json"))
for part in ["purchases", "spend"]:
    print(f"{part}: one-pass parameters equal the three-step ones:", ours[part]["parameters"] == three[part]["parameters"])
print("lifetimes:", {k: round(v, 2) for k, v in theirs["timings"].items()})
def sig(v): return float(f"{v:.3g}")
mine_p = ours["purchases"]["parameters"]
mine_s = ours["spend"]["parameters"]
for name, mine, key in [("BG/NBD", mine_p, "bgnbd"), ("Gamma-Gamma", mine_s, "gamma_gamma")]:
    if key not in theirs:
        print(f"{name}: lifetimes failed: {theirs.get(key + '_error')}")
        continue
    for p, v in theirs[key].items():
        m = mine[{"v": "gamma"}.get(p, p)]
        print(f"{name} {p}: lifetimes {v:.6g}, lookalike {m:.6g}, 3 s.f. {'agree' if sig(v) == sig(m) else 'DIFFER'}")
PY
done
python3 - "$dir" <<'PY'
import sys
import pyarrow.parquet as pq
d = sys.argv[1]
one = pq.read_table(f"{d}/predictions1.parquet")
three = pq.read_table(f"{d}/predictions.parquet")
print("one-pass predictions equal the three-step ones:", one.equals(three))
PY
