//! The `sources` table: where a segment's rows come from (a file, or a table of a SQLite file).

use super::{enum_column, unique_violation, Store};
use crate::model::*;
use crate::{CoreError, Result};
use rusqlite::{params, Connection as Db, OptionalExtension, Row};

impl Store {
    pub fn sources(&self) -> Result<Vec<Source>> {
        let db = self.db();
        let mut stmt =
            db.prepare("SELECT id, name, kind, path, table_name FROM sources ORDER BY name")?;
        let rows = stmt.query_map([], source_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn source(&self, id: &str) -> Result<Source> {
        self.db()
            .query_row(
                "SELECT id, name, kind, path, table_name FROM sources WHERE id = ?1",
                [id],
                source_from_row,
            )
            .optional()?
            .ok_or_else(|| CoreError::NotFound {
                what: "Source",
                name: id.to_string(),
            })
    }

    pub fn put_source(&self, s: &Source) -> Result<()> {
        put_source(&self.db(), s)
    }

    /// Remove a source; its segments must be removed first (the schema refuses otherwise).
    pub fn delete_source(&self, id: &str) -> Result<bool> {
        Ok(self
            .db()
            .execute("DELETE FROM sources WHERE id = ?1", [id])?
            > 0)
    }
}

fn source_from_row(r: &Row<'_>) -> rusqlite::Result<Source> {
    let id: String = r.get(0)?;
    Ok(Source {
        kind: enum_column(r, 2, ("sources", &id), "kind", SourceKind::parse)?,
        id,
        name: r.get(1)?,
        path: r.get(3)?,
        table: r.get(4)?,
    })
}

pub fn put_source(db: &Db, s: &Source) -> Result<()> {
    let now = now_rfc3339();
    let res = db.execute(
        "INSERT INTO sources (id, name, kind, path, table_name, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)
         ON CONFLICT(id) DO UPDATE SET name = excluded.name, kind = excluded.kind,
            path = excluded.path, table_name = excluded.table_name,
            updated_at = excluded.updated_at",
        params![s.id, s.name, s.kind.as_str(), s.path, s.table, now],
    );
    unique_violation(res, "source", &s.name)
}
