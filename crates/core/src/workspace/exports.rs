//! Exports: the Exports view (with each export's next scheduled run), the export form, and
//! removing one. Running them is in `runs`.

use super::access::{self, Action};
use super::{trimmed, Workspace};
use crate::model::*;
use crate::source;
use crate::{CoreError, Result};

/// What an export's schedule counts from: its last run's start, or its creation if it never ran.
pub(super) fn schedule_since(
    e: &Export,
    last: Option<&RunView>,
) -> Option<chrono::DateTime<chrono::Utc>> {
    let parse = |s: &str| {
        chrono::DateTime::parse_from_rfc3339(s)
            .map(|d| d.with_timezone(&chrono::Utc))
            .ok()
    };
    last.and_then(|r| parse(&r.started_at))
        .or_else(|| parse(&e.created_at))
}

impl Workspace {
    fn export_view(&self, e: Export) -> Result<ExportView> {
        let segment = self.store.segment(&e.segment_id)?;
        let source = self.store.source(&segment.source_id)?;
        let connection_name = match &e.connection_id {
            Some(id) => self.store.connection(id).ok().map(|c| c.name),
            None => None,
        };
        let last_run = self.store.runs(Some(&e.id), 1)?.into_iter().next();
        let next_run_at = schedule_since(&e, last_run.as_ref())
            .and_then(|since| e.schedule.next_after(since, &chrono::Local))
            .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        let resumable = self.store.resumable_run(&e.id)?.is_some();
        Ok(ExportView {
            id: e.id,
            name: e.name,
            segment_id: segment.id,
            segment_name: segment.name,
            source_name: source.name,
            source_path: source.path,
            connection_id: e.connection_id,
            connection_name,
            list_id: e.list_id,
            email_column: e.mapping.email.clone(),
            mapping: e.mapping,
            mode: e.mode,
            removal_guard: e.removal_guard,
            schedule: e.schedule,
            next_run_at,
            created_at: e.created_at,
            updated_at: e.updated_at,
            last_run,
            resumable,
        })
    }

    pub fn exports(&self) -> Result<Vec<ExportView>> {
        self.mark_dead_runs_interrupted()?;
        self.store
            .exports()?
            .into_iter()
            .map(|e| self.export_view(e))
            .collect()
    }

    pub fn export_named(&self, name: &str) -> Result<Export> {
        self.store
            .export_by_name(name)?
            .ok_or_else(|| CoreError::NotFound {
                what: "Export",
                name: name.to_string(),
            })
    }

    /// Save an export. Saving never runs it.
    pub fn save_export(&self, input: ExportInput) -> Result<ExportView> {
        let op = self.operator()?;
        let name = trimmed(&input.name)
            .ok_or_else(|| CoreError::invalid("Name", "Give the export a name."))?;
        let list_id = trimmed(&input.list_id).ok_or_else(|| {
            CoreError::invalid(
                "Klaviyo list ID",
                "Enter the ID of the Klaviyo list to export to (in Klaviyo: Lists & segments → the list → Settings → List ID).",
            )
        })?;
        if !list_id.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(CoreError::invalid(
                "Klaviyo list ID",
                format!("\"{list_id}\" is not a list ID: list IDs are letters and digits, like \"XyZ123\"."),
            ));
        }
        let conn = self.store.connection(&input.connection_id)?;
        access::allow(&op, Action::SaveExport(&conn))?;
        let segment = self.store.segment(&input.segment_id)?;
        let source = self.store.source(&segment.source_id)?;
        let mut mapping = input.mapping;
        mapping.email = mapping.email.trim().to_string();
        if mapping.email.is_empty() {
            return Err(CoreError::invalid(
                "Email column",
                "Choose the column that holds the email addresses: it is how Klaviyo matches profiles.",
            ));
        }
        // Checked against the file when it can be read now; a missing file is reported by
        // the Sources screen and by the run, and does not stop an offline edit from saving.
        if let Ok(rows) = source::open(&self.source_spec(&source)) {
            crate::mapping::Mapper::new(&mapping, rows.columns(), None)?;
        }
        let now = now_rfc3339();
        let existing = match &input.id {
            Some(id) => Some(self.store.export(id)?),
            None => None,
        };
        let export = Export {
            id: existing
                .as_ref()
                .map(|e| e.id.clone())
                .unwrap_or_else(new_id),
            name,
            segment_id: segment.id,
            connection_id: Some(conn.id),
            list_id,
            mapping,
            mode: input.mode,
            schedule: input.schedule,
            removal_guard: input
                .removal_guard
                .or_else(|| existing.as_ref().map(|e| e.removal_guard))
                .unwrap_or_default(),
            created_at: existing
                .map(|e| e.created_at)
                .unwrap_or_else(|| now.clone()),
            updated_at: now,
        };
        self.store.put_export(&export)?;
        self.export_view(export)
    }

    pub fn delete_export(&self, id: &str) -> Result<()> {
        let op = self.operator()?;
        let export = self.store.export(id)?;
        let through = match &export.connection_id {
            Some(c) => Some(self.store.connection(c)?),
            None => None,
        };
        access::allow(&op, Action::RemoveExport(through.as_ref()))?;
        self.store.delete_export(id)?;
        Ok(())
    }
}
