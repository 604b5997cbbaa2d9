"""Features of a transaction log on Spark (local[2]) against `lookalike features` and against a
plain PySpark groupBy computing RFM columns only, alternated in one run.

    python benches/spark_features.py TRANSACTIONS.parquet AS_OF WORK_DIR [REPEATS] [PARTITIONS]

Needs a release build of the CLI (target/release/lookalike) and of the Python package
(`maturin develop --release` in python/), pyspark and Java 17. Driver memory is 4 GB (local
mode runs the executors in the driver's JVM; the Python workers are apart). Prints each time,
the medians, and checks once that Spark's features are the CLI's.
"""

import statistics
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
from pyspark.sql import functions as F

from lookalike import spark as lks
from spark_bench import local_session, same_rows

log, as_of, work = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
repeats = int(sys.argv[4]) if len(sys.argv) > 4 else 3
partitions = int(sys.argv[5]) if len(sys.argv) > 5 else 8
root = Path(__file__).resolve().parents[1]
cli = root / "target" / "release" / "lookalike"
work.mkdir(parents=True, exist_ok=True)
session = local_session(**{"spark.sql.shuffle.partitions": str(partitions)})


def plain_rfm(path, out):
    """The RFM columns only, in Spark SQL: orders, spend, first and last purchase, days."""
    tx = session.read.parquet(str(path))
    day = F.to_date(F.col("timestamp"))
    before = tx.where(day < F.lit(as_of))
    rfm = before.groupBy("customer_id").agg(
        F.countDistinct("order_id").alias("orders"),
        F.sum("amount").alias("spend"),
        F.min(day).alias("first_day"),
        F.max(day).alias("last_day"),
        F.countDistinct(day).alias("purchase_days"),
    )
    rfm.write.mode("overwrite").parquet(str(out))


times = {"cli": [], "spark": [], "spark-rfm": []}
for _ in range(repeats):
    t = time.perf_counter()
    subprocess.run([str(cli), "--quiet", "features", "--transactions", str(log), "--as-of", as_of,
                    "--out", str(work / "cli.parquet")], check=True)
    times["cli"].append(time.perf_counter() - t)
    t = time.perf_counter()
    lks.features(session.read.parquet(str(log)), as_of=as_of, partitions=partitions).write.mode(
        "overwrite").parquet(str(work / "spark.parquet"))
    session.catalog.clearCache()
    times["spark"].append(time.perf_counter() - t)
    t = time.perf_counter()
    plain_rfm(log, work / "rfm.parquet")
    times["spark-rfm"].append(time.perf_counter() - t)
    print(", ".join(f"{k} {v[-1]:.1f} s" for k, v in times.items()), flush=True)

ours = pq.read_table(work / "cli.parquet").sort_by("customer_id")
theirs = pq.read_table(work / "spark.parquet").sort_by("customer_id")
same = same_rows(ours, theirs)
print(f"customers {ours.num_rows}, Spark features equal the CLI's: {same}")
for k, v in times.items():
    print(f"median {k}: {statistics.median(v):.1f} s")
session.stop()
