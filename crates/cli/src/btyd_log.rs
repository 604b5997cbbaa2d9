//! `lookalike generate --model bgnbd|pareto`: a transaction log drawn from a value model with
//! known parameters, so that the whole path — features, then `value fit` — can be checked to
//! recover them.

use std::io::Write as _;
use std::path::Path;

use anyhow::{Context, bail};
use chrono::{NaiveDate, NaiveDateTime, TimeDelta};
use lookalike_value::{
    BgNbd, GammaGamma, ParetoNbd, SimulatedHistory, simulate_bgnbd_histories,
    simulate_pareto_histories,
};
use serde_json::json;

/// Which model draws the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogModel {
    /// BG/NBD: parameters r, alpha, a, b.
    Bgnbd,
    /// Pareto/NBD: parameters r, alpha, s, beta.
    Pareto,
}

/// What to draw.
pub struct LogSpec<'a> {
    pub model: LogModel,
    pub parameters: &'a [f64],
    pub spend: &'a [f64],
    /// Length of the parameters' time unit in days (7 for weeks).
    pub unit_days: f64,
    pub customers: usize,
    pub seed: u64,
    pub start: NaiveDate,
    pub end: NaiveDate,
}

/// Writes `transactions.csv` (customer_id, timestamp, order_id, amount) and `truth.json` (the
/// parameters) into `dir`; returns the number of transaction lines. Each customer's first
/// purchase falls uniformly in the period and their purchases follow from it; the period ends
/// at the start of `end`, the natural `--as-of`.
pub fn write_log(spec: &LogSpec, dir: &Path) -> anyhow::Result<u64> {
    let period_days = (spec.end - spec.start).num_days() as f64;
    if period_days < 1.0 {
        bail!("--end {} must be after --start {}", spec.end, spec.start);
    }
    if spec.customers == 0 {
        bail!("--customers must be at least 1");
    }
    let [p, q, gamma] = three(spec.spend, "--spend")?;
    let spend = GammaGamma::new(p, q, gamma).context("--spend")?;
    let observed = (0.0, period_days / spec.unit_days);
    let (histories, names): (Vec<SimulatedHistory>, [&str; 4]) = match spec.model {
        LogModel::Bgnbd => {
            let [r, alpha, a, b] = four(spec.parameters)?;
            let model = BgNbd::new(r, alpha, a, b).context("--parameters")?;
            let h = simulate_bgnbd_histories(&model, &spend, spec.customers, observed, spec.seed);
            (h, ["r", "alpha", "a", "b"])
        }
        LogModel::Pareto => {
            let [r, alpha, s, beta] = four(spec.parameters)?;
            let model = ParetoNbd::new(r, alpha, s, beta).context("--parameters")?;
            let h = simulate_pareto_histories(&model, &spend, spec.customers, observed, spec.seed);
            (h, ["r", "alpha", "s", "beta"])
        }
    };
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let end = spec.end.and_hms_opt(0, 0, 0).expect("midnight exists");
    let unit_seconds = spec.unit_days * 86_400.0;
    let at = |time_before_end: f64| -> NaiveDateTime {
        // Whole seconds, and never at or after the end of the period.
        end - TimeDelta::seconds(((time_before_end * unit_seconds).round() as i64).max(1))
    };
    let width = spec.customers.to_string().len().max(8);
    let path = dir.join("transactions.csv");
    let mut lines = 0u64;
    lookalike_core::write_atomically(&path, |w| {
        writeln!(w, "customer_id,timestamp,order_id,amount")?;
        for (i, history) in histories.iter().enumerate() {
            let id = format!("B{:0width$}", i + 1);
            let times = std::iter::once(0.0).chain(history.repeat_times.iter().copied());
            for (k, (time, value)) in times.zip(&history.values).enumerate() {
                let stamp = at(history.t - time).format("%Y-%m-%dT%H:%M:%S");
                writeln!(w, "{id},{stamp},{id}-{},{:.2}", k + 1, value.max(0.01))?;
                lines += 1;
            }
        }
        Ok(())
    })
    .with_context(|| format!("writing {}", path.display()))?;
    let truth = json!({
        "model": match spec.model { LogModel::Bgnbd => "bgnbd", LogModel::Pareto => "pareto" },
        "parameters": names.iter().zip(spec.parameters).map(|(n, v)| (n.to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
        "spend": { "p": p, "q": q, "gamma": gamma },
        "time_unit_days": spec.unit_days,
        "customers": spec.customers,
        "seed": spec.seed,
        "as_of": spec.end.to_string(),
    });
    let truth_path = dir.join("truth.json");
    lookalike_core::write_atomically(&truth_path, |w| {
        serde_json::to_writer_pretty(&mut *w, &truth)?;
        w.write_all(b"\n")
    })
    .with_context(|| format!("writing {}", truth_path.display()))?;
    Ok(lines)
}

fn four(values: &[f64]) -> anyhow::Result<[f64; 4]> {
    values.try_into().map_err(|_| {
        anyhow::anyhow!(
            "--parameters needs 4 numbers (r,alpha,a,b or r,alpha,s,beta), got {}",
            values.len()
        )
    })
}

fn three(values: &[f64], flag: &str) -> anyhow::Result<[f64; 3]> {
    values
        .try_into()
        .map_err(|_| anyhow::anyhow!("{flag} needs 3 numbers (p,q,gamma), got {}", values.len()))
}
