use super::{err, CmdResult};
use crate::AppState;
use segport_core::catalog::MappingSuggestion;
use segport_core::model::{
    ExportInput, ExportView, KlaviyoList, KlaviyoLists, Mapping, MappingPreview,
};
use tauri::State;

#[tauri::command(async)]
pub fn list_exports(state: State<'_, AppState>) -> CmdResult<Vec<ExportView>> {
    state.ws()?.exports().map_err(err)
}

#[tauri::command(async)]
pub fn save_export(state: State<'_, AppState>, input: ExportInput) -> CmdResult<ExportView> {
    state.ws()?.save_export(input).map_err(err)
}

#[tauri::command(async)]
pub fn delete_export(state: State<'_, AppState>, id: String) -> CmdResult<()> {
    state.ws()?.delete_export(&id).map_err(err)
}

/// A mapping pre-selected from the segment's column headers (email, phone, names…), the phone's
/// default country from the file or this computer's locale, and a hint for the phone field.
#[tauri::command(async)]
pub fn suggest_mapping(
    state: State<'_, AppState>,
    segment_id: String,
) -> CmdResult<MappingSuggestion> {
    state.ws()?.suggest_mapping(&segment_id).map_err(err)
}

/// The segment's first five profiles exactly as they will be sent with `mapping`.
#[tauri::command]
pub async fn preview_mapping(
    state: State<'_, AppState>,
    segment_id: String,
    mapping: Mapping,
) -> CmdResult<MappingPreview> {
    let ws = state.ws()?.clone();
    tauri::async_runtime::spawn_blocking(move || ws.preview_mapping(&segment_id, &mapping))
        .await
        .map_err(|e| err(segport_core::CoreError::Config(e.to_string())))?
        .map_err(err)
}

/// The Klaviyo lists of a connection's account, for the list picker.
#[tauri::command]
pub async fn list_klaviyo_lists(
    state: State<'_, AppState>,
    connection_id: String,
) -> CmdResult<KlaviyoLists> {
    state.ws()?.klaviyo_lists(&connection_id).await.map_err(err)
}

/// Create a list in the connection's Klaviyo account.
#[tauri::command]
pub async fn create_klaviyo_list(
    state: State<'_, AppState>,
    connection_id: String,
    name: String,
) -> CmdResult<KlaviyoList> {
    state
        .ws()?
        .create_klaviyo_list(&connection_id, &name)
        .await
        .map_err(err)
}
