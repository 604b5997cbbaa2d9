//! Test and track: what a campaign did, measured against its control group.
//!
//! The statistics behind `lookalike measure`, `power` and `migrate`, as library code so that the
//! CLI, Python and Spark compute the same numbers:
//! - [`proportion_lift`]: conversion of the treated against the control group — Wilson intervals
//!   per group, Newcombe's interval for the difference, the log (Katz) interval for the ratio, the
//!   pooled two-proportion z-test;
//! - [`mean_lift`]: a per-customer metric such as revenue, by Welch's t (unequal variances, the
//!   choice for heavy-tailed spend), optionally CUPED-adjusted by a pre-period covariate
//!   ([`cuped`], Deng et al. 2013);
//! - [`minimum_detectable_lift`] and [`control_size_for`]: the power analysis of a two-proportion
//!   test (Cohen's h, normal approximation), to flag segments too small to test;
//! - [`Migration`]: how customers moved between segments from one run to the next;
//! - [`measure_campaign`]: all of it per audience group (tier) and overall, from each
//!   customer's outcome in the period ([`lookalike_core::Outcome`], counted from a log by
//!   `lookalike_features::outcomes`).

mod campaign;
mod error;
mod means;
mod migration;
mod power;
mod proportions;

pub use campaign::{CampaignResult, GroupResult, Member, Side, measure_campaign};
pub use error::MeasureError;
pub use means::{MeanLift, cuped, mean_lift};
pub use migration::Migration;
pub use power::{SegmentPower, TestPlan, control_size_for, minimum_detectable_lift, segment_power};
pub use proportions::{Interval, ProportionLift, proportion_lift, wilson};
