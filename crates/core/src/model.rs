//! Domain types. Those that cross the IPC boundary derive `ts_rs::TS`; their TypeScript twins are
//! generated into `ui/src/bindings/` by `cargo test` and committed.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use ts_rs::TS;

pub const DEFAULT_BASE_URL: &str = "https://a.klaviyo.com";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum Role {
    Admin,
    Contributor,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Contributor => "contributor",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "contributor" => Some(Role::Contributor),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum UsableBy {
    #[default]
    Admins,
    Contributors,
}

impl UsableBy {
    pub fn as_str(self) -> &'static str {
        match self {
            UsableBy::Admins => "admins",
            UsableBy::Contributors => "contributors",
        }
    }
    pub fn parse(s: &str) -> Option<UsableBy> {
        match s {
            "admins" => Some(UsableBy::Admins),
            "contributors" => Some(UsableBy::Contributors),
            _ => None,
        }
    }
}

/// The person using this workspace. A guardrail on a desktop, not security.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    pub name: String,
    pub role: Role,
}

/// The data-privacy consent given for a connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct Consent {
    /// Who gave it: the operator's name (Settings). Consents recorded before Segport kept the
    /// OS account apart hold the OS account here.
    pub by: String,
    /// The OS account it was given from, for audit (`None` for consents recorded before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub os_user: Option<String>,
    pub at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct VerifiedAccount {
    pub account_id: String,
    pub account_name: String,
    pub at: String,
}

/// A stored connection, as the store knows it. Never holds the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    pub id: String,
    pub name: String,
    pub base_url: String,
    pub usable_by: UsableBy,
    pub api_key_env: Option<String>,
    pub consent: Option<Consent>,
    pub export_user: Option<String>,
    pub verified: Option<VerifiedAccount>,
}

impl Connection {
    /// May `op` run exports through this connection?
    pub fn usable_by_operator(&self, op: &Operator) -> bool {
        self.consent.is_some() && self.visible_to(op)
    }
    pub fn visible_to(&self, op: &Operator) -> bool {
        op.role == Role::Admin || self.usable_by == UsableBy::Contributors
    }
}

/// A connection as the UI sees it: whether a key is stored, never the key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ConnectionView {
    pub id: String,
    pub name: String,
    pub base_url: String,
    pub usable_by: UsableBy,
    pub consent: Option<Consent>,
    pub export_user: Option<String>,
    pub key_stored: bool,
    pub verified: Option<VerifiedAccount>,
    pub usable: bool,
}

/// What the connection form sends. `api_key` is only present when the user typed one.
#[derive(Clone, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ConnectionInput {
    pub id: Option<String>,
    pub name: String,
    pub base_url: Option<String>,
    pub usable_by: UsableBy,
    pub api_key: Option<String>,
    pub consent: bool,
    pub export_user: Option<String>,
}

impl std::fmt::Debug for ConnectionInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionInput")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("base_url", &self.base_url)
            .field("usable_by", &self.usable_by)
            .field("api_key", &self.api_key.as_ref().map(|_| "***"))
            .field("consent", &self.consent)
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum SourceKind {
    Csv,
    Jsonl,
    Sqlite,
}

impl SourceKind {
    /// `csv`, `jsonl` or `sqlite`, as stored and in config files.
    pub fn as_str(&self) -> &'static str {
        match self {
            SourceKind::Csv => "csv",
            SourceKind::Jsonl => "jsonl",
            SourceKind::Sqlite => "sqlite",
        }
    }
    pub fn parse(s: &str) -> Option<SourceKind> {
        match s {
            "csv" => Some(SourceKind::Csv),
            "jsonl" => Some(SourceKind::Jsonl),
            "sqlite" => Some(SourceKind::Sqlite),
            _ => None,
        }
    }

    /// A guess from the file name's extension (`.csv .tsv .txt`, `.jsonl .ndjson`,
    /// `.sqlite .sqlite3 .db .db3`), for pre-filling a form.
    pub fn guess(path: &std::path::Path) -> Option<SourceKind> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "csv" | "tsv" | "txt" => Some(SourceKind::Csv),
            "jsonl" | "ndjson" => Some(SourceKind::Jsonl),
            "sqlite" | "sqlite3" | "db" | "db3" => Some(SourceKind::Sqlite),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub id: String,
    pub name: String,
    pub kind: SourceKind,
    pub path: String,
    /// The table, for a SQLite source.
    pub table: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub id: String,
    pub name: String,
    pub source_id: String,
    /// Text form of the filter; `None` = every row of the source.
    pub filter: Option<String>,
}

/// Which source columns become which Klaviyo profile attributes (values are column names).
/// Resolved against a source by `mapping::Mapper`, which documents how values are sent.
/// Stored as JSON in SQLite and written as `[export.mapping]` in config files; unknown keys are
/// refused (a misspelt attribute would otherwise be silently ignored).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
#[ts(export)]
pub struct Mapping {
    /// The data-matching column: required.
    pub email: String,
    /// Normalised to E.164; see `default_country` and `invalid_phone`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub phone_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub external_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub organization: Option<String>,
    /// Job title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub title: Option<String>,
    /// IETF BCP 47, e.g. `en-US`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub locale: Option<String>,
    /// URL of a profile image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub image: Option<String>,
    // `location.*` in Klaviyo's profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub address1: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub address2: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub zip: Option<String>,
    /// IANA time zone name, e.g. `Europe/Warsaw`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub timezone: Option<String>,
    /// Decimal degrees, -90..=90; sent as a number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub latitude: Option<String>,
    /// Decimal degrees, -180..=180; sent as a number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub longitude: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub ip: Option<String>,
    /// ISO 3166-1 alpha-2 code (e.g. `PL`) for phone numbers written without a country code.
    /// Not a column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub default_country: Option<String>,
    /// A phone that cannot be normalised: `reject` the row (default) or `omit` the phone.
    #[serde(default, skip_serializing_if = "InvalidPhone::is_reject")]
    #[ts(optional, as = "Option<InvalidPhone>")]
    pub invalid_phone: InvalidPhone,
    /// Klaviyo custom property name → source column.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[ts(optional, as = "Option<BTreeMap<String, String>>")]
    pub properties: BTreeMap<String, String>,
}

/// What to do with a phone number that cannot be normalised to E.164.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum InvalidPhone {
    /// Reject the row, naming the value (the default: nothing is silently dropped).
    #[default]
    Reject,
    /// Send the row without a phone number, with a warning (`mapping::Mapped::warning`).
    Omit,
}

impl InvalidPhone {
    /// For `skip_serializing_if`: the default is not written to config files.
    pub fn is_reject(&self) -> bool {
        *self == InvalidPhone::Reject
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum ExportMode {
    /// Add and update profiles; never remove anyone from the list.
    #[default]
    Upsert,
    /// Also remove from the list the profiles that left the segment since the last run.
    Mirror,
}

impl ExportMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ExportMode::Upsert => "upsert",
            ExportMode::Mirror => "mirror",
        }
    }
    pub fn parse(s: &str) -> ExportMode {
        match s {
            "mirror" => ExportMode::Mirror,
            _ => ExportMode::Upsert,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    pub id: String,
    pub name: String,
    pub segment_id: String,
    pub connection_id: Option<String>,
    pub list_id: String,
    pub mapping: Mapping,
    pub mode: ExportMode,
    pub schedule: crate::schedule::Schedule,
    /// Mirror mode: when removals are held for confirmation.
    pub removal_guard: RemovalGuard,
    pub created_at: String,
    pub updated_at: String,
}

/// Mirror mode never empties a list by accident: a run holds its removals for confirmation
/// when they are more than `max_percent` % of the profiles it had sent to the list before, or
/// more than `max_count` (and always when rows could not be read or the source changed while
/// it was read).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
#[ts(export)]
pub struct RemovalGuard {
    pub max_percent: u32,
    #[ts(type = "number")]
    pub max_count: u64,
}

impl Default for RemovalGuard {
    fn default() -> Self {
        RemovalGuard {
            max_percent: 10,
            max_count: 1_000,
        }
    }
}

impl RemovalGuard {
    /// Whether removing `removals` of the `before` profiles sent to the list earlier needs a
    /// confirmation.
    pub fn holds(&self, removals: u64, before: u64) -> bool {
        removals > self.max_count
            || u128::from(removals) * 100 > u128::from(self.max_percent) * u128::from(before)
    }
}

/// An export as the UI sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ExportView {
    pub id: String,
    pub name: String,
    pub segment_id: String,
    pub segment_name: String,
    pub source_name: String,
    /// The source's file.
    pub source_path: String,
    pub connection_id: Option<String>,
    pub connection_name: Option<String>,
    pub list_id: String,
    pub mapping: Mapping,
    /// `mapping.email`, for lists and tables.
    pub email_column: String,
    pub mode: ExportMode,
    pub removal_guard: RemovalGuard,
    pub schedule: crate::schedule::Schedule,
    /// When a scheduled export runs next (RFC 3339); `None` when manual.
    pub next_run_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub last_run: Option<RunView>,
    /// An earlier run stopped (interrupted, cancelled or failed) with batches Klaviyo accepted:
    /// running again continues it.
    pub resumable: bool,
}

/// What the export form saves. Saving never runs the export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ExportInput {
    pub id: Option<String>,
    pub name: String,
    pub segment_id: String,
    pub connection_id: String,
    pub list_id: String,
    pub mapping: Mapping,
    pub mode: ExportMode,
    pub schedule: crate::schedule::Schedule,
    /// Mirror mode's guard against accidental removals (the defaults when absent).
    #[serde(default)]
    #[ts(optional)]
    pub removal_guard: Option<RemovalGuard>,
}

/// Whether a source's file could be read just now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum SourceState {
    Ok,
    /// The file (or the SQLite table) is not there.
    Missing,
    /// The file is there but cannot be used (empty, not the expected format…); see `message`.
    Unreadable,
}

/// A column of a source and the type its first rows suggest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct SourceColumn {
    pub name: String,
    /// `text`, `integer`, `number`, `boolean`, `date`, `email`, `phone` or `empty`.
    pub inferred: String,
}

/// A source as the UI sees it, detected afresh from its file each time it is listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct SourceView {
    pub id: String,
    pub name: String,
    pub kind: SourceKind,
    pub path: String,
    pub file_name: String,
    /// The table, for a SQLite source.
    pub table: Option<String>,
    pub state: SourceState,
    /// Why the file cannot be used, when `state` is not `ok`.
    pub message: Option<String>,
    pub columns: Vec<SourceColumn>,
    /// The first rows, one value per column.
    pub sample: Vec<Vec<String>>,
    /// The file's size and modification time (RFC 3339), to notice a change.
    #[ts(type = "number | null")]
    pub size: Option<u64>,
    pub modified_at: Option<String>,
    /// Names of the segments built on this source.
    pub segments: Vec<String>,
}

/// What the source form saves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct SourceInput {
    pub id: Option<String>,
    pub name: String,
    pub kind: SourceKind,
    pub path: String,
    pub table: Option<String>,
}

/// A file chosen in the native dialog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct PickedFile {
    pub path: String,
    pub file_name: String,
    /// Guessed from the extension (and the file's first bytes for SQLite).
    pub kind: SourceKind,
    /// For a SQLite file: its tables, to choose one.
    pub tables: Vec<String>,
}

/// A segment as the UI sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct SegmentView {
    pub id: String,
    pub name: String,
    pub source_id: String,
    pub source_name: String,
    /// `None` = every row of the source.
    pub filter: Option<crate::filter::Filter>,
    /// The same filter in the text form of config files and the CLI.
    pub filter_text: Option<String>,
    /// Names of the exports that send this segment.
    pub exports: Vec<String>,
}

/// What the segment form saves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct SegmentInput {
    pub id: Option<String>,
    pub name: String,
    pub source_id: String,
    pub filter: Option<crate::filter::Filter>,
}

/// One profile of the mapping preview: what a run will send for this row, or why it rejects it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ProfilePreview {
    #[ts(type = "number")]
    pub line: u64,
    /// The profile's attributes exactly as sent (pretty-printed JSON).
    pub profile: Option<String>,
    pub reject: Option<String>,
    /// E.g. an invalid phone left out.
    pub warning: Option<String>,
}

/// The first profiles of a segment as an export with this mapping sends them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct MappingPreview {
    pub profiles: Vec<ProfilePreview>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum RunTrigger {
    Manual,
    Schedule,
    Cli,
}

impl RunTrigger {
    pub fn as_str(self) -> &'static str {
        match self {
            RunTrigger::Manual => "manual",
            RunTrigger::Schedule => "schedule",
            RunTrigger::Cli => "cli",
        }
    }
    pub fn parse(s: &str) -> RunTrigger {
        match s {
            "schedule" => RunTrigger::Schedule,
            "cli" => RunTrigger::Cli,
            _ => RunTrigger::Manual,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum RunStatus {
    Running,
    Succeeded,
    Partial,
    Failed,
    Cancelled,
    Interrupted,
    /// Closed without being continued because something it depends on changed (the source,
    /// the segment's filter, the mapping, the Klaviyo account or list) or it was too old; a
    /// fresh run took its place. `error` says what changed.
    Superseded,
    /// Mirror mode: everything was sent, but the removals looked like an accident and are
    /// held until someone confirms them (`counts.held` says how many).
    Held,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Partial => "partial",
            RunStatus::Failed => "failed",
            RunStatus::Cancelled => "cancelled",
            RunStatus::Interrupted => "interrupted",
            RunStatus::Superseded => "superseded",
            RunStatus::Held => "held",
        }
    }
    pub fn parse(s: &str) -> RunStatus {
        match s {
            "running" => RunStatus::Running,
            "succeeded" => RunStatus::Succeeded,
            "partial" => RunStatus::Partial,
            "cancelled" => RunStatus::Cancelled,
            "interrupted" => RunStatus::Interrupted,
            "superseded" => RunStatus::Superseded,
            "held" => RunStatus::Held,
            _ => RunStatus::Failed,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum RunPhase {
    Starting,
    Reading,
    Sending,
    /// Waiting for Klaviyo to process the accepted jobs.
    Waiting,
    /// Fetching the rows Klaviyo failed in processing (import errors).
    Fetching,
    /// Mirror mode: removing the profiles that left the segment from the list.
    Removing,
    Finished,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct RunCounts {
    #[ts(type = "number")]
    pub read: u64,
    #[ts(type = "number")]
    pub sent: u64,
    #[ts(type = "number")]
    pub imported: u64,
    #[ts(type = "number")]
    pub rejected: u64,
    #[ts(type = "number")]
    pub failed_in_klaviyo: u64,
    /// Rows in the segment (after the filter).
    #[serde(default)]
    #[ts(type = "number")]
    pub matched: u64,
    /// Profiles skipped because they are unchanged since the last run (delta).
    #[serde(default)]
    #[ts(type = "number")]
    pub unchanged: u64,
    /// Mirror mode: profiles removed from the list because they left the segment.
    #[serde(default)]
    #[ts(type = "number")]
    pub removed: u64,
    /// Mirror mode: profiles that left the segment whose removal is held for confirmation.
    #[serde(default)]
    #[ts(type = "number")]
    pub held: u64,
}

/// A run's progress: the one event type used by the GUI (over an IPC channel) and the CLI
/// (progress bar, or NDJSON with `--json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct RunEvent {
    pub run_id: String,
    pub phase: RunPhase,
    pub counts: RunCounts,
    pub status: Option<RunStatus>,
    pub message: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct RunView {
    pub id: String,
    pub export_id: String,
    pub export_name: String,
    pub trigger: RunTrigger,
    pub who: String,
    pub status: RunStatus,
    pub counts: RunCounts,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub error: Option<String>,
}

/// A row a run did not send: `code` and its `params` say why, `reason` is that in English.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct RejectRow {
    #[ts(type = "number")]
    pub line: u64,
    pub identifier: String,
    #[serde(flatten)]
    pub code: crate::error::RejectCode,
    pub reason: String,
}

impl RejectRow {
    pub fn new(line: u64, identifier: String, code: crate::error::RejectCode) -> RejectRow {
        RejectRow {
            line,
            identifier,
            reason: code.to_string(),
            code,
        }
    }

    /// A reject read back from the store, which keeps the reason's text only.
    pub fn recorded(line: u64, identifier: String, reason: String) -> RejectRow {
        RejectRow::new(
            line,
            identifier,
            crate::error::RejectCode::Recorded { reason },
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct RunSummary {
    pub run: RunView,
    pub rejects: Vec<RejectRow>,
    #[ts(type = "number")]
    pub rejects_total: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct AppInfo {
    pub operator: String,
    pub role: Role,
    pub data_dir: String,
    pub version: String,
    pub demo_available: bool,
    /// A warning for the user about the data folder, e.g. an unreadable database file that was
    /// kept aside when a fresh one was started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub notice: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct DemoInfo {
    pub connection_id: String,
    pub export_id: String,
    pub sandbox_url: String,
    #[ts(type = "number")]
    pub rows: u64,
}

/// The `{code, params, message}` shape every error takes on its way to the UI: the typed code
/// with its parameters (see [`crate::error::ErrorCode`]) and the English sentence built from
/// them; both redacted of keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ErrorPayload {
    #[serde(flatten)]
    pub code: crate::error::ErrorCode,
    pub message: String,
}

impl ErrorPayload {
    /// The payload of an error the app itself raises (not a [`crate::CoreError`]).
    pub fn new(code: crate::error::ErrorCode) -> Self {
        let message = crate::logging::redact_text(&code.message()).into_owned();
        ErrorPayload {
            code: code.redacted(),
            message,
        }
    }
}

impl From<&crate::CoreError> for ErrorPayload {
    fn from(e: &crate::CoreError) -> Self {
        ErrorPayload {
            code: e.error_code(),
            message: e.to_string(),
        }
    }
}

pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

pub fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// A list in the Klaviyo account, for the list picker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct KlaviyoList {
    pub id: String,
    pub name: String,
}

/// The account's lists, in Klaviyo's order. `truncated` when there were more than Segport reads
/// for the picker (the user can still type a list ID).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct KlaviyoLists {
    pub lists: Vec<KlaviyoList>,
    pub truncated: bool,
}

/// How many rows of a source a segment keeps, with the first matching rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct SegmentPreview {
    pub columns: Vec<String>,
    #[ts(type = "number")]
    pub total: u64,
    #[ts(type = "number")]
    pub matching: u64,
    /// Rows that could not be read (reported with their line when the export runs).
    #[ts(type = "number")]
    pub bad_rows: u64,
    pub sample: Vec<Vec<String>>,
}
