//! CSV: delimiter detection and a streaming record reader with exact line numbers.
//!
//! The reader drives `csv-core` itself instead of `csv::Reader` for one reason: line numbers.
//! `csv::Reader` stamps a record with the position where the previous record stopped, which is
//! before the `\n` of a `\r\n` and before any blank lines (BurntSushi/rust-csv#395), and
//! `csv-core` counts only `\n`, so a file with old Mac line ends (`\r` alone) would be one long
//! "line 1". Here the terminators between records are consumed by this reader, and every byte
//! consumed passes a [`LineCounter`], so a record's line is the one a text editor shows:
//! 1 + the number of line breaks before its first byte, a line break being `\r\n`, a lone `\r`
//! or a lone `\n` (inside quoted values too; blank lines count).

use super::{check_utf8, open_text, read_prefix, unreadable, RowItem, RowStream, SourceError, BOM};
use crate::error::RejectCode;
use csv_core::ReadRecordResult;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

/// The delimiters detected, in order of preference on a tie.
pub(super) const DELIMITERS: [u8; 4] = [b',', b';', b'\t', b'|'];
/// How much of the file is read to check UTF-8 and detect the delimiter.
const SNIFF_BYTES: usize = 64 * 1024;
/// How many records of that sample are compared.
const SNIFF_RECORDS: usize = 100;
/// A record larger than this is almost surely an unclosed quote swallowing the file.
const MAX_RECORD_BYTES: usize = 16 << 20;
const MAX_FIELDS: usize = 100_000;

/// Pick the delimiter of a CSV from its first bytes (BOM removed): for each candidate, parse up to
/// 100 records (quotes respected, blank lines skipped, a record cut by the end of the sample
/// dropped) and keep the candidates that split the header into 2 or more fields. The winner has
/// the largest share of records with as many fields as the header, then the most fields, then
/// comes first in `, ; TAB |`. With no candidate (a one-column file), `,`.
pub(super) fn sniff_delimiter(sample: &[u8], complete: bool) -> u8 {
    let mut best: Option<(u8, usize, usize)> = None;
    for d in DELIMITERS {
        let Some((share, fields)) = score(sample, complete, d) else {
            continue;
        };
        if best.is_none_or(|(_, s, f)| share > s || (share == s && fields > f)) {
            best = Some((d, share, fields));
        }
    }
    best.map_or(b',', |(d, _, _)| d)
}

/// (per-mille of records with the header's field count, the header's field count).
fn score(sample: &[u8], complete: bool, delimiter: u8) -> Option<(usize, usize)> {
    let mut rdr = ::csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(sample);
    let mut counts = Vec::new();
    let mut rec = ::csv::ByteRecord::new();
    while counts.len() <= SNIFF_RECORDS {
        match rdr.read_byte_record(&mut rec) {
            Ok(true) if rec.len() == 1 && rec[0].trim_ascii().is_empty() => {}
            Ok(true) => counts.push(rec.len()),
            Ok(false) | Err(_) => break,
        }
    }
    if !complete && counts.len() > 1 {
        counts.pop(); // may be cut in the middle
    }
    counts.truncate(SNIFF_RECORDS);
    let header = *counts.first()?;
    if header < 2 {
        return None;
    }
    let same = counts.iter().filter(|&&c| c == header).count();
    Some((same * 1000 / counts.len(), header))
}

/// Counts line breaks the way a text editor shows them — `\r\n`, a lone `\r`, a lone `\n` —
/// over bytes fed in consecutive chunks (a `\r\n` may be split between two chunks).
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct LineCounter {
    breaks: u64,
    /// The last byte fed was `\r`: a `\n` first in the next chunk ends the same line.
    after_cr: bool,
}

impl LineCounter {
    /// Count the line breaks of the next bytes of the file.
    pub(super) fn feed(&mut self, bytes: &[u8]) {
        let Some(&last) = bytes.last() else {
            return;
        };
        let mut breaks = 0u64;
        for i in memchr::memchr2_iter(b'\r', b'\n', bytes) {
            // A `\r` always ends a line; a `\n` unless it completes a `\r\n`.
            let after_cr = if i == 0 {
                self.after_cr
            } else {
                bytes[i - 1] == b'\r'
            };
            breaks += u64::from(bytes[i] == b'\r' || !after_cr);
        }
        self.breaks += breaks;
        self.after_cr = last == b'\r';
    }

    /// The line (1-based) the next byte is on.
    pub(super) fn line(&self) -> u64 {
        self.breaks + 1
    }
}

/// A CSV file open for reading: its header, then raw records one at a time.
pub(super) struct CsvSource {
    path: PathBuf,
    src: BufReader<File>,
    core: csv_core::Reader,
    delimiter: u8,
    /// The fields of the current record, back to back; `ends[i]` is where field `i` ends.
    out: Vec<u8>,
    ends: Vec<usize>,
    nfields: usize,
    /// Line breaks of every byte consumed so far (`core.line()` counts only `\n`).
    lines: LineCounter,
    done: bool,
    /// Set when the last record ran to the end of the file inside an unclosed quote: the
    /// line where the file ended.
    unclosed_until: Option<u64>,
    pub(super) columns: Vec<String>,
}

impl CsvSource {
    /// Open a CSV: check that it starts as UTF-8, detect the delimiter, read the header.
    pub(super) fn open(path: &Path) -> Result<CsvSource, SourceError> {
        let (prefix, complete) = read_prefix(path, SNIFF_BYTES)?;
        check_utf8(path, &prefix)?;
        let delimiter = sniff_delimiter(prefix.strip_prefix(BOM).unwrap_or(&prefix), complete);
        let src = open_text(path)?;
        let mut s = CsvSource {
            path: path.to_path_buf(),
            src,
            core: csv_core::ReaderBuilder::new().delimiter(delimiter).build(),
            delimiter,
            out: vec![0; 4096],
            ends: vec![0; 64],
            nfields: 0,
            lines: LineCounter::default(),
            done: false,
            unclosed_until: None,
            columns: Vec::new(),
        };
        if s.next_record()?.is_none() {
            return Err(SourceError::Empty(path.to_path_buf()));
        }
        let mut columns = Vec::with_capacity(s.len());
        for i in 0..s.len() {
            let name = std::str::from_utf8(s.field(i)).map_err(|e| SourceError::NotUtf8 {
                path: path.to_path_buf(),
                offset: e.valid_up_to(),
            })?;
            let name = name.trim_start_matches('\u{feff}').trim();
            if name.is_empty() {
                return Err(SourceError::EmptyHeader {
                    path: path.to_path_buf(),
                    index: i + 1,
                });
            }
            // A duplicate name would make the mapping ambiguous (the first one would silently
            // win): refuse it, naming both columns.
            if let Some(first) = columns.iter().position(|c: &String| c == name) {
                return Err(SourceError::DuplicateColumn {
                    path: path.to_path_buf(),
                    column: name.to_string(),
                    first: first + 1,
                    second: i + 1,
                });
            }
            columns.push(name.to_string());
        }
        s.columns = columns;
        Ok(s)
    }

    pub(super) fn delimiter(&self) -> u8 {
        self.delimiter
    }

    /// The number of fields of the current record.
    pub(super) fn len(&self) -> usize {
        self.nfields
    }

    /// Field `i` (< `len()`) of the current record, unquoted.
    pub(super) fn field(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.out[start..self.ends[i]]
    }

    /// Read the next record that is not blank (a line of only spaces is blank); its line.
    pub(super) fn next_record(&mut self) -> Result<Option<u64>, SourceError> {
        loop {
            let line = self.read_record()?;
            if line.is_some() && self.nfields == 1 && self.field(0).trim_ascii().is_empty() {
                continue;
            }
            return Ok(line);
        }
    }

    fn read_record(&mut self) -> Result<Option<u64>, SourceError> {
        if self.done {
            return Ok(None);
        }
        // Line terminators (and so blank lines) between records.
        loop {
            let buf = self
                .src
                .fill_buf()
                .map_err(|e| unreadable(&self.path, &e))?;
            let n = buf
                .iter()
                .take_while(|&&b| b == b'\n' || b == b'\r')
                .count();
            let all = n == buf.len();
            self.lines.feed(&buf[..n]);
            self.src.consume(n);
            if n == 0 || !all {
                break;
            }
        }
        let line = self.lines.line();
        let (mut outlen, mut endlen) = (0, 0);
        // Double quotes in the record's raw bytes: an odd count in a record that runs to the
        // end of the file over several lines means a quote that was never closed.
        let mut quotes = 0usize;
        let mut at_eof;
        let mut ends_with_newline = false;
        self.unclosed_until = None;
        loop {
            let input = self
                .src
                .fill_buf()
                .map_err(|e| unreadable(&self.path, &e))?;
            at_eof = input.is_empty();
            let (res, nin, nout, nend) =
                self.core
                    .read_record(input, &mut self.out[outlen..], &mut self.ends[endlen..]);
            quotes += memchr::memchr_iter(b'"', &input[..nin]).count();
            if let Some(&b) = input[..nin].last() {
                ends_with_newline = b == b'\n' || b == b'\r';
            }
            self.lines.feed(&input[..nin]);
            self.src.consume(nin);
            outlen += nout;
            endlen += nend;
            match res {
                ReadRecordResult::InputEmpty => {}
                ReadRecordResult::OutputFull => {
                    if self.out.len() >= MAX_RECORD_BYTES {
                        self.done = true;
                        return Err(SourceError::Malformed {
                            path: self.path.clone(),
                            line,
                            reason: format!(
                                "the row is larger than {} MB, most likely because a double quote (\") opens a field that is never closed. Fix the quotes on that line and save the file again",
                                MAX_RECORD_BYTES >> 20
                            ),
                        });
                    }
                    let n = self.out.len() * 2;
                    self.out.resize(n, 0);
                }
                ReadRecordResult::OutputEndsFull => {
                    if self.ends.len() >= MAX_FIELDS {
                        self.done = true;
                        return Err(SourceError::Malformed {
                            path: self.path.clone(),
                            line,
                            reason: format!("the row has more than {MAX_FIELDS} fields"),
                        });
                    }
                    let n = self.ends.len() * 2;
                    self.ends.resize(n, 0);
                }
                ReadRecordResult::Record => {
                    self.nfields = endlen;
                    // The line the record's last byte is on (its own terminator, if consumed,
                    // is not on the next line).
                    let last = self.lines.line() - u64::from(ends_with_newline);
                    if at_eof && quotes % 2 == 1 && last > line {
                        self.unclosed_until = Some(last);
                    }
                    return Ok(Some(line));
                }
                ReadRecordResult::End => {
                    self.done = true;
                    return Ok(None);
                }
            }
        }
    }
}

/// [`RowStream`] over a CSV file.
pub(super) struct CsvStream {
    src: CsvSource,
}

impl CsvStream {
    pub(super) fn open(path: &Path) -> Result<CsvStream, SourceError> {
        Ok(CsvStream {
            src: CsvSource::open(path)?,
        })
    }

    pub(super) fn delimiter(&self) -> u8 {
        self.src.delimiter()
    }
}

impl RowStream for CsvStream {
    fn columns(&self) -> &[String] {
        &self.src.columns
    }

    fn next_row(&mut self) -> Result<Option<RowItem>, SourceError> {
        let Some(line) = self.src.next_record()? else {
            return Ok(None);
        };
        if let Some(end) = self.src.unclosed_until {
            return Ok(Some(RowItem::Bad {
                line,
                reason: RejectCode::CsvUnclosedQuote { line, end },
            }));
        }
        let (width, have) = (self.src.columns.len(), self.src.len());
        // Extra fields with text mean an unquoted delimiter shifted the values: refuse the row
        // rather than send a value under the wrong column. Empty extras (a trailing delimiter)
        // are harmless.
        if (width..have).any(|i| !self.src.field(i).trim_ascii().is_empty()) {
            return Ok(Some(RowItem::Bad {
                line,
                reason: RejectCode::CsvTooManyFields {
                    have,
                    width,
                    delimiter: char::from(self.src.delimiter()).to_string(),
                },
            }));
        }
        let mut values = Vec::with_capacity(width);
        for i in 0..width.min(have) {
            match std::str::from_utf8(self.src.field(i)) {
                Ok(v) => values.push(v.to_owned()),
                Err(_) => {
                    return Ok(Some(RowItem::Bad {
                        line,
                        reason: RejectCode::CsvNotUtf8 {
                            column: self.src.columns[i].clone(),
                        },
                    }))
                }
            }
        }
        values.resize(width, String::new());
        Ok(Some(RowItem::Row { line, values }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_breaks_are_counted_like_an_editor_however_the_bytes_are_split() {
        let text: &[u8] = b"a\r\nb\rc\nd\n\re\r\r\n\n\"f\rg\"\r\nh\r";
        let mut whole = LineCounter::default();
        whole.feed(text);
        assert_eq!(whole.line(), 12);
        for split in 0..=text.len() {
            let mut parts = LineCounter::default();
            parts.feed(&text[..split]);
            parts.feed(&[]);
            parts.feed(&text[split..]);
            assert_eq!(parts.line(), whole.line(), "split at {split}");
        }
        let mut bytewise = LineCounter::default();
        text.chunks(1).for_each(|b| bytewise.feed(b));
        assert_eq!(bytewise.line(), whole.line());
    }

    #[test]
    fn sniffing_prefers_the_delimiter_that_splits_rows_like_the_header() {
        assert_eq!(sniff_delimiter(b"a,b,c\n1,2,3\n", true), b',');
        assert_eq!(sniff_delimiter(b"a;b\n1,5;2,5\n", true), b';');
        assert_eq!(sniff_delimiter(b"a\tb\n\"x,y;z|w\"\t2\n", true), b'\t');
        assert_eq!(sniff_delimiter(b"a|b|c\n1|2|3\n", true), b'|');
        assert_eq!(
            sniff_delimiter(b"email\nx@y.io\n", true),
            b',',
            "one column"
        );
        assert_eq!(sniff_delimiter(b"", true), b',');
        // The header splits both ways; only ';' splits every row like the header.
        assert_eq!(
            sniff_delimiter(b"a,b;c;d\n1;2;3\n4;5;6\n7,8;9;0\n", true),
            b';'
        );
        // A record cut by the end of the sample does not count: "7;8" may be "7;8,9".
        assert_eq!(sniff_delimiter(b"a,b;c\n1,2;3\n4,5;6\n7;8", true), b';');
        assert_eq!(sniff_delimiter(b"a,b;c\n1,2;3\n4,5;6\n7;8", false), b',');
    }
}
