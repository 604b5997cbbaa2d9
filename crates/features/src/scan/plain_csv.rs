//! Blocks of CSV with no quote and no carriage return, split into records by searching for
//! line ends with `memchr` and cutting each line at its delimiters, instead of running `csv`'s
//! byte-at-a-time state machine.
//!
//! Why: logs exported by databases and event pipelines rarely quote anything, and on them the
//! state machine is the largest single cost of reading CSV. Without quotes (and without `\r`,
//! which `csv` also takes as a line end) a record is a line and a field is the text between
//! delimiters, so the split is the same; blocks with either byte go to `csv` as before. The test
//! below holds the two to the same records.

use std::ops::{ControlFlow, Range};

/// Whether [`for_each_plain_record`] splits `data` as `csv` would (no `quote`, no `\r`).
pub(super) fn is_plain(data: &[u8], quote: u8) -> bool {
    memchr::memchr2(quote, b'\r', data).is_none()
}

/// Calls `each(line, fields)` for every record of `data`, a block for which [`is_plain`] holds,
/// with `line` the 1-based line of the block the record is on (empty lines hold no record but
/// are counted) and `fields` the byte ranges of its fields in `data`. Stops early when `each`
/// breaks.
pub(super) fn for_each_plain_record(
    data: &[u8],
    delimiter: u8,
    mut each: impl FnMut(u64, &[Range<usize>]) -> ControlFlow<()>,
) {
    let mut fields: Vec<Range<usize>> = Vec::with_capacity(16);
    let mut start = 0;
    // Lines are found with memchr; the fields of a line, a few bytes each, with a plain loop:
    // a search set up per field costs more than it saves on fields that short.
    let ends = memchr::memchr_iter(b'\n', data)
        .chain((data.last() != Some(&b'\n') && !data.is_empty()).then_some(data.len()));
    for (line, end) in (1u64..).zip(ends) {
        if end > start {
            fields.clear();
            let mut field_start = start;
            for (i, &b) in data[start..end].iter().enumerate() {
                if b == delimiter {
                    fields.push(field_start..start + i);
                    field_start = start + i + 1;
                }
            }
            fields.push(field_start..end);
            if each(line, &fields).is_break() {
                return;
            }
        }
        start = end + 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records as `csv`, configured as the scan configures it, reads them.
    fn csv_records(data: &[u8], delimiter: u8) -> Vec<Vec<Vec<u8>>> {
        let mut reader = crate::input::log_reader(delimiter).from_reader(data);
        let mut record = csv::ByteRecord::new();
        let mut out = Vec::new();
        while reader.read_byte_record(&mut record).unwrap() {
            out.push(record.iter().map(<[u8]>::to_vec).collect());
        }
        out
    }

    /// Records and the lines they are on, by the definition: the block's lines, empty ones
    /// left out. (`csv`'s own `Position::line` is not used as the oracle: after a record it
    /// does not count the empty lines that follow, e.g. it puts `c` of `"a\n\n\nc"` on line 2.)
    fn lines(data: &[u8], delimiter: u8) -> Vec<(u64, Vec<Vec<u8>>)> {
        let mut text: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
        if data.ends_with(b"\n") {
            text.pop();
        }
        text.into_iter()
            .enumerate()
            .filter(|(_, line)| !line.is_empty())
            .map(|(i, line)| {
                let fields = line.split(|&b| b == delimiter).map(<[u8]>::to_vec);
                (i as u64 + 1, fields.collect())
            })
            .collect()
    }

    /// Checks the split against both oracles: the records of `csv`, the lines of the block.
    fn check(data: &[u8], delimiter: u8) {
        let plain = plain_records(data, delimiter);
        let shown = String::from_utf8_lossy(data);
        assert_eq!(
            plain,
            lines(data, delimiter),
            "{shown:?} on {:?}",
            delimiter as char
        );
        let records: Vec<_> = plain.into_iter().map(|(_, fields)| fields).collect();
        assert_eq!(
            records,
            csv_records(data, delimiter),
            "{shown:?} on {:?}",
            delimiter as char
        );
    }

    fn plain_records(data: &[u8], delimiter: u8) -> Vec<(u64, Vec<Vec<u8>>)> {
        let mut out = Vec::new();
        for_each_plain_record(data, delimiter, |line, fields| {
            out.push((
                line,
                fields.iter().map(|f| data[f.clone()].to_vec()).collect(),
            ));
            ControlFlow::Continue(())
        });
        out
    }

    #[test]
    fn splits_as_csv_does() {
        let cases: [&[u8]; 12] = [
            b"",
            b"\n",
            b"a,b\nc,d\n",
            b"a,b\nc,d",
            b"a,b\n\n\nc,d\n\n",
            b"\n\na\n",
            b",\n,,\n",
            b"a,b,\n,x\n",
            b" \n  ,  \n",
            b"1,2026-01-01 10:00:00,19.99,books\n2,2026-01-01 10:00:01,5,toys",
            "é,ü\n€,x\n".as_bytes(),
            b"a;b,c\nd;e\n",
        ];
        for data in cases {
            assert!(is_plain(data, b'"'));
            for delimiter in [b',', b';', b'\t'] {
                check(data, delimiter);
            }
        }
    }

    /// Pseudo-random blocks over a small alphabet of delimiters, newlines, spaces and letters:
    /// the same records as `csv`, on the lines they are on.
    #[test]
    fn random_blocks_split_as_csv_does() {
        let alphabet = b",,,\n\n a1;\t\xc3\xa9";
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..3_000 {
            let mut data = Vec::new();
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            for _ in 0..(state % 64) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                data.push(alphabet[(state % alphabet.len() as u64) as usize]);
            }
            for delimiter in [b',', b';'] {
                check(&data, delimiter);
            }
        }
    }

    #[test]
    fn quotes_and_carriage_returns_are_left_to_csv() {
        assert!(!is_plain(b"a,\"b\"\n", b'"'));
        assert!(!is_plain(b"a,b\r\n", b'"'));
        assert!(is_plain(b"a,'b'\n", b'"'));
    }

    #[test]
    fn stops_when_asked() {
        let mut seen = 0;
        for_each_plain_record(b"a\nb\nc\n", b',', |_, _| {
            seen += 1;
            if seen == 2 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        assert_eq!(seen, 2);
    }
}
