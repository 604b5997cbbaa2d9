//! Reports on value predictions: the summary after scoring, and the holdout evaluation of the
//! value crate (`HoldoutEvaluation`, `Tracking`) as text, CSV tables and plots.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use anyhow::Context;
use lookalike_core::FeatureTable;
use lookalike_value::{
    CohortWeek, FrequencyRow, HoldoutEvaluation, MetricRow, PurchaseModel, Summary, Tracking,
};

use crate::plots::{self, Series};
use lookalike_value::Prediction;

fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

/// Mean CLV, the distribution of P(alive) and the `top` customers by CLV.
pub fn summary(table: &FeatureTable, predictions: &[Option<Prediction>], top: usize) -> String {
    let mut alive: Vec<f64> = predictions.iter().flatten().map(|p| p.p_alive).collect();
    alive.sort_by(f64::total_cmp);
    let clvs: Vec<(usize, f64)> = predictions
        .iter()
        .enumerate()
        .filter_map(|(i, p)| p.and_then(|p| p.clv).map(|c| (i, c)))
        .collect();
    let mut text = String::new();
    let n = alive.len();
    if n == 0 {
        return "no customer with a purchase: nothing to summarise\n".into();
    }
    let _ = writeln!(
        text,
        "value of {n} customers with a purchase (of {}):",
        table.len()
    );
    let _ = writeln!(
        text,
        "  P(alive): p10 {:.3}  p25 {:.3}  median {:.3}  p75 {:.3}  p90 {:.3}; {:.1}% above 0.5",
        quantile(&alive, 0.1),
        quantile(&alive, 0.25),
        quantile(&alive, 0.5),
        quantile(&alive, 0.75),
        quantile(&alive, 0.9),
        100.0 * alive.iter().filter(|p| **p > 0.5).count() as f64 / n as f64
    );
    let purchases: f64 = predictions
        .iter()
        .flatten()
        .map(|p| p.expected_purchases)
        .sum();
    let _ = writeln!(
        text,
        "  expected purchases over the horizon: {purchases:.1} in all, {:.3} per customer",
        purchases / n as f64
    );
    if clvs.is_empty() {
        text += "  CLV: no spend model\n";
        return text;
    }
    let total: f64 = clvs.iter().map(|(_, c)| c).sum();
    let _ = writeln!(
        text,
        "  CLV: mean {:.2}, total {:.2}",
        total / clvs.len() as f64,
        total
    );
    let mut ranked = clvs;
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let _ = writeln!(text, "  top {} customers by CLV:", top.min(ranked.len()));
    let _ = writeln!(
        text,
        "    {:>12} {:>8} {:>10} {:>10} {:>10}",
        "customer_id", "p_alive", "purchases", "spend", "clv"
    );
    for (i, c) in ranked.iter().take(top) {
        let p = predictions[*i].expect("ranked customers have predictions");
        let _ = writeln!(
            text,
            "    {:>12} {:>8.3} {:>10.3} {:>10.2} {:>10.2}",
            table.ids()[*i].as_str(),
            p.p_alive,
            p.expected_purchases,
            p.expected_spend.unwrap_or(f64::NAN),
            c
        );
    }
    text
}

/// The holdout evaluation (the value crate's), rendered.
pub struct Evaluation(pub HoldoutEvaluation);

impl Evaluation {
    /// The report as text.
    pub fn render(&self) -> String {
        let mut text = String::new();
        let _ = writeln!(text, "{:<44} {:>12} {:>12}", "", "model", "naive");
        for MetricRow { name, model, naive } in self.0.metrics() {
            let _ = writeln!(text, "{name:<44} {model:>12.4} {naive:>12.4}");
        }
        let _ = writeln!(
            text,
            "\nholdout purchases by calibration frequency x (conditional expectations):"
        );
        let _ = writeln!(
            text,
            "{:>4} {:>8} {:>10} {:>10} {:>10}",
            "x", "n", "actual", "model", "naive"
        );
        for row in self.0.by_frequency() {
            let _ = writeln!(
                text,
                "{:>4} {:>8} {:>10.3} {:>10.3} {:>10.3}",
                row.frequency, row.customers, row.actual, row.model, row.naive
            );
        }
        let _ = writeln!(
            text,
            "\ndecile calibration (deciles of predicted purchases, highest first):"
        );
        let _ = writeln!(
            text,
            "{:>6} {:>8} {:>10} {:>10}",
            "decile", "n", "predicted", "actual"
        );
        for row in self.0.deciles() {
            let _ = writeln!(
                text,
                "{:>6} {:>8} {:>10.3} {:>10.3}",
                row.decile, row.customers, row.predicted, row.actual
            );
        }
        text
    }

    /// Writes metrics.csv, by_frequency.csv and deciles.csv into `dir`.
    pub fn write(&self, dir: &Path) -> anyhow::Result<()> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let write = |name: &str, body: String| -> anyhow::Result<()> {
            let path = dir.join(name);
            lookalike_core::write_atomically(&path, |w| w.write_all(body.as_bytes()))
                .with_context(|| format!("writing {}", path.display()))
        };
        let mut metrics = String::from("metric,model,naive\n");
        for MetricRow { name, model, naive } in self.0.metrics() {
            let _ = writeln!(metrics, "\"{name}\",{model},{naive}");
        }
        write("metrics.csv", metrics)?;
        let mut by_x = String::from("frequency,customers,actual,model,naive\n");
        for r in self.0.by_frequency() {
            let _ = writeln!(
                by_x,
                "{},{},{},{},{}",
                r.frequency, r.customers, r.actual, r.model, r.naive
            );
        }
        write("by_frequency.csv", by_x)?;
        let mut deciles = String::from("decile,customers,predicted,actual\n");
        for r in self.0.deciles() {
            let _ = writeln!(
                deciles,
                "{},{},{},{}",
                r.decile, r.customers, r.predicted, r.actual
            );
        }
        write("deciles.csv", deciles)
    }
}

/// Rendering of the value crate's tracking table.
pub trait TrackingText {
    /// The table as text: every fourth week and the last.
    fn render(&self) -> String;
    /// The table as CSV.
    fn csv(&self) -> String;
    /// The three curves for a plot.
    fn series(&self) -> Vec<Series>;
}

impl TrackingText for Tracking {
    fn render(&self) -> String {
        let mut text = String::from(
            "\ncumulative holdout purchases by week (tracking; every 4th week and the last):\n",
        );
        let _ = writeln!(
            text,
            "{:>5} {:>12} {:>12} {:>12}",
            "week", "actual", "model", "naive"
        );
        let last = self.rows.len();
        for (week, actual, model, naive) in &self.rows {
            if week % 4 == 0 || *week == last {
                let _ = writeln!(text, "{week:>5} {actual:>12.1} {model:>12.1} {naive:>12.1}");
            }
        }
        let at = |day: i64| self.cohort.iter().find(|w| w.end_day == day);
        if let (Some(cutoff), Some(end)) = (at(0), self.cohort.last()) {
            let _ = writeln!(
                text,
                "cohort's cumulative repeat purchases against the model's unconditional expectation \
                 (cohort_tracking.csv):\n  at as-of {:.1} actual, {:.1} expected; at the holdout's end {:.1} actual, {:.1} expected",
                cutoff.actual, cutoff.expected, end.actual, end.expected
            );
        }
        text
    }

    fn csv(&self) -> String {
        let mut body = String::from("week,actual,model,naive\n");
        for (week, actual, model, naive) in &self.rows {
            let _ = writeln!(body, "{week},{actual},{model},{naive}");
        }
        body
    }

    fn series(&self) -> Vec<Series> {
        // x: weeks from as-of (negative in calibration). The holdout forecasts start from the
        // actual count at as-of, so that they continue the cohort's line.
        let weeks = |day: i64| day as f64 / 7.0;
        let cutoff = self
            .cohort
            .iter()
            .find(|w| w.end_day == 0)
            .map_or(0.0, |w| w.actual);
        let holdout = |label: &str, pick: fn(&(usize, f64, f64, f64)) -> f64| Series {
            label: label.into(),
            points: std::iter::once((0.0, cutoff))
                .chain(
                    self.cohort
                        .iter()
                        .filter(|w| w.end_day > 0)
                        .zip(&self.rows)
                        .map(|(w, r)| (weeks(w.end_day), cutoff + pick(r))),
                )
                .collect(),
            notes: Vec::new(),
        };
        let whole = |label: &str, pick: fn(&CohortWeek) -> f64| Series {
            label: label.into(),
            points: self
                .cohort
                .iter()
                .map(|w| (weeks(w.end_day), pick(w)))
                .collect(),
            notes: Vec::new(),
        };
        vec![
            whole("actual", |w| w.actual),
            whole(
                "model, unconditional (the cohort from each first purchase)",
                |w| w.expected,
            ),
            holdout("model, conditional on each customer's history", |r| r.2),
            holdout("naive (each customer's historical rate)", |r| r.3),
        ]
    }
}

/// The cohort's tracking as CSV: week end in days and weeks from as-of, actual and expected.
fn cohort_csv(tracking: &Tracking) -> String {
    let mut body = String::from("end_day,weeks_from_as_of,actual,expected\n");
    for w in &tracking.cohort {
        let _ = writeln!(
            body,
            "{},{},{},{}",
            w.end_day,
            w.end_day as f64 / 7.0,
            w.actual,
            w.expected
        );
    }
    body
}

/// Writes tracking.csv (and the other tables) into `dir`.
pub fn write_tracking(tracking: &Tracking, dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for (name, body) in [
        ("tracking.csv", tracking.csv()),
        ("cohort_tracking.csv", cohort_csv(tracking)),
    ] {
        let path = dir.join(name);
        lookalike_core::write_atomically(&path, |w| w.write_all(body.as_bytes()))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// The evaluation's SVG plots in `dir`: tracking.svg (cumulative holdout purchases by week),
/// conditional_expectations.svg (mean holdout purchases by calibration x) and p_alive.svg
/// (P(alive) over recency × frequency at the longest tenure `t`). Returns the paths written.
pub fn plot(
    evaluation: &Evaluation,
    tracking: &Tracking,
    model: &dyn PurchaseModel,
    longest: &Summary,
    dir: &Path,
) -> anyhow::Result<Vec<std::path::PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let tracking_path = dir.join("tracking.svg");
    plots::lines_marked(
        "Cumulative repeat purchases of the customers who bought before as-of",
        "weeks from as-of (calibration before 0, holdout after)",
        "repeat purchase days (cumulative)",
        &tracking.series(),
        true,
        &[(0.0, "as-of: calibration | holdout")],
        &tracking_path,
    )?;
    let by_x = evaluation.0.by_frequency();
    let column = |label: &str, pick: fn(&FrequencyRow) -> f64, named: bool| Series {
        label: label.into(),
        points: by_x
            .iter()
            .enumerate()
            .filter(|(_, row)| row.customers > 0)
            .map(|(x, row)| (x as f64, pick(row)))
            .collect(),
        // How many customers each point is the mean of, on the actual line.
        notes: if named {
            by_x.iter()
                .filter(|row| row.customers > 0)
                .map(|row| format!("   n={}", row.customers))
                .collect()
        } else {
            Vec::new()
        },
    };
    let conditional_path = dir.join("conditional_expectations.svg");
    plots::lines(
        "Mean holdout purchases by calibration repeat purchases (7 = 7 or more)",
        "repeat purchases in calibration (x)",
        "mean purchases in the holdout",
        &[
            column("actual", |r| r.actual, true),
            column("model", |r| r.model, false),
            column("naive (historical rate)", |r| r.naive, false),
        ],
        true,
        &conditional_path,
    )?;
    // P(alive) at the longest tenure, for every recency and frequency up to the largest seen.
    let (t, max_x) = (longest.t, longest.frequency.clamp(1.0, 60.0));
    const STEPS: usize = 60;
    let grid: Vec<Vec<f64>> = (0..=max_x as usize)
        .map(|x| {
            (0..STEPS)
                .map(|j| {
                    let recency = if x == 0 {
                        0.0
                    } else {
                        t * (j as f64 + 0.5) / STEPS as f64
                    };
                    model.p_alive(&Summary {
                        frequency: x as f64,
                        recency,
                        t,
                    })
                })
                .collect()
        })
        .collect();
    let p_alive_path = dir.join("p_alive.svg");
    plots::probability_map(
        &format!("P(alive) by recency and frequency, tenure T = {t:.0}"),
        "recency t_x (time of the last purchase since the first)",
        "repeat purchases x",
        (0.0, t),
        (-0.5, max_x + 0.5),
        &grid,
        &p_alive_path,
    )?;
    Ok(vec![tracking_path, conditional_path, p_alive_path])
}
