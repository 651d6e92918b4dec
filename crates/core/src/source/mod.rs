//! Data sources — a CSV file, a JSON Lines file or a table of a SQLite database — read as a
//! stream of rows with bounded memory.
//!
//! - [`open`] gives a [`RowStream`]: the source's columns, then one [`RowItem`] at a time, each
//!   with its line (CSV/JSONL: the 1-based line of the file where the row starts; SQLite: the
//!   row's 1-based position in rowid order). A row that cannot be read is a [`RowItem::Bad`]
//!   with a reason a person can act on, never a panic and never the end of the stream; only a
//!   failure to read the source at all is an `Err`.
//! - [`inspect`] reads a sample: columns, their inferred [`ColumnType`], the first rows and, for a
//!   CSV, the detected delimiter.
//! - [`sqlite_tables`] lists the tables (and views) of a database file.
//!
//! Format rules:
//! - **CSV**: header row required (names trimmed, none empty); the delimiter is detected among
//!   `,` `;` TAB `|` from the first 64 KiB (see `csv::sniff_delimiter`); RFC 4180 quotes; a UTF-8
//!   byte-order mark is ignored; `\n`, `\r\n` and `\r` all end a row; blank lines are skipped.
//!   A row with fewer fields than the header is padded with `""`; extra fields that are empty are
//!   ignored (trailing delimiters), extra fields with text make the row bad (an unquoted
//!   delimiter shifts every value after it).
//! - **JSONL**: one JSON object per line; the columns are the keys seen in the first
//!   [`JSONL_KEY_SAMPLE`] non-blank lines, in first-seen order (keys first seen later are
//!   ignored). Strings are taken as they are, numbers and booleans as their JSON text (numbers
//!   keep their exact digits), null or a missing key as `""`, objects and arrays as compact JSON
//!   text. Blank lines are skipped; a line that is not a JSON object is a bad row.
//! - **SQLite**: the file is opened read-only; rows come in rowid order (a view or a `WITHOUT
//!   ROWID` table in its own order) from a reader thread through a bounded channel. NULL is `""`,
//!   integers and reals as text, a BLOB holding UTF-8 text as that text and any other BLOB as
//!   lowercase hex prefixed with `0x`.
//!
//! Architecture invariant: no source is ever collected in memory; a stream holds at most one
//! row (CSV), the key sample (JSONL) or a few chunks of rows (SQLite).

mod csv;
mod jsonl;
mod sqlite;

pub use self::sqlite::{sqlite_row_count, sqlite_tables};

use crate::model::CsvInfo;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

/// How many non-blank lines of a JSON Lines file are read to find its columns.
pub const JSONL_KEY_SAMPLE: usize = 1_000;
/// How many rows [`SourceInfo::sample`] holds at most.
pub const SAMPLE_LEN: usize = 20;

/// A source that cannot be read at all. Its messages are written with every other error's, in
/// [`crate::error::ErrorCode::message`].
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    Missing(PathBuf),
    Unreadable {
        path: PathBuf,
        reason: String,
    },
    Empty(PathBuf),
    NoRows(PathBuf),
    NotUtf8 {
        path: PathBuf,
        offset: usize,
    },
    MissingColumn {
        path: PathBuf,
        column: String,
        available: String,
    },
    EmptyHeader {
        path: PathBuf,
        index: usize,
    },
    DuplicateColumn {
        path: PathBuf,
        column: String,
        first: usize,
        second: usize,
    },
    Malformed {
        path: PathBuf,
        line: u64,
        reason: String,
    },
    NoJsonObjects {
        path: PathBuf,
        lines: u64,
    },
    NotSqlite(PathBuf),
    TableRequired {
        path: PathBuf,
        available: String,
    },
    MissingTable {
        path: PathBuf,
        table: String,
        available: String,
    },
    EmptyTable {
        path: PathBuf,
        table: String,
    },
    Sqlite {
        path: PathBuf,
        reason: String,
    },
}

impl SourceError {
    /// A stable, machine-readable code (`source.*`): its [`crate::error::ErrorCode`]'s.
    pub fn code(&self) -> &'static str {
        crate::error::ErrorCode::from(self).code()
    }
}

/// The format of a source. (`model::SourceKind` is the stored configuration; this is what the
/// readers understand.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceFormat {
    Csv,
    Jsonl,
    Sqlite,
}

impl SourceFormat {
    /// `csv`, `jsonl` or `sqlite`, as in config files.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceFormat::Csv => "csv",
            SourceFormat::Jsonl => "jsonl",
            SourceFormat::Sqlite => "sqlite",
        }
    }

    /// A guess from the file name's extension (`.csv .tsv .txt`, `.jsonl .ndjson`,
    /// `.sqlite .sqlite3 .db .db3`), for pre-filling a form.
    pub fn guess(path: &Path) -> Option<SourceFormat> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "csv" | "tsv" | "txt" => Some(SourceFormat::Csv),
            "jsonl" | "ndjson" => Some(SourceFormat::Jsonl),
            "sqlite" | "sqlite3" | "db" | "db3" => Some(SourceFormat::Sqlite),
            _ => None,
        }
    }
}

/// What to read: a file, its format and, for SQLite, the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceSpec {
    pub kind: SourceFormat,
    pub path: PathBuf,
    /// The table (or view) of a SQLite database; ignored for files.
    pub table: Option<String>,
}

impl SourceSpec {
    pub fn csv(path: impl Into<PathBuf>) -> SourceSpec {
        SourceSpec {
            kind: SourceFormat::Csv,
            path: path.into(),
            table: None,
        }
    }

    pub fn jsonl(path: impl Into<PathBuf>) -> SourceSpec {
        SourceSpec {
            kind: SourceFormat::Jsonl,
            path: path.into(),
            table: None,
        }
    }

    pub fn sqlite(path: impl Into<PathBuf>, table: impl Into<String>) -> SourceSpec {
        SourceSpec {
            kind: SourceFormat::Sqlite,
            path: path.into(),
            table: Some(table.into()),
        }
    }
}

/// One item of a [`RowStream`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowItem {
    /// A row: one value per column of the stream (`""` when missing).
    Row { line: u64, values: Vec<String> },
    /// A row that could not be read: where it is and why (a reject, not the end of the stream).
    Bad {
        line: u64,
        reason: crate::error::RejectCode,
    },
}

impl RowItem {
    pub fn line(&self) -> u64 {
        match self {
            RowItem::Row { line, .. } | RowItem::Bad { line, .. } => *line,
        }
    }
}

/// The rows of a source, one at a time.
pub trait RowStream: Send {
    /// The column names, in source order. Every `RowItem::Row` has one value per column.
    fn columns(&self) -> &[String];
    /// The next row; `Ok(None)` at the end. An `Err` means the source can no longer be read
    /// (I/O failure, database error): the stream is over.
    fn next_row(&mut self) -> Result<Option<RowItem>, SourceError>;
}

/// Open a source for streaming. Checks what can be checked up front: the file exists and has
/// the right format, the CSV header, the JSONL columns, the SQLite table.
pub fn open(spec: &SourceSpec) -> Result<Box<dyn RowStream>, SourceError> {
    Ok(match spec.kind {
        SourceFormat::Csv => Box::new(csv::CsvStream::open(&spec.path)?),
        SourceFormat::Jsonl => Box::new(jsonl::JsonlStream::open(&spec.path, JSONL_KEY_SAMPLE)?),
        SourceFormat::Sqlite => Box::new(sqlite::SqliteStream::open(
            &spec.path,
            spec.table.as_deref(),
        )?),
    })
}

/// The index of a column by exact name, or an error naming the columns there are.
pub fn column_index(
    spec: &SourceSpec,
    columns: &[String],
    name: &str,
) -> Result<usize, SourceError> {
    columns
        .iter()
        .position(|c| c == name)
        .ok_or_else(|| SourceError::MissingColumn {
            path: spec.path.clone(),
            column: name.to_string(),
            available: columns.join(", "),
        })
}

/// What the values of a column look like, judged from a sample. Each non-empty value (trimmed)
/// must fit; the first type in this order that every value fits wins: Boolean, Integer, Number,
/// Date, Email, Phone, else Text. A column with no non-empty value is Empty. Numbers, dates and
/// booleans are read by the one grammar of [`crate::value`], as the segment filter and the
/// mapper read them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnType {
    /// Anything else.
    Text,
    /// `-12`, `0`, `42` ([`crate::value`]: no `+`, no leading zero — `02134` is a code, so
    /// Text — at most 15 digits).
    Integer,
    /// Integers and `3.5`, `-0.25` (a dot before the decimals; no exponent, no thousands
    /// separators).
    Number,
    /// `true/false`, `yes/no` in any case (`0/1` are Integers).
    Boolean,
    /// `2024-01-31`, `2024-01-31T10:00:00Z`, `2024-01-31 10:00:00`, `31.01.2024`, and
    /// `31/01/2024` (slashes: day first, only when unambiguous — `01/02/2024` is Text).
    Date,
    /// A syntactically valid email address.
    Email,
    /// 7 to 15 digits with optional `+` in front and spaces, dashes, dots or parentheses.
    Phone,
    /// No value in the sample.
    Empty,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnInfo {
    pub name: String,
    pub inferred: ColumnType,
}

/// A sample of a source, for the UI (column pickers, previews) and early checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceInfo {
    pub columns: Vec<ColumnInfo>,
    /// The first rows (at most [`SAMPLE_LEN`]), one value per column.
    pub sample: Vec<Vec<String>>,
    /// The detected delimiter of a CSV; `None` for other formats.
    pub delimiter: Option<char>,
}

/// Open a source and read up to `sample_rows` rows (at least one) to infer the column types.
/// Bad rows are left out of the sample. A source with no row at all is an error
/// (`source.no_rows`), as is everything [`open`] reports.
pub fn inspect(spec: &SourceSpec, sample_rows: usize) -> Result<SourceInfo, SourceError> {
    let (mut stream, delimiter): (Box<dyn RowStream>, Option<char>) = match spec.kind {
        SourceFormat::Csv => {
            let s = csv::CsvStream::open(&spec.path)?;
            let d = s.delimiter() as char;
            (Box::new(s), Some(d))
        }
        _ => (open(spec)?, None),
    };
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut read = 0usize;
    while read < sample_rows.max(1) {
        match stream.next_row()? {
            None => break,
            Some(RowItem::Row { values, .. }) => rows.push(values),
            Some(RowItem::Bad { .. }) => {}
        }
        read += 1;
    }
    if read == 0 {
        return Err(match (spec.kind, &spec.table) {
            (SourceFormat::Sqlite, Some(table)) => SourceError::EmptyTable {
                path: spec.path.clone(),
                table: table.clone(),
            },
            _ => SourceError::NoRows(spec.path.clone()),
        });
    }
    let columns = stream
        .columns()
        .iter()
        .enumerate()
        .map(|(i, name)| ColumnInfo {
            name: name.clone(),
            inferred: infer_type(rows.iter().map(|r| r.get(i).map_or("", String::as_str))),
        })
        .collect();
    rows.truncate(SAMPLE_LEN);
    Ok(SourceInfo {
        columns,
        sample: rows,
        delimiter,
    })
}

/// The type every non-empty value of a sample fits (see [`ColumnType`]).
pub fn infer_type<'a>(values: impl IntoIterator<Item = &'a str>) -> ColumnType {
    // One bit per candidate type, cleared by the first value that does not fit it.
    const ORDER: [ColumnType; 6] = [
        ColumnType::Boolean,
        ColumnType::Integer,
        ColumnType::Number,
        ColumnType::Date,
        ColumnType::Email,
        ColumnType::Phone,
    ];
    let mut fits = [true; 6];
    let mut any = false;
    for v in values {
        let v = v.trim();
        if v.is_empty() {
            continue;
        }
        any = true;
        for (i, t) in ORDER.iter().enumerate() {
            if fits[i] && !value_fits(*t, v) {
                fits[i] = false;
            }
        }
        if !fits.contains(&true) {
            return ColumnType::Text;
        }
    }
    if !any {
        return ColumnType::Empty;
    }
    ORDER
        .iter()
        .zip(fits)
        .find(|(_, ok)| *ok)
        .map_or(ColumnType::Text, |(t, _)| *t)
}

fn value_fits(t: ColumnType, v: &str) -> bool {
    use crate::value::{self, Kind};
    match t {
        ColumnType::Boolean => value::kind(v) == Kind::Boolean,
        ColumnType::Integer => value::kind(v) == Kind::Integer,
        ColumnType::Number => value::is_number(v),
        ColumnType::Date => value::kind(v) == Kind::Date,
        ColumnType::Email => v.contains('@') && email_address::EmailAddress::is_valid(v),
        ColumnType::Phone => is_phone(v),
        ColumnType::Text | ColumnType::Empty => true,
    }
}

fn is_phone(v: &str) -> bool {
    let body = v.strip_prefix('+').unwrap_or(v);
    let digits = body.bytes().filter(u8::is_ascii_digit).count();
    (7..=15).contains(&digits)
        && body
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b' ' | b'-' | b'.' | b'(' | b')'))
}

fn open_file(path: &Path) -> Result<File, SourceError> {
    File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => SourceError::Missing(path.to_path_buf()),
        _ => unreadable(path, &e),
    })
}

fn unreadable(path: &Path, e: &std::io::Error) -> SourceError {
    SourceError::Unreadable {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// The first `len` bytes of a file (fewer when the file is shorter), and whether that is all.
fn read_prefix(path: &Path, len: usize) -> Result<(Vec<u8>, bool), SourceError> {
    let mut buf = Vec::with_capacity(len.min(1 << 20));
    open_file(path)?
        .take(len as u64 + 1)
        .read_to_end(&mut buf)
        .map_err(|e| unreadable(path, &e))?;
    let complete = buf.len() <= len;
    buf.truncate(len);
    Ok((buf, complete))
}

/// Check that the start of a file is UTF-8 (a multi-byte character cut at the end of the sample
/// is fine). Catches Latin-1 / Windows-1252 exports before a run starts.
fn check_utf8(path: &Path, prefix: &[u8]) -> Result<(), SourceError> {
    match std::str::from_utf8(prefix) {
        Ok(_) => Ok(()),
        Err(e) if e.error_len().is_none() => Ok(()),
        Err(e) => Err(SourceError::NotUtf8 {
            path: path.to_path_buf(),
            offset: e.valid_up_to(),
        }),
    }
}

const BOM: &[u8] = b"\xef\xbb\xbf";
/// Read buffer of the text sources.
const BUF_BYTES: usize = 256 * 1024;

/// A text source's file, buffered, positioned after its UTF-8 byte-order mark if it has one.
fn open_text(path: &Path) -> Result<std::io::BufReader<File>, SourceError> {
    use std::io::BufRead;
    let mut src = std::io::BufReader::with_capacity(BUF_BYTES, open_file(path)?);
    if src
        .fill_buf()
        .map_err(|e| unreadable(path, &e))?
        .starts_with(BOM)
    {
        src.consume(BOM.len());
    }
    Ok(src)
}

// ---------------------------------------------------------------------------------------------
// The CSV API the engine and the workspace use today; thin adapters over `csv::CsvSource`.

/// The header row of a CSV file, checked: present, UTF-8, no empty names, at least one row.
pub fn inspect_csv(path: &Path) -> Result<CsvInfo, SourceError> {
    let mut src = csv::CsvSource::open(path)?;
    if src.next_record()?.is_none() {
        return Err(SourceError::NoRows(path.to_path_buf()));
    }
    let headers = src.columns;
    let suggested = suggest_email_column(&headers);
    Ok(CsvInfo {
        path: path.to_string_lossy().into_owned(),
        file_name: path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        headers,
        suggested_email_column: suggested,
    })
}

/// The header most likely to hold email addresses.
pub fn suggest_email_column(headers: &[String]) -> Option<String> {
    let norm = |h: &str| h.to_ascii_lowercase().replace([' ', '_', '-'], "");
    for want in ["email", "emailaddress", "mail", "email1", "primaryemail"] {
        if let Some(h) = headers.iter().find(|h| norm(h) == want) {
            return Some(h.clone());
        }
    }
    headers
        .iter()
        .find(|h| h.to_ascii_lowercase().contains("mail"))
        .cloned()
}

/// One data row: its 1-based line number in the file and its fields (as many as the line has).
pub struct Row {
    pub line: u64,
    pub fields: ::csv::StringRecord,
}

/// Either a row, or a row that could not be read (reported as a reject, never a panic).
pub enum RowResult {
    Row(Row),
    Bad { line: u64, reason: String },
}

/// A streaming reader over a CSV file's data rows (delimiter detected). Memory stays flat
/// whatever the file size. Superseded by [`open`]; kept until the engine switches over.
pub struct CsvRows {
    src: csv::CsvSource,
    pub headers: Vec<String>,
}

impl CsvRows {
    pub fn open(path: &Path) -> Result<CsvRows, SourceError> {
        let src = csv::CsvSource::open(path)?;
        let headers = src.columns.clone();
        Ok(CsvRows { src, headers })
    }

    pub fn column(&self, name: &str) -> Result<usize, SourceError> {
        self.headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| SourceError::MissingColumn {
                path: self.src.path().to_path_buf(),
                column: name.to_string(),
                available: self.headers.join(", "),
            })
    }

    /// The next row; `Ok(None)` at the end of the file. An I/O failure ends the stream with an
    /// error; a row that is not UTF-8 is returned as `RowResult::Bad`.
    pub fn next_row(&mut self) -> Result<Option<RowResult>, SourceError> {
        let Some(line) = self.src.next_record()? else {
            return Ok(None);
        };
        let mut fields = ::csv::StringRecord::new();
        for i in 0..self.src.len() {
            match std::str::from_utf8(self.src.field(i)) {
                Ok(s) => fields.push_field(s),
                Err(_) => {
                    return Ok(Some(RowResult::Bad {
                        line,
                        reason: format!(
                            "not valid UTF-8 text (field {}): save the file as CSV UTF-8",
                            i + 1
                        ),
                    }))
                }
            }
        }
        Ok(Some(RowResult::Row(Row { line, fields })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file(content: &[u8]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(content).unwrap();
        f
    }

    #[test]
    fn inspect_detects_headers_and_suggests_the_email_column() {
        let f = file("\u{feff}First Name,E-mail,Phone\nAda,ada@example.com,1\n".as_bytes());
        let info = inspect_csv(f.path()).unwrap();
        assert_eq!(info.headers, vec!["First Name", "E-mail", "Phone"]);
        assert_eq!(info.suggested_email_column.as_deref(), Some("E-mail"));
    }

    #[test]
    fn empty_header_only_and_latin1_files_get_clear_errors() {
        let e = inspect_csv(file(b"").path()).unwrap_err();
        assert_eq!(e.code(), "source.empty");
        let e = inspect_csv(file(b"email,name\n").path()).unwrap_err();
        assert_eq!(e.code(), "source.no_rows");
        let e = inspect_csv(file(b"email,name\nj\xe9r\xf4me@example.com,J\xe9r\xf4me\n").path())
            .unwrap_err();
        assert_eq!(e.code(), "source.not_utf8");
        assert!(e.to_string().contains("CSV UTF-8"));
        let e = inspect_csv(std::path::Path::new("/nonexistent/x.csv")).unwrap_err();
        assert_eq!(e.code(), "source.missing");
    }

    #[test]
    fn rows_carry_their_line_numbers_even_across_quoted_newlines() {
        let f = file(b"email,note\na@x.io,\"two\nlines\"\nb@x.io,ok\n");
        let mut rows = CsvRows::open(f.path()).unwrap();
        let mut lines = vec![];
        while let Some(r) = rows.next_row().unwrap() {
            match r {
                RowResult::Row(r) => lines.push((r.line, r.fields[0].to_string())),
                RowResult::Bad { .. } => panic!("unexpected bad row"),
            }
        }
        assert_eq!(lines, vec![(2, "a@x.io".into()), (4, "b@x.io".into())]);
    }

    #[test]
    fn windows_line_endings_and_blank_lines_keep_true_line_numbers() {
        let f = file(b"email,name\r\na@x.io,A\r\n\r\nb@x.io,\"B\r\nB\"\r\nc@x.io,C\r\n");
        let mut rows = CsvRows::open(f.path()).unwrap();
        assert_eq!(rows.headers, vec!["email", "name"]);
        let mut got = vec![];
        while let Some(r) = rows.next_row().unwrap() {
            let RowResult::Row(r) = r else {
                panic!("bad row")
            };
            got.push((r.line, r.fields[0].to_string(), r.fields[1].to_string()));
        }
        assert_eq!(
            got,
            vec![
                (2, "a@x.io".into(), "A".into()),
                (4, "b@x.io".into(), "B\r\nB".into()),
                (6, "c@x.io".into(), "C".into())
            ]
        );
    }

    #[test]
    fn missing_column_lists_the_available_ones() {
        let f = file(b"mail_addr,name\na@x.io,A\n");
        let rows = CsvRows::open(f.path()).unwrap();
        let e = rows.column("email").unwrap_err();
        assert_eq!(e.code(), "source.missing_column");
        assert!(e.to_string().contains("mail_addr, name"));
    }

    #[test]
    fn types_are_inferred_from_every_non_empty_value() {
        let t = |v: &[&str]| infer_type(v.iter().copied());
        assert_eq!(t(&["", " "]), ColumnType::Empty);
        assert_eq!(t(&["1", "-20", "", " 3 "]), ColumnType::Integer);
        assert_eq!(t(&["1", "2.5", "-0.25"]), ColumnType::Number);
        assert_eq!(t(&["1", "2.5", "1e3"]), ColumnType::Text, "no exponents");
        assert_eq!(t(&["+3"]), ColumnType::Text, "no plus sign");
        assert_eq!(
            t(&["02134", "10001"]),
            ColumnType::Text,
            "leading zeros are codes"
        );
        assert_eq!(t(&["Yes", "no", "TRUE"]), ColumnType::Boolean);
        assert_eq!(t(&["0", "1"]), ColumnType::Integer);
        assert_eq!(
            t(&["2024-01-31", "2024-02-01T10:00:00Z", "31/12/2023"]),
            ColumnType::Date
        );
        assert_eq!(t(&["ada@example.com", "b@x.io"]), ColumnType::Email);
        assert_eq!(t(&["ada@example.com", "nope"]), ColumnType::Text);
        assert_eq!(
            t(&["+1 (555) 123-4567", "+44 20 7946 0958", "5551234567"]),
            ColumnType::Phone
        );
        assert_eq!(t(&["+1 555", "x"]), ColumnType::Text);
        assert_eq!(t(&["inf", "NaN"]), ColumnType::Text);
    }

    #[test]
    fn formats_are_guessed_from_extensions() {
        assert_eq!(
            SourceFormat::guess(Path::new("a/b.CSV")),
            Some(SourceFormat::Csv)
        );
        assert_eq!(
            SourceFormat::guess(Path::new("b.ndjson")),
            Some(SourceFormat::Jsonl)
        );
        assert_eq!(
            SourceFormat::guess(Path::new("b.db")),
            Some(SourceFormat::Sqlite)
        );
        assert_eq!(SourceFormat::guess(Path::new("b")), None);
    }
}
