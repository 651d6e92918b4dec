//! `segport-cli segment`: count a segment's rows and show a sample of them.

use crate::args::SegmentCmd;
use crate::output::exit;
use segport_core::workspace::Workspace;
use segport_core::CoreError;

pub fn run(ws: &Workspace, cmd: SegmentCmd) -> Result<u8, CoreError> {
    match cmd {
        SegmentCmd::Preview {
            name,
            filter,
            sample,
        } => {
            let p = ws.segment_preview(&name, filter.as_deref(), sample)?;
            out!(
                "{} of {} rows match{}",
                p.matching,
                p.total,
                if p.bad_rows > 0 {
                    format!(" ({} rows could not be read)", p.bad_rows)
                } else {
                    String::new()
                }
            );
            out!("{}", p.columns.join("\t"));
            for row in p.sample {
                out!("{}", row.join("\t"));
            }
        }
    }
    Ok(exit::OK)
}
