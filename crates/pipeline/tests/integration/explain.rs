//! Subject access through the library: `explain` agrees with `score` on every field for every
//! customer of the sample, and its reasons reproduce each result from the stored parameters.

use crate::common;

use common::{sample_features, sample_model_dir};
use lookalike_pipeline::PipelineModel;
use serde_json::Value;

/// Row `row` of every column of a scored batch, as JSON.
fn scored_row(batch: &arrow_array::RecordBatch, row: usize) -> Vec<(String, Value)> {
    use arrow_array::Array;
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float64Type, Int32Type, Int64Type};
    use arrow_schema::DataType;
    batch
        .schema()
        .fields()
        .iter()
        .enumerate()
        .map(|(j, field)| {
            let column = batch.column(j);
            let value = if column.is_null(row) {
                Value::Null
            } else {
                match field.data_type() {
                    DataType::Int64 => column.as_primitive::<Int64Type>().value(row).into(),
                    DataType::Float64 => column.as_primitive::<Float64Type>().value(row).into(),
                    DataType::Utf8 => column.as_string::<i32>().value(row).into(),
                    DataType::Boolean => column.as_boolean().value(row).into(),
                    DataType::Dictionary(..) => {
                        let coded = column.as_dictionary::<Int32Type>();
                        let key = coded.keys().value(row) as usize;
                        coded.values().as_string::<i32>().value(key).into()
                    }
                    other => panic!("unexpected output type {other}"),
                }
            };
            (field.name().clone(), value)
        })
        .collect()
}

#[test]
fn explain_agrees_with_score_on_every_customer_of_the_sample() {
    let model = PipelineModel::load(&sample_model_dir()).unwrap();
    let table = sample_features();
    let scored = model.transform_table(table).unwrap();
    let audience = &model.audiences()[0];
    let (mut stored, mut tiered, mut rule_matches) = (0, 0, 0);
    for row in 0..table.len() {
        let e = model.explain(table, row).unwrap();
        let id = table.ids()[row].as_str();
        assert_eq!(e.customer_id, id);
        let expected = scored_row(&scored, row);
        assert_eq!(e.scores.len(), expected.len());
        for (name, value) in &expected {
            assert_eq!(&e.scores[name], value, "{id}: {name}");
        }
        let get = |name: &str| e.scores[name].clone();
        // The reasons give the same results from the stored edges, thresholds and rules.
        let s = e.segments.as_ref().unwrap();
        let as_score = |v: Option<u8>| v.map_or(Value::Null, |v| Value::from(v as i64));
        assert_eq!(as_score(s.recency.score), get("r_score"), "{id}");
        assert_eq!(as_score(s.frequency.score), get("f_score"), "{id}");
        assert_eq!(as_score(s.monetary.score), get("m_score"), "{id}");
        assert_eq!(
            s.rfm_segment.clone().map_or(Value::Null, Value::from),
            get("rfm_segment"),
            "{id}"
        );
        assert_eq!(Value::from(s.lifecycle.clone()), get("lifecycle"), "{id}");
        assert_eq!(Value::from(s.value_tier.clone()), get("value_tier"), "{id}");
        let matched: Vec<&str> = s
            .rule_segments
            .iter()
            .filter(|r| r.matched)
            .map(|r| r.name.as_str())
            .collect();
        rule_matches += matched.len();
        let listed = get("segments");
        let listed: Vec<&str> = listed
            .as_str()
            .map(|t| t.split(';').filter(|s| !s.is_empty()).collect())
            .unwrap_or_default();
        let mut sorted = listed.clone();
        sorted.sort_unstable();
        let mut got = matched.clone();
        got.sort_unstable();
        assert_eq!(got, sorted, "{id}");
        let c = e.cluster.as_ref().unwrap();
        assert_eq!(c.cluster.map_or(Value::Null, Value::from), get("cluster"));
        if c.cluster.is_some() {
            assert!(c.size.unwrap() > 0 && !c.distinguishing.is_empty());
        }
        let v = e.value.as_ref().unwrap();
        assert_eq!(v.clv.map_or(Value::Null, Value::from), get("clv"));
        // The audience: score, tier and control group as scored.
        let a = &e.audiences[0];
        match &a.placement {
            None => assert_eq!(get("top_clv_score"), Value::Null),
            Some(p) => {
                assert_eq!(Value::from(p.score), get("top_clv_score"), "{id}");
                assert_eq!(p.tier.clone().map_or(Value::Null, Value::from), {
                    let tier = get("top_clv_tier");
                    if tier == "seed" { Value::Null } else { tier }
                });
                assert_eq!(
                    if p.tier.is_some() {
                        Value::from(p.control)
                    } else {
                        Value::Null
                    },
                    get("top_clv_control"),
                    "{id}"
                );
                assert_eq!(p.seed, get("top_clv_tier") == "seed", "{id}");
                // The customer is within every cut at or after its own tier.
                if let Some(tier) = &p.tier {
                    tiered += 1;
                    let at = p.cuts.iter().position(|c| &c.label == tier).unwrap();
                    assert!(p.cuts[at..].iter().all(|c| c.within));
                    assert!(p.cuts[..at].iter().all(|c| !c.within));
                }
                let (nearest, distance) = p.nearest_seed.clone().unwrap();
                assert!(audience.seed_ids().contains(&nearest) && nearest != id);
                assert!(distance >= 0.0);
            }
        }
        // Stored in the model exactly when the id is in the seed index or a tier cut.
        let in_model = audience.seed_ids().iter().any(|s| s == id)
            || audience
                .settings()
                .tiers
                .iter()
                .any(|c| c.last_customer_id == id);
        assert_eq!(!e.stored_in_model.is_empty(), in_model, "{id}");
        stored += usize::from(in_model);
        // The features listed are the model's, with this customer's values.
        assert_eq!(
            e.features.keys().map(String::as_str).collect::<Vec<_>>(),
            model.required_columns()
        );
    }
    assert!(
        stored > 100 && tiered > 100 && rule_matches > 100,
        "{stored} {tiered} {rule_matches}"
    );
}
