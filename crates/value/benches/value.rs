//! Value models on a million simulated customers: compression + fits, and prediction
//! throughput (P(alive), 12-month expected purchases, expected spend, 12-month CLV).
//!
//! `cargo bench -p lookalike-value --bench value`

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use lookalike_value::{
    BgNbd, FitOptions, GammaGamma, Horizon, RepeatData, SpendData, Summary, forecast, forecast_one,
    simulate_bgnbd,
};
use rayon::prelude::*;

const CUSTOMERS: usize = 1_000_000;

fn value(c: &mut Criterion) {
    let truth = BgNbd::new(0.243, 4.414, 0.793, 2.426).unwrap();
    let spend = GammaGamma::new(6.25, 3.74, 15.44).unwrap();
    // Days, as a transaction log gives them: T up to a year, whole days.
    let customers: Vec<_> = simulate_bgnbd(&truth, &spend, CUSTOMERS, (1.0, 52.0), 1)
        .into_iter()
        .map(|mut c| {
            c.summary.t = (c.summary.t * 7.0).round();
            c.summary.recency = (c.summary.recency * 7.0).round().min(c.summary.t);
            if c.summary.frequency > 0.0 && c.summary.recency == 0.0 {
                c.summary.recency = 1.0;
                c.summary.t = c.summary.t.max(1.0);
            }
            c
        })
        .collect();
    let x: Vec<f64> = customers.iter().map(|c| c.summary.frequency).collect();
    let t_x: Vec<f64> = customers.iter().map(|c| c.summary.recency).collect();
    let t: Vec<f64> = customers.iter().map(|c| c.summary.t).collect();
    let m: Vec<f64> = customers.iter().map(|c| c.monetary).collect();
    let mut group = c.benchmark_group("value_1m");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    group.bench_function("compress", |b| {
        b.iter(|| RepeatData::from_columns(&x, &t_x, &t).unwrap())
    });
    let data = RepeatData::from_columns(&x, &t_x, &t).unwrap();
    eprintln!(
        "{} customers, {} distinct (x, t_x, T)",
        data.customers(),
        data.unique()
    );
    group.bench_function("fit/bgnbd", |b| {
        b.iter(|| BgNbd::fit(&data, &FitOptions::new()).unwrap())
    });
    let spend_data = SpendData::from_columns(&x, &m).unwrap();
    group.bench_function("fit/gamma_gamma", |b| {
        b.iter(|| GammaGamma::fit(&spend_data, &FitOptions::new()).unwrap())
    });
    let (model, _) = BgNbd::fit(&data, &FitOptions::new()).unwrap();
    let (spend_model, _) = GammaGamma::fit(&spend_data, &FitOptions::new()).unwrap();
    group.throughput(Throughput::Elements(CUSTOMERS as u64));
    let month = 30.4375;
    let summaries: Vec<Option<Summary>> = customers.iter().map(|c| Some(c.summary)).collect();
    let horizon = Horizon::new(12.0, month, 0.01).unwrap();
    group.bench_function("predict/p_alive+purchases+spend+clv12", |b| {
        b.iter(|| {
            let forecasts = forecast(&model, &summaries, &horizon);
            forecasts
                .par_iter()
                .zip(&customers)
                .map(|(f, c)| {
                    let f = f.as_ref().unwrap();
                    let spend = spend_model.conditional_spend(c.summary.frequency, c.monetary);
                    f.p_alive + f.expected_purchases + spend * f.discounted_purchases
                })
                .sum::<f64>()
        })
    });
    // The same predictions customer by customer, without sharing distinct histories.
    group.bench_function("predict/one_by_one", |b| {
        b.iter(|| {
            customers
                .par_iter()
                .map(|c| {
                    let f = forecast_one(&model, &c.summary, &horizon);
                    let spend = spend_model.conditional_spend(c.summary.frequency, c.monetary);
                    f.p_alive + f.expected_purchases + spend * f.discounted_purchases
                })
                .sum::<f64>()
        })
    });
    group.finish();
}

criterion_group!(benches, value);
criterion_main!(benches);
