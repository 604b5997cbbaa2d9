"""Exact 10-nearest-neighbour search, 1M candidates against 10k seeds (d = 16, float32), with
FAISS IndexFlatL2 and scikit-learn brute force: the peers of `cargo bench -p lookalike-cluster
--bench knn` (same sizes, same Gaussian distribution).

    OMP_NUM_THREADS=2 python3 benches/knn_peers.py [REPEATS]

Also times FAISS the other way round (10k queries against 1M points), the form the issue's
"770 queries/s" figure is quoted in: the same 10^10 distances.
"""

import sys
import time

import faiss
import numpy as np
from sklearn.neighbors import NearestNeighbors

repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 3
rng = np.random.default_rng(1)
candidates = rng.standard_normal((1_000_000, 16), dtype=np.float32)
seeds = rng.standard_normal((10_000, 16), dtype=np.float32)


def timed(name, run):
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        run()
        times.append(time.perf_counter() - began)
    print(f"{name}: median {np.median(times):.2f} s, min {min(times):.2f} s")


def faiss_candidates_query_seeds():
    index = faiss.IndexFlatL2(16)
    index.add(seeds)
    index.search(candidates, 10)


def faiss_seeds_query_candidates():
    index = faiss.IndexFlatL2(16)
    index.add(candidates)
    index.search(seeds, 10)


def sklearn_brute():
    NearestNeighbors(n_neighbors=10, algorithm="brute").fit(seeds).kneighbors(candidates)


print(f"faiss {faiss.__version__}, threads {faiss.omp_get_max_threads()}")
timed("FAISS IndexFlatL2, 1M queries against 10k seeds", faiss_candidates_query_seeds)
timed("FAISS IndexFlatL2, 10k queries against 1M points", faiss_seeds_query_candidates)
timed("scikit-learn brute, 1M queries against 10k seeds", sklearn_brute)
