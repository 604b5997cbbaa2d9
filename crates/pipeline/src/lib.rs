//! The trained lookalike pipeline as one model.
//!
//! A model directory (written by `lookalike train`, documented in `models/README.md`) holds every
//! stage: RFM segments ([`lookalike_rfm::SegmentModel`]), k-means clusters
//! ([`lookalike_cluster::ClusterModel`]), the value model ([`lookalike_value::ValueModel`]) and
//! the audiences ([`lookalike_audience::AudienceModel`]). [`PipelineModel::load`] reads and
//! checks it; [`PipelineModel::transform`] scores an Arrow batch of feature rows with every
//! stage, row by row, so any split of a base into batches gives the same bytes;
//! [`PipelineModel::to_bytes`] and [`PipelineModel::from_bytes`] carry the model to workers.
//!
//! ```no_run
//! use lookalike_pipeline::PipelineModel;
//! let model = PipelineModel::load(std::path::Path::new("models/sample")).unwrap();
//! let features = lookalike_features::read_feature_table(std::path::Path::new("features.parquet"), None).unwrap();
//! let scores = model.transform_table(&features).unwrap();
//! assert_eq!(scores.num_rows(), features.len());
//! ```

mod audience_fit;
mod audience_parts;
mod audience_stage;
mod counted;
mod error;
mod explain;
mod fit;
mod forget;
mod inventory;
mod manifest;
mod model;
mod outputs;
mod pseudonyms;
mod rule_columns;
mod spec;
mod transform;
mod value_stage;

pub use audience_parts::{
    AudienceSurvey, AudiencesInParts, RankedCandidate, clv_keys, ranks_by_clv,
};
pub use audience_stage::{
    DEFAULT_AUDIENCE_COLUMNS, DEFAULT_AUDIENCE_LOG1P, IdList, PoolLabels, PoolSpec, Prepared,
    SeedSource, rows_of,
};
pub use counted::{TrainingCounts, check_counted_stages, fit_counted, segment_sums};
pub use error::PipelineError;
pub use explain::{
    AudienceReasons, ClusterReasons, Explanation, RuleMatch, ScoreReason, SegmentReasons,
    ValueReasons,
};
pub use fit::{
    AudienceTraining, SegmentTraining, TrainingInputs, TrainingReport, ValueStageReport,
    expand_params, expected_values, fit, profiles_csv, segment_table,
};
pub use forget::{Erasure, ErasureRecord, forget};
pub use inventory::{DataHeld, data_inventory};
pub use manifest::{
    AudienceEntry, FeatureSettings, MODEL_FORMAT, MODEL_VERSION, Manifest, PseudonymRecord,
    StageEntry, Stages, ValueEntry,
};
pub use model::{
    AudienceDocument, ModelDocuments, PipelineModel, VALUE_FORMAT_VERSION, ValueFit,
    check_model_destination, write_json,
};
pub use outputs::{
    OutputFormat, audience_batch, segments_batch, write_assignments, write_audience,
    write_predictions, write_segments,
};
pub use rule_columns::{CLV_COLUMN, CLV_RANK_COLUMN, RuleExtras};
pub use spec::{
    AudienceSpec, FeatureSpec, InputSpec, PipelineSpec, SegmentSpec, ValueSpec, log_file,
    log_inputs, parse_delimiter, parse_share,
};
pub use transform::{FLAG_COLUMNS, UNSCORED_REASON, VALUE_COLUMNS, categorical, segment_columns};
pub use value_stage::{
    BTYD_COLUMNS, HoldoutReport, ValueTraining, btyd_columns, evaluate_holdout, predict_table,
};
