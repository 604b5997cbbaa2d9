//! Clustering settings side by side (`lookalike bench clustering`): every combination of k,
//! initialisation, algorithm, scaling, restarts and precision fitted on one table, each timed
//! over repeats, with its quality and its agreement (adjusted Rand index) with the
//! lowest-inertia fit of the same k and scaling.

use std::collections::BTreeMap;

use lookalike_core::FeatureTable;
use ndarray::Array2;

use crate::{
    Algorithm, ClusterConfig, ClusterError, ClusterOutcome, Init, Precision, Scaler, Scaling,
    adjusted_rand_index,
};

/// The settings to compare: every combination of the listed values; the other settings
/// (columns, iterations, tolerance, seed, batch size, silhouette sample) come from `base`.
#[derive(Debug, Clone)]
pub struct SettingsGrid {
    /// Values of k.
    pub ks: Vec<usize>,
    /// Initialisations (ignored when `initial` is given).
    pub inits: Vec<Init>,
    /// Algorithms.
    pub algorithms: Vec<Algorithm>,
    /// Scalings.
    pub scalings: Vec<Scaling>,
    /// Restart counts.
    pub n_inits: Vec<usize>,
    /// Precisions.
    pub precisions: Vec<Precision>,
    /// Timed fits per setting.
    pub repeats: usize,
    /// The settings not varied.
    pub base: ClusterConfig,
    /// Start every fit from these centroids (in the scaled space) instead of an
    /// initialisation, to compare algorithms from the same start.
    pub initial: Option<Array2<f64>>,
}

/// One setting's results.
#[derive(Debug, Clone)]
pub struct SettingRun {
    /// Clusters.
    pub k: usize,
    /// The setting.
    pub config: ClusterConfig,
    /// The initialisation as reported: its name, or "file" for given centroids.
    pub init: String,
    /// Seconds of each timed fit (the fit alone).
    pub seconds: Vec<f64>,
    /// The last fit.
    pub outcome: ClusterOutcome,
    /// Adjusted Rand index against the lowest-inertia fit with the same k and scaling.
    pub ari_vs_best: f64,
}

impl SettingRun {
    /// Median of the timed fits.
    pub fn median_seconds(&self) -> f64 {
        let mut sorted = self.seconds.clone();
        sorted.sort_by(f64::total_cmp);
        let middle = sorted.len() / 2;
        if sorted.len() % 2 == 1 {
            sorted[middle]
        } else {
            (sorted[middle - 1] + sorted[middle]) / 2.0
        }
    }

    /// Fastest of the timed fits.
    pub fn min_seconds(&self) -> f64 {
        self.seconds.iter().copied().fold(f64::INFINITY, f64::min)
    }
}

impl SettingsGrid {
    /// Settings in the grid.
    pub fn len(&self) -> usize {
        let inits = if self.initial.is_some() {
            1
        } else {
            self.inits.len()
        };
        self.scalings.len()
            * self.ks.len()
            * inits
            * self.algorithms.len()
            * self.n_inits.len()
            * self.precisions.len()
    }

    /// Whether the grid is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Fits every setting on `table` (customers with every clustered value); `done` is called
    /// after each setting with its run and its 1-based position.
    pub fn run(
        &self,
        table: &FeatureTable,
        mut done: impl FnMut(&SettingRun, usize),
    ) -> Result<Vec<SettingRun>, ClusterError> {
        if self.repeats == 0 {
            return Err(ClusterError::ZeroRepeats);
        }
        if self.ks.contains(&0) {
            return Err(ClusterError::ZeroClusters);
        }
        let inits = match self.initial {
            Some(_) => vec![Init::Random],
            None => self.inits.clone(),
        };
        let mut runs: Vec<SettingRun> = Vec::new();
        for scaling in &self.scalings {
            let base = ClusterConfig {
                scaling: *scaling,
                ..self.base.clone()
            };
            let scaler = Scaler::fit(table, &base.scaler_params())?;
            let matrix = scaler.transform(table)?;
            for k in &self.ks {
                for init in &inits {
                    for algorithm in &self.algorithms {
                        for n_init in &self.n_inits {
                            for precision in &self.precisions {
                                let config = ClusterConfig {
                                    init: *init,
                                    algorithm: *algorithm,
                                    n_init: *n_init,
                                    precision: *precision,
                                    ..base.clone()
                                };
                                let run = self.time(&matrix, *k, config)?;
                                runs.push(run);
                                done(runs.last().expect("just pushed"), runs.len());
                            }
                        }
                    }
                }
            }
        }
        // ARI of each run against the lowest-inertia run with the same k and scaling.
        let mut best: BTreeMap<(usize, &str), usize> = BTreeMap::new();
        for (i, run) in runs.iter().enumerate() {
            let entry = best.entry((run.k, run.config.scaling.name())).or_insert(i);
            if run.outcome.inertia < runs[*entry].outcome.inertia {
                *entry = i;
            }
        }
        let aris: Vec<f64> = runs
            .iter()
            .map(|run| {
                let reference = &runs[best[&(run.k, run.config.scaling.name())]];
                adjusted_rand_index(&run.outcome.labels, &reference.outcome.labels)
                    .unwrap_or(f64::NAN)
            })
            .collect();
        for (run, ari) in runs.iter_mut().zip(aris) {
            run.ari_vs_best = ari;
        }
        Ok(runs)
    }

    /// One setting, fitted `repeats` times.
    fn time(
        &self,
        matrix: &Array2<f64>,
        k: usize,
        config: ClusterConfig,
    ) -> Result<SettingRun, ClusterError> {
        let mut seconds = Vec::new();
        let mut last = None;
        for _ in 0..self.repeats {
            let outcome = config
                .fit(matrix, k, self.initial.as_ref())
                .map_err(|source| ClusterError::InSetting {
                    setting: format!(
                        "k = {k}, {} init, {}",
                        config.init.name(),
                        config.algorithm.name()
                    ),
                    source: Box::new(source),
                })?;
            seconds.push(outcome.seconds);
            last = Some(outcome);
        }
        let outcome = last.expect("repeats ≥ 1");
        let init = if self.initial.is_some() {
            "file".to_string()
        } else {
            outcome.init.name().to_string()
        };
        Ok(SettingRun {
            k,
            config,
            init,
            seconds,
            outcome,
            ari_vs_best: f64::NAN,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lookalike_core::CustomerId;

    /// Two well-separated groups: every setting finds them, so each agrees with the best fit.
    #[test]
    fn every_combination_runs_and_agrees_on_separated_groups() {
        let n = 40;
        let values = Array2::from_shape_fn((n, 2), |(i, j)| {
            let group = if i < n / 2 { 0.0 } else { 100.0 };
            group + (i * 7 + j * 3) as f64 % 5.0
        });
        let ids = (0..n)
            .map(|i| CustomerId::from(format!("c{i}").as_str()))
            .collect();
        let table = FeatureTable::new(ids, vec!["a".into(), "b".into()], values).unwrap();
        let grid = SettingsGrid {
            ks: vec![2, 3],
            inits: vec![Init::KMeansPlusPlus, Init::Random],
            algorithms: vec![Algorithm::Lloyd, Algorithm::Hamerly],
            scalings: vec![Scaling::Standard],
            n_inits: vec![1],
            precisions: vec![Precision::F64, Precision::F32],
            repeats: 2,
            base: ClusterConfig {
                columns: vec!["a".into(), "b".into()],
                silhouette_sample: 0,
                ..ClusterConfig::default()
            },
            initial: None,
        };
        let mut seen = Vec::new();
        let runs = grid.run(&table, |_, position| seen.push(position)).unwrap();
        assert_eq!(runs.len(), grid.len());
        assert_eq!(seen, (1..=16).collect::<Vec<_>>());
        for run in runs.iter().filter(|r| r.k == 2) {
            assert_eq!(run.seconds.len(), 2);
            assert!((run.ari_vs_best - 1.0).abs() < 1e-12, "{}", run.ari_vs_best);
        }
        let zero = SettingsGrid { repeats: 0, ..grid };
        assert_eq!(
            zero.run(&table, |_, _| {}).unwrap_err(),
            ClusterError::ZeroRepeats
        );
    }
}
