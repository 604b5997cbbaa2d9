//! Pseudonymous ids between a model and a base: a model trained on pseudonyms (its manifest
//! records the key's fingerprint) scores only bases whose ids are pseudonyms under the same
//! key — hashed already (their schema records it) or hashed now with the key — and a model
//! trained on raw ids scores only raw ids. Mixing the two would silently lose the seeds and
//! move the tier cuts' tie-breaks and control groups.

use lookalike_core::Pseudonymizer;

use crate::{PipelineError, PipelineModel};

impl PipelineModel {
    /// The fingerprint of the key the model's ids are pseudonyms under (None: raw ids).
    pub fn pseudonym_fingerprint(&self) -> Option<&str> {
        self.manifest
            .pseudonymized
            .as_ref()
            .map(|p| p.key_fingerprint.as_str())
    }

    /// The key to hash a base's ids with before scoring (None: take them as they are), given
    /// the fingerprint the base's features record (`source`, None for raw ids) and the key a
    /// user gave. Refuses raw ids for a pseudonymized model, pseudonyms for a raw one, and
    /// two different keys.
    pub fn id_key<'k>(
        &self,
        source: Option<&str>,
        key: Option<&'k Pseudonymizer>,
    ) -> Result<Option<&'k Pseudonymizer>, PipelineError> {
        let refuse = |message: String| Err(PipelineError::Pseudonyms(message));
        let given = key.map(Pseudonymizer::fingerprint);
        match (self.pseudonym_fingerprint(), source, given.as_deref()) {
            (None, None, None) => Ok(None),
            (None, _, Some(_)) => refuse(
                "the model was trained on the customers' own ids: a key applies to a model trained with it (`train --pseudonymize`)".into(),
            ),
            (None, Some(s), None) => refuse(format!(
                "the features hold pseudonymous ids (key {s}) but the model was trained on the customers' own ids"
            )),
            (Some(m), _, Some(k)) if k != m => refuse(format!(
                "the key given (fingerprint {k}) is not the one the model's ids are pseudonyms under ({m})"
            )),
            (Some(m), Some(s), _) if s != m => refuse(format!(
                "the features hold pseudonyms under another key ({s}) than the model's ({m})"
            )),
            (Some(_), Some(_), _) => Ok(None),
            (Some(_), None, Some(_)) => Ok(key),
            (Some(m), None, None) => refuse(format!(
                "the model was trained on pseudonymous ids (key {m}): give its key (--pseudonymize KEYFILE), or features pseudonymized with it"
            )),
        }
    }
}
