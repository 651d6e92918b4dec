//! One error type for the core, with a stable `code()` for the UI and the CLI.

use std::path::PathBuf;

pub type Result<T, E = CoreError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error("The database {path} could not be opened: {reason}")]
    StoreOpen { path: PathBuf, reason: String },
    #[error("The database could not be upgraded to the current version: {0}. The file was left unchanged; make sure you are running the newest Segport.")]
    Migration(String),
    #[error("Database error: {0}")]
    Store(#[from] rusqlite::Error),
    #[error("{what} \"{name}\" was not found.")]
    NotFound { what: &'static str, name: String },
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("A {what} named \"{name}\" already exists. Choose another name.")]
    Duplicate { what: &'static str, name: String },
    #[error("{0}")]
    Forbidden(String),
    #[error("The connection \"{0}\" has no recorded data-privacy consent. Open the connection, tick \"I agree\" and save it (or run `segport-cli connection consent NAME --yes`).")]
    ConsentRequired(String),
    #[error("No API key is stored for the connection \"{0}\". Edit the connection and enter its Klaviyo private API key.")]
    NoKey(String),
    #[error("The OS keychain could not be used: {0}")]
    Keychain(String),
    #[error("{0}")]
    Source(#[from] crate::source::SourceError),
    #[error(transparent)]
    Klaviyo(#[from] segport_klaviyo::Error),
    #[error("The segment's filter is not valid: {0}")]
    Filter(#[from] crate::filter::FilterError),
    #[error("The export's field mapping is not valid: {0}")]
    Mapping(#[from] crate::mapping::MappingError),
    #[error(transparent)]
    Schedule(#[from] crate::schedule::ScheduleError),
    #[error("{0}")]
    Config(String),
    #[error("The run was cancelled.")]
    Cancelled,
    #[error("\"{}\" is already running: started by {} ({}, process {} on {}) at {}. Wait for it to finish, or cancel it there.", .0.export, .0.who, .0.trigger, .0.pid, .0.host, .0.since)]
    AlreadyRunning(Box<RunHolder>),
    #[error("\"{0}\" is not due any more: it was run by another process just now.")]
    NotDue(String),
    #[error("Something went wrong inside Segport: {0}. Please report it with the log file.")]
    Internal(String),
    #[error("I/O error on {path}: {source}")]
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
