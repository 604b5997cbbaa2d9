"""k-means peers for issue #4's benchmark: scikit-learn and FAISS on the same data and start.

    python3 benches/kmeans_peers.py make DIR    # DIR/blobs.parquet (1M x 16), DIR/start.csv (k = 64)
    python3 benches/kmeans_peers.py run DIR [REPEATS]

`make` draws 64 centres uniformly in [-10, 10]^16 and 1M points around them with N(0, 3^2) noise
(overlapping, so 20 Lloyd iterations do not converge strictly), plus 64 distinct data points as the
shared initial centroids. `run` times, per peer and precision, with the median and min of REPEATS:
  lloyd20  20 Lloyd iterations from start.csv (tol = 0), inertia and iterations reported;
  init     scikit-learn's greedy k-means++ alone (FAISS has no k-means++);
  fit      an end-to-end fit with the peer's defaults (scikit-learn: k-means++, tol 1e-4, up to
           300 iterations; FAISS: random init, 25 iterations, every point used).
Results go to stdout and DIR/peers.json. Needs `pip install scikit-learn faiss-cpu pyarrow`.
"""
import json
import statistics
import sys
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

N, D, K = 1_000_000, 16, 64


def make(directory):
    rng = np.random.default_rng(0)
    centres = rng.uniform(-10, 10, size=(K, D))
    points = centres[np.arange(N) % K] + rng.normal(0, 3, size=(N, D))
    columns = {"customer_id": pa.array([f"c{i:07d}" for i in range(N)])}
    for j in range(D):
        columns[f"f{j:02d}"] = pa.array(points[:, j])
    pq.write_table(pa.table(columns), f"{directory}/blobs.parquet")
    start = points[rng.choice(N, K, replace=False)]
    header = ",".join(f"f{j:02d}" for j in range(D))
    np.savetxt(f"{directory}/start.csv", start, delimiter=",", header=header, comments="", fmt="%.17g")


def timed(repeats, run):
    times, result = [], None
    for _ in range(repeats):
        began = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - began)
    return statistics.median(times), min(times), result


def run(directory, repeats):
    from sklearn.cluster import KMeans, kmeans_plusplus
    import faiss

    faiss.omp_set_num_threads(2)
    table = pq.read_table(f"{directory}/blobs.parquet")
    x64 = np.column_stack([table.column(f"f{j:02d}").to_numpy() for j in range(D)])
    start64 = np.loadtxt(f"{directory}/start.csv", delimiter=",", skiprows=1)
    rows = []

    def record(peer, task, precision, median, fastest, inertia=None, iterations=None):
        rows.append(dict(peer=peer, task=task, precision=precision, median_s=median, min_s=fastest,
                         inertia=inertia, iterations=iterations))
        extra = "" if inertia is None else f"  inertia {inertia:.10e}  iterations {iterations}"
        print(f"{peer:<8} {task:<8} {precision}  median {median:7.3f} s  min {fastest:7.3f} s{extra}", flush=True)

    for precision, dtype in (("f32", np.float32), ("f64", np.float64)):
        x = np.ascontiguousarray(x64.astype(dtype))
        start = start64.astype(dtype)

        def sk_lloyd():
            return KMeans(K, init=start, n_init=1, max_iter=20, tol=0, algorithm="lloyd").fit(x)

        median, fastest, model = timed(repeats, sk_lloyd)
        record("sklearn", "lloyd20", precision, median, fastest, float(model.inertia_), int(model.n_iter_))
        median, fastest, _ = timed(repeats, lambda: kmeans_plusplus(x, K, random_state=0))
        record("sklearn", "init", precision, median, fastest)
        median, fastest, model = timed(repeats, lambda: KMeans(K, n_init=1, random_state=0).fit(x))
        record("sklearn", "fit", precision, median, fastest, float(model.inertia_), int(model.n_iter_))

    x = np.ascontiguousarray(x64.astype(np.float32))

    def faiss_fit(iterations, start):
        km = faiss.Kmeans(D, K, niter=iterations, seed=0, max_points_per_centroid=N, min_points_per_centroid=1)
        km.train(x, init_centroids=start)
        return km

    def faiss_inertia(km):
        distances, _ = km.index.search(x, 1)
        return float(distances.astype(np.float64).sum())

    median, fastest, km = timed(repeats, lambda: faiss_fit(20, start64.astype(np.float32)))
    record("faiss", "lloyd20", "f32", median, fastest, faiss_inertia(km), 20)
    median, fastest, km = timed(repeats, lambda: faiss_fit(25, None))
    record("faiss", "fit", "f32", median, fastest, faiss_inertia(km), 25)
    with open(f"{directory}/peers.json", "w") as out:
        json.dump(rows, out, indent=1)


def seeds(directory, count):
    """End-to-end f32 fits with seeds 0..count-1: scikit-learn (k-means++, n_init=1, to its
    default tol) and FAISS (its defaults: random init, 25 iterations). One fit per seed."""
    from sklearn.cluster import KMeans
    import faiss

    faiss.omp_set_num_threads(2)
    table = pq.read_table(f"{directory}/blobs.parquet")
    x = np.ascontiguousarray(
        np.column_stack([table.column(f"f{j:02d}").to_numpy() for j in range(D)]).astype(np.float32))
    rows = []
    for seed in range(count):
        began = time.perf_counter()
        model = KMeans(K, n_init=1, random_state=seed).fit(x)
        rows.append(dict(peer="sklearn", seed=seed, seconds=time.perf_counter() - began,
                         inertia=float(model.inertia_), iterations=int(model.n_iter_)))
        began = time.perf_counter()
        km = faiss.Kmeans(D, K, niter=25, seed=seed, max_points_per_centroid=N, min_points_per_centroid=1)
        km.train(x)
        seconds = time.perf_counter() - began
        distances, _ = km.index.search(x, 1)
        rows.append(dict(peer="faiss", seed=seed, seconds=seconds,
                         inertia=float(distances.astype(np.float64).sum()), iterations=25))
        for row in rows[-2:]:
            print(f"{row['peer']:<8} seed {seed}  {row['seconds']:7.3f} s  inertia {row['inertia']:.6e}", flush=True)
    with open(f"{directory}/peers_seeds.json", "w") as out:
        json.dump(rows, out, indent=1)


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2])
    elif sys.argv[1] == "seeds":
        seeds(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 5)
    else:
        run(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 3)
