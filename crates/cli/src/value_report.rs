//! Reports on value predictions: the summary after scoring, and the holdout evaluation
//! (errors, the table by calibration frequency as in the BG/NBD paper, decile calibration,
//! Gini and top-decile capture, the weekly tracking of cumulative purchases) next to a naive
//! baseline, and its plots.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use anyhow::Context;
use lookalike_core::FeatureTable;
use lookalike_value::{PurchaseModel, Summary};

use crate::plots::{self, Series};
use crate::value_model::Prediction;

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

/// One customer in the holdout comparison.
struct Row {
    frequency: f64,
    actual_purchases: f64,
    actual_spend: f64,
    model_purchases: f64,
    model_spend: f64,
    naive_purchases: f64,
    naive_spend: f64,
}

/// The holdout evaluation.
pub struct Evaluation {
    rows: Vec<Row>,
}

fn mae_rmse(pairs: impl Iterator<Item = (f64, f64)>) -> (f64, f64) {
    let (mut abs, mut sq, mut n) = (0.0, 0.0, 0.0);
    for (a, p) in pairs {
        abs += (a - p).abs();
        sq += (a - p) * (a - p);
        n += 1.0;
    }
    (abs / n, (sq / n).sqrt())
}

/// Gini of `actual` ranked by `score` (descending, ties by position): twice the area between
/// the cumulative-gains curve and the diagonal, and the share of the total in the top 10%.
fn gini_and_top_decile(score: &[f64], actual: &[f64]) -> (f64, f64) {
    let mut order: Vec<usize> = (0..score.len()).collect();
    order.sort_by(|a, b| score[*b].total_cmp(&score[*a]).then(a.cmp(b)));
    let total: f64 = actual.iter().sum();
    let n = order.len() as f64;
    if total <= 0.0 || order.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let (mut cumulative, mut area, mut top) = (0.0, 0.0, 0.0);
    let top_count = (n / 10.0).ceil() as usize;
    for (k, i) in order.iter().enumerate() {
        let before = cumulative;
        cumulative += actual[*i] / total;
        area += (before + cumulative) / 2.0 / n;
        if k < top_count {
            top = cumulative;
        }
    }
    (2.0 * area - 1.0, top)
}

impl Evaluation {
    /// Pairs each customer's predictions with the holdout columns of the table.
    pub fn new(
        table: &FeatureTable,
        predictions: &[Option<Prediction>],
        holdout_units: f64,
    ) -> anyhow::Result<Self> {
        let column = |name: &str| {
            table.column_values(name).with_context(|| {
                format!(
                    "the feature table has no `{name}` column; make it with `lookalike features`"
                )
            })
        };
        let (x, t, m) = (
            column("frequency")?,
            column("T")?,
            column("monetary_value")?,
        );
        let aov = column("avg_order_value")?;
        let (hp, hs) = (column("holdout_purchases")?, column("holdout_spend")?);
        let rows = predictions
            .iter()
            .enumerate()
            .filter_map(|(i, p)| {
                let p = p.as_ref()?;
                // The naive baseline: each customer keeps their historical repeat rate x/T and
                // their mean order value.
                let rate = if t[i] > 0.0 { x[i] / t[i] } else { 0.0 };
                let naive_purchases = rate * holdout_units;
                let order_value = if x[i] > 0.0 && m[i] > 0.0 {
                    m[i]
                } else {
                    aov[i]
                };
                Some(Row {
                    frequency: x[i],
                    actual_purchases: hp[i],
                    actual_spend: hs[i],
                    model_purchases: p.expected_purchases,
                    model_spend: p
                        .expected_spend
                        .map_or(f64::NAN, |s| s * p.expected_purchases),
                    naive_purchases,
                    naive_spend: naive_purchases * order_value,
                })
            })
            .collect();
        Ok(Evaluation { rows })
    }

    fn metrics(&self) -> Vec<(String, f64, f64)> {
        let r = &self.rows;
        let (mp, rp) = mae_rmse(r.iter().map(|r| (r.actual_purchases, r.model_purchases)));
        let (mn, rn) = mae_rmse(r.iter().map(|r| (r.actual_purchases, r.naive_purchases)));
        let (ms, rs) = mae_rmse(r.iter().map(|r| (r.actual_spend, r.model_spend)));
        let (msn, rsn) = mae_rmse(r.iter().map(|r| (r.actual_spend, r.naive_spend)));
        let actual: Vec<f64> = r.iter().map(|r| r.actual_spend).collect();
        let model_score: Vec<f64> = r.iter().map(|r| r.model_spend).collect();
        let naive_score: Vec<f64> = r.iter().map(|r| r.naive_spend).collect();
        let (gm, tm) = gini_and_top_decile(&model_score, &actual);
        let (gn, tn) = gini_and_top_decile(&naive_score, &actual);
        let total = |f: fn(&Row) -> f64| r.iter().map(f).sum::<f64>();
        vec![
            (
                format!(
                    "total holdout purchases (actual {:.0})",
                    total(|r| r.actual_purchases)
                ),
                total(|r| r.model_purchases),
                total(|r| r.naive_purchases),
            ),
            ("purchases MAE".into(), mp, mn),
            ("purchases RMSE".into(), rp, rn),
            ("spend MAE".into(), ms, msn),
            ("spend RMSE".into(), rs, rsn),
            ("Gini of holdout spend".into(), gm, gn),
            ("top-decile capture of spend".into(), tm, tn),
        ]
    }

    /// Mean actual and predicted holdout purchases by calibration frequency (0…6, 7+).
    fn by_frequency(&self) -> Vec<(String, usize, f64, f64, f64)> {
        (0..8)
            .map(|x| {
                let group: Vec<&Row> = self
                    .rows
                    .iter()
                    .filter(|r| {
                        if x < 7 {
                            r.frequency == x as f64
                        } else {
                            r.frequency >= 7.0
                        }
                    })
                    .collect();
                let n = group.len();
                let mean =
                    |f: fn(&Row) -> f64| group.iter().map(|r| f(r)).sum::<f64>() / n.max(1) as f64;
                (
                    if x < 7 { x.to_string() } else { "7+".into() },
                    n,
                    mean(|r| r.actual_purchases),
                    mean(|r| r.model_purchases),
                    mean(|r| r.naive_purchases),
                )
            })
            .collect()
    }

    /// Deciles of the model's predicted purchases (highest first): mean predicted and actual.
    fn deciles(&self) -> Vec<(usize, usize, f64, f64)> {
        let mut order: Vec<&Row> = self.rows.iter().collect();
        order.sort_by(|a, b| b.model_purchases.total_cmp(&a.model_purchases));
        let n = order.len();
        (0..10)
            .map(|d| {
                let part = &order[d * n / 10..(d + 1) * n / 10];
                let len = part.len().max(1) as f64;
                (
                    d + 1,
                    part.len(),
                    part.iter().map(|r| r.model_purchases).sum::<f64>() / len,
                    part.iter().map(|r| r.actual_purchases).sum::<f64>() / len,
                )
            })
            .collect()
    }

    /// The report as text.
    pub fn render(&self) -> String {
        let mut text = String::new();
        let _ = writeln!(text, "{:<44} {:>12} {:>12}", "", "model", "naive");
        for (name, model, naive) in self.metrics() {
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
        for (x, n, actual, model, naive) in self.by_frequency() {
            let _ = writeln!(
                text,
                "{x:>4} {n:>8} {actual:>10.3} {model:>10.3} {naive:>10.3}"
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
        for (d, n, predicted, actual) in self.deciles() {
            let _ = writeln!(text, "{d:>6} {n:>8} {predicted:>10.3} {actual:>10.3}");
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
        for (name, model, naive) in self.metrics() {
            let _ = writeln!(metrics, "\"{name}\",{model},{naive}");
        }
        write("metrics.csv", metrics)?;
        let mut by_x = String::from("frequency,customers,actual,model,naive\n");
        for (x, n, a, m, b) in self.by_frequency() {
            let _ = writeln!(by_x, "{x},{n},{a},{m},{b}");
        }
        write("by_frequency.csv", by_x)?;
        let mut deciles = String::from("decile,customers,predicted,actual\n");
        for (d, n, p, a) in self.deciles() {
            let _ = writeln!(deciles, "{d},{n},{p},{a}");
        }
        write("deciles.csv", deciles)
    }
}

/// Cumulative holdout purchases week by week: actual, the model's expectation and the naive
/// baseline's (each customer's historical rate), over the customers who bought before as-of.
pub struct Tracking {
    /// (week, cumulative actual, model, naive).
    rows: Vec<(usize, f64, f64, f64)>,
}

impl Tracking {
    /// `weekly_actual[k]`: purchase days in holdout week k; `model_cumulative[k]`: the model's
    /// expected purchases up to the end of week k; `naive_rate`: Σ x/T per time unit;
    /// `week_ends[k]`: the end of week k in the model's time unit.
    pub fn new(
        weekly_actual: &[f64],
        model_cumulative: &[f64],
        naive_rate: f64,
        week_ends: &[f64],
    ) -> Self {
        let mut actual = 0.0;
        let rows = weekly_actual
            .iter()
            .zip(model_cumulative)
            .zip(week_ends)
            .enumerate()
            .map(|(k, ((week, model), end))| {
                actual += week;
                (k + 1, actual, *model, naive_rate * end)
            })
            .collect();
        Tracking { rows }
    }

    /// The table as text: every fourth week and the last.
    pub fn render(&self) -> String {
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
        let line = |label: &str, pick: fn(&(usize, f64, f64, f64)) -> f64| Series {
            label: label.into(),
            points: self.rows.iter().map(|r| (r.0 as f64, pick(r))).collect(),
        };
        vec![
            line("actual", |r| r.1),
            line("model", |r| r.2),
            line("naive (historical rate)", |r| r.3),
        ]
    }
}

/// Writes tracking.csv (and the other tables) into `dir`.
pub fn write_tracking(tracking: &Tracking, dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join("tracking.csv");
    lookalike_core::write_atomically(&path, |w| w.write_all(tracking.csv().as_bytes()))
        .with_context(|| format!("writing {}", path.display()))
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
    plots::lines(
        "Cumulative repeat purchases in the holdout",
        "week of the holdout",
        "purchases (cumulative)",
        &tracking.series(),
        true,
        &tracking_path,
    )?;
    let by_x = evaluation.by_frequency();
    let column = |label: &str, pick: fn(&(String, usize, f64, f64, f64)) -> f64| Series {
        label: label.into(),
        points: by_x
            .iter()
            .enumerate()
            .filter(|(_, row)| row.1 > 0)
            .map(|(x, row)| (x as f64, pick(row)))
            .collect(),
    };
    let conditional_path = dir.join("conditional_expectations.svg");
    plots::lines(
        "Mean holdout purchases by calibration repeat purchases (7 = 7 or more)",
        "repeat purchases in calibration (x)",
        "mean purchases in the holdout",
        &[
            column("actual", |r| r.2),
            column("model", |r| r.3),
            column("naive (historical rate)", |r| r.4),
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
