//! SVG plots (plotters' SVG backend: no fonts or system libraries needed).

mod audience;
mod clusters;
mod migration;
mod segments;

use std::path::Path;

use plotters::prelude::*;

pub use audience::audience;
pub use clusters::{ClusterBar, clusters, clusters_svg};
pub use migration::migration;
pub use segments::{segment_shares, segment_shares_svg};

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

/// The axes of a chart of named rows (horizontal bars, intervals): one y tick per row, named
/// top first, no horizontal grid, `x_desc` under the x axis.
type RowChart<'a, 'b> = ChartContext<
    'a,
    SVGBackend<'b>,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

fn row_axes(chart: &mut RowChart<'_, '_>, names: &[String], x_desc: &str) -> anyhow::Result<()> {
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(names.len())
        .y_label_formatter(&|y| row_name(names, *y))
        .y_label_style(("sans-serif", 13))
        .x_desc(x_desc)
        .draw()?;
    Ok(())
}

/// One series of a line plot: a label and its (x, y) points.
pub struct Series {
    pub label: String,
    pub points: Vec<(f64, f64)>,
    /// A note beside each point (`k=4`, `n=120`), when the points need naming.
    pub notes: Vec<String>,
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
    lines_marked(title, x_label, y_label, series, lines, &[], path)
}

/// [`lines`] with a dashed vertical line at each mark's x, named by its text (a cutoff).
pub fn lines_marked(
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    lines: bool,
    marks: &[(f64, &str)],
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
        (low - pad, high + pad)
    };
    let (x_low, x_high) = range(all.iter().map(|p| p.0).collect());
    let (y_low, y_high) = range(all.iter().map(|p| p.1).collect());
    // Room above the data for the legend (about 18 of the plot's 430 pixels per entry), so
    // that it never covers a point.
    let legend = (series.len() as f64 * 18.0 + 16.0) / 430.0;
    let y_high = y_high + (y_high - y_low) * legend / (1.0 - legend).max(0.2);
    // Whole-number x (k, a count) gets whole-number ticks.
    let integer_x = all.iter().all(|(x, _)| (x - x.round()).abs() < 1e-9);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 560)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 22))
            .margin(16)
            .x_label_area_size(40)
            .y_label_area_size(80)
            .build_cartesian_2d(x_low..x_high, y_low..y_high)?;
        let ticks = if integer_x {
            ((x_high - x_low).floor() as usize + 1).clamp(2, 20)
        } else {
            10
        };
        chart
            .configure_mesh()
            .x_labels(ticks)
            .x_label_formatter(&|x| {
                if !integer_x {
                    format!("{x:.3}")
                        .trim_end_matches('0')
                        .trim_end_matches('.')
                        .to_string()
                } else if (x - x.round()).abs() < 1e-6 {
                    format!("{}", x.round() as i64)
                } else {
                    String::new()
                }
            })
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
            // Identical series stay visible: each draws thinner and smaller than the one
            // before it, with its own marker shape, so a later one sits inside an earlier one.
            // Long series (weeks) get small markers, so that the line stays readable.
            let largest: u32 = if points.len() > 40 { 4 } else { 7 };
            let size = largest.saturating_sub(i as u32 % 4).max(2) as i32;
            if lines {
                let width = 4u32.saturating_sub(i as u32 % 4).max(1);
                chart.draw_series(LineSeries::new(points.clone(), colour.stroke_width(width)))?;
            }
            // One marker shape per series (the legend shows its colour).
            let drawn = match i % 4 {
                0 => chart.draw_series(
                    points
                        .iter()
                        .map(|p| Circle::new(*p, size, colour.filled())),
                )?,
                1 => chart.draw_series(
                    points
                        .iter()
                        .map(|p| TriangleMarker::new(*p, size + 1, colour.filled())),
                )?,
                2 => chart.draw_series(
                    points
                        .iter()
                        .map(|p| Cross::new(*p, size, colour.stroke_width(2))),
                )?,
                _ => chart.draw_series(
                    points
                        .iter()
                        .map(|p| Circle::new(*p, size, colour.stroke_width(2))),
                )?,
            };
            drawn.label(s.label.clone()).legend(move |(x, y)| {
                Rectangle::new([(x, y - 4), (x + 12, y + 4)], colour.filled())
            });
            chart.draw_series(
                s.notes
                    .iter()
                    .zip(&s.points)
                    .filter(|(_, p)| p.0.is_finite() && p.1.is_finite())
                    .map(|(note, p)| {
                        Text::new(
                            note.clone(),
                            (p.0, p.1),
                            ("sans-serif", 11).into_font().color(&colour),
                        )
                    }),
            )?;
        }
        for (x, text) in marks {
            let grey = RGBColor(90, 90, 90);
            chart.draw_series(DashedLineSeries::new(
                [(*x, y_low), (*x, y_high)],
                6,
                4,
                grey.stroke_width(1),
            ))?;
            // The name sits just right of the line, low enough to clear the legend.
            chart.draw_series(std::iter::once(Text::new(
                text.to_string(),
                (
                    *x + (x_high - x_low) * 0.008,
                    y_low + (y_high - y_low) * 0.06,
                ),
                ("sans-serif", 12).into_font().color(&grey),
            )))?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .border_style(BLACK)
            .background_style(WHITE.mix(0.9))
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
        row_axes(&mut chart, &names, "conversion lift (percentage points)")?;
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
