//! The hash sample of candidates a scorer is fitted against when an audience sets
//! `candidate_sample`: the candidates with the lowest xxh3-64 hash of their id (seeded with the
//! audience's random seed), equal hashes by id. Who is in it depends on the ids only, not on
//! the order of the base or how it is split, so a base in parts (Spark partitions) and one
//! process draw the same customers, in the same order.

use xxhash_rust::xxh3::xxh3_64_with_seed;

/// The key that orders customers for the sample.
pub fn sample_key(id: &str, seed: u64) -> u64 {
    xxh3_64_with_seed(id.as_bytes(), seed)
}

/// The `size` rows of `candidates` with the lowest (key, id), in that order; `ids[row]` is each
/// row's customer id.
///
/// ```
/// use lookalike_audience::candidate_sample;
/// let ids = ["a", "b", "c", "d", "e"];
/// let all = candidate_sample(&ids, &[0, 1, 2, 3, 4], 5, 7);
/// let some = candidate_sample(&ids, &[4, 3, 2, 1, 0], 2, 7);
/// assert_eq!(some, all[..2].to_vec());
/// ```
pub fn candidate_sample(ids: &[&str], candidates: &[usize], size: usize, seed: u64) -> Vec<usize> {
    let mut keyed: Vec<(u64, &str, usize)> = candidates
        .iter()
        .map(|row| (sample_key(ids[*row], seed), ids[*row], *row))
        .collect();
    if size < keyed.len() && size > 0 {
        keyed.select_nth_unstable(size - 1);
    }
    keyed.truncate(size);
    keyed.sort_unstable();
    keyed.into_iter().map(|(_, _, row)| row).collect()
}
