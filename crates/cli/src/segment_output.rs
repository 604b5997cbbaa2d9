//! Writing a segmentation: one row per customer, CSV or Parquet, atomically.

use std::path::Path;
use std::sync::Arc;

use anyhow::bail;
use arrow_array::{ArrayRef, BooleanArray, RecordBatch, StringArray, UInt8Array};
use arrow_schema::{DataType, Field, Schema};
use lookalike_core::FeatureTable;
use lookalike_rfm::Segmentation;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use rayon::prelude::*;

const ROWS_PER_PIECE: usize = 64 * 1024;

/// The output columns, in order (flags only when the features had event columns).
fn header(segmentation: &Segmentation) -> Vec<&'static str> {
    let mut columns = vec![
        "customer_id",
        "r_score",
        "f_score",
        "m_score",
        "rfm_cell",
        "rfm_segment",
        "lifecycle",
        "value_tier",
        "primary_segment",
        "segments",
    ];
    if segmentation.flags.is_some() {
        columns.extend(["cart_abandoner", "active_browser", "engaged", "dormant"]);
    }
    columns
}

fn text_cells(table: &FeatureTable, s: &Segmentation, i: usize) -> [String; 10] {
    let score = |v: Option<u8>| v.map_or(String::new(), |v| v.to_string());
    [
        table.ids()[i].to_string(),
        score(s.r[i]),
        score(s.f[i]),
        score(s.m[i]),
        s.rfm_cell(i).unwrap_or_default(),
        s.rfm_segment[i].map_or("", |x| x.name()).to_string(),
        s.lifecycle[i].name().to_string(),
        s.value_tier[i].name().to_string(),
        s.primary_name(i).unwrap_or("").to_string(),
        s.segments_of(i),
    ]
}

/// Writes `segmentation` to `path` (.csv or .parquet).
pub fn write_segments(
    table: &FeatureTable,
    segmentation: &Segmentation,
    path: &Path,
) -> anyhow::Result<()> {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("csv") => write_csv(table, segmentation, path),
        Some("parquet") | Some("pq") => write_parquet(table, segmentation, path),
        _ => bail!(
            "cannot tell the output format of {}; use .csv or .parquet",
            path.display()
        ),
    }
}

fn write_csv(table: &FeatureTable, s: &Segmentation, path: &Path) -> anyhow::Result<()> {
    let columns = header(s);
    lookalike_core::write_atomically(path, |w| {
        use std::io::Write;
        w.write_all(columns.join(",").as_bytes())?;
        w.write_all(b"\n")?;
        let starts: Vec<usize> = (0..table.len()).step_by(ROWS_PER_PIECE).collect();
        for group in starts.chunks(2 * rayon::current_num_threads().max(1)) {
            let pieces: Vec<std::io::Result<Vec<u8>>> = group
                .par_iter()
                .map(|&start| {
                    let mut writer = csv::Writer::from_writer(Vec::new());
                    for i in start..(start + ROWS_PER_PIECE).min(table.len()) {
                        let mut record: Vec<String> = text_cells(table, s, i).into();
                        if let Some(flags) = &s.flags {
                            for flag in [
                                &flags.cart_abandoner,
                                &flags.active_browser,
                                &flags.engaged,
                                &flags.dormant,
                            ] {
                                record.push(if flag[i] { "1" } else { "0" }.into());
                            }
                        }
                        writer.write_record(&record)?;
                    }
                    writer
                        .into_inner()
                        .map_err(|e| std::io::Error::other(e.to_string()))
                })
                .collect();
            for piece in pieces {
                w.write_all(&piece?)?;
            }
        }
        Ok(())
    })?;
    Ok(())
}

fn write_parquet(table: &FeatureTable, s: &Segmentation, path: &Path) -> anyhow::Result<()> {
    let columns = header(s);
    let fields: Vec<Field> = columns
        .iter()
        .map(|name| match *name {
            "customer_id" => Field::new(*name, DataType::Utf8, false),
            "r_score" | "f_score" | "m_score" => Field::new(*name, DataType::UInt8, true),
            "cart_abandoner" | "active_browser" | "engaged" | "dormant" => {
                Field::new(*name, DataType::Boolean, false)
            }
            _ => Field::new(*name, DataType::Utf8, true),
        })
        .collect();
    let schema = Arc::new(Schema::new(fields));
    let properties = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();
    lookalike_core::write_atomically(path, |w| {
        let mut writer = ArrowWriter::try_new(w, schema.clone(), Some(properties))
            .map_err(std::io::Error::other)?;
        for start in (0..table.len()).step_by(ROWS_PER_PIECE) {
            let rows = start..(start + ROWS_PER_PIECE).min(table.len());
            let cells: Vec<[String; 10]> = rows
                .clone()
                .into_par_iter()
                .map(|i| text_cells(table, s, i))
                .collect();
            let text = |k: usize, empty_is_null: bool| -> ArrayRef {
                Arc::new(StringArray::from_iter(cells.iter().map(|c| {
                    (!(empty_is_null && c[k].is_empty())).then(|| c[k].as_str())
                })))
            };
            let scores = |v: &[Option<u8>]| -> ArrayRef {
                Arc::new(UInt8Array::from(v[rows.clone()].to_vec()))
            };
            let mut arrays: Vec<ArrayRef> = vec![
                text(0, false),
                scores(&s.r),
                scores(&s.f),
                scores(&s.m),
                text(4, true),
                text(5, true),
                text(6, false),
                text(7, false),
                text(8, true),
                text(9, false),
            ];
            if let Some(flags) = &s.flags {
                for flag in [
                    &flags.cart_abandoner,
                    &flags.active_browser,
                    &flags.engaged,
                    &flags.dormant,
                ] {
                    arrays.push(Arc::new(BooleanArray::from(flag[rows.clone()].to_vec())));
                }
            }
            let batch =
                RecordBatch::try_new(schema.clone(), arrays).map_err(std::io::Error::other)?;
            writer.write(&batch).map_err(std::io::Error::other)?;
        }
        writer.close().map_err(std::io::Error::other)?;
        Ok(())
    })?;
    Ok(())
}
