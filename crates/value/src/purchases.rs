//! What every purchase model (BG/NBD, Pareto/NBD) predicts for a customer.

use crate::summary::Summary;

/// Predictions of a fitted model of repeat purchases. Times are in the unit of the data the
/// model was fitted on (weeks in the papers).
pub trait PurchaseModel: Sync {
    /// The model's name.
    fn name(&self) -> &'static str;
    /// P(alive | x, t_x, T): the probability the customer has not dropped out by T.
    fn p_alive(&self, customer: &Summary) -> f64;
    /// E[Y(t) | x, t_x, T]: expected repeat purchases in (T, T + t].
    fn expected_purchases(&self, t: f64, customer: &Summary) -> f64;
    /// E[Y(t)] for each t of `times` into `out` (same length): what CLV needs at every month.
    /// Models override it to share the work that does not depend on t.
    fn expected_purchases_at(&self, times: &[f64], customer: &Summary, out: &mut [f64]) {
        for (t, value) in times.iter().zip(out) {
            *value = self.expected_purchases(*t, customer);
        }
    }
    /// E[X(t)]: expected repeat purchases of a new customer in (0, t].
    fn unconditional_purchases(&self, t: f64) -> f64;
    /// Expected purchases over the rest of the customer's lifetime, undiscounted
    /// (lim t→∞ of E[Y(t) | x, t_x, T]); None when infinite for these parameters.
    fn residual_purchases(&self, customer: &Summary) -> Option<f64>;
}
