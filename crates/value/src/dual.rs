//! Forward-mode automatic differentiation: a number carried with its gradient.
//!
//! The log-likelihoods are written once, generic over [`Real`], and evaluated either on `f64`
//! (the value) or on [`Dual`] (value and exact gradient with respect to the log-parameters).
//! That gives exact gradients through everything, including the hypergeometric series of
//! Pareto/NBD, where a hand-derived gradient would be long and fragile. `num-dual` offers dual
//! numbers too, but not ln Γ (needed by every model here) and it brings `nalgebra`; the few
//! operations the models use are below.

use std::ops::{Add, Div, Mul, Neg, Sub};

/// The operations the likelihoods and predictions need, on `f64` and on [`Dual`].
pub trait Real:
    Copy
    + Send
    + Sync
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + Add<f64, Output = Self>
    + Sub<f64, Output = Self>
    + Mul<f64, Output = Self>
    + Div<f64, Output = Self>
{
    /// A constant (zero gradient).
    fn constant(value: f64) -> Self;
    /// The value without its gradient.
    fn value(self) -> f64;
    /// Natural logarithm.
    fn ln(self) -> Self;
    /// Exponential.
    fn exp(self) -> Self;
    /// ln(1 + x), accurate for small x.
    fn ln_1p(self) -> Self;
    /// ln Γ(x) for x > 0.
    fn ln_gamma(self) -> Self;
}

impl Real for f64 {
    fn constant(value: f64) -> Self {
        value
    }
    fn value(self) -> f64 {
        self
    }
    fn ln(self) -> Self {
        f64::ln(self)
    }
    fn exp(self) -> Self {
        f64::exp(self)
    }
    fn ln_1p(self) -> Self {
        f64::ln_1p(self)
    }
    fn ln_gamma(self) -> Self {
        statrs::function::gamma::ln_gamma(self)
    }
}

/// A value with its gradient with respect to `N` variables.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dual<const N: usize> {
    /// The value.
    pub value: f64,
    /// ∂value/∂variable for each variable.
    pub gradient: [f64; N],
}

impl<const N: usize> Dual<N> {
    /// Variable `index` at `value`: its gradient is the unit vector `index`.
    pub fn variable(value: f64, index: usize) -> Self {
        let mut gradient = [0.0; N];
        gradient[index] = 1.0;
        Dual { value, gradient }
    }

    /// f(self) given f(value) and f'(value) (the chain rule).
    fn chain(self, value: f64, derivative: f64) -> Self {
        Dual {
            value,
            gradient: self.gradient.map(|g| g * derivative),
        }
    }

    fn combine(self, other: Self, value: f64, d_self: f64, d_other: f64) -> Self {
        let mut gradient = [0.0; N];
        for (i, g) in gradient.iter_mut().enumerate() {
            *g = d_self * self.gradient[i] + d_other * other.gradient[i];
        }
        Dual { value, gradient }
    }
}

impl<const N: usize> Add for Dual<N> {
    type Output = Self;
    fn add(self, other: Self) -> Self {
        self.combine(other, self.value + other.value, 1.0, 1.0)
    }
}

impl<const N: usize> Sub for Dual<N> {
    type Output = Self;
    fn sub(self, other: Self) -> Self {
        self.combine(other, self.value - other.value, 1.0, -1.0)
    }
}

impl<const N: usize> Mul for Dual<N> {
    type Output = Self;
    fn mul(self, other: Self) -> Self {
        self.combine(other, self.value * other.value, other.value, self.value)
    }
}

impl<const N: usize> Div for Dual<N> {
    type Output = Self;
    fn div(self, other: Self) -> Self {
        let value = self.value / other.value;
        self.combine(other, value, 1.0 / other.value, -value / other.value)
    }
}

impl<const N: usize> Neg for Dual<N> {
    type Output = Self;
    fn neg(self) -> Self {
        self.chain(-self.value, -1.0)
    }
}

impl<const N: usize> Add<f64> for Dual<N> {
    type Output = Self;
    fn add(self, other: f64) -> Self {
        Dual {
            value: self.value + other,
            gradient: self.gradient,
        }
    }
}

impl<const N: usize> Sub<f64> for Dual<N> {
    type Output = Self;
    fn sub(self, other: f64) -> Self {
        Dual {
            value: self.value - other,
            gradient: self.gradient,
        }
    }
}

impl<const N: usize> Mul<f64> for Dual<N> {
    type Output = Self;
    fn mul(self, other: f64) -> Self {
        self.chain(self.value * other, other)
    }
}

impl<const N: usize> Div<f64> for Dual<N> {
    type Output = Self;
    fn div(self, other: f64) -> Self {
        self.chain(self.value / other, 1.0 / other)
    }
}

impl<const N: usize> Real for Dual<N> {
    fn constant(value: f64) -> Self {
        Dual {
            value,
            gradient: [0.0; N],
        }
    }
    fn value(self) -> f64 {
        self.value
    }
    fn ln(self) -> Self {
        self.chain(self.value.ln(), 1.0 / self.value)
    }
    fn exp(self) -> Self {
        let e = self.value.exp();
        self.chain(e, e)
    }
    fn ln_1p(self) -> Self {
        self.chain(self.value.ln_1p(), 1.0 / (1.0 + self.value))
    }
    fn ln_gamma(self) -> Self {
        use statrs::function::gamma::{digamma, ln_gamma};
        self.chain(ln_gamma(self.value), digamma(self.value))
    }
}

#[cfg(test)]
mod tests {
    use super::{Dual, Real};

    /// Gradients against central finite differences on a function using every operation.
    #[test]
    fn gradients_match_finite_differences() {
        fn f<T: Real>(x: T, y: T) -> T {
            (x * y + 2.0).ln() - (x / y).exp() * 0.5 + (x - 1.5).ln_gamma() - (-y).ln_1p() / 3.0
                + (y - x) * x
        }
        let (x, y) = (2.3, -0.4);
        let at = f(Dual::<2>::variable(x, 0), Dual::<2>::variable(y, 1));
        assert!((at.value - f(x, y)).abs() < 1e-15);
        let h = 1e-6;
        let dx = (f(x + h, y) - f(x - h, y)) / (2.0 * h);
        let dy = (f(x, y + h) - f(x, y - h)) / (2.0 * h);
        assert!(
            (at.gradient[0] - dx).abs() < 1e-7,
            "{} vs {dx}",
            at.gradient[0]
        );
        assert!(
            (at.gradient[1] - dy).abs() < 1e-7,
            "{} vs {dy}",
            at.gradient[1]
        );
    }
}
