//! The trained pipeline's transform: row-local (any split into batches, any thread count, the
//! same bits), the same through save/load and bytes, and for every audience scorer.

use crate::common;

use arrow_array::{Array, RecordBatch};
use common::{assert_same_bits, sample_features, sample_model_dir};
use lookalike_audience::{CentroidScorer, KnnScorer, Scorer};
use lookalike_pipeline::{ModelDocuments, PipelineModel, UNSCORED_REASON};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn sample_model() -> PipelineModel {
    PipelineModel::load(&sample_model_dir()).unwrap()
}

/// The sample model with its audience scored by `scorer` fitted on the same seeds.
fn with_scorer(fit: impl Fn(ndarray::ArrayView2<'_, f64>) -> Box<dyn Scorer>) -> PipelineModel {
    let mut documents: ModelDocuments = sample_model().documents().clone();
    let audience = &mut documents.audiences[0];
    let d = audience.seed_rows[0].len();
    let rows =
        Array2::from_shape_vec((audience.seed_rows.len(), d), audience.seed_rows.concat()).unwrap();
    let saved = fit(rows.view()).saved().unwrap();
    audience.settings["scorer"] = serde_json::to_value(saved).unwrap();
    PipelineModel::from_documents(documents, "test").unwrap()
}

fn models() -> Vec<(&'static str, PipelineModel)> {
    vec![
        ("classifier", sample_model()),
        (
            "knn",
            with_scorer(|s| Box::new(KnnScorer::fit(s, None, 10).unwrap())),
        ),
        (
            "knn-ivf",
            with_scorer(|s| {
                Box::new(
                    KnnScorer::fit(s, None, 10)
                        .unwrap()
                        .with_index(8, 3, 1)
                        .unwrap(),
                )
            }),
        ),
        (
            "centroids",
            with_scorer(|s| Box::new(CentroidScorer::fit(s, None, 6, 0).unwrap())),
        ),
    ]
}

/// The transform of the whole table, then of random splits of it (batch sizes from 1 up),
/// concatenated: byte for byte the same, on 1 and 2 threads.
#[test]
fn transform_is_row_local_for_every_stage_and_scorer() {
    let table = sample_features();
    let n = table.len();
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for (name, model) in models() {
        let whole = model.transform_table(table).unwrap();
        assert_eq!(whole.num_rows(), n, "{name}");
        for threads in [1, 2] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            for round in 0..3 {
                let mut start = 0;
                let mut parts: Vec<RecordBatch> = Vec::new();
                while start < n {
                    // Mostly small batches at first (1, 2, 3 …), then large ones.
                    let most = if round == 0 { 7 } else { n / 3 };
                    let size = rng.random_range(1..=most.max(1)).min(n - start);
                    let rows: Vec<usize> = (start..start + size).collect();
                    let part = table.select_rows(&rows);
                    parts.push(pool.install(|| model.transform_table(&part).unwrap()));
                    start += size;
                }
                let joined =
                    arrow_select_concat(&parts).expect("batches of one schema concatenate");
                assert_same_bits(&whole, &joined);
            }
        }
    }
}

fn arrow_select_concat(parts: &[RecordBatch]) -> Option<RecordBatch> {
    let schema = parts.first()?.schema();
    let columns = (0..schema.fields().len())
        .map(|j| {
            let arrays: Vec<&dyn arrow_array::Array> =
                parts.iter().map(|p| p.column(j).as_ref()).collect();
            concat(&arrays)
        })
        .collect();
    RecordBatch::try_new(schema, columns).ok()
}

/// Concatenates arrays of one type (dictionaries merged into one).
fn concat(arrays: &[&dyn arrow_array::Array]) -> arrow_array::ArrayRef {
    arrow_select::concat::concat(arrays).expect("arrays of one type concatenate")
}

/// Scores differ by scorer (the test models are not the same model four times), every audience
/// scorer places seeds as seeds and some customers in tiers.
#[test]
fn every_scorer_places_customers() {
    let table = sample_features();
    let mut scores = Vec::new();
    for (name, model) in models() {
        let out = model.transform_table(table).unwrap();
        let tier = out.column_by_name("top_clv_tier").unwrap();
        let tier = common::texts(tier);
        let tier = arrow_array::cast::AsArray::as_string::<i32>(&tier);
        let seeds = tier.iter().filter(|t| *t == Some("seed")).count();
        assert_eq!(seeds, model.audiences()[0].seed_ids().len(), "{name}");
        assert!(
            tier.iter().any(|t| t == Some("1%")),
            "{name}: nobody in the 1% tier"
        );
        let score = out.column_by_name("top_clv_score").unwrap().clone();
        scores.push(score);
    }
    assert!(scores[0].to_data() != scores[1].to_data());
    assert!(scores[1].to_data() != scores[3].to_data());
}

/// The transform on the model's own training base reproduces the tiers it was built with:
/// each tier holds exactly the customers counted at training time.
#[test]
fn tiers_on_the_training_base_match_the_training_counts() {
    let model = sample_model();
    let out = model.transform_table(sample_features()).unwrap();
    let tier = out.column_by_name("top_clv_tier").unwrap();
    let tier = common::texts(tier);
    let tier = arrow_array::cast::AsArray::as_string::<i32>(&tier);
    let cuts = &model.audiences()[0].settings().tiers;
    let mut cumulative = 0;
    for cut in cuts {
        cumulative += tier
            .iter()
            .filter(|t| *t == Some(cut.label.as_str()))
            .count();
        assert_eq!(cumulative, cut.customers, "tier {}", cut.label);
    }
}

#[test]
fn save_load_and_bytes_round_trip_to_identical_scores() {
    let model = sample_model();
    let table = sample_features();
    let expected = model.transform_table(table).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("again");
    model.save(&saved).unwrap();
    let loaded = PipelineModel::load(&saved).unwrap();
    assert_eq!(loaded.documents(), model.documents());
    assert_same_bits(&expected, &loaded.transform_table(table).unwrap());
    let again = PipelineModel::from_bytes(&model.to_bytes()).unwrap();
    assert_eq!(again.documents(), model.documents());
    assert_same_bits(&expected, &again.transform_table(table).unwrap());
    // Saving over a model replaces it; over anything else is refused.
    model.save(&saved).unwrap();
    let other = dir.path().join("other");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("notes.txt"), "mine").unwrap();
    assert!(model.save(&other).is_err());
    assert_eq!(
        std::fs::read_to_string(other.join("notes.txt")).unwrap(),
        "mine"
    );
}

/// An Arrow batch in (extra columns ignored, nulls allowed), the output schema out; a batch
/// without a required column is refused naming it.
#[test]
fn arrow_batches_in_and_out() {
    use arrow_array::{Float64Array, StringArray};
    use std::sync::Arc;
    let model = sample_model();
    let table = sample_features();
    let mut fields = vec![(
        "customer_id".to_string(),
        Arc::new(StringArray::from_iter_values(
            table.ids().iter().map(|i| i.as_str()),
        )) as arrow_array::ArrayRef,
    )];
    for (j, name) in table.columns().iter().enumerate() {
        let values = table
            .values()
            .column(j)
            .iter()
            .map(|v| (!v.is_nan()).then_some(*v))
            .collect::<Float64Array>();
        fields.push((name.clone(), Arc::new(values)));
    }
    let batch = RecordBatch::try_from_iter(fields.clone()).unwrap();
    let out = model.transform(&batch).unwrap();
    assert_eq!(out.schema(), model.output_schema());
    assert_same_bits(&out, &model.transform_table(table).unwrap());
    let reasons = out.column_by_name(UNSCORED_REASON).unwrap();
    assert_eq!(reasons.null_count(), out.num_rows());
    let without: Vec<_> = fields.into_iter().filter(|(n, _)| n != "recency").collect();
    let error = model
        .transform(&RecordBatch::try_from_iter(without).unwrap())
        .unwrap_err()
        .to_string();
    assert!(error.contains("recency"), "{error}");
}

/// A customer whose purchase history cannot be scored keeps its row, with nulls in the value
/// columns and a reason; the other stages still score it.
#[test]
fn an_unscorable_history_gets_a_reason_not_a_lost_row() {
    let model = sample_model();
    let table = sample_features();
    let (ids, columns, mut values) = table.clone().into_parts();
    let recency = columns.iter().position(|c| c == "recency").unwrap();
    let t = columns.iter().position(|c| c == "T").unwrap();
    let row = (0..values.nrows()).find(|i| values[[*i, t]] > 1.0).unwrap();
    values[[row, recency]] = values[[row, t]] + 1.0;
    let broken = lookalike_core::FeatureTable::new(ids, columns, values).unwrap();
    let out = model.transform_table(&broken).unwrap();
    assert_eq!(out.num_rows(), table.len());
    let reasons =
        arrow_array::cast::AsArray::as_string::<i32>(out.column_by_name(UNSCORED_REASON).unwrap());
    assert_eq!(reasons.null_count(), table.len() - 1);
    assert!(
        reasons.value(row).contains("recency"),
        "{}",
        reasons.value(row)
    );
    assert!(out.column_by_name("clv").unwrap().is_null(row));
    assert!(out.column_by_name("rfm_cell").unwrap().is_valid(row));
}
