"""Type stubs of the native module (see the docstrings for examples)."""

from os import PathLike
from typing import Any, Mapping, Optional, Union

import pyarrow

__version__: str

class LookalikeError(Exception):
    """Every error lookalike raises."""

class InputError(LookalikeError):
    """Bad input: a log, feature table, pipeline file or id list (file, row, column, value)."""

class ModelError(LookalikeError):
    """A model directory or image that cannot be loaded or does not fit the data."""

_Path = Union[str, "PathLike[str]"]

class Model:
    """A trained pipeline: segments, clusters, value and audiences."""

    @staticmethod
    def load(path: _Path) -> "Model":
        """Reads and checks a model directory."""
    def save(self, path: _Path) -> None:
        """Writes the model directory, atomically."""
    def to_bytes(self) -> bytes:
        """The model as bytes, to send to workers."""
    @staticmethod
    def from_bytes(data: bytes) -> "Model":
        """A model from ``to_bytes()``."""
    def score(self, features: Any, *, threads: Optional[int] = None) -> pyarrow.Table:
        """Scores a feature table (any Arrow table): one row per customer, same order.
        ``threads``: worker threads (default every core); the rows do not depend on it."""
    def explain(self, features: Any, customer_id: str) -> dict[str, Any]:
        """Everything the model derives for one customer, with the reasons (``explain --json``)."""
    def forget(self, features: Any, ids: list[str], *, refit_all: bool = False) -> "Model":
        """The model without the customers ``ids``: audiences refitted without them."""
    @property
    def required_columns(self) -> list[str]:
        """The columns ``score`` reads besides ``customer_id``."""
    @property
    def output_schema(self) -> pyarrow.Schema:
        """The schema of ``score``'s output."""
    @property
    def manifest(self) -> dict[str, Any]:
        """``manifest.json``: versions, as-of date, inputs, settings, metrics."""
    @property
    def audiences(self) -> list[str]:
        """The audiences' names."""

def train(
    config: Union[_Path, Mapping[str, Any]],
    transactions: Optional[Any] = None,
    events: Optional[Any] = None,
    customers: Optional[Any] = None,
    progress: Optional[Any] = None,
    pseudonymize: Optional[_Path] = None,
) -> Model:
    """Trains the pipeline of a pipeline file (or a dict of its sections)."""

def features(
    transactions: Any,
    events: Optional[Any] = None,
    customers: Optional[Any] = None,
    *,
    as_of: Optional[str] = None,
    holdout_end: Optional[str] = None,
    time_unit: str = "weeks",
    top_levels: int = 8,
    columns: Optional[Mapping[str, str]] = None,
    on_error: str = "fail",
    format: Optional[str] = None,
    delimiter: Optional[str] = None,
    missing_customer: str = "fail",
    date_format: Optional[str] = None,
    attributes: Optional[list[str]] = None,
    progress: Optional[Any] = None,
    pseudonymize: Optional[_Path] = None,
    vocabulary: Optional[str] = None,
    threads: Optional[int] = None,
) -> pyarrow.Table:
    """One row per customer from transaction (and event and customer) logs, as of a date."""

def label_totals(
    transactions: Any,
    *,
    as_of: str,
    holdout_end: Optional[str] = None,
    columns: Optional[Mapping[str, str]] = None,
    on_error: str = "fail",
    missing_customer: str = "fail",
    date_format: Optional[str] = None,
    threads: Optional[int] = None,
) -> str:
    """One part's label totals (JSON), for ``lookalike.spark``."""

def attribute_summaries(
    customers: Any,
    *,
    top_levels: int = 8,
    columns: Optional[Mapping[str, str]] = None,
    on_error: str = "fail",
    date_format: Optional[str] = None,
) -> str:
    """One part's customers-table attribute summaries (JSON), for ``lookalike.spark``."""

def vocabulary(totals: list[str], *, top_levels: int = 8, attributes: list[str] = ...) -> str:
    """The whole base's vocabulary (JSON) from the parts' label totals and attribute summaries,
    for ``lookalike.spark``."""

def training_plan(config: Union[_Path, Mapping[str, Any]]) -> tuple[str, Optional[str]]:
    """The pipeline spec (JSON) and its segment rules' text, for ``lookalike.spark.train``."""

def training_counts(spec: str, features: Any) -> str:
    """One part's training counts (JSON), for ``lookalike.spark.train``."""

def trained_scores(spec: str, rules: Optional[str], counts: list[bytes]) -> Optional[str]:
    """The segment edges and tier thresholds (JSON) of the merged counts (each part's JSON
    compressed with zstd); None without segments."""

def segment_sums(spec: str, rules: Optional[str], trained: str, features: Any) -> str:
    """One part's segment report sums (JSON), for ``lookalike.spark.train``."""

class ClusterFit:
    """The ``[clusters]`` fit over a DataFrame's partitions, pass by pass."""

    columns: list[str]
    def __init__(self, spec: str) -> None: ...
    def task(self) -> Optional[tuple[bool, str]]:
        """The next pass (whether it reads only the clustered columns, the task as JSON)."""
    def absorb(self, answers: list[bytes]) -> None:
        """The partitions' answers to the last task (zstd-compressed JSON), merged in the order
        given."""

def cluster_answer(spec: str, task: str, features: Any) -> str:
    """One partition's answer (JSON) to a clusters task."""

class AudienceFit:
    """The ``[[audience]]`` fit over a DataFrame's partitions: surveys, scorers, tier cuts."""

    seed_lists: str
    def __init__(self, spec: str) -> None: ...
    def absorb_surveys(self, surveys: list[bytes]) -> None:
        """Merges the partitions' surveys (zstd-compressed JSON) in the order given and fits
        every scorer."""
    def fitted(self) -> str:
        """The fitted scorers (JSON), for ``audience_strengths``."""
    def cut_ranks(self) -> list[list[int]]:
        """Per audience, the rank (1 = best) of each tier's last customer."""
    def set_cuts(self, audience: int, cuts: list[tuple[int, str]]) -> None:
        """The (strength key, customer id) at each of the audience's ``cut_ranks``."""

CLV_RANK_COLUMN: str
CLV_COLUMN: str

def ranks_by_clv(spec: str) -> bool:
    """Whether a seed rule names ``clv_rank`` (the features then need ``CLV_RANK_COLUMN``)."""

def audience_clv(interim: bytes, features: Any) -> Any:
    """Every customer of one partition: ``customer_id``, ``clv_key`` (sorts as the CLV) and
    ``clv`` (the value behind the key, carried as ``CLV_COLUMN``)."""

def earlier_stages(spec: str) -> str:
    """The spec (JSON) without ``[clusters]`` and ``[[audience]]``: what seed rules read."""

def audience_survey(spec: str, seed_lists: str, interim: bytes, features: Any) -> str:
    """One partition's audience survey (JSON)."""

def audience_strengths(
    spec: str, seed_lists: str, fitted: str, interim: bytes, features: Any
) -> Any:
    """Every candidate of one partition: ``audience``, ``customer_id``, ``strength_key``."""

def train_counted(
    spec: str,
    rules: Optional[str],
    counts: list[bytes],
    sums: list[bytes],
    clusters: Optional[ClusterFit] = None,
    audiences: Optional[AudienceFit] = None,
    *,
    as_of: Optional[str] = None,
    features_name: str = "the Spark features",
) -> Model:
    """The model fitted from the parts' merged counts and segment sums (each part's JSON
    compressed with zstd), with the clusters and audiences fitted over the parts."""

def generate(
    out: _Path,
    *,
    customers: int = 5000,
    seed: int = 7,
    start: str = "2023-01-01",
    end: str = "2026-01-01",
    future_days: int = 182,
    format: str = "csv",
    scenario: str = "standard",
    order: str = "customer",
    progress: Optional[Any] = None,
) -> dict[str, Any]:
    """Writes a seeded synthetic customer base (as ``lookalike generate``)."""

def measure_json(
    members: list[tuple[str, str, bool]],
    transactions: _Path,
    *,
    start: str,
    end: Optional[str] = None,
    pre_start: Optional[str] = None,
    level: float = 0.95,
    columns: Optional[Mapping[str, str]] = None,
    missing_customer: str = "fail",
    date_format: Optional[str] = None,
) -> str:
    """The campaign's lift per group, as JSON (see ``lookalike.measure``)."""

def minimum_detectable_lift_of(
    treated: int, control: int, baseline: float, *, alpha: float = 0.05, power: float = 0.8
) -> Optional[float]:
    """The minimum detectable relative lift of a two-proportion test."""

def migration_json(before: list[tuple[str, str]], after: list[tuple[str, str]]) -> str:
    """The transition matrix between two runs' segments, as JSON."""

def pseudonymize(values: list[str], key: _Path) -> list[str]:
    """Customer ids replaced by their pseudonyms (HMAC-SHA256, hex) under a key file."""
