//! Training on a base held in parts — Spark partitions, each holding whole customers — without
//! bringing the customers together. Each part is counted ([`TrainingCounts::of`]), the counts
//! of all parts merge exactly, and the stages are fitted from the merged counts:
//!
//! - `[value]`: the purchase model on the distinct (x, t_x, T) histories with their counts, and
//!   Gamma-Gamma on the counted (x, m̄) of the repeat buyers: the data a whole-table fit builds,
//!   so the parameters are the same, bit for bit.
//! - `[segments]`: the score edges and value-tier thresholds are order statistics, read from the
//!   counted values of each score input: the same, bit for bit. The report then needs a second
//!   pass ([`segment_sums`]): each part is segmented with those edges and its sums per segment
//!   merged, so counts and sizes are exact and revenues and means equal up to the order of
//!   floating-point additions.
//!
//! - `[clusters]` with `init = "sample"`: the scaler from merged moments (or exact quartiles),
//!   k-means++ from a hash sample of the customers, and Lloyd's iterations from per-part
//!   cluster sums ([`KMeansInParts`], driven by the caller pass after pass): the fit
//!   `lookalike train` makes with the same spec, every customer in the same cluster and the
//!   inertia equal to rounding.
//!
//! - `[[audience]]` with `candidate_sample`: the scaler from merged statistics, the scorer
//!   fitted on the seeds against a hash sample of the candidates, and the tier cuts exact
//!   order statistics of every candidate's strength ([`AudienceSurvey`]).

use lookalike_cluster::{ClusteredInParts, KMeansInParts};
use lookalike_core::FeatureTable;
use lookalike_rfm::{ReportSums, ScoreCounts, TrainedScores, segment};
use lookalike_value::{FitOptions, HistoryCounts, SpendCounts};
use serde::{Deserialize, Serialize};

use crate::audience_parts::check_audiences_in_parts;
use crate::fit::{
    cluster_entry, manifest, profiles_csv, rule_set, segment_params, segments_stage, value_entry,
};
use crate::value_stage::value_counts;
use crate::{
    AudiencesInParts, ModelDocuments, PipelineError, PipelineModel, PipelineSpec, TrainingInputs,
    ValueTraining,
};

/// What one part of a base contributes to training, for the stages of the spec it was counted
/// for; the counts of every part merge into those of the whole base.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingCounts {
    /// Customers in the part.
    customers: u64,
    /// The feature columns, which every part must share.
    columns: Vec<String>,
    /// `[segments]`: the score inputs of the buyers.
    scores: Option<ScoreCounts>,
    /// `[value]`: the distinct BTYD histories.
    histories: Option<HistoryCounts>,
    /// `[value]`: the repeat buyers' spend, or why there is none (a bad mean spend, named).
    spend: Option<Result<SpendCounts, String>>,
}

/// An error unless every stage of `spec` can be fitted from counts: `[segments]` and
/// `[value]` can, `[clusters]` with `init = "sample"` can (in passes, [`KMeansInParts`]), and
/// audiences with `candidate_sample` whose seed rules do not name `clv_rank` can (in passes,
/// [`AudienceSurvey`]).
pub fn check_counted_stages(spec: &PipelineSpec) -> Result<(), PipelineError> {
    let refused = |message: String| PipelineError::Document {
        file: "the pipeline spec".into(),
        message,
    };
    if let Some(config) = &spec.clusters {
        KMeansInParts::new(config).map_err(|e| refused(format!("[clusters]: {e}")))?;
    }
    check_audiences_in_parts(spec).map_err(refused)
}

impl TrainingCounts {
    /// The counts of one part's features (whole customers), for the stages of `spec`.
    pub fn of(spec: &PipelineSpec, table: &FeatureTable) -> Result<TrainingCounts, PipelineError> {
        check_counted_stages(spec)?;
        let scores = match &spec.segments {
            Some(section) => Some(ScoreCounts::of(table, &segment_params(section))?),
            None => None,
        };
        let (histories, spend) = match &spec.value {
            Some(_) => {
                let (histories, spend) = value_counts(table)?;
                (Some(histories), Some(spend))
            }
            None => (None, None),
        };
        Ok(TrainingCounts {
            customers: table.len() as u64,
            columns: table.columns().to_vec(),
            scores,
            histories,
            spend,
        })
    }

    /// Adds another part's counts. Parts must have the same columns and have been counted for
    /// the same stages. A spend error of either part is kept (this part's first).
    pub fn merge(&mut self, other: &TrainingCounts) -> Result<(), PipelineError> {
        let differ = |what: &str| PipelineError::Document {
            file: "the training counts".into(),
            message: format!("the parts differ in their {what}"),
        };
        if other.columns != self.columns {
            return Err(differ("feature columns"));
        }
        self.customers += other.customers;
        match (&mut self.scores, &other.scores) {
            (Some(mine), Some(theirs)) => mine.merge(theirs),
            (None, None) => {}
            _ => return Err(differ("stages")),
        }
        match (&mut self.histories, &other.histories) {
            (Some(mine), Some(theirs)) => mine.merge(theirs),
            (None, None) => {}
            _ => return Err(differ("stages")),
        }
        match (&mut self.spend, &other.spend) {
            (Some(Ok(mine)), Some(Ok(theirs))) => mine.merge(theirs),
            (Some(Ok(_)), Some(Err(reason))) => self.spend = Some(Err(reason.clone())),
            (Some(Err(_)), Some(_)) | (None, None) => {}
            _ => return Err(differ("stages")),
        }
        Ok(())
    }

    /// Customers counted.
    pub fn customers(&self) -> u64 {
        self.customers
    }

    /// The score edges and value-tier thresholds `[segments]` learns from the base counted,
    /// with the rules file's text (`rules`); none without `[segments]`.
    pub fn trained_scores(
        &self,
        spec: &PipelineSpec,
        rules: Option<&str>,
    ) -> Result<Option<TrainedScores>, PipelineError> {
        match (&spec.segments, &self.scores) {
            (Some(section), Some(scores)) => Ok(Some(
                scores.trained(&rule_set(rules)?, &segment_params(section))?,
            )),
            (None, _) => Ok(None),
            (Some(_), None) => Err(PipelineError::Document {
                file: "the training counts".into(),
                message: "counted without [segments]".into(),
            }),
        }
    }
}

/// The segment report's sums of one part (the second pass of `[segments]`): its customers
/// segmented with the edges learned from the whole base.
pub fn segment_sums(
    spec: &PipelineSpec,
    rules: Option<&str>,
    trained: &TrainedScores,
    table: &FeatureTable,
) -> Result<ReportSums, PipelineError> {
    let section = spec
        .segments
        .as_ref()
        .ok_or_else(|| PipelineError::Document {
            file: "the pipeline spec".into(),
            message: "it has no [segments]".into(),
        })?;
    let params = segment_params(section).trained(trained.clone());
    let segmentation = segment(table, &rule_set(rules)?, &params)?;
    Ok(ReportSums::of(table, &segmentation))
}

/// Fits every stage of `spec` from the merged counts of a base (and, with `[segments]`, the
/// merged sums of its second pass, made with [`TrainingCounts::trained_scores`] of these
/// counts; with `[clusters]`, the finished [`KMeansInParts`] fit; with audiences, the
/// [`AudiencesInParts`] with their tier cuts) and assembles the model, as [`fit`](crate::fit)
/// does on the whole table. Without audiences it is also the model of the earlier stages that
/// an [`AudienceSurvey`] reads seed rules from (train it with a spec without audiences).
pub fn fit_counted(
    spec: &PipelineSpec,
    counts: &TrainingCounts,
    segment_report: Option<&ReportSums>,
    clusters: Option<&ClusteredInParts>,
    audiences: Option<&AudiencesInParts>,
    inputs: &TrainingInputs,
) -> Result<PipelineModel, PipelineError> {
    spec.check().map_err(|message| PipelineError::Document {
        file: "the pipeline spec".into(),
        message,
    })?;
    check_counted_stages(spec)?;
    inputs.check_rules_read(spec)?;
    let mut documents = ModelDocuments::default();
    let mut stages = serde_json::Map::new();
    if let Some(section) = &spec.segments {
        let trained = counts
            .trained_scores(spec, inputs.segment_rules.as_deref())?
            .expect("a spec with [segments]");
        let sums = segment_report.ok_or_else(|| PipelineError::Document {
            file: "the training counts".into(),
            message: "[segments] needs the report sums of the second pass".into(),
        })?;
        let report = sums.report(&section.test_checks())?;
        let rules = rule_set(inputs.segment_rules.as_deref())?;
        let rule_names: Vec<String> = rules.segments().iter().map(|s| s.name.clone()).collect();
        let entry = segments_stage(
            section,
            &trained,
            inputs,
            (&rule_names, sums.bin_sizes(), &report),
            &mut documents,
        )?;
        stages.insert("segments".into(), entry);
    }
    if let Some(config) = &spec.clusters {
        let clusters = clusters.ok_or_else(|| PipelineError::Document {
            file: "the training counts".into(),
            message: "[clusters] needs the k-means fit over the parts".into(),
        })?;
        let fitted = clusters.document(config, inputs.name_of_features());
        documents.extras.insert(
            "clusters/profiles.csv".into(),
            profiles_csv(&clusters.columns, &clusters.profiles),
        );
        stages.insert("clusters".into(), cluster_entry(&fitted));
        documents.clusters = Some(fitted);
    }
    if let Some(section) = &spec.value {
        let (Some(histories), Some(spend)) = (&counts.histories, &counts.spend) else {
            return Err(PipelineError::Document {
                file: "the training counts".into(),
                message: "counted without [value]".into(),
            });
        };
        let options = FitOptions::new().penalty(section.penalty);
        let training = ValueTraining::fit_counted(
            histories,
            spend.as_ref(),
            section.model,
            &options,
            spec.features.time_unit,
        )?;
        let document = training.document("features", inputs.name_of_features());
        stages.insert("value".into(), value_entry(section, &document)?);
        documents.value = Some(document);
    }
    if !spec.audiences.is_empty() {
        let audiences = audiences.ok_or_else(|| PipelineError::Document {
            file: "the training counts".into(),
            message: "[[audience]] needs the audiences fitted over the parts".into(),
        })?;
        let (fitted, entries) = audiences.documents(spec)?;
        documents.audiences = fitted;
        stages.insert("audiences".into(), serde_json::Value::Array(entries));
    }
    documents.manifest = manifest(
        spec,
        inputs,
        (counts.customers as usize, &counts.columns),
        stages,
        &documents,
    );
    PipelineModel::from_documents(documents, "the trained model")
}
