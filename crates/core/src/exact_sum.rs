//! The exact sum of finite `f64` values, kept as non-overlapping partials (Shewchuk, "Adaptive
//! precision floating-point arithmetic and fast robust geometric predicates", 1997; the
//! algorithm behind Python's `math.fsum`). Its value is the exact sum rounded once, so it is
//! the same bits in whatever order the values came and however the parts that summed them
//! were merged: what a base held in parts needs for statistics that must equal one
//! process's, in memory that does not grow with the values. (The `fsum` crate keeps the same
//! partials but cannot hand them from a Spark task to the driver.)

use serde::{Deserialize, Serialize};

/// An exact running sum of finite values: [`ExactSum::add`], [`ExactSum::merge`],
/// [`ExactSum::value`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExactSum {
    /// Non-overlapping partials, increasing in magnitude, whose exact sum is the total.
    partials: Vec<f64>,
}

impl ExactSum {
    /// Adds `x` without rounding (Shewchuk's grow-expansion, zero partials dropped).
    pub fn add(&mut self, mut x: f64) {
        let mut kept = 0;
        for j in 0..self.partials.len() {
            let mut y = self.partials[j];
            if x.abs() < y.abs() {
                std::mem::swap(&mut x, &mut y);
            }
            // Two-sum with |x| >= |y|: hi + lo == x + y exactly.
            let hi = x + y;
            let lo = y - (hi - x);
            if lo != 0.0 {
                self.partials[kept] = lo;
                kept += 1;
            }
            x = hi;
        }
        self.partials.truncate(kept);
        self.partials.push(x);
    }

    /// Adds another sum's total, exactly.
    pub fn merge(&mut self, other: &ExactSum) {
        for partial in &other.partials {
            self.add(*partial);
        }
    }

    /// The total rounded once to the nearest `f64` (ties to even).
    ///
    /// ```
    /// use lookalike_core::ExactSum;
    /// let mut sum = ExactSum::default();
    /// for v in [1e100, 1.0, -1e100, 0.1, 0.2] {
    ///     sum.add(v);
    /// }
    /// assert_eq!(sum.value(), 1.3);
    /// let (mut left, mut right) = (ExactSum::default(), ExactSum::default());
    /// [0.1; 5].iter().for_each(|v| left.add(*v));
    /// [0.1; 5].iter().for_each(|v| right.add(*v));
    /// left.merge(&right);
    /// assert_eq!(left.value(), 1.0);
    /// ```
    pub fn value(&self) -> f64 {
        let partials = &self.partials;
        let Some(&top) = partials.last() else {
            return 0.0;
        };
        // From the largest partial down, until the rest cannot change the rounding.
        let (mut hi, mut lo) = (top, 0.0);
        let mut n = partials.len() - 1;
        while n > 0 {
            let x = hi;
            n -= 1;
            let y = partials[n];
            hi = x + y;
            lo = y - (hi - x);
            if lo != 0.0 {
                break;
            }
        }
        // Half-way between two doubles, the partials below decide the direction (the
        // correction CPython's fsum makes).
        if n > 0 && ((lo < 0.0 && partials[n - 1] < 0.0) || (lo > 0.0 && partials[n - 1] > 0.0)) {
            let y = lo * 2.0;
            let x = hi + y;
            if y == x - hi {
                hi = x;
            }
        }
        hi
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::seq::SliceRandom;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Property: on values of widely different magnitudes and signs, the value is the same
    /// bits in any order and any split into merged parts, and equals the exact sum where it
    /// can be checked exactly (integers below 2^53) — 200 cases.
    #[test]
    fn the_value_depends_on_the_values_only() {
        for case in 0..200u64 {
            let mut rng = ChaCha8Rng::seed_from_u64(case);
            let n = rng.random_range(1..300);
            let mut values: Vec<f64> = (0..n)
                .map(|_| {
                    let magnitude = 10f64.powi(rng.random_range(-20..20));
                    rng.random_range(-1.0..1.0) * magnitude
                })
                .collect();
            let whole = {
                let mut sum = ExactSum::default();
                values.iter().for_each(|v| sum.add(*v));
                sum.value()
            };
            values.shuffle(&mut rng);
            let cut = rng.random_range(0..=n);
            let (mut left, mut right) = (ExactSum::default(), ExactSum::default());
            values[..cut].iter().for_each(|v| left.add(*v));
            values[cut..].iter().for_each(|v| right.add(*v));
            right.merge(&left);
            assert_eq!(right.value().to_bits(), whole.to_bits(), "case {case}");
            // Integers: the exact sum is known.
            let integers: Vec<i64> = (0..n)
                .map(|_| rng.random_range(-1 << 40..1 << 40))
                .collect();
            let mut sum = ExactSum::default();
            integers.iter().for_each(|v| sum.add(*v as f64));
            assert_eq!(
                sum.value(),
                integers.iter().sum::<i64>() as f64,
                "case {case}"
            );
        }
    }

    #[test]
    fn ties_round_to_even_as_the_partials_say() {
        // 2^53 + 1 is half-way between 2^53 and 2^53 + 2; a tiny positive rest rounds it up.
        let mut sum = ExactSum::default();
        for v in [9007199254740992.0, 1.0, 1e-300] {
            sum.add(v);
        }
        assert_eq!(sum.value(), 9007199254740994.0);
        let mut even = ExactSum::default();
        for v in [9007199254740992.0, 1.0] {
            even.add(v);
        }
        assert_eq!(even.value(), 9007199254740992.0);
    }
}
