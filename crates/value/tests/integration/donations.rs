//! BG/BB on the donations data of Fader, Hardie & Shang (2010) against the published fit; see
//! `data/donations/README.md`.

use std::path::PathBuf;

use lookalike_value::{BgBb, FitOptions, PurchaseModel, RepeatData, Summary, ValueError};

/// The 11,104 donors' histories (one entry per donor) and their repeat donations, Σx.
fn donations() -> (RepeatData, f64) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/donations/donations.csv");
    let text = std::fs::read_to_string(path).unwrap();
    let (mut x, mut t_x, mut n) = (Vec::new(), Vec::new(), Vec::new());
    for line in text.lines().skip(1) {
        let cells: Vec<f64> = line.split(',').map(|c| c.parse().unwrap()).collect();
        for _ in 0..cells[3] as usize {
            x.push(cells[0]);
            t_x.push(cells[1]);
            n.push(cells[2]);
        }
    }
    let made = x.iter().sum();
    (RepeatData::from_columns(&x, &t_x, &n).unwrap(), made)
}

#[test]
fn bgbb_matches_the_published_fit() {
    let (data, made) = donations();
    assert_eq!(data.customers(), 11_104);
    let (model, report) = BgBb::fit(&data, &FitOptions::new()).unwrap();
    for (got, published) in [
        (model.alpha, 1.204),
        (model.beta, 0.750),
        (model.gamma, 0.657),
        (model.delta, 2.783),
    ] {
        assert!(
            (got - published).abs() < 1.5e-3,
            "{got} vs {published}: {model:?}"
        );
    }
    assert!(
        (report.log_likelihood - -33_225.58).abs() < 0.01,
        "{}",
        report.log_likelihood
    );
    assert!(report.converged && report.warnings.is_empty(), "{report:?}");

    // The expectations of the fit: the cohort's unconditional repeat donations over the six
    // drives equal the donations made, near enough for a model fitted on them (the paper's
    // Figure 3 tracks them closely).
    let expected = 11_104.0 * model.unconditional_purchases(6.0);
    assert!((expected / made - 1.0).abs() < 0.02, "{expected} vs {made}");
    // P(alive) falls with the drives missed since the last donation and, after missed drives,
    // with x too (a frequent donor who stops is more likely gone); a donor who gave at the last drive is alive whatever x, so only the
    // next dropout counts: B(γ, δ + 7)/B(γ, δ + 6) = (δ + 6)/(γ + δ + 6).
    let history = |x: f64, t_x: f64| Summary {
        frequency: x,
        recency: t_x,
        t: 6.0,
    };
    assert!(model.p_alive(&history(3.0, 3.0)) < model.p_alive(&history(3.0, 6.0)));
    assert!(model.p_alive(&history(4.0, 4.0)) < model.p_alive(&history(1.0, 4.0)));
    let next = (model.delta + 6.0) / (model.gamma + model.delta + 6.0);
    for x in [1.0, 3.0, 6.0] {
        assert!((model.p_alive(&history(x, 6.0)) - next).abs() < 1e-12);
    }
    assert!(model.p_alive(&history(0.0, 0.0)) > 0.0);
    // Expected donations over the next 5 drives grow with the horizon and stay below 5.
    let loyal = history(6.0, 6.0);
    let (one, five) = (
        model.expected_purchases(1.0, &loyal),
        model.expected_purchases(5.0, &loyal),
    );
    assert!(0.0 < one && one < five && five < 5.0, "{one} {five}");
    // γ < 1: the expected donations over an unbounded future are infinite.
    assert!(model.residual_purchases(&loyal).is_none());
}

/// Continuous-time histories (fractions of a period, more transactions than opportunities)
/// are refused with the way out.
#[test]
fn bgbb_refuses_histories_that_are_not_whole_opportunities() {
    let data = RepeatData::from_columns(&[2.0, 1.0], &[3.5, 2.0], &[6.0, 6.0]).unwrap();
    let err = BgBb::fit(&data, &FitOptions::new()).unwrap_err();
    assert!(matches!(err, ValueError::NotDiscrete { .. }), "{err}");
    assert!(err.to_string().contains("--time-unit days"), "{err}");
    let data = RepeatData::from_columns(&[5.0], &[3.0], &[6.0]).unwrap();
    assert!(BgBb::fit(&data, &FitOptions::new()).is_err());
}
