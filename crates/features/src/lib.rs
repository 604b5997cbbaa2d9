//! Per-customer features from transaction, event and customer logs.
//!
//! [`extract`] reads the inputs (CSV or Parquet, columns mapped with
//! [`ColumnMapping`](lookalike_core::ColumnMapping)), validates every row (bad rows are reported
//! with file, line and column, or skipped and counted with [`OnBadRow::Skip`]), and aggregates one
//! row per customer as of a date, with no look-ahead: only rows strictly before as-of feed the
//! features; optional holdout targets come from the window after it. The BTYD summary follows
//! Fader, Hardie & Lee (2005): same-day purchases merged, `frequency` = repeat purchase days.
//!
//! [`btyd_summary`] computes those four BTYD columns alone from a transaction log, reading only
//! its customer, timestamp and amount columns: the value models' fast path from a log.
//!
//! Reading streams: CSV is cut into blocks parsed by worker threads, Parquet is read by row
//! group, and each customer's state holds one entry per order, so memory grows with customers
//! and orders, not with line items.

mod btyd;
mod category_spend;
mod cell;
mod chunked_log;
mod chunks;
mod columns;
mod customer_slots;
mod customers;
mod dictionary;
mod error;
mod events;
mod extract;
mod grouped_entries;
mod input;
mod outcomes;
mod params;
mod parquet_file;
mod scan;
mod slot_table;
mod slot_vec;
mod table_check;
mod table_io;
mod transactions;
mod vocabulary;

pub use btyd::btyd_summary;
pub use cell::{date_of_day, day_number, parse_date};
pub use chunks::{FeatureChunks, batch_from_table, table_from_batch};
pub use customers::{AttributeEncoding, AttributeSummary, encodings, merge_attribute_summaries};
pub use error::FeatureError;
pub use extract::{
    ColumnTiles, Extraction, FeatureInputs, FeatureRows, InputReport, attribute_summaries, extract,
    extract_with, label_totals,
};
pub use input::{FileFormat, InputFile};
pub use outcomes::{Outcome, Outcomes, outcomes};
pub use params::{FeatureParams, LogReading, MissingCustomer, OnBadRow, TimeUnit};
pub use table_io::{
    format_number, integer_columns, read_feature_table, read_scaled_table, typed_batch,
    with_run_metadata, write_csv_in_parallel, write_feature_rows, write_feature_table,
    write_parquet_in_parallel,
};
pub use vocabulary::{LabelTotals, Vocabulary};
