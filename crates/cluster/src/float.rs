//! The element type of the data: `f32` or `f64`, through linfa's `Float` trait so the same
//! model works on linfa datasets.
//!
//! Sums that decide results (centroid means, inertia, convergence shifts) are carried in `f64`
//! whatever the element type: an `f32` path should be fast, not imprecise.

use crate::kernel::Kernel;

/// `f32` or `f64`: linfa's float trait plus this crate's product kernel.
pub trait Float: linfa::Float + Kernel {}

impl Float for f32 {}
impl Float for f64 {}

/// `x` as `f64` (exact for both element types).
pub(crate) fn wide<F: Float>(x: F) -> f64 {
    x.to_f64().expect("f32 and f64 widen to f64")
}

/// `x` as the element type (rounded for `f32`).
pub(crate) fn narrow<F: Float>(x: f64) -> F {
    F::from_f64(x).expect("every f64 converts to f32 or f64")
}
