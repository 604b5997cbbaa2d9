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
use crate::cell::{date_of_day, day_number};
use crate::columns::{EVENT_WIDTH, Scratch, TxLayout, event_specs, fill_events};
use crate::customer_slots::CustomerState;
use crate::customers::{
    AttributeSummary, CustomerFile, column_suffix, read_customers, unique_name,
};
use crate::dictionary::{Dictionary, LabelId};
use crate::events::{CustomerEvents, EventHandler, PurchaseDays};
use crate::input::{FieldRequest, InputFile};
use crate::params::{FeatureParams, MissingCustomer};
use crate::scan::{ScanOptions, scan};
use crate::slot_vec::SlotVec;
use crate::transactions::{
    CustomerTx, TransactionFields, TxHandler, TxReading, Window, is_label, transaction_fields,
};
use crate::vocabulary::LabelTotals;

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
    /// Lines without a customer id left out (`MissingCustomer::Skip`), apart from bad rows.
    pub guest_lines: u64,
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
    /// With a holdout end: per week of the holdout (week k covers days as-of + 7k to
    /// as-of + 7k + 6, the last week possibly shorter), the purchase days made in it by
    /// customers who bought before as-of: the actual side of a tracking plot.
    pub holdout_weeks: Vec<f64>,
    /// With a holdout end: per week of the calibration period, earliest first, the repeat
    /// purchase days (each customer's purchase days after the first) made in it. The last
    /// entry is the week ending the day before as-of; the first holds the earliest repeat
    /// purchase. They add up to the sum of `frequency`.
    pub calibration_weeks: Vec<f64>,
}

impl Extraction {
    /// The extraction with every customer id replaced by its pseudonym under `key`, and the
    /// key's fingerprint recorded in the schema's provenance (`pseudonymized`), so that a later
    /// run with another key — or none — can be refused.
    pub fn pseudonymized(
        self,
        key: &lookalike_core::Pseudonymizer,
    ) -> Result<Extraction, FeatureError> {
        let mut schema = self.schema;
        schema
            .provenance
            .insert("pseudonymized".into(), key.record());
        Ok(Extraction {
            table: key.table(self.table)?,
            schema,
            ..self
        })
    }
}

struct TxLookup<'a> {
    index: &'a crate::customer_slots::SlotIndex,
    days: &'a [Vec<i32>],
}

impl PurchaseDays for TxLookup<'_> {
    fn purchase_days(&self, customer: &str) -> &[i32] {
        self.index
            .get(customer)
            .map_or(&[], |i| self.days[i as usize].as_slice())
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
    extract_with(inputs, params, progress, |rows| Ok(rows.into_extraction()))
}

/// Reads the inputs as [`extract`] does, then hands the base to `consume` before any value is
/// filled in: `consume` fills and writes the rows a chunk at a time
/// ([`FeatureRows::table`]), so memory holds the per-customer states and one chunk, not the
/// whole table too. Once `consume` returns, the states are freed on another thread and its
/// result is returned.
pub fn extract_with<R, E: From<FeatureError>>(
    inputs: &FeatureInputs,
    params: &FeatureParams,
    progress: &dyn Progress,
    consume: impl FnOnce(FeatureRows<'_>) -> Result<R, E>,
) -> Result<R, E> {
    params.validate()?;
    let options = scan_options(params);
    let dictionaries = TxDictionaries::new(params);
    let ReadTransactions {
        mut tx,
        report,
        has_quantity,
        window,
        as_of,
    } = read_transactions(inputs, params, &dictionaries, progress)?;
    let last_day = as_of - 1;
    // Only the abandoned-cart check needs purchase days looked up by id.
    let purchase_days: Vec<Vec<i32>> = if inputs.events.is_some() {
        tx.slots
            .customers
            .par_iter()
            .map(|c| {
                let mut days: Vec<i32> = tx
                    .entries_of(c)
                    .iter()
                    .filter(|e| e.is_purchase())
                    .map(|e| e.day)
                    .collect();
                days.dedup();
                days
            })
            .collect()
    } else {
        Vec::new()
    };
    let mut reports = vec![report];

    // 2. Events.
    let mut events: Option<EventHandler<'_, TxLookup<'_>>> = None;
    let lookup = TxLookup {
        index: &tx.slots.index,
        days: &purchase_days,
    };
    if let Some(input) = &inputs.events {
        let fields = FieldRequest::for_kind(InputKind::Events, &inputs.mapping, 3);
        let scanned = scan(input, &fields, options, progress, || {
            EventHandler::new(
                as_of,
                &lookup,
                &params.customers_in,
                params.date_format.as_deref(),
            )
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
            guest_lines: scanned.guest_lines,
        });
        events = Some(merged);
    }

    // 3. Customers.
    let mut customer_file = match &inputs.customers {
        Some(input) => Some(read_customers(
            input,
            &inputs.mapping,
            params.on_bad_row,
            &params.customers_in,
        )?),
        None => None,
    };
    if let Some(file) = &mut customer_file {
        reports.push(InputReport {
            kind: InputKind::Customers,
            rows: file.rows,
            skipped: file.skipped,
            skip_examples: std::mem::take(&mut file.skip_examples),
            after_as_of: 0,
            ignored_after_window: 0,
            guest_lines: 0,
        });
    }

    // 4. The base: everyone with a calibration transaction, a calibration event or a row in the
    //    customers file, in order of first appearance (transactions, then events, then
    //    customers). Customers seen only after as-of do not exist yet as of that date.
    // (first seen, slot) of the transaction customers with a calibration row.
    let mut tx_ids: Vec<(u64, u32)> = (0u32..)
        .zip(&tx.slots.customers)
        .filter(|(_, c)| c.has_calibration_rows())
        .map(|(slot, c)| (c.first_seen, slot))
        .collect();
    tx_ids.par_sort_unstable_by_key(|(first_seen, _)| *first_seen);
    let mut base: Vec<Member> = tx_ids.iter().map(|(_, i)| Member::of_tx(*i)).collect();
    // The sorted list goes before the ids are made: at 10M customers these three lists
    // (132, 99 and 198 MB) held at once made the run's peak.
    drop(tx_ids);
    let tx_slot = |member: &Member| member.tx.get().expect("a transaction customer");
    // The output's ids are made now, so that the index from id to state can go before the
    // feature values are filled in: memory at its peak holds the states and the values, not
    // also every id twice.
    let mut ids: Vec<CustomerId> = base
        .par_iter()
        .map(|member| CustomerId::from(tx.slots.index.id(tx_slot(member)).as_str()))
        .collect();
    // Joins go through the inputs' own id indexes: each customer's place in the base is kept
    // by state (4 bytes each), not in a map from id (at 10M customers, 400 MB more).
    let mut tx_place = Vec::new();
    if events.is_some() || customer_file.is_some() {
        tx_place = vec![Place::NONE; tx.slots.customers.len()];
        for (at, member) in base.iter().enumerate() {
            tx_place[tx_slot(member) as usize] = Place::at(base_index(at));
        }
    }
    // The base member of a transaction customer, if there is one.
    let tx_member = |slot: Option<u32>| slot.and_then(|s| tx_place[s as usize].get());
    let mut ev_place = Vec::new();
    if let Some(ev) = &events {
        ev_place = vec![Place::NONE; ev.slots.customers.len()];
        let mut ev_ids: Vec<(&str, u32)> = ev.slots.index.iter().map(|(k, v)| (&**k, v)).collect();
        ev_ids.sort_unstable_by_key(|(_, i)| ev.slots.customers[*i as usize].first_seen);
        for (id, i) in ev_ids {
            let tx_slot = tx.slots.index.get(id);
            let at = match tx_member(tx_slot) {
                Some(at) => {
                    base[at as usize].events = Place::at(i);
                    at
                }
                None => {
                    ids.push(CustomerId::from(id));
                    base.push(Member {
                        tx: Place::of(tx_slot),
                        events: Place::at(i),
                        attributes: Place::NONE,
                    });
                    base_index(base.len() - 1)
                }
            };
            ev_place[i as usize] = Place::at(at);
        }
    }
    if let Some(file) = &customer_file {
        for (row, id) in file.ids.iter().enumerate() {
            let row = Place::at(u32::try_from(row).expect("fewer than 2^32 customer rows"));
            let tx_slot = tx.slots.index.get(id);
            let ev_member = || {
                let ev = events.as_ref()?;
                ev_place[ev.slots.index.get(id)? as usize].get()
            };
            // Customer ids are distinct in the file: one not yet in the base is new.
            match tx_member(tx_slot).or_else(ev_member) {
                Some(at) => base[at as usize].attributes = row,
                None => {
                    ids.push(CustomerId::from(&**id));
                    base.push(Member {
                        tx: Place::of(tx_slot),
                        events: Place::NONE,
                        attributes: row,
                    });
                }
            }
        }
    }
    // A part of a base (fixed vocabulary) may hold no customer: its table is empty.
    if base.is_empty() && params.vocabulary.is_none() {
        return Err(FeatureError::NoCustomers(format!(
            "no row of {} is dated before the as-of date {}",
            inputs.transactions.path.display(),
            date_of_day(as_of)
        ))
        .into());
    }
    drop((tx_place, ev_place));
    let events: Option<SlotVec<CustomerEvents>> = events.map(|e| e.slots.customers);
    let tx_index = std::mem::take(&mut tx.slots.index);
    std::thread::spawn(move || drop(tx_index));

    // 5. Columns. The share columns' labels and the attributes' encoding are chosen from the
    //    whole base, unless they were fixed for it (a part of a base split over workers).
    let vocabulary = match &params.vocabulary {
        Some(fixed) => fixed.clone(),
        None => label_totals_of(&tx, &dictionaries).vocabulary(
            params.top_levels,
            customer_file
                .as_ref()
                .map(|f| f.encoding(params.top_levels))
                .unwrap_or_default(),
        ),
    };
    let top_categories: Vec<LabelId> = vocabulary
        .categories
        .iter()
        .map(|l| dictionaries.categories.id(l))
        .collect();
    let top_channels: Vec<LabelId> = vocabulary
        .channels
        .iter()
        .map(|l| dictionaries.channels.id(l))
        .collect();
    let category_labels = dictionaries.categories.labels();
    let channel_labels = dictionaries.channels.labels();
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
        .map(|f| f.encode_as(&vocabulary.attributes, last_day, &mut taken))
        .transpose()?;
    if let Some(e) = &encoded {
        specs.extend(e.specs.iter().cloned());
    }
    // Attributes from the transaction lines, one value per transaction customer.
    let line_encoded = (!params.line_attributes.is_empty()).then(|| {
        let values = line_attribute_values(
            &tx.slots.customers,
            &params.line_attributes,
            &dictionaries.line_attributes,
        );
        let encoding = values.encoding(params.top_levels);
        values.encode_as(&encoding, last_day, &mut taken)
    });
    let line_encoded = line_encoded.transpose()?;
    if let Some(e) = &line_encoded {
        specs.extend(e.specs.iter().cloned());
    }
    let holdout_specs = layout.holdout_specs();
    specs.extend(holdout_specs.iter().cloned());

    let tx_width = layout.width();
    let fill_row = |i: usize, scratch: &mut Scratch, row: &mut [f64]| {
        let member = &base[i];
        let state = member.tx.get().map(|i| &tx.slots.customers[i as usize]);
        let entries = state.map_or(&[][..], |s| tx.entries_of(s));
        layout.fill(state, entries, scratch, &mut row[..tx_width]);
        let mut at = tx_width;
        if let Some(ev) = &events {
            let counts = member.events.get().map(|i| &ev[i as usize]);
            fill_events(counts, as_of, &mut row[at..at + EVENT_WIDTH]);
            at += EVENT_WIDTH;
        }
        if let Some(consent) = consent_column {
            row[at] = member
                .attributes
                .get()
                .and_then(|r| consent[r as usize])
                .map_or(f64::NAN, |c| c as u8 as f64);
            at += 1;
        }
        if let Some(e) = &encoded {
            for column in &e.columns {
                row[at] = member
                    .attributes
                    .get()
                    .map_or(f64::NAN, |r| column[r as usize]);
                at += 1;
            }
        }
        if let Some(e) = &line_encoded {
            for column in &e.columns {
                row[at] = member.tx.get().map_or(f64::NAN, |i| column[i as usize]);
                at += 1;
            }
        }
        if layout.holdout {
            layout.fill_holdout(state, &mut row[at..at + 2]);
        }
    };
    // What `fill_row` reads first, read ahead for a tile of rows (see `FeatureRows::warm_row`).
    let warm_row = |i: usize| -> u64 {
        base[i].tx.get().map_or(0, |slot| {
            let state = &tx.slots.customers[slot as usize];
            state.touch() ^ tx.entries_of(state).first().map_or(0, |e| e.day as u64)
        })
    };
    let columns: Vec<String> = specs.iter().map(|s| s.name.clone()).collect();
    let mut schema = feature_schema(specs, ids.len(), as_of, params);
    let provenance = &mut schema.provenance;
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
    if let Some(e) = &encoded
        && !e.empty_columns.is_empty()
    {
        provenance.insert(
            "empty_attribute_columns".into(),
            e.empty_columns.clone().into(),
        );
    }
    let calibration_weeks = match window.holdout_end {
        Some(_) => {
            // Counted back from as-of: index 0 is the week ending the day before it.
            let mut back: Vec<f64> = Vec::new();
            for member in &base {
                let Some(state) = member.tx.get() else {
                    continue;
                };
                let mut days = tx
                    .entries_of(&tx.slots.customers[state as usize])
                    .iter()
                    .filter(|e| e.is_purchase())
                    .map(|e| e.day)
                    .collect::<Vec<i32>>();
                days.dedup();
                for day in days.into_iter().skip(1) {
                    let week = ((as_of - 1 - day) / 7) as usize;
                    if back.len() <= week {
                        back.resize(week + 1, 0.0);
                    }
                    back[week] += 1.0;
                }
            }
            back.reverse();
            back
        }
        None => Vec::new(),
    };
    let holdout_weeks = match window.holdout_end {
        Some(end) => {
            let mut weeks = vec![0.0; ((end - as_of).max(0) as usize).div_ceil(7)];
            for member in &base {
                // Customers with a calibration purchase: those whose `frequency` is not empty.
                let Some(state) = member.tx.get().map(|i| &tx.slots.customers[i as usize]) else {
                    continue;
                };
                if !tx.entries_of(state).iter().any(|e| e.is_purchase()) {
                    continue;
                }
                let mut days: Vec<i32> = state.holdout().iter().map(|(day, _)| *day).collect();
                days.sort_unstable();
                days.dedup();
                for day in days {
                    weeks[((day - as_of) / 7) as usize] += 1.0;
                }
            }
            weeks
        }
        None => Vec::new(),
    };
    let rows = FeatureRows {
        schema,
        inputs: reports,
        as_of: date_of_day(as_of),
        holdout_weeks,
        calibration_weeks,
        ids,
        columns,
        fill_row: &fill_row,
        warm_row: &warm_row,
    };
    let consumed = consume(rows);
    drop(base);
    // Hundreds of thousands of small per-customer buffers take a while to free; do it on
    // another thread while the caller goes on.
    let event_state = events;
    let tx_state = std::mem::take(&mut tx.slots.customers);
    std::thread::spawn(move || drop((tx_state, event_state, purchase_days)));
    consumed
}

/// Rows of one tile of [`ColumnTiles`].
const TILE_ROWS: usize = 1024;

/// Feature values of a run of rows, in tiles of [`TILE_ROWS`] rows, each tile stored column by
/// column.
///
/// Why: a writer reads a column at a time, and a column of a row-major table is a strided read
/// through all of it; a tile is filled a row at a time within the caches and read back as
/// contiguous runs.
pub struct ColumnTiles {
    width: usize,
    values: Vec<f64>,
}

impl ColumnTiles {
    /// Column `j`'s values, row by row.
    pub fn column(&self, j: usize) -> impl Iterator<Item = f64> + '_ {
        self.values
            .chunks(TILE_ROWS * self.width)
            .flat_map(move |tile| {
                let tile_rows = tile.len() / self.width;
                tile[j * tile_rows..(j + 1) * tile_rows].iter().copied()
            })
    }
}

/// The features of a base, every value computable but none filled in yet: a writer fills and
/// writes them a chunk of customers at a time, so that the whole table — at 10M customers, GBs
/// — is never in memory beside the per-customer states it comes from. See [`extract_with`].
pub struct FeatureRows<'a> {
    /// Names, kinds and meanings of the columns, with provenance.
    pub schema: FeatureSchema,
    /// One report per input read.
    pub inputs: Vec<InputReport>,
    /// The as-of date used.
    pub as_of: NaiveDate,
    /// As [`Extraction::holdout_weeks`].
    pub holdout_weeks: Vec<f64>,
    /// As [`Extraction::calibration_weeks`].
    pub calibration_weeks: Vec<f64>,
    ids: Vec<CustomerId>,
    columns: Vec<String>,
    /// Fills row i's values (one per column) from the per-customer states.
    fill_row: &'a (dyn Fn(usize, &mut Scratch, &mut [f64]) + Sync),
    /// Reads, changing nothing, what `fill_row(i)` reads first: the customer's state and
    /// the spend by category it points to. The customers' states were made in the order their
    /// first rows came, so in a log in time order each is a cache miss; read for a whole tile
    /// in one short loop, the misses overlap instead of stalling each row's fill in turn.
    warm_row: &'a (dyn Fn(usize) -> u64 + Sync),
}

impl FeatureRows<'_> {
    /// Customers (rows), in order of first appearance.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether the base has no customer.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The feature columns' names, in order.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// Every row's customer id.
    pub fn ids(&self) -> &[CustomerId] {
        &self.ids
    }

    /// Rows `rows` as a table, their values filled on all cores.
    pub fn table(&self, rows: std::ops::Range<usize>) -> FeatureTable {
        let values = self.values(rows.clone());
        let matrix = Array2::from_shape_vec((rows.len(), self.columns.len()), values)
            .expect("one value per row and column");
        FeatureTable::new(self.ids[rows].to_vec(), self.columns.clone(), matrix)
            .expect("distinct ids and columns, checked when the base was built")
    }

    /// Rows `rows`'s values, filled on all cores, stored for reading a column at a time (see
    /// [`ColumnTiles`]).
    pub fn column_tiles(&self, rows: std::ops::Range<usize>) -> ColumnTiles {
        let width = self.columns.len();
        let mut values = vec![f64::NAN; rows.len() * width];
        if width > 0 {
            values
                .par_chunks_mut(TILE_ROWS * width)
                .enumerate()
                .for_each_init(
                    || (Scratch::default(), vec![f64::NAN; width]),
                    |(scratch, row), (t, tile)| {
                        let tile_rows = tile.len() / width;
                        let first = rows.start + t * TILE_ROWS;
                        let sink = (first..first + tile_rows)
                            .fold(0u64, |sink, i| sink ^ (self.warm_row)(i));
                        std::hint::black_box(sink);
                        for r in 0..tile_rows {
                            row.fill(f64::NAN);
                            (self.fill_row)(first + r, scratch, row);
                            for (j, value) in row.iter().enumerate() {
                                tile[j * tile_rows + r] = *value;
                            }
                        }
                    },
                );
        }
        ColumnTiles { width, values }
    }

    fn values(&self, rows: std::ops::Range<usize>) -> Vec<f64> {
        let width = self.columns.len();
        let mut values = vec![f64::NAN; rows.len() * width];
        if width > 0 {
            values
                .par_chunks_mut(width)
                .zip(rows)
                .for_each_init(Scratch::default, |scratch, (row, i)| {
                    (self.fill_row)(i, scratch, row)
                });
        }
        values
    }

    /// Every row filled in: the whole table with what was learnt reading it.
    pub fn into_extraction(self) -> Extraction {
        let values = self.values(0..self.ids.len());
        let matrix = Array2::from_shape_vec((self.ids.len(), self.columns.len()), values)
            .expect("one value per row and column");
        let table = FeatureTable::new(self.ids, self.columns, matrix)
            .expect("distinct ids and columns, checked when the base was built");
        Extraction {
            table,
            schema: self.schema,
            inputs: self.inputs,
            as_of: self.as_of,
            holdout_weeks: self.holdout_weeks,
            calibration_weeks: self.calibration_weeks,
        }
    }

    /// The rows with every customer id replaced by its pseudonym under `key`, and the key's
    /// fingerprint recorded in the schema (as [`Extraction::pseudonymized`]).
    pub fn pseudonymized(mut self, key: &lookalike_core::Pseudonymizer) -> Self {
        self.ids = self
            .ids
            .par_iter()
            .map(|id| CustomerId::from(key.pseudonym(id.as_str())))
            .collect();
        self.schema
            .provenance
            .insert("pseudonymized".into(), key.record());
        self
    }
}

/// Whole-base label weights of a transaction log (see [`LabelTotals`]): what each part of a
/// base split over workers reports, so that the parts' totals, merged, choose the
/// [`Vocabulary`](crate::Vocabulary) one extraction over the whole base would choose. Reads the
/// transactions only; `params` must give the as-of date, as every part must use the same one.
pub fn label_totals(
    inputs: &FeatureInputs,
    params: &FeatureParams,
    progress: &dyn Progress,
) -> Result<LabelTotals, FeatureError> {
    params.validate()?;
    if params.as_of.is_none() {
        return Err(FeatureError::InvalidOptions(
            "label totals of a part of a base need the as-of date: pass it, as every part must use the same".into(),
        ));
    }
    let dictionaries = TxDictionaries::new(params);
    let read = read_transactions(inputs, params, &dictionaries, progress)?;
    Ok(label_totals_of(&read.tx, &dictionaries))
}

/// What the encoding of each attribute column needs from a customers file (or table), or from
/// its customers in `params`' partition ([`FeatureParams::only_customers_in`]): the parts of
/// a base split over workers each summarise theirs, and the merged summaries
/// ([`merge_attribute_summaries`](crate::merge_attribute_summaries)) give the whole table's
/// encoding, the [`Vocabulary`](crate::Vocabulary)'s `attributes`. The file is read and
/// checked as [`extract`] reads it.
pub fn attribute_summaries(
    customers: &InputFile,
    mapping: &ColumnMapping,
    params: &FeatureParams,
) -> Result<Vec<(String, AttributeSummary)>, FeatureError> {
    params.validate()?;
    let file = read_customers(customers, mapping, params.on_bad_row, &params.customers_in)?;
    Ok(file.attribute_summaries())
}

fn scan_options(params: &FeatureParams) -> ScanOptions {
    ScanOptions {
        on_bad_row: params.on_bad_row,
        threads: params.threads,
        skip_guests: params.missing_customer == MissingCustomer::Skip,
    }
}

/// The labels of the transaction log, shared by the reader threads.
struct TxDictionaries {
    categories: Dictionary,
    channels: Dictionary,
    line_attributes: Vec<Dictionary>,
}

impl TxDictionaries {
    fn new(params: &FeatureParams) -> Self {
        TxDictionaries {
            categories: Dictionary::default(),
            channels: Dictionary::default(),
            line_attributes: params
                .line_attributes
                .iter()
                .map(|_| Dictionary::default())
                .collect(),
        }
    }
}

/// The transaction log read: every worker's customers in one handler, entries settled.
struct ReadTransactions<'a> {
    tx: TxHandler<'a>,
    report: InputReport,
    has_quantity: bool,
    window: Window,
    /// Given, or the day after the last transaction.
    as_of: i32,
}

fn read_transactions<'a>(
    inputs: &FeatureInputs,
    params: &'a FeatureParams,
    dictionaries: &'a TxDictionaries,
    progress: &dyn Progress,
) -> Result<ReadTransactions<'a>, FeatureError> {
    let window = Window {
        as_of: params.as_of.map(day_number),
        holdout_end: params.holdout_end.map(day_number),
    };
    let TransactionFields {
        fields,
        amount_source,
        has_quantity,
    } = transaction_fields(
        &inputs.transactions,
        &inputs.mapping,
        &params.line_attributes,
    )?;
    let reading = TxReading {
        has_quantity,
        amount_source,
        date_format: params.date_format.as_deref(),
        attributes: &dictionaries.line_attributes,
    };
    let scanned = scan(
        &inputs.transactions,
        &fields,
        scan_options(params),
        progress,
        || {
            TxHandler::new(
                window,
                reading,
                &dictionaries.categories,
                &dictionaries.channels,
                &params.customers_in,
            )
        },
    )?;
    let mut handlers = scanned.handlers.into_iter();
    let mut tx = handlers.next().expect("at least one worker");
    for other in handlers {
        tx.absorb(other);
    }
    // Only events and a customers file join through the index's tables.
    if inputs.events.is_none() && inputs.customers.is_none() {
        tx.slots.index.keep_only_ids();
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
    tx.settle_entries();
    let report = InputReport {
        kind: InputKind::Transactions,
        rows: scanned.rows,
        skipped: scanned.skipped,
        skip_examples: scanned.skip_examples,
        after_as_of: tx.after_as_of,
        ignored_after_window: tx.after_holdout,
        guest_lines: scanned.guest_lines,
    };
    Ok(ReadTransactions {
        tx,
        report,
        has_quantity,
        window,
        as_of,
    })
}

/// Purchase value per category and orders per channel over the calibration period, summed on
/// all cores (a pass over every customer and entry, between the scan and the writing).
fn label_totals_of(tx: &TxHandler<'_>, dictionaries: &TxDictionaries) -> LabelTotals {
    let category_labels = dictionaries.categories.labels();
    let channel_labels = dictionaries.channels.labels();
    let zeros = || {
        (
            vec![0i128; category_labels.len()],
            vec![0i128; channel_labels.len()],
        )
    };
    let (category_totals, channel_orders) = tx
        .slots
        .customers
        .par_iter()
        .fold(zeros, |(mut categories, mut channels), customer| {
            for (label, paid) in customer.category_paid.iter() {
                categories[label as usize] += paid as i128;
            }
            for entry in tx
                .entries_of(customer)
                .iter()
                .filter(|e| e.is_purchase() && is_label(e.channel()))
            {
                channels[entry.channel() as usize] += 1;
            }
            (categories, channels)
        })
        .reduce(zeros, |(mut a, mut b), (c, d)| {
            a.iter_mut().zip(c).for_each(|(x, y)| *x += y);
            b.iter_mut().zip(d).for_each(|(x, y)| *x += y);
            (a, b)
        });
    LabelTotals {
        categories: category_labels.into_iter().zip(category_totals).collect(),
        channels: channel_labels.into_iter().zip(channel_orders).collect(),
    }
}

/// The table of `values` (row-major, one row per id, one column per spec) and its schema.
pub(crate) fn table_and_schema(
    ids: Vec<CustomerId>,
    specs: Vec<FeatureSpec>,
    values: Vec<f64>,
    as_of: i32,
    params: &FeatureParams,
) -> Result<(FeatureTable, FeatureSchema), FeatureError> {
    let names: Vec<String> = specs.iter().map(|s| s.name.clone()).collect();
    let shape = (ids.len(), names.len());
    let matrix = Array2::from_shape_vec(shape, values).expect("one value per row and column");
    let table = FeatureTable::new(ids, names, matrix)?;
    let schema = feature_schema(specs, table.len(), as_of, params);
    Ok((table, schema))
}

/// The schema of `customers` rows of `specs`, with the provenance every feature table
/// carries: dates, time unit, customer count, tool version.
fn feature_schema(
    specs: Vec<FeatureSpec>,
    customers: usize,
    as_of: i32,
    params: &FeatureParams,
) -> FeatureSchema {
    let mut schema = FeatureSchema::new(specs);
    let provenance = &mut schema.provenance;
    provenance.insert("as_of".into(), date_of_day(as_of).to_string().into());
    provenance.insert(
        "last_included_day".into(),
        date_of_day(as_of - 1).to_string().into(),
    );
    if let Some(h) = params.holdout_end {
        provenance.insert("holdout_end".into(), h.to_string().into());
    }
    provenance.insert("time_unit".into(), params.time_unit.name().into());
    provenance.insert("customers".into(), customers.into());
    provenance.insert("tool_version".into(), env!("CARGO_PKG_VERSION").into());
    schema
}

/// Where a customer of the base is in each input's state: their transaction and event state
/// and their row of the customers file. 12 bytes, as one lives per customer through the fill.
struct Member {
    tx: Place,
    events: Place,
    attributes: Place,
}

impl Member {
    /// A customer found in the transactions, at state `slot`.
    fn of_tx(slot: u32) -> Self {
        Member {
            tx: Place::at(slot),
            events: Place::NONE,
            attributes: Place::NONE,
        }
    }
}

/// The index of a member of the base, as a [`Place`] holds it.
fn base_index(at: usize) -> u32 {
    u32::try_from(at).expect("fewer than 2^32 customers in a base")
}

/// An index into one input's states or rows, or none; held plus one, so that "none" costs
/// no flag beside it.
#[derive(Clone, Copy)]
struct Place(Option<std::num::NonZeroU32>);

impl Place {
    const NONE: Place = Place(None);

    fn at(index: u32) -> Self {
        let stored = std::num::NonZeroU32::new(index.wrapping_add(1));
        Place(Some(
            stored.expect("fewer than 2^32 - 1 customers per input"),
        ))
    }

    fn of(index: Option<u32>) -> Self {
        index.map_or(Place::NONE, Place::at)
    }

    fn get(self) -> Option<u32> {
        self.0.map(|n| n.get() - 1)
    }
}

/// Each transaction customer's line attributes: per attribute, the value on most of the
/// customer's calibration lines (ties: the smallest value, so that line order does not matter).
fn line_attribute_values(
    customers: &SlotVec<CustomerTx>,
    names: &[String],
    dictionaries: &[Dictionary],
) -> CustomerFile {
    let columns = names
        .iter()
        .zip(dictionaries)
        .enumerate()
        .map(|(k, (name, dictionary))| {
            let labels = dictionary.labels();
            let values = customers
                .iter()
                .map(|customer| {
                    customer
                        .attribute_lines()
                        .iter()
                        .filter(|(attribute, _, _)| *attribute as usize == k)
                        .map(|(_, label, lines)| (*lines, labels[*label as usize].as_str()))
                        .max_by(|a, b| a.0.cmp(&b.0).then_with(|| b.1.cmp(a.1)))
                        .map(|(_, value)| value.to_string())
                })
                .collect();
            (name.clone(), values)
        })
        .collect();
    CustomerFile::from_line_attributes(columns)
}
