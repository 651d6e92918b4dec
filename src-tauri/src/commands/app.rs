use super::{err, CmdResult};
use crate::AppState;
use segport_core::model::{AppInfo, DemoInfo};
use tauri::State;

#[tauri::command(async)]
pub fn app_info(state: State<'_, AppState>) -> CmdResult<AppInfo> {
    state.ws()?.app_info(env!("CARGO_PKG_VERSION")).map_err(err)
}

#[tauri::command]
pub async fn start_demo(state: State<'_, AppState>) -> CmdResult<DemoInfo> {
    crate::demo::start(&state).await
}
