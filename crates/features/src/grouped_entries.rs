//! Log entries grouped by customer, built from the logs' own memory.
//!
//! The scan leaves every customer's order entries scattered over the workers' chunked logs, in
//! the order the lines came. Features need each customer's entries side by side. A counting
//! sort into a new table would hold the logs and the table at once: at 10M customers, 1.8 GB
//! of logs beside a 1.4 GB table was the run's peak. Here the entries move in two steps, each
//! emptying chunks as it goes and handing them to the next writer, so that no more than a few
//! dozen chunks are ever held beyond the logs themselves:
//!
//! 1. every entry goes to one of about [`BUCKETS`] buckets of consecutive customers, written
//!    into chunks the logs have already given up;
//! 2. bucket after bucket, its entries go to their customers' places in the table, whose chunks
//!    are again those the buckets before it gave up.
//!
//! The table is in chunks too. A customer's entries never straddle two: a customer who does
//! not fit in what is left of a chunk starts the next one, and a customer with more entries
//! than a chunk holds gets a chunk of their own, as long as needed.

use crate::chunked_log::{CHUNK, CHUNK_BITS, ChunkedLog};

/// About how many buckets the first step sorts into: enough that one bucket's share of the
/// table is a small part of it, few enough that the buckets' partly filled chunks are too.
const BUCKETS: usize = 32;

/// Entries grouped by customer: each customer's entries lie together in one chunk.
pub(crate) struct GroupedEntries<T> {
    chunks: Vec<Vec<T>>,
}

impl<T> Default for GroupedEntries<T> {
    fn default() -> Self {
        GroupedEntries { chunks: Vec::new() }
    }
}

/// Where a customer's entries start: the chunk in the high bits, the place in it in the low
/// [`CHUNK_BITS`] (a customer who starts past a chunk's first place fits within [`CHUNK`]).
fn start_of(chunk: usize, offset: usize) -> u32 {
    debug_assert!(offset < CHUNK);
    u32::try_from(chunk << CHUNK_BITS).expect("fewer than 2^32 order entries") | offset as u32
}

/// Where [`GroupedEntries::group`] is writing: the chunk in the high 32 bits, the place in it
/// in the low (a customer's own chunk can be longer than [`CHUNK`]).
fn write_at(chunk: usize, offset: usize) -> u64 {
    ((chunk as u64) << 32) | offset as u64
}

impl<T: Copy> GroupedEntries<T> {
    /// Groups the entries of `logs` by their customer (`customer_of`: an index below
    /// `counts.len()`, where `counts[c]` is how many entries customer `c` has), customers in
    /// index order, each customer's entries in the order the logs hold them. Returns the
    /// table and where each customer's entries start in it (see [`GroupedEntries::slice`];
    /// a customer without entries gets 0). `filler` fills the places between customers that
    /// end a chunk; nothing reads them.
    pub fn group(
        logs: Vec<ChunkedLog<T>>,
        counts: &[u32],
        customer_of: impl Fn(&T) -> u32,
        filler: T,
    ) -> (Self, Vec<u32>) {
        // Where every customer goes, and how long each chunk of the table is.
        let mut chunk_lens: Vec<usize> = Vec::new();
        let mut cursor: Vec<u64> = Vec::with_capacity(counts.len());
        let mut used = CHUNK;
        for &count in counts {
            let count = count as usize;
            if count == 0 {
                cursor.push(0);
                continue;
            }
            if used + count > CHUNK {
                chunk_lens.push(count);
                cursor.push(write_at(chunk_lens.len() - 1, 0));
                // A customer longer than a chunk leaves theirs full.
                used = count;
            } else {
                let last = chunk_lens.len() - 1;
                cursor.push(write_at(last, used));
                chunk_lens[last] += count;
                used += count;
            }
        }
        let chunks_per_bucket = chunk_lens.len().div_ceil(BUCKETS).max(1);
        // Bucket `b` holds the customers whose entries are in chunks
        // `b * chunks_per_bucket ..`; `first_customer[b]` is its first.
        let bucket_of_chunk = |at: u64| (at >> 32) as usize / chunks_per_bucket;
        let buckets = chunk_lens.len().div_ceil(chunks_per_bucket);
        let mut first_customer = vec![counts.len() as u32; buckets];
        for (customer, (&at, &count)) in cursor.iter().zip(counts).enumerate().rev() {
            if count > 0 {
                first_customer[bucket_of_chunk(at)] = customer as u32;
            }
        }
        let bucket_of = |customer: u32| first_customer.partition_point(|&f| f <= customer) - 1;

        // Step 1: into the buckets, each log chunk reused once it is emptied.
        let mut spare: Vec<Vec<T>> = Vec::new();
        let mut bucketed: Vec<ChunkedLog<T>> =
            (0..buckets).map(|_| ChunkedLog::default()).collect();
        for log in logs {
            for mut chunk in log.into_chunks() {
                for entry in chunk.drain(..) {
                    bucketed[bucket_of(customer_of(&entry))].push_reusing(entry, &mut spare);
                }
                spare.push(chunk);
            }
        }

        // Step 2: bucket after bucket into the table, each bucket's chunks reused in turn.
        let mut chunks: Vec<Vec<T>> = Vec::with_capacity(chunk_lens.len());
        for (bucket, entries) in bucketed.into_iter().enumerate() {
            let first = bucket * chunks_per_bucket;
            let end = (first + chunks_per_bucket).min(chunk_lens.len());
            for &len in &chunk_lens[first..end] {
                let mut chunk = match spare.pop() {
                    Some(chunk) if len <= chunk.capacity() => chunk,
                    _ => Vec::with_capacity(len),
                };
                chunk.resize(len, filler);
                chunks.push(chunk);
            }
            for mut source in entries.into_chunks() {
                for entry in source.drain(..) {
                    let at = &mut cursor[customer_of(&entry) as usize];
                    chunks[(*at >> 32) as usize][(*at & u64::from(u32::MAX)) as usize] = entry;
                    *at += 1;
                }
                spare.push(source);
            }
        }
        drop(spare);
        let starts = cursor
            .iter()
            .zip(counts)
            .map(|(&end, &count)| match count {
                0 => 0,
                _ => start_of(
                    (end >> 32) as usize,
                    (end & u64::from(u32::MAX)) as usize - count as usize,
                ),
            })
            .collect();
        (GroupedEntries { chunks }, starts)
    }

    /// The `len` entries from `start` (as [`GroupedEntries::group`] gave it).
    pub fn slice(&self, start: u32, len: u32) -> &[T] {
        if len == 0 {
            return &[];
        }
        let (chunk, offset) = split(start);
        &self.chunks[chunk][offset..offset + len as usize]
    }

    /// Every customer's entries to change in place, given each customer's (start, length) in
    /// customer order (starts as [`GroupedEntries::group`] gave them; a length may be less
    /// than the customer's count, never more).
    pub fn slices_mut(&mut self, spans: impl Iterator<Item = (u32, u32)>) -> Vec<&mut [T]> {
        let mut chunks = self.chunks.iter_mut();
        // The chunk being cut, its index, and where its uncut rest begins.
        let mut current: Option<(usize, &mut [T], usize)> = None;
        let mut next_index = 0usize;
        let mut slices = Vec::new();
        for (start, len) in spans {
            if len == 0 {
                slices.push(Default::default());
                continue;
            }
            let (chunk, offset) = split(start);
            while current.as_ref().is_none_or(|(index, _, _)| *index != chunk) {
                let next = chunks.next().expect("spans within the table, in order");
                current = Some((next_index, next.as_mut_slice(), 0));
                next_index += 1;
            }
            let (_, rest, cut) = current.as_mut().expect("the span's chunk");
            let tail = std::mem::take(rest);
            let (_, tail) = tail.split_at_mut(offset - *cut);
            let (mine, after) = tail.split_at_mut(len as usize);
            *rest = after;
            *cut = offset + len as usize;
            slices.push(mine);
        }
        slices
    }
}

/// A start's chunk and place in it.
fn split(start: u32) -> (usize, usize) {
    (
        (start >> CHUNK_BITS) as usize,
        (start & (CHUNK as u32 - 1)) as usize,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Groups `(customer, n)` pairs pushed in the given order into `logs` logs (round robin).
    fn grouped(
        entries: &[(u32, u32)],
        logs: usize,
        customers: usize,
    ) -> (GroupedEntries<(u32, u32)>, Vec<u32>, Vec<u32>) {
        let mut split_logs: Vec<ChunkedLog<(u32, u32)>> =
            (0..logs).map(|_| ChunkedLog::default()).collect();
        let mut counts = vec![0u32; customers];
        for (i, &entry) in entries.iter().enumerate() {
            split_logs[i % logs].push(entry);
            counts[entry.0 as usize] += 1;
        }
        let (table, starts) = GroupedEntries::group(split_logs, &counts, |e| e.0, (u32::MAX, 0));
        (table, starts, counts)
    }

    /// What a plain stable sort by customer gives, customer by customer.
    fn expected(entries: &[(u32, u32)], logs: usize, customers: usize) -> Vec<Vec<(u32, u32)>> {
        let mut by_customer = vec![Vec::new(); customers];
        for l in 0..logs {
            for (i, &entry) in entries.iter().enumerate() {
                if i % logs == l {
                    by_customer[entry.0 as usize].push(entry);
                }
            }
        }
        by_customer
    }

    #[test]
    fn every_customer_gets_their_entries_in_log_order() {
        // Interleaved customers, some with none, one longer than a chunk, many that do not
        // fit what is left of a chunk: 400k entries over 40k customers.
        let customers = 40_000usize;
        let mut entries = Vec::new();
        let mut state = 7u64;
        for n in 0..400_000u32 {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let customer = match n % 5 {
                0 => 123,
                _ => ((state >> 33) % customers as u64) as u32,
            };
            if customer % 97 != 0 {
                entries.push((customer, n));
            }
        }
        for logs in [1, 3] {
            let (table, starts, counts) = grouped(&entries, logs, customers);
            assert!(
                counts[123] as usize > CHUNK,
                "one customer spans more than a chunk"
            );
            let want = expected(&entries, logs, customers);
            for customer in 0..customers {
                assert_eq!(
                    table.slice(starts[customer], counts[customer]),
                    want[customer].as_slice(),
                    "customer {customer}, {logs} logs"
                );
            }
        }
    }

    #[test]
    fn slices_to_change_are_each_customers_own() {
        let entries: Vec<(u32, u32)> = (0..200_000u32).map(|n| ((n * 7919) % 5_003, n)).collect();
        let (mut table, starts, counts) = grouped(&entries, 2, 5_003);
        // Keep a shorter stretch of some customers, as merging an order's entries does.
        let spans: Vec<(u32, u32)> = starts
            .iter()
            .zip(&counts)
            .enumerate()
            .map(|(c, (&s, &n))| (s, if c % 3 == 0 { n / 2 } else { n }))
            .collect();
        for (slice, &(s, n)) in table
            .slices_mut(spans.iter().copied())
            .into_iter()
            .zip(&spans)
        {
            assert_eq!(slice.len(), n as usize);
            for entry in slice.iter_mut() {
                entry.1 = s;
            }
        }
        for (c, &(s, n)) in spans.iter().enumerate() {
            assert!(
                table
                    .slice(s, n)
                    .iter()
                    .all(|e| e.0 == c as u32 && e.1 == s),
                "customer {c}"
            );
        }
    }

    #[test]
    fn no_entries_at_all() {
        let (table, starts, _) = grouped(&[], 2, 10);
        assert_eq!(starts, vec![0; 10]);
        assert!(table.slice(0, 0).is_empty());
    }
}
