//! Parameter recovery on customers simulated with known parameters, degenerate data, and one
//! test per validation rule.

use lookalike_value::{
    BgNbd, FitOptions, FitReport, GammaGamma, MbgNbd, ParetoNbd, PurchaseModel, RepeatData,
    SpendData, Summary, ValueError, clv, simulate_bgnbd, simulate_mbgnbd, simulate_pareto,
};

fn columns(customers: &[lookalike_value::SimulatedCustomer]) -> [Vec<f64>; 4] {
    [
        customers.iter().map(|c| c.summary.frequency).collect(),
        customers.iter().map(|c| c.summary.recency).collect(),
        customers.iter().map(|c| c.summary.t).collect(),
        customers.iter().map(|c| c.monetary).collect(),
    ]
}

/// Every estimate within 3 of its standard errors of the truth (a wrong likelihood or
/// gradient misses by many).
fn assert_recovered(report: &FitReport, truth: &[f64]) {
    assert!(report.converged, "{report:?}");
    for (((name, estimate), se), true_value) in
        report.parameters.iter().zip(&report.std_errors).zip(truth)
    {
        assert!(
            (estimate - true_value).abs() < 3.0 * se,
            "{}: {name} = {estimate} ± {se}, truth {true_value}",
            report.model
        );
    }
}

#[test]
fn bgnbd_and_gamma_gamma_recover_simulated_parameters() {
    let truth = BgNbd::new(0.3, 5.0, 0.9, 3.0).unwrap();
    let spend = GammaGamma::new(5.0, 4.0, 20.0).unwrap();
    let customers = simulate_bgnbd(&truth, &spend, 20_000, (26.0, 52.0), 3);
    let [x, t_x, t, m] = columns(&customers);
    let data = RepeatData::from_columns(&x, &t_x, &t).unwrap();
    let (_, report) = BgNbd::fit(&data, &FitOptions::new()).unwrap();
    assert_recovered(&report, &[0.3, 5.0, 0.9, 3.0]);
    let spend_data = SpendData::from_columns(&x, &m).unwrap();
    let (_, report) = GammaGamma::fit(&spend_data, &FitOptions::new()).unwrap();
    assert_recovered(&report, &[5.0, 4.0, 20.0]);
    // Frequency and spend are independent in the simulation: no correlation warning.
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
}

/// MBG/NBD customers drawn with known parameters are recovered within 3 standard errors, and
/// the data are told apart from BG/NBD's: the MBG/NBD fit has the higher likelihood on them.
#[test]
fn mbgnbd_recovers_simulated_parameters() {
    let truth = MbgNbd::new(0.5, 6.0, 0.9, 1.6).unwrap();
    let spend = GammaGamma::new(5.0, 4.0, 20.0).unwrap();
    let customers = simulate_mbgnbd(&truth, &spend, 20_000, (26.0, 52.0), 5);
    let [x, t_x, t, _] = columns(&customers);
    let data = RepeatData::from_columns(&x, &t_x, &t).unwrap();
    let (_, report) = MbgNbd::fit(&data, &FitOptions::new()).unwrap();
    assert_recovered(&report, &[0.5, 6.0, 0.9, 1.6]);
    let (_, bg) = BgNbd::fit(&data, &FitOptions::new()).unwrap();
    assert!(report.log_likelihood > bg.log_likelihood + 1.0);
}

/// On large data the starts are explored on a sample and the best continued on everything:
/// that reaches the same optimum as exploring on everything, for each model.
#[test]
fn exploring_on_a_sample_reaches_the_full_data_optimum() {
    let customers = simulate_bgnbd(
        &BgNbd::new(0.3, 5.0, 0.9, 3.0).unwrap(),
        &GammaGamma::new(5.0, 4.0, 20.0).unwrap(),
        25_000,
        (26.0, 52.0),
        8,
    );
    let [x, t_x, t, m] = columns(&customers);
    let data = RepeatData::from_columns(&x, &t_x, &t).unwrap();
    let spend_data = SpendData::from_columns(&x, &m).unwrap();
    let sampled = FitOptions::new().explore_customers(5_000);
    let everything = FitOptions::new().explore_customers(0);
    let agree = |a: &FitReport, b: &FitReport| {
        assert!(a.converged && b.converged);
        for ((name, u), (_, v)) in a.parameters.iter().zip(&b.parameters) {
            assert!((u - v).abs() < 1e-5 * v.abs(), "{name}: {u} vs {v}");
        }
        assert!((a.log_likelihood - b.log_likelihood).abs() < 1e-6 * b.log_likelihood.abs());
    };
    agree(
        &BgNbd::fit(&data, &sampled).unwrap().1,
        &BgNbd::fit(&data, &everything).unwrap().1,
    );
    agree(
        &ParetoNbd::fit(&data, &sampled).unwrap().1,
        &ParetoNbd::fit(&data, &everything).unwrap().1,
    );
    agree(
        &GammaGamma::fit(&spend_data, &sampled).unwrap().1,
        &GammaGamma::fit(&spend_data, &everything).unwrap().1,
    );
}

#[test]
fn pareto_nbd_recovers_simulated_parameters() {
    let truth = ParetoNbd::new(0.5, 8.0, 0.7, 12.0).unwrap();
    let spend = GammaGamma::new(5.0, 4.0, 20.0).unwrap();
    let customers = simulate_pareto(&truth, &spend, 20_000, (26.0, 52.0), 4);
    let [x, t_x, t, _] = columns(&customers);
    let data = RepeatData::from_columns(&x, &t_x, &t).unwrap();
    let (_, report) = ParetoNbd::fit(&data, &FitOptions::new()).unwrap();
    assert_recovered(&report, &[0.5, 8.0, 0.7, 12.0]);
}

/// E[X(t)] of the true model equals the mean number of purchases simulated customers make in
/// (0, t] (the simulation and eq. (7) tell the same story).
#[test]
fn unconditional_expectation_matches_simulated_purchases() {
    let truth = BgNbd::new(0.3, 5.0, 0.9, 3.0).unwrap();
    let spend = GammaGamma::new(5.0, 4.0, 20.0).unwrap();
    let full = simulate_bgnbd(&truth, &spend, 20_000, (78.0, 78.0), 5);
    let total_future: f64 = full.iter().map(|c| c.summary.frequency).sum();
    let predicted: f64 = full
        .iter()
        .map(|_| truth.unconditional_purchases(78.0))
        .sum();
    assert!(
        (predicted - total_future).abs() < 0.03 * total_future,
        "{predicted} vs {total_future}"
    );
}

/// Identical customers: no heterogeneity to estimate, so parameters run to a boundary and the
/// report says so instead of returning a silent estimate.
#[test]
fn degenerate_data_is_reported_not_silent() {
    let n = 2_000;
    let x: Vec<f64> = (0..n).map(|i| (i % 3) as f64).collect();
    let t_x: Vec<f64> = x.iter().map(|x| x * 10.0).collect();
    let t = vec![30.0; n];
    let data = RepeatData::from_columns(&x, &t_x, &t).unwrap();
    let (_, report) = BgNbd::fit(&data, &FitOptions::new()).unwrap();
    assert!(!report.warnings.is_empty(), "{report:?}");
    assert!(
        report.warnings.iter().any(|w| w.contains("boundary")),
        "{:?}",
        report.warnings
    );
    // A penalty keeps the same data away from the boundary.
    let (penalised, _) = BgNbd::fit(&data, &FitOptions::new().penalty(0.1)).unwrap();
    assert!(penalised.r < 1e3 && penalised.alpha < 1e4, "{penalised:?}");
}

#[test]
fn clv_discounts_each_month_and_equals_spend_times_purchases_undiscounted() {
    let model = BgNbd::new(0.243, 4.414, 0.793, 2.426).unwrap();
    let c = Summary {
        frequency: 3.0,
        recency: 20.0,
        t: 30.0,
    };
    let month = 4.345;
    let flat = clv(&model, &c, 25.0, 12.0, month, 0.0).unwrap();
    assert!((flat - 25.0 * model.expected_purchases(12.0 * month, &c)).abs() < 1e-9);
    // By hand: month i worth 25·(E[Y(i)] − E[Y(i−1)]) / 1.01^i.
    let mut by_hand = 0.0;
    for i in 1..=12 {
        let gained = model.expected_purchases(i as f64 * month, &c)
            - model.expected_purchases((i - 1) as f64 * month, &c);
        by_hand += 25.0 * gained / 1.01f64.powi(i);
    }
    let discounted = clv(&model, &c, 25.0, 12.0, month, 0.01).unwrap();
    assert!((discounted - by_hand).abs() < 1e-9 && discounted < flat);
    assert!(matches!(
        clv(&model, &c, 25.0, f64::NAN, month, 0.0),
        Err(ValueError::BadHorizon(_))
    ));
    assert!(matches!(
        clv(&model, &c, 25.0, 12.0, month, -1.0),
        Err(ValueError::BadDiscount(_))
    ));
}

#[test]
fn each_validation_rule_has_its_error() {
    let nan = f64::NAN;
    let summary = |x, t_x, t| RepeatData::from_columns(&[x], &[t_x], &[t]).unwrap_err();
    assert!(matches!(
        RepeatData::from_columns(&[1.0], &[1.0, 2.0], &[3.0]),
        Err(ValueError::LengthMismatch(1, 2, 1))
    ));
    assert_eq!(summary(nan, nan, nan), ValueError::NoCustomers);
    assert!(matches!(
        summary(1.0, nan, 3.0),
        ValueError::PartlyMissing {
            row: 0,
            column: "recency"
        }
    ));
    assert!(matches!(
        summary(1.5, 1.0, 3.0),
        ValueError::BadFrequency { .. }
    ));
    assert!(matches!(
        summary(-1.0, 1.0, 3.0),
        ValueError::BadFrequency { .. }
    ));
    assert!(matches!(
        summary(1.0, -1.0, 3.0),
        ValueError::BadTime {
            column: "recency",
            ..
        }
    ));
    assert!(matches!(
        summary(1.0, 1.0, f64::INFINITY),
        ValueError::BadTime { column: "T", .. }
    ));
    assert!(matches!(
        summary(1.0, 4.0, 3.0),
        ValueError::RecencyAfterT { .. }
    ));
    assert!(matches!(
        summary(2.0, 0.0, 3.0),
        ValueError::RepeatWithoutRecency { .. }
    ));
    let no_repeat = RepeatData::from_columns(&[0.0, 0.0], &[0.0, 0.0], &[5.0, 6.0]).unwrap();
    assert_eq!(
        BgNbd::fit(&no_repeat, &FitOptions::new()).unwrap_err(),
        ValueError::NoRepeatBuyers
    );
    assert_eq!(
        ParetoNbd::fit(&no_repeat, &FitOptions::new()).unwrap_err(),
        ValueError::NoRepeatBuyers
    );
    assert_eq!(
        SpendData::from_columns(&[1.0, 2.0], &[0.0, 10.0]).unwrap_err(),
        ValueError::TooFewSpenders(1)
    );
    assert!(matches!(
        SpendData::from_columns(&[1.0, 2.0], &[nan, 10.0]),
        Err(ValueError::BadSpend { row: 0, .. })
    ));
    let data = RepeatData::from_columns(&[1.0, 0.0], &[2.0, 0.0], &[5.0, 6.0]).unwrap();
    assert_eq!(
        BgNbd::fit(&data, &FitOptions::new().penalty(-1.0)).unwrap_err(),
        ValueError::BadPenalty(-1.0)
    );
    assert!(matches!(
        BgNbd::new(1.0, 0.0, 1.0, 1.0),
        Err(ValueError::BadParameter { name: "alpha", .. })
    ));
    assert!(matches!(
        GammaGamma::new(1.0, 1.0, -2.0),
        Err(ValueError::BadParameter { name: "gamma", .. })
    ));
}
