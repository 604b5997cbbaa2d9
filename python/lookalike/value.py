"""Buy-till-you-die models and Gamma-Gamma with lifetimes' method names.

``BetaGeo`` (BG/NBD, Fader, Hardie & Lee 2005), ``ModifiedBetaGeo`` (MBG/NBD, Batislam et
al. 2007), ``ParetoNBD`` (Schmittlein, Morrison & Colombo 1987) and ``BetaGeoBetaBinom``
(BG/BB, Fader, Hardie & Shang 2010, discrete opportunities) model repeat purchases and dropout from each customer's frequency (repeat
purchases), recency (time of the last purchase since the first) and T (age); ``GammaGamma``
models the spend per purchase. Fits are maximum likelihood in Rust (exact gradients, several
starts, standard errors from the Hessian), the same code as ``lookalike value fit``.

>>> bgf = lookalike.BetaGeo().fit(summary["frequency"], summary["recency"], summary["T"])
>>> bgf.params_
{'r': 0.243, 'alpha': 4.414, 'a': 0.793, 'b': 2.426}
>>> bgf.conditional_probability_alive(summary["frequency"], summary["recency"], summary["T"])
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from . import _lookalike

__all__ = ["BetaGeo", "BetaGeoBetaBinom", "GammaGamma", "ModifiedBetaGeo", "ParetoNBD", "clv"]

_UNIT_DAYS = {"D": 1.0, "W": 7.0}


def _column(values, name: str) -> pa.Array:
    """A float64 column as Arrow, sharing a contiguous NumPy buffer."""
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        values = values.to_numpy()
    array = np.ascontiguousarray(np.asarray(values, dtype=np.float64)).reshape(-1)
    return pa.array(array)


class _Fitted:
    _NAMES: tuple[str, ...] = ()

    def _store(self, report: dict) -> None:
        self.params_ = dict(report["params"])
        self.standard_errors_ = dict(report["standard_errors"])
        self.log_likelihood_ = report["log_likelihood"]
        self.converged_ = report["converged"]
        self.n_iter_ = report["iterations"]
        self.warnings_ = list(report["warnings"])

    def _values(self) -> list[float]:
        if not hasattr(self, "params_"):
            raise _lookalike.LookalikeError(f"this {type(self).__name__} is not fitted yet")
        return [self.params_[name] for name in self._NAMES]

    @property
    def summary(self) -> pa.Table:
        """The fitted parameters with their standard errors and 95% intervals."""
        values = self._values()
        errors = [self.standard_errors_[name] for name in self._NAMES]
        return pa.table({
            "parameter": list(self._NAMES),
            "coef": values,
            "se(coef)": errors,
            "lower 95% bound": [v - 1.96 * e for v, e in zip(values, errors)],
            "upper 95% bound": [v + 1.96 * e for v, e in zip(values, errors)],
        })

    def get_params(self, deep: bool = True) -> dict:
        """The constructor's parameters (scikit-learn's convention)."""
        return {"penalizer_coef": self.penalizer_coef}

    def set_params(self, **params):
        """Sets constructor parameters; returns self."""
        for name, value in params.items():
            if name != "penalizer_coef":
                raise ValueError(f"{type(self).__name__} has no parameter {name!r}")
            self.penalizer_coef = value
        return self


class _Purchases(_Fitted):
    _KIND = ""

    def __init__(self, penalizer_coef: float = 0.0):
        self.penalizer_coef = penalizer_coef

    def fit(self, frequency, recency, T):
        """Fits to each customer's repeat purchases, recency and age; returns self."""
        report = _lookalike.purchases_fit(self._KIND, _column(frequency, "frequency"),
                                          _column(recency, "recency"), _column(T, "T"),
                                          float(self.penalizer_coef))
        self._store(report)
        return self

    def _predict(self, what: str, t: float, frequency, recency, T) -> np.ndarray:
        return _lookalike.purchases_predict(
            self._KIND, self._values(), what, float(t), _column(frequency, "frequency"),
            _column(recency, "recency"), _column(T, "T")).to_numpy()

    def conditional_probability_alive(self, frequency, recency, T) -> np.ndarray:
        """P(the customer is still active | their history)."""
        return self._predict("p_alive", 0.0, frequency, recency, T)

    def conditional_expected_number_of_purchases_up_to_time(self, t, frequency, recency,
                                                            T) -> np.ndarray:
        """Expected repeat purchases in the next ``t`` time units, given each history."""
        return self._predict("expected_purchases", t, frequency, recency, T)

    predict = conditional_expected_number_of_purchases_up_to_time


class BetaGeo(_Purchases):
    """BG/NBD (Fader, Hardie & Lee 2005): parameters r, alpha, a, b (lifetimes'
    ``BetaGeoFitter``)."""

    _KIND = "bgnbd"
    _NAMES = ("r", "alpha", "a", "b")


class ParetoNBD(_Purchases):
    """Pareto/NBD (Schmittlein, Morrison & Colombo 1987): parameters r, alpha, s, beta
    (lifetimes' ``ParetoNBDFitter``)."""

    _KIND = "pareto"
    _NAMES = ("r", "alpha", "s", "beta")


class ModifiedBetaGeo(_Purchases):
    """MBG/NBD (Batislam, Denizel & Filiztekin 2007): BG/NBD where a customer may also drop out
    right after the first purchase; parameters r, alpha, a, b (lifetimes'
    ``ModifiedBetaGeoFitter``)."""

    _KIND = "mbgnbd"
    _NAMES = ("r", "alpha", "a", "b")


class BetaGeoBetaBinom(_Purchases):
    """BG/BB (Fader, Hardie & Shang 2010): discrete opportunities to buy, one per time unit;
    parameters alpha, beta (purchase probability) and gamma, delta (dropout probability), as
    lifetimes' ``BetaGeoBetaBinomFitter``. ``fit(frequency, recency, T)`` takes whole
    opportunities (T = n, the opportunities after the first purchase); summarise a log in days
    for a day per opportunity."""

    _KIND = "bgbb"
    _NAMES = ("alpha", "beta", "gamma", "delta")


class GammaGamma(_Fitted):
    """Gamma-Gamma spend per purchase (Fader, Hardie & Lee 2005, JMR): parameters p, q, gamma
    (lifetimes' ``GammaGammaFitter``, with p, q, v there)."""

    _NAMES = ("p", "q", "gamma")

    def __init__(self, penalizer_coef: float = 0.0):
        self.penalizer_coef = penalizer_coef

    def fit(self, frequency, monetary_value):
        """Fits to the repeat buyers' frequency and mean spend (others are left out)."""
        report = _lookalike.gamma_gamma_fit(_column(frequency, "frequency"),
                                            _column(monetary_value, "monetary_value"),
                                            float(self.penalizer_coef))
        self._store(report)
        return self

    def conditional_expected_average_profit(self, frequency, monetary_value) -> np.ndarray:
        """Each customer's expected spend per purchase, given their history."""
        return _lookalike.gamma_gamma_spend(
            self._values(), _column(frequency, "frequency"),
            _column(monetary_value, "monetary_value")).to_numpy()

    def customer_lifetime_value(self, transaction_prediction_model: _Purchases, frequency,
                                recency, T, monetary_value, time: float = 12,
                                discount_rate: float = 0.01, freq: str = "D") -> np.ndarray:
        """Discounted CLV over ``time`` months of 30 days, as lifetimes computes it: each
        month's expected purchases × expected spend, discounted by ``discount_rate`` a month.
        ``freq`` is the unit of recency and T: "D" (days) or "W" (weeks)."""
        if freq not in _UNIT_DAYS:
            raise _lookalike.InputError(f"freq = {freq!r}: 'D' (days) or 'W' (weeks)")
        model = transaction_prediction_model
        return _lookalike.customer_lifetime_value(
            model._KIND, model._values(), self._values(), _column(frequency, "frequency"),
            _column(recency, "recency"), _column(T, "T"),
            _column(monetary_value, "monetary_value"), float(time), float(discount_rate),
            "lifetimes", _UNIT_DAYS[freq]).to_numpy()


def clv(purchases: _Purchases, spend: GammaGamma, frequency, recency, T, monetary_value,
        time: float = 12, discount_rate: float = 0.01, freq: str = "D") -> np.ndarray:
    """Discounted CLV over ``time`` months from a fitted purchase model and Gamma-Gamma:
    ``spend.customer_lifetime_value(purchases, …)``.

    >>> lookalike.clv(bgf, ggf, x, t_x, T, m, time=12, discount_rate=0.01, freq="W")
    """
    return spend.customer_lifetime_value(purchases, frequency, recency, T, monetary_value,
                                         time=time, discount_rate=discount_rate, freq=freq)
