//! linfa integration: this crate's k-means behind linfa's `Fit` / `Predict` traits, and
//! `linfa-clustering`'s own KMeans as an alternative backend for comparisons.
//!
//! The inherent `fit(data, weights)` and `predict(data)` take plain matrices, so the linfa
//! versions are called through their traits: `Fit::fit(&params, &dataset)`,
//! `Predict::predict(&model, &records)`.
//!
//! ```
//! use linfa::prelude::*;
//! use lookalike_cluster::KMeansParams;
//! let records = ndarray::array![[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.1, 5.0]];
//! let dataset = linfa::DatasetBase::from(records.clone());
//! let params = KMeansParams::new(2).seed(1).validate().unwrap();
//! let model = Fit::fit(&params, &dataset).unwrap();
//! let labels: ndarray::Array1<usize> = Predict::predict(&model, &records);
//! assert_eq!(labels[0], labels[1]);
//! ```

use linfa::dataset::DatasetBase;
use linfa::traits::{Fit, PredictInplace};
use ndarray::{Array1, Array2, ArrayBase, ArrayView2, Data, Ix2};
use rand_xoshiro::rand_core::SeedableRng;

use crate::float::{Float, wide};
use crate::{ClusterError, Init, KMeans, KMeansValidParams};

impl From<linfa::Error> for ClusterError {
    fn from(error: linfa::Error) -> Self {
        ClusterError::Linfa(error.to_string())
    }
}

impl<F: Float, D: Data<Elem = F>, T> Fit<ArrayBase<D, Ix2>, T, ClusterError> for KMeansValidParams {
    type Object = KMeans<F>;

    /// Fits on the dataset's records, using its sample weights when it has them.
    fn fit(&self, dataset: &DatasetBase<ArrayBase<D, Ix2>, T>) -> Result<KMeans<F>, ClusterError> {
        let weights: Option<Array1<f64>> = dataset
            .weights()
            .map(|w| w.iter().map(|v| f64::from(*v)).collect());
        KMeansValidParams::fit(
            self,
            dataset.records().view(),
            weights.as_ref().map(|w| w.view()),
        )
    }
}

impl<F: Float, D: Data<Elem = F>> PredictInplace<ArrayBase<D, Ix2>, Array1<usize>> for KMeans<F> {
    fn predict_inplace(&self, records: &ArrayBase<D, Ix2>, labels: &mut Array1<usize>) {
        let (nearest, _) = KMeans::predict(self, records.view());
        labels.assign(&Array1::from(nearest));
    }

    fn default_target(&self, records: &ArrayBase<D, Ix2>) -> Array1<usize> {
        Array1::zeros(records.nrows())
    }
}

/// Fits with `linfa-clustering`'s KMeans (its Lloyd iterations and initialisation) and returns
/// a model of this crate, with the inertia recomputed here so both backends report the same
/// quantity. `initial` starts from given centroids (linfa's `Precomputed`). linfa's tolerance
/// is an absolute distance between successive centroid matrices, not scikit-learn's relative
/// one; `tol` is passed through as is, except that 0 (run every iteration) becomes the smallest
/// positive number, since linfa rejects 0.
pub fn fit_with_linfa<F: Float>(
    params: &KMeansValidParams,
    data: ArrayView2<'_, F>,
    initial: Option<Array2<F>>,
) -> Result<KMeans<F>, ClusterError> {
    let p = params.params();
    let init = match (initial, p.init_method().resolve(data.nrows())) {
        (Some(centroids), _) => linfa_clustering::KMeansInit::Precomputed(centroids),
        (None, Init::Auto | Init::KMeansPlusPlus) => linfa_clustering::KMeansInit::KMeansPlusPlus,
        (None, Init::KMeansParallel) => linfa_clustering::KMeansInit::KMeansPara,
        (None, Init::Random) => linfa_clustering::KMeansInit::Random,
        (None, Init::Sample) => return Err(ClusterError::SampleNeedsCustomers),
    };
    let rng = rand_xoshiro::Xoshiro256Plus::seed_from_u64(p.random_seed());
    let dataset = DatasetBase::from(data.to_owned());
    let model = linfa_clustering::KMeans::params_with_rng(p.n_clusters(), rng)
        .n_runs(p.restarts())
        .max_n_iterations(p.max_iterations() as u64)
        .tolerance(
            F::from_f64(p.tolerance().max(f64::from(f32::MIN_POSITIVE)))
                .expect("tolerance converts"),
        )
        .init_method(init)
        .fit(&dataset)
        .map_err(|e| ClusterError::Linfa(e.to_string()))?;
    let centroids = model.centroids().to_owned();
    let mut ours = KMeans::from_centroids(centroids);
    let (_, distances) = ours.predict(data);
    ours.set_inertia(distances.iter().map(|d| wide(*d)).sum());
    Ok(ours)
}
