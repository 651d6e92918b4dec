use super::{err, CmdResult};
use crate::AppState;
use segport_core::model::{ConnectionInput, ConnectionView};
use tauri::State;

#[tauri::command(async)]
pub fn list_connections(state: State<'_, AppState>) -> CmdResult<Vec<ConnectionView>> {
    state.ws()?.connections().map_err(err)
}

#[tauri::command(async)]
pub fn save_connection(
    state: State<'_, AppState>,
    input: ConnectionInput,
) -> CmdResult<ConnectionView> {
    state.ws()?.save_connection(input).map_err(err)
}

#[tauri::command(async)]
pub fn delete_connection(state: State<'_, AppState>, id: String) -> CmdResult<()> {
    state.ws()?.delete_connection(&id).map_err(err)
}

#[tauri::command]
pub async fn verify_connection(
    state: State<'_, AppState>,
    id: String,
) -> CmdResult<ConnectionView> {
    state.ws()?.verify_connection(&id).await.map_err(err)
}
