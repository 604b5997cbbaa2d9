//! The innermost loop of k-means: products of a block of points with all centroids, written
//! with explicit SIMD through `pulp` (safe, dispatched at run time to AVX-512, AVX2/FMA or SSE).
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

    /// Replaces each `products[i]` (the product `-2·x·y` of one point x of squared norm `own`
    /// with a point y of squared norm `norms[i]`) by the Euclidean distance
    /// `sqrt(max(own + norms[i] + products[i], 0))` and returns their sum — the innermost loop
    /// of the exact silhouette.
    fn distances_in_place(own: Self, products: &mut [Self], norms: &[Self]) -> Self;
}

macro_rules! kernel {
    ($float:ident, $as_simd:ident, $as_mut_simd:ident, $splat:ident, $fma:ident, $less:ident, $select:ident, $equal:ident, $reduce_min:ident, $add:ident, $max:ident, $sqrt:ident, $reduce_sum:ident) => {
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
                        let lane_count = simd.$splat(lanes as $float);
                        let numbers: [$float; 64] = std::array::from_fn(|l| l as $float);
                        let lane_numbers = S::$as_simd(&numbers[..lanes]).0[0];
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
                                // Lowest value over the lanes, then the lowest column holding
                                // it (column = vector · lanes + lane; exact below 2^24), both
                                // with vector reductions.
                                let value = simd.$reduce_min(best[i]);
                                let columns_of_lanes =
                                    simd.$fma(best_vector[i], lane_count, lane_numbers);
                                let holding = simd.$equal(best[i], simd.$splat(value));
                                let index = simd.$reduce_min(simd.$select(
                                    holding,
                                    columns_of_lanes,
                                    infinity,
                                ));
                                labels.push(if value.is_finite() && index.is_finite() {
                                    index as usize
                                } else {
                                    0
                                });
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

            fn distances_in_place(
                own: $float,
                products: &mut [$float],
                norms: &[$float],
            ) -> $float {
                struct Distances<'a> {
                    own: $float,
                    products: &'a mut [$float],
                    norms: &'a [$float],
                }
                impl WithSimd for Distances<'_> {
                    type Output = $float;
                    #[inline(always)]
                    fn with_simd<S: Simd>(self, simd: S) -> $float {
                        let Distances {
                            own,
                            products,
                            norms,
                        } = self;
                        let (products, products_tail) = S::$as_mut_simd(products);
                        let (norms, norms_tail) = S::$as_simd(norms);
                        let (own_vector, zero) = (simd.$splat(own), simd.$splat(0.0));
                        // Four independent accumulators keep the square roots in flight.
                        let mut totals = [zero; 4];
                        let distance = |p: &mut _, q| {
                            let squared = simd.$add(simd.$add(own_vector, q), *p);
                            *p = simd.$sqrt(simd.$max(squared, zero));
                            *p
                        };
                        let (product_groups, product_rest) = products.as_chunks_mut::<4>();
                        let (norm_groups, norm_rest) = norms.as_chunks::<4>();
                        for (p, q) in product_groups.iter_mut().zip(norm_groups) {
                            for l in 0..4 {
                                totals[l] = simd.$add(totals[l], distance(&mut p[l], q[l]));
                            }
                        }
                        for (p, q) in product_rest.iter_mut().zip(norm_rest) {
                            totals[0] = simd.$add(totals[0], distance(p, *q));
                        }
                        let total = simd.$add(
                            simd.$add(totals[0], totals[1]),
                            simd.$add(totals[2], totals[3]),
                        );
                        let mut total = simd.$reduce_sum(total);
                        for (p, q) in products_tail.iter_mut().zip(norms_tail) {
                            *p = (own + q + *p).max(0.0).sqrt();
                            total += *p;
                        }
                        total
                    }
                }
                pulp::Arch::new().dispatch(Distances {
                    own,
                    products,
                    norms,
                })
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
    select_f32s,
    equal_f32s,
    reduce_min_f32s,
    add_f32s,
    max_f32s,
    sqrt_f32s,
    reduce_sum_f32s
);
kernel!(
    f64,
    as_simd_f64s,
    as_mut_simd_f64s,
    splat_f64s,
    mul_add_e_f64s,
    less_than_f64s,
    select_f64s,
    equal_f64s,
    reduce_min_f64s,
    add_f64s,
    max_f64s,
    sqrt_f64s,
    reduce_sum_f64s
);
