//! What `expand` and `evaluate-audience` share: the feature table, the seed list, exclusions
//! and consent, the compared columns and their scaling — resolved into a scaled matrix with the
//! seeds and candidates as its rows, and a note for every customer left out.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use lookalike_cluster::{Scaler, ScalerParams, Scaling, complete_mask};
use lookalike_core::{CustomerId, FeatureTable};
use lookalike_features::read_feature_table;
use ndarray::Array2;

use crate::id_list;
use crate::output::Ui;
use crate::rule_columns;
use crate::value_model;
use lookalike_value::HorizonSpec;

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

/// The scaled customers (those with every compared feature), with seeds and candidates as rows.
pub struct Prepared {
    /// The customers that have every compared feature (one per row of `scaled`).
    pub customer_ids: Vec<CustomerId>,
    /// Their scaled features.
    pub scaled: Array2<f64>,
    /// How they were scaled (and how to get raw values back).
    pub scaler: Scaler,
    /// The compared columns.
    pub columns: Vec<String>,
    /// Seed rows and values.
    pub seeds: Vec<usize>,
    pub seed_values: Option<Vec<f64>>,
    /// Candidate rows: the base minus seeds, exclusions and customers without consent.
    pub candidates: Vec<usize>,
    /// Each row's expected value (12-month CLV) from a value model, when one was given.
    pub expected_values: Option<Vec<f64>>,
}

impl Prepared {
    /// Customer ids, by row.
    pub fn ids(&self) -> Vec<&str> {
        self.customer_ids.iter().map(|id| id.as_str()).collect()
    }

    /// The mean raw value of compared column `j` over `rows`.
    pub fn raw_mean(&self, j: usize, rows: &[usize]) -> f64 {
        let column = self.scaled.column(j);
        let total: f64 = rows
            .iter()
            .map(|r| self.scaler.raw_value(j, column[*r]))
            .sum();
        total / rows.len().max(1) as f64
    }
}

/// Reads, filters and scales; says on stderr who was left out and why. Memory: the table, its
/// scaled columns and a few bytes per customer (ten million customers with 20 features fit in
/// about 4 GB).
pub fn prepare(
    args: &SeedArgs,
    value_model: Option<(&Path, &HorizonSpec)>,
    ui: &Ui,
) -> anyhow::Result<Prepared> {
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
    let complete = complete_mask(&table, &columns);
    let expected_values = match value_model {
        Some((dir, horizon)) => Some(expected_values(&table, dir, horizon, ui)?),
        None => None,
    };
    let rules = rule_masks(args, &table, expected_values.as_deref())?;
    let pool = pool(args, &table, &complete, &rules)?;
    for note in &pool.notes {
        ui.say(note);
    }
    if pool.seeds.len() < 1000 {
        ui.say(format!(
            "warning: {} seeds; ad platforms advise at least 1,000 for a stable lookalike",
            pool.seeds.len()
        ));
    }
    // Scale on every customer that has the features, so distances mean the same for all; the
    // table is narrowed to those customers only when some miss a feature.
    let (table, position) = if complete.iter().all(|c| *c) {
        let identity = (0..table.len()).collect();
        (table, identity)
    } else {
        let rows: Vec<usize> = (0..table.len()).filter(|i| complete[*i]).collect();
        let subset = table.select_rows(&rows);
        let mut position = vec![usize::MAX; table.len()];
        for (i, row) in rows.iter().enumerate() {
            position[*row] = i;
        }
        (subset, position)
    };
    let scaler_params = ScalerParams::new(columns.clone())
        .scaling(args.scaling)
        .log1p(log1p);
    let scaler = Scaler::fit(&table, &scaler_params)
        .with_context(|| format!("scaling the features of {}", args.features.display()))?;
    let expected_values =
        expected_values.map(|values| position_values(&values, &position, table.len()));
    // In place: the raw values are not kept (the summary gets them back from the scaler).
    let (customer_ids, scaled) = scaler.transform_owned(table)?;
    let to_scaled = |rows: &[usize]| rows.iter().map(|r| position[*r]).collect::<Vec<_>>();
    Ok(Prepared {
        seeds: to_scaled(&pool.seeds),
        seed_values: pool.seed_values,
        candidates: to_scaled(&pool.candidates),
        customer_ids,
        scaled,
        scaler,
        columns,
        expected_values,
    })
}

/// Each customer's CLV over `horizon` from the value model in `dir`; 0 for customers without
/// a purchase (they have no history to project), with a note.
fn expected_values(
    table: &FeatureTable,
    dir: &Path,
    horizon: &HorizonSpec,
    ui: &Ui,
) -> anyhow::Result<Vec<f64>> {
    let (purchases, spend, unit) = value_model::load(dir)?;
    let Some(spend) = spend else {
        bail!(
            "{}: the value model has no spend model, so no CLV to rank or report by",
            dir.display()
        );
    };
    let horizon = horizon.in_units(unit.days())?;
    let predictions = value_model::predict(table, &purchases, Some(&spend), &horizon)
        .with_context(|| format!("predicting values with {}", dir.display()))?;
    let without = predictions.iter().filter(|p| p.is_none()).count();
    if without > 0 {
        ui.say(format!(
            "{without} customers have no purchase: expected value 0 (the value model needs a history)"
        ));
    }
    Ok(predictions
        .into_iter()
        .map(|p| p.and_then(|p| p.clv).unwrap_or(0.0))
        .collect())
}

/// `values` (one per customer of the full table) for the rows kept: `position[row]` is the
/// kept index of each full-table row (usize::MAX when left out).
fn position_values(values: &[f64], position: &[usize], kept: usize) -> Vec<f64> {
    let mut out = vec![0.0; kept];
    for (row, at) in position.iter().enumerate() {
        if *at != usize::MAX {
            out[*at] = values[row];
        }
    }
    out
}

/// The rows matching --seed-rule and --scope, when given.
struct RuleMasks {
    seeds: Option<Vec<bool>>,
    scope: Option<Vec<bool>>,
}

fn rule_masks(
    args: &SeedArgs,
    table: &FeatureTable,
    values: Option<&[f64]>,
) -> anyhow::Result<RuleMasks> {
    if args.seed_rule.is_none() && args.scope.is_none() {
        return Ok(RuleMasks {
            seeds: None,
            scope: None,
        });
    }
    let mut extra = match &args.segments {
        Some(path) => rule_columns::Extra::from_segments(path, table)?,
        None => rule_columns::Extra::default(),
    };
    if let Some(values) = values {
        extra.add_values(values);
    }
    let mask = |origin: &str, text: &Option<String>| {
        text.as_ref()
            .map(|t| rule_columns::select(origin, t, table, &extra))
            .transpose()
    };
    Ok(RuleMasks {
        seeds: mask("--seed-rule", &args.seed_rule)?,
        scope: mask("--scope", &args.scope)?,
    })
}

/// Who takes part, and why the others do not.
struct Pool {
    seeds: Vec<usize>,
    seed_values: Option<Vec<f64>>,
    candidates: Vec<usize>,
    notes: Vec<String>,
}

/// Seed rows (and values) from a seed file, noting duplicates and unknown ids.
fn seeds_from_file(
    args: &SeedArgs,
    path: &Path,
    table: &FeatureTable,
    notes: &mut Vec<String>,
) -> anyhow::Result<(Vec<usize>, Vec<f64>, bool)> {
    let seed_list = id_list::read(path, args.seed_value.as_deref())?;
    let index = id_list::rows_of(table, &seed_list.ids);
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
            path.display(),
            args.features.display()
        );
    }
    Ok((seeds, values, seed_list.values.is_some()))
}

/// Seeds and candidates as rows of `table`, honouring exclusions, consent and scope, with a
/// note for every customer left out.
fn pool(
    args: &SeedArgs,
    table: &FeatureTable,
    complete: &[bool],
    rules: &RuleMasks,
) -> anyhow::Result<Pool> {
    let mut notes = Vec::new();
    let (seeds, values, has_values) = match (&args.seeds, &rules.seeds) {
        (Some(path), _) => seeds_from_file(args, path, table, &mut notes)?,
        (None, Some(mask)) => {
            if args.seed_value.is_some() {
                bail!(
                    "--seed-value reads a column of a --seeds file; with --seed-rule there is none"
                );
            }
            let seeds: Vec<usize> = (0..table.len()).filter(|i| mask[*i]).collect();
            if seeds.is_empty() {
                bail!(
                    "--seed-rule {:?} matches no customer of {}",
                    args.seed_rule.as_deref().unwrap_or(""),
                    args.features.display()
                );
            }
            notes.push(format!(
                "--seed-rule selected {} seed customers",
                seeds.len()
            ));
            (seeds, Vec::new(), false)
        }
        (None, None) => bail!("give the seeds: --seeds FILE or --seed-rule RULE"),
    };
    // One flag per customer: seed, excluded (lists or consent).
    let mut taken = vec![false; table.len()];
    for seed in &seeds {
        taken[*seed] = true;
    }
    for path in &args.exclude {
        let list = id_list::read(path, None)?;
        let found = id_list::rows_of(table, &list.ids);
        let newly = found.values().filter(|r| !taken[**r]).count();
        for row in found.values() {
            taken[*row] = true;
        }
        notes.push(format!(
            "excluded {} customers listed in {} ({} of its ids are not in the base{})",
            found.len(),
            path.display(),
            list.ids.len() - found.len(),
            if newly < found.len() {
                format!(", {} already seeds or excluded", found.len() - newly)
            } else {
                String::new()
            }
        ));
    }
    if let Some(column) = &args.require_consent {
        let consent = table.column(column).with_context(|| {
            format!(
                "--require-consent {column}: no such column in {}",
                args.features.display()
            )
        })?;
        let mut without = 0;
        for (row, value) in consent.iter().enumerate() {
            if *value != 1.0 && !taken[row] {
                taken[row] = true;
                without += 1;
            }
        }
        notes.push(format!(
            "excluded {without} customers without consent ({column} ≠ 1, missing included)"
        ));
    }
    if let Some(scope) = &rules.scope {
        let mut outside = 0;
        for (row, inside) in scope.iter().enumerate() {
            if !inside && !taken[row] {
                taken[row] = true;
                outside += 1;
            }
        }
        notes.push(format!(
            "left out {outside} customers outside --scope {:?}",
            args.scope.as_deref().unwrap_or("")
        ));
    }
    // Customers missing a compared feature cannot be placed: counted and left out.
    let incomplete_seeds = seeds.iter().filter(|s| !complete[**s]).count();
    if incomplete_seeds > 0 {
        notes.push(format!(
            "{incomplete_seeds} seeds miss a compared feature and were left out"
        ));
    }
    let seed_values = has_values.then(|| {
        values
            .iter()
            .zip(&seeds)
            .filter(|(_, s)| complete[**s])
            .map(|(v, _)| *v)
            .collect()
    });
    let seeds: Vec<usize> = seeds.into_iter().filter(|s| complete[*s]).collect();
    let mut incomplete = 0;
    let candidates: Vec<usize> = (0..table.len())
        .filter(|i| {
            let usable = !taken[*i] && complete[*i];
            incomplete += usize::from(!taken[*i] && !complete[*i]);
            usable
        })
        .collect();
    if incomplete > 0 {
        notes.push(format!(
            "{incomplete} candidates miss a compared feature (e.g. no purchase yet) and were not scored"
        ));
    }
    Ok(Pool {
        seeds,
        seed_values,
        candidates,
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use lookalike_core::CustomerId;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use std::collections::HashSet;

    fn write_ids(path: &Path, ids: &[String]) {
        let mut text = String::from("customer_id\n");
        for id in ids {
            text += id;
            text += "\n";
        }
        std::fs::write(path, text).unwrap();
    }

    /// Property: on random bases (random consent, missing features, seeds, two exclusion lists
    /// with unknown and repeated ids), the candidates are exactly the customers who are not
    /// seeds, not listed, consenting and complete — 200 cases.
    #[test]
    fn candidates_honour_exclusions_consent_and_completeness() {
        let dir = tempfile::tempdir().unwrap();
        for case in 0..200u64 {
            let mut rng = ChaCha8Rng::seed_from_u64(case);
            let n = rng.random_range(5..80);
            let ids: Vec<String> = (0..n).map(|i| format!("c{i}")).collect();
            let values = Array2::from_shape_fn((n, 2), |(_, j)| {
                if j == 0 && rng.random_bool(0.1) {
                    f64::NAN
                } else if j == 1 {
                    [0.0, 1.0, f64::NAN][rng.random_range(0..3)]
                } else {
                    rng.random_range(0.0..10.0)
                }
            });
            let table = FeatureTable::new(
                ids.iter().map(|i| CustomerId::from(i.as_str())).collect(),
                vec!["orders".into(), "consent".into()],
                values.clone(),
            )
            .unwrap();
            let pick = |rng: &mut ChaCha8Rng, p: f64| -> Vec<String> {
                ids.iter().filter(|_| rng.random_bool(p)).cloned().collect()
            };
            let mut seeds = pick(&mut rng, 0.2);
            seeds.push(ids[0].clone());
            let mut first = pick(&mut rng, 0.2);
            first.push("stranger".into());
            let second = pick(&mut rng, 0.1);
            let paths = ["seeds", "first", "second"].map(|n| dir.path().join(format!("{n}.csv")));
            write_ids(&paths[0], &seeds);
            write_ids(&paths[1], &first);
            write_ids(&paths[2], &second);
            let args = SeedArgs {
                features: dir.path().join("unused.csv"),
                seeds: Some(paths[0].clone()),
                seed_rule: None,
                scope: None,
                segments: None,
                seed_value: None,
                columns: vec!["orders".into()],
                log1p: None,
                scaling: Scaling::Standard,
                exclude: vec![paths[1].clone(), paths[2].clone()],
                require_consent: Some("consent".into()),
            };
            let complete = complete_mask(&table, &args.columns);
            let none = RuleMasks {
                seeds: None,
                scope: None,
            };
            let pool = pool(&args, &table, &complete, &none).unwrap();
            let listed: HashSet<&String> = seeds.iter().chain(&first).chain(&second).collect();
            let expected: Vec<usize> = (0..n)
                .filter(|i| {
                    !listed.contains(&ids[*i])
                        && values[[*i, 1]] == 1.0
                        && values[[*i, 0]].is_finite()
                })
                .collect();
            assert_eq!(pool.candidates, expected, "case {case}");
            assert!(
                pool.seeds
                    .iter()
                    .all(|s| seeds.contains(&ids[*s]) && complete[*s])
            );
        }
    }
}
