"""Training `[clusters]` on Spark (local[2]) against one process, alternated in one run.

    python benches/spark_train_clusters.py FEATURES.parquet WORK_DIR [K] [N_INIT] [REPEATS]

Needs a release build of the CLI (target/release/lookalike) and of the Python package
(`maturin develop --release` in python/), pyspark and Java 17. Each repeat runs, in turn:

- `lookalike cluster --init sample` (the fit `lks.train` repeats; whole process),
- `lookalike cluster --init auto` (the default start, k-means‖ and Hamerly; whole process),
- `lookalike.spark.train({"clusters": ...}, df)` on the Parquet features read by Spark, in one
  session started beforehand (the DataFrame cached by `train` for its passes).

Prints each time, the medians and ratios, the Spark passes (how many, and their median), and
checks that Spark's centroids and inertia equal the CLI's sample fit to 1e-9.
"""

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from lookalike import spark as lks
from spark_bench import local_session

features, work = Path(sys.argv[1]), Path(sys.argv[2])
k = sys.argv[3] if len(sys.argv) > 3 else "8"
n_init = int(sys.argv[4]) if len(sys.argv) > 4 else 1
repeats = int(sys.argv[5]) if len(sys.argv) > 5 else 2
root = Path(__file__).resolve().parents[1]
cli = root / "target" / "release" / "lookalike"
work.mkdir(parents=True, exist_ok=True)
session = local_session()
clusters = {"k": int(k), "init": "sample", "n_init": n_init, "log1p": ["orders", "total_spend"]}

passes = []
per_partition = lks._per_partition


def counted(frame, summarise):
    started = time.perf_counter()
    answers = per_partition(frame, summarise)
    passes.append(time.perf_counter() - started)
    return answers


lks._per_partition = counted
times = {"cli sample": [], "cli auto": [], "spark": []}


def cli_fit(init, out):
    subprocess.run([str(cli), "--quiet", "cluster", "--features", str(features), "--k", k,
                    "--init", init, "--n-init", str(n_init), "--log1p", "orders,total_spend",
                    "--assignments", "assignments.parquet", "--out", str(out)], check=True)
    return json.loads((out / "model.json").read_text())


results = {}
for repeat in range(repeats):
    for name in times:
        started = time.perf_counter()
        if name == "spark":
            passes.clear()
            model = lks.train({"clusters": clusters}, session.read.parquet(str(features)))
            results[name] = model.manifest["stages"]["clusters"]
        else:
            init = name.split()[1]
            results[name] = cli_fit(init, work / init.replace("+", "p"))
        times[name].append(time.perf_counter() - started)
        print(f"round {repeat + 1}: {name} {times[name][-1]:.1f} s", flush=True)

medians = {name: statistics.median(t) for name, t in times.items()}
for name, median in medians.items():
    print(f"{name:>11}: median {median:.1f} s  ({median / medians['cli sample']:.2f}x the CLI's sample fit)")
print(f"Spark passes: {len(passes)} (survey, Lloyd iterations, describe, spread), "
      f"median {statistics.median(passes):.2f} s, first {passes[0]:.1f} s")
one, spark = results["cli sample"], results["spark"]
print("iterations:", one["fit"]["iterations"], "(CLI, sample)", spark["fit"]["iterations"], "(Spark)",
      results["cli auto"]["fit"]["iterations"], "(CLI, auto)")
inertia = (one["fit"]["inertia"], spark["fit"]["inertia"], results["cli auto"]["fit"]["inertia"])
print("inertia: CLI sample {:.6f}, Spark {:.6f}, CLI auto {:.6f}".format(*inertia))
assert abs(inertia[0] - inertia[1]) <= 1e-9 * abs(inertia[0]), "Spark's inertia differs"
cli_model = json.loads((work / "sample" / "model.json").read_text())
print("customers:", cli_model["fit"]["customers"], "silhouette (hash sample):",
      cli_model["metrics"]["silhouette"])
