//! One error type for the core, with a stable code for the UI and the CLI.
//!
//! - [`CoreError`]: what the core's functions return.
//! - [`ErrorCode`] (`code.rs`): the same error as a stable code and its parameters, exported to
//!   the UI (`ui/src/bindings/ErrorCode.ts`); its [`ErrorCode::message`] is the one place the
//!   English sentence of every error is written.
//! - [`RejectCode`] (`reject.rs`): why a row is not sent, typed the same way; its `Display` is
//!   the one place the English reject reasons are written.

mod code;
mod reject;
#[cfg(test)]
mod tests;

pub use code::{ErrorCode, KlaviyoApiError};
pub use reject::{Axis, DuplicateOf, EmailProblem, JsonFound, PhoneProblem, RejectCode};

use std::path::PathBuf;

pub type Result<T, E = CoreError> = std::result::Result<T, E>;

/// Every message passes the key redactor ([`crate::logging::redact_text`]) in `Display`: an error
/// text is printed (CLI), answered (IPC), logged and stored (a run's error), and some carry what
/// a server or a file said — which could echo a key. The messages themselves are written by
/// [`ErrorCode::message`] (see `Raw`).
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
        f.write_str(&ErrorCode::from(self.0).message())
    }
}

impl CoreError {
    /// A stable, machine-readable code (`area.reason`) for the UI and scripts: the `code` of
    /// its [`ErrorCode`].
    pub fn code(&self) -> String {
        ErrorCode::from(self).code().into()
    }

    /// The code and its parameters, for the UI; every text parameter passed the key redactor,
    /// as the message does.
    pub fn error_code(&self) -> ErrorCode {
        ErrorCode::from(self).redacted()
    }

    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        CoreError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}
