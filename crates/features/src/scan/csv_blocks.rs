//! CSV: the file is cut into blocks at record boundaries and parsed by worker threads.

use std::fs::File;
use std::io::Read;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicU64, Ordering};

use lookalike_core::Progress;

use super::plain_csv;
use super::routing::{HeldRows, Worker, links};
use super::{
    MAX_FIELDS, Place, Problems, RowHandler, RowProblem, ScanOptions, ScanResult,
    count_newlines_before, io_error,
};
use crate::FeatureError;
use crate::cell::Cell;
use crate::input::{
    FieldRequest, InputFile, csv_record_line, detect_delimiter, log_reader, parse_header,
    resolve_columns,
};

const BLOCK_BYTES: usize = 4 << 20;
/// A quoted field longer than this is taken to be an unterminated quote.
const MAX_CARRY_BYTES: usize = 64 << 20;

/// Fills `buffer` from `reader` until it is full or the input ends; returns the bytes read.
fn read_full(reader: &mut impl Read, buffer: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match reader.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// The end of the last complete record in `data` (just after its newline), when quotes are
/// balanced up to that point. Quote parity is exact for RFC 4180 files: an escaped quote (`""`)
/// flips it twice.
fn last_record_end(data: &[u8], quote: u8) -> Option<usize> {
    if memchr::memchr(quote, data).is_none() {
        return memchr::memrchr(b'\n', data).map(|i| i + 1);
    }
    let mut inside_quotes = false;
    let mut end = None;
    for i in memchr::memchr2_iter(quote, b'\n', data) {
        if data[i] == quote {
            inside_quotes = !inside_quotes;
        } else if !inside_quotes {
            end = Some(i + 1);
        }
    }
    end
}

struct Block {
    index: u64,
    offset: u64,
    data: Vec<u8>,
}

pub(super) fn scan_csv<H, M>(
    input: &InputFile,
    fields: &[FieldRequest],
    options: ScanOptions,
    progress: &dyn Progress,
    make_handler: &M,
    problems: &Problems,
) -> ScanResult<H>
where
    H: RowHandler,
    M: Fn() -> H + Sync,
{
    let mut file = File::open(&input.path).map_err(io_error(input))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut first = vec![0u8; BLOCK_BYTES];
    let filled = read_full(&mut file, &mut first).map_err(io_error(input))?;
    first.truncate(filled);
    let bom = if first.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    if first[bom..].iter().all(u8::is_ascii_whitespace) {
        return Err(FeatureError::EmptyFile {
            kind: input.kind,
            path: input.path.clone(),
        });
    }
    let header_line_end = memchr::memchr(b'\n', &first[bom..]).map_or(first.len(), |i| bom + i);
    let delimiter = input
        .delimiter
        .unwrap_or_else(|| detect_delimiter(&first[bom..header_line_end]));
    let builder = log_reader(delimiter);
    let (header, header_length) = parse_header(input, &first[bom..], delimiter)?;
    let header_end = bom + header_length;
    let columns = resolve_columns(input, &header, fields)?;
    let header_width = header.len();
    progress.start_counting(
        &format!("reading {}", input.path.display()),
        Some(size),
        lookalike_core::Unit::Bytes,
    );
    progress.advance(header_end as u64);

    let workers = options.threads.max(1);
    let (sender, receiver) = crossbeam_channel::bounded::<Block>(2 * workers);
    // Parsed blocks come back for reuse, so the reader does not fault in fresh pages per block.
    let (recycle, reusable) = crossbeam_channel::unbounded::<Vec<u8>>();
    let rows = AtomicU64::new(0);
    let mut worker_links = links(workers).into_iter();
    let read_result = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                let links = worker_links.next().expect("one link per worker");
                let receiver = receiver.clone();
                let recycle = recycle.clone();
                let columns = &columns;
                let rows = &rows;
                let builder = &builder;
                scope.spawn(move || {
                    let mut worker =
                        Worker::new(links, make_handler(), columns.len(), problems, rows);
                    let mut record = csv::ByteRecord::new();
                    for block in receiver.iter() {
                        if !problems.wanted(block.index) {
                            continue;
                        }
                        let mut take = RecordTaker {
                            worker: &mut worker,
                            problems,
                            columns,
                            header_width,
                            block_index: block.index,
                            block_offset: block.offset,
                            row_in_block: 0,
                            count: 0,
                        };
                        if plain_csv::is_plain(&block.data, b'"') {
                            // Validated whole, a block's fields are text as they are cut:
                            // one check per block instead of one per field.
                            // Its fields are slices of the block, so the worker's own
                            // rows are held, not packed.
                            let data = &block.data;
                            let text = std::str::from_utf8(data).ok();
                            let mut held = HeldRows::default();
                            plain_csv::for_each_plain_record(data, delimiter, |line, fields| {
                                take.record(line, fields.len(), Some(&mut held), |i| {
                                    let range = fields[i].clone();
                                    match text.and_then(|t| t.get(range.clone())) {
                                        Some(field) => Cell::Str(field),
                                        None => Cell::Text(&data[range]),
                                    }
                                })
                            });
                            take.worker.apply_held(&mut held);
                        } else {
                            let mut reader = builder.from_reader(block.data.as_slice());
                            while reader.read_byte_record(&mut record).unwrap_or(false) {
                                let line = record
                                    .position()
                                    .map_or(1, |p| csv_record_line(p, &block.data));
                                let fields = &record;
                                if take
                                    .record(line, fields.len(), None, |i| Cell::Text(&fields[i]))
                                    .is_break()
                                {
                                    break;
                                }
                            }
                        }
                        let count = take.count;
                        rows.fetch_add(count, Ordering::Relaxed);
                        progress.advance(block.data.len() as u64);
                        let _ = recycle.send(block.data);
                        worker.take_delivered();
                    }
                    worker.finish()
                })
            })
            .collect();
        drop(receiver);
        let produced = produce_blocks(
            &mut file, first, header_end, &sender, &reusable, problems, input,
        );
        drop(sender);
        let handlers: Vec<H> = handles
            .into_iter()
            .map(|h| h.join().expect("CSV worker panicked"))
            .collect();
        produced.map(|_| handlers)
    });
    progress.finish();
    let handlers = read_result?;
    Ok((handlers, rows.into_inner()))
}

/// Hands a block's records to a worker, numbering them and checking their width.
struct RecordTaker<'a, 'w, H: RowHandler> {
    worker: &'w mut Worker<'a, H>,
    problems: &'a Problems,
    columns: &'a [Option<usize>],
    header_width: usize,
    block_index: u64,
    block_offset: u64,
    row_in_block: u64,
    /// Records of the header's width, the rows read.
    count: u64,
}

impl<H: RowHandler> RecordTaker<'_, '_, H> {
    /// Takes the record on line `line` of the block, of `width` fields, `field(i)` the i-th,
    /// holding it in `held` when given and the worker's own (see [`Worker::row_held`]);
    /// breaks when the scan is to stop (a bad row under `--on-bad-row fail`).
    fn record<'r>(
        &mut self,
        line: u64,
        width: usize,
        held: Option<&mut HeldRows<'r>>,
        field: impl Fn(usize) -> Cell<'r>,
    ) -> ControlFlow<()> {
        let order = (self.block_index << 32) | self.row_in_block;
        self.row_in_block += 1;
        let place = Place::CsvLine {
            block_offset: self.block_offset,
            line_in_block: line,
        };
        if width != self.header_width {
            let problem = RowProblem {
                slot: None,
                value: String::new(),
                reason: format!(
                    "has {width} fields but the header has {}",
                    self.header_width
                ),
            };
            return if self.problems.report(order, place, problem) {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            };
        }
        let mut cells = [Cell::Null; MAX_FIELDS];
        for (slot, column) in self.columns.iter().enumerate() {
            if let Some(c) = column {
                cells[slot] = field(*c);
            }
        }
        self.count += 1;
        let cells = &cells[..self.columns.len()];
        if !self.problems.skips_guest(cells) {
            match held {
                Some(held) => self.worker.row_held(held, order, place, cells),
                None => self.worker.row(order, place, cells),
            }
        }
        ControlFlow::Continue(())
    }
}

/// Reads the file block by block and sends each run of complete records to the workers.
fn produce_blocks(
    file: &mut File,
    first: Vec<u8>,
    header_end: usize,
    sender: &crossbeam_channel::Sender<Block>,
    reusable: &crossbeam_channel::Receiver<Vec<u8>>,
    problems: &Problems,
    input: &InputFile,
) -> Result<(), FeatureError> {
    let mut carry = first[header_end..].to_vec();
    let mut carry_offset = header_end as u64;
    let mut index = 0u64;
    let mut at_end = first.len() < BLOCK_BYTES;
    loop {
        if !problems.wanted(index) {
            return Ok(());
        }
        if !at_end {
            let start = carry.len();
            carry.resize(start + BLOCK_BYTES, 0);
            let n = read_full(file, &mut carry[start..]).map_err(io_error(input))?;
            carry.truncate(start + n);
            at_end = n < BLOCK_BYTES;
        }
        let split = if at_end {
            carry.len()
        } else {
            match last_record_end(&carry, b'"') {
                Some(end) => end,
                None if carry.len() > MAX_CARRY_BYTES => {
                    return Err(FeatureError::BadRow {
                        kind: input.kind,
                        path: input.path.clone(),
                        row: format!(
                            "line {}",
                            1 + count_newlines_before(&input.path, carry_offset)
                                .map_err(io_error(input))?
                        ),
                        reason: "a quoted field never ends (unbalanced '\"')".into(),
                    });
                }
                None => continue,
            }
        };
        let mut rest = reusable.try_recv().unwrap_or_default();
        rest.clear();
        rest.extend_from_slice(&carry[split..]);
        carry.truncate(split);
        let data = std::mem::replace(&mut carry, rest);
        let length = data.len() as u64;
        if !data.is_empty()
            && sender
                .send(Block {
                    index,
                    offset: carry_offset,
                    data,
                })
                .is_err()
        {
            return Ok(());
        }
        carry_offset += length;
        index += 1;
        if at_end && carry.is_empty() {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records after empty lines are put on their own line, quoted or not, LF or CRLF.
    #[test]
    fn records_after_empty_lines_are_on_their_lines() {
        let cases: [(&[u8], &[u64]); 4] = [
            (b"a,\"b\"\n\n\nc,d\ne\n\nf\n", &[1, 4, 5, 7]),
            (b"\n\"x\"\n\n", &[2]),
            (b"\"a\"\r\n\r\n\r\nb\r\n", &[1, 4]),
            (b"\"a\nb\"\n\nc\n", &[1, 4]),
        ];
        for (data, lines) in cases {
            let mut reader = log_reader(b',').from_reader(data);
            let mut record = csv::ByteRecord::new();
            let mut found = Vec::new();
            while reader.read_byte_record(&mut record).unwrap() {
                found.push(csv_record_line(record.position().unwrap(), data));
            }
            assert_eq!(found, lines, "{:?}", String::from_utf8_lossy(data));
        }
    }

    #[test]
    fn record_end_respects_quotes() {
        assert_eq!(last_record_end(b"a,b\nc,d\ne", b'"'), Some(8));
        assert_eq!(last_record_end(b"a,\"x\ny\"\nc", b'"'), Some(8));
        assert_eq!(last_record_end(b"a,\"x\ny", b'"'), None);
        assert_eq!(last_record_end(b"a,\"x\"\"\n\"\n", b'"'), Some(9));
        assert_eq!(last_record_end(b"no newline", b'"'), None);
    }
}
