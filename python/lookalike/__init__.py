"""lookalike: find the customers who look like your best ones and say what each is worth.

Tables go in as any Arrow table (pyarrow, polars, DuckDB, pandas 2.2+) or as file paths, and
come back as ``pyarrow.Table`` (``.to_pandas()``, ``polars.from_arrow(...)``). The computing is
done in Rust, with the GIL released, by the same library as the ``lookalike`` command line.

>>> import lookalike
>>> model = lookalike.train("data/pipeline.example.toml")
>>> features = lookalike.features("data/sample/transactions.csv", "data/sample/events.csv",
...                               "data/sample/customers.csv", as_of="2026-01-01")
>>> scores = model.score(features)
"""

from .cluster import (
    KMeans,
    adjusted_rand_score,
    calinski_harabasz_score,
    davies_bouldin_score,
    silhouette_score,
)
from .measure import measure, migration, minimum_detectable_lift
from .stages import evaluate_audience, expand, overlap, segment
from .value import BetaGeo, BetaGeoBetaBinom, GammaGamma, ModifiedBetaGeo, ParetoNBD, clv
from . import _lookalike, _progress
from ._lookalike import InputError, LookalikeError, Model, ModelError, __version__


def features(transactions, events=None, customers=None, *, progress=None, **options):
    return _lookalike.features(transactions, events, customers,
                               progress=_progress.resolve(progress), **options)


def generate(out, *, progress=None, **options):
    return _lookalike.generate(out, progress=_progress.resolve(progress), **options)


def train(config, *, transactions=None, events=None, customers=None, progress=None,
          pseudonymize=None):
    return _lookalike.train(config, transactions=transactions, events=events,
                            customers=customers, progress=_progress.resolve(progress),
                            pseudonymize=pseudonymize)


features.__doc__ = (_lookalike.features.__doc__ or "") + """

``progress``: a callable ``progress(stage, done, total)`` (total None when unknown), or True for
tqdm bars when tqdm is installed."""
generate.__doc__ = _lookalike.generate.__doc__
train.__doc__ = (_lookalike.train.__doc__ or "") + """

``transactions``, ``events``, ``customers``: a table (pyarrow, polars, DuckDB, pandas) or a
path that replaces the log the pipeline file names. ``progress``: as for ``features``.
``pseudonymize``: a key file; every customer id, of the logs and of the seed lists, is replaced
by its keyed hash (HMAC-SHA256) before anything is stored, as ``train --pseudonymize`` does."""


def pseudonymize(ids, key):
    """Customer ids (a list, a pyarrow array, or a table's ``customer_id`` column) replaced by
    their pseudonyms under the key file ``key``, as ``--pseudonymize`` writes them: a table
    comes back with its ``customer_id`` column replaced, anything else as a list."""
    import pyarrow as pa

    if hasattr(ids, "__arrow_c_stream__") and not isinstance(ids, (pa.Array, pa.ChunkedArray)):
        table = pa.table(ids)
        hashed = _lookalike.pseudonymize([str(v) for v in table.column("customer_id").to_pylist()],
                                         key)
        at = table.schema.get_field_index("customer_id")
        field = table.schema.field(at).with_type(pa.string())
        return table.set_column(at, field, pa.array(hashed, pa.string()))
    if isinstance(ids, (pa.Array, pa.ChunkedArray)):
        ids = ids.to_pylist()
    return _lookalike.pseudonymize([str(v) for v in ids], key)

__all__ = [
    "BetaGeo",
    "BetaGeoBetaBinom",
    "ModifiedBetaGeo",
    "GammaGamma",
    "InputError",
    "KMeans",
    "LookalikeError",
    "Model",
    "ModelError",
    "ParetoNBD",
    "__version__",
    "adjusted_rand_score",
    "calinski_harabasz_score",
    "clv",
    "davies_bouldin_score",
    "evaluate_audience",
    "expand",
    "features",
    "generate",
    "measure",
    "migration",
    "minimum_detectable_lift",
    "overlap",
    "pseudonymize",
    "segment",
    "silhouette_score",
    "train",
]
