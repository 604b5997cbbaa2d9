//! What `expand` and `evaluate-audience` share: the feature table, the seed list, exclusions
//! and consent, the compared columns and their scaling — resolved into a scaled matrix with the
//! seeds and candidates as its rows, and a note for every customer left out.

use std::collections::HashSet;
use std::path::PathBuf;

use anyhow::{Context, bail};
use lookalike_cluster::{Scaler, ScalerParams, Scaling};
use lookalike_core::FeatureTable;
use lookalike_features::read_feature_table;
use ndarray::Array2;

use crate::clustering::{ScalingArg, complete_rows};
use crate::id_list;
use crate::output::Ui;

/// Features compared when none are named: how often, how much per order and how recently a
/// customer buys, for how long, and how broadly. Spends net of refunds are left out: their
/// heavy tails dominate distances (on the sample they cost a fifth of the recall of a persona).
pub const DEFAULT_COLUMNS: [&str; 7] = [
    "orders",
    "avg_order_value",
    "monetary_value",
    "days_since_last_purchase",
    "tenure_days",
    "orders_365d",
    "distinct_categories",
];

/// Default columns passed through ln(1 + x): the skewed counts and amounts.
const DEFAULT_LOG1P: [&str; 4] = ["orders", "avg_order_value", "monetary_value", "orders_365d"];

/// The seeds, the base and how customers are compared.
#[derive(Debug, Clone, clap::Args)]
pub struct SeedArgs {
    /// Feature table of the whole base (from `lookalike features`).
    #[arg(long, value_name = "FILE")]
    pub features: PathBuf,
    /// CSV of seed customers: a `customer_id` column (or the first column).
    #[arg(long, value_name = "FILE")]
    pub seeds: PathBuf,
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
    #[arg(long, value_enum, default_value_t = ScalingArg::Standard)]
    pub scaling: ScalingArg,
    /// CSV of customers never to include (repeatable): suppression lists, running audiences.
    #[arg(long, value_name = "FILE")]
    pub exclude: Vec<PathBuf>,
    /// Only customers with 1 in this column of the feature table (e.g. marketing_consent).
    #[arg(long, value_name = "COLUMN")]
    pub require_consent: Option<String>,
}

/// The scaled customers (those with every compared feature), with seeds and candidates as rows.
pub struct Prepared {
    /// The customers that have every compared feature (rows of `scaled`).
    pub table: FeatureTable,
    /// Their scaled features.
    pub scaled: Array2<f64>,
    /// The compared columns.
    pub columns: Vec<String>,
    /// Seed rows and values.
    pub seeds: Vec<usize>,
    pub seed_values: Option<Vec<f64>>,
    /// Candidate rows: the base minus seeds, exclusions and customers without consent.
    pub candidates: Vec<usize>,
}

impl Prepared {
    /// Customer ids, by row.
    pub fn ids(&self) -> Vec<&str> {
        self.table.ids().iter().map(|id| id.as_str()).collect()
    }
}

/// Reads, filters and scales; says on stderr who was left out and why.
pub fn prepare(args: &SeedArgs, ui: &Ui) -> anyhow::Result<Prepared> {
    let table = read_feature_table(&args.features, None)
        .with_context(|| format!("reading features from {}", args.features.display()))?;
    let defaults = args.columns.is_empty();
    let columns: Vec<String> = if defaults {
        DEFAULT_COLUMNS.iter().map(|c| c.to_string()).collect()
    } else {
        args.columns.clone()
    };
    let log1p: Vec<String> = match &args.log1p {
        Some(named) => named.clone(),
        None if defaults => DEFAULT_LOG1P.iter().map(|c| c.to_string()).collect(),
        None => Vec::new(),
    };
    let pool = pool(args, &table, &columns)?;
    for note in &pool.notes {
        ui.say(note);
    }
    if pool.seeds.len() < 1000 {
        ui.say(format!(
            "warning: {} seeds; ad platforms advise at least 1,000 for a stable lookalike",
            pool.seeds.len()
        ));
    }
    // Scale on every customer that has the features, so distances mean the same for all.
    let (complete, complete_table) = complete_rows(&table, &columns)?;
    let scaler_params = ScalerParams::new(columns.clone())
        .scaling(match args.scaling {
            ScalingArg::Standard => Scaling::Standard,
            ScalingArg::Robust => Scaling::Robust,
            ScalingArg::None => Scaling::None,
        })
        .log1p(log1p);
    let scaler = Scaler::fit(&complete_table, &scaler_params)
        .with_context(|| format!("scaling the features of {}", args.features.display()))?;
    let scaled = scaler.transform(&complete_table)?;
    // Rows of the table → rows of the scaled matrix.
    let mut position = vec![usize::MAX; table.len()];
    for (i, row) in complete.iter().enumerate() {
        position[*row] = i;
    }
    let to_scaled = |rows: &[usize]| rows.iter().map(|r| position[*r]).collect::<Vec<_>>();
    Ok(Prepared {
        seeds: to_scaled(&pool.seeds),
        seed_values: pool.seed_values,
        candidates: to_scaled(&pool.candidates),
        table: complete_table,
        scaled,
        columns,
    })
}

/// Who takes part, and why the others do not.
struct Pool {
    seeds: Vec<usize>,
    seed_values: Option<Vec<f64>>,
    candidates: Vec<usize>,
    notes: Vec<String>,
}

/// Seeds and candidates as rows of `table`, honouring exclusions and consent, with a note for
/// every customer left out.
fn pool(args: &SeedArgs, table: &FeatureTable, columns: &[String]) -> anyhow::Result<Pool> {
    let index = id_list::row_index(table);
    let seed_list = id_list::read(&args.seeds, args.seed_value.as_deref())?;
    let mut notes = Vec::new();
    if seed_list.duplicates > 0 {
        notes.push(format!(
            "{} seed ids listed more than once were used once",
            seed_list.duplicates
        ));
    }
    let mut seeds = Vec::new();
    let mut values = Vec::new();
    let mut unknown = Vec::new();
    for (i, id) in seed_list.ids.iter().enumerate() {
        match index.get(id.as_str()) {
            Some(row) => {
                seeds.push(*row);
                if let Some(v) = &seed_list.values {
                    values.push(v[i]);
                }
            }
            None => unknown.push(id.as_str()),
        }
    }
    if !unknown.is_empty() {
        notes.push(format!(
            "{} of {} seed ids are not in {} (e.g. {}); they were left out",
            unknown.len(),
            seed_list.ids.len(),
            args.features.display(),
            unknown
                .iter()
                .take(5)
                .copied()
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if seeds.is_empty() {
        bail!(
            "none of the {} seed ids in {} is in {}",
            seed_list.ids.len(),
            args.seeds.display(),
            args.features.display()
        );
    }
    let mut excluded: HashSet<usize> = HashSet::new();
    for path in &args.exclude {
        let list = id_list::read(path, None)?;
        let found: Vec<usize> = list
            .ids
            .iter()
            .filter_map(|id| index.get(id.as_str()).copied())
            .collect();
        notes.push(format!(
            "excluded {} customers listed in {} ({} of its ids are not in the base)",
            found.len(),
            path.display(),
            list.ids.len() - found.len()
        ));
        excluded.extend(found);
    }
    if let Some(column) = &args.require_consent {
        let consent = table.column(column).with_context(|| {
            format!(
                "--require-consent {column}: no such column in {}",
                args.features.display()
            )
        })?;
        let before = excluded.len();
        excluded.extend((0..table.len()).filter(|i| consent[*i] != 1.0));
        notes.push(format!(
            "excluded {} customers without consent ({column} ≠ 1, missing included)",
            excluded.len() - before
        ));
    }
    // Customers missing a compared feature cannot be placed: counted and left out.
    let (complete, _) = complete_rows(table, columns)?;
    let complete: HashSet<usize> = complete.into_iter().collect();
    let is_seed: HashSet<usize> = seeds.iter().copied().collect();
    let incomplete_seeds = seeds.iter().filter(|s| !complete.contains(s)).count();
    if incomplete_seeds > 0 {
        notes.push(format!(
            "{incomplete_seeds} seeds miss a compared feature and were left out"
        ));
    }
    let keep: Vec<bool> = seeds.iter().map(|s| complete.contains(s)).collect();
    let seed_values = seed_list.values.as_ref().map(|_| {
        values
            .iter()
            .zip(&keep)
            .filter(|(_, k)| **k)
            .map(|(v, _)| *v)
            .collect()
    });
    let seeds: Vec<usize> = seeds.into_iter().filter(|s| complete.contains(s)).collect();
    let others = (0..table.len()).filter(|i| !is_seed.contains(i) && !excluded.contains(i));
    let (candidates, incomplete): (Vec<usize>, Vec<usize>) =
        others.partition(|i| complete.contains(i));
    if !incomplete.is_empty() {
        notes.push(format!(
            "{} candidates miss a compared feature (e.g. no purchase yet) and were not scored",
            incomplete.len()
        ));
    }
    Ok(Pool {
        seeds,
        seed_values,
        candidates,
        notes,
    })
}
