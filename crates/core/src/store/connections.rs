//! The `connections` table: Klaviyo accounts, their consent and who may use them (the API
//! key itself is in the OS keychain, never here).

use super::{enum_column, unique_violation, Store};
use crate::model::*;
use crate::{CoreError, Result};
use rusqlite::{params, Connection as Db, OptionalExtension, Row};

impl Store {
    pub fn connections(&self) -> Result<Vec<Connection>> {
        let db = self.db();
        let mut stmt = db.prepare(&format!("{CONNECTION_SELECT} ORDER BY name COLLATE NOCASE"))?;
        let rows = stmt.query_map([], connection_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn connection(&self, id: &str) -> Result<Connection> {
        self.db()
            .query_row(
                &format!("{CONNECTION_SELECT} WHERE id = ?1"),
                [id],
                connection_from_row,
            )
            .optional()?
            .ok_or_else(|| CoreError::NotFound {
                what: "Connection",
                name: id.to_string(),
            })
    }

    pub fn connection_by_name(&self, name: &str) -> Result<Option<Connection>> {
        Ok(self
            .db()
            .query_row(
                &format!("{CONNECTION_SELECT} WHERE name = ?1"),
                [name],
                connection_from_row,
            )
            .optional()?)
    }

    /// Insert or update by id.
    pub fn put_connection(&self, c: &Connection) -> Result<()> {
        put_connection(&self.db(), c)
    }

    pub fn delete_connection(&self, id: &str) -> Result<bool> {
        Ok(self
            .db()
            .execute("DELETE FROM connections WHERE id = ?1", [id])?
            > 0)
    }
}

const CONNECTION_SELECT: &str = "SELECT id, name, base_url, usable_by, api_key_env, consent_by,
    consent_at, export_user, account_id, account_name, verified_at, consent_os_user
    FROM connections";

fn connection_from_row(r: &Row<'_>) -> rusqlite::Result<Connection> {
    let consent_by: Option<String> = r.get(5)?;
    let consent_at: Option<String> = r.get(6)?;
    let account_id: Option<String> = r.get(8)?;
    let account_name: Option<String> = r.get(9)?;
    let verified_at: Option<String> = r.get(10)?;
    let id: String = r.get(0)?;
    let row = ("connections", id.as_str());
    Ok(Connection {
        usable_by: enum_column(r, 3, row, "usable_by", UsableBy::parse)?,
        id,
        name: r.get(1)?,
        base_url: r.get(2)?,
        api_key_env: r.get(4)?,
        consent: match (consent_by, consent_at) {
            (Some(by), Some(at)) => Some(Consent {
                by,
                os_user: r.get(11)?,
                at,
            }),
            _ => None,
        },
        export_user: r.get(7)?,
        verified: match (account_id, account_name, verified_at) {
            (Some(account_id), Some(account_name), Some(at)) => Some(VerifiedAccount {
                account_id,
                account_name,
                at,
            }),
            _ => None,
        },
    })
}

pub fn put_connection(db: &Db, c: &Connection) -> Result<()> {
    let now = now_rfc3339();
    let res = db.execute(
        "INSERT INTO connections (id, name, base_url, usable_by, api_key_env, consent_by,
            consent_at, export_user, account_id, account_name, verified_at, created_at, updated_at,
            consent_os_user)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12, ?13)
         ON CONFLICT(id) DO UPDATE SET name = excluded.name, base_url = excluded.base_url,
            usable_by = excluded.usable_by, api_key_env = excluded.api_key_env,
            consent_by = excluded.consent_by, consent_at = excluded.consent_at,
            consent_os_user = excluded.consent_os_user,
            export_user = excluded.export_user, account_id = excluded.account_id,
            account_name = excluded.account_name, verified_at = excluded.verified_at,
            updated_at = excluded.updated_at",
        params![
            c.id,
            c.name,
            c.base_url,
            c.usable_by.as_str(),
            c.api_key_env,
            c.consent.as_ref().map(|x| &x.by),
            c.consent.as_ref().map(|x| &x.at),
            c.export_user,
            c.verified.as_ref().map(|v| &v.account_id),
            c.verified.as_ref().map(|v| &v.account_name),
            c.verified.as_ref().map(|v| &v.at),
            now,
            c.consent.as_ref().and_then(|x| x.os_user.as_ref()),
        ],
    );
    unique_violation(res, "connection", &c.name)
}
