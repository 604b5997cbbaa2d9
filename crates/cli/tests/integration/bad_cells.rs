//! A bad cell or a bad option is an error naming the file, line, column and value (or the option
//! and its range), never a silent change of meaning; the inputs stay as they were.

use crate::common;

use std::path::{Path, PathBuf};

use common::{fails, ok, repo, s, sample_features};

fn write(dir: &Path, name: &str, content: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path
}

/// Runs a command that must fail; checks that every `expected` piece is in the message and
/// that `inputs` are unchanged.
fn refused(args: &[&str], expected: &[&str], inputs: &[&Path]) {
    let before: Vec<Vec<u8>> = inputs.iter().map(|p| std::fs::read(p).unwrap()).collect();
    let error = fails(args);
    for piece in expected {
        assert!(error.contains(piece), "{args:?}: {error:?} lacks {piece:?}");
    }
    for (path, bytes) in inputs.iter().zip(before) {
        assert_eq!(std::fs::read(path).unwrap(), bytes, "{path:?} changed");
    }
}

/// The sample's feature table with one cell of one customer replaced.
fn with_cell(dir: &Path, features: &Path, column: &str, value: &str) -> PathBuf {
    let text = std::fs::read_to_string(features).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let at = header.split(',').position(|c| c == column).unwrap();
    let mut out = format!("{header}\n");
    for (i, line) in lines.enumerate() {
        let mut cells: Vec<&str> = line.split(',').collect();
        // Line 12 of the file (the 11th customer), which has a purchase.
        if i == 10 {
            cells[at] = value;
        }
        out += &cells.join(",");
        out += "\n";
    }
    let path = write(dir, &format!("features_{column}.csv"), &out);
    // The schema goes along, recording the edited table's size.
    let mut schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(features.with_extension("csv.schema.json")).unwrap(),
    )
    .unwrap();
    schema["provenance"]["table_bytes"] = out.len().into();
    std::fs::write(path.with_extension("csv.schema.json"), schema.to_string()).unwrap();
    path
}

#[test]
fn feature_table_cells_must_mean_what_their_column_says() {
    let dir = tempfile::tempdir().unwrap();
    let features = sample_features(dir.path(), "features.csv", true);
    let seg = dir.path().join("seg.csv");
    for (column, value, expected) in [
        ("frequency", "-6", "-6 is not a whole number ≥ 0"),
        ("recency", "1000", "recency 1000 is greater than T"),
        (
            "monetary_value",
            "1e308",
            "1e308 is not an amount of at most 1e15",
        ),
        ("monetary_value", "inf", "\"inf\" is not a finite number"),
        ("orders", "NaN", "\"NaN\" is not a finite number"),
        (
            "top_category_share",
            "1.5",
            "1.5 is not a share between 0 and 1",
        ),
    ] {
        let bad = with_cell(dir.path(), &features, column, value);
        for command in ["segment", "cluster"] {
            let out = if command == "cluster" {
                dir.path().join("clusters")
            } else {
                seg.clone()
            };
            refused(
                &[command, "--features", s(&bad), "--out", s(&out)],
                &[s(&bad), "line 12", column, expected],
                &[&bad],
            );
        }
        // Streamed by `score` too (which reads only the columns the model uses, and checks the
        // BTYD columns customer by customer, so that `--on-error skip` can leave one out).
        if column == "top_category_share" {
            continue;
        }
        let btyd = ["frequency", "recency", "monetary_value"].contains(&column);
        let place = if btyd && value != "inf" && value != "1e308" {
            "data row 11"
        } else {
            "line 12"
        };
        refused(
            &[
                "score",
                "--model",
                s(&repo("models/sample")),
                "--features",
                s(&bad),
                "--out",
                s(&seg),
            ],
            &[s(&bad), place],
            &[&bad],
        );
    }
    // A duplicate id names both lines; a non-UTF-8 id names its line and column.
    let text = std::fs::read_to_string(&features).unwrap();
    let third = text.lines().nth(3).unwrap();
    let duplicate = write(dir.path(), "dup.csv", &format!("{text}{third}\n"));
    refused(
        &["segment", "--features", s(&duplicate), "--out", s(&seg)],
        &["is on line 4 and again on line 5002"],
        &[&duplicate],
    );
    let bytes = [b"customer_id,orders\nok,1\nbad\xff,2\n".as_slice()].concat();
    let latin = dir.path().join("latin1.csv");
    std::fs::write(&latin, bytes).unwrap();
    refused(
        &["segment", "--features", s(&latin), "--out", s(&seg)],
        &["line 3, column \"customer_id\"", "not valid UTF-8"],
        &[&latin],
    );
    // A schema left beside another table is told apart.
    let moved = dir.path().join("other.csv");
    std::fs::copy(&duplicate, &moved).unwrap();
    std::fs::copy(
        dir.path().join("features.csv.schema.json"),
        dir.path().join("other.csv.schema.json"),
    )
    .unwrap();
    refused(
        &["segment", "--features", s(&moved), "--out", s(&seg)],
        &["describes a table of", "different runs"],
        &[&moved],
    );
}

/// A bad cell of a feature table saved with Windows line ends, or below empty lines, is named by
/// its own line, whether the table is read whole (`segment`) or in chunks (`score`), and
/// whether the cell is no number at all or a number its column cannot hold; so are both lines
/// of a repeated id.
#[test]
fn a_bad_feature_cell_is_named_by_its_line_in_every_layout() {
    let dir = tempfile::tempdir().unwrap();
    let features = sample_features(dir.path(), "features.csv", true);
    let out = dir.path().join("out.csv");
    let model = repo("models/sample");
    // The file in `layout`, with its schema beside it (which records the table's size).
    let written = |text: &str, name: &str| {
        let path = write(dir.path(), &format!("features_{name}.csv"), text);
        let schema = features.with_extension("csv.schema.json");
        let mut schema: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(schema).unwrap()).unwrap();
        schema["provenance"]["table_bytes"] = text.len().into();
        std::fs::write(path.with_extension("csv.schema.json"), schema.to_string()).unwrap();
        path
    };
    // Two empty lines after line 3 move data row r (from 2 on) from line r + 2 to r + 4.
    let spaced = |text: &str| {
        let mut lines: Vec<&str> = text.split('\n').collect();
        lines.splice(3..3, ["", ""]);
        lines.join("\n")
    };
    for (column, value, expected) in [
        ("monetary_value", "inf", "\"inf\" is not a finite number"),
        ("orders", "-6", "-6 is not a whole number"),
    ] {
        let text =
            std::fs::read_to_string(with_cell(dir.path(), &features, column, value)).unwrap();
        for (name, layout, line) in [
            ("crlf", text.replace('\n', "\r\n"), "line 12,"),
            ("spaced", spaced(&text), "line 14,"),
            (
                "spaced_crlf",
                spaced(&text).replace('\n', "\r\n"),
                "line 14,",
            ),
        ] {
            let path = written(&layout, &format!("{column}_{name}"));
            let pieces = [s(&path), line, column, expected];
            refused(
                &["segment", "--features", s(&path), "--out", s(&out)],
                &pieces,
                &[&path],
            );
            refused(
                &[
                    "score",
                    "--model",
                    s(&model),
                    "--features",
                    s(&path),
                    "--out",
                    s(&out),
                ],
                &pieces,
                &[&path],
            );
        }
    }
    // The first customer again at the end of a spaced CRLF file.
    let text = std::fs::read_to_string(&features).unwrap();
    let rows = text.lines().count() - 1;
    let first = text.lines().nth(1).unwrap();
    let repeated = spaced(&format!("{text}{first}\n")).replace('\n', "\r\n");
    let path = written(&repeated, "repeated");
    let lines = format!("is on line 2 and again on line {}", rows + 4);
    refused(
        &["segment", "--features", s(&path), "--out", s(&out)],
        &[s(&path), &lines],
        &[&path],
    );
}

#[test]
fn a_customers_file_column_keeps_its_type_and_a_contradicting_cell_is_a_row_error() {
    let dir = tempfile::tempdir().unwrap();
    let tx = repo("data/sample/transactions.csv");
    let text = std::fs::read_to_string(repo("data/sample/customers.csv")).unwrap();
    let out = dir.path().join("f.csv");
    // Line 6: an impossible date in a column of dates.
    let bad_date = write(
        dir.path(),
        "bad_date.csv",
        &text.replacen(",2025-06-18,", ",2024-02-30,", 1),
    );
    refused(
        &[
            "features",
            "--transactions",
            s(&tx),
            "--customers",
            s(&bad_date),
            "--out",
            s(&out),
        ],
        &[
            s(&bad_date),
            "line 6",
            "\"signup_date\"",
            "2024-02-30",
            "in a column of dates",
        ],
        &[&bad_date],
    );
    // The same with Windows line ends: still line 6.
    let crlf = write(
        dir.path(),
        "bad_date_crlf.csv",
        &text
            .replacen(",2025-06-18,", ",2024-02-30,", 1)
            .replace('\n', "\r\n"),
    );
    refused(
        &[
            "features",
            "--transactions",
            s(&tx),
            "--customers",
            s(&crlf),
            "--out",
            s(&out),
        ],
        &["line 6", "2024-02-30"],
        &[&crlf],
    );
    // `inf` in a column of numbers.
    let numbers: String = text
        .lines()
        .enumerate()
        .map(|(i, l)| match i {
            0 => format!("{l},score\n"),
            3 => format!("{l},inf\n"),
            _ => format!("{l},{i}.5\n"),
        })
        .collect();
    let bad_number = write(dir.path(), "bad_number.csv", &numbers);
    refused(
        &[
            "features",
            "--transactions",
            s(&tx),
            "--customers",
            s(&bad_number),
            "--out",
            s(&out),
        ],
        &["line 4", "\"score\"", "inf", "is not a finite number"],
        &[&bad_number],
    );
    // With --on-error skip, the row is left out and the column stays numeric.
    ok(&[
        "features",
        "--transactions",
        s(&tx),
        "--customers",
        s(&bad_number),
        "--on-error",
        "skip",
        "--out",
        s(&out),
        "--quiet",
    ]);
    let header = std::fs::read_to_string(&out).unwrap();
    let header = header.lines().next().unwrap();
    assert!(header.split(',').any(|c| c == "score"), "{header}");
    assert!(!header.contains("score_inf"), "{header}");
}

#[test]
fn options_out_of_range_are_answered_with_the_range() {
    let dir = tempfile::tempdir().unwrap();
    let features = sample_features(dir.path(), "features.csv", false);
    let f = s(&features);
    let out = dir.path().join("out.csv");
    let model = dir.path().join("vm");
    ok(&[
        "value",
        "fit",
        "--features",
        f,
        "--out",
        s(&model),
        "--quiet",
    ]);
    for horizon in ["1e9", "12001"] {
        refused(
            &[
                "value",
                "predict",
                "--model",
                s(&model),
                "--features",
                f,
                "--out",
                s(&out),
                "--horizon",
                horizon,
            ],
            &["longer than 100 years", "at most 1200 months"],
            &[&features],
        );
    }
    refused(
        &[
            "value",
            "predict",
            "--model",
            s(&model),
            "--features",
            f,
            "--out",
            s(&out),
            "--horizon",
            "-5",
        ],
        &["horizon -5 must be a finite number ≥ 0"],
        &[],
    );
    let seeds: String = std::iter::once("customer_id".to_string())
        .chain(
            std::fs::read_to_string(&features)
                .unwrap()
                .lines()
                .skip(1)
                .take(200)
                .map(|l| l.split(',').next().unwrap().to_string()),
        )
        .map(|l| l + "\n")
        .collect();
    let seeds = write(dir.path(), "seeds.csv", &seeds);
    refused(
        &[
            "evaluate-audience",
            "--features",
            f,
            "--seeds",
            s(&seeds),
            "--folds",
            "1000",
        ],
        &["cannot be split into 1000 folds", "--folds"],
        &[],
    );
    refused(
        &[
            "expand",
            "--features",
            f,
            "--seeds",
            s(&seeds),
            "--size",
            "200%",
            "--out",
            s(&out),
        ],
        &["\"200%\" is more than 100% of the candidates"],
        &[],
    );
    refused(
        &[
            "cluster",
            "--features",
            f,
            "--columns",
            "orders,total_spend",
            "--log1p",
            "tenure_days",
            "--out",
            s(&dir.path().join("c")),
        ],
        &[
            "\"tenure_days\"",
            "not one of the clustered columns (orders, total_spend)",
        ],
        &[],
    );
    refused(
        &[
            "score",
            "--model",
            s(&repo("models/sample")),
            "--features",
            f,
            "--chunk-rows",
            "0",
            "--out",
            s(&out),
        ],
        &["--chunk-rows must be at least 1"],
        &[],
    );
}

#[test]
fn inputs_that_would_be_read_wrongly_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("f.csv");
    // An amount finer than the 0.0001 kept.
    let tiny = write(
        dir.path(),
        "tiny.csv",
        "customer_id,timestamp,amount\na,2024-01-01,10\na,2024-02-01,0.00001\n",
    );
    refused(
        &["features", "--transactions", s(&tiny), "--out", s(&out)],
        &[
            "line 3",
            "\"amount\"",
            "0.00001",
            "below the smallest amount kept (0.0001)",
        ],
        &[&tiny],
    );
    // A quantity too large is named as a quantity.
    let big = write(
        dir.path(),
        "big.csv",
        "customer_id,timestamp,amount,quantity\na,2024-01-01,10,1e20\n",
    );
    refused(
        &["features", "--transactions", s(&big), "--out", s(&out)],
        &["\"quantity\"", "|quantity|"],
        &[&big],
    );
    // One field mapped twice.
    let log = write(
        dir.path(),
        "log.csv",
        "cid,ts,value,total\na,2024-01-01,10,11\n",
    );
    refused(
        &[
            "features",
            "--transactions",
            s(&log),
            "--column",
            "customer_id=cid",
            "--column",
            "timestamp=ts",
            "--column",
            "amount=value",
            "--column",
            "amount=total",
            "--out",
            s(&out),
        ],
        &["maps amount twice", "\"value\"", "\"total\""],
        &[&log],
    );
    // A seed list whose header names a column twice.
    let features = sample_features(dir.path(), "features.csv", false);
    let first_id = std::fs::read_to_string(&features)
        .unwrap()
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .to_string();
    let seeds = write(
        dir.path(),
        "seeds.csv",
        &format!("customer_id,customer_id\n{first_id},x\n"),
    );
    refused(
        &[
            "expand",
            "--features",
            s(&features),
            "--seeds",
            s(&seeds),
            "--out",
            s(&out),
        ],
        &[s(&seeds), "names the column \"customer_id\" twice"],
        &[&seeds],
    );
    // A segments file made from other features: customers missing, or listed twice.
    let segments = dir.path().join("segments.csv");
    ok(&[
        "segment",
        "--features",
        s(&features),
        "--out",
        s(&segments),
        "--quiet",
    ]);
    let text = std::fs::read_to_string(&segments).unwrap();
    let half: String = text.lines().take(2_000).map(|l| format!("{l}\n")).collect();
    let half = write(dir.path(), "half.csv", &half);
    let rule = "rfm_segment == 'Champions'";
    refused(
        &[
            "expand",
            "--features",
            s(&features),
            "--segments",
            s(&half),
            "--seed-rule",
            rule,
            "--out",
            s(&out),
        ],
        &["3001 of the 5000 customers of the features are not in it"],
        &[&half],
    );
    let second = text.lines().nth(1).unwrap();
    let twice = write(dir.path(), "twice.csv", &format!("{text}{second}\n"));
    refused(
        &[
            "expand",
            "--features",
            s(&features),
            "--segments",
            s(&twice),
            "--seed-rule",
            rule,
            "--out",
            s(&out),
        ],
        &["is on line 2 and again on line 5002"],
        &[&twice],
    );
}

/// A bad transaction row is named by the line it is on, however the file is written: plain or
/// quoted (read by different parsers), with `\n` or `\r\n` line ends, with empty lines before it.
#[test]
fn a_bad_transaction_row_is_named_by_its_line_in_every_layout() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.parquet");
    let layouts = [
        (
            "plain",
            "1,2025-01-01 10:00:00,5\n\n\n2,2025-01-02 10:00:00,x7\n",
        ),
        (
            "quoted",
            "\"1\",2025-01-01 10:00:00,5\n\n\n2,2025-01-02 10:00:00,x7\n",
        ),
        (
            "crlf",
            "1,2025-01-01 10:00:00,5\r\n\r\n\r\n2,2025-01-02 10:00:00,x7\r\n",
        ),
        (
            "crlf_quoted",
            "\"1\",2025-01-01 10:00:00,5\r\n\r\n\r\n2,2025-01-02 10:00:00,x7\r\n",
        ),
    ];
    for (name, rows) in layouts {
        let header = if name.starts_with("crlf") {
            "customer_id,timestamp,amount\r\n"
        } else {
            "customer_id,timestamp,amount\n"
        };
        let tx = write(
            dir.path(),
            &format!("{name}.csv"),
            &format!("{header}{rows}"),
        );
        refused(
            &[
                "features",
                "--transactions",
                tx.to_str().unwrap(),
                "--as-of",
                "2026-01-01",
                "--out",
                out.to_str().unwrap(),
            ],
            &["line 5", "\"amount\"", "x7"],
            &[&tx],
        );
    }
}
