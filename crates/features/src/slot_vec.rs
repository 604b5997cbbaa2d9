//! Per-customer values by slot, kept as the vectors the workers filled.
//!
//! When the workers of a scan are joined, each one's states follow the others' (slot `i` of the
//! second worker becomes `i` + the first worker's count). Appending them into one vector copied
//! every state into a fresh allocation while the old ones were still held: at 10M customers,
//! 0.4 GB on top of the run's peak for a moment. Here the workers' vectors are kept as parts,
//! moved and not copied; indexing finds the part (one or two comparisons: there is a part per
//! worker).

use std::ops::{Index, IndexMut};

use rayon::prelude::*;

/// Values by slot, in parts. Every part but the last is closed: new values go to the last.
#[derive(Debug, Clone)]
pub(crate) struct SlotVec<T> {
    parts: Vec<Vec<T>>,
    len: usize,
}

impl<T> Default for SlotVec<T> {
    fn default() -> Self {
        SlotVec {
            parts: Vec::new(),
            len: 0,
        }
    }
}

impl<T> SlotVec<T> {
    /// Appends `value`; returns its slot.
    pub fn push(&mut self, value: T) -> usize {
        if self.parts.is_empty() {
            self.parts.push(Vec::new());
        }
        self.parts.last_mut().expect("a part").push(value);
        self.len += 1;
        self.len - 1
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Puts `other`'s values after these, moving its parts: its slot `i` is now `i` + the
    /// length before.
    pub fn append(&mut self, other: SlotVec<T>) {
        self.len += other.len;
        // A new value after this goes to the last part, which is where it belongs either way.
        self.parts
            .extend(other.parts.into_iter().filter(|p| !p.is_empty()));
    }

    /// The values in slot order.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.into_iter()
    }

    /// The values in slot order, to change.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.parts.iter_mut().flatten()
    }

    /// The parts, in slot order (to split work along them).
    pub fn parts_mut(&mut self) -> impl Iterator<Item = &mut Vec<T>> {
        self.parts.iter_mut()
    }

    /// Where `slot` is: its part and its place in the part.
    #[inline]
    fn find(&self, slot: usize) -> (usize, usize) {
        let mut at = slot;
        for (k, part) in self.parts.iter().enumerate() {
            if at < part.len() {
                return (k, at);
            }
            at -= part.len();
        }
        panic!("slot {slot} out of {} slots", self.len)
    }
}

impl<T: Send> SlotVec<T> {
    /// The values, in parallel; collected, they keep the slot order.
    pub fn par_iter_mut(&mut self) -> impl ParallelIterator<Item = &mut T> {
        self.parts.par_iter_mut().flat_map(|p| p.par_iter_mut())
    }
}

impl<T: Sync> SlotVec<T> {
    /// The values, in parallel; collected, they keep the slot order.
    pub fn par_iter(&self) -> impl ParallelIterator<Item = &T> {
        self.parts.par_iter().flat_map(|p| p.par_iter())
    }
}

impl<T> Index<usize> for SlotVec<T> {
    type Output = T;

    #[inline]
    fn index(&self, slot: usize) -> &T {
        // Nearly every lookup during a scan is in a worker's only part.
        if let Some(first) = self.parts.first()
            && slot < first.len()
        {
            return &first[slot];
        }
        let (part, at) = self.find(slot);
        &self.parts[part][at]
    }
}

impl<T> IndexMut<usize> for SlotVec<T> {
    #[inline]
    fn index_mut(&mut self, slot: usize) -> &mut T {
        if self.parts.first().is_some_and(|first| slot < first.len()) {
            return &mut self.parts[0][slot];
        }
        let (part, at) = self.find(slot);
        &mut self.parts[part][at]
    }
}

impl<'a, T> IntoIterator for &'a SlotVec<T> {
    type Item = &'a T;
    type IntoIter = std::iter::Flatten<std::slice::Iter<'a, Vec<T>>>;

    fn into_iter(self) -> Self::IntoIter {
        self.parts.iter().flatten()
    }
}

impl<T> IntoIterator for SlotVec<T> {
    type Item = T;
    type IntoIter = std::iter::Flatten<std::vec::IntoIter<Vec<T>>>;

    fn into_iter(self) -> Self::IntoIter {
        self.parts.into_iter().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joined_parts_keep_every_slot() {
        let mut first = SlotVec::default();
        let mut second = SlotVec::default();
        for v in 0..5 {
            assert_eq!(first.push(v), v);
        }
        for v in 5..12 {
            second.push(v);
        }
        first.append(SlotVec::default());
        first.append(second);
        assert_eq!(first.len(), 12);
        assert_eq!(first.push(12), 12);
        for slot in 0..13 {
            assert_eq!(first[slot], slot);
        }
        first[7] += 100;
        assert_eq!(first.iter().copied().collect::<Vec<_>>()[7], 107);
        let doubled: Vec<usize> = first.par_iter().map(|v| v * 2).collect();
        assert_eq!(doubled[12], 24);
        assert_eq!(doubled[3], 6, "collected in slot order");
        assert_eq!(first.into_iter().count(), 13);
    }

    #[test]
    #[should_panic(expected = "out of")]
    fn a_slot_past_the_end_is_a_defect() {
        let mut values = SlotVec::default();
        values.push(1);
        let _ = values[1];
    }
}
