//! The cluster plot: each cluster's size with what sets it apart and, for a sweep over k, the
//! quality of each k (silhouette and inertia) with the chosen k marked.

use std::path::Path;

use lookalike_cluster::Clustering;
use plotters::prelude::*;

use super::row_axes;

/// One cluster's bar: its number, size, share and what sets it apart.
pub struct ClusterBar {
    pub cluster: usize,
    pub size: usize,
    pub share: f64,
    pub distinguishing: Vec<(String, f64)>,
}

/// One k of a sweep.
pub struct SweepPoint {
    pub k: usize,
    pub silhouette: f64,
    pub inertia: f64,
}

/// Left: one bar per cluster (its share of the clustered customers), named with its size and
/// its most distinguishing features (z = standard deviations of the cluster mean from the
/// overall mean). Right, for a sweep: silhouette and inertia against k, integer ticks, markers,
/// the chosen k circled.
pub fn clusters(clustering: &Clustering, path: &Path) -> anyhow::Result<()> {
    let bars: Vec<ClusterBar> = clustering
        .profiles
        .iter()
        .map(|p| ClusterBar {
            cluster: p.cluster,
            size: p.size,
            share: p.share,
            distinguishing: p.distinguishing.clone(),
        })
        .collect();
    let sweep: Vec<SweepPoint> = clustering
        .sweep
        .iter()
        .map(|o| SweepPoint {
            k: o.k,
            silhouette: o.metrics.silhouette,
            inertia: o.inertia,
        })
        .collect();
    let svg = clusters_svg(&bars, &sweep, clustering.chosen)?;
    lookalike_core::write_atomically(path, |w| std::io::Write::write_all(w, svg.as_bytes()))?;
    Ok(())
}

/// [`clusters`] as SVG text, from the bars and the sweep (one point: no curves).
pub fn clusters_svg(
    profiles: &[ClusterBar],
    sweep_points: &[SweepPoint],
    chosen: usize,
) -> anyhow::Result<String> {
    let sweep = sweep_points.len() > 1;
    let height = (140 + 46 * profiles.len() as u32).max(420);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (if sweep { 1200 } else { 760 }, height))
            .into_drawing_area();
        root.fill(&WHITE)?;
        let (left, right) = if sweep {
            root.split_horizontally(760)
        } else {
            (root.clone(), root.clone())
        };
        let count = profiles.len();
        let top = profiles
            .iter()
            .map(|p| p.share)
            .fold(0.0f64, f64::max)
            .max(0.01)
            * 100.0
            * 1.15;
        let names: Vec<String> = profiles
            .iter()
            .map(|p| {
                let apart: Vec<String> = p
                    .distinguishing
                    .iter()
                    .take(2)
                    .map(|(c, z)| format!("{c} {z:+.1}"))
                    .collect();
                format!("{} ({}): {}", p.cluster, p.size, apart.join(", "))
            })
            .collect();
        let mut chart = ChartBuilder::on(&left)
            .caption(
                format!("{count} clusters: share and what sets each apart (z)"),
                ("sans-serif", 18),
            )
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(320)
            .build_cartesian_2d(0f64..top, -0.5f64..count as f64 - 0.5)?;
        row_axes(&mut chart, &names, "percent of the clustered customers")?;
        let blue = RGBColor(70, 110, 180);
        chart.draw_series(profiles.iter().enumerate().map(|(i, p)| {
            let y = (count - 1 - i) as f64;
            Rectangle::new(
                [(0.0, y - 0.35), (100.0 * p.share, y + 0.35)],
                blue.filled(),
            )
        }))?;
        if sweep {
            let (upper, lower) = right.split_vertically(height / 2);
            let ks: Vec<f64> = sweep_points.iter().map(|o| o.k as f64).collect();
            let (low_k, high_k) = (ks[0] - 0.5, ks[ks.len() - 1] + 0.5);
            let chosen = chosen as f64;
            let curves: [(&str, Vec<f64>, RGBColor, &DrawingArea<SVGBackend<'_>, _>); 2] = [
                (
                    "silhouette (higher is better)",
                    sweep_points.iter().map(|o| o.silhouette).collect(),
                    RGBColor(70, 110, 180),
                    &upper,
                ),
                (
                    "inertia (the elbow)",
                    sweep_points.iter().map(|o| o.inertia).collect(),
                    RGBColor(230, 140, 40),
                    &lower,
                ),
            ];
            for (title, values, colour, area) in curves {
                let finite = values.iter().copied().filter(|v| v.is_finite());
                let (min, max) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                    (a.min(v), b.max(v))
                });
                let pad = ((max - min) * 0.1).max(1e-9);
                let mut chart = ChartBuilder::on(area)
                    .caption(title, ("sans-serif", 16))
                    .margin(12)
                    .x_label_area_size(32)
                    .y_label_area_size(70)
                    .build_cartesian_2d(low_k..high_k, (min - pad)..(max + pad))?;
                chart
                    .configure_mesh()
                    .x_labels(ks.len())
                    .x_label_formatter(&|k| {
                        if (k - k.round()).abs() < 1e-6 {
                            format!("{}", k.round() as i64)
                        } else {
                            String::new()
                        }
                    })
                    .y_label_formatter(&|v| {
                        let text = crate::progress::si(v.abs());
                        if *v < 0.0 { format!("-{text}") } else { text }
                    })
                    .x_desc("k")
                    .draw()?;
                let points: Vec<(f64, f64)> =
                    ks.iter().copied().zip(values.iter().copied()).collect();
                chart.draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))?;
                chart.draw_series(points.iter().map(|p| Circle::new(*p, 4, colour.filled())))?;
                chart.draw_series(
                    points
                        .iter()
                        .filter(|(k, _)| *k == chosen)
                        .map(|p| Circle::new(*p, 9, BLACK.stroke_width(2))),
                )?;
            }
        }
        root.present()?;
    }
    Ok(svg)
}
