//! What a run depends on, recorded when it starts: a run is continued only if none of it
//! changed (DESIGN.md: "Fingerprint").
//!
//! - the source's identity: for a file its path, size, modification time and a hash of its
//!   first 64 KiB; for a SQLite table the file, the table's name and its row count;
//! - the segment's filter, the mapping;
//! - the Klaviyo account and the list it sends to.
//!
//! A continued run re-reads the source and skips the lines its checkpoint holds: that is only
//! right for the very same rows. If anything differs, the old run is closed as superseded
//! (saying what changed) and a fresh run starts.

use crate::model::Mapping;
use crate::source::{self, SourceLocation, SourceSpec};
use crate::{CoreError, Result};
use serde::{Deserialize, Serialize};
use std::io::Read;

/// How much of a file's beginning is hashed into its identity.
const HEAD_BYTES: u64 = 64 * 1024;

/// Which rows a source holds, as far as can be told cheaply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum SourceIdentity {
    File {
        path: String,
        size: u64,
        /// Modification time, nanoseconds since the Unix epoch (`None` where the OS has none).
        modified_ns: Option<i64>,
        /// XXH3-64 of the first 64 KiB, hex.
        head: String,
    },
    Table {
        path: String,
        table: String,
        rows: u64,
    },
}

impl SourceIdentity {
    /// Read the identity of a source now.
    pub fn of(spec: &SourceSpec) -> Result<SourceIdentity> {
        let file_path = match spec.location() {
            SourceLocation::SqliteTable { path, table } => {
                let rows = source::sqlite_row_count(path, table)?;
                return Ok(SourceIdentity::Table {
                    path: path.to_string_lossy().into_owned(),
                    table: table.clone(),
                    rows,
                });
            }
            SourceLocation::File { path } => path,
        };
        let path = file_path.to_string_lossy().into_owned();
        let io = |e: std::io::Error| -> CoreError {
            if e.kind() == std::io::ErrorKind::NotFound {
                source::SourceError::Missing(file_path.clone()).into()
            } else {
                CoreError::Io {
                    path: file_path.clone(),
                    source: e,
                }
            }
        };
        let file = std::fs::File::open(file_path).map_err(io)?;
        let meta = file.metadata().map_err(io)?;
        let modified_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
        let mut head = Vec::with_capacity(HEAD_BYTES as usize);
        file.take(HEAD_BYTES).read_to_end(&mut head).map_err(io)?;
        Ok(SourceIdentity::File {
            path,
            size: meta.len(),
            modified_ns,
            head: format!("{:016x}", xxhash_rust::xxh3::xxh3_64(&head)),
        })
    }

    /// What differs from `now`, in words ("the file changed: 1200 → 480 bytes").
    pub fn change(&self, now: &SourceIdentity) -> Option<String> {
        use SourceIdentity::*;
        match (self, now) {
            (a, b) if a == b => None,
            (File { path: p1, .. }, File { path: p2, .. })
            | (Table { path: p1, .. }, Table { path: p2, .. })
                if p1 != p2 =>
            {
                Some(format!("the source is another file ({p1} → {p2})"))
            }
            (File { size: s1, .. }, File { size: s2, .. }) if s1 != s2 => {
                Some(format!("the source file changed ({s1} → {s2} bytes)"))
            }
            (File { .. }, File { .. }) => {
                Some("the source file changed (it was saved again since)".into())
            }
            (Table { table: t1, .. }, Table { table: t2, .. }) if t1 != t2 => {
                Some(format!("the source is another table ({t1} → {t2})"))
            }
            (Table { rows: r1, .. }, Table { rows: r2, .. }) => {
                Some(format!("the source table changed ({r1} → {r2} rows)"))
            }
            _ => Some("the source is of another kind".into()),
        }
    }
}

/// Everything a run depends on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    pub source: SourceIdentity,
    pub filter: Option<String>,
    /// The mapping as stored (JSON).
    pub mapping: String,
    /// The Klaviyo account the key belongs to.
    pub account: String,
    pub list_id: String,
}

impl Fingerprint {
    pub fn new(
        source: SourceIdentity,
        filter: Option<&str>,
        mapping: &Mapping,
        account: &str,
        list_id: &str,
    ) -> Fingerprint {
        Fingerprint {
            source,
            filter: filter
                .map(str::trim)
                .filter(|f| !f.is_empty())
                .map(str::to_string),
            mapping: serde_json::to_string(mapping).unwrap_or_default(),
            account: account.to_string(),
            list_id: list_id.to_string(),
        }
    }

    /// Where the run sends: the delta state's key (`account/list`).
    pub fn destination(&self) -> String {
        destination(&self.account, &self.list_id)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn from_json(text: &str) -> Option<Fingerprint> {
        serde_json::from_str(text).ok()
    }

    /// What changed since `self` was recorded, in words; empty when nothing did.
    pub fn changes(&self, now: &Fingerprint) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(c) = self.source.change(&now.source) {
            out.push(c);
        }
        if self.filter != now.filter {
            out.push("the segment's filter changed".into());
        }
        if self.mapping != now.mapping {
            out.push("the field mapping changed".into());
        }
        if self.account != now.account {
            out.push("the connection now reaches another Klaviyo account".into());
        }
        if self.list_id != now.list_id {
            out.push(format!(
                "the list changed ({} → {})",
                self.list_id, now.list_id
            ));
        }
        out
    }
}

/// The delta state's key for a Klaviyo account and list.
pub fn destination(account: &str, list_id: &str) -> String {
    format!("{account}/{list_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_cut_short_or_saved_again_changes_its_identity() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.csv");
        std::fs::write(&path, "email\na@x.io\nb@x.io\n").unwrap();
        let spec = SourceSpec::csv(&path);
        let before = SourceIdentity::of(&spec).unwrap();
        assert_eq!(before.change(&SourceIdentity::of(&spec).unwrap()), None);
        std::fs::write(&path, "email\na@x.io\n").unwrap();
        let after = SourceIdentity::of(&spec).unwrap();
        assert!(before.change(&after).unwrap().contains("bytes"));
        // Same size, other content.
        std::fs::write(&path, "email\nc@x.io\nd@x.io\n").unwrap();
        let same_size = SourceIdentity::of(&spec).unwrap();
        assert!(before.change(&same_size).is_some());
    }

    #[test]
    fn every_part_of_the_fingerprint_is_compared() {
        let src = SourceIdentity::Table {
            path: "/d.db".into(),
            table: "t".into(),
            rows: 5,
        };
        let m = Mapping {
            email: "email".into(),
            ..Mapping::default()
        };
        let a = Fingerprint::new(src.clone(), Some("x = 1"), &m, "ACC", "L1");
        assert!(a.changes(&a.clone()).is_empty());
        // What a run records is what a later process reads back.
        assert_eq!(Fingerprint::from_json(&a.to_json()), Some(a.clone()));
        let file = SourceIdentity::File {
            path: "/c.csv".into(),
            size: 10,
            modified_ns: Some(1_796_411_874_906_431_751),
            head: "00".into(),
        };
        let f = Fingerprint::new(file, None, &m, "ACC", "L1");
        assert_eq!(Fingerprint::from_json(&f.to_json()), Some(f));
        let b = Fingerprint::new(src, Some("x = 2"), &m, "ACC2", "L2");
        assert_eq!(a.changes(&b).len(), 3);
        assert_eq!(a.destination(), "ACC/L1");
    }
}
