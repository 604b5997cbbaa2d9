//! What each customer did in a period, straight from a transaction log: the outcome side of a
//! campaign test (`lookalike measure`). One pass reads the customer, timestamp and amount (or
//! quantity × unit price) and order columns, and keeps per customer the orders, purchase lines
//! and net revenue of the outcome period, and the revenue of an optional pre-period (CUPED's
//! covariate).

use std::collections::HashMap;

use lookalike_core::{ColumnMapping, Progress};

use crate::FeatureError;
use crate::cell::{self, Cell, DayCache};
use crate::customer_slots::{CustomerSlots, CustomerState};
use crate::input::InputFile;
use crate::params::{FeatureParams, MissingCustomer};
pub use lookalike_core::Outcome;

use crate::scan::{RowHandler, RowProblem, ScanOptions, scan};
use crate::transactions::{AmountSource, TransactionFields, line_amount, slot, transaction_fields};

/// Every customer with a line in the period or pre-period, and how the log was read.
#[derive(Debug, Clone, Default)]
pub struct Outcomes {
    /// By customer id.
    pub customers: HashMap<String, Outcome>,
    /// Rows read.
    pub rows: u64,
    /// Rows outside both periods.
    pub outside: u64,
    /// Lines without a customer id left out (`MissingCustomer::Skip`).
    pub guest_lines: u64,
    /// Bad rows skipped (`OnBadRow::Skip`).
    pub skipped: u64,
}

#[derive(Debug, Default)]
struct State {
    /// (day, order) of the period's purchase lines, deduplicated at the end.
    orders: Vec<(i32, u64)>,
    purchase_lines: u64,
    revenue: i128,
    pre_revenue: i128,
}

impl CustomerState for State {
    fn first_seen_at(_first_seen: u64) -> Self {
        State::default()
    }

    fn seen_at(&mut self, _order_key: u64) {}

    fn merge(&mut self, other: Self) {
        self.orders.extend(other.orders);
        self.purchase_lines += other.purchase_lines;
        self.revenue += other.revenue;
        self.pre_revenue += other.pre_revenue;
    }

    fn touch(&self) -> u64 {
        self.purchase_lines
    }
}

struct Handler {
    period: (i32, i32),
    pre_from: Option<i32>,
    amount_source: AmountSource,
    slots: CustomerSlots<State>,
    days: DayCache,
    scratch: String,
    order_hasher: foldhash::fast::FixedState,
    outside: u64,
}

impl RowHandler for Handler {
    fn route(&mut self, owner: usize, owners: usize) {
        self.slots.route(owner, owners);
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
        use std::hash::BuildHasher;
        let day = self
            .days
            .day(cells[slot::TIMESTAMP])
            .map_err(|r| RowProblem::field(slot::TIMESTAMP, cells[slot::TIMESTAMP], r))?;
        let amount = line_amount(cells, self.amount_source)?;
        let in_period = (self.period.0..self.period.1).contains(&day);
        let in_pre = self
            .pre_from
            .is_some_and(|from| (from..self.period.0).contains(&day));
        if !in_period && !in_pre {
            crate::customer_slots::customer_id(cells[slot::CUSTOMER], &mut self.scratch)?;
            self.outside += 1;
            return Ok(());
        }
        let order = if cells[slot::ORDER].is_blank() {
            0
        } else {
            let text = cell::text(cells[slot::ORDER], &mut self.scratch)
                .map_err(|r| RowProblem::field(slot::ORDER, cells[slot::ORDER], r))?;
            self.order_hasher.hash_one(text) | 1
        };
        let Some(index) =
            self.slots
                .slot_of(cells[slot::CUSTOMER], order_key, &mut self.scratch, found)?
        else {
            return Ok(());
        };
        let state = &mut self.slots.customers[index as usize];
        if in_pre {
            state.pre_revenue += amount as i128;
            return Ok(());
        }
        state.revenue += amount as i128;
        if amount >= 0 {
            state.purchase_lines += 1;
            state.orders.push((day, order));
        }
        Ok(())
    }
}

/// Each customer's orders, purchase lines and net revenue in the period `[from, to)` (day
/// numbers), and revenue in `[pre_from, from)` when given, from a transaction log read with
/// `params`' reading options. Only the customer, timestamp, amount (or quantity and unit price)
/// and order columns are read.
pub fn outcomes(
    transactions: &InputFile,
    mapping: &ColumnMapping,
    params: &FeatureParams,
    (from, to): (i32, i32),
    pre_from: Option<i32>,
    progress: &dyn Progress,
) -> Result<Outcomes, FeatureError> {
    params.validate()?;
    if to <= from {
        return Err(FeatureError::InvalidOptions(
            "the outcome period ends before it starts".into(),
        ));
    }
    if pre_from.is_some_and(|p| p >= from) {
        return Err(FeatureError::InvalidOptions(
            "the pre-period must start before the outcome period".into(),
        ));
    }
    let TransactionFields {
        mut fields,
        amount_source,
        ..
    } = transaction_fields(transactions, mapping, &[])?;
    fields.truncate(slot::UNIT_PRICE + 1);
    let options = ScanOptions {
        on_bad_row: params.on_bad_row,
        threads: params.threads,
        skip_guests: params.missing_customer == MissingCustomer::Skip,
    };
    let scanned = scan(transactions, &fields, options, progress, || Handler {
        period: (from, to),
        pre_from,
        amount_source,
        slots: CustomerSlots::keeping(&params.customers_in),
        days: DayCache::with_format(params.date_format.as_deref()),
        scratch: String::new(),
        order_hasher: foldhash::fast::FixedState::with_seed(0x10_0C_A1_1C),
        outside: 0,
    })?;
    let mut handlers = scanned.handlers.into_iter();
    let mut merged = handlers.next().expect("at least one worker");
    for other in handlers {
        merged.slots.absorb(other.slots);
        merged.outside += other.outside;
    }
    let mut states = std::mem::take(&mut merged.slots.customers);
    let customers = merged
        .slots
        .index
        .drain()
        .map(|(id, i)| {
            let state = &mut states[i as usize];
            state.orders.sort_unstable();
            state.orders.dedup();
            let outcome = Outcome {
                orders: state.orders.len() as u64,
                purchase_lines: state.purchase_lines,
                revenue: cell::units_to_amount(state.revenue),
                pre_revenue: cell::units_to_amount(state.pre_revenue),
            };
            (id.into_string(), outcome)
        })
        .collect();
    Ok(Outcomes {
        customers,
        rows: scanned.rows,
        outside: merged.outside,
        guest_lines: scanned.guest_lines,
        skipped: scanned.skipped,
    })
}
