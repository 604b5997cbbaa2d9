//! Turning simulated rows into CSV text or Arrow batches.

use std::sync::Arc;

use arrow_array::{
    ArrayRef, BooleanArray, Date32Array, Float64Array, Int32Array, RecordBatch, StringArray,
    TimestampMillisecondArray,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};

use crate::persona::{AGE_BANDS, CATEGORIES, CHANNELS, COUNTRIES};
use crate::simulate::{EVENT_TYPES, NO_CATEGORY, Rows, SECONDS_PER_DAY};

/// The four tables, in the order they are written.
pub(crate) const TABLES: [&str; 4] = ["transactions", "events", "customers", "truth"];

pub(crate) const HEADERS: [&str; 4] = [
    "customer_id,timestamp,order_id,amount,quantity,category,channel",
    "customer_id,timestamp,event_type,category",
    "customer_id,country,age_band,signup_date,marketing_consent",
    "customer_id,persona,purchases_per_year,dropout_prob,mean_order_value,alive_at_end,future_purchases,future_spend",
];

/// Writes a customer id: `C` and the 1-based index, zero-padded to `width` digits.
fn push_id(out: &mut Vec<u8>, customer: u64, width: usize) {
    let mut digits = itoa::Buffer::new();
    let text = digits.format(customer + 1);
    out.push(b'C');
    out.extend(std::iter::repeat_n(b'0', width.saturating_sub(text.len())));
    out.extend_from_slice(text.as_bytes());
}

fn push_two(out: &mut Vec<u8>, value: u32) {
    out.push(b'0' + (value / 10) as u8);
    out.push(b'0' + (value % 10) as u8);
}

fn push_date(out: &mut Vec<u8>, day: i32) {
    use chrono::Datelike;
    let date = crate::date_of_day(day);
    out.extend_from_slice(itoa::Buffer::new().format(date.year()).as_bytes());
    out.push(b'-');
    push_two(out, date.month());
    out.push(b'-');
    push_two(out, date.day());
}

fn push_timestamp(out: &mut Vec<u8>, seconds: i64) {
    push_date(out, seconds.div_euclid(SECONDS_PER_DAY) as i32);
    let in_day = seconds.rem_euclid(SECONDS_PER_DAY) as u32;
    out.push(b'T');
    push_two(out, in_day / 3600);
    out.push(b':');
    push_two(out, in_day / 60 % 60);
    out.push(b':');
    push_two(out, in_day % 60);
}

fn push_cents(out: &mut Vec<u8>, cents: i64) {
    if cents < 0 {
        out.push(b'-');
    }
    let cents = cents.unsigned_abs();
    out.extend_from_slice(itoa::Buffer::new().format(cents / 100).as_bytes());
    out.push(b'.');
    push_two(out, (cents % 100) as u32);
}

fn push_float(out: &mut Vec<u8>, value: f64) {
    out.extend_from_slice(ryu::Buffer::new().format(value).as_bytes());
}

/// The rows as CSV text, one buffer per table (no header).
pub(crate) fn csv(rows: &Rows, width: usize) -> [Vec<u8>; 4] {
    let mut tx = Vec::with_capacity(rows.transactions.len() * 64);
    for r in &rows.transactions {
        push_id(&mut tx, r.customer, width);
        tx.push(b',');
        push_timestamp(&mut tx, r.seconds);
        tx.push(b',');
        push_id(&mut tx, r.customer, width);
        tx.push(b'-');
        tx.extend_from_slice(itoa::Buffer::new().format(r.order).as_bytes());
        tx.push(b',');
        push_cents(&mut tx, r.amount_cents);
        tx.push(b',');
        tx.extend_from_slice(itoa::Buffer::new().format(r.quantity).as_bytes());
        tx.push(b',');
        tx.extend_from_slice(CATEGORIES[r.category as usize].as_bytes());
        tx.push(b',');
        tx.extend_from_slice(CHANNELS[r.channel as usize].as_bytes());
        tx.push(b'\n');
    }
    let mut events = Vec::with_capacity(rows.events.len() * 40);
    for e in &rows.events {
        push_id(&mut events, e.customer, width);
        events.push(b',');
        push_timestamp(&mut events, e.seconds);
        events.push(b',');
        events.extend_from_slice(EVENT_TYPES[e.kind as usize].as_bytes());
        events.push(b',');
        if e.category != NO_CATEGORY {
            events.extend_from_slice(CATEGORIES[e.category as usize].as_bytes());
        }
        events.push(b'\n');
    }
    let mut customers = Vec::with_capacity(rows.customers.len() * 40);
    for c in &rows.customers {
        push_id(&mut customers, c.customer, width);
        customers.push(b',');
        customers.extend_from_slice(COUNTRIES[c.country as usize].0.as_bytes());
        customers.push(b',');
        customers.extend_from_slice(AGE_BANDS[c.age_band as usize].as_bytes());
        customers.push(b',');
        push_date(&mut customers, c.signup_day);
        customers.extend_from_slice(if c.consent { b",true\n" } else { b",false\n" });
    }
    let mut truth = Vec::with_capacity(rows.truth.len() * 80);
    for t in &rows.truth {
        push_id(&mut truth, t.customer, width);
        truth.push(b',');
        truth.extend_from_slice(t.persona.name().as_bytes());
        truth.push(b',');
        push_float(&mut truth, t.purchases_per_year);
        truth.push(b',');
        push_float(&mut truth, t.dropout_prob);
        truth.push(b',');
        push_float(&mut truth, t.mean_order_value);
        truth.extend_from_slice(if t.alive_at_end {
            b",true,"
        } else {
            b",false,"
        });
        truth.extend_from_slice(itoa::Buffer::new().format(t.future_purchases).as_bytes());
        truth.push(b',');
        push_cents(&mut truth, t.future_spend_cents);
        truth.push(b'\n');
    }
    [tx, events, customers, truth]
}

fn id_text(customer: u64, width: usize) -> String {
    let mut out = Vec::with_capacity(width + 1);
    push_id(&mut out, customer, width);
    String::from_utf8(out).expect("ASCII")
}

/// The Arrow schemas of the four tables.
pub(crate) fn schemas() -> [SchemaRef; 4] {
    let text = |name: &str| Field::new(name, DataType::Utf8, false);
    let timestamp = Field::new(
        "timestamp",
        DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
        false,
    );
    [
        Arc::new(Schema::new(vec![
            text("customer_id"),
            timestamp.clone(),
            text("order_id"),
            Field::new("amount", DataType::Float64, false),
            Field::new("quantity", DataType::Int32, false),
            text("category"),
            text("channel"),
        ])),
        Arc::new(Schema::new(vec![
            text("customer_id"),
            timestamp,
            text("event_type"),
            Field::new("category", DataType::Utf8, true),
        ])),
        Arc::new(Schema::new(vec![
            text("customer_id"),
            text("country"),
            text("age_band"),
            Field::new("signup_date", DataType::Date32, false),
            Field::new("marketing_consent", DataType::Boolean, false),
        ])),
        Arc::new(Schema::new(vec![
            text("customer_id"),
            text("persona"),
            Field::new("purchases_per_year", DataType::Float64, false),
            Field::new("dropout_prob", DataType::Float64, false),
            Field::new("mean_order_value", DataType::Float64, false),
            Field::new("alive_at_end", DataType::Boolean, false),
            Field::new("future_purchases", DataType::Int32, false),
            Field::new("future_spend", DataType::Float64, false),
        ])),
    ]
}

/// The rows as Arrow batches, one per table.
pub(crate) fn batches(
    rows: &Rows,
    width: usize,
    schemas: &[SchemaRef; 4],
) -> Result<[RecordBatch; 4], arrow_schema::ArrowError> {
    let tx = &rows.transactions;
    let tx_columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(
            tx.iter().map(|r| id_text(r.customer, width)),
        )),
        Arc::new(
            TimestampMillisecondArray::from_iter_values(tx.iter().map(|r| r.seconds * 1000))
                .with_timezone("UTC"),
        ),
        Arc::new(StringArray::from_iter_values(
            tx.iter()
                .map(|r| format!("{}-{}", id_text(r.customer, width), r.order)),
        )),
        Arc::new(Float64Array::from_iter_values(
            tx.iter().map(|r| r.amount_cents as f64 / 100.0),
        )),
        Arc::new(Int32Array::from_iter_values(
            tx.iter().map(|r| r.quantity as i32),
        )),
        Arc::new(StringArray::from_iter_values(
            tx.iter().map(|r| CATEGORIES[r.category as usize]),
        )),
        Arc::new(StringArray::from_iter_values(
            tx.iter().map(|r| CHANNELS[r.channel as usize]),
        )),
    ];
    let ev = &rows.events;
    let event_columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(
            ev.iter().map(|e| id_text(e.customer, width)),
        )),
        Arc::new(
            TimestampMillisecondArray::from_iter_values(ev.iter().map(|e| e.seconds * 1000))
                .with_timezone("UTC"),
        ),
        Arc::new(StringArray::from_iter_values(
            ev.iter().map(|e| EVENT_TYPES[e.kind as usize]),
        )),
        Arc::new(StringArray::from_iter(ev.iter().map(|e| {
            (e.category != NO_CATEGORY).then(|| CATEGORIES[e.category as usize])
        }))),
    ];
    let cu = &rows.customers;
    let customer_columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(
            cu.iter().map(|c| id_text(c.customer, width)),
        )),
        Arc::new(StringArray::from_iter_values(
            cu.iter().map(|c| COUNTRIES[c.country as usize].0),
        )),
        Arc::new(StringArray::from_iter_values(
            cu.iter().map(|c| AGE_BANDS[c.age_band as usize]),
        )),
        Arc::new(Date32Array::from_iter_values(
            cu.iter().map(|c| c.signup_day),
        )),
        Arc::new(BooleanArray::from_iter(cu.iter().map(|c| Some(c.consent)))),
    ];
    let tr = &rows.truth;
    let truth_columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(
            tr.iter().map(|t| id_text(t.customer, width)),
        )),
        Arc::new(StringArray::from_iter_values(
            tr.iter().map(|t| t.persona.name()),
        )),
        Arc::new(Float64Array::from_iter_values(
            tr.iter().map(|t| t.purchases_per_year),
        )),
        Arc::new(Float64Array::from_iter_values(
            tr.iter().map(|t| t.dropout_prob),
        )),
        Arc::new(Float64Array::from_iter_values(
            tr.iter().map(|t| t.mean_order_value),
        )),
        Arc::new(BooleanArray::from_iter(
            tr.iter().map(|t| Some(t.alive_at_end)),
        )),
        Arc::new(Int32Array::from_iter_values(
            tr.iter().map(|t| t.future_purchases as i32),
        )),
        Arc::new(Float64Array::from_iter_values(
            tr.iter().map(|t| t.future_spend_cents as f64 / 100.0),
        )),
    ];
    Ok([
        RecordBatch::try_new(schemas[0].clone(), tx_columns)?,
        RecordBatch::try_new(schemas[1].clone(), event_columns)?,
        RecordBatch::try_new(schemas[2].clone(), customer_columns)?,
        RecordBatch::try_new(schemas[3].clone(), truth_columns)?,
    ])
}
