//! Segport's core: the domain, the SQLite store, secrets, CSV sources and the export engine.
//!
//! Architecture invariant: nothing here depends on Tauri. The desktop shell and the CLI are two
//! thin front doors to this crate.

pub mod catalog;
pub mod config;
pub mod engine;
pub mod error;
mod failpoint;
pub mod filter;
pub mod fingerprint;
pub mod logging;
pub mod mapping;
pub mod model;
pub mod paths;
pub mod rejects;
pub mod runlock;
pub mod sample;
pub mod schedule;
pub mod secrets;
pub mod source;
pub mod store;
pub mod value;
pub mod workspace;

pub use error::{CoreError, Result};
pub use segport_klaviyo::ApiKey;
