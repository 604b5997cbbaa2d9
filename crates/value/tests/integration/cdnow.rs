//! BG/NBD, Pareto/NBD and Gamma-Gamma on the CDNOW 1/10 sample against the published numbers
//! (Fader, Hardie & Lee 2005; Fader & Hardie 2013; see `data/cdnow/README.md`): calibration to
//! 1997-09-30, weeks.

use crate::common;

use std::sync::OnceLock;

use common::{cdnow_features, repo, subsample};
use lookalike_core::FeatureTable;
use lookalike_value::{
    BgNbd, FitOptions, GammaGamma, MbgNbd, ParetoNbd, PurchaseModel, RepeatData, SpendData, Summary,
};

fn cdnow() -> &'static FeatureTable {
    static TABLE: OnceLock<FeatureTable> = OnceLock::new();
    TABLE.get_or_init(cdnow_features)
}

fn column(name: &str) -> Vec<f64> {
    cdnow().column(name).unwrap().to_vec()
}

fn repeat_data() -> RepeatData {
    RepeatData::from_columns(&column("frequency"), &column("recency"), &column("T")).unwrap()
}

fn customer(id: &str) -> Summary {
    let row = cdnow().row_of(id).unwrap();
    let value = |name: &str| cdnow().values()[[row, cdnow().column_index(name).unwrap()]];
    Summary {
        frequency: value("frequency"),
        recency: value("recency"),
        t: value("T"),
    }
}

/// Equal to `significant` significant digits.
fn same_digits(got: f64, published: f64, significant: i32) -> bool {
    let scale = 10f64.powi(significant - 1 - published.abs().log10().floor() as i32);
    (got * scale).round() == (published * scale).round()
}

/// MBG/NBD (Batislam et al. 2007) on the same data: r = 0.525, α = 6.183, a = 0.891,
/// b = 1.614, as lifetimes' `ModifiedBetaGeoFitter` reproduces them on this sample (its test
/// `test_params_out_is_close_to_Hardie_paper`, three decimals).
#[test]
fn mbgnbd_matches_the_published_fit() {
    let data = repeat_data();
    let (model, report) = MbgNbd::fit(&data, &FitOptions::new()).unwrap();
    for (got, published) in [
        (model.r, 0.525),
        (model.alpha, 6.183),
        (model.a, 0.891),
        (model.b, 1.614),
    ] {
        assert!(
            (got - published).abs() < 1.5e-3,
            "{got} vs {published}: {model:?}"
        );
    }
    assert!(report.converged && report.warnings.is_empty(), "{report:?}");
    // The fit is the optimum: every nudge of a parameter lowers the likelihood.
    let best = model.log_likelihood(&data);
    assert!((best - report.log_likelihood).abs() < 1e-6);
    for i in 0..4 {
        for step in [0.99, 1.01] {
            let mut p = [model.r, model.alpha, model.a, model.b];
            p[i] *= step;
            let nudged = MbgNbd::new(p[0], p[1], p[2], p[3]).unwrap();
            assert!(nudged.log_likelihood(&data) < best);
        }
    }
    // Unlike BG/NBD, a customer without a repeat purchase may have dropped out at the first:
    // P(alive) < 1, and it falls with the time since the first purchase.
    let young = Summary {
        frequency: 0.0,
        recency: 0.0,
        t: 1.0,
    };
    let old = Summary { t: 38.0, ..young };
    assert!(model.p_alive(&old) < model.p_alive(&young) && model.p_alive(&young) < 1.0);
    // Customer 1's expected purchases sit between 0 and the BG/NBD's bound for an alive
    // customer; over 39 weeks the whole cohort's conditional total is close to the 1,882
    // holdout purchases (BG/NBD predicts 1,653 here).
    let total: f64 = (0..cdnow().len())
        .map(|i| {
            let row = cdnow().values().row(i).to_vec();
            let at = |name: &str| row[cdnow().column_index(name).unwrap()];
            model.expected_purchases(
                39.0,
                &Summary {
                    frequency: at("frequency"),
                    recency: at("recency"),
                    t: at("T"),
                },
            )
        })
        .sum();
    assert!((1400.0..2100.0).contains(&total), "{total}");
    assert!(model.residual_purchases(&customer("1")).is_none(), "a < 1");
}

#[test]
fn bgnbd_matches_the_published_fit_and_predictions() {
    let data = repeat_data();
    assert_eq!(data.customers(), 2_357);
    assert!(data.unique() < data.customers());
    let (model, report) = BgNbd::fit(&data, &FitOptions::new()).unwrap();
    // FHL 2005: r = 0.243, α = 4.414, a = 0.793, b = 2.426, LL = −9582.4 (−9582.429 refitted).
    for (got, published) in [
        (model.r, 0.243),
        (model.alpha, 4.41),
        (model.a, 0.793),
        (model.b, 2.43),
    ] {
        assert!(
            same_digits(got, published, 3),
            "{got} vs {published}: {model:?}"
        );
    }
    assert!(
        (report.log_likelihood - -9582.43).abs() < 0.01,
        "{}",
        report.log_likelihood
    );
    assert!(report.converged && report.warnings.is_empty(), "{report:?}");
    assert!(report.std_errors.iter().all(|s| s.is_finite() && *s > 0.0));

    // Customer 1 with the published parameters: P(alive) 0.7266, E[Y(39)] 1.226.
    let published = BgNbd::new(0.24259, 4.41360, 0.79292, 2.42589).unwrap();
    let one = customer("1");
    assert!((published.p_alive(&one) - 0.7266).abs() < 5e-5);
    assert!((published.expected_purchases(39.0, &one) - 1.226).abs() < 5e-4);
    // Unconditional E[X(t)] for t = 1, 3, 32, 78 weeks.
    for (t, expected) in [(1.0, 0.0532), (3.0, 0.1506), (32.0, 1.0437), (78.0, 1.858)] {
        let got = published.unconditional_purchases(t);
        assert!(
            (got - expected).abs() < 5e-4 * expected.max(1.0),
            "t = {t}: {got}"
        );
    }
    // a < 1 here: the expected number of purchases over a whole lifetime is infinite.
    assert!(published.residual_purchases(&one).is_none());
}

#[test]
fn pareto_nbd_matches_the_published_fit() {
    let data = repeat_data();
    let (model, report) = ParetoNbd::fit(&data, &FitOptions::new()).unwrap();
    // FHL 2005: r = 0.553, α = 10.578, s = 0.606 (β = 11.669 lies on a flat ridge), LL −9595.0.
    for (got, published) in [(model.r, 0.553), (model.alpha, 10.6), (model.s, 0.606)] {
        assert!(
            same_digits(got, published, 3),
            "{got} vs {published}: {model:?}"
        );
    }
    assert!((model.beta - 11.669).abs() < 0.02 * 11.669, "{model:?}");
    assert!(
        (report.log_likelihood - -9594.98).abs() < 0.01,
        "{}",
        report.log_likelihood
    );
    assert!(report.converged, "{report:?}");
    // β's standard error is about half its value (the published flat ridge).
    let beta_se = report.std_errors[3];
    assert!(
        beta_se > 0.3 * model.beta && beta_se < 0.8 * model.beta,
        "{beta_se}"
    );
    // Pareto/NBD's P(alive) of a customer who bought often and recently is high, of one who
    // bought often long ago low; residual purchases are finite only when s > 1.
    let recent = Summary {
        frequency: 10.0,
        recency: 38.0,
        t: 38.5,
    };
    let lapsed = Summary {
        frequency: 10.0,
        recency: 5.0,
        t: 38.5,
    };
    assert!(model.p_alive(&recent) > 0.9 && model.p_alive(&lapsed) < 0.1);
    assert!(model.residual_purchases(&recent).is_none());
}

/// Pareto/NBD on 40 subsamples of 50 to 2,000 customers, where fits run off towards one
/// shared dropout rate (s → ∞ at fixed s/β): every fit reaches at least lifetimes'
/// log-likelihood (`data/cdnow/pareto_subsamples.csv`, lifetimes 0.11.3, whose optimiser
/// stopped short on some of them).
#[test]
fn pareto_nbd_reaches_lifetimes_optimum_on_subsamples() {
    let reference = std::fs::read_to_string(repo("data/cdnow/pareto_subsamples.csv")).unwrap();
    let mut limits = 0;
    for line in reference.lines().skip(1) {
        let fields: Vec<&str> = line.split(',').collect();
        let size: usize = fields[0].parse().unwrap();
        let seed: u64 = fields[1].parse().unwrap();
        let lifetimes_ll: f64 = fields[2].parse().unwrap();
        let data = subsample(cdnow(), size, seed);
        let (model, report) = ParetoNbd::fit(&data, &FitOptions::new()).unwrap();
        assert!(
            report.log_likelihood >= lifetimes_ll - 1e-3,
            "size {size} seed {seed}: {} below lifetimes' {lifetimes_ll}: {model:?}",
            report.log_likelihood
        );
        // The reported log-likelihood is the model's own, also when the limit was fitted.
        let own = model.log_likelihood(&data);
        assert!(
            (own - report.log_likelihood).abs() < 1e-3,
            "{own} vs {}",
            report.log_likelihood
        );
        if report
            .warnings
            .iter()
            .any(|w| w.contains("one dropout rate"))
        {
            limits += 1;
        }
    }
    // Some of the small subsamples run off to the limit; the test must cover that path.
    assert!(limits > 0, "no subsample reached the one-rate limit");
}

#[test]
fn gamma_gamma_matches_the_published_fit_and_spends() {
    let spend = SpendData::from_columns(&column("frequency"), &column("monetary_value")).unwrap();
    assert_eq!(spend.buyers(), 946);
    let (model, report) = GammaGamma::fit(&spend, &FitOptions::new()).unwrap();
    // Fader & Hardie 2013: p = 6.25, q = 3.74, γ = 15.44, LL −4055.92.
    for (got, published) in [(model.p, 6.25), (model.q, 3.74), (model.gamma, 15.4)] {
        assert!(
            same_digits(got, published, 3),
            "{got} vs {published}: {model:?}"
        );
    }
    assert!(
        (report.log_likelihood - -4055.92).abs() < 0.01,
        "{}",
        report.log_likelihood
    );
    // Conditional expected spend of customers 1, 2, 3: 24.65, 18.91, 35.17.
    let published = GammaGamma::new(6.24958, 3.74422, 15.44351).unwrap();
    let monetary = column("monetary_value");
    for (id, expected) in [("1", 24.65), ("2", 18.91), ("3", 35.17)] {
        let row = cdnow().row_of(id).unwrap();
        let got = published.conditional_spend(column("frequency")[row], monetary[row]);
        assert!((got - expected).abs() < 0.005, "customer {id}: {got}");
    }
}
