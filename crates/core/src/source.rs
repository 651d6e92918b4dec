//! CSV sources: header detection and a streaming row reader.

use crate::model::CsvInfo;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(
        "The file {0} was not found. It may have been moved or deleted: choose the file again."
    )]
    Missing(PathBuf),
    #[error("The file {path} could not be read: {reason}.")]
    Unreadable { path: PathBuf, reason: String },
    #[error("The file {0} is empty. A CSV needs a header row with column names, then one row per customer.")]
    Empty(PathBuf),
    #[error("The file {0} has a header row but no customer rows. Add rows below the header, or pick another file.")]
    NoRows(PathBuf),
    #[error("The file {path} is not UTF-8 text (first bad byte near offset {offset}). Save it as \"CSV UTF-8\" (Excel: File → Save As → CSV UTF-8) and try again.")]
    NotUtf8 { path: PathBuf, offset: usize },
    #[error("The column \"{column}\" is not in {path}. Its columns are: {available}. Edit the export and choose the email column again.")]
    MissingColumn {
        path: PathBuf,
        column: String,
        available: String,
    },
    #[error("The header row of {path} has an empty column name (column {index}). Give every column a name.")]
    EmptyHeader { path: PathBuf, index: usize },
    #[error("Line {line} of {path} could not be parsed: {reason}.")]
    Malformed {
        path: PathBuf,
        line: u64,
        reason: String,
    },
}

impl SourceError {
    pub fn code(&self) -> &'static str {
        match self {
            SourceError::Missing(_) => "source.missing",
            SourceError::Unreadable { .. } => "source.unreadable",
            SourceError::Empty(_) => "source.empty",
            SourceError::NoRows(_) => "source.no_rows",
            SourceError::NotUtf8 { .. } => "source.not_utf8",
            SourceError::MissingColumn { .. } => "source.missing_column",
            SourceError::EmptyHeader { .. } => "source.empty_header",
            SourceError::Malformed { .. } => "source.malformed",
        }
    }
}

fn open(path: &Path) -> Result<File, SourceError> {
    File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => SourceError::Missing(path.to_path_buf()),
        _ => SourceError::Unreadable {
            path: path.to_path_buf(),
            reason: e.to_string(),
        },
    })
}

/// Check that the start of the file is UTF-8 (a cut multi-byte character at the end of the
/// sample is fine). Catches Latin-1 / Windows-1252 exports before a run starts.
fn check_utf8_prefix(path: &Path) -> Result<(), SourceError> {
    let mut buf = Vec::with_capacity(64 * 1024);
    open(path)?
        .take(64 * 1024)
        .read_to_end(&mut buf)
        .map_err(|e| SourceError::Unreadable {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    match std::str::from_utf8(&buf) {
        Ok(_) => Ok(()),
        Err(e) if e.error_len().is_none() => Ok(()), // cut at the end of the sample
        Err(e) => Err(SourceError::NotUtf8 {
            path: path.to_path_buf(),
            offset: e.valid_up_to(),
        }),
    }
}

fn reader_builder() -> csv::ReaderBuilder {
    let mut b = csv::ReaderBuilder::new();
    // Only '\n' ends a record: with the default (CRLF-aware) terminator the csv crate reports
    // line numbers one too low for Windows line endings (BurntSushi/rust-csv#395). A '\r' left
    // at the end of the last field is trimmed like any other surrounding whitespace.
    b.flexible(true)
        .has_headers(true)
        .terminator(csv::Terminator::Any(b'\n'));
    b
}

/// A line with nothing but whitespace (e.g. a blank line of a CRLF file) is not a row.
fn is_blank(record: &csv::ByteRecord) -> bool {
    record.len() == 1 && record[0].iter().all(u8::is_ascii_whitespace)
}

/// The header row of a CSV file, checked: present, UTF-8, no empty names, at least one row.
pub fn inspect_csv(path: &Path) -> Result<CsvInfo, SourceError> {
    check_utf8_prefix(path)?;
    let mut rdr = reader_builder().from_reader(BufReader::new(open(path)?));
    let headers = read_headers(path, &mut rdr)?;
    let mut first = csv::ByteRecord::new();
    let has_row = rdr
        .read_byte_record(&mut first)
        .map_err(|e| csv_error(path, e))?;
    if !has_row {
        return Err(SourceError::NoRows(path.to_path_buf()));
    }
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

fn read_headers<R: Read>(
    path: &Path,
    rdr: &mut csv::Reader<R>,
) -> Result<Vec<String>, SourceError> {
    let headers = rdr.headers().map_err(|e| csv_error(path, e))?.clone();
    if headers.is_empty() || (headers.len() == 1 && headers[0].trim().is_empty()) {
        return Err(SourceError::Empty(path.to_path_buf()));
    }
    let mut out = Vec::with_capacity(headers.len());
    for (i, h) in headers.iter().enumerate() {
        // A UTF-8 byte-order mark is not part of the first column's name.
        let h = h.trim_start_matches('\u{feff}').trim();
        if h.is_empty() {
            return Err(SourceError::EmptyHeader {
                path: path.to_path_buf(),
                index: i + 1,
            });
        }
        out.push(h.to_string());
    }
    Ok(out)
}

fn csv_error(path: &Path, e: csv::Error) -> SourceError {
    let line = e.position().map(|p| p.line()).unwrap_or(0);
    match e.kind() {
        csv::ErrorKind::Utf8 { .. } => SourceError::NotUtf8 {
            path: path.to_path_buf(),
            offset: e.position().map(|p| p.byte() as usize).unwrap_or(0),
        },
        csv::ErrorKind::Io(io) => SourceError::Unreadable {
            path: path.to_path_buf(),
            reason: io.to_string(),
        },
        _ => SourceError::Malformed {
            path: path.to_path_buf(),
            line,
            reason: e.to_string(),
        },
    }
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

/// One data row: its 1-based line number in the file and its fields (missing fields are "").
pub struct Row {
    pub line: u64,
    pub fields: csv::StringRecord,
}

/// Either a row, or a row that could not be read (reported as a reject, never a panic).
pub enum RowResult {
    Row(Row),
    Bad { line: u64, reason: String },
}

/// A streaming reader over a CSV file's data rows. Memory stays flat whatever the file size.
pub struct CsvRows {
    path: PathBuf,
    rdr: csv::Reader<BufReader<File>>,
    pub headers: Vec<String>,
    record: csv::ByteRecord,
}

impl CsvRows {
    pub fn open(path: &Path) -> Result<CsvRows, SourceError> {
        check_utf8_prefix(path)?;
        let mut rdr = reader_builder()
            .buffer_capacity(256 * 1024)
            .from_reader(BufReader::with_capacity(256 * 1024, open(path)?));
        let headers = read_headers(path, &mut rdr)?;
        Ok(CsvRows {
            path: path.to_path_buf(),
            rdr,
            headers,
            record: csv::ByteRecord::new(),
        })
    }

    pub fn column(&self, name: &str) -> Result<usize, SourceError> {
        self.headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| SourceError::MissingColumn {
                path: self.path.clone(),
                column: name.to_string(),
                available: self.headers.join(", "),
            })
    }

    /// The next row; `Ok(None)` at the end of the file. An I/O failure ends the stream with an
    /// error; a row that is not UTF-8 or cannot be parsed is returned as `RowResult::Bad`.
    pub fn next_row(&mut self) -> Result<Option<RowResult>, SourceError> {
        match self.rdr.read_byte_record(&mut self.record) {
            Ok(false) => Ok(None),
            Ok(true) if is_blank(&self.record) => self.next_row(),
            Ok(true) => {
                let line = self.record.position().map(|p| p.line()).unwrap_or(0);
                match csv::StringRecord::from_byte_record(self.record.clone()) {
                    Ok(fields) => Ok(Some(RowResult::Row(Row { line, fields }))),
                    Err(e) => Ok(Some(RowResult::Bad {
                        line,
                        reason: format!(
                            "not valid UTF-8 text (field {}): save the file as CSV UTF-8",
                            e.utf8_error().field() + 1
                        ),
                    })),
                }
            }
            Err(e) => match csv_error(&self.path, e) {
                SourceError::Malformed { line, reason, .. } => {
                    Ok(Some(RowResult::Bad { line, reason }))
                }
                other => Err(other),
            },
        }
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
            got.push((r.line, r.fields[0].to_string()));
        }
        assert_eq!(
            got,
            vec![
                (2, "a@x.io".into()),
                (4, "b@x.io".into()),
                (6, "c@x.io".into())
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
}
