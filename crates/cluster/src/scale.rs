//! Feature scaling, fitted once and stored with the model so scoring scales the same way.
//!
//! Each selected column is optionally passed through `ln(1 + x)` (for skewed amounts and
//! counts), then centred and divided by its spread (standard: mean and standard deviation;
//! robust: median and interquartile range), then multiplied by its weight, so that
//! distances count the columns as much as the user wants.

use lookalike_core::{CustomerId, FeatureTable};
use ndarray::Array2;
use serde::{Deserialize, Serialize};

use crate::ClusterError;

/// How columns are centred and scaled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Scaling {
    /// Values as they are.
    None,
    /// (x − mean) / standard deviation.
    Standard,
    /// (x − median) / interquartile range: robust to outliers such as a few huge spenders.
    Robust,
}

/// Which columns to use and how to scale them. Consuming setters; each says its default.
///
/// ```
/// use lookalike_cluster::{ScalerParams, Scaling};
/// let params = ScalerParams::new(["orders", "total_spend"]).scaling(Scaling::Robust).log1p(["total_spend"]);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ScalerParams {
    pub(crate) columns: Vec<String>,
    pub(crate) scaling: Scaling,
    pub(crate) log1p: Vec<String>,
    pub(crate) weights: Vec<(String, f64)>,
}

impl ScalerParams {
    /// Cluster on these feature columns.
    pub fn new<S: Into<String>>(columns: impl IntoIterator<Item = S>) -> Self {
        ScalerParams {
            columns: columns.into_iter().map(Into::into).collect(),
            scaling: Scaling::Standard,
            log1p: Vec::new(),
            weights: Vec::new(),
        }
    }

    /// Centring and scaling. Default: standard.
    pub fn scaling(mut self, scaling: Scaling) -> Self {
        self.scaling = scaling;
        self
    }

    /// Columns passed through ln(1 + x) first. Default: none.
    pub fn log1p<S: Into<String>>(mut self, columns: impl IntoIterator<Item = S>) -> Self {
        self.log1p = columns.into_iter().map(Into::into).collect();
        self
    }

    /// A weight for a column (multiplies its scaled values). Default: 1 for every column.
    pub fn weight(mut self, column: impl Into<String>, weight: f64) -> Self {
        self.weights.push((column.into(), weight));
        self
    }
}

/// A fitted scaler: per column, whether log1p applies, the centre, the spread and the weight.
#[derive(Debug, Clone, PartialEq)]
pub struct Scaler {
    /// The columns, in the order of the scaled matrix.
    pub columns: Vec<String>,
    /// The scaling method.
    pub scaling: Scaling,
    /// Whether ln(1 + x) is applied first, per column.
    pub log1p: Vec<bool>,
    /// Subtracted after log1p.
    pub center: Vec<f64>,
    /// Divided by after centring.
    pub spread: Vec<f64>,
    /// Multiplied by at the end.
    pub weight: Vec<f64>,
}

impl Scaling {
    /// Every method, for messages and argument parsers.
    pub const ALL: [Scaling; 3] = [Scaling::None, Scaling::Standard, Scaling::Robust];

    /// The name used in files and options.
    pub fn name(self) -> &'static str {
        match self {
            Scaling::None => "none",
            Scaling::Standard => "standard",
            Scaling::Robust => "robust",
        }
    }
}

impl std::str::FromStr for Scaling {
    type Err = ClusterError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Scaling::ALL
            .into_iter()
            .find(|s| s.name() == text)
            .ok_or_else(|| ClusterError::UnknownChoice {
                what: "scaling",
                given: text.to_string(),
                expected: "none, standard or robust",
            })
    }
}

/// A fitted scaler's numbers as model files store them (`scaling` beside a `columns` list):
/// [`Scaler::parameters`] and [`Scaler::from_parameters`], which checks every value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScalingParameters {
    /// The method.
    pub method: Scaling,
    /// Whether ln(1 + x) applies, per column.
    pub log1p: Vec<bool>,
    /// Subtracted after log1p, per column.
    pub center: Vec<f64>,
    /// Divided by after centring, per column (positive).
    pub spread: Vec<f64>,
    /// Multiplied by at the end, per column (positive).
    pub weight: Vec<f64>,
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    // Linear interpolation between order statistics (numpy's default).
    let position = q * (sorted.len() - 1) as f64;
    let (low, high) = (position.floor() as usize, position.ceil() as usize);
    sorted[low] + (sorted[high] - sorted[low]) * (position - low as f64)
}

/// The positions of `columns` in `table`, or an error naming the first unknown one and the
/// known ones.
pub(crate) fn column_indexes(
    table: &FeatureTable,
    columns: &[String],
) -> Result<Vec<usize>, ClusterError> {
    columns
        .iter()
        .map(|name| {
            table
                .column_index(name)
                .map_err(|_| ClusterError::UnknownColumn {
                    name: name.clone(),
                    known: table.columns().join(", "),
                })
        })
        .collect()
}

/// Standard scaling's centre and spread: the mean and the standard deviation, refused for a
/// column without variation.
pub(crate) fn standard_statistics(
    name: &str,
    mean: f64,
    variance: f64,
) -> Result<(f64, f64), ClusterError> {
    if variance <= 0.0 {
        return Err(ClusterError::ConstantColumn(name.to_string()));
    }
    Ok((mean, variance.sqrt()))
}

/// Robust scaling's centre and spread: the median and the interquartile range, refused when
/// the quartiles meet.
pub(crate) fn robust_statistics(
    name: &str,
    lower_quartile: f64,
    median: f64,
    upper_quartile: f64,
) -> Result<(f64, f64), ClusterError> {
    let iqr = upper_quartile - lower_quartile;
    if iqr <= 0.0 {
        return Err(ClusterError::ZeroInterquartileRange(name.to_string()));
    }
    Ok((median, iqr))
}

/// Checks one selected column: every value present, and above −1 for the log.
fn check_column(table: &FeatureTable, name: &str, use_log: bool) -> Result<(), ClusterError> {
    let index = table
        .column_index(name)
        .map_err(|_| ClusterError::UnknownColumn {
            name: name.to_string(),
            known: table.columns().join(", "),
        })?;
    for (i, v) in table.values().column(index).iter().enumerate() {
        let customer = || table.ids()[i].to_string();
        if !v.is_finite() {
            return Err(ClusterError::MissingFeature {
                customer: customer(),
                column: name.to_string(),
            });
        }
        if use_log && *v <= -1.0 {
            return Err(ClusterError::NegativeForLog {
                column: name.to_string(),
                customer: customer(),
                value: *v,
            });
        }
    }
    Ok(())
}

/// One selected column's values (ln(1 + x) when asked), checked. One column at a time, so
/// scaling a wide table never holds a second copy of it.
fn raw_column(table: &FeatureTable, name: &str, use_log: bool) -> Result<Vec<f64>, ClusterError> {
    check_column(table, name, use_log)?;
    let index = table.column_index(name).expect("checked");
    let mut values = table.values().column(index).to_vec();
    if use_log {
        values.iter_mut().for_each(|v| *v = v.ln_1p());
    }
    Ok(values)
}

impl Scaler {
    /// Fits the scaler on `table`.
    pub fn fit(table: &FeatureTable, params: &ScalerParams) -> Result<Scaler, ClusterError> {
        Scaler::fit_with(params, |name, use_log| {
            let values = raw_column(table, name, use_log)?;
            if table.is_empty() {
                return Err(ClusterError::EmptyInput);
            }
            Ok(match params.scaling {
                Scaling::None => (0.0, 1.0),
                Scaling::Standard => {
                    let mean = values.iter().sum::<f64>() / values.len() as f64;
                    let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>()
                        / values.len() as f64;
                    standard_statistics(name, mean, variance)?
                }
                Scaling::Robust => {
                    let mut sorted = values;
                    sorted.sort_by(f64::total_cmp);
                    let quartile = |q| quantile(&sorted, q);
                    robust_statistics(name, quartile(0.25), quartile(0.5), quartile(0.75))?
                }
            })
        })
    }

    /// A scaler for `params` whose centre and spread of each column (after ln(1 + x) where
    /// asked) come from `statistics(column, uses_log)`: computed on a table, or read from the
    /// merged counts of a base in parts. Checks the settings first.
    pub(crate) fn fit_with(
        params: &ScalerParams,
        mut statistics: impl FnMut(&str, bool) -> Result<(f64, f64), ClusterError>,
    ) -> Result<Scaler, ClusterError> {
        if params.columns.is_empty() {
            return Err(ClusterError::NoColumns);
        }
        for name in params
            .log1p
            .iter()
            .chain(params.weights.iter().map(|(c, _)| c))
        {
            if !params.columns.contains(name) {
                return Err(ClusterError::NotClustered {
                    name: name.clone(),
                    clustered: params.columns.join(", "),
                });
            }
        }
        let log1p: Vec<bool> = params
            .columns
            .iter()
            .map(|c| params.log1p.contains(c))
            .collect();
        let mut weight = vec![1.0; params.columns.len()];
        for (column, w) in &params.weights {
            if !w.is_finite() || *w <= 0.0 {
                return Err(ClusterError::BadColumnWeight {
                    column: column.clone(),
                    weight: *w,
                });
            }
            weight[params
                .columns
                .iter()
                .position(|c| c == column)
                .expect("checked")] = *w;
        }
        let mut center = Vec::with_capacity(params.columns.len());
        let mut spread = Vec::with_capacity(params.columns.len());
        for (name, use_log) in params.columns.iter().zip(&log1p) {
            let (c, s) = statistics(name, *use_log)?;
            center.push(c);
            spread.push(s);
        }
        Ok(Scaler {
            columns: params.columns.clone(),
            scaling: params.scaling,
            log1p,
            center,
            spread,
            weight,
        })
    }

    /// Scales `table` in place and keeps only the selected columns: the ids and the scaled
    /// matrix (customers × selected columns), without the copy [`Scaler::transform`] makes —
    /// for bases too large to hold twice.
    ///
    /// ```
    /// use lookalike_cluster::{Scaler, ScalerParams};
    /// use lookalike_core::{CustomerId, FeatureTable};
    /// let ids = ["a", "b", "c"].map(CustomerId::from).to_vec();
    /// let table = FeatureTable::new(ids, vec!["x".into(), "y".into()], ndarray::array![[1.0, 5.0], [2.0, 6.0], [3.0, 7.0]]).unwrap();
    /// let scaler = Scaler::fit(&table, &ScalerParams::new(["y"])).unwrap();
    /// let expected = scaler.transform(&table).unwrap();
    /// let (ids, scaled) = scaler.transform_owned(table).unwrap();
    /// assert_eq!((ids.len(), &scaled), (3, &expected));
    /// assert!((scaler.raw_value(0, scaled[[2, 0]]) - 7.0).abs() < 1e-12);
    /// ```
    pub fn transform_owned(
        &self,
        table: FeatureTable,
    ) -> Result<(Vec<CustomerId>, Array2<f64>), ClusterError> {
        // Check (and compute) every column before changing any.
        let indexes = column_indexes(&table, &self.columns)?;
        for (name, use_log) in self.columns.iter().zip(&self.log1p) {
            check_column(&table, name, *use_log)?;
        }
        let (ids, columns, mut values) = table.into_parts();
        for (j, index) in indexes.iter().enumerate() {
            let use_log = self.log1p[j];
            values
                .column_mut(*index)
                .mapv_inplace(|v| self.scale_logged(j, if use_log { v.ln_1p() } else { v }));
        }
        let in_order =
            indexes.len() == columns.len() && indexes.iter().enumerate().all(|(j, i)| j == *i);
        let scaled = if in_order {
            values
        } else {
            values.select(ndarray::Axis(1), &indexes)
        };
        Ok((ids, scaled))
    }

    /// The numbers of the scaler, to store beside its columns.
    pub fn parameters(&self) -> ScalingParameters {
        ScalingParameters {
            method: self.scaling,
            log1p: self.log1p.clone(),
            center: self.center.clone(),
            spread: self.spread.clone(),
            weight: self.weight.clone(),
        }
    }

    /// A scaler from stored numbers, refused unless every list has one value per column, every
    /// centre is finite and every spread and weight is a positive finite number (a spread of 0
    /// would put every customer at an infinite distance).
    ///
    /// ```
    /// use lookalike_cluster::{Scaler, ScalingParameters, Scaling};
    /// let mut parameters = ScalingParameters {
    ///     method: Scaling::Standard, log1p: vec![false], center: vec![2.0], spread: vec![0.5], weight: vec![1.0],
    /// };
    /// let scaler = Scaler::from_parameters(vec!["orders".into()], parameters.clone()).unwrap();
    /// let mut out = [0.0];
    /// assert!(scaler.scale_row(|_| 3.0, &mut out) && out[0] == 2.0);
    /// parameters.spread[0] = 0.0;
    /// assert!(Scaler::from_parameters(vec!["orders".into()], parameters).is_err());
    /// ```
    pub fn from_parameters(
        columns: Vec<String>,
        parameters: ScalingParameters,
    ) -> Result<Scaler, ClusterError> {
        if columns.is_empty() {
            return Err(ClusterError::NoColumns);
        }
        let d = columns.len();
        for (field, got) in [
            ("log1p", parameters.log1p.len()),
            ("center", parameters.center.len()),
            ("spread", parameters.spread.len()),
            ("weight", parameters.weight.len()),
        ] {
            if got != d {
                return Err(ClusterError::ScalerLength {
                    field,
                    got,
                    expected: d,
                });
            }
        }
        for (j, column) in columns.iter().enumerate() {
            let (center, spread, weight) = (
                parameters.center[j],
                parameters.spread[j],
                parameters.weight[j],
            );
            if !center.is_finite() {
                return Err(ClusterError::BadCenter {
                    column: column.clone(),
                    value: center,
                });
            }
            if !(spread > 0.0 && spread.is_finite()) {
                return Err(ClusterError::BadSpread {
                    column: column.clone(),
                    value: spread,
                });
            }
            if !(weight > 0.0 && weight.is_finite()) {
                return Err(ClusterError::BadColumnWeight {
                    column: column.clone(),
                    weight,
                });
            }
        }
        Ok(Scaler {
            columns,
            scaling: parameters.method,
            log1p: parameters.log1p,
            center: parameters.center,
            spread: parameters.spread,
            weight: parameters.weight,
        })
    }

    /// One customer scaled into `out` (one value per scaler column); `value(j)` is the raw
    /// value of scaler column j. False when a value is missing, or not above −1 where
    /// ln(1 + x) applies: such a customer has no place in the scaled space. The arithmetic is
    /// [`Scaler::transform`]'s, value for value, so a row scored alone and in a table agree to
    /// the bit.
    pub fn scale_row(&self, value: impl Fn(usize) -> f64, out: &mut [f64]) -> bool {
        for (j, slot) in out.iter_mut().enumerate().take(self.columns.len()) {
            let mut v = value(j);
            if !v.is_finite() || (self.log1p[j] && v <= -1.0) {
                return false;
            }
            if self.log1p[j] {
                v = v.ln_1p();
            }
            *slot = self.scale_logged(j, v);
        }
        true
    }

    /// Selected column `j`'s value, after ln(1 + x) where it applies, scaled: the one
    /// arithmetic every way of scaling shares, so they agree to the bit.
    #[inline]
    pub(crate) fn scale_logged(&self, j: usize, v: f64) -> f64 {
        self.weight[j] * (v - self.center[j]) / self.spread[j]
    }

    /// The raw value of selected column `j` whose scaled value is `scaled` (the inverse of the
    /// scaling, ln(1 + x) included).
    pub fn raw_value(&self, j: usize, scaled: f64) -> f64 {
        let v = scaled / self.weight[j] * self.spread[j] + self.center[j];
        if self.log1p[j] { v.exp_m1() } else { v }
    }

    /// The scaled matrix of `table` (customers × selected columns).
    pub fn transform(&self, table: &FeatureTable) -> Result<Array2<f64>, ClusterError> {
        let mut scaled = Array2::zeros((table.len(), self.columns.len()));
        for (j, (name, use_log)) in self.columns.iter().zip(&self.log1p).enumerate() {
            let values = raw_column(table, name, *use_log)?;
            for (out, v) in scaled.column_mut(j).iter_mut().zip(&values) {
                *out = self.scale_logged(j, *v);
            }
        }
        Ok(scaled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lookalike_core::CustomerId;
    use ndarray::array;

    fn table(values: Array2<f64>) -> FeatureTable {
        let ids = (0..values.nrows())
            .map(|i| CustomerId::from(format!("c{i}")))
            .collect();
        FeatureTable::new(ids, vec!["a".into(), "b".into()], values).unwrap()
    }

    #[test]
    fn standard_robust_log_and_weights() {
        let t = table(array![[1.0, 0.0], [2.0, 9.0], [3.0, 99.0], [4.0, 999.0]]);
        let standard = Scaler::fit(&t, &ScalerParams::new(["a", "b"]))
            .unwrap()
            .transform(&t)
            .unwrap();
        for column in standard.columns() {
            assert!(column.mean().unwrap().abs() < 1e-12);
            assert!((column.std(0.0) - 1.0).abs() < 1e-12);
        }
        let robust = Scaler::fit(&t, &ScalerParams::new(["a"]).scaling(Scaling::Robust)).unwrap();
        assert_eq!((robust.center[0], robust.spread[0]), (2.5, 1.5));
        let logged = Scaler::fit(
            &t,
            &ScalerParams::new(["b"])
                .scaling(Scaling::None)
                .log1p(["b"])
                .weight("b", 2.0),
        )
        .unwrap();
        let values = logged.transform(&t).unwrap();
        assert!((values[[3, 0]] - 2.0 * 1000f64.ln()).abs() < 1e-12);
    }

    #[test]
    fn each_rule_has_its_error() {
        let t = table(array![[1.0, 5.0], [1.0, -3.0], [1.0, f64::NAN]]);
        let fit = |p: ScalerParams| Scaler::fit(&t, &p);
        assert_eq!(
            fit(ScalerParams::new(Vec::<String>::new())).unwrap_err(),
            ClusterError::NoColumns
        );
        assert!(matches!(
            fit(ScalerParams::new(["zzz"])),
            Err(ClusterError::UnknownColumn { .. })
        ));
        assert!(matches!(
            fit(ScalerParams::new(["a"]).log1p(["b"])),
            Err(ClusterError::NotClustered { .. })
        ));
        assert!(
            matches!(fit(ScalerParams::new(["b"])), Err(ClusterError::MissingFeature { ref customer, .. }) if customer == "c2")
        );
        assert_eq!(
            fit(ScalerParams::new(["a"])).unwrap_err(),
            ClusterError::ConstantColumn("a".into())
        );
        assert_eq!(
            fit(ScalerParams::new(["a"]).scaling(Scaling::Robust)).unwrap_err(),
            ClusterError::ZeroInterquartileRange("a".into())
        );
        assert!(matches!(
            fit(ScalerParams::new(["a"]).weight("a", 0.0)),
            Err(ClusterError::BadColumnWeight { .. })
        ));
        let negative = table(array![[1.0, 5.0], [2.0, -3.0]]);
        assert!(matches!(
            Scaler::fit(&negative, &ScalerParams::new(["b"]).log1p(["b"])),
            Err(ClusterError::NegativeForLog { ref customer, value, .. }) if customer == "c1" && value == -3.0
        ));
    }
}
