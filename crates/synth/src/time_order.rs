//! Logs in global time order, as a shop's export appends them, in bounded memory.
//!
//! Customers are drawn in chunks (so that a seed gives the same rows in either order); in time
//! order their transaction and event rows are spilled into buckets of consecutive days, each an
//! anonymous temporary file beside the output. Once every customer is drawn, the buckets are read
//! back one at a time, earliest first, sorted and written: memory holds one bucket, whatever the
//! base's size, and a killed run leaves no spill files behind (they have no name).

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

use crate::simulate::{EventRow, SECONDS_PER_DAY, TxRow};

/// The order in which the generated logs list their rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum LogOrder {
    /// Customers in chunks of 8,192, each chunk's rows in time order: one customer's rows sit
    /// close together (the friendly layout of an export sorted by customer).
    #[default]
    Customer,
    /// Every row in time order over the whole file, one customer's rows spread across it: the
    /// layout of a real, appended log.
    Time,
}

/// Customers per bucket of days, about (a bucket's rows are held in memory to be sorted):
/// about 30 MB of rows at the default personas.
const CUSTOMERS_PER_BUCKET: u64 = 25_000;

/// Fewest and most buckets. Each holds two open files, and some systems allow a process only
/// 256; past 2.5 million customers the buckets grow instead (about 120 MB at 10 million).
const MIN_BUCKETS: u64 = 4;
const MAX_BUCKETS: u64 = 100;

const TX_BYTES: usize = 31;
const EVENT_BYTES: usize = 18;

/// One bucket's two spill files.
struct Bucket {
    transactions: BufWriter<File>,
    events: BufWriter<File>,
}

/// Rows spilled by time bucket, to be read back in time order.
pub(crate) struct TimeBuckets {
    first_day: i64,
    days_per_bucket: i64,
    buckets: Vec<Bucket>,
}

impl TimeBuckets {
    /// Buckets for `customers` customers whose rows fall from `first_day` to before `end_day`
    /// (rows outside go to the first or last bucket), spilled in `dir`.
    pub fn new(customers: u64, first_day: i32, end_day: i32, dir: &Path) -> std::io::Result<Self> {
        let count = customers
            .div_ceil(CUSTOMERS_PER_BUCKET)
            .clamp(MIN_BUCKETS, MAX_BUCKETS) as i64;
        let days = i64::from((end_day - first_day).max(1));
        let days_per_bucket = (days + count - 1) / count;
        let buckets = (0..(days + days_per_bucket - 1) / days_per_bucket)
            .map(|_| {
                Ok(Bucket {
                    transactions: BufWriter::with_capacity(1 << 16, tempfile::tempfile_in(dir)?),
                    events: BufWriter::with_capacity(1 << 16, tempfile::tempfile_in(dir)?),
                })
            })
            .collect::<std::io::Result<Vec<_>>>()?;
        Ok(TimeBuckets {
            first_day: i64::from(first_day),
            days_per_bucket,
            buckets,
        })
    }

    fn bucket_of(&self, seconds: i64) -> usize {
        let day = seconds.div_euclid(SECONDS_PER_DAY);
        let index = (day - self.first_day).div_euclid(self.days_per_bucket);
        index.clamp(0, self.buckets.len() as i64 - 1) as usize
    }

    /// Spills a chunk's rows into their buckets (in the chunk's order, which the final stable
    /// sort keeps for rows with equal keys).
    pub fn spill(&mut self, transactions: &[TxRow], events: &[EventRow]) -> std::io::Result<()> {
        for row in transactions {
            let bucket = self.bucket_of(row.seconds);
            self.buckets[bucket]
                .transactions
                .write_all(&encode_tx(row))?;
        }
        for row in events {
            let bucket = self.bucket_of(row.seconds);
            self.buckets[bucket].events.write_all(&encode_event(row))?;
        }
        Ok(())
    }

    /// The buckets, earliest first, each read back and sorted by (time, customer, order) for
    /// transactions and (time, customer, kind) for events, the keys each chunk is sorted by in
    /// customer order.
    pub fn into_sorted(self) -> impl Iterator<Item = std::io::Result<(Vec<TxRow>, Vec<EventRow>)>> {
        self.buckets.into_iter().map(|bucket| {
            let mut transactions: Vec<TxRow> = read_back(bucket.transactions, TX_BYTES, decode_tx)?;
            transactions.sort_by_key(|r| (r.seconds, r.customer, r.order));
            let mut events: Vec<EventRow> = read_back(bucket.events, EVENT_BYTES, decode_event)?;
            events.sort_by_key(|e| (e.seconds, e.customer, e.kind));
            Ok((transactions, events))
        })
    }
}

fn read_back<T>(
    writer: BufWriter<File>,
    width: usize,
    decode: fn(&[u8]) -> T,
) -> std::io::Result<Vec<T>> {
    let mut file = writer.into_inner().map_err(|e| e.into_error())?;
    let length = file.seek(SeekFrom::End(0))? as usize;
    file.seek(SeekFrom::Start(0))?;
    let mut bytes = Vec::with_capacity(length);
    BufReader::new(file).read_to_end(&mut bytes)?;
    Ok(bytes.chunks_exact(width).map(decode).collect())
}

fn encode_tx(row: &TxRow) -> [u8; TX_BYTES] {
    let mut out = [0u8; TX_BYTES];
    out[0..8].copy_from_slice(&row.customer.to_le_bytes());
    out[8..16].copy_from_slice(&row.seconds.to_le_bytes());
    out[16..20].copy_from_slice(&row.order.to_le_bytes());
    out[20..28].copy_from_slice(&row.amount_cents.to_le_bytes());
    out[28] = row.quantity;
    out[29] = row.category;
    out[30] = row.channel;
    out
}

fn decode_tx(bytes: &[u8]) -> TxRow {
    let u64_at = |i: usize| u64::from_le_bytes(bytes[i..i + 8].try_into().expect("8 bytes"));
    TxRow {
        customer: u64_at(0),
        seconds: u64_at(8) as i64,
        order: u32::from_le_bytes(bytes[16..20].try_into().expect("4 bytes")),
        amount_cents: u64_at(20) as i64,
        quantity: bytes[28],
        category: bytes[29],
        channel: bytes[30],
    }
}

fn encode_event(row: &EventRow) -> [u8; EVENT_BYTES] {
    let mut out = [0u8; EVENT_BYTES];
    out[0..8].copy_from_slice(&row.customer.to_le_bytes());
    out[8..16].copy_from_slice(&row.seconds.to_le_bytes());
    out[16] = row.kind;
    out[17] = row.category;
    out
}

fn decode_event(bytes: &[u8]) -> EventRow {
    let u64_at = |i: usize| u64::from_le_bytes(bytes[i..i + 8].try_into().expect("8 bytes"));
    EventRow {
        customer: u64_at(0),
        seconds: u64_at(8) as i64,
        kind: bytes[16],
        category: bytes[17],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_come_back_whole_and_in_time_order() {
        let dir = tempfile::tempdir().unwrap();
        let day = SECONDS_PER_DAY;
        // Four buckets over 30 days; rows out of range go to the first and last.
        let mut buckets = TimeBuckets::new(60_000, 100, 130, dir.path()).unwrap();
        let tx = |customer: u64, seconds: i64, order: u32| TxRow {
            customer,
            seconds,
            order,
            amount_cents: -(customer as i64) * 7 - 1,
            quantity: 3,
            category: 250,
            channel: 4,
        };
        let first = [tx(1, 129 * day, 1), tx(1, 101 * day, 2), tx(2, 50 * day, 1)];
        let second = [
            tx(3, 101 * day, 9),
            tx(4, 200 * day, 1),
            tx(3, 101 * day, 8),
        ];
        let events = [EventRow {
            customer: 9,
            seconds: 120 * day + 5,
            kind: 6,
            category: 255,
        }];
        buckets.spill(&first, &events).unwrap();
        buckets.spill(&second, &[]).unwrap();
        let mut all_tx = Vec::new();
        let mut all_events = Vec::new();
        for bucket in buckets.into_sorted() {
            let (t, e) = bucket.unwrap();
            all_tx.extend(t);
            all_events.extend(e);
        }
        let keys: Vec<(i64, u64, u32)> = all_tx
            .iter()
            .map(|r| (r.seconds / day, r.customer, r.order))
            .collect();
        assert_eq!(
            keys,
            [
                (50, 2, 1),
                (101, 1, 2),
                (101, 3, 8),
                (101, 3, 9),
                (129, 1, 1),
                (200, 4, 1)
            ]
        );
        assert_eq!(all_tx[0].amount_cents, -15);
        assert_eq!(
            (all_tx[0].quantity, all_tx[0].category, all_tx[0].channel),
            (3, 250, 4)
        );
        assert_eq!(all_events.len(), 1);
        assert_eq!(
            (
                all_events[0].customer,
                all_events[0].seconds,
                all_events[0].kind,
                all_events[0].category
            ),
            (9, 120 * day + 5, 6, 255)
        );
    }
}
