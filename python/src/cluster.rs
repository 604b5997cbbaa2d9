//! k-means and the clustering metrics behind the Python estimators (`lookalike.KMeans`, the
//! `*_score` functions). A matrix crosses as an Arrow `FixedSizeList<Float64>` array whose
//! values are the NumPy array's own buffer (row-major): Rust reads it in place, so a fit copies
//! nothing, and this works with the stable ABI of every Python from 3.9. Labels and distances
//! come back as Arrow arrays (`.to_numpy()` is zero-copy).

use std::sync::Arc;

use arrow::array::{Array, ArrayData, ArrayRef, Float64Array, Int64Array, make_array};
use arrow::datatypes::DataType;
use arrow::pyarrow::{FromPyArrow, ToPyArrow};
use lookalike_cluster::{
    Algorithm, ClusterError, Init, KMeans, KMeansParams, adjusted_rand_index, calinski_harabasz,
    davies_bouldin, sampled_silhouette, silhouette,
};
use ndarray::{Array2, ArrayView1, ArrayView2};
use pyo3::prelude::*;

use crate::errors::{InputError, choice};
use crate::tables::float_column;

fn bad(error: impl std::fmt::Display) -> PyErr {
    InputError::new_err(error.to_string())
}

/// A matrix passed as a `FixedSizeList<Float64>` array, kept alive while it is viewed.
struct Matrix {
    values: Float64Array,
    rows: usize,
    columns: usize,
}

impl Matrix {
    fn of(object: &Bound<'_, PyAny>, name: &str) -> PyResult<Matrix> {
        let data = ArrayData::from_pyarrow_bound(object)?;
        let array = make_array(data);
        let DataType::FixedSizeList(_, width) = array.data_type() else {
            return Err(bad(format!(
                "{name}: expected a matrix, got {}",
                array.data_type()
            )));
        };
        let list = array
            .as_any()
            .downcast_ref::<arrow::array::FixedSizeListArray>()
            .ok_or_else(|| bad(format!("{name}: expected a matrix")))?;
        if list.null_count() > 0 {
            return Err(bad(format!("{name}: a row is missing")));
        }
        let values = list
            .values()
            .as_any()
            .downcast_ref::<Float64Array>()
            .ok_or_else(|| bad(format!("{name}: expected float64 values")))?;
        if values.null_count() > 0 {
            return Err(bad(format!("{name}: a value is missing (NaN or null)")));
        }
        let columns = *width as usize;
        let start = list.offset() * columns;
        let values = values.slice(start, list.len() * columns);
        Ok(Matrix {
            values,
            rows: list.len(),
            columns,
        })
    }

    fn view(&self) -> ArrayView2<'_, f64> {
        ArrayView2::from_shape((self.rows, self.columns), self.values.values())
            .expect("the length is rows × columns")
    }
}

/// Labels passed as an Arrow Int64 array of 0…k−1.
fn labels(object: &Bound<'_, PyAny>) -> PyResult<Vec<usize>> {
    let array = make_array(ArrayData::from_pyarrow_bound(object)?);
    let values = array
        .as_any()
        .downcast_ref::<Int64Array>()
        .ok_or_else(|| bad("labels: expected int64 values"))?;
    values
        .iter()
        .map(|l| match l {
            Some(l) if l >= 0 => Ok(l as usize),
            other => Err(bad(format!("labels: {other:?} is not a cluster number"))),
        })
        .collect()
}

fn to_arrow<'py>(py: Python<'py>, array: ArrayRef) -> PyResult<Bound<'py, PyAny>> {
    array.to_data().to_pyarrow(py)
}

/// A k-means fit: centroids (row-major), labels, inertia, iterations, whether it converged.
type KMeansFit<'py> = (Bound<'py, PyAny>, Bound<'py, PyAny>, f64, usize, bool);

/// Fits k-means to the rows of `x`, weighted by `sample_weight`; from `initial` centroids when
/// given.
#[pyfunction]
#[pyo3(signature = (x, n_clusters, init, algorithm, n_init, max_iter, tol, seed, batch_size, float32, sample_weight=None, initial=None))]
#[allow(clippy::too_many_arguments)]
pub fn kmeans_fit<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    n_clusters: usize,
    init: &str,
    algorithm: &str,
    n_init: usize,
    max_iter: usize,
    tol: f64,
    seed: u64,
    batch_size: usize,
    float32: bool,
    sample_weight: Option<&Bound<'py, PyAny>>,
    initial: Option<&Bound<'py, PyAny>>,
) -> PyResult<KMeansFit<'py>> {
    let params = KMeansParams::new(n_clusters)
        .init(choice::<Init>("init", init)?)
        .algorithm(choice::<Algorithm>("algorithm", algorithm)?)
        .n_init(n_init)
        .max_iter(max_iter)
        .tol(tol)
        .seed(seed)
        .batch_size(batch_size)
        .validate()
        .map_err(bad)?;
    let matrix = Matrix::of(x, "X")?;
    let weights = sample_weight
        .map(|w| float_column(w, "sample_weight"))
        .transpose()?;
    let start = initial
        .map(|c| Matrix::of(c, "init").map(|m| m.view().to_owned()))
        .transpose()?;
    let data = matrix.view();
    let weights = weights
        .as_ref()
        .map(|w| ArrayView1::from(w.values().as_ref()));
    let fitted = py.detach(|| -> Result<_, ClusterError> {
        if float32 {
            let narrow = data.mapv(|v| v as f32);
            let fitted = match start {
                Some(s) => params.fit_predict_from(narrow.view(), weights, s.mapv(|v| v as f32))?,
                None => params.fit_predict(narrow.view(), weights)?,
            };
            let m = fitted.model;
            let centroids: Array2<f64> = m.centroids().mapv(f64::from);
            Ok((
                centroids,
                fitted.labels,
                m.inertia(),
                m.iterations(),
                m.converged(),
            ))
        } else {
            let fitted = match start {
                Some(s) => params.fit_predict_from(data, weights, s)?,
                None => params.fit_predict(data, weights)?,
            };
            let m = fitted.model;
            let centroids = m.centroids().clone();
            Ok((
                centroids,
                fitted.labels,
                m.inertia(),
                m.iterations(),
                m.converged(),
            ))
        }
    });
    let (centroids, labels, inertia, iterations, converged) = fitted.map_err(bad)?;
    let centroids: ArrayRef = Arc::new(Float64Array::from_iter_values(centroids.iter().copied()));
    let labels: ArrayRef = Arc::new(Int64Array::from_iter_values(
        labels.into_iter().map(|l| l as i64),
    ));
    Ok((
        to_arrow(py, centroids)?,
        to_arrow(py, labels)?,
        inertia,
        iterations,
        converged,
    ))
}

/// The model of `centers` and the rows `x` it is applied to, which must have its width.
fn fitted_and_rows(
    centers: &Bound<'_, PyAny>,
    x: &Bound<'_, PyAny>,
) -> PyResult<(KMeans<f64>, Matrix)> {
    let centers = Matrix::of(centers, "centers")?;
    let matrix = Matrix::of(x, "X")?;
    if centers.columns != matrix.columns {
        return Err(bad(format!(
            "X has {} features but the model was fitted on {}",
            matrix.columns, centers.columns
        )));
    }
    Ok((KMeans::from_centroids(centers.view().to_owned()), matrix))
}

/// The nearest of `centers` for every row of `x`, and the squared distance to it.
#[pyfunction]
pub fn kmeans_predict<'py>(
    py: Python<'py>,
    centers: &Bound<'py, PyAny>,
    x: &Bound<'py, PyAny>,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let (model, matrix) = fitted_and_rows(centers, x)?;
    let data = matrix.view();
    let (labels, distances) = py.detach(|| model.predict(data));
    let labels: ArrayRef = Arc::new(Int64Array::from_iter_values(
        labels.into_iter().map(|l| l as i64),
    ));
    let distances: ArrayRef = Arc::new(Float64Array::from(distances));
    Ok((to_arrow(py, labels)?, to_arrow(py, distances)?))
}

/// Mean silhouette (scikit-learn's definition); on a stratified sample of `sample_size` rows
/// when given.
#[pyfunction]
#[pyo3(signature = (x, labels, sample_size=None, seed=0))]
pub fn silhouette_score(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    labels: &Bound<'_, PyAny>,
    sample_size: Option<usize>,
    seed: u64,
) -> PyResult<f64> {
    let (matrix, labels) = (Matrix::of(x, "X")?, self::labels(labels)?);
    let data = matrix.view();
    Ok(py.detach(|| match sample_size {
        Some(size) => sampled_silhouette(data, &labels, size, seed).value,
        None => silhouette(data, &labels),
    }))
}

/// A metric of a labelling of the rows of `x`, computed without the GIL.
fn labelled_metric(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    labels: &Bound<'_, PyAny>,
    metric: fn(ArrayView2<'_, f64>, &[usize]) -> f64,
) -> PyResult<f64> {
    let (matrix, labels) = (Matrix::of(x, "X")?, self::labels(labels)?);
    let data = matrix.view();
    Ok(py.detach(|| metric(data, &labels)))
}

/// Davies-Bouldin index (lower is better).
#[pyfunction]
pub fn davies_bouldin_score(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    labels: &Bound<'_, PyAny>,
) -> PyResult<f64> {
    labelled_metric(py, x, labels, davies_bouldin)
}

/// Calinski-Harabasz index (higher is better).
#[pyfunction]
pub fn calinski_harabasz_score(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    labels: &Bound<'_, PyAny>,
) -> PyResult<f64> {
    labelled_metric(py, x, labels, calinski_harabasz)
}

/// Adjusted Rand index of two labellings (1: the same partition; about 0: chance).
#[pyfunction]
pub fn adjusted_rand_score(
    labels_true: &Bound<'_, PyAny>,
    labels_pred: &Bound<'_, PyAny>,
) -> PyResult<f64> {
    adjusted_rand_index(&labels(labels_true)?, &labels(labels_pred)?).map_err(bad)
}

/// The Euclidean distance of every row of `x` to every one of `centers`, row-major n × k.
#[pyfunction]
pub fn kmeans_transform<'py>(
    py: Python<'py>,
    centers: &Bound<'py, PyAny>,
    x: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let (model, matrix) = fitted_and_rows(centers, x)?;
    let data = matrix.view();
    let distances = py.detach(|| model.transform(data));
    let flat: ArrayRef = Arc::new(Float64Array::from_iter_values(distances.iter().copied()));
    to_arrow(py, flat)
}
