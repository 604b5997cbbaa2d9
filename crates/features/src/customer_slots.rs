//! Each worker's per-customer state, found by customer id.
//!
//! Every aggregation (transactions, events, the lean BTYD pass) keeps one state per customer in a
//! vector and finds it through an index from the id; the customer's first row gives the
//! ordering key that later puts customers in order of first appearance, whatever the thread
//! count. Workers' slots are merged once the scan is done: in a routed scan (one owner per
//! customer) each worker's index becomes one shard of the merged index, so the merge moves
//! tables instead of inserting every customer again.

use std::hash::BuildHasher;

use lookalike_core::IdPartition;

use crate::cell::{self, Cell, word4, word8};
use crate::scan::RowProblem;
use crate::slot_table::SlotTable;
use crate::slot_vec::SlotVec;

/// A customer id as the index keeps it: ids up to 24 bytes (nearly all) are held inline, so
/// millions of ids are one vector, not millions of allocations.
pub(crate) type CustomerKey = compact_str::CompactString;

/// Field slot of the customer id; the same in every input kind.
const CUSTOMER: usize = 0;

/// Rows [`CustomerSlots::warm`] reads ahead for in one go.
const WARM_MAX: usize = 64;

/// Which of `owners` workers aggregates the customer `id` (as [`customer_id`] gives it): every
/// spelling of one id goes to one owner, and [`SlotIndex`] finds an id's shard the same way.
pub(crate) fn owner_of(id: &str, owners: usize) -> usize {
    if owners <= 1 {
        return 0;
    }
    let hash = foldhash::fast::FixedState::with_seed(0x0_0A_4E_D5).hash_one(id);
    ((hash as u128 * owners as u128) >> 64) as usize
}

/// Whether a filed id is `id`. Ids of 4 to 16 bytes (nearly all) are compared as two
/// overlapping words from each end instead of through `memcmp`, which a time-ordered scan called
/// once a line (1% of its samples).
#[inline]
fn same_id(filed: &CustomerKey, id: &str) -> bool {
    let (a, b) = (filed.as_bytes(), id.as_bytes());
    let n = a.len();
    if n != b.len() {
        return false;
    }
    match n {
        8..=16 => word8(a, 0) == word8(b, 0) && word8(a, n - 8) == word8(b, n - 8),
        4..=7 => word4(a, 0) == word4(b, 0) && word4(a, n - 4) == word4(b, n - 4),
        _ => a == b,
    }
}

/// The hash an id is filed under in a shard (another seed than [`owner_of`]'s: the ids of one
/// shard share the owner hash's top bits, which the table uses to tell ids apart).
fn key_hash(id: &str) -> u64 {
    foldhash::fast::FixedState::with_seed(0x51_07_1D_E5).hash_one(id)
}

/// Customer id → slot. The ids are kept once, by slot, and the hash tables hold only slots (4
/// bytes each, against 32 for an inline id and its slot): at 10M customers, 240 MB of ids and
/// about 100 MB of tables instead of about 600 MB of tables. The ids are also what the output's
/// ids are made from, with no list of them between.
///
/// The tables are one shard per owner of a routed scan (an id is only ever in the shard
/// [`owner_of`] gives), or one. Workers' indexes join by moving shards: at 10M customers,
/// inserting one worker's 4M ids into the other's table took 5 s of a 70 s run.
#[derive(Default)]
pub(crate) struct SlotIndex {
    /// The id of each slot.
    ids: SlotVec<CustomerKey>,
    /// Slots by the hash of their id. With more than one, shard `k` holds the ids that route
    /// to owner `k`; none before the first id.
    shards: Vec<SlotTable>,
    /// In a routed scan, the owner this worker is: every id it files routes here.
    home: usize,
}

impl SlotIndex {
    /// The slot of `id`, if it has one.
    pub fn get(&self, id: &str) -> Option<u32> {
        self.find_in(owner_of(id, self.shards.len()), id)
    }

    /// The slot of `id` in shard `shard` (the one [`owner_of`] gives; a routed worker knows
    /// it is its own, without hashing the id for it again).
    fn find_in(&self, shard: usize, id: &str) -> Option<u32> {
        self.shards
            .get(shard)?
            .find(key_hash(id), |slot| same_id(&self.ids[slot as usize], id))
    }

    /// Drops the tables, keeping the ids by slot: for a run that will look no id up again
    /// (nothing joins through the index), so that at 10M customers their 134 MB are freed
    /// before the entries are settled. Every lookup finds nothing afterwards.
    pub fn keep_only_ids(&mut self) {
        self.shards = Vec::new();
    }

    /// The id of `slot`.
    pub fn id(&self, slot: u32) -> &CustomerKey {
        &self.ids[slot as usize]
    }

    /// Every (id, slot), by slot.
    pub fn iter(&self) -> impl Iterator<Item = (&CustomerKey, u32)> {
        self.ids.iter().zip(0u32..)
    }

    /// Every (id, slot) by slot, emptying the index.
    pub fn drain(&mut self) -> impl Iterator<Item = (CustomerKey, u32)> + use<> {
        self.shards.clear();
        std::mem::take(&mut self.ids).into_iter().zip(0u32..)
    }

    /// Files `id` under the next slot, in its shard; returns the slot. The id must not be in
    /// the index yet.
    fn push(&mut self, id: &str) -> u32 {
        self.push_into(owner_of(id, self.shards.len()), id)
    }

    /// [`SlotIndex::push`] into shard `shard`, the one [`owner_of`] gives.
    fn push_into(&mut self, shard: usize, id: &str) -> u32 {
        let slot = u32::try_from(self.ids.len()).expect("fewer than 2^32 customers");
        self.ids.push(id.into());
        if self.shards.is_empty() {
            self.shards.push(SlotTable::default());
        }
        file(&mut self.shards[shard], &self.ids, id, slot);
        slot
    }

    /// Shards for `owners` owners (a worker of a routed scan only ever files ids of its own).
    fn route(&mut self, owner: usize, owners: usize) {
        self.home = owner;
        self.refile(owners.max(1));
    }

    /// Every id filed again in `shards` shards, each in the one [`owner_of`] gives.
    fn refile(&mut self, shards: usize) {
        self.shards = (0..shards).map(|_| SlotTable::default()).collect();
        for (id, slot) in self.ids.iter().zip(0u32..) {
            file(&mut self.shards[owner_of(id, shards)], &self.ids, id, slot);
        }
    }

    /// One shard holding every id (to join an index routed between another number of owners).
    fn gather_into_one_shard(&mut self) {
        if self.shards.len() > 1 {
            self.refile(1);
            self.home = 0;
        }
    }
}

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
    /// A value read from the state (and from what it points to that a row will update):
    /// [`CustomerSlots::warm`] reads it so that the state is in cache before its row is
    /// applied.
    fn touch(&self) -> u64;
    /// A value read from the state itself, not from what it points to: reading the states of a
    /// group first lets their misses overlap before [`CustomerState::touch`] follows pointers.
    /// The same as `touch` for a state that points nowhere.
    fn touch_state(&self) -> u64 {
        self.touch()
    }
}

/// Where [`CustomerSlots::absorb`] put another worker's slots (for state kept outside the
/// slots, such as the transaction handler's entry log).
#[derive(Debug, PartialEq)]
pub(crate) enum MovedSlots {
    /// Every one after the slots held before: slot `i` is now `i + offset`.
    After(u32),
    /// Slot `i` is now `to[i]`: merged into a customer held before, or added.
    To(Vec<u32>),
}

impl MovedSlots {
    /// Where the other worker's slot `slot` is now.
    pub fn of(&self, slot: u32) -> u32 {
        match self {
            MovedSlots::After(offset) => slot + offset,
            MovedSlots::To(to) => to[slot as usize],
        }
    }
}

/// Files `slot`, whose id is `id`, in `table` (which rehashes the slots it holds through
/// `ids` when it grows).
fn file(table: &mut SlotTable, ids: &SlotVec<CustomerKey>, id: &str, slot: u32) {
    table.insert(key_hash(id), slot, |s| key_hash(&ids[s as usize]));
}

/// One worker's customers: id → index, and the states by index.
pub(crate) struct CustomerSlots<S> {
    pub index: SlotIndex,
    pub customers: SlotVec<S>,
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
            customers: SlotVec::default(),
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

/// The id in a text cell as [`customer_id`] reads it, without a scratch string; `None` for a
/// cell of another kind or an id [`customer_id`] would refuse.
fn text_id(cell: Cell<'_>) -> Option<&str> {
    let id = cell::trimmed(cell.text_str()?.ok()?);
    (!id.is_empty()).then(|| cell::integral_id(id))
}

/// Why a log line without a customer id is a bad row, and what to do about guest lines.
pub(crate) const MISSING_ID: &str = "is empty; a customer id is required (lines without one, such as guest checkouts, are left out and counted with --missing-customer skip)";

/// Whether a line has no customer id (a guest checkout, an anonymous visit).
pub(crate) fn is_guest(cell: Cell<'_>) -> bool {
    cell.is_blank()
}

impl<S: CustomerState> CustomerSlots<S> {
    /// Reads ahead for a group of rows whose customer id cells are `ids`, changing nothing
    /// (see [`crate::scan::RowHandler::warm`]): first the index buckets of the ids, then the
    /// ids and states of the slots filed there, and what the states point to. Each step is a
    /// short loop of its own, so that the group's cache misses are all under way at once
    /// instead of one per row. Sets
    /// `found[k]` to the slot of `ids[k]` when it is filed (for [`CustomerSlots::slot_of`]),
    /// `None` otherwise.
    pub fn warm(&self, ids: &[Cell<'_>], found: &mut [Option<u32>]) {
        found.fill(None);
        let Some(table) = self.index.shards.get(self.index.home) else {
            return;
        };
        for (ids, found) in ids.chunks(WARM_MAX).zip(found.chunks_mut(WARM_MAX)) {
            let mut texts = [""; WARM_MAX];
            let mut hashes = [0u64; WARM_MAX];
            for ((text, hash), cell) in texts.iter_mut().zip(&mut hashes).zip(ids) {
                if let Some(id) = text_id(*cell) {
                    (*text, *hash) = (id, key_hash(id));
                }
            }
            let mut sink = 0u64;
            for &hash in &hashes[..ids.len()] {
                sink ^= table.home_bucket(hash);
            }
            // Each step's misses depend on the one before (bucket; then the id and state of
            // the slot filed there; then what the state points to), so each is a loop of its
            // own over the group: within a loop the rows' misses are independent and overlap.
            // The id and the state are read together, from the bucket's likely slot, before
            // the id is compared; the comparison then reads an id in cache.
            let mut likely = [None; WARM_MAX];
            for ((&text, &hash), likely) in texts.iter().zip(&hashes).zip(likely.iter_mut()) {
                if !text.is_empty() {
                    *likely = table.likely_slot(hash);
                }
            }
            for &slot in likely.iter().flatten() {
                let slot = slot as usize;
                sink ^= self.index.ids[slot].len() as u64 ^ self.customers[slot].touch_state();
            }
            // The likely slot is the first one `find` compares: when its id matches, the probe
            // is not walked again; without one, no slot is filed under the hash.
            let texts = texts.iter().zip(&hashes).zip(&likely);
            for (((&text, &hash), &likely), found) in texts.zip(found.iter_mut()) {
                let is = |slot: u32| same_id(&self.index.ids[slot as usize], text);
                *found = match likely {
                    None => None,
                    Some(slot) if is(slot) => Some(slot),
                    Some(_) => table.find(hash, is),
                };
            }
            for &slot in found.iter().flatten() {
                sink ^= self.customers[slot as usize].touch();
            }
            std::hint::black_box(sink);
        }
    }

    /// This worker aggregates the customers that route to `owner` of `owners` (the scan sends
    /// every row of a customer to one owner), so its index is that owner's shard.
    pub fn route(&mut self, owner: usize, owners: usize) {
        self.index.route(owner, owners);
    }

    /// The index of the customer in `cell`, with a new state on first sight; `None` for a
    /// customer who is not kept. Fails, changing nothing, when the id is unreadable or empty.
    /// `found` is what [`CustomerSlots::warm`] found for the cell, if it was warmed.
    pub fn slot_of(
        &mut self,
        cell: Cell<'_>,
        order_key: u64,
        scratch: &mut String,
        found: Option<u32>,
    ) -> Result<Option<u32>, RowProblem> {
        if let Some(index) = found {
            debug_assert_eq!(
                customer_id(cell, scratch).ok(),
                Some(self.index.id(index).as_str())
            );
            self.customers[index as usize].seen_at(order_key);
            return Ok(Some(index));
        }
        if let Some(bytes) = cell.text_bytes()
            && !bytes.is_empty()
            && self.last.0 == bytes
        {
            if let Some(index) = self.last.1 {
                self.customers[index as usize].seen_at(order_key);
            }
            return Ok(self.last.1);
        }
        let id = customer_id(cell, scratch)?;
        // Every row this worker takes is of a customer it owns: the home shard is the one.
        debug_assert!(
            self.index.shards.len() == 1
                || owner_of(id, self.index.shards.len()) == self.index.home
        );
        let home = self.index.home;
        let index = match self.index.find_in(home, id) {
            Some(index) => {
                self.customers[index as usize].seen_at(order_key);
                Some(index)
            }
            None if !self.keep.iter().all(|part| part.contains(id)) => None,
            None => {
                let index = self.index.push_into(home, id);
                debug_assert_eq!(index as usize, self.customers.len());
                self.customers.push(S::first_seen_at(order_key));
                Some(index)
            }
        };
        if let Some(bytes) = cell.text_bytes() {
            self.last.0.clear();
            self.last.0.extend_from_slice(bytes);
            self.last.1 = index;
        }
        Ok(index)
    }

    /// Folds another worker's customers into these. Insertion order does not matter: output is
    /// ordered by each customer's first-seen key. Returns where the other's slots went.
    ///
    /// Workers of one routed scan own disjoint customers: each of the other's shards lands in
    /// an empty shard here and is moved, not merged, renumbering its slots after these. A
    /// shard both sides hold (workers of two files of one table) is merged id by id.
    pub fn absorb(&mut self, other: CustomerSlots<S>) -> MovedSlots {
        let CustomerSlots {
            index: mut theirs,
            customers: states,
            ..
        } = other;
        let offset = self.customers.len() as u32;
        if self.index.shards.is_empty() {
            // Nothing filed here yet: shaped as theirs, so that theirs move in.
            self.index.shards = theirs.shards.iter().map(|_| SlotTable::default()).collect();
        }
        if self.index.shards.len() != theirs.shards.len() {
            self.index.gather_into_one_shard();
            theirs.gather_into_one_shard();
        }
        let disjoint = self
            .index
            .shards
            .iter()
            .zip(&theirs.shards)
            .all(|(mine, other)| mine.is_empty() || other.is_empty());
        if disjoint {
            for (mine, other) in self.index.shards.iter_mut().zip(theirs.shards) {
                if !other.is_empty() {
                    *mine = other;
                    mine.shift_slots(offset);
                }
            }
            self.index.ids.append(theirs.ids);
            self.customers.append(states);
            return MovedSlots::After(offset);
        }
        let mut moved_to = vec![0u32; states.len()];
        for ((id, state), moved) in theirs.ids.iter().zip(states).zip(&mut moved_to) {
            *moved = match self.index.get(id) {
                Some(held) => {
                    self.customers[held as usize].merge(state);
                    held
                }
                None => {
                    self.customers.push(state);
                    self.index.push(id)
                }
            };
        }
        MovedSlots::To(moved_to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The word compare agrees with comparing the bytes, for every length up to 40 and ids
    /// that differ in any one byte (the middle of a 9..15-byte id is read by both words).
    #[test]
    fn ids_compared_by_words_are_compared_byte_for_byte() {
        for n in 0..40usize {
            let id: String = (0..n).map(|i| char::from(b'A' + (i % 26) as u8)).collect();
            let filed = CustomerKey::from(id.as_str());
            assert!(same_id(&filed, &id), "{id}");
            for at in 0..n {
                let mut other = id.clone().into_bytes();
                other[at] = b'z';
                let other = String::from_utf8(other).unwrap();
                assert!(!same_id(&filed, &other), "{id} against {other}");
            }
            let longer = format!("{id}x");
            assert!(
                !same_id(&filed, &longer) && !same_id(&CustomerKey::from(longer.as_str()), &id)
            );
        }
        assert!(same_id(&CustomerKey::from("é12345678"), "é12345678"));
    }

    /// A customer's first-seen key and its rows, enough to see states merge.
    #[derive(Default, Debug, PartialEq)]
    struct Seen {
        first: u64,
        rows: u32,
    }

    impl CustomerState for Seen {
        fn first_seen_at(first: u64) -> Self {
            Seen { first, rows: 1 }
        }
        fn seen_at(&mut self, order_key: u64) {
            self.first = self.first.min(order_key);
            self.rows += 1;
        }
        fn merge(&mut self, other: Self) {
            self.first = self.first.min(other.first);
            self.rows += other.rows;
        }
        fn touch(&self) -> u64 {
            self.first
        }
    }

    /// A worker routed to `owner` of `owners` that took `rows` (id, ordering key), skipping
    /// those of customers another owner takes.
    fn worker(owner: usize, owners: usize, rows: &[(&str, u64)]) -> CustomerSlots<Seen> {
        let mut slots = CustomerSlots::keeping(&[]);
        slots.route(owner, owners);
        let mut scratch = String::new();
        for (id, key) in rows {
            if owner_of(id, owners) == owner {
                slots
                    .slot_of(Cell::Text(id.as_bytes()), *key, &mut scratch, None)
                    .unwrap();
            }
        }
        slots
    }

    /// Every customer's state, by id.
    fn states(slots: &CustomerSlots<Seen>) -> Vec<(String, u64, u32)> {
        let mut all: Vec<(String, u64, u32)> = slots
            .index
            .iter()
            .map(|(id, slot)| {
                let state = &slots.customers[slot as usize];
                (id.to_string(), state.first, state.rows)
            })
            .collect();
        all.sort();
        all
    }

    fn log() -> Vec<(String, u64)> {
        (0..400u64).map(|k| (format!("C{}", k % 97), k)).collect()
    }

    #[test]
    fn routed_workers_join_as_one_worker_would() {
        let rows = log();
        let rows: Vec<(&str, u64)> = rows.iter().map(|(id, k)| (id.as_str(), *k)).collect();
        let alone = worker(0, 1, &rows);
        assert_eq!(states(&alone).len(), 97);
        for owners in [2, 3] {
            let mut workers = (0..owners).map(|owner| worker(owner, owners, &rows));
            let mut joined = workers.next().unwrap();
            for other in workers {
                let before = joined.customers.len() as u32;
                // Disjoint shards are moved, their slots renumbered after the ones held.
                assert_eq!(joined.absorb(other), MovedSlots::After(before));
            }
            assert_eq!(states(&joined), states(&alone), "{owners} owners");
            assert_eq!(joined.customers.len(), 97);
            for (id, _) in &rows {
                // Found through its shard, with the state one worker built.
                let slot = joined.index.get(id).expect("every id in its shard");
                let one = alone.index.get(id).unwrap();
                assert_eq!(
                    joined.customers[slot as usize],
                    alone.customers[one as usize]
                );
            }
        }
    }

    #[test]
    fn workers_of_two_files_merge_the_customers_both_saw() {
        let rows = log();
        let rows: Vec<(&str, u64)> = rows.iter().map(|(id, k)| (id.as_str(), *k)).collect();
        let alone = worker(0, 1, &rows);
        let (first, second) = rows.split_at(150);
        // Two owners for the first file, three for the second (it had more row groups).
        let mut joined = worker(0, 2, first);
        for other in [
            worker(1, 2, first),
            worker(0, 3, second),
            worker(1, 3, second),
            worker(2, 3, second),
        ] {
            let theirs = other.customers.len() as u32;
            let moved = joined.absorb(other);
            assert!((0..theirs).all(|i| (moved.of(i) as usize) < joined.customers.len()));
        }
        assert_eq!(states(&joined), states(&alone));
        assert_eq!(joined.customers.len(), 97, "no state left over");
        assert_eq!(joined.index.iter().count(), 97);
    }

    #[test]
    fn an_empty_worker_takes_in_a_routed_one_whole() {
        let rows = log();
        let rows: Vec<(&str, u64)> = rows.iter().map(|(id, k)| (id.as_str(), *k)).collect();
        let alone = worker(0, 1, &rows);
        let mut joined: CustomerSlots<Seen> = CustomerSlots::keeping(&[]);
        for owner in 0..2 {
            joined.absorb(worker(owner, 2, &rows));
        }
        assert_eq!(states(&joined), states(&alone));
        assert_eq!(
            joined.index.get("C5").map(|s| joined.index.id(s).as_str()),
            Some("C5")
        );
        assert_eq!(joined.index.get("C97"), None, "never seen");
    }
}
