"""KMeans and the clustering metrics against scikit-learn, the reference implementation."""

import numpy as np
import pytest
import sklearn.base
import sklearn.cluster
import sklearn.metrics

import lookalike
from lookalike.cluster import _matrix


def blobs(n=600, k=4, d=3, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=10.0, size=(k, d))
    truth = rng.integers(0, k, size=n)
    return centers[truth] + rng.normal(size=(n, d)), truth


def test_the_metrics_are_scikit_learns():
    X, truth = blobs()
    noisy = np.where(np.arange(len(truth)) % 7 == 0, (truth + 1) % 4, truth)
    labels = np.array(["a", "b", "c", "d"])[noisy]  # any labels, not only 0…k−1
    assert lookalike.silhouette_score(X, labels) == pytest.approx(
        sklearn.metrics.silhouette_score(X, labels), abs=1e-10)
    assert lookalike.davies_bouldin_score(X, labels) == pytest.approx(
        sklearn.metrics.davies_bouldin_score(X, labels), rel=1e-10)
    assert lookalike.calinski_harabasz_score(X, labels) == pytest.approx(
        sklearn.metrics.calinski_harabasz_score(X, labels), rel=1e-10)
    assert lookalike.adjusted_rand_score(truth, labels) == pytest.approx(
        sklearn.metrics.adjusted_rand_score(truth, labels), abs=1e-12)
    sampled = lookalike.silhouette_score(X, labels, sample_size=200)
    assert abs(sampled - sklearn.metrics.silhouette_score(X, labels)) < 0.05


def test_kmeans_finds_the_same_clusters_as_scikit_learn():
    X, truth = blobs()
    ours = lookalike.KMeans(n_clusters=4, n_init=3, random_state=0).fit(X)
    theirs = sklearn.cluster.KMeans(n_clusters=4, n_init=3, random_state=0).fit(X)
    assert lookalike.adjusted_rand_score(ours.labels_, theirs.labels_) == 1.0
    assert ours.inertia_ <= theirs.inertia_ * (1 + 1e-9)
    order = lambda c: c[np.lexsort(c.T)]
    np.testing.assert_allclose(order(ours.cluster_centers_), order(theirs.cluster_centers_),
                               rtol=1e-9, atol=1e-9)
    assert ours.converged_ and ours.n_iter_ >= 1 and ours.n_features_in_ == 3
    np.testing.assert_array_equal(ours.predict(X), ours.labels_)
    np.testing.assert_array_equal(ours.transform(X).argmin(axis=1), ours.labels_)
    assert ours.score(X) == pytest.approx(-ours.inertia_, rel=1e-9)
    for algorithm in ("hamerly", "minibatch", "linfa"):
        other = lookalike.KMeans(n_clusters=4, algorithm=algorithm, random_state=0).fit(X)
        assert lookalike.adjusted_rand_score(other.labels_, truth) > 0.95, algorithm
    narrow = lookalike.KMeans(n_clusters=4, precision="float32", random_state=0).fit(X)
    assert lookalike.adjusted_rand_score(narrow.labels_, ours.labels_) > 0.99


def test_integer_weights_are_repeated_rows():
    X, _ = blobs(n=200, seed=1)
    weights = np.random.default_rng(2).integers(1, 4, size=len(X)).astype(float)
    start = X[:4]
    weighted = lookalike.KMeans(n_clusters=4, init=start).fit(X, sample_weight=weights)
    repeated = lookalike.KMeans(n_clusters=4, init=start).fit(np.repeat(X, weights.astype(int), axis=0))
    np.testing.assert_allclose(weighted.cluster_centers_, repeated.cluster_centers_, rtol=1e-12)
    assert weighted.inertia_ == pytest.approx(repeated.inertia_, rel=1e-12)


def test_scikit_learn_conventions():
    model = lookalike.KMeans(n_clusters=3, algorithm="hamerly")
    clone = sklearn.base.clone(model)
    assert clone.get_params() == model.get_params() and clone is not model
    assert model.set_params(n_clusters=5) is model and model.n_clusters == 5
    with pytest.raises(ValueError):
        model.set_params(colour="red")
    X, _ = blobs(n=100)
    assert model.fit(X) is model
    assert not hasattr(lookalike.KMeans(), "cluster_centers_")
    with pytest.raises(lookalike.LookalikeError, match="not fitted"):
        lookalike.KMeans().predict(X)


def test_a_float64_matrix_is_read_in_place():
    X = np.ascontiguousarray(blobs(n=50)[0])
    kept, matrix = _matrix(X)
    assert kept is X
    assert matrix.values.buffers()[1].address == X.ctypes.data


def test_bad_input_is_refused_with_what_is_wrong():
    X, _ = blobs(n=50)
    with pytest.raises(lookalike.InputError, match="2-dimensional"):
        lookalike.KMeans(n_clusters=2).fit(X[:, 0])
    with pytest.raises(lookalike.InputError, match="init"):
        lookalike.KMeans(n_clusters=2, init="best").fit(X)
    broken = X.copy()
    broken[7, 1] = np.nan
    with pytest.raises(lookalike.InputError, match="row 7, column 1"):
        lookalike.KMeans(n_clusters=2).fit(broken)
    with pytest.raises(lookalike.InputError, match="distinct points"):
        lookalike.KMeans(n_clusters=60).fit(X)
    with pytest.raises(lookalike.InputError, match="features"):
        lookalike.KMeans(n_clusters=2).fit(X).predict(X[:, :2])


def test_a_fitted_model_pickles_and_refits_identically():
    import pickle

    X, _ = blobs(n=300)
    model = lookalike.KMeans(n_clusters=4, random_state=3).fit(X)
    copy = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(copy.predict(X), model.labels_)
    again = lookalike.KMeans(n_clusters=4, random_state=3).fit(X)
    np.testing.assert_array_equal(again.cluster_centers_, model.cluster_centers_)
    assert again.inertia_ == model.inertia_


def test_transform_is_the_distance_to_every_centroid():
    X, _ = blobs(n=200)
    model = lookalike.KMeans(n_clusters=4, random_state=0).fit(X)
    expected = np.sqrt(((X[:, None, :] - model.cluster_centers_[None, :, :]) ** 2).sum(axis=2))
    np.testing.assert_allclose(model.transform(X), expected, rtol=1e-12, atol=1e-12)
