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

use crate::model::SourceKind;
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

/// Where a source's rows come from. Every location today is a file or inside one; a source
/// read from a database server gets its own variant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceLocation {
    /// A whole file (CSV, JSON Lines).
    File { path: PathBuf },
    /// A table (or view) of a SQLite database file.
    SqliteTable { path: PathBuf, table: String },
}

impl SourceLocation {
    /// The file the rows are read from (the database file of a SQLite table).
    pub fn path(&self) -> &Path {
        match self {
            SourceLocation::File { path } | SourceLocation::SqliteTable { path, .. } => path,
        }
    }
}

/// What to read: the source's kind (which reader) and where its rows are. Built only by the
/// constructors, so a SQLite source always names its table and a file source never does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceSpec {
    kind: SourceKind,
    location: SourceLocation,
}

impl SourceSpec {
    pub fn csv(path: impl Into<PathBuf>) -> SourceSpec {
        SourceSpec {
            kind: SourceKind::Csv,
            location: SourceLocation::File { path: path.into() },
        }
    }

    pub fn jsonl(path: impl Into<PathBuf>) -> SourceSpec {
        SourceSpec {
            kind: SourceKind::Jsonl,
            location: SourceLocation::File { path: path.into() },
        }
    }

    pub fn sqlite(path: impl Into<PathBuf>, table: impl Into<String>) -> SourceSpec {
        SourceSpec {
            kind: SourceKind::Sqlite,
            location: SourceLocation::SqliteTable {
                path: path.into(),
                table: table.into(),
            },
        }
    }

    /// A source as it is stored: a file source's table is ignored; a SQLite source without one
    /// reads as the table `""`, which [`open`] refuses with `source.table_required`.
    pub fn new(kind: SourceKind, path: impl Into<PathBuf>, table: Option<&str>) -> SourceSpec {
        match kind {
            SourceKind::Csv => SourceSpec::csv(path),
            SourceKind::Jsonl => SourceSpec::jsonl(path),
            SourceKind::Sqlite => SourceSpec::sqlite(path, table.unwrap_or_default()),
        }
    }

    pub fn kind(&self) -> &SourceKind {
        &self.kind
    }

    pub fn location(&self) -> &SourceLocation {
        &self.location
    }

    /// The file the rows are read from (see [`SourceLocation::path`]).
    pub fn path(&self) -> &Path {
        self.location.path()
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
    Ok(match &spec.location {
        SourceLocation::File { path } => match spec.kind {
            SourceKind::Csv => Box::new(csv::CsvStream::open(path)?),
            SourceKind::Jsonl => Box::new(jsonl::JsonlStream::open(path, JSONL_KEY_SAMPLE)?),
            // No constructor builds this: a database is read by table.
            SourceKind::Sqlite => Box::new(sqlite::SqliteStream::open(path, None)?),
        },
        SourceLocation::SqliteTable { path, table } => {
            Box::new(sqlite::SqliteStream::open(path, Some(table))?)
        }
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
        SourceKind::Csv => {
            let s = csv::CsvStream::open(spec.path())?;
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
        return Err(match &spec.location {
            SourceLocation::SqliteTable { path, table } => SourceError::EmptyTable {
                path: path.clone(),
                table: table.clone(),
            },
            SourceLocation::File { path } => SourceError::NoRows(path.clone()),
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file(content: &[u8]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(content).unwrap();
        f
    }

    /// Every row of a CSV as (line, values); panics on a bad row.
    fn csv_rows(f: &tempfile::NamedTempFile) -> Vec<(u64, Vec<String>)> {
        let mut rows = open(&SourceSpec::csv(f.path())).unwrap();
        let mut out = vec![];
        while let Some(item) = rows.next_row().unwrap() {
            match item {
                RowItem::Row { line, values } => out.push((line, values)),
                RowItem::Bad { line, reason } => panic!("bad row {line}: {reason:?}"),
            }
        }
        out
    }

    #[test]
    fn inspect_reads_the_header_without_its_byte_order_mark() {
        let f = file("\u{feff}First Name,E-mail,Phone\nAda,ada@example.com,1\n".as_bytes());
        let info = inspect(&SourceSpec::csv(f.path()), SAMPLE_LEN).unwrap();
        let names: Vec<&str> = info.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, vec!["First Name", "E-mail", "Phone"]);
    }

    #[test]
    fn empty_header_only_and_latin1_files_get_clear_errors() {
        let inspect_csv = |path: &Path| inspect(&SourceSpec::csv(path), SAMPLE_LEN);
        let e = inspect_csv(file(b"").path()).unwrap_err();
        assert_eq!(e.code(), "source.empty");
        let e = inspect_csv(file(b"email,name\n").path()).unwrap_err();
        assert_eq!(e.code(), "source.no_rows");
        let e = inspect_csv(file(b"email,name\nj\xe9r\xf4me@example.com,J\xe9r\xf4me\n").path())
            .unwrap_err();
        assert_eq!(e.code(), "source.not_utf8");
        assert!(e.to_string().contains("CSV UTF-8"));
        let e = inspect_csv(Path::new("/nonexistent/x.csv")).unwrap_err();
        assert_eq!(e.code(), "source.missing");
    }

    #[test]
    fn rows_carry_their_line_numbers_even_across_quoted_newlines() {
        let f = file(b"email,note\na@x.io,\"two\nlines\"\nb@x.io,ok\n");
        let lines: Vec<(u64, String)> = csv_rows(&f)
            .into_iter()
            .map(|(line, values)| (line, values[0].clone()))
            .collect();
        assert_eq!(lines, vec![(2, "a@x.io".into()), (4, "b@x.io".into())]);
    }

    #[test]
    fn windows_line_endings_and_blank_lines_keep_true_line_numbers() {
        let f = file(b"email,name\r\na@x.io,A\r\n\r\nb@x.io,\"B\r\nB\"\r\nc@x.io,C\r\n");
        assert_eq!(
            open(&SourceSpec::csv(f.path())).unwrap().columns(),
            ["email", "name"]
        );
        let got: Vec<(u64, String, String)> = csv_rows(&f)
            .into_iter()
            .map(|(line, v)| (line, v[0].clone(), v[1].clone()))
            .collect();
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
    fn a_stored_sqlite_source_without_a_table_reads_as_no_table() {
        let spec = SourceSpec::new(SourceKind::Sqlite, "/data/x.db", None);
        assert_eq!(spec, SourceSpec::sqlite("/data/x.db", ""));
        assert_eq!(
            SourceSpec::new(SourceKind::Csv, "/data/x.csv", Some("ignored")),
            SourceSpec::csv("/data/x.csv")
        );
        assert_eq!(spec.path(), Path::new("/data/x.db"));
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
            SourceKind::guess(Path::new("a/b.CSV")),
            Some(SourceKind::Csv)
        );
        assert_eq!(
            SourceKind::guess(Path::new("b.ndjson")),
            Some(SourceKind::Jsonl)
        );
        assert_eq!(
            SourceKind::guess(Path::new("b.db")),
            Some(SourceKind::Sqlite)
        );
        assert_eq!(SourceKind::guess(Path::new("b")), None);
    }
}
