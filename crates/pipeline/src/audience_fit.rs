//! The audience stage of a training: each audience's candidate pool, fit, settings and seed
//! index, from the earlier stages' outputs — the stages just fitted (`fit`) or a trained
//! model's kept stages (`forget`).

use std::collections::BTreeMap;

use lookalike_audience::AudienceSettings;
use lookalike_audience::TierCut;
use lookalike_core::{FeatureTable, Progress};
use lookalike_value::Prediction;
use serde_json::{Value, json};

use crate::fit::{
    AudienceTraining, TrainingInputs, TrainingReport, expand_params, expected_values, to_json,
};
use crate::{
    AudienceDocument, AudienceSpec, IdList, PipelineError, PipelineModel, PipelineSpec, PoolLabels,
    PoolSpec, RuleExtras, SeedSource, predict_table,
};

/// The candidate pool of an audience of the pipeline file.
pub(crate) fn pool_of(
    spec: &AudienceSpec,
    seed_lists: &BTreeMap<String, IdList>,
) -> Result<PoolSpec, PipelineError> {
    let seeds = match (&spec.seeds, &spec.seed_rule) {
        (Some(path), _) => match seed_lists.get(&spec.name) {
            Some(list) => SeedSource::Ids(list.clone()),
            None => {
                return Err(PipelineError::Seeds(format!(
                    "audience {:?}: its seed list {} was not read (TrainingInputs::read reads it)",
                    spec.name,
                    path.display()
                )));
            }
        },
        (None, Some(rule)) => SeedSource::Rule(rule.clone()),
        (None, None) => unreachable!("PipelineSpec::check requires seeds or a seed rule"),
    };
    Ok(PoolSpec {
        seeds,
        scope: None,
        columns: spec.columns.clone(),
        log1p: spec.log1p.clone(),
        scaling: spec.scaling,
        exclude: Vec::new(),
        require_consent: spec.require_consent.clone(),
        labels: PoolLabels::default(),
    })
}

/// The segmentation's rule columns of `table`, when `model` segments.
fn segment_columns(
    model: &PipelineModel,
    table: &FeatureTable,
) -> Result<Option<RuleExtras>, PipelineError> {
    match model.segments() {
        Some(segments) => Ok(Some(RuleExtras::from_segmentation(
            &segments.transform(table)?,
        )?)),
        None => Ok(None),
    }
}

/// Whether a value stage has a spend model, and its prediction for each customer.
type ValuePredictions = (bool, Vec<Option<Prediction>>);

/// The value stage of `model` applied to `table`.
fn model_predictions(
    model: &PipelineModel,
    table: &FeatureTable,
) -> Result<Option<ValuePredictions>, PipelineError> {
    let Some(value) = model.value() else {
        return Ok(None);
    };
    let predictions = predict_table(table, value.purchases(), value.spend(), value.horizon())?;
    Ok(Some((value.spend().is_some(), predictions)))
}

/// What every audience of a training reads from the earlier stages, computed once.
pub(crate) struct AudienceInputs {
    /// Each customer's CLV over the `[value]` horizon, the one scored (with the value stage).
    pub values: Option<Vec<f64>>,
    /// The notes on those values.
    pub notes: Vec<String>,
    /// The segmentation's columns, for seed rules (with the segment stage and a seed rule).
    pub extras: Option<RuleExtras>,
}

impl AudienceInputs {
    /// Nothing from earlier stages: for an audience whose seeds are listed.
    pub(crate) fn none() -> Self {
        AudienceInputs {
            values: None,
            notes: Vec::new(),
            extras: None,
        }
    }

    /// From the stages just fitted.
    pub(crate) fn of(spec: &PipelineSpec, report: &TrainingReport) -> Result<Self, PipelineError> {
        let predictions = report.value.as_ref().map(|value| {
            (
                value.training.spend_model().is_some(),
                value.predictions.as_slice(),
            )
        });
        AudienceInputs::assemble(spec, predictions, || {
            report
                .segments
                .as_ref()
                .map(|s| RuleExtras::from_segmentation(&s.segmentation))
                .transpose()
        })
    }

    /// From the stages of a trained model applied to `table`: what the audiences of a model
    /// read when they are refitted and the other stages are kept.
    pub(crate) fn of_model(
        spec: &PipelineSpec,
        model: &PipelineModel,
        table: &FeatureTable,
    ) -> Result<Self, PipelineError> {
        let predictions = model_predictions(model, table)?;
        AudienceInputs::assemble(
            spec,
            predictions
                .as_ref()
                .map(|(spend, p)| (*spend, p.as_slice())),
            || segment_columns(model, table),
        )
    }

    /// [`AudienceInputs::of_model`] with each customer's CLV given: computed by an earlier
    /// pass over the same rows ([`crate::clv_keys`]), so it is not predicted again.
    pub(crate) fn of_model_with_clv(
        spec: &PipelineSpec,
        model: &PipelineModel,
        table: &FeatureTable,
        clv: Vec<f64>,
    ) -> Result<Self, PipelineError> {
        Ok(AudienceInputs {
            values: Some(clv),
            ..AudienceInputs::assemble(spec, None, || segment_columns(model, table))?
        })
    }

    /// Each customer's CLV from the value stage of `model` (none without one).
    pub(crate) fn clv_of_model(
        model: &PipelineModel,
        table: &FeatureTable,
    ) -> Result<Option<Vec<f64>>, PipelineError> {
        model_predictions(model, table)?
            .map(|(has_spend, predictions)| {
                expected_values(has_spend, &predictions, &mut Vec::new())
            })
            .transpose()
    }

    /// The CLV from the value stage's `predictions` (with whether it has a spend model), and
    /// the segmentation's rule columns from `extras` — called only when a seed rule may name
    /// them.
    fn assemble(
        spec: &PipelineSpec,
        predictions: Option<(bool, &[Option<Prediction>])>,
        extras: impl FnOnce() -> Result<Option<RuleExtras>, PipelineError>,
    ) -> Result<Self, PipelineError> {
        let mut notes = Vec::new();
        let values = match predictions {
            Some((has_spend, predictions)) => {
                Some(expected_values(has_spend, predictions, &mut notes)?)
            }
            None => None,
        };
        let any_rule = spec.audiences.iter().any(|a| a.seed_rule.is_some());
        let extras = if any_rule { extras()? } else { None };
        Ok(AudienceInputs {
            values,
            notes,
            extras,
        })
    }
}

/// The audiences of a training: each one's document (settings and seed index), its record in
/// the manifest, and what it found.
pub(crate) struct FittedAudiences {
    pub documents: Vec<AudienceDocument>,
    pub entries: Vec<Value>,
    pub trainings: Vec<AudienceTraining>,
}

/// Every audience of `spec` fitted on `table`.
pub(crate) fn fit_audiences(
    spec: &PipelineSpec,
    table: &FeatureTable,
    inputs: &TrainingInputs,
    shared: &AudienceInputs,
    features_name: &str,
    progress: &dyn Progress,
) -> Result<FittedAudiences, PipelineError> {
    let (mut documents, mut entries, mut trainings) = (Vec::new(), Vec::new(), Vec::new());
    for section in &spec.audiences {
        progress.start(&format!("audience {}", section.name), None);
        let trained = fit_audience(section, table, inputs, shared, features_name)?;
        progress.finish();
        let (document, entry) = audience_document(section, &trained)?;
        documents.push(document);
        entries.push(entry);
        trainings.push(trained);
    }
    Ok(FittedAudiences {
        documents,
        entries,
        trainings,
    })
}

fn fit_audience(
    section: &AudienceSpec,
    table: &FeatureTable,
    inputs: &TrainingInputs,
    shared: &AudienceInputs,
    features_name: &str,
) -> Result<AudienceTraining, PipelineError> {
    let pool = pool_of(section, &inputs.seed_lists)?;
    let extras = section.seed_rule.as_ref().and(shared.extras.as_ref());
    let params = expand_params(section).validate()?;
    let (table, values) = (table.clone(), shared.values.clone());
    let mut prepared = match section.candidate_sample {
        // The scaler a base in parts fits, bit for bit.
        Some(_) => pool.prepare_exact(table, features_name, extras, values)?,
        None => pool.prepare(table, features_name, extras, values)?,
    };
    let mut notes = shared.notes.clone();
    notes.append(&mut prepared.notes);
    prepared.notes = notes;
    let audience = match section.candidate_sample {
        Some(size) => prepared.expand_on_sample(&params, size, section.seed)?,
        None => prepared.expand(&params)?,
    };
    Ok(AudienceTraining {
        name: section.name.clone(),
        audience,
        prepared,
    })
}

/// An audience's settings and seed index, and its record in the manifest.
fn audience_document(
    section: &AudienceSpec,
    trained: &AudienceTraining,
) -> Result<(AudienceDocument, Value), PipelineError> {
    let (audience, prepared) = (&trained.audience, &trained.prepared);
    let saved = audience.saved_scorer.clone().ok_or_else(|| {
        PipelineError::Seeds(format!(
            "audience {:?}: the {} scorer cannot be saved",
            section.name, audience.scorer
        ))
    })?;
    let fitted = FittedAudience {
        scorer: saved,
        scorer_name: audience.scorer.to_string(),
        selection: audience.selection.as_ref().map(to_json).transpose()?,
        columns: prepared.columns.clone(),
        scaling: prepared.scaler.parameters(),
        seeds: audience.seeds,
        candidates: audience.candidates,
        tiers: TierCut::of(audience, &prepared.ids()),
        seed_ids: prepared
            .seeds
            .iter()
            .map(|r| prepared.customer_ids[*r].as_str().to_string())
            .collect(),
        seed_rows: prepared
            .seeds
            .iter()
            .map(|r| prepared.scaled.row(*r).to_vec())
            .collect(),
    };
    fitted.document(section)
}

/// An audience's fit, however it was made (on one table, or on a base in parts): what its
/// settings, seed index and manifest record are made of.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct FittedAudience {
    /// The fitted scorer.
    pub scorer: lookalike_audience::SavedScorer,
    /// Its name.
    pub scorer_name: String,
    /// How `auto` chose it (a [`lookalike_audience::Selection`]).
    pub selection: Option<Value>,
    /// The compared columns.
    pub columns: Vec<String>,
    /// Their scaling.
    pub scaling: lookalike_cluster::ScalingParameters,
    /// Seeds used.
    pub seeds: usize,
    /// Candidates scored.
    pub candidates: usize,
    /// Each tier's cut.
    pub tiers: Vec<TierCut>,
    /// The seeds' ids, in the seed index's order.
    pub seed_ids: Vec<String>,
    /// Their scaled rows.
    pub seed_rows: Vec<Vec<f64>>,
}

impl FittedAudience {
    /// The settings and seed index of `section`'s audience, and its record in the manifest.
    pub(crate) fn document(
        self,
        section: &AudienceSpec,
    ) -> Result<(AudienceDocument, Value), PipelineError> {
        let settings = AudienceSettings {
            name: section.name.clone(),
            columns: self.columns,
            scaling: self.scaling,
            scorer: self.scorer,
            require_consent: section.require_consent.clone(),
            seeds_file: format!("{}_seeds.parquet", section.name),
            seeds: self.seeds,
            candidates: self.candidates,
            tiers: self.tiers,
            holdout: section.holdout,
            salt: section.salt,
            seed_source: match (&section.seed_rule, &section.seeds) {
                (Some(rule), _) => format!("rule: {rule}"),
                (None, Some(path)) => format!("file: {}", path.display()),
                (None, None) => unreachable!("PipelineSpec::check requires seeds or a seed rule"),
            },
        };
        let entry = json!({
            "name": section.name,
            "file": format!("audiences/{}.json", section.name),
            "scorer": self.scorer_name,
            "selection": self.selection,
            "seed_source": settings.seed_source,
            "seeds": self.seeds,
            "candidates": self.candidates,
            "tiers": settings.tiers,
        });
        let document = AudienceDocument {
            settings: to_json(&settings)?,
            seed_ids: self.seed_ids,
            seed_rows: self.seed_rows,
        };
        Ok((document, entry))
    }
}
