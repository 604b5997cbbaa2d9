//! Interned labels (categories, channels) shared by all reader threads.

use std::collections::HashMap;
use std::sync::Mutex;

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

/// A thread's cache of label ids.
///
/// Two labels a line (category, channel) made the hash map lookup 5–6% of a scan's samples. A
/// label column holds a few dozen values, so a small table indexed by a multiply of the label's
/// first eight bytes and its length finds nearly every label with one comparison; the map is
/// asked only when that slot holds another label.
pub(crate) struct LabelCache {
    recent: Vec<Option<(Box<str>, LabelId)>>,
    known: foldhash::HashMap<Box<str>, LabelId>,
}

impl Default for LabelCache {
    fn default() -> Self {
        LabelCache {
            recent: vec![None; RECENT],
            known: foldhash::HashMap::default(),
        }
    }
}

/// The slot of `label` in [`LabelCache::recent`]: from its first and last eight bytes, or
/// its bytes one by one when it is shorter (a copy of fewer bytes into a word would be read
/// back before the copy's stores are done, a stall longer than the loop).
fn recent_slot(label: &str) -> usize {
    let bytes = label.as_bytes();
    let key = match bytes.len() {
        0..8 => bytes.iter().fold(0u64, |key, &b| (key << 8) | u64::from(b)),
        length => {
            let mut head = [0u8; 8];
            let mut tail = [0u8; 8];
            head.copy_from_slice(&bytes[..8]);
            tail.copy_from_slice(&bytes[length - 8..]);
            u64::from_le_bytes(head) ^ u64::from_le_bytes(tail).rotate_left(29)
        }
    } ^ (bytes.len() as u64).rotate_right(8);
    (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - RECENT.trailing_zeros())) as usize
}

impl LabelCache {
    pub fn id(&mut self, dictionary: &Dictionary, label: &str) -> LabelId {
        let slot = recent_slot(label);
        if let Some((text, id)) = &self.recent[slot]
            && **text == *label
        {
            return *id;
        }
        let id = match self.known.get(label) {
            Some(id) => *id,
            None => {
                let id = dictionary.id(label);
                self.known.insert(label.into(), id);
                id
            }
        };
        self.recent[slot] = Some((label.into(), id));
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
            .map(|i| match i % 4 {
                0 => format!("category_{i}"),
                1 => format!("c{}", i % 37),
                2 => "x".repeat(i % 20),
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
