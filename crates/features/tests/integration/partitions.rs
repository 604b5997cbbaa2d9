//! A partitioned extraction (`FeatureParams::only_customers_in`) gives each part's customers
//! exactly the rows the whole extraction gives them, in the same relative order, and the parts
//! together are the whole base.

use std::path::PathBuf;

use chrono::NaiveDate;
use lookalike_core::{ColumnMapping, FeatureTable, IdPartition, InputKind, NoProgress};
use lookalike_features::{FeatureInputs, FeatureParams, InputFile, extract};

fn sample(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/sample")
        .join(name)
}

fn inputs() -> FeatureInputs {
    let file = |kind, name| InputFile::new(kind, sample(name), None, None).unwrap();
    FeatureInputs {
        transactions: file(InputKind::Transactions, "transactions.csv"),
        events: Some(file(InputKind::Events, "events.csv")),
        customers: Some(file(InputKind::Customers, "customers.csv")),
        mapping: ColumnMapping::default(),
    }
}

/// The row of `id` in `table`, column by column in `names`' order, as bits.
fn row_bits(table: &FeatureTable, id: &str, names: &[String]) -> Vec<u64> {
    let row = table.row_of(id).unwrap();
    names
        .iter()
        .map(|name| table.values()[[row, table.column_index(name).unwrap()]].to_bits())
        .collect()
}

#[test]
fn parts_are_the_whole_extraction_split_by_id() {
    // Enough levels that every category, channel and attribute level has its column in every
    // part: ranking among a part's customers then changes nothing.
    let params = FeatureParams::new()
        .as_of(NaiveDate::from_ymd_opt(2026, 1, 1).unwrap())
        .top_levels(100);
    let whole_extraction = extract(&inputs(), &params, &NoProgress).unwrap();
    let whole = &whole_extraction.table;
    let mut names = whole.columns().to_vec();
    names.sort();
    let mut seen = 0;
    for index in 0..3 {
        let part = IdPartition::new(index, 3).unwrap();
        let extraction = extract(
            &inputs(),
            &params.clone().only_customers_in(part),
            &NoProgress,
        )
        .unwrap();
        let table = &extraction.table;
        let mut part_names = table.columns().to_vec();
        part_names.sort();
        assert_eq!(part_names, names, "part {index}");
        let expected: Vec<&str> = whole
            .ids()
            .iter()
            .map(|id| id.as_str())
            .filter(|id| part.contains(id))
            .collect();
        let got: Vec<&str> = table.ids().iter().map(|id| id.as_str()).collect();
        assert_eq!(got, expected, "part {index}: same customers, same order");
        for id in got {
            assert_eq!(
                row_bits(table, id, &names),
                row_bits(whole, id, &names),
                "customer {id}"
            );
        }
        // Every row is still read: the counts are those of the whole files.
        for (mine, all) in extraction.inputs.iter().zip(&whole_extraction.inputs) {
            assert_eq!(mine.rows, all.rows, "{:?}", mine.kind);
        }
        seen += table.len();
    }
    assert_eq!(seen, whole.len());
}

/// Without --as-of, each part finds the same as-of date: the day after the last transaction
/// of anyone, kept or not.
#[test]
fn every_part_finds_the_same_as_of_date() {
    let whole = extract(&inputs(), &FeatureParams::new(), &NoProgress).unwrap();
    for index in 0..4 {
        let part = IdPartition::new(index, 4).unwrap();
        let params = FeatureParams::new().only_customers_in(part);
        let extraction = extract(&inputs(), &params, &NoProgress).unwrap();
        assert_eq!(extraction.as_of, whole.as_of, "part {index}");
        assert_eq!(extraction.inputs[0].rows, whole.inputs[0].rows);
    }
}

/// With few levels, a part alone would choose other share columns and attribute levels than
/// the whole base; with the vocabulary of the parts' merged label totals and the whole
/// customers file, every part gets the whole extraction's columns, in order, and its values.
#[test]
fn parts_with_the_merged_vocabulary_are_the_whole_extraction() {
    use lookalike_features::{
        LabelTotals, attribute_summaries, encodings, label_totals, merge_attribute_summaries,
    };
    let params = FeatureParams::new()
        .as_of(NaiveDate::from_ymd_opt(2026, 1, 1).unwrap())
        .top_levels(2);
    let whole = extract(&inputs(), &params, &NoProgress).unwrap().table;
    let parts: Vec<IdPartition> = (0..5).map(|i| IdPartition::new(i, 5).unwrap()).collect();
    let mut totals = LabelTotals::default();
    let customers = inputs().customers.unwrap();
    let mut attributes: Option<Vec<_>> = None;
    for part in &parts {
        let part_params = params.clone().only_customers_in(*part);
        totals.merge(label_totals(&inputs(), &part_params, &NoProgress).unwrap());
        let summaries =
            attribute_summaries(&customers, &ColumnMapping::default(), &part_params).unwrap();
        match &mut attributes {
            Some(total) => merge_attribute_summaries(total, &summaries).unwrap(),
            None => attributes = Some(summaries),
        }
    }
    let encoding = encodings(&attributes.unwrap(), 2);
    // The merged summaries decide as the whole customers file does.
    let whole_file = attribute_summaries(&customers, &ColumnMapping::default(), &params).unwrap();
    assert_eq!(encodings(&whole_file, 2), encoding);
    assert!(
        encoding
            .iter()
            .any(|(_, e)| matches!(e, lookalike_features::AttributeEncoding::Levels { .. }))
    );
    let vocabulary = totals.vocabulary(2, encoding);
    assert_eq!(vocabulary.categories.len(), 2);

    let mut differs_alone = false;
    let mut seen = 0;
    for (index, part) in parts.iter().enumerate() {
        let alone = extract(
            &inputs(),
            &params.clone().only_customers_in(*part),
            &NoProgress,
        )
        .unwrap();
        differs_alone |= alone.table.columns() != whole.columns();
        let fixed = extract(
            &inputs(),
            &params
                .clone()
                .only_customers_in(*part)
                .vocabulary(vocabulary.clone()),
            &NoProgress,
        )
        .unwrap();
        let table = &fixed.table;
        assert_eq!(table.columns(), whole.columns(), "part {index}");
        for id in table.ids() {
            assert_eq!(
                row_bits(table, id.as_str(), whole.columns()),
                row_bits(&whole, id.as_str(), whole.columns()),
                "customer {id}"
            );
        }
        seen += table.len();
    }
    assert!(
        differs_alone,
        "some part alone must choose other columns, or this test shows nothing"
    );
    assert_eq!(seen, whole.len());
}

/// A part with no customer (a Spark partition may hold none) is an empty table with the
/// vocabulary's columns, not an error; a vocabulary without an as-of date is refused.
#[test]
fn an_empty_part_has_the_columns_and_no_rows() {
    use lookalike_features::{FeatureError, Vocabulary};
    let vocabulary = Vocabulary {
        categories: vec!["toys".into(), "garden".into()],
        channels: vec!["web".into()],
        attributes: Vec::new(),
    };
    let empty = tempfile::Builder::new().suffix(".csv").tempfile().unwrap();
    std::fs::write(
        empty.path(),
        "customer_id,timestamp,amount,category,channel\n",
    )
    .unwrap();
    let inputs = FeatureInputs {
        transactions: InputFile::new(InputKind::Transactions, empty.path(), None, None).unwrap(),
        events: None,
        customers: None,
        mapping: ColumnMapping::default(),
    };
    let params = FeatureParams::new()
        .as_of(NaiveDate::from_ymd_opt(2026, 1, 1).unwrap())
        .vocabulary(vocabulary.clone());
    let table = extract(&inputs, &params, &NoProgress).unwrap().table;
    assert_eq!(table.len(), 0);
    let shares: Vec<&String> = table
        .columns()
        .iter()
        .filter(|c| c.contains("_share_"))
        .collect();
    assert_eq!(
        shares,
        [
            "category_share_toys",
            "category_share_garden",
            "channel_share_web"
        ]
    );
    let no_date = FeatureParams::new().vocabulary(vocabulary);
    assert!(matches!(
        extract(&inputs, &no_date, &NoProgress),
        Err(FeatureError::InvalidOptions(m)) if m.contains("as-of")
    ));
}
