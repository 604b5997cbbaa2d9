//! An append-only log in fixed-size chunks.
//!
//! A `Vec` that grows to hundreds of megabytes by doubling copies everything it holds at each
//! step and touches about twice its final size in fresh pages, which on these machines costs
//! more than the parsing that fills it. Chunks never move: appending costs one fresh chunk now
//! and then, and an entry keeps its index for life.

/// Entries per chunk (a power of two, so that an index splits with a shift and a mask).
pub(crate) const CHUNK_BITS: u32 = 16;
pub(crate) const CHUNK: usize = 1 << CHUNK_BITS;

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
        self.push_reusing(value, &mut Vec::new())
    }

    /// Appends `value`, taking a new chunk from `spare` (emptied chunks of another log) when
    /// there is one; returns its index.
    pub fn push_reusing(&mut self, value: T, spare: &mut Vec<Vec<T>>) -> usize {
        if self.chunks.last().is_none_or(|last| last.len() == CHUNK) {
            let chunk = spare.pop().unwrap_or_else(|| Vec::with_capacity(CHUNK));
            debug_assert!(chunk.is_empty() && chunk.capacity() >= CHUNK);
            self.chunks.push(chunk);
        }
        let full = (self.chunks.len() - 1) * CHUNK;
        let last = self.chunks.last_mut().expect("a chunk with room");
        last.push(value);
        full + last.len() - 1
    }

    /// Entries appended.
    pub fn len(&self) -> usize {
        self.chunks.iter().map(Vec::len).sum()
    }

    /// The entry at `index`.
    #[inline]
    pub fn get_mut(&mut self, index: usize) -> &mut T {
        &mut self.chunks[index >> CHUNK_BITS][index & (CHUNK - 1)]
    }

    /// The chunks, in order, to be emptied one by one.
    pub fn into_chunks(self) -> Vec<Vec<T>> {
        self.chunks
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
        *log.get_mut(CHUNK + 1) += 1;
        assert_eq!(*log.get_mut(CHUNK + 1), (CHUNK as u64 + 1) * 3 + 1);
        let all: Vec<u64> = log.into_entries().collect();
        assert_eq!(all.len(), 2 * CHUNK + 5);
        assert_eq!(all[2 * CHUNK + 4], (2 * CHUNK as u64 + 4) * 3);
        assert_eq!(all[CHUNK - 1], (CHUNK as u64 - 1) * 3);
    }
}
