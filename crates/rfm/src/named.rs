//! Named RFM segments: the usual marketing map over recency and frequency-monetary.
//!
//! Scores are first put on a 1–5 scale, end to end (`level = 1 + round(4·(score − 1)/(bins − 1))`,
//! so score 1 is level 1 and score `bins` is level 5 whatever the bins), F and M are combined as
//! FM = ⌈(F + M) / 2⌉, and the (R, FM) cell names the segment. Every segment is reachable with
//! 4, 5 or 10 bins (tested).
//!
//! | R \ FM | 1 | 2 | 3 | 4 | 5 |
//! |---|---|---|---|---|---|
//! | 5 | New | Potential loyalist | Potential loyalist | Champions | Champions |
//! | 4 | Promising | Potential loyalist | Loyal | Champions | Champions |
//! | 3 | About to sleep | Need attention | Need attention | Loyal | Loyal |
//! | 2 | Hibernating | About to sleep | Need attention | At risk | Can't lose them |
//! | 1 | Lost | Hibernating | At risk | At risk | Can't lose them |

use serde::Serialize;

/// A named RFM segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum RfmSegment {
    /// Bought recently, often, and spent the most.
    Champions,
    /// Buy regularly and spend well.
    Loyal,
    /// Recent customers with average frequency.
    PotentialLoyalist,
    /// Bought very recently, once or rarely.
    New,
    /// Recent, but little bought yet.
    Promising,
    /// Middling on every score.
    NeedAttention,
    /// Below average recency and frequency.
    AboutToSleep,
    /// Used to buy well, not recently.
    AtRisk,
    /// Were among the best, long gone.
    CantLoseThem,
    /// Long ago, little.
    Hibernating,
    /// Lowest on every score.
    Lost,
}

impl RfmSegment {
    /// Every segment, best first.
    pub const ALL: [RfmSegment; 11] = [
        RfmSegment::Champions,
        RfmSegment::Loyal,
        RfmSegment::PotentialLoyalist,
        RfmSegment::New,
        RfmSegment::Promising,
        RfmSegment::NeedAttention,
        RfmSegment::AboutToSleep,
        RfmSegment::AtRisk,
        RfmSegment::CantLoseThem,
        RfmSegment::Hibernating,
        RfmSegment::Lost,
    ];

    /// The segment's display name, as written in outputs.
    pub fn name(self) -> &'static str {
        match self {
            RfmSegment::Champions => "Champions",
            RfmSegment::Loyal => "Loyal",
            RfmSegment::PotentialLoyalist => "Potential loyalist",
            RfmSegment::New => "New",
            RfmSegment::Promising => "Promising",
            RfmSegment::NeedAttention => "Need attention",
            RfmSegment::AboutToSleep => "About to sleep",
            RfmSegment::AtRisk => "At risk",
            RfmSegment::CantLoseThem => "Can't lose them",
            RfmSegment::Hibernating => "Hibernating",
            RfmSegment::Lost => "Lost",
        }
    }

    /// The segment of scores `r`, `f`, `m` (each 1..=bins).
    ///
    /// ```
    /// use lookalike_rfm::RfmSegment;
    /// assert_eq!(RfmSegment::of(5, 5, 5, 5), RfmSegment::Champions);
    /// assert_eq!(RfmSegment::of(1, 1, 1, 5), RfmSegment::Lost);
    /// assert_eq!(RfmSegment::of(10, 1, 1, 10), RfmSegment::New);
    /// ```
    pub fn of(r: u8, f: u8, m: u8, bins: u8) -> RfmSegment {
        use RfmSegment::*;
        const GRID: [[RfmSegment; 5]; 5] = [
            [Lost, Hibernating, AtRisk, AtRisk, CantLoseThem],
            [
                Hibernating,
                AboutToSleep,
                NeedAttention,
                AtRisk,
                CantLoseThem,
            ],
            [AboutToSleep, NeedAttention, NeedAttention, Loyal, Loyal],
            [Promising, PotentialLoyalist, Loyal, Champions, Champions],
            [
                New,
                PotentialLoyalist,
                PotentialLoyalist,
                Champions,
                Champions,
            ],
        ];
        let span = (bins.max(2) - 1) as f64;
        let level = |score: u8| {
            (1.0 + (4.0 * (score.max(1) - 1) as f64 / span).round()).clamp(1.0, 5.0) as usize
        };
        let fm = (level(f) + level(m)).div_ceil(2);
        GRID[level(r) - 1][fm - 1]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_named_segment_is_reachable_at_every_bin_count() {
        for bins in [4u8, 5, 10] {
            let mut seen = std::collections::BTreeSet::new();
            for r in 1..=bins {
                for f in 1..=bins {
                    for m in 1..=bins {
                        seen.insert(RfmSegment::of(r, f, m, bins));
                    }
                }
            }
            assert_eq!(seen.len(), 11, "bins {bins}: {seen:?}");
        }
    }

    #[test]
    fn grid_cells() {
        assert_eq!(RfmSegment::of(5, 1, 1, 5), RfmSegment::New);
        assert_eq!(RfmSegment::of(4, 1, 1, 5), RfmSegment::Promising);
        assert_eq!(RfmSegment::of(1, 5, 5, 5), RfmSegment::CantLoseThem);
        assert_eq!(RfmSegment::of(3, 3, 3, 5), RfmSegment::NeedAttention);
        assert_eq!(RfmSegment::of(2, 4, 3, 5), RfmSegment::AtRisk);
        assert_eq!(RfmSegment::of(4, 2, 2, 5), RfmSegment::PotentialLoyalist);
        assert_eq!(RfmSegment::of(4, 2, 3, 5), RfmSegment::Loyal);
        assert_eq!(RfmSegment::of(2, 3, 3, 5), RfmSegment::NeedAttention);
        // Quartiles and deciles reach both ends of the grid.
        assert_eq!(RfmSegment::of(1, 1, 1, 4), RfmSegment::Lost);
        assert_eq!(RfmSegment::of(4, 4, 4, 4), RfmSegment::Champions);
        assert_eq!(RfmSegment::of(1, 10, 10, 10), RfmSegment::CantLoseThem);
    }
}
