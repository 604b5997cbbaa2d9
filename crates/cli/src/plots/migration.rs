//! The migration heatmap: where each segment's customers went from one run to the next.

use std::path::Path;

use lookalike_measure::Migration;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Cell colour for a row share: white at 0, deep blue at 1.
fn shade(share: f64) -> RGBColor {
    let mix = |light: f64, dark: f64| (light + (dark - light) * share.clamp(0.0, 1.0)) as u8;
    RGBColor(mix(255.0, 30.0), mix(255.0, 70.0), mix(255.0, 150.0))
}

/// A grid with one row per segment before (top first) and one column per segment after, each
/// named with its customers in both runs; each cell is coloured by the share of the row's
/// customers who made that move and gives the share and the count. The diagonal (customers who
/// stayed) is outlined.
pub fn migration(migration: &Migration, by: &str, path: &Path) -> anyhow::Result<()> {
    let n = migration.segments.len();
    if n == 0 {
        anyhow::bail!("no customer is in both runs: there is no migration to plot");
    }
    let shares = migration.row_shares();
    let cell = 76i32;
    let (left, top, bottom) = (190i32, 70i32, 170i32);
    let size = (
        (left + cell * n as i32 + 30) as u32,
        (top + cell * n as i32 + bottom) as u32,
    );
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE)?;
        root.draw(&Text::new(
            format!("{by}: where each segment's customers went (row shares)"),
            (16, 18),
            ("sans-serif", 20).into_font(),
        ))?;
        let label = |anchor: Pos| ("sans-serif", 13).into_font().color(&BLACK).pos(anchor);
        let before_totals: Vec<u64> = migration.counts.iter().map(|r| r.iter().sum()).collect();
        let after_totals: Vec<u64> = (0..n)
            .map(|j| migration.counts.iter().map(|r| r[j]).sum())
            .collect();
        for (i, name) in migration.segments.iter().enumerate() {
            let y = top + cell * i as i32 + cell / 2;
            root.draw(&Text::new(
                format!("{name} ({})", before_totals[i]),
                (left - 8, y),
                label(Pos::new(HPos::Right, VPos::Center)),
            ))?;
            // Column names run downwards under the grid, rotated to fit any length.
            let x = left + cell * i as i32 + cell / 2;
            root.draw(&Text::new(
                format!("{name} ({})", after_totals[i]),
                (x, top + cell * n as i32 + 8),
                ("sans-serif", 13)
                    .into_font()
                    .transform(FontTransform::Rotate90)
                    .color(&BLACK)
                    .pos(Pos::new(HPos::Left, VPos::Center)),
            ))?;
        }
        root.draw(&Text::new(
            format!(
                "rows: segment before · columns: segment after · {} customers in both runs, {} only before, {} only after",
                migration.in_both(),
                migration.only_before,
                migration.only_after
            ),
            (16, top - 22),
            label(Pos::new(HPos::Left, VPos::Center)),
        ))?;
        for (i, row) in shares.iter().enumerate() {
            for (j, share) in row.iter().enumerate() {
                let (x, y) = (left + cell * j as i32, top + cell * i as i32);
                root.draw(&Rectangle::new(
                    [(x, y), (x + cell, y + cell)],
                    shade(*share).filled(),
                ))?;
                root.draw(&Rectangle::new(
                    [(x, y), (x + cell, y + cell)],
                    RGBColor(220, 220, 220).stroke_width(1),
                ))?;
                let count = migration.counts[i][j];
                if count == 0 {
                    continue;
                }
                let ink = if *share > 0.5 { WHITE } else { BLACK };
                let centre = |dy: i32, text: String, points: u32| {
                    Text::new(
                        text,
                        (x + cell / 2, y + cell / 2 + dy),
                        ("sans-serif", points)
                            .into_font()
                            .color(&ink)
                            .pos(Pos::new(HPos::Center, VPos::Center)),
                    )
                };
                let percent = if *share < 0.005 {
                    "<1%".to_string()
                } else {
                    format!("{:.0}%", 100.0 * share)
                };
                root.draw(&centre(-8, percent, 15))?;
                root.draw(&centre(10, count.to_string(), 11))?;
            }
        }
        // The diagonal last, so that no neighbour's border covers it.
        for i in 0..n {
            let (x, y) = (left + cell * i as i32, top + cell * i as i32);
            root.draw(&Rectangle::new(
                [(x, y), (x + cell, y + cell)],
                BLACK.stroke_width(3),
            ))?;
        }
        root.present()?;
    }
    lookalike_core::write_atomically(path, |w| std::io::Write::write_all(w, svg.as_bytes()))?;
    Ok(())
}
