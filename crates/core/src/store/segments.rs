//! The `segments` table: a source and the filter that picks its rows.

use super::{unique_violation, Store};
use crate::model::*;
use crate::{CoreError, Result};
use rusqlite::{params, Connection as Db, OptionalExtension, Row};

impl Store {
    pub fn segments(&self) -> Result<Vec<Segment>> {
        let db = self.db();
        let mut stmt =
            db.prepare("SELECT id, name, source_id, filter FROM segments ORDER BY name")?;
        let rows = stmt.query_map([], segment_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn segment(&self, id: &str) -> Result<Segment> {
        self.db()
            .query_row(
                "SELECT id, name, source_id, filter FROM segments WHERE id = ?1",
                [id],
                segment_from_row,
            )
            .optional()?
            .ok_or_else(|| CoreError::NotFound {
                what: "Segment",
                name: id.to_string(),
            })
    }

    pub fn put_segment(&self, s: &Segment) -> Result<()> {
        put_segment(&self.db(), s)
    }

    /// Remove a segment; the exports sending it must be removed first.
    pub fn delete_segment(&self, id: &str) -> Result<bool> {
        Ok(self
            .db()
            .execute("DELETE FROM segments WHERE id = ?1", [id])?
            > 0)
    }
}

fn segment_from_row(r: &Row<'_>) -> rusqlite::Result<Segment> {
    Ok(Segment {
        id: r.get(0)?,
        name: r.get(1)?,
        source_id: r.get(2)?,
        filter: r.get(3)?,
    })
}

pub fn put_segment(db: &Db, s: &Segment) -> Result<()> {
    let now = now_rfc3339();
    let res = db.execute(
        "INSERT INTO segments (id, name, source_id, filter, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)
         ON CONFLICT(id) DO UPDATE SET name = excluded.name, source_id = excluded.source_id,
            filter = excluded.filter, updated_at = excluded.updated_at",
        params![s.id, s.name, s.source_id, s.filter, now],
    );
    unique_violation(res, "segment", &s.name)
}
