"""`lookalike.spark.train` of `[segments]` and `[value]` from counts, against `lookalike value fit`
in one process, and what the partitions' counts weigh on the driver.

    python benches/spark_train_counts.py FEATURES.parquet [PARTITIONS]

Without PARTITIONS the file's own Parquet splits are the partitions.
FEATURES is a feature table written by `lookalike features` (e.g. of the 109M-line log of
BENCHMARKS.md). Prints the time of `lks.train` (both passes and the fits), the size of every
partition's training counts as JSON and as the compressed parts the driver collects, and
whether the BG/NBD parameters equal the CLI's `value fit` on the same file."""

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from spark_bench import local_session  # noqa: E402

from lookalike import _lookalike  # noqa: E402
from lookalike import spark as lks  # noqa: E402

features_path = sys.argv[1]
partitions = int(sys.argv[2]) if len(sys.argv) > 2 else 0
config = {"segments": {"bins": 5}, "value": {"model": "bgnbd"}}

session = local_session()
features = session.read.parquet(features_path)
if partitions:
    # Customers dealt out at random: every partition then holds its own copy of values the
    # others share, so the counts grow (the Parquet splits keep the file's order).
    features = features.repartition(partitions).cache()
print(f"customers: {features.count()}, partitions: {features.rdd.getNumPartitions()}")

started = time.perf_counter()
model = lks.train(config, features)
print(f"lks.train: {time.perf_counter() - started:.1f} s")

# The same counts again, measured: as JSON and as the compressed parts the driver collects.
spec, _ = _lookalike.training_plan({"input": {"transactions": features_path}, **config})
texts = features.mapInArrow(
    lambda batches: (pa.RecordBatch.from_pydict({"json": [len(t.encode())], "packed": [
        len(pa.compress(t.encode(), codec="zstd", asbytes=True))]})
        for t in [_lookalike.training_counts(spec, pa.Table.from_batches(list(batches)))]),
    "json long, packed long").collect()
json_bytes = sum(r["json"] for r in texts)
packed_bytes = sum(r["packed"] for r in texts)
customers = features.count()
print(f"counts as JSON: {json_bytes / 1e6:.1f} MB ({json_bytes / customers:.1f} B/customer); "
      f"collected compressed: {packed_bytes / 1e6:.1f} MB ({packed_bytes / customers:.1f} "
      f"B/customer, {json_bytes / packed_bytes:.2f}x smaller)")

with tempfile.TemporaryDirectory() as out:
    started = time.perf_counter()
    subprocess.run(["target/release/lookalike", "value", "fit", "--features", features_path,
                    "--model", "bgnbd", "--out", out, "--quiet"], check=True)
    print(f"lookalike value fit: {time.perf_counter() - started:.1f} s")
    cli = json.loads((Path(out) / "value_model.json").read_text())["purchases"]["parameters"]
    model.save(Path(out) / "spark")
    spark = json.loads((Path(out) / "spark" / "value" / "value_model.json").read_text())
    spark = spark["purchases"]["parameters"]
print(f"BG/NBD parameters, Spark: {spark}")
print(f"BG/NBD parameters, CLI:   {cli}")
print("identical" if spark == cli else "DIFFERENT")
