//! Splitting a customer base by a hash of the id.
//!
//! A batch scheduler scores a base across machines (`score --partition i/n`) and one machine
//! reads a base too large for memory in several passes (`score --passes N`); both keep the
//! customers whose id hashes into one part. The hash is xxh3-64 of the id's UTF-8 bytes with a
//! fixed seed, documented in `models/README.md`, so any other tool can split a base the same way.

/// Seed of the `--partition` hash: not 0, so partitions are independent of the audiences'
/// control groups (whose hash uses the audience's salt, 0 by default).
pub const PARTITION_HASH_SEED: u64 = 0x9E37_79B9_7F4A_7C15;

/// Seed of the `--passes` hash: another seed again, so the passes split each `--partition`
/// evenly instead of all falling into one of its residues.
pub const PASS_HASH_SEED: u64 = 0xC2B2_AE3D_27D4_EB4F;

/// Part `index` of `count` (0 ≤ index < count) of the ids, under a hash `seed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdPartition {
    /// Which part, from 0.
    pub index: u64,
    /// How many parts.
    pub count: u64,
    /// The hash seed.
    pub seed: u64,
}

impl IdPartition {
    /// Part `index` of `count`, with the `--partition` seed; `None` unless 0 ≤ index < count.
    pub fn new(index: u64, count: u64) -> Option<Self> {
        Self::with_seed(index, count, PARTITION_HASH_SEED)
    }

    /// Part `index` of `count` under `seed`; `None` unless 0 ≤ index < count.
    pub fn with_seed(index: u64, count: u64, seed: u64) -> Option<Self> {
        (index < count).then_some(IdPartition { index, count, seed })
    }

    /// Parses `"i/n"` (the `--partition` seed).
    pub fn parse(text: &str) -> Option<Self> {
        let (i, n) = text.split_once('/')?;
        Self::new(i.trim().parse().ok()?, n.trim().parse().ok()?)
    }

    /// Whether the customer `id` is in this part.
    pub fn contains(&self, id: &str) -> bool {
        xxhash_rust::xxh3::xxh3_64_with_seed(id.as_bytes(), self.seed) % self.count == self.index
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_id_is_in_exactly_one_part() {
        let parts: Vec<IdPartition> = (0..4).map(|i| IdPartition::new(i, 4).unwrap()).collect();
        let mut sizes = [0usize; 4];
        for n in 0..40_000 {
            let id = format!("C{n:08}");
            let owners: Vec<usize> = (0..4).filter(|p| parts[*p].contains(&id)).collect();
            assert_eq!(owners.len(), 1, "{id}");
            sizes[owners[0]] += 1;
        }
        // Even within a few percent: a hash that ignored part of the id would not be.
        assert!(sizes.iter().all(|s| s.abs_diff(10_000) < 400), "{sizes:?}");
    }

    #[test]
    fn passes_split_each_partition_evenly() {
        let partition = IdPartition::new(1, 2).unwrap();
        let pass = IdPartition::with_seed(0, 2, PASS_HASH_SEED).unwrap();
        let ids: Vec<String> = (0..20_000).map(|n| format!("C{n:08}")).collect();
        let mine: Vec<&String> = ids.iter().filter(|id| partition.contains(id)).collect();
        let first_pass = mine.iter().filter(|id| pass.contains(id)).count();
        assert!(
            first_pass.abs_diff(mine.len() / 2) < 300,
            "{first_pass} of {}",
            mine.len()
        );
    }

    #[test]
    fn parse_checks_the_bounds() {
        assert_eq!(IdPartition::parse("2/3"), IdPartition::new(2, 3));
        assert_eq!(IdPartition::parse(" 0 / 1 ").map(|p| p.count), Some(1));
        for bad in ["3/3", "1/0", "a/2", "1", "-1/2"] {
            assert!(IdPartition::parse(bad).is_none(), "{bad}");
        }
    }

    /// The hash is part of the file format: values computed independently with Python's
    /// `xxhash.xxh3_64_intdigest(id, seed=0x9E3779B97F4A7C15)` (xxhash 3.x): C00000001 →
    /// 16116896591573217069, part 0 of 7; "42" → 3334155408463175489, part 4 of 7.
    #[test]
    fn the_hash_matches_an_independent_implementation() {
        let part_of = |id: &str| (0..7).find(|i| IdPartition::new(*i, 7).unwrap().contains(id));
        assert_eq!(part_of("C00000001"), Some(0));
        assert_eq!(part_of("42"), Some(4));
        let two_parts = |id: &str| {
            IdPartition::new(16116896591573217069 % 2, 2)
                .unwrap()
                .contains(id)
        };
        assert!(two_parts("C00000001"));
    }
}
