//! One module per subcommand. Each takes the parsed [`crate::args`] value and the open
//! [`Workspace`], calls the core, prints through [`crate::output`] and returns the exit code
//! of a command that ran to its end (errors go back to `main`, which prints them).

pub mod config;
pub mod connection;
pub mod export;
pub mod runs;
pub mod sample;
pub mod segment;

use segport_core::secrets::KeyringStore;
use segport_core::workspace::Workspace;
use segport_core::{paths, CoreError};
use std::path::PathBuf;
use std::sync::Arc;

/// The workspace in `data_dir` (or the OS app-data folder), keys in the OS keychain. A store
/// that had to be kept aside and recreated is a warning on stderr, not an error.
pub fn open_workspace(data_dir: Option<PathBuf>) -> Result<Workspace, CoreError> {
    let dir = paths::data_dir(data_dir);
    let ws = Workspace::open(&dir, Arc::new(KeyringStore::new()))?;
    if let Some(kept) = ws.kept_aside() {
        eprintln!("warning: {}", kept.message());
    }
    Ok(ws)
}
