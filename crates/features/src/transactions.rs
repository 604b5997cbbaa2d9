//! Streaming aggregation of transaction lines into per-customer state.
//!
//! A customer's state holds one entry per (day, order), not per line, plus integer running
//! totals, so memory grows with customers and their orders, never with line items. Amounts are
//! fixed-point integers: totals are exact, and merging the states that different threads built
//! gives the same result in any order.

use std::hash::BuildHasher;

use lookalike_core::{ColumnMapping, IdPartition, InputKind};

use rayon::prelude::*;

use crate::FeatureError;
use crate::category_spend::CategorySpend;
use crate::cell::{self, Cell, CellResult, DayCache};
use crate::chunked_log::ChunkedLog;
use crate::customer_slots::{CustomerSlots, CustomerState, MovedSlots, customer_id};
use crate::dictionary::{Dictionary, LabelCache, LabelId};
use crate::grouped_entries::{Grouped, GroupedEntries};
use crate::input::{FieldRequest, InputFile};
use crate::scan::{RowHandler, RowProblem};

/// Field slots of a transactions row, in `InputKind::Transactions.fields()` order.
pub(crate) mod slot {
    pub const CUSTOMER: usize = 0;
    pub const TIMESTAMP: usize = 1;
    pub const AMOUNT: usize = 2;
    pub const ORDER: usize = 3;
    pub const QUANTITY: usize = 4;
    pub const CATEGORY: usize = 5;
    pub const CHANNEL: usize = 6;
    pub const UNIT_PRICE: usize = 7;
    /// Line attributes (`--attribute`) follow the canonical fields.
    pub const FIRST_ATTRIBUTE: usize = 8;
}

/// Where a line's amount comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AmountSource {
    /// An `amount` column: the line's value, negative for refunds.
    Amount,
    /// `quantity` × `unit_price`, the sign taken from the quantity (cancellations are refunds).
    UnitPrice,
}

/// How a transaction log's columns are read, from its mapping and header.
pub(crate) struct TransactionFields {
    /// The fields to scan.
    pub fields: Vec<FieldRequest>,
    /// Where each line's amount comes from.
    pub amount_source: AmountSource,
    /// Whether the log has a quantity column.
    pub has_quantity: bool,
}

/// The fields to read from a transaction log: the canonical ones (with `amount` or `unit_price`
/// required, as the mapping and header say) and one per line attribute. Mapping both `amount`
/// and `unit_price`, or `unit_price` without a quantity, is an error naming both.
pub(crate) fn transaction_fields(
    input: &InputFile,
    mapping: &ColumnMapping,
    line_attributes: &[String],
) -> Result<TransactionFields, FeatureError> {
    let kind = InputKind::Transactions;
    let mut fields = FieldRequest::for_kind(kind, mapping, 2);
    let header = input.column_names()?;
    let has = |field: &str| header.iter().any(|h| h == mapping.source(kind, field));
    let explicit = |field: &str| mapping.is_explicit(kind, field);
    let invalid = |message: String| FeatureError::InvalidOptions(message);
    let source = match (explicit("amount"), explicit("unit_price")) {
        (true, true) => {
            return Err(invalid(format!(
                "{}: map either amount (the line's value) or unit_price (× quantity), not both",
                input.path.display()
            )));
        }
        (false, true) => AmountSource::UnitPrice,
        (true, false) => AmountSource::Amount,
        (false, false) if !has("amount") && has("unit_price") => AmountSource::UnitPrice,
        (false, false) => AmountSource::Amount,
    };
    match source {
        AmountSource::Amount => {
            fields[slot::AMOUNT].required = true;
            fields[slot::UNIT_PRICE].required = false;
            // Not read: a unit price beside an amount would be a second source of truth.
            fields[slot::UNIT_PRICE].column.clear();
        }
        AmountSource::UnitPrice => {
            if !has("quantity") {
                return Err(invalid(format!(
                    "{}: unit_price ({:?}) needs quantity: a line's amount is quantity × unit_price; map --column quantity=COLUMN (no column {:?} in the file)",
                    input.path.display(),
                    mapping.source(kind, "unit_price"),
                    mapping.source(kind, "quantity")
                )));
            }
            fields[slot::UNIT_PRICE].required = true;
            fields[slot::QUANTITY].required = true;
            fields[slot::AMOUNT].required = false;
            fields[slot::AMOUNT].column.clear();
        }
    }
    for column in line_attributes {
        if !header.iter().any(|h| h == column) {
            return Err(FeatureError::MissingColumn {
                kind,
                path: input.path.clone(),
                field: "attribute".into(),
                column: column.clone(),
                found: header
                    .iter()
                    .map(|h| format!("{h:?}"))
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        fields.push(FieldRequest {
            field: "attribute",
            column: column.clone(),
            required: true,
        });
    }
    Ok(TransactionFields {
        fields,
        amount_source: source,
        has_quantity: has("quantity"),
    })
}

/// The amount of a line (fixed point): its `amount`, or `quantity` × `unit_price` with the sign
/// of the quantity.
pub(crate) fn line_amount(cells: &[Cell<'_>], source: AmountSource) -> Result<i64, RowProblem> {
    use slot::*;
    match source {
        AmountSource::Amount => cell::amount_units(cells[AMOUNT])
            .map_err(|reason| RowProblem::field(AMOUNT, cells[AMOUNT], reason)),
        AmountSource::UnitPrice => {
            let quantity = quantity_units(cells[QUANTITY])?;
            let price = cell::amount_units(cells[UNIT_PRICE])
                .map_err(|reason| RowProblem::field(UNIT_PRICE, cells[UNIT_PRICE], reason))?;
            if price < 0 {
                return Err(RowProblem::field(
                    UNIT_PRICE,
                    cells[UNIT_PRICE],
                    "is negative; a unit price must be ≥ 0 (the sign of a line comes from its quantity)"
                        .into(),
                ));
            }
            // Both in units of 1/AMOUNT_SCALE: the product is in units², rescaled once.
            let units = (quantity as i128 * price as i128) as f64 / cell::AMOUNT_SCALE;
            if units.abs() > cell::MAX_ABS_AMOUNT * cell::AMOUNT_SCALE {
                return Err(RowProblem::field(
                    QUANTITY,
                    cells[QUANTITY],
                    format!(
                        "× unit price is out of range (|amount| must be at most {:e})",
                        cell::MAX_ABS_AMOUNT
                    ),
                ));
            }
            Ok(cell::round_to_i64(units))
        }
    }
}

/// A line's quantity (fixed point), named as a quantity in errors.
fn quantity_units(cell: Cell<'_>) -> Result<i64, RowProblem> {
    cell::amount_units(cell).map_err(|r| {
        RowProblem::field(
            slot::QUANTITY,
            cell,
            r.replace("an amount", "a quantity")
                .replace("|amount|", "|quantity|"),
        )
    })
}

const NO_LABEL: LabelId = LabelId::MAX;

/// One order on one day of one customer, with what was paid for it; or, marked as a refund
/// entry, what was refunded of it (fixed point). 28 bytes: there are several per customer,
/// 47.6M at 10M customers, the largest thing a run holds. Packed to 4-byte alignment, so the
/// 64-bit fields do not round the entry up to 32 (1.52 GB at 10M, 1.33 packed); fields are
/// read by value, never by reference. Refund lines are few (2% of the generator's lines), so
/// they get entries of their own instead of every entry carrying a refunded amount.
#[derive(Debug, Clone, Copy, PartialEq)]
#[repr(C, packed(4))]
pub(crate) struct OrderEntry {
    pub order: u64,
    /// Paid, or for a refund entry refunded; never negative.
    amount: i64,
    pub day: i32,
    /// The channel label in the low 30 bits ([`CHANNEL_BITS`] all set: none); the top bit
    /// says whether at least one line had an amount ≥ 0 (a purchase, not only a refund), the
    /// next whether this is a refund entry.
    flags: u32,
    /// The customer's slot in the worker that logged the entry, then in the merged slots. It
    /// fills what would be padding: the log and the settled table share one entry type, so
    /// the table is built in the log's own chunks (see [`crate::grouped_entries`]).
    customer: u32,
}

const PURCHASE_BIT: u32 = 1 << 31;
const REFUND_BIT: u32 = 1 << 30;
const CHANNEL_BITS: u32 = REFUND_BIT - 1;

impl OrderEntry {
    /// The order entry of one line of `customer`, in a channel (or `NO_LABEL`): what it paid
    /// when `amount` ≥ 0; a refund line (`amount` < 0) gives an entry that pays nothing but
    /// keeps the order and its channel, and its amount goes to [`OrderEntry::refund`].
    fn new(customer: u32, day: i32, order: u64, channel: LabelId, amount: i64) -> Self {
        let channel = if channel == NO_LABEL {
            CHANNEL_BITS
        } else {
            assert!(channel < CHANNEL_BITS, "fewer than 2^30 - 1 channels");
            channel
        };
        OrderEntry {
            order,
            amount: amount.max(0),
            day,
            flags: channel | if amount >= 0 { PURCHASE_BIT } else { 0 },
            customer,
        }
    }

    /// A refund entry: `refunded` (> 0) of `customer`'s order on `day`.
    fn refund(customer: u32, day: i32, order: u64, refunded: i64) -> Self {
        OrderEntry {
            order,
            amount: refunded,
            day,
            flags: REFUND_BIT | CHANNEL_BITS,
            customer,
        }
    }

    /// What was paid (0 for a refund entry).
    pub fn paid(&self) -> i64 {
        if self.is_refund() { 0 } else { self.amount }
    }

    /// What was refunded (0 for an order entry).
    pub fn refunded(&self) -> i64 {
        if self.is_refund() { self.amount } else { 0 }
    }

    fn is_refund(&self) -> bool {
        self.flags & REFUND_BIT != 0
    }

    /// The order's channel label, or `NO_LABEL`.
    pub fn channel(&self) -> LabelId {
        match self.flags & CHANNEL_BITS {
            CHANNEL_BITS => NO_LABEL,
            channel => channel,
        }
    }

    /// Whether a line of the order was bought, not refunded.
    pub fn is_purchase(&self) -> bool {
        self.flags & PURCHASE_BIT != 0
    }

    /// Whether `other` adds up with this entry: the same order of the same day, both order
    /// entries or both refund entries.
    fn same_as(&self, other: &OrderEntry) -> bool {
        self.day == other.day && self.order == other.order && self.is_refund() == other.is_refund()
    }

    /// Adds another line (or entry) of the same kind of the same order; the first channel
    /// given is kept.
    fn add(&mut self, other: &OrderEntry) {
        debug_assert!(self.same_as(other));
        self.amount += other.amount;
        let kept = self.flags & (PURCHASE_BIT | REFUND_BIT);
        let purchase = other.flags & PURCHASE_BIT;
        let channel = match self.flags & CHANNEL_BITS {
            CHANNEL_BITS => other.flags & CHANNEL_BITS,
            mine => mine,
        };
        self.flags = channel | kept | purchase;
    }
}

/// Where a customer's order entries are in the handler's settled entry table.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct EntrySpan {
    start: u32,
    len: u32,
}

/// Where a customer's order entries are: during the scan, the latest one in the worker's log
/// (so that the lines of one order add up in one entry); once settled, all of them in the
/// table [`TxHandler::settle_entries`] builds.
#[derive(Debug, Clone, Copy)]
enum EntryPlace {
    /// `at`: 1 + the index in the log (0: no entry yet); `day`: the entry's day. A line of
    /// another day starts a new entry without reading the old one, which in a log in time
    /// order is far back in the log (a cache miss on a quarter of the scan's time in `perf`).
    Latest {
        at: u32,
        day: i32,
    },
    Settled(EntrySpan),
}

impl Default for EntryPlace {
    fn default() -> Self {
        EntryPlace::Latest { at: 0, day: 0 }
    }
}

/// What one customer did, as gathered so far.
///
/// Kept small (64 bytes): a million of these live at once, and in a log in time order every
/// line lands on a different one. What most runs never fill is boxed apart in [`RareTx`].
/// Aligned to a cache line, so that a line's state is one cache miss, not two, and reading
/// any of it ahead ([`CustomerState::touch`]) brings in all of it.
#[derive(Debug, Clone, Default)]
#[repr(align(64))]
pub(crate) struct CustomerTx {
    /// Ordering key of the customer's first row in the file.
    pub first_seen: u64,
    /// Calibration entries (before as-of).
    entries: EntryPlace,
    /// Calibration refund lines.
    pub refund_lines: u32,
    /// Calibration units bought (fixed point), when the file has a quantity column.
    pub units: i64,
    /// Calibration purchase spend per category.
    pub category_paid: CategorySpend,
    /// Holdout purchases and line attributes, when there are any.
    rare: Option<Box<RareTx>>,
}

/// The parts of a customer's state that only some runs fill (a holdout window, line
/// attributes): boxed, so that they cost one pointer when empty.
#[derive(Debug, Clone, Default)]
struct RareTx {
    /// Holdout purchase days (as-of ≤ day < holdout end): (day, paid).
    holdout: Vec<(i32, i64)>,
    /// Line attributes: (attribute, label, lines) over the calibration lines.
    attribute_lines: Vec<(u8, LabelId, u32)>,
}

impl CustomerState for CustomerTx {
    fn first_seen_at(first_seen: u64) -> Self {
        CustomerTx {
            first_seen,
            ..Default::default()
        }
    }

    fn touch(&self) -> u64 {
        self.category_paid.first_word()
    }

    fn touch_state(&self) -> u64 {
        self.first_seen
    }

    fn seen_at(&mut self, order_key: u64) {
        self.first_seen = self.first_seen.min(order_key);
    }

    fn merge(&mut self, other: CustomerTx) {
        // Entries are still in the workers' logs: `TxHandler::absorb` moves them.
        debug_assert!(matches!(
            (self.entries, other.entries),
            (EntryPlace::Latest { .. }, EntryPlace::Latest { .. })
        ));
        self.first_seen = self.first_seen.min(other.first_seen);
        for (category, paid) in other.category_paid.iter() {
            self.category_paid.add(category, paid);
        }
        self.refund_lines += other.refund_lines;
        self.units += other.units;
        if let Some(other) = other.rare {
            let rare = self.rare_mut();
            rare.holdout.extend(other.holdout);
            for (attribute, label, lines) in other.attribute_lines {
                count_attribute(&mut rare.attribute_lines, attribute, label, lines);
            }
        }
    }
}

fn count_attribute(
    counts: &mut Vec<(u8, LabelId, u32)>,
    attribute: u8,
    label: LabelId,
    lines: u32,
) {
    match counts
        .iter_mut()
        .find(|(a, l, _)| *a == attribute && *l == label)
    {
        Some(entry) => entry.2 += lines,
        None => counts.push((attribute, label, lines)),
    }
}

impl CustomerTx {
    fn rare_mut(&mut self) -> &mut RareTx {
        self.rare.get_or_insert_with(Box::default)
    }

    /// Holdout purchases: (day, paid), by day once settled.
    pub fn holdout(&self) -> &[(i32, i64)] {
        self.rare.as_ref().map_or(&[], |r| &r.holdout)
    }

    /// Line attribute counts: (attribute, label, lines).
    pub fn attribute_lines(&self) -> &[(u8, LabelId, u32)] {
        self.rare.as_ref().map_or(&[], |r| &r.attribute_lines)
    }

    /// Sorts this customer's `entries` by (day, order), an order's refund entry after its
    /// order entry, merging entries of the same order that arrived apart, and keeps the
    /// merged count.
    fn compact(&mut self, entries: &mut [OrderEntry]) {
        let key = |e: &OrderEntry| (e.day, e.order, e.is_refund());
        // A log in time order leaves most customers' entries in order already.
        if !entries.is_sorted_by_key(key) {
            entries.sort_unstable_by_key(key);
        }
        let mut kept = 0usize;
        for i in 0..entries.len() {
            let later = entries[i];
            match kept.checked_sub(1).map(|k| &mut entries[k]) {
                Some(last) if last.same_as(&later) => {
                    last.add(&later);
                }
                _ => {
                    entries[kept] = later;
                    kept += 1;
                }
            }
        }
        if let EntryPlace::Settled(span) = &mut self.entries {
            span.len = kept as u32;
        }
        if let Some(rare) = &mut self.rare {
            rare.holdout.sort_unstable();
        }
        self.category_paid.sort();
    }

    pub fn has_calibration_rows(&self) -> bool {
        self.span().len > 0
    }

    /// Where the entries are in the settled table (none before it is settled).
    fn span(&self) -> EntrySpan {
        match self.entries {
            EntryPlace::Settled(span) => span,
            EntryPlace::Latest { .. } => EntrySpan::default(),
        }
    }
}

/// The calibration and holdout windows, as day numbers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window {
    /// First day not in calibration; `None` = every row is calibration (as-of is found after
    /// the scan, as the day after the last timestamp).
    pub as_of: Option<i32>,
    /// First day not in the holdout.
    pub holdout_end: Option<i32>,
}

/// Customers whose entries are sorted and merged at a time (few in unit tests, so that
/// they cross batches).
const COMPACT_BATCH: usize = if cfg!(test) { 2 } else { 1 << 20 };

/// Per-thread aggregation of transaction lines.
pub(crate) struct TxHandler<'a> {
    window: Window,
    has_quantity: bool,
    amount_source: AmountSource,
    /// One dictionary per line attribute, shared by the workers.
    attributes: &'a [Dictionary],
    attribute_caches: Vec<LabelCache>,
    categories: &'a Dictionary,
    channels: &'a Dictionary,
    category_cache: LabelCache,
    channel_cache: LabelCache,
    pub slots: CustomerSlots<CustomerTx>,
    /// Every calibration entry of this worker's customers as it was made. One log instead of
    /// a growing vector per customer: in a log in time order, customers' lines interleave,
    /// and a million vectors growing a push at a time spent most of the scan in the
    /// allocator.
    entry_log: ChunkedLog<OrderEntry>,
    /// The entry logs of the workers absorbed, as they were (their slots renumbered when
    /// settled): moving a log instead of copying it saves writing hundreds of megabytes.
    absorbed_logs: Vec<(ChunkedLog<OrderEntry>, MovedSlots)>,
    /// Once settled: every customer's entries, together, by (day, order).
    entries: GroupedEntries<OrderEntry>,
    /// Line items of an order are usually adjacent: the last date is remembered.
    days: DayCache,
    order_hasher: foldhash::fast::FixedState,
    scratch: String,
    pub min_day: i32,
    pub max_day: i32,
    pub after_as_of: u64,
    pub after_holdout: u64,
}

/// A validated row, ready to apply.
struct TxRow {
    day: i32,
    amount: i64,
    order: u64,
    units: i64,
    category: LabelId,
    channel: LabelId,
}

/// How a transaction log is read, beyond its windows: shared by every worker.
#[derive(Clone, Copy)]
pub(crate) struct TxReading<'a> {
    pub has_quantity: bool,
    pub amount_source: AmountSource,
    pub date_format: Option<&'a str>,
    pub attributes: &'a [Dictionary],
}

impl<'a> TxHandler<'a> {
    pub fn new(
        window: Window,
        reading: TxReading<'a>,
        categories: &'a Dictionary,
        channels: &'a Dictionary,
        keep: &[IdPartition],
    ) -> Self {
        TxHandler {
            window,
            has_quantity: reading.has_quantity,
            amount_source: reading.amount_source,
            attributes: reading.attributes,
            attribute_caches: (0..reading.attributes.len())
                .map(|_| LabelCache::default())
                .collect(),
            categories,
            channels,
            category_cache: LabelCache::default(),
            channel_cache: LabelCache::default(),
            slots: CustomerSlots::keeping(keep),
            entry_log: ChunkedLog::default(),
            absorbed_logs: Vec::new(),
            entries: GroupedEntries::default(),
            days: DayCache::with_format(reading.date_format),
            order_hasher: foldhash::fast::FixedState::with_seed(0x10_0C_A1_1C),
            scratch: String::new(),
            min_day: i32::MAX,
            max_day: i32::MIN,
            after_as_of: 0,
            after_holdout: 0,
        }
    }

    fn label(&mut self, cell: Cell<'_>, is_category: bool) -> CellResult<LabelId> {
        if let Cell::Label(_, id) = cell {
            // Resolved for this field by `label_ids`, once per batch.
            return Ok(id);
        }
        let text = cell::text(cell, &mut self.scratch)?;
        if text.is_empty() {
            return Ok(NO_LABEL);
        }
        Ok(if is_category {
            self.category_cache.id(self.categories, text)
        } else {
            self.channel_cache.id(self.channels, text)
        })
    }

    fn parse(&mut self, cells: &[Cell<'_>]) -> Result<TxRow, RowProblem> {
        use slot::*;
        let fail = |slot: usize| move |reason: String| RowProblem::field(slot, cells[slot], reason);
        let day = self.days.day(cells[TIMESTAMP]).map_err(fail(TIMESTAMP))?;
        let amount = line_amount(cells, self.amount_source)?;
        let order = if cells[ORDER].is_blank() {
            0
        } else {
            let text = cell::text(cells[ORDER], &mut self.scratch).map_err(fail(ORDER))?;
            self.order_hasher.hash_one(text) | 1
        };
        let units = if !self.has_quantity || cells[QUANTITY].is_blank() {
            0
        } else {
            quantity_units(cells[QUANTITY])?
        };
        // A returned quantity with a positive amount: the amount is not the line's value (a
        // unit price mapped as the amount would count every cancellation as a purchase).
        if units < 0 && amount > 0 {
            return Err(RowProblem::field(
                QUANTITY,
                cells[QUANTITY],
                "is negative but the line's amount is positive; if the amount column is a unit price, map it as unit_price (the amount is then quantity × unit_price)".into(),
            ));
        }
        let category = self.label(cells[CATEGORY], true).map_err(fail(CATEGORY))?;
        let channel = self.label(cells[CHANNEL], false).map_err(fail(CHANNEL))?;
        Ok(TxRow {
            day,
            amount,
            order,
            units,
            category,
            channel,
        })
    }

    /// Folds another thread's state into this one. Insertion order does not matter: the
    /// output is ordered by each customer's first-seen key.
    pub fn absorb(&mut self, other: TxHandler<'_>) {
        let moved = self.slots.absorb(other.slots);
        // A handler that absorbed others itself (not done today) has its logs renumbered
        // twice, into this one's own log.
        for (log, theirs) in other.absorbed_logs {
            for mut entry in log.into_entries() {
                entry.customer = moved.of(theirs.of(entry.customer));
                self.entry_log.push(entry);
            }
        }
        self.absorbed_logs.push((other.entry_log, moved));
        self.min_day = self.min_day.min(other.min_day);
        self.max_day = self.max_day.max(other.max_day);
        self.after_as_of += other.after_as_of;
        self.after_holdout += other.after_holdout;
    }

    /// Groups the entry logs by customer ([`GroupedEntries`], built in the logs' own chunks
    /// so that the logs and the table are not held at once), and sorts and merges each
    /// customer's entries. One table, not a vector per customer: a million small allocations
    /// are not made. Call once the workers are merged.
    pub fn settle_entries(&mut self) {
        let customers = &mut self.slots.customers;
        // This worker's own log, its slots as they are, then the absorbed workers' logs, every
        // entry renumbered to the merged slots.
        let own = (std::mem::take(&mut self.entry_log), MovedSlots::After(0));
        let (logs, moves): (Vec<ChunkedLog<OrderEntry>>, Vec<MovedSlots>) = std::iter::once(own)
            .chain(std::mem::take(&mut self.absorbed_logs))
            .unzip();
        let filler = OrderEntry::new(0, 0, 0, NO_LABEL, 0);
        let Grouped {
            mut table,
            starts,
            counts,
        } = GroupedEntries::group(
            logs,
            customers.len(),
            |log, entry: &mut OrderEntry| entry.customer = moves[log].of(entry.customer),
            |entry| entry.customer,
            filler,
        );
        for ((customer, start), len) in customers.iter_mut().zip(starts).zip(counts) {
            customer.entries = EntryPlace::Settled(EntrySpan { start, len });
        }
        // Each customer's entries sorted and merged, a million customers at a time: the
        // slices of every customer at once took 16 bytes a customer (130 MB at 10M) at the
        // run's peak.
        for part in customers.parts_mut() {
            for batch in part.chunks_mut(COMPACT_BATCH) {
                let slices = table.slices_mut(batch.iter().map(|c| {
                    let EntrySpan { start, len } = c.span();
                    (start, len)
                }));
                batch
                    .par_iter_mut()
                    .zip(slices)
                    .for_each(|(customer, entries)| customer.compact(entries));
            }
        }
        self.entries = table;
    }

    /// A customer's calibration entries, by (day, order), once settled.
    pub fn entries_of(&self, customer: &CustomerTx) -> &[OrderEntry] {
        let EntrySpan { start, len } = customer.span();
        self.entries.slice(start, len)
    }
}

impl RowHandler for TxHandler<'_> {
    fn route(&mut self, owner: usize, owners: usize) {
        self.slots.route(owner, owners);
    }

    fn label_ids(&mut self, field: usize, values: &[&str]) -> Option<Vec<LabelId>> {
        let is_category = match field {
            slot::CATEGORY => true,
            slot::CHANNEL => false,
            _ => return None,
        };
        values
            .iter()
            .map(|value| self.label(Cell::Str(value), is_category).ok())
            .collect()
    }

    fn warm(&self, ids: &[Cell<'_>], found: &mut [Option<u32>]) {
        self.slots.warm(ids, found);
    }

    fn row(
        &mut self,
        order_key: u64,
        cells: &[Cell<'_>],
        found: Option<u32>,
    ) -> Result<(), RowProblem> {
        let row = self.parse(cells)?;
        let in_calibration = self.window.as_of.is_none_or(|a| row.day < a);
        if !in_calibration {
            let in_holdout = self.window.holdout_end.is_some_and(|h| row.day < h);
            if !in_holdout {
                // Validated but outside every window: counted, not used.
                customer_id(cells[slot::CUSTOMER], &mut self.scratch)?;
                self.after_holdout += 1;
                return Ok(());
            }
        }
        let index =
            self.slots
                .slot_of(cells[slot::CUSTOMER], order_key, &mut self.scratch, found)?;
        // Every valid row counts towards the dates and counts, kept customer or not, so that
        // every part of a partitioned extraction finds the same as-of date.
        self.min_day = self.min_day.min(row.day);
        self.max_day = self.max_day.max(row.day);
        if !in_calibration {
            self.after_as_of += 1;
        }
        let Some(index) = index else {
            return Ok(());
        };
        let mut labels = [NO_LABEL; 8];
        for (k, dictionary) in self.attributes.iter().enumerate().take(labels.len()) {
            let cell = cells[slot::FIRST_ATTRIBUTE + k];
            let text = cell::text(cell, &mut self.scratch)
                .map_err(|r| RowProblem::field(slot::FIRST_ATTRIBUTE + k, cell, r))?;
            if !text.is_empty() {
                labels[k] = self.attribute_caches[k].id(dictionary, text);
            }
        }
        let state = &mut self.slots.customers[index as usize];
        if in_calibration {
            for (k, label) in labels.iter().enumerate().take(self.attributes.len()) {
                if *label != NO_LABEL {
                    count_attribute(&mut state.rare_mut().attribute_lines, k as u8, *label, 1);
                }
            }
        }
        if !in_calibration {
            if row.amount >= 0 {
                let holdout = &mut state.rare_mut().holdout;
                match holdout.last_mut() {
                    Some(last) if last.0 == row.day => last.1 += row.amount,
                    _ => holdout.push((row.day, row.amount)),
                }
            }
            return Ok(());
        }
        let entry = OrderEntry::new(index, row.day, row.order, row.channel, row.amount);
        let latest = match state.entries {
            EntryPlace::Latest { at, day } if at > 0 && day == row.day => {
                Some(self.entry_log.get_mut(at as usize - 1))
            }
            _ => None,
        };
        match latest {
            Some(last) if last.same_as(&entry) => last.add(&entry),
            _ => {
                let at = self.entry_log.push(entry);
                state.entries = EntryPlace::Latest {
                    at: u32::try_from(at + 1).expect("fewer than 2^32 entries per worker"),
                    day: row.day,
                };
            }
        }
        if row.amount >= 0 {
            if row.category != NO_LABEL {
                state.category_paid.add(row.category, row.amount);
            }
            state.units += row.units;
        } else {
            state.refund_lines += 1;
            // Refunds add up with their order's other refunds when the entries are settled;
            // the latest entry stays the order entry.
            let refund = OrderEntry::refund(index, row.day, row.order, -row.amount);
            self.entry_log.push(refund);
        }
        Ok(())
    }
}

/// Whether a label id is a real label.
pub(crate) fn is_label(id: LabelId) -> bool {
    id != NO_LABEL
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One customer's settled state, without where its entries sit in the table.
    fn settled_view(tx: &TxHandler<'_>, id: &str) -> String {
        let state = &tx.slots.customers[tx.slots.index.get(id).unwrap() as usize];
        format!(
            "{} {:?} {} {} {:?} {:?}",
            state.first_seen,
            tx.entries_of(state),
            state.refund_lines,
            state.units,
            state.category_paid.iter().collect::<Vec<_>>(),
            state.holdout()
        )
    }

    /// Workers that each hold some of one customer's lines (which the routing by id hash
    /// avoids, but the merge must not rely on) merge and settle to the same state as one worker with
    /// every line: the order split between them is one entry, categories and holdout add up.
    #[test]
    fn workers_holding_one_customer_settle_as_one() {
        let (categories, channels) = (Dictionary::default(), Dictionary::default());
        let window = Window {
            as_of: Some(100),
            holdout_end: Some(110),
        };
        let reading = TxReading {
            has_quantity: true,
            amount_source: AmountSource::Amount,
            date_format: None,
            attributes: &[],
        };
        let handler = || TxHandler::new(window, reading, &categories, &channels, &[]);
        // (customer, day, amount, order, category)
        let lines: [(&str, i32, f64, &str, &str); 9] = [
            ("A", 5, 10.0, "o1", "toys"),
            ("B", 6, 4.5, "o2", "books"),
            ("A", 5, 2.25, "o1", "books"),
            ("A", 9, -3.0, "o3", "toys"),
            ("C", 7, 8.0, "o4", "toys"),
            ("A", 9, 1.0, "o3", "toys"),
            ("A", 104, 6.0, "o5", "toys"),
            ("B", 2, 1.0, "o6", "books"),
            ("A", 1, 7.0, "o7", "garden"),
        ];
        let cells = |(id, day, amount, order, category): (
            &'static str,
            i32,
            f64,
            &'static str,
            &'static str,
        )| {
            [
                Cell::Text(id.as_bytes()),
                Cell::Day(day),
                Cell::Float(amount),
                Cell::Text(order.as_bytes()),
                Cell::Int(1),
                Cell::Text(category.as_bytes()),
                Cell::Text(b"web"),
                Cell::Null,
            ]
        };
        let mut alone = handler();
        let mut workers = [handler(), handler(), handler()];
        for (row, line) in lines.into_iter().enumerate() {
            alone.row(row as u64, &cells(line), None).unwrap();
            // Customer A's lines go round the three workers; the others stay on one each.
            let worker = if line.0 == "A" {
                row % 3
            } else {
                (line.0 == "C") as usize
            };
            workers[worker].row(row as u64, &cells(line), None).unwrap();
        }
        alone.settle_entries();
        let mut workers = workers.into_iter();
        let mut merged = workers.next().unwrap();
        for other in workers {
            merged.absorb(other);
        }
        merged.settle_entries();
        for id in ["A", "B", "C"] {
            assert_eq!(
                settled_view(&merged, id),
                settled_view(&alone, id),
                "customer {id}"
            );
        }
        let a = &alone.slots.customers[alone.slots.index.get("A").unwrap() as usize];
        let orders: Vec<(i32, i64, i64)> = alone
            .entries_of(a)
            .iter()
            .map(|e| (e.day, e.paid(), e.refunded()))
            .collect();
        // Order o3's refund line is an entry of its own, after the order's.
        assert_eq!(
            orders,
            [
                (1, 70_000, 0),
                (5, 122_500, 0),
                (9, 10_000, 0),
                (9, 0, 30_000)
            ]
        );
        assert_eq!(a.holdout(), [(104, 60_000)]);
    }

    /// A million of these are alive at once: growing one is a decision, not an accident.
    #[test]
    fn customer_state_stays_within_a_cache_line() {
        assert_eq!(std::mem::size_of::<CustomerTx>(), 64);
        assert_eq!(std::mem::size_of::<OrderEntry>(), 28);
    }

    #[test]
    fn lines_of_one_order_add_up_keeping_the_first_channel() {
        let mut entry = OrderEntry::new(0, 5, 9, NO_LABEL, -250);
        assert!(!entry.is_purchase() && entry.channel() == NO_LABEL);
        assert_eq!(
            (entry.paid(), entry.refunded()),
            (0, 0),
            "the refund is apart"
        );
        entry.add(&OrderEntry::new(0, 5, 9, 3, 1_000));
        entry.add(&OrderEntry::new(0, 5, 9, 4, 0));
        assert_eq!((entry.paid(), entry.refunded()), (1_000, 0));
        assert!(entry.is_purchase());
        assert_eq!(entry.channel(), 3);
        let largest = OrderEntry::new(0, 1, 1, CHANNEL_BITS - 1, 0);
        assert_eq!(largest.channel(), CHANNEL_BITS - 1);
        assert!(largest.is_purchase(), "an amount of 0 is a purchase line");
        let mut refund = OrderEntry::refund(0, 5, 9, 250);
        assert!(!refund.is_purchase() && refund.channel() == NO_LABEL);
        assert!(
            !refund.same_as(&entry),
            "refunds add up apart from the order"
        );
        refund.add(&OrderEntry::refund(0, 5, 9, 50));
        assert_eq!((refund.paid(), refund.refunded()), (0, 300));
    }

    /// An order's refund lines, adjacent to its purchase lines or not, are summed apart from
    /// them, and the order is counted once with the channel of its first line.
    #[test]
    fn refunds_settle_beside_their_order() {
        let categories = Dictionary::default();
        let channels = Dictionary::default();
        let reading = TxReading {
            has_quantity: false,
            amount_source: AmountSource::Amount,
            date_format: None,
            attributes: &[],
        };
        let window = Window {
            as_of: Some(1_000),
            holdout_end: None,
        };
        let mut tx = TxHandler::new(window, reading, &categories, &channels, &[]);
        let lines = [
            ("A", "O1", -5.0, "app"),
            ("A", "O1", 20.0, "web"),
            ("B", "O2", 7.0, "web"),
            ("A", "O1", -1.5, "web"),
            ("A", "O3", -2.0, "web"),
        ];
        for (key, (id, order, amount, channel)) in lines.into_iter().enumerate() {
            let cells = [
                Cell::Text(id.as_bytes()),
                Cell::Day(3),
                Cell::Float(amount),
                Cell::Text(order.as_bytes()),
                Cell::Null,
                Cell::Null,
                Cell::Text(channel.as_bytes()),
                Cell::Null,
            ];
            tx.row(key as u64, &cells, None).unwrap();
        }
        tx.settle_entries();
        let a = &tx.slots.customers[tx.slots.index.get("A").unwrap() as usize];
        let entries = tx.entries_of(a);
        let seen: Vec<(i64, i64, bool)> = entries
            .iter()
            .map(|e| (e.paid(), e.refunded(), e.is_purchase()))
            .collect();
        assert_eq!(seen.iter().map(|s| s.0).sum::<i64>(), 200_000);
        assert_eq!(seen.iter().map(|s| s.1).sum::<i64>(), 85_000);
        // O1: one order entry (paid 20, the app channel of its first line) and one refund
        // entry (6.5); O3: an order entry paying nothing and a refund entry (2).
        assert_eq!(entries.len(), 4);
        assert_eq!(entries.iter().filter(|e| e.is_purchase()).count(), 1);
        let purchase = entries.iter().find(|e| e.is_purchase()).unwrap();
        assert_eq!(channels.labels()[purchase.channel() as usize], "app");
        let mut refunds: Vec<i64> = entries
            .iter()
            .map(|e| e.refunded())
            .filter(|r| *r > 0)
            .collect();
        refunds.sort_unstable();
        assert_eq!(refunds, [20_000, 65_000]);
        assert_eq!(a.refund_lines, 3);
    }
}
