"""lookalike on Apache Spark: features and scores for a base larger than one machine.

The same Rust library as the command line runs inside Spark's Python workers, on the Arrow
batches ``mapInArrow`` hands them (no pandas, no row-at-a-time Python). Results are those of
``lookalike features`` and ``lookalike score`` on the same data, row for row (in another order:
sort by ``customer_id`` to compare).

>>> from lookalike import spark as lks
>>> tx = session.read.csv("transactions.csv", header=True)
>>> features = lks.features(tx, as_of="2026-01-01")
>>> scores = lks.score(lookalike.Model.load("models/sample"), features)
>>> scores.write.parquet("scores.parquet")

``score_files`` scores Parquet feature files into a folder of Parquet scores with each task
reading and writing its share itself, Spark only scheduling: the rows never cross into the JVM,
which makes it about three times as fast as ``score`` followed by a write (``_spark_files.py``).

How ``features`` stays exact: the logs are repartitioned by customer id, so each partition holds
whole customers and each customer's features are computed from all their rows, as one process
would. The few columns chosen by looking at the whole base — which categories and channels get
a share column, how each customers-table attribute is encoded — are fixed first: every
partition reports its label totals and its customers' attribute summaries (counts and flags,
merged exactly), the driver chooses from their sum, and every partition is then extracted with
that vocabulary.

What differs from the command line: ``as_of`` must be given (every partition must use the same
date); a bad row is named by its row within its partition's table, not by its line in a file;
line attributes (``attributes=``) are not supported; and an order whose lines carry different
channels takes the channel of whichever line comes first in its partition, where the command
line takes the first in the file (lines of one order normally share a channel).
"""

from __future__ import annotations

import hashlib
import json as _json

import pyarrow as pa
import pyarrow.compute as pc

from . import _lookalike
from ._spark_files import _UNSCORED, checked_on_error, score_files, scorable

__all__ = ["features", "score", "score_files", "train"]

_KEY = "__lookalike_key"
_PART = "__lookalike_part"
_PARTS = {"transactions": "t", "events": "e", "customers": "c"}


def _id_column(kind, columns):
    columns = columns or {}
    return columns.get(f"{kind}.customer_id", columns.get("customer_id", "customer_id"))


def _prefixed(kind, name):
    return f"__{_PARTS[kind]}__{name}"


def _tagged(kind, df, columns):
    """``df`` with its columns prefixed by its kind, a partition key (the id as text) and a tag."""
    from pyspark.sql import functions as F

    id_column = _id_column(kind, columns)
    if id_column not in df.columns:
        raise _lookalike.InputError(
            f"the {kind} DataFrame has no customer id column {id_column!r} "
            f"(its columns: {', '.join(df.columns)}); map it with columns={{'customer_id': ...}}"
        )
    return df.select(
        F.col(f"`{id_column}`").cast("string").alias(_KEY),
        F.lit(_PARTS[kind]).alias(_PART),
        *[F.col(f"`{name}`").alias(_prefixed(kind, name)) for name in df.columns],
    )


def _one_batch(table):
    """``table`` as one record batch, which keeps its schema even without rows (a table of no
    batches would not)."""
    columns = [
        pa.concat_arrays(column.chunks) if column.num_chunks else pa.array([], type=column.type)
        for column in table.columns
    ]
    return pa.RecordBatch.from_arrays(columns, schema=table.schema)


def _split(batches, kinds):
    """A partition's union batches as one record batch per input kind (original column names),
    or None when the partition is empty."""
    batches = list(batches)
    if not batches:
        return None
    table = pa.Table.from_batches(batches)
    parts = {}
    for kind in kinds:
        prefix = f"__{_PARTS[kind]}__"
        rows = table.filter(pc.equal(table.column(_PART), _PARTS[kind]))
        names = [n for n in table.column_names if n.startswith(prefix)]
        parts[kind] = _one_batch(rows.select(names).rename_columns([n[len(prefix):] for n in names]))
    return parts


def _plain(arrow_schema):
    """The schema with dictionary-encoded columns as their values' type: Spark reads no
    dictionary vectors, and a label column is a string column to it."""
    fields = [
        field.with_type(field.type.value_type) if pa.types.is_dictionary(field.type) else field
        for field in arrow_schema
    ]
    return pa.schema(fields, metadata=arrow_schema.metadata)


def _spark_schema(arrow_schema):
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(arrow_schema)


def features(transactions, events=None, customers=None, *, as_of, holdout_end=None,
             time_unit="weeks", top_levels=8, columns=None, on_error="fail",
             missing_customer="fail", date_format=None, partitions=None, threads=1):
    """One row per customer, as ``lookalike.features`` computes it, from Spark DataFrames.

    ``transactions`` (and ``events``, ``customers``) are Spark DataFrames with the columns the
    command line reads (``columns`` maps them as there). ``partitions``: how many partitions
    the logs are spread over by customer id (default: ``spark.sql.shuffle.partitions``); each
    task holds its partition's rows in memory, so a partition should hold a few million lines
    at most. ``threads``: Rust threads per task (Spark already runs one task per core).

    Returns a DataFrame: ``customer_id`` and the feature columns (counts int64, the rest
    double), in no particular order. The logs are read twice (label totals, then features):
    the repartitioned logs are cached (memory and disk) between the passes and stay cached
    until the session ends or ``session.catalog.clearCache()``.
    """
    session = transactions.sparkSession
    options = dict(columns=columns, on_error=on_error, missing_customer=missing_customer,
                   date_format=date_format)
    inputs = {"transactions": transactions, "events": events, "customers": customers}
    kinds = [kind for kind, df in inputs.items() if df is not None]
    union = None
    for kind in kinds:
        tagged = _tagged(kind, inputs[kind], columns)
        union = tagged if union is None else union.unionByName(tagged, allowMissingColumns=True)
    count = partitions or int(session.conf.get("spark.sql.shuffle.partitions"))
    spread = union.repartition(count, _KEY).persist()
    try:
        # Pass 1: every partition's label totals, and the Arrow schema each input arrives in.
        def totals_of(batches):
            parts = _split(batches, kinds)
            if parts is None:
                return
            tx = parts["transactions"]
            totals = _lookalike.label_totals(tx, as_of=as_of, holdout_end=holdout_end,
                                             threads=threads, **options)
            attributes = None
            if "customers" in parts:
                attributes = _lookalike.attribute_summaries(
                    parts["customers"], top_levels=top_levels, columns=columns,
                    on_error=on_error, date_format=date_format)
            yield pa.RecordBatch.from_pydict({
                "part": [_partition_id()],
                "totals": [totals],
                "attributes": [attributes],
                "schemas": [[parts[k].schema.serialize().to_pybytes() for k in kinds]],
            })

        reported = spread.mapInArrow(
            totals_of, "part long, totals string, attributes string, schemas array<binary>"
        ).collect()
        if not reported:
            raise _lookalike.InputError("the transactions DataFrame has no rows")
        reported.sort(key=lambda row: row["part"])
        vocabulary = _lookalike.vocabulary(
            [row["totals"] for row in reported], top_levels=top_levels,
            attributes=[row["attributes"] for row in reported if row["attributes"] is not None])

        # The output's schema: the features of no customer under the vocabulary.
        schemas = [pa.ipc.read_schema(pa.py_buffer(b)) for b in reported[0]["schemas"]]
        empty = {k: _one_batch(s.empty_table()) for k, s in zip(kinds, schemas)}
        settings = dict(as_of=as_of, holdout_end=holdout_end, time_unit=time_unit,
                        top_levels=top_levels, vocabulary=vocabulary, threads=threads, **options)
        output_schema = _lookalike.features(empty["transactions"], empty.get("events"),
                                            empty.get("customers"), **settings).schema

        # Pass 2: every partition's customers.
        def features_of(batches):
            parts = _split(batches, kinds)
            if parts is None:
                return
            table = _lookalike.features(parts["transactions"], parts.get("events"),
                                        parts.get("customers"), **settings)
            yield from table.cast(output_schema).to_batches()

        # The repartitioned logs stay cached for the result's own computation, until the
        # session ends or `session.catalog.clearCache()`.
        return spread.mapInArrow(features_of, _spark_schema(output_schema))
    except BaseException:
        spread.unpersist()
        raise


_MODELS = {}


def _model_of(data):
    """The model of these bytes, loaded once per Python worker (workers are reused across
    tasks)."""
    key = hashlib.sha256(data).hexdigest()
    model = _MODELS.get(key)
    if model is None:
        _MODELS.clear()
        model = _lookalike.Model.from_bytes(data)
        _MODELS[key] = model
    return model


def score(model, features_df, *, on_error="fail", threads=1):
    """Scores a Spark DataFrame of features (``customer_id`` and the model's required columns)
    with a trained model: one output row per customer, the rows ``lookalike score`` writes.

    A customer the model cannot score (a required value missing or not finite) fails the job
    with the customer and the reason, as on the command line; ``on_error="skip"`` leaves such
    customers out. The model travels to the workers once, as a broadcast of its bytes; each
    batch is scored as ``Model.score`` scores a table (row-local: any split of the base gives
    the same rows); only ``customer_id`` and the model's required columns are sent to Python.
    ``spark.sql.execution.arrow.maxRecordsPerBatch`` sets the batch size. ``threads``: Rust
    threads per task (Spark already runs one task per core; ``None``: every core).
    Label columns come back as strings (Spark has no dictionary type). From Parquet files to
    Parquet files, ``score_files`` gives the same rows about three times as fast: the rows
    then never pass through the JVM, whose conversions to and from Arrow cost more here than
    the scoring."""
    checked_on_error(on_error)
    session = features_df.sparkSession
    missing = [c for c in ["customer_id", *model.required_columns] if c not in features_df.columns]
    if missing:
        raise _lookalike.InputError(
            f"the features DataFrame lacks the column(s) the model reads: {', '.join(missing)}")
    # Only the columns the model reads cross from the JVM to Python (a feature table has
    # several times as many; Spark then reads only these from Parquet).
    features_df = features_df.select(
        *[f"`{c}`" for c in dict.fromkeys(["customer_id", *model.required_columns])])
    data = session.sparkContext.broadcast(model.to_bytes())
    scored_schema = _plain(model.output_schema)
    output_schema = scored_schema.remove(scored_schema.get_field_index(_UNSCORED))

    def scored(batches):
        loaded = _model_of(data.value)
        for batch in batches:
            table = loaded.score(batch, threads=threads).cast(scored_schema)
            yield from scorable(table, on_error, lambda at: "")[0].to_batches()

    return features_df.mapInArrow(scored, _spark_schema(output_schema))


def _partition_id():
    from pyspark import TaskContext

    return TaskContext.get().partitionId()


def _per_partition(df, summarise):
    """``summarise`` (a partition's rows as one Arrow table → a JSON document) of every non-empty
    partition of ``df``, collected in partition order, so that the driver merges them in a
    fixed order. Each document is compressed (zstd) on the executor and stays so on the driver
    until the native merge reads it, one part at a time: what a partition counts can grow with
    its customers (the repeat buyers' mean spends), and the collected parts count against
    ``spark.driver.maxResultSize``."""
    def summarised(batches):
        batches = list(batches)
        if batches:
            text = summarise(pa.Table.from_batches(batches))
            packed = pa.compress(text.encode(), codec="zstd", asbytes=True)
            yield pa.RecordBatch.from_pydict({"part": [_partition_id()], "data": [packed]},
                                             schema=_PART_SCHEMA)

    rows = df.mapInArrow(summarised, "part long, data binary").collect()
    return [bytes(row["data"]) for row in sorted(rows, key=lambda row: row["part"])]


_PART_SCHEMA = pa.schema([("part", pa.int64()), ("data", pa.binary())])


def _clusters_in_passes(spec, features_df):
    """The ``[clusters]`` fit over ``features_df``'s partitions: a pass per task of the native
    driver (survey, Lloyd's iterations, then sizes and spreads), each partition's answer
    collected in partition order. The Lloyd and spread passes read only the clustered
    columns."""
    fit = _lookalike.ClusterFit(spec)
    missing = [c for c in fit.columns if c not in features_df.columns]
    if missing:
        raise _lookalike.InputError(
            f"[clusters] clusters on {', '.join(missing)}, which the features DataFrame does "
            f"not have (its columns: {', '.join(features_df.columns)})")
    narrow_df = features_df.select("customer_id", *fit.columns)
    while (step := fit.task()) is not None:
        narrow, task = step
        frame = narrow_df if narrow else features_df
        fit.absorb(_per_partition(
            frame, lambda table, task=task: _lookalike.cluster_answer(spec, task, table)))
    return fit


_POSITION = "__lookalike_position"


def _positioned(df, parts, *order):
    """``df`` sorted by ``order`` into ``parts`` ranges and cached, with each row's 0-based
    position in that order (column ``_POSITION``), and the number of rows. Positions are
    counted in Arrow: one job counts the rows of every range (partition i holds the i-th),
    the next adds each partition's offset to its rows' indexes. No row leaves the executors.
    The caller unpersists the cached sort (the second value)."""
    ordered = df.repartitionByRange(parts, *order).sortWithinPartitions(*order).persist()

    def count(batches):
        yield pa.RecordBatch.from_pydict(
            {"part": [_partition_id()], "rows": [sum(b.num_rows for b in batches)]})

    sizes = dict(ordered.mapInArrow(count, "part long, rows long").collect())
    offsets, total = {}, 0
    for part in sorted(sizes):
        offsets[part], total = total, total + sizes[part]

    def positioned(batches):
        start = offsets.get(_partition_id(), 0)
        for batch in batches:
            positions = pa.array(range(start, start + batch.num_rows), pa.int64())
            start += batch.num_rows
            yield batch.append_column(_POSITION, positions)

    schema = pa.schema(list(_arrow_of(ordered)) + [pa.field(_POSITION, pa.int64(), nullable=False)])
    return ordered.mapInArrow(positioned, _spark_schema(schema)), ordered, total


def _arrow_of(df):
    """The Arrow schema of a DataFrame's columns."""
    from pyspark.sql.pandas.types import to_arrow_schema

    return to_arrow_schema(df.schema)


def _with_clv_ranks(model_bytes, features_df, parts):
    """``features_df`` with each customer's ``clv_rank`` in the whole base (the column
    ``_lookalike.CLV_RANK_COLUMN``) and CLV (``_lookalike.CLV_COLUMN``, which the later passes
    read instead of predicting it again), for seed rules that name it: every customer's CLV key
    (from the earlier stages' model), sorted by Spark (highest first, equal keys by id, as one
    process ranks them), each position over the customers. Cached; the caller unpersists."""
    def keyed(batches):
        batches = list(batches)
        if batches:
            yield from _lookalike.audience_clv(model_bytes.value,
                                               pa.Table.from_batches(batches)).to_batches()

    keys = features_df.mapInArrow(keyed, "customer_id string, clv_key long, clv double")
    ranked, ordered, customers = _positioned(keys, parts, keys["clv_key"].desc(),
                                             keys["customer_id"].asc())
    try:
        def ranks(batches):
            for batch in batches:
                # position / customers in doubles: the division one process makes.
                rank = pc.divide(pc.cast(batch.column(_POSITION), pa.float64()),
                                 pa.scalar(float(customers)))
                # The CLV goes along, so that the later passes need not predict it again.
                yield pa.RecordBatch.from_arrays(
                    [batch.column("customer_id"), rank, batch.column("clv")],
                    ["customer_id", _lookalike.CLV_RANK_COLUMN, _lookalike.CLV_COLUMN])

        ranked = ranked.mapInArrow(
            ranks, f"customer_id string, {_lookalike.CLV_RANK_COLUMN} double, "
                   f"{_lookalike.CLV_COLUMN} double")
        id_type = features_df.schema["customer_id"].dataType
        ranked = ranked.withColumn("customer_id", ranked["customer_id"].cast(id_type))
        # The join's shuffle partitions merged back to as many as the features had.
        joined = features_df.join(ranked, "customer_id").coalesce(parts).persist()
        joined.count()
    finally:
        ordered.unpersist()
    return joined


def _audiences_in_passes(spec, rules, counts, sums, features_df, as_of):
    """The ``[[audience]]`` fit over ``features_df``'s partitions, for audiences with
    ``candidate_sample``: a survey pass (scaler statistics, the seeds, the candidates' count
    and hash sample), the scorers fitted on the driver, then a pass that writes every
    candidate's strength key; Spark sorts those (strength descending, id ascending) and the
    customers at each tier's last rank become the tier cuts. Seed rules read the segments and
    CLV of the earlier stages, trained first from the same counts."""
    earlier = _lookalike.earlier_stages(spec)
    interim = _lookalike.train_counted(earlier, rules, counts, sums, as_of=as_of)
    context = features_df.sparkSession.sparkContext
    model_bytes = context.broadcast(interim.to_bytes())
    ranked_df = None
    if _lookalike.ranks_by_clv(spec):
        features_df = ranked_df = _with_clv_ranks(model_bytes, features_df, len(counts))
    fit = _lookalike.AudienceFit(spec)
    seed_lists = context.broadcast(fit.seed_lists)
    fit.absorb_surveys(_per_partition(
        features_df,
        lambda table: _lookalike.audience_survey(spec, seed_lists.value, model_bytes.value,
                                                 table)))
    fitted = fit.fitted()

    def ranked(batches):
        batches = list(batches)
        if batches:
            yield from _lookalike.audience_strengths(
                spec, seed_lists.value, fitted, model_bytes.value,
                pa.Table.from_batches(batches)).to_batches()

    scored = features_df.mapInArrow(
        ranked, "audience long, customer_id string, strength_key long").persist()
    try:
        for audience, ranks in enumerate(fit.cut_ranks()):
            wanted = [rank - 1 for rank in ranks]
            candidates = scored.where(scored["audience"] == audience)
            # Spark orders strings by their UTF-8 bytes, as the ranking's tie-break does.
            positioned, ordered, _ = _positioned(candidates, len(counts),
                                                 candidates["strength_key"].desc(),
                                                 candidates["customer_id"].asc())
            try:
                found = positioned.where(positioned[_POSITION].isin(wanted)).collect()
            finally:
                ordered.unpersist()
            at = {row[_POSITION]: (row["strength_key"], row["customer_id"]) for row in found}
            fit.set_cuts(audience, [at[rank - 1] for rank in ranks])
    finally:
        scored.unpersist()
        model_bytes.unpersist()
        seed_lists.unpersist()
        if ranked_df is not None:
            ranked_df.unpersist()
    return fit


def train(config, features_df, *, as_of=None):
    """Trains the ``[segments]``, ``[value]``, ``[clusters]`` and ``[[audience]]`` stages of a
    pipeline on a Spark DataFrame of features (one row per customer, as ``features`` makes
    it) and returns the ``Model``: the model ``lookalike train`` makes from the same features.

    ``config`` is a pipeline file's path or a dict of its sections (``[input]`` may be left out:
    the features are given). No customer rows reach the driver. Each partition is counted: the
    distinct (x, t_x, T) histories and the repeat buyers' (x, mean spend) with their counts,
    and each score input's values with theirs. The counts merge exactly, so the value
    parameters and the segment edges and tier thresholds are those of one process, bit for bit.
    A second pass segments every partition with those edges for the segment report: its counts
    are exact, its revenues and means equal up to the order of additions.

    ``[clusters]`` needs ``init = "sample"``: k-means++ starts from the ``init_sample``
    customers (default 50,000) with the lowest hash of their id, which does not depend on the
    partitioning, and Lloyd's iterations run a pass each over the partitions, their cluster
    sums merged in partition order. ``lookalike train`` with the same spec makes the same fit:
    every customer in the same cluster, centroids and inertia equal to rounding (1e-9). The
    silhouette is computed on the first ``silhouette_sample`` customers of that hash sample.

    ``[[audience]]`` needs ``candidate_sample``: the scorer is fitted on the driver from every
    seed (in id order) against the ``candidate_sample`` candidates with the lowest hash of
    their id; the scaler's statistics are merged from every partition (standard scaling's mean
    and variance from exact sums rounded once, robust quartiles from value counts), and each
    tier's cut is an exact order statistic of every candidate's strength, found by Spark's
    sort. ``lookalike train`` with the same spec makes the same fit, bit for bit: the seeds,
    the scaler, the scorer and every tier cut.
    Seed rules may name the segment columns, ``clv`` and ``clv_rank`` (from the stages trained
    before): ``clv_rank`` is a customer's position in the whole base's CLV order (Spark sorts
    every customer's CLV; equal values by id), as ``lookalike train`` ranks them.

    ``as_of`` (for the manifest) defaults to the pipeline's ``[features] as_of``. The DataFrame
    is cached during the passes (unless it already is, in which case its cache is left
    alone)."""
    if isinstance(config, dict) and "input" not in config:
        config = {"input": {"transactions": "(a Spark DataFrame)"}, **config}
    spec, rules = _lookalike.training_plan(config)
    if "customer_id" not in features_df.columns:
        raise _lookalike.InputError(
            f"the features DataFrame has no customer_id column (its columns: "
            f"{', '.join(features_df.columns)})")
    level = features_df.storageLevel
    cached_here = not (level.useMemory or level.useDisk)
    if cached_here:
        features_df = features_df.persist()
    try:
        counts = _per_partition(features_df, lambda table: _lookalike.training_counts(spec, table))
        if not counts:
            raise _lookalike.InputError("the features DataFrame has no rows")
        trained = _lookalike.trained_scores(spec, rules, counts)
        sums = []
        if trained is not None:
            sums = _per_partition(
                features_df, lambda table: _lookalike.segment_sums(spec, rules, trained, table))
        audiences = None
        if _json.loads(spec).get("audience"):
            audiences = _audiences_in_passes(spec, rules, counts, sums, features_df, as_of)
        clusters = None
        if _json.loads(spec).get("clusters") is not None:
            clusters = _clusters_in_passes(spec, features_df)
        return _lookalike.train_counted(spec, rules, counts, sums, clusters, audiences,
                                        as_of=as_of)
    finally:
        if cached_here:
            features_df.unpersist()
