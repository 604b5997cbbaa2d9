//! Each worker's per-customer state, found by customer id.
//!
//! Every aggregation (transactions, events, the lean BTYD pass) keeps one state per customer in a
//! vector and finds it through a hash map from the id; the customer's first row gives the
//! ordering key that later puts customers in order of first appearance, whatever the thread
//! count. Workers' slots are merged once the scan is done.

use std::collections::hash_map::Entry;

use lookalike_core::IdPartition;

use crate::cell::{self, Cell};
use crate::scan::RowProblem;

/// A customer id as a hash-map key: ids up to 24 bytes (nearly all) are held inline, so a
/// lookup compares the key where the table stores it instead of following a pointer to it —
/// in a log in time order every line's customer is somewhere else in memory.
pub(crate) type CustomerKey = compact_str::CompactString;

/// Field slot of the customer id; the same in every input kind.
const CUSTOMER: usize = 0;

/// What a per-customer state needs to be kept in [`CustomerSlots`].
pub(crate) trait CustomerState: Default {
    /// A new state for a customer first seen at ordering key `first_seen`.
    fn first_seen_at(first_seen: u64) -> Self;
    /// Notes another row of the customer, at ordering key `order_key`. Rows need not arrive in
    /// file order (a worker also takes the rows other workers parsed for its customers), so
    /// the first-seen key is the least seen.
    fn seen_at(&mut self, order_key: u64);
    /// Folds another worker's state of the same customer into this one.
    fn merge(&mut self, other: Self);
}

/// One worker's customers: id → index, and the states by index.
pub(crate) struct CustomerSlots<S> {
    pub index: foldhash::HashMap<CustomerKey, u32>,
    pub customers: Vec<S>,
    /// Only customers in all of these parts are kept (none: everyone).
    keep: Vec<IdPartition>,
    /// A customer's lines are usually adjacent: the last id's bytes (empty = none) and its
    /// index (`None`: not kept).
    last: (Vec<u8>, Option<u32>),
}

impl<S> CustomerSlots<S> {
    /// No customers yet; only those in every part of `keep` will be kept.
    pub fn keeping(keep: &[IdPartition]) -> Self {
        CustomerSlots {
            index: Default::default(),
            customers: Vec::new(),
            keep: keep.to_vec(),
            last: (Vec::new(), None),
        }
    }
}

/// The customer id in `cell` as text (an integer written as a float is the integer, see
/// [`cell::integral_id`]); an empty id makes the row bad.
pub(crate) fn customer_id<'a>(
    cell: Cell<'a>,
    scratch: &'a mut String,
) -> Result<&'a str, RowProblem> {
    let fail = |reason: String| RowProblem::field(CUSTOMER, cell, reason);
    let id = cell::text(cell, scratch).map_err(fail)?;
    if id.is_empty() {
        return Err(fail(MISSING_ID.into()));
    }
    Ok(cell::integral_id(id))
}

/// Why a log line without a customer id is a bad row, and what to do about guest lines.
pub(crate) const MISSING_ID: &str = "is empty; a customer id is required (lines without one, such as guest checkouts, are left out and counted with --missing-customer skip)";

/// Whether a line has no customer id (a guest checkout, an anonymous visit).
pub(crate) fn is_guest(cell: Cell<'_>) -> bool {
    cell.is_blank()
}

impl<S: CustomerState> CustomerSlots<S> {
    /// The index of the customer in `cell`, with a new state on first sight; `None` for a
    /// customer who is not kept. Fails, changing nothing, when the id is unreadable or empty.
    pub fn slot_of(
        &mut self,
        cell: Cell<'_>,
        order_key: u64,
        scratch: &mut String,
    ) -> Result<Option<u32>, RowProblem> {
        if let Cell::Text(bytes) = cell
            && !bytes.is_empty()
            && self.last.0 == bytes
        {
            if let Some(index) = self.last.1 {
                self.customers[index as usize].seen_at(order_key);
            }
            return Ok(self.last.1);
        }
        let id = customer_id(cell, scratch)?;
        let index = match self.index.get(id) {
            Some(&index) => {
                self.customers[index as usize].seen_at(order_key);
                Some(index)
            }
            None if !self.keep.iter().all(|part| part.contains(id)) => None,
            None => {
                let index = self.customers.len() as u32;
                self.index.insert(id.into(), index);
                self.customers.push(S::first_seen_at(order_key));
                Some(index)
            }
        };
        if let Cell::Text(bytes) = cell {
            self.last.0.clear();
            self.last.0.extend_from_slice(bytes);
            self.last.1 = index;
        }
        Ok(index)
    }

    /// Folds another worker's customers into these. Insertion order does not matter: output is
    /// ordered by each customer's first-seen key. Returns where each of the other's slots went
    /// (for state kept outside the slots, such as the transaction handler's entry log).
    pub fn absorb(&mut self, other: CustomerSlots<S>) -> Vec<u32> {
        let mut states = other.customers;
        let mut moved_to = vec![0u32; states.len()];
        self.index.reserve(other.index.len());
        self.customers.reserve(other.index.len());
        for (id, i) in other.index {
            let state = std::mem::take(&mut states[i as usize]);
            let next = self.customers.len() as u32;
            moved_to[i as usize] = match self.index.entry(id) {
                Entry::Occupied(mine) => {
                    self.customers[*mine.get() as usize].merge(state);
                    *mine.get()
                }
                Entry::Vacant(place) => {
                    place.insert(next);
                    self.customers.push(state);
                    next
                }
            };
        }
        moved_to
    }
}
