//! `segport-cli runs`: the run history, one run's summary and its rejected rows.

use crate::args::RunsCmd;
use crate::output::exit;
use segport_core::workspace::Workspace;
use segport_core::CoreError;

pub fn run(ws: &Workspace, cmd: RunsCmd) -> Result<u8, CoreError> {
    match cmd {
        RunsCmd::List { export } => {
            let export_id = match export {
                Some(n) => Some(ws.export_named(&n)?.id),
                None => None,
            };
            for r in ws.runs(export_id.as_deref())? {
                out!(
                    "{}\t{}\t{}\t{}\t{}\tread {} sent {} imported {} rejected {}",
                    r.id,
                    r.export_name,
                    r.status.as_str(),
                    r.trigger.as_str(),
                    r.started_at,
                    r.counts.read,
                    r.counts.sent,
                    r.counts.imported,
                    r.counts.rejected
                );
            }
        }
        RunsCmd::Show { run_id, rejects } => {
            let s = ws.run_summary(&run_id)?;
            out!(
                "{}",
                serde_json::to_string_pretty(&s.run).unwrap_or_default()
            );
            if let Some(out) = rejects {
                // The core's writer, the one the app's "Save rejects" uses: one format
                // (`line,identifier,reason`), cells escaped against formula injection.
                ws.write_rejects_csv(&run_id, &out)?;
                out!(
                    "{} rejected row(s) written to {}",
                    s.rejects_total,
                    out.display()
                );
            }
        }
    }
    Ok(exit::OK)
}
