//! The pipeline file of `lookalike train` (TOML; every option is documented in
//! `data/pipeline.example.toml`), typed with the library's own choices, so that a value that
//! does not name a known choice is refused when the file is read, naming the field.
//!
//! Paths in the file are relative to the file's folder.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use lookalike_audience::{IndexChoice, ScorerKind, TierSize, check_audience_name};
use lookalike_cluster::{ClusterConfig, Scaling};
use lookalike_core::{ColumnMapping, InputKind, Progress, TimeUnit};
use lookalike_features::{
    Extraction, FeatureInputs, FeatureParams, FileFormat, InputFile, LogReading, MissingCustomer,
    OnBadRow, extract, parse_date,
};
use lookalike_value::{HorizonSpec, HorizonUnit, MonthLength, PurchaseKind};
use serde::{Deserialize, Serialize};

use crate::PipelineError;

/// The whole file.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineSpec {
    /// The logs.
    pub input: InputSpec,
    /// Feature extraction.
    #[serde(default)]
    pub features: FeatureSpec,
    /// RFM segments, lifecycle and rule segments.
    pub segments: Option<SegmentSpec>,
    /// k-means clusters.
    pub clusters: Option<ClusterConfig>,
    /// Purchase and spend models, CLV.
    pub value: Option<ValueSpec>,
    /// Lookalike audiences (`[[audience]]`).
    #[serde(default, rename = "audience")]
    pub audiences: Vec<AudienceSpec>,
}

/// `[input]`: the logs and how to read them.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct InputSpec {
    /// Transaction log (CSV or Parquet, a file or a dataset folder).
    pub transactions: PathBuf,
    /// Event log.
    pub events: Option<PathBuf>,
    /// Customer attributes.
    pub customers: Option<PathBuf>,
    /// Format, when the extension does not tell.
    pub format: Option<FileFormat>,
    /// CSV delimiter (`,` `;` `|` or `tab`); detected when not given.
    pub delimiter: Option<String>,
    /// FIELD (or KIND.FIELD) = column name in the file.
    #[serde(default)]
    pub columns: BTreeMap<String, String>,
    /// What to do with an unreadable row.
    #[serde(default)]
    pub on_error: OnBadRow,
    /// Lines without a customer id (guest checkouts): `fail` or `skip` (counted apart).
    #[serde(default)]
    pub missing_customer: MissingCustomer,
    /// strftime format of text timestamps (`"%m/%d/%Y %H:%M"`); default: ISO, yyyymmdd, unix.
    #[serde(default)]
    pub date_format: Option<String>,
    /// Transaction-log columns made customer attributes (the value on most of their lines).
    #[serde(default)]
    pub attributes: Vec<String>,
}

/// A share or nothing (null, as the manifest writes an absent one).
fn optional_share<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<f64>, D::Error> {
    #[derive(Deserialize)]
    struct Share(#[serde(deserialize_with = "share")] f64);
    Ok(Option::<Share>::deserialize(deserializer)?.map(|s| s.0))
}

impl InputSpec {
    /// How the logs are read beyond their columns.
    pub fn reading(&self) -> LogReading {
        LogReading {
            missing_customer: self.missing_customer,
            date_format: self.date_format.clone(),
            attributes: self.attributes.clone(),
        }
    }
}

/// `[features]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureSpec {
    /// Only events strictly before this date count (default: the day after the last one).
    pub as_of: Option<String>,
    /// Unit of recency and T.
    #[serde(default)]
    pub time_unit: TimeUnit,
    /// Most frequent levels of a categorical column kept as their own columns.
    #[serde(default = "top_levels")]
    pub top_levels: usize,
}

fn top_levels() -> usize {
    8
}

impl Default for FeatureSpec {
    fn default() -> Self {
        FeatureSpec {
            as_of: None,
            time_unit: TimeUnit::Weeks,
            top_levels: top_levels(),
        }
    }
}

/// `[segments]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentSpec {
    /// TOML file of `[[segment]]` rules.
    pub rules: Option<PathBuf>,
    /// Score bins (5 = quintiles).
    #[serde(default = "bins")]
    pub bins: usize,
    /// Column that ranks buyers into value tiers.
    #[serde(default = "total_spend")]
    pub value_column: String,
    /// Customers whose column is not 1 are in no segment.
    pub require_consent: Option<String>,
    /// Lifecycle: lapsing after this many usual gaps.
    #[serde(default = "two")]
    pub lapsing_factor: f64,
    /// Lifecycle: lost after this many usual gaps.
    #[serde(default = "four")]
    pub lost_factor: f64,
    /// Lifecycle: purchase days from which a customer is loyal.
    #[serde(default = "five")]
    pub loyal_purchase_days: f64,
    /// Lifecycle: the usual gap of a one-purchase customer.
    #[serde(default = "ninety")]
    pub single_purchase_gap: f64,
    /// Segments with fewer customers are flagged as too small to test.
    #[serde(default = "min_size")]
    pub min_size: usize,
    /// Share of each segment a test would hold out as control ("10%" or 0.1).
    #[serde(default = "tenth", deserialize_with = "share")]
    pub control_share: f64,
    /// Every segment's baseline conversion ("3%"); without it, each segment's share of
    /// customers who ordered in the last 30 days.
    #[serde(default, deserialize_with = "optional_share")]
    pub baseline: Option<f64>,
    /// The relative lift a campaign hopes for ("20%"): the control group it needs is reported.
    #[serde(default = "fifth", deserialize_with = "share")]
    pub target_lift: f64,
    /// Segments where a test detects no lift below this ("50%") are too small to test.
    #[serde(default = "half", deserialize_with = "share")]
    pub max_detectable: f64,
}

impl SegmentSpec {
    /// The report's test checks: the minimum size and the power analysis' plan (80% power,
    /// α = 0.05).
    pub fn test_checks(&self) -> lookalike_rfm::TestChecks {
        lookalike_rfm::TestChecks {
            min_size: self.min_size,
            plan: lookalike_measure::TestPlan {
                control_share: self.control_share,
                target_lift: self.target_lift,
                max_detectable: self.max_detectable,
                ..Default::default()
            },
            baseline: self.baseline,
        }
    }
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
fn tenth() -> f64 {
    0.1
}
fn fifth() -> f64 {
    0.2
}
fn half() -> f64 {
    0.5
}

/// `[value]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ValueSpec {
    /// Purchase model.
    #[serde(default = "bgnbd")]
    pub model: PurchaseKind,
    /// L2 penalty on the log-parameters.
    #[serde(default)]
    pub penalty: f64,
    /// CLV horizon.
    #[serde(default = "twelve")]
    pub horizon: f64,
    /// Unit of the horizon.
    #[serde(default = "months")]
    pub unit: HorizonUnit,
    /// Discount rate per month.
    #[serde(default = "one_percent")]
    pub discount: f64,
    /// Month length of CLV's monthly steps.
    #[serde(default)]
    pub month: MonthLength,
}

fn bgnbd() -> PurchaseKind {
    PurchaseKind::Bgnbd
}
fn twelve() -> f64 {
    12.0
}
fn months() -> HorizonUnit {
    HorizonUnit::Months
}
fn one_percent() -> f64 {
    0.01
}

impl ValueSpec {
    /// The CLV horizon.
    pub fn horizon(&self) -> HorizonSpec {
        HorizonSpec {
            horizon: self.horizon,
            horizon_unit: self.unit,
            discount: self.discount,
            month: self.month,
        }
    }
}

/// `[[audience]]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AudienceSpec {
    /// Name: output column prefix and file name.
    pub name: String,
    /// Seed list (a `customer_id` column); exactly one of this and `seed_rule`.
    pub seeds: Option<PathBuf>,
    /// Seeds chosen by a rule in the segment rules' language.
    pub seed_rule: Option<String>,
    /// Compared columns (empty: the defaults).
    #[serde(default)]
    pub columns: Vec<String>,
    /// Columns passed through ln(1 + x) (unset: the defaults with the default columns).
    pub log1p: Option<Vec<String>>,
    /// Scaling of the compared columns.
    #[serde(default = "standard")]
    pub scaling: Scaling,
    /// Nested tier sizes.
    #[serde(default = "sizes")]
    pub sizes: Vec<TierSize>,
    /// Scorer.
    #[serde(default)]
    pub scorer: ScorerKind,
    /// Nearest seeds per candidate (kNN).
    #[serde(default = "ten")]
    pub k: usize,
    /// kNN search.
    #[serde(default)]
    pub index: IndexChoice,
    /// Seed representatives (centroids scorer; 0: automatic).
    #[serde(default)]
    pub representatives: usize,
    /// Control group share inside each tier ("10%" or 0.1).
    #[serde(default, deserialize_with = "share")]
    pub holdout: f64,
    /// Salt of the control hash.
    #[serde(default)]
    pub salt: u64,
    /// Fewest seeds accepted.
    #[serde(default = "hundred")]
    pub min_seeds: usize,
    /// Random seed.
    #[serde(default)]
    pub seed: u64,
    /// Only customers with 1 in this column.
    pub require_consent: Option<String>,
    /// Fit the scorer against this many candidates, those with the lowest hash of their id
    /// (seeded with `seed`), instead of against every candidate; the seeds are then taken in
    /// id order, and standard scaling's mean and variance come from exact sums. Every
    /// candidate is still scored and ranked. Training on a base in parts
    /// (`lookalike.spark.train`) needs it, and one process given the same number makes the
    /// same fit, bit for bit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub candidate_sample: Option<usize>,
}

fn standard() -> Scaling {
    Scaling::Standard
}
fn sizes() -> Vec<TierSize> {
    [0.01, 0.02, 0.05, 0.1].map(TierSize::Share).to_vec()
}
fn ten() -> usize {
    10
}
fn hundred() -> usize {
    100
}

/// "10%" → 0.1, "0.1" → 0.1, refusing anything else.
///
/// ```
/// assert_eq!(lookalike_pipeline::parse_share("10%"), Some(0.1));
/// assert_eq!(lookalike_pipeline::parse_share(" 0.25 "), Some(0.25));
/// assert_eq!(lookalike_pipeline::parse_share("ten"), None);
/// ```
pub fn parse_share(text: &str) -> Option<f64> {
    let share = match text.trim().strip_suffix('%') {
        Some(percent) => percent.trim().parse::<f64>().ok().map(|p| p / 100.0),
        None => text.trim().parse::<f64>().ok(),
    };
    share.filter(|s| s.is_finite())
}

fn share<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Written {
        Number(f64),
        Text(String),
    }
    match Written::deserialize(deserializer)? {
        Written::Number(share) => Ok(share),
        Written::Text(text) => parse_share(&text).ok_or_else(|| {
            serde::de::Error::custom(format!("{text:?}: give a share like 10% or 0.1"))
        }),
    }
}

impl InputSpec {
    /// The logs to read, each checked to exist, with the column mapping.
    pub fn inputs(&self) -> Result<FeatureInputs, PipelineError> {
        let columns: Vec<String> = self
            .columns
            .iter()
            .map(|(field, name)| format!("{field}={name}"))
            .collect();
        log_inputs(
            [
                Some(self.transactions.as_path()),
                self.events.as_deref(),
                self.customers.as_deref(),
            ],
            self.format,
            self.delimiter.as_deref(),
            &columns,
        )
    }
}

/// The logs [transactions, events, customers] to read (files or dataset folders, each checked
/// to exist), in `format` when given (else by extension), with a CSV `delimiter` (one ASCII
/// character or `tab`; detected when not given) and `FIELD=COLUMN` mappings.
pub fn log_inputs(
    [transactions, events, customers]: [Option<&Path>; 3],
    format: Option<FileFormat>,
    delimiter: Option<&str>,
    columns: &[String],
) -> Result<FeatureInputs, PipelineError> {
    let delimiter = parse_delimiter(delimiter)?;
    let transactions = transactions.ok_or_else(|| PipelineError::Document {
        file: "the input".into(),
        message: "a transaction log is needed".into(),
    })?;
    let file = |kind, path| log_file(kind, path, format, delimiter);
    Ok(FeatureInputs {
        transactions: file(InputKind::Transactions, transactions)?,
        events: events.map(|p| file(InputKind::Events, p)).transpose()?,
        customers: customers
            .map(|p| file(InputKind::Customers, p))
            .transpose()?,
        mapping: ColumnMapping::parse(columns)?,
    })
}

/// A CSV delimiter as written: one ASCII character or `tab` (None: detect it).
pub fn parse_delimiter(delimiter: Option<&str>) -> Result<Option<u8>, PipelineError> {
    Ok(match delimiter {
        None => None,
        Some("tab" | "\\t" | "\t") => Some(b'\t'),
        Some(d) if d.len() == 1 && d.is_ascii() => Some(d.as_bytes()[0]),
        Some(d) => {
            return Err(PipelineError::Document {
                file: "the input".into(),
                message: format!("delimiter {d:?}: give one ASCII character or `tab`"),
            });
        }
    })
}

/// A log file (or dataset folder) of `kind`, checked to exist.
pub fn log_file(
    kind: InputKind,
    path: &Path,
    format: Option<FileFormat>,
    delimiter: Option<u8>,
) -> Result<InputFile, PipelineError> {
    if !path.exists() && !lookalike_core::is_pattern(path) {
        return Err(PipelineError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("the {} file does not exist", kind.prefix()),
            ),
        });
    }
    Ok(InputFile::new(kind, path, format, delimiter)?)
}

impl FeatureSpec {
    /// The extraction settings (`on_error` and the reading options from the input section; all
    /// cores).
    pub fn params(
        &self,
        on_error: OnBadRow,
        reading: &LogReading,
    ) -> Result<FeatureParams, PipelineError> {
        let mut params = reading.apply(
            FeatureParams::new()
                .time_unit(self.time_unit)
                .top_levels(self.top_levels)
                .on_bad_row(on_error)
                .threads(rayon::current_num_threads()),
        );
        if let Some(date) = &self.as_of {
            params = params.as_of(parse_date(date).map_err(|e| PipelineError::Document {
                file: "[features]".into(),
                message: format!("as_of = {date:?}: {e}"),
            })?);
        }
        Ok(params)
    }
}

impl PipelineSpec {
    /// The features of the spec's logs, computed as `[features]` says.
    pub fn extract(&self, progress: &dyn Progress) -> Result<Extraction, PipelineError> {
        let inputs = self.input.inputs()?;
        let params = self
            .features
            .params(self.input.on_error, &self.input.reading())?;
        Ok(extract(&inputs, &params, progress)?)
    }

    /// Reads and checks a pipeline file; relative paths become relative to its folder.
    pub fn read(path: &Path) -> Result<PipelineSpec, PipelineError> {
        let text = std::fs::read_to_string(path).map_err(|source| PipelineError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let folder = path.parent().unwrap_or(Path::new("."));
        PipelineSpec::from_toml(&text, folder).map_err(|message| PipelineError::Document {
            file: format!("the pipeline file {}", path.display()),
            message,
        })
    }

    /// Parses and checks the text of a pipeline file, anchoring relative paths at `folder`.
    pub fn from_toml(text: &str, folder: &Path) -> Result<PipelineSpec, String> {
        let mut spec: PipelineSpec = toml::from_str(text).map_err(|e| e.to_string())?;
        let anchor = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = folder.join(&*p);
            }
        };
        anchor(&mut spec.input.transactions);
        spec.input.events.as_mut().map(anchor);
        spec.input.customers.as_mut().map(anchor);
        if let Some(segments) = &mut spec.segments {
            segments.rules.as_mut().map(anchor);
        }
        for audience in &mut spec.audiences {
            audience.seeds.as_mut().map(anchor);
        }
        spec.check()?;
        Ok(spec)
    }

    /// The checks a type cannot make: audience names, seeds, scorers, shares.
    pub fn check(&self) -> Result<(), String> {
        let mut names = std::collections::BTreeSet::new();
        for audience in &self.audiences {
            let name = &audience.name;
            check_audience_name(name).map_err(|_| {
                format!(
                    "[[audience]] name = {name:?}: use letters, digits, '_' or '-' (it names output columns and files)"
                )
            })?;
            if !names.insert(name.clone()) {
                return Err(format!("the audience name {name:?} is used twice"));
            }
            if audience.seeds.is_some() == audience.seed_rule.is_some() {
                return Err(format!(
                    "[[audience]] {name:?}: give exactly one of seeds (a file) or seed_rule"
                ));
            }
            if !audience.scorer.saveable() {
                return Err(format!(
                    "[[audience]] {name:?}: scorer = \"ensemble\" ranks customers against each other, so a trained model cannot score one customer alone; use auto, boosted, classifier, knn or centroids"
                ));
            }
            if !(0.0..1.0).contains(&audience.holdout) {
                return Err(format!(
                    "[[audience]] {name:?}: holdout = {}: the control share must be in [0, 1)",
                    audience.holdout
                ));
            }
            if audience.candidate_sample == Some(0) {
                return Err(format!(
                    "[[audience]] {name:?}: candidate_sample = 0: the scorer needs candidates to fit against; give a number such as 50000, or leave it out to fit against every candidate"
                ));
            }
        }
        if let Some(value) = &self.value {
            value
                .horizon()
                .in_units(self.features.time_unit.days())
                .map_err(|e| format!("[value]: {e}"))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
[input]
transactions = "tx.csv"
on_error = "skip"
[features]
time_unit = "days"
[clusters]
k = "2..4"
init = "kmeans++"
[value]
model = "pareto"
unit = "weeks"
[[audience]]
name = "best"
seed_rule = "clv_rank <= 0.05"
sizes = ["1%", 5000]
holdout = "10%"
"#;

    #[test]
    fn a_file_reads_into_library_choices_with_paths_anchored() {
        let spec = PipelineSpec::from_toml(FILE, Path::new("/data")).unwrap();
        assert_eq!(spec.input.transactions, Path::new("/data/tx.csv"));
        assert_eq!(spec.input.on_error, OnBadRow::Skip);
        assert_eq!(spec.features.time_unit, TimeUnit::Days);
        let clusters = spec.clusters.as_ref().unwrap();
        assert_eq!(clusters.k.values(), vec![2, 3, 4]);
        assert_eq!(clusters.init, lookalike_cluster::Init::KMeansPlusPlus);
        let value = spec.value.as_ref().unwrap();
        assert_eq!(value.model, PurchaseKind::Pareto);
        assert_eq!(value.unit, HorizonUnit::Weeks);
        let audience = &spec.audiences[0];
        assert_eq!(
            audience.sizes,
            vec![TierSize::Share(0.01), TierSize::Count(5000)]
        );
        assert_eq!(audience.holdout, 0.1);
        assert_eq!(audience.scorer, ScorerKind::Auto);
        // What the manifest records reads back to the same spec.
        let json = serde_json::to_value(&spec).unwrap();
        assert_eq!(serde_json::from_value::<PipelineSpec>(json).unwrap(), spec);
    }

    #[test]
    fn unknown_choices_and_inconsistent_audiences_are_refused_naming_the_field() {
        let refused = |old: &str, new: &str| {
            PipelineSpec::from_toml(&FILE.replace(old, new), Path::new(".")).unwrap_err()
        };
        assert!(refused("\"kmeans++\"", "\"best\"").contains("init"));
        assert!(refused("\"pareto\"", "\"gbdt\"").contains("model"));
        assert!(refused("\"10%\"", "\"ten\"").contains("share"));
        assert!(refused("\"10%\"", "1.5").contains("holdout"));
        assert!(refused("\"best\"", "\"../x\"").contains("letters"));
        assert!(refused("seed_rule", "seed_rules").contains("seed_rules"));
        let both = FILE.replace("holdout", "seeds = \"s.csv\"\nholdout");
        assert!(
            PipelineSpec::from_toml(&both, Path::new("."))
                .unwrap_err()
                .contains("exactly one")
        );
        let ensemble = FILE.replace("holdout", "scorer = \"ensemble\"\nholdout");
        assert!(
            PipelineSpec::from_toml(&ensemble, Path::new("."))
                .unwrap_err()
                .contains("ensemble")
        );
    }
}
