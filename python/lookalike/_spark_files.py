"""Scoring Parquet feature files into a folder of Parquet scores on Spark, Spark scheduling the
tasks and each task reading, scoring and writing its share itself (``lookalike.spark.score_files``).

Why beside ``lookalike.spark.score``: a DataFrame handed to ``mapInArrow`` crosses from the JVM
to Python as rows turned into Arrow, and the scores come back the same way before Spark writes
them. On ``local[2]`` those conversions alone take about twice the whole ``lookalike score`` run
(BENCHMARKS.md, "Spark"). Here the features never enter the JVM: each task opens its row groups
with pyarrow, scores them with the Rust core and writes a part file, as ``lookalike score`` does in
one process; Spark only places the tasks, retries them and tells the driver they are done.

Nothing half-written: tasks write into a hidden folder beside ``out`` (each attempt into a
file of its own, renamed to its part's name when complete), and the driver puts that folder in
place of ``out`` only once every task has succeeded — two renames, so the previous scores stay
whole until then. So ``out`` must be on a filesystem that renames folders: local, a mount, HDFS.
"""

from __future__ import annotations

import os
import posixpath
import uuid
import warnings
from concurrent.futures import ThreadPoolExecutor

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from . import _lookalike

# The column of `Model.score` that says why a customer was not scored (null when scored).
_UNSCORED = "unscored_reason"
# The URI schemes of filesystems that rename a folder in one step (an object store copies it
# object by object, or moves only a marker), which putting the output in place relies on.
_RENAMING = ("file", "hdfs")
# Footers the driver reads at once when planning.
_FOOTER_READERS = 16
# Rows read and scored at a time within a task: a few MB of Arrow, whatever the row groups' size.
_BATCH_ROWS = 65_536
# Rows per row group written: scores gathered from several batches (small row groups make a
# larger file, each with its own dictionaries and statistics).
_GROUP_ROWS = 1 << 20


def _filesystem(location):
    """The filesystem and path of a local path or a URI (``s3://``, ``gs://``, ``hdfs://``,
    ``abfs://``, ``file://``): pyarrow's, so that the driver and every task resolve it alike."""
    location = os.fspath(location)
    if "://" not in location:
        return pafs.LocalFileSystem(), os.path.abspath(location)
    return pafs.FileSystem.from_uri(location)


def _data_files(fs, path, location):
    """The Parquet files of ``path``: the file itself, or a folder's files in name order (not
    its sub-folders, nor writers' markers and hidden files such as ``_SUCCESS`` and ``.crc``),
    as ``lookalike score`` reads a folder of part files."""
    info = fs.get_file_info(path)
    if info.type == pafs.FileType.NotFound:
        raise _lookalike.InputError(f"{location}: no such file or folder")
    if info.type == pafs.FileType.File:
        return [path]
    entries = fs.get_file_info(pafs.FileSelector(path))
    files = sorted(
        e.path for e in entries
        if e.type == pafs.FileType.File and not e.base_name.startswith(("_", "."))
    )
    if not files:
        raise _lookalike.InputError(
            f"{location}: a folder without data files (its sub-folders are not read: for a "
            "partitioned dataset, score(model, session.read.parquet(...)))")
    return files


def _footer(fs, file, needed):
    """A file's row-group sizes, read from its footer; refuses a file that is not Parquet or
    lacks a column the model reads, by name."""
    try:
        with fs.open_input_file(file) as handle:
            parquet = pq.ParquetFile(handle)
            metadata, names = parquet.metadata, parquet.schema_arrow.names
    except (pa.ArrowInvalid, OSError) as error:
        raise _lookalike.InputError(
            f"{file}: not a Parquet file ({error}); score_files reads Parquet — for CSV "
            "features, score(model, session.read.csv(...)) scores a DataFrame") from None
    missing = [c for c in needed if c not in names]
    if missing:
        raise _lookalike.InputError(
            f"{file}: lacks the column(s) the model reads: {', '.join(missing)}")
    return [metadata.row_group(g).num_rows for g in range(metadata.num_row_groups)]


def _plan(fs, files, needed, rows_per_task):
    """The tasks: runs of consecutive row groups of about ``rows_per_task`` rows (a row group
    is never split), each unit a (file, row group, first data row of the group in its file,
    1-based). Reads only the files' footers, several at a time (on an object store each is a
    round trip); the first refused file, in name order, is the error."""
    with ThreadPoolExecutor(max_workers=_FOOTER_READERS) as readers:
        sizes = list(readers.map(lambda file: _footer(fs, file, needed), files))
    tasks, current, current_rows = [], [], 0
    for file, groups in zip(files, sizes):
        first_row = 1
        for group, rows in enumerate(groups):
            if rows == 0:
                continue
            if current and current_rows + rows > rows_per_task:
                tasks.append(current)
                current, current_rows = [], 0
            current.append((file, group, first_row))
            current_rows += rows
            first_row += rows
    if current:
        tasks.append(current)
    return tasks


def _checked_output(fs, out, location, input_path):
    """Refuses an output that is the input, lies inside it or holds it, is a file, or is a
    folder holding anything but Parquet files and writers' markers (it is about to be replaced
    whole, and must not take anything else with it)."""
    inside = lambda a, b: a == b or a.startswith(b.rstrip("/") + "/")  # noqa: E731
    if inside(out, input_path) or inside(input_path, out):
        raise _lookalike.InputError(
            f"{location}: the output folder would overwrite the features; choose another folder")
    info = fs.get_file_info(out)
    if info.type == pafs.FileType.File:
        raise _lookalike.InputError(
            f"{location}: is a file; score_files writes a folder of part files")
    if info.type == pafs.FileType.Directory:
        for entry in fs.get_file_info(pafs.FileSelector(out)):
            name = entry.base_name
            scores = entry.type == pafs.FileType.File and (
                name.endswith(".parquet") or name.startswith(("_", ".")))
            if not scores:
                raise _lookalike.InputError(
                    f"{location}: holds {name}, which is not a part of earlier scores; the "
                    "folder is replaced whole, so choose a new or a scores folder")


def checked_on_error(on_error):
    """Refuses an ``on_error`` other than ``"fail"`` or ``"skip"`` (``score`` and
    ``score_files``)."""
    if on_error not in ("fail", "skip"):
        raise _lookalike.InputError(f"on_error must be 'fail' or 'skip', not {on_error!r}")


def scorable(table, on_error, where):
    """``Model.score``'s ``table`` without its reason column, and how many customers were left
    out: with ``on_error="fail"`` the first customer that could not be scored fails instead,
    named by ``where(row in table)`` and the reason (``score`` and ``score_files``)."""
    reasons = table.column(_UNSCORED)
    kept = table
    if reasons.null_count < len(reasons):
        if on_error == "fail":
            at = pc.index(pc.is_valid(reasons), True).as_py()
            raise _lookalike.InputError(
                f"{where(at)}customer {table.column('customer_id')[at]}: {reasons[at]} "
                "(on_error='skip' leaves such customers out)")
        kept = table.filter(pc.is_null(reasons))
    return kept.drop_columns([_UNSCORED]), table.num_rows - kept.num_rows


def _scored(units, *, model, input_fs, needed, on_error, threads):
    """The task's row groups read a batch at a time and scored: yields each batch's scores
    without the reason column, and how many customers were left out (``on_error="skip"``)."""
    for file, group, first_row in units:
        with input_fs.open_input_file(file) as handle:
            batches = pq.ParquetFile(handle).iter_batches(
                batch_size=_BATCH_ROWS, row_groups=[group], columns=needed, use_threads=False)
            row = first_row
            for batch in batches:
                yield scorable(model.score(batch, threads=threads), on_error,
                               lambda at, first=row: f"{file}: data row {first + at}: ")
                row += batch.num_rows


def _write_group(writer, tables):
    """Writes the tables as one row group (or a few), each label column over one dictionary:
    batches' own dictionaries, left apart, would make the writer drop dictionary encoding
    (half as large again)."""
    writer.write_table(pa.concat_tables(tables).unify_dictionaries(), row_group_size=_GROUP_ROWS)


def _score_task(units, *, model, input_fs, out_fs, staging, needed, schema, on_error, threads,
                task, attempt):
    """One task: its row groups read, scored and written to ``part-<task>.parquet`` in the
    staging folder (through a file of its own attempt, renamed when complete, so a retried or
    duplicated attempt never leaves a partial part), in row groups of about ``_GROUP_ROWS``.
    Returns (rows written, customers skipped)."""
    final = posixpath.join(staging, f"part-{task:05d}.parquet")
    partial = posixpath.join(staging, f".part-{task:05d}.attempt-{attempt}.parquet")
    written = skipped = 0
    try:
        with out_fs.open_output_stream(partial) as sink, pq.ParquetWriter(
                sink, schema, compression="snappy") as writer:
            pending = []
            for table, left_out in _scored(units, model=model, input_fs=input_fs,
                                           needed=needed, on_error=on_error, threads=threads):
                pending.append(table)
                written += table.num_rows
                skipped += left_out
                if sum(t.num_rows for t in pending) >= _GROUP_ROWS:
                    _write_group(writer, pending)
                    pending = []
            if pending:
                _write_group(writer, pending)
        out_fs.move(partial, final)
    except BaseException:
        try:
            out_fs.delete_file(partial)
        except OSError:
            pass
        raise
    return written, skipped


def _commit(fs, staging, out):
    """Puts the complete staging folder in place of ``out``: the earlier scores stay whole
    until the second rename, and are deleted after it. (Between the two renames, a moment, they
    are whole under a hidden name beside ``out``; a folder cannot be swapped in one step.)"""
    if fs.get_file_info(out).type == pafs.FileType.NotFound:
        fs.move(staging, out)
        return
    parent, name = posixpath.split(out.rstrip("/"))
    earlier = posixpath.join(parent, f".{name}.lookalike-earlier-{uuid.uuid4().hex[:12]}")
    fs.move(out, earlier)
    try:
        fs.move(staging, out)
    except BaseException:
        fs.move(earlier, out)
        raise
    fs.delete_dir(earlier)


def score_files(model, features, out, *, session=None, on_error="fail", threads=1,
                rows_per_task=1_000_000):
    """Scores the Parquet features at ``features`` (a file or a folder of part files, a local
    path or a URI pyarrow opens: ``s3://``, ``gs://``, ``hdfs://``, ``abfs://``) into the folder
    ``out``, one part file per task, and returns the scores as a DataFrame read from ``out``.

    The rows are those ``lookalike score`` writes for the same features (the same columns,
    labels kept as dictionaries; sort by ``customer_id`` to compare). The features never pass
    through the JVM: each Spark task reads its row groups (about ``rows_per_task`` rows, whole
    row groups) with pyarrow, scores them with ``threads`` Rust threads and writes its part, so
    Spark only schedules and retries. Every node must reach both locations by the same path
    (a URI, or a folder shared by all nodes); the driver reads the files' footers to plan.

    ``out`` is replaced whole once every task has succeeded (a failed or killed job leaves it
    as it was, and a hidden staging folder beside it); it must be new or hold only Parquet
    files and markers, such as earlier scores, and be a local or mounted path or ``hdfs://``
    (object stores do not rename folders). A customer the model cannot score fails the job,
    naming the file, the data row and the customer; ``on_error="skip"`` leaves them out.
    Duplicate ids across files are not checked (``lookalike score`` checks them in one
    process)."""
    checked_on_error(on_error)
    if rows_per_task < 1:
        raise _lookalike.InputError(f"rows_per_task must be at least 1, not {rows_per_task}")
    if session is None:
        from pyspark.sql import SparkSession

        session = SparkSession.active()
    features_location, out_location = os.fspath(features), os.fspath(out)
    scheme = out_location.split("://", 1)[0].lower() if "://" in out_location else "file"
    if scheme not in _RENAMING:
        raise _lookalike.InputError(
            f"{out_location}: score_files puts its output in place by renaming folders, which "
            f"{scheme} storage does not do; write to a local or mounted path or to hdfs://, or "
            "use score(model, features_df).write.parquet(...)")
    input_fs, input_path = _filesystem(features_location)
    out_fs, out_path = _filesystem(out_location)
    needed = list(dict.fromkeys(["customer_id", *model.required_columns]))
    tasks = _plan(input_fs, _data_files(input_fs, input_path, features_location), needed,
                  rows_per_task)
    _checked_output(out_fs, out_path, out_location,
                    input_path if type(input_fs) is type(out_fs) else "")
    scored_schema = model.output_schema
    schema = scored_schema.remove(scored_schema.get_field_index(_UNSCORED))

    parent, name = posixpath.split(out_path.rstrip("/"))
    out_fs.create_dir(parent, recursive=True)
    staging = posixpath.join(parent, f".{name}.lookalike-staging-{uuid.uuid4().hex[:12]}")
    out_fs.create_dir(staging)
    try:
        if tasks:
            done = _run_tasks(session, model, tasks, features_location, out_location, staging,
                              needed, schema, on_error, threads)
            skipped = sum(row["skipped"] for row in done)
            if skipped:
                warnings.warn(f"score_files: {skipped} customer(s) could not be scored and "
                              "were left out (on_error='skip')", stacklevel=2)
        else:
            # No rows at all: one empty part, so that the scores' columns are still readable.
            with out_fs.open_output_stream(posixpath.join(staging, "part-00000.parquet")) as sink:
                pq.write_table(schema.empty_table(), sink, compression="snappy")
        for entry in out_fs.get_file_info(pafs.FileSelector(staging)):
            if entry.base_name.startswith("."):
                out_fs.delete_file(entry.path)  # a failed attempt's leftovers
        with out_fs.open_output_stream(posixpath.join(staging, "_SUCCESS")):
            pass
        _commit(out_fs, staging, out_path)
    except BaseException:
        if out_fs.get_file_info(staging).type != pafs.FileType.NotFound:
            out_fs.delete_dir(staging)
        raise
    return session.read.parquet(out_location if "://" in out_location else out_path)


def _run_tasks(session, model, tasks, features_location, out_location, staging, needed, schema,
               on_error, threads):
    """Runs one Spark task per planned task (``range`` gives each partition exactly one task
    number) and raises the first task's error as the driver sees it."""
    from . import spark as _spark

    context = session.sparkContext
    model_bytes = context.broadcast(model.to_bytes())
    plan = context.broadcast(tasks)

    def run(batches):
        from pyspark import TaskContext

        loaded = _spark._model_of(model_bytes.value)
        input_fs, _ = _filesystem(features_location)
        out_fs, _ = _filesystem(out_location)
        attempt = TaskContext.get().attemptNumber()
        for batch in batches:
            for task in batch.column("id").to_pylist():
                written, skipped = _score_task(
                    plan.value[task], model=loaded, input_fs=input_fs, out_fs=out_fs,
                    staging=staging, needed=needed, schema=schema, on_error=on_error,
                    threads=threads, task=task, attempt=attempt)
                yield pa.RecordBatch.from_pydict(
                    {"task": [task], "rows": [written], "skipped": [skipped]})

    try:
        done = (session.range(0, len(tasks), numPartitions=len(tasks))
                .mapInArrow(run, "task long, rows long, skipped long").collect())
    finally:
        model_bytes.destroy()
        plan.destroy()
    if sorted(r["task"] for r in done) != list(range(len(tasks))):
        raise _lookalike.LookalikeError("score_files: not every task reported its part")
    return done
