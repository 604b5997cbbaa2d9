//! The segment report: size, revenue and RFM means per segment, each segment's baseline
//! conversion and the smallest lift a test on it could detect, with warnings.

use lookalike_core::FeatureTable;
use lookalike_measure::{TestPlan, segment_power};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::RfmError;
use crate::lifecycle::Lifecycle;
use crate::named::RfmSegment;
use crate::segment::Segmentation;

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportRow {
    /// `rfm`, `lifecycle` or `rule`.
    pub group: String,
    /// The segment's name (`(no purchase)`, `(no consent)`, `(no rule)` for the rest).
    pub segment: String,
    /// Customers in it.
    pub customers: usize,
    /// Their share of all customers.
    pub share: f64,
    /// Their total spend.
    pub revenue: f64,
    /// Their share of all spend.
    pub revenue_share: f64,
    /// Mean days since the last purchase (buyers only).
    pub mean_recency_days: f64,
    /// Mean repeat purchase days (`frequency`).
    pub mean_frequency: f64,
    /// Mean `monetary_value`.
    pub mean_monetary: f64,
    /// The conversion a test on the segment is planned from: the given baseline, or the share
    /// of its customers who ordered in the last 30 days (`orders_30d` > 0); NaN when neither.
    pub baseline_conversion: f64,
    /// The smallest relative lift a test holding out the plan's control share detects (80%
    /// power, α = 0.05 by default); None when none is.
    pub minimum_detectable_lift: Option<f64>,
    /// The control group the plan's target lift needs; None when none is large enough.
    pub control_needed_for_target: Option<f64>,
    /// Fewer customers than the minimum size, or no detectable lift within the plan's largest.
    pub too_small_to_test: bool,
}

/// Which segments a campaign test could be run on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TestChecks {
    /// Segments with fewer customers are too small to test, whatever their power.
    pub min_size: usize,
    /// Control share, level, power, target and largest worthwhile lift.
    pub plan: TestPlan,
    /// The baseline conversion of every segment; None: each segment's own 30-day conversion.
    pub baseline: Option<f64>,
}

impl Default for TestChecks {
    fn default() -> Self {
        Self {
            min_size: 1_000,
            plan: TestPlan::default(),
            baseline: None,
        }
    }
}

/// The report of a segmentation.
#[derive(Debug, Clone, Serialize)]
pub struct SegmentReport {
    /// All customers.
    pub customers: usize,
    /// Customers left out of every segment for lack of consent.
    pub without_consent: usize,
    /// The lines, grouped.
    pub rows: Vec<ReportRow>,
    /// Segments too small to test, empty segments, uneven score bins.
    pub warnings: Vec<String>,
}

/// Sums of one segment's customers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
struct Sums {
    customers: usize,
    revenue: f64,
    recency: (f64, usize),
    frequency: (f64, usize),
    monetary: (f64, usize),
    /// Customers who ordered in the last 30 days, of those whose `orders_30d` is known.
    recent: (usize, usize),
}

impl Sums {
    fn add(&mut self, (spend, days, frequency, monetary, recent): (f64, f64, f64, f64, f64)) {
        let add = |sum: &mut (f64, usize), v: f64| {
            if !v.is_nan() {
                sum.0 += v;
                sum.1 += 1;
            }
        };
        self.customers += 1;
        if !spend.is_nan() {
            self.revenue += spend;
        }
        add(&mut self.recency, days);
        add(&mut self.frequency, frequency);
        add(&mut self.monetary, monetary);
        if !recent.is_nan() {
            self.recent.0 += usize::from(recent > 0.0);
            self.recent.1 += 1;
        }
    }

    fn merge(&mut self, other: &Sums) {
        self.customers += other.customers;
        self.revenue += other.revenue;
        for (mine, theirs) in [
            (&mut self.recency, other.recency),
            (&mut self.frequency, other.frequency),
            (&mut self.monetary, other.monetary),
        ] {
            mine.0 += theirs.0;
            mine.1 += theirs.1;
        }
        self.recent.0 += other.recent.0;
        self.recent.1 += other.recent.1;
    }

    fn row(
        &self,
        (group, segment): (&str, &str),
        (all, revenue): (usize, f64),
        checks: &TestChecks,
    ) -> Result<ReportRow, RfmError> {
        let mean = |(sum, count): (f64, usize)| {
            if count == 0 {
                f64::NAN
            } else {
                sum / count as f64
            }
        };
        let baseline = checks.baseline.unwrap_or(if self.recent.1 == 0 {
            f64::NAN
        } else {
            self.recent.0 as f64 / self.recent.1 as f64
        });
        let power = segment_power(self.customers as u64, baseline, &checks.plan)
            .map_err(|e| RfmError::TestPlan(e.to_string()))?;
        Ok(ReportRow {
            group: group.into(),
            segment: segment.into(),
            customers: self.customers,
            share: self.customers as f64 / all.max(1) as f64,
            revenue: self.revenue,
            revenue_share: if revenue != 0.0 {
                self.revenue / revenue
            } else {
                f64::NAN
            },
            mean_recency_days: mean(self.recency),
            mean_frequency: mean(self.frequency),
            mean_monetary: mean(self.monetary),
            baseline_conversion: baseline,
            minimum_detectable_lift: power.minimum_detectable_lift,
            control_needed_for_target: power.control_needed_for_target,
            // An unknown baseline says nothing about the power: only the size judges.
            too_small_to_test: self.customers < checks.min_size
                || (!baseline.is_nan() && power.too_small_to_test),
        })
    }
}

/// Rows per chunk of the report's pass: chunk sums are combined in chunk order, so the report
/// is the same whatever the thread count.
const CHUNK: usize = 1 << 16;

/// Builds the report in one pass over the customers; segments with fewer customers than
/// `checks.min_size`, or on which a test could not detect the plan's largest worthwhile lift,
/// are flagged as too small to test. Errors only for a test plan out of range.
pub fn report(
    table: &FeatureTable,
    segmentation: &Segmentation,
    checks: &TestChecks,
) -> Result<SegmentReport, RfmError> {
    ReportSums::of(table, segmentation).report(checks)
}

/// The report's sums per segment of some customers: a base split into parts (Spark
/// partitions) is reported by summing each part's and merging them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportSums {
    /// Per group: 11 named RFM segments, no purchase, no consent; 6 stages; rules, no rule,
    /// no consent.
    groups: Vec<Sums>,
    /// The rule segments' names, in file order.
    rule_names: Vec<String>,
    /// Customers per score value, for R, F and M.
    bin_sizes: [Vec<usize>; 3],
    /// Whether the features have `orders_30d`, the segments' own baseline conversion.
    has_recent_orders: bool,
}

/// Where each group of [`ReportSums::groups`] starts.
struct Groups {
    no_purchase: usize,
    no_consent_rfm: usize,
    first_stage: usize,
    first_rule: usize,
    no_rule: usize,
    no_consent_rule: usize,
}

impl Groups {
    fn of(rules: usize) -> Groups {
        let (no_purchase, no_consent_rfm, first_stage) = (11, 12, 13);
        let first_rule = first_stage + Lifecycle::ALL.len();
        Groups {
            no_purchase,
            no_consent_rfm,
            first_stage,
            first_rule,
            no_rule: first_rule + rules,
            no_consent_rule: first_rule + rules + 1,
        }
    }

    fn len(&self) -> usize {
        self.no_consent_rule + 1
    }
}

impl ReportSums {
    /// The sums of `table`'s customers, as `segmentation` (of the same table) placed them.
    pub fn of(table: &FeatureTable, segmentation: &Segmentation) -> ReportSums {
        let n = table.len();
        let nan_column = vec![f64::NAN; n];
        let column = |name: &str| {
            table
                .column_index(name)
                .ok()
                .map(|j| {
                    table.column_slice(j).map_or_else(
                        || std::borrow::Cow::Owned(table.values().column(j).to_vec()),
                        std::borrow::Cow::Borrowed,
                    )
                })
                .unwrap_or(std::borrow::Cow::Borrowed(&nan_column))
        };
        let (spend, days, frequency, monetary, recent) = (
            column("total_spend"),
            column("days_since_last_purchase"),
            column("frequency"),
            column("monetary_value"),
            column("orders_30d"),
        );
        let s = segmentation;
        let g = Groups::of(s.rule_names.len());
        let chunks: Vec<Vec<Sums>> = (0..n)
            .into_par_iter()
            .step_by(CHUNK)
            .map(|start| {
                let mut sums = vec![Sums::default(); g.len()];
                for i in start..(start + CHUNK).min(n) {
                    let values = (spend[i], days[i], frequency[i], monetary[i], recent[i]);
                    let mut add = |group: usize| sums[group].add(values);
                    add(match (s.consented[i], s.rfm_segment[i]) {
                        (false, _) => g.no_consent_rfm,
                        (true, Some(named)) => named as usize,
                        (true, None) => g.no_purchase,
                    });
                    add(g.first_stage + s.lifecycle[i] as usize);
                    add(match (s.consented[i], s.primary[i]) {
                        (false, _) => g.no_consent_rule,
                        (true, Some(k)) => g.first_rule + k as usize,
                        (true, None) => g.no_rule,
                    });
                }
                sums
            })
            .collect();
        let mut groups = vec![Sums::default(); g.len()];
        for chunk in &chunks {
            for (t, c) in groups.iter_mut().zip(chunk) {
                t.merge(c);
            }
        }
        ReportSums {
            groups,
            rule_names: s.rule_names.clone(),
            bin_sizes: s.bin_sizes.clone(),
            has_recent_orders: table.column_index("orders_30d").is_ok(),
        }
    }

    /// Adds another part's sums (segmented with the same rules and bins); the merge order
    /// changes the floating-point sums in their last bits only.
    pub fn merge(&mut self, other: &ReportSums) -> Result<(), RfmError> {
        if other.rule_names != self.rule_names || other.groups.len() != self.groups.len() {
            return Err(RfmError::RulesFile(format!(
                "parts segmented with different rules: {:?} and {:?}",
                self.rule_names, other.rule_names
            )));
        }
        for (mine, theirs) in self.groups.iter_mut().zip(&other.groups) {
            mine.merge(theirs);
        }
        for (mine, theirs) in self.bin_sizes.iter_mut().zip(&other.bin_sizes) {
            for (a, b) in mine.iter_mut().zip(theirs) {
                *a += b;
            }
        }
        self.has_recent_orders &= other.has_recent_orders;
        Ok(())
    }

    /// Customers per score value, for R, F and M.
    pub fn bin_sizes(&self) -> &[Vec<usize>; 3] {
        &self.bin_sizes
    }

    /// The report of the customers summed.
    pub fn report(&self, checks: &TestChecks) -> Result<SegmentReport, RfmError> {
        let g = Groups::of(self.rule_names.len());
        let total = &self.groups;
        let (no_purchase, no_consent_rfm, first_stage) =
            (g.no_purchase, g.no_consent_rfm, g.first_stage);
        let (first_rule, no_rule, no_consent_rule) = (g.first_rule, g.no_rule, g.no_consent_rule);
        let rules = self.rule_names.len();
        // Every customer is in exactly one group of the RFM block.
        let n: usize = total[..first_stage].iter().map(|s| s.customers).sum();
        let revenue: f64 = total[..first_stage].iter().map(|g| g.revenue).sum();
        let without_consent = total[no_consent_rfm].customers;
        let mut rows = Vec::new();
        let mut warnings = Vec::new();
        let min_size = checks.min_size;
        let control = 100.0 * checks.plan.control_share;
        let check = |group: &str, row: &ReportRow, warnings: &mut Vec<String>| {
            let named = format!(
                "{group} segment {:?} ({} customers) is too small to test",
                row.segment, row.customers
            );
            if row.customers == 0 {
                warnings.push(format!("{group} segment {:?} is empty", row.segment));
            } else if row.customers < min_size {
                warnings.push(format!("{named}: fewer than {min_size}"));
            } else if row.too_small_to_test {
                let baseline = 100.0 * row.baseline_conversion;
                warnings.push(match row.minimum_detectable_lift {
                Some(lift) => format!(
                    "{named}: with {control:.0}% held out and {baseline:.2}% converting, a test detects only a lift above +{:.0}%",
                    100.0 * lift
                ),
                None => format!(
                    "{named}: with {control:.0}% held out and {baseline:.2}% converting, no lift is detectable"
                ),
            });
            }
        };
        if checks.baseline.is_none() && !self.has_recent_orders {
            warnings.push(
            "no baseline conversion (the features have no orders_30d column): segments are judged by size alone; give a baseline for the power analysis".into(),
        );
        }
        let at = (n, revenue);
        for (k, named) in RfmSegment::ALL.iter().enumerate() {
            let row = total[k].row(("rfm", named.name()), at, checks)?;
            check("RFM", &row, &mut warnings);
            rows.push(row);
        }
        rows.push(total[no_purchase].row(("rfm", "(no purchase)"), at, checks)?);
        if without_consent > 0 {
            rows.push(total[no_consent_rfm].row(("rfm", "(no consent)"), at, checks)?);
        }
        for (k, stage) in Lifecycle::ALL.iter().enumerate() {
            rows.push(total[first_stage + k].row(("lifecycle", stage.name()), at, checks)?);
        }
        if rules > 0 {
            for (k, name) in self.rule_names.iter().enumerate() {
                let row = total[first_rule + k].row(("rule", name), at, checks)?;
                check("rule", &row, &mut warnings);
                rows.push(row);
            }
            rows.push(total[no_rule].row(("rule", "(no rule)"), at, checks)?);
            if without_consent > 0 {
                rows.push(total[no_consent_rule].row(("rule", "(no consent)"), at, checks)?);
            }
        }
        for (name, sizes) in ["R", "F", "M"].iter().zip(&self.bin_sizes) {
            let (smallest, largest) = (
                sizes.iter().min().copied().unwrap_or(0),
                sizes.iter().max().copied().unwrap_or(0),
            );
            if largest > 0 && (smallest == 0 || largest as f64 > 1.5 * smallest as f64) {
                warnings.push(format!(
                "{name} scores: ties make the bins uneven (customers per score 1..{}: {sizes:?})",
                sizes.len()
            ));
            }
        }
        Ok(SegmentReport {
            customers: n,
            without_consent,
            rows,
            warnings,
        })
    }
}
