//! Streaming aggregation of transaction lines into per-customer state.
//!
//! A customer's state holds one entry per (day, order), not per line, plus integer running
//! totals, so memory grows with customers and their orders, never with line items. Amounts are
//! fixed-point integers: totals are exact, and merging the states that different threads built
//! gives the same result in any order.

use std::hash::BuildHasher;

use lookalike_core::IdPartition;

use crate::cell::{self, Cell, CellResult, DayCache};
use crate::customer_slots::{CustomerSlots, CustomerState, customer_id};
use crate::dictionary::{Dictionary, LabelCache, LabelId};
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
}

const NO_LABEL: LabelId = LabelId::MAX;

/// One order on one day: its paid and refunded amounts (fixed point).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct OrderEntry {
    pub day: i32,
    pub channel: LabelId,
    pub order: u64,
    pub paid: i64,
    pub refunded: i64,
    /// At least one line with amount ≥ 0: the entry is a purchase, not only a refund.
    pub is_purchase: bool,
}

/// What one customer did, as gathered so far.
#[derive(Debug, Clone, Default)]
pub(crate) struct CustomerTx {
    /// Ordering key of the customer's first row in the file.
    pub first_seen: u64,
    /// Calibration entries (before as-of).
    pub entries: Vec<OrderEntry>,
    /// Holdout purchase lines (as-of ≤ day < holdout end): (day, paid).
    pub holdout: Vec<(i32, i64)>,
    /// Calibration purchase spend per category.
    pub category_paid: Vec<(LabelId, i64)>,
    /// Calibration refund lines.
    pub refund_lines: u32,
    /// Calibration units bought (fixed point), when the file has a quantity column.
    pub units: i64,
}

impl CustomerState for CustomerTx {
    fn first_seen_at(first_seen: u64) -> Self {
        CustomerTx {
            first_seen,
            ..Default::default()
        }
    }

    fn merge(&mut self, other: CustomerTx) {
        self.first_seen = self.first_seen.min(other.first_seen);
        self.entries.extend(other.entries);
        self.holdout.extend(other.holdout);
        for (category, paid) in other.category_paid {
            add_to(&mut self.category_paid, category, paid);
        }
        self.refund_lines += other.refund_lines;
        self.units += other.units;
    }
}

impl CustomerTx {
    /// Sorts entries by (day, order) and merges lines of the same order that arrived apart.
    pub fn compact(&mut self) {
        self.entries.sort_unstable_by_key(|e| (e.day, e.order));
        self.entries.dedup_by(|later, kept| {
            if later.day == kept.day && later.order == kept.order {
                kept.paid += later.paid;
                kept.refunded += later.refunded;
                kept.is_purchase |= later.is_purchase;
                if kept.channel == NO_LABEL {
                    kept.channel = later.channel;
                }
                true
            } else {
                false
            }
        });
        self.holdout.sort_unstable();
        self.category_paid.sort_unstable();
    }

    pub fn has_calibration_rows(&self) -> bool {
        !self.entries.is_empty()
    }
}

fn add_to(pairs: &mut Vec<(LabelId, i64)>, label: LabelId, amount: i64) {
    match pairs.iter_mut().find(|(l, _)| *l == label) {
        Some(pair) => pair.1 += amount,
        None => pairs.push((label, amount)),
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

/// Per-thread aggregation of transaction lines.
pub(crate) struct TxHandler<'a> {
    window: Window,
    has_quantity: bool,
    categories: &'a Dictionary,
    channels: &'a Dictionary,
    category_cache: LabelCache,
    channel_cache: LabelCache,
    pub slots: CustomerSlots<CustomerTx>,
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

impl<'a> TxHandler<'a> {
    pub fn new(
        window: Window,
        has_quantity: bool,
        categories: &'a Dictionary,
        channels: &'a Dictionary,
        keep: &[IdPartition],
    ) -> Self {
        TxHandler {
            window,
            has_quantity,
            categories,
            channels,
            category_cache: LabelCache::default(),
            channel_cache: LabelCache::default(),
            slots: CustomerSlots::keeping(keep),
            days: DayCache::default(),
            order_hasher: foldhash::fast::FixedState::with_seed(0x10_0C_A1_1C),
            scratch: String::new(),
            min_day: i32::MAX,
            max_day: i32::MIN,
            after_as_of: 0,
            after_holdout: 0,
        }
    }

    fn label(&mut self, cell: Cell<'_>, is_category: bool) -> CellResult<LabelId> {
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
        let amount = cell::amount_units(cells[AMOUNT]).map_err(fail(AMOUNT))?;
        let order = if cells[ORDER].is_blank() {
            0
        } else {
            let text = cell::text(cells[ORDER], &mut self.scratch).map_err(fail(ORDER))?;
            self.order_hasher.hash_one(text) | 1
        };
        let units = if !self.has_quantity || cells[QUANTITY].is_blank() {
            0
        } else {
            cell::amount_units(cells[QUANTITY]).map_err(|r| {
                RowProblem::field(
                    QUANTITY,
                    cells[QUANTITY],
                    r.replace("an amount", "a quantity")
                        .replace("|amount|", "|quantity|"),
                )
            })?
        };
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
        self.slots.absorb(other.slots);
        self.min_day = self.min_day.min(other.min_day);
        self.max_day = self.max_day.max(other.max_day);
        self.after_as_of += other.after_as_of;
        self.after_holdout += other.after_holdout;
    }
}

impl RowHandler for TxHandler<'_> {
    fn row(&mut self, order_key: u64, cells: &[Cell<'_>]) -> Result<(), RowProblem> {
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
        let index = self
            .slots
            .slot_of(cells[slot::CUSTOMER], order_key, &mut self.scratch)?;
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
        let state = &mut self.slots.customers[index as usize];
        if !in_calibration {
            if row.amount >= 0 {
                match state.holdout.last_mut() {
                    Some(last) if last.0 == row.day => last.1 += row.amount,
                    _ => state.holdout.push((row.day, row.amount)),
                }
            }
            return Ok(());
        }
        let (paid, refunded) = if row.amount >= 0 {
            (row.amount, 0)
        } else {
            (0, -row.amount)
        };
        match state.entries.last_mut() {
            Some(last) if last.day == row.day && last.order == row.order => {
                last.paid += paid;
                last.refunded += refunded;
                last.is_purchase |= row.amount >= 0;
                if last.channel == NO_LABEL {
                    last.channel = row.channel;
                }
            }
            _ => state.entries.push(OrderEntry {
                day: row.day,
                channel: row.channel,
                order: row.order,
                paid,
                refunded,
                is_purchase: row.amount >= 0,
            }),
        }
        if row.amount >= 0 {
            if row.category != NO_LABEL {
                add_to(&mut state.category_paid, row.category, paid);
            }
            state.units += row.units;
        } else {
            state.refund_lines += 1;
        }
        Ok(())
    }
}

/// Whether a label id is a real label.
pub(crate) fn is_label(id: LabelId) -> bool {
    id != NO_LABEL
}
