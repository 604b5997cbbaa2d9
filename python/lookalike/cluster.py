"""k-means with scikit-learn's conventions, and the clustering quality metrics.

The computing is the Rust ``lookalike-cluster`` crate's (weighted k-means++ / k-means‖
initialisation; Lloyd, Hamerly or mini-batch iterations; f64 or f32), with the GIL released.
A C-contiguous float64 ``X`` is read in place, without a copy.

>>> import numpy as np
>>> from lookalike import KMeans
>>> X = np.random.default_rng(0).normal(size=(1000, 4))
>>> model = KMeans(n_clusters=8, random_state=0).fit(X)
>>> model.cluster_centers_.shape, model.labels_.shape
((8, 4), (1000,))
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from . import _lookalike

__all__ = [
    "KMeans",
    "adjusted_rand_score",
    "calinski_harabasz_score",
    "davies_bouldin_score",
    "silhouette_score",
]

_INITS = {"k-means++": "kmeans++", "kmeans++": "kmeans++", "kmeans-par": "kmeans-par",
          "k-means||": "kmeans-par", "random": "random", "auto": "auto"}
_ALGORITHMS = {"lloyd": "lloyd", "hamerly": "hamerly", "minibatch": "minibatch",
               "elkan": "hamerly", "linfa": "linfa"}


def _matrix(X, name: str = "X") -> tuple[np.ndarray, pa.Array]:
    """X as a C-contiguous float64 matrix and the Arrow array that shares its buffer."""
    X = np.ascontiguousarray(np.asarray(X, dtype=np.float64))
    if X.ndim != 2:
        raise _lookalike.InputError(f"{name} must be 2-dimensional, got shape {X.shape}")
    flat = pa.array(X.reshape(-1))
    return X, pa.FixedSizeListArray.from_arrays(flat, X.shape[1])


def _dense_labels(labels) -> tuple[np.ndarray, pa.Array]:
    """Any labels as 0…k−1 (order of first appearance is not kept: sorted unique values)."""
    _, dense = np.unique(np.asarray(labels), return_inverse=True)
    dense = dense.astype(np.int64).reshape(-1)
    return dense, pa.array(dense)


class KMeans:
    """Weighted k-means (scikit-learn's interface: ``fit`` returns self, fitted attributes end
    in ``_``).

    Parameters
    ----------
    n_clusters : int, default 8
    init : {"k-means++", "kmeans-par" (k-means‖), "random", "auto"} or ndarray (k, d)
        "auto" uses k-means‖ above 50,000 rows and k-means++ below.
    n_init : int, default 1
        Restarts; the lowest inertia is kept.
    max_iter : int, default 300
    tol : float, default 1e-4
        Relative to the mean variance of the columns, as scikit-learn.
    algorithm : {"lloyd", "hamerly", "minibatch", "linfa"}, default "lloyd"
        "hamerly" gives Lloyd's result with fewer distance computations ("elkan" maps to it).
    batch_size : int, default 4096
        Rows per mini-batch.
    precision : {"float64", "float32"}, default "float64"
    random_state : int, default 0
    """

    def __init__(self, n_clusters: int = 8, *, init="k-means++", n_init: int = 1,
                 max_iter: int = 300, tol: float = 1e-4, algorithm: str = "lloyd",
                 batch_size: int = 4096, precision: str = "float64", random_state: int = 0):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.algorithm = algorithm
        self.batch_size = batch_size
        self.precision = precision
        self.random_state = random_state

    _PARAMS = ("n_clusters", "init", "n_init", "max_iter", "tol", "algorithm", "batch_size",
               "precision", "random_state")

    def get_params(self, deep: bool = True) -> dict:
        """The constructor's parameters (scikit-learn's convention)."""
        return {name: getattr(self, name) for name in self._PARAMS}

    def set_params(self, **params) -> "KMeans":
        """Sets constructor parameters; returns self."""
        for name, value in params.items():
            if name not in self._PARAMS:
                raise ValueError(f"KMeans has no parameter {name!r}")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        changed = {k: v for k, v in self.get_params().items()
                   if not (isinstance(v, np.ndarray)) and v != type(self)().get_params()[k]}
        return "KMeans(" + ", ".join(f"{k}={v!r}" for k, v in changed.items()) + ")"

    def fit(self, X, y=None, sample_weight=None) -> "KMeans":
        """Fits the centroids to the rows of X (weighted by ``sample_weight``); returns self."""
        X, matrix = _matrix(X)
        weights = None
        if sample_weight is not None:
            weights = np.ascontiguousarray(np.asarray(sample_weight, dtype=np.float64))
            weights = pa.array(weights.reshape(-1))
        if isinstance(self.init, str):
            if self.init not in _INITS:
                raise _lookalike.InputError(f"init = {self.init!r}: expected one of {sorted(_INITS)}")
            init, initial = _INITS[self.init], None
        else:
            init, (_, initial) = "random", _matrix(self.init, "init")
        if self.algorithm not in _ALGORITHMS:
            raise _lookalike.InputError(
                f"algorithm = {self.algorithm!r}: expected one of {sorted(_ALGORITHMS)}")
        if self.precision not in ("float64", "float32"):
            raise _lookalike.InputError(f"precision = {self.precision!r}: float64 or float32")
        centers, labels, inertia, n_iter, converged = _lookalike.kmeans_fit(
            matrix, self.n_clusters, init, _ALGORITHMS[self.algorithm], self.n_init,
            self.max_iter, self.tol, self.random_state, self.batch_size,
            self.precision == "float32", weights, initial)
        self.cluster_centers_ = centers.to_numpy().reshape(self.n_clusters, X.shape[1])
        self.labels_ = labels.to_numpy()
        self.inertia_ = inertia
        self.n_iter_ = n_iter
        self.converged_ = converged
        self.n_features_in_ = X.shape[1]
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "cluster_centers_"):
            raise _lookalike.LookalikeError("this KMeans is not fitted yet: call fit first")

    def _nearest(self, X) -> tuple[np.ndarray, np.ndarray]:
        self._check_fitted()
        _, matrix = _matrix(X)
        _, centers = _matrix(self.cluster_centers_, "cluster_centers_")
        labels, squared = _lookalike.kmeans_predict(centers, matrix)
        return labels.to_numpy(), squared.to_numpy()

    def predict(self, X) -> np.ndarray:
        """The nearest centroid of each row."""
        return self._nearest(X)[0]

    def fit_predict(self, X, y=None, sample_weight=None) -> np.ndarray:
        """``fit`` then the training rows' clusters."""
        return self.fit(X, sample_weight=sample_weight).labels_

    def transform(self, X) -> np.ndarray:
        """Euclidean distance of each row to every centroid, shape (n, k)."""
        self._check_fitted()
        X, matrix = _matrix(X)
        _, centers = _matrix(self.cluster_centers_, "cluster_centers_")
        distances = _lookalike.kmeans_transform(centers, matrix).to_numpy()
        return distances.reshape(X.shape[0], len(self.cluster_centers_))

    def fit_transform(self, X, y=None, sample_weight=None) -> np.ndarray:
        """``fit`` then ``transform``."""
        return self.fit(X, sample_weight=sample_weight).transform(X)

    def score(self, X, y=None, sample_weight=None) -> float:
        """Minus the (weighted) sum of squared distances to the nearest centroid."""
        squared = self._nearest(X)[1]
        if sample_weight is not None:
            squared = squared * np.asarray(sample_weight, dtype=np.float64)
        return -float(squared.sum())


def silhouette_score(X, labels, *, sample_size: int | None = None, random_state: int = 0) -> float:
    """Mean silhouette coefficient (scikit-learn's definition); with ``sample_size``, on a
    stratified sample of that many rows."""
    _, matrix = _matrix(X)
    _, dense = _dense_labels(labels)
    return _lookalike.silhouette_score(matrix, dense, sample_size, random_state)


def davies_bouldin_score(X, labels) -> float:
    """Davies-Bouldin index (lower is better)."""
    _, matrix = _matrix(X)
    return _lookalike.davies_bouldin_score(matrix, _dense_labels(labels)[1])


def calinski_harabasz_score(X, labels) -> float:
    """Calinski-Harabasz index (higher is better)."""
    _, matrix = _matrix(X)
    return _lookalike.calinski_harabasz_score(matrix, _dense_labels(labels)[1])


def adjusted_rand_score(labels_true, labels_pred) -> float:
    """Adjusted Rand index: 1 for the same partition, about 0 for chance agreement."""
    return _lookalike.adjusted_rand_score(_dense_labels(labels_true)[1],
                                          _dense_labels(labels_pred)[1])
