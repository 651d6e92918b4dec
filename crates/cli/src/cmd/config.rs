//! `segport-cli config`: import and export the configuration as TOML.

use crate::args::ConfigCmd;
use crate::output::exit;
use segport_core::workspace::Workspace;
use segport_core::{config, CoreError};

pub fn run(ws: &Workspace, cmd: ConfigCmd) -> Result<u8, CoreError> {
    match cmd {
        ConfigCmd::Import { file } => {
            let r = config::import(ws, &file)?;
            out!(
                "imported {}: {} connection(s), {} source(s), {} segment(s), {} export(s)",
                file.display(),
                r.connections,
                r.sources,
                r.segments,
                r.exports
            );
        }
        ConfigCmd::Export { file } => {
            let text = config::export(ws)?;
            match file {
                Some(f) => {
                    std::fs::write(&f, text).map_err(|source| CoreError::Io { path: f, source })?
                }
                None => out_raw!("{text}"),
            }
        }
    }
    Ok(exit::OK)
}
