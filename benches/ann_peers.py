"""hnswlib on the approximate-index benchmark of `cargo bench -p lookalike-cluster --bench knn
-- ivf`: 1M × 16 Gaussian float32 points, 10k queries, k = 10, 2 threads. For each build
setting, the build time and the recall@10 (against FAISS's exact search) at increasing ef, so
build times can be compared at equal recall.

    OMP_NUM_THREADS=2 python3 benches/ann_peers.py
"""

import time

import faiss
import hnswlib
import numpy as np

rng = np.random.default_rng(3)
points = rng.standard_normal((1_000_000, 16), dtype=np.float32)
queries = rng.standard_normal((10_000, 16), dtype=np.float32)
flat = faiss.IndexFlatL2(16)
flat.add(points)
_, truth = flat.search(queries, 10)


def recall(found):
    return np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth)])


for m, ef_construction in [(16, 200), (8, 100), (8, 40)]:
    index = hnswlib.Index(space="l2", dim=16)
    began = time.perf_counter()
    index.init_index(max_elements=len(points), M=m, ef_construction=ef_construction, random_seed=0)
    index.set_num_threads(2)
    index.add_items(points)
    build = time.perf_counter() - began
    results = []
    for ef in [10, 20, 40, 80, 160]:
        index.set_ef(ef)
        began = time.perf_counter()
        found, _ = index.knn_query(queries, k=10)
        elapsed = time.perf_counter() - began
        results.append(f"ef {ef}: recall {recall(found):.4f} ({len(queries) / elapsed:.0f} q/s)")
    print(f"hnswlib M={m} ef_construction={ef_construction}: build {build:.1f} s; " + "; ".join(results))
