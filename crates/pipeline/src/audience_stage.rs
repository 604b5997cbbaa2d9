//! The candidate pool of an audience: the seeds (listed ids or a rule), exclusion lists, consent
//! and scope, the compared columns and their scaling — resolved into a scaled matrix with the
//! seeds and candidates as its rows, and a note for every customer left out. `lookalike
//! expand`, `evaluate-audience` and the pipeline's fit share it.

use std::collections::HashMap;
use std::path::Path;

use lookalike_cluster::{ColumnStatistics, Scaler, ScalerParams, Scaling, complete_mask};
use lookalike_core::{CustomerId, FeatureTable};
use ndarray::Array2;

use crate::{PipelineError, RuleExtras};

/// Features compared when none are named: how often, how much per order and how recently a
/// customer buys, for how long, and how broadly. Spends net of refunds are left out: their
/// heavy tails dominate distances (on the sample they cost a fifth of the recall of a persona).
pub const DEFAULT_AUDIENCE_COLUMNS: [&str; 7] = [
    "orders",
    "avg_order_value",
    "monetary_value",
    "days_since_last_purchase",
    "tenure_days",
    "orders_365d",
    "distinct_categories",
];

/// Default columns passed through ln(1 + x): the skewed counts and amounts.
pub const DEFAULT_AUDIENCE_LOG1P: [&str; 4] =
    ["orders", "avg_order_value", "monetary_value", "orders_365d"];

/// A list of customer ids read from somewhere (a seed file, a suppression list).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct IdList {
    /// Where it came from, for messages (a file name).
    pub origin: String,
    /// The ids, each once, in their first order.
    pub ids: Vec<String>,
    /// A value per id (seed values), when the list has them.
    pub values: Option<Vec<f64>>,
    /// Ids listed more than once.
    pub duplicates: usize,
}

impl IdList {
    /// Reads a CSV list: the id column is `customer_id` when the header has one, else the
    /// first; with `value_column`, that column must exist and hold numbers. Ids listed more
    /// than once are kept once (the first value wins) and counted.
    pub fn read(path: &Path, value_column: Option<&str>) -> Result<IdList, PipelineError> {
        // A list in part files (a folder, a glob): the files in name order, as one list.
        if lookalike_core::is_dataset(path) {
            let files = lookalike_core::table_files(path).map_err(|e| PipelineError::IdList {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
            let mut all = IdList {
                origin: path.display().to_string(),
                ids: Vec::new(),
                values: value_column.map(|_| Vec::new()),
                duplicates: 0,
            };
            let mut seen: HashMap<String, ()> = HashMap::new();
            for file in files {
                let part = IdList::read(&file, value_column)?;
                all.duplicates += part.duplicates;
                for (i, id) in part.ids.into_iter().enumerate() {
                    if seen.insert(id.clone(), ()).is_some() {
                        all.duplicates += 1;
                        continue;
                    }
                    if let (Some(values), Some(part_values)) = (&mut all.values, &part.values) {
                        values.push(part_values[i]);
                    }
                    all.ids.push(id);
                }
            }
            return Ok(all);
        }
        let fail = |message: String| PipelineError::IdList {
            path: path.to_path_buf(),
            message,
        };
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_path(path)
            .map_err(|e| fail(e.to_string()))?;
        let header = reader
            .headers()
            .map_err(|e| fail(format!("reading the header: {e}")))?
            .clone();
        if header.is_empty() {
            return Err(fail(
                "the file is empty (a header with a customer_id column is expected)".into(),
            ));
        }
        // A name twice makes "the id column" or "the value column" ambiguous.
        for (i, name) in header.iter().enumerate() {
            if header.iter().skip(i + 1).any(|other| other == name) {
                return Err(fail(format!(
                    "the header names the column {name:?} twice; each column needs its own name"
                )));
            }
        }
        let id_at = header.iter().position(|h| h == "customer_id").unwrap_or(0);
        let value_at = match value_column {
            Some(name) => Some(header.iter().position(|h| h == name).ok_or_else(|| {
                fail(format!(
                    "no column {name:?} (columns: {})",
                    header.iter().collect::<Vec<_>>().join(", ")
                ))
            })?),
            None => None,
        };
        let mut seen: HashMap<String, ()> = HashMap::new();
        let (mut ids, mut values, mut duplicates) = (Vec::new(), Vec::new(), 0);
        for (i, record) in reader.records().enumerate() {
            // Row numbers as a spreadsheet shows them: the header is row 1.
            let row = i + 2;
            let record = record.map_err(|e| fail(format!("row {row}: {e}")))?;
            let id = record.get(id_at).unwrap_or("").trim();
            if id.is_empty() {
                return Err(fail(format!(
                    "row {row}, column {:?}: empty customer id",
                    &header[id_at]
                )));
            }
            if seen.insert(id.to_string(), ()).is_some() {
                duplicates += 1;
                continue;
            }
            if let Some(at) = value_at {
                let text = record.get(at).unwrap_or("").trim();
                let value: f64 = text
                    .parse()
                    .ok()
                    .filter(|v: &f64| v.is_finite())
                    .ok_or_else(|| {
                        fail(format!(
                            "row {row}, column {:?}: {text:?} is not a number",
                            &header[at]
                        ))
                    })?;
                values.push(value);
            }
            ids.push(id.to_string());
        }
        Ok(IdList {
            origin: path.display().to_string(),
            ids,
            values: value_at.map(|_| values),
            duplicates,
        })
    }
}

/// Where the seeds come from.
#[derive(Debug, Clone)]
pub enum SeedSource {
    /// Listed customers (optionally with values, for value-weighted lookalikes).
    Ids(IdList),
    /// Customers matching a rule (see [`RuleExtras`]).
    Rule(String),
}

/// Who the seeds and candidates are, and how customers are compared.
#[derive(Debug, Clone)]
pub struct PoolSpec {
    /// The seeds.
    pub seeds: SeedSource,
    /// Only candidates matching this rule.
    pub scope: Option<String>,
    /// Compared columns (empty: [`DEFAULT_AUDIENCE_COLUMNS`]).
    pub columns: Vec<String>,
    /// Columns passed through ln(1 + x) (None: [`DEFAULT_AUDIENCE_LOG1P`] with the default
    /// columns, none otherwise).
    pub log1p: Option<Vec<String>>,
    /// Scaling of the compared columns.
    pub scaling: Scaling,
    /// Customers never to include.
    pub exclude: Vec<IdList>,
    /// Only customers with 1 in this column.
    pub require_consent: Option<String>,
    /// How the seed rule, the scope and the consent column are named in messages.
    pub labels: PoolLabels,
}

/// The names of a pool's options in messages: the pipeline file's fields by default, a front
/// end's flags (`--seed-rule`) where it has them.
#[derive(Debug, Clone)]
pub struct PoolLabels {
    /// The seed rule.
    pub seed_rule: String,
    /// The scope rule.
    pub scope: String,
    /// The consent column.
    pub require_consent: String,
}

impl Default for PoolLabels {
    fn default() -> Self {
        PoolLabels {
            seed_rule: "seed_rule".into(),
            scope: "scope".into(),
            require_consent: "require_consent".into(),
        }
    }
}

/// The scaled customers (those with every compared feature), with seeds and candidates as rows.
#[derive(Debug)]
pub struct Prepared {
    /// The customers that have every compared feature (one per row of `scaled`).
    pub customer_ids: Vec<CustomerId>,
    /// Their scaled features.
    pub scaled: Array2<f64>,
    /// How they were scaled (and how to get raw values back).
    pub scaler: Scaler,
    /// The compared columns.
    pub columns: Vec<String>,
    /// Seed rows.
    pub seeds: Vec<usize>,
    /// Seed values, when the seed list has them.
    pub seed_values: Option<Vec<f64>>,
    /// Candidate rows: the base minus seeds, exclusions and customers without consent.
    pub candidates: Vec<usize>,
    /// Each row's expected value (CLV) from a value model, when one was given.
    pub expected_values: Option<Vec<f64>>,
    /// Who was left out and why, one sentence each.
    pub notes: Vec<String>,
}

impl Prepared {
    /// Customer ids, by row.
    pub fn ids(&self) -> Vec<&str> {
        self.customer_ids.iter().map(|id| id.as_str()).collect()
    }

    /// The audience of this pool: candidates scored against the seeds, ranked and tiered.
    pub fn expand(
        &self,
        params: &lookalike_audience::ValidExpandParams,
    ) -> Result<lookalike_audience::Audience, PipelineError> {
        Ok(params.expand(
            self.scaled.view(),
            &self.ids(),
            &self.seeds,
            self.seed_values.as_deref(),
            &self.candidates,
            self.expected_values.as_deref(),
        )?)
    }

    /// [`Prepared::expand`] with the scorer fitted against a hash sample of `size` candidates
    /// ([`lookalike_audience::candidate_sample`], keyed with `seed`) and the seeds taken in id
    /// order: the fit a base in parts makes ([`crate::AudienceSurvey`]).
    pub fn expand_on_sample(
        &mut self,
        params: &lookalike_audience::ValidExpandParams,
        size: usize,
        seed: u64,
    ) -> Result<lookalike_audience::Audience, PipelineError> {
        let ids: Vec<&str> = self.customer_ids.iter().map(|id| id.as_str()).collect();
        let mut order: Vec<usize> = (0..self.seeds.len()).collect();
        order.sort_unstable_by_key(|i| ids[self.seeds[*i]]);
        self.seeds = order.iter().map(|i| self.seeds[*i]).collect();
        if let Some(values) = &self.seed_values {
            self.seed_values = Some(order.iter().map(|i| values[*i]).collect());
        }
        let sample = lookalike_audience::candidate_sample(&ids, &self.candidates, size, seed);
        Ok(params.expand_fitted_on(
            self.scaled.view(),
            &ids,
            &self.seeds,
            self.seed_values.as_deref(),
            &self.candidates,
            self.expected_values.as_deref(),
            Some(&sample),
        )?)
    }

    /// Cross-validates `scorers` on this pool's seeds in `folds` folds (see
    /// [`lookalike_audience::evaluate`]), with a ground `truth` per row when known.
    pub fn evaluate(
        &self,
        params: &lookalike_audience::ValidExpandParams,
        scorers: &[lookalike_audience::ScorerKind],
        folds: usize,
        truth: Option<&lookalike_audience::Truth>,
    ) -> Result<Vec<lookalike_audience::EvaluationRow>, PipelineError> {
        let ids = self.ids();
        let input = lookalike_audience::EvaluationData {
            data: self.scaled.view(),
            ids: &ids,
            seeds: &self.seeds,
            seed_values: self.seed_values.as_deref(),
            pool: &self.candidates,
            truth,
        };
        Ok(lookalike_audience::evaluate(
            params, scorers, folds, &input,
        )?)
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

impl PoolSpec {
    /// The compared columns.
    pub fn columns(&self) -> Vec<String> {
        if self.columns.is_empty() {
            DEFAULT_AUDIENCE_COLUMNS.map(String::from).to_vec()
        } else {
            self.columns.clone()
        }
    }

    /// The columns passed through ln(1 + x).
    pub fn log1p(&self) -> Vec<String> {
        match &self.log1p {
            Some(named) => named.clone(),
            None if self.columns.is_empty() => DEFAULT_AUDIENCE_LOG1P.map(String::from).to_vec(),
            None => Vec::new(),
        }
    }

    /// Filters and scales `table` (named `source` in messages). `extras` are the columns rules
    /// may name besides the table's; `expected_values` (one per table row) become `clv` and
    /// `clv_rank` for rules and each member's expected value. Memory: the table, its scaled
    /// columns and a few bytes per customer.
    pub fn prepare(
        &self,
        table: FeatureTable,
        source: &str,
        extras: Option<&RuleExtras>,
        expected_values: Option<Vec<f64>>,
    ) -> Result<Prepared, PipelineError> {
        self.prepare_with(table, source, extras, expected_values, false)
    }

    /// [`PoolSpec::prepare`] with the scaler a base in parts fits
    /// ([`lookalike_cluster::ColumnStatistics::exact`]: standard scaling's mean and variance
    /// from exact sums, rounded once), for a fit on a hash sample of the candidates
    /// ([`Prepared::expand_on_sample`]) that a base in parts repeats bit for bit.
    pub fn prepare_exact(
        &self,
        table: FeatureTable,
        source: &str,
        extras: Option<&RuleExtras>,
        expected_values: Option<Vec<f64>>,
    ) -> Result<Prepared, PipelineError> {
        self.prepare_with(table, source, extras, expected_values, true)
    }

    fn prepare_with(
        &self,
        table: FeatureTable,
        source: &str,
        extras: Option<&RuleExtras>,
        expected_values: Option<Vec<f64>>,
        exact: bool,
    ) -> Result<Prepared, PipelineError> {
        let columns = self.columns();
        let (complete, pool) = self.members(&table, source, extras, expected_values.as_deref())?;
        self.check_seeds_found(pool.found, source)?;
        // Scale on every customer that has the features, so distances mean the same for all;
        // the table is narrowed to those customers only when some miss a feature.
        let (table, position) = if complete.iter().all(|c| *c) {
            let identity = (0..table.len()).collect();
            (table, identity)
        } else {
            let rows: Vec<usize> = (0..table.len()).filter(|i| complete[*i]).collect();
            let mut position = vec![usize::MAX; table.len()];
            for (i, row) in rows.iter().enumerate() {
                position[*row] = i;
            }
            (table.select_rows(&rows), position)
        };
        let scaler_params = ScalerParams::new(columns.clone())
            .scaling(self.scaling)
            .log1p(self.log1p());
        let scaler = if exact {
            let all: Vec<usize> = (0..table.len()).collect();
            let values = crate::audience_parts::logged_values(&table, &all, self, "the pool")?;
            Scaler::from_statistics(
                &scaler_params,
                &ColumnStatistics::exact(values.view(), self.scaling),
            )?
        } else {
            Scaler::fit(&table, &scaler_params)?
        };
        let expected_values =
            expected_values.map(|values| position_values(&values, &position, table.len()));
        // In place: the raw values are not kept (summaries get them back from the scaler).
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
            notes: pool.notes,
        })
    }

    /// Which customers of `table` have every compared feature, and the table's seeds and
    /// candidates — possibly none of either: `table` may be one part of a base.
    pub(crate) fn members(
        &self,
        table: &FeatureTable,
        source: &str,
        extras: Option<&RuleExtras>,
        expected_values: Option<&[f64]>,
    ) -> Result<(Vec<bool>, Pool), PipelineError> {
        let complete = complete_mask(table, &self.columns());
        let rules = self.rule_masks(table, extras, expected_values)?;
        let pool = self.pool(table, source, &complete, &rules)?;
        Ok((complete, pool))
    }

    /// An error unless some customer of the base is a seed (complete or not).
    pub(crate) fn check_seeds_found(
        &self,
        found: usize,
        source: &str,
    ) -> Result<(), PipelineError> {
        if found > 0 {
            return Ok(());
        }
        Err(PipelineError::Seeds(match &self.seeds {
            SeedSource::Ids(list) => format!(
                "none of the {} seed ids in {} is in {source}",
                list.ids.len(),
                list.origin
            ),
            SeedSource::Rule(rule) => format!(
                "{} {rule:?} matches no customer of {source}",
                self.labels.seed_rule
            ),
        }))
    }

    fn rule_masks(
        &self,
        table: &FeatureTable,
        extras: Option<&RuleExtras>,
        values: Option<&[f64]>,
    ) -> Result<RuleMasks, PipelineError> {
        let seed_rule = match &self.seeds {
            SeedSource::Rule(rule) => Some(rule),
            SeedSource::Ids(_) => None,
        };
        if seed_rule.is_none() && self.scope.is_none() {
            return Ok(RuleMasks {
                seeds: None,
                scope: None,
            });
        }
        let mut extras = extras.cloned().unwrap_or_default();
        if let Some(values) = values {
            extras.add_values(values, table.ids());
        }
        let mask = |origin: &str, text: Option<&String>| {
            text.map(|t| extras.select(origin, t, table)).transpose()
        };
        Ok(RuleMasks {
            seeds: mask(&self.labels.seed_rule, seed_rule)?,
            scope: mask(&self.labels.scope, self.scope.as_ref())?,
        })
    }

    /// Seeds and candidates as rows of `table`, honouring exclusions, consent and scope, with
    /// a note for every customer left out.
    fn pool(
        &self,
        table: &FeatureTable,
        source: &str,
        complete: &[bool],
        rules: &RuleMasks,
    ) -> Result<Pool, PipelineError> {
        let mut notes = Vec::new();
        let (seeds, values, has_values) = match (&self.seeds, &rules.seeds) {
            (SeedSource::Ids(list), _) => seeds_from_list(list, table, source, &mut notes)?,
            (SeedSource::Rule(_), Some(mask)) => {
                let seeds: Vec<usize> = (0..table.len()).filter(|i| mask[*i]).collect();
                notes.push(format!(
                    "{} selected {} seed customers",
                    self.labels.seed_rule,
                    seeds.len()
                ));
                (seeds, Vec::new(), false)
            }
            (SeedSource::Rule(_), None) => unreachable!("a seed rule always has a mask"),
        };
        let found = seeds.len();
        // One flag per customer: seed, excluded (lists or consent).
        let mut taken = vec![false; table.len()];
        for seed in &seeds {
            taken[*seed] = true;
        }
        for list in &self.exclude {
            let found = rows_of(table, &list.ids);
            let newly = found.values().filter(|r| !taken[**r]).count();
            for row in found.values() {
                taken[*row] = true;
            }
            notes.push(format!(
                "excluded {} customers listed in {} ({} of its ids are not in the base{})",
                found.len(),
                list.origin,
                list.ids.len() - found.len(),
                if newly < found.len() {
                    format!(", {} already seeds or excluded", found.len() - newly)
                } else {
                    String::new()
                }
            ));
        }
        if let Some(column) = &self.require_consent {
            let consent = table.column(column).map_err(|_| {
                PipelineError::Seeds(format!(
                    "{} {column}: no such column in {source}",
                    self.labels.require_consent
                ))
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
                "left out {outside} customers outside {} {:?}",
                self.labels.scope,
                self.scope.as_deref().unwrap_or("")
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
        if seeds.len() < 1000 {
            notes.push(format!(
                "warning: {} seeds; ad platforms advise at least 1,000 for a stable lookalike",
                seeds.len()
            ));
        }
        Ok(Pool {
            found,
            seeds,
            seed_values,
            candidates,
            notes,
        })
    }
}

/// The rows matching the seed rule and the scope, when given.
struct RuleMasks {
    seeds: Option<Vec<bool>>,
    scope: Option<Vec<bool>>,
}

/// Who takes part, and why the others do not.
pub(crate) struct Pool {
    /// Seeds found in the table, with every compared feature or not.
    pub found: usize,
    /// Seed rows (with every compared feature), in the list's order or the table's.
    pub seeds: Vec<usize>,
    /// Their values, when the seed list has them.
    pub seed_values: Option<Vec<f64>>,
    /// Candidate rows, in the table's order.
    pub candidates: Vec<usize>,
    /// Who was left out and why.
    pub notes: Vec<String>,
}

/// The rows of `table` whose ids are in `ids`, as id → row (one pass over the table; the
/// memory is that of the list, not of the base).
pub fn rows_of<'a>(table: &FeatureTable, ids: &'a [String]) -> HashMap<&'a str, usize> {
    let wanted: std::collections::HashSet<&str> = ids.iter().map(String::as_str).collect();
    let mut found = HashMap::with_capacity(wanted.len());
    for (row, id) in table.ids().iter().enumerate() {
        if let Some(id) = wanted.get(id.as_str()) {
            found.entry(*id).or_insert(row);
        }
    }
    found
}

/// Seed rows (and values) from a list, noting duplicates and unknown ids.
fn seeds_from_list(
    list: &IdList,
    table: &FeatureTable,
    source: &str,
    notes: &mut Vec<String>,
) -> Result<(Vec<usize>, Vec<f64>, bool), PipelineError> {
    let index = rows_of(table, &list.ids);
    if list.duplicates > 0 {
        notes.push(format!(
            "{} seed ids listed more than once were used once",
            list.duplicates
        ));
    }
    let mut seeds = Vec::new();
    let mut values = Vec::new();
    let mut unknown = Vec::new();
    for (i, id) in list.ids.iter().enumerate() {
        match index.get(id.as_str()) {
            Some(row) => {
                seeds.push(*row);
                if let Some(v) = &list.values {
                    values.push(v[i]);
                }
            }
            None => unknown.push(id.as_str()),
        }
    }
    if !unknown.is_empty() {
        notes.push(format!(
            "{} of {} seed ids are not in {source} (e.g. {}); they were left out",
            unknown.len(),
            list.ids.len(),
            unknown
                .iter()
                .take(5)
                .copied()
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok((seeds, values, list.values.is_some()))
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

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use std::collections::HashSet;

    fn list(origin: &str, ids: &[String]) -> IdList {
        IdList {
            origin: origin.into(),
            ids: ids.to_vec(),
            values: None,
            duplicates: 0,
        }
    }

    /// Property: on random bases (random consent, missing features, seeds, two exclusion lists
    /// with unknown and repeated ids), the candidates are exactly the customers who are not
    /// seeds, not listed, consenting and complete — 200 cases.
    #[test]
    fn candidates_honour_exclusions_consent_and_completeness() {
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
            let spec = PoolSpec {
                seeds: SeedSource::Ids(list("seeds", &seeds)),
                scope: None,
                columns: vec!["orders".into()],
                log1p: None,
                scaling: Scaling::Standard,
                exclude: vec![list("first", &first), list("second", &second)],
                require_consent: Some("consent".into()),
                labels: PoolLabels::default(),
            };
            let complete = complete_mask(&table, &spec.columns);
            let none = RuleMasks {
                seeds: None,
                scope: None,
            };
            let pool = spec.pool(&table, "the base", &complete, &none).unwrap();
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

    #[test]
    fn a_seed_rule_may_name_segments_and_clv() {
        let table = FeatureTable::new(
            ["a", "b", "c", "d"].map(CustomerId::from).to_vec(),
            vec!["orders".into()],
            ndarray::array![[1.0], [2.0], [3.0], [4.0]],
        )
        .unwrap();
        let mut extras = RuleExtras::default();
        let lifecycle = ["loyal", "lost", "loyal", "loyal"].map(|s| Some(s.to_string()));
        extras.add_cells("lifecycle", lifecycle.to_vec()).unwrap();
        let spec = PoolSpec {
            seeds: SeedSource::Rule("lifecycle == 'loyal' and clv_rank < 0.5".into()),
            scope: None,
            columns: vec!["orders".into()],
            log1p: None,
            scaling: Scaling::None,
            exclude: Vec::new(),
            require_consent: None,
            labels: PoolLabels::default(),
        };
        // CLV ranks: d (0), b (0.25), c (0.5), a (0.75): only d is loyal and in the top half.
        let values = vec![1.0, 30.0, 20.0, 40.0];
        let prepared = spec
            .prepare(table, "the base", Some(&extras), Some(values))
            .unwrap();
        assert_eq!(prepared.seeds, vec![3]);
        assert_eq!(prepared.candidates, vec![0, 1, 2]);
        assert_eq!(prepared.expected_values, Some(vec![1.0, 30.0, 20.0, 40.0]));
        assert!(prepared.notes[0].contains("seed_rule selected 1"));
        let unknown = PoolSpec {
            seeds: SeedSource::Rule("shoe_size > 40".into()),
            ..spec
        };
        let table = FeatureTable::new(
            ["a"].map(CustomerId::from).to_vec(),
            vec!["orders".into()],
            ndarray::array![[1.0]],
        )
        .unwrap();
        let error = unknown.prepare(table, "the base", None, None).unwrap_err();
        assert!(
            error.to_string().contains("unknown column \"shoe_size\""),
            "{error}"
        );
    }
}
