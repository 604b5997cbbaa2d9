//! From input files to one feature row per customer.

use std::collections::HashSet;

use chrono::NaiveDate;
use lookalike_core::{
    ColumnMapping, CustomerId, FeatureKind, FeatureSchema, FeatureSpec, FeatureTable, InputKind,
    Progress,
};
use ndarray::Array2;
use rayon::prelude::*;

use crate::FeatureError;
use crate::cell::{date_of_day, day_number, units_to_amount};
use crate::customers::{column_suffix, read_customers, unique_name};
use crate::dictionary::{Dictionary, LabelId};
use crate::events::{CustomerEvents, EventHandler, PurchaseDays};
use crate::input::{FieldRequest, InputFile};
use crate::scan::{ScanOptions, scan};
use crate::transactions::{CustomerTx, TxHandler, Window, is_label};

/// What to do with a row that cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnBadRow {
    /// Stop at the first bad row and report it (the default: nothing is silently dropped).
    #[default]
    Fail,
    /// Skip bad rows, count them and report the first few.
    Skip,
}

/// The unit of the BTYD summary's durations (`recency`, `T`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimeUnit {
    /// Days.
    Days,
    /// Weeks of seven days, as in the BG/NBD and Pareto/NBD papers.
    #[default]
    Weeks,
}

impl TimeUnit {
    fn days(self) -> f64 {
        match self {
            TimeUnit::Days => 1.0,
            TimeUnit::Weeks => 7.0,
        }
    }

    fn name(self) -> &'static str {
        match self {
            TimeUnit::Days => "days",
            TimeUnit::Weeks => "weeks",
        }
    }
}

/// How to build features. Consuming setters; each says its default.
///
/// ```
/// use lookalike_features::{FeatureParams, TimeUnit};
/// let params = FeatureParams::new()
///     .as_of(chrono::NaiveDate::from_ymd_opt(1997, 10, 1).unwrap())
///     .time_unit(TimeUnit::Weeks);
/// assert_eq!(params.top_levels_value(), 8);
/// ```
#[derive(Debug, Clone)]
pub struct FeatureParams {
    as_of: Option<NaiveDate>,
    holdout_end: Option<NaiveDate>,
    time_unit: TimeUnit,
    on_bad_row: OnBadRow,
    threads: usize,
    top_levels: usize,
}

impl Default for FeatureParams {
    fn default() -> Self {
        FeatureParams {
            as_of: None,
            holdout_end: None,
            time_unit: TimeUnit::Weeks,
            on_bad_row: OnBadRow::Fail,
            threads: rayon::current_num_threads(),
            top_levels: 8,
        }
    }
}

impl FeatureParams {
    /// Parameters with every default.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only rows strictly before this date feed features. Default: the day after the last
    /// transaction.
    pub fn as_of(mut self, date: NaiveDate) -> Self {
        self.as_of = Some(date);
        self
    }

    /// Adds holdout targets measured from as-of up to (not including) this date. Default: none.
    pub fn holdout_end(mut self, date: NaiveDate) -> Self {
        self.holdout_end = Some(date);
        self
    }

    /// Unit of `recency` and `T`. Default: weeks.
    pub fn time_unit(mut self, unit: TimeUnit) -> Self {
        self.time_unit = unit;
        self
    }

    /// What to do with unreadable rows. Default: fail.
    pub fn on_bad_row(mut self, policy: OnBadRow) -> Self {
        self.on_bad_row = policy;
        self
    }

    /// Reader threads. Default: rayon's thread count (all cores).
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }

    /// How many categories, channels and attribute levels get their own column. Default: 8.
    pub fn top_levels(mut self, levels: usize) -> Self {
        self.top_levels = levels;
        self
    }

    /// The number of levels that get their own column.
    pub fn top_levels_value(&self) -> usize {
        self.top_levels
    }

    fn validate(&self) -> Result<(), FeatureError> {
        if self.threads == 0 {
            return Err(FeatureError::InvalidOptions(
                "threads must be at least 1".into(),
            ));
        }
        if self.top_levels == 0 {
            return Err(FeatureError::InvalidOptions(
                "top levels must be at least 1".into(),
            ));
        }
        match (self.as_of, self.holdout_end) {
            (None, Some(_)) => Err(FeatureError::InvalidOptions(
                "a holdout end needs an explicit as-of date (--as-of), where calibration ends"
                    .into(),
            )),
            (Some(a), Some(h)) if h <= a => Err(FeatureError::InvalidOptions(format!(
                "the holdout end {h} must be after the as-of date {a}"
            ))),
            _ => Ok(()),
        }
    }
}

/// The files to read and how their columns are named.
#[derive(Debug, Clone)]
pub struct FeatureInputs {
    /// The transaction log (required).
    pub transactions: InputFile,
    /// The event log.
    pub events: Option<InputFile>,
    /// The customers file.
    pub customers: Option<InputFile>,
    /// Source column of each canonical field.
    pub mapping: ColumnMapping,
}

/// How one input was read.
#[derive(Debug)]
pub struct InputReport {
    /// Which input.
    pub kind: InputKind,
    /// Rows read and used or counted.
    pub rows: u64,
    /// Rows skipped as unreadable (`OnBadRow::Skip`).
    pub skipped: u64,
    /// The first skipped rows, described.
    pub skip_examples: Vec<FeatureError>,
    /// Rows dated on or after as-of that fed no feature (holdout rows included).
    pub after_as_of: u64,
    /// Rows dated on or after the holdout end (or after as-of without a holdout).
    pub ignored_after_window: u64,
}

/// The features, their schema and what happened on the way.
#[derive(Debug)]
pub struct Extraction {
    /// One row per customer.
    pub table: FeatureTable,
    /// Names, kinds and meanings of the columns, with provenance.
    pub schema: FeatureSchema,
    /// One report per input read.
    pub inputs: Vec<InputReport>,
    /// The as-of date used.
    pub as_of: NaiveDate,
}

struct TxLookup<'a> {
    index: &'a foldhash::HashMap<Box<str>, u32>,
    days: &'a [Vec<i32>],
}

impl PurchaseDays for TxLookup<'_> {
    fn purchase_days(&self, customer: &str) -> &[i32] {
        self.index
            .get(customer)
            .map_or(&[], |i| self.days[*i as usize].as_slice())
    }
}

/// Reads the inputs and builds one feature row per customer as of a date.
///
/// ```no_run
/// use lookalike_core::{ColumnMapping, InputKind, NoProgress};
/// use lookalike_features::{FeatureInputs, FeatureParams, InputFile, extract};
/// let inputs = FeatureInputs {
///     transactions: InputFile::new(InputKind::Transactions, "data/sample/transactions.csv", None, None)?,
///     events: None,
///     customers: None,
///     mapping: ColumnMapping::default(),
/// };
/// let extraction = extract(&inputs, &FeatureParams::new(), &NoProgress)?;
/// println!("{} customers", extraction.table.len());
/// # Ok::<(), lookalike_features::FeatureError>(())
/// ```
pub fn extract(
    inputs: &FeatureInputs,
    params: &FeatureParams,
    progress: &dyn Progress,
) -> Result<Extraction, FeatureError> {
    params.validate()?;
    let options = ScanOptions {
        on_bad_row: params.on_bad_row,
        threads: params.threads,
    };
    let window = Window {
        as_of: params.as_of.map(day_number),
        holdout_end: params.holdout_end.map(day_number),
    };

    // 1. Transactions.
    let tx_fields = FieldRequest::for_kind(InputKind::Transactions, &inputs.mapping, 3);
    let categories = Dictionary::default();
    let channels = Dictionary::default();
    let has_quantity = quantity_present(&inputs.transactions, &tx_fields)?;
    let scanned = scan(&inputs.transactions, &tx_fields, options, progress, || {
        TxHandler::new(window, has_quantity, &categories, &channels)
    })?;
    let mut handlers = scanned.handlers.into_iter();
    let mut tx = handlers.next().expect("at least one worker");
    for other in handlers {
        tx.absorb(other);
    }
    let as_of = match window.as_of {
        Some(day) => day,
        None if tx.max_day == i32::MIN => {
            return Err(FeatureError::NoCustomers(format!(
                "{} has no data rows, so there is no last transaction to set the as-of date; pass --as-of",
                inputs.transactions.path.display()
            )));
        }
        None => tx.max_day + 1,
    };
    let last_day = as_of - 1;
    tx.customers.par_iter_mut().for_each(CustomerTx::compact);
    // Only the abandoned-cart check needs purchase days looked up by id.
    let purchase_days: Vec<Vec<i32>> = if inputs.events.is_some() {
        tx.customers
            .par_iter()
            .map(|c| {
                let mut days: Vec<i32> = c
                    .entries
                    .iter()
                    .filter(|e| e.is_purchase)
                    .map(|e| e.day)
                    .collect();
                days.dedup();
                days
            })
            .collect()
    } else {
        Vec::new()
    };
    let mut reports = vec![InputReport {
        kind: InputKind::Transactions,
        rows: scanned.rows,
        skipped: scanned.skipped,
        skip_examples: scanned.skip_examples,
        after_as_of: tx.after_as_of,
        ignored_after_window: tx.after_holdout,
    }];

    // 2. Events.
    let mut events: Option<EventHandler<'_, TxLookup<'_>>> = None;
    let lookup = TxLookup {
        index: &tx.index,
        days: &purchase_days,
    };
    if let Some(input) = &inputs.events {
        let fields = FieldRequest::for_kind(InputKind::Events, &inputs.mapping, 3);
        let scanned = scan(input, &fields, options, progress, || {
            EventHandler::new(as_of, &lookup)
        })?;
        let mut handlers = scanned.handlers.into_iter();
        let mut merged = handlers.next().expect("at least one worker");
        for other in handlers {
            merged.absorb(other);
        }
        reports.push(InputReport {
            kind: InputKind::Events,
            rows: scanned.rows,
            skipped: scanned.skipped,
            skip_examples: scanned.skip_examples,
            after_as_of: merged.after_as_of,
            ignored_after_window: 0,
        });
        events = Some(merged);
    }

    // 3. Customers.
    let customer_file = match &inputs.customers {
        Some(input) => Some(read_customers(input, &inputs.mapping, params.on_bad_row)?),
        None => None,
    };
    if let Some(file) = &customer_file {
        reports.push(InputReport {
            kind: InputKind::Customers,
            rows: file.rows,
            skipped: file.skipped,
            skip_examples: Vec::new(),
            after_as_of: 0,
            ignored_after_window: 0,
        });
        if let Some(report) = reports.last_mut() {
            report.skip_examples = inputs
                .customers
                .as_ref()
                .map(|_| Vec::new())
                .unwrap_or_default();
        }
    }

    // 4. The base: everyone with a calibration transaction, a calibration event or a row in the
    //    customers file, in order of first appearance (transactions, then events, then
    //    customers). Customers seen only after as-of do not exist yet as of that date.
    let mut base: Vec<Member> = Vec::new();
    let mut position: foldhash::HashMap<&str, usize> = Default::default();
    let joins_needed = events.is_some() || customer_file.is_some();
    let mut tx_ids: Vec<(u64, &str, u32)> = tx
        .index
        .iter()
        .filter(|(_, i)| tx.customers[**i as usize].has_calibration_rows())
        .map(|(k, i)| (tx.customers[*i as usize].first_seen, &**k, *i))
        .collect();
    tx_ids.par_sort_unstable_by_key(|(first_seen, _, _)| *first_seen);
    base.reserve(tx_ids.len());
    for (_, id, i) in tx_ids {
        if joins_needed {
            position.insert(id, base.len());
        }
        base.push(Member {
            id,
            tx: Some(i),
            events: None,
            attributes: None,
        });
    }
    if let Some(ev) = &events {
        let mut ids: Vec<(&str, u32)> = ev.index.iter().map(|(k, v)| (&**k, *v)).collect();
        ids.sort_unstable_by_key(|(_, i)| ev.customers[*i as usize].first_seen);
        for (id, i) in ids {
            match position.get(id) {
                Some(&p) => base[p].events = Some(i),
                None => {
                    position.insert(id, base.len());
                    base.push(Member {
                        id,
                        tx: tx.index.get(id).copied(),
                        events: Some(i),
                        attributes: None,
                    });
                }
            }
        }
    }
    if let Some(file) = &customer_file {
        for (row, id) in file.ids.iter().enumerate() {
            match position.get(&**id) {
                Some(&p) => base[p].attributes = Some(row),
                None => {
                    position.insert(id, base.len());
                    base.push(Member {
                        id,
                        tx: tx.index.get(&**id).copied(),
                        events: None,
                        attributes: Some(row),
                    });
                }
            }
        }
    }
    if base.is_empty() {
        return Err(FeatureError::NoCustomers(format!(
            "no row of {} is dated before the as-of date {}",
            inputs.transactions.path.display(),
            date_of_day(as_of)
        )));
    }

    // 5. Columns.
    let category_labels = categories.labels();
    let channel_labels = channels.labels();
    let mut category_totals = vec![0i128; category_labels.len()];
    let mut channel_orders = vec![0i128; channel_labels.len()];
    for customer in &tx.customers {
        for (label, paid) in &customer.category_paid {
            category_totals[*label as usize] += *paid as i128;
        }
        for entry in customer
            .entries
            .iter()
            .filter(|e| e.is_purchase && is_label(e.channel))
        {
            channel_orders[entry.channel as usize] += 1;
        }
    }
    let top_categories = top_labels(&category_labels, params.top_levels, &category_totals);
    let top_channels = top_labels(&channel_labels, params.top_levels, &channel_orders);
    let mut taken = HashSet::new();
    let layout = TxLayout {
        unit: params.time_unit,
        as_of,
        categories: top_categories
            .iter()
            .map(|l| {
                (
                    *l,
                    unique_name(
                        format!(
                            "category_share_{}",
                            column_suffix(&category_labels[*l as usize])
                        ),
                        &mut taken,
                    ),
                )
            })
            .collect(),
        channels: top_channels
            .iter()
            .map(|l| {
                (
                    *l,
                    unique_name(
                        format!(
                            "channel_share_{}",
                            column_suffix(&channel_labels[*l as usize])
                        ),
                        &mut taken,
                    ),
                )
            })
            .collect(),
        has_quantity,
        holdout: window.holdout_end.is_some(),
    };
    let mut specs = layout.specs(&category_labels, &channel_labels);
    for spec in &specs {
        taken.insert(spec.name.clone());
    }
    let event_columns = events.as_ref().map(|_| event_specs());
    if let Some(more) = &event_columns {
        specs.extend(more.iter().cloned());
    }
    let consent_column = customer_file.as_ref().and_then(|f| f.consent.as_ref());
    if consent_column.is_some() {
        specs.push(FeatureSpec {
            name: "marketing_consent".into(),
            kind: FeatureKind::Binary,
            unit: None,
            description: "1 = the customer agreed to marketing, 0 = did not; empty when the customers file says nothing".into(),
        });
        taken.insert("marketing_consent".into());
    }
    let encoded = customer_file
        .as_ref()
        .map(|f| f.encode(last_day, params.top_levels, &mut taken));
    if let Some(e) = &encoded {
        specs.extend(e.specs.iter().cloned());
    }
    let holdout_specs = layout.holdout_specs();
    specs.extend(holdout_specs.iter().cloned());

    let width = specs.len();
    let tx_width = layout.width();
    let mut values = vec![f64::NAN; base.len() * width];
    values
        .par_chunks_mut(width)
        .zip(base.par_iter())
        .for_each_init(Scratch::default, |scratch, (row, member)| {
            let state = member.tx.map(|i| &tx.customers[i as usize]);
            layout.fill(state, scratch, &mut row[..tx_width]);
            let mut at = tx_width;
            if let Some(ev) = &events {
                let counts = member.events.map(|i| &ev.customers[i as usize]);
                fill_events(counts, as_of, &mut row[at..at + EVENT_WIDTH]);
                at += EVENT_WIDTH;
            }
            if let Some(consent) = consent_column {
                row[at] = member
                    .attributes
                    .and_then(|r| consent[r])
                    .map_or(f64::NAN, |c| c as u8 as f64);
                at += 1;
            }
            if let Some(e) = &encoded {
                for column in &e.columns {
                    row[at] = member.attributes.map_or(f64::NAN, |r| column[r]);
                    at += 1;
                }
            }
            if layout.holdout {
                layout.fill_holdout(state, &mut row[at..at + 2]);
            }
        });
    let ids: Vec<CustomerId> = base.iter().map(|m| CustomerId::from(m.id)).collect();
    let names: Vec<String> = specs.iter().map(|s| s.name.clone()).collect();
    let matrix = Array2::from_shape_vec((base.len(), width), values).expect("shape matches");
    let table = FeatureTable::new(ids, names, matrix)?;

    let mut schema = FeatureSchema::new(specs);
    let provenance = &mut schema.provenance;
    provenance.insert("as_of".into(), date_of_day(as_of).to_string().into());
    provenance.insert(
        "last_included_day".into(),
        date_of_day(last_day).to_string().into(),
    );
    if let Some(h) = params.holdout_end {
        provenance.insert("holdout_end".into(), h.to_string().into());
    }
    provenance.insert("time_unit".into(), params.time_unit.name().into());
    provenance.insert("customers".into(), table.len().into());
    provenance.insert("tool_version".into(), env!("CARGO_PKG_VERSION").into());
    let mut files = serde_json::Map::new();
    for (report, input) in reports.iter().zip(
        std::iter::once(Some(&inputs.transactions))
            .chain(std::iter::once(inputs.events.as_ref()))
            .chain(std::iter::once(inputs.customers.as_ref()))
            .flatten(),
    ) {
        files.insert(
            report.kind.prefix().into(),
            serde_json::json!({
                "path": input.path.display().to_string(),
                "rows": report.rows,
                "skipped": report.skipped,
                "after_as_of": report.after_as_of,
            }),
        );
    }
    provenance.insert("inputs".into(), files.into());
    if let Some(e) = &encoded {
        if !e.empty_columns.is_empty() {
            provenance.insert(
                "empty_attribute_columns".into(),
                e.empty_columns.clone().into(),
            );
        }
    }
    drop((base, position));
    let _ = customer_file.map(|f| {
        if let Some(report) = reports.iter_mut().find(|r| r.kind == InputKind::Customers) {
            report.skip_examples = f.skip_examples;
        }
    });
    // Hundreds of thousands of small per-customer buffers take a while to free; do it on
    // another thread while the caller writes the table.
    let event_state = events.map(|e| (e.index, e.customers));
    let tx_state = (
        std::mem::take(&mut tx.index),
        std::mem::take(&mut tx.customers),
    );
    std::thread::spawn(move || drop((tx_state, event_state, purchase_days)));
    Ok(Extraction {
        table,
        schema,
        inputs: reports,
        as_of: date_of_day(as_of),
    })
}

struct Member<'a> {
    id: &'a str,
    tx: Option<u32>,
    events: Option<u32>,
    attributes: Option<usize>,
}

fn quantity_present(input: &InputFile, fields: &[FieldRequest]) -> Result<bool, FeatureError> {
    let column = &fields[crate::transactions::slot::QUANTITY].column;
    let header = match input.format {
        crate::input::FileFormat::Parquet => crate::scan::parquet_column_names(input)?,
        crate::input::FileFormat::Csv => return Ok(csv_header(input)?.iter().any(|h| h == column)),
    };
    Ok(header.iter().any(|h| h == column))
}

fn csv_header(input: &InputFile) -> Result<Vec<String>, FeatureError> {
    use std::io::Read;
    let mut head = Vec::new();
    std::fs::File::open(&input.path)
        .map_err(|source| FeatureError::Io {
            kind: input.kind,
            path: input.path.clone(),
            source,
        })?
        .take(64 * 1024)
        .read_to_end(&mut head)
        .map_err(|source| FeatureError::Io {
            kind: input.kind,
            path: input.path.clone(),
            source,
        })?;
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&head);
    let line = head.split(|b| *b == b'\n').next().unwrap_or_default();
    let delimiter = input
        .delimiter
        .unwrap_or_else(|| crate::input::detect_delimiter(line));
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .delimiter(delimiter)
        .from_reader(line);
    let mut record = csv::ByteRecord::new();
    let _ = reader.read_byte_record(&mut record);
    Ok(record
        .iter()
        .map(|c| String::from_utf8_lossy(c).trim().to_string())
        .collect())
}

/// The `count` labels with the largest positive weight (ties broken by label text, so the
/// choice does not depend on the order labels were first seen).
fn top_labels(labels: &[String], count: usize, weights: &[i128]) -> Vec<LabelId> {
    let mut weighted: Vec<(i128, &str, LabelId)> = weights
        .iter()
        .enumerate()
        .map(|(l, w)| (*w, labels[l].as_str(), l as LabelId))
        .collect();
    weighted.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    weighted
        .into_iter()
        .filter(|w| w.0 > 0)
        .take(count)
        .map(|w| w.2)
        .collect()
}

/// Which transaction columns exist and where.
struct TxLayout {
    unit: TimeUnit,
    as_of: i32,
    categories: Vec<(LabelId, String)>,
    channels: Vec<(LabelId, String)>,
    has_quantity: bool,
    holdout: bool,
}

/// The fixed transaction columns, in order.
const TX_FIXED: &[(&str, FeatureKind, Option<&str>, &str)] = &[
    (
        "frequency",
        FeatureKind::Count,
        None,
        "BTYD x: repeat purchase days (distinct purchase days − 1); same-day purchases merged; empty for customers with no purchase",
    ),
    (
        "recency",
        FeatureKind::Real,
        Some("unit"),
        "BTYD t_x: time from the first to the last purchase day; empty without a purchase",
    ),
    (
        "T",
        FeatureKind::Real,
        Some("unit"),
        "BTYD T: time from the first purchase day to the last day before as-of; empty without a purchase",
    ),
    (
        "monetary_value",
        FeatureKind::Real,
        Some("currency"),
        "mean value of the repeat purchase days (the first purchase day excluded; a day's value is the sum of its purchase lines, refunds excluded); 0 for customers with no repeat purchase, empty without a purchase",
    ),
    (
        "days_since_last_purchase",
        FeatureKind::Real,
        Some("days"),
        "days from the last purchase day to the last day before as-of; empty without a purchase",
    ),
    (
        "orders",
        FeatureKind::Count,
        None,
        "distinct orders (by order id, or one per purchase day when the file has no order id)",
    ),
    (
        "total_spend",
        FeatureKind::Real,
        Some("currency"),
        "purchases minus refunds before as-of",
    ),
    (
        "avg_order_value",
        FeatureKind::Real,
        Some("currency"),
        "purchase value per order (refunds excluded); empty without an order",
    ),
    (
        "tenure_days",
        FeatureKind::Real,
        Some("days"),
        "days from the first purchase to the last day before as-of; empty without a purchase",
    ),
    (
        "mean_gap_days",
        FeatureKind::Real,
        Some("days"),
        "mean days between consecutive purchase days; empty with fewer than two purchase days",
    ),
    (
        "std_gap_days",
        FeatureKind::Real,
        Some("days"),
        "population standard deviation of the days between consecutive purchase days; empty with fewer than two purchase days",
    ),
    (
        "orders_30d",
        FeatureKind::Count,
        None,
        "orders in the 30 days before as-of",
    ),
    (
        "orders_90d",
        FeatureKind::Count,
        None,
        "orders in the 90 days before as-of",
    ),
    (
        "orders_365d",
        FeatureKind::Count,
        None,
        "orders in the 365 days before as-of",
    ),
    (
        "spend_30d",
        FeatureKind::Real,
        Some("currency"),
        "purchases minus refunds in the 30 days before as-of",
    ),
    (
        "spend_90d",
        FeatureKind::Real,
        Some("currency"),
        "purchases minus refunds in the 90 days before as-of",
    ),
    (
        "spend_365d",
        FeatureKind::Real,
        Some("currency"),
        "purchases minus refunds in the 365 days before as-of",
    ),
    (
        "spend_trend_90d",
        FeatureKind::Real,
        None,
        "(a − b) / (a + b), a = purchases in the last 90 days, b = in the 90 days before; in [−1, 1], 0 when both are 0",
    ),
    (
        "refund_count",
        FeatureKind::Count,
        None,
        "refund lines (negative amounts) before as-of",
    ),
    (
        "refund_share",
        FeatureKind::Real,
        None,
        "refunded amount / purchased amount; empty without purchases",
    ),
    (
        "distinct_categories",
        FeatureKind::Count,
        None,
        "categories with a purchase",
    ),
    (
        "top_category_share",
        FeatureKind::Share,
        None,
        "share of purchase value in the customer's own largest category; empty without categorised purchases",
    ),
];

impl TxLayout {
    fn width(&self) -> usize {
        TX_FIXED.len() + self.categories.len() + self.channels.len() + self.has_quantity as usize
    }

    fn specs(&self, category_labels: &[String], channel_labels: &[String]) -> Vec<FeatureSpec> {
        let mut specs: Vec<FeatureSpec> = TX_FIXED
            .iter()
            .map(|(name, kind, unit, description)| FeatureSpec {
                name: name.to_string(),
                kind: *kind,
                unit: unit.map(|u| {
                    if u == "unit" {
                        self.unit.name().to_string()
                    } else {
                        u.to_string()
                    }
                }),
                description: description.to_string(),
            })
            .collect();
        for (label, name) in &self.categories {
            specs.push(FeatureSpec {
                name: name.clone(),
                kind: FeatureKind::Share,
                unit: None,
                description: format!("share of purchase value in category {:?} (one of the most purchased categories overall); empty without categorised purchases", category_labels[*label as usize]),
            });
        }
        for (label, name) in &self.channels {
            specs.push(FeatureSpec {
                name: name.clone(),
                kind: FeatureKind::Share,
                unit: None,
                description: format!("share of orders placed through channel {:?}; empty without an order with a channel", channel_labels[*label as usize]),
            });
        }
        if self.has_quantity {
            specs.push(FeatureSpec {
                name: "units".into(),
                kind: FeatureKind::Real,
                unit: None,
                description: "units bought (sum of quantity over purchase lines)".into(),
            });
        }
        specs
    }

    fn holdout_specs(&self) -> Vec<FeatureSpec> {
        if !self.holdout {
            return Vec::new();
        }
        vec![
            FeatureSpec {
                name: "holdout_purchases".into(),
                kind: FeatureKind::Target,
                unit: None,
                description: "purchase days from as-of up to the holdout end (target, not an input)".into(),
            },
            FeatureSpec {
                name: "holdout_spend".into(),
                kind: FeatureKind::Target,
                unit: Some("currency".into()),
                description: "purchase value from as-of up to the holdout end, refunds excluded (target, not an input)".into(),
            },
        ]
    }

    fn fill_holdout(&self, state: Option<&CustomerTx>, out: &mut [f64]) {
        let holdout = state.map_or(&[][..], |s| s.holdout.as_slice());
        let mut days = 0usize;
        let mut previous = None;
        let mut spend = 0i128;
        for (day, paid) in holdout {
            if previous != Some(*day) {
                days += 1;
                previous = Some(*day);
            }
            spend += *paid as i128;
        }
        out[0] = days as f64;
        out[1] = units_to_amount(spend);
    }

    /// Fills the transaction columns of one customer (entries compacted, sorted by day).
    fn fill(&self, state: Option<&CustomerTx>, scratch: &mut Scratch, out: &mut [f64]) {
        let empty = CustomerTx::default();
        let state = state.unwrap_or(&empty);
        let last_day = self.as_of - 1;
        let unit = self.unit.days();
        // Purchase days with their value.
        let days = &mut scratch.days;
        days.clear();
        let (mut paid, mut refunded, mut orders) = (0i128, 0i128, 0u64);
        let mut windows = [(30, 0u64, 0i128), (90, 0, 0), (365, 0, 0)];
        let (mut recent90, mut previous90) = (0i128, 0i128);
        let channel_orders = &mut scratch.channel_orders;
        channel_orders.clear();
        channel_orders.resize(self.channels.len(), 0);
        let mut orders_with_channel = 0u64;
        for e in &state.entries {
            paid += e.paid as i128;
            refunded += e.refunded as i128;
            let age = last_day - e.day; // 0 = the last day before as-of
            for (w, count, spend) in windows.iter_mut() {
                if age < *w {
                    *spend += e.paid as i128 - e.refunded as i128;
                    *count += e.is_purchase as u64;
                }
            }
            if age < 90 {
                recent90 += e.paid as i128;
            } else if age < 180 {
                previous90 += e.paid as i128;
            }
            if e.is_purchase {
                orders += 1;
                match days.last_mut() {
                    Some((d, v)) if *d == e.day => *v += e.paid as i128,
                    _ => days.push((e.day, e.paid as i128)),
                }
                if is_label(e.channel) {
                    orders_with_channel += 1;
                    if let Some(k) = self.channels.iter().position(|(l, _)| *l == e.channel) {
                        channel_orders[k] += 1;
                    }
                }
            }
        }
        let nan = f64::NAN;
        let (first, last) = match (days.first(), days.last()) {
            (Some(f), Some(l)) => (Some(f.0), Some(l.0)),
            _ => (None, None),
        };
        let frequency = days.len().saturating_sub(1);
        out[0] = if first.is_some() {
            frequency as f64
        } else {
            nan
        };
        out[1] = match (first, last) {
            (Some(f), Some(l)) => (l - f) as f64 / unit,
            _ => nan,
        };
        out[2] = first.map_or(nan, |f| (last_day - f) as f64 / unit);
        out[3] = match first {
            None => nan,
            Some(_) if frequency == 0 => 0.0,
            Some(_) => {
                units_to_amount(days[1..].iter().map(|d| d.1).sum::<i128>()) / frequency as f64
            }
        };
        out[4] = last.map_or(nan, |l| (last_day - l) as f64);
        out[5] = orders as f64;
        out[6] = units_to_amount(paid - refunded);
        out[7] = if orders > 0 {
            units_to_amount(paid) / orders as f64
        } else {
            nan
        };
        out[8] = first.map_or(nan, |f| (last_day - f) as f64);
        if days.len() >= 2 {
            let gaps = days.windows(2).map(|w| (w[1].0 - w[0].0) as f64);
            let count = (days.len() - 1) as f64;
            let mean = gaps.clone().sum::<f64>() / count;
            let variance = gaps.map(|g| (g - mean).powi(2)).sum::<f64>() / count;
            out[9] = mean;
            out[10] = variance.sqrt();
        } else {
            out[9] = nan;
            out[10] = nan;
        }
        for (k, (_, count, spend)) in windows.iter().enumerate() {
            out[11 + k] = *count as f64;
            out[14 + k] = units_to_amount(*spend);
        }
        out[17] = if recent90 + previous90 == 0 {
            0.0
        } else {
            (recent90 - previous90) as f64 / (recent90 + previous90) as f64
        };
        out[18] = state.refund_lines as f64;
        out[19] = if paid > 0 {
            refunded as f64 / paid as f64
        } else {
            nan
        };
        let categorised: i128 = state.category_paid.iter().map(|c| c.1 as i128).sum();
        out[20] = state.category_paid.iter().filter(|c| c.1 > 0).count() as f64;
        out[21] = if categorised > 0 {
            state.category_paid.iter().map(|c| c.1).max().unwrap_or(0) as f64 / categorised as f64
        } else {
            nan
        };
        let mut at = TX_FIXED.len();
        for (label, _) in &self.categories {
            out[at] = if categorised > 0 {
                state
                    .category_paid
                    .iter()
                    .find(|c| c.0 == *label)
                    .map_or(0, |c| c.1) as f64
                    / categorised as f64
            } else {
                nan
            };
            at += 1;
        }
        for &mut count in channel_orders.iter_mut() {
            out[at] = if orders_with_channel > 0 {
                count as f64 / orders_with_channel as f64
            } else {
                nan
            };
            at += 1;
        }
        if self.has_quantity {
            out[at] = units_to_amount(state.units as i128);
        }
    }
}

/// Per-thread buffers of [`TxLayout::fill`], reused from customer to customer.
#[derive(Default)]
struct Scratch {
    days: Vec<(i32, i128)>,
    channel_orders: Vec<u64>,
}

const EVENT_WIDTH: usize = 8;

fn event_specs() -> Vec<FeatureSpec> {
    let spec = |name: &str, kind, unit: Option<&str>, description: &str| FeatureSpec {
        name: name.into(),
        kind,
        unit: unit.map(str::to_string),
        description: description.into(),
    };
    vec![
        spec(
            "views_30d",
            FeatureKind::Count,
            None,
            "view events in the 30 days before as-of",
        ),
        spec(
            "add_to_carts_30d",
            FeatureKind::Count,
            None,
            "add-to-cart events in the 30 days before as-of",
        ),
        spec(
            "checkouts_30d",
            FeatureKind::Count,
            None,
            "checkout events in the 30 days before as-of",
        ),
        spec(
            "abandoned_carts",
            FeatureKind::Count,
            None,
            "add-to-cart events before as-of with no purchase (transaction) on the same or the next day",
        ),
        spec(
            "abandoned_carts_30d",
            FeatureKind::Count,
            None,
            "abandoned carts in the 30 days before as-of",
        ),
        spec(
            "days_since_last_event",
            FeatureKind::Real,
            Some("days"),
            "days from the last event of any type to the last day before as-of; empty without events",
        ),
        spec(
            "email_open_rate",
            FeatureKind::Share,
            None,
            "email opens / emails sent, capped at 1; empty when no email was sent",
        ),
        spec(
            "email_click_rate",
            FeatureKind::Share,
            None,
            "email clicks / emails sent, capped at 1; empty when no email was sent",
        ),
    ]
}

fn fill_events(counts: Option<&CustomerEvents>, as_of: i32, out: &mut [f64]) {
    let empty = CustomerEvents::default();
    let c = counts.unwrap_or(&empty);
    out[0] = c.views_30d as f64;
    out[1] = c.carts_30d as f64;
    out[2] = c.checkouts_30d as f64;
    out[3] = c.abandoned_carts as f64;
    out[4] = c.abandoned_carts_30d as f64;
    out[5] = c
        .last_event_day
        .map_or(f64::NAN, |d| (as_of - 1 - d) as f64);
    let rate = |n: u32| {
        if c.emails_sent == 0 {
            f64::NAN
        } else {
            (n as f64 / c.emails_sent as f64).min(1.0)
        }
    };
    out[6] = rate(c.email_opens);
    out[7] = rate(c.email_clicks);
}
