//! Parquet inputs: typed columns are read by type, and bad values are reported by row.

use std::path::Path;
use std::sync::Arc;

use arrow_array::{
    ArrayRef, Date32Array, Decimal128Array, Float64Array, Int64Array, RecordBatch, StringArray,
};
use arrow_schema::{Field, Schema};
use lookalike_core::{ColumnMapping, InputKind, NoProgress};
use lookalike_features::{
    FeatureError, FeatureInputs, FeatureParams, InputFile, OnBadRow, TimeUnit, day_number, extract,
};
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;

fn write_parquet(path: &Path, columns: Vec<(&str, ArrayRef)>) {
    let schema = Arc::new(Schema::new(
        columns
            .iter()
            .map(|(name, array)| Field::new(*name, array.data_type().clone(), true))
            .collect::<Vec<_>>(),
    ));
    let batch = RecordBatch::try_new(
        schema.clone(),
        columns.into_iter().map(|(_, a)| a).collect(),
    )
    .unwrap();
    // Two rows per row group, so row numbers must be carried across groups.
    let properties = WriterProperties::builder()
        .set_max_row_group_row_count(Some(2))
        .build();
    let mut writer = ArrowWriter::try_new(
        std::fs::File::create(path).unwrap(),
        schema,
        Some(properties),
    )
    .unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
}

fn inputs(path: &Path) -> FeatureInputs {
    FeatureInputs {
        transactions: InputFile::new(InputKind::Transactions, path, None, None).unwrap(),
        events: None,
        customers: None,
        mapping: ColumnMapping::default(),
    }
}

/// Transactions from Arrow batches in memory, named "orders" in messages.
fn in_memory(batches: Vec<RecordBatch>) -> FeatureInputs {
    FeatureInputs {
        transactions: InputFile::from_batches(InputKind::Transactions, "orders", batches),
        events: None,
        customers: None,
        mapping: ColumnMapping::default(),
    }
}

fn date(y: i32, m: u32, d: u32) -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

#[test]
fn integer_ids_dates_and_decimals_are_read_by_type() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tx.parquet");
    let days = [
        date(2024, 1, 1),
        date(2024, 1, 8),
        date(2024, 1, 8),
        date(2024, 1, 3),
    ]
    .map(day_number);
    write_parquet(
        &path,
        vec![
            (
                "customer_id",
                Arc::new(Int64Array::from(vec![7, 7, 7, 9])) as ArrayRef,
            ),
            ("timestamp", Arc::new(Date32Array::from(days.to_vec()))),
            (
                "amount",
                Arc::new(
                    Decimal128Array::from(vec![1050, 250, -100, 999])
                        .with_precision_and_scale(10, 2)
                        .unwrap(),
                ),
            ),
        ],
    );
    let params = FeatureParams::new()
        .as_of(date(2024, 1, 10))
        .time_unit(TimeUnit::Days);
    let table = extract(&inputs(&path), &params, &NoProgress).unwrap().table;
    assert_eq!(
        table.ids().iter().map(|i| i.as_str()).collect::<Vec<_>>(),
        ["7", "9"]
    );
    let get = |id: &str, column: &str| {
        table.values()[[
            table.row_of(id).unwrap(),
            table.column_index(column).unwrap(),
        ]]
    };
    assert_eq!(get("7", "frequency"), 1.0);
    assert_eq!(get("7", "recency"), 7.0);
    assert_eq!(get("7", "T"), 8.0);
    assert!((get("7", "total_spend") - 12.0).abs() < 1e-9);
    assert!((get("7", "monetary_value") - 2.5).abs() < 1e-9);
    assert_eq!(get("7", "refund_count"), 1.0);
    assert!((get("9", "total_spend") - 9.99).abs() < 1e-9);
}

#[test]
fn bad_values_are_reported_by_row_across_row_groups() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tx.parquet");
    let ids: ArrayRef = Arc::new(StringArray::from(vec![
        Some("a"),
        Some("b"),
        None,
        Some("c"),
        Some("d"),
    ]));
    let amounts: ArrayRef = Arc::new(Float64Array::from(vec![1.0, 2.0, 3.0, f64::NAN, 5.0]));
    let stamps: ArrayRef = Arc::new(StringArray::from(vec!["2024-01-01"; 5]));
    write_parquet(
        &path,
        vec![
            ("customer_id", ids),
            ("timestamp", stamps),
            ("amount", amounts),
        ],
    );
    let err = extract(
        &inputs(&path),
        &FeatureParams::new().threads(3),
        &NoProgress,
    )
    .unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, FeatureError::BadValue { .. }), "{message}");
    assert!(
        message.contains("tx.parquet")
            && message.contains("row 3")
            && message.contains("\"customer_id\""),
        "{message}"
    );

    let skipping = FeatureParams::new().on_bad_row(OnBadRow::Skip);
    let extraction = extract(&inputs(&path), &skipping, &NoProgress).unwrap();
    assert_eq!(extraction.table.len(), 3);
    let report = &extraction.inputs[0];
    assert_eq!((report.rows, report.skipped), (3, 2));
    let examples: Vec<String> = report.skip_examples.iter().map(|e| e.to_string()).collect();
    assert!(examples[0].contains("row 3"), "{examples:?}");
    assert!(
        examples[1].contains("row 4")
            && examples[1].contains("\"amount\"")
            && examples[1].contains("finite"),
        "{examples:?}"
    );
}

#[test]
fn a_column_of_an_unreadable_type_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tx.parquet");
    let list =
        arrow_array::ListArray::from_iter_primitive::<arrow_array::types::Int32Type, _, _>(vec![
            Some(vec![Some(1)]),
        ]);
    write_parquet(
        &path,
        vec![
            (
                "customer_id",
                Arc::new(StringArray::from(vec!["a"])) as ArrayRef,
            ),
            ("timestamp", Arc::new(StringArray::from(vec!["2024-01-01"]))),
            ("amount", Arc::new(list)),
        ],
    );
    let message = extract(&inputs(&path), &FeatureParams::new(), &NoProgress)
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("\"amount\"") && message.contains("cannot be read"),
        "{message}"
    );
}

/// The same rows as an in-memory table, split into batches of any size, give the file's
/// features, and a bad row is numbered across the batches.
#[test]
fn an_arrow_table_in_memory_reads_as_its_parquet_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tx.parquet");
    let n = 40;
    let ids: Vec<String> = (0..n).map(|i| format!("c{}", i % 7)).collect();
    let stamps: Vec<String> = (0..n)
        .map(|i| format!("2024-{:02}-{:02}", 1 + i % 12, 1 + i % 28))
        .collect();
    let amounts: Vec<f64> = (0..n).map(|i| (i * 37 % 100) as f64 / 4.0).collect();
    let columns = || -> Vec<(&str, ArrayRef)> {
        vec![
            (
                "customer_id",
                Arc::new(StringArray::from(ids.clone())) as ArrayRef,
            ),
            ("timestamp", Arc::new(StringArray::from(stamps.clone()))),
            ("amount", Arc::new(Float64Array::from(amounts.clone()))),
        ]
    };
    write_parquet(&path, columns());
    let params = FeatureParams::new().as_of(date(2025, 1, 1)).threads(3);
    let from_file = extract(&inputs(&path), &params, &NoProgress).unwrap().table;
    let whole = arrow_array::RecordBatch::try_from_iter(columns()).unwrap();
    for size in [1, 3, 17, n] {
        let batches: Vec<_> = (0..n)
            .step_by(size)
            .map(|start| whole.slice(start, size.min(n - start)))
            .collect();
        let table = in_memory(batches);
        let from_batches = extract(&table, &params, &NoProgress).unwrap().table;
        assert_eq!(from_batches.ids(), from_file.ids(), "batches of {size}");
        assert_eq!(from_batches.columns(), from_file.columns());
        let (a, b) = (from_batches.values(), from_file.values());
        assert!(
            a.iter()
                .zip(b.iter())
                .all(|(x, y)| x.to_bits() == y.to_bits()),
            "batches of {size}"
        );
    }
    let mut bad = stamps.clone();
    bad[22] = "2024-02-30".into();
    let broken = arrow_array::RecordBatch::try_from_iter([
        (
            "customer_id",
            Arc::new(StringArray::from(ids.clone())) as ArrayRef,
        ),
        ("timestamp", Arc::new(StringArray::from(bad))),
        ("amount", Arc::new(Float64Array::from(amounts.clone()))),
    ])
    .unwrap();
    let batches = vec![broken.slice(0, 20), broken.slice(20, 20)];
    let table = in_memory(batches);
    let message = extract(&table, &params, &NoProgress)
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("orders") && message.contains("row 23") && message.contains("timestamp"),
        "{message}"
    );
}

/// Text columns whose pages are all dictionary-encoded are read as dictionaries (a key per
/// row); chunks that fell back to plain pages, files written without dictionaries and
/// categorical in-memory columns must all give the same features, and a bad value in a
/// dictionary column is still named by its row.
#[test]
fn dictionary_encoded_text_reads_as_plain_text() {
    use arrow_array::DictionaryArray;
    use arrow_array::types::UInt8Type;
    use parquet::basic::Encoding;
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use parquet::schema::types::ColumnPath;

    let n = 300;
    let categories = ["books", "garden", "toys", "music", "food-and-drink"];
    let channels = ["web", "app", "store"];
    let ids: Vec<String> = (0..n).map(|i| format!("c{}", i * 7 % 23)).collect();
    let stamps: Vec<String> = (0..n)
        .map(|i| format!("2024-{:02}-{:02}", 1 + i % 12, 1 + i * 5 % 28))
        .collect();
    let amounts: Vec<f64> = (0..n).map(|i| (i * 37 % 100) as f64 / 4.0).collect();
    // Even row groups (of 40 rows) hold two short labels, odd ones all five.
    let category: Vec<Option<&str>> = (0..n)
        .map(|i| {
            let label = if i / 40 % 2 == 0 {
                categories[i % 2]
            } else {
                categories[i * 3 % 5]
            };
            (i % 11 != 3).then_some(label)
        })
        .collect();
    let channel: Vec<Option<&str>> = (0..n).map(|i| Some(channels[i % 3])).collect();
    let columns = |stamps: &[String]| -> Vec<(&str, ArrayRef)> {
        vec![
            (
                "customer_id",
                Arc::new(StringArray::from(ids.clone())) as ArrayRef,
            ),
            ("timestamp", Arc::new(StringArray::from(stamps.to_vec()))),
            ("amount", Arc::new(Float64Array::from(amounts.clone()))),
            ("category", Arc::new(StringArray::from(category.clone()))),
            ("channel", Arc::new(StringArray::from(channel.clone()))),
        ]
    };
    let write = |path: &Path, columns: Vec<(&str, ArrayRef)>, dictionaries: bool| {
        let batch = RecordBatch::try_from_iter(columns).unwrap();
        // Groups of 40 rows in pages of 8; the category's dictionary may hold 24 bytes, so
        // its chunks fall back to plain pages wherever a group has more of its labels.
        let properties = WriterProperties::builder()
            .set_max_row_group_row_count(Some(40))
            .set_data_page_row_count_limit(8)
            .set_write_batch_size(8)
            .set_dictionary_enabled(dictionaries)
            .set_column_dictionary_page_size_limit(ColumnPath::from("category"), 24)
            .build();
        let file = std::fs::File::create(path).unwrap();
        let mut writer = ArrowWriter::try_new(file, batch.schema(), Some(properties)).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
    };
    let dir = tempfile::tempdir().unwrap();
    let (encoded, plain) = (
        dir.path().join("dict.parquet"),
        dir.path().join("plain.parquet"),
    );
    write(&encoded, columns(&stamps), true);
    write(&plain, columns(&stamps), false);

    // The test file has both kinds of category chunk, and dictionary-only chunks elsewhere.
    let reader = SerializedFileReader::new(std::fs::File::open(&encoded).unwrap()).unwrap();
    let only_dictionary = |group: usize, column: usize| {
        let chunk = reader.metadata().row_group(group).column(column);
        chunk
            .page_encoding_stats_mask()
            .is_some_and(|m| m.is_only(Encoding::RLE_DICTIONARY))
    };
    let groups = reader.metadata().num_row_groups();
    let category_dictionary = (0..groups).filter(|g| only_dictionary(*g, 3)).count();
    assert!(
        0 < category_dictionary && category_dictionary < groups,
        "{category_dictionary} of {groups}"
    );
    assert!((0..groups).all(|g| only_dictionary(g, 4)));

    let params = FeatureParams::new().as_of(date(2025, 1, 1)).threads(2);
    let features = |inputs: &FeatureInputs| extract(inputs, &params, &NoProgress).unwrap().table;
    let expected = features(&inputs(&plain));
    let same = |table: &lookalike_core::FeatureTable, what: &str| {
        assert_eq!(table.ids(), expected.ids(), "{what}");
        assert_eq!(table.columns(), expected.columns(), "{what}");
        let bits = |t: &lookalike_core::FeatureTable| -> Vec<u64> {
            t.values().iter().map(|v| v.to_bits()).collect()
        };
        assert_eq!(bits(table), bits(&expected), "{what}");
    };
    assert!(expected.columns().iter().any(|c| c.contains("books")));
    same(&features(&inputs(&encoded)), "dictionary-encoded file");

    // Categorical columns in memory: u8 keys into a dictionary with a label nobody uses.
    let labels = |values: &[Option<&str>], dictionary: &[&str]| -> ArrayRef {
        let keys: Vec<Option<u8>> = values
            .iter()
            .map(|v| v.map(|v| dictionary.iter().position(|d| *d == v).unwrap() as u8))
            .collect();
        let keys = arrow_array::UInt8Array::from(keys);
        Arc::new(
            DictionaryArray::<UInt8Type>::try_new(
                keys,
                Arc::new(StringArray::from(dictionary.to_vec())),
            )
            .unwrap(),
        )
    };
    let mut categorical = columns(&stamps);
    let unused = [
        "unused",
        "toys",
        "books",
        "music",
        "garden",
        "food-and-drink",
    ];
    categorical[3].1 = labels(&category, &unused);
    categorical[4].1 = labels(&channel, &["store", "app", "web"]);
    let whole = RecordBatch::try_from_iter(categorical).unwrap();
    let batches = (0..n)
        .step_by(70)
        .map(|s| whole.slice(s, 70.min(n - s)))
        .collect();
    let table = in_memory(batches);
    same(&features(&table), "categorical batches");

    let mut bad = stamps.clone();
    bad[122] = "2024-02-30".into();
    let broken = dir.path().join("broken.parquet");
    write(&broken, columns(&bad), true);
    let message = extract(&inputs(&broken), &params, &NoProgress)
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("broken.parquet")
            && message.contains("row 123")
            && message.contains("timestamp")
            && message.contains("2024-02-30"),
        "{message}"
    );
}

/// Guest lines (no customer id: null or empty) of a Parquet log are left out and counted when
/// guests are skipped, whatever worker reads them, and the customers' features are those of
/// the log without them; an unskipped guest line fails with its row.
#[test]
fn parquet_guest_lines_are_skipped_and_counted_on_any_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let n = 60;
    let guest = |i: usize| i % 9 == 4;
    let ids: Vec<Option<String>> = (0..n)
        .map(|i| match (guest(i), i % 2) {
            (true, 0) => None,
            (true, _) => Some(String::new()),
            (false, _) => Some(format!("c{}", i % 11)),
        })
        .collect();
    let stamps: Vec<String> = (0..n)
        .map(|i| format!("2024-{:02}-{:02}", 1 + i % 12, 1 + i % 28))
        .collect();
    let amounts: Vec<f64> = (0..n).map(|i| (i * 37 % 100) as f64 / 4.0).collect();
    let log = |keep: &dyn Fn(usize) -> bool| -> Vec<(&str, ArrayRef)> {
        let rows: Vec<usize> = (0..n).filter(|&i| keep(i)).collect();
        vec![
            (
                "customer_id",
                Arc::new(StringArray::from(
                    rows.iter().map(|&i| ids[i].clone()).collect::<Vec<_>>(),
                )) as ArrayRef,
            ),
            (
                "timestamp",
                Arc::new(StringArray::from(
                    rows.iter().map(|&i| stamps[i].clone()).collect::<Vec<_>>(),
                )),
            ),
            (
                "amount",
                Arc::new(Float64Array::from(
                    rows.iter().map(|&i| amounts[i]).collect::<Vec<_>>(),
                )),
            ),
        ]
    };
    let with_guests = dir.path().join("with_guests.parquet");
    let without = dir.path().join("without.parquet");
    write_parquet(&with_guests, log(&|_| true));
    write_parquet(&without, log(&|i| !guest(i)));
    let guests = (0..n).filter(|&i| guest(i)).count() as u64;
    let expected = extract(
        &inputs(&without),
        &FeatureParams::new().as_of(date(2025, 1, 1)),
        &NoProgress,
    )
    .unwrap();
    for threads in [1, 2, 3] {
        let params = FeatureParams::new()
            .as_of(date(2025, 1, 1))
            .threads(threads)
            .missing_customer(lookalike_features::MissingCustomer::Skip);
        let got = extract(&inputs(&with_guests), &params, &NoProgress).unwrap();
        assert_eq!(got.inputs[0].guest_lines, guests, "{threads} threads");
        assert_eq!(got.table.ids(), expected.table.ids(), "{threads} threads");
        let (a, b) = (got.table.values(), expected.table.values());
        assert!(
            a.iter()
                .zip(b.iter())
                .all(|(x, y)| x.to_bits() == y.to_bits()),
            "{threads} threads"
        );
        let failing = FeatureParams::new()
            .as_of(date(2025, 1, 1))
            .threads(threads);
        let message = extract(&inputs(&with_guests), &failing, &NoProgress)
            .unwrap_err()
            .to_string();
        // The first guest line is row 5 (rows count from 1).
        assert!(
            message.contains("row 5") && message.contains("customer_id"),
            "{message}"
        );
    }
}
