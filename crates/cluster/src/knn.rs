//! Exact k-nearest-neighbour search: for every query, the k nearest of a set of points.
//!
//! The same arithmetic as the nearest-centroid search of k-means ([`crate::distance`]):
//! ‖q − p‖² = ‖q‖² − 2·q·p + ‖p‖², the cross terms by the SIMD product kernel, for a block of
//! queries against a tile of points at a time, so memory stays at one block × tile of products
//! whatever the sizes (FAISS's `IndexFlatL2` and scikit-learn's brute force work the same way).
//! Each query keeps its k best in a small sorted list; a candidate is compared with the current
//! k-th distance first, so most of the products cost one comparison. The distances of the k
//! found are recomputed exactly, since the expansion loses precision for close pairs.
//! Queries are split into fixed blocks, so results do not depend on the thread count; ties go
//! to the point with the lower index.

use ndarray::{Array2, ArrayView2, Axis, Slice};
use rayon::prelude::*;

use crate::distance::{Centroids, squared_distance, standard_layout, values_of, vectorised};
use crate::error::ClusterError;
use crate::float::{Float, wide};

/// Queries per block.
const QUERY_BLOCK: usize = 256;
/// Points per tile: a block of products (256 × 1024) stays in the L2 cache.
const POINT_TILE: usize = 1024;

/// The k nearest points of each query, nearest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Neighbours {
    /// queries × k indices into the points.
    pub indices: Array2<u32>,
    /// queries × k Euclidean distances (not squared), ascending along each row.
    pub distances: Array2<f64>,
}

/// The `k` nearest of `points` to every row of `queries` (exact, Euclidean).
///
/// ```
/// use ndarray::array;
/// let points = array![[0.0, 0.0], [1.0, 0.0], [5.0, 5.0]];
/// let queries = array![[0.9, 0.1], [4.0, 4.0]];
/// let found = lookalike_cluster::k_nearest(queries.view(), points.view(), 2).unwrap();
/// assert_eq!(found.indices.row(0).to_vec(), vec![1, 0]);
/// assert_eq!(found.indices[[1, 0]], 2);
/// assert!((found.distances[[1, 0]] - 2f64.sqrt()).abs() < 1e-12);
/// ```
pub fn k_nearest<F: Float>(
    queries: ArrayView2<'_, F>,
    points: ArrayView2<'_, F>,
    k: usize,
) -> Result<Neighbours, ClusterError> {
    if k == 0 {
        return Err(ClusterError::ZeroNeighbours);
    }
    if points.nrows() < k {
        return Err(ClusterError::TooFewPoints {
            k,
            points: points.nrows(),
        });
    }
    if queries.ncols() != points.ncols() {
        return Err(ClusterError::DimensionMismatch {
            expected: points.ncols(),
            got: queries.ncols(),
        });
    }
    if points.nrows() > u32::MAX as usize {
        return Err(ClusterError::TooManyPoints(points.nrows()));
    }
    for data in [queries.view(), points.view()] {
        if let Some(((row, column), value)) = data.indexed_iter().find(|(_, v)| !v.is_finite()) {
            return Err(ClusterError::NonFinite {
                row,
                column,
                value: wide(*value),
            });
        }
    }
    let queries = standard_layout(queries);
    let points = standard_layout(points);
    let tiles: Vec<(usize, Centroids<'_, F>)> = (0..points.nrows())
        .step_by(POINT_TILE)
        .map(|start| {
            let end = (start + POINT_TILE).min(points.nrows());
            let tile = points
                .view()
                .slice_axis_move(Axis(0), Slice::from(start..end));
            (start, Centroids::new(tile))
        })
        .collect();
    Ok(by_query_blocks(
        queries.view(),
        k,
        |_, block, indices, distances| {
            search_block(block, &tiles, points.view(), k, indices, distances);
        },
    ))
}

/// Runs `search(first_query, block, indices, distances)` on fixed blocks of queries in
/// parallel, each writing k results per query of its block, and assembles them. Fixed blocks
/// keep the results independent of the thread count.
pub(crate) fn by_query_blocks<F: Float>(
    queries: ArrayView2<'_, F>,
    k: usize,
    search: impl Fn(usize, ArrayView2<'_, F>, &mut [u32], &mut [f64]) + Sync,
) -> Neighbours {
    let n = queries.nrows();
    let mut indices = vec![0u32; n * k];
    let mut distances = vec![0f64; n * k];
    indices
        .par_chunks_mut(QUERY_BLOCK * k)
        .zip(distances.par_chunks_mut(QUERY_BLOCK * k))
        .enumerate()
        .for_each(|(b, (block_indices, block_distances))| {
            let start = b * QUERY_BLOCK;
            let end = (start + QUERY_BLOCK).min(n);
            let block = queries.slice_axis(Axis(0), Slice::from(start..end));
            search(start, block, block_indices, block_distances);
        });
    let shape = (n, k);
    Neighbours {
        indices: Array2::from_shape_vec(shape, indices).expect("n × k"),
        distances: Array2::from_shape_vec(shape, distances).expect("n × k"),
    }
}

/// The k nearest points of each row of `block`, written row after row into the outputs.
fn search_block<F: Float>(
    block: ArrayView2<'_, F>,
    tiles: &[(usize, Centroids<'_, F>)],
    points: ArrayView2<'_, F>,
    k: usize,
    indices: &mut [u32],
    distances: &mut [f64],
) {
    let rows = block.nrows();
    // Per query: the k best (‖p‖² − 2·q·p, index), ascending; +∞ while unfilled.
    let mut best: Vec<(F, u32)> = vec![(F::infinity(), u32::MAX); rows * k];
    let mut products = Vec::new();
    for (offset, tile) in tiles {
        tile.cross_terms(block, &mut products);
        let width = tile.padded;
        let real = tile.values.nrows();
        vectorised(|| {
            for r in 0..rows {
                let row = &products[r * width..r * width + real];
                let kept = &mut best[r * k..(r + 1) * k];
                let mut worst = kept[k - 1].0;
                for (c, (product, norm)) in row.iter().zip(&tile.norms).enumerate() {
                    let value = *product + *norm;
                    if value < worst {
                        insert(kept, (value, (offset + c) as u32));
                        worst = kept[k - 1].0;
                    }
                }
            }
        });
    }
    let values = values_of(&block);
    let d = block.ncols();
    let all = values_of(&points);
    for r in 0..rows {
        let query = &values[r * d..(r + 1) * d];
        let kept = &best[r * k..(r + 1) * k];
        let mut exact: Vec<(f64, u32)> = kept
            .iter()
            .map(|(_, i)| {
                let point = &all[*i as usize * d..(*i as usize + 1) * d];
                (wide(squared_distance(query, point)).sqrt(), *i)
            })
            .collect();
        // Re-sort on the exact distances (ties by index) after the recomputation.
        exact.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        for (j, (distance, index)) in exact.into_iter().enumerate() {
            indices[r * k + j] = index;
            distances[r * k + j] = distance;
        }
    }
}

/// Inserts `item` into the list `kept`, ordered by (value, index), dropping the last.
#[inline(always)]
pub(crate) fn insert<F: Float>(kept: &mut [(F, u32)], item: (F, u32)) {
    let mut at = kept.len() - 1;
    while at > 0
        && (kept[at - 1].0 > item.0 || (kept[at - 1].0 == item.0 && kept[at - 1].1 > item.1))
    {
        kept[at] = kept[at - 1];
        at -= 1;
    }
    kept[at] = item;
}
