//! `lookalike expand`: a lookalike audience from a seed list — candidates scored by similarity to
//! the seeds, ranked into nested tiers, with a control group and the reasons for each choice.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, bail};
use lookalike_audience::{Audience, ExpandParams, ScorerKind, TierSize};
use lookalike_cluster::{Scaler, ScalerParams, Scaling};
use lookalike_core::FeatureTable;
use lookalike_features::read_feature_table;

use crate::audience_output::write_audience;
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

/// Scorers on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ScorerArg {
    /// Similarity to the k nearest seeds (exact search).
    Knn,
    /// Similarity to the best of m k-means representatives of the seeds.
    Centroids,
}

/// Options of `lookalike expand`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Feature table of the whole base (from `lookalike features`).
    #[arg(long, value_name = "FILE")]
    pub features: PathBuf,
    /// CSV of seed customers: a `customer_id` column (or the first column).
    #[arg(long, value_name = "FILE")]
    pub seeds: PathBuf,
    /// Column of the seed file holding each seed's value, for value-weighted lookalikes.
    #[arg(long, value_name = "COLUMN")]
    pub seed_value: Option<String>,
    /// Tier sizes, nested: percentages of the candidate pool or customer counts.
    #[arg(long, value_delimiter = ',', default_value = "1%,2%,5%,10%")]
    pub size: Vec<String>,
    /// How candidates are scored.
    #[arg(long, value_enum, default_value_t = ScorerArg::Knn)]
    pub scorer: ScorerArg,
    /// Nearest seeds per candidate (kNN scorer).
    #[arg(long, default_value_t = 10)]
    pub k: usize,
    /// Seed representatives (centroids scorer; 0 = √(seeds/10), at most 32).
    #[arg(long, default_value_t = 0)]
    pub representatives: usize,
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
    /// Control group inside each tier: a share ("10%" or 0.1), drawn by hashing the id.
    #[arg(long, default_value = "0%")]
    pub holdout: String,
    /// Salt of the control hash (another salt draws another control group).
    #[arg(long, default_value_t = 0)]
    pub salt: u64,
    /// CSV of customers never to include (repeatable): suppression lists, running audiences.
    #[arg(long, value_name = "FILE")]
    pub exclude: Vec<PathBuf>,
    /// Only customers with 1 in this column of the feature table (e.g. marketing_consent).
    #[arg(long, value_name = "COLUMN")]
    pub require_consent: Option<String>,
    /// Fewest seeds accepted (under 1,000 a warning is printed).
    #[arg(long, default_value_t = 100)]
    pub min_seeds: usize,
    /// Random seed of the seed clustering (centroids scorer).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output (.csv or .parquet): customer_id, score, percentile, rank, tier, control,
    /// nearest_seed, reasons — the members of the largest tier, best first.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

/// "10%" → 0.1, "0.1" → 0.1.
fn parse_share(text: &str) -> anyhow::Result<f64> {
    let share = match text.trim().strip_suffix('%') {
        Some(percent) => percent.trim().parse::<f64>().map(|p| p / 100.0),
        None => text.trim().parse::<f64>(),
    };
    share.with_context(|| format!("--holdout {text:?}: give a share like 10% or 0.1"))
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
fn pool(args: &Args, table: &FeatureTable, columns: &[String]) -> anyhow::Result<Pool> {
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

pub fn run(args: Args, ui: &Ui) -> anyhow::Result<()> {
    let text = expand_to_file(&args, ui)?;
    ui.data(&text)?;
    Ok(())
}

/// Builds the audience, writes it to `args.out` and returns the summary to print.
pub fn expand_to_file(args: &Args, ui: &Ui) -> anyhow::Result<String> {
    let began = Instant::now();
    let holdout = parse_share(&args.holdout)?;
    let sizes = args
        .size
        .iter()
        .map(|s| TierSize::parse(s))
        .collect::<Result<Vec<_>, _>>()?;
    let params = ExpandParams::new(sizes)
        .scorer(match args.scorer {
            ScorerArg::Knn => ScorerKind::Knn,
            ScorerArg::Centroids => ScorerKind::Centroids,
        })
        .neighbours(args.k)
        .representatives(args.representatives)
        .holdout(holdout)
        .salt(args.salt)
        .min_seeds(args.min_seeds)
        .seed(args.seed)
        .validate()?;
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
    let ids: Vec<&str> = complete_table.ids().iter().map(|id| id.as_str()).collect();
    let audience = params
        .expand(
            scaled.view(),
            &ids,
            &to_scaled(&pool.seeds),
            pool.seed_values.as_deref(),
            &to_scaled(&pool.candidates),
        )
        .context("building the audience")?;
    write_audience(&complete_table, &audience, &columns, &args.out)?;
    ui.say(format!(
        "scored {} candidates against {} seeds ({}) in {:.2}s; wrote {} customers to {}",
        audience.candidates,
        audience.seeds,
        audience.scorer,
        began.elapsed().as_secs_f64(),
        audience.members.len(),
        args.out.display()
    ));
    let seed_rows = to_scaled(&pool.seeds);
    Ok(summary(&complete_table, &columns, &audience, &seed_rows))
}

/// Tier sizes, control counts and mean scores; mean raw features of the audience, the seeds and
/// the base.
fn summary(
    table: &FeatureTable,
    columns: &[String],
    audience: &Audience,
    seeds: &[usize],
) -> String {
    let mut text = format!(
        "{:<8} {:>10} {:>9} {:>11}\n",
        "tier", "customers", "control", "mean score"
    );
    for (t, (label, size)) in audience.tiers.iter().enumerate() {
        let members: Vec<_> = audience.members.iter().filter(|m| m.tier <= t).collect();
        let control = members.iter().filter(|m| m.control).count();
        let mean = members.iter().map(|m| m.score).sum::<f64>() / members.len().max(1) as f64;
        let _ = writeln!(text, "{label:<8} {size:>10} {control:>9} {mean:>11.3}");
    }
    let largest = audience.tiers.last().map_or(String::new(), |t| t.0.clone());
    let _ = writeln!(
        text,
        "\n{:<26} {:>12} {:>12} {:>12}",
        "mean of",
        format!("audience {largest}"),
        "seeds",
        "base"
    );
    let chosen: Vec<usize> = audience.members.iter().map(|m| m.row).collect();
    let ids = table.ids();
    let all: Vec<usize> = (0..table.len()).collect();
    for column in columns {
        let Ok(values) = table.column(column) else {
            continue;
        };
        let mean = |rows: &[usize]| {
            rows.iter().map(|r| values[*r]).sum::<f64>() / rows.len().max(1) as f64
        };
        let _ = writeln!(
            text,
            "{column:<26} {:>12.2} {:>12.2} {:>12.2}",
            mean(&chosen),
            mean(seeds),
            mean(&all)
        );
    }
    let _ = writeln!(text, "\ntop of the audience:");
    let _ = writeln!(
        text,
        "{:>5} {:>12} {:>7} {:>12}  reasons",
        "rank", "customer_id", "score", "nearest seed"
    );
    for m in audience.members.iter().take(5) {
        let reasons: Vec<String> = m
            .reasons
            .iter()
            .map(|(j, d)| format!("{} {d:+.2}", columns[*j]))
            .collect();
        let _ = writeln!(
            text,
            "{:>5} {:>12} {:>7.3} {:>12}  {}",
            m.rank,
            ids[m.row].as_str(),
            m.score,
            ids[m.nearest_seed].as_str(),
            reasons.join("; ")
        );
    }
    text
}
