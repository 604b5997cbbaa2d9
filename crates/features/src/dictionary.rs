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

/// A thread's cache of label ids.
#[derive(Default)]
pub(crate) struct LabelCache {
    known: foldhash::HashMap<Box<str>, LabelId>,
}

impl LabelCache {
    pub fn id(&mut self, dictionary: &Dictionary, label: &str) -> LabelId {
        if let Some(id) = self.known.get(label) {
            return *id;
        }
        let id = dictionary.id(label);
        self.known.insert(label.into(), id);
        id
    }
}
