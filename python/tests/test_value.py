"""BetaGeo, ParetoNBD and GammaGamma on CDNOW against the published fits, and CLV against
lifetimes' formula written out here."""

from pathlib import Path

import numpy as np
import pytest

import lookalike

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cdnow():
    """The CDNOW 1/10 sample's calibration summary (to 1997-09-30, in weeks)."""
    table = lookalike.features(
        ROOT / "data" / "cdnow" / "cdnow_transactions.csv",
        as_of="1997-10-01",
        time_unit="weeks",
        columns={"timestamp": "date", "amount": "dollar_value"},
    )
    return {name: table.column(name).to_numpy(zero_copy_only=False)
            for name in ("frequency", "recency", "T", "monetary_value")}


def same_digits(got: float, published: float, digits: int = 3) -> bool:
    scale = 10 ** (digits - 1 - int(np.floor(np.log10(abs(published)))))
    return round(got * scale) == round(published * scale)


def test_bg_nbd_reproduces_fader_hardie_lee_2005(cdnow):
    bgf = lookalike.BetaGeo().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    for name, value in published.items():
        assert same_digits(bgf.params_[name], value), (name, bgf.params_)
    assert bgf.log_likelihood_ == pytest.approx(-9582.4, abs=0.1)
    assert bgf.converged_ and all(se > 0 for se in bgf.standard_errors_.values())
    assert bgf.summary.column("parameter").to_pylist() == ["r", "alpha", "a", "b"]
    alive = bgf.conditional_probability_alive(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    assert alive.shape == (2357,) and ((alive > 0) & (alive <= 1)).all()


def test_mbg_nbd_reproduces_the_published_fit(cdnow):
    # Batislam et al. 2007's model on this sample: r 0.525, alpha 6.183, a 0.891, b 1.614
    # (the values lifetimes' ModifiedBetaGeoFitter tests against, three decimals).
    mbgf = lookalike.ModifiedBetaGeo().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    published = {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614}
    for name, value in published.items():
        assert mbgf.params_[name] == pytest.approx(value, abs=1.5e-3), (name, mbgf.params_)
    # Customers without a repeat purchase may be gone (unlike BG/NBD, where they are alive).
    alive = mbgf.conditional_probability_alive([0.0], [0.0], [38.0])[0]
    bg = lookalike.BetaGeo()
    bg.params_ = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    assert alive < 1.0 and bg.conditional_probability_alive([0.0], [0.0], [38.0])[0] == 1.0


def test_bg_bb_reproduces_fader_hardie_shang_2010():
    # The 11,104 donors of the paper, 6 annual opportunities: alpha 1.204, beta 0.750,
    # gamma 0.657, delta 2.783, log-likelihood -33,225.58.
    rows = np.loadtxt(ROOT / "data" / "donations" / "donations.csv", delimiter=",", skiprows=1)
    donors = rows[:, 3].astype(int)
    x, t_x, n = (np.repeat(rows[:, k], donors) for k in range(3))
    bgbb = lookalike.BetaGeoBetaBinom().fit(x, t_x, n)
    published = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}
    for name, value in published.items():
        assert bgbb.params_[name] == pytest.approx(value, abs=1.5e-3), (name, bgbb.params_)
    assert bgbb.log_likelihood_ == pytest.approx(-33225.58, abs=0.01)
    alive = bgbb.conditional_probability_alive([6.0, 3.0], [6.0, 3.0], [6.0, 6.0])
    assert alive[1] < alive[0] <= 1.0
    with pytest.raises(lookalike.LookalikeError, match="whole opportunities"):
        lookalike.BetaGeoBetaBinom().fit([1.0], [2.5], [6.0])


def test_predictions_with_the_published_parameters_match_the_paper():
    # FHL 2005: customer with x = 2, t_x = 30.43, T = 38.86 weeks: P(alive) 0.7266,
    # E[Y(39) | history] 1.226 (the paper's worked example, customer 1 of the sample).
    bgf = lookalike.BetaGeo()
    bgf.params_ = {"r": 0.24259, "alpha": 4.41360, "a": 0.79292, "b": 2.42589}
    history = ([2.0], [30.43], [38.86])
    assert bgf.conditional_probability_alive(*history)[0] == pytest.approx(0.7266, abs=5e-4)
    assert bgf.conditional_expected_number_of_purchases_up_to_time(39, *history)[0] == \
        pytest.approx(1.226, abs=5e-3)


def test_pareto_nbd_and_gamma_gamma_reproduce_the_published_fits(cdnow):
    pnbd = lookalike.ParetoNBD().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    for name, value in {"r": 0.553, "alpha": 10.6, "s": 0.606}.items():
        assert same_digits(pnbd.params_[name], value), (name, pnbd.params_)
    ggf = lookalike.GammaGamma().fit(cdnow["frequency"], cdnow["monetary_value"])
    for name, value in {"p": 6.25, "q": 3.74, "gamma": 15.4}.items():
        assert same_digits(ggf.params_[name], value), (name, ggf.params_)


def test_clv_is_lifetimes_formula(cdnow):
    bgf = lookalike.BetaGeo().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    ggf = lookalike.GammaGamma().fit(cdnow["frequency"], cdnow["monetary_value"])
    x, t_x, t, m = (cdnow[k][:200] for k in ("frequency", "recency", "T", "monetary_value"))
    clv = ggf.customer_lifetime_value(bgf, x, t_x, t, m, time=12, discount_rate=0.01, freq="W")
    # lifetimes: per month i, spend × (E[Y(i·f)] − E[Y((i−1)·f)]) / (1 + d)^i, f = 4.345 weeks.
    spend = ggf.conditional_expected_average_profit(x, m)
    expected = np.zeros(len(x))
    for i in range(1, 13):
        later = bgf.conditional_expected_number_of_purchases_up_to_time(i * 4.345, x, t_x, t)
        earlier = bgf.conditional_expected_number_of_purchases_up_to_time((i - 1) * 4.345, x, t_x, t)
        expected += spend * (later - earlier) / 1.01 ** i
    np.testing.assert_allclose(clv, expected, rtol=1e-9)


def test_bad_histories_are_refused(cdnow):
    with pytest.raises(lookalike.InputError, match="recency"):
        lookalike.BetaGeo().fit([1.0, 2.0], [5.0, 9.0], [4.0, 10.0])
    with pytest.raises(lookalike.InputError, match="values"):
        lookalike.BetaGeo().fit([1.0, 2.0], [1.0], [4.0, 10.0])
    with pytest.raises(lookalike.LookalikeError, match="not fitted"):
        lookalike.GammaGamma().conditional_expected_average_profit([1.0], [2.0])


def test_clv_function_is_the_gamma_gamma_method(cdnow):
    bgf = lookalike.BetaGeo().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    ggf = lookalike.GammaGamma().fit(cdnow["frequency"], cdnow["monetary_value"])
    args = [cdnow[k][:50] for k in ("frequency", "recency", "T", "monetary_value")]
    np.testing.assert_array_equal(
        lookalike.clv(bgf, ggf, *args, freq="W"),
        ggf.customer_lifetime_value(bgf, *args, freq="W"))
