//! `LogOrder::Time`: the same rows as customer order, in time order over the whole file.

use std::path::Path;

use lookalike_core::NoProgress;
use lookalike_synth::{GenerateParams, LogOrder, OutputFormat, generate};

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// 20,000 customers: three chunks of customers and four buckets of days.
#[test]
fn time_order_writes_the_same_rows_sorted_by_time() {
    let dir = tempfile::tempdir().unwrap();
    let params = GenerateParams::new(20_000).seed(11);
    let by_customer = dir.path().join("customer");
    let by_time = dir.path().join("time");
    let first = generate(&params, &by_customer, &NoProgress).unwrap();
    let second = generate(&params.clone().order(LogOrder::Time), &by_time, &NoProgress).unwrap();
    assert_eq!(
        (first.transactions, first.events),
        (second.transactions, second.events)
    );
    for table in ["customers", "truth"] {
        let name = format!("{table}.csv");
        assert_eq!(
            lines(&by_customer.join(&name)),
            lines(&by_time.join(&name)),
            "{table} stays in customer order"
        );
    }
    for table in ["transactions", "events"] {
        let name = format!("{table}.csv");
        let customer_order = lines(&by_customer.join(&name));
        let time_order = lines(&by_time.join(&name));
        assert_eq!(customer_order[0], time_order[0], "same header");
        // The timestamp is the second field, written yyyy-mm-ddThh:mm:ss: text order is time order.
        let stamp = |line: &String| line.split(',').nth(1).unwrap().to_owned();
        assert!(
            time_order[1..]
                .windows(2)
                .all(|w| stamp(&w[0]) <= stamp(&w[1])),
            "{table}: every row in time order"
        );
        // Customer order is not: the chunks start over in time.
        assert!(
            customer_order[1..]
                .windows(2)
                .any(|w| stamp(&w[0]) > stamp(&w[1])),
            "{table}: customer order restarts its clock per chunk"
        );
        let mut a = customer_order;
        let mut b = time_order;
        a.sort_unstable();
        b.sort_unstable();
        assert_eq!(a, b, "{table}: the same rows");
    }
    // Parquet in time order holds the same rows as CSV in time order.
    let parquet = dir.path().join("parquet");
    let third = generate(
        &params.order(LogOrder::Time).format(OutputFormat::Parquet),
        &parquet,
        &NoProgress,
    )
    .unwrap();
    assert_eq!(third.transactions, second.transactions);
    let spill_files: Vec<_> = std::fs::read_dir(&parquet).unwrap().collect();
    assert_eq!(spill_files.len(), 4, "no spill file left behind");
}
