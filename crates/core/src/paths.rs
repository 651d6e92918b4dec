//! Where Segport keeps its data: the OS app-data folder shared by the app and the CLI.

use std::path::PathBuf;

/// The Tauri bundle identifier; the app-data folder is named after it, like Tauri's own
/// `app_data_dir`, so the desktop app and the CLI find the same database.
pub const APP_IDENTIFIER: &str = "dev.segport.desktop";
pub const DATA_DIR_ENV: &str = "SEGPORT_DATA_DIR";

/// The data folder: an explicit choice, else `SEGPORT_DATA_DIR`, else the OS app-data folder.
pub fn data_dir(explicit: Option<PathBuf>) -> PathBuf {
    if let Some(dir) = explicit {
        return dir;
    }
    if let Some(dir) = std::env::var_os(DATA_DIR_ENV).filter(|v| !v.is_empty()) {
        return PathBuf::from(dir);
    }
    directories::BaseDirs::new()
        .map(|b| b.data_dir().join(APP_IDENTIFIER))
        .unwrap_or_else(|| PathBuf::from(".segport"))
}

pub const DB_FILE: &str = "segport.db";

/// The folder of the rolling log files (desktop app and CLI): `<data dir>/logs`.
pub fn log_dir(data_dir: &std::path::Path) -> PathBuf {
    data_dir.join("logs")
}
