//! The hash table behind [`crate::customer_slots::SlotIndex`]: customer slots by the hash of
//! their id, in one flat array that a caller can touch before it looks an id up.
//!
//! In a log in time order every line is a different customer, so looking its id up is a cache
//! miss on the table, then on the id, then on the state. A whole line's work sits between one
//! line's misses and the next's, so they do not overlap. The scan therefore looks up a group of
//! lines first in short loops ([`SlotTable::home_bucket`], then [`SlotTable::find`]), whose
//! loads do overlap, and applies the lines once their memory is in cache. `hashbrown` keeps a
//! probe's position to itself, so the first of those loops cannot be written against it.
//!
//! Layout: open addressing with linear probing. A bucket is one `u64`: the low 32 bits of the
//! id's hash above, 1 + the slot below (0: empty). The hash's top bits choose the home bucket
//! and its low 32 bits tell most ids apart without reading them: a probe compares an id only
//! when those 32 bits match. The table grows at five eighths full, so probes stay short.

/// An empty bucket.
const EMPTY: u64 = 0;

/// Slots by id hash. Ids themselves are kept by the caller, who compares them.
#[derive(Debug, Default, Clone)]
pub(crate) struct SlotTable {
    /// A power-of-two number of buckets, or none before the first slot.
    buckets: Vec<u64>,
    /// Slots filed.
    len: usize,
    /// 64 − log2(bucket count): the home bucket is `hash >> shift`.
    shift: u32,
}

/// The bits of a hash a bucket keeps.
fn tag(hash: u64) -> u64 {
    hash & u64::from(u32::MAX)
}

impl SlotTable {
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn home(&self, hash: u64) -> usize {
        (hash >> self.shift) as usize
    }

    /// The slots filed under `hash`'s tag, in probe order: the candidates whose ids a lookup
    /// compares.
    #[inline]
    fn candidates(&self, hash: u64) -> impl Iterator<Item = u32> + '_ {
        let mask = self.buckets.len().wrapping_sub(1);
        let mut at = if self.buckets.is_empty() {
            0
        } else {
            self.home(hash)
        };
        std::iter::from_fn(move || {
            loop {
                let bucket = *self.buckets.get(at)?;
                if bucket == EMPTY {
                    return None;
                }
                at = (at + 1) & mask;
                if bucket >> 32 == tag(hash) {
                    return Some((bucket as u32) - 1);
                }
            }
        })
    }

    /// The slot whose hash is `hash` and for which `is` says the id matches.
    #[inline]
    pub fn find(&self, hash: u64, mut is: impl FnMut(u32) -> bool) -> Option<u32> {
        self.candidates(hash).find(|&slot| is(slot))
    }

    /// The first slot along `hash`'s probe whose bucket holds `hash`'s tag, without asking
    /// whether its id matches: nearly always the slot [`SlotTable::find`] returns, so that a
    /// caller can read that slot's id and state ahead at once instead of one after the other.
    #[inline]
    pub fn likely_slot(&self, hash: u64) -> Option<u32> {
        self.candidates(hash).next()
    }

    /// The bucket a probe for `hash` reads first (0 for an empty table): reading it brings
    /// the probe's memory into cache.
    #[inline]
    pub fn home_bucket(&self, hash: u64) -> u64 {
        match self.buckets.is_empty() {
            true => EMPTY,
            false => self.buckets[self.home(hash)],
        }
    }

    /// Files `slot` under `hash`; the slot must not be filed yet. `hash_of` gives the hash of
    /// a filed slot, to place it again when the table grows.
    pub fn insert(&mut self, hash: u64, slot: u32, hash_of: impl Fn(u32) -> u64) {
        assert!(slot < u32::MAX - 1, "fewer than 2^32 - 1 slots");
        // Grow at five eighths full.
        if (self.len + 1) * 8 > self.buckets.len() * 5 {
            self.grow(&hash_of);
        }
        self.place(hash, slot);
        self.len += 1;
    }

    fn place(&mut self, hash: u64, slot: u32) {
        let mask = self.buckets.len() - 1;
        let mut at = self.home(hash);
        while self.buckets[at] != EMPTY {
            at = (at + 1) & mask;
        }
        self.buckets[at] = (tag(hash) << 32) | (u64::from(slot) + 1);
    }

    fn grow(&mut self, hash_of: &impl Fn(u32) -> u64) {
        let count = (self.buckets.len() * 2).max(16);
        let old = std::mem::replace(&mut self.buckets, vec![EMPTY; count]);
        self.shift = 64 - count.trailing_zeros();
        for bucket in old.into_iter().filter(|&b| b != EMPTY) {
            let slot = (bucket as u32) - 1;
            self.place(hash_of(slot), slot);
        }
    }

    /// Adds `offset` to every slot filed (slots moved after another worker's).
    pub fn shift_slots(&mut self, offset: u32) {
        for bucket in self.buckets.iter_mut().filter(|b| **b != EMPTY) {
            let slot = (*bucket as u32) - 1;
            let moved = slot.checked_add(offset).filter(|&s| s < u32::MAX - 1);
            let moved = moved.expect("fewer than 2^32 - 1 slots");
            *bucket = (*bucket & !u64::from(u32::MAX)) | (u64::from(moved) + 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hash that collides on purpose: ids that share `id % 7` share the whole hash.
    fn colliding_hash(id: u32) -> u64 {
        u64::from(id % 7).wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }

    fn spread_hash(id: u32) -> u64 {
        u64::from(id).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5555
    }

    /// Slot `s` holds id `ids[s]`: the table must find every id at its slot, whatever the
    /// collisions, and nothing that was not filed.
    fn check(hash: fn(u32) -> u64, hashes_distinct: bool) {
        let ids: Vec<u32> = (0..5_000u32).map(|i| i * 3 + 1).collect();
        let mut table = SlotTable::default();
        for (slot, &id) in ids.iter().enumerate() {
            assert_eq!(table.find(hash(id), |s| ids[s as usize] == id), None);
            table.insert(hash(id), slot as u32, |s| hash(ids[s as usize]));
        }
        for (slot, &id) in ids.iter().enumerate() {
            assert_eq!(
                table.find(hash(id), |s| ids[s as usize] == id),
                Some(slot as u32)
            );
        }
        for absent in [0u32, 2, 3, 15_001] {
            assert_eq!(
                table.find(hash(absent), |s| ids[s as usize] == absent),
                None
            );
        }
        assert!(table.buckets.len() * 5 >= ids.len() * 8);
        // The likely slot is a slot filed under the same hash: the found one unless an earlier
        // slot along the probe shares the tag.
        for (slot, &id) in ids.iter().enumerate() {
            let likely = table
                .likely_slot(hash(id))
                .expect("a filed hash has a likely slot");
            assert_eq!(
                hash(ids[likely as usize]) & 0xFFFF_FFFF,
                hash(id) & 0xFFFF_FFFF
            );
            if hashes_distinct {
                assert_eq!(likely, slot as u32);
            }
        }
        assert_eq!(SlotTable::default().likely_slot(hash(1)), None);
    }

    #[test]
    fn finds_every_slot_through_growth() {
        check(spread_hash, true);
    }

    #[test]
    fn finds_every_slot_when_hashes_collide() {
        check(colliding_hash, false);
    }

    #[test]
    fn slots_shift_keeping_their_hashes() {
        let mut table = SlotTable::default();
        for slot in 0..100u32 {
            table.insert(spread_hash(slot), slot, spread_hash);
        }
        table.shift_slots(1_000);
        for slot in 0..100u32 {
            assert_eq!(
                table.find(spread_hash(slot), |s| s == slot + 1_000),
                Some(slot + 1_000)
            );
        }
        assert_ne!(table.home_bucket(spread_hash(7)), EMPTY);
        assert_eq!(SlotTable::default().home_bucket(1), EMPTY);
    }
}
