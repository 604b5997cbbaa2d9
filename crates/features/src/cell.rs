//! One field of one input row, as the readers hand it over, and the parsers that turn it into
//! the project's types. CSV gives text; Parquet gives typed values. Both go through the same
//! parsers so a file means the same thing in either format.

use chrono::{DateTime, NaiveDate, NaiveDateTime};

/// A field value before parsing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Cell<'a> {
    /// Raw text, not yet known to be UTF-8 (CSV).
    Text(&'a [u8]),
    /// Text known to be UTF-8 (Arrow strings, CSV blocks validated whole), so that it is not
    /// validated again field by field.
    Str(&'a str),
    /// Text known to be UTF-8 whose label id the handler reading it has already given (a value
    /// of a Parquet dictionary column, resolved once per batch through
    /// [`crate::scan::RowHandler::label_ids`]): the handler takes the id without looking the
    /// text up on every row. Anything else reads it as [`Cell::Str`].
    Label(&'a str, crate::dictionary::LabelId),
    /// A whole number (Parquet integers).
    Int(i64),
    /// A real number (Parquet floats and decimals).
    Float(f64),
    /// Seconds since 1970-01-01 UTC (Parquet timestamps).
    EpochSeconds(i64),
    /// Days since 1970-01-01 (Parquet dates).
    Day(i32),
    /// No value (Parquet null, or an optional column that the file does not have).
    Null,
}

impl<'a> Cell<'a> {
    /// The value as the user would see it in an error message.
    pub(crate) fn display(&self) -> String {
        match self {
            Cell::Text(bytes) => String::from_utf8_lossy(bytes).into_owned(),
            Cell::Str(text) | Cell::Label(text, _) => text.to_string(),
            Cell::Int(v) => v.to_string(),
            Cell::Float(v) => v.to_string(),
            Cell::EpochSeconds(v) => format!("{v} (epoch seconds)"),
            Cell::Day(v) => format!("{v} (epoch days)"),
            Cell::Null => "null".into(),
        }
    }

    /// Whether the field holds nothing (null or empty/blank text).
    pub(crate) fn is_blank(&self) -> bool {
        match self {
            Cell::Null => true,
            Cell::Text(bytes) => bytes.iter().all(u8::is_ascii_whitespace),
            Cell::Str(text) | Cell::Label(text, _) => text.bytes().all(|b| b.is_ascii_whitespace()),
            _ => false,
        }
    }

    /// The bytes of a text cell, raw or validated; `None` for other kinds.
    pub(crate) fn text_bytes(self) -> Option<&'a [u8]> {
        match self {
            Cell::Text(bytes) => Some(bytes),
            Cell::Str(text) | Cell::Label(text, _) => Some(text.as_bytes()),
            _ => None,
        }
    }

    /// The text of a text cell as UTF-8 (raw bytes validated here, with the message
    /// [`utf8`] gives); `None` for other kinds.
    pub(crate) fn text_str(self) -> Option<CellResult<&'a str>> {
        match self {
            Cell::Text(bytes) => Some(utf8(bytes)),
            Cell::Str(text) | Cell::Label(text, _) => Some(Ok(text)),
            _ => None,
        }
    }
}

/// The eight bytes of `bytes` from `at`, as a word: how label keys and id comparisons read a
/// short text's two ends without `memcmp`.
#[inline]
pub(crate) fn word8(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(word)
}

/// The four bytes of `bytes` from `at`, as a word.
#[inline]
pub(crate) fn word4(bytes: &[u8], at: usize) -> u32 {
    let mut word = [0u8; 4];
    word.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(word)
}

/// `text` without leading and trailing whitespace, as [`str::trim`] gives it; a field that
/// starts and ends with a visible ASCII character (nearly all of them) is returned as is,
/// without trim's Unicode-aware scan.
pub(crate) fn trimmed(text: &str) -> &str {
    let visible = |b: &u8| (0x21..0x7f).contains(b);
    let bytes = text.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) if visible(first) && visible(last) => text,
        _ => text.trim(),
    }
}

/// Why a field could not be used; the reader adds file, row and column.
pub(crate) type CellResult<T> = Result<T, String>;

/// Text as UTF-8, or a message that says it is not.
pub(crate) fn utf8(bytes: &[u8]) -> CellResult<&str> {
    std::str::from_utf8(bytes).map_err(|e| {
        format!(
            "is not valid UTF-8 (bad byte at position {})",
            e.valid_up_to()
        )
    })
}

/// Amounts are kept as whole multiples of 1/10,000 of the currency unit. Integer sums are exact
/// and associative, so totals do not depend on how rows were split between threads, and the same
/// input gives the same bytes whatever the thread count.
pub(crate) const AMOUNT_SCALE: f64 = 10_000.0;

/// The largest absolute amount accepted on one row. Larger values are almost always unit or
/// parsing mistakes (cents read as units, ids read as amounts) and would overflow sums.
pub(crate) const MAX_ABS_AMOUNT: f64 = 1e12;

/// Parses an amount into fixed-point units of 1/[`AMOUNT_SCALE`].
pub(crate) fn amount_units(cell: Cell<'_>) -> CellResult<i64> {
    let value = match cell {
        Cell::Text(_) | Cell::Str(_) | Cell::Label(..) => {
            if let Some(units) = cell.text_bytes().and_then(plain_decimal_units) {
                return Ok(units);
            }
            let text = cell.text_str().unwrap_or(Ok(""))?.trim();
            if text.is_empty() {
                return Err("is empty; an amount is required".into());
            }
            text.parse::<f64>()
                .map_err(|_| "is not a number (use '.' as the decimal point)".to_string())?
        }
        Cell::Int(v) => v as f64,
        Cell::Float(v) => v,
        Cell::Null => return Err("is missing; an amount is required".into()),
        Cell::EpochSeconds(_) | Cell::Day(_) => return Err("is a date, not an amount".into()),
    };
    if !value.is_finite() {
        return Err("is not a finite number".into());
    }
    if value.abs() > MAX_ABS_AMOUNT {
        return Err(format!(
            "is out of range (|amount| must be at most {MAX_ABS_AMOUNT:e})"
        ));
    }
    let units = round_to_i64(value * AMOUNT_SCALE);
    if units == 0 && value != 0.0 {
        // Kept in units of 0.0001, such an amount would silently become 0.
        return Err(format!(
            "is below the smallest amount kept ({}): record it in a larger currency unit",
            1.0 / AMOUNT_SCALE
        ));
    }
    Ok(units)
}

/// The units of an amount written as a plain decimal (`-12.5`, `+3`, `.25`, `7.`: an optional
/// sign, at most 9 digits before the point and 4 after it, nothing else), computed exactly from
/// its digits; `None` for anything else, which [`amount_units`] parses as a float.
///
/// Why: nearly every amount in a log looks like this, and reading its digits skips UTF-8
/// validation, trimming, float parsing and rounding. The result is the one the float path
/// gives: below 10^9 with 4 decimals, the float's error times 10^4 stays under 0.002, so
/// rounding lands on the exact number of units.
fn plain_decimal_units(bytes: &[u8]) -> Option<i64> {
    const MAX_WHOLE_DIGITS: usize = 9;
    const MAX_DECIMALS: usize = 4;
    let (negative, digits) = match bytes.first()? {
        b'-' => (true, &bytes[1..]),
        b'+' => (false, &bytes[1..]),
        _ => (false, bytes),
    };
    let (whole, decimals) = match digits.iter().position(|&b| b == b'.') {
        Some(point) => (&digits[..point], &digits[point + 1..]),
        None => (digits, &digits[digits.len()..]),
    };
    if whole.len() > MAX_WHOLE_DIGITS
        || decimals.len() > MAX_DECIMALS
        || whole.len() + decimals.len() == 0
    {
        return None;
    }
    let mut units: i64 = 0;
    for &b in whole.iter().chain(decimals) {
        if !b.is_ascii_digit() {
            return None;
        }
        units = units * 10 + i64::from(b - b'0');
    }
    units *= 10_i64.pow((MAX_DECIMALS - decimals.len()) as u32);
    Some(if negative { -units } else { units })
}

/// Converts fixed-point units back to currency. Sums that fit 64 bits (all but absurd ones)
/// convert with one instruction; a 128-bit conversion is a library call. Both round to the
/// nearest double, so the result is the same.
pub(crate) fn units_to_amount(units: i128) -> f64 {
    match i64::try_from(units) {
        Ok(units) => units as f64 / AMOUNT_SCALE,
        Err(_) => units as f64 / AMOUNT_SCALE,
    }
}

/// `x.round() as i64` (halves away from zero) for |x| < 2^62, without a library call: on
/// x86-64's baseline, which has no rounding instruction, `f64::round` calls libm once per line.
/// Truncating, then stepping by the fractional part, is exact: `x - trunc(x)` is always a
/// double, and every double of magnitude 2^52 or more is whole.
pub(crate) fn round_to_i64(x: f64) -> i64 {
    debug_assert!(x.abs() < 2f64.powi(62));
    let whole = x as i64;
    let fraction = x - whole as f64;
    if fraction >= 0.5 {
        whole + 1
    } else if fraction <= -0.5 {
        whole - 1
    } else {
        whole
    }
}

const SECONDS_PER_DAY: i64 = 86_400;

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date")
}

/// Days since 1970-01-01 of a calendar date.
pub fn day_number(date: NaiveDate) -> i32 {
    (date - epoch()).num_days() as i32
}

/// The calendar date of a day number (the calendar's first or last date beyond its range).
pub fn date_of_day(day: i32) -> NaiveDate {
    epoch()
        .checked_add_signed(chrono::TimeDelta::days(day as i64))
        .unwrap_or(if day < 0 {
            NaiveDate::MIN
        } else {
            NaiveDate::MAX
        })
}

/// Parses a date given on the command line or in a config (`2024-03-31` or `20240331`).
pub fn parse_date(text: &str) -> Result<NaiveDate, String> {
    match day_of_text(text.trim()) {
        Ok(day) => Ok(date_of_day(day)),
        Err(_) => Err(format!(
            "{text:?} is not a date (expected YYYY-MM-DD or YYYYMMDD)"
        )),
    }
}

fn day_of_epoch_seconds(seconds: i64) -> i32 {
    seconds.div_euclid(SECONDS_PER_DAY) as i32
}

/// Whole numbers with exactly eight digits in a plausible date range are `yyyymmdd`; every other
/// whole number is unix seconds. (Unix seconds with eight digits fall in 1970–1973, which no
/// customer log needs; `yyyymmdd` is the common export format, CDNOW's among them.)
fn day_of_integer(value: i64) -> CellResult<i32> {
    if (10_000_101..=99_991_231).contains(&value) {
        let (y, m, d) = (value / 10_000, (value / 100) % 100, value % 100);
        return NaiveDate::from_ymd_opt(y as i32, m as u32, d as u32)
            .map(day_number)
            .ok_or_else(|| "is an 8-digit number but not a valid yyyymmdd date".to_string());
    }
    if !(-(1 << 40)..(1 << 40)).contains(&value) {
        return Err("is out of range for unix seconds".into());
    }
    Ok(day_of_epoch_seconds(value))
}

fn day_of_text(text: &str) -> CellResult<i32> {
    if text.is_empty() {
        return Err("is empty; a timestamp is required".into());
    }
    if (text.bytes().all(|b| b.is_ascii_digit()) || (text.starts_with('-') && text.len() > 1))
        && let Ok(value) = text.parse::<i64>()
    {
        return day_of_integer(value);
    }
    // Unix seconds with a fraction.
    if text.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && let Ok(value) = text.parse::<f64>()
    {
        return day_of_integer(value.floor() as i64);
    }
    if let Some(day) = iso_day_without_offset(text) {
        return Ok(day);
    }
    // Offsets are honoured: the instant is converted to UTC, as unix seconds are.
    if let Ok(instant) = DateTime::parse_from_rfc3339(text) {
        return Ok(day_of_epoch_seconds(instant.timestamp()));
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f%:z",
        "%Y-%m-%d %H:%M:%S%.f%:z",
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%d %H:%M:%S%.f%z",
    ] {
        if let Ok(instant) = DateTime::parse_from_str(text, format) {
            return Ok(day_of_epoch_seconds(instant.timestamp()));
        }
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(text, format) {
            return Ok(day_number(naive.date()));
        }
    }
    Err("is not a timestamp (expected an ISO date or datetime, yyyymmdd, or unix seconds; for another layout give --date-format, e.g. \"%m/%d/%Y %H:%M\" for 12/1/2010 8:26)".into())
}

/// The common shapes `YYYY-MM-DD` and `YYYY-MM-DD[T ]hh:mm[:ss[.fff]]` (no offset), parsed by
/// chrono's ISO parsers for the date and the time separately. This is the hot path of a
/// transaction log, so it avoids trying the slower offset-aware formats first; anything else
/// (offsets, `Z`) returns `None` and goes through the full parsers.
fn iso_day_without_offset(text: &str) -> Option<i32> {
    let bytes = text.as_bytes();
    if bytes.len() < 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let date = text.get(..10)?.parse::<NaiveDate>().ok()?;
    if bytes.len() == 10 {
        return Some(day_number(date));
    }
    if !matches!(bytes[10], b'T' | b' ') {
        return None;
    }
    let time = &text[11..];
    if !time
        .bytes()
        .all(|b| b.is_ascii_digit() || b == b':' || b == b'.')
    {
        return None;
    }
    // hh:mm is valid ISO too; NaiveTime wants seconds.
    let valid = match time.len() {
        5 => format!("{time}:00").parse::<chrono::NaiveTime>().is_ok(),
        _ => time.parse::<chrono::NaiveTime>().is_ok(),
    };
    valid.then(|| day_number(date))
}

/// Remembers the last date seen, so that a log in time order parses each date once.
///
/// The key is the `YYYY-MM-DD` prefix of an ISO timestamp without offset; the time part is
/// still checked on every row, so a bad time is never let through by the cache.
#[derive(Default)]
pub(crate) struct DayCache {
    prefix: Vec<u8>,
    day: i32,
    /// A strftime format for text timestamps, and the last text it parsed with its day.
    format: Option<std::sync::Arc<str>>,
    last_text: Vec<u8>,
}

impl DayCache {
    /// A cache that parses text timestamps with `format` when one is given.
    pub fn with_format(format: Option<&str>) -> Self {
        DayCache {
            format: format.map(Into::into),
            ..DayCache::default()
        }
    }

    /// The day of `cell`, as [`day`] (or [`day_in_format`] with a format) would give it.
    pub fn day(&mut self, cell: Cell<'_>) -> CellResult<i32> {
        if let (Some(format), Some(bytes)) = (&self.format, cell.text_bytes()) {
            if !bytes.is_empty() && bytes == self.last_text.as_slice() {
                return Ok(self.day);
            }
            let text = cell.text_str().unwrap_or(Ok(""))?;
            let day = day_in_format(text.trim(), format)?;
            self.last_text.clear();
            self.last_text.extend_from_slice(bytes);
            self.day = day;
            return Ok(day);
        }
        if let Some(bytes) = cell.text_bytes() {
            if bytes.len() >= 10 && bytes[..10] == self.prefix[..] && plain_time(&bytes[10..]) {
                return Ok(self.day);
            }
            let day = day(cell)?;
            if bytes.len() >= 10 && bytes[4] == b'-' && plain_time(&bytes[10..]) {
                self.prefix.clear();
                self.prefix.extend_from_slice(&bytes[..10]);
                self.day = day;
            }
            return Ok(day);
        }
        day(cell)
    }
}

/// Checks a strftime format for timestamps: it must name a day, a month and a year.
pub(crate) fn check_date_format(format: &str) -> Result<(), String> {
    let has = |codes: &[&str]| codes.iter().any(|c| format.contains(c));
    let day = has(&["%d", "%e", "%j", "%F", "%D", "%x", "%c", "%+", "%s"]);
    let month = has(&[
        "%m", "%b", "%B", "%h", "%F", "%D", "%x", "%c", "%+", "%j", "%s",
    ]);
    let year = has(&["%Y", "%y", "%F", "%D", "%x", "%c", "%+", "%G", "%s"]);
    if day && month && year {
        Ok(())
    } else {
        Err(format!(
            "--date-format {format:?} must name the day, month and year (e.g. \"%m/%d/%Y %H:%M\")"
        ))
    }
}

/// The day of a timestamp written in the strftime `format` (a date and time, or a date alone).
pub(crate) fn day_in_format(text: &str, format: &str) -> CellResult<i32> {
    if text.is_empty() {
        return Err("is empty; a timestamp is required".into());
    }
    let day = NaiveDateTime::parse_from_str(text, format)
        .map(|t| t.date())
        .or_else(|_| NaiveDate::parse_from_str(text, format))
        .map(day_number)
        .map_err(|e| format!("does not match --date-format {format:?} ({e})"))?;
    if !(FIRST_DAY..=LAST_DAY).contains(&day) {
        return Err("is a date outside the years 1 to 9999".into());
    }
    Ok(day)
}

/// A customer id as kept: an integer written as a float by a spreadsheet or pandas (`12346.0`)
/// is the integer (`12346`), so that the same customer written both ways is one customer. Any
/// other id is kept as written.
pub(crate) fn integral_id(id: &str) -> &str {
    // Nearly every id has no point: a byte loop says so faster than a search set up per call.
    if !id.bytes().any(|b| b == b'.') {
        return id;
    }
    match id.split_once('.') {
        Some((whole, fraction))
            if !whole.is_empty()
                && whole
                    .strip_prefix('-')
                    .unwrap_or(whole)
                    .bytes()
                    .all(|b| b.is_ascii_digit())
                && !whole.strip_prefix('-').unwrap_or(whole).is_empty()
                && !fraction.is_empty()
                && fraction.bytes().all(|b| b == b'0') =>
        {
            whole
        }
        _ => id,
    }
}

/// Whether `rest` (what follows the date) is empty or a valid `[T ]hh:mm:ss` with no offset.
fn plain_time(rest: &[u8]) -> bool {
    let two = |b: &[u8]| -> Option<u8> {
        (b[0].is_ascii_digit() && b[1].is_ascii_digit()).then(|| (b[0] - b'0') * 10 + (b[1] - b'0'))
    };
    match rest {
        [] => true,
        [b'T' | b' ', h @ ..] if h.len() == 8 && h[2] == b':' && h[5] == b':' => {
            matches!((two(&h[0..2]), two(&h[3..5]), two(&h[6..8])), (Some(hh), Some(mm), Some(ss)) if hh < 24 && mm < 60 && ss <= 60)
        }
        _ => false,
    }
}

/// Parses a timestamp into a day number (days since 1970-01-01, UTC).
pub(crate) fn day(cell: Cell<'_>) -> CellResult<i32> {
    let day = match cell {
        Cell::Text(bytes) => day_of_text(utf8(bytes)?.trim()),
        Cell::Str(text) | Cell::Label(text, _) => day_of_text(text.trim()),
        Cell::Int(v) => day_of_integer(v),
        Cell::Float(v) if v.is_finite() => day_of_integer(v.floor() as i64),
        Cell::Float(_) => Err("is not a finite number".into()),
        Cell::EpochSeconds(s) => Ok(day_of_epoch_seconds(s)),
        Cell::Day(d) => Ok(d),
        Cell::Null => Err("is missing; a timestamp is required".into()),
    }?;
    if !(FIRST_DAY..=LAST_DAY).contains(&day) {
        return Err("is a date outside the years 1 to 9999".into());
    }
    Ok(day)
}

/// Day numbers of 0001-01-01 and 9999-12-31: the dates any log can hold, with room around them
/// for the arithmetic on days (as-of, windows) to stay within the calendar.
const FIRST_DAY: i32 = -719_162;
const LAST_DAY: i32 = 2_932_896;

/// A field's text for ids and labels; numbers are formatted the way they would be printed.
pub(crate) fn text<'a>(cell: Cell<'a>, scratch: &'a mut String) -> CellResult<&'a str> {
    match cell {
        Cell::Text(bytes) => Ok(trimmed(utf8(bytes)?)),
        Cell::Str(text) | Cell::Label(text, _) => Ok(trimmed(text)),
        Cell::Int(v) => {
            use std::fmt::Write;
            scratch.clear();
            write!(scratch, "{v}").expect("write to String");
            Ok(scratch.as_str())
        }
        Cell::Float(v) => {
            use std::fmt::Write;
            scratch.clear();
            write!(scratch, "{v}").expect("write to String");
            Ok(scratch.as_str())
        }
        Cell::EpochSeconds(_) | Cell::Day(_) => Err("is a date, not text".into()),
        Cell::Null => Ok(""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, dd: u32) -> i32 {
        day_number(NaiveDate::from_ymd_opt(y, m, dd).unwrap())
    }

    #[test]
    fn integers_written_as_floats_are_integers_and_other_ids_stay() {
        for (written, kept) in [
            ("12346.0", "12346"),
            ("12346.000", "12346"),
            ("-7.0", "-7"),
            ("12346", "12346"),
            ("12346.5", "12346.5"),
            ("C123.0", "C123.0"),
            (".0", ".0"),
            ("1.", "1."),
            ("1.0.0", "1.0.0"),
        ] {
            assert_eq!(integral_id(written), kept, "{written}");
        }
    }

    #[test]
    fn a_date_format_reads_shop_exports_and_names_the_format_on_a_mismatch() {
        let format = "%m/%d/%Y %H:%M";
        check_date_format(format).unwrap();
        assert!(check_date_format("%H:%M").is_err());
        let day = day_in_format("12/1/2010 8:26", format).unwrap();
        assert_eq!(
            date_of_day(day),
            NaiveDate::from_ymd_opt(2010, 12, 1).unwrap()
        );
        assert_eq!(
            date_of_day(day_in_format("2010-12-09", "%Y-%m-%d").unwrap()),
            NaiveDate::from_ymd_opt(2010, 12, 9).unwrap()
        );
        let error = day_in_format("2010-12-01 08:26", format).unwrap_err();
        assert!(error.contains("does not match --date-format"), "{error}");
        let mut cache = DayCache::with_format(Some(format));
        assert_eq!(cache.day(Cell::Text(b"12/1/2010 8:26")), Ok(day));
        assert_eq!(cache.day(Cell::Text(b"12/1/2010 8:26")), Ok(day));
        assert_eq!(cache.day(Cell::Text(b"12/2/2010 9:00")), Ok(day + 1));
    }

    #[test]
    fn dates_outside_the_calendar_are_errors_and_day_arithmetic_never_panics() {
        assert_eq!(
            day_number(NaiveDate::from_ymd_opt(1, 1, 1).unwrap()),
            FIRST_DAY
        );
        assert_eq!(
            day_number(NaiveDate::from_ymd_opt(9999, 12, 31).unwrap()),
            LAST_DAY
        );
        for cell in [
            Cell::Day(i32::MAX),
            Cell::Day(i32::MIN),
            Cell::EpochSeconds(1 << 39),
        ] {
            let error = day(cell).unwrap_err();
            assert!(error.contains("outside the years 1 to 9999"), "{error}");
        }
        assert_eq!(date_of_day(i32::MAX), NaiveDate::MAX);
        assert_eq!(date_of_day(i32::MIN), NaiveDate::MIN);
    }

    #[test]
    fn timestamp_formats_agree_on_the_day() {
        let want = d(2024, 3, 5);
        for text in [
            "2024-03-05",
            "20240305",
            "2024-03-05T13:45:00",
            "2024-03-05 13:45:00",
            "2024-03-05T13:45:00.123",
            "2024-03-05T13:45:00Z",
            "2024-03-05T13:45:00+01:00",
            "2024-03-05 13:45",
            "1709646300",
            "1709646300.5",
        ] {
            assert_eq!(day(Cell::Text(text.as_bytes())), Ok(want), "{text}");
        }
    }

    #[test]
    fn day_cache_gives_what_the_parser_gives() {
        let mut cache = DayCache::default();
        for text in [
            "2024-03-05T13:45:00",
            "2024-03-05T23:59:59",
            "2024-03-05T24:00:00",
            "2024-03-05T13:45:00+05:00",
            "2024-03-05 01:00:00",
            "2024-03-05",
            "2024-03-06T00:00:00",
            "2024-03-05T1:00:00",
            "2024-03-05T13:45:00Z",
        ] {
            let cell = Cell::Text(text.as_bytes());
            assert_eq!(cache.day(cell), day(cell), "{text}");
        }
    }

    #[test]
    fn offsets_move_the_instant_to_utc() {
        assert_eq!(
            day(Cell::Text(b"2024-03-05T23:30:00-05:00")),
            Ok(d(2024, 3, 6))
        );
    }

    #[test]
    fn bad_timestamps_are_rejected() {
        for text in [
            "",
            "2024-13-01",
            "20241301",
            "yesterday",
            "2024/03/05",
            "2024-03-05T25:00:00",
            "2024-03-05T12:61",
            "2024-03-05X12:00",
            "2024-02-30",
        ] {
            assert!(day(Cell::Text(text.as_bytes())).is_err(), "{text}");
        }
        assert!(day(Cell::Null).is_err());
    }

    #[test]
    fn amounts_are_exact_fixed_point() {
        assert_eq!(amount_units(Cell::Text(b"29.33")), Ok(293_300));
        assert_eq!(amount_units(Cell::Text(b"-5")), Ok(-50_000));
        assert_eq!(amount_units(Cell::Text(b" 0.0001 ")), Ok(1));
        assert_eq!(amount_units(Cell::Float(12.5)), Ok(125_000));
        assert_eq!(units_to_amount(293_300), 29.33);
    }

    /// Rounding by truncation and the fractional part is `f64::round`, halves and the
    /// doubles just beside them included, and the fast conversion of sums is the 128-bit one.
    #[test]
    fn rounding_matches_the_library() {
        let below_half = 0.5 - f64::EPSILON / 4.0;
        let mut values = vec![
            0.0,
            -0.0,
            0.5,
            -0.5,
            1.5,
            -1.5,
            2.5,
            -2.5,
            below_half,
            -below_half,
            0.49999999999999994,
            4503599627370495.5,
            -4503599627370495.5,
            4503599627370497.0,
            1e16,
            -1e16,
            1e-300,
        ];
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..100_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let magnitude = 10f64.powi((state % 17) as i32);
            let value = (state >> 11) as f64 / (1u64 << 53) as f64 * magnitude;
            values.push(if state & 1 == 0 { value } else { -value });
            values.push((value * 2.0).round() / 2.0);
        }
        for x in values {
            assert_eq!(round_to_i64(x), x.round() as i64, "{x:e}");
        }
        for units in [
            0i128,
            1,
            -1,
            293_300,
            i64::MAX as i128,
            i64::MIN as i128,
            (1 << 80) + 1,
        ] {
            assert_eq!(
                units_to_amount(units),
                units as f64 / AMOUNT_SCALE,
                "{units}"
            );
        }
    }

    /// The digit reader agrees with parsing the text as a float and rounding, on every shape
    /// it takes (signs, missing whole part or decimals, the longest whole parts) and on many
    /// pseudo-random amounts; what it does not take still goes through the float parser.
    #[test]
    fn plain_decimals_match_the_float_path() {
        let float_units = |text: &str| {
            let value: f64 = text.trim().parse().unwrap();
            (value * AMOUNT_SCALE).round() as i64
        };
        let mut texts: Vec<String> = [
            "0",
            "-0",
            "+0",
            "0.0",
            "-0.0000",
            ".5",
            "-.5",
            "5.",
            "+5.",
            "19.99",
            "0.1",
            "0.0001",
            "-0.0001",
            "999999999.9999",
            "-999999999.9999",
            "123456789",
            "1.005",
            "2.675",
            "1000000.01",
            "000000001.5",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..200_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let whole = state % 10_u64.pow(1 + (state >> 40) as u32 % 9);
            let decimals = (state >> 20) as usize % 5;
            let fraction = (state >> 24) % 10_u64.pow(decimals as u32);
            let sign = if state & 1 == 1 { "-" } else { "" };
            texts.push(if decimals == 0 {
                format!("{sign}{whole}")
            } else {
                format!("{sign}{whole}.{fraction:0decimals$}")
            });
        }
        for text in &texts {
            let fast = plain_decimal_units(text.as_bytes());
            assert_eq!(fast, Some(float_units(text)), "{text}");
            assert_eq!(amount_units(Cell::Text(text.as_bytes())), Ok(fast.unwrap()));
        }
        // Left to the float parser: whitespace, exponents, long whole parts, 5+ decimals.
        for text in [
            " 1.5",
            "1.5 ",
            "1e3",
            "1234567890",
            "0.00005",
            "1.23456",
            "",
            "-",
            ".",
            "+",
        ] {
            assert_eq!(plain_decimal_units(text.as_bytes()), None, "{text}");
        }
        assert_eq!(
            amount_units(Cell::Text(b"1234567890.5")),
            Ok(12_345_678_905_000)
        );
        assert_eq!(amount_units(Cell::Text(b" 1.5")), Ok(15_000));
        assert_eq!(amount_units(Cell::Text(b"1.00000")), Ok(10_000));
    }

    /// Validated text reads as the same bytes do, through every parser, and the fast trim is
    /// `str::trim`.
    #[test]
    fn validated_text_reads_as_its_bytes() {
        let texts = [
            "",
            " ",
            "\t",
            "12",
            " 12 ",
            "12.0",
            "\u{a0}12\u{a0}",
            "\u{3000}x",
            "x\u{85}",
            "19.99",
            " -5 ",
            "1e3",
            "abc",
            "2025-03-04",
            "2025-03-04 10:11:12",
            " 2025-03-04T10:11:12Z",
            "20250304",
            "1741046400",
            "~",
            "!x!",
            "é",
        ];
        for written in texts {
            assert_eq!(trimmed(written), written.trim(), "{written:?}");
            let (str_cell, byte_cell) = (Cell::Str(written), Cell::Text(written.as_bytes()));
            assert_eq!(
                amount_units(str_cell),
                amount_units(byte_cell),
                "{written:?}"
            );
            assert_eq!(day(str_cell), day(byte_cell), "{written:?}");
            assert_eq!(
                DayCache::default().day(str_cell),
                DayCache::default().day(byte_cell),
                "{written:?}"
            );
            let (mut a, mut b) = (String::new(), String::new());
            assert_eq!(
                text(str_cell, &mut a),
                text(byte_cell, &mut b),
                "{written:?}"
            );
            assert_eq!(str_cell.is_blank(), byte_cell.is_blank(), "{written:?}");
            assert_eq!(str_cell.display(), byte_cell.display(), "{written:?}");
        }
    }

    #[test]
    fn bad_amounts_are_rejected() {
        for text in ["", "12,5", "abc", "NaN", "inf", "-inf", "1e13"] {
            assert!(amount_units(Cell::Text(text.as_bytes())).is_err(), "{text}");
        }
        assert!(amount_units(Cell::Float(f64::NAN)).is_err());
        assert!(amount_units(Cell::Null).is_err());
        let tiny = amount_units(Cell::Text(b"0.00001")).unwrap_err();
        assert!(tiny.contains("smallest amount kept (0.0001)"), "{tiny}");
        assert_eq!(amount_units(Cell::Text(b"0")), Ok(0));
    }

    #[test]
    fn non_utf8_text_is_reported() {
        let err = amount_units(Cell::Text(b"\xff12")).unwrap_err();
        assert!(err.contains("UTF-8"), "{err}");
    }

    #[test]
    fn command_line_dates() {
        assert_eq!(
            parse_date("1997-10-01").unwrap(),
            NaiveDate::from_ymd_opt(1997, 10, 1).unwrap()
        );
        assert_eq!(
            parse_date("19971001").unwrap(),
            NaiveDate::from_ymd_opt(1997, 10, 1).unwrap()
        );
        assert!(parse_date("1997-10").is_err());
        assert_eq!(
            date_of_day(d(1997, 10, 1)),
            NaiveDate::from_ymd_opt(1997, 10, 1).unwrap()
        );
    }
}
