//! Lookalike audiences: the customers of a base who look most like a seed of best customers.
//!
//! The data are scaled feature rows (one per customer). [`ExpandParams`] → [`ValidExpandParams`]
//! → [`Audience`]: a [`Scorer`] ([`KnnScorer`]: similarity to the k nearest seeds, exact search;
//! [`CentroidScorer`]: similarity to the best of m k-means representatives of the seeds;
//! [`ClassifierScorer`]: seeds against a sample of the base, positive-unlabelled and calibrated;
//! [`EnsembleScorer`]: the rank average of the three) gives
//! every candidate a score in [0, 1] and its nearest seed; candidates are ranked (ties by id),
//! cut into nested tiers ([`TierSize`]: 1%, 2%, 5% … of the pool or counts), a hash-based
//! control group is flagged ([`in_control`]: stable across reruns and thread counts), and each
//! chosen customer gets the features that set them apart like the seeds ([`Profile`]).

mod boosted;
mod classifier;
mod detail;
mod ensemble;
mod error;
mod evaluate;
mod expand;
mod gbdt;
mod model;
mod overlap;
mod reasons;
mod sample;
mod saved;
mod scorer;
mod select;
mod tiers;

pub use boosted::BoostedScorer;
pub use classifier::ClassifierScorer;
pub use detail::{CutCheck, PlacementDetail};
pub use ensemble::EnsembleScorer;
pub use error::AudienceError;
pub use evaluate::{EvaluationData, EvaluationRow, SeedClass, Truth, evaluate};
pub use expand::{
    Audience, ExpandParams, IndexChoice, Member, ScorerKind, TierSummary, ValidExpandParams,
};
pub use gbdt::{BoostedTrees, TreeNode};
pub use model::{
    AudienceModel, AudienceScorer, AudienceSettings, Placement, TierCut, check_audience_name,
};
pub use overlap::{Overlap, overlaps};
pub use reasons::Profile;
pub use sample::{candidate_sample, sample_key};
pub use saved::{SavedIndex, SavedScorer};
pub use scorer::{CentroidScorer, KnnScorer, Scorer, Scores};
pub use select::Selection;
pub use tiers::{TierSize, in_control, strength_key, strength_of_key, tier_sizes};
