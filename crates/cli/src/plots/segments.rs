//! The segment plot: each segment's share of the customers and of the revenue, for the RFM
//! segments (with the customers who have not bought yet), the lifecycle stages and the rule
//! segments, one panel each.

use std::path::Path;

use lookalike_rfm::{ReportRow, SegmentReport};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::row_axes;

/// One panel of horizontal bar pairs (customers, revenue) for `rows`, best first.
fn panel(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    title: &str,
    rows: &[&ReportRow],
) -> anyhow::Result<()> {
    let share = |v: f64| if v.is_nan() { 0.0 } else { v };
    let top = rows
        .iter()
        .map(|r| r.share.max(share(r.revenue_share)))
        .fold(0.0f64, f64::max)
        .max(0.01)
        * 135.0;
    let count = rows.len();
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(150)
        .build_cartesian_2d(0f64..top, -0.5f64..count as f64 - 0.5)?;
    let names: Vec<String> = rows
        .iter()
        .map(|r| format!("{} ({})", r.segment, r.customers))
        .collect();
    row_axes(
        &mut chart,
        &names,
        "percent of all customers / of all revenue",
    )?;
    let customers = RGBColor(70, 110, 180);
    let revenue = RGBColor(230, 140, 40);
    let centre = |i: usize| (count - 1 - i) as f64;
    chart
        .draw_series(rows.iter().enumerate().map(|(i, r)| {
            Rectangle::new(
                [(0.0, centre(i) + 0.02), (100.0 * r.share, centre(i) + 0.4)],
                customers.filled(),
            )
        }))?
        .label("customers")
        .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], customers.filled()));
    chart
        .draw_series(rows.iter().enumerate().map(|(i, r)| {
            Rectangle::new(
                [
                    (0.0, centre(i) - 0.4),
                    (100.0 * share(r.revenue_share), centre(i) - 0.02),
                ],
                revenue.filled(),
            )
        }))?
        .label("revenue")
        .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], revenue.filled()));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .border_style(BLACK)
        .background_style(WHITE)
        .draw()?;
    Ok(())
}

/// Customer and revenue shares of every segment of the report: RFM segments with the
/// customers without a purchase (and without consent), lifecycle stages, rule segments.
pub fn segment_shares(report: &SegmentReport, path: &Path) -> anyhow::Result<()> {
    let svg = segment_shares_svg(report)?;
    lookalike_core::write_atomically(path, |w| std::io::Write::write_all(w, svg.as_bytes()))?;
    Ok(())
}

/// [`segment_shares`] as SVG text.
pub fn segment_shares_svg(report: &SegmentReport) -> anyhow::Result<String> {
    let group = |name: &str| -> Vec<&ReportRow> {
        report.rows.iter().filter(|r| r.group == name).collect()
    };
    let mut panels: Vec<(&str, Vec<&ReportRow>)> = vec![
        ("RFM segments", group("rfm")),
        ("Lifecycle stages", group("lifecycle")),
    ];
    let rules = group("rule");
    if !rules.is_empty() {
        panels.push(("Rule segments (primary)", rules));
    }
    let heights: Vec<u32> = panels
        .iter()
        .map(|(_, rows)| 90 + 34 * rows.len() as u32)
        .collect();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, heights.iter().sum::<u32>()))
            .into_drawing_area();
        root.fill(&WHITE)?;
        let mut rest = root.clone();
        for ((title, rows), height) in panels.iter().zip(&heights) {
            let (area, below) = rest.split_vertically(*height);
            panel(&area, title, rows)?;
            rest = below;
        }
        root.present()?;
    }
    Ok(svg)
}
