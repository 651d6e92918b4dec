//! Thin commands: each parses its input, calls `segport-core`, maps the error.

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
