//! The segment report: size, revenue and RFM means per segment, with warnings.

use lookalike_core::FeatureTable;
use serde::Serialize;

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

struct Totals<'a> {
    spend: &'a [f64],
    days: &'a [f64],
    frequency: &'a [f64],
    monetary: &'a [f64],
    revenue: f64,
    customers: usize,
}

impl Totals<'_> {
    fn row(&self, group: &str, segment: &str, members: &[usize]) -> ReportRow {
        let mean = |values: &[f64]| {
            let present: Vec<f64> = members
                .iter()
                .map(|i| values[*i])
                .filter(|v| !v.is_nan())
                .collect();
            if present.is_empty() {
                f64::NAN
            } else {
                present.iter().sum::<f64>() / present.len() as f64
            }
        };
        let revenue: f64 = members
            .iter()
            .map(|i| self.spend[*i])
            .filter(|v| !v.is_nan())
            .sum();
        ReportRow {
            group: group.into(),
            segment: segment.into(),
            customers: members.len(),
            share: members.len() as f64 / self.customers.max(1) as f64,
            revenue,
            revenue_share: if self.revenue != 0.0 {
                revenue / self.revenue
            } else {
                f64::NAN
            },
            mean_recency_days: mean(self.days),
            mean_frequency: mean(self.frequency),
            mean_monetary: mean(self.monetary),
        }
    }
}

/// Builds the report; segments with fewer than `min_size` customers are flagged as too small
/// to test.
pub fn report(table: &FeatureTable, segmentation: &Segmentation, min_size: usize) -> SegmentReport {
    let column = |name: &str| {
        table
            .column(name)
            .map(|c| c.to_vec())
            .unwrap_or_else(|_| vec![f64::NAN; table.len()])
    };
    let (spend, days, frequency, monetary) = (
        column("total_spend"),
        column("days_since_last_purchase"),
        column("frequency"),
        column("monetary_value"),
    );
    let totals = Totals {
        revenue: spend.iter().filter(|v| !v.is_nan()).sum(),
        spend: &spend,
        days: &days,
        frequency: &frequency,
        monetary: &monetary,
        customers: table.len(),
    };
    let n = table.len();
    let without_consent: Vec<usize> = (0..n).filter(|i| !segmentation.consented[*i]).collect();
    let mut rows = Vec::new();
    let mut warnings = Vec::new();
    let check = |group: &str, row: &ReportRow, warnings: &mut Vec<String>| {
        if row.customers == 0 {
            warnings.push(format!("{group} segment {:?} is empty", row.segment));
        } else if row.customers < min_size {
            warnings.push(format!(
                "{group} segment {:?} has {} customers, fewer than {min_size}: too small to test",
                row.segment, row.customers
            ));
        }
    };
    for named in RfmSegment::ALL {
        let members: Vec<usize> = (0..n)
            .filter(|i| segmentation.rfm_segment[*i] == Some(named))
            .collect();
        let row = totals.row("rfm", named.name(), &members);
        check("RFM", &row, &mut warnings);
        rows.push(row);
    }
    let no_purchase: Vec<usize> = (0..n)
        .filter(|i| segmentation.consented[*i] && segmentation.r[*i].is_none())
        .collect();
    rows.push(totals.row("rfm", "(no purchase)", &no_purchase));
    if !without_consent.is_empty() {
        rows.push(totals.row("rfm", "(no consent)", &without_consent));
    }
    for stage in [
        Lifecycle::Prospect,
        Lifecycle::FirstTimeBuyer,
        Lifecycle::RepeatBuyer,
        Lifecycle::Loyal,
        Lifecycle::Lapsing,
        Lifecycle::Lost,
    ] {
        let members: Vec<usize> = (0..n)
            .filter(|i| segmentation.lifecycle[*i] == stage)
            .collect();
        rows.push(totals.row("lifecycle", stage.name(), &members));
    }
    if !segmentation.rule_names.is_empty() {
        for (k, name) in segmentation.rule_names.iter().enumerate() {
            let members: Vec<usize> = (0..n)
                .filter(|i| segmentation.primary[*i] == Some(k as u16))
                .collect();
            let row = totals.row("rule", name, &members);
            check("rule", &row, &mut warnings);
            rows.push(row);
        }
        let none: Vec<usize> = (0..n)
            .filter(|i| segmentation.consented[*i] && segmentation.primary[*i].is_none())
            .collect();
        rows.push(totals.row("rule", "(no rule)", &none));
        if !without_consent.is_empty() {
            rows.push(totals.row("rule", "(no consent)", &without_consent));
        }
    }
    for (name, sizes) in ["R", "F", "M"].iter().zip(&segmentation.bin_sizes) {
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
    SegmentReport {
        customers: n,
        without_consent: without_consent.len(),
        rows,
        warnings,
    }
}
