//! A table (or view) of a SQLite database file, opened read-only.
//!
//! A reader thread owns the connection and runs one `SELECT * … ORDER BY rowid`; it sends rows in
//! chunks through a bounded channel, so at most `(CHANNEL_CHUNKS + 2) × CHUNK_ROWS` rows are in
//! memory, and the whole read sees one snapshot of the database. Dropping the stream stops the
//! thread (its next send fails) and waits for it.

use super::{RowItem, RowStream, SourceError};
use crate::error::RejectCode;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;
use std::time::Duration;

const CHUNK_ROWS: usize = 1024;
const CHANNEL_CHUNKS: usize = 4;

/// The tables and views of a SQLite database file, by name (SQLite's own `sqlite_*` tables left
/// out). The file is opened read-only.
pub fn sqlite_tables(path: &Path) -> Result<Vec<String>, SourceError> {
    let conn = open_db(path)?;
    Ok(objects(&conn, path)?.into_iter().map(|o| o.name).collect())
}

/// How many rows a table (or view) of a SQLite database holds now (the file opened
/// read-only): part of a run's fingerprint.
pub fn sqlite_row_count(path: &Path, table: &str) -> Result<u64, SourceError> {
    let conn = open_db(path)?;
    let n: i64 = conn
        .query_row(
            &format!("SELECT count(*) FROM {}", quote_ident(table)),
            [],
            |r| r.get(0),
        )
        .map_err(|e| db_error(path, e))?;
    Ok(n.max(0) as u64)
}

struct DbObject {
    name: String,
    /// A table with a rowid (not a view, not `WITHOUT ROWID`).
    has_rowid: bool,
}

fn objects(conn: &Connection, path: &Path) -> Result<Vec<DbObject>, SourceError> {
    let err = |e| db_error(path, e);
    let mut stmt = conn
        .prepare(
            "SELECT name, type = 'table' AND wr = 0 FROM pragma_table_list \
             WHERE schema = 'main' AND type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
             ORDER BY name",
        )
        .map_err(err)?;
    let rows = stmt
        .query_map([], |r| {
            Ok(DbObject {
                name: r.get(0)?,
                has_rowid: r.get(1)?,
            })
        })
        .map_err(err)?;
    rows.collect::<Result<_, _>>().map_err(err)
}

fn open_db(path: &Path) -> Result<Connection, SourceError> {
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(SourceError::Missing(path.to_path_buf()))
        }
        Err(e) => return Err(super::unreadable(path, &e)),
        Ok(m) if !m.is_file() => return Err(SourceError::NotSqlite(path.to_path_buf())),
        Ok(_) => {}
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| db_error(path, e))?;
    // Another program (the app itself, through the store) may be writing to the file.
    conn.busy_timeout(Duration::from_secs(5))
        .map_err(|e| db_error(path, e))?;
    // Opening is lazy: read the schema now so that "not a database" shows here.
    conn.query_row("SELECT count(*) FROM sqlite_schema", [], |_| Ok(()))
        .map_err(|e| db_error(path, e))?;
    Ok(conn)
}

fn db_error(path: &Path, e: rusqlite::Error) -> SourceError {
    if let rusqlite::Error::SqliteFailure(f, _) = &e {
        if f.code == rusqlite::ErrorCode::NotADatabase {
            return SourceError::NotSqlite(path.to_path_buf());
        }
    }
    SourceError::Sqlite {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

enum Msg {
    Rows(Vec<RowItem>),
    Failed(SourceError),
    Done,
}

/// [`RowStream`] over one table.
pub(super) struct SqliteStream {
    path: PathBuf,
    columns: Vec<String>,
    rx: Option<Receiver<Msg>>,
    chunk: std::vec::IntoIter<RowItem>,
    finished: bool,
    reader: Option<JoinHandle<()>>,
}

impl SqliteStream {
    pub(super) fn open(path: &Path, table: Option<&str>) -> Result<SqliteStream, SourceError> {
        let conn = open_db(path)?;
        let objects = objects(&conn, path)?;
        let list = || {
            if objects.is_empty() {
                "(none)".to_string()
            } else {
                objects
                    .iter()
                    .map(|o| o.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        let Some(table) = table.map(str::trim).filter(|t| !t.is_empty()) else {
            return Err(SourceError::TableRequired {
                path: path.to_path_buf(),
                available: list(),
            });
        };
        // SQLite names are case-insensitive (for ASCII).
        let Some(object) = objects
            .iter()
            .find(|o| o.name == table)
            .or_else(|| objects.iter().find(|o| o.name.eq_ignore_ascii_case(table)))
        else {
            return Err(SourceError::MissingTable {
                path: path.to_path_buf(),
                table: table.to_string(),
                available: list(),
            });
        };
        let from = quote_ident(&object.name);
        let columns: Vec<String> = conn
            .prepare(&format!("SELECT * FROM {from} LIMIT 0"))
            .map_err(|e| db_error(path, e))?
            .column_names()
            .into_iter()
            .map(str::to_string)
            .collect();
        // `rowid` may be the name of an ordinary column; SQLite has two other names for it.
        let order = if object.has_rowid {
            ["rowid", "_rowid_", "oid"]
                .into_iter()
                .find(|alias| !columns.iter().any(|c| c.eq_ignore_ascii_case(alias)))
                .map(|alias| format!(" ORDER BY {alias}"))
                .unwrap_or_default()
        } else {
            String::new()
        };
        let sql = format!("SELECT * FROM {from}{order}");

        let (tx, rx) = sync_channel(CHANNEL_CHUNKS);
        let reader_path = path.to_path_buf();
        let reader_columns = columns.clone();
        let reader = std::thread::Builder::new()
            .name("segport-sqlite-source".into())
            .spawn(move || {
                let msg = match read_table(&conn, &sql, &reader_path, &reader_columns, &tx) {
                    Ok(()) => Msg::Done,
                    Err(e) => Msg::Failed(e),
                };
                // The receiver may be gone (the stream was dropped): nothing left to do.
                let _ = tx.send(msg);
            })
            .map_err(|e| super::unreadable(path, &e))?;
        Ok(SqliteStream {
            path: path.to_path_buf(),
            columns,
            rx: Some(rx),
            chunk: Vec::new().into_iter(),
            finished: false,
            reader: Some(reader),
        })
    }
}

/// Runs on the reader thread. Returns early (Ok) when the stream is dropped.
fn read_table(
    conn: &Connection,
    sql: &str,
    path: &Path,
    columns: &[String],
    tx: &SyncSender<Msg>,
) -> Result<(), SourceError> {
    let mut stmt = conn.prepare(sql).map_err(|e| db_error(path, e))?;
    let mut rows = stmt.query([]).map_err(|e| db_error(path, e))?;
    let mut chunk = Vec::with_capacity(CHUNK_ROWS);
    let mut position = 0u64;
    while let Some(row) = rows.next().map_err(|e| db_error(path, e))? {
        position += 1;
        let mut values = Vec::with_capacity(columns.len());
        let mut bad = None;
        for (i, name) in columns.iter().enumerate() {
            let value = row.get_ref(i).map_err(|e| db_error(path, e))?;
            match text_of(value) {
                Some(v) => values.push(v),
                None => {
                    bad = Some(RejectCode::SqliteNotUtf8 {
                        column: name.clone(),
                    });
                    break;
                }
            }
        }
        chunk.push(match bad {
            None => RowItem::Row {
                line: position,
                values,
            },
            Some(reason) => RowItem::Bad {
                line: position,
                reason,
            },
        });
        if chunk.len() == CHUNK_ROWS {
            let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK_ROWS));
            if tx.send(Msg::Rows(full)).is_err() {
                return Ok(());
            }
        }
    }
    if !chunk.is_empty() && tx.send(Msg::Rows(chunk)).is_err() {
        return Ok(());
    }
    Ok(())
}

/// A value as text: NULL → "", numbers as SQLite writes them, a BLOB holding UTF-8 as that text,
/// any other BLOB as `0x` + lowercase hex. `None`: TEXT that is not UTF-8.
fn text_of(value: ValueRef<'_>) -> Option<String> {
    Some(match value {
        ValueRef::Null => String::new(),
        ValueRef::Integer(i) => i.to_string(),
        ValueRef::Real(f) => real_text(f),
        ValueRef::Text(t) => std::str::from_utf8(t).ok()?.to_owned(),
        ValueRef::Blob(b) => match std::str::from_utf8(b) {
            Ok(s) => s.to_owned(),
            Err(_) => {
                let mut hex = String::with_capacity(2 + 2 * b.len());
                hex.push_str("0x");
                for byte in b {
                    let _ = write!(hex, "{byte:02x}");
                }
                hex
            }
        },
    })
}

/// `1.0` stays `1.0` (as in SQLite), other reals in Rust's shortest round-trip form.
fn real_text(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{f:.1}")
    } else {
        f.to_string()
    }
}

impl RowStream for SqliteStream {
    fn columns(&self) -> &[String] {
        &self.columns
    }

    fn next_row(&mut self) -> Result<Option<RowItem>, SourceError> {
        loop {
            if let Some(item) = self.chunk.next() {
                return Ok(Some(item));
            }
            if self.finished {
                return Ok(None);
            }
            let Some(rx) = &self.rx else {
                return Ok(None);
            };
            match rx.recv() {
                Ok(Msg::Rows(rows)) => self.chunk = rows.into_iter(),
                Ok(Msg::Done) => self.finished = true,
                Ok(Msg::Failed(e)) => {
                    self.finished = true;
                    return Err(e);
                }
                // Gone without a word: the reader thread panicked.
                Err(_) => {
                    self.finished = true;
                    return Err(SourceError::Sqlite {
                        path: self.path.clone(),
                        reason: "the reader stopped unexpectedly".into(),
                    });
                }
            }
        }
    }
}

impl Drop for SqliteStream {
    fn drop(&mut self) {
        // Closing the channel makes the reader's next send fail, so it stops.
        self.rx.take();
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_become_text() {
        assert_eq!(text_of(ValueRef::Null).unwrap(), "");
        assert_eq!(text_of(ValueRef::Integer(-7)).unwrap(), "-7");
        assert_eq!(text_of(ValueRef::Real(1.0)).unwrap(), "1.0");
        assert_eq!(text_of(ValueRef::Real(2.5)).unwrap(), "2.5");
        assert_eq!(text_of(ValueRef::Blob(b"a@x.io")).unwrap(), "a@x.io");
        assert_eq!(text_of(ValueRef::Blob(&[0xff, 0x01])).unwrap(), "0xff01");
        assert_eq!(text_of(ValueRef::Text(b"\xe9")), None);
    }

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_ident(r#"my "t""#), r#""my ""t""""#);
    }
}
