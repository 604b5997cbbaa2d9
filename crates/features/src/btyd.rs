//! The BTYD summary alone, straight from a transaction log.
//!
//! Fitting and scoring the value models needs four numbers per customer (frequency, recency, T,
//! monetary value), which the full extraction computes among thirty others. This pass reads only
//! the customer, timestamp and amount columns and keeps one (day, value) pair per purchase day,
//! so a log goes to a value model at a fraction of the cost. Its columns are computed by the same
//! code as [`extract`](crate::extract)'s and equal them exactly, customer for customer, in the
//! same order.

use lookalike_core::{ColumnMapping, CustomerId, IdPartition, InputKind, Progress};
use rayon::prelude::*;

use crate::FeatureError;
use crate::cell::{Cell, DayCache, date_of_day, day_number};
use crate::columns::{BTYD_WIDTH, btyd_specs, fill_btyd};
use crate::customer_slots::{CustomerSlots, CustomerState, customer_id};
use crate::extract::{Extraction, InputReport, table_and_schema};
use crate::input::InputFile;
use crate::params::{FeatureParams, MissingCustomer};
use crate::scan::{RowHandler, RowProblem, ScanOptions, scan};
use crate::transactions::{AmountSource, TransactionFields, line_amount, slot, transaction_fields};

/// One customer's purchase days so far: (day, value of the day's purchase lines, fixed point).
/// A customer whose calibration lines are all refunds has none but is still a customer.
#[derive(Debug, Default)]
struct PurchaseDays {
    first_seen: u64,
    days: Vec<(i32, i64)>,
}

impl PurchaseDays {
    /// Sorted, one pair per day.
    fn compact(&mut self) {
        self.days.sort_unstable_by_key(|d| d.0);
        self.days.dedup_by(|later, kept| {
            let same = later.0 == kept.0;
            if same {
                kept.1 += later.1;
            }
            same
        });
    }
}

impl CustomerState for PurchaseDays {
    fn first_seen_at(first_seen: u64) -> Self {
        PurchaseDays {
            first_seen,
            days: Vec::new(),
        }
    }

    fn seen_at(&mut self, order_key: u64) {
        self.first_seen = self.first_seen.min(order_key);
    }

    fn merge(&mut self, other: Self) {
        self.first_seen = self.first_seen.min(other.first_seen);
        self.days.extend(other.days);
    }

    fn touch(&self) -> u64 {
        self.first_seen
    }
}

/// Per-thread aggregation: the customers this worker saw and their purchase days.
struct BtydHandler {
    as_of: Option<i32>,
    slots: CustomerSlots<PurchaseDays>,
    days: DayCache,
    scratch: String,
    max_day: i32,
    after_as_of: u64,
    amount_source: AmountSource,
}

impl BtydHandler {
    fn new(
        as_of: Option<i32>,
        keep: &[IdPartition],
        amount_source: AmountSource,
        params: &FeatureParams,
    ) -> Self {
        BtydHandler {
            as_of,
            slots: CustomerSlots::keeping(keep),
            days: DayCache::with_format(params.date_format.as_deref()),
            scratch: String::new(),
            max_day: i32::MIN,
            after_as_of: 0,
            amount_source,
        }
    }

    /// Folds another worker's customers into this one's.
    fn absorb(&mut self, other: BtydHandler) {
        self.slots.absorb(other.slots);
        self.max_day = self.max_day.max(other.max_day);
        self.after_as_of += other.after_as_of;
    }
}

impl RowHandler for BtydHandler {
    fn route(&mut self, owner: usize, owners: usize) {
        self.slots.route(owner, owners);
    }

    fn warm(&self, ids: &[Cell<'_>], found: &mut [Option<u32>]) {
        self.slots.warm(ids, found);
    }

    fn row(
        &mut self,
        order_key: u64,
        cells: &[Cell<'_>],
        found: Option<u32>,
    ) -> Result<(), RowProblem> {
        let fail = |slot: usize| move |reason: String| RowProblem::field(slot, cells[slot], reason);
        let day = self
            .days
            .day(cells[slot::TIMESTAMP])
            .map_err(fail(slot::TIMESTAMP))?;
        let amount = line_amount(cells, self.amount_source)?;
        if self.as_of.is_some_and(|a| day >= a) {
            customer_id(cells[slot::CUSTOMER], &mut self.scratch)?;
            self.after_as_of += 1;
            return Ok(());
        }
        let index =
            self.slots
                .slot_of(cells[slot::CUSTOMER], order_key, &mut self.scratch, found)?;
        self.max_day = self.max_day.max(day);
        let Some(index) = index else {
            return Ok(());
        };
        let index = index as usize;
        // Refund lines make a customer but not a purchase day, as in the full extraction.
        if amount >= 0 {
            let days = &mut self.slots.customers[index].days;
            match days.last_mut() {
                Some(last) if last.0 == day => last.1 += amount,
                _ => days.push((day, amount)),
            }
        }
        Ok(())
    }
}

/// Reads the customer, timestamp and amount columns of a transaction log and returns the BTYD
/// summary (frequency, recency, T, monetary_value) of every customer with a line before as-of,
/// in order of first appearance: the same rows and values as the first four columns of
/// [`extract`](crate::extract) on the same log. Other columns of the log are not read, so their
/// values are not checked either. A holdout end is refused: holdout targets need the full
/// extraction.
pub fn btyd_summary(
    transactions: &InputFile,
    mapping: &ColumnMapping,
    params: &FeatureParams,
    progress: &dyn Progress,
) -> Result<Extraction, FeatureError> {
    params.validate()?;
    if params.holdout_end.is_some() {
        return Err(FeatureError::InvalidOptions(
            "the BTYD summary has no holdout columns; use the full feature extraction for a holdout"
                .into(),
        ));
    }
    let TransactionFields {
        mut fields,
        amount_source,
        ..
    } = transaction_fields(transactions, mapping, &[])?;
    if amount_source == AmountSource::Amount {
        // Only the customer, timestamp and amount columns are read.
        fields.truncate(slot::AMOUNT + 1);
    }
    let options = ScanOptions {
        on_bad_row: params.on_bad_row,
        threads: params.threads,
        skip_guests: params.missing_customer == MissingCustomer::Skip,
    };
    let as_of = params.as_of.map(day_number);
    let scanned = scan(transactions, &fields, options, progress, || {
        BtydHandler::new(as_of, &params.customers_in, amount_source, params)
    })?;
    let mut handlers = scanned.handlers.into_iter();
    let mut merged = handlers.next().expect("at least one worker");
    for other in handlers {
        merged.absorb(other);
    }
    let as_of = match as_of {
        Some(day) => day,
        None if merged.max_day == i32::MIN => {
            return Err(FeatureError::NoCustomers(format!(
                "{} has no data rows, so there is no last transaction to set the as-of date; pass --as-of",
                transactions.path.display()
            )));
        }
        None => merged.max_day + 1,
    };
    if merged.slots.customers.is_empty() {
        return Err(FeatureError::NoCustomers(format!(
            "no row of {} is dated before the as-of date {}",
            transactions.path.display(),
            date_of_day(as_of)
        )));
    }
    merged
        .slots
        .customers
        .par_iter_mut()
        .for_each(PurchaseDays::compact);
    let mut order: Vec<(u64, &str, u32)> = merged
        .slots
        .index
        .iter()
        .map(|(id, i)| (merged.slots.customers[i as usize].first_seen, &**id, i))
        .collect();
    order.par_sort_unstable_by_key(|(first_seen, _, _)| *first_seen);

    let last_day = as_of - 1;
    let unit_days = params.time_unit.days();
    let mut values = vec![0.0; order.len() * BTYD_WIDTH];
    values
        .par_chunks_mut(BTYD_WIDTH)
        .zip(order.par_iter())
        .for_each_init(Vec::new, |days, (row, (_, _, i))| {
            days.clear();
            days.extend(
                merged.slots.customers[*i as usize]
                    .days
                    .iter()
                    .map(|(day, value)| (*day, *value as i128)),
            );
            fill_btyd(days, last_day, unit_days, row);
        });
    let specs = btyd_specs(params.time_unit);
    let ids: Vec<CustomerId> = order
        .iter()
        .map(|(_, id, _)| CustomerId::from(*id))
        .collect();
    let (table, mut schema) = table_and_schema(ids, specs, values, as_of, params)?;
    let provenance = &mut schema.provenance;
    provenance.insert(
        "inputs".into(),
        serde_json::json!({
            "transactions": {
                "path": transactions.path.display().to_string(),
                "rows": scanned.rows,
                "skipped": scanned.skipped,
                "after_as_of": merged.after_as_of,
            }
        }),
    );
    // Many small per-customer buffers take a while to free; do it off the caller's path.
    let state = (
        std::mem::take(&mut merged.slots.index),
        std::mem::take(&mut merged.slots.customers),
    );
    std::thread::spawn(move || drop(state));
    Ok(Extraction {
        table,
        schema,
        inputs: vec![InputReport {
            kind: InputKind::Transactions,
            rows: scanned.rows,
            skipped: scanned.skipped,
            skip_examples: scanned.skip_examples,
            after_as_of: merged.after_as_of,
            ignored_after_window: 0,
            guest_lines: scanned.guest_lines,
        }],
        as_of: date_of_day(as_of),
        holdout_weeks: Vec::new(),
        calibration_weeks: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FeatureInputs, extract};
    use chrono::NaiveDate;
    use lookalike_core::NoProgress;

    fn log(text: &str) -> (tempfile::TempDir, InputFile) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tx.csv");
        std::fs::write(&path, text).unwrap();
        let input = InputFile::new(InputKind::Transactions, &path, None, None).unwrap();
        (dir, input)
    }

    fn full(input: &InputFile, params: &FeatureParams) -> Extraction {
        let inputs = FeatureInputs {
            transactions: input.clone(),
            events: None,
            customers: None,
            mapping: ColumnMapping::default(),
        };
        extract(&inputs, params, &NoProgress).unwrap()
    }

    /// Same rows, same order, same bits as the full extraction's first four columns, through
    /// refunds, same-day lines, orders split over lines, rows after as-of and a customer with
    /// refunds only.
    #[test]
    fn equals_the_full_extraction() {
        let (_dir, input) = log("customer_id,timestamp,amount,order_id,category\n\
             b,2024-01-03,10.5,o1,x\n\
             a,2024-01-01,5,o2,y\n\
             b,2024-01-03,4.25,o3,x\n\
             b,2024-01-01,-3,o4,x\n\
             c,2024-01-02,-7,o5,\n\
             a,2024-01-09,12,o6,y\n\
             b,2024-02-01,1,o7,y\n\
             a,2024-01-09,0,o8,y\n\
             d,2024-03-01,9,o9,y\n\
             b,2024-01-20,2,o10,x\n");
        for unit in [crate::TimeUnit::Days, crate::TimeUnit::Weeks] {
            for threads in [1, 2] {
                let params = FeatureParams::new()
                    .as_of(NaiveDate::from_ymd_opt(2024, 2, 15).unwrap())
                    .time_unit(unit)
                    .threads(threads);
                let lean =
                    btyd_summary(&input, &ColumnMapping::default(), &params, &NoProgress).unwrap();
                let whole = full(&input, &params);
                assert_eq!(lean.table.ids(), whole.table.ids());
                assert_eq!(lean.table.columns(), &whole.table.columns()[..4]);
                for name in lean.table.columns() {
                    let a = lean.table.column(name).unwrap();
                    let b = whole.table.column(name).unwrap();
                    let same = a
                        .iter()
                        .zip(b.iter())
                        .all(|(x, y)| x.to_bits() == y.to_bits());
                    assert!(same, "{name}: {a:?} vs {b:?}");
                }
                assert_eq!(lean.as_of, whole.as_of);
                assert_eq!(lean.inputs[0].after_as_of, 1);
            }
        }
    }

    /// Hand-computed: b buys on Jan 1 (refund only: no purchase), Jan 3 (14.75), Jan 20 (2) and
    /// Feb 1 (1): x = 2, t_x = 29 days (Jan 3 to Feb 1), T = 42 days (Jan 3 to Feb 14, the last day), monetary (2 + 1) / 2.
    #[test]
    fn hand_computed_summary() {
        let (_dir, input) = log("customer_id,timestamp,amount\n\
             b,2024-01-03,10.5\nb,2024-01-03,4.25\nb,2024-01-01,-3\nc,2024-01-02,-7\n\
             b,2024-02-01,1\nb,2024-01-20,2\n");
        let params = FeatureParams::new()
            .as_of(NaiveDate::from_ymd_opt(2024, 2, 15).unwrap())
            .time_unit(crate::TimeUnit::Days);
        let lean = btyd_summary(&input, &ColumnMapping::default(), &params, &NoProgress).unwrap();
        assert_eq!(lean.table.ids()[0].as_str(), "b");
        assert_eq!(
            lean.table.values().row(0).to_vec(),
            vec![2.0, 29.0, 42.0, 1.5]
        );
        assert_eq!(lean.table.ids()[1].as_str(), "c");
        assert!(lean.table.values().row(1).iter().all(|v| v.is_nan()));
    }

    #[test]
    fn as_of_defaults_to_the_day_after_the_last_line() {
        let (_dir, input) = log("customer_id,timestamp,amount\na,2024-01-01,5\na,2024-01-05,1\n");
        let lean = btyd_summary(
            &input,
            &ColumnMapping::default(),
            &FeatureParams::new(),
            &NoProgress,
        )
        .unwrap();
        assert_eq!(lean.as_of, NaiveDate::from_ymd_opt(2024, 1, 6).unwrap());
    }

    #[test]
    fn refuses_a_holdout_and_an_empty_log() {
        let (_dir, input) = log("customer_id,timestamp,amount\na,2024-01-01,5\n");
        let params = FeatureParams::new()
            .as_of(NaiveDate::from_ymd_opt(2024, 2, 1).unwrap())
            .holdout_end(NaiveDate::from_ymd_opt(2024, 3, 1).unwrap());
        let error = btyd_summary(&input, &ColumnMapping::default(), &params, &NoProgress)
            .unwrap_err()
            .to_string();
        assert!(error.contains("holdout"), "{error}");
        let (_dir, empty) = log("customer_id,timestamp,amount\n");
        let error = btyd_summary(
            &empty,
            &ColumnMapping::default(),
            &FeatureParams::new(),
            &NoProgress,
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("no data rows"), "{error}");
    }

    #[test]
    fn a_bad_amount_names_file_row_and_column() {
        let (_dir, input) = log("customer_id,timestamp,amount\na,2024-01-01,5\na,2024-01-02,NaN\n");
        let error = btyd_summary(
            &input,
            &ColumnMapping::default(),
            &FeatureParams::new(),
            &NoProgress,
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("tx.csv"), "{error}");
        assert!(error.contains("line 3"), "{error}");
        assert!(error.contains("amount"), "{error}");
    }
}
