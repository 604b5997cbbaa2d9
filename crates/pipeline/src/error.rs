use std::path::PathBuf;

/// What can go wrong loading, saving or applying a trained pipeline.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// A file of the model could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A folder without `manifest.json`.
    #[error(
        "{0} is not a model directory: it has no manifest.json (train one with `lookalike train --config FILE --out {0}`)"
    )]
    NotAModel(PathBuf),
    /// A JSON document that does not parse, or a field of the wrong shape.
    #[error("{file}: {message}")]
    Document {
        /// The file (or the part of a byte image).
        file: String,
        /// What is wrong, with the field.
        message: String,
    },
    /// A model of another format or version.
    #[error(
        "{file}: format {format} version {version}, but this lookalike ({tool}) reads lookalike-model version {expected}; retrain the model with this version (`lookalike train --config FILE --out DIR`)"
    )]
    FormatVersion {
        /// The manifest.
        file: String,
        /// Its format.
        format: String,
        /// Its version.
        version: String,
        /// The version this build reads.
        expected: u64,
        /// This build's version.
        tool: &'static str,
    },
    /// A stored value that a stage refuses (out of range, NaN, inconsistent).
    #[error("{file}: {field}: {message}")]
    BadValue {
        /// The file.
        file: String,
        /// The field.
        field: String,
        /// What the stage says.
        message: String,
    },
    /// A file reference that would leave the model folder.
    #[error(
        "{file}: {field} = {path:?} leaves the model folder; a model refers only to plain file names inside it"
    )]
    PathOutside {
        /// The file holding the reference.
        file: String,
        /// The field.
        field: String,
        /// The path given.
        path: String,
    },
    /// Stages fitted in different time units.
    #[error(
        "{file}: the value model was fitted with recency and T in {value_unit}, but the model's features are in {features_unit}; retrain the model"
    )]
    TimeUnitMismatch {
        /// The value model file.
        file: String,
        /// Its unit.
        value_unit: String,
        /// The manifest's unit.
        features_unit: String,
    },
    /// A batch to transform lacks columns the model reads.
    #[error("the features lack the column(s) {missing} that the model needs")]
    MissingColumns {
        /// The missing columns, comma separated.
        missing: String,
    },
    /// A BTYD summary column is missing from the feature table.
    #[error("the feature table has no `{0}` column; make it with `lookalike features`")]
    NoBtydColumn(String),
    /// A customer's values cannot be used.
    #[error("{message} (customer {customer}, data row {row} of the table)")]
    Customer {
        /// The customer's id.
        customer: String,
        /// Its 1-based data row.
        row: usize,
        /// What is wrong.
        message: String,
    },
    /// A list of customer ids (seeds, exclusions) that cannot be read.
    #[error("{path}: {message}")]
    IdList {
        /// The file.
        path: PathBuf,
        /// What is wrong, with the row and column.
        message: String,
    },
    /// An output that cannot be written as asked.
    #[error("{path}: {message}")]
    Output {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A seed or scope rule that cannot be applied.
    #[error("{0}")]
    Rule(String),
    /// Seeds or candidates that cannot make an audience.
    #[error("{0}")]
    Seeds(String),
    /// Raw and pseudonymous ids mixed, or two keys.
    #[error("{0}")]
    Pseudonyms(String),
    /// An erasure that cannot be made (no ids, features that are not the training features).
    #[error("{0}")]
    Erasure(String),
    /// A value model could not be fitted.
    #[error(transparent)]
    Value(Box<lookalike_value::ValueError>),
    /// A clustering could not be fitted.
    #[error(transparent)]
    Cluster(Box<lookalike_cluster::ClusterError>),
    /// A batch whose ids or columns cannot be read, or a seed index that cannot be read or
    /// written (boxed: the feature errors are large).
    #[error(transparent)]
    Features(Box<lookalike_features::FeatureError>),
    /// Segmentation failed.
    #[error(transparent)]
    Segments(Box<lookalike_rfm::RfmError>),
    /// An audience failed to score.
    #[error(transparent)]
    Audience(Box<lookalike_audience::AudienceError>),
    /// Building the output batch failed.
    #[error("building the output batch: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
}

impl From<lookalike_features::FeatureError> for PipelineError {
    fn from(error: lookalike_features::FeatureError) -> Self {
        PipelineError::Features(Box::new(error))
    }
}

impl From<lookalike_rfm::RfmError> for PipelineError {
    fn from(error: lookalike_rfm::RfmError) -> Self {
        PipelineError::Segments(Box::new(error))
    }
}

impl From<lookalike_audience::AudienceError> for PipelineError {
    fn from(error: lookalike_audience::AudienceError) -> Self {
        PipelineError::Audience(Box::new(error))
    }
}

impl From<lookalike_value::ValueError> for PipelineError {
    fn from(error: lookalike_value::ValueError) -> Self {
        PipelineError::Value(Box::new(error))
    }
}

impl From<lookalike_cluster::ClusterError> for PipelineError {
    fn from(error: lookalike_cluster::ClusterError) -> Self {
        PipelineError::Cluster(Box::new(error))
    }
}

impl From<lookalike_core::CoreError> for PipelineError {
    fn from(error: lookalike_core::CoreError) -> Self {
        PipelineError::Features(Box::new(error.into()))
    }
}
