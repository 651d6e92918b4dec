//! The `exports` table: a segment sent to a Klaviyo list, with its mapping, mode and schedule.

use super::{enum_column, exactly, json_column, unique_violation, Store};
use crate::model::*;
use crate::schedule::Schedule;
use crate::{CoreError, Result};
use rusqlite::{params, Connection as Db, OptionalExtension, Row};

impl Store {
    pub fn exports(&self) -> Result<Vec<Export>> {
        let db = self.db();
        let mut stmt = db.prepare(&format!("{EXPORT_SELECT} ORDER BY name COLLATE NOCASE"))?;
        let rows = stmt.query_map([], export_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn export(&self, id: &str) -> Result<Export> {
        self.db()
            .query_row(
                &format!("{EXPORT_SELECT} WHERE id = ?1"),
                [id],
                export_from_row,
            )
            .optional()?
            .ok_or_else(|| CoreError::NotFound {
                what: "Export",
                name: id.to_string(),
            })
    }

    pub fn export_by_name(&self, name: &str) -> Result<Option<Export>> {
        Ok(self
            .db()
            .query_row(
                &format!("{EXPORT_SELECT} WHERE name = ?1"),
                [name],
                export_from_row,
            )
            .optional()?)
    }

    pub fn put_export(&self, e: &Export) -> Result<()> {
        put_export(&self.db(), e)
    }

    pub fn delete_export(&self, id: &str) -> Result<bool> {
        Ok(self
            .db()
            .execute("DELETE FROM exports WHERE id = ?1", [id])?
            > 0)
    }
}

const EXPORT_SELECT: &str = "SELECT id, name, segment_id, connection_id, list_id, mapping,
    created_at, updated_at, mode, schedule, removal_guard FROM exports";

fn export_from_row(r: &Row<'_>) -> rusqlite::Result<Export> {
    let id: String = r.get(0)?;
    let row = ("exports", id.as_str());
    let mapping = json_column(r, 5, row, "mapping")?.ok_or_else(|| {
        rusqlite::Error::InvalidColumnType(5, "mapping".into(), rusqlite::types::Type::Null)
    })?;
    // NULL: written before schedules existed (migration 2), i.e. run by hand.
    let schedule = match r.get::<_, Option<String>>(9)? {
        None => Schedule::Manual,
        Some(_) => enum_column(r, 9, row, "schedule", |s| Schedule::parse(s).ok())?,
    };
    // NULL: written before the removal guard existed (migration 3), i.e. the default guard.
    let removal_guard = json_column(r, 10, row, "removal_guard")?.unwrap_or_default();
    Ok(Export {
        mode: enum_column(
            r,
            8,
            row,
            "mode",
            exactly(ExportMode::parse, ExportMode::as_str),
        )?,
        schedule,
        removal_guard,
        name: r.get(1)?,
        segment_id: r.get(2)?,
        connection_id: r.get(3)?,
        list_id: r.get(4)?,
        mapping,
        created_at: r.get(6)?,
        updated_at: r.get(7)?,
        id,
    })
}

pub fn put_export(db: &Db, e: &Export) -> Result<()> {
    let mapping = serde_json::to_string(&e.mapping)
        .map_err(|err| CoreError::invalid("mapping", err.to_string()))?;
    let res = db.execute(
        "INSERT INTO exports (id, name, segment_id, connection_id, list_id, mapping, mode,
            schedule, created_at, updated_at, removal_guard)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         ON CONFLICT(id) DO UPDATE SET name = excluded.name, segment_id = excluded.segment_id,
            connection_id = excluded.connection_id, list_id = excluded.list_id,
            mapping = excluded.mapping, mode = excluded.mode, schedule = excluded.schedule,
            removal_guard = excluded.removal_guard, updated_at = excluded.updated_at",
        params![
            e.id,
            e.name,
            e.segment_id,
            e.connection_id,
            e.list_id,
            mapping,
            e.mode.as_str(),
            e.schedule.to_string(),
            e.created_at,
            e.updated_at,
            serde_json::to_string(&e.removal_guard)
                .map_err(|err| CoreError::invalid("removal guard", err.to_string()))?
        ],
    );
    unique_violation(res, "export", &e.name)
}
