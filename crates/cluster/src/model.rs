//! A fitted clustering as a model that scores one customer at a time: the scaler and the
//! centroids, stored in the `columns` / `scaling` / `centroids` fields of a k-means
//! `model.json` and checked value by value when read.

use ndarray::{Array2, ArrayView2};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::ClusterError;
use crate::scale::{Scaler, ScalingParameters};

/// The scaler and centroids of a fitted k-means, ready to assign customers.
///
/// Assignment is row-local: a customer's cluster and distance depend on its own features and
/// the model only (a scalar loop over the centroids in order, ties to the lower index), so they
/// are the same bits whatever table, chunk or thread the customer is scored in.
///
/// ```
/// use lookalike_cluster::{ClusterModel, Scaler, Scaling, ScalingParameters};
/// let scaler = Scaler::from_parameters(vec!["orders".into()], ScalingParameters {
///     method: Scaling::None, log1p: vec![false], center: vec![0.0], spread: vec![1.0], weight: vec![1.0],
/// }).unwrap();
/// let model = ClusterModel::new(scaler, ndarray::array![[1.0], [10.0]]).unwrap();
/// assert_eq!(model.assign(|_| 8.0), Some((1, 2.0)));
/// assert_eq!(model.assign(|_| f64::NAN), None);
/// let json = serde_json::to_string(&model).unwrap();
/// assert_eq!(serde_json::from_str::<ClusterModel>(&json).unwrap(), model);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "StoredClusterModel", into = "StoredClusterModel")]
pub struct ClusterModel {
    scaler: Scaler,
    centroids: Array2<f64>,
}

/// The stored form: the fields of `model.json` that scoring needs (other fields, such as the
/// fit's metrics, are left to the writer).
#[derive(Serialize, Deserialize)]
struct StoredClusterModel {
    columns: Vec<String>,
    scaling: ScalingParameters,
    centroids: Vec<Vec<f64>>,
}

impl TryFrom<StoredClusterModel> for ClusterModel {
    type Error = ClusterError;

    fn try_from(stored: StoredClusterModel) -> Result<Self, Self::Error> {
        let scaler = Scaler::from_parameters(stored.columns, stored.scaling)?;
        let d = scaler.columns.len();
        if let Some((c, row)) = stored
            .centroids
            .iter()
            .enumerate()
            .find(|(_, r)| r.len() != d)
        {
            return Err(ClusterError::BadCentroids(format!(
                "centroid {c} has {} values for {d} columns",
                row.len()
            )));
        }
        let k = stored.centroids.len();
        let centroids = Array2::from_shape_vec((k, d), stored.centroids.concat())
            .map_err(|e| ClusterError::BadCentroids(e.to_string()))?;
        ClusterModel::new(scaler, centroids)
    }
}

impl From<ClusterModel> for StoredClusterModel {
    fn from(model: ClusterModel) -> Self {
        StoredClusterModel {
            scaling: model.scaler.parameters(),
            columns: model.scaler.columns,
            centroids: model
                .centroids
                .rows()
                .into_iter()
                .map(|r| r.to_vec())
                .collect(),
        }
    }
}

impl ClusterModel {
    /// The model of `centroids` (k × the scaler's columns, in the scaled space), refused when
    /// there are none, their width differs from the scaler's or a value is not finite.
    pub fn new(scaler: Scaler, centroids: Array2<f64>) -> Result<ClusterModel, ClusterError> {
        if centroids.nrows() == 0 {
            return Err(ClusterError::BadCentroids("there are none".into()));
        }
        if centroids.ncols() != scaler.columns.len() {
            return Err(ClusterError::BadCentroids(format!(
                "{} columns for a scaler of {}",
                centroids.ncols(),
                scaler.columns.len()
            )));
        }
        if let Some(((c, j), v)) = centroids.indexed_iter().find(|(_, v)| !v.is_finite()) {
            return Err(ClusterError::BadCentroids(format!(
                "centroid {c}, column {j} is {v}"
            )));
        }
        Ok(ClusterModel { scaler, centroids })
    }

    /// The scaler.
    pub fn scaler(&self) -> &Scaler {
        &self.scaler
    }

    /// The centroids, k × columns, in the scaled space.
    pub fn centroids(&self) -> ArrayView2<'_, f64> {
        self.centroids.view()
    }

    /// The feature columns the model reads, in the scaler's order.
    pub fn columns(&self) -> &[String] {
        &self.scaler.columns
    }

    /// The nearest centroid of one customer and the Euclidean distance to it in the scaled
    /// space; `value(j)` is the raw value of scaler column j. None when the customer has no
    /// place in the scaled space (a missing value, or ≤ −1 under ln(1 + x)).
    pub fn assign(&self, value: impl Fn(usize) -> f64) -> Option<(usize, f64)> {
        self.assign_into(value, &mut vec![0.0; self.scaler.columns.len()])
    }

    /// [`ClusterModel::assign`] for `n` customers in parallel; `value(i, j)` is customer i's raw
    /// value of scaler column j. Each worker scales into one reused row.
    pub fn assign_rows(
        &self,
        n: usize,
        value: impl Fn(usize, usize) -> f64 + Sync,
    ) -> Vec<Option<(usize, f64)>> {
        let d = self.scaler.columns.len();
        (0..n)
            .into_par_iter()
            .map_init(
                || vec![0.0; d],
                |row, i| self.assign_into(|j| value(i, j), row),
            )
            .collect()
    }

    /// One customer, scaled into `row` (one slot per scaler column).
    fn assign_into(&self, value: impl Fn(usize) -> f64, row: &mut [f64]) -> Option<(usize, f64)> {
        if !self.scaler.scale_row(value, row) {
            return None;
        }
        let mut best = (0usize, f64::INFINITY);
        for (c, centroid) in self.centroids.rows().into_iter().enumerate() {
            let squared: f64 = row
                .iter()
                .zip(centroid)
                .map(|(x, m)| (x - m) * (x - m))
                .sum();
            if squared < best.1 {
                best = (c, squared);
            }
        }
        Some((best.0, best.1.sqrt()))
    }
}
