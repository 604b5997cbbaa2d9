"""What the Spark benchmarks share: a local[2] session bound to loopback, and the check that
Spark's output holds the CLI's rows."""

import os
import sys
import time

import pyarrow as pa
import pyarrow.compute as pc


def local_session(**settings):
    """A local[2] Spark session on 127.0.0.1, UI off, driver memory 4 GB (local mode runs the
    executors in the driver's JVM; the Python workers, this interpreter, are apart), plus
    `settings` (Spark configuration keys and values). Prints how long it took to start."""
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ["PYSPARK_PYTHON"] = sys.executable
    started = time.perf_counter()
    from pyspark.sql import SparkSession

    builder = (
        SparkSession.builder.master("local[2]")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.memory", "4g")
    )
    for key, value in settings.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    print(f"Spark session: {time.perf_counter() - started:.1f} s")
    return session


def same_rows(a, b):
    """Same columns and values, column by column in Arrow (labels as plain strings, NaN equal
    to NaN)."""
    if a.num_rows != b.num_rows or a.column_names != b.column_names:
        return False
    for name in a.column_names:
        x, y = a.column(name), b.column(name)
        if pa.types.is_dictionary(x.type):
            x = x.cast(x.type.value_type)
        if pa.types.is_dictionary(y.type):
            y = y.cast(y.type.value_type)
        if pa.types.is_floating(x.type):
            x, y = (pc.if_else(pc.is_nan(c), -1e308, c) for c in (x, y))
        if not x.equals(y.cast(x.type)):
            print(f"column {name} differs")
            return False
    return True
