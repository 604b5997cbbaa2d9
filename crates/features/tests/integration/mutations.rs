//! Seeded mutation tests of the readers: thousands of damaged transaction logs, event logs,
//! customers files and feature tables (CSV and Parquet) must each give a result or an error,
//! never a panic.

use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};

use lookalike_core::{ColumnMapping, InputKind, NoProgress};
use lookalike_features::{
    FeatureInputs, FeatureParams, InputFile, OnBadRow, extract, read_feature_table,
    write_feature_table,
};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

/// The first `lines` lines of a sample file.
fn head(path: &str, lines: usize) -> Vec<u8> {
    let text = std::fs::read_to_string(repo(path)).unwrap();
    let mut out: String = text.lines().take(lines).collect::<Vec<_>>().join("\n");
    out.push('\n');
    out.into_bytes()
}

/// Cells that readers get wrong when they are careless.
const NASTY: &[&str] = &[
    "",
    "-",
    "NaN",
    "inf",
    "-inf",
    "1e400",
    "-1e400",
    "9223372036854775808",
    "-9223372036854775809",
    "0.00000000001",
    "9999-99-99",
    "2024-02-30",
    "0000-01-01",
    "99999-01-01",
    "1970-01-01T25:61:61",
    "2024-01-01T00:00:00+99:00",
    "\"",
    "\"\"\"",
    ",,,",
    "\u{0}",
    "\u{feff}",
    "é",
    "\n",
    "\r",
    " ",
    "1,5",
    "+",
    "1e-400",
    "18446744073709551616",
    "-0",
];

/// One seeded mutation of `base`.
fn mutate(base: &[u8], rng: &mut ChaCha8Rng) -> Vec<u8> {
    let mut bytes = base.to_vec();
    for _ in 0..rng.random_range(1..4) {
        if bytes.is_empty() {
            break;
        }
        let at = rng.random_range(0..bytes.len());
        match rng.random_range(0..7) {
            0 => bytes[at] = rng.random(),
            1 => {
                let end = (at + rng.random_range(1..40)).min(bytes.len());
                bytes.drain(at..end);
            }
            2 => {
                let nasty = NASTY.choose(rng).unwrap().as_bytes();
                bytes.splice(at..at, nasty.iter().copied());
            }
            3 => {
                // Replace one field (between delimiters) by a nasty cell.
                let start = bytes[..at]
                    .iter()
                    .rposition(|b| *b == b',' || *b == b'\n')
                    .map_or(0, |p| p + 1);
                let end = bytes[at..]
                    .iter()
                    .position(|b| *b == b',' || *b == b'\n')
                    .map_or(bytes.len(), |p| at + p);
                let nasty = NASTY.choose(rng).unwrap().as_bytes();
                bytes.splice(start..end, nasty.iter().copied());
            }
            4 => bytes.truncate(at),
            5 => {
                // Repeat a line.
                let start = bytes[..at]
                    .iter()
                    .rposition(|b| *b == b'\n')
                    .map_or(0, |p| p + 1);
                let end = bytes[at..]
                    .iter()
                    .position(|b| *b == b'\n')
                    .map_or(bytes.len(), |p| at + p + 1);
                let line = bytes[start..end].to_vec();
                bytes.splice(end..end, line);
            }
            _ => {
                // A very long field.
                let long = vec![b'7'; rng.random_range(100..5_000)];
                bytes.splice(at..at, long);
            }
        }
    }
    bytes
}

/// The features of the sample's first 600 transaction lines, written to `dir/name` (CSV or
/// Parquet by extension) with their schema.
fn sample_feature_table(dir: &Path, name: &str) -> PathBuf {
    let csv_log = dir.join("log.csv");
    std::fs::write(&csv_log, head("data/sample/transactions.csv", 600)).unwrap();
    let inputs = FeatureInputs {
        transactions: InputFile::new(InputKind::Transactions, &csv_log, None, None).unwrap(),
        events: None,
        customers: None,
        mapping: ColumnMapping::default(),
    };
    let extraction = extract(&inputs, &FeatureParams::new(), &NoProgress).unwrap();
    let path = dir.join(name);
    write_feature_table(&extraction.table, &extraction.schema, &path, None).unwrap();
    path
}

/// Runs `f`, failing the test with `what` if it panics.
fn no_panic<T>(what: &str, f: impl FnOnce() -> T) -> T {
    match std::panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(value) => value,
        Err(_) => panic!("panicked on {what}"),
    }
}

fn extract_logs(
    transactions: &Path,
    events: Option<&Path>,
    customers: Option<&Path>,
    on_bad_row: OnBadRow,
) -> bool {
    // Damage can make a file's format unreadable already when it is described.
    let input = |kind, path: &Path| InputFile::new(kind, path, None, None).ok();
    let Some(transactions) = input(InputKind::Transactions, transactions) else {
        return false;
    };
    let (events, customers) = (
        events.map(|p| input(InputKind::Events, p)),
        customers.map(|p| input(InputKind::Customers, p)),
    );
    if matches!(events, Some(None)) || matches!(customers, Some(None)) {
        return false;
    }
    let inputs = FeatureInputs {
        transactions,
        events: events.flatten(),
        customers: customers.flatten(),
        mapping: ColumnMapping::default(),
    };
    let params = FeatureParams::new().on_bad_row(on_bad_row).threads(2);
    extract(&inputs, &params, &NoProgress).is_ok()
}

#[test]
fn damaged_csv_logs_give_a_result_or_an_error_never_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let bases = [
        ("transactions", head("data/sample/transactions.csv", 400)),
        ("events", head("data/sample/events.csv", 400)),
        ("customers", head("data/sample/customers.csv", 200)),
    ];
    let clean_tx = dir.path().join("clean_tx.csv");
    std::fs::write(&clean_tx, &bases[0].1).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(15);
    let (mut ok, mut failed) = (0, 0);
    for case in 0..3_000 {
        let (kind, base) = &bases[case % bases.len()];
        let damaged = mutate(base, &mut rng);
        let path = dir.path().join(format!("{kind}.csv"));
        std::fs::write(&path, &damaged).unwrap();
        let on_bad_row = if case % 2 == 0 {
            OnBadRow::Fail
        } else {
            OnBadRow::Skip
        };
        let what = format!(
            "case {case} ({kind}): {:?}",
            String::from_utf8_lossy(&damaged)
        );
        let worked = no_panic(&what, || match *kind {
            "transactions" => extract_logs(&path, None, None, on_bad_row),
            "events" => extract_logs(&clean_tx, Some(&path), None, on_bad_row),
            _ => extract_logs(&clean_tx, None, Some(&path), on_bad_row),
        });
        if worked { ok += 1 } else { failed += 1 }
    }
    // Both outcomes occur: the mutations are neither all harmless nor all fatal.
    assert!(ok > 100 && failed > 100, "{ok} read, {failed} refused");
}

#[test]
fn damaged_parquet_files_give_a_result_or_an_error_never_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let table_path = sample_feature_table(dir.path(), "features.parquet");
    let table_bytes = std::fs::read(&table_path).unwrap();
    std::fs::remove_file(dir.path().join("features.parquet.schema.json")).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(16);
    let mut refused = 0;
    for case in 0..3_000 {
        let mut damaged = table_bytes.clone();
        for _ in 0..rng.random_range(1..8) {
            let at = rng.random_range(0..damaged.len());
            damaged[at] = rng.random();
        }
        if case % 10 == 0 {
            damaged.truncate(rng.random_range(0..damaged.len()));
        }
        let path = dir.path().join("damaged.parquet");
        std::fs::write(&path, &damaged).unwrap();
        let refused_now = no_panic(&format!("Parquet case {case}"), || {
            read_feature_table(&path, None).is_err()
        });
        refused += usize::from(refused_now);
    }
    assert!(refused > 50, "only {refused} damaged files were refused");
}

#[test]
fn damaged_csv_feature_tables_give_a_result_or_an_error_never_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let table_path = sample_feature_table(dir.path(), "features.csv");
    let base = std::fs::read(&table_path).unwrap();
    // The schema stays beside: damaged tables are also told apart from it by size.
    let mut rng = ChaCha8Rng::seed_from_u64(17);
    for case in 0..1_000 {
        let damaged = mutate(&base, &mut rng);
        std::fs::write(&table_path, &damaged).unwrap();
        no_panic(&format!("feature table case {case}"), || {
            let _ = read_feature_table(&table_path, None);
            let chunks = lookalike_features::FeatureChunks::open(&table_path, |_| true, 64);
            if let Ok(chunks) = chunks {
                for chunk in chunks {
                    if chunk.is_err() {
                        break;
                    }
                }
            }
        });
        if case == 500 {
            std::fs::remove_file(dir.path().join("features.csv.schema.json")).unwrap();
        }
    }
}

#[test]
fn damaged_parquet_logs_give_a_result_or_an_error_never_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let params = lookalike_synth::GenerateParams::new(300)
        .seed(4)
        .format(lookalike_synth::OutputFormat::Parquet);
    lookalike_synth::generate(&params, dir.path(), &NoProgress).unwrap();
    let logs = [
        (
            "transactions",
            std::fs::read(dir.path().join("transactions.parquet")).unwrap(),
        ),
        (
            "customers",
            std::fs::read(dir.path().join("customers.parquet")).unwrap(),
        ),
    ];
    let clean_tx = dir.path().join("transactions.parquet");
    let mut rng = ChaCha8Rng::seed_from_u64(18);
    let mut refused = 0;
    for case in 0..2_000 {
        let (kind, base) = &logs[case % logs.len()];
        let mut damaged = base.clone();
        for _ in 0..rng.random_range(1..8) {
            let at = rng.random_range(0..damaged.len());
            damaged[at] = rng.random();
        }
        let path = dir.path().join(format!("damaged_{kind}.parquet"));
        std::fs::write(&path, &damaged).unwrap();
        let worked = no_panic(&format!("Parquet {kind} case {case}"), || match *kind {
            "transactions" => extract_logs(&path, None, None, OnBadRow::Fail),
            _ => extract_logs(&clean_tx, None, Some(&path), OnBadRow::Skip),
        });
        refused += usize::from(!worked);
    }
    assert!(refused > 100, "only {refused} damaged logs were refused");
}
