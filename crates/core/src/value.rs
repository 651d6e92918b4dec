//! One grammar for the values of customers' files and of segment rules: what is a number, a date
//! and a yes/no value.
//!
//! Three parts of Segport read values, and all three ask this module, so they never disagree:
//! - source type detection ([`crate::source::infer_type`]: the Sources screen's column types and
//!   the types segments are checked against when they are saved);
//! - the segment filter ([`crate::filter`]), for rule values and cells alike;
//! - the mapper's typed custom properties ([`crate::mapping::TypeSampler`], [`crate::mapping::Mapper`]).
//!
//! Every function trims the value first (` 7 ` is the number 7). The kinds never overlap: a value
//! is at most one of number, date and boolean; anything else is text ([`kind`]).
//!
//! # Numbers ([`parse_number`])
//!
//! `-?(0|[1-9][0-9]*)(\.[0-9]+)?`, at most 15 digits in all:
//! - the decimal separator is a dot, `1.5`; `1,5` is text (a decimal comma — or two values);
//! - no thousands separators (`1,000`, `1 000`), no `+`, no exponent (`1e3`), no `.5` or `5.`,
//!   no `inf` or `NaN`;
//! - no leading zero before other digits: `007` and `02134` are codes (ids, zip codes), so text;
//! - at most 15 digits, so that the value is exact in a double: longer digit strings (card
//!   numbers, 64-bit ids) are identifiers, so text.
//!
//! Without a fraction a number is an integer ([`Kind::Integer`]), with one a decimal. The text of
//! a number is valid JSON as it is: the mapper sends it exactly as written.
//!
//! # Dates ([`parse_date`])
//!
//! - ISO 8601, `YYYY-MM-DD` (`2024-01-31`);
//! - day first with dots, `D.M.YYYY` (`31.01.2024`, `1.3.2024`): no one writes month first with
//!   dots;
//! - day first with slashes, `D/M/YYYY`, but only when it cannot be read the other way round: the
//!   day is above 12 (`31/01/2024`) or equals the month (`05/05/2024`). `01/02/2024` is 1 February
//!   in Europe and January 2 in the US: it is not a date (text), and a rule value written so is
//!   refused with a message that says how to write it ([`date_problem`]). Month-first dates such
//!   as `01/31/2024` are not dates either: Segport never guesses the order.
//!
//! Each may be followed by a time: `T` or a space, then `HH:MM[:SS[.fraction]]`, then optionally
//! an offset `Z`, `+HH:MM`, `+HHMM` or `+HH` (a time without an offset is UTC), as in
//! `2024-01-31T10:00:00Z` or `2024-01-31 10:00`. Years have four digits; the day must exist
//! (`2024-02-30` is text).
//!
//! # Booleans ([`parse_bool`])
//!
//! `true`, `false`, `yes`, `no`, in any case (`TRUE`, `Yes`). `1` and `0` are numbers (a column of
//! 0s and 1s is as likely a count as a flag), `y` and `n` are text.

use chrono::{FixedOffset, NaiveDate, NaiveTime};

/// Most digits a number may have (a double holds 15 decimal digits exactly).
pub const MAX_NUMBER_DIGITS: usize = 15;

/// What a value is, by the grammar above.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A number without a fraction: `42`, `-3`, `0`.
    Integer,
    /// A number with a fraction: `2.5`, `-0.25`.
    Decimal,
    Date,
    Boolean,
    /// Anything else (also the empty value).
    Text,
}

/// What the value is (see the module documentation).
pub fn kind(s: &str) -> Kind {
    let s = s.trim();
    if let Some(integer) = number_shape(s) {
        return if integer {
            Kind::Integer
        } else {
            Kind::Decimal
        };
    }
    if parse_date(s).is_some() {
        Kind::Date
    } else if parse_bool(s).is_some() {
        Kind::Boolean
    } else {
        Kind::Text
    }
}

/// `Some(is an integer)` when `s` (already trimmed) is a number.
fn number_shape(s: &str) -> Option<bool> {
    let b = s.as_bytes();
    let b = b.strip_prefix(b"-").unwrap_or(b);
    let (int, frac) = match b.iter().position(|&c| c == b'.') {
        Some(p) => (&b[..p], Some(&b[p + 1..])),
        None => (b, None),
    };
    let digits = |s: &[u8]| !s.is_empty() && s.iter().all(u8::is_ascii_digit);
    let ok = digits(int)
        && (int.len() == 1 || int[0] != b'0')
        && frac.is_none_or(digits)
        && int.len() + frac.map_or(0, <[u8]>::len) <= MAX_NUMBER_DIGITS;
    ok.then_some(frac.is_none())
}

/// The number `s` is (see "Numbers" above), or `None`.
pub fn parse_number(s: &str) -> Option<f64> {
    let s = s.trim();
    number_shape(s)?;
    // The shape is a subset of what `f64::from_str` reads; 15 digits are always finite.
    s.parse::<f64>().ok()
}

/// Is `s` a number? (Cheaper than [`parse_number`]: nothing is converted.)
pub fn is_number(s: &str) -> bool {
    number_shape(s.trim()).is_some()
}

/// `true`/`false` for the words of "Booleans" above, else `None`.
pub fn parse_bool(s: &str) -> Option<bool> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("yes") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") || s.eq_ignore_ascii_case("no") {
        Some(false)
    } else {
        None
    }
}

/// A date (see "Dates" above).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Date {
    /// The calendar day as written (whatever the offset).
    pub day: NaiveDate,
    /// The instant in microseconds since the Unix epoch: midnight UTC for a date without a time,
    /// UTC for a time without an offset.
    pub micros: i64,
    /// Written with a time of day.
    pub has_time: bool,
}

/// Reads `min..=max` ASCII digits at `*i`.
fn digits(b: &[u8], i: &mut usize, min: usize, max: usize) -> Option<u32> {
    let mut n = 0u32;
    let start = *i;
    while *i < b.len() && *i - start < max && b[*i].is_ascii_digit() {
        n = n * 10 + u32::from(b[*i] - b'0');
        *i += 1;
    }
    (*i - start >= min).then_some(n)
}

fn expect_byte(b: &[u8], i: &mut usize, c: u8) -> Option<()> {
    (b.get(*i) == Some(&c)).then(|| *i += 1)
}

/// How the date part of a value is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DateForm {
    Iso,
    Dots,
    Slashes,
}

/// The date part: (form, first, second, year) as written — ISO: (Iso, month, day, year); the
/// others: (form, first number, second number, year) — and where it ends.
fn date_part(b: &[u8]) -> Option<(DateForm, u32, u32, u32, usize)> {
    if b.len() < 8 {
        return None;
    }
    let mut i = 0;
    if b[4] == b'-' {
        let y = digits(b, &mut i, 4, 4)?;
        expect_byte(b, &mut i, b'-')?;
        let m = digits(b, &mut i, 2, 2)?;
        expect_byte(b, &mut i, b'-')?;
        let d = digits(b, &mut i, 2, 2)?;
        return Some((DateForm::Iso, m, d, y, i));
    }
    let first = digits(b, &mut i, 1, 2)?;
    let sep = *b.get(i)?;
    let form = match sep {
        b'.' => DateForm::Dots,
        b'/' => DateForm::Slashes,
        _ => return None,
    };
    i += 1;
    let second = digits(b, &mut i, 1, 2)?;
    expect_byte(b, &mut i, sep)?;
    let y = digits(b, &mut i, 4, 4)?;
    Some((form, first, second, y, i))
}

/// The date `s` is (see "Dates" above), or `None`.
pub fn parse_date(s: &str) -> Option<Date> {
    let b = s.trim().as_bytes();
    if b.len() > 40 {
        return None;
    }
    let (form, first, second, y, mut i) = date_part(b)?;
    let (m, d) = match form {
        DateForm::Iso => (first, second),
        DateForm::Dots => (second, first),
        // Day first, and only when the other order is impossible or the same day.
        DateForm::Slashes if first > 12 || first == second => (second, first),
        DateForm::Slashes => return None,
    };
    let date = NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, m, d)?;
    if i == b.len() {
        let micros = date.and_time(NaiveTime::MIN).and_utc().timestamp_micros();
        return Some(Date {
            day: date,
            micros,
            has_time: false,
        });
    }
    // Time.
    if !matches!(b[i], b'T' | b't' | b' ') {
        return None;
    }
    i += 1;
    let hh = digits(b, &mut i, 2, 2)?;
    expect_byte(b, &mut i, b':')?;
    let mm = digits(b, &mut i, 2, 2)?;
    let mut ss = 0;
    let mut micro = 0;
    if b.get(i) == Some(&b':') {
        i += 1;
        ss = digits(b, &mut i, 2, 2)?;
        if b.get(i) == Some(&b'.') {
            i += 1;
            let start = i;
            let mut frac = 0u32;
            while i < b.len() && b[i].is_ascii_digit() {
                if i - start < 6 {
                    frac = frac * 10 + u32::from(b[i] - b'0');
                }
                i += 1;
            }
            let n = i - start;
            if n == 0 {
                return None;
            }
            micro = frac * 10u32.pow(6u32.saturating_sub(n as u32));
        }
    }
    let time = NaiveTime::from_hms_micro_opt(hh, mm, ss, micro)?;
    let offset_secs: i32 = match b.get(i).copied() {
        None => 0,
        Some(b'Z' | b'z') => {
            i += 1;
            0
        }
        Some(sign @ (b'+' | b'-')) => {
            i += 1;
            let oh = digits(b, &mut i, 2, 2)?;
            if b.get(i) == Some(&b':') {
                i += 1;
            }
            let om = if i < b.len() {
                digits(b, &mut i, 2, 2)?
            } else {
                0
            };
            let secs = i32::try_from(oh * 3600 + om * 60).ok()?;
            if sign == b'-' {
                -secs
            } else {
                secs
            }
        }
        Some(_) => return None,
    };
    if i != b.len() {
        return None;
    }
    let offset = FixedOffset::east_opt(offset_secs)?;
    let micros = (date.and_time(time) - offset).and_utc().timestamp_micros();
    Some(Date {
        day: date,
        micros,
        has_time: true,
    })
}

/// Is `s` a date written with slashes that could be read day first or month first
/// (`01/02/2024`)? Such a value is not a date.
pub fn is_ambiguous_date(s: &str) -> bool {
    ambiguous_reads(s.trim()).is_some()
}

/// Is `s` written like a date (`2024-13-01`, `01/31/2024`, `01/02/2024`), whether or not it is
/// one? For messages.
pub fn looks_like_date(s: &str) -> bool {
    date_part(s.trim().as_bytes()).is_some()
}

/// The two days an ambiguous slash date could be: (day first, month first).
fn ambiguous_reads(s: &str) -> Option<(NaiveDate, NaiveDate)> {
    let (form, first, second, y, end) = date_part(s.as_bytes())?;
    if form != DateForm::Slashes || first > 12 || second > 12 || first == second {
        return None;
    }
    // Whatever follows (a time) does not change the day.
    let rest = &s[end..];
    if !(rest.is_empty() || rest.starts_with(['T', 't', ' '])) {
        return None;
    }
    let y = i32::try_from(y).ok()?;
    Some((
        NaiveDate::from_ymd_opt(y, second, first)?,
        NaiveDate::from_ymd_opt(y, first, second)?,
    ))
}

fn spoken(d: NaiveDate) -> String {
    d.format("%-d %B %Y").to_string()
}

/// Why `s` is not a number, phrased to follow "… is not a number" (starts with `:` or ` (`).
/// For values [`parse_number`] refuses.
pub fn number_problem(s: &str) -> String {
    let t = s.trim();
    let b = t.as_bytes();
    let body = t.strip_prefix(['-', '+']).unwrap_or(t);
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    if let Some((int, frac)) = body.split_once(',') {
        if all_digits(int) && all_digits(frac) {
            let dot = format!("{}{int}.{frac}", if t.starts_with('-') { "-" } else { "" });
            return if frac.len() == 3 {
                format!(
                    ": the decimal separator is a dot and numbers have no thousands separators — write {dot} or {}{int}{frac}",
                    if t.starts_with('-') { "-" } else { "" }
                )
            } else {
                format!(": the decimal separator is a dot — write {dot}")
            };
        }
    }
    if body.len() > 1
        && body.bytes().any(|c| c.is_ascii_digit())
        && body
            .bytes()
            .all(|c| c.is_ascii_digit() || matches!(c, b',' | b' ' | b'.' | b'\''))
        && body.bytes().any(|c| matches!(c, b',' | b' ' | b'\''))
    {
        return ": numbers are written without thousands separators or spaces, with a dot before the decimals (1234.5)".into();
    }
    if t.starts_with('+') && is_number(&t[1..]) {
        return format!(": write it without the + ({})", &t[1..]);
    }
    if let Some((m, e)) = body.split_once(['e', 'E']) {
        if !m.is_empty()
            && m.bytes().all(|c| c.is_ascii_digit() || c == b'.')
            && all_digits(e.trim_start_matches(['+', '-']))
        {
            return ": exponents (1e3) are not read — write the number out (1000)".into();
        }
    }
    if body.starts_with('.') && all_digits(&body[1..]) {
        return format!(": write a 0 before the point (0{body})");
    }
    if body.ends_with('.') && all_digits(&body[..body.len() - 1]) {
        return format!(": write it without the final point ({})", &t[..t.len() - 1]);
    }
    let n_digits = body.bytes().filter(u8::is_ascii_digit).count();
    if !body.is_empty() && body.bytes().all(|c| c.is_ascii_digit() || c == b'.') {
        if n_digits > MAX_NUMBER_DIGITS {
            return format!(
                ": it has more than {MAX_NUMBER_DIGITS} digits, so it is read as an identifier (text)"
            );
        }
        if b.len() > 1 && body.starts_with('0') && !body.starts_with("0.") {
            return ": it starts with a 0, so it is read as a code (text), like a zip code".into();
        }
    }
    " (numbers are written like 42, -3 or 2.5)".into()
}

/// Why `s` is not a date, phrased to follow "… is not a date" (starts with `:`).
/// For values [`parse_date`] refuses.
pub fn date_problem(s: &str) -> String {
    let t = s.trim();
    if let Some((day_first, month_first)) = ambiguous_reads(t) {
        return format!(
            ": it could be {} or {} — write {} or {}",
            spoken(day_first),
            spoken(month_first),
            day_first.format("%Y-%m-%d"),
            month_first.format("%Y-%m-%d"),
        );
    }
    if let Some((form, first, second, y, _)) = date_part(t.as_bytes()) {
        let y = i32::try_from(y).unwrap_or(0);
        match form {
            DateForm::Slashes if first <= 12 && second > 12 => {
                if let Some(d) = NaiveDate::from_ymd_opt(y, first, second) {
                    return format!(
                        ": dates with slashes are read day first (DD/MM/YYYY), so there is no month {second} — if you mean {}, write {}",
                        spoken(d),
                        d.format("%Y-%m-%d")
                    );
                }
            }
            _ => {
                let (m, d) = match form {
                    DateForm::Iso => (first, second),
                    _ => (second, first),
                };
                if NaiveDate::from_ymd_opt(y, m, d).is_none() {
                    return format!(": there is no day {d} in month {m} of {y}");
                }
                return ": the time is not written as HH:MM or HH:MM:SS, with an optional offset (2024-03-01T10:00:00Z, 2024-03-01 10:00)".into();
            }
        }
    }
    ": write dates as YYYY-MM-DD (2024-03-01) or DD.MM.YYYY (01.03.2024), optionally with a time (2024-03-01T10:00:00Z)".into()
}

/// Why `s` is not a yes/no value, phrased to follow "… is not a yes/no value" (starts with `:`).
pub fn bool_problem(s: &str) -> String {
    match s.trim() {
        "1" | "0" => ": 1 and 0 are numbers — write true, false, yes or no".into(),
        _ => ": write true, false, yes or no".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_follow_the_documented_forms() {
        for (s, want) in [
            ("0", Kind::Integer),
            ("-3", Kind::Integer),
            (" 7 ", Kind::Integer),
            ("999999999999999", Kind::Integer),
            ("2.5", Kind::Decimal),
            ("-0.25", Kind::Decimal),
            ("1.5", Kind::Decimal),
            ("1,5", Kind::Text),
            ("1e3", Kind::Text),
            ("+7", Kind::Text),
            ("007", Kind::Text),
            (".5", Kind::Text),
            ("5.", Kind::Text),
            ("1234567890123456", Kind::Text),
            ("2024-01-31", Kind::Date),
            ("2024-01-31T10:00:00Z", Kind::Date),
            ("2024-01-31 10:00", Kind::Date),
            ("31.01.2024", Kind::Date),
            ("1.3.2024", Kind::Date),
            ("31/01/2024", Kind::Date),
            ("05/05/2024", Kind::Date),
            ("01/02/2024", Kind::Text),
            ("01/31/2024", Kind::Text),
            ("2024-02-30", Kind::Text),
            ("TRUE", Kind::Boolean),
            ("yes", Kind::Boolean),
            ("No", Kind::Boolean),
            ("y", Kind::Text),
            ("", Kind::Text),
            ("gold", Kind::Text),
        ] {
            assert_eq!(kind(s), want, "{s:?}");
        }
    }

    #[test]
    fn problems_say_how_to_write_the_value() {
        assert!(number_problem("1,5").contains("write 1.5"));
        assert!(number_problem("1,500").contains("1500"));
        assert!(number_problem("+7").contains("(7)"));
        assert!(number_problem("1e3").contains("exponent"));
        assert!(number_problem("007").contains("code"));
        assert!(number_problem("abc").contains("42"));
        let p = date_problem("01/02/2024");
        assert!(
            p.contains("1 February 2024") && p.contains("2 January 2024"),
            "{p}"
        );
        assert!(p.contains("2024-02-01") && p.contains("2024-01-02"), "{p}");
        assert!(date_problem("01/31/2024").contains("2024-01-31"));
        assert!(date_problem("2024-02-30").contains("no day 30"));
        assert!(bool_problem("1").contains("numbers"));
    }
}
