//! The `export_state` table: what each export last sent to each destination (a Klaviyo
//! account and list), per identifier, so the next run sends only what changed (and mirror
//! mode knows whom to remove).

use super::Store;
use crate::Result;
use rusqlite::params;

impl Store {
    /// Every (identifier, content hash) last sent by the export to `destination` (Klaviyo
    /// account + list), streamed to `f`.
    pub fn for_each_export_state(
        &self,
        export_id: &str,
        destination: &str,
        mut f: impl FnMut(&str, u64, u64),
    ) -> Result<()> {
        let db = self.db();
        let mut stmt = db.prepare(
            "SELECT identifier, hash, phone FROM export_state
             WHERE export_id = ?1 AND destination = ?2",
        )?;
        let mut rows = stmt.query([export_id, destination])?;
        while let Some(r) = rows.next()? {
            let id: String = r.get(0)?;
            f(&id, r.get::<_, i64>(1)? as u64, r.get::<_, i64>(2)? as u64);
        }
        Ok(())
    }

    /// How many identifiers the export's state holds for `destination`.
    pub fn count_export_state(&self, export_id: &str, destination: &str) -> Result<u64> {
        let n: i64 = self.db().query_row(
            "SELECT count(*) FROM export_state WHERE export_id = ?1 AND destination = ?2",
            [export_id, destination],
            |r| r.get(0),
        )?;
        Ok(n.max(0) as u64)
    }

    /// Record what Klaviyo (account + list `destination`) now holds for these identifiers:
    /// (email, content hash, key of the phone number sent — 0 for none).
    pub fn save_export_state(
        &self,
        export_id: &str,
        destination: &str,
        rows: &[(String, u64, u64)],
    ) -> Result<()> {
        let mut db = self.db();
        let tx = db.transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO export_state (export_id, destination, identifier, hash, phone)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(export_id, destination, identifier)
                 DO UPDATE SET hash = excluded.hash, phone = excluded.phone",
            )?;
            for (id, hash, phone) in rows {
                stmt.execute(params![
                    export_id,
                    destination,
                    id,
                    *hash as i64,
                    *phone as i64
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    pub fn delete_export_state(
        &self,
        export_id: &str,
        destination: &str,
        identifiers: &[String],
    ) -> Result<()> {
        let mut db = self.db();
        let tx = db.transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "DELETE FROM export_state
                 WHERE export_id = ?1 AND destination = ?2 AND identifier = ?3",
            )?;
            for id in identifiers {
                stmt.execute(params![export_id, destination, id])?;
            }
        }
        tx.commit()?;
        Ok(())
    }
}
