//! Scoring: one batch of feature rows in, the same rows with every stage's columns out. Nothing
//! crosses rows, so a row's output does not depend on the batch it arrives in, its position,
//! the batch size or the thread count.

use std::sync::Arc;

use arrow_array::types::Int32Type;
use arrow_array::{
    ArrayRef, BooleanArray, DictionaryArray, Float64Array, Int64Array, RecordBatch, StringArray,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use lookalike_audience::Placement;
use lookalike_core::FeatureTable;
use lookalike_rfm::Segmentation;
use lookalike_value::ValueModel;

use crate::error::PipelineError;
use crate::model::PipelineModel;

/// The output column that says why a row could not be fully scored (null when it was).
pub const UNSCORED_REASON: &str = "unscored_reason";

/// The type of a column of a few names repeated (segments, stages, tiers): dictionary-encoded
/// text, which pandas reads as a categorical and polars as a categorical or enum.
pub fn categorical() -> DataType {
    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
}

/// The segment columns, in output order (the flags follow when the model scores them).
pub fn segment_columns() -> [(&'static str, DataType); 9] {
    [
        ("r_score", DataType::Int64),
        ("f_score", DataType::Int64),
        ("m_score", DataType::Int64),
        ("rfm_cell", categorical()),
        ("rfm_segment", categorical()),
        ("lifecycle", categorical()),
        ("value_tier", categorical()),
        ("primary_segment", categorical()),
        ("segments", categorical()),
    ]
}

/// The flag columns (0/1).
pub const FLAG_COLUMNS: [&str; 4] = ["cart_abandoner", "active_browser", "engaged", "dormant"];

/// The value columns.
pub const VALUE_COLUMNS: [&str; 4] = ["p_alive", "expected_purchases", "expected_spend", "clv"];

fn floats(values: Vec<f64>) -> ArrayRef {
    Arc::new(
        values
            .into_iter()
            .map(|v| (!v.is_nan()).then_some(v))
            .collect::<Float64Array>(),
    )
}

fn ints(values: impl IntoIterator<Item = Option<i64>>) -> ArrayRef {
    Arc::new(values.into_iter().collect::<Int64Array>())
}

fn texts<S: AsRef<str>>(values: impl IntoIterator<Item = Option<S>>) -> ArrayRef {
    Arc::new(values.into_iter().collect::<StringArray>())
}

fn categories<'a>(values: impl IntoIterator<Item = Option<&'a str>>) -> ArrayRef {
    Arc::new(values.into_iter().collect::<DictionaryArray<Int32Type>>())
}

fn owned_categories(values: impl IntoIterator<Item = Option<String>>) -> ArrayRef {
    let values: Vec<Option<String>> = values.into_iter().collect();
    categories(values.iter().map(|v| v.as_deref()))
}

fn booleans(values: impl IntoIterator<Item = Option<bool>>) -> ArrayRef {
    Arc::new(values.into_iter().collect::<BooleanArray>())
}

impl PipelineModel {
    /// Every feature column some stage reads, sorted.
    pub fn required_columns(&self) -> Vec<&str> {
        self.required.iter().map(String::as_str).collect()
    }

    /// The output schema: `customer_id`, each stage's columns, then [`UNSCORED_REASON`].
    pub fn output_schema(&self) -> SchemaRef {
        let mut fields = vec![Field::new("customer_id", DataType::Utf8, false)];
        if let Some(s) = &self.segments {
            for (name, kind) in segment_columns() {
                fields.push(Field::new(name, kind, true));
            }
            if s.flags() {
                for name in FLAG_COLUMNS {
                    fields.push(Field::new(name, DataType::Boolean, true));
                }
            }
        }
        if self.clusters.is_some() {
            fields.push(Field::new("cluster", DataType::Int64, true));
            fields.push(Field::new("cluster_distance", DataType::Float64, true));
        }
        if self.value.is_some() {
            for name in VALUE_COLUMNS {
                fields.push(Field::new(name, DataType::Float64, true));
            }
        }
        for a in &self.audiences {
            let name = a.name();
            fields.push(Field::new(format!("{name}_score"), DataType::Float64, true));
            fields.push(Field::new(format!("{name}_tier"), categorical(), true));
            fields.push(Field::new(
                format!("{name}_control"),
                DataType::Boolean,
                true,
            ));
        }
        fields.push(Field::new(UNSCORED_REASON, DataType::Utf8, true));
        Arc::new(Schema::new(fields))
    }

    /// Refuses an input without every required column, naming the missing ones.
    fn check_columns(&self, has: impl Fn(&str) -> bool) -> Result<(), PipelineError> {
        let missing: Vec<&str> = self
            .required
            .iter()
            .map(String::as_str)
            .filter(|c| !has(c))
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(PipelineError::MissingColumns {
                missing: missing.join(", "),
            })
        }
    }

    /// Scores a batch: `customer_id` plus the required columns (nulls allowed; other columns
    /// are ignored) in, [`PipelineModel::output_schema`] out, same rows, same order.
    pub fn transform(&self, batch: &RecordBatch) -> Result<RecordBatch, PipelineError> {
        let required = self.required_columns();
        let schema = batch.schema();
        self.check_columns(|c| schema.index_of(c).is_ok())?;
        let table = lookalike_features::table_from_batch(batch, &required)?;
        self.transform_table(&table)
    }

    /// Scores a feature table (it must hold the required columns; others are ignored).
    pub fn transform_table(&self, table: &FeatureTable) -> Result<RecordBatch, PipelineError> {
        self.check_columns(|c| table.column_index(c).is_ok())?;
        let n = table.len();
        let ids = table.ids();
        let mut columns: Vec<ArrayRef> = vec![texts(ids.iter().map(|id| Some(id.as_str())))];
        let mut reasons: Vec<Option<String>> = vec![None; n];
        if let Some(stage) = &self.segments {
            let segmentation = stage.transform(table)?;
            columns.extend(segment_arrays(&segmentation, stage));
        }
        if let Some(model) = &self.clusters {
            let at: Vec<usize> = model
                .columns()
                .iter()
                .map(|c| table.column_index(c).expect("checked above"))
                .collect();
            let values = table.values();
            let assigned = model.assign_rows(n, |i, j| values[[i, at[j]]]);
            columns.push(ints(assigned.iter().map(|a| a.map(|(c, _)| c as i64))));
            columns.push(floats(
                assigned
                    .iter()
                    .map(|a| a.map_or(f64::NAN, |(_, d)| d))
                    .collect(),
            ));
        }
        if let Some(model) = &self.value {
            let [x, t_x, t, m] =
                ValueModel::COLUMNS.map(|name| table.column_values(name).expect("checked above"));
            let predictions = model.predict(&x, &t_x, &t, &m);
            let mut out = [(); 4].map(|_| vec![f64::NAN; n]);
            for (i, p) in predictions.into_iter().enumerate() {
                match p {
                    Ok(Some(p)) => {
                        out[0][i] = p.p_alive;
                        out[1][i] = p.expected_purchases;
                        out[2][i] = p.expected_spend.unwrap_or(f64::NAN);
                        out[3][i] = p.clv.unwrap_or(f64::NAN);
                    }
                    Ok(None) => {}
                    Err(e) => {
                        // The reason is about this row: drop the error's own row number.
                        let text = e.to_string();
                        let text = text.strip_prefix(&format!("row {i}: ")).unwrap_or(&text);
                        reasons[i] = Some(format!("value: {text}"));
                    }
                }
            }
            columns.extend(out.map(floats));
        }
        for audience in &self.audiences {
            let at: Vec<usize> = audience
                .settings()
                .columns
                .iter()
                .map(|c| table.column_index(c).expect("checked above"))
                .collect();
            let consent = audience
                .settings()
                .require_consent
                .as_ref()
                .map(|c| table.column_index(c).expect("checked above"));
            let values = table.values();
            let id_texts: Vec<&str> = ids.iter().map(|id| id.as_str()).collect();
            let placements = audience.place(
                &id_texts,
                |i, j| values[[i, at[j]]],
                |i| consent.is_none_or(|c| values[[i, c]] == 1.0),
            )?;
            let tiers = &audience.settings().tiers;
            columns.push(floats(
                placements
                    .iter()
                    .map(|p| match p {
                        Placement::Unscored => f64::NAN,
                        Placement::Seed { score } | Placement::Scored { score, .. } => *score,
                    })
                    .collect(),
            ));
            columns.push(categories(placements.iter().map(|p| match p {
                Placement::Seed { .. } => Some("seed"),
                Placement::Scored { tier: Some(t), .. } => Some(tiers[*t].label.as_str()),
                _ => None,
            })));
            columns.push(booleans(placements.iter().map(|p| match p {
                Placement::Scored {
                    tier: Some(_),
                    control,
                    ..
                } => Some(*control),
                _ => None,
            })));
        }
        columns.push(texts(reasons));
        Ok(RecordBatch::try_new(self.output_schema(), columns)?)
    }
}

/// The segment columns of a segmentation; rule names come from the model's rules.
fn segment_arrays(s: &Segmentation, stage: &lookalike_rfm::SegmentModel) -> Vec<ArrayRef> {
    let rules = stage.rules().segments();
    let n = s.r.len();
    let score = |scores: &[Option<u8>]| ints(scores.iter().map(|v| v.map(i64::from)));
    let mut arrays = vec![
        score(&s.r),
        score(&s.f),
        score(&s.m),
        owned_categories((0..n).map(|i| s.rfm_cell(i))),
        categories(s.rfm_segment.iter().map(|x| x.map(|x| x.name()))),
        categories(s.lifecycle.iter().map(|x| Some(x.name()))),
        categories(s.value_tier.iter().map(|x| Some(x.name()))),
        categories(
            s.primary
                .iter()
                .map(|k| k.map(|k| rules[k as usize].name.as_str())),
        ),
        owned_categories((0..n).map(|i| {
            let matched = s.segments_of(i);
            (!matched.is_empty()).then_some(matched)
        })),
    ];
    if stage.flags() {
        let flags = s.flags.as_ref();
        let flag = |pick: fn(&lookalike_rfm::Flags) -> &Vec<bool>| {
            booleans((0..n).map(|i| flags.map(|f| pick(f)[i])))
        };
        arrays.push(flag(|f| &f.cart_abandoner));
        arrays.push(flag(|f| &f.active_browser));
        arrays.push(flag(|f| &f.engaged));
        arrays.push(flag(|f| &f.dormant));
    }
    arrays
}
