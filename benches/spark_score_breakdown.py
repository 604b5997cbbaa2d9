"""Where `lookalike.spark.score`'s time goes on local[2], each side of the JVM/Python boundary
timed apart, alternated in one run with `lookalike score` and `lookalike.spark.score_files`.

    python benches/spark_score_breakdown.py FEATURES.parquet MODEL_DIR WORK_DIR [REPEATS]

Needs what benches/spark_score.py needs (a release build of the CLI and of the package, pyspark,
Java 17). The jobs, each writing Parquet:

- `cli`: `lookalike score`, the whole process;
- `score`: `lookalike.spark.score` of `session.read.parquet(...)`, written by Spark;
- `in`: the same columns read by Spark and sent through `mapInArrow` to Python, which only
  counts them (Spark's reading, its rows turned into Arrow, the traffic to Python);
- `out`: the scores made in Python from row groups pyarrow reads there (the input never in the
  JVM), sent back through `mapInArrow` and written by Spark (the traffic back, Arrow turned
  into rows, Spark's Parquet writer);
- `score_files`: `lookalike.spark.score_files`, Spark only scheduling.
"""

import statistics
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

import lookalike
from lookalike import spark as lks
from spark_bench import local_session

features, model_dir, work = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
repeats = int(sys.argv[4]) if len(sys.argv) > 4 else 2
cli = Path(__file__).resolve().parents[1] / "target" / "release" / "lookalike"
work.mkdir(parents=True, exist_ok=True)
session = local_session()
model = lookalike.Model.load(model_dir)
needed = list(dict.fromkeys(["customer_id", *model.required_columns]))
groups = pq.ParquetFile(features).metadata.num_row_groups
plain = lks._plain(model.output_schema)
scores_schema = plain.remove(plain.get_field_index("unscored_reason"))
model_bytes = session.sparkContext.broadcast(model.to_bytes())


def cli_score():
    subprocess.run([str(cli), "--quiet", "score", "--model", str(model_dir), "--features",
                    str(features), "--out", str(work / "cli.parquet")], check=True)


def spark_score():
    lks.score(model, session.read.parquet(str(features))).write.mode("overwrite").parquet(
        str(work / "score.parquet"))


def into_python():
    def count(batches):
        yield pa.RecordBatch.from_pydict({"rows": [sum(b.num_rows for b in batches)]})

    session.read.parquet(str(features)).select(*needed).mapInArrow(
        count, "rows long").write.mode("overwrite").parquet(str(work / "in.parquet"))


def out_of_python():
    def scored(batches):
        loaded = lks._model_of(model_bytes.value)
        for batch in batches:
            for group in batch.column("id").to_pylist():
                read = pq.ParquetFile(features).iter_batches(
                    batch_size=10_000, row_groups=[group], columns=needed, use_threads=False)
                for part in read:
                    table = loaded.score(part, threads=1).cast(plain)
                    yield from table.drop_columns(["unscored_reason"]).to_batches()

    session.range(0, groups, numPartitions=groups).mapInArrow(
        scored, lks._spark_schema(scores_schema)).write.mode("overwrite").parquet(
        str(work / "out.parquet"))


def score_files():
    lks.score_files(model, features, work / "score_files")


jobs = {"cli": cli_score, "score": spark_score, "in": into_python, "out": out_of_python,
        "score_files": score_files}
times = {name: [] for name in jobs}
for _ in range(repeats):
    for name, job in jobs.items():
        started = time.perf_counter()
        job()
        times[name].append(time.perf_counter() - started)
    print(", ".join(f"{name} {times[name][-1]:.2f} s" for name in times), flush=True)
print("medians: " + ", ".join(f"{name} {statistics.median(t):.2f} s" for name, t in times.items()))
session.stop()
