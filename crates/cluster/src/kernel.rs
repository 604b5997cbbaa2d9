//! The innermost loop of k-means: products of a block of points with all centroids, written
//! with explicit SIMD through `pulp` (safe, dispatched at run time to AVX2/FMA or SSE).
//!
//! A general matrix product (`matrixmultiply`) spends much of its time packing operands when
//! the inner dimension is as small as a feature table's (d ≈ 10–50). Here the centroids are
//! stored once, transposed and padded, and the product is computed in register tiles of
//! 4 points × 2 vectors of centroids, each point's value broadcast and fused-multiply-added;
//! nothing is packed per block.

use pulp::{Simd, WithSimd};

/// Centroid counts are padded to a multiple of this so tiles of two vectors always fit
/// (two AVX-512 vectors of `f32`).
pub(crate) const PAD: usize = 32;

/// Element types with a product kernel.
pub trait Kernel: Copy + Send + Sync + 'static {
    /// `out[r·kp + c] = Σ_j rows[r·d + j] · transposed[j·kp + c]` for every row r of `rows`
    /// (each `d` long) and every column c < kp, where `kp` is a multiple of [`PAD`].
    fn products(rows: &[Self], d: usize, transposed: &[Self], kp: usize, out: &mut [Self]);

    /// For every row r of `rows`, the column c < kp minimising
    /// `norms[c] + Σ_j rows[r·d + j] · transposed[j·kp + c]` (the first on ties), appended to
    /// `labels`. The minimum is tracked in vector registers while the products are computed,
    /// so no products are stored.
    fn nearest(
        rows: &[Self],
        d: usize,
        transposed: &[Self],
        norms: &[Self],
        labels: &mut Vec<usize>,
    );
}

macro_rules! kernel {
    ($float:ident, $as_simd:ident, $as_mut_simd:ident, $splat:ident, $fma:ident, $less:ident, $select:ident) => {
        impl Kernel for $float {
            fn products(
                rows: &[$float],
                d: usize,
                transposed: &[$float],
                kp: usize,
                out: &mut [$float],
            ) {
                struct Products<'a> {
                    rows: &'a [$float],
                    d: usize,
                    transposed: &'a [$float],
                    kp: usize,
                    out: &'a mut [$float],
                }
                impl WithSimd for Products<'_> {
                    type Output = ();
                    #[inline(always)]
                    fn with_simd<S: Simd>(self, simd: S) {
                        let Products {
                            rows,
                            d,
                            transposed,
                            kp,
                            out,
                        } = self;
                        let (columns, _) = S::$as_simd(transposed);
                        let (out, _) = S::$as_mut_simd(out);
                        let per_row = columns.len() / d;
                        debug_assert_eq!(per_row * d, columns.len());
                        debug_assert_eq!(per_row % 2, 0, "kp = {kp} must fill pairs of vectors");
                        let n = rows.len() / d;
                        let zero = simd.$splat(0.0);
                        let mut r = 0;
                        while r < n {
                            let group = (n - r).min(4);
                            let point = |i: usize| &rows[(r + i.min(group - 1)) * d..][..d];
                            let (p0, p1, p2, p3) = (point(0), point(1), point(2), point(3));
                            let mut t = 0;
                            while t < per_row {
                                let mut acc = [[zero; 2]; 4];
                                for j in 0..d {
                                    let c0 = columns[j * per_row + t];
                                    let c1 = columns[j * per_row + t + 1];
                                    for (a, x) in acc.iter_mut().zip([p0[j], p1[j], p2[j], p3[j]]) {
                                        let b = simd.$splat(x);
                                        a[0] = simd.$fma(b, c0, a[0]);
                                        a[1] = simd.$fma(b, c1, a[1]);
                                    }
                                }
                                for (i, a) in acc.iter().enumerate().take(group) {
                                    out[(r + i) * per_row + t] = a[0];
                                    out[(r + i) * per_row + t + 1] = a[1];
                                }
                                t += 2;
                            }
                            r += group;
                        }
                    }
                }
                pulp::Arch::new().dispatch(Products {
                    rows,
                    d,
                    transposed,
                    kp,
                    out,
                });
            }

            fn nearest(
                rows: &[$float],
                d: usize,
                transposed: &[$float],
                norms: &[$float],
                labels: &mut Vec<usize>,
            ) {
                struct Nearest<'a> {
                    rows: &'a [$float],
                    d: usize,
                    transposed: &'a [$float],
                    norms: &'a [$float],
                    labels: &'a mut Vec<usize>,
                }
                impl WithSimd for Nearest<'_> {
                    type Output = ();
                    #[inline(always)]
                    fn with_simd<S: Simd>(self, simd: S) {
                        let Nearest {
                            rows,
                            d,
                            transposed,
                            norms,
                            labels,
                        } = self;
                        let (columns, _) = S::$as_simd(transposed);
                        let (norm_vectors, _) = S::$as_simd(norms);
                        let per_row = norm_vectors.len();
                        let lanes = norms.len() / per_row;
                        let n = rows.len() / d;
                        let infinity = simd.$splat($float::INFINITY);
                        let zero = simd.$splat(0.0);
                        let mut r = 0;
                        while r < n {
                            let group = (n - r).min(4);
                            let point = |i: usize| &rows[(r + i.min(group - 1)) * d..][..d];
                            let (p0, p1, p2, p3) = (point(0), point(1), point(2), point(3));
                            let mut best = [infinity; 4];
                            let mut best_vector = [zero; 4];
                            let mut t = 0;
                            while t < per_row {
                                let mut acc = [[norm_vectors[t], norm_vectors[t + 1]]; 4];
                                for j in 0..d {
                                    let c0 = columns[j * per_row + t];
                                    let c1 = columns[j * per_row + t + 1];
                                    for (a, x) in acc.iter_mut().zip([p0[j], p1[j], p2[j], p3[j]]) {
                                        let b = simd.$splat(x);
                                        a[0] = simd.$fma(b, c0, a[0]);
                                        a[1] = simd.$fma(b, c1, a[1]);
                                    }
                                }
                                let (first, second) =
                                    (simd.$splat(t as $float), simd.$splat((t + 1) as $float));
                                for i in 0..4 {
                                    let better = simd.$less(acc[i][0], best[i]);
                                    best[i] = simd.$select(better, acc[i][0], best[i]);
                                    best_vector[i] = simd.$select(better, first, best_vector[i]);
                                    let better = simd.$less(acc[i][1], best[i]);
                                    best[i] = simd.$select(better, acc[i][1], best[i]);
                                    best_vector[i] = simd.$select(better, second, best_vector[i]);
                                }
                                t += 2;
                            }
                            for i in 0..group {
                                let values: &[$float] = bytemuck_cast(&best[i]);
                                let vectors: &[$float] = bytemuck_cast(&best_vector[i]);
                                // Column numbers as floats (exact below 2^24) keep the loop
                                // free of conversions and branches.
                                let (mut index, mut value) = ($float::INFINITY, $float::INFINITY);
                                for l in 0..lanes {
                                    let column = vectors[l] * lanes as $float + l as $float;
                                    let take =
                                        values[l] < value || (values[l] == value && column < index);
                                    index = if take { column } else { index };
                                    value = if take { values[l] } else { value };
                                }
                                labels.push(if index.is_finite() { index as usize } else { 0 });
                            }
                            r += group;
                        }
                    }
                }
                pulp::Arch::new().dispatch(Nearest {
                    rows,
                    d,
                    transposed,
                    norms,
                    labels,
                });
            }
        }
    };
}

kernel!(
    f32,
    as_simd_f32s,
    as_mut_simd_f32s,
    splat_f32s,
    mul_add_e_f32s,
    less_than_f32s,
    select_f32s
);
kernel!(
    f64,
    as_simd_f64s,
    as_mut_simd_f64s,
    splat_f64s,
    mul_add_e_f64s,
    less_than_f64s,
    select_f64s
);

/// The lanes of one SIMD vector as a slice.
#[inline(always)]
fn bytemuck_cast<V: bytemuck::Pod, T: bytemuck::Pod>(vector: &V) -> &[T] {
    bytemuck::cast_slice(std::slice::from_ref(vector))
}
