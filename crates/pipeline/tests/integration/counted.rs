//! Training from counts of a base in parts (what `lookalike.spark.train` does over
//! partitions) makes the model `fit` makes on the whole table: the same segment edges and
//! value-tier thresholds and the same value parameters, bit for bit, and the same segment
//! report up to the order of floating-point additions; with `[clusters]` at `init = "sample"`,
//! the same clusters for every customer and the same fit up to rounding.

use crate::common;

use common::{example_inputs, example_spec, sample_features};
use lookalike_cluster::{Init, KMeansInParts, PartAnswer};
use lookalike_core::{FeatureTable, NoProgress};
use lookalike_pipeline::{
    AudienceSurvey, CLV_COLUMN, CLV_RANK_COLUMN, IdList, PipelineModel, PipelineSpec,
    RankedCandidate, TrainingCounts, TrainingInputs, check_counted_stages, clv_keys, fit,
    fit_counted, ranks_by_clv, segment_sums,
};
use serde_json::Value;

/// The example pipeline without the stages that are not counted.
fn counted_spec() -> PipelineSpec {
    let mut spec = example_spec();
    spec.clusters = None;
    spec.audiences.clear();
    spec
}

/// The table's rows dealt over `parts` parts by a stride (so every part spans the whole id
/// range), plus an empty part.
fn parts_of(table: &FeatureTable, parts: usize) -> Vec<FeatureTable> {
    let mut rows: Vec<Vec<usize>> = vec![Vec::new(); parts + 1];
    for i in 0..table.len() {
        rows[(i * 7 + i / 3) % parts].push(i);
    }
    rows.iter().map(|r| table.select_rows(r)).collect()
}

/// The model trained from the parts' counts, merged in the given order of parts.
fn counted_model(spec: &PipelineSpec, parts: &[FeatureTable], order: &[usize]) -> PipelineModel {
    counted_model_with(spec, &example_inputs(), parts, order)
}

/// [`counted_model`] with these training inputs (seed lists).
fn counted_model_with(
    spec: &PipelineSpec,
    inputs: &TrainingInputs,
    parts: &[FeatureTable],
    order: &[usize],
) -> PipelineModel {
    let inputs = inputs.clone();
    let rules = inputs.segment_rules.as_deref();
    let counts: Vec<TrainingCounts> = parts
        .iter()
        .map(|p| TrainingCounts::of(spec, p).unwrap())
        .collect();
    let mut merged = counts[order[0]].clone();
    for &k in &order[1..] {
        merged.merge(&counts[k]).unwrap();
    }
    let trained = merged.trained_scores(spec, rules).unwrap().unwrap();
    let mut sums = segment_sums(spec, rules, &trained, &parts[order[0]]).unwrap();
    for &k in &order[1..] {
        sums.merge(&segment_sums(spec, rules, &trained, &parts[k]).unwrap())
            .unwrap();
    }
    let clusters = spec.clusters.as_ref().map(|config| {
        let mut fit = KMeansInParts::new(config).unwrap();
        while let Some(task) = fit.task() {
            let answer = |k: usize| task.answer(config, &parts[k]).unwrap();
            let mut merged: PartAnswer = answer(order[0]);
            for &k in &order[1..] {
                merged.merge(&answer(k)).unwrap();
            }
            fit.absorb(merged).unwrap();
        }
        fit.finish().unwrap()
    });
    let audiences = (!spec.audiences.is_empty()).then(|| {
        // The stages before the audiences, for the seed rules' segments and CLV.
        let earlier = PipelineSpec {
            audiences: Vec::new(),
            ..spec.clone()
        };
        let interim = fit_counted(
            &earlier,
            &merged,
            Some(&sums),
            clusters.as_ref(),
            None,
            &inputs,
        )
        .unwrap();
        // With a seed rule on clv_rank, every part carries its customers' ranks in the whole
        // base: the sort Spark makes of every customer's CLV key (highest first, then by id).
        let ranked_parts;
        let parts = if ranks_by_clv(spec).unwrap() {
            let mut keyed: Vec<(String, i64)> = parts
                .iter()
                .flat_map(|p| clv_keys(&interim, p).unwrap())
                .collect();
            keyed.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            let n = keyed.len() as f64;
            // As Spark joins them: each customer's rank and CLV (the key's value).
            let rank: std::collections::HashMap<String, (f64, f64)> = keyed
                .into_iter()
                .enumerate()
                .map(|(position, (id, key))| {
                    (
                        id,
                        (
                            position as f64 / n,
                            lookalike_audience::strength_of_key(key),
                        ),
                    )
                })
                .collect();
            ranked_parts = parts
                .iter()
                .map(|p| with_ranks(p, &rank))
                .collect::<Vec<_>>();
            &ranked_parts[..]
        } else {
            parts
        };
        let survey = |k: usize| AudienceSurvey::of(spec, &inputs, &interim, &parts[k]).unwrap();
        let mut surveyed = survey(order[0]);
        for &k in &order[1..] {
            surveyed.merge(&survey(k), spec).unwrap();
        }
        let mut fitted = surveyed.fit(spec, &inputs).unwrap();
        // The sort Spark makes: strength keys descending, equal keys by id.
        let mut ranked: Vec<RankedCandidate> = order
            .iter()
            .flat_map(|k| {
                fitted
                    .strengths(spec, &inputs, &interim, &parts[*k])
                    .unwrap()
            })
            .collect();
        ranked.sort_by(|a, b| a.0.cmp(&b.0).then(b.2.cmp(&a.2)).then(a.1.cmp(&b.1)));
        for (a, ranks) in fitted.cut_ranks().into_iter().enumerate() {
            let of_audience: Vec<_> = ranked.iter().filter(|r| r.0 == a).collect();
            let cuts: Vec<(i64, String)> = ranks
                .iter()
                .map(|rank| (of_audience[rank - 1].2, of_audience[rank - 1].1.clone()))
                .collect();
            fitted.set_cuts(a, &cuts).unwrap();
        }
        fitted
    });
    fit_counted(
        spec,
        &merged,
        Some(&sums),
        clusters.as_ref(),
        audiences.as_ref(),
        &inputs,
    )
    .unwrap()
}

/// `part` with the column of its customers' `clv_rank` in the whole base.
fn with_ranks(
    part: &FeatureTable,
    rank: &std::collections::HashMap<String, (f64, f64)>,
) -> FeatureTable {
    let (ids, mut columns, values) = part.clone().into_parts();
    let ranks = ndarray::Array2::from_shape_fn((ids.len(), 2), |(i, j)| {
        let (rank, clv) = rank[ids[i].as_str()];
        if j == 0 { rank } else { clv }
    });
    columns.push(CLV_RANK_COLUMN.to_string());
    columns.push(CLV_COLUMN.to_string());
    let values = ndarray::concatenate(ndarray::Axis(1), &[values.view(), ranks.view()]).unwrap();
    FeatureTable::new(ids, columns, values).unwrap()
}

/// Asserts two JSON values are equal, numbers within `relative` (0: the same number).
fn assert_close(a: &Value, b: &Value, relative: f64, at: &str) {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            assert!(
                (x - y).abs() <= relative * x.abs().max(y.abs()),
                "{at}: {x} and {y}"
            );
        }
        (Value::Array(x), Value::Array(y)) => {
            assert_eq!(x.len(), y.len(), "{at}");
            for (i, (x, y)) in x.iter().zip(y).enumerate() {
                assert_close(x, y, relative, &format!("{at}[{i}]"));
            }
        }
        (Value::Object(x), Value::Object(y)) => {
            assert_eq!(
                x.keys().collect::<Vec<_>>(),
                y.keys().collect::<Vec<_>>(),
                "{at}"
            );
            for (k, v) in x {
                assert_close(v, &y[k], relative, &format!("{at}.{k}"));
            }
        }
        _ => assert_eq!(a, b, "{at}"),
    }
}

#[test]
fn counted_parts_train_the_model_of_the_whole_table() {
    let spec = counted_spec();
    let table = sample_features();
    let (whole, _) = fit(&spec, table, &example_inputs(), &NoProgress).unwrap();
    let parts = parts_of(table, 5);
    assert!(parts.iter().all(|p| p.len() < table.len() / 3));
    let counted = counted_model(&spec, &parts, &[0, 1, 2, 3, 4, 5]);
    let (a, b) = (whole.documents(), counted.documents());
    // Edges, thresholds and every value-model number: identical.
    assert_eq!(a.segments, b.segments);
    assert_eq!(a.rules, b.rules);
    assert_eq!(a.value, b.value);
    let stages = |m: &PipelineModel| m.documents().manifest["stages"].clone();
    let (sa, sb) = (stages(&whole), stages(&counted));
    assert_eq!(sa["value"], sb["value"]);
    for key in ["bins", "rule_segments", "bin_sizes", "file"] {
        assert_eq!(sa["segments"][key], sb["segments"][key], "{key}");
    }
    // The report: counts exact, sums up to rounding.
    assert_close(
        &sa["segments"]["report"],
        &sb["segments"]["report"],
        1e-12,
        "report",
    );
    for key in ["customers", "features", "as_of", "pipeline"] {
        assert_eq!(a.manifest[key], b.manifest[key], "{key}");
    }
    // The scored base is the same.
    assert_eq!(
        whole.transform_table(table).unwrap(),
        counted.transform_table(table).unwrap()
    );
    // Merging in another order gives the same model.
    let reversed = counted_model(&spec, &parts, &[5, 4, 3, 2, 1, 0]);
    assert_eq!(reversed.documents().segments, b.segments);
    assert_eq!(reversed.documents().value, b.value);
}

#[test]
fn tiers_by_another_value_column_are_counted_apart() {
    let mut spec = counted_spec();
    spec.value = None;
    // Missing (NaN) for one-time buyers: those are left out of the tiers.
    spec.segments.as_mut().unwrap().value_column = "monetary_value".into();
    let table = sample_features();
    let (whole, _) = fit(&spec, table, &example_inputs(), &NoProgress).unwrap();
    let counted = counted_model(&spec, &parts_of(table, 4), &[0, 1, 2, 3, 4]);
    assert_eq!(whole.documents().segments, counted.documents().segments);
    let trained = &whole.documents().segments.as_ref().unwrap()["trained"];
    assert_eq!(trained["value_column"], "monetary_value");
    assert_ne!(trained["vip_1_from"], Value::Null);
}

#[test]
fn clusters_from_a_hash_sample_are_the_clusters_of_one_process() {
    let mut spec = counted_spec();
    let mut clusters = example_spec().clusters.unwrap();
    clusters.init = Init::Sample;
    clusters.init_sample = 1500;
    clusters.k = "3..5".parse().unwrap();
    spec.clusters = Some(clusters);
    let table = sample_features();
    let (whole, _) = fit(&spec, table, &example_inputs(), &NoProgress).unwrap();
    let parts = parts_of(table, 5);
    let counted = counted_model(&spec, &parts, &[0, 1, 2, 3, 4, 5]);
    let (a, b) = (whole.documents(), counted.documents());
    assert_eq!(a.segments, b.segments);
    assert_eq!(a.value, b.value);
    let (ca, cb) = (a.clusters.as_ref().unwrap(), b.clusters.as_ref().unwrap());
    for key in ["k", "columns", "parameters"] {
        assert_eq!(ca[key], cb[key], "{key}");
    }
    assert_eq!(cb["parameters"]["init"], "sample");
    assert_close(&ca["centroids"], &cb["centroids"], 1e-9, "centroids");
    assert_close(&ca["scaling"], &cb["scaling"], 1e-12, "scaling");
    assert_close(&ca["metrics"], &cb["metrics"], 1e-9, "metrics");
    for key in ["customers", "inertia", "iterations", "converged"] {
        assert_close(&ca["fit"][key], &cb["fit"][key], 1e-9, key);
    }
    let sizes = |doc: &Value| {
        doc["clusters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["size"].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(sizes(ca), sizes(cb));
    // Every customer lands in the same cluster, at the same distance to rounding.
    let scored = |m: &PipelineModel| m.transform_table(table).unwrap();
    let (sa, sb) = (scored(&whole), scored(&counted));
    assert_eq!(sa.column_by_name("cluster"), sb.column_by_name("cluster"));
    assert!(sa.column_by_name("cluster").is_some());
    let profiles = |m: &PipelineModel| m.documents().extras["clusters/profiles.csv"].clone();
    let header = |csv: &str| csv.lines().next().unwrap().to_string();
    assert_eq!(header(&profiles(&whole)), header(&profiles(&counted)));
    // Another order of the parts: the same clusters.
    let reversed = counted_model(&spec, &parts, &[5, 4, 3, 2, 1, 0]);
    let cr = reversed.documents().clusters.clone().unwrap();
    assert_close(
        &cr["centroids"],
        &cb["centroids"],
        1e-9,
        "centroids reversed",
    );
}

/// Two audiences with `candidate_sample`: seeds by a rule on the segments and CLV of the
/// stages trained before (auto scorer, standard scaling), and seeds from a list with values
/// (kNN, robust scaling).
fn audiences_spec() -> (PipelineSpec, TrainingInputs) {
    let mut spec = counted_spec();
    let example = example_spec().audiences[0].clone();
    let mut by_rule = example.clone();
    by_rule.name = "champions".into();
    by_rule.seed_rule = Some("rfm_segment == 'Champions' or clv_rank <= 0.03".into());
    by_rule.candidate_sample = Some(1000);
    let mut listed = example;
    listed.name = "listed".into();
    listed.seed_rule = None;
    listed.seeds = Some("listed.csv".into());
    listed.scorer = lookalike_audience::ScorerKind::Knn;
    listed.scaling = lookalike_cluster::Scaling::Robust;
    listed.require_consent = None;
    listed.candidate_sample = Some(600);
    listed.sizes = vec![
        lookalike_audience::TierSize::Count(150),
        lookalike_audience::TierSize::Share(0.1),
    ];
    spec.audiences = vec![by_rule, listed];
    let mut inputs = example_inputs();
    let ids: Vec<String> = sample_features()
        .ids()
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 9 == 4)
        .map(|(_, id)| id.to_string())
        .collect();
    let values = (0..ids.len()).map(|i| 1.0 + (i % 5) as f64).collect();
    inputs.seed_lists.insert(
        "listed".into(),
        IdList {
            origin: "listed.csv".into(),
            ids,
            values: Some(values),
            duplicates: 0,
        },
    );
    (spec, inputs)
}

#[test]
fn audiences_from_a_hash_sample_are_the_audiences_of_one_process() {
    let (spec, inputs) = audiences_spec();
    let table = sample_features();
    let (whole, report) = fit(&spec, table, &inputs, &NoProgress).unwrap();
    assert!(
        report
            .audiences
            .iter()
            .all(|a| a.audience.candidates > 1500),
        "{:?}",
        report
            .audiences
            .iter()
            .map(|a| a.audience.candidates)
            .collect::<Vec<_>>()
    );
    let parts = parts_of(table, 5);
    for order in [[0, 1, 2, 3, 4, 5], [5, 3, 1, 4, 2, 0]] {
        let counted = counted_model_with(&spec, &inputs, &parts, &order);
        let (a, b) = (whole.documents(), counted.documents());
        assert_eq!(a.audiences.len(), 2);
        for (x, y) in a.audiences.iter().zip(&b.audiences) {
            // The same seeds in the same order, their rows, the scaler (standard scaling's
            // statistics summed in order of value), the fitted scorer and each tier's cut:
            // bit for bit.
            let name = x.settings["name"].as_str().unwrap();
            assert_eq!(x.seed_ids, y.seed_ids, "{name}");
            assert_eq!(x.seed_rows, y.seed_rows, "{name}");
            assert_eq!(x.settings, y.settings, "{name}");
        }
        let entries = |m: &PipelineModel| m.documents().manifest["stages"]["audiences"].clone();
        assert_eq!(entries(&whole), entries(&counted));
        // Every customer scored alike.
        let scored = |m: &PipelineModel| m.transform_table(table).unwrap();
        let (sa, sb) = (scored(&whole), scored(&counted));
        for column in [
            "champions_tier",
            "listed_tier",
            "champions_control",
            "champions_score",
            "listed_score",
        ] {
            let (ca, cb) = (sa.column_by_name(column), sb.column_by_name(column));
            assert!(ca.is_some(), "{column}");
            assert_eq!(ca, cb, "{column}");
        }
    }
    // The rule's seeds come from both the segments and the CLV, the list's with values.
    let selection = &whole.documents().manifest["stages"]["audiences"][0]["selection"];
    assert_ne!(selection["chosen"], Value::Null);
    assert_eq!(
        whole.documents().audiences[1].settings["scorer"]["kind"],
        "knn"
    );
}

#[test]
fn stages_that_are_not_counted_are_refused_by_name() {
    let mut spec = counted_spec();
    assert!(check_counted_stages(&spec).is_ok());
    let example = example_spec();
    spec.clusters = example.clusters.clone();
    let error = TrainingCounts::of(&spec, sample_features()).unwrap_err();
    assert!(
        error.to_string().contains("[clusters]") && error.to_string().contains("init = \"sample\""),
        "{error}"
    );
    spec.clusters.as_mut().unwrap().init = Init::Sample;
    assert!(check_counted_stages(&spec).is_ok());
    spec.clusters.as_mut().unwrap().algorithm = lookalike_cluster::Algorithm::Linfa;
    let error = check_counted_stages(&spec).unwrap_err().to_string();
    assert!(error.contains("algo linfa"), "{error}");
    spec.audiences = example.audiences.clone();
    spec.clusters = None;
    let error = check_counted_stages(&spec).unwrap_err().to_string();
    assert!(
        error.contains("\"top_clv\"") && error.contains("set candidate_sample"),
        "{error}"
    );
    spec.audiences[0].candidate_sample = Some(1000);
    assert!(check_counted_stages(&spec).is_ok());
    // A seed rule on clv_rank needs each customer's rank in the whole base beside a part.
    assert!(ranks_by_clv(&spec).unwrap());
    let (earlier, inputs) = (counted_spec(), example_inputs());
    let part = &parts_of(sample_features(), 2)[0];
    let counts = TrainingCounts::of(&earlier, part).unwrap();
    let trained = counts
        .trained_scores(&earlier, inputs.segment_rules.as_deref())
        .unwrap()
        .unwrap();
    let sums = segment_sums(&earlier, inputs.segment_rules.as_deref(), &trained, part).unwrap();
    let interim = fit_counted(&earlier, &counts, Some(&sums), None, None, &inputs).unwrap();
    let error = AudienceSurvey::of(&spec, &inputs, &interim, part).unwrap_err();
    assert!(error.to_string().contains(CLV_RANK_COLUMN), "{error}");
}

#[test]
fn parts_with_other_columns_do_not_merge() {
    let spec = counted_spec();
    let table = sample_features();
    let mut whole = TrainingCounts::of(&spec, table).unwrap();
    let keep = table.columns().len() - 1;
    let narrower = FeatureTable::new(
        table.ids().to_vec(),
        table.columns()[..keep].to_vec(),
        table
            .values()
            .select(ndarray::Axis(1), &(0..keep).collect::<Vec<_>>()),
    )
    .unwrap();
    let other = TrainingCounts::of(&spec, &narrower).unwrap();
    let error = whole.merge(&other).unwrap_err();
    assert!(error.to_string().contains("feature columns"), "{error}");
}
