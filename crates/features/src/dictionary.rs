//! Interned labels (categories, channels) shared by all reader threads.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::cell::word8;

/// A label's id; the same text gets the same id in every thread.
pub(crate) type LabelId = u32;

/// Labels seen so far. Threads keep their own cache in front of it, so the lock is taken once
/// per new label per thread, not once per row.
#[derive(Default)]
pub(crate) struct Dictionary {
    inner: Mutex<(Vec<String>, HashMap<String, LabelId>)>,
}

impl Dictionary {
    pub fn id(&self, label: &str) -> LabelId {
        let mut inner = self.inner.lock().expect("dictionary poisoned");
        if let Some(id) = inner.1.get(label) {
            return *id;
        }
        let id = inner.0.len() as LabelId;
        inner.0.push(label.to_string());
        inner.1.insert(label.to_string(), id);
        id
    }

    pub fn labels(&self) -> Vec<String> {
        self.inner.lock().expect("dictionary poisoned").0.clone()
    }
}

/// Labels a [`LabelCache`] remembers by a quick hash of their first bytes and length.
const RECENT: usize = 64;

/// Labels up to this many bytes are told apart by their [`LabelKey`] alone.
const KEYED_BYTES: usize = 16;

/// A thread's cache of label ids.
///
/// Two labels a line (category, channel) made the hash map lookup 5–6% of a scan's samples. A
/// label column holds a few dozen values, so a small table indexed by a multiply of the label's
/// first and last eight bytes and its length finds nearly every label; the map is asked only
/// when that slot holds another label. The slot keeps those words, which for a label of up to
/// 16 bytes are all of it: the label is recognised by comparing three integers, without
/// reading its text elsewhere in memory or calling `memcmp` (2.4% of a Parquet run's samples
/// when the slot held the text).
pub(crate) struct LabelCache {
    recent: Vec<Option<RecentLabel>>,
    known: foldhash::HashMap<Box<str>, LabelId>,
}

/// A label remembered in [`LabelCache::recent`]: its key, its id, and its text when the key
/// does not hold all of it.
struct RecentLabel {
    key: LabelKey,
    id: LabelId,
    longer: Option<Box<str>>,
}

/// A label's length and two words of its bytes: the first and last eight (overlapping when it
/// is shorter than 16), or its bytes one by one in the first word when it is shorter than 8.
/// Two labels of at most [`KEYED_BYTES`] bytes are equal exactly when their keys are.
#[derive(Clone, Copy, PartialEq, Eq)]
struct LabelKey {
    head: u64,
    tail: u64,
    length: usize,
}

impl LabelKey {
    fn of(label: &str) -> Self {
        let bytes = label.as_bytes();
        let (head, tail) = match bytes.len() {
            // Byte by byte: a copy of fewer bytes into a word would be read back before the
            // copy's stores are done, a stall longer than the loop.
            0..8 => (
                bytes.iter().fold(0u64, |key, &b| (key << 8) | u64::from(b)),
                0,
            ),
            length => (word8(bytes, 0), word8(bytes, length - 8)),
        };
        LabelKey {
            head,
            tail,
            length: bytes.len(),
        }
    }

    /// The label's slot in [`LabelCache::recent`].
    fn slot(&self) -> usize {
        let key = self.head ^ self.tail.rotate_left(29) ^ (self.length as u64).rotate_right(8);
        (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - RECENT.trailing_zeros())) as usize
    }
}

impl Default for LabelCache {
    fn default() -> Self {
        LabelCache {
            recent: (0..RECENT).map(|_| None).collect(),
            known: foldhash::HashMap::default(),
        }
    }
}

impl LabelCache {
    pub fn id(&mut self, dictionary: &Dictionary, label: &str) -> LabelId {
        let key = LabelKey::of(label);
        let slot = key.slot();
        if let Some(recent) = &self.recent[slot]
            && recent.key == key
            && recent.longer.as_deref().is_none_or(|text| text == label)
        {
            return recent.id;
        }
        let id = match self.known.get(label) {
            Some(id) => *id,
            None => {
                let id = dictionary.id(label);
                self.known.insert(label.into(), id);
                id
            }
        };
        self.recent[slot] = Some(RecentLabel {
            key,
            id,
            longer: (label.len() > KEYED_BYTES).then(|| label.into()),
        });
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whatever the labels and however they collide in the small table, every thread's cache
    /// gives one id per text, the dictionary's.
    #[test]
    fn caches_agree_with_the_dictionary() {
        let dictionary = Dictionary::default();
        let labels: Vec<String> = (0..500)
            .map(|i| match i % 6 {
                0 => format!("category_{i}"),
                1 => format!("c{}", i % 37),
                2 => "x".repeat(i % 20),
                // Nine to sixteen bytes, the same first eight: told apart by the last eight.
                3 => format!("abcdefgh{}", i % 101),
                // Longer than sixteen, the same first and last eight: told apart by the text.
                4 => format!("12345678{}87654321", i % 7),
                _ => format!("shared prefix of more than eight bytes {}", i % 50),
            })
            .collect();
        let mut caches = [LabelCache::default(), LabelCache::default()];
        let mut seen: std::collections::HashMap<&str, LabelId> = Default::default();
        for round in 0..3 {
            for (k, label) in labels.iter().enumerate() {
                let cache = &mut caches[(k + round) % 2];
                let id = cache.id(&dictionary, label);
                assert_eq!(*seen.entry(label).or_insert(id), id, "{label:?}");
            }
        }
        let texts = dictionary.labels();
        for (label, id) in seen {
            assert_eq!(texts[id as usize], label);
        }
    }
}
