//! One customer's outcome over a campaign's period: what `lookalike_features::outcomes` counts
//! from a log and `lookalike_measure` compares between treated and control customers. Kept here
//! so that the statistics need no log reader.

/// One customer's outcome in the period (and pre-period revenue).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    /// Distinct orders with a purchase line in the period.
    pub orders: u64,
    /// Purchase lines (amount ≥ 0) in the period: a customer with one is a converter.
    pub purchase_lines: u64,
    /// Revenue in the period: purchases minus refunds.
    pub revenue: f64,
    /// Revenue in the pre-period (purchases minus refunds), when one was asked for.
    pub pre_revenue: f64,
}
