//! The desktop app's logs: daily rolling files in `<data dir>/logs` (the newest 7 kept) and
//! stderr, both redacted; see `segport_core::logging` for what is and is never logged.

use segport_core::logging::{self, LogError};
use std::path::Path;

/// The default level: info for everything, the HTTP stack held at warn (see `QUIET_TARGETS`).
pub const DEFAULT_FILTER: &str = "info";
pub const FILE_PREFIX: &str = "segport";

/// Log into `<data_dir>/logs` and stderr.
pub fn init(data_dir: &Path) -> Result<(), LogError> {
    logging::init(
        &segport_core::paths::log_dir(data_dir),
        FILE_PREFIX,
        DEFAULT_FILTER,
        true,
    )
}

/// Called once at start-up: files + stderr, or stderr alone (with a warning) if the log folder
/// cannot be used. Starting the app never fails because of logging.
pub fn init_or_warn(data_dir: &Path) {
    if let Err(e) = init(data_dir) {
        let _ = logging::init_stderr(DEFAULT_FILTER);
        tracing::warn!("log files disabled: {e}");
    }
}
