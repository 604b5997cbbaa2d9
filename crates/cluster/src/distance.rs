//! Squared Euclidean distances from blocks of points to all centroids.
//!
//! For a block of rows, ‖x − c‖² = ‖x‖² − 2·x·c + ‖c‖²: the cross terms are one matrix product
//! (block × d times d × k, by the SIMD kernel of [`crate::kernel`]), so no n × k matrix is
//! ever built. The nearest centroid only needs ‖c‖² − 2·x·c; the distance to it is then
//! recomputed exactly, since the expansion loses precision for points close to their centroid.
//! Blocks have a fixed size so results never depend on the thread count.
//!
//! The inner loops work on slices in lanes of 8 so the compiler vectorises them, and run inside
//! [`vectorised`], which compiles them for the widest instruction set the CPU has (AVX2 + FMA
//! where present) and picks it at run time. Every
//! caller passes data in standard (row-major, contiguous) layout — see [`standard_layout`].

use ndarray::{ArrayView2, Axis, CowArray, Ix2, Slice};

use crate::float::Float;
use crate::kernel::PAD;

/// Rows per block: large enough for an efficient product, small enough for the cache.
pub(crate) const BLOCK: usize = 1024;

/// Values per lane group of the vectorised loops.
const LANES: usize = 8;

/// Runs `work` compiled for the CPU's widest vector instructions (detected at run time by
/// `pulp`). The helpers it calls are `#[inline(always)]` so they are compiled the same way.
#[inline(always)]
pub(crate) fn vectorised<R>(work: impl FnOnce() -> R) -> R {
    struct Inlined<W>(W);
    impl<R, W: FnOnce() -> R> pulp::WithSimd for Inlined<W> {
        type Output = R;
        #[inline(always)]
        fn with_simd<S: pulp::Simd>(self, _: S) -> R {
            (self.0)()
        }
    }
    pulp::Arch::new().dispatch(Inlined(work))
}

/// `data` in row-major contiguous layout, copied only when it is not already.
pub(crate) fn standard_layout<'a, F: Float>(data: ArrayView2<'a, F>) -> CowArray<'a, F, Ix2> {
    if data.is_standard_layout() {
        CowArray::from(data)
    } else {
        CowArray::from(data.as_standard_layout().into_owned())
    }
}

/// The contiguous values of a standard-layout matrix.
pub(crate) fn values_of<'a, F>(data: &ArrayView2<'a, F>) -> &'a [F] {
    data.to_slice()
        .expect("the kernels are given standard-layout data")
}

/// Start indices of the fixed-size blocks covering `n` rows.
pub(crate) fn block_starts(n: usize) -> impl rayon::iter::IndexedParallelIterator<Item = usize> {
    use rayon::prelude::*;
    (0..n.div_ceil(BLOCK)).into_par_iter().map(|b| b * BLOCK)
}

/// Rows `start..start + BLOCK` (fewer at the end) of `data`.
pub(crate) fn block_of<'a, F>(data: ArrayView2<'a, F>, start: usize) -> ArrayView2<'a, F> {
    let end = (start + BLOCK).min(data.nrows());
    data.slice_axis_move(Axis(0), Slice::from(start..end))
}

/// Squared Euclidean distance between two points.
#[inline(always)]
pub(crate) fn squared_distance<F: Float>(a: &[F], b: &[F]) -> F {
    let mut lanes = [F::zero(); LANES];
    let (a_chunks, b_chunks) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (a_rest, b_rest) = (a_chunks.remainder(), b_chunks.remainder());
    for (x, y) in a_chunks.zip(b_chunks) {
        for l in 0..LANES {
            let d = x[l] - y[l];
            lanes[l] += d * d;
        }
    }
    let mut total = lanes.iter().fold(F::zero(), |s, v| s + *v);
    for (x, y) in a_rest.iter().zip(b_rest) {
        let d = *x - *y;
        total += d * d;
    }
    total
}

/// Centroids prepared for nearest-centroid searches.
pub(crate) struct Centroids<'a, F: Float> {
    /// k × d, standard layout.
    pub(crate) values: ArrayView2<'a, F>,
    /// ‖c‖² per centroid, then +∞ up to `padded` so padding never wins.
    pub(crate) norms: Vec<F>,
    /// −2 × the centroids, transposed (d × `padded`, zeros in the padding).
    transposed: Vec<F>,
    /// k rounded up to a multiple of [`PAD`].
    pub(crate) padded: usize,
}

impl<'a, F: Float> Centroids<'a, F> {
    pub(crate) fn new(values: ArrayView2<'a, F>) -> Self {
        let (k, d) = values.dim();
        let padded = k.div_ceil(PAD) * PAD;
        let mut norms: Vec<F> = values.rows().into_iter().map(|c| c.dot(&c)).collect();
        norms.resize(padded, F::infinity());
        let minus_two = F::from_f64(-2.0).expect("small constant");
        let mut transposed = vec![F::zero(); d * padded];
        for ((c, j), v) in values.indexed_iter() {
            transposed[j * padded + c] = *v * minus_two;
        }
        Centroids {
            values,
            norms,
            transposed,
            padded,
        }
    }

    /// Centroid `j`'s values.
    #[inline(always)]
    pub(crate) fn row(&self, j: usize) -> &'a [F] {
        let d = self.values.ncols();
        &values_of(&self.values)[j * d..(j + 1) * d]
    }

    /// Fills `products` (block rows × `padded`) with −2·x·c.
    pub(crate) fn cross_terms(&self, block: ArrayView2<'_, F>, products: &mut Vec<F>) {
        products.resize(block.nrows() * self.padded, F::zero());
        let d = block.ncols();
        F::products(
            values_of(&block),
            d,
            &self.transposed,
            self.padded,
            products,
        );
    }

    /// The nearest centroid of each row of `block` and the exact squared distance to it,
    /// appended to `labels` and `distances`.
    pub(crate) fn nearest(
        &self,
        block: ArrayView2<'_, F>,
        labels: &mut Vec<usize>,
        distances: &mut Vec<F>,
    ) {
        let d = block.ncols();
        let rows = values_of(&block);
        let first = labels.len();
        F::nearest(rows, d, &self.transposed, &self.norms, labels);
        vectorised(|| {
            for (row, label) in rows.chunks_exact(d).zip(&labels[first..]) {
                distances.push(squared_distance(row, self.row(*label)));
            }
        });
    }
}
