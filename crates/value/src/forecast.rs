//! Predictions for a whole customer base: each distinct history is forecast once, and CLV is
//! factored as expected spend × discounted expected purchases, so that the expensive part (the
//! purchase model's conditional expectations at every month of the horizon) is shared by all
//! customers with the same (x, t_x, T), whatever they spend.

use rayon::prelude::*;

use crate::error::ValueError;
use crate::purchases::PurchaseModel;
use crate::summary::{RepeatData, Summary};

/// A horizon cut into months for discounting (see [`crate::clv`] for the convention).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Horizon {
    months: f64,
    month: f64,
    discount: f64,
}

impl Horizon {
    /// `months` months (a fraction allowed) of `month` time units each, discounted at
    /// `discount` per month.
    ///
    /// ```
    /// let horizon = lookalike_value::Horizon::new(12.0, 30.0, 0.01).unwrap();
    /// assert_eq!(horizon.length(), 360.0);
    /// assert!(lookalike_value::Horizon::new(-1.0, 30.0, 0.01).is_err());
    /// ```
    pub fn new(months: f64, month: f64, discount: f64) -> Result<Horizon, ValueError> {
        if !(months >= 0.0 && months.is_finite()) {
            return Err(ValueError::BadHorizon(months));
        }
        if !(discount > -1.0 && discount.is_finite()) {
            return Err(ValueError::BadDiscount(discount));
        }
        if !(month > 0.0 && month.is_finite()) {
            return Err(ValueError::BadHorizon(month));
        }
        Ok(Horizon {
            months,
            month,
            discount,
        })
    }

    /// The horizon in the model's time unit.
    pub fn length(&self) -> f64 {
        self.months * self.month
    }

    /// The ends of the monthly steps (in the model's time unit) and each step's discount
    /// factor 1/(1 + d)^i; the last step is partial when `months` is not whole.
    fn steps(&self) -> (Vec<f64>, Vec<f64>) {
        let mut ends = Vec::new();
        let mut factors = Vec::new();
        let mut i = 0.0;
        while i < self.months {
            let step = (i + 1.0).min(self.months);
            ends.push(step * self.month);
            factors.push((1.0 + self.discount).powf(-step));
            i = step;
        }
        (ends, factors)
    }
}

/// What a purchase model says about one customer over a horizon.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Forecast {
    /// P(alive) now.
    pub p_alive: f64,
    /// Expected repeat purchases over the horizon.
    pub expected_purchases: f64,
    /// Σ over the horizon's months of the purchases expected in the month, discounted: CLV is
    /// this times the expected spend per purchase.
    pub discounted_purchases: f64,
    /// Expected purchases over the rest of the customer's life (None when infinite).
    pub residual_purchases: Option<f64>,
}

/// The forecast of one history.
///
/// ```
/// use lookalike_value::{BgNbd, Horizon, PurchaseModel, Summary, forecast_one};
/// let model = BgNbd::new(0.243, 4.414, 0.793, 2.426).unwrap();
/// let customer = Summary { frequency: 2.0, recency: 30.43, t: 38.86 };
/// let f = forecast_one(&model, &customer, &Horizon::new(12.0, 4.345, 0.0).unwrap());
/// let direct = model.expected_purchases(12.0 * 4.345, &customer);
/// assert!((f.expected_purchases - direct).abs() < 1e-12 && (f.discounted_purchases - direct).abs() < 1e-12);
/// ```
pub fn forecast_one(model: &dyn PurchaseModel, customer: &Summary, horizon: &Horizon) -> Forecast {
    let (ends, factors) = horizon.steps();
    forecast_steps(model, customer, &ends, &factors)
}

fn forecast_steps(
    model: &dyn PurchaseModel,
    customer: &Summary,
    ends: &[f64],
    factors: &[f64],
) -> Forecast {
    let mut cumulative = vec![0.0; ends.len()];
    model.expected_purchases_at(ends, customer, &mut cumulative);
    let mut previous = 0.0;
    let mut discounted = 0.0;
    for (total, factor) in cumulative.iter().zip(factors) {
        discounted += (total - previous) * factor;
        previous = *total;
    }
    Forecast {
        p_alive: model.p_alive(customer),
        expected_purchases: previous,
        discounted_purchases: discounted,
        residual_purchases: model.residual_purchases(customer),
    }
}

/// Forecasts of every customer (None where the customer has no purchase), each distinct history
/// computed once, in parallel; the result does not depend on the thread count.
pub fn forecast(
    model: &dyn PurchaseModel,
    customers: &[Option<Summary>],
    horizon: &Horizon,
) -> Vec<Option<Forecast>> {
    let (ends, factors) = horizon.steps();
    // Sort customer indexes by history; equal histories become neighbours.
    let mut order: Vec<([u64; 3], usize)> = customers
        .par_iter()
        .enumerate()
        .filter_map(|(i, c)| {
            c.map(|s| {
                let key = [s.frequency, s.recency, s.t].map(f64::to_bits);
                (key, i)
            })
        })
        .collect();
    order.par_sort_unstable();
    let starts: Vec<usize> = (0..order.len())
        .filter(|&i| i == 0 || order[i].0 != order[i - 1].0)
        .collect();
    let distinct: Vec<Forecast> = starts
        .par_iter()
        .map(|&i| {
            let customer = customers[order[i].1].expect("kept above");
            forecast_steps(model, &customer, &ends, &factors)
        })
        .collect();
    let mut result = vec![None; customers.len()];
    let mut history = 0;
    for (i, (_, customer)) in order.iter().enumerate() {
        if history + 1 < starts.len() && starts[history + 1] == i {
            history += 1;
        }
        result[*customer] = Some(distinct[history]);
    }
    result
}

/// Σ over the customers of `data` of E[Y(t)] for each t of `times`: the model's side of a
/// tracking curve (expected purchases of the whole base after the calibration period).
/// Deterministic: the same sums at any thread count.
///
/// ```
/// use lookalike_value::{BgNbd, PurchaseModel, RepeatData, Summary, expected_total_purchases};
/// let model = BgNbd::new(0.243, 4.414, 0.793, 2.426).unwrap();
/// let data = RepeatData::from_columns(&[2.0, 2.0, 0.0], &[30.43, 30.43, 0.0], &[38.86, 38.86, 20.0]).unwrap();
/// let total = expected_total_purchases(&model, &data, &[39.0]);
/// let one = |x, t_x, t| model.expected_purchases(39.0, &Summary { frequency: x, recency: t_x, t });
/// assert!((total[0] - (2.0 * one(2.0, 30.43, 38.86) + one(0.0, 0.0, 20.0))).abs() < 1e-12);
/// ```
pub fn expected_total_purchases(
    model: &dyn PurchaseModel,
    data: &RepeatData,
    times: &[f64],
) -> Vec<f64> {
    const CHUNK: usize = 1024;
    let parts: Vec<Vec<f64>> = data
        .rows
        .par_chunks(CHUNK)
        .map(|chunk| {
            let mut totals = vec![0.0; times.len()];
            let mut values = vec![0.0; times.len()];
            for (summary, count) in chunk {
                model.expected_purchases_at(times, summary, &mut values);
                for (total, value) in totals.iter_mut().zip(&values) {
                    *total += value * count;
                }
            }
            totals
        })
        .collect();
    parts
        .iter()
        .fold(vec![0.0; times.len()], |mut totals, part| {
            for (total, value) in totals.iter_mut().zip(part) {
                *total += value;
            }
            totals
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BgNbd, ParetoNbd};

    /// Forecasting the base history by history gives each customer exactly the forecast of
    /// their own history, and no forecast to customers without a purchase.
    #[test]
    fn shared_forecasts_equal_forecasts_one_by_one() {
        let customers: Vec<Option<Summary>> = (0..3000)
            .map(|i| {
                (i % 17 != 0).then(|| {
                    let x = (i % 6) as f64;
                    let t = 10.0 + (i % 23) as f64;
                    let recency = if x > 0.0 {
                        t * ((i % 4) + 1) as f64 / 4.0
                    } else {
                        0.0
                    };
                    Summary {
                        frequency: x,
                        recency,
                        t,
                    }
                })
            })
            .collect();
        let horizon = Horizon::new(12.5, 4.345, 0.01).unwrap();
        let bgnbd = BgNbd::new(0.243, 4.414, 0.793, 2.426).unwrap();
        let pareto = ParetoNbd::new(0.553, 10.58, 0.606, 11.67).unwrap();
        for model in [&bgnbd as &dyn PurchaseModel, &pareto] {
            let shared = forecast(model, &customers, &horizon);
            for (customer, got) in customers.iter().zip(&shared) {
                assert_eq!(customer.map(|c| forecast_one(model, &c, &horizon)), *got);
            }
        }
    }

    /// Discounting month by month: the sum of each month's purchases over (1 + d)^i, with a
    /// last half month discounted by (1 + d)^12.5.
    #[test]
    fn discounting_follows_the_monthly_convention() {
        let model = BgNbd::new(0.243, 4.414, 0.793, 2.426).unwrap();
        let customer = Summary {
            frequency: 3.0,
            recency: 20.0,
            t: 30.0,
        };
        let (month, d) = (4.345, 0.02);
        let f = forecast_one(&model, &customer, &Horizon::new(12.5, month, d).unwrap());
        let mut expected = 0.0;
        let mut previous = 0.0;
        for end in (1..=12).map(f64::from).chain([12.5]) {
            let total = model.expected_purchases(end * month, &customer);
            expected += (total - previous) / (1.0 + d).powf(end);
            previous = total;
        }
        assert!((f.discounted_purchases - expected).abs() < 1e-12);
        assert!((f.expected_purchases - previous).abs() < 1e-12);
    }
}
