//! An approximate k-nearest-neighbour index: an inverted file of k-means cells (IVF-Flat, as
//! FAISS's `IndexIVFFlat`; Jégou, Douze & Schmid 2011 describe the inverted file).
//!
//! Building clusters the points into `lists` cells with this crate's k-means (10 Lloyd passes
//! from random points, trained on a sample of 40 points per cell — FAISS's choices — then every
//! point assigned by the blocked SIMD kernel) and stores the points cell by cell. A search finds each query's `probes` nearest cells (an exact
//! k-nearest search among the centroids) and scans only their points, exactly, keeping the k
//! best. Recall grows with `probes`/`lists`; with every cell probed the search is exact. The
//! build is a few k-means passes — no graph to insert into, which is where HNSW spends its time.

use ndarray::{Array2, ArrayView2, Axis};
use rand::SeedableRng;
use rand::seq::index::sample;
use rand_chacha::ChaCha8Rng;

use crate::distance::{squared_distance, standard_layout, values_of, vectorised};
use crate::error::ClusterError;
use crate::float::{Float, wide};
use crate::kmeans::{Init, KMeansParams};
use crate::knn::{Neighbours, by_query_blocks, insert, k_nearest};

/// Training points per cell.
const SAMPLE_PER_LIST: usize = 40;

/// The index: centroids, and the points grouped by cell.
#[derive(Debug, Clone)]
pub struct IvfIndex<F: Float> {
    centroids: Array2<F>,
    /// Cell c holds `points[offsets[c]..offsets[c + 1]]`.
    offsets: Vec<usize>,
    /// The points, cell by cell.
    points: Array2<F>,
    /// Original index of each stored point.
    original: Vec<u32>,
}

impl<F: Float> IvfIndex<F> {
    /// Builds an index of `points` with `lists` cells (k-means with random `seed`).
    ///
    /// ```
    /// use ndarray::Array2;
    /// let points = Array2::from_shape_fn((2000, 4), |(i, j)| ((i * 7 + j * 13) % 101) as f64);
    /// let index = lookalike_cluster::IvfIndex::build(points.view(), 20, 7).unwrap();
    /// let exact = lookalike_cluster::k_nearest(points.view(), points.view(), 5).unwrap();
    /// // Probing every cell is exact.
    /// let all = index.search(points.view(), 5, 20).unwrap();
    /// assert_eq!(all.indices, exact.indices);
    /// ```
    pub fn build(
        points: ArrayView2<'_, F>,
        lists: usize,
        seed: u64,
    ) -> Result<IvfIndex<F>, ClusterError> {
        if lists == 0 {
            return Err(ClusterError::ZeroClusters);
        }
        if points.nrows() > u32::MAX as usize {
            return Err(ClusterError::TooManyPoints(points.nrows()));
        }
        let points = standard_layout(points);
        let n = points.nrows();
        let training = (lists * SAMPLE_PER_LIST).min(n);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut chosen = sample(&mut rng, n, training).into_vec();
        chosen.sort_unstable();
        let train = points.select(Axis(0), &chosen);
        let model = KMeansParams::new(lists)
            .init(Init::Random)
            .max_iter(10)
            .n_init(1)
            .seed(seed)
            .validate()?
            .fit(train.view(), None)?;
        let (labels, _) = model.predict(points.view());
        // Counting sort of the points by cell, stable, so each cell keeps index order.
        let mut offsets = vec![0usize; lists + 1];
        for label in &labels {
            offsets[label + 1] += 1;
        }
        for c in 0..lists {
            offsets[c + 1] += offsets[c];
        }
        let mut next = offsets.clone();
        let mut original = vec![0u32; n];
        for (i, label) in labels.iter().enumerate() {
            original[next[*label]] = i as u32;
            next[*label] += 1;
        }
        let order: Vec<usize> = original.iter().map(|i| *i as usize).collect();
        Ok(IvfIndex {
            centroids: model.centroids().clone(),
            offsets,
            points: points.select(Axis(0), &order),
            original,
        })
    }

    /// Cells of the index.
    pub fn lists(&self) -> usize {
        self.centroids.nrows()
    }

    /// The approximate `k` nearest points of each query, scanning the `probes` cells nearest
    /// to it (at least k points must be indexed; `probes` is capped at the number of cells).
    pub fn search(
        &self,
        queries: ArrayView2<'_, F>,
        k: usize,
        probes: usize,
    ) -> Result<Neighbours, ClusterError> {
        if k == 0 {
            return Err(ClusterError::ZeroNeighbours);
        }
        if self.points.nrows() < k {
            return Err(ClusterError::TooFewPoints {
                k,
                points: self.points.nrows(),
            });
        }
        let probes = probes.clamp(1, self.lists());
        let cells = k_nearest(queries, self.centroids.view(), probes)?;
        let queries = standard_layout(queries);
        let d = queries.ncols();
        let stored = values_of(&self.points.view());
        Ok(by_query_blocks(
            queries.view(),
            k,
            |start, block, indices, distances| {
                let values = values_of(&block);
                vectorised(|| {
                    let mut best: Vec<(F, u32)> = Vec::with_capacity(k);
                    for r in 0..block.nrows() {
                        let query = &values[r * d..(r + 1) * d];
                        best.clear();
                        best.resize(k, (F::infinity(), u32::MAX));
                        for cell in cells.indices.row(start + r) {
                            let cell = *cell as usize;
                            for at in self.offsets[cell]..self.offsets[cell + 1] {
                                let point = &stored[at * d..(at + 1) * d];
                                let distance = squared_distance(query, point);
                                let index = self.original[at];
                                let worst = best[k - 1];
                                if distance < worst.0 || (distance == worst.0 && index < worst.1) {
                                    insert(&mut best, (distance, index));
                                }
                            }
                        }
                        for (j, (distance, index)) in best.iter().enumerate() {
                            indices[r * k + j] = *index;
                            distances[r * k + j] = wide(*distance).sqrt();
                        }
                    }
                });
            },
        ))
    }
}
