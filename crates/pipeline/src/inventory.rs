//! What a model directory holds about customers, file by file: the inventory that
//! `manifest.json` records and `models/README.md` lists, so that a data-protection review (and
//! `lookalike forget`) knows which files hold customer-level data.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ModelDocuments;

/// What one file of a model holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataHeld {
    /// Whether the file holds data of individual customers (ids or rows).
    pub customer_level: bool,
    /// What it holds, in words.
    pub holds: String,
}

fn held(customer_level: bool, holds: &str) -> DataHeld {
    DataHeld {
        customer_level,
        holds: holds.into(),
    }
}

/// The inventory of the model of `documents`, by file path in the model directory.
pub fn data_inventory(documents: &ModelDocuments) -> BTreeMap<String, DataHeld> {
    let mut files = BTreeMap::new();
    let audiences = !documents.audiences.is_empty();
    files.insert(
        "manifest.json".to_string(),
        if audiences {
            held(
                true,
                "settings, reports and input fingerprints; each audience's tier cuts name the last customer of each tier (the ranking's tie-break)",
            )
        } else {
            held(
                false,
                "settings, aggregate reports (segment sizes, fit diagnostics) and input fingerprints",
            )
        },
    );
    if documents.segments.is_some() {
        files.insert(
            "segments.json".into(),
            held(
                false,
                "RFM score edges, value-tier thresholds and lifecycle settings",
            ),
        );
    }
    if documents.rules.is_some() {
        files.insert(
            "rules.toml".into(),
            held(false, "the segment rules as written"),
        );
    }
    if documents.clusters.is_some() {
        files.insert(
            "clusters/model.json".into(),
            held(
                false,
                "scaler statistics, centroids, cluster sizes and metrics",
            ),
        );
    }
    for path in documents.extras.keys() {
        if path.ends_with("profiles.csv") {
            files.insert(
                path.clone(),
                held(false, "each cluster's size and feature means"),
            );
        }
    }
    if documents.value.is_some() {
        files.insert(
            "value/value_model.json".into(),
            held(
                false,
                "the purchase and spend models' parameters and fit diagnostics",
            ),
        );
    }
    for audience in &documents.audiences {
        let name = audience.settings.get("name").and_then(Value::as_str);
        let seeds = audience.settings.get("seeds_file").and_then(Value::as_str);
        if let (Some(name), Some(seeds)) = (name, seeds) {
            files.insert(
                format!("audiences/{name}.json"),
                held(
                    true,
                    "scaler, scorer parameters, control-group settings, and each tier's cut: the strength and id of its last customer",
                ),
            );
            files.insert(
                format!("audiences/{seeds}"),
                held(true, "each seed customer's id and scaled feature row"),
            );
        }
    }
    files
}
