//! Thin commands: each parses its input, calls `segport-core`, maps the error.
//!
//! Every command that reads a file, the database or the keychain is `async` (or
//! `#[tauri::command(async)]`): a plain command runs on the main thread and would freeze the
//! window while it waits (a slow drive, the CLI holding the database's write lock, D-Bus).

pub mod app;
pub mod connections;
pub mod exports;
pub mod runs;
pub mod settings;
pub mod sources;

use segport_core::model::ErrorPayload;

pub type CmdResult<T> = Result<T, ErrorPayload>;

pub(crate) fn err(e: segport_core::CoreError) -> ErrorPayload {
    ErrorPayload::from(&e)
}
