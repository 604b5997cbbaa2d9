//! Erasure: customers taken out of a trained model (the right to erasure of GDPR art. 17 and
//! CCPA). The files holding customer-level data (`data_inventory`) are the audiences: each seed
//! index holds its seeds' ids and rows, each tier cut the id of a tier's last customer, and every
//! customer of the base moved the cuts by being ranked. So the audiences are refitted on the
//! training features without the erased customers, from the remaining seeds, with the recorded
//! options and random seed: what training from scratch without them makes. The aggregate stages
//! (score edges, centroids, model parameters), from which no single customer can be recovered,
//! are kept unless every stage is refitted.

use std::collections::{BTreeMap, HashSet};

use lookalike_core::{FeatureTable, Progress};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::audience_fit::{AudienceInputs, fit_audiences};
use crate::fit::{TrainingInputs, fit, now_utc, to_json};
use crate::inventory::data_inventory;
use crate::{IdList, PipelineError, PipelineModel, PipelineSpec};

/// What an erasure did, as the manifest records it: when, how many, which stages were
/// refitted — never the ids.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErasureRecord {
    /// When, RFC 3339 in UTC.
    pub erased_at: String,
    /// Distinct ids asked for.
    pub requested: usize,
    /// Of those, customers of the features the stages were refitted on.
    pub in_features: usize,
    /// Of those, customers whose id the model stored (a seed index, a tier cut).
    pub stored_in_model: usize,
    /// Ids found in neither (counted, not an error).
    pub not_found: usize,
    /// Customers the refitted stages were trained on.
    pub customers_after: usize,
    /// The stages refitted (`audiences/NAME`, `segments`, `clusters`, `value`).
    pub refitted: Vec<String>,
    /// The stages kept as they were: aggregates no single customer can be recovered from.
    pub kept: Vec<String>,
}

/// The result of [`forget`].
#[derive(Debug)]
pub enum Erasure {
    /// The model without the customers, and what was done.
    Erased {
        /// The new model.
        model: Box<PipelineModel>,
        /// Its record (also the last of its manifest's `erasures`).
        record: ErasureRecord,
    },
    /// Nothing to do, and why: the model is unchanged.
    NothingToErase(String),
}

/// Takes the customers `ids` out of `model`: every audience is refitted on `features` (the
/// features the model was trained on, checked by their columns) without them, from the seeds
/// it had minus them; with `refit_all`, every stage is, as `fit` trains it. Ids in neither the
/// model nor the features are counted. A model without customer-level data (no audience) has
/// nothing to erase unless `refit_all`.
pub fn forget(
    model: &PipelineModel,
    features: &FeatureTable,
    ids: &[String],
    refit_all: bool,
    progress: &dyn Progress,
) -> Result<Erasure, PipelineError> {
    let erased: HashSet<&str> = ids.iter().map(String::as_str).collect();
    if erased.is_empty() {
        return Err(PipelineError::Erasure(
            "no customer id to erase was given".into(),
        ));
    }
    let manifest = model.manifest();
    if features.columns() != manifest.features.columns.as_slice() {
        return Err(PipelineError::Erasure(format!(
            "the features are not those the model was trained on: their columns ({}) are not the manifest's ({})",
            brief(features.columns()),
            brief(&manifest.features.columns)
        )));
    }
    let documents = model.documents();
    let stored: HashSet<&str> = erased
        .iter()
        .copied()
        .filter(|id| model.audiences().iter().any(|a| a.stores(id)))
        .collect();
    // One pass over the features: the rows kept, and the erased ids found among them.
    let mut found: HashSet<&str> = HashSet::new();
    let kept_rows: Vec<usize> = (0..features.len())
        .filter(|&row| {
            let id = features.ids()[row].as_str();
            let erase = erased.contains(id);
            if erase {
                found.insert(id);
            }
            !erase
        })
        .collect();
    let in_features = features.len() - kept_rows.len();
    let not_found = erased
        .iter()
        .filter(|id| !stored.contains(*id) && !found.contains(*id))
        .count();
    if documents.audiences.is_empty() && !refit_all {
        return Ok(Erasure::NothingToErase(
            "the model holds no customer-level data (it has no audience): there is nothing to erase; refitting every stage without the customers is asked for with refit_all".into(),
        ));
    }
    if in_features == 0 && stored.is_empty() {
        return Ok(Erasure::NothingToErase(if erased.len() == 1 {
            "the id is in neither the model nor its features: there is nothing to erase".into()
        } else {
            format!(
                "none of the {} ids is in the model or its features: there is nothing to erase",
                erased.len()
            )
        }));
    }
    let remaining = features.select_rows(&kept_rows);
    let spec: PipelineSpec =
        serde_json::from_value(manifest.pipeline.clone()).map_err(|e| PipelineError::Document {
            file: "manifest.json".into(),
            message: format!("the pipeline as trained cannot be read back: {e}"),
        })?;
    // A seed list is what the seed index kept of it: the same rows, in the same order.
    let mut seed_lists = BTreeMap::new();
    for (section, document) in spec.audiences.iter().zip(&documents.audiences) {
        if section.seeds.is_some() {
            let ids: Vec<String> = document
                .seed_ids
                .iter()
                .filter(|id| !erased.contains(id.as_str()))
                .cloned()
                .collect();
            seed_lists.insert(
                section.name.clone(),
                IdList {
                    origin: format!("the seed index of audience {:?}", section.name),
                    ids,
                    values: None,
                    duplicates: 0,
                },
            );
        }
    }
    let inputs = TrainingInputs {
        segment_rules: documents.rules.clone(),
        seed_lists,
        as_of: manifest.as_of.clone(),
        inputs: manifest.inputs.clone(),
        features_name: "the features".into(),
        pseudonymized: documents.manifest.get("pseudonymized").cloned(),
    };
    // The aggregate stages the model has: kept by default, refitted with `refit_all`.
    let aggregates: Vec<String> = [
        (manifest.stages.segments.is_some(), "segments"),
        (manifest.stages.clusters.is_some(), "clusters"),
        (manifest.stages.value.is_some(), "value"),
    ]
    .into_iter()
    .filter(|(present, _)| *present)
    .map(|(_, name)| name.to_string())
    .collect();
    let audience_names: Vec<String> = spec
        .audiences
        .iter()
        .map(|a| format!("audiences/{}", a.name))
        .collect();
    let (mut new_documents, refitted, kept) = if refit_all {
        let (trained, _) = fit(&spec, &remaining, &inputs, progress)?;
        let mut refitted = aggregates;
        refitted.extend(audience_names);
        (trained.documents().clone(), refitted, Vec::new())
    } else {
        let shared = AudienceInputs::of_model(&spec, model, &remaining)?;
        let fitted = fit_audiences(
            &spec,
            &remaining,
            &inputs,
            &shared,
            &inputs.features_name,
            progress,
        )?;
        let mut new = documents.clone();
        new.audiences = fitted.documents;
        new.manifest["stages"]["audiences"] = Value::Array(fitted.entries);
        new.manifest["data_inventory"] = to_json(&data_inventory(&new))?;
        (new, audience_names, aggregates)
    };
    let record = ErasureRecord {
        erased_at: now_utc(),
        requested: erased.len(),
        in_features,
        stored_in_model: stored.len(),
        not_found,
        customers_after: remaining.len(),
        refitted,
        kept,
    };
    let mut erasures = manifest.erasures.clone();
    erasures.push(record.clone());
    new_documents.manifest["erasures"] = to_json(&erasures)?;
    let model = PipelineModel::from_documents(new_documents, "the model after erasure")?;
    Ok(Erasure::Erased {
        model: Box::new(model),
        record,
    })
}

/// The first columns of a list, for a message.
fn brief(columns: &[String]) -> String {
    let mut text = columns
        .iter()
        .take(6)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if columns.len() > 6 {
        text += &format!(", … {} in all", columns.len());
    }
    text
}
