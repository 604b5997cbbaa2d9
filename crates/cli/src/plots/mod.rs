//! SVG plots (plotters' SVG backend: no fonts or system libraries needed).

mod migration;

use std::path::Path;

use lookalike_rfm::SegmentReport;
use plotters::prelude::*;

pub use migration::migration;

/// The name on a horizontal-bar chart's y axis at `y`: row i of `names` (top first) is centred
/// on y = count − 1 − i, and ticks between rows get no name.
fn row_name(names: &[String], y: f64) -> String {
    let (count, k) = (names.len(), y.round());
    if (y - k).abs() < 1e-6 && k >= 0.0 && (k as usize) < count {
        names[count - 1 - k as usize].clone()
    } else {
        String::new()
    }
}

/// Customer share and revenue share of each named RFM segment, side by side.
pub fn segment_shares(report: &SegmentReport, path: &Path) -> anyhow::Result<()> {
    let rows: Vec<_> = report
        .rows
        .iter()
        .filter(|r| r.group == "rfm" && !r.segment.starts_with('('))
        .collect();
    let top = rows
        .iter()
        .map(|r| {
            r.share.max(if r.revenue_share.is_nan() {
                0.0
            } else {
                r.revenue_share
            })
        })
        .fold(0.0f64, f64::max)
        .max(0.01)
        * 1.1;
    // Written to a string first, so a failed plot leaves no partial file.
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 560)).into_drawing_area();
        root.fill(&WHITE)?;
        let count = rows.len();
        // Horizontal bars, best segment on top: group i is centred on y = count − 1 − i, so the
        // integer ticks name the groups.
        let mut chart = ChartBuilder::on(&root)
            .caption(
                "RFM segments: share of customers and of revenue",
                ("sans-serif", 22),
            )
            .margin(16)
            .x_label_area_size(40)
            .y_label_area_size(140)
            .build_cartesian_2d(0f64..top * 100.0, -0.5f64..count as f64 - 0.5)?;
        let names: Vec<String> = rows.iter().map(|r| r.segment.clone()).collect();
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(count)
            .y_label_formatter(&|y| row_name(&names, *y))
            .y_label_style(("sans-serif", 14))
            .x_desc("percent")
            .draw()?;
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
            .legend(move |(x, y)| {
                Rectangle::new([(x, y - 5), (x + 12, y + 5)], customers.filled())
            });
        chart
            .draw_series(rows.iter().enumerate().map(|(i, r)| {
                let share = if r.revenue_share.is_nan() {
                    0.0
                } else {
                    r.revenue_share
                };
                Rectangle::new(
                    [(0.0, centre(i) - 0.4), (100.0 * share, centre(i) - 0.02)],
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
        root.present()?;
    }
    lookalike_core::write_atomically(path, |w| std::io::Write::write_all(w, svg.as_bytes()))?;
    Ok(())
}

/// One series of a line plot: a label and its (x, y) points.
pub struct Series {
    pub label: String,
    pub points: Vec<(f64, f64)>,
}

/// A line plot with one line per series (or only markers when `lines` is false).
pub fn lines(
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    lines: bool,
    path: &Path,
) -> anyhow::Result<()> {
    let all: Vec<(f64, f64)> = series
        .iter()
        .flat_map(|s| s.points.iter().copied())
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .collect();
    if all.is_empty() {
        anyhow::bail!("nothing to plot in {}", path.display());
    }
    let range = |values: Vec<f64>| {
        let (low, high) = values
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                (a.min(*v), b.max(*v))
            });
        let pad = ((high - low) * 0.08).max(high.abs() * 1e-3).max(1e-9);
        (low - pad)..(high + pad)
    };
    let x_range = range(all.iter().map(|p| p.0).collect());
    let y_range = range(all.iter().map(|p| p.1).collect());
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 560)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 22))
            .margin(16)
            .x_label_area_size(40)
            .y_label_area_size(80)
            .build_cartesian_2d(x_range, y_range)?;
        chart
            .configure_mesh()
            .x_desc(x_label)
            .y_desc(y_label)
            .draw()?;
        for (i, s) in series.iter().enumerate() {
            let colour = Palette99::pick(i).to_rgba();
            let points: Vec<(f64, f64)> = s
                .points
                .iter()
                .copied()
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .collect();
            if lines {
                chart.draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))?;
            }
            chart
                .draw_series(points.iter().map(|p| Circle::new(*p, 4, colour.filled())))?
                .label(s.label.clone())
                .legend(move |(x, y)| Circle::new((x + 6, y), 4, colour.filled()));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .border_style(BLACK)
            .background_style(WHITE.mix(0.85))
            .label_font(("sans-serif", 12))
            .draw()?;
        root.present()?;
    }
    lookalike_core::write_atomically(path, |w| std::io::Write::write_all(w, svg.as_bytes()))?;
    Ok(())
}

/// A heat map of `values[row][column]` (rows bottom to top, columns left to right) on a
/// white-to-blue scale from 0 to 1, for probabilities.
pub fn probability_map(
    title: &str,
    x_label: &str,
    y_label: &str,
    columns: (f64, f64),
    rows: (f64, f64),
    values: &[Vec<f64>],
    path: &Path,
) -> anyhow::Result<()> {
    let (n_rows, n_columns) = (values.len(), values.first().map_or(0, Vec::len));
    if n_rows == 0 || n_columns == 0 {
        anyhow::bail!("nothing to plot in {}", path.display());
    }
    let (cell_x, cell_y) = (
        (columns.1 - columns.0) / n_columns as f64,
        (rows.1 - rows.0) / n_rows as f64,
    );
    let colour = |p: f64| {
        let p = p.clamp(0.0, 1.0);
        let blend = |low: f64, high: f64| (low + (high - low) * p).round() as u8;
        RGBColor(blend(250.0, 20.0), blend(250.0, 60.0), blend(250.0, 160.0))
    };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 620)).into_drawing_area();
        root.fill(&WHITE)?;
        let (plot, legend) = root.split_horizontally(800);
        let mut chart = ChartBuilder::on(&plot)
            .caption(title, ("sans-serif", 20))
            .margin(16)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(columns.0..columns.1, rows.0..rows.1)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(x_label)
            .y_desc(y_label)
            .draw()?;
        chart.draw_series(values.iter().enumerate().flat_map(|(i, row)| {
            row.iter().enumerate().map(move |(j, p)| {
                let x = columns.0 + j as f64 * cell_x;
                let y = rows.0 + i as f64 * cell_y;
                Rectangle::new([(x, y), (x + cell_x, y + cell_y)], colour(*p).filled())
            })
        }))?;
        // The scale: ten steps from 0 to 1.
        for step in 0..=10 {
            let p = step as f64 / 10.0;
            let top = 560 - step * 48;
            legend.draw(&Rectangle::new(
                [(10, top - 48), (40, top)],
                colour(p).filled(),
            ))?;
            legend.draw(&Text::new(
                format!("{p:.1}"),
                (46, top - 30),
                ("sans-serif", 13),
            ))?;
        }
        root.present()?;
    }
    lookalike_core::write_atomically(path, |w| std::io::Write::write_all(w, svg.as_bytes()))?;
    Ok(())
}

/// The audience at a glance: on the left, how the candidates' scores are distributed (one bar
/// per twentieth of the score range); on the right, each tier's mean expected value (or mean
/// score without values).
pub fn audience(
    histogram: &[usize; 20],
    tiers: &[(String, f64)],
    value_label: &str,
    path: &Path,
) -> anyhow::Result<()> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (1000, 480)).into_drawing_area();
        root.fill(&WHITE)?;
        let (left, right) = root.split_horizontally(560);
        let top = histogram.iter().copied().max().unwrap_or(1).max(1) as f64 * 1.1;
        let mut chart = ChartBuilder::on(&left)
            .caption("Candidates by score", ("sans-serif", 20))
            .margin(14)
            .x_label_area_size(36)
            .y_label_area_size(70)
            .build_cartesian_2d(0f64..1f64, 0f64..top)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_desc("score")
            .y_desc("candidates")
            .draw()?;
        let blue = RGBColor(70, 110, 180);
        chart.draw_series(histogram.iter().enumerate().map(|(i, n)| {
            let x = i as f64 / 20.0;
            Rectangle::new([(x + 0.002, 0.0), (x + 0.048, *n as f64)], blue.filled())
        }))?;
        let high = tiers.iter().map(|t| t.1).fold(0.0f64, f64::max).max(1e-9) * 1.15;
        let count = tiers.len();
        let names: Vec<String> = tiers.iter().map(|t| t.0.clone()).collect();
        let mut bars = ChartBuilder::on(&right)
            .caption(format!("{value_label} per tier"), ("sans-serif", 20))
            .margin(14)
            .x_label_area_size(36)
            .y_label_area_size(70)
            .build_cartesian_2d(-0.5f64..count as f64 - 0.5, 0f64..high)?;
        bars.configure_mesh()
            .disable_x_mesh()
            .x_labels(count)
            .x_label_formatter(&|x| {
                let k = x.round();
                if (x - k).abs() < 1e-6 && k >= 0.0 && (k as usize) < count {
                    names[k as usize].clone()
                } else {
                    String::new()
                }
            })
            .x_desc("tier (nested)")
            .y_desc(value_label)
            .draw()?;
        let orange = RGBColor(230, 140, 40);
        bars.draw_series(tiers.iter().enumerate().map(|(i, (_, v))| {
            Rectangle::new(
                [(i as f64 - 0.35, 0.0), (i as f64 + 0.35, *v)],
                orange.filled(),
            )
        }))?;
        root.present()?;
    }
    lookalike_core::write_atomically(path, |w| std::io::Write::write_all(w, svg.as_bytes()))?;
    Ok(())
}

/// A campaign's conversion lift per group (percentage points) with its interval, against the
/// zero line: a group whose interval crosses zero has not shown an effect.
pub fn campaign_lift(
    result: &lookalike_measure::CampaignResult,
    path: &Path,
) -> anyhow::Result<()> {
    let rows: Vec<(&str, f64, f64, f64)> = result
        .groups
        .iter()
        .filter_map(|g| {
            g.conversion.as_ref().map(|c| {
                (
                    g.group.as_str(),
                    100.0 * c.absolute,
                    100.0 * c.absolute_interval.low,
                    100.0 * c.absolute_interval.high,
                )
            })
        })
        .collect();
    if rows.is_empty() {
        anyhow::bail!("no group has a control group: there is no lift to plot");
    }
    let reach = rows
        .iter()
        .flat_map(|r| [r.2.abs(), r.3.abs()])
        .fold(0.0f64, f64::max)
        .max(0.1)
        * 1.15;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 120 + 60 * rows.len() as u32))
            .into_drawing_area();
        root.fill(&WHITE)?;
        let count = rows.len();
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!(
                    "Conversion lift, treated vs control ({:.0}% intervals)",
                    100.0 * result.level
                ),
                ("sans-serif", 22),
            )
            .margin(16)
            .x_label_area_size(40)
            .y_label_area_size(110)
            .build_cartesian_2d(-reach..reach, -0.5f64..count as f64 - 0.5)?;
        let names: Vec<String> = rows.iter().map(|r| r.0.to_string()).collect();
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(count)
            .y_label_formatter(&|y| row_name(&names, *y))
            .y_label_style(("sans-serif", 14))
            .x_desc("conversion lift (percentage points)")
            .draw()?;
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(0.0, -0.5), (0.0, count as f64 - 0.5)],
            BLACK.stroke_width(1),
        )))?;
        let colour = RGBColor(70, 110, 180);
        for (i, (_, lift, low, high)) in rows.iter().enumerate() {
            let y = (count - 1 - i) as f64;
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(*low, y), (*high, y)],
                colour.stroke_width(3),
            )))?;
            chart.draw_series(std::iter::once(Circle::new((*lift, y), 6, colour.filled())))?;
        }
        root.present()?;
    }
    lookalike_core::write_atomically(path, |w| std::io::Write::write_all(w, svg.as_bytes()))?;
    Ok(())
}
