//! What `expand` and `evaluate-audience` share: the options naming the feature table, the seeds,
//! exclusions and consent, the compared columns and their scaling; the files they name are read
//! here and the pool is resolved by the library (`lookalike_pipeline::PoolSpec`).

use std::path::{Path, PathBuf};

use anyhow::Context;
use lookalike_cluster::Scaling;
use lookalike_features::read_feature_table;
use lookalike_pipeline::{IdList, PoolLabels, PoolSpec, Prepared, SeedSource, expected_values};
use lookalike_value::HorizonSpec;

use crate::output::Ui;
use crate::rule_columns;
use crate::value_model;

impl SeedArgs {
    /// Declares the features, seeds, segments and exclusion lists as inputs.
    pub fn declare<'a>(&'a self, paths: crate::paths::Paths<'a>) -> crate::paths::Paths<'a> {
        paths
            .table("--features", Some(&self.features))
            .table("--seeds", self.seeds.as_deref())
            .table("--segments", self.segments.as_deref())
            .tables("--exclude", &self.exclude)
    }
}

/// The seeds, the base and how customers are compared.
#[derive(Debug, Clone, clap::Args)]
#[command(group(clap::ArgGroup::new("seed_source").required(true).args(["seeds", "seed_rule"])))]
pub struct SeedArgs {
    /// Feature table of the whole base (from `lookalike features`).
    #[arg(long, value_name = "FILE")]
    pub features: PathBuf,
    /// CSV of seed customers: a `customer_id` column (or the first column).
    #[arg(long, value_name = "FILE")]
    pub seeds: Option<PathBuf>,
    /// Seeds chosen by a rule, in the segment rules' language, over the features, their one-hot
    /// groups as text (`country == 'DE'`), a --segments file's columns and, with a value model,
    /// `clv` and `clv_rank` (0 = highest): e.g. "clv_rank <= 0.05" or
    /// "rfm_segment == 'Champions'".
    #[arg(long, value_name = "RULE")]
    pub seed_rule: Option<String>,
    /// Only candidates matching this rule (same columns as --seed-rule), e.g. "country == 'DE'".
    #[arg(long, value_name = "RULE")]
    pub scope: Option<String>,
    /// A segment file from `lookalike segment` whose columns the rules can name.
    #[arg(long, value_name = "FILE")]
    pub segments: Option<PathBuf>,
    /// Column of the seed file holding each seed's value, for value-weighted lookalikes.
    #[arg(long, value_name = "COLUMN")]
    pub seed_value: Option<String>,
    /// Feature columns compared, comma-separated [default: orders,avg_order_value,
    /// monetary_value,days_since_last_purchase,tenure_days,orders_365d,distinct_categories].
    #[arg(long, value_delimiter = ',')]
    pub columns: Vec<String>,
    /// Columns passed through ln(1 + x) before scaling [default with the default columns:
    /// orders,avg_order_value,monetary_value,orders_365d].
    #[arg(long, value_delimiter = ',')]
    pub log1p: Option<Vec<String>>,
    /// How columns are scaled before distances are measured.
    #[arg(long, value_enum, default_value_t = Scaling::Standard)]
    pub scaling: Scaling,
    /// CSV of customers never to include (repeatable): suppression lists, running audiences.
    #[arg(long, value_name = "FILE")]
    pub exclude: Vec<PathBuf>,
    /// Only customers with 1 in this column of the feature table (e.g. marketing_consent).
    #[arg(long, value_name = "COLUMN")]
    pub require_consent: Option<String>,
}

impl SeedArgs {
    /// The pool as the library takes it, with the seed and exclusion files read.
    fn pool(&self) -> anyhow::Result<PoolSpec> {
        let seeds = match (&self.seeds, &self.seed_rule) {
            (Some(path), _) => SeedSource::Ids(IdList::read(path, self.seed_value.as_deref())?),
            (None, Some(rule)) => {
                if self.seed_value.is_some() {
                    anyhow::bail!(
                        "--seed-value reads a column of a --seeds file; with --seed-rule there is none"
                    );
                }
                SeedSource::Rule(rule.clone())
            }
            (None, None) => anyhow::bail!("give the seeds: --seeds FILE or --seed-rule RULE"),
        };
        Ok(PoolSpec {
            seeds,
            scope: self.scope.clone(),
            columns: self.columns.clone(),
            log1p: self.log1p.clone(),
            scaling: self.scaling,
            exclude: self
                .exclude
                .iter()
                .map(|path| IdList::read(path, None))
                .collect::<Result<_, _>>()?,
            require_consent: self.require_consent.clone(),
            labels: PoolLabels {
                seed_rule: "--seed-rule".into(),
                scope: "--scope".into(),
                require_consent: "--require-consent".into(),
            },
        })
    }
}

/// Reads the files, resolves the pool and says on stderr who was left out and why. With
/// `exact_scaler`, the scaler's statistics are the exact sums a base in parts merges
/// (`PoolSpec::prepare_exact`), as a fit on a candidate sample needs to match one.
pub fn prepare(
    args: &SeedArgs,
    value_model: Option<(&Path, &HorizonSpec)>,
    exact_scaler: bool,
    ui: &Ui,
) -> anyhow::Result<Prepared> {
    let table = read_feature_table(&args.features, None)
        .with_context(|| format!("reading features from {}", args.features.display()))?;
    let pool = args.pool()?;
    let mut notes = Vec::new();
    let values = match value_model {
        Some((dir, horizon)) => {
            let (purchases, spend, unit) = value_model::load(dir)?;
            let horizon = horizon.in_units(unit.days())?;
            let predictions =
                lookalike_pipeline::predict_table(&table, &purchases, spend.as_ref(), &horizon)
                    .with_context(|| format!("predicting values with {}", dir.display()))?;
            Some(
                expected_values(spend.is_some(), &predictions, &mut notes)
                    .with_context(|| dir.display().to_string())?,
            )
        }
        None => None,
    };
    let extras = match &args.segments {
        Some(path) if args.seed_rule.is_some() || args.scope.is_some() => {
            Some(rule_columns::from_segments(path, &table)?)
        }
        _ => None,
    };
    let source = args.features.display().to_string();
    let prepared = if exact_scaler {
        pool.prepare_exact(table, &source, extras.as_ref(), values)?
    } else {
        pool.prepare(table, &source, extras.as_ref(), values)?
    };
    for note in notes.iter().chain(&prepared.notes) {
        ui.say(note);
    }
    Ok(prepared)
}
