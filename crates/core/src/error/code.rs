//! [`ErrorCode`]: every error as a stable code and its parameters, and the one place its English
//! sentence is written ([`ErrorCode::message`]).
//!
//! The JSON form is `{"code": "run.already_running", "params": {…}}` (no `params` for a code
//! without any): the UI and the CLI's `--json` output match on `code`, which never changes for
//! an error that exists; the languages issue renders a sentence from `code` and `params`.

use crate::error::CoreError;
use crate::filter::FilterError;
use crate::mapping::MappingError;
use crate::source::SourceError;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use ts_rs::TS;

/// A stable code (`area.reason`) with the values its sentence needs. One variant per code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "code", content = "params", rename_all_fields = "camelCase")]
#[ts(export)]
pub enum ErrorCode {
    // ---- store
    #[serde(rename = "store.open_failed")]
    StoreOpen { path: String, reason: String },
    #[serde(rename = "store.migration_failed")]
    StoreMigration { reason: String },
    #[serde(rename = "store.error")]
    Store { reason: String },

    // ---- generic
    /// `what` is the kind of thing ("Connection", "Export", "Run", "Segment", "Source").
    #[serde(rename = "not_found")]
    NotFound { what: String, name: String },
    /// `field` is `None` for a form value the app itself refused (a file not chosen with the
    /// picker): the message is then `message` alone.
    #[serde(rename = "invalid_input")]
    Invalid {
        field: Option<String>,
        message: String,
    },
    #[serde(rename = "duplicate_name")]
    Duplicate { what: String, name: String },
    /// `message` says what the role may not do (written by the permission checks).
    #[serde(rename = "forbidden")]
    Forbidden { message: String },

    // ---- connections and keys
    #[serde(rename = "connection.consent_required")]
    ConsentRequired { connection: String },
    #[serde(rename = "connection.no_key")]
    NoKey { connection: String },
    #[serde(rename = "keychain.unavailable")]
    Keychain { reason: String },

    // ---- sources
    #[serde(rename = "source.missing")]
    SourceMissing { path: String },
    #[serde(rename = "source.unreadable")]
    SourceUnreadable { path: String, reason: String },
    #[serde(rename = "source.empty")]
    SourceEmpty { path: String },
    /// A file with a header but no rows (`table: None`), or an empty database table.
    #[serde(rename = "source.no_rows")]
    SourceNoRows { path: String, table: Option<String> },
    #[serde(rename = "source.not_utf8")]
    SourceNotUtf8 {
        path: String,
        #[ts(type = "number")]
        offset: usize,
    },
    /// `available`: the source's columns, comma-separated.
    #[serde(rename = "source.missing_column")]
    SourceMissingColumn {
        path: String,
        column: String,
        available: String,
    },
    /// `index`: the 1-based column.
    #[serde(rename = "source.empty_header")]
    SourceEmptyHeader {
        path: String,
        #[ts(type = "number")]
        index: usize,
    },
    #[serde(rename = "source.duplicate_column")]
    SourceDuplicateColumn {
        path: String,
        column: String,
        #[ts(type = "number")]
        first: usize,
        #[ts(type = "number")]
        second: usize,
    },
    /// `reason`: what the parser said.
    #[serde(rename = "source.malformed")]
    SourceMalformed {
        path: String,
        #[ts(type = "number")]
        line: u64,
        reason: String,
    },
    #[serde(rename = "source.no_json_objects")]
    SourceNoJsonObjects {
        path: String,
        #[ts(type = "number")]
        lines: u64,
    },
    #[serde(rename = "source.not_sqlite")]
    SourceNotSqlite { path: String },
    /// `available`: the database's tables, comma-separated.
    #[serde(rename = "source.table_required")]
    SourceTableRequired { path: String, available: String },
    #[serde(rename = "source.missing_table")]
    SourceMissingTable {
        path: String,
        table: String,
        available: String,
    },
    #[serde(rename = "source.sqlite_error")]
    SourceSqlite { path: String, reason: String },

    // ---- Klaviyo (`segport_klaviyo::Error`, mapped here: the client crate knows no UI)
    /// `detail` is what Klaviyo said, as it said it.
    #[serde(rename = "klaviyo.key_rejected")]
    KlaviyoKeyRejected { detail: String },
    #[serde(rename = "klaviyo.missing_scope")]
    KlaviyoMissingScope { detail: String },
    #[serde(rename = "klaviyo.invalid")]
    KlaviyoInvalid {
        status: u16,
        errors: Vec<KlaviyoApiError>,
    },
    /// `retryAfterSecs`: when Klaviyo said to come back (at least 1), if it did.
    #[serde(rename = "klaviyo.rate_limited")]
    KlaviyoRateLimited {
        #[ts(type = "number | null")]
        retry_after_secs: Option<u64>,
    },
    #[serde(rename = "klaviyo.server_error")]
    KlaviyoServer { status: u16, body_excerpt: String },
    #[serde(rename = "klaviyo.unreachable")]
    KlaviyoUnreachable { url: String, reason: String },
    #[serde(rename = "klaviyo.timeout")]
    KlaviyoTimeout,
    #[serde(rename = "klaviyo.decode")]
    KlaviyoDecode { reason: String },
    #[serde(rename = "klaviyo.invalid_base_url")]
    KlaviyoInvalidBaseUrl { reason: String },
    #[serde(rename = "klaviyo.cancelled")]
    KlaviyoCancelled,

    // ---- segments and exports
    #[serde(rename = "segment.filter_invalid")]
    FilterInvalid(FilterError),
    #[serde(rename = "export.mapping_invalid")]
    MappingInvalid(MappingError),
    /// `text`: the schedule as written.
    #[serde(rename = "export.schedule_invalid")]
    ScheduleInvalid { text: String },
    /// `message` says what is wrong with the configuration and how to fix it.
    #[serde(rename = "config.invalid")]
    Config { message: String },

    // ---- runs
    #[serde(rename = "run.cancelled")]
    Cancelled,
    #[serde(rename = "run.already_running")]
    AlreadyRunning {
        export: String,
        who: String,
        trigger: String,
        pid: u32,
        host: String,
        since: String,
    },
    #[serde(rename = "run.not_due")]
    NotDue { export: String },
    #[serde(rename = "internal")]
    Internal { message: String },
    #[serde(rename = "io.error")]
    Io { path: String, reason: String },

    // ---- the desktop app's own errors (src-tauri)
    #[serde(rename = "demo.sandbox_failed")]
    DemoSandboxFailed { reason: String },
    #[serde(rename = "demo.failed")]
    DemoFailed { reason: String },
    /// A task of the app stopped unexpectedly (today only writing a rejects file).
    #[serde(rename = "app.internal")]
    AppInternal { reason: String },
    /// The OS could not open a folder (today only the logs folder).
    #[serde(rename = "app.open_failed")]
    AppOpenFailed { path: String, reason: String },
}

/// One JSON:API error object from Klaviyo (`segport_klaviyo::ApiError`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct KlaviyoApiError {
    pub status: u16,
    pub code: String,
    pub title: String,
    pub detail: String,
    /// `source.pointer`, e.g. `/data/attributes/profiles/data/3/attributes/email`.
    pub pointer: Option<String>,
    /// `source.parameter`: the query parameter or header at fault.
    pub parameter: Option<String>,
}

impl ErrorCode {
    /// The stable code, as in the JSON form.
    pub fn code(&self) -> &'static str {
        match self {
            ErrorCode::StoreOpen { .. } => "store.open_failed",
            ErrorCode::StoreMigration { .. } => "store.migration_failed",
            ErrorCode::Store { .. } => "store.error",
            ErrorCode::NotFound { .. } => "not_found",
            ErrorCode::Invalid { .. } => "invalid_input",
            ErrorCode::Duplicate { .. } => "duplicate_name",
            ErrorCode::Forbidden { .. } => "forbidden",
            ErrorCode::ConsentRequired { .. } => "connection.consent_required",
            ErrorCode::NoKey { .. } => "connection.no_key",
            ErrorCode::Keychain { .. } => "keychain.unavailable",
            ErrorCode::SourceMissing { .. } => "source.missing",
            ErrorCode::SourceUnreadable { .. } => "source.unreadable",
            ErrorCode::SourceEmpty { .. } => "source.empty",
            ErrorCode::SourceNoRows { .. } => "source.no_rows",
            ErrorCode::SourceNotUtf8 { .. } => "source.not_utf8",
            ErrorCode::SourceMissingColumn { .. } => "source.missing_column",
            ErrorCode::SourceEmptyHeader { .. } => "source.empty_header",
            ErrorCode::SourceDuplicateColumn { .. } => "source.duplicate_column",
            ErrorCode::SourceMalformed { .. } => "source.malformed",
            ErrorCode::SourceNoJsonObjects { .. } => "source.no_json_objects",
            ErrorCode::SourceNotSqlite { .. } => "source.not_sqlite",
            ErrorCode::SourceTableRequired { .. } => "source.table_required",
            ErrorCode::SourceMissingTable { .. } => "source.missing_table",
            ErrorCode::SourceSqlite { .. } => "source.sqlite_error",
            ErrorCode::KlaviyoKeyRejected { .. } => "klaviyo.key_rejected",
            ErrorCode::KlaviyoMissingScope { .. } => "klaviyo.missing_scope",
            ErrorCode::KlaviyoInvalid { .. } => "klaviyo.invalid",
            ErrorCode::KlaviyoRateLimited { .. } => "klaviyo.rate_limited",
            ErrorCode::KlaviyoServer { .. } => "klaviyo.server_error",
            ErrorCode::KlaviyoUnreachable { .. } => "klaviyo.unreachable",
            ErrorCode::KlaviyoTimeout => "klaviyo.timeout",
            ErrorCode::KlaviyoDecode { .. } => "klaviyo.decode",
            ErrorCode::KlaviyoInvalidBaseUrl { .. } => "klaviyo.invalid_base_url",
            ErrorCode::KlaviyoCancelled => "klaviyo.cancelled",
            ErrorCode::FilterInvalid(_) => "segment.filter_invalid",
            ErrorCode::MappingInvalid(_) => "export.mapping_invalid",
            ErrorCode::ScheduleInvalid { .. } => "export.schedule_invalid",
            ErrorCode::Config { .. } => "config.invalid",
            ErrorCode::Cancelled => "run.cancelled",
            ErrorCode::AlreadyRunning { .. } => "run.already_running",
            ErrorCode::NotDue { .. } => "run.not_due",
            ErrorCode::Internal { .. } => "internal",
            ErrorCode::Io { .. } => "io.error",
            ErrorCode::DemoSandboxFailed { .. } => "demo.sandbox_failed",
            ErrorCode::DemoFailed { .. } => "demo.failed",
            ErrorCode::AppInternal { .. } => "app.internal",
            ErrorCode::AppOpenFailed { .. } => "app.open_failed",
        }
    }

    /// The English sentence, before key redaction (the one place every error's text is written;
    /// `CoreError`'s `Display` redacts it).
    pub fn message(&self) -> String {
        match self {
            ErrorCode::StoreOpen { path, reason } => {
                format!("The database {path} could not be opened: {reason}")
            }
            ErrorCode::StoreMigration { reason } => format!("The database could not be upgraded to the current version: {reason}. The file was left unchanged; make sure you are running the newest Segport."),
            ErrorCode::Store { reason } => format!("Database error: {reason}"),
            ErrorCode::NotFound { what, name } => format!("{what} \"{name}\" was not found."),
            ErrorCode::Invalid { field: Some(field), message } => format!("{field}: {message}"),
            ErrorCode::Invalid { field: None, message } => message.clone(),
            ErrorCode::Duplicate { what, name } => {
                format!("A {what} named \"{name}\" already exists. Choose another name.")
            }
            ErrorCode::Forbidden { message } => message.clone(),
            ErrorCode::ConsentRequired { connection } => format!("The connection \"{connection}\" has no recorded data-privacy consent. Open the connection, tick \"I agree\" and save it (or run `segport-cli connection consent NAME --yes`)."),
            ErrorCode::NoKey { connection } => format!("No API key is stored for the connection \"{connection}\". Edit the connection and enter its Klaviyo private API key."),
            ErrorCode::Keychain { reason } => format!("The OS keychain could not be used: {reason}"),

            ErrorCode::SourceMissing { path } => format!(
                "The file {path} was not found. It may have been moved or deleted: choose the file again."
            ),
            ErrorCode::SourceUnreadable { path, reason } => format!("The file {path} could not be read: {reason}. Check that it is a file you may read, then try again."),
            ErrorCode::SourceEmpty { path } => format!("The file {path} is empty. A CSV needs a header row with column names, then one row per customer; a JSON Lines file one JSON object per line."),
            ErrorCode::SourceNoRows { path, table: None } => format!("The file {path} has a header row but no customer rows. Add rows below the header, or pick another file."),
            ErrorCode::SourceNoRows { path, table: Some(table) } => format!("The table \"{table}\" of {path} has no rows. Fill it, or choose another table."),
            ErrorCode::SourceNotUtf8 { path, offset } => format!("The file {path} is not UTF-8 text (first bad byte near offset {offset}). Save it as UTF-8 (Excel: File → Save As → CSV UTF-8) and try again."),
            ErrorCode::SourceMissingColumn { path, column, available } => format!("The column \"{column}\" is not in {path}. Its columns are: {available}. Edit the export and choose the email column again."),
            ErrorCode::SourceEmptyHeader { path, index } => format!("The header row of {path} has an empty column name (column {index}). Give every column a name."),
            ErrorCode::SourceDuplicateColumn { path, column, first, second } => format!("The header row of {path} names the column \"{column}\" twice (columns {first} and {second}). Rename one of them so every column has its own name."),
            ErrorCode::SourceMalformed { path, line, reason } => {
                format!("Line {line} of {path} could not be parsed: {reason}.")
            }
            ErrorCode::SourceNoJsonObjects { path, lines } => format!("None of the first {lines} lines of {path} is a JSON object with keys. A JSON Lines file holds one object per line, like {{\"email\": \"ada@example.com\"}}: check that this is the right file."),
            ErrorCode::SourceNotSqlite { path } => format!("The file {path} is not a SQLite database. Choose a database file (.sqlite, .db), or add the file as a CSV or JSON Lines source."),
            ErrorCode::SourceTableRequired { path, available } => {
                format!("Choose a table of the database {path}. Its tables are: {available}.")
            }
            ErrorCode::SourceMissingTable { path, table, available } => format!("The table \"{table}\" is not in the database {path}. Its tables are: {available}. It may have been renamed: choose the table again."),
            ErrorCode::SourceSqlite { path, reason } => format!("The database {path} could not be read: {reason}. If another program is writing to it, try again when it is done."),

            // The Klaviyo client's own `Display` says the same (a test holds them equal).
            ErrorCode::KlaviyoKeyRejected { detail } => format!("Klaviyo rejected the API key: {}. Check that it is a private key (pk_…) that has not been revoked, then edit the connection and paste the key again.", detail.trim_end_matches('.')),
            ErrorCode::KlaviyoMissingScope { detail } => format!("The API key lacks a permission this action needs: {}. In Klaviyo, edit the private key to give it the required scopes (accounts:read, lists:read/write, profiles:read/write), then try again.", detail.trim_end_matches('.')),
            ErrorCode::KlaviyoInvalid { status, errors } => {
                format!("Klaviyo refused the request (HTTP {status}): {}", summarize(errors))
            }
            ErrorCode::KlaviyoRateLimited { retry_after_secs } => format!(
                "Klaviyo's rate limit was reached{}. Wait a little and try again.",
                match retry_after_secs {
                    Some(s) => format!(" (available again in {s} s)"),
                    None => String::new(),
                }
            ),
            ErrorCode::KlaviyoServer { status, body_excerpt } => format!("Klaviyo had a server error (HTTP {status}): {body_excerpt}. This is usually temporary; try again in a few minutes."),
            ErrorCode::KlaviyoUnreachable { url, reason } => format!(
                "Could not reach {url}: {reason}. Check the base URL and your network connection."
            ),
            ErrorCode::KlaviyoTimeout => "Klaviyo did not answer in time. Check your network connection and try again.".into(),
            ErrorCode::KlaviyoDecode { reason } => format!("Klaviyo sent an answer Segport could not read: {reason}. The API may have changed; check for a Segport update."),
            ErrorCode::KlaviyoInvalidBaseUrl { reason } => format!("The base URL is not valid: {reason}. Use https://a.klaviyo.com, or the sandbox's http://127.0.0.1:PORT."),
            ErrorCode::KlaviyoCancelled => "The request to Klaviyo was cancelled.".into(),

            ErrorCode::FilterInvalid(e) => format!("The segment's filter is not valid: {e}"),
            ErrorCode::MappingInvalid(e) => {
                format!("The export's field mapping is not valid: {e}")
            }
            ErrorCode::ScheduleInvalid { text } => format!("\"{text}\" is not a schedule: write \"manual\", \"every 6h\" (1–720 hours) or \"daily 09:30\"."),
            ErrorCode::Config { message } => message.clone(),
            ErrorCode::Cancelled => "The run was cancelled.".into(),
            ErrorCode::AlreadyRunning { export, who, trigger, pid, host, since } => format!(
                "\"{export}\" is already running: started by {who} ({trigger}, process {pid} on {host}) at {since}. Wait for it to finish, or cancel it there."
            ),
            ErrorCode::NotDue { export } => format!(
                "\"{export}\" is not due any more: it was run by another process just now."
            ),
            ErrorCode::Internal { message } => format!(
                "Something went wrong inside Segport: {message}. Please report it with the log file."
            ),
            ErrorCode::Io { path, reason } => format!("I/O error on {path}: {reason}"),

            ErrorCode::DemoSandboxFailed { reason } => {
                format!("The demo sandbox could not start: {reason}")
            }
            ErrorCode::DemoFailed { reason } => reason.clone(),
            ErrorCode::AppInternal { reason } => format!(
                "Writing the rejects file stopped unexpectedly ({reason}). Try again."
            ),
            ErrorCode::AppOpenFailed { path, reason } => format!(
                "Segport could not open the logs folder ({reason}). Open {path} in your file manager."
            ),
        }
    }

    /// The same code with every text parameter passed through the key redactor: parameters
    /// reach the UI beside the (redacted) message and may quote what a server or file said.
    pub fn redacted(self) -> ErrorCode {
        let Ok(mut value) = serde_json::to_value(&self) else {
            return self;
        };
        redact_strings(&mut value);
        serde_json::from_value(value).unwrap_or(self)
    }
}

fn redact_strings(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::String(s) => {
            if let std::borrow::Cow::Owned(r) = crate::logging::redact_text(s) {
                *s = r;
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact_strings),
        serde_json::Value::Object(map) => map.values_mut().for_each(redact_strings),
        _ => {}
    }
}

/// Klaviyo's errors in a sentence: the first, and how many more.
fn summarize(errors: &[KlaviyoApiError]) -> String {
    match errors {
        [] => "no details given".to_owned(),
        [one] => api_error_text(one),
        [first, rest @ ..] => format!("{} (and {} more)", api_error_text(first), rest.len()),
    }
}

fn api_error_text(e: &KlaviyoApiError) -> String {
    let mut s = if e.detail.is_empty() {
        e.title.clone()
    } else {
        e.detail.clone()
    };
    if let Some(p) = &e.pointer {
        let _ = write!(s, " (at {p})");
    } else if let Some(p) = &e.parameter {
        let _ = write!(s, " (parameter {p})");
    }
    s
}

fn path_text(p: &std::path::Path) -> String {
    p.display().to_string()
}

impl From<&CoreError> for ErrorCode {
    fn from(e: &CoreError) -> Self {
        match e {
            CoreError::StoreOpen { path, reason } => ErrorCode::StoreOpen {
                path: path_text(path),
                reason: reason.clone(),
            },
            CoreError::Migration(reason) => ErrorCode::StoreMigration {
                reason: reason.clone(),
            },
            CoreError::Store(e) => ErrorCode::Store {
                reason: e.to_string(),
            },
            CoreError::NotFound { what, name } => ErrorCode::NotFound {
                what: (*what).into(),
                name: name.clone(),
            },
            CoreError::Invalid { field, message } => ErrorCode::Invalid {
                field: Some(field.clone()),
                message: message.clone(),
            },
            CoreError::Duplicate { what, name } => ErrorCode::Duplicate {
                what: (*what).into(),
                name: name.clone(),
            },
            CoreError::Forbidden(m) => ErrorCode::Forbidden { message: m.clone() },
            CoreError::ConsentRequired(name) => ErrorCode::ConsentRequired {
                connection: name.clone(),
            },
            CoreError::NoKey(name) => ErrorCode::NoKey {
                connection: name.clone(),
            },
            CoreError::Keychain(m) => ErrorCode::Keychain { reason: m.clone() },
            CoreError::Source(e) => e.into(),
            CoreError::Klaviyo(e) => e.into(),
            CoreError::Filter(e) => ErrorCode::FilterInvalid(e.clone()),
            CoreError::Mapping(e) => ErrorCode::MappingInvalid(e.clone()),
            CoreError::Schedule(e) => ErrorCode::ScheduleInvalid {
                text: e.text.clone(),
            },
            CoreError::Config(m) => ErrorCode::Config { message: m.clone() },
            CoreError::Cancelled => ErrorCode::Cancelled,
            CoreError::AlreadyRunning(h) => ErrorCode::AlreadyRunning {
                export: h.export.clone(),
                who: h.who.clone(),
                trigger: h.trigger.clone(),
                pid: h.pid,
                host: h.host.clone(),
                since: h.since.clone(),
            },
            CoreError::NotDue(name) => ErrorCode::NotDue {
                export: name.clone(),
            },
            CoreError::Internal(m) => ErrorCode::Internal { message: m.clone() },
            CoreError::Io { path, source } => ErrorCode::Io {
                path: path_text(path),
                reason: source.to_string(),
            },
        }
    }
}

impl From<&SourceError> for ErrorCode {
    fn from(e: &SourceError) -> Self {
        match e {
            SourceError::Missing(path) => ErrorCode::SourceMissing {
                path: path_text(path),
            },
            SourceError::Unreadable { path, reason } => ErrorCode::SourceUnreadable {
                path: path_text(path),
                reason: reason.clone(),
            },
            SourceError::Empty(path) => ErrorCode::SourceEmpty {
                path: path_text(path),
            },
            SourceError::NoRows(path) => ErrorCode::SourceNoRows {
                path: path_text(path),
                table: None,
            },
            SourceError::NotUtf8 { path, offset } => ErrorCode::SourceNotUtf8 {
                path: path_text(path),
                offset: *offset,
            },
            SourceError::MissingColumn {
                path,
                column,
                available,
            } => ErrorCode::SourceMissingColumn {
                path: path_text(path),
                column: column.clone(),
                available: available.clone(),
            },
            SourceError::EmptyHeader { path, index } => ErrorCode::SourceEmptyHeader {
                path: path_text(path),
                index: *index,
            },
            SourceError::DuplicateColumn {
                path,
                column,
                first,
                second,
            } => ErrorCode::SourceDuplicateColumn {
                path: path_text(path),
                column: column.clone(),
                first: *first,
                second: *second,
            },
            SourceError::Malformed { path, line, reason } => ErrorCode::SourceMalformed {
                path: path_text(path),
                line: *line,
                reason: reason.clone(),
            },
            SourceError::NoJsonObjects { path, lines } => ErrorCode::SourceNoJsonObjects {
                path: path_text(path),
                lines: *lines,
            },
            SourceError::NotSqlite(path) => ErrorCode::SourceNotSqlite {
                path: path_text(path),
            },
            SourceError::TableRequired { path, available } => ErrorCode::SourceTableRequired {
                path: path_text(path),
                available: available.clone(),
            },
            SourceError::MissingTable {
                path,
                table,
                available,
            } => ErrorCode::SourceMissingTable {
                path: path_text(path),
                table: table.clone(),
                available: available.clone(),
            },
            SourceError::EmptyTable { path, table } => ErrorCode::SourceNoRows {
                path: path_text(path),
                table: Some(table.clone()),
            },
            SourceError::Sqlite { path, reason } => ErrorCode::SourceSqlite {
                path: path_text(path),
                reason: reason.clone(),
            },
        }
    }
}

impl From<&segport_klaviyo::Error> for ErrorCode {
    fn from(e: &segport_klaviyo::Error) -> Self {
        use segport_klaviyo::Error as K;
        match e {
            K::KeyRejected { detail } => ErrorCode::KlaviyoKeyRejected {
                detail: detail.clone(),
            },
            K::MissingScope { detail } => ErrorCode::KlaviyoMissingScope {
                detail: detail.clone(),
            },
            K::Invalid { status, errors } => ErrorCode::KlaviyoInvalid {
                status: *status,
                errors: errors
                    .iter()
                    .map(|e| KlaviyoApiError {
                        status: e.status,
                        code: e.code.clone(),
                        title: e.title.clone(),
                        detail: e.detail.clone(),
                        pointer: e.pointer.clone(),
                        parameter: e.parameter.clone(),
                    })
                    .collect(),
            },
            K::RateLimited { retry_after } => ErrorCode::KlaviyoRateLimited {
                retry_after_secs: retry_after.map(|d| d.as_secs().max(1)),
            },
            K::Server {
                status,
                body_excerpt,
            } => ErrorCode::KlaviyoServer {
                status: *status,
                body_excerpt: body_excerpt.clone(),
            },
            K::Unreachable { url, reason } => ErrorCode::KlaviyoUnreachable {
                url: url.clone(),
                reason: reason.clone(),
            },
            K::Timeout => ErrorCode::KlaviyoTimeout,
            K::Decode(reason) => ErrorCode::KlaviyoDecode {
                reason: reason.clone(),
            },
            K::Cancelled => ErrorCode::KlaviyoCancelled,
            K::InvalidBaseUrl(reason) => ErrorCode::KlaviyoInvalidBaseUrl {
                reason: reason.clone(),
            },
        }
    }
}

// The sub-errors' texts, here with every other error's. (Their types keep `thiserror::Error`
// for `source()`; the derive takes this `Display`.)

impl std::fmt::Display for SourceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&ErrorCode::from(self).message())
    }
}

impl std::fmt::Display for crate::schedule::ScheduleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let code = ErrorCode::ScheduleInvalid {
            text: self.text.clone(),
        };
        f.write_str(&code.message())
    }
}

/// Phrased to follow "The segment's filter is not valid: ".
impl std::fmt::Display for FilterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FilterError::Syntax {
                message,
                line,
                column,
                snippet,
                ..
            } => write!(f, "{message} at {line}:{column}\n{snippet}"),
            FilterError::UnknownColumn { column, available } => {
                write!(f, "unknown column `{column}`; the source has: ")?;
                if available.is_empty() {
                    return f.write_str("no columns");
                }
                for (i, n) in available.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "`{n}`")?;
                }
                Ok(())
            }
            FilterError::InvalidRule { column, message } => {
                write!(f, "the rule on `{column}` is invalid: {message}")
            }
            FilterError::ValueType { message, .. } => f.write_str(message),
            FilterError::TooDeep { max } => {
                write!(f, "the filter is nested more than {max} levels deep")
            }
        }
    }
}

/// Phrased to follow "The export's field mapping is not valid: ".
impl std::fmt::Display for MappingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MappingError::NoEmailColumn => f.write_str("no email column is chosen: the email column is required (it is how Klaviyo matches profiles)"),
            MappingError::UnknownColumn { field, column, available } => write!(f, "column \"{column}\" (mapped to {field}) is not in the source; available columns: {available}"),
            MappingError::UnknownCountry(c) => write!(f, "default country \"{c}\" is not an ISO 3166 alpha-2 country code with a phone numbering plan (e.g. PL, US, DE)"),
            MappingError::EmptyPropertyName { column } => write!(f, "a custom property has an empty name (mapped from column \"{column}\")"),
            MappingError::TypeCount { types, columns } => {
                write!(f, "{types} column types were given for {columns} columns")
            }
        }
    }
}
