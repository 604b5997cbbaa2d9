//! Logs as shops export them (the layout of the UCI "Online Retail" data set, as
//! `data/online_retail/transactions.csv` has it): unit price × quantity, cancellations, guest
//! checkouts, ids written as floats, local date formats and attributes on the lines. Every
//! expected value is computed here from the file itself.

use crate::common;

use std::collections::BTreeMap;

use common::{fails, lookalike, ok, repo, s};

const MAPPING: [&str; 10] = [
    "--column",
    "customer_id=CustomerID",
    "--column",
    "timestamp=InvoiceDate",
    "--column",
    "order_id=InvoiceNo",
    "--column",
    "quantity=Quantity",
    "--column",
    "unit_price=UnitPrice",
];

/// What the file says about each customer: spend (Σ quantity × price, cancellations
/// subtracted), cancellation lines, units bought, and lines per country; and the guest lines.
struct Oracle {
    customers: BTreeMap<String, Customer>,
    guest_lines: usize,
}

#[derive(Default)]
struct Customer {
    spend: f64,
    cancellations: u32,
    units: f64,
    countries: BTreeMap<String, u32>,
}

fn oracle() -> Oracle {
    let mut reader = csv::Reader::from_path(repo("data/online_retail/transactions.csv")).unwrap();
    let mut customers: BTreeMap<String, Customer> = BTreeMap::new();
    let mut guest_lines = 0;
    for record in reader.records() {
        let record = record.unwrap();
        let (quantity, price, id, country) = (
            record[3].parse::<f64>().unwrap(),
            record[5].parse::<f64>().unwrap(),
            &record[6],
            &record[7],
        );
        if id.is_empty() {
            guest_lines += 1;
            continue;
        }
        let id = id.strip_suffix(".0").expect("ids are written as floats");
        let customer = customers.entry(id.to_string()).or_default();
        customer.spend += quantity * price;
        if quantity < 0.0 {
            customer.cancellations += 1;
        } else {
            customer.units += quantity;
        }
        *customer.countries.entry(country.to_string()).or_default() += 1;
    }
    Oracle {
        customers,
        guest_lines,
    }
}

#[test]
fn a_shop_export_reads_as_the_shop_means_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("features.csv");
    let log = repo("data/online_retail/transactions.csv");
    let mut args = vec!["features", "--transactions", s(&log)];
    args.extend(MAPPING);
    args.extend([
        "--date-format",
        "%m/%d/%Y %H:%M",
        "--missing-customer",
        "skip",
        "--attribute",
        "Country",
        "--out",
        s(&out),
    ]);
    let run = ok(&args);
    let oracle = oracle();
    let message = String::from_utf8_lossy(&run.stderr);
    assert!(
        message.contains(&format!(
            "{} guest lines (no customer id) left out",
            oracle.guest_lines
        )),
        "{message}"
    );
    let mut reader = csv::Reader::from_path(&out).unwrap();
    let header = reader.headers().unwrap().clone();
    let at = |name: &str| header.iter().position(|h| h == name).unwrap();
    let mut seen = 0;
    for record in reader.records() {
        let record = record.unwrap();
        let id = &record[0];
        let expected = &oracle.customers[id];
        let number = |name: &str| record[at(name)].parse::<f64>().unwrap();
        assert!(
            (number("total_spend") - expected.spend).abs() < 1e-6,
            "{id}"
        );
        assert_eq!(
            number("refund_count"),
            expected.cancellations as f64,
            "{id}"
        );
        assert!((number("units") - expected.units).abs() < 1e-9, "{id}");
        // The country on most of the customer's lines (ties: the smallest name).
        let most = expected.countries.values().max().unwrap();
        let country = expected
            .countries
            .iter()
            .find(|(_, lines)| *lines == most)
            .unwrap()
            .0;
        let column = format!("Country_{}", country.replace(' ', "_"));
        assert_eq!(number(&column), 1.0, "{id}: {column}");
        seen += 1;
    }
    assert_eq!(seen, oracle.customers.len());
    assert!(oracle.guest_lines > 500 && oracle.customers.values().any(|c| c.cancellations > 0));
    // The country is a column rules and scopes can name.
    let seeds = dir.path().join("seeds.csv");
    let ids: Vec<&String> = oracle.customers.keys().take(40).collect();
    std::fs::write(
        &seeds,
        std::iter::once("customer_id".to_string())
            .chain(ids.iter().map(|id| id.to_string()))
            .collect::<Vec<_>>()
            .join("\n"),
    )
    .unwrap();
    let audience = dir.path().join("audience.csv");
    let run = ok(&[
        "expand",
        "--features",
        s(&out),
        "--seeds",
        s(&seeds),
        "--scope",
        "Country == 'Germany'",
        "--columns",
        "orders,total_spend,days_since_last_purchase",
        "--min-seeds",
        "10",
        "--size",
        "50%",
        "--out",
        s(&audience),
    ]);
    let message = String::from_utf8_lossy(&run.stderr);
    assert!(message.contains("outside --scope"), "{message}");
}

#[test]
fn the_value_model_fits_from_the_export_directly() {
    let dir = tempfile::tempdir().unwrap();
    let log = repo("data/online_retail/transactions.csv");
    let mut args = vec!["value", "fit", "--transactions", s(&log)];
    args.extend(MAPPING);
    let model = dir.path().join("model");
    args.extend([
        "--date-format",
        "%m/%d/%Y %H:%M",
        "--missing-customer",
        "skip",
        "--out",
        s(&model),
        "--quiet",
    ]);
    ok(&args);
    assert!(model.join("value_model.json").is_file());
}

#[test]
fn a_shop_export_read_wrongly_is_refused_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let log = repo("data/online_retail/transactions.csv");
    let out = dir.path().join("f.csv");
    let run = |extra: &[&str]| {
        let mut args = vec!["features", "--transactions", s(&log), "--out", s(&out)];
        args.extend(extra);
        fails(&args)
    };
    fn mapping_and<'a>(extra: &[&'a str]) -> Vec<&'a str> {
        let mut all = MAPPING.to_vec();
        all.extend(extra);
        all
    }
    // Dates in the shop's layout without --date-format.
    let error = run(&mapping_and(&["--missing-customer", "skip"]));
    assert!(error.contains("--date-format"), "{error}");
    // Guest lines without --missing-customer skip.
    let error = run(&mapping_and(&["--date-format", "%m/%d/%Y %H:%M"]));
    assert!(
        error.contains("\"CustomerID\"") && error.contains("--missing-customer skip"),
        "{error}"
    );
    // A unit price mapped as the amount: the first cancellation says what to do.
    let error = run(&[
        "--column",
        "customer_id=CustomerID",
        "--column",
        "timestamp=InvoiceDate",
        "--column",
        "quantity=Quantity",
        "--column",
        "amount=UnitPrice",
        "--date-format",
        "%m/%d/%Y %H:%M",
        "--missing-customer",
        "skip",
    ]);
    assert!(
        error.contains("\"Quantity\"") && error.contains("map it as unit_price"),
        "{error}"
    );
    // Both amount and unit_price mapped; unit_price without quantity.
    let error = run(&mapping_and(&["--column", "amount=UnitPrice"]));
    assert!(
        error.contains("either amount") && error.contains("unit_price"),
        "{error}"
    );
    let error = run(&[
        "--column",
        "customer_id=CustomerID",
        "--column",
        "timestamp=InvoiceDate",
        "--column",
        "unit_price=UnitPrice",
    ]);
    assert!(
        error.contains("unit_price") && error.contains("needs quantity"),
        "{error}"
    );
    // A negative unit price is a row error naming its line.
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "InvoiceNo,Quantity,InvoiceDate,UnitPrice,CustomerID\n1,2,2011-01-01,3.5,1.0\n2,1,2011-01-02,-11062.06,2.0\n",
    )
    .unwrap();
    let output = lookalike(&[
        "features",
        "--transactions",
        s(&bad),
        "--column",
        "customer_id=CustomerID",
        "--column",
        "timestamp=InvoiceDate",
        "--column",
        "quantity=Quantity",
        "--column",
        "unit_price=UnitPrice",
        "--out",
        s(&out),
    ]);
    let error = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{error}");
    assert!(
        error.contains("line 3") && error.contains("\"UnitPrice\"") && error.contains("-11062.06"),
        "{error}"
    );
}
