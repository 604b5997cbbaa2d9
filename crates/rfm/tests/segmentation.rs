//! Scores against a brute-force oracle, priorities, consent, determinism and bad input.

use lookalike_core::{CustomerId, FeatureTable};
use lookalike_rfm::{
    Lifecycle, RfmError, RuleSet, SegmentParams, TestChecks, ValueTier, quantile_edges, score,
    segment,
};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The definition, computed the slow way: edge i is the smallest value v such that at least
/// ⌈i·n/k⌉ values are ≤ v; a score counts the edges a value exceeds.
fn oracle_scores(values: &[f64], bins: usize) -> Vec<u8> {
    let n = values.len();
    let edges: Vec<f64> = (1..bins)
        .map(|i| {
            let needed = (i * n).div_ceil(bins);
            let mut candidates: Vec<f64> = values.to_vec();
            candidates.sort_by(f64::total_cmp);
            candidates
                .into_iter()
                .find(|v| values.iter().filter(|x| *x <= v).count() >= needed)
                .unwrap()
        })
        .collect();
    values
        .iter()
        .map(|v| 1 + edges.iter().filter(|e| v > *e).count() as u8)
        .collect()
}

#[test]
fn quantile_scores_match_the_oracle_with_ties_and_tiny_inputs() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for bins in [2usize, 4, 5, 10] {
        for n in [1usize, 2, bins - 1, bins, bins + 1, 37, 500] {
            for distinct in [1u32, 2, 3, 7, 1000] {
                let values: Vec<f64> = (0..n)
                    .map(|_| rng.random_range(0..distinct) as f64 * 1.5)
                    .collect();
                let edges = quantile_edges(&values, bins);
                let got: Vec<u8> = values.iter().map(|v| score(*v, &edges).unwrap()).collect();
                assert_eq!(
                    got,
                    oracle_scores(&values, bins),
                    "bins {bins}, n {n}, distinct {distinct}"
                );
                // Equal values, equal scores; larger values never score lower.
                for (a, sa) in values.iter().zip(&got) {
                    for (b, sb) in values.iter().zip(&got) {
                        assert!(a != b || sa == sb);
                        assert!(a <= b || sa >= sb);
                    }
                }
            }
        }
    }
}

const COLUMNS: [&str; 10] = [
    "days_since_last_purchase",
    "orders",
    "total_spend",
    "frequency",
    "mean_gap_days",
    "monetary_value",
    "marketing_consent",
    "views_30d",
    "abandoned_carts_30d",
    "email_open_rate",
];

/// A random base: buyers with days, orders, spend; some prospects (no purchase).
fn base(n: usize, seed: u64) -> FeatureTable {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut values = Vec::with_capacity(n * (COLUMNS.len() + 1));
    for _ in 0..n {
        let buyer = rng.random_bool(0.8);
        let orders = if buyer {
            rng.random_range(1..30) as f64
        } else {
            0.0
        };
        let nan = f64::NAN;
        values.extend([
            if buyer {
                rng.random_range(0..1000) as f64
            } else {
                nan
            },
            orders,
            if buyer {
                rng.random_range(1..100_000) as f64 / 100.0
            } else {
                0.0
            },
            if buyer { orders - 1.0 } else { nan },
            if orders >= 2.0 {
                rng.random_range(5..200) as f64
            } else {
                nan
            },
            if buyer {
                rng.random_range(1..500) as f64
            } else {
                nan
            },
            rng.random_range(0..2) as f64,
            rng.random_range(0..6) as f64,
            rng.random_range(0..2) as f64,
            if rng.random_bool(0.5) {
                rng.random::<f64>()
            } else {
                nan
            },
            rng.random_range(0..20) as f64,
        ]);
    }
    let ids = (0..n).map(|i| CustomerId::from(format!("c{i}"))).collect();
    let mut names: Vec<String> = COLUMNS.iter().map(|c| c.to_string()).collect();
    names.push("days_since_last_event".into());
    FeatureTable::new(
        ids,
        names,
        Array2::from_shape_vec((n, COLUMNS.len() + 1), values).unwrap(),
    )
    .unwrap()
}

#[test]
fn priorities_resolve_overlaps_and_all_matches_are_listed() {
    let table = base(2_000, 2);
    let rules = RuleSet::from_toml(
        r#"
        [[segment]]
        name = "big"
        rule = "total_spend > 500"
        priority = 1
        [[segment]]
        name = "frequent"
        rule = "orders >= 20"
        priority = 5
        [[segment]]
        name = "also_frequent"
        rule = "orders >= 20"
        priority = 5
        [[segment]]
        name = "champions"
        rule = "rfm_segment == 'Champions' and lifecycle != 'lost'"
        priority = 3
    "#,
    )
    .unwrap();
    let s = segment(&table, &rules, &SegmentParams::new()).unwrap();
    let spend = table.column("total_spend").unwrap();
    let orders = table.column("orders").unwrap();
    let mut overlaps = 0;
    for i in 0..table.len() {
        let big = spend[i] > 500.0;
        let frequent = orders[i] >= 20.0;
        let champion = s.rfm_segment[i].map(|x| x.name()) == Some("Champions")
            && s.lifecycle[i] != Lifecycle::Lost;
        let expected = if frequent {
            Some("frequent") // equal priority: the earlier segment wins
        } else if champion {
            Some("champions")
        } else if big {
            Some("big")
        } else {
            None
        };
        assert_eq!(s.primary_name(i), expected, "customer {i}");
        let listed: Vec<&str> = [
            ("big", big),
            ("frequent", frequent),
            ("also_frequent", frequent),
            ("champions", champion),
        ]
        .iter()
        .filter(|(_, m)| *m)
        .map(|(n, _)| *n)
        .collect();
        assert_eq!(s.segments_of(i), listed.join(";"));
        overlaps += (listed.len() > 1) as usize;
    }
    assert!(
        overlaps > 100,
        "the test needs overlapping segments ({overlaps})"
    );
}

#[test]
fn consent_leaves_customers_out_of_every_segment() {
    let table = base(1_000, 3);
    let rules =
        RuleSet::from_toml("[[segment]]\nname='all'\nrule='orders >= 0'\npriority=1\n").unwrap();
    let s = segment(
        &table,
        &rules,
        &SegmentParams::new().require_consent("marketing_consent"),
    )
    .unwrap();
    let consent = table.column("marketing_consent").unwrap();
    for i in 0..table.len() {
        if consent[i] != 1.0 {
            assert!(
                s.rfm_segment[i].is_none() && s.primary[i].is_none() && s.segments_of(i).is_empty()
            );
        } else {
            assert_eq!(s.primary_name(i), Some("all"));
        }
    }
    let checks = TestChecks {
        min_size: 100,
        ..Default::default()
    };
    let report = lookalike_rfm::report(&table, &s, &checks).unwrap();
    assert_eq!(
        report.without_consent,
        consent.iter().filter(|c| **c != 1.0).count()
    );
}

#[test]
fn prospects_have_no_scores_and_value_tiers_rank_buyers() {
    let table = base(3_000, 4);
    let s = segment(&table, &RuleSet::default(), &SegmentParams::new()).unwrap();
    let orders = table.column("orders").unwrap();
    let spend = table.column("total_spend").unwrap();
    let buyers = orders.iter().filter(|o| **o > 0.0).count();
    for i in 0..table.len() {
        if orders[i] == 0.0 {
            assert!(
                s.r[i].is_none() && s.f[i].is_none() && s.m[i].is_none() && s.rfm_cell(i).is_none()
            );
            assert_eq!(s.lifecycle[i], Lifecycle::Prospect);
            assert_eq!(s.value_tier[i], ValueTier::NoPurchase);
        } else {
            assert!(s.rfm_cell(i).is_some());
        }
    }
    let vip1 = s
        .value_tier
        .iter()
        .filter(|t| **t == ValueTier::Vip1)
        .count();
    assert_eq!(
        vip1,
        buyers.div_ceil(100),
        "distinct spends: exactly the top 1%"
    );
    let lowest_vip = (0..table.len())
        .filter(|i| s.value_tier[*i] == ValueTier::Vip1)
        .map(|i| spend[i])
        .fold(f64::INFINITY, f64::min);
    let highest_other = (0..table.len())
        .filter(|i| s.value_tier[*i] == ValueTier::Standard)
        .map(|i| spend[i])
        .fold(0.0, f64::max);
    assert!(lowest_vip > highest_other);
}

#[test]
fn identical_input_gives_identical_output_at_any_thread_count() {
    let table = base(5_000, 5);
    let rules = RuleSet::from_toml(
        "[[segment]]\nname='a'\nrule='r_score >= 4 or f_score == 1'\npriority=1\n",
    )
    .unwrap();
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let s = segment(&table, &rules, &SegmentParams::new()).unwrap();
            format!(
                "{:?}{:?}{:?}{:?}{:?}{:?}",
                s.r, s.f, s.m, s.rfm_segment, s.primary, s.trained
            )
        })
    };
    assert_eq!(run(1), run(3));
}

#[test]
fn bad_input_names_the_problem() {
    let table = base(50, 6);
    for bins in [0, 1] {
        assert!(
            matches!(segment(&table, &RuleSet::default(), &SegmentParams::new().bins(bins)), Err(RfmError::TooFewBins(b)) if b == bins)
        );
    }
    let unknown =
        RuleSet::from_toml("[[segment]]\nname='x'\nrule='recency_days <= 30'\npriority=1\n")
            .unwrap();
    let err = segment(&table, &unknown, &SegmentParams::new())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("\"x\"")
            && err.contains("\"recency_days\"")
            && err.contains("days_since_last_purchase"),
        "{err}"
    );
    let wrong_label =
        RuleSet::from_toml("[[segment]]\nname='y'\nrule=\"rfm_segment == 'Champs'\"\npriority=1\n")
            .unwrap();
    let err = segment(&table, &wrong_label, &SegmentParams::new())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("\"Champs\" is not a value of rfm_segment") && err.contains("Champions"),
        "{err}"
    );
    let breaks = RuleSet::from_toml("[scores]\nrecency = [30, 20, 90, 180]\n").unwrap();
    assert!(matches!(
        segment(&table, &breaks, &SegmentParams::new()),
        Err(RfmError::BadBreaks { .. })
    ));
    let few = FeatureTable::new(
        vec![CustomerId::from("a")],
        vec!["orders".into()],
        ndarray::array![[1.0]],
    )
    .unwrap();
    let err = segment(&few, &RuleSet::default(), &SegmentParams::new())
        .unwrap_err()
        .to_string();
    assert!(err.contains("\"days_since_last_purchase\""), "{err}");
}

#[test]
fn fixed_breaks_replace_quantiles() {
    let table = base(500, 7);
    let rules =
        RuleSet::from_toml("[scores]\nrecency = [30, 90, 180, 365]\nfrequency = [1, 2, 4, 8]\n")
            .unwrap();
    let s = segment(&table, &rules, &SegmentParams::new()).unwrap();
    let days = table.column("days_since_last_purchase").unwrap();
    let orders = table.column("orders").unwrap();
    for i in 0..table.len() {
        if orders[i] > 0.0 {
            let r = 1 + [30.0, 90.0, 180.0, 365.0]
                .iter()
                .filter(|b| days[i] <= **b)
                .count() as u8;
            let f = 1 + [1.0, 2.0, 4.0, 8.0]
                .iter()
                .filter(|b| orders[i] > **b)
                .count() as u8;
            assert_eq!((s.r[i], s.f[i]), (Some(r), Some(f)));
        }
    }
}

/// The rows `from..to` of a table, as their own table.
fn slice(table: &FeatureTable, from: usize, to: usize) -> FeatureTable {
    let rows: Vec<usize> = (from..to).collect();
    FeatureTable::new(
        table.ids()[from..to].to_vec(),
        table.columns().to_vec(),
        table.values().select(ndarray::Axis(0), &rows),
    )
    .unwrap()
}

#[test]
fn trained_scores_reproduce_the_segmentation_chunk_by_chunk() {
    // Integer-valued days and orders put many customers exactly on an edge; a wrong tie rule
    // (≤ for < on the quantile recency edges, or the other way for fixed breaks) changes them.
    let table = base(3_000, 11);
    let rules = RuleSet::from_toml(
        "[[segment]]\nname='vip'\nrule=\"value_tier == 'vip_1' or r_score >= 4\"\npriority=1\n",
    )
    .unwrap();
    let fixed = RuleSet::from_toml(
        "[scores]\nrecency = [30, 90, 180, 365]\n[[segment]]\nname='x'\nrule='f_score > 2'\npriority=1\n",
    )
    .unwrap();
    for rules in [rules, fixed] {
        let whole = segment(&table, &rules, &SegmentParams::new()).unwrap();
        let json = serde_json::to_string(&whole.trained).unwrap();
        let trained: lookalike_rfm::TrainedScores = serde_json::from_str(&json).unwrap();
        assert_eq!(trained, whole.trained, "the breaks survive JSON exactly");
        for (from, to) in [(0, 7), (7, 1_000), (1_000, 3_000)] {
            let part = segment(
                &slice(&table, from, to),
                &rules,
                &SegmentParams::new().bins(9).trained(trained.clone()),
            )
            .unwrap();
            assert_eq!(part.r[..], whole.r[from..to]);
            assert_eq!(part.f[..], whole.f[from..to]);
            assert_eq!(part.m[..], whole.m[from..to]);
            assert_eq!(part.value_tier[..], whole.value_tier[from..to]);
            assert_eq!(part.rfm_segment[..], whole.rfm_segment[from..to]);
            assert_eq!(part.matches[0][..], whole.matches[0][from..to]);
        }
    }
}

/// `base` with an `orders_30d` column (1 for a fifth of the buyers, by recency).
fn base_with_recent_orders(n: usize, seed: u64) -> FeatureTable {
    let table = base(n, seed);
    let days = table.column("days_since_last_purchase").unwrap();
    let recent: Vec<f64> = days
        .iter()
        .map(|d| if *d < 200.0 { 1.0 } else { 0.0 })
        .collect();
    let mut names = table.columns().to_vec();
    names.push("orders_30d".into());
    let old = table.values();
    let values = Array2::from_shape_fn((n, names.len()), |(i, j)| {
        if j < old.ncols() {
            old[[i, j]]
        } else {
            recent[i]
        }
    });
    FeatureTable::new(table.ids().to_vec(), names, values).unwrap()
}

#[test]
fn the_report_plans_a_test_on_each_segment() {
    let table = base_with_recent_orders(20_000, 7);
    let s = segment(&table, &RuleSet::default(), &SegmentParams::new()).unwrap();
    let recent = table.column("orders_30d").unwrap();
    let checks = TestChecks {
        min_size: 500,
        ..Default::default()
    };
    let report = lookalike_rfm::report(&table, &s, &checks).unwrap();
    let mut judged = (0, 0);
    for (k, named) in lookalike_rfm::RfmSegment::ALL.iter().enumerate() {
        let row = &report.rows[k];
        assert_eq!(row.segment, named.name());
        let members: Vec<usize> = (0..table.len())
            .filter(|i| s.rfm_segment[*i] == Some(*named))
            .collect();
        // The baseline is the segment's own 30-day conversion, counted here by hand.
        let converted = members.iter().filter(|i| recent[**i] > 0.0).count();
        assert_eq!(row.customers, members.len());
        let baseline = converted as f64 / members.len() as f64;
        assert!(
            (row.baseline_conversion - baseline).abs() < 1e-15,
            "{named:?}"
        );
        let power =
            lookalike_measure::segment_power(members.len() as u64, baseline, &checks.plan).unwrap();
        assert_eq!(row.minimum_detectable_lift, power.minimum_detectable_lift);
        assert_eq!(
            row.control_needed_for_target,
            power.control_needed_for_target
        );
        let too_small = members.len() < 500 || power.too_small_to_test;
        assert_eq!(row.too_small_to_test, too_small, "{named:?}");
        judged.0 += usize::from(too_small);
        judged.1 += usize::from(!too_small);
        let warned = report
            .warnings
            .iter()
            .any(|w| w.contains(&format!("{:?}", named.name())) && w.contains("too small to test"));
        assert_eq!(warned, too_small && !members.is_empty(), "{named:?}");
    }
    assert!(
        judged.0 > 0 && judged.1 > 0,
        "both verdicts occur: {judged:?}"
    );

    // A given baseline replaces every segment's own.
    let given = TestChecks {
        baseline: Some(0.03),
        ..checks
    };
    let report = lookalike_rfm::report(&table, &s, &given).unwrap();
    assert!(report.rows.iter().all(|r| r.baseline_conversion == 0.03));
    // Without orders_30d and without a baseline, segments are judged by size alone, and said so.
    let report = lookalike_rfm::report(&base(20_000, 7), &s, &checks).unwrap();
    assert!(report.rows.iter().all(|r| r.baseline_conversion.is_nan()
        && r.minimum_detectable_lift.is_none()
        && r.too_small_to_test == (r.customers < 500)));
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("no orders_30d column"))
    );
    // A plan out of range is an error, not a report.
    let bad = TestChecks {
        plan: lookalike_measure::TestPlan {
            control_share: 1.5,
            ..Default::default()
        },
        ..checks
    };
    assert!(matches!(
        lookalike_rfm::report(&table, &s, &bad),
        Err(RfmError::TestPlan(_))
    ));
}
