//! Scoring one chunk of customers with a trained model: every stage per customer, into output
//! columns. A customer's row depends on its own features and the model only, so chunks can be
//! of any size, scored in any order and on any machine, and the bytes do not change.

use std::borrow::Cow;

use anyhow::bail;
use lookalike_audience::in_control;
use lookalike_core::FeatureTable;
use lookalike_rfm::{Segmentation, segment};
use lookalike_value::Summary;
use ndarray::Array2;
use rayon::prelude::*;

use crate::model_dir::{AudienceStage, ClusterStage, SegmentStage, TrainedModel, scale_row};
use crate::value_model;

/// One output column's cells.
pub enum Cells<'m> {
    /// Text; none = empty.
    Text(Vec<Option<Cow<'m, str>>>),
    /// Whole numbers; none = empty.
    Int(Vec<Option<i64>>),
    /// Numbers; NaN = empty.
    Float(Vec<f64>),
}

/// A named output column.
pub struct Column<'m> {
    pub name: String,
    pub cells: Cells<'m>,
}

fn column<'m>(name: impl Into<String>, cells: Cells<'m>) -> Column<'m> {
    Column {
        name: name.into(),
        cells,
    }
}

/// The scored rows of a chunk.
pub struct ScoredChunk<'m> {
    pub table: FeatureTable,
    pub columns: Vec<Column<'m>>,
    /// Customers left out because they belong to another partition.
    pub other_partition: usize,
    /// Customers skipped for invalid features (`--on-error skip`), with the first reasons.
    pub skipped: usize,
    pub skip_examples: Vec<String>,
}

pub use lookalike_core::IdPartition as Partition;

/// Parses `--partition i/n`.
pub fn parse_partition(text: &str) -> anyhow::Result<Partition> {
    Partition::parse(text).ok_or_else(|| {
        anyhow::anyhow!(
            "--partition {text:?}: give i/n with 0 ≤ i < n (e.g. 0/4, 1/4, 2/4, 3/4 split a base in four)"
        )
    })
}

/// The rows where `keep` holds, as their own table (the table itself when all are kept).
fn keep_rows(table: FeatureTable, keep: &[bool]) -> FeatureTable {
    if keep.iter().all(|k| *k) {
        return table;
    }
    let rows: Vec<usize> = (0..table.len()).filter(|i| keep[*i]).collect();
    let ids = rows.iter().map(|i| table.ids()[*i].clone()).collect();
    FeatureTable::new(
        ids,
        table.columns().to_vec(),
        table.values().select(ndarray::Axis(0), &rows),
    )
    .expect("a subset of a valid table")
}

/// Scores `table`, whose first customer is row `first_row` (1-based) of `source`.
pub fn score_chunk<'m>(
    model: &'m TrainedModel,
    table: FeatureTable,
    first_row: u64,
    source: &str,
    partition: Option<Partition>,
    skip_invalid: bool,
) -> anyhow::Result<ScoredChunk<'m>> {
    let mut other_partition = 0;
    let table = match partition {
        Some(p) => {
            let keep: Vec<bool> = table
                .ids()
                .par_iter()
                .map(|id| p.contains(id.as_str()))
                .collect();
            other_partition = keep.iter().filter(|k| !**k).count();
            keep_rows(table, &keep)
        }
        None => table,
    };
    let (mut skipped, mut skip_examples) = (0, Vec::new());
    let table = if model.value.is_some() {
        let problems = invalid_histories(&table, first_row)?;
        if problems.iter().all(Option::is_none) {
            table
        } else {
            let describe = |i: usize, reason: &str| {
                format!("{source}: customer {}: {reason}", table.ids()[i].as_str())
            };
            if !skip_invalid {
                let (i, reason) = problems
                    .iter()
                    .enumerate()
                    .find_map(|(i, p)| p.as_ref().map(|p| (i, p)))
                    .expect("one problem");
                bail!(
                    "{} (use --on-error skip to skip such customers and count them)",
                    describe(i, reason)
                );
            }
            for (i, reason) in problems.iter().enumerate() {
                if let Some(reason) = reason {
                    skipped += 1;
                    if skip_examples.len() < 5 {
                        skip_examples.push(describe(i, reason));
                    }
                }
            }
            let keep: Vec<bool> = problems.iter().map(Option::is_none).collect();
            keep_rows(table, &keep)
        }
    } else {
        table
    };

    let mut columns = Vec::new();
    if let Some(stage) = &model.segments {
        let segmentation = segment(&table, &stage.rules, &stage.params)?;
        columns.extend(segment_columns(&segmentation, stage));
    }
    if let Some(stage) = &model.clusters {
        columns.extend(cluster_columns(stage, &table)?);
    }
    if let Some(stage) = &model.value {
        let predictions = value_model::predict(
            &table,
            &stage.purchases,
            stage.spend.as_ref(),
            &stage.horizon,
        )?;
        let field = |f: fn(&value_model::Prediction) -> Option<f64>| -> Vec<f64> {
            predictions
                .par_iter()
                .map(|p| p.as_ref().and_then(f).unwrap_or(f64::NAN))
                .collect()
        };
        columns.push(column("p_alive", Cells::Float(field(|p| Some(p.p_alive)))));
        columns.push(column(
            "expected_purchases",
            Cells::Float(field(|p| Some(p.expected_purchases))),
        ));
        columns.push(column(
            "expected_spend",
            Cells::Float(field(|p| p.expected_spend)),
        ));
        columns.push(column("clv", Cells::Float(field(|p| p.clv))));
    }
    for stage in &model.audiences {
        columns.extend(audience_columns(stage, &table)?);
    }
    Ok(ScoredChunk {
        table,
        columns,
        other_partition,
        skipped,
        skip_examples,
    })
}

/// Per customer, why its BTYD summary cannot be scored (none when it can); the reasons name
/// the customer's data row in the input (1-based, `first_row` for the table's first).
fn invalid_histories(table: &FeatureTable, first_row: u64) -> anyhow::Result<Vec<Option<String>>> {
    let [x, t_x, t, _] = value_model::btyd_columns(table)?;
    Ok((0..table.len())
        .into_par_iter()
        .map(|i| {
            Summary::checked(first_row as usize + i, x[i], t_x[i], t[i])
                .err()
                .map(|e| e.to_string())
        })
        .collect())
}

/// The segment columns; rule names are borrowed from the model's rules (the segmentation's
/// `primary` indexes them).
fn segment_columns<'m>(s: &Segmentation, stage: &'m SegmentStage) -> Vec<Column<'m>> {
    let rules = stage.rules.segments();
    let n = s.r.len();
    let score =
        |scores: &[Option<u8>]| Cells::Int(scores.iter().map(|v| v.map(i64::from)).collect());
    let text = |f: &(dyn Fn(usize) -> Option<Cow<'m, str>> + Sync)| {
        Cells::Text((0..n).into_par_iter().map(f).collect())
    };
    let mut columns = vec![
        column("r_score", score(&s.r)),
        column("f_score", score(&s.f)),
        column("m_score", score(&s.m)),
        column("rfm_cell", text(&|i| s.rfm_cell(i).map(Cow::Owned))),
        column(
            "rfm_segment",
            text(&|i| s.rfm_segment[i].map(|x| Cow::Borrowed(x.name()))),
        ),
        column(
            "lifecycle",
            text(&|i| Some(Cow::Borrowed(s.lifecycle[i].name()))),
        ),
        column(
            "value_tier",
            text(&|i| Some(Cow::Borrowed(s.value_tier[i].name()))),
        ),
        column(
            "primary_segment",
            text(&|i| s.primary[i].map(|k| Cow::Borrowed(rules[k as usize].name.as_str()))),
        ),
        column(
            "segments",
            text(&|i| {
                let matched = s.segments_of(i);
                (!matched.is_empty()).then_some(Cow::Owned(matched))
            }),
        ),
    ];
    if let Some(flags) = &s.flags {
        let flag = |values: &[bool]| Cells::Int(values.iter().map(|b| Some(*b as i64)).collect());
        columns.push(column("cart_abandoner", flag(&flags.cart_abandoner)));
        columns.push(column("active_browser", flag(&flags.active_browser)));
        columns.push(column("engaged", flag(&flags.engaged)));
        columns.push(column("dormant", flag(&flags.dormant)));
    }
    columns
}

/// The table column of each of `names`, or an error naming the missing one.
fn indexes(table: &FeatureTable, names: &[String]) -> anyhow::Result<Vec<usize>> {
    names
        .iter()
        .map(|name| {
            table.column_index(name).map_err(|_| {
                anyhow::anyhow!("the features have no column {name:?}, which the model needs")
            })
        })
        .collect()
}

fn cluster_columns<'m>(
    stage: &ClusterStage,
    table: &FeatureTable,
) -> anyhow::Result<Vec<Column<'m>>> {
    let at = indexes(table, &stage.scaler.columns)?;
    let d = at.len();
    let values = table.values();
    let assigned: Vec<Option<(i64, f64)>> = (0..table.len())
        .into_par_iter()
        .map_init(
            || vec![0.0; d],
            |row, i| {
                if !scale_row(&stage.scaler, &at, values, i, row) {
                    return None;
                }
                let mut best = (0usize, f64::INFINITY);
                for (c, centroid) in stage.centroids.rows().into_iter().enumerate() {
                    let squared: f64 = row
                        .iter()
                        .zip(centroid)
                        .map(|(x, m)| (x - m) * (x - m))
                        .sum();
                    if squared < best.1 {
                        best = (c, squared);
                    }
                }
                Some((best.0 as i64, best.1.sqrt()))
            },
        )
        .collect();
    Ok(vec![
        column(
            "cluster",
            Cells::Int(assigned.iter().map(|a| a.map(|(c, _)| c)).collect()),
        ),
        column(
            "cluster_distance",
            Cells::Float(
                assigned
                    .iter()
                    .map(|a| a.map_or(f64::NAN, |(_, d)| d))
                    .collect(),
            ),
        ),
    ])
}

fn audience_columns<'m>(
    stage: &'m AudienceStage,
    table: &FeatureTable,
) -> anyhow::Result<Vec<Column<'m>>> {
    let file = &stage.file;
    let at = indexes(table, &stage.scaler.columns)?;
    let consent = match &file.require_consent {
        Some(name) => Some(indexes(table, std::slice::from_ref(name))?[0]),
        None => None,
    };
    let values = table.values();
    // Every row scaled in place; the incomplete ones are then left out.
    let mut all = Array2::zeros((table.len(), at.len()));
    let complete_mask: Vec<bool> = all
        .axis_iter_mut(ndarray::Axis(0))
        .into_par_iter()
        .enumerate()
        .map(|(i, mut row)| {
            let row = row
                .as_slice_mut()
                .expect("rows of a standard matrix are contiguous");
            scale_row(&stage.scaler, &at, values, i, row)
        })
        .collect();
    let complete: Vec<usize> = (0..table.len()).filter(|i| complete_mask[*i]).collect();
    let matrix = if complete.len() == table.len() {
        all
    } else {
        all.select(ndarray::Axis(0), &complete)
    };
    let scores = stage.scorer.score(matrix.view())?;
    let mut score = vec![f64::NAN; table.len()];
    let mut strength = vec![f64::NAN; table.len()];
    for (k, i) in complete.iter().enumerate() {
        score[*i] = scores.score[k];
        strength[*i] = scores.strength[k];
    }
    let ids = table.ids();
    // Tier index (into file.tiers), or usize::MAX for a seed; none outside the audience.
    let tier: Vec<Option<usize>> = (0..table.len())
        .into_par_iter()
        .map(|i| {
            if strength[i].is_nan() {
                return None;
            }
            let id = ids[i].as_str();
            if stage.seed_ids.contains(id) {
                return Some(usize::MAX);
            }
            if let Some(j) = consent
                && values[[i, j]] != 1.0
            {
                return None;
            }
            file.tiers.iter().position(|cut| {
                strength[i] > cut.last_strength
                    || (strength[i] == cut.last_strength && id <= cut.last_customer_id.as_str())
            })
        })
        .collect();
    let name = &file.name;
    Ok(vec![
        column(format!("{name}_score"), Cells::Float(score)),
        column(
            format!("{name}_tier"),
            Cells::Text(
                tier.iter()
                    .map(|t| match t {
                        Some(usize::MAX) => Some(Cow::Borrowed("seed")),
                        Some(t) => Some(Cow::Borrowed(file.tiers[*t].label.as_str())),
                        None => None,
                    })
                    .collect(),
            ),
        ),
        column(
            format!("{name}_control"),
            Cells::Int(
                tier.par_iter()
                    .enumerate()
                    .map(|(i, t)| match t {
                        Some(t) if *t != usize::MAX => {
                            Some(in_control(ids[i].as_str(), file.salt, file.holdout) as i64)
                        }
                        _ => None,
                    })
                    .collect(),
            ),
        ),
    ])
}
