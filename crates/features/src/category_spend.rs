//! A customer's purchase spend per category, eight bytes a category.
//!
//! Every customer holds one of these through the whole extraction, so at 10M customers its size
//! is hundreds of megabytes: as (label, amount) pairs of 16 bytes, a customer buying in five
//! categories held a 128-byte allocation. Nearly always the label is small (a few dozen
//! categories) and the sum fits 48 bits (±14 billion in currency at the fixed-point scale), so
//! both go in one word. Anything larger is kept exactly, in two words after a marker. Two
//! words are held in place of the vector's pointer and capacity (a third of the customers buy
//! in one or two categories): those customers allocate nothing, and every customer's first
//! lines add up without reading memory elsewhere.

use smallvec::SmallVec;

use crate::dictionary::LabelId;

/// The top bit of a word: set, the word is a marker for a wide pair (its low 32 bits the label,
/// the next word the amount); clear, the word is packed.
const WIDE: u64 = 1 << 63;
/// Bits of the amount in a packed word, below the label.
const AMOUNT_BITS: u32 = 48;
const AMOUNT_MASK: u64 = (1 << AMOUNT_BITS) - 1;
/// Labels below this are packed (15 bits between the marker bit and the amount).
const PACKED_LABELS: LabelId = 1 << 15;

/// Spend per category label: each label once, in no order until [`CategorySpend::sort`].
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct CategorySpend(SmallVec<[u64; 2]>);

/// Whether `amount` fits a packed word's 48-bit two's complement.
fn packs(amount: i64) -> bool {
    (-(1i64 << (AMOUNT_BITS - 1))..(1i64 << (AMOUNT_BITS - 1))).contains(&amount)
}

fn packed(label: LabelId, amount: i64) -> u64 {
    (u64::from(label) << AMOUNT_BITS) | (amount as u64 & AMOUNT_MASK)
}

/// The (label, amount) of a packed word.
fn unpack(word: u64) -> (LabelId, i64) {
    let label = (word >> AMOUNT_BITS) as LabelId;
    // Sign-extend the 48-bit amount.
    let amount = ((word << (64 - AMOUNT_BITS)) as i64) >> (64 - AMOUNT_BITS);
    (label, amount)
}

impl CategorySpend {
    /// The first word held (0: none), read ahead of [`CategorySpend::add`]: past two
    /// categories the words are on the heap, a cache miss of their own.
    pub fn first_word(&self) -> u64 {
        self.0.first().copied().unwrap_or(0)
    }

    /// Adds `amount` to `label`'s spend.
    pub fn add(&mut self, label: LabelId, amount: i64) {
        let words = &mut self.0;
        let mut at = 0;
        while at < words.len() {
            let word = words[at];
            if word & WIDE != 0 {
                if (word & u64::from(u32::MAX)) as LabelId == label {
                    let sum = words[at + 1] as i64 + amount;
                    words[at + 1] = sum as u64;
                    return;
                }
                at += 2;
                continue;
            }
            let (held, sum) = unpack(word);
            if held == label {
                let sum = sum + amount;
                if packs(sum) {
                    words[at] = packed(label, sum);
                } else {
                    words.remove(at);
                    words.extend([WIDE | u64::from(label), sum as u64]);
                }
                return;
            }
            at += 1;
        }
        if label < PACKED_LABELS && packs(amount) {
            words.push(packed(label, amount));
        } else {
            words.extend([WIDE | u64::from(label), amount as u64]);
        }
    }

    /// Every (label, spend).
    pub fn iter(&self) -> impl Iterator<Item = (LabelId, i64)> + '_ {
        let mut words = self.0.iter();
        std::iter::from_fn(move || {
            let word = *words.next()?;
            if word & WIDE != 0 {
                let amount = *words.next().expect("a wide pair's amount after its marker");
                Some(((word & u64::from(u32::MAX)) as LabelId, amount as i64))
            } else {
                Some(unpack(word))
            }
        })
    }

    /// Puts the labels in increasing order.
    pub fn sort(&mut self) {
        if self.0.iter().all(|word| word & WIDE == 0) {
            // Packed words order by label: it is in their high bits, and each label is held once.
            self.0.sort_unstable();
            return;
        }
        let mut pairs: Vec<(LabelId, i64)> = self.iter().collect();
        pairs.sort_unstable();
        self.0.clear();
        for (label, amount) in pairs {
            if label < PACKED_LABELS && packs(amount) {
                self.0.push(packed(label, amount));
            } else {
                self.0.extend([WIDE | u64::from(label), amount as u64]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same sums kept as plain pairs.
    fn plain(adds: &[(LabelId, i64)]) -> Vec<(LabelId, i64)> {
        let mut pairs: Vec<(LabelId, i64)> = Vec::new();
        for &(label, amount) in adds {
            match pairs.iter_mut().find(|(l, _)| *l == label) {
                Some(pair) => pair.1 += amount,
                None => pairs.push((label, amount)),
            }
        }
        pairs.sort_unstable();
        pairs
    }

    fn check(adds: &[(LabelId, i64)]) {
        let mut spend = CategorySpend::default();
        for &(label, amount) in adds {
            spend.add(label, amount);
        }
        spend.sort();
        assert_eq!(spend.iter().collect::<Vec<_>>(), plain(adds), "{adds:?}");
    }

    #[test]
    fn sums_are_exact_packed_or_not() {
        let edge = (1i64 << 47) - 1;
        check(&[]);
        check(&[(3, 10_000), (1, 5), (3, -2_500), (0, 0)]);
        // Negative sums and the edges of a packed word.
        check(&[(2, -edge - 1), (4, edge), (5, -1)]);
        // A sum that outgrows its packed word moves to a wide pair and goes on adding.
        check(&[(7, edge), (8, 1), (7, 1), (7, 5), (8, 2)]);
        // A label too large to pack, and a single amount too large.
        check(&[
            (PACKED_LABELS, 1),
            (9, i64::MAX / 4),
            (PACKED_LABELS, 2),
            (0, 3),
        ]);
        check(&[(LabelId::MAX - 1, -7), (1, 1), (LabelId::MAX - 1, -8)]);
    }

    #[test]
    fn many_labels_in_any_order() {
        let mut adds = Vec::new();
        let mut state = 11u64;
        for _ in 0..2_000 {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let label = ((state >> 40) % 40) as LabelId * 1_000;
            let amount = ((state >> 8) % 1_000_000_000_000) as i64 - 400_000_000_000;
            adds.push((label, amount * 1_000));
        }
        check(&adds);
    }

    #[test]
    fn a_packed_category_costs_one_word() {
        let mut spend = CategorySpend::default();
        for label in 0..6 {
            spend.add(label, 25_000);
        }
        assert_eq!(spend.0.len(), 6);
    }

    #[test]
    fn two_categories_are_held_in_place() {
        assert_eq!(std::mem::size_of::<CategorySpend>(), 24);
        let mut spend = CategorySpend::default();
        spend.add(3, 10);
        spend.add(1, 20);
        spend.add(3, 5);
        assert!(!spend.0.spilled());
        spend.add(7, 1);
        assert!(spend.0.spilled());
        spend.sort();
        assert_eq!(spend.iter().collect::<Vec<_>>(), [(1, 20), (3, 15), (7, 1)]);
    }
}
