//! One error type for the core, with a stable `code()` for the UI and the CLI.

use std::path::PathBuf;

pub type Result<T, E = CoreError> = std::result::Result<T, E>;

/// Every message passes the key redactor ([`crate::logging::redact_text`]) in `Display`: an error
/// text is printed (CLI), answered (IPC), logged and stored (a run's error), and some carry what
/// a server or a file said — which could echo a key. The messages themselves are written in `Raw`.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    StoreOpen {
        path: PathBuf,
        reason: String,
    },
    Migration(String),
    Store(#[from] rusqlite::Error),
    NotFound {
        what: &'static str,
        name: String,
    },
    Invalid {
        field: String,
        message: String,
    },
    Duplicate {
        what: &'static str,
        name: String,
    },
    Forbidden(String),
    ConsentRequired(String),
    NoKey(String),
    Keychain(String),
    Source(#[from] crate::source::SourceError),
    Klaviyo(#[from] segport_klaviyo::Error),
    Filter(#[from] crate::filter::FilterError),
    Mapping(#[from] crate::mapping::MappingError),
    Schedule(#[from] crate::schedule::ScheduleError),
    Config(String),
    Cancelled,
    AlreadyRunning(Box<RunHolder>),
    NotDue(String),
    Internal(String),
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Who runs an export that another start found running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunHolder {
    pub export: String,
    pub who: String,
    pub trigger: String,
    pub pid: u32,
    pub host: String,
    pub since: String,
}

impl std::fmt::Display for CoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = Raw(self).to_string();
        f.write_str(&crate::logging::redact_text(&text))
    }
}

/// A [`CoreError`]'s message before redaction.
struct Raw<'a>(&'a CoreError);

impl std::fmt::Display for Raw<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            CoreError::StoreOpen { path, reason } => write!(
                f,
                "The database {} could not be opened: {reason}",
                path.display()
            ),
            CoreError::Migration(e) => write!(f, "The database could not be upgraded to the current version: {e}. The file was left unchanged; make sure you are running the newest Segport."),
            CoreError::Store(e) => write!(f, "Database error: {e}"),
            CoreError::NotFound { what, name } => write!(f, "{what} \"{name}\" was not found."),
            CoreError::Invalid { field, message } => write!(f, "{field}: {message}"),
            CoreError::Duplicate { what, name } => write!(
                f,
                "A {what} named \"{name}\" already exists. Choose another name."
            ),
            CoreError::Forbidden(m) => write!(f, "{m}"),
            CoreError::ConsentRequired(name) => write!(f, "The connection \"{name}\" has no recorded data-privacy consent. Open the connection, tick \"I agree\" and save it (or run `segport-cli connection consent NAME --yes`)."),
            CoreError::NoKey(name) => write!(f, "No API key is stored for the connection \"{name}\". Edit the connection and enter its Klaviyo private API key."),
            CoreError::Keychain(m) => write!(f, "The OS keychain could not be used: {m}"),
            CoreError::Source(e) => write!(f, "{e}"),
            CoreError::Klaviyo(e) => write!(f, "{e}"),
            CoreError::Filter(e) => write!(f, "The segment's filter is not valid: {e}"),
            CoreError::Mapping(e) => write!(f, "The export's field mapping is not valid: {e}"),
            CoreError::Schedule(e) => write!(f, "{e}"),
            CoreError::Config(m) => write!(f, "{m}"),
            CoreError::Cancelled => write!(f, "The run was cancelled."),
            CoreError::AlreadyRunning(h) => write!(
                f,
                "\"{}\" is already running: started by {} ({}, process {} on {}) at {}. Wait for it to finish, or cancel it there.",
                h.export, h.who, h.trigger, h.pid, h.host, h.since
            ),
            CoreError::NotDue(name) => write!(
                f,
                "\"{name}\" is not due any more: it was run by another process just now."
            ),
            CoreError::Internal(m) => write!(
                f,
                "Something went wrong inside Segport: {m}. Please report it with the log file."
            ),
            CoreError::Io { path, source } => {
                write!(f, "I/O error on {}: {source}", path.display())
            }
        }
    }
}

impl CoreError {
    /// A stable, machine-readable code (`area.reason`) for the UI and scripts.
    pub fn code(&self) -> String {
        match self {
            CoreError::StoreOpen { .. } => "store.open_failed".into(),
            CoreError::Migration(_) => "store.migration_failed".into(),
            CoreError::Store(_) => "store.error".into(),
            CoreError::NotFound { .. } => "not_found".into(),
            CoreError::Invalid { .. } => "invalid_input".into(),
            CoreError::Duplicate { .. } => "duplicate_name".into(),
            CoreError::Forbidden(_) => "forbidden".into(),
            CoreError::ConsentRequired(_) => "connection.consent_required".into(),
            CoreError::NoKey(_) => "connection.no_key".into(),
            CoreError::Keychain(_) => "keychain.unavailable".into(),
            CoreError::Source(e) => e.code().into(),
            CoreError::Klaviyo(e) => e.code().into(),
            CoreError::Filter(_) => "segment.filter_invalid".into(),
            CoreError::Mapping(_) => "export.mapping_invalid".into(),
            CoreError::Schedule(_) => "export.schedule_invalid".into(),
            CoreError::Config(_) => "config.invalid".into(),
            CoreError::Cancelled => "run.cancelled".into(),
            CoreError::AlreadyRunning(_) => "run.already_running".into(),
            CoreError::NotDue(_) => "run.not_due".into(),
            CoreError::Internal(_) => "internal".into(),
            CoreError::Io { .. } => "io.error".into(),
        }
    }

    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        CoreError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}
