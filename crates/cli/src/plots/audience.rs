//! The audience plot: how the candidates' scores spread, where each tier is cut, and what each
//! tier is worth next to all candidates.

use std::path::Path;

use lookalike_audience::Audience;
use plotters::prelude::*;

/// Left: the candidates by score on a log-scaled count axis (a base of a million is mostly low
/// scores; the tiers live in the thin right tail), each tier's cut drawn at the score of its
/// last member. Right: each tier's mean `value_label` beside `base_mean`, the same over every
/// candidate.
pub fn audience(
    audience: &Audience,
    tiers: &[(String, f64)],
    base_mean: f64,
    value_label: &str,
    path: &Path,
) -> anyhow::Result<()> {
    let histogram = &audience.histogram;
    let cuts: Vec<(String, f64)> = audience
        .tiers
        .iter()
        .filter(|(_, size)| *size > 0)
        .map(|(label, size)| (label.clone(), audience.members[size - 1].score))
        .collect();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (1100, 500)).into_drawing_area();
        root.fill(&WHITE)?;
        let (left, right) = root.split_horizontally(620);
        let top = histogram.iter().copied().max().unwrap_or(1).max(1) as f64 * 3.0;
        let mut chart = ChartBuilder::on(&left)
            .caption(
                format!("{} candidates by score, tier cuts", audience.candidates),
                ("sans-serif", 20),
            )
            .margin(14)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(0f64..1f64, (0.8f64..top).log_scale())?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_desc("score")
            .y_desc("candidates (log scale)")
            .y_label_formatter(&|v| format!("{v:.0}"))
            .draw()?;
        let blue = RGBColor(70, 110, 180);
        chart.draw_series(histogram.iter().enumerate().filter(|(_, n)| **n > 0).map(
            |(i, n)| {
                let x = i as f64 / 20.0;
                Rectangle::new([(x + 0.002, 0.8), (x + 0.048, *n as f64)], blue.filled())
            },
        ))?;
        let red = RGBColor(200, 50, 50);
        for (k, (label, score)) in cuts.iter().enumerate() {
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(*score, 0.8), (*score, top)],
                red.stroke_width(2),
            )))?;
            // Labels stacked downwards so that close cuts stay readable.
            let y = top / 2f64.powi(1 + 2 * k as i32);
            // On the side of the line with room.
            let (x, side) = if *score < 0.5 {
                (*score + 0.006, plotters::style::text_anchor::HPos::Left)
            } else {
                (*score - 0.006, plotters::style::text_anchor::HPos::Right)
            };
            chart.draw_series(std::iter::once(Text::new(
                format!("{label} ≥ {score:.3}"),
                (x, y),
                ("sans-serif", 13).into_font().color(&red).pos(
                    plotters::style::text_anchor::Pos::new(
                        side,
                        plotters::style::text_anchor::VPos::Center,
                    ),
                ),
            )))?;
        }
        let high = tiers
            .iter()
            .map(|t| t.1)
            .chain([base_mean])
            .filter(|v| v.is_finite())
            .fold(0.0f64, f64::max)
            .max(1e-9)
            * 1.2;
        let count = tiers.len() + 1;
        let mut names: Vec<String> = tiers.iter().map(|t| t.0.clone()).collect();
        names.push("all candidates".into());
        let mut bars = ChartBuilder::on(&right)
            .caption(format!("{value_label} per tier"), ("sans-serif", 20))
            .margin(14)
            .x_label_area_size(40)
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
        let grey = RGBColor(150, 150, 150);
        let values: Vec<f64> = tiers.iter().map(|t| t.1).chain([base_mean]).collect();
        bars.draw_series(values.iter().enumerate().map(|(i, v)| {
            let colour = if i + 1 == count { grey } else { orange };
            Rectangle::new(
                [(i as f64 - 0.35, 0.0), (i as f64 + 0.35, *v)],
                colour.filled(),
            )
        }))?;
        bars.draw_series(values.iter().enumerate().map(|(i, v)| {
            Text::new(
                format!("{v:.3}"),
                (i as f64 - 0.2, *v + high * 0.02),
                ("sans-serif", 13).into_font(),
            )
        }))?;
        root.present()?;
    }
    lookalike_core::write_atomically(path, |w| std::io::Write::write_all(w, svg.as_bytes()))?;
    Ok(())
}
