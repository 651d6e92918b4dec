//! Config files (TOML, `version = 1`): connections, sources, segments and exports, upserted by
//! name in one transaction. Secrets are never written or read here.

use crate::filter::Filter;
use crate::model::*;
use crate::schedule::Schedule;
use crate::store;
use crate::workspace::{self, Workspace};
use crate::{CoreError, Result};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    pub version: u32,
    #[serde(default, rename = "connection", skip_serializing_if = "Vec::is_empty")]
    pub connections: Vec<ConnectionConfig>,
    #[serde(default, rename = "source", skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<SourceConfig>,
    #[serde(default, rename = "segment", skip_serializing_if = "Vec::is_empty")]
    pub segments: Vec<SegmentConfig>,
    #[serde(default, rename = "export", skip_serializing_if = "Vec::is_empty")]
    pub exports: Vec<ExportConfig>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionConfig {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_env: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usable_by: Option<UsableBy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export_user: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    pub name: String,
    pub kind: SourceKind,
    pub path: String,
    /// The table, for `kind = "sqlite"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentConfig {
    pub name: String,
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportConfig {
    pub name: String,
    pub segment: String,
    pub connection: String,
    pub list_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<ExportMode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    pub mapping: Mapping,
    /// Mirror mode: when removals are held for confirmation (`[export.removal_guard]`
    /// `max_percent = 10`, `max_count = 1000`; these defaults when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removal_guard: Option<RemovalGuardConfig>,
}

/// `removal_guard = { max_percent = 10, max_count = 1000 }` (each optional).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemovalGuardConfig {
    #[serde(default = "default_max_percent")]
    pub max_percent: u32,
    #[serde(default = "default_max_count")]
    pub max_count: u64,
}

fn default_max_percent() -> u32 {
    RemovalGuard::default().max_percent
}

fn default_max_count() -> u64 {
    RemovalGuard::default().max_count
}

impl From<RemovalGuardConfig> for RemovalGuard {
    fn from(c: RemovalGuardConfig) -> Self {
        RemovalGuard {
            max_percent: c.max_percent,
            max_count: c.max_count,
        }
    }
}

/// What an import changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub connections: usize,
    pub sources: usize,
    pub segments: usize,
    pub exports: usize,
}

fn err(
    file: &Path,
    table: &str,
    index: usize,
    field: &str,
    msg: impl std::fmt::Display,
) -> CoreError {
    CoreError::Config(format!(
        "{}: [[{table}]] #{} field `{field}`: {msg}",
        file.display(),
        index + 1
    ))
}

/// Import a config file: everything or nothing. Paths are relative to the file.
pub fn import(ws: &Workspace, file: &Path) -> Result<ImportReport> {
    let text = std::fs::read_to_string(file).map_err(|source| CoreError::Io {
        path: file.to_path_buf(),
        source,
    })?;
    let cfg: ConfigFile = toml::from_str(&text)
        .map_err(|e| CoreError::Config(format!("{}: {}", file.display(), e)))?;
    if cfg.version != 1 {
        return Err(CoreError::Config(format!(
            "{}: version = {} is not supported; this Segport reads version = 1.",
            file.display(),
            cfg.version
        )));
    }
    let base_dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
    let s = &ws.store;

    // Resolve against what exists, then write it all in one transaction.
    let mut conns: HashMap<String, Connection> = s
        .connections()?
        .into_iter()
        .map(|c| (c.name.clone(), c))
        .collect();
    let mut sources: HashMap<String, Source> = s
        .sources()?
        .into_iter()
        .map(|x| (x.name.clone(), x))
        .collect();
    let mut segments: HashMap<String, Segment> = s
        .segments()?
        .into_iter()
        .map(|x| (x.name.clone(), x))
        .collect();
    let exports: HashMap<String, Export> = s
        .exports()?
        .into_iter()
        .map(|x| (x.name.clone(), x))
        .collect();

    let mut out_conns = vec![];
    let mut dropped_keys: Vec<String> = vec![];
    for (i, c) in cfg.connections.iter().enumerate() {
        if c.name.trim().is_empty() {
            return Err(err(file, "connection", i, "name", "must not be empty"));
        }
        let base_url = c.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL);
        let base_url = workspace::check_base_url(base_url)
            .map_err(|m| err(file, "connection", i, "base_url", m))?;
        if let Some(var) = &c.api_key_env {
            // Never repeated in the message: a key pasted here by mistake must not be printed.
            let looks_like_a_key = var.trim_start().starts_with("pk_");
            if looks_like_a_key || !workspace::is_env_var_name(var) {
                let hint = if looks_like_a_key {
                    "looks like an API key itself, not the name of an environment variable. Put the key in an environment variable and name the variable here"
                } else {
                    "is not the name of an environment variable (letters, digits and _, not starting with a digit)"
                };
                return Err(err(
                    file,
                    "connection",
                    i,
                    "api_key_env",
                    format!("the value {hint}, e.g. api_key_env = \"SEGPORT_KLAVIYO_KEY\". (The value is not shown here.)"),
                ));
            }
        }
        let existing = conns.get(&c.name).cloned();
        let mut conn = existing.clone().unwrap_or(Connection {
            id: new_id(),
            name: c.name.clone(),
            base_url: base_url.clone(),
            usable_by: UsableBy::Admins,
            api_key_env: None,
            consent: None,
            export_user: None,
            verified: None,
        });
        if conn.base_url != base_url {
            conn.verified = None;
        }
        // Another host: the stored key, the consent and the account were for the old one. A
        // config file must not be able to point a connection (and its key) somewhere else.
        if existing.is_some() && !workspace::same_host(&conn.base_url, &base_url) {
            conn.consent = None;
            conn.verified = None;
            dropped_keys.push(conn.id.clone());
        }
        conn.base_url = base_url;
        conn.api_key_env = c.api_key_env.clone();
        conn.usable_by = c.usable_by.unwrap_or_default();
        conn.export_user = c.export_user.clone();
        conns.insert(conn.name.clone(), conn.clone());
        out_conns.push(conn);
    }

    let mut out_sources = vec![];
    for (i, src) in cfg.sources.iter().enumerate() {
        if src.name.trim().is_empty() {
            return Err(err(file, "source", i, "name", "must not be empty"));
        }
        let path = base_dir.join(&src.path);
        let path = std::path::absolute(&path).unwrap_or(path);
        match (&src.kind, &src.table) {
            (SourceKind::Sqlite, None) => {
                return Err(err(
                    file,
                    "source",
                    i,
                    "table",
                    "a sqlite source needs `table = \"…\"`",
                ))
            }
            (SourceKind::Csv | SourceKind::Jsonl, Some(_)) => {
                return Err(err(
                    file,
                    "source",
                    i,
                    "table",
                    "only a sqlite source has a table",
                ))
            }
            _ => {}
        }
        let mut x = sources.get(&src.name).cloned().unwrap_or(Source {
            id: new_id(),
            name: src.name.clone(),
            kind: src.kind.clone(),
            path: String::new(),
            table: None,
        });
        x.kind = src.kind.clone();
        x.table = src.table.clone();
        x.path = path.to_string_lossy().into_owned();
        sources.insert(x.name.clone(), x.clone());
        out_sources.push(x);
    }

    let mut out_segments = vec![];
    for (i, seg) in cfg.segments.iter().enumerate() {
        let source = sources.get(&seg.source).ok_or_else(|| {
            err(
                file,
                "segment",
                i,
                "source",
                format!("no source named \"{}\"", seg.source),
            )
        })?;
        // Stored in its canonical text form; an error points at the position in the filter.
        let filter = match seg
            .filter
            .as_deref()
            .map(str::trim)
            .filter(|f| !f.is_empty())
        {
            None => None,
            Some(text) => Some(
                Filter::parse(text)
                    .map_err(|x| err(file, "segment", i, "filter", x))?
                    .to_text(),
            ),
        };
        let mut x = segments.get(&seg.name).cloned().unwrap_or(Segment {
            id: new_id(),
            name: seg.name.clone(),
            source_id: source.id.clone(),
            filter: None,
        });
        x.source_id = source.id.clone();
        x.filter = filter;
        segments.insert(x.name.clone(), x.clone());
        out_segments.push(x);
    }

    let mut out_exports = vec![];
    for (i, e) in cfg.exports.iter().enumerate() {
        let segment = segments.get(&e.segment).ok_or_else(|| {
            err(
                file,
                "export",
                i,
                "segment",
                format!("no segment named \"{}\"", e.segment),
            )
        })?;
        let conn = conns.get(&e.connection).ok_or_else(|| {
            err(
                file,
                "export",
                i,
                "connection",
                format!("no connection named \"{}\"", e.connection),
            )
        })?;
        if e.list_id.trim().is_empty() || !e.list_id.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(err(
                file,
                "export",
                i,
                "list_id",
                format!("\"{}\" is not a Klaviyo list ID", e.list_id),
            ));
        }
        if e.mapping.email.trim().is_empty() {
            return Err(err(
                file,
                "export",
                i,
                "mapping.email",
                "the email column is required",
            ));
        }
        let schedule = match e.schedule.as_deref() {
            None => Schedule::Manual,
            Some(text) => {
                Schedule::parse(text).map_err(|x| err(file, "export", i, "schedule", x))?
            }
        };
        let now = now_rfc3339();
        let mut x = exports.get(&e.name).cloned().unwrap_or(Export {
            id: new_id(),
            name: e.name.clone(),
            segment_id: segment.id.clone(),
            connection_id: None,
            list_id: String::new(),
            mapping: Mapping::default(),
            mode: ExportMode::Upsert,
            schedule: Schedule::Manual,
            removal_guard: RemovalGuard::default(),
            created_at: now.clone(),
            updated_at: now.clone(),
        });
        x.segment_id = segment.id.clone();
        x.connection_id = Some(conn.id.clone());
        x.list_id = e.list_id.clone();
        x.mapping = e.mapping.clone();
        x.mode = e.mode.unwrap_or_default();
        x.schedule = schedule;
        x.removal_guard = e.removal_guard.map(Into::into).unwrap_or_default();
        x.updated_at = now;
        out_exports.push(x);
    }

    let report = ImportReport {
        connections: out_conns.len(),
        sources: out_sources.len(),
        segments: out_segments.len(),
        exports: out_exports.len(),
    };
    // Before the rows are written: should the write fail, a key is lost (given again), never
    // left for a host it was not given for.
    for id in &dropped_keys {
        ws.drop_key(id)?;
    }
    s.transaction(|tx| {
        for c in &out_conns {
            store::put_connection(tx, c)?;
        }
        for x in &out_sources {
            store::put_source(tx, x)?;
        }
        for x in &out_segments {
            store::put_segment(tx, x)?;
        }
        for x in &out_exports {
            store::put_export(tx, x)?;
        }
        Ok(())
    })?;
    Ok(report)
}

/// Everything in the workspace as a config file. Never contains a key.
pub fn export(ws: &Workspace) -> Result<String> {
    let s = &ws.store;
    let conns = s.connections()?;
    let sources = s.sources()?;
    let segments = s.segments()?;
    let name_of = |id: &str, list: &[(String, String)]| {
        list.iter()
            .find(|(i, _)| i == id)
            .map(|(_, n)| n.clone())
            .unwrap_or_default()
    };
    let conn_names: Vec<(String, String)> = conns
        .iter()
        .map(|c| (c.id.clone(), c.name.clone()))
        .collect();
    let source_names: Vec<(String, String)> = sources
        .iter()
        .map(|c| (c.id.clone(), c.name.clone()))
        .collect();
    let segment_names: Vec<(String, String)> = segments
        .iter()
        .map(|c| (c.id.clone(), c.name.clone()))
        .collect();
    let cfg = ConfigFile {
        version: 1,
        connections: conns
            .iter()
            .map(|c| ConnectionConfig {
                name: c.name.clone(),
                base_url: Some(c.base_url.clone()),
                api_key_env: c.api_key_env.clone(),
                usable_by: Some(c.usable_by),
                export_user: c.export_user.clone(),
            })
            .collect(),
        sources: sources
            .iter()
            .map(|x| SourceConfig {
                name: x.name.clone(),
                kind: x.kind.clone(),
                path: x.path.clone(),
                table: x.table.clone(),
            })
            .collect(),
        segments: segments
            .iter()
            .map(|x| SegmentConfig {
                name: x.name.clone(),
                source: name_of(&x.source_id, &source_names),
                filter: x.filter.clone(),
            })
            .collect(),
        exports: s
            .exports()?
            .into_iter()
            .map(|e| ExportConfig {
                name: e.name,
                segment: name_of(&e.segment_id, &segment_names),
                connection: e
                    .connection_id
                    .as_deref()
                    .map(|id| name_of(id, &conn_names))
                    .unwrap_or_default(),
                list_id: e.list_id,
                mode: Some(e.mode),
                schedule: (e.schedule != Schedule::Manual).then(|| e.schedule.to_string()),
                mapping: e.mapping,
                removal_guard: (e.removal_guard != RemovalGuard::default()).then_some(
                    RemovalGuardConfig {
                        max_percent: e.removal_guard.max_percent,
                        max_count: e.removal_guard.max_count,
                    },
                ),
            })
            .collect(),
    };
    toml::to_string_pretty(&cfg).map_err(|e| CoreError::Config(e.to_string()))
}

pub fn resolve_path(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}
