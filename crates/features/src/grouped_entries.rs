//! Log entries grouped by customer, built from the logs' own memory, on all cores.
//!
//! The scan leaves every customer's order entries scattered over the workers' chunked logs, in
//! the order the lines came. Features need each customer's entries side by side. A counting
//! sort into a new table would hold the logs and the table at once: at 10M customers, 1.8 GB
//! of logs beside a 1.4 GB table was the run's peak. Here the entries move in two steps, each
//! emptying chunks as it goes and handing them to the next writer, so that no more than a few
//! dozen chunks are ever held beyond the logs themselves:
//!
//! 1. every entry goes to one of about [`BUCKETS`] buckets of consecutive customers, written
//!    into chunks the logs have already given up (the logs' chunks split in as many runs as
//!    there are threads, each run sorted into buckets of its own);
//! 2. each bucket counts its customers' entries, lays out their places in its own chunks of
//!    the table, and moves its entries there, reusing the chunks the logs and other buckets gave
//!    up. Buckets hold disjoint customers and write disjoint chunks, so they run in parallel.
//!
//! At 10M customers this was two seconds on one core, with the other idle, between the scan
//! and the features.
//!
//! The table is in chunks too. A customer's entries never straddle two: a customer who does
//! not fit in what is left of a chunk starts the next one, and a customer with more entries
//! than a chunk holds gets a chunk of their own, as long as needed.

use std::sync::Mutex;

use rayon::prelude::*;

use crate::chunked_log::{CHUNK, CHUNK_BITS, ChunkedLog};

/// At most how many buckets the first step sorts into: enough that the buckets being placed at
/// once are a small part of the table, few enough that their partly filled chunks are too.
const BUCKETS: usize = 64;

/// Chunks of entries a bucket gets at least, when there are entries enough: each bucket ends
/// in a partly filled chunk in both steps, so a bucket of about one chunk (64 buckets over the
/// 72 chunks of a 1M-customer log) held a third more than its entries: the grouped table
/// took 170 MB for 132 MB of logs, 133 MB with the 13 buckets this gives. Larger buckets would
/// hold more chunks at once while they are placed.
const BUCKET_CHUNKS: usize = 4;

/// Entries grouped by customer: each customer's entries lie together in one chunk.
pub(crate) struct GroupedEntries<T> {
    chunks: Vec<Vec<T>>,
}

impl<T> Default for GroupedEntries<T> {
    fn default() -> Self {
        GroupedEntries { chunks: Vec::new() }
    }
}

/// What [`GroupedEntries::group`] gives: the table, and for each customer where their entries
/// start in it (see [`GroupedEntries::slice`]; 0 for a customer without entries) and how many
/// there are.
pub(crate) struct Grouped<T> {
    pub table: GroupedEntries<T>,
    pub starts: Vec<u32>,
    pub counts: Vec<u32>,
}

/// Where a customer's entries start: the chunk in the high bits, the place in it in the low
/// [`CHUNK_BITS`] (a customer who starts past a chunk's first place fits within [`CHUNK`]).
fn start_of(chunk: usize, offset: usize) -> u32 {
    debug_assert!(offset < CHUNK);
    u32::try_from(chunk << CHUNK_BITS).expect("fewer than 2^32 order entries") | offset as u32
}

/// Where a bucket is writing: its chunk in the high 32 bits, the place in it in the low (a
/// customer's own chunk can be longer than [`CHUNK`]).
fn write_at(chunk: usize, offset: usize) -> u64 {
    ((chunk as u64) << 32) | offset as u64
}

/// The chunk and place [`write_at`] packed.
fn written_at(at: u64) -> (usize, usize) {
    ((at >> 32) as usize, (at & u64::from(u32::MAX)) as usize)
}

/// One run of log chunks sorted into buckets: each bucket's log, and the emptied chunks the
/// buckets did not take.
struct SortedRun<T> {
    bucketed: Vec<ChunkedLog<T>>,
    spare: Vec<Vec<T>>,
}

/// How a bucket's customers lie in its chunks of the table.
struct BucketLayout {
    /// Where the bucket's chunks start among the table's.
    first_chunk: usize,
    /// Each chunk's length.
    chunk_lens: Vec<usize>,
    /// Each customer's next place ([`write_at`]); after the move, the end of their entries.
    cursor: Vec<u64>,
}

impl BucketLayout {
    /// Customers one after another, each within one chunk (see the module's doc).
    fn new(counts: &[u32]) -> Self {
        let mut chunk_lens: Vec<usize> = Vec::new();
        let mut cursor = Vec::with_capacity(counts.len());
        let mut used = CHUNK;
        for &count in counts {
            let count = count as usize;
            if count == 0 {
                cursor.push(0);
            } else if used + count > CHUNK {
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
        BucketLayout {
            first_chunk: 0,
            chunk_lens,
            cursor,
        }
    }
}

/// The bucket width's power of two for `customers` with `entries` in all: the narrowest that
/// needs no more buckets than [`BUCKETS`], nor than one per [`BUCKET_CHUNKS`] chunks of entries
/// (but one per thread at least, so that the buckets are placed on all cores).
fn bucket_shift(customers: usize, entries: usize) -> u32 {
    let buckets =
        (entries / (BUCKET_CHUNKS * CHUNK)).clamp(rayon::current_num_threads().max(1), BUCKETS);
    let width = customers.div_ceil(buckets).max(1);
    width.next_power_of_two().trailing_zeros()
}

/// `items` cut into at most `runs` runs of about equal length, in order.
fn in_runs<I>(items: Vec<I>, runs: usize) -> Vec<Vec<I>> {
    let per_run = items.len().div_ceil(runs.max(1)).max(1);
    let mut runs = Vec::new();
    let mut items = items.into_iter().peekable();
    while items.peek().is_some() {
        runs.push(items.by_ref().take(per_run).collect());
    }
    runs
}

impl<T: Copy + Send + Sync> GroupedEntries<T> {
    /// Groups the entries of `logs` by their customer, customers in index order, each
    /// customer's entries in the order the logs hold them. `renumber(log, entry)` is called on
    /// every entry first (log: its index in `logs`), then `customer_of` must give an index
    /// below `customers`. `filler` fills the places between customers that end a chunk;
    /// nothing reads them.
    pub fn group(
        logs: Vec<ChunkedLog<T>>,
        customers: usize,
        renumber: impl Fn(usize, &mut T) + Sync,
        customer_of: impl Fn(&T) -> u32 + Sync,
        filler: T,
    ) -> Grouped<T> {
        let shift = bucket_shift(customers, logs.iter().map(ChunkedLog::len).sum());
        Self::group_in_buckets(logs, customers, shift, renumber, customer_of, filler)
    }

    /// [`GroupedEntries::group`] in buckets of `1 << shift` customers.
    fn group_in_buckets(
        logs: Vec<ChunkedLog<T>>,
        customers: usize,
        shift: u32,
        renumber: impl Fn(usize, &mut T) + Sync,
        customer_of: impl Fn(&T) -> u32 + Sync,
        filler: T,
    ) -> Grouped<T> {
        let width = 1usize << shift;
        let buckets = customers.div_ceil(width);

        // Step 1: into the buckets, each run of log chunks on its own, each log chunk reused
        // once it is emptied.
        let log_chunks: Vec<(usize, Vec<T>)> = logs
            .into_iter()
            .enumerate()
            .flat_map(|(log, entries)| entries.into_chunks().into_iter().map(move |c| (log, c)))
            .collect();
        let sorted_runs: Vec<SortedRun<T>> = in_runs(log_chunks, rayon::current_num_threads())
            .into_par_iter()
            .map(|run| {
                let mut spare: Vec<Vec<T>> = Vec::new();
                let mut bucketed: Vec<ChunkedLog<T>> =
                    (0..buckets).map(|_| ChunkedLog::default()).collect();
                for (log, mut chunk) in run {
                    for mut entry in chunk.drain(..) {
                        renumber(log, &mut entry);
                        let bucket = (customer_of(&entry) >> shift) as usize;
                        bucketed[bucket].push_reusing(entry, &mut spare);
                    }
                    spare.push(chunk);
                }
                SortedRun { bucketed, spare }
            })
            .collect();
        // Each bucket's chunks, runs in log order (so each customer's entries stay in it).
        let mut spare: Vec<Vec<T>> = Vec::new();
        let mut sources: Vec<Vec<Vec<T>>> = (0..buckets).map(|_| Vec::new()).collect();
        for SortedRun {
            bucketed,
            spare: run_spare,
        } in sorted_runs
        {
            spare.extend(run_spare);
            for (source, log) in sources.iter_mut().zip(bucketed) {
                source.extend(log.into_chunks());
            }
        }

        // Step 2a: each bucket counts its customers' entries and lays them out.
        let mut counts = vec![0u32; customers];
        let mut layouts: Vec<BucketLayout> = sources
            .par_iter()
            .zip(counts.par_chunks_mut(width))
            .enumerate()
            .map(|(bucket, (source, counts))| {
                let first = (bucket << shift) as u32;
                for entry in source.iter().flatten() {
                    counts[(customer_of(entry) - first) as usize] += 1;
                }
                BucketLayout::new(counts)
            })
            .collect();
        let mut total_chunks = 0usize;
        for layout in &mut layouts {
            layout.first_chunk = total_chunks;
            total_chunks += layout.chunk_lens.len();
        }

        // Step 2b: each bucket moves its entries to their places, in chunks taken from those
        // already emptied where they are long enough.
        let spare = Mutex::new(spare);
        let take_spare = || spare.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let give_spare = |chunk| spare.lock().unwrap_or_else(|e| e.into_inner()).push(chunk);
        let mut starts = vec![0u32; customers];
        let placed: Vec<Vec<Vec<T>>> = sources
            .into_par_iter()
            .zip(layouts)
            .zip(starts.par_chunks_mut(width).zip(counts.par_chunks(width)))
            .enumerate()
            .map(|(bucket, ((source, layout), (starts, counts)))| {
                let first = (bucket << shift) as u32;
                let BucketLayout {
                    first_chunk,
                    chunk_lens,
                    mut cursor,
                } = layout;
                let mut chunks: Vec<Vec<T>> = chunk_lens
                    .iter()
                    .map(|&len| {
                        let mut chunk = match take_spare() {
                            Some(chunk) if len <= chunk.capacity() => chunk,
                            Some(short) => {
                                give_spare(short);
                                Vec::with_capacity(len)
                            }
                            None => Vec::with_capacity(len),
                        };
                        chunk.resize(len, filler);
                        chunk
                    })
                    .collect();
                for mut from in source {
                    for entry in from.drain(..) {
                        let at = &mut cursor[(customer_of(&entry) - first) as usize];
                        let (chunk, offset) = written_at(*at);
                        chunks[chunk][offset] = entry;
                        *at += 1;
                    }
                    give_spare(from);
                }
                for ((start, &end), &count) in starts.iter_mut().zip(&cursor).zip(counts) {
                    if count > 0 {
                        let (chunk, end) = written_at(end);
                        *start = start_of(first_chunk + chunk, end - count as usize);
                    }
                }
                chunks
            })
            .collect();
        drop(spare);
        let mut chunks = Vec::with_capacity(total_chunks);
        for bucket in placed {
            chunks.extend(bucket);
        }
        Grouped {
            table: GroupedEntries { chunks },
            starts,
            counts,
        }
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

    /// Groups `(customer, n)` pairs pushed in the given order into `logs` logs (round robin),
    /// on `threads` threads. Odd logs hold their customers numbered backwards, as a worker's
    /// own slots are, and the grouping renumbers them.
    fn grouped(
        entries: &[(u32, u32)],
        logs: usize,
        customers: usize,
        threads: usize,
    ) -> (GroupedEntries<(u32, u32)>, Vec<u32>, Vec<u32>) {
        grouped_in(entries, logs, customers, threads, None)
    }

    /// [`grouped`] in buckets of `1 << shift` customers when given, as `group` chooses them
    /// otherwise.
    fn grouped_in(
        entries: &[(u32, u32)],
        logs: usize,
        customers: usize,
        threads: usize,
        shift: Option<u32>,
    ) -> (GroupedEntries<(u32, u32)>, Vec<u32>, Vec<u32>) {
        let own_slot = |log: usize, customer: u32| match log % 2 {
            0 => customer,
            _ => customers as u32 - 1 - customer,
        };
        let mut split_logs: Vec<ChunkedLog<(u32, u32)>> =
            (0..logs).map(|_| ChunkedLog::default()).collect();
        let mut counts = vec![0u32; customers];
        for (i, &(customer, n)) in entries.iter().enumerate() {
            split_logs[i % logs].push((own_slot(i % logs, customer), n));
            counts[customer as usize] += 1;
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("a thread pool");
        let renumber = |log, e: &mut (u32, u32)| e.0 = own_slot(log, e.0);
        let grouped = pool.install(|| match shift {
            None => GroupedEntries::group(split_logs, customers, renumber, |e| e.0, (u32::MAX, 0)),
            Some(shift) => GroupedEntries::group_in_buckets(
                split_logs,
                customers,
                shift,
                renumber,
                |e| e.0,
                (u32::MAX, 0),
            ),
        });
        assert_eq!(grouped.counts, counts);
        (grouped.table, grouped.starts, counts)
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
        // As `group` chooses the buckets (one per thread for this few entries), and in 64
        // buckets as for a large base.
        let many = Some(
            (customers.div_ceil(BUCKETS))
                .next_power_of_two()
                .trailing_zeros(),
        );
        for (logs, threads, shift) in [
            (1, 1, None),
            (1, 3, None),
            (3, 2, None),
            (3, 4, None),
            (1, 1, many),
            (3, 2, many),
        ] {
            let (table, starts, counts) = grouped_in(&entries, logs, customers, threads, shift);
            assert!(
                counts[123] as usize > CHUNK,
                "one customer spans more than a chunk"
            );
            let want = expected(&entries, logs, customers);
            for customer in 0..customers {
                assert_eq!(
                    table.slice(starts[customer], counts[customer]),
                    want[customer].as_slice(),
                    "customer {customer}, {logs} logs, {threads} threads"
                );
            }
        }
    }

    /// A bucket spans at least [`BUCKET_CHUNKS`] chunks of entries when there are enough of them,
    /// at most [`BUCKETS`] buckets, at least one per thread.
    #[test]
    fn buckets_follow_the_entries() {
        let buckets = |customers: usize, entries: usize| {
            customers.div_ceil(1 << bucket_shift(customers, entries))
        };
        let threads = rayon::current_num_threads().max(1);
        // A 1M-customer log in time order: 4.7M entries, 72 chunks; the bucket width is a
        // power of two, so there are between half and all of one bucket per BUCKET_CHUNKS.
        let one_million = buckets(825_307, 4_700_000);
        let most = 4_700_000 / (BUCKET_CHUNKS * CHUNK);
        assert!(
            (most / 2..=most).contains(&one_million),
            "{one_million} of {most}"
        );
        assert!(one_million >= threads);
        // 10M customers: 47.6M entries, as many buckets as allowed.
        assert!((33..=BUCKETS).contains(&buckets(8_250_421, 47_600_000)));
        assert!(buckets(1_000, 10) >= threads.min(1_000));
    }

    #[test]
    fn slices_to_change_are_each_customers_own() {
        let entries: Vec<(u32, u32)> = (0..200_000u32).map(|n| ((n * 7919) % 5_003, n)).collect();
        let (mut table, starts, counts) = grouped(&entries, 2, 5_003, 2);
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
        let (table, starts, _) = grouped(&[], 2, 10, 2);
        assert_eq!(starts, vec![0; 10]);
        assert!(table.slice(0, 0).is_empty());
    }
}
