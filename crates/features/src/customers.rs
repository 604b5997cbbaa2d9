//! The customers file: one row per customer, attributes encoded as features.
//!
//! The file is small next to the logs (one row per customer), so it is read whole; each
//! attribute column's type is inferred from all its values: numbers pass through, dates become
//! days before as-of, yes/no columns become 0/1, and anything else is categorical, one-hot
//! encoded over its most frequent levels.

use std::collections::HashMap;
use std::fs::File;

use lookalike_core::{ColumnMapping, FeatureKind, FeatureSpec, IdPartition, InputKind};

use crate::cell::{self, Cell};
use crate::input::{FieldRequest, FileFormat, InputFile, resolve_columns};
use crate::scan::ColumnView;
use crate::{FeatureError, OnBadRow};

/// One attribute value as read.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Text(Box<str>),
    Number(f64),
    Day(i32),
    Null,
}

/// The customers file, read and validated.
pub(crate) struct CustomerFile {
    pub ids: Vec<Box<str>>,
    pub consent: Option<Vec<Option<bool>>>,
    attributes: Vec<(String, Vec<Value>)>,
    pub rows: u64,
    pub skipped: u64,
    pub skip_examples: Vec<FeatureError>,
}

/// Attributes encoded as feature columns, one value per customer of the file.
pub(crate) struct EncodedAttributes {
    pub specs: Vec<FeatureSpec>,
    /// Column-major: `columns[j][i]` is feature j of the file's customer i.
    pub columns: Vec<Vec<f64>>,
    /// Attribute columns with no value at all, left out.
    pub empty_columns: Vec<String>,
}

fn boolean(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "t" | "yes" | "y" | "1" => Some(true),
        "false" | "f" | "no" | "n" | "0" => Some(false),
        _ => None,
    }
}

fn value_of(cell: Cell<'_>) -> Result<Value, String> {
    Ok(match cell {
        c if c.is_blank() => Value::Null,
        Cell::Text(bytes) => Value::Text(cell::utf8(bytes)?.trim().into()),
        Cell::Str(text) | Cell::Label(text, _) => Value::Text(text.trim().into()),
        Cell::Int(v) => Value::Number(v as f64),
        Cell::Float(v) if v.is_finite() => Value::Number(v),
        Cell::Float(_) => return Err("is not a finite number".into()),
        Cell::EpochSeconds(_) | Cell::Day(_) => Value::Day(cell::day(cell)?),
        Cell::Null => Value::Null,
    })
}

struct Collector<'a> {
    input: &'a InputFile,
    on_bad_row: OnBadRow,
    id_column: usize,
    consent_column: Option<usize>,
    consent_name: String,
    attribute_columns: Vec<usize>,
    seen: HashMap<Box<str>, String>,
    /// Only customers in all of these parts are kept.
    keep: &'a [IdPartition],
    file: CustomerFile,
}

/// What an attribute column holds, told by the shape of every present cell.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Shape {
    /// Every cell is written as a number (`inf` and `NaN` included).
    Numbers,
    /// Every cell is written as a date (`yyyy-mm-dd…`), or read as one.
    Dates,
    /// Anything else: yes/no or categories.
    Other,
}

fn looks_like_number(value: &Value) -> bool {
    match value {
        Value::Number(_) => true,
        Value::Text(t) => t.parse::<f64>().is_ok(),
        _ => false,
    }
}

fn looks_like_date(value: &Value) -> bool {
    match value {
        Value::Day(_) => true,
        Value::Text(t) => {
            let b = t.as_bytes();
            b.len() >= 10
                && b[..4].iter().all(u8::is_ascii_digit)
                && b[4] == b'-'
                && b[5..7].iter().all(u8::is_ascii_digit)
                && b[7] == b'-'
                && b[8..10].iter().all(u8::is_ascii_digit)
        }
        _ => false,
    }
}

fn shape_of(values: &[Value]) -> Shape {
    let mut present = values.iter().filter(|v| **v != Value::Null).peekable();
    if present.peek().is_none() {
        return Shape::Other;
    }
    let present: Vec<&Value> = present.collect();
    if present.iter().all(|v| looks_like_number(v)) {
        Shape::Numbers
    } else if present.iter().all(|v| looks_like_date(v)) {
        Shape::Dates
    } else {
        Shape::Other
    }
}

/// Why a cell contradicts its column's shape, if it does: a number column's `inf`, a date
/// column's `2024-02-30`.
fn contradiction(shape: Shape, value: &Value) -> Option<String> {
    match (shape, value) {
        (Shape::Numbers, Value::Text(t)) if !t.parse::<f64>().is_ok_and(f64::is_finite) => Some(
            "is not a finite number, in a column of numbers (leave the cell empty for a missing value)"
                .into(),
        ),
        (Shape::Dates, Value::Text(t)) => cell::day(Cell::Text(t.as_bytes()))
            .err()
            .map(|reason| format!("{reason}, in a column of dates")),
        _ => None,
    }
}

impl Collector<'_> {
    /// The file read: each attribute column's type is the shape of all its cells, and a cell
    /// that contradicts it is a row error (or, with `--on-error skip`, its row is left out), so
    /// that one bad cell cannot turn a column of dates or numbers into categories.
    fn finish(mut self) -> Result<CustomerFile, FeatureError> {
        let mut bad_rows = std::collections::BTreeSet::new();
        for (name, values) in &self.file.attributes {
            let shape = shape_of(values);
            for (i, value) in values.iter().enumerate() {
                let Some(reason) = contradiction(shape, value) else {
                    continue;
                };
                let error = FeatureError::BadValue {
                    kind: InputKind::Customers,
                    path: self.input.path.clone(),
                    row: self
                        .seen
                        .get(&self.file.ids[i])
                        .cloned()
                        .unwrap_or_else(|| "a row".into()),
                    column: name.clone(),
                    value: match value {
                        Value::Text(t) => t.to_string(),
                        other => format!("{other:?}"),
                    },
                    reason,
                };
                if self.on_bad_row == OnBadRow::Fail {
                    return Err(error);
                }
                if bad_rows.insert(i) && self.file.skip_examples.len() < crate::scan::SKIP_EXAMPLES
                {
                    self.file.skip_examples.push(error);
                }
            }
        }
        if !bad_rows.is_empty() {
            let keep = |i: &usize| !bad_rows.contains(i);
            let mut index = 0..;
            self.file.ids.retain(|_| keep(&index.next().unwrap_or(0)));
            if let Some(consent) = self.file.consent.as_mut() {
                let mut index = 0..;
                consent.retain(|_| keep(&index.next().unwrap_or(0)));
            }
            for (_, values) in &mut self.file.attributes {
                let mut index = 0..;
                values.retain(|_| keep(&index.next().unwrap_or(0)));
            }
            self.file.skipped += bad_rows.len() as u64;
        }
        Ok(self.file)
    }

    /// Handles one row; `row` names it (`line 3`, `row 3`).
    fn row<'c>(
        &mut self,
        row: String,
        cell_at: &dyn Fn(usize) -> Cell<'c>,
        header: &[String],
    ) -> Result<(), FeatureError> {
        let bad = |column: usize, cell: Cell<'_>, reason: String| FeatureError::BadValue {
            kind: InputKind::Customers,
            path: self.input.path.clone(),
            row: row.clone(),
            column: header[column].clone(),
            value: cell.display(),
            reason,
        };
        let outcome = (|| {
            let id_cell = cell_at(self.id_column);
            let mut scratch = String::new();
            let id = cell::text(id_cell, &mut scratch)
                .map(cell::integral_id)
                .map_err(|r| bad(self.id_column, id_cell, r))?;
            if id.is_empty() {
                return Err(bad(
                    self.id_column,
                    id_cell,
                    "is empty; a customer id is required".into(),
                ));
            }
            if let Some(first) = self.seen.get(id) {
                return Err(bad(
                    self.id_column,
                    id_cell,
                    format!("is a duplicate customer id (first seen on {first})"),
                ));
            }
            let consent = match self.consent_column {
                None => None,
                Some(c) => {
                    let consent_cell = cell_at(c);
                    if consent_cell.is_blank() {
                        Some(None)
                    } else {
                        let mut s = String::new();
                        let text = cell::text(consent_cell, &mut s)
                            .map_err(|r| bad(c, consent_cell, r))?;
                        Some(Some(boolean(text).ok_or_else(|| {
                            bad(
                                c,
                                consent_cell,
                                format!(
                                    "is not a yes/no value for {} (use true/false, yes/no or 1/0)",
                                    self.consent_name
                                ),
                            )
                        })?))
                    }
                }
            };
            let mut values = Vec::with_capacity(self.attribute_columns.len());
            for &c in &self.attribute_columns {
                let value_cell = cell_at(c);
                values.push(value_of(value_cell).map_err(|r| bad(c, value_cell, r))?);
            }
            Ok((id.to_string(), consent, values))
        })();
        match outcome {
            Ok((id, _, _)) if !self.keep.iter().all(|part| part.contains(&id)) => {
                self.file.rows += 1;
                Ok(())
            }
            Ok((id, consent, values)) => {
                let id: Box<str> = id.into();
                self.seen.insert(id.clone(), row);
                self.file.ids.push(id);
                if let (Some(all), Some(c)) = (self.file.consent.as_mut(), consent) {
                    all.push(c);
                }
                for ((_, column), value) in self.file.attributes.iter_mut().zip(values) {
                    column.push(value);
                }
                self.file.rows += 1;
                Ok(())
            }
            Err(e) if self.on_bad_row == OnBadRow::Skip => {
                self.file.skipped += 1;
                if self.file.skip_examples.len() < crate::scan::SKIP_EXAMPLES {
                    self.file.skip_examples.push(e);
                }
                Ok(())
            }
            Err(e) => Err(e),
        }
    }
}

/// Reads and validates the customers file (or its part files, one after the other: the same
/// columns in each, and a customer in one row of one file).
pub(crate) fn read_customers(
    input: &InputFile,
    mapping: &ColumnMapping,
    on_bad_row: OnBadRow,
    keep: &[IdPartition],
) -> Result<CustomerFile, FeatureError> {
    if input.parts.is_empty() {
        return read_customer_file(input, mapping, on_bad_row, keep);
    }
    let mut all: Option<CustomerFile> = None;
    // Each id's file, by index into the parts (one number per customer, not a path).
    let mut first_file: HashMap<Box<str>, usize> = HashMap::new();
    for (k, part) in input.parts.iter().enumerate() {
        let file = InputFile {
            path: part.clone(),
            parts: Vec::new(),
            ..input.clone()
        };
        let read = read_customer_file(&file, mapping, on_bad_row, keep)?;
        for id in &read.ids {
            if let Some(other) = first_file.insert(id.clone(), k) {
                return Err(FeatureError::InvalidOptions(format!(
                    "{}: customer {id:?} has a row in {} and in {}; every customer must have one",
                    input.path.display(),
                    input.parts[other].display(),
                    part.display()
                )));
            }
        }
        all = Some(match all {
            None => read,
            Some(mut all) => {
                let names = |f: &CustomerFile| -> Vec<String> {
                    f.attributes.iter().map(|(n, _)| n.clone()).collect()
                };
                if names(&all) != names(&read) || all.consent.is_some() != read.consent.is_some() {
                    return Err(FeatureError::InvalidOptions(format!(
                        "{}: {} has other columns than the files before it ({} against {})",
                        input.path.display(),
                        part.display(),
                        names(&read).join(", "),
                        names(&all).join(", ")
                    )));
                }
                all.ids.extend(read.ids);
                if let (Some(a), Some(b)) = (all.consent.as_mut(), read.consent) {
                    a.extend(b);
                }
                for ((_, a), (_, b)) in all.attributes.iter_mut().zip(read.attributes) {
                    a.extend(b);
                }
                all.rows += read.rows;
                all.skipped += read.skipped;
                let room = 5usize.saturating_sub(all.skip_examples.len());
                all.skip_examples
                    .extend(read.skip_examples.into_iter().take(room));
                all
            }
        });
    }
    all.ok_or_else(|| FeatureError::InvalidOptions(format!("{}: no file", input.path.display())))
}

/// Reads and validates one customers file.
fn read_customer_file(
    input: &InputFile,
    mapping: &ColumnMapping,
    on_bad_row: OnBadRow,
    keep: &[IdPartition],
) -> Result<CustomerFile, FeatureError> {
    let fields = FieldRequest::for_kind(InputKind::Customers, mapping, 1);
    let io = |source| FeatureError::Io {
        kind: input.kind,
        path: input.path.clone(),
        source,
    };
    let make = |header: &[String]| -> Result<Collector<'_>, FeatureError> {
        let found = resolve_columns(input, header, &fields)?;
        let id_column = found[0].expect("required");
        let consent_column = found[1];
        let attribute_columns: Vec<usize> = (0..header.len())
            .filter(|c| Some(*c) != Some(id_column) && Some(*c) != consent_column)
            .collect();
        Ok(Collector {
            input,
            on_bad_row,
            id_column,
            consent_column,
            consent_name: fields[1].column.clone(),
            file: CustomerFile {
                ids: Vec::new(),
                consent: consent_column.map(|_| Vec::new()),
                attributes: attribute_columns
                    .iter()
                    .map(|c| (header[*c].clone(), Vec::new()))
                    .collect(),
                rows: 0,
                skipped: 0,
                skip_examples: Vec::new(),
            },
            attribute_columns,
            seen: HashMap::new(),
            keep,
        })
    };
    if let Some(batches) = &input.table {
        let header = input.column_names()?;
        let mut collector = make(&header)?;
        collect_batches(
            input,
            &header,
            &mut collector,
            batches.iter().cloned().map(Ok),
        )?;
        return collector.finish();
    }
    match input.format {
        FileFormat::Csv => {
            // The header as every CSV reader here sees it (BOM removed, names trimmed, UTF-8
            // checked); the reader below skips it.
            let (delimiter, header) = crate::input::csv_head(input)?;
            // Read whole (one row per customer): the bytes also give each record's true line.
            let bytes = std::fs::read(&input.path).map_err(|source| FeatureError::Io {
                kind: input.kind,
                path: input.path.clone(),
                source,
            })?;
            let mut reader = csv::ReaderBuilder::new()
                .delimiter(delimiter)
                .flexible(true)
                .from_reader(bytes.as_slice());
            let mut collector = make(&header)?;
            let mut record = csv::ByteRecord::new();
            loop {
                match reader.read_byte_record(&mut record) {
                    Ok(false) => break,
                    Ok(true) => {}
                    Err(e) => {
                        return Err(FeatureError::BadRow {
                            kind: input.kind,
                            path: input.path.clone(),
                            row: e.position().map_or("a row".into(), |p| {
                                format!("line {}", crate::input::csv_record_line(p, &bytes))
                            }),
                            reason: e.to_string(),
                        });
                    }
                }
                let line = record
                    .position()
                    .map_or(0, |p| crate::input::csv_record_line(p, &bytes));
                if record.len() != header.len() {
                    let problem = FeatureError::BadRow {
                        kind: input.kind,
                        path: input.path.clone(),
                        row: format!("line {line}"),
                        reason: format!(
                            "has {} fields but the header has {}",
                            record.len(),
                            header.len()
                        ),
                    };
                    if on_bad_row == OnBadRow::Fail {
                        return Err(problem);
                    }
                    collector.file.skipped += 1;
                    continue;
                }
                let record_ref = &record;
                collector.row(
                    format!("line {line}"),
                    &|c| Cell::Text(&record_ref[c]),
                    &header,
                )?;
            }
            collector.finish()
        }
        FileFormat::Parquet => {
            let header = crate::scan::parquet_column_names(input)?;
            let mut collector = make(&header)?;
            let file = File::open(&input.path).map_err(io)?;
            let mut reader = crate::parquet_file::checked_builder(file)
                .and_then(|b| {
                    b.with_batch_size(64 * 1024)
                        .build()
                        .map_err(|e| e.to_string())
                })
                .map_err(|message| FeatureError::Parquet {
                    kind: input.kind,
                    path: input.path.clone(),
                    message,
                })?;
            let batches =
                std::iter::from_fn(|| crate::parquet_file::next_batch(&mut reader)).map(|batch| {
                    batch.map_err(|message| FeatureError::Parquet {
                        kind: input.kind,
                        path: input.path.clone(),
                        message,
                    })
                });
            collect_batches(input, &header, &mut collector, batches)?;
            collector.finish()
        }
    }
}

/// Feeds the rows of Arrow batches (a Parquet file's, or an in-memory table's) to `collector`,
/// numbered from 1 across the batches.
fn collect_batches(
    input: &InputFile,
    header: &[String],
    collector: &mut Collector<'_>,
    batches: impl Iterator<Item = Result<arrow_array::RecordBatch, FeatureError>>,
) -> Result<(), FeatureError> {
    let mut row_number = 0u64;
    for batch in batches {
        let batch = batch?;
        let views = header
            .iter()
            .map(|name| {
                let problem = |message: String| FeatureError::Parquet {
                    kind: input.kind,
                    path: input.path.clone(),
                    message,
                };
                let array = batch
                    .column_by_name(name)
                    .ok_or_else(|| problem(format!("column {name:?} is missing from a batch")))?;
                ColumnView::of(array).map_err(|m| problem(format!("column {name:?} {m}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        for i in 0..batch.num_rows() {
            row_number += 1;
            collector.row(format!("row {row_number}"), &|c| views[c].cell(i), header)?;
        }
    }
    Ok(())
}

/// Turns a label into a column-name suffix: letters, digits and `_`.
pub(crate) fn column_suffix(label: &str) -> String {
    let cleaned: String = label
        .trim()
        .replace('+', "plus")
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { '_' })
        .collect();
    if cleaned.is_empty() {
        "blank".into()
    } else {
        cleaned
    }
}

/// Picks a name not yet in `taken` (appending `_2`, `_3` … on collisions) and records it.
pub(crate) fn unique_name(base: String, taken: &mut std::collections::HashSet<String>) -> String {
    let mut name = base.clone();
    let mut n = 2;
    while !taken.insert(name.clone()) {
        name = format!("{base}_{n}");
        n += 1;
    }
    name
}

impl CustomerFile {
    /// Attributes gathered from log lines, one value per customer (None when missing), to be
    /// encoded like a customers file's attribute columns.
    pub(crate) fn from_line_attributes(columns: Vec<(String, Vec<Option<String>>)>) -> Self {
        CustomerFile {
            ids: Vec::new(),
            consent: None,
            attributes: columns
                .into_iter()
                .map(|(name, values)| {
                    let values = values
                        .into_iter()
                        .map(|v| v.map_or(Value::Null, |t| Value::Text(t.into())))
                        .collect();
                    (name, values)
                })
                .collect(),
            rows: 0,
            skipped: 0,
            skip_examples: Vec::new(),
        }
    }

    /// How each attribute column is encoded, decided from all its values: numbers pass
    /// through, dates become days before as-of, yes/no becomes 0/1, anything else is one-hot
    /// over its `max_levels` most frequent levels (ties by text) with an `_other` column when
    /// there are more.
    pub fn encoding(&self, max_levels: usize) -> Vec<(String, AttributeEncoding)> {
        encodings(&self.attribute_summaries(), max_levels)
    }

    /// What the encoding of each attribute column needs from its values
    /// ([`AttributeSummary`]): the parts of a customers table split over workers merge theirs
    /// ([`merge_attribute_summaries`]) into the whole table's.
    pub fn attribute_summaries(&self) -> Vec<(String, AttributeSummary)> {
        self.attributes
            .iter()
            .map(|(name, values)| (name.clone(), AttributeSummary::of(values)))
            .collect()
    }

    /// The attribute columns encoded as `encoding` says (from [`CustomerFile::encoding`] on
    /// this file, or fixed for the whole base when the file is one part of it); `last_day` is
    /// the last day included (as-of − 1).
    pub fn encode_as(
        &self,
        encoding: &[(String, AttributeEncoding)],
        last_day: i32,
        taken: &mut std::collections::HashSet<String>,
    ) -> Result<EncodedAttributes, FeatureError> {
        let names: Vec<&str> = self.attributes.iter().map(|(n, _)| n.as_str()).collect();
        let expected: Vec<&str> = encoding.iter().map(|(n, _)| n.as_str()).collect();
        if names != expected {
            return Err(FeatureError::Vocabulary(format!(
                "the customers table's attribute columns are {names:?}, the vocabulary's {expected:?}"
            )));
        }
        let mut encoded = EncodedAttributes {
            specs: Vec::new(),
            columns: Vec::new(),
            empty_columns: Vec::new(),
        };
        let mut push = |encoded: &mut EncodedAttributes,
                        name: String,
                        kind,
                        unit: Option<&str>,
                        description: String,
                        values: Vec<f64>| {
            encoded.specs.push(FeatureSpec {
                name: unique_name(name, taken),
                kind,
                unit: unit.map(str::to_string),
                description,
            });
            encoded.columns.push(values);
        };
        for ((name, values), (_, how)) in self.attributes.iter().zip(encoding) {
            match how {
                AttributeEncoding::Empty => encoded.empty_columns.push(name.clone()),
                AttributeEncoding::Number => push(
                    &mut encoded,
                    name.clone(),
                    FeatureKind::Real,
                    None,
                    format!("attribute {name:?} as given (empty when missing)"),
                    values
                        .iter()
                        .map(|v| number(v).unwrap_or(f64::NAN))
                        .collect(),
                ),
                AttributeEncoding::Days => push(
                    &mut encoded,
                    format!("days_since_{}", column_suffix(name)),
                    FeatureKind::Real,
                    Some("days"),
                    format!(
                        "days from the date in attribute {name:?} to the last day before as-of (empty when missing or after as-of: no look-ahead)"
                    ),
                    values
                        .iter()
                        .map(|v| match day(v) {
                            Some(d) if d <= last_day => (last_day - d) as f64,
                            _ => f64::NAN,
                        })
                        .collect(),
                ),
                AttributeEncoding::Boolean => push(
                    &mut encoded,
                    column_suffix(name),
                    FeatureKind::Binary,
                    None,
                    format!("attribute {name:?}: 1 = yes, 0 = no (empty when missing)"),
                    values
                        .iter()
                        .map(|v| match v {
                            Value::Text(t) => boolean(t).map_or(f64::NAN, |b| b as u8 as f64),
                            _ => f64::NAN,
                        })
                        .collect(),
                ),
                AttributeEncoding::Levels { levels, other } => {
                    for level in levels {
                        let column = values
                            .iter()
                            .map(|v| (text(v).as_deref() == Some(level.as_str())) as u8 as f64)
                            .collect();
                        push(
                            &mut encoded,
                            format!("{}_{}", column_suffix(name), column_suffix(level)),
                            FeatureKind::OneHot,
                            None,
                            format!(
                                "1 when attribute {name:?} is {level:?}; empty when the customer is not in the customers file"
                            ),
                            column,
                        );
                    }
                    if *other {
                        let column = values
                            .iter()
                            .map(|v| text(v).is_some_and(|t| !levels.contains(&t)) as u8 as f64)
                            .collect();
                        push(
                            &mut encoded,
                            format!("{}_other", column_suffix(name)),
                            FeatureKind::OneHot,
                            None,
                            format!(
                                "1 when attribute {name:?} has a level outside the {} most frequent",
                                levels.len()
                            ),
                            column,
                        );
                    }
                }
            }
        }
        Ok(encoded)
    }
}

/// How one attribute column becomes feature columns (see [`CustomerFile::encoding`]). Decided
/// once for the whole base, so that every part of a base split over workers gets the same
/// columns.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AttributeEncoding {
    /// No value at all: left out (named in the provenance's `empty_attribute_columns`).
    Empty,
    /// Every value a number: passed through.
    Number,
    /// Every value a date: days before as-of.
    Days,
    /// Every value yes/no: 0/1.
    Boolean,
    /// Categorical: one column per level, and one for the rest when `other`.
    Levels {
        /// The most frequent levels, most frequent first (ties by text).
        levels: Vec<String>,
        /// Whether more levels exist than were kept.
        other: bool,
    },
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(x) => Some(*x),
        Value::Text(t) => t.parse::<f64>().ok().filter(|x| x.is_finite()),
        _ => None,
    }
}

fn day(v: &Value) -> Option<i32> {
    match v {
        Value::Day(d) => Some(*d),
        Value::Text(t) if t.contains('-') => cell::day(Cell::Text(t.as_bytes())).ok(),
        _ => None,
    }
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::Text(t) => Some(t.to_string()),
        Value::Number(x) => Some(x.to_string()),
        Value::Day(d) => Some(cell::date_of_day(*d).to_string()),
        Value::Null => None,
    }
}

/// How a column of these values is encoded (see [`CustomerFile::encoding`]).
/// What decides an attribute column's encoding, summed over its values: how many are present,
/// whether some is not a number, not a date, not yes/no, and how often each value occurs as
/// text. Parts merge exactly (counts add, flags or), so the encoding of merged parts is the
/// whole column's.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AttributeSummary {
    /// Values present (not null).
    present: u64,
    /// Some present value is not a number.
    not_all_numbers: bool,
    /// Some present value is not a date.
    not_all_days: bool,
    /// Some present value is not a yes/no text.
    not_all_booleans: bool,
    /// Each present value, as text, with how many customers have it.
    levels: std::collections::BTreeMap<String, u64>,
}

impl AttributeSummary {
    fn of(values: &[Value]) -> AttributeSummary {
        let mut summary = AttributeSummary::default();
        for v in values.iter().filter(|v| **v != Value::Null) {
            summary.present += 1;
            summary.not_all_numbers |= number(v).is_none();
            summary.not_all_days |= day(v).is_none();
            summary.not_all_booleans |= !matches!(v, Value::Text(t) if boolean(t).is_some());
            *summary.levels.entry(text(v).expect("present")).or_default() += 1;
        }
        summary
    }

    /// Adds another part's summary of the same column.
    pub fn merge(&mut self, other: &AttributeSummary) {
        self.present += other.present;
        self.not_all_numbers |= other.not_all_numbers;
        self.not_all_days |= other.not_all_days;
        self.not_all_booleans |= other.not_all_booleans;
        for (level, n) in &other.levels {
            *self.levels.entry(level.clone()).or_default() += n;
        }
    }

    /// The column's encoding: numbers pass through, dates become days, yes/no 0/1, anything
    /// else one-hot over the `max_levels` most frequent levels (ties by text).
    pub fn encoding(&self, max_levels: usize) -> AttributeEncoding {
        if self.present == 0 {
            return AttributeEncoding::Empty;
        }
        if !self.not_all_numbers {
            return AttributeEncoding::Number;
        }
        if !self.not_all_days {
            return AttributeEncoding::Days;
        }
        if !self.not_all_booleans {
            return AttributeEncoding::Boolean;
        }
        let mut levels: Vec<(&String, u64)> = self.levels.iter().map(|(l, n)| (l, *n)).collect();
        levels.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        let other = levels.len() > max_levels;
        levels.truncate(max_levels);
        AttributeEncoding::Levels {
            levels: levels.into_iter().map(|(level, _)| level.clone()).collect(),
            other,
        }
    }
}

/// Adds the attribute summaries of another part of a customers table to `total` (the same
/// attribute columns, in the same order).
pub fn merge_attribute_summaries(
    total: &mut [(String, AttributeSummary)],
    part: &[(String, AttributeSummary)],
) -> Result<(), FeatureError> {
    let names =
        |s: &[(String, AttributeSummary)]| s.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    if names(total) != names(part) {
        return Err(FeatureError::Vocabulary(format!(
            "the parts of the customers table have other attribute columns: {:?} and {:?}",
            names(total),
            names(part)
        )));
    }
    for ((_, mine), (_, theirs)) in total.iter_mut().zip(part) {
        mine.merge(theirs);
    }
    Ok(())
}

/// The encoding of each summarised attribute column.
pub fn encodings(
    summaries: &[(String, AttributeSummary)],
    max_levels: usize,
) -> Vec<(String, AttributeEncoding)> {
    summaries
        .iter()
        .map(|(name, summary)| (name.clone(), summary.encoding(max_levels)))
        .collect()
}
