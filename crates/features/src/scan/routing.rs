//! One owner per customer: every worker parses its share of the file, but a row is aggregated
//! by the worker its customer id hashes to.
//!
//! In a log in time order a customer's rows are spread over the whole file, so workers that
//! aggregated whatever rows they parsed would each build a state for nearly every customer and
//! then merge them: twice the memory and a merge of full maps. Here a worker keeps the rows of
//! the customers it owns and packs the others' rows (their cells, copied) into batches sent to
//! their owners, who take them between blocks. Rows in memory that other threads may read (an
//! Arrow batch, [`SharedRows`]) are not packed: the batch itself is sent, with the indices of
//! the owner's rows, and each owner makes its rows' cells from it. The owner is a hash of the
//! id as it is kept ([`owner_of`]), so every spelling of one id goes to one owner, and the
//! handlers' indexes join after the scan as disjoint shards.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crossbeam_channel::{Receiver, Sender};

use super::{MAX_FIELDS, Place, Problems, RowHandler};
use crate::cell::Cell;
use crate::customer_slots::{customer_id, owner_of};
use crate::dictionary::LabelId;

/// Bytes of packed rows sent to an owner at a time.
const BATCH_BYTES: usize = 64 << 10;

/// Bytes of a worker's own rows held before they are applied: rows whose fields live in a
/// per-record buffer (a CSV block with quoted fields) go through the same packed batches as the
/// rows it receives, so that every row is applied in warmed groups (rows of a plain CSV block
/// are held by reference instead, see [`HeldRows`], and Arrow batches are [`SharedRows`]).
const OWN_BATCH_BYTES: usize = 16 << 10;

/// Emptied batches a worker keeps for reuse.
const MAX_SPARE: usize = 8;

/// Rows applied as one group: each row's customer is looked up ([`RowHandler::warm`]) before
/// any of the group's rows is applied.
const WARM_GROUP: usize = 32;

/// Rows whose customer id cells are made at once to route them.
const ID_CHUNK: usize = 256;

/// Rows held in memory that any worker may read (an Arrow batch): a worker sends another owner
/// the source and the indices of that owner's rows instead of packing them, and every owner
/// makes its rows' cells from the source as it applies them. Packing and unpacking the rows of
/// other owners (half of all rows with two workers) was 5–6% of a Parquet scan's samples.
pub(super) trait SharedRows: Send + Sync {
    /// Rows in the source.
    fn len(&self) -> usize;
    /// The customer id cell of each row in `rows`, into `out` (row `rows.start + k` into
    /// `out[k]`).
    fn ids_into<'a>(&'a self, rows: std::ops::Range<usize>, out: &mut [Cell<'a>]);
    /// The fields read from dictionary columns, each with the dictionary's values.
    fn label_columns(&self) -> Vec<(usize, Vec<&str>)>;
    /// The rows `rows` (indices into the source), one into each row of `group`; a field with
    /// `labels[field]` (the label id of each value of its dictionary, from
    /// [`RowHandler::label_ids`]) as [`Cell::Label`]s.
    fn rows_into<'a>(
        &'a self,
        rows: &[u32],
        group: &mut [PackedRow<'a>],
        labels: &[Option<Vec<LabelId>>],
    );
}

/// What one worker sends another.
enum Delivery {
    Packed(PackedRows),
    /// A source and the indices of the receiver's rows in it.
    Shared(Arc<dyn SharedRows>, Vec<u32>),
}

/// Rows for one owner: each row's ordering key, place and cells, packed into bytes; the text
/// of cells known to be UTF-8 goes into a string beside them, so that the owner reads it back
/// as text without validating it again.
#[derive(Default)]
struct PackedRows {
    bytes: Vec<u8>,
    text: String,
}

const PLACE_CSV: u8 = 0;
const PLACE_PARQUET: u8 = 1;
const TEXT: u8 = 0;
const INT: u8 = 1;
const FLOAT: u8 = 2;
const EPOCH: u8 = 3;
const DAY: u8 = 4;
const NULL: u8 = 5;
const STR: u8 = 6;

impl PackedRows {
    /// The same buffer, empty, to be filled again.
    fn emptied(mut self) -> Self {
        self.bytes.clear();
        self.text.clear();
        self
    }

    /// Bytes held.
    fn len(&self) -> usize {
        self.bytes.len() + self.text.len()
    }

    fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    fn push(&mut self, order: u64, place: Place, cells: &[Cell<'_>]) {
        let out = &mut self.bytes;
        out.extend_from_slice(&order.to_le_bytes());
        match place {
            Place::CsvLine {
                block_offset,
                line_in_block,
            } => {
                out.push(PLACE_CSV);
                out.extend_from_slice(&block_offset.to_le_bytes());
                out.extend_from_slice(&line_in_block.to_le_bytes());
            }
            Place::ParquetRow(row) => {
                out.push(PLACE_PARQUET);
                out.extend_from_slice(&row.to_le_bytes());
            }
        }
        for cell in cells {
            match *cell {
                Cell::Text(text) => {
                    out.push(TEXT);
                    out.extend_from_slice(&(text.len() as u32).to_le_bytes());
                    out.extend_from_slice(text);
                }
                // A label packs as its text: the receiving owner looks it up itself.
                Cell::Str(text) | Cell::Label(text, _) => {
                    out.push(STR);
                    out.extend_from_slice(&(text.len() as u32).to_le_bytes());
                    self.text.push_str(text);
                }
                Cell::Int(v) => {
                    out.push(INT);
                    out.extend_from_slice(&v.to_le_bytes());
                }
                Cell::Float(v) => {
                    out.push(FLOAT);
                    out.extend_from_slice(&v.to_le_bytes());
                }
                Cell::EpochSeconds(v) => {
                    out.push(EPOCH);
                    out.extend_from_slice(&v.to_le_bytes());
                }
                Cell::Day(v) => {
                    out.push(DAY);
                    out.extend_from_slice(&v.to_le_bytes());
                }
                Cell::Null => out.push(NULL),
            }
        }
    }

    /// Calls `each` with the rows, [`WARM_GROUP`] at a time (fewer at the end), each rebuilt
    /// with [`MAX_FIELDS`] cells of which the first `width` are the row's.
    fn for_each_group(&self, width: usize, mut each: impl FnMut(&[PackedRow<'_>])) {
        let mut reader = Unpacker {
            bytes: &self.bytes,
            at: 0,
            text: &self.text,
            text_at: 0,
        };
        let mut group = [PackedRow::EMPTY; WARM_GROUP];
        let mut filled = 0;
        while reader.at < self.bytes.len() {
            let row = &mut group[filled];
            row.order = reader.u64();
            row.place = match reader.byte() {
                PLACE_CSV => Place::CsvLine {
                    block_offset: reader.u64(),
                    line_in_block: reader.u64(),
                },
                _ => Place::ParquetRow(reader.u64()),
            };
            for cell in row.cells.iter_mut().take(width) {
                *cell = match reader.byte() {
                    TEXT => {
                        let length = reader.u32() as usize;
                        Cell::Text(reader.take(length))
                    }
                    STR => {
                        let length = reader.u32() as usize;
                        Cell::Str(reader.take_str(length))
                    }
                    INT => Cell::Int(reader.u64() as i64),
                    FLOAT => Cell::Float(f64::from_bits(reader.u64())),
                    EPOCH => Cell::EpochSeconds(reader.u64() as i64),
                    DAY => Cell::Day(reader.u32() as i32),
                    _ => Cell::Null,
                };
            }
            filled += 1;
            if filled == WARM_GROUP {
                each(&group);
                filled = 0;
            }
        }
        if filled > 0 {
            each(&group[..filled]);
        }
    }
}

/// A row read back from [`PackedRows`], held by [`HeldRows`] or made from [`SharedRows`].
#[derive(Clone, Copy)]
pub(super) struct PackedRow<'a> {
    pub order: u64,
    pub place: Place,
    pub cells: [Cell<'a>; MAX_FIELDS],
}

impl PackedRow<'_> {
    const EMPTY: Self = PackedRow {
        order: 0,
        place: Place::ParquetRow(0),
        cells: [Cell::Null; MAX_FIELDS],
    };
}

/// A worker's own rows from memory that outlives them (a plain CSV block): held by reference,
/// not packed, and applied a warmed group at a time. Packing and unpacking the rows a worker
/// keeps, half of them with two workers, was 3% of a scan's samples.
pub(super) struct HeldRows<'b> {
    rows: [PackedRow<'b>; WARM_GROUP],
    len: usize,
}

impl Default for HeldRows<'_> {
    fn default() -> Self {
        HeldRows {
            rows: [PackedRow::EMPTY; WARM_GROUP],
            len: 0,
        }
    }
}

/// Reads back what [`PackedRows::push`] wrote.
struct Unpacker<'a> {
    bytes: &'a [u8],
    at: usize,
    text: &'a str,
    text_at: usize,
}

impl<'a> Unpacker<'a> {
    fn take_str(&mut self, length: usize) -> &'a str {
        let taken = self
            .text
            .get(self.text_at..self.text_at + length)
            .expect("whole strings were packed, one after another");
        self.text_at += length;
        taken
    }
    fn take(&mut self, length: usize) -> &'a [u8] {
        let taken = &self.bytes[self.at..self.at + length];
        self.at += length;
        taken
    }
    fn byte(&mut self) -> u8 {
        self.take(1)[0]
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.take(4).try_into().expect("four bytes"))
    }
    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.take(8).try_into().expect("eight bytes"))
    }
}

/// One worker's ends of the channels: a sender to every other worker and its own inbox.
pub(super) struct Links {
    me: usize,
    senders: Vec<Option<Sender<Delivery>>>,
    inbox: Receiver<Delivery>,
}

/// The links of `workers` workers, one per worker in order.
pub(super) fn links(workers: usize) -> Vec<Links> {
    let (senders, inboxes): (Vec<_>, Vec<_>) = (0..workers)
        .map(|_| crossbeam_channel::unbounded::<Delivery>())
        .unzip();
    inboxes
        .into_iter()
        .enumerate()
        .map(|(me, inbox)| Links {
            me,
            senders: senders
                .iter()
                .enumerate()
                .map(|(owner, s)| (owner != me).then(|| s.clone()))
                .collect(),
            inbox,
        })
        .collect()
}

/// A worker: its handler, the rows it holds for other owners, and its inbox.
pub(super) struct Worker<'s, H> {
    links: Links,
    pub handler: H,
    outboxes: Vec<PackedRows>,
    /// Emptied batches received from other workers, refilled for the next sends: a fresh
    /// buffer per batch cost fresh pages, faulted in and zeroed, for every row sent.
    spare: Vec<PackedRows>,
    /// Indices of the rows of a [`SharedRows`] source for each owner, while it is routed.
    shared: Vec<Vec<u32>>,
    /// Cells per row.
    width: usize,
    problems: &'s Problems,
    /// Rows taken so far, over all workers: a row sent away counts when it is sent and is
    /// taken back if its owner finds it bad.
    rows: &'s AtomicU64,
    scratch: String,
}

impl<'s, H: RowHandler> Worker<'s, H> {
    pub fn new(
        links: Links,
        handler: H,
        width: usize,
        problems: &'s Problems,
        rows: &'s AtomicU64,
    ) -> Self {
        let workers = links.senders.len();
        let mut handler = handler;
        handler.route(links.me, workers);
        Worker {
            links,
            handler,
            outboxes: (0..workers).map(|_| PackedRows::default()).collect(),
            spare: Vec::new(),
            shared: (0..workers).map(|_| Vec::new()).collect(),
            width,
            problems,
            rows,
            scratch: String::new(),
        }
    }

    /// The worker that aggregates the customer in `id`: by a hash of the id as it is kept, so
    /// every spelling of one id goes to one owner. An unreadable id stays here, to be
    /// reported by this worker's handler.
    fn owner(&mut self, id: Cell<'_>) -> usize {
        let workers = self.links.senders.len();
        if workers == 1 {
            return 0;
        }
        match customer_id(id, &mut self.scratch) {
            Ok(id) => owner_of(id, workers),
            Err(_) => self.links.me,
        }
    }

    /// Takes a row: one of a customer this worker owns is held with the others it owns and
    /// applied with them, in a batch; any other is sent to its owner. A bad row is reported
    /// to `problems` by whichever worker applies it, and taken back from the row count.
    pub fn row(&mut self, order: u64, place: Place, cells: &[Cell<'_>]) {
        let owner = self.owner(cells[0]);
        if owner != self.links.me {
            return self.pack_for(owner, order, place, cells);
        }
        let outbox = &mut self.outboxes[owner];
        outbox.push(order, place, cells);
        if outbox.len() >= OWN_BATCH_BYTES {
            let own = std::mem::take(&mut self.outboxes[owner]);
            self.apply(&own);
            self.outboxes[owner] = own.emptied();
        }
    }

    /// Packs a row for another worker, `owner`, sending the batch once it is full.
    fn pack_for(&mut self, owner: usize, order: u64, place: Place, cells: &[Cell<'_>]) {
        let outbox = &mut self.outboxes[owner];
        outbox.push(order, place, cells);
        if outbox.len() >= BATCH_BYTES {
            self.send(owner);
        }
    }

    /// As [`Worker::row`], for a row whose cells stay valid as long as `held`: a row this
    /// worker owns is held there and applied with the group it completes. Call
    /// [`Worker::apply_held`] before the cells' memory goes.
    pub fn row_held<'b>(
        &mut self,
        held: &mut HeldRows<'b>,
        order: u64,
        place: Place,
        cells: &[Cell<'b>],
    ) {
        let owner = self.owner(cells[0]);
        if owner != self.links.me {
            return self.pack_for(owner, order, place, cells);
        }
        let row = &mut held.rows[held.len];
        row.order = order;
        row.place = place;
        row.cells[..cells.len()].copy_from_slice(cells);
        held.len += 1;
        if held.len == WARM_GROUP {
            self.apply_held(held);
        }
    }

    /// Takes every row of `source`: each row of a customer this worker owns is applied in a
    /// warmed group, each other owner is sent the source and the indices of its rows. A
    /// guest line that guests skip goes nowhere.
    pub fn rows_shared(&mut self, source: Arc<dyn SharedRows>) {
        let mut ids = [Cell::Null; ID_CHUNK];
        for start in (0..source.len()).step_by(ID_CHUNK) {
            let rows = start..(start + ID_CHUNK).min(source.len());
            source.ids_into(rows.clone(), &mut ids);
            for (id, index) in ids.iter().zip(rows) {
                if self.problems.skips_guest(std::slice::from_ref(id)) {
                    continue;
                }
                let owner = self.owner(*id);
                let index = u32::try_from(index).expect("fewer than 2^32 rows in a batch");
                self.shared[owner].push(index);
            }
        }
        let me = self.links.me;
        for owner in 0..self.shared.len() {
            if owner == me || self.shared[owner].is_empty() {
                continue;
            }
            let rows = std::mem::take(&mut self.shared[owner]);
            self.deliver(owner, Delivery::Shared(source.clone(), rows));
        }
        let mut own = std::mem::take(&mut self.shared[me]);
        self.apply_shared(&*source, &own);
        own.clear();
        self.shared[me] = own;
    }

    /// Applies the rows `held` holds, and empties it.
    pub fn apply_held(&mut self, held: &mut HeldRows<'_>) {
        apply_group(
            &mut self.handler,
            self.problems,
            self.rows,
            self.width,
            &held.rows[..held.len],
        );
        held.len = 0;
    }

    fn send(&mut self, owner: usize) {
        let next = self.spare.pop().unwrap_or_default();
        let batch = std::mem::replace(&mut self.outboxes[owner], next);
        self.deliver(owner, Delivery::Packed(batch));
    }

    /// Sends `delivery` to `owner`, another worker.
    fn deliver(&self, owner: usize, delivery: Delivery) {
        if let Some(sender) = &self.links.senders[owner] {
            // The owner holds its inbox until every sender is gone, so this cannot fail.
            sender.send(delivery).expect("owner inbox open");
        }
    }

    /// Aggregates the rows other workers have sent so far, without waiting for more.
    pub fn take_delivered(&mut self) {
        while let Ok(delivery) = self.links.inbox.try_recv() {
            self.take(delivery);
        }
    }

    /// Aggregates the rows of one delivery.
    fn take(&mut self, delivery: Delivery) {
        match delivery {
            Delivery::Packed(batch) => {
                self.apply(&batch);
                if self.spare.len() < MAX_SPARE {
                    self.spare.push(batch.emptied());
                }
            }
            Delivery::Shared(source, rows) => self.apply_shared(&*source, &rows),
        }
    }

    /// Applies the rows `rows` of `source`, a warmed group at a time.
    fn apply_shared(&mut self, source: &dyn SharedRows, rows: &[u32]) {
        let mut labels: Vec<Option<Vec<LabelId>>> = vec![None; self.width];
        for (field, values) in source.label_columns() {
            if let Some(ids) = labels.get_mut(field) {
                *ids = self.handler.label_ids(field, &values);
            }
        }
        let mut group = [PackedRow::EMPTY; WARM_GROUP];
        for chunk in rows.chunks(WARM_GROUP) {
            let group = &mut group[..chunk.len()];
            source.rows_into(chunk, group, &labels);
            apply_group(
                &mut self.handler,
                self.problems,
                self.rows,
                self.width,
                group,
            );
        }
    }

    /// Applies a batch of rows, a group at a time.
    fn apply(&mut self, batch: &PackedRows) {
        let (handler, problems, rows, width) =
            (&mut self.handler, self.problems, self.rows, self.width);
        batch.for_each_group(width, |group| {
            apply_group(handler, problems, rows, width, group)
        });
    }

    /// Applies this worker's own held rows and sends what is left for other owners, then
    /// aggregates everything sent here until every other worker is done; returns the handler.
    pub fn finish(mut self) -> H {
        let me = self.links.me;
        let own = std::mem::take(&mut self.outboxes[me]);
        self.apply(&own);
        for owner in 0..self.outboxes.len() {
            if !self.outboxes[owner].is_empty() {
                self.send(owner);
            }
        }
        self.links.senders.clear();
        while let Ok(delivery) = self.links.inbox.recv() {
            self.take(delivery);
        }
        self.handler
    }
}

/// Applies a group of at most [`WARM_GROUP`] rows of `width` cells: the group is warmed,
/// then each row applied; a bad row is reported and taken back from the row count.
fn apply_group<H: RowHandler>(
    handler: &mut H,
    problems: &Problems,
    rows: &AtomicU64,
    width: usize,
    group: &[PackedRow<'_>],
) {
    let mut ids = [Cell::Null; WARM_GROUP];
    for (id, row) in ids.iter_mut().zip(group) {
        *id = row.cells[0];
    }
    let mut found = [None; WARM_GROUP];
    handler.warm(&ids[..group.len()], &mut found[..group.len()]);
    for (row, found) in group.iter().zip(found) {
        if let Err(problem) = handler.row(row.order, &row.cells[..width], found) {
            rows.fetch_sub(1, Ordering::Relaxed);
            problems.report(row.order, row.place, problem);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_rows_come_back_as_written() {
        let rows: Vec<(u64, Place, Vec<Cell<'_>>)> = vec![
            (
                7,
                Place::CsvLine {
                    block_offset: 1 << 40,
                    line_in_block: 3,
                },
                vec![
                    Cell::Text(b"C1"),
                    Cell::Text(b""),
                    Cell::Null,
                    Cell::Text("é,\"x\"".as_bytes()),
                ],
            ),
            (
                u64::MAX,
                Place::ParquetRow(12),
                vec![
                    Cell::Int(-5),
                    Cell::Float(-0.25),
                    Cell::EpochSeconds(-86_401),
                    Cell::Day(-3),
                ],
            ),
            (
                9,
                Place::ParquetRow(13),
                vec![
                    Cell::Str("ünïcode"),
                    Cell::Text(b"\xffraw"),
                    Cell::Str(""),
                    Cell::Str("€"),
                ],
            ),
        ];
        let mut packed = PackedRows::default();
        for (order, place, cells) in &rows {
            packed.push(*order, *place, cells);
        }
        let mut back = Vec::new();
        packed.for_each_group(4, |group| {
            for row in group {
                let (order, place, cells) = (row.order, row.place, &row.cells[..4]);
                back.push(format!("{order} {place:?} {cells:?}"));
            }
        });
        let expected: Vec<String> = rows
            .iter()
            .map(|(order, place, cells)| format!("{order} {place:?} {cells:?}"))
            .collect();
        assert_eq!(back, expected);
    }

    #[test]
    fn packed_rows_come_back_in_order_in_groups() {
        let mut packed = PackedRows::default();
        let count = 3 * WARM_GROUP + 5;
        for i in 0..count as u64 {
            packed.push(i, Place::ParquetRow(i + 1), &[Cell::Int(i as i64)]);
        }
        let mut sizes = Vec::new();
        let mut back = Vec::new();
        packed.for_each_group(1, |group| {
            sizes.push(group.len());
            back.extend(
                group
                    .iter()
                    .map(|row| (row.order, format!("{:?}", row.cells[0]))),
            );
        });
        assert_eq!(sizes, [WARM_GROUP, WARM_GROUP, WARM_GROUP, 5]);
        let expected: Vec<(u64, String)> = (0..count as u64)
            .map(|i| (i, format!("{:?}", Cell::Int(i as i64))))
            .collect();
        assert_eq!(back, expected);
    }
}
