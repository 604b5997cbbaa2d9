//! The pipeline file of `lookalike train` (TOML; every option is documented in
//! `data/pipeline.example.toml`), turned into the arguments of the subcommands it runs, so that
//! a trained stage is exactly what the subcommand would have made.
//!
//! Paths in the file are relative to the file's folder.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::ValueEnum;
use serde::{Deserialize, Serialize};

use crate::audience_input::SeedArgs;
use crate::clustering::{Algo, InitArg, Precision, ScalingArg};
use crate::commands::cluster::{self, Missing};
use crate::commands::expand::{self, IndexArg, RankBy, ScorerArg};
use crate::commands::features::{self, Format, InputArgs, OnError, Unit};
use crate::commands::segment;
use crate::commands::value::{FitSettings, HorizonArgs, MonthArg};
use lookalike_value::PurchaseKind;

/// The whole file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Pipeline {
    pub input: InputSection,
    #[serde(default)]
    pub features: FeaturesSection,
    pub segments: Option<SegmentsSection>,
    pub clusters: Option<ClustersSection>,
    pub value: Option<ValueSection>,
    #[serde(default, rename = "audience")]
    pub audiences: Vec<AudienceSection>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct InputSection {
    pub transactions: PathBuf,
    pub events: Option<PathBuf>,
    pub customers: Option<PathBuf>,
    pub format: Option<String>,
    pub delimiter: Option<String>,
    /// FIELD (or KIND.FIELD) = column name in the file.
    #[serde(default)]
    pub columns: BTreeMap<String, String>,
    #[serde(default = "fail")]
    pub on_error: String,
}

fn fail() -> String {
    "fail".into()
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FeaturesSection {
    pub as_of: Option<String>,
    #[serde(default = "weeks")]
    pub time_unit: String,
    #[serde(default = "top_levels")]
    pub top_levels: usize,
}

fn weeks() -> String {
    "weeks".into()
}
fn top_levels() -> usize {
    8
}

impl Default for FeaturesSection {
    fn default() -> Self {
        FeaturesSection {
            as_of: None,
            time_unit: weeks(),
            top_levels: top_levels(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentsSection {
    pub rules: Option<PathBuf>,
    #[serde(default = "bins")]
    pub bins: usize,
    #[serde(default = "total_spend")]
    pub value_column: String,
    pub require_consent: Option<String>,
    #[serde(default = "two")]
    pub lapsing_factor: f64,
    #[serde(default = "four")]
    pub lost_factor: f64,
    #[serde(default = "five")]
    pub loyal_purchase_days: f64,
    #[serde(default = "ninety")]
    pub single_purchase_gap: f64,
    #[serde(default = "min_size")]
    pub min_size: usize,
}

fn bins() -> usize {
    5
}
fn total_spend() -> String {
    "total_spend".into()
}
fn two() -> f64 {
    2.0
}
fn four() -> f64 {
    4.0
}
fn five() -> f64 {
    5.0
}
fn ninety() -> f64 {
    90.0
}
fn min_size() -> usize {
    1_000
}

/// `k = 8` or `k = "2..8"`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(untagged)]
pub enum KSpec {
    Number(usize),
    Text(String),
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClustersSection {
    pub k: KSpec,
    #[serde(default)]
    pub columns: Vec<String>,
    #[serde(default = "standard")]
    pub scaling: String,
    #[serde(default)]
    pub log1p: Vec<String>,
    #[serde(default)]
    pub weights: BTreeMap<String, f64>,
    #[serde(default = "auto")]
    pub init: String,
    #[serde(default = "hamerly")]
    pub algo: String,
    #[serde(default = "three")]
    pub n_init: usize,
    #[serde(default = "max_iter")]
    pub max_iter: usize,
    #[serde(default = "tol")]
    pub tol: f64,
    #[serde(default)]
    pub seed: u64,
    #[serde(default = "batch_size")]
    pub batch_size: usize,
    #[serde(default = "f64_name")]
    pub precision: String,
    #[serde(default = "silhouette_sample")]
    pub silhouette_sample: usize,
}

fn standard() -> String {
    "standard".into()
}
fn auto() -> String {
    "auto".into()
}
fn hamerly() -> String {
    "hamerly".into()
}
fn three() -> usize {
    3
}
fn max_iter() -> usize {
    300
}
fn tol() -> f64 {
    1e-4
}
fn batch_size() -> usize {
    4096
}
fn f64_name() -> String {
    "f64".into()
}
fn silhouette_sample() -> usize {
    10_000
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ValueSection {
    #[serde(default = "bgnbd")]
    pub model: String,
    #[serde(default)]
    pub penalty: f64,
    #[serde(default = "twelve")]
    pub horizon: f64,
    #[serde(default = "months")]
    pub unit: String,
    #[serde(default = "one_percent")]
    pub discount: f64,
    #[serde(default = "calendar")]
    pub month: String,
}

fn bgnbd() -> String {
    "bgnbd".into()
}
fn twelve() -> f64 {
    12.0
}
fn months() -> String {
    "months".into()
}
fn one_percent() -> f64 {
    0.01
}
fn calendar() -> String {
    "calendar".into()
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AudienceSection {
    pub name: String,
    pub seeds: Option<PathBuf>,
    pub seed_rule: Option<String>,
    #[serde(default)]
    pub columns: Vec<String>,
    pub log1p: Option<Vec<String>>,
    #[serde(default = "standard")]
    pub scaling: String,
    #[serde(default = "sizes")]
    pub sizes: Vec<String>,
    #[serde(default = "classifier")]
    pub scorer: String,
    #[serde(default = "ten")]
    pub k: usize,
    #[serde(default = "auto")]
    pub index: String,
    #[serde(default)]
    pub representatives: usize,
    #[serde(default = "no_holdout")]
    pub holdout: String,
    #[serde(default)]
    pub salt: u64,
    #[serde(default = "hundred")]
    pub min_seeds: usize,
    #[serde(default)]
    pub seed: u64,
    pub require_consent: Option<String>,
}

fn sizes() -> Vec<String> {
    ["1%", "2%", "5%", "10%"].map(String::from).to_vec()
}
fn classifier() -> String {
    "classifier".into()
}
fn ten() -> usize {
    10
}
fn no_holdout() -> String {
    "0%".into()
}
fn hundred() -> usize {
    100
}

/// A choice among a clap value enum's names, or an error listing them.
pub fn choice<T: ValueEnum>(field: &str, text: &str) -> anyhow::Result<T> {
    T::from_str(text, false).map_err(|_| {
        let names: Vec<String> = T::value_variants()
            .iter()
            .filter_map(|v| v.to_possible_value())
            .map(|v| v.get_name().to_string())
            .collect();
        anyhow::anyhow!("{field} = {text:?}: expected one of {}", names.join(", "))
    })
}

/// Audience names become output column prefixes and file names.
fn check_name(name: &str) -> anyhow::Result<()> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        bail!(
            "[[audience]] name = {name:?}: use letters, digits, '_' or '-' (it names output columns and files)"
        );
    }
    Ok(())
}

impl Pipeline {
    /// Reads and checks the file; relative paths are made relative to its folder.
    pub fn read(path: &Path) -> anyhow::Result<Pipeline> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the pipeline file {}", path.display()))?;
        let mut pipeline: Pipeline = toml::from_str(&text)
            .with_context(|| format!("in the pipeline file {}", path.display()))?;
        let folder = path.parent().unwrap_or(Path::new("."));
        let anchor = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = folder.join(&*p);
            }
        };
        anchor(&mut pipeline.input.transactions);
        pipeline.input.events.as_mut().map(anchor);
        pipeline.input.customers.as_mut().map(anchor);
        if let Some(segments) = &mut pipeline.segments {
            segments.rules.as_mut().map(anchor);
        }
        let mut names = std::collections::BTreeSet::new();
        for audience in &mut pipeline.audiences {
            audience.seeds.as_mut().map(anchor);
            check_name(&audience.name)?;
            if !names.insert(audience.name.clone()) {
                bail!(
                    "in the pipeline file {}: the audience name {:?} is used twice",
                    path.display(),
                    audience.name
                );
            }
            if audience.seeds.is_some() == audience.seed_rule.is_some() {
                bail!(
                    "[[audience]] {:?}: give exactly one of seeds (a file) or seed_rule",
                    audience.name
                );
            }
        }
        pipeline
            .check_choices()
            .with_context(|| format!("in the pipeline file {}", path.display()))?;
        Ok(pipeline)
    }

    /// Every named choice parses, before any stage runs.
    fn check_choices(&self) -> anyhow::Result<()> {
        self.feature_args(Path::new("features.parquet"))?;
        if let Some(clusters) = &self.clusters {
            self.cluster_args(clusters, Path::new("features.parquet"), Path::new("c"))?;
        }
        if let Some(value) = &self.value {
            value_settings(value)?;
        }
        for audience in &self.audiences {
            let scorer: ScorerArg = choice("scorer", &audience.scorer)?;
            if scorer == ScorerArg::Ensemble {
                bail!(
                    "[[audience]] {:?}: scorer = \"ensemble\" ranks customers against each other, so a trained model cannot score one customer alone; use classifier, knn or centroids",
                    audience.name
                );
            }
        }
        Ok(())
    }

    /// `lookalike features` as configured, writing `out`.
    pub fn feature_args(&self, out: &Path) -> anyhow::Result<features::Args> {
        let input = &self.input;
        Ok(features::Args {
            input: InputArgs {
                transactions: input.transactions.clone(),
                events: input.events.clone(),
                customers: input.customers.clone(),
                format: input
                    .format
                    .as_deref()
                    .map(|f| choice::<Format>("input.format", f))
                    .transpose()?,
                delimiter: input.delimiter.clone(),
                columns: input
                    .columns
                    .iter()
                    .map(|(field, name)| format!("{field}={name}"))
                    .collect(),
                on_error: choice::<OnError>("input.on_error", &input.on_error)?,
            },
            as_of: self.features.as_of.clone(),
            holdout_end: None,
            time_unit: choice::<Unit>("features.time_unit", &self.features.time_unit)?,
            top_levels: self.features.top_levels,
            out: out.to_path_buf(),
            out_format: None,
        })
    }

    /// `lookalike segment` as configured.
    pub fn segment_args(
        section: &SegmentsSection,
        features: &Path,
        out: &Path,
        report: &Path,
    ) -> segment::Args {
        segment::Args {
            features: features.to_path_buf(),
            rules: section.rules.clone(),
            bins: section.bins,
            out: out.to_path_buf(),
            report: Some(report.to_path_buf()),
            plot: Some(report.with_file_name("segments.svg")),
            min_size: section.min_size,
            require_consent: section.require_consent.clone(),
            value_column: section.value_column.clone(),
            lapsing_factor: section.lapsing_factor,
            lost_factor: section.lost_factor,
            loyal_purchase_days: section.loyal_purchase_days,
            single_purchase_gap: section.single_purchase_gap,
        }
    }

    /// `lookalike cluster` as configured, writing into `out`.
    pub fn cluster_args(
        &self,
        section: &ClustersSection,
        features: &Path,
        out: &Path,
    ) -> anyhow::Result<cluster::Args> {
        Ok(cluster::Args {
            features: features.to_path_buf(),
            k: match &section.k {
                KSpec::Number(k) => k.to_string(),
                KSpec::Text(text) => text.clone(),
            },
            columns: section.columns.clone(),
            scaling: choice::<ScalingArg>("clusters.scaling", &section.scaling)?,
            log1p: section.log1p.clone(),
            weights: section
                .weights
                .iter()
                .map(|(column, weight)| format!("{column}={weight}"))
                .collect(),
            init: choice::<InitArg>("clusters.init", &section.init)?,
            algo: choice::<Algo>("clusters.algo", &section.algo)?,
            n_init: section.n_init,
            max_iter: section.max_iter,
            tol: section.tol,
            seed: section.seed,
            batch_size: section.batch_size,
            precision: choice::<Precision>("clusters.precision", &section.precision)?,
            silhouette_sample: section.silhouette_sample,
            missing: Missing::Skip,
            assignments: "assignments.csv".into(),
            out: out.to_path_buf(),
        })
    }

    /// `lookalike expand` as configured.
    pub fn expand_args(
        section: &AudienceSection,
        features: &Path,
        segments: Option<&Path>,
        value_model: Option<&Path>,
        value_horizon: Option<&lookalike_value::HorizonSpec>,
        out: &Path,
    ) -> anyhow::Result<expand::Args> {
        Ok(expand::Args {
            input: SeedArgs {
                features: features.to_path_buf(),
                seeds: section.seeds.clone(),
                seed_rule: section.seed_rule.clone(),
                scope: None,
                segments: segments.map(Path::to_path_buf),
                seed_value: None,
                columns: section.columns.clone(),
                log1p: section.log1p.clone(),
                scaling: choice::<ScalingArg>("audience.scaling", &section.scaling)?,
                exclude: Vec::new(),
                require_consent: section.require_consent.clone(),
            },
            size: section.sizes.clone(),
            scorer: Some(choice::<ScorerArg>("audience.scorer", &section.scorer)?),
            k: section.k,
            index: choice::<IndexArg>("audience.index", &section.index)?,
            representatives: section.representatives,
            holdout: section.holdout.clone(),
            salt: section.salt,
            min_seeds: section.min_seeds,
            seed: section.seed,
            value_model: value_model.map(Path::to_path_buf),
            value_horizon: value_horizon.copied().unwrap_or_default(),
            rank_by: RankBy::Similarity,
            plot: Some(out.with_extension("svg")),
            out: out.to_path_buf(),
        })
    }
}

/// The value section as fit settings and a horizon.
pub fn value_settings(section: &ValueSection) -> anyhow::Result<(FitSettings, HorizonArgs)> {
    Ok((
        FitSettings {
            model: section
                .model
                .parse::<PurchaseKind>()
                .map_err(|e| anyhow::anyhow!("value.model: {e}"))?,
            penalty: section.penalty,
        },
        HorizonArgs {
            horizon: section.horizon,
            unit: section.unit.clone(),
            discount: section.discount,
            month: choice::<MonthArg>("value.month", &section.month)?,
        },
    ))
}
