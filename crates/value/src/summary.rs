//! The BTYD summary of each customer — x (repeat purchases), t_x (time of the last purchase
//! since the first), T (time since the first purchase) and the mean repeat spend — checked
//! and compressed to unique rows with counts, so that a fit on ten million customers evaluates
//! the likelihood on their distinct histories only.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::ValueError;

/// One customer's purchase history in BTYD form (Fader, Hardie & Lee 2005 notation).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// x: repeat purchases (purchase days − 1).
    pub frequency: f64,
    /// t_x: time from the first to the last purchase.
    pub recency: f64,
    /// T: time from the first purchase to the end of the calibration period.
    pub t: f64,
}

impl Summary {
    /// Checks one row (0-based `row`, for messages). All three values NaN means "no purchase
    /// before the end of calibration": such a customer is outside the models' population and
    /// `Ok(None)` is returned.
    ///
    /// ```
    /// use lookalike_value::Summary;
    /// let s = Summary::checked(0, 2.0, 30.43, 38.86).unwrap().unwrap();
    /// assert_eq!(s.frequency, 2.0);
    /// assert!(Summary::checked(1, f64::NAN, f64::NAN, f64::NAN).unwrap().is_none());
    /// assert!(Summary::checked(2, 1.0, 5.0, 4.0).is_err()); // t_x after T
    /// ```
    pub fn checked(row: usize, x: f64, t_x: f64, t: f64) -> Result<Option<Summary>, ValueError> {
        if x.is_nan() && t_x.is_nan() && t.is_nan() {
            return Ok(None);
        }
        for (value, column) in [(x, "frequency"), (t_x, "recency"), (t, "T")] {
            if value.is_nan() {
                return Err(ValueError::PartlyMissing { row, column });
            }
        }
        if !(x >= 0.0 && x.fract() == 0.0 && x.is_finite()) {
            return Err(ValueError::BadFrequency { row, value: x });
        }
        for (value, column) in [(t_x, "recency"), (t, "T")] {
            if !(value >= 0.0 && value.is_finite()) {
                return Err(ValueError::BadTime { row, column, value });
            }
        }
        if t_x > t {
            return Err(ValueError::RecencyAfterT {
                row,
                recency: t_x,
                t,
            });
        }
        if x > 0.0 && t_x == 0.0 {
            return Err(ValueError::RepeatWithoutRecency { row, frequency: x });
        }
        Ok(Some(Summary {
            frequency: x,
            recency: t_x,
            t,
        }))
    }
}

/// Distinct histories with how many customers share each, in a fixed order.
#[derive(Debug, Clone, PartialEq)]
pub struct RepeatData {
    /// Distinct histories ordered by (x, t_x, T), with their customer counts.
    pub(crate) rows: Vec<(Summary, f64)>,
    pub(crate) tables: Tables,
    customers: usize,
    without_purchase: usize,
    repeat_buyers: usize,
}

/// Lookup tables that let a likelihood compute each term that depends on x alone, or on one
/// time value alone, once per distinct value instead of once per history. A daily log of a
/// million customers has a few hundred thousand distinct histories but only tens of distinct x
/// and about a thousand distinct days, so ln Γ(r + x) and ln(α + T) are tabulated.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Tables {
    /// Distinct x, ascending, with how many customers have it.
    pub(crate) frequencies: Vec<(f64, f64)>,
    /// Distinct values among every t_x and T, ascending.
    pub(crate) times: Vec<f64>,
    /// Per row of [`RepeatData::rows`]: its index in `frequencies`, and the indexes of its t_x
    /// and its T in `times`.
    pub(crate) keys: Vec<[u32; 3]>,
}

impl Tables {
    fn of(rows: &[(Summary, f64)]) -> Tables {
        let mut frequencies: Vec<(f64, f64)> = Vec::new();
        let mut times: Vec<f64> = Vec::with_capacity(2 * rows.len());
        for (s, n) in rows {
            match frequencies.last_mut() {
                Some((x, count)) if *x == s.frequency => *count += n,
                _ => frequencies.push((s.frequency, *n)),
            }
            times.extend([s.recency, s.t]);
        }
        times.par_sort_unstable_by(f64::total_cmp);
        times.dedup();
        let xs: Vec<f64> = frequencies.iter().map(|f| f.0).collect();
        let position = |values: &[f64], v: f64| values.partition_point(|w| *w < v) as u32;
        let keys = rows
            .par_iter()
            .map(|(s, _)| {
                [
                    position(&xs, s.frequency),
                    position(&times, s.recency),
                    position(&times, s.t),
                ]
            })
            .collect();
        Tables {
            frequencies,
            times,
            keys,
        }
    }
}

impl RepeatData {
    /// Checks and compresses the three summary columns (one entry per customer). Customers with
    /// all three values missing (no purchase yet) are counted and left out.
    ///
    /// ```
    /// use lookalike_value::RepeatData;
    /// let nan = f64::NAN;
    /// let data = RepeatData::from_columns(&[0.0, 0.0, 2.0, nan], &[0.0, 0.0, 5.0, nan], &[10.0, 10.0, 8.0, nan]).unwrap();
    /// assert_eq!((data.customers(), data.unique(), data.without_purchase(), data.repeat_buyers()), (3, 2, 1, 1));
    /// ```
    pub fn from_columns(frequency: &[f64], recency: &[f64], t: &[f64]) -> Result<Self, ValueError> {
        HistoryCounts::of_columns(frequency, recency, t)?.data()
    }

    /// The data of these sorted distinct rows.
    fn of_rows(rows: Vec<(Summary, f64)>, without_purchase: usize) -> RepeatData {
        let count = |repeat_only: bool| {
            rows.iter()
                .filter(|(s, _)| !repeat_only || s.frequency > 0.0)
                .map(|(_, n)| *n as usize)
                .sum()
        };
        let (customers, repeat_buyers) = (count(false), count(true));
        RepeatData {
            tables: Tables::of(&rows),
            rows,
            customers,
            without_purchase,
            repeat_buyers,
        }
    }

    /// A systematic sample of about `customers` customers (every n/customers-th customer in
    /// the (x, t_x, T) order, so every part of the distribution keeps its share), or None when
    /// the data are not more than twice that size. The fits explore their starting points on
    /// it and polish the best on the full data.
    ///
    /// ```
    /// use lookalike_value::RepeatData;
    /// let x: Vec<f64> = (0..1000).map(|i| (i % 5) as f64).collect();
    /// let t: Vec<f64> = (0..1000).map(|i| 10.0 + (i % 7) as f64).collect();
    /// let data = RepeatData::from_columns(&x, &x, &t).unwrap();
    /// let sample = data.thinned(100).unwrap();
    /// assert_eq!(sample.customers(), 100);
    /// assert_eq!(sample.repeat_buyers(), 80);
    /// assert!(data.thinned(600).is_none());
    /// ```
    pub fn thinned(&self, customers: usize) -> Option<RepeatData> {
        if customers == 0 || self.customers <= 2 * customers {
            return None;
        }
        let step = self.customers as f64 / customers as f64;
        let mut rows = Vec::new();
        let (mut before, mut taken) = (0.0, 0usize);
        for (s, n) in &self.rows {
            let end = before + n;
            // Positions (k + ½)·step for k = taken.. that fall in [before, end).
            let mut here = 0usize;
            while taken < customers && (taken as f64 + 0.5) * step < end {
                taken += 1;
                here += 1;
            }
            if here > 0 {
                rows.push((*s, here as f64));
            }
            before = end;
        }
        Some(RepeatData::of_rows(rows, 0))
    }

    /// Customers in the data (with a purchase).
    pub fn customers(&self) -> usize {
        self.customers
    }

    /// Distinct (x, t_x, T) rows.
    pub fn unique(&self) -> usize {
        self.rows.len()
    }

    /// Rows left out because the customer has no purchase.
    pub fn without_purchase(&self) -> usize {
        self.without_purchase
    }

    /// Customers with at least one repeat purchase.
    pub fn repeat_buyers(&self) -> usize {
        self.repeat_buyers
    }

    /// Σ over customers of `f(summary)`, in a fixed order (the same at any thread count).
    pub(crate) fn sum<T, F>(&self, f: F) -> T
    where
        T: crate::dual::Real + Send,
        F: Fn(&Summary) -> T + Sync,
    {
        sum_in_chunks(self.rows.len(), |i| f(&self.rows[i].0) * self.rows[i].1)
    }
}

/// Σ f(i) for i in 0..len, over chunks of fixed size summed in order: parallel and
/// deterministic (the same bits at any thread count).
pub(crate) fn sum_in_chunks<T, F>(len: usize, f: F) -> T
where
    T: crate::dual::Real + Send,
    F: Fn(usize) -> T + Sync,
{
    const CHUNK: usize = 2048;
    let parts: Vec<T> = (0..len.div_ceil(CHUNK))
        .into_par_iter()
        .map(|chunk| {
            (chunk * CHUNK..len.min((chunk + 1) * CHUNK))
                .fold(T::constant(0.0), |total, i| total + f(i))
        })
        .collect();
    parts
        .into_iter()
        .fold(T::constant(0.0), |total, part| total + part)
}

/// Repeat buyers' mean spend per repeat purchase, for Gamma-Gamma.
#[derive(Debug, Clone, PartialEq)]
pub struct SpendData {
    /// (x, m̄) of each repeat buyer with a positive mean spend, ordered by x then m̄.
    pub(crate) rows: Vec<(f64, f64)>,
    /// Distinct x, ascending: (x, buyers with it, Σ ln m̄ over them), so that the terms of
    /// the likelihood that depend on x alone are computed once per x.
    pub(crate) frequencies: Vec<(f64, f64, f64)>,
    /// Per row: its index in `frequencies`.
    pub(crate) groups: Vec<u32>,
    /// Repeat buyers left out because their mean spend is 0 or negative.
    pub(crate) non_positive: usize,
    /// Pearson correlation of x and m̄ over the rows used.
    pub(crate) correlation: f64,
}

impl SpendData {
    /// The repeat buyers (x ≥ 1) with their mean repeat spend; customers without a repeat
    /// purchase are not used (their m̄ is undefined), nor are repeat buyers whose mean spend is
    /// 0 or negative (Gamma-Gamma models positive spend; they are counted).
    ///
    /// ```
    /// use lookalike_value::SpendData;
    /// let data = SpendData::from_columns(&[0.0, 2.0, 1.0, 3.0], &[0.0, 20.0, 0.0, 35.5]).unwrap();
    /// assert_eq!((data.buyers(), data.non_positive()), (2, 1));
    /// ```
    pub fn from_columns(frequency: &[f64], monetary: &[f64]) -> Result<Self, ValueError> {
        SpendCounts::of_columns(frequency, monetary)?.data()
    }

    /// The data of these sorted rows.
    fn of_rows(rows: Vec<(f64, f64)>, non_positive: usize, correlation: f64) -> SpendData {
        let mut frequencies: Vec<(f64, f64, f64)> = Vec::new();
        let mut groups = Vec::with_capacity(rows.len());
        for (x, m) in &rows {
            match frequencies.last_mut() {
                Some((value, count, ln_m)) if value == x => {
                    *count += 1.0;
                    *ln_m += m.ln();
                }
                _ => frequencies.push((*x, 1.0, m.ln())),
            }
            groups.push(frequencies.len() as u32 - 1);
        }
        SpendData {
            rows,
            frequencies,
            groups,
            non_positive,
            correlation,
        }
    }

    /// Every (n/buyers)-th buyer in the (x, m̄) order, or None when the data are not more than
    /// twice that size (see [`RepeatData::thinned`]).
    pub fn thinned(&self, buyers: usize) -> Option<SpendData> {
        if buyers < 2 || self.rows.len() <= 2 * buyers {
            return None;
        }
        let step = self.rows.len() as f64 / buyers as f64;
        let rows = (0..buyers)
            .map(|k| self.rows[((k as f64 + 0.5) * step) as usize])
            .collect();
        Some(SpendData::of_rows(
            rows,
            self.non_positive,
            self.correlation,
        ))
    }

    /// Repeat buyers used.
    pub fn buyers(&self) -> usize {
        self.rows.len()
    }

    /// Repeat buyers left out for a mean spend ≤ 0.
    pub fn non_positive(&self) -> usize {
        self.non_positive
    }

    /// Pearson correlation between frequency and mean spend (Gamma-Gamma assumes none).
    pub fn correlation(&self) -> f64 {
        self.correlation
    }
}

/// Pearson correlation of the rows, in their (sorted) order so that it does not depend on how
/// the customers were laid out.
fn pearson(rows: &[(f64, f64)]) -> f64 {
    let n = rows.len() as f64;
    let (mx, my) = rows
        .iter()
        .fold((0.0, 0.0), |(a, b), (x, y)| (a + x / n, b + y / n));
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (x, y) in rows {
        sxy += (x - mx) * (y - my);
        sxx += (x - mx) * (x - mx);
        syy += (y - my) * (y - my);
    }
    if sxx == 0.0 || syy == 0.0 {
        0.0
    } else {
        sxy / (sxx * syy).sqrt()
    }
}

/// Distinct (x, t_x, T) histories with how many customers share each, sorted: what a
/// purchase-model fit needs from a base, small (a daily log of a million customers has a few
/// hundred thousand) and exactly mergeable, so that parts of a base counted apart (Spark
/// partitions) give the same [`RepeatData`], bit for bit, as the whole base at once.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HistoryCounts {
    /// (x, t_x, T) as bit patterns, ascending (non-negative floats order like their bits),
    /// with their customer counts.
    rows: Vec<([u64; 3], u64)>,
    /// Customers without a purchase (all three values missing).
    without_purchase: u64,
}

impl HistoryCounts {
    /// Checks the three summary columns (one entry per customer; row numbers in errors are
    /// 0-based positions in them) and counts the distinct histories.
    pub fn of_columns(frequency: &[f64], recency: &[f64], t: &[f64]) -> Result<Self, ValueError> {
        if frequency.len() != recency.len() || recency.len() != t.len() {
            return Err(ValueError::LengthMismatch(
                frequency.len(),
                recency.len(),
                t.len(),
            ));
        }
        let checked: Vec<Option<Summary>> = (0..frequency.len())
            .into_par_iter()
            .map(|i| Summary::checked(i, frequency[i], recency[i], t[i]))
            .collect::<Result<_, _>>()?;
        let mut keys: Vec<[u64; 3]> = checked
            .iter()
            .flatten()
            .map(|s| [s.frequency.to_bits(), s.recency.to_bits(), s.t.to_bits()])
            .collect();
        let without_purchase = (frequency.len() - keys.len()) as u64;
        keys.par_sort_unstable();
        let rows = keys
            .chunk_by(|a, b| a == b)
            .map(|same| (same[0], same.len() as u64))
            .collect();
        Ok(HistoryCounts {
            rows,
            without_purchase,
        })
    }

    /// Adds another part's counts (the order of merging does not matter).
    pub fn merge(&mut self, other: &HistoryCounts) {
        self.rows = merge_counted(&self.rows, &other.rows);
        self.without_purchase += other.without_purchase;
    }

    /// Customers counted, with a purchase or not.
    pub fn customers(&self) -> u64 {
        self.rows.iter().map(|(_, n)| n).sum::<u64>() + self.without_purchase
    }

    /// The fit's data; an error when no customer has a purchase.
    pub fn data(&self) -> Result<RepeatData, ValueError> {
        if self.rows.is_empty() {
            return Err(ValueError::NoCustomers);
        }
        let rows = self
            .rows
            .iter()
            .map(|(key, n)| {
                let [x, t_x, t] = key.map(f64::from_bits);
                let summary = Summary {
                    frequency: x,
                    recency: t_x,
                    t,
                };
                (summary, *n as f64)
            })
            .collect();
        Ok(RepeatData::of_rows(rows, self.without_purchase as usize))
    }
}

/// Repeat buyers' (x, m̄) with how many share each, sorted, and the buyers left out for a mean
/// spend ≤ 0: what Gamma-Gamma needs, exactly mergeable like [`HistoryCounts`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SpendCounts {
    /// (x, m̄) as bit patterns, ascending, with their counts (positive m̄ only).
    rows: Vec<([u64; 2], u64)>,
    /// Repeat buyers whose mean spend is 0 or negative.
    non_positive: u64,
}

impl SpendCounts {
    /// The repeat buyers (x ≥ 1) of the two columns, checked: a repeat buyer's mean spend must
    /// be a number (row numbers in errors are 0-based positions).
    pub fn of_columns(frequency: &[f64], monetary: &[f64]) -> Result<Self, ValueError> {
        let mut keys = Vec::new();
        let mut non_positive = 0;
        for (row, (x, m)) in frequency.iter().zip(monetary).enumerate() {
            if x.is_nan() || *x < 1.0 {
                continue;
            }
            if !m.is_finite() {
                return Err(ValueError::BadSpend { row, value: *m });
            }
            if *m <= 0.0 {
                non_positive += 1;
            } else {
                keys.push([x.to_bits(), m.to_bits()]);
            }
        }
        keys.par_sort_unstable();
        let rows = keys
            .chunk_by(|a, b| a == b)
            .map(|same| (same[0], same.len() as u64))
            .collect();
        Ok(SpendCounts { rows, non_positive })
    }

    /// Adds another part's counts (the order of merging does not matter).
    pub fn merge(&mut self, other: &SpendCounts) {
        self.rows = merge_counted(&self.rows, &other.rows);
        self.non_positive += other.non_positive;
    }

    /// The fit's data; an error with fewer than two buyers of positive spend.
    pub fn data(&self) -> Result<SpendData, ValueError> {
        let buyers: u64 = self.rows.iter().map(|(_, n)| n).sum();
        if buyers < 2 {
            return Err(ValueError::TooFewSpenders(buyers as usize));
        }
        let mut rows = Vec::with_capacity(buyers as usize);
        for ([x, m], n) in &self.rows {
            let row = (f64::from_bits(*x), f64::from_bits(*m));
            rows.extend(std::iter::repeat_n(row, *n as usize));
        }
        let correlation = pearson(&rows);
        Ok(SpendData::of_rows(
            rows,
            self.non_positive as usize,
            correlation,
        ))
    }
}

/// Two ascending counted lists as one, counts of equal keys added.
fn merge_counted<K: Ord + Copy>(a: &[(K, u64)], b: &[(K, u64)]) -> Vec<(K, u64)> {
    let mut merged = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(&b[j].0) {
            std::cmp::Ordering::Less => {
                merged.push(a[i]);
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                merged.push(b[j]);
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                merged.push((a[i].0, a[i].1 + b[j].1));
                i += 1;
                j += 1;
            }
        }
    }
    merged.extend_from_slice(&a[i..]);
    merged.extend_from_slice(&b[j..]);
    merged
}
