//! `segport-cli sample`: a seeded customers CSV for demos and benchmarks.

use crate::output::exit;
use segport_core::CoreError;
use std::path::Path;

pub fn run(file: &Path, rows: u64, invalid_every: u64, seed: u64) -> Result<u8, CoreError> {
    let stats = segport_core::sample::write_customers_csv(file, rows, invalid_every, seed)
        .map_err(|source| CoreError::Io {
            path: file.to_path_buf(),
            source,
        })?;
    out!(
        "{} rows written to {} ({} with a broken email)",
        stats.rows,
        file.display(),
        stats.invalid_lines.len()
    );
    Ok(exit::OK)
}
