//! A fitted value model that predicts per customer: the purchase model (BG/NBD or Pareto/NBD),
//! Gamma-Gamma when it could be fitted, the time unit they were fitted in and the CLV horizon.
//! CLV is composed here and only here: discounted expected purchases over the horizon × the
//! Gamma-Gamma expected spend per purchase.

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::clv::MonthLength;
use crate::error::ValueError;
use crate::forecast::{Horizon, forecast};
use crate::{
    BgBb, BgNbd, FitOptions, FitReport, GammaGamma, MbgNbd, ParetoNbd, PurchaseModel, RepeatData,
    Summary,
};

/// Which purchase model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum PurchaseKind {
    /// BG/NBD (Fader, Hardie & Lee 2005).
    Bgnbd,
    /// Pareto/NBD (Schmittlein, Morrison & Colombo 1987).
    Pareto,
    /// MBG/NBD (Batislam, Denizel & Filiztekin 2007): BG/NBD where customers may also drop out
    /// right after their first purchase.
    Mbgnbd,
    /// BG/BB (Fader, Hardie & Shang 2010): discrete opportunities, one per time unit (fit it on
    /// a summary in days: each day an opportunity to buy).
    Bgbb,
}

impl PurchaseKind {
    /// Every kind, in the order options list them.
    pub const ALL: [PurchaseKind; 4] = [
        PurchaseKind::Bgnbd,
        PurchaseKind::Pareto,
        PurchaseKind::Mbgnbd,
        PurchaseKind::Bgbb,
    ];

    /// The name used in files and options.
    pub fn name(self) -> &'static str {
        match self {
            PurchaseKind::Bgnbd => "bgnbd",
            PurchaseKind::Pareto => "pareto",
            PurchaseKind::Mbgnbd => "mbgnbd",
            PurchaseKind::Bgbb => "bgbb",
        }
    }

    /// The names of the model's four parameters, in order.
    pub fn parameter_names(self) -> [&'static str; 4] {
        match self {
            PurchaseKind::Bgnbd | PurchaseKind::Mbgnbd => ["r", "alpha", "a", "b"],
            PurchaseKind::Pareto => ["r", "alpha", "s", "beta"],
            PurchaseKind::Bgbb => ["alpha", "beta", "gamma", "delta"],
        }
    }
}

impl std::str::FromStr for PurchaseKind {
    type Err = ValueError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        PurchaseKind::ALL
            .into_iter()
            .find(|k| k.name() == text)
            .ok_or_else(|| ValueError::UnknownChoice {
                what: "purchase model",
                given: text.to_string(),
                expected: "bgnbd, pareto, mbgnbd or bgbb",
            })
    }
}

/// A fitted purchase model of either kind.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Purchases {
    /// BG/NBD.
    BgNbd(BgNbd),
    /// Pareto/NBD.
    Pareto(ParetoNbd),
    /// MBG/NBD.
    MbgNbd(MbgNbd),
    /// BG/BB.
    BgBb(BgBb),
}

impl Purchases {
    /// The model behind the common interface.
    pub fn model(&self) -> &dyn PurchaseModel {
        match self {
            Purchases::BgNbd(m) => m,
            Purchases::Pareto(m) => m,
            Purchases::MbgNbd(m) => m,
            Purchases::BgBb(m) => m,
        }
    }

    /// Which kind it is.
    pub fn kind(&self) -> PurchaseKind {
        match self {
            Purchases::BgNbd(_) => PurchaseKind::Bgnbd,
            Purchases::Pareto(_) => PurchaseKind::Pareto,
            Purchases::MbgNbd(_) => PurchaseKind::Mbgnbd,
            Purchases::BgBb(_) => PurchaseKind::Bgbb,
        }
    }

    /// Fits the model of `kind` by maximum likelihood.
    pub fn fit(
        kind: PurchaseKind,
        data: &RepeatData,
        options: &FitOptions,
    ) -> Result<(Purchases, FitReport), ValueError> {
        Ok(match kind {
            PurchaseKind::Bgnbd => {
                let (m, r) = BgNbd::fit(data, options)?;
                (Purchases::BgNbd(m), r)
            }
            PurchaseKind::Pareto => {
                let (m, r) = ParetoNbd::fit(data, options)?;
                (Purchases::Pareto(m), r)
            }
            PurchaseKind::Mbgnbd => {
                let (m, r) = MbgNbd::fit(data, options)?;
                (Purchases::MbgNbd(m), r)
            }
            PurchaseKind::Bgbb => {
                let (m, r) = BgBb::fit(data, options)?;
                (Purchases::BgBb(m), r)
            }
        })
    }

    /// The model of `kind` with parameters in [`PurchaseKind::parameter_names`] order, each
    /// checked by the model's constructor.
    pub fn new(kind: PurchaseKind, [p, q, u, v]: [f64; 4]) -> Result<Purchases, ValueError> {
        Ok(match kind {
            PurchaseKind::Bgnbd => Purchases::BgNbd(BgNbd::new(p, q, u, v)?),
            PurchaseKind::Pareto => Purchases::Pareto(ParetoNbd::new(p, q, u, v)?),
            PurchaseKind::Mbgnbd => Purchases::MbgNbd(MbgNbd::new(p, q, u, v)?),
            PurchaseKind::Bgbb => Purchases::BgBb(BgBb::new(p, q, u, v)?),
        })
    }

    /// The model of `kind` from named parameters ([`PurchaseKind::parameter_names`]),
    /// each checked by the model's constructor.
    pub fn from_parameters(
        kind: PurchaseKind,
        parameters: &BTreeMap<String, f64>,
    ) -> Result<Purchases, ValueError> {
        let get = |name: &'static str| {
            parameters
                .get(name)
                .copied()
                .ok_or(ValueError::MissingParameter(name))
        };
        let names = kind.parameter_names();
        Purchases::new(
            kind,
            [
                get(names[0])?,
                get(names[1])?,
                get(names[2])?,
                get(names[3])?,
            ],
        )
    }
}

/// The unit a CLV horizon is given in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum HorizonUnit {
    /// Days.
    Days,
    /// Weeks.
    Weeks,
    /// Months of the chosen [`MonthLength`].
    Months,
}

impl std::str::FromStr for HorizonUnit {
    type Err = ValueError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "days" => Ok(HorizonUnit::Days),
            "weeks" => Ok(HorizonUnit::Weeks),
            "months" => Ok(HorizonUnit::Months),
            _ => Err(ValueError::UnknownChoice {
                what: "horizon unit",
                given: text.to_string(),
                expected: "days, weeks or months",
            }),
        }
    }
}

impl HorizonUnit {
    /// The name used in files and options.
    pub fn name(self) -> &'static str {
        match self {
            HorizonUnit::Days => "days",
            HorizonUnit::Weeks => "weeks",
            HorizonUnit::Months => "months",
        }
    }
}

/// A CLV horizon as people give it: 12 months at 1% a month, calendar months.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HorizonSpec {
    /// Length, in `unit`.
    pub horizon: f64,
    /// Unit of the length.
    pub horizon_unit: HorizonUnit,
    /// Discount rate per month.
    pub discount: f64,
    /// Length of the discounting month.
    pub month: MonthLength,
}

impl Default for HorizonSpec {
    fn default() -> Self {
        HorizonSpec {
            horizon: 12.0,
            horizon_unit: HorizonUnit::Months,
            discount: 0.01,
            month: MonthLength::Calendar,
        }
    }
}

/// The longest horizon: 100 years. Forecasts step month by month (each step's discount), and
/// no purchase model fitted on a few years of history says anything about the next century.
pub const MAX_HORIZON_MONTHS: f64 = 1_200.0;

impl HorizonSpec {
    /// The horizon in a model whose time unit is `unit_days` days long.
    ///
    /// ```
    /// use lookalike_value::{HorizonSpec, HorizonUnit, MonthLength};
    /// let spec = HorizonSpec { horizon: 6.0, horizon_unit: HorizonUnit::Months, discount: 0.0, month: MonthLength::Lifetimes };
    /// assert_eq!(spec.in_units(7.0).unwrap().length(), 6.0 * 4.345);
    /// ```
    pub fn in_units(&self, unit_days: f64) -> Result<Horizon, ValueError> {
        if !(self.horizon >= 0.0 && self.horizon.is_finite()) {
            return Err(ValueError::BadHorizon(self.horizon));
        }
        if !(unit_days > 0.0 && unit_days.is_finite()) {
            return Err(ValueError::BadHorizon(unit_days));
        }
        let month = self.month.in_units(unit_days);
        let days = match self.horizon_unit {
            HorizonUnit::Days => self.horizon,
            HorizonUnit::Weeks => self.horizon * 7.0,
            HorizonUnit::Months => self.horizon * month * unit_days,
        };
        let months = days / unit_days / month;
        if months > MAX_HORIZON_MONTHS {
            return Err(ValueError::HorizonTooLong {
                horizon: self.horizon,
                unit: self.horizon_unit,
            });
        }
        Horizon::new(months, month, self.discount)
    }
}

/// One customer's predictions.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Prediction {
    /// P(alive) now.
    pub p_alive: f64,
    /// Expected repeat purchases over the horizon.
    pub expected_purchases: f64,
    /// Gamma-Gamma expected spend per purchase (none without a spend model).
    pub expected_spend: Option<f64>,
    /// Discounted CLV over the horizon (none without a spend model).
    pub clv: Option<f64>,
    /// Expected purchases over the rest of the customer's life (none when infinite).
    pub residual_purchases: Option<f64>,
}

/// The fitted value model with its horizon: [`ValueModel::predict`].
#[derive(Debug, Clone, PartialEq)]
pub struct ValueModel {
    purchases: Purchases,
    spend: Option<GammaGamma>,
    unit_days: f64,
    spec: HorizonSpec,
    horizon: Horizon,
}

impl ValueModel {
    /// The model of fitted `purchases` and `spend` in a time unit `unit_days` days long, with
    /// CLV over `spec` (checked).
    ///
    /// ```
    /// use lookalike_value::{BgNbd, GammaGamma, HorizonSpec, Purchases, ValueModel};
    /// let model = ValueModel::new(
    ///     Purchases::BgNbd(BgNbd::new(0.243, 4.414, 0.793, 2.426).unwrap()),
    ///     Some(GammaGamma::new(6.25, 3.74, 15.44).unwrap()),
    ///     7.0,
    ///     HorizonSpec::default(),
    /// ).unwrap();
    /// let rows = model.predict(&[2.0, f64::NAN], &[30.43, f64::NAN], &[38.86, f64::NAN], &[20.0, f64::NAN]);
    /// let first = rows[0].as_ref().unwrap().unwrap();
    /// assert!(first.p_alive > 0.0 && first.clv.unwrap() > 0.0);
    /// assert!(rows[1].as_ref().unwrap().is_none()); // no purchase yet
    /// ```
    pub fn new(
        purchases: Purchases,
        spend: Option<GammaGamma>,
        unit_days: f64,
        spec: HorizonSpec,
    ) -> Result<ValueModel, ValueError> {
        let horizon = spec.in_units(unit_days)?;
        Ok(ValueModel {
            purchases,
            spend,
            unit_days,
            spec,
            horizon,
        })
    }

    /// The purchase model.
    pub fn purchases(&self) -> &Purchases {
        &self.purchases
    }

    /// The spend model, when one was fitted.
    pub fn spend(&self) -> Option<&GammaGamma> {
        self.spend.as_ref()
    }

    /// Length of the model's time unit in days.
    pub fn unit_days(&self) -> f64 {
        self.unit_days
    }

    /// The horizon as given.
    pub fn horizon_spec(&self) -> &HorizonSpec {
        &self.spec
    }

    /// The horizon in the model's time unit.
    pub fn horizon(&self) -> &Horizon {
        &self.horizon
    }

    /// The columns predictions read: the BTYD summary.
    pub const COLUMNS: [&'static str; 4] = ["frequency", "recency", "T", "monetary_value"];

    /// Predictions from the BTYD columns (`x` frequency, `t_x` recency, `t` T, `m` monetary
    /// value) over the model's horizon: [`predict`].
    pub fn predict(
        &self,
        x: &[f64],
        t_x: &[f64],
        t: &[f64],
        m: &[f64],
    ) -> Vec<Result<Option<Prediction>, ValueError>> {
        predict(
            self.purchases.model(),
            self.spend.as_ref(),
            &self.horizon,
            [x, t_x, t, m],
        )
    }
}

/// Predictions from the BTYD columns `[x, t_x, T, m]` (frequency, recency, T, monetary value),
/// one per customer: none for a customer without a purchase, an error (naming the row among
/// these) for a history that cannot be scored. Each distinct (x, t_x, T) is forecast once; a
/// customer's result depends on its own values only. CLV = Gamma-Gamma expected spend ×
/// discounted expected purchases over `horizon`.
pub fn predict(
    purchases: &dyn PurchaseModel,
    spend: Option<&GammaGamma>,
    horizon: &Horizon,
    [x, t_x, t, m]: [&[f64]; 4],
) -> Vec<Result<Option<Prediction>, ValueError>> {
    let checked: Vec<Result<Option<Summary>, ValueError>> = (0..x.len())
        .into_par_iter()
        .map(|i| Summary::checked(i, x[i], t_x[i], t[i]))
        .collect();
    let summaries: Vec<Option<Summary>> = checked
        .iter()
        .map(|c| c.as_ref().ok().copied().flatten())
        .collect();
    let forecasts = forecast(purchases, &summaries, horizon);
    checked
        .into_par_iter()
        .zip(forecasts)
        .enumerate()
        .map(|(i, (check, f))| {
            check?;
            let Some(f) = f else { return Ok(None) };
            let expected_spend = spend
                .map(|g| g.conditional_spend(x[i], m[i].max(0.0)))
                .filter(|s| s.is_finite());
            Ok(Some(Prediction {
                p_alive: f.p_alive,
                expected_purchases: f.expected_purchases,
                expected_spend,
                clv: expected_spend.map(|s| s * f.discounted_purchases),
                residual_purchases: f.residual_purchases,
            }))
        })
        .collect()
}
