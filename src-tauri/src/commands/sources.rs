//! Sources and segments: the files customers come from and the saved filters over them.

use super::{err, CmdResult};
use crate::AppState;
use segport_core::catalog;
use segport_core::filter::{Filter, RuleProblem};
use segport_core::model::{
    PickedFile, SegmentInput, SegmentPreview, SegmentView, SourceInput, SourceKind, SourceView,
};
use std::path::PathBuf;
use tauri::{AppHandle, Runtime, State};
use tauri_plugin_dialog::DialogExt;

/// Test hook: the end-to-end suite cannot drive a native GTK dialog, so it names the file here.
/// Read only through [`test_picked_file`].
pub(crate) const TEST_PICK_ENV: &str = "SEGPORT_TEST_PICK_FILE";

/// The file [`TEST_PICK_ENV`] names, in a debug build only (what the WebDriver suite and the
/// mock-runtime tests run). A release build never reads the variable: a file "picked" from the
/// environment would bypass the rule that the app only opens files the user chose in the native
/// dialog, so whatever the environment of a user's desktop session holds, a release build
/// always asks.
pub(crate) fn test_picked_file() -> Option<PathBuf> {
    if !cfg!(debug_assertions) {
        return None;
    }
    std::env::var_os(TEST_PICK_ENV).map(PathBuf::from)
}

/// Sample rows the segment editor shows.
const PREVIEW_SAMPLE: usize = 10;

/// Open the native file dialog for a customers file; `None` when the user cancels.
#[tauri::command]
pub async fn pick_source_file<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
) -> CmdResult<Option<PickedFile>> {
    let picked: Option<PathBuf> = match test_picked_file() {
        Some(p) => Some(p),
        None => {
            let (tx, rx) = tokio::sync::oneshot::channel();
            app.dialog()
                .file()
                .set_title("Choose a customers file")
                .add_filter(
                    "Customer data (CSV, JSON Lines, SQLite)",
                    &[
                        "csv", "tsv", "txt", "jsonl", "ndjson", "sqlite", "sqlite3", "db", "db3",
                    ],
                )
                .add_filter("CSV files", &["csv", "tsv", "txt"])
                .add_filter("JSON Lines files", &["jsonl", "ndjson"])
                .add_filter("SQLite databases", &["sqlite", "sqlite3", "db", "db3"])
                .pick_file(move |f| {
                    let _ = tx.send(f.and_then(|f| f.into_path().ok()));
                });
            rx.await.ok().flatten()
        }
    };
    let Some(path) = picked else { return Ok(None) };
    state.remember_pick(&path);
    catalog::picked_file(&path).map(Some).map_err(err)
}

#[tauri::command(async)]
pub fn list_sources(state: State<'_, AppState>) -> CmdResult<Vec<SourceView>> {
    state.ws()?.sources().map_err(err)
}

/// One source, detected afresh from its file.
#[tauri::command(async)]
pub fn inspect_source(state: State<'_, AppState>, id: String) -> CmdResult<SourceView> {
    state.ws()?.source_view(&id).map_err(err)
}

#[tauri::command(async)]
pub fn save_source(state: State<'_, AppState>, input: SourceInput) -> CmdResult<SourceView> {
    state.check_path(&input.path)?;
    state.ws()?.save_source(input).map_err(err)
}

#[tauri::command(async)]
pub fn delete_source(state: State<'_, AppState>, id: String) -> CmdResult<()> {
    state.ws()?.delete_source(&id).map_err(err)
}

/// The source for a picked file and its "all rows" segment (the export form's shortcut).
#[tauri::command(async)]
pub fn add_file_segment(
    state: State<'_, AppState>,
    path: String,
    kind: SourceKind,
    table: Option<String>,
) -> CmdResult<SegmentView> {
    state.check_path(&path)?;
    state
        .ws()?
        .add_file_segment(&path, kind, table.as_deref())
        .map_err(err)
}

#[tauri::command(async)]
pub fn list_segments(state: State<'_, AppState>) -> CmdResult<Vec<SegmentView>> {
    state.ws()?.segments().map_err(err)
}

#[tauri::command(async)]
pub fn save_segment(state: State<'_, AppState>, input: SegmentInput) -> CmdResult<SegmentView> {
    state.ws()?.save_segment(input).map_err(err)
}

#[tauri::command(async)]
pub fn delete_segment(state: State<'_, AppState>, id: String) -> CmdResult<()> {
    state.ws()?.delete_segment(&id).map_err(err)
}

/// The rules of `filter` whose values do not fit their column's type in the source (the rule
/// builder shows each beside its rule; saving refuses them).
#[tauri::command(async)]
pub fn check_segment_rules(
    state: State<'_, AppState>,
    source_id: String,
    filter: Option<Filter>,
) -> CmdResult<Vec<RuleProblem>> {
    state
        .ws()?
        .segment_rule_problems(&source_id, filter.as_ref())
        .map_err(err)
}

/// Live count and sample rows of a source under `filter` (the segment editor's preview).
/// Streams the whole file on a worker thread.
#[tauri::command]
pub async fn preview_segment(
    state: State<'_, AppState>,
    source_id: String,
    filter: Option<Filter>,
) -> CmdResult<SegmentPreview> {
    let ws = state.ws()?.clone();
    tauri::async_runtime::spawn_blocking(move || {
        ws.preview_filter(&source_id, filter.as_ref(), PREVIEW_SAMPLE)
    })
    .await
    .map_err(|e| err(segport_core::CoreError::Config(e.to_string())))?
    .map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pick_file_hook_works_in_debug_builds_only() {
        std::env::set_var(TEST_PICK_ENV, "/tmp/picked-by-the-environment.csv");
        let picked = test_picked_file();
        std::env::remove_var(TEST_PICK_ENV);
        if cfg!(debug_assertions) {
            assert_eq!(
                picked,
                Some(PathBuf::from("/tmp/picked-by-the-environment.csv"))
            );
        } else {
            assert_eq!(picked, None, "a release build must always open the dialog");
        }
        assert_eq!(test_picked_file(), None, "unset: the dialog");
    }
}
