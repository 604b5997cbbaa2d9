//! How similar each candidate is to the seeds: every scorer gives a score in [0, 1] (1 = as
//! close to the seeds as seeds are to each other, or closer) and the candidate's nearest seed.
//!
//! Distances are Euclidean in the scaled feature space. Scores use a Gaussian kernel
//! K(d) = exp(−d² / 2h²) whose bandwidth h is measured on the seeds themselves (the median
//! distance of a seed to its own neighbours or representative), so a score of 0.6 means the
//! same thing whatever the units and dimension of the features.

use lookalike_cluster::{IvfIndex, KMeansParams, k_nearest};
use ndarray::{Array2, ArrayView2, Axis};
use rayon::prelude::*;

use crate::error::AudienceError;
use crate::saved::{SavedIndex, SavedScorer};

/// What a scorer says about each candidate.
#[derive(Debug, Clone, PartialEq)]
pub struct Scores {
    /// Similarity to the seeds, in [0, 1].
    pub score: Vec<f64>,
    /// What candidates are ranked by, higher first: the score itself, except where a scorer
    /// caps its score (the classifier's calibrated probability at 1) and keeps the uncapped
    /// value here so that capped candidates stay in order.
    pub strength: Vec<f64>,
    /// Index (into the seed list) of the nearest seed, when the scorer found it on the way
    /// (kNN); otherwise it is searched for the chosen customers only.
    pub nearest_seed: Option<Vec<usize>>,
}

impl Scores {
    /// Scores that are their own ranking key.
    pub fn new(score: Vec<f64>, nearest_seed: Option<Vec<usize>>) -> Scores {
        Scores {
            strength: score.clone(),
            score,
            nearest_seed,
        }
    }

    fn append(&mut self, more: Scores) {
        self.score.extend(more.score);
        self.strength.extend(more.strength);
        match (&mut self.nearest_seed, more.nearest_seed) {
            (Some(mine), Some(theirs)) => mine.extend(theirs),
            _ => self.nearest_seed = None,
        }
    }
}

/// Candidates scored per call of [`Scorer::score`] by [`Scorer::score_rows`]: the rows are
/// copied out of the data a block at a time, so scoring ten million customers never holds a
/// second copy of their features.
const SCORE_BLOCK: usize = 65_536;

/// A fitted way of scoring candidates against a seed set.
pub trait Scorer: Send + Sync {
    /// The scorer's name in reports.
    fn name(&self) -> &'static str;
    /// Scores of the rows of `candidates` (same columns as the seeds).
    fn score(&self, candidates: ArrayView2<'_, f64>) -> Result<Scores, AudienceError>;

    /// The fit as plain data, to score with later ([`SavedScorer::restore`]); none for scorers
    /// that rank candidates against each other (the ensemble) and so cannot score one
    /// customer alone.
    fn saved(&self) -> Option<SavedScorer> {
        None
    }

    /// How the scorer was chosen (`auto`) or weighted (the ensemble), when it was.
    fn selection(&self) -> Option<crate::select::Selection> {
        None
    }

    /// Scores of the rows `rows` of `data`, block by block.
    fn score_rows(
        &self,
        data: ArrayView2<'_, f64>,
        rows: &[usize],
    ) -> Result<Scores, AudienceError> {
        let mut all = Scores::new(Vec::with_capacity(rows.len()), Some(Vec::new()));
        for block in rows.chunks(SCORE_BLOCK) {
            all.append(self.score(data.select(Axis(0), block).view())?);
        }
        Ok(all)
    }
}

/// Value weights in [0, 1]: each value over the 95th percentile of the values, capped at 1
/// (a single huge value would otherwise make every other seed count for nothing); all 1
/// without values.
pub(crate) fn relative_values(
    values: Option<&[f64]>,
    seeds: usize,
) -> Result<Vec<f64>, AudienceError> {
    let Some(values) = values else {
        return Ok(vec![1.0; seeds]);
    };
    if let Some((row, value)) = values
        .iter()
        .enumerate()
        .find(|(_, v)| !(**v >= 0.0 && v.is_finite()))
    {
        return Err(AudienceError::BadSeedValue { row, value: *value });
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let high = sorted[((sorted.len() - 1) as f64 * 0.95).round() as usize];
    let scale = if high > 0.0 {
        high
    } else {
        sorted[sorted.len() - 1]
    };
    if scale == 0.0 {
        return Err(AudienceError::ZeroSeedValues);
    }
    Ok(values.iter().map(|v| (v / scale).min(1.0)).collect())
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// exp(−d²/2h²), with a zero bandwidth (identical seeds) meaning "only exact matches".
fn kernel(distance: f64, bandwidth: f64) -> f64 {
    if bandwidth > 0.0 {
        (-(distance * distance) / (2.0 * bandwidth * bandwidth)).exp()
    } else if distance == 0.0 {
        1.0
    } else {
        0.0
    }
}

fn narrow(data: ArrayView2<'_, f64>) -> Array2<f32> {
    data.mapv(|v| v as f32)
}

/// kNN: a candidate's score is the mean kernel similarity to its k nearest seeds, each
/// weighted by its relative value when seeds carry one (value-based lookalikes; values are
/// divided by their 95th percentile and capped at 1). The search is
/// exact, in `f32` as FAISS's `IndexFlatL2` does (the k found are re-measured exactly).
#[derive(Debug, Clone)]
pub struct KnnScorer {
    seeds: Array2<f32>,
    weights: Vec<f64>,
    k: usize,
    bandwidth: f64,
    /// The approximate index and how it was built, when the seeds are many.
    index: Option<(IvfIndex<f32>, SavedIndex)>,
}

/// Seeds whose distances measure the kernel bandwidth (evenly spaced through the seed list):
/// the median of a few thousand is as good as that of millions, and costs a thousandth.
const BANDWIDTH_SAMPLE: usize = 5_000;

impl KnnScorer {
    /// Prepares the seeds (rows of `seeds`, optional non-negative `values`), with `k`
    /// neighbours (at most the number of seeds).
    ///
    /// ```
    /// use lookalike_audience::{KnnScorer, Scorer};
    /// let seeds = ndarray::array![[0.0, 0.0], [0.1, 0.0], [0.0, 0.1]];
    /// let scorer = KnnScorer::fit(seeds.view(), None, 2).unwrap();
    /// let scores = scorer.score(ndarray::array![[0.05, 0.05], [5.0, 5.0]].view()).unwrap();
    /// assert!(scores.score[0] > 0.5 && scores.score[1] < 1e-6);
    /// ```
    pub fn fit(
        seeds: ArrayView2<'_, f64>,
        values: Option<&[f64]>,
        k: usize,
    ) -> Result<KnnScorer, AudienceError> {
        if k == 0 {
            return Err(AudienceError::ZeroNeighbours);
        }
        if seeds.nrows() == 0 {
            return Err(AudienceError::NoSeeds);
        }
        let weights = relative_values(values, seeds.nrows())?;
        let k = k.min(seeds.nrows());
        let narrow_seeds = narrow(seeds);
        // Bandwidth: the median distance from a seed to its k-th nearest other seed.
        let bandwidth = if seeds.nrows() > 1 {
            let own = (k + 1).min(seeds.nrows());
            let step = seeds.nrows().div_ceil(BANDWIDTH_SAMPLE);
            let sample: Vec<usize> = (0..seeds.nrows()).step_by(step).collect();
            let queries = narrow_seeds.select(Axis(0), &sample);
            let found = k_nearest(queries.view(), narrow_seeds.view(), own)?;
            median(found.distances.column(own - 1).to_vec())
        } else {
            0.0
        };
        Ok(KnnScorer {
            seeds: narrow_seeds,
            weights,
            k,
            bandwidth,
            index: None,
        })
    }

    /// Searches the seeds through an inverted-file index of `lists` cells, probing `probes`
    /// of them per candidate (approximate; see `lookalike_cluster::IvfIndex`), built with
    /// random `seed`. For seed sets too large to scan exactly for every candidate.
    ///
    /// ```
    /// use lookalike_audience::{KnnScorer, Scorer};
    /// let seeds = ndarray::Array2::from_shape_fn((3000, 3), |(i, j)| ((i * (j + 5)) % 31) as f64 * 0.1);
    /// let exact = KnnScorer::fit(seeds.view(), None, 5).unwrap();
    /// let approximate = KnnScorer::fit(seeds.view(), None, 5).unwrap().with_index(16, 16, 1).unwrap();
    /// let candidates = ndarray::array![[0.5, 1.0, 2.0], [9.0, 9.0, 9.0]];
    /// // Probing every cell gives the exact scores.
    /// assert_eq!(exact.score(candidates.view()).unwrap(), approximate.score(candidates.view()).unwrap());
    /// ```
    pub fn with_index(
        mut self,
        lists: usize,
        probes: usize,
        seed: u64,
    ) -> Result<KnnScorer, AudienceError> {
        let lists = lists.clamp(1, self.seeds.nrows());
        let index = IvfIndex::build(self.seeds.view(), lists, seed)?;
        let settings = SavedIndex {
            lists,
            probes: probes.max(1),
            seed,
        };
        self.index = Some((index, settings));
        Ok(self)
    }

    /// The scorer of a saved fit ([`SavedScorer`]).
    pub(crate) fn from_parts(
        seeds: ArrayView2<'_, f64>,
        weights: Vec<f64>,
        k: usize,
        bandwidth: f64,
    ) -> KnnScorer {
        KnnScorer {
            seeds: narrow(seeds),
            weights,
            k: k.clamp(1, seeds.nrows().max(1)),
            bandwidth,
            index: None,
        }
    }

    /// The kernel bandwidth measured on the seeds.
    pub fn bandwidth(&self) -> f64 {
        self.bandwidth
    }
}

impl Scorer for KnnScorer {
    fn name(&self) -> &'static str {
        "knn"
    }

    fn saved(&self) -> Option<SavedScorer> {
        Some(SavedScorer::Knn {
            k: self.k,
            bandwidth: self.bandwidth,
            weights: self.weights.clone(),
            index: self.index.as_ref().map(|(_, settings)| *settings),
        })
    }

    fn score(&self, candidates: ArrayView2<'_, f64>) -> Result<Scores, AudienceError> {
        let candidates = narrow(candidates);
        let found = match &self.index {
            Some((index, settings)) => index.search(candidates.view(), self.k, settings.probes)?,
            None => k_nearest(candidates.view(), self.seeds.view(), self.k)?,
        };
        let score = found
            .distances
            .axis_iter(Axis(0))
            .into_par_iter()
            .zip(found.indices.axis_iter(Axis(0)))
            .map(|(distances, indices)| {
                let total: f64 = distances
                    .iter()
                    .zip(indices)
                    .map(|(d, i)| self.weights[*i as usize] * kernel(*d, self.bandwidth))
                    .sum();
                total / self.k as f64
            })
            .collect();
        let nearest_seed = found
            .indices
            .column(0)
            .iter()
            .map(|i| *i as usize)
            .collect();
        Ok(Scores::new(score, Some(nearest_seed)))
    }
}

/// Multi-centroid: the seeds are clustered with k-means into m representatives (weighted by
/// value when given) and a candidate is scored by its best representative — the seed
/// clustering of WeChat's RALM and Pinterest's audience expansion, instead of one averaged
/// centroid that would sit between distinct groups of seeds.
#[derive(Debug, Clone)]
pub struct CentroidScorer {
    representatives: Array2<f32>,
    /// Relative value of each representative (mean seed value over the largest; 1 without).
    weights: Vec<f64>,
    bandwidth: f64,
}

impl CentroidScorer {
    /// Clusters the seeds into `representatives` groups (at most the number of distinct seeds)
    /// with k-means++ and the given random `seed`.
    ///
    /// ```
    /// use lookalike_audience::{CentroidScorer, Scorer};
    /// let seeds = ndarray::array![[0.0, 0.0], [0.2, 0.0], [9.0, 9.0], [9.2, 9.0]];
    /// let scorer = CentroidScorer::fit(seeds.view(), None, 2, 7).unwrap();
    /// let scores = scorer.score(ndarray::array![[9.1, 9.0], [4.5, 4.5]].view()).unwrap();
    /// assert!(scores.score[0] > 0.5 && scores.score[1] < 1e-6);
    /// ```
    pub fn fit(
        seeds: ArrayView2<'_, f64>,
        values: Option<&[f64]>,
        representatives: usize,
        seed: u64,
    ) -> Result<CentroidScorer, AudienceError> {
        if seeds.nrows() == 0 {
            return Err(AudienceError::NoSeeds);
        }
        let relative = relative_values(values, seeds.nrows())?;
        let distinct = {
            let mut rows: Vec<Vec<u64>> = seeds
                .rows()
                .into_iter()
                .map(|r| r.iter().map(|v| v.to_bits()).collect())
                .collect();
            rows.sort();
            rows.dedup();
            rows.len()
        };
        let m = representatives.clamp(1, distinct);
        // Weighted k-means needs positive weights: a zero-value seed still shapes the groups a
        // little.
        let weights = ndarray::Array1::from_iter(relative.iter().map(|w| w.max(1e-6)));
        let fitted = KMeansParams::new(m)
            .seed(seed)
            .n_init(3)
            .validate()?
            .fit_predict(seeds, values.map(|_| weights.view()))?;
        let mut value_sum = vec![0.0; m];
        let mut count = vec![0.0; m];
        for (label, w) in fitted.labels.iter().zip(&relative) {
            value_sum[*label] += w;
            count[*label] += 1.0;
        }
        let means: Vec<f64> = value_sum
            .iter()
            .zip(&count)
            .map(|(s, n)| if *n > 0.0 { s / n } else { 0.0 })
            .collect();
        let top = means
            .iter()
            .copied()
            .fold(0.0, f64::max)
            .max(f64::MIN_POSITIVE);
        let bandwidth = median(fitted.distances.iter().map(|d| d.sqrt()).collect());
        Ok(CentroidScorer {
            representatives: narrow(fitted.model.centroids().view()),
            weights: means.iter().map(|m| m / top).collect(),
            bandwidth,
        })
    }

    /// The representatives (m × columns, scaled space).
    pub fn representatives(&self) -> &Array2<f32> {
        &self.representatives
    }

    /// The scorer of a saved fit ([`SavedScorer`]).
    pub(crate) fn from_parts(
        representatives: Array2<f32>,
        weights: Vec<f64>,
        bandwidth: f64,
    ) -> CentroidScorer {
        CentroidScorer {
            representatives,
            weights,
            bandwidth,
        }
    }
}

impl Scorer for CentroidScorer {
    fn name(&self) -> &'static str {
        "centroids"
    }

    fn saved(&self) -> Option<SavedScorer> {
        Some(SavedScorer::Centroids {
            representatives: self
                .representatives
                .rows()
                .into_iter()
                .map(|r| r.to_vec())
                .collect(),
            weights: self.weights.clone(),
            bandwidth: self.bandwidth,
        })
    }

    fn score(&self, candidates: ArrayView2<'_, f64>) -> Result<Scores, AudienceError> {
        let narrow_candidates = narrow(candidates);
        let best = k_nearest(narrow_candidates.view(), self.representatives.view(), 1)?;
        let score: Vec<f64> = best
            .distances
            .column(0)
            .iter()
            .zip(best.indices.column(0))
            .map(|(d, c)| self.weights[*c as usize] * kernel(*d, self.bandwidth))
            .collect();
        Ok(Scores::new(score, None))
    }
}
