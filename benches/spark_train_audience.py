"""Training `[[audience]]` on Spark (local[2]) against one process, alternated in one run.

    python benches/spark_train_audience.py LOG.parquet FEATURES.parquet AS_OF WORK_DIR [REPEATS]

LOG is a transactions log (`lookalike generate --order time --out-format parquet`), FEATURES
its features as of AS_OF (`lookalike features`). Needs a release build of the CLI
(target/release/lookalike) and of the Python package (`maturin develop --release` in
python/), pyspark and Java 17. Each repeat runs, in turn, the pipeline with `[segments]` and
`[value]`, without and then with an audience (seeds: the top 5% by CLV, `clv_rank <= 0.05`;
`scorer = "auto"`; `candidate_sample = 50000`):

- `lookalike train --config` (whole process: the features are extracted from LOG first),
- `lookalike.spark.train(config, df)` on FEATURES read by Spark, in one session started
  beforehand (the DataFrame cached by `train` for its passes).

Prints each time, the medians, what the audience adds to each, the time of Spark's audience
passes (the CLV sort for `clv_rank`, survey, the fit on the driver, strengths, and the tier
cuts: sort and index), and checks that Spark's tier cuts are the CLI's, customer for customer.
"""

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from lookalike import spark as lks
from spark_bench import local_session

log, features, as_of, work = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], Path(sys.argv[4])
repeats = int(sys.argv[5]) if len(sys.argv) > 5 else 2
root = Path(__file__).resolve().parents[1]
cli = root / "target" / "release" / "lookalike"
work.mkdir(parents=True, exist_ok=True)
session = local_session()

STAGES = f"""
[input]
transactions = "{log}"

[features]
as_of = "{as_of}"

[segments]

[value]
model = "bgnbd"
"""
AUDIENCE = """
[[audience]]
name = "top_clv"
seed_rule = "clv_rank <= 0.05"
candidate_sample = 50000
sizes = ["1%", "5%", "10%"]
holdout = "10%"
"""
configs = {"stages": STAGES, "stages + audience": STAGES + AUDIENCE}
for name, text in configs.items():
    (work / f"{name.replace(' ', '_').replace('+', 'and')}.toml").write_text(text)


def path_of(name):
    return work / f"{name.replace(' ', '_').replace('+', 'and')}.toml"


audience_seconds = []
audiences_in_passes = lks._audiences_in_passes


def timed(*args):
    started = time.perf_counter()
    fit = audiences_in_passes(*args)
    audience_seconds.append(time.perf_counter() - started)
    return fit


lks._audiences_in_passes = timed
times = {(tool, name): [] for name in configs for tool in ("cli", "spark")}
cuts = {}
for repeat in range(repeats):
    for name in configs:
        for tool in ("cli", "spark"):
            started = time.perf_counter()
            if tool == "cli":
                out = work / f"cli_{len(name)}"
                subprocess.run([str(cli), "--quiet", "train", "--config", str(path_of(name)),
                                "--out", str(out)], check=True)
                manifest = json.loads((out / "manifest.json").read_text())
            else:
                model = lks.train(path_of(name), session.read.parquet(str(features)))
                manifest = model.manifest
            seconds = time.perf_counter() - started
            times[(tool, name)].append(seconds)
            for audience in manifest["stages"].get("audiences", []):
                cuts[tool] = [(t["label"], t["last_customer_id"]) for t in audience["tiers"]]
                scorer = audience["scorer"]
                seeds, candidates = audience["seeds"], audience["candidates"]
            print(f"round {repeat + 1}: {tool} {name}: {seconds:.1f} s", flush=True)

medians = {key: statistics.median(t) for key, t in times.items()}
for (tool, name), median in medians.items():
    print(f"{tool:>5} {name:>18}: median {median:.1f} s")
for tool in ("cli", "spark"):
    added = medians[(tool, "stages + audience")] - medians[(tool, "stages")]
    print(f"the audience adds {added:.1f} s to {tool}")
print(f"audience: scorer {scorer}, {seeds} seeds, {candidates} candidates")
print(f"Spark's audience passes (survey, fit, strengths, cuts): median "
      f"{statistics.median(audience_seconds):.1f} s")
print("tier cuts (label, last customer):", cuts["cli"])
assert cuts["cli"] == cuts["spark"], f"Spark's cuts differ: {cuts['spark']}"
print("Spark's cuts are the CLI's")
