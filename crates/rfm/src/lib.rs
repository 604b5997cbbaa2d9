//! RFM scores, named RFM segments, lifecycle stages, value/intent/engagement flags and
//! rule-based segments with priorities, for every customer of a feature table.
//!
//! [`segment`] reads the columns written by `lookalike features`; [`RuleSet`] holds the
//! segments of a TOML rules file; [`report`] summarises a segmentation. The score and segment
//! definitions are in this crate's README.

mod counts;
mod error;
mod lifecycle;
mod model;
mod named;
mod quantile;
mod report;
mod rules;
mod segment;

pub use counts::{ScoreCounts, counted_edges};
pub use error::RfmError;
pub use lifecycle::{Lifecycle, LifecycleParams};
pub use lookalike_core::ValueCounts;
pub use model::{FLAG_INPUTS, SEGMENT_INPUTS, SEGMENT_MADE, SegmentModel, SegmentSettings};
pub use named::RfmSegment;
pub use quantile::{bin_sizes, quantile_edges, score};
pub use report::{ReportRow, ReportSums, SegmentReport, TestChecks, report};
pub use rules::{MISSING, Rule, RuleColumns, RuleSet, ScoreBreaks, SegmentRule};
pub use segment::{Flags, SegmentParams, Segmentation, TrainedScores, ValueTier, segment};
