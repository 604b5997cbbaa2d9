//! The segment stage's per-customer output (`lookalike segment --out`): one row per customer,
//! CSV or Parquet, atomically.
//!
//! Most output columns take few distinct values (11 segments, 6 stages, a few hundred score
//! cells and rule combinations), so they are built as codes into a small dictionary: Parquet
//! stores them as dictionary columns and CSV rows are written from the dictionary's text without
//! allocating per row.

use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use arrow_array::types::Int32Type;
use arrow_array::{
    ArrayRef, BooleanArray, DictionaryArray, Int64Array, PrimitiveArray, RecordBatch, StringArray,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use lookalike_core::FeatureTable;
use lookalike_features::{write_csv_in_parallel, write_parquet_in_parallel};
use lookalike_rfm::{Lifecycle, RfmSegment, Segmentation, ValueTier};

use super::{OutputFormat, output_error};
use crate::{FLAG_COLUMNS, PipelineError, segment_columns};
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use rayon::prelude::*;

/// Every output value of every customer, as codes into dictionaries.
struct Coded {
    /// RFM cell: index into `cells` (u32::MAX = none).
    cell: Vec<u32>,
    cells: Vec<String>,
    /// Named segment index (u8::MAX = none).
    segment: Vec<u8>,
    stage: Vec<u8>,
    tier: Vec<u8>,
    /// Index into `combinations`: the set of matched rule segments.
    matched: Vec<u32>,
    combinations: Vec<String>,
}

fn code(s: &Segmentation) -> Coded {
    let n = s.r.len();
    let bins = s.bins as u32;
    let raw_cell: Vec<u32> = (0..n)
        .into_par_iter()
        .map(|i| match (s.r[i], s.f[i], s.m[i]) {
            (Some(r), Some(f), Some(m)) => {
                ((r as u32 - 1) * bins + (f as u32 - 1)) * bins + (m as u32 - 1)
            }
            _ => u32::MAX,
        })
        .collect();
    // Dictionary of the cells that occur, in score order.
    let mut used = vec![false; (bins * bins * bins) as usize];
    for c in &raw_cell {
        if *c != u32::MAX {
            used[*c as usize] = true;
        }
    }
    let mut position = vec![u32::MAX; used.len()];
    let mut cells = Vec::new();
    for (c, is_used) in used.iter().enumerate() {
        if *is_used {
            position[c] = cells.len() as u32;
            let c = c as u32;
            let (r, f, m) = (c / (bins * bins) + 1, c / bins % bins + 1, c % bins + 1);
            cells.push(Segmentation::cell_text(r as u8, f as u8, m as u8, s.bins));
        }
    }
    let cell = raw_cell
        .par_iter()
        .map(|c| {
            if *c == u32::MAX {
                u32::MAX
            } else {
                position[*c as usize]
            }
        })
        .collect();
    // Codes are the enum discriminants, i.e. positions in each ALL list.
    let segment = s
        .rfm_segment
        .par_iter()
        .map(|x| x.map_or(u8::MAX, |x| x as u8))
        .collect();
    let stage = s.lifecycle.par_iter().map(|x| *x as u8).collect();
    let tier = s.value_tier.par_iter().map(|x| *x as u8).collect();
    let masks: Vec<u64> = (0..n)
        .into_par_iter()
        .map(|i| {
            s.matches
                .iter()
                .enumerate()
                .fold(0u64, |mask, (k, m)| mask | ((m[i] as u64) << k))
        })
        .collect();
    let mut keys: HashMap<u64, u32> = HashMap::new();
    let mut combinations = Vec::new();
    let matched = masks
        .iter()
        .map(|mask| {
            *keys.entry(*mask).or_insert_with(|| {
                let names: Vec<&str> = (0..s.rule_names.len())
                    .filter(|k| mask >> k & 1 == 1)
                    .map(|k| s.rule_names[k].as_str())
                    .collect();
                combinations.push(names.join(";"));
                combinations.len() as u32 - 1
            })
        })
        .collect();
    Coded {
        cell,
        cells,
        segment,
        stage,
        tier,
        matched,
        combinations,
    }
}

/// The output columns, in order: those the model's transform gives (flags only when the
/// features had event columns).
fn header(s: &Segmentation) -> Vec<&'static str> {
    let mut columns = vec!["customer_id"];
    columns.extend(segment_columns().map(|(name, _)| name));
    if s.flags.is_some() {
        columns.extend(FLAG_COLUMNS);
    }
    columns
}

/// Writes `segmentation` to `path` (.csv or .parquet).
pub fn write_segments(
    table: &FeatureTable,
    segmentation: &Segmentation,
    path: &Path,
) -> Result<(), PipelineError> {
    if segmentation.rule_names.len() > 64 {
        return Err(output_error(
            path,
            format!(
                "at most 64 rule segments can be written (got {})",
                segmentation.rule_names.len()
            ),
        ));
    }
    match OutputFormat::of(path)? {
        OutputFormat::Csv => write_csv(table, segmentation, &code(segmentation), path),
        OutputFormat::Parquet => write_parquet(table, segmentation, path),
    }
}

fn write_csv(
    table: &FeatureTable,
    s: &Segmentation,
    coded: &Coded,
    path: &Path,
) -> Result<(), PipelineError> {
    let flags: Vec<&Vec<bool>> = s
        .flags
        .as_ref()
        .map(|f| vec![&f.cart_abandoner, &f.active_browser, &f.engaged, &f.dormant])
        .unwrap_or_default();
    write_csv_in_parallel(path, &header(s), table.len(), |writer, _, i| {
        let mut digits = itoa::Buffer::new();
        writer.write_field(table.ids()[i].as_str())?;
        for score in [s.r[i], s.f[i], s.m[i]] {
            writer.write_field(score.map_or("", |v| digits.format(v)))?;
        }
        let cell = coded.cell[i];
        writer.write_field(if cell == u32::MAX {
            ""
        } else {
            &coded.cells[cell as usize]
        })?;
        writer.write_field(s.rfm_segment[i].map_or("", |x| x.name()))?;
        writer.write_field(s.lifecycle[i].name())?;
        writer.write_field(s.value_tier[i].name())?;
        writer.write_field(s.primary_name(i).unwrap_or(""))?;
        writer.write_field(&coded.combinations[coded.matched[i] as usize])?;
        for flag in &flags {
            writer.write_field(if flag[i] { "1" } else { "0" })?;
        }
        Ok(())
    })?;
    Ok(())
}

/// The Arrow columns of a segmentation, typed as `score` types them: scores as Int64, names as
/// dictionaries with Int32 keys (codes into the few distinct values), flags as booleans.
struct SegmentArrays<'a> {
    table: &'a FeatureTable,
    s: &'a Segmentation,
    coded: Coded,
    schema: SchemaRef,
    segment_names: ArrayRef,
    stage_names: ArrayRef,
    tier_names: ArrayRef,
    rule_names: ArrayRef,
    cell_names: ArrayRef,
    combination_names: ArrayRef,
}

impl<'a> SegmentArrays<'a> {
    fn new(table: &'a FeatureTable, s: &'a Segmentation) -> Self {
        let coded = code(s);
        let fields: Vec<Field> = header(s)
            .iter()
            .map(|name| match *name {
                "customer_id" => Field::new(*name, DataType::Utf8, false),
                "r_score" | "f_score" | "m_score" => Field::new(*name, DataType::Int64, true),
                "cart_abandoner" | "active_browser" | "engaged" | "dormant" => {
                    Field::new(*name, DataType::Boolean, false)
                }
                _ => Field::new(*name, crate::categorical(), true),
            })
            .collect();
        let names = |values: &[&str]| -> ArrayRef { Arc::new(StringArray::from(values.to_vec())) };
        SegmentArrays {
            table,
            s,
            schema: Arc::new(Schema::new(fields)),
            segment_names: names(&RfmSegment::ALL.map(|x| x.name())),
            stage_names: names(&Lifecycle::ALL.map(|x| x.name())),
            tier_names: names(&ValueTier::ALL.map(|x| x.name())),
            rule_names: Arc::new(StringArray::from(s.rule_names.clone())),
            cell_names: Arc::new(StringArray::from(coded.cells.clone())),
            combination_names: Arc::new(StringArray::from(coded.combinations.clone())),
            coded,
        }
    }

    /// Column `j` for `rows`.
    fn column(&self, rows: Range<usize>, j: usize) -> std::io::Result<ArrayRef> {
        let (s, coded) = (self.s, &self.coded);
        // Every text column is a dictionary with Int32 keys, the type `score` writes too.
        let dictionary = |keys: PrimitiveArray<Int32Type>,
                          values: &ArrayRef|
         -> std::io::Result<ArrayRef> {
            Ok(Arc::new(
                DictionaryArray::try_new(keys, values.clone()).map_err(std::io::Error::other)?,
            ))
        };
        let u8_dictionary = |codes: &[u8], values: &ArrayRef| {
            let keys = codes[rows.clone()]
                .iter()
                .map(|c| (*c != u8::MAX).then_some(i32::from(*c)))
                .collect();
            dictionary(keys, values)
        };
        let u32_dictionary = |codes: &[u32], values: &ArrayRef| {
            let keys = codes[rows.clone()]
                .iter()
                .map(|c| (*c != u32::MAX).then_some(*c as i32))
                .collect();
            dictionary(keys, values)
        };
        let scores = |v: &[Option<u8>]| -> ArrayRef {
            Arc::new(Int64Array::from_iter(
                v[rows.clone()].iter().map(|x| x.map(i64::from)),
            ))
        };
        let flags = s
            .flags
            .as_ref()
            .map(|f| [&f.cart_abandoner, &f.active_browser, &f.engaged, &f.dormant]);
        Ok(match j {
            0 => Arc::new(StringArray::from_iter_values(
                self.table.ids()[rows.clone()].iter().map(|id| id.as_str()),
            )),
            1 => scores(&s.r),
            2 => scores(&s.f),
            3 => scores(&s.m),
            4 => u32_dictionary(&coded.cell, &self.cell_names)?,
            5 => u8_dictionary(&coded.segment, &self.segment_names)?,
            6 => u8_dictionary(&coded.stage, &self.stage_names)?,
            7 => u8_dictionary(&coded.tier, &self.tier_names)?,
            8 => dictionary(
                s.primary[rows.clone()]
                    .iter()
                    .map(|k| k.map(i32::from))
                    .collect(),
                &self.rule_names,
            )?,
            9 => u32_dictionary(&coded.matched, &self.combination_names)?,
            flag => {
                let flags = flags.ok_or_else(|| std::io::Error::other("no flag columns"))?;
                Arc::new(BooleanArray::from(flags[flag - 10][rows].to_vec()))
            }
        })
    }
}

/// A segmentation of `table`'s customers as one Arrow batch, with the columns and types of the
/// Parquet output of `lookalike segment`.
pub fn segments_batch(
    table: &FeatureTable,
    segmentation: &Segmentation,
) -> Result<RecordBatch, PipelineError> {
    let arrays = SegmentArrays::new(table, segmentation);
    let columns = (0..arrays.schema.fields().len())
        .map(|j| arrays.column(0..table.len(), j))
        .collect::<std::io::Result<Vec<_>>>()
        .map_err(|e| PipelineError::Document {
            file: "the segments".into(),
            message: e.to_string(),
        })?;
    Ok(RecordBatch::try_new(arrays.schema.clone(), columns)?)
}

fn write_parquet(table: &FeatureTable, s: &Segmentation, path: &Path) -> Result<(), PipelineError> {
    let arrays = SegmentArrays::new(table, s);
    let properties = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_column_dictionary_enabled("customer_id".into(), false)
        .build();
    write_parquet_in_parallel(
        path,
        arrays.schema.clone(),
        properties,
        table.len(),
        |rows, j| arrays.column(rows, j),
    )?;
    Ok(())
}
