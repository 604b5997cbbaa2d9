//! An append-only log in fixed-size chunks.
//!
//! A `Vec` that grows to hundreds of megabytes by doubling copies everything it holds at each
//! step and touches about twice its final size in fresh pages, which on these machines costs
//! more than the parsing that fills it. Chunks never move: appending costs one fresh chunk now
//! and then, and an entry keeps its index for life.

/// Entries per chunk (a power of two, so that an index splits with a shift and a mask).
const CHUNK_BITS: u32 = 16;
const CHUNK: usize = 1 << CHUNK_BITS;

/// The log: entries addressed by the order they were appended.
/// Every chunk but the last is full.
pub(crate) struct ChunkedLog<T> {
    chunks: Vec<Vec<T>>,
}

impl<T> Default for ChunkedLog<T> {
    fn default() -> Self {
        ChunkedLog { chunks: Vec::new() }
    }
}

impl<T> ChunkedLog<T> {
    /// Appends `value`; returns its index.
    pub fn push(&mut self, value: T) -> usize {
        if self.chunks.last().is_none_or(|last| last.len() == CHUNK) {
            self.chunks.push(Vec::with_capacity(CHUNK));
        }
        let full = (self.chunks.len() - 1) * CHUNK;
        let last = self.chunks.last_mut().expect("a chunk with room");
        last.push(value);
        full + last.len() - 1
    }

    /// The entry at `index`.
    pub fn get_mut(&mut self, index: usize) -> &mut T {
        &mut self.chunks[index >> CHUNK_BITS][index & (CHUNK - 1)]
    }

    /// The entries in order.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.chunks.iter().flatten()
    }

    /// The entries in order, freeing each chunk once it is read.
    pub fn into_entries(self) -> impl Iterator<Item = T> {
        self.chunks.into_iter().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_hold_across_chunks() {
        let mut log = ChunkedLog::default();
        for i in 0..(2 * CHUNK + 5) as u64 {
            assert_eq!(log.push(i * 3), i as usize);
        }
        assert_eq!(log.iter().count(), 2 * CHUNK + 5);
        *log.get_mut(CHUNK + 1) += 1;
        assert_eq!(*log.get_mut(CHUNK + 1), (CHUNK as u64 + 1) * 3 + 1);
        let all: Vec<u64> = log.into_entries().collect();
        assert_eq!(all.len(), 2 * CHUNK + 5);
        assert_eq!(all[2 * CHUNK + 4], (2 * CHUNK as u64 + 4) * 3);
        assert_eq!(all[CHUNK - 1], (CHUNK as u64 - 1) * 3);
    }
}
