//! The rejects file: every reject of a run as CSV (`line,identifier,reason`), safe to open in a
//! spreadsheet.
//!
//! Identifiers come from the customer's file, so a cell may be anything. A cell that starts
//! with `=`, `+`, `-`, `@`, a tab or a carriage return is read as a formula by Excel,
//! LibreOffice and Google Sheets (CSV injection, OWASP): `=HYPERLINK("http://x")` would become
//! a live link, and worse formulas run commands. Such a cell is written with a single quote in
//! front (`'=HYPERLINK(...)`), which spreadsheets show as text. Quotes, delimiters and line
//! breaks inside a cell are quoted by the CSV writer as usual.

use crate::model::RejectRow;
use crate::{CoreError, Result};
use std::borrow::Cow;
use std::path::Path;

/// The first characters that make a spreadsheet take a cell for a formula (OWASP).
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// `cell` as written to the rejects file: with a `'` in front when it would start a formula.
pub fn escape_cell(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(FORMULA_STARTS) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// Write `rows` to `path` as CSV, in [`write_csv_to`]'s format. Returns how many rows were
/// written. A file that cannot be created or written is a [`CoreError::Io`] naming `path`.
pub fn write_csv(path: &Path, rows: impl IntoIterator<Item = RejectRow>) -> Result<u64> {
    let io = |source: std::io::Error| CoreError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::create(path).map_err(io)?;
    write_csv_to(file, rows).map_err(io)
}

/// Write `rows` to `out` as CSV (header `line,identifier,reason`, then one row per reject in
/// the order given), each cell escaped by [`escape_cell`], and flush it. Returns how many rows
/// were written. For a file, [`write_csv`] names the path in its error.
pub fn write_csv_to(
    out: impl std::io::Write,
    rows: impl IntoIterator<Item = RejectRow>,
) -> std::io::Result<u64> {
    // Writing three string cells a row, the csv writer can only fail on I/O; anything else
    // would be a bug here, reported as invalid data rather than lost.
    let csv_err = |e: csv::Error| match e.into_kind() {
        csv::ErrorKind::Io(source) => source,
        other => std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{other:?}")),
    };
    let mut w = csv::Writer::from_writer(out);
    w.write_record(["line", "identifier", "reason"])
        .map_err(csv_err)?;
    let mut written = 0u64;
    for r in rows {
        let line = r.line.to_string();
        w.write_record([
            line.as_str(),
            &escape_cell(&r.identifier),
            &escape_cell(&r.reason),
        ])
        .map_err(csv_err)?;
        written += 1;
    }
    w.flush()?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reject(line: u64, identifier: &str, reason: &str) -> RejectRow {
        RejectRow::recorded(line, identifier.into(), reason.into())
    }

    fn read_back(path: &Path) -> Vec<Vec<String>> {
        let mut r = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_path(path)
            .unwrap();
        r.records()
            .map(|rec| rec.unwrap().iter().map(str::to_owned).collect())
            .collect()
    }

    #[test]
    fn cells_that_a_spreadsheet_would_run_are_written_as_text() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rejects.csv");
        let rows = vec![
            reject(3, "=HYPERLINK(\"http://x\")", "-1 is not an email address"),
            reject(4, "+48601234567", "@everyone"),
            reject(5, "\tcmd", "\rtwo"),
            reject(6, "ada@example.com", "a plain reason, with a comma"),
            reject(7, "", "no identifier"),
        ];
        assert_eq!(write_csv(&path, rows).unwrap(), 5);
        let cells = read_back(&path);
        let expected = [
            ["line", "identifier", "reason"],
            [
                "3",
                "'=HYPERLINK(\"http://x\")",
                "'-1 is not an email address",
            ],
            ["4", "'+48601234567", "'@everyone"],
            ["5", "'\tcmd", "'\rtwo"],
            ["6", "ada@example.com", "a plain reason, with a comma"],
            ["7", "", "no identifier"],
        ];
        assert_eq!(cells, expected.map(|r| r.map(String::from).to_vec()));
        let raw = std::fs::read_to_string(&path).unwrap();
        assert!(
            raw.contains("3,\"'=HYPERLINK(\"\"http://x\"\")\",'-1 is not an email address\n"),
            "{raw}"
        );
        assert!(
            !raw.lines().any(|l| l.contains(",=") || l.contains(",-")),
            "{raw}"
        );
    }

    #[test]
    fn only_the_first_character_counts() {
        assert_eq!(escape_cell("a=b-c"), "a=b-c");
        assert_eq!(escape_cell(" =1"), " =1");
        assert_eq!(escape_cell("'=1"), "'=1");
        assert_eq!(escape_cell("=1"), "'=1");
        assert!(matches!(escape_cell("plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn the_writer_form_writes_the_same_bytes_as_the_file_form() {
        let rows = || {
            vec![
                reject(3, "=1+1", "-x"),
                reject(4, "ada@example.com", "a, b"),
            ]
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rejects.csv");
        assert_eq!(write_csv(&path, rows()).unwrap(), 2);
        let mut buf = Vec::new();
        assert_eq!(write_csv_to(&mut buf, rows()).unwrap(), 2);
        assert_eq!(buf, std::fs::read(&path).unwrap());
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "line,identifier,reason\n3,'=1+1,'-x\n4,ada@example.com,\"a, b\"\n"
        );
    }

    #[test]
    fn a_file_that_cannot_be_written_is_an_io_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no/such/dir/rejects.csv");
        match write_csv(&path, Vec::new()) {
            Err(CoreError::Io { path: p, .. }) => assert_eq!(p, path),
            other => panic!("{other:?}"),
        }
    }
}
