//! Expected customer value: how many purchases each customer will make and what they are worth.
//!
//! - [`BgNbd`] (Fader, Hardie & Lee 2005) and [`ParetoNbd`] (Schmittlein et al. 1987) model
//!   repeat purchases and dropout from each customer's (x, t_x, T) ([`Summary`]); both give
//!   P(alive), expected purchases and residual purchases through [`PurchaseModel`].
//! - [`GammaGamma`] models spend per purchase from repeat buyers' mean spend.
//! - [`clv`] combines them over a horizon with monthly discounting.
//!
//! Fits are by maximum likelihood ([`FitOptions`] → fit → [`FitReport`]): L-BFGS on the
//! log-parameters from several starting points, exact gradients by automatic differentiation,
//! standard errors from the Hessian, and warnings when a parameter runs to a boundary. Customers
//! are compressed to distinct histories ([`RepeatData`]) first, so the cost grows with the
//! number of distinct (x, t_x, T), not with the number of customers.

mod bgbb;
mod bgnbd;
mod clv;
mod dual;
mod error;
mod evaluation;
mod fit;
mod forecast;
mod gamma_gamma;
mod mbgnbd;
mod model;
mod pareto;
mod purchases;
mod simulate;
mod special;
mod summary;

pub use bgbb::BgBb;
pub use bgnbd::BgNbd;
pub use clv::{MonthLength, clv};
pub use dual::{Dual, Real};
pub use error::ValueError;
pub use evaluation::{
    CohortWeek, DecileRow, FrequencyRow, HoldoutColumns, HoldoutEvaluation, HoldoutRow, MetricRow,
    Tracking, gini_and_top_decile, mae_rmse,
};
pub use fit::{FitOptions, FitReport};
pub use forecast::{Forecast, Horizon, expected_total_purchases, forecast, forecast_one};
pub use gamma_gamma::GammaGamma;
pub use mbgnbd::MbgNbd;
pub use model::{
    HorizonSpec, HorizonUnit, MAX_HORIZON_MONTHS, Prediction, PurchaseKind, Purchases, ValueModel,
    predict,
};
pub use pareto::ParetoNbd;
pub use purchases::PurchaseModel;
pub use simulate::{
    SimulatedCustomer, SimulatedHistory, simulate_bgbb_histories, simulate_bgnbd,
    simulate_bgnbd_histories, simulate_mbgnbd, simulate_mbgnbd_histories, simulate_pareto,
    simulate_pareto_histories,
};
pub use special::{ln_hyp2f1, ln_hyp2f1_many, log_diff_exp, log_sum_exp};
pub use summary::{HistoryCounts, RepeatData, SpendCounts, SpendData, Summary};
