//! Weighted k-means, clustering quality metrics, and k-nearest-neighbour search — exact, and
//! approximate through an inverted file of k-means cells (the same distance kernels).
//!
//! [`KMeansParams`] → [`KMeansValidParams`] → [`KMeans`], as linfa's `KMeansParams` →
//! `KMeansValidParams` → `KMeans`: settings are checked once, then fitted to the rows of a matrix
//! with optional sample weights (used everywhere, including k-means++). Results are the same for
//! the same data and seed whatever the thread count. The metrics follow scikit-learn's
//! definitions so numbers can be compared with it.

mod compare;
mod config;
mod distance;
mod error;
mod float;
mod hamerly;
mod init;
mod ivf;
mod kernel;
mod kmeans;
mod knn;
mod linfa_api;
mod lloyd;
mod metrics;
mod minibatch;
mod model;
mod parts;
mod profile;
mod scale;
mod silhouette;
mod statistics;

pub use compare::{SettingRun, SettingsGrid};
pub use config::{
    ClusterConfig, ClusterEvent, ClusterOutcome, Clustering, DEFAULT_CLUSTER_COLUMNS, KChoice,
    Missing, Precision, QualityMetrics, cluster_table, cluster_table_watched, complete_mask,
    suggest_k,
};
pub use error::ClusterError;
pub use float::Float;
pub use ivf::IvfIndex;
pub use kernel::Kernel;
pub use kmeans::{
    Algorithm, FitStep, Fitted, Init, Iteration, KMeans, KMeansParams, KMeansValidParams,
    PARALLEL_INIT_FROM,
};
pub use knn::{Neighbours, k_nearest};
pub use linfa_api::fit_with_linfa;
pub use metrics::{adjusted_rand_index, calinski_harabasz, davies_bouldin, inertia};
pub use model::ClusterModel;
pub use parts::{
    ClusteredInParts, DEFAULT_INIT_SAMPLE, KMeansInParts, PartAnswer, PartTask, PreparedPart,
};
pub use profile::{ClusterProfile, ProfileSums, cluster_profiles};
pub use scale::{Scaler, ScalerParams, Scaling, ScalingParameters};
pub use silhouette::{SampledSilhouette, sampled_silhouette, silhouette};
pub use statistics::ColumnStatistics;
