//! Holdout evaluation of value predictions: fit on a calibration period, predict the holdout,
//! and compare with what happened, next to a naive baseline (each customer keeps their
//! historical repeat rate x/T and their mean order value). The tables are those of the BG/NBD
//! paper's validation (Fader, Hardie & Lee 2005, Figure 4: conditional expectations by
//! calibration frequency; Figure 2: cumulative tracking) plus decile calibration, errors, the
//! Gini of holdout spend and top-decile capture.

use crate::{Prediction, PurchaseModel};

/// One customer with a calibration purchase, in the holdout comparison.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HoldoutRow {
    /// Repeat purchases in calibration (x).
    pub frequency: f64,
    /// Purchases in the holdout.
    pub actual_purchases: f64,
    /// Spend in the holdout.
    pub actual_spend: f64,
    /// The model's expected holdout purchases.
    pub model_purchases: f64,
    /// The model's expected holdout spend (NaN without a spend model).
    pub model_spend: f64,
    /// The naive baseline's purchases: x/T × the holdout length.
    pub naive_purchases: f64,
    /// The naive baseline's spend: its purchases × the customer's mean order value.
    pub naive_spend: f64,
}

/// The per-customer columns an evaluation reads, one value per customer.
#[derive(Debug, Clone, Copy)]
pub struct HoldoutColumns<'a> {
    /// Repeat purchases in calibration (x).
    pub frequency: &'a [f64],
    /// Age in calibration (T).
    pub t: &'a [f64],
    /// Mean repeat-purchase value.
    pub monetary_value: &'a [f64],
    /// Mean order value (for customers without a repeat purchase).
    pub avg_order_value: &'a [f64],
    /// Purchases in the holdout.
    pub holdout_purchases: &'a [f64],
    /// Spend in the holdout.
    pub holdout_spend: &'a [f64],
}

/// A metric of the model next to the naive baseline's.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricRow {
    /// What is measured.
    pub name: String,
    /// The model's value.
    pub model: f64,
    /// The naive baseline's.
    pub naive: f64,
}

/// Mean holdout purchases of the customers with one calibration frequency.
#[derive(Debug, Clone, PartialEq)]
pub struct FrequencyRow {
    /// x as text: "0" … "6", "7+".
    pub frequency: String,
    /// Customers.
    pub customers: usize,
    /// Mean actual holdout purchases.
    pub actual: f64,
    /// Mean of the model's.
    pub model: f64,
    /// Mean of the naive baseline's.
    pub naive: f64,
}

/// One tenth of the customers by predicted purchases (highest first).
#[derive(Debug, Clone, PartialEq)]
pub struct DecileRow {
    /// 1 = the highest predictions.
    pub decile: usize,
    /// Customers.
    pub customers: usize,
    /// Mean predicted purchases.
    pub predicted: f64,
    /// Mean actual purchases.
    pub actual: f64,
}

/// The holdout evaluation of a fitted value model.
#[derive(Debug, Clone, PartialEq)]
pub struct HoldoutEvaluation {
    /// One row per customer with a calibration purchase.
    pub rows: Vec<HoldoutRow>,
}

/// Mean absolute and root mean squared error of (actual, predicted) pairs.
pub fn mae_rmse(pairs: impl Iterator<Item = (f64, f64)>) -> (f64, f64) {
    let (mut abs, mut sq, mut n) = (0.0, 0.0, 0.0);
    for (a, p) in pairs {
        abs += (a - p).abs();
        sq += (a - p) * (a - p);
        n += 1.0;
    }
    (abs / n, (sq / n).sqrt())
}

/// Gini of `actual` ranked by `score` (descending, ties by position): twice the area between
/// the cumulative-gains curve and the diagonal, and the share of the total in the top 10%.
/// NaN for both when the total is not positive.
///
/// ```
/// use lookalike_value::gini_and_top_decile;
/// // A perfect ranking of one buyer among ten: every gain in the first tenth.
/// let actual = [0.0, 0.0, 5.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
/// let (gini, top) = gini_and_top_decile(&actual, &actual);
/// assert!((gini - 0.9).abs() < 1e-12 && top == 1.0);
/// ```
pub fn gini_and_top_decile(score: &[f64], actual: &[f64]) -> (f64, f64) {
    let mut order: Vec<usize> = (0..score.len()).collect();
    order.sort_by(|a, b| score[*b].total_cmp(&score[*a]).then(a.cmp(b)));
    let total: f64 = actual.iter().sum();
    let n = order.len() as f64;
    if total <= 0.0 || order.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let (mut cumulative, mut area, mut top) = (0.0, 0.0, 0.0);
    let top_count = (n / 10.0).ceil() as usize;
    for (k, i) in order.iter().enumerate() {
        let before = cumulative;
        cumulative += actual[*i] / total;
        area += (before + cumulative) / 2.0 / n;
        if k < top_count {
            top = cumulative;
        }
    }
    (2.0 * area - 1.0, top)
}

impl HoldoutEvaluation {
    /// Pairs each customer's prediction over the holdout (`holdout_units` long, in the model's
    /// time unit) with what they did; customers without a prediction (no calibration
    /// purchase) are left out.
    pub fn new(
        columns: HoldoutColumns<'_>,
        predictions: &[Option<Prediction>],
        holdout_units: f64,
    ) -> Self {
        let HoldoutColumns {
            frequency: x,
            t,
            monetary_value: m,
            avg_order_value: aov,
            holdout_purchases: hp,
            holdout_spend: hs,
        } = columns;
        let rows = predictions
            .iter()
            .enumerate()
            .filter_map(|(i, p)| {
                let p = p.as_ref()?;
                let rate = if t[i] > 0.0 { x[i] / t[i] } else { 0.0 };
                let naive_purchases = rate * holdout_units;
                let order_value = if x[i] > 0.0 && m[i] > 0.0 {
                    m[i]
                } else {
                    aov[i]
                };
                Some(HoldoutRow {
                    frequency: x[i],
                    actual_purchases: hp[i],
                    actual_spend: hs[i],
                    model_purchases: p.expected_purchases,
                    model_spend: p
                        .expected_spend
                        .map_or(f64::NAN, |s| s * p.expected_purchases),
                    naive_purchases,
                    naive_spend: naive_purchases * order_value,
                })
            })
            .collect();
        HoldoutEvaluation { rows }
    }

    /// Totals, errors, Gini and top-decile capture, model next to naive.
    pub fn metrics(&self) -> Vec<MetricRow> {
        let r = &self.rows;
        let (mp, rp) = mae_rmse(r.iter().map(|r| (r.actual_purchases, r.model_purchases)));
        let (mn, rn) = mae_rmse(r.iter().map(|r| (r.actual_purchases, r.naive_purchases)));
        let (ms, rs) = mae_rmse(r.iter().map(|r| (r.actual_spend, r.model_spend)));
        let (msn, rsn) = mae_rmse(r.iter().map(|r| (r.actual_spend, r.naive_spend)));
        let actual: Vec<f64> = r.iter().map(|r| r.actual_spend).collect();
        let model_score: Vec<f64> = r.iter().map(|r| r.model_spend).collect();
        let naive_score: Vec<f64> = r.iter().map(|r| r.naive_spend).collect();
        let (gm, tm) = gini_and_top_decile(&model_score, &actual);
        let (gn, tn) = gini_and_top_decile(&naive_score, &actual);
        let total = |f: fn(&HoldoutRow) -> f64| r.iter().map(f).sum::<f64>();
        let row = |name: String, model: f64, naive: f64| MetricRow { name, model, naive };
        vec![
            row(
                format!(
                    "total holdout purchases (actual {:.0})",
                    total(|r| r.actual_purchases)
                ),
                total(|r| r.model_purchases),
                total(|r| r.naive_purchases),
            ),
            row("purchases MAE".into(), mp, mn),
            row("purchases RMSE".into(), rp, rn),
            row("spend MAE".into(), ms, msn),
            row("spend RMSE".into(), rs, rsn),
            row("Gini of holdout spend".into(), gm, gn),
            row("top-decile capture of spend".into(), tm, tn),
        ]
    }

    /// Mean actual and predicted holdout purchases by calibration frequency (0…6, 7+): the
    /// conditional expectations of Fader, Hardie & Lee (2005), Figure 4.
    pub fn by_frequency(&self) -> Vec<FrequencyRow> {
        (0..8)
            .map(|x| {
                let group: Vec<&HoldoutRow> = self
                    .rows
                    .iter()
                    .filter(|r| {
                        if x < 7 {
                            r.frequency == x as f64
                        } else {
                            r.frequency >= 7.0
                        }
                    })
                    .collect();
                let n = group.len();
                let mean = |f: fn(&HoldoutRow) -> f64| {
                    group.iter().map(|r| f(r)).sum::<f64>() / n.max(1) as f64
                };
                FrequencyRow {
                    frequency: if x < 7 { x.to_string() } else { "7+".into() },
                    customers: n,
                    actual: mean(|r| r.actual_purchases),
                    model: mean(|r| r.model_purchases),
                    naive: mean(|r| r.naive_purchases),
                }
            })
            .collect()
    }

    /// Deciles of the model's predicted purchases (highest first): mean predicted and actual.
    pub fn deciles(&self) -> Vec<DecileRow> {
        let mut order: Vec<&HoldoutRow> = self.rows.iter().collect();
        order.sort_by(|a, b| b.model_purchases.total_cmp(&a.model_purchases));
        let n = order.len();
        (0..10)
            .map(|d| {
                let part = &order[d * n / 10..(d + 1) * n / 10];
                let len = part.len().max(1) as f64;
                DecileRow {
                    decile: d + 1,
                    customers: part.len(),
                    predicted: part.iter().map(|r| r.model_purchases).sum::<f64>() / len,
                    actual: part.iter().map(|r| r.actual_purchases).sum::<f64>() / len,
                }
            })
            .collect()
    }
}

/// Cumulative holdout purchases week by week: actual, the model's expectation and the naive
/// baseline's, over the customers who bought before the calibration's end (Fader, Hardie & Lee
/// 2005, Figure 2).
#[derive(Debug, Clone, PartialEq)]
pub struct Tracking {
    /// (week, cumulative actual, model, naive).
    pub rows: Vec<(usize, f64, f64, f64)>,
    /// The cohort over calibration and holdout, week by week (empty unless
    /// [`Tracking::with_cohort`] added it).
    pub cohort: Vec<CohortWeek>,
}

/// One week of the cohort's cumulative repeat purchases, from its first purchase to the end of
/// the holdout, against the model's unconditional expectation (as lifetimes'
/// `plot_cumulative_transactions`; Fader, Hardie & Lee 2005, Figure 2).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CohortWeek {
    /// The week's end in days from as-of, exclusive: 0 for the last calibration week (it ends
    /// the day before as-of), −7 for the one before, 7 for the first holdout week (the last
    /// holdout week may be shorter).
    pub end_day: i64,
    /// Repeat purchase days of the cohort up to the week's end.
    pub actual: f64,
    /// The model's expectation: Σ over customers born by then of E[X(age)], unconditional on
    /// their histories, age measured from each first purchase day.
    pub expected: f64,
}

impl Tracking {
    /// `weekly_actual[k]`: purchase days in holdout week k; `model_cumulative[k]`: the model's
    /// expected purchases up to the end of week k; `naive_rate`: Σ x/T per time unit;
    /// `week_ends[k]`: the end of week k in the model's time unit.
    pub fn new(
        weekly_actual: &[f64],
        model_cumulative: &[f64],
        naive_rate: f64,
        week_ends: &[f64],
    ) -> Self {
        let mut actual = 0.0;
        let rows = weekly_actual
            .iter()
            .zip(model_cumulative)
            .zip(week_ends)
            .enumerate()
            .map(|(k, ((week, model), end))| {
                actual += week;
                (k + 1, actual, *model, naive_rate * end)
            })
            .collect();
        Tracking {
            rows,
            cohort: Vec::new(),
        }
    }

    /// Adds the cohort's tracking over the whole period. `first_days`: each cohort customer's
    /// first purchase day, in days from as-of (−1 = the day before); `calibration_weeks`:
    /// repeat purchase days per calibration week, earliest first, the last ending the day
    /// before as-of; `holdout_weeks` as for [`Tracking::new`]; `holdout_days`: the holdout's
    /// length; `unit_days`: days per model time unit.
    pub fn with_cohort(
        mut self,
        model: &dyn PurchaseModel,
        first_days: &[i64],
        calibration_weeks: &[f64],
        holdout_weeks: &[f64],
        holdout_days: i64,
        unit_days: f64,
    ) -> Self {
        // Customers born on the same day share their curve: one evaluation per birth day.
        let mut births: Vec<(i64, f64)> = Vec::new();
        let mut sorted = first_days.to_vec();
        sorted.sort_unstable();
        for day in sorted {
            match births.last_mut() {
                Some((d, n)) if *d == day => *n += 1.0,
                _ => births.push((day, 1.0)),
            }
        }
        // From the week of the first birth (before any repeat purchase can be made).
        let first_birth = births.first().map_or(0, |(day, _)| *day);
        let weeks_before = (calibration_weeks.len() as i64).max((-first_birth + 6) / 7);
        let padding = weeks_before as usize - calibration_weeks.len();
        let ends = (0..weeks_before)
            .map(|k| -7 * (weeks_before - 1 - k))
            .chain((1..=holdout_weeks.len() as i64).map(|k| (7 * k).min(holdout_days)));
        let counts = std::iter::repeat_n(&0.0, padding)
            .chain(calibration_weeks)
            .chain(holdout_weeks);
        let mut actual = 0.0;
        self.cohort = ends
            .zip(counts)
            .map(|(end_day, count)| {
                actual += count;
                // Purchases on days before `end_day`: a customer first buying on day f has
                // been exposed end_day − 1 − f days.
                let expected = births
                    .iter()
                    .take_while(|(first, _)| *first < end_day)
                    .map(|(first, n)| {
                        n * model.unconditional_purchases((end_day - 1 - first) as f64 / unit_days)
                    })
                    .sum();
                CohortWeek {
                    end_day,
                    actual,
                    expected,
                }
            })
            .collect();
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gini_is_zero_for_a_random_order_and_negative_when_reversed() {
        // Equal spend: every order captures the total at the same rate as the diagonal,
        // up to the trapezoid's half step: Gini = 1 - 2 * (n + 1) / (2n) + 1 = 0 for n → ∞;
        // exactly 0 here because the curve is the diagonal.
        let flat = [1.0; 10];
        let (gini, top) = gini_and_top_decile(&[0.0; 10], &flat);
        assert!(gini.abs() < 1e-12, "{gini}");
        assert!((top - 0.1).abs() < 1e-12);
        // The worst ranking of one buyer among ten: all gain in the last tenth.
        let actual = [5.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        let reversed = [0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0];
        let (gini, top) = gini_and_top_decile(&reversed, &actual);
        assert!((gini + 0.9).abs() < 1e-12, "{gini}");
        assert_eq!(top, 0.0);
        assert!(gini_and_top_decile(&[1.0], &[0.0]).0.is_nan());
    }

    fn prediction(purchases: f64, spend: f64) -> Option<Prediction> {
        Some(Prediction {
            p_alive: 1.0,
            expected_purchases: purchases,
            expected_spend: Some(spend),
            clv: None,
            residual_purchases: None,
        })
    }

    #[test]
    fn the_cohort_curve_sums_each_customer_from_their_first_purchase() {
        let model = crate::BgNbd {
            r: 0.243,
            alpha: 4.414,
            a: 0.793,
            b: 2.426,
        };
        // Days: two customers first bought 10 days before as-of, one 3 days before; one repeat
        // purchase in the last calibration week, two in the first holdout week, one in the
        // second (which the 10-day holdout cuts to 3 days).
        let tracking = Tracking::new(&[2.0, 1.0], &[0.5, 0.8], 0.1, &[1.0, 10.0 / 7.0])
            .with_cohort(&model, &[-10, -3, -10], &[1.0], &[2.0, 1.0], 10, 7.0);
        let e = |days: f64| model.unconditional_purchases(days / 7.0);
        let ends: Vec<i64> = tracking.cohort.iter().map(|w| w.end_day).collect();
        // The first birth (day −10) is in the week ending at −7: one padded week before.
        assert_eq!(ends, [-7, 0, 7, 10]);
        let actual: Vec<f64> = tracking.cohort.iter().map(|w| w.actual).collect();
        assert_eq!(actual, [0.0, 1.0, 3.0, 4.0]);
        let expected: Vec<f64> = tracking.cohort.iter().map(|w| w.expected).collect();
        let oracle = [
            2.0 * e(2.0),
            2.0 * e(9.0) + e(2.0),
            2.0 * e(16.0) + e(9.0),
            2.0 * e(19.0) + e(12.0),
        ];
        for (got, want) in expected.iter().zip(oracle) {
            assert!((got - want).abs() < 1e-12, "{expected:?} vs {oracle:?}");
        }
        // The holdout rows are unchanged.
        assert_eq!(tracking.rows[1], (2, 3.0, 0.8, 0.1 * (10.0 / 7.0)));
    }

    #[test]
    fn the_naive_baseline_keeps_each_rate_and_order_value() {
        let columns = HoldoutColumns {
            frequency: &[2.0, 0.0, 9.0],
            t: &[10.0, 5.0, 30.0],
            monetary_value: &[20.0, 0.0, 10.0],
            avg_order_value: &[25.0, 40.0, 12.0],
            holdout_purchases: &[1.0, 0.0, 3.0],
            holdout_spend: &[20.0, 0.0, 30.0],
        };
        let predictions = [prediction(1.5, 20.0), None, prediction(2.0, 10.0)];
        let evaluation = HoldoutEvaluation::new(columns, &predictions, 10.0);
        assert_eq!(
            evaluation.rows.len(),
            2,
            "the customer without a prediction is left out"
        );
        let first = evaluation.rows[0];
        assert_eq!(first.naive_purchases, 2.0);
        assert_eq!(first.naive_spend, 40.0);
        assert_eq!(first.model_spend, 30.0);
        let metrics = evaluation.metrics();
        assert_eq!(metrics[0].name, "total holdout purchases (actual 4)");
        assert_eq!((metrics[0].model, metrics[0].naive), (3.5, 5.0));
        // Purchases MAE: model |1 - 1.5| and |3 - 2| → 0.75; naive |1 - 2| and |3 - 3| → 0.5.
        assert_eq!((metrics[1].model, metrics[1].naive), (0.75, 0.5));
        let by_x = evaluation.by_frequency();
        assert_eq!(by_x[2].customers, 1);
        assert_eq!(by_x[7].frequency, "7+");
        assert_eq!((by_x[7].actual, by_x[7].model), (3.0, 2.0));
        let tracking = Tracking::new(&[1.0, 2.0], &[1.5, 3.5], 0.5, &[1.0, 2.0]);
        assert_eq!(tracking.rows, vec![(1, 1.0, 1.5, 0.5), (2, 3.0, 3.5, 1.0)]);
    }
}
