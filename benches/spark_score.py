"""Scoring a base on Spark (local[2]) against `lookalike score`, alternated in one run.

    python benches/spark_score.py FEATURES.parquet MODEL_DIR WORK_DIR [REPEATS] [BATCH_ROWS]

Needs a release build of the CLI (target/release/lookalike) and of the Python package
(`maturin develop --release` in python/), pyspark and Java 17. Each repeat runs the CLI
(`lookalike score --features … --out …parquet`, whole process) and then Spark
(`lookalike.spark.score` of the Parquet features, written as Parquet) in one session started
beforehand (BATCH_ROWS sets spark.sql.execution.arrow.maxRecordsPerBatch, Spark's default
10,000 when not given); prints each time, the medians, their ratio, and checks once that both outputs hold
the same rows.

`spark-all-cores` is the same job with `threads=None`: each task's scoring on every core, as it
was before tasks scored on one thread each (`threads=1`, the default).

`spark-files` is `lookalike.spark.score_files` of the same Parquet file into a folder of part
files: Spark schedules the tasks, and each reads, scores and writes its row groups itself (no
JVM conversions).

Where Spark's time goes, measured in the same rounds: `copy` reads the columns the model needs
and writes them back as Parquet (no Python); `arrow` also sends them through `mapInArrow` to
Python and back unchanged (the JVM↔Arrow conversions and the worker traffic, no scoring).
"""

import statistics
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq

import lookalike
from lookalike import spark as lks
from spark_bench import local_session, same_rows

features, model_dir, work = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
repeats = int(sys.argv[4]) if len(sys.argv) > 4 else 3
root = Path(__file__).resolve().parents[1]
cli = root / "target" / "release" / "lookalike"
work.mkdir(parents=True, exist_ok=True)
batch_rows = sys.argv[5] if len(sys.argv) > 5 else None
settings = {"spark.sql.execution.arrow.maxRecordsPerBatch": batch_rows} if batch_rows else {}
session = local_session(**settings)
model = lookalike.Model.load(model_dir)

needed = ["customer_id", *model.required_columns]
times = {"cli": [], "spark": [], "spark-files": [], "spark-all-cores": [], "copy": [],
         "arrow": []}


def timed(name, write):
    t = time.perf_counter()
    write()
    times[name].append(time.perf_counter() - t)


def copy():
    session.read.parquet(str(features)).select(*needed).write.mode("overwrite").parquet(
        str(work / "copy.parquet"))


def arrow():
    df = session.read.parquet(str(features)).select(*needed)
    df.mapInArrow(lambda batches: batches, df.schema).write.mode("overwrite").parquet(
        str(work / "arrow.parquet"))


for _ in range(repeats):
    out = work / "cli.parquet"
    t = time.perf_counter()
    subprocess.run([str(cli), "--quiet", "score", "--model", str(model_dir), "--features",
                    str(features), "--out", str(out)], check=True)
    times["cli"].append(time.perf_counter() - t)
    t = time.perf_counter()
    lks.score(model, session.read.parquet(str(features))).write.mode("overwrite").parquet(
        str(work / "spark.parquet"))
    times["spark"].append(time.perf_counter() - t)
    timed("spark-files", lambda: lks.score_files(model, features, work / "spark-files"))
    timed("spark-all-cores", lambda: lks.score(
        model, session.read.parquet(str(features)), threads=None).write.mode("overwrite").parquet(
        str(work / "spark-all-cores.parquet")))
    timed("copy", copy)
    timed("arrow", arrow)
    print(", ".join(f"{name} {times[name][-1]:.2f} s" for name in times), flush=True)

cli_rows = pq.read_table(work / "cli.parquet").sort_by("customer_id")
spark_rows = pq.read_table(work / "spark.parquet").sort_by("customer_id")
same = same_rows(cli_rows, spark_rows)
files_rows = pq.read_table(work / "spark-files").sort_by("customer_id")
same_files = same_rows(cli_rows, files_rows)
cli_median, spark_median = statistics.median(times["cli"]), statistics.median(times["spark"])
files_median = statistics.median(times["spark-files"])
print(f"rows {cli_rows.num_rows}, same rows: spark {same}, spark-files {same_files}")
print(f"median: cli {cli_median:.2f} s, spark {spark_median:.2f} s, "
      f"spark/cli {spark_median / cli_median:.2f}x, spark-files {files_median:.2f} s, "
      f"spark-files/cli {files_median / cli_median:.2f}x")
print("medians of the breakdown: " + ", ".join(
    f"{name} {statistics.median(times[name]):.2f} s"
    for name in ("spark-all-cores", "copy", "arrow")))
session.stop()
