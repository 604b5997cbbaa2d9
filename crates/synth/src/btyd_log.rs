//! A transaction log drawn from a value model with known parameters (`lookalike generate
//! --model bgnbd|pareto|mbgnbd|bgbb`), so that the whole path — features, then the value fit — can be
//! checked to recover them.

use std::io::Write as _;
use std::path::Path;

use chrono::{NaiveDate, NaiveDateTime, TimeDelta};
use lookalike_value::{
    BgBb, BgNbd, GammaGamma, MbgNbd, ParetoNbd, PurchaseKind, SimulatedHistory,
    simulate_bgbb_histories, simulate_bgnbd_histories, simulate_mbgnbd_histories,
    simulate_pareto_histories,
};
use serde_json::json;

use crate::SynthError;

/// What to draw.
#[derive(Debug, Clone, Copy)]
pub struct BtydLogSpec<'a> {
    /// The purchase model that draws the log.
    pub model: PurchaseKind,
    /// Its parameters in [`PurchaseKind::parameter_names`] order.
    pub parameters: &'a [f64],
    /// Gamma-Gamma p, q, gamma of the purchase values.
    pub spend: &'a [f64],
    /// Length of the parameters' time unit in days (7 for weeks).
    pub unit_days: f64,
    /// Customers.
    pub customers: usize,
    /// Random seed: the same seed gives the same log.
    pub seed: u64,
    /// First day of the period.
    pub start: NaiveDate,
    /// The period ends at the start of this day.
    pub end: NaiveDate,
}

/// Writes `transactions.csv` (customer_id, timestamp, order_id, amount) and `truth.json` (the
/// parameters) into `dir`; returns the number of transaction lines. Each customer's first
/// purchase falls uniformly in the period and their purchases follow from it; the period ends
/// at the start of `end`, the natural `--as-of`.
pub fn write_btyd_log(spec: &BtydLogSpec, dir: &Path) -> Result<u64, SynthError> {
    let period_days = (spec.end - spec.start).num_days() as f64;
    if period_days < 1.0 {
        return Err(SynthError::EmptyPeriod {
            start: spec.start,
            end: spec.end,
        });
    }
    if spec.customers == 0 {
        return Err(SynthError::NoCustomers);
    }
    let bad =
        |what: &str, e: lookalike_value::ValueError| SynthError::Parameters(format!("{what}: {e}"));
    let [p, q, gamma] = three(spec.spend)?;
    let spend = GammaGamma::new(p, q, gamma).map_err(|e| bad("spend", e))?;
    let observed = (0.0, period_days / spec.unit_days);
    let (histories, names): (Vec<SimulatedHistory>, [&str; 4]) = match spec.model {
        PurchaseKind::Bgnbd => {
            let [r, alpha, a, b] = four(spec.parameters)?;
            let model = BgNbd::new(r, alpha, a, b).map_err(|e| bad("parameters", e))?;
            let h = simulate_bgnbd_histories(&model, &spend, spec.customers, observed, spec.seed);
            (h, ["r", "alpha", "a", "b"])
        }
        PurchaseKind::Pareto => {
            let [r, alpha, s, beta] = four(spec.parameters)?;
            let model = ParetoNbd::new(r, alpha, s, beta).map_err(|e| bad("parameters", e))?;
            let h = simulate_pareto_histories(&model, &spend, spec.customers, observed, spec.seed);
            (h, ["r", "alpha", "s", "beta"])
        }
        PurchaseKind::Mbgnbd => {
            let [r, alpha, a, b] = four(spec.parameters)?;
            let model = MbgNbd::new(r, alpha, a, b).map_err(|e| bad("parameters", e))?;
            let h = simulate_mbgnbd_histories(&model, &spend, spec.customers, observed, spec.seed);
            (h, ["r", "alpha", "a", "b"])
        }
        PurchaseKind::Bgbb => {
            if spec.unit_days != 1.0 {
                return Err(SynthError::Parameters(
                    "BG/BB's opportunities are days here: give --unit days".into(),
                ));
            }
            let [alpha, beta, gamma, delta] = four(spec.parameters)?;
            let model = BgBb::new(alpha, beta, gamma, delta).map_err(|e| bad("parameters", e))?;
            let h = simulate_bgbb_histories(&model, &spend, spec.customers, observed, spec.seed);
            (h, ["alpha", "beta", "gamma", "delta"])
        }
    };
    fn failed<E: std::fmt::Display>(path: &Path) -> impl FnOnce(E) -> SynthError {
        let path = path.to_path_buf();
        move |e| SynthError::Write {
            path,
            message: e.to_string(),
        }
    }
    std::fs::create_dir_all(dir).map_err(failed(dir))?;
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
    .map_err(failed(&path))?;
    let truth = json!({
        "model": spec.model.name(),
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
    .map_err(failed(&truth_path))?;
    Ok(lines)
}

fn four(values: &[f64]) -> Result<[f64; 4], SynthError> {
    values.try_into().map_err(|_| {
        SynthError::Parameters(format!(
            "parameters: the model needs 4 numbers (r,alpha,a,b; r,alpha,s,beta; or alpha,beta,gamma,delta), got {}",
            values.len()
        ))
    })
}

fn three(values: &[f64]) -> Result<[f64; 3], SynthError> {
    values.try_into().map_err(|_| {
        SynthError::Parameters(format!(
            "spend: Gamma-Gamma needs 3 numbers (p,q,gamma), got {}",
            values.len()
        ))
    })
}
